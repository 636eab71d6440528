/* linkmap.c - the link map: for every record token its entity id and the
   probability of its strongest link, plus clerical-review pairs; CSV in and
   out, and the "who fails to link" report. */
#include "config.h"

#include "linkmap.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io.h"
#include "model.h"

static const char *reasons[] = {"grey-band", "weak-bridge", "unique-source"};

const char *bl_reason_name(uint8_t reason)
{
    return reason < 3 ? reasons[reason] : "grey-band";
}

static bl_linkmap *lm_alloc(void)
{
    bl_linkmap *lm = calloc(1, sizeof *lm);
    if (lm)
        bl_handle_created();
    return lm;
}

void bl_linkmap_free(bl_linkmap *lm)
{
    if (!lm)
        return;
    for (size_t s = 0; s < lm->source_count; s++)
        free(lm->source_names[s]);
    free(lm->src);
    free(lm->tokens);
    free(lm->entity);
    free(lm->prob);
    free(lm->entity_size);
    free(lm->sex);
    free(lm->age_band);
    free(lm->entity_edges);
    free(lm->review);
    free(lm);
    bl_handle_destroyed();
}

static int lm_reserve(bl_linkmap *lm, size_t want)
{
    if (want <= lm->cap)
        return 0;
    size_t cap = lm->cap ? lm->cap : 1024;
    while (cap < want)
        cap *= 2;
    void *p;
#define GROW(field, elem)                                                                          \
    if (!(p = realloc(lm->field, (elem) * cap)))                                                   \
        return -1;                                                                                 \
    lm->field = p;
    GROW(src, 1)
    GROW(tokens, BL_TOKEN_BYTES)
    GROW(entity, sizeof *lm->entity)
    GROW(prob, sizeof *lm->prob)
    GROW(entity_size, sizeof *lm->entity_size)
    GROW(sex, 1)
    GROW(age_band, 1)
#undef GROW
    lm->cap = cap;
    return 0;
}

static int lm_source(bl_linkmap *lm, const char *name)
{
    for (size_t s = 0; s < lm->source_count; s++)
        if (!strcmp(lm->source_names[s], name))
            return (int)s;
    if (lm->source_count >= BL_MAX_SOURCES)
        return -1;
    if (!(lm->source_names[lm->source_count] = strdup(name)))
        return -1;
    return (int)lm->source_count++;
}

bl_status bl_linkmap_from_clusters(const bl_dataset *ds, const bl_cluster_result *cr,
                                   bl_linkmap **out, bl_error *err)
{
    *out = NULL;
    bl_linkmap *lm = lm_alloc();
    if (!lm || lm_reserve(lm, ds->n ? ds->n : 1))
        goto oom;
    for (size_t s = 0; s < ds->source_count; s++)
        if (lm_source(lm, ds->source_names[s]) != (int)s)
            goto oom;
    lm->n = ds->n;
    memcpy(lm->src, ds->src, ds->n);
    memcpy(lm->tokens, ds->tokens, ds->n * BL_TOKEN_BYTES);
    memcpy(lm->sex, ds->sex, ds->n);
    memcpy(lm->age_band, ds->age_band, ds->n);
    lm->has_demographics = 1;
    for (size_t i = 0; i < ds->n; i++) {
        lm->entity[i] = (uint64_t)cr->entity[i] + 1;
        lm->prob[i] = cr->best_prob[i];
        lm->entity_size[i] = cr->entity_size[cr->entity[i]];
    }
    lm->entity_count = cr->entity_count;
    lm->entity_edges = malloc((cr->entity_count ? cr->entity_count : 1) * sizeof *lm->entity_edges);
    if (!lm->entity_edges)
        goto oom;
    if (cr->entity_count)
        memcpy(lm->entity_edges, cr->entity_edges, cr->entity_count * sizeof *lm->entity_edges);
    lm->review = malloc((cr->review_count ? cr->review_count : 1) * sizeof *lm->review);
    if (!lm->review)
        goto oom;
    lm->review_cap = cr->review_count;
    for (size_t k = 0; k < cr->review_count; k++) {
        const bl_cluster_review *v = &cr->review[k];
        bl_lm_review *w = &lm->review[k];
        w->src_a = ds->src[v->a];
        w->src_b = ds->src[v->b];
        memcpy(w->tok_a, ds->tokens + (size_t)v->a * BL_TOKEN_BYTES, BL_TOKEN_BYTES);
        memcpy(w->tok_b, ds->tokens + (size_t)v->b * BL_TOKEN_BYTES, BL_TOKEN_BYTES);
        w->weight = v->weight;
        w->reason = v->reason;
    }
    lm->review_count = cr->review_count;
    *out = lm;
    return BL_OK;
oom:
    bl_linkmap_free(lm);
    return bl_fail(err, BL_ENOMEM, "out of memory building the link map");
}

size_t bl_linkmap_count(const bl_linkmap *lm) { return lm ? lm->n : 0; }
size_t bl_linkmap_review_count(const bl_linkmap *lm) { return lm ? lm->review_count : 0; }

bl_status bl_linkmap_get(const bl_linkmap *lm, size_t i, bl_linkmap_entry *out, bl_error *err)
{
    if (!lm || !out || i >= lm->n)
        return bl_fail(err, BL_EMISUSE, "link map index out of range");
    out->source = lm->source_names[lm->src[i]];
    memcpy(out->token, lm->tokens + i * BL_TOKEN_BYTES, BL_TOKEN_BYTES);
    out->entity_id = lm->entity[i];
    out->match_probability = lm->prob[i];
    out->entity_size = lm->entity_size[i];
    return BL_OK;
}

bl_status bl_linkmap_review_get(const bl_linkmap *lm, size_t i, bl_review_pair *out, bl_error *err)
{
    if (!lm || !out || i >= lm->review_count)
        return bl_fail(err, BL_EMISUSE, "review index out of range");
    const bl_lm_review *v = &lm->review[i];
    out->source_a = lm->source_names[v->src_a];
    out->source_b = lm->source_names[v->src_b];
    memcpy(out->token_a, v->tok_a, BL_TOKEN_BYTES);
    memcpy(out->token_b, v->tok_b, BL_TOKEN_BYTES);
    out->weight = v->weight;
    out->probability = bl_weight_to_prob(v->weight);
    out->reason = bl_reason_name(v->reason);
    return BL_OK;
}

bl_status bl_linkmap_write_csv(const bl_linkmap *lm, const char *path, bl_error *err)
{
    if (!lm || !path)
        return bl_fail(err, BL_EMISUSE, "bl_linkmap_write_csv: NULL argument");
    bl_atomic_file *f = NULL;
    bl_status st = bl_atomic_open(path, &f, err);
    if (st)
        return st;
    st = bl_atomic_printf(f, err, "source,record_token,entity_id,match_probability,entity_size\n");
    char hex[2 * BL_TOKEN_BYTES + 1];
    for (size_t i = 0; !st && i < lm->n; i++) {
        bl_hex(lm->tokens + i * BL_TOKEN_BYTES, BL_TOKEN_BYTES, hex);
        st = bl_csv_write_field(f, lm->source_names[lm->src[i]], 0, err);
        if (!st)
            st = bl_atomic_printf(f, err, "%s,%llu,%.6f,%u\n", hex,
                                  (unsigned long long)lm->entity[i], lm->prob[i],
                                  lm->entity_size[i]);
    }
    if (st) {
        bl_atomic_abort(f);
        return st;
    }
    return bl_atomic_commit(f, err);
}

bl_status bl_linkmap_write_review_csv(const bl_linkmap *lm, const char *path, bl_error *err)
{
    if (!lm || !path)
        return bl_fail(err, BL_EMISUSE, "bl_linkmap_write_review_csv: NULL argument");
    bl_atomic_file *f = NULL;
    bl_status st = bl_atomic_open(path, &f, err);
    if (st)
        return st;
    st = bl_atomic_printf(f, err, "source_a,record_token_a,source_b,record_token_b,match_weight,"
                                  "match_probability,reason\n");
    char ha[2 * BL_TOKEN_BYTES + 1], hb[2 * BL_TOKEN_BYTES + 1];
    for (size_t i = 0; !st && i < lm->review_count; i++) {
        const bl_lm_review *v = &lm->review[i];
        bl_hex(v->tok_a, BL_TOKEN_BYTES, ha);
        bl_hex(v->tok_b, BL_TOKEN_BYTES, hb);
        st = bl_csv_write_field(f, lm->source_names[v->src_a], 0, err);
        if (!st)
            st = bl_atomic_printf(f, err, "%s,", ha);
        if (!st)
            st = bl_csv_write_field(f, lm->source_names[v->src_b], 0, err);
        if (!st)
            st = bl_atomic_printf(f, err, "%s,%.4f,%.6f,%s\n", hb, v->weight,
                                  bl_weight_to_prob(v->weight), bl_reason_name(v->reason));
    }
    if (st) {
        bl_atomic_abort(f);
        return st;
    }
    return bl_atomic_commit(f, err);
}

/* Column positions by header name; -1 if absent. */
static void find_columns(char **fields, size_t nf, const char *const *names, int *pos, size_t nn)
{
    for (size_t k = 0; k < nn; k++) {
        pos[k] = -1;
        for (size_t i = 0; i < nf; i++)
            if (!strcmp(fields[i], names[k]))
                pos[k] = (int)i;
    }
}

static int parse_u64(const char *s, uint64_t *v)
{
    if (!*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

static int parse_prob(const char *s, double *v)
{
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || *end || !(x >= 0 && x <= 1))
        return -1;
    *v = x;
    return 0;
}

static int parse_real(const char *s, double *v)
{
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || *end || x != x)
        return -1;
    *v = x;
    return 0;
}

static bl_status read_review(bl_linkmap *lm, const char *path, bl_error *err)
{
    bl_csv_reader *r = NULL;
    bl_status st = bl_csv_open(path, ',', 0, &r, err);
    if (st)
        return st;
    char **fields;
    size_t nf;
    static const char *const cols[] = {"source_a", "record_token_a", "source_b", "record_token_b",
                                       "match_weight", "reason"};
    int pos[6];
    st = bl_csv_next(r, &fields, &nf, err);
    if (!st && !fields)
        st = bl_fail_at(err, BL_EPARSE, path, 1, -1, NULL, "empty file: expected a header");
    if (!st) {
        find_columns(fields, nf, cols, pos, 6);
        for (int k = 0; k < 5; k++)
            if (pos[k] < 0)
                st = bl_fail_at(err, BL_EPARSE, path, 1, -1, cols[k], "column missing from header");
    }
    while (!st) {
        st = bl_csv_next(r, &fields, &nf, err);
        if (st || !fields)
            break;
        long line = bl_csv_line(r);
        int bad = 0;
        for (int k = 0; k < 6; k++)
            if (pos[k] >= (int)nf)
                bad = 1;
        if (bad) {
            st = bl_fail_at(err, BL_EPARSE, path, line, -1, NULL, "too few columns");
            break;
        }
        if (lm->review_count == lm->review_cap) {
            size_t nc = lm->review_cap ? lm->review_cap * 2 : 256;
            bl_lm_review *nr = realloc(lm->review, nc * sizeof *nr);
            if (!nr) {
                st = bl_fail(err, BL_ENOMEM, "out of memory");
                break;
            }
            lm->review = nr;
            lm->review_cap = nc;
        }
        bl_lm_review *v = &lm->review[lm->review_count];
        int sa = lm_source(lm, fields[pos[0]]), sb = lm_source(lm, fields[pos[2]]);
        if (sa < 0 || sb < 0 || strlen(fields[pos[1]]) != 32 || strlen(fields[pos[3]]) != 32 ||
            bl_unhex(fields[pos[1]], v->tok_a, BL_TOKEN_BYTES) ||
            bl_unhex(fields[pos[3]], v->tok_b, BL_TOKEN_BYTES) ||
            parse_real(fields[pos[4]], &v->weight)) {
            st = bl_fail_at(err, BL_EPARSE, path, line, -1, NULL,
                            "expected source, 32-hex token, source, 32-hex token, weight");
            break;
        }
        v->src_a = (uint8_t)sa;
        v->src_b = (uint8_t)sb;
        v->reason = BL_REASON_GREY;
        if (pos[5] >= 0)
            for (uint8_t k = 0; k < 3; k++)
                if (!strcmp(fields[pos[5]], reasons[k]))
                    v->reason = k;
        lm->review_count++;
    }
    bl_csv_close(r);
    bl_error_locate(err, path, -1, -1, NULL);
    return st;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

bl_status bl_linkmap_read_csv(const char *path, const char *review_path, bl_linkmap **out,
                              bl_error *err)
{
    if (!path || !out)
        return bl_fail(err, BL_EMISUSE, "bl_linkmap_read_csv: NULL argument");
    *out = NULL;
    bl_linkmap *lm = lm_alloc();
    if (!lm)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    bl_csv_reader *r = NULL;
    bl_status st = bl_csv_open(path, ',', 0, &r, err);
    if (st) {
        bl_linkmap_free(lm);
        return st;
    }
    char **fields;
    size_t nf;
    static const char *const cols[] = {"source", "record_token", "entity_id", "match_probability"};
    int pos[4];
    st = bl_csv_next(r, &fields, &nf, err);
    if (!st && !fields)
        st = bl_fail_at(err, BL_EPARSE, path, 1, -1, NULL, "empty file: expected a header");
    if (!st) {
        find_columns(fields, nf, cols, pos, 4);
        for (int k = 0; k < 4; k++)
            if (pos[k] < 0) {
                st = bl_fail_at(err, BL_EPARSE, path, 1, -1, cols[k], "column missing from header");
                break;
            }
    }
    while (!st) {
        st = bl_csv_next(r, &fields, &nf, err);
        if (st || !fields)
            break;
        long line = bl_csv_line(r);
        if (pos[0] >= (int)nf || pos[1] >= (int)nf || pos[2] >= (int)nf || pos[3] >= (int)nf) {
            st = bl_fail_at(err, BL_EPARSE, path, line, -1, NULL, "too few columns");
            break;
        }
        if (lm_reserve(lm, lm->n + 1)) {
            st = bl_fail(err, BL_ENOMEM, "out of memory");
            break;
        }
        size_t i = lm->n;
        int s = lm_source(lm, fields[pos[0]]);
        if (s < 0) {
            st = bl_fail_at(err, BL_EUNSUPPORTED, path, line, -1, "source", "too many sources");
            break;
        }
        if (strlen(fields[pos[1]]) != 2 * BL_TOKEN_BYTES ||
            bl_unhex(fields[pos[1]], lm->tokens + i * BL_TOKEN_BYTES, BL_TOKEN_BYTES)) {
            st = bl_fail_at(err, BL_EPARSE, path, line, -1, "record_token",
                            "expected 32 hexadecimal digits");
            break;
        }
        if (parse_u64(fields[pos[2]], &lm->entity[i]) || lm->entity[i] == 0) {
            st = bl_fail_at(err, BL_EPARSE, path, line, -1, "entity_id",
                            "expected a positive integer");
            break;
        }
        if (parse_prob(fields[pos[3]], &lm->prob[i])) {
            st = bl_fail_at(err, BL_EPARSE, path, line, -1, "match_probability",
                            "expected a number in [0, 1]");
            break;
        }
        lm->src[i] = (uint8_t)s;
        lm->sex[i] = lm->age_band[i] = 0;
        lm->n++;
    }
    bl_csv_close(r);
    if (st) {
        bl_error_locate(err, path, -1, -1, NULL);
        bl_linkmap_free(lm);
        return st;
    }
    /* Entity sizes and count from the ids themselves. */
    uint64_t *ids = malloc((lm->n ? lm->n : 1) * sizeof *ids);
    if (!ids) {
        bl_linkmap_free(lm);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    memcpy(ids, lm->entity, lm->n * sizeof *ids);
    qsort(ids, lm->n, sizeof *ids, cmp_u64);
    size_t ne = 0;
    for (size_t i = 0; i < lm->n; i++)
        if (i == 0 || ids[i] != ids[i - 1])
            ne++;
    lm->entity_count = ne;
    for (size_t i = 0; i < lm->n; i++) {
        uint64_t e = lm->entity[i];
        size_t lo = 0, hi = lm->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (ids[mid] < e)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t a = lo;
        while (lo < lm->n && ids[lo] == e)
            lo++;
        lm->entity_size[i] = (uint32_t)(lo - a);
    }
    free(ids);
    if (review_path && (st = read_review(lm, review_path, err))) {
        bl_linkmap_free(lm);
        return st;
    }
    *out = lm;
    return BL_OK;
}
