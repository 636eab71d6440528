/* optout.c - at the holder: national data opt-out NHS numbers -> record tokens.
 *
 * The list of opted-out NHS numbers never leaves the holder.  The holder runs
 * its extract through its profile, normalises each record's NHS number and
 * writes the record tokens of the records whose number is on the list; only
 * those tokens travel to the emitter, which removes the whole linked entity.
 *
 * A libbloom filter of the list screens every extract record before the
 * exact check (binary search of the sorted list).  A false positive costs one
 * binary search that finds nothing; a Bloom filter has no false negatives, so
 * the screen never drops a real match.  The written tokens are exactly those
 * of records on the list, whatever the filter's error rate.
 */
#include "config.h"

#include <bloom.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bloomlink.h"
#include "error.h"
#include "io.h"

#define BLOOM_ERROR_RATE 0.001

typedef struct {
    uint64_t *v;
    size_t n, cap;
} u64vec;

static int vec_push(u64vec *a, uint64_t x)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? 2 * a->cap : 1024;
        /* Grow by copy and wipe rather than realloc: the old block holds NHS
           numbers and realloc would free it unwiped. */
        uint64_t *nv = malloc(nc * sizeof *nv);
        if (!nv)
            return -1;
        if (a->n)
            memcpy(nv, a->v, a->n * sizeof *nv);
        bl_wipe(a->v, a->cap * sizeof *a->v);
        free(a->v);
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n++] = x;
    return 0;
}

static void vec_wipe_free(u64vec *a)
{
    bl_wipe(a->v, a->cap * sizeof *a->v);
    free(a->v);
    memset(a, 0, sizeof *a);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t digits_value(const char *ten)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++)
        v = v * 10 + (uint64_t)(ten[i] - '0');
    return v;
}

/* "NHS number", "nhs_number", "NHSNumber", "nhs" all name the column. */
static int is_nhs_header(const char *h)
{
    char k[32];
    size_t n = 0;
    for (const char *p = h; *p && n + 1 < sizeof k; p++)
        if (isalnum((unsigned char)*p))
            k[n++] = (char)tolower((unsigned char)*p);
    k[n] = '\0';
    return !strcmp(k, "nhsnumber") || !strcmp(k, "nhs") || !strcmp(k, "nhsno");
}

static bl_status read_list(const char *path, u64vec *list, bl_optout_stats *stats, bl_error *err)
{
    bl_csv_reader *r;
    bl_status st = bl_csv_open(path, ',', 1, &r, err);
    if (st != BL_OK)
        return st;
    char **f;
    size_t nf;
    int col = -1;
    while ((st = bl_csv_next(r, &f, &nf, err)) == BL_OK && f) {
        if (nf == 1 && !f[0][0])
            continue;
        if (col < 0) {
            for (size_t i = 0; i < nf && col < 0; i++)
                if (is_nhs_header(f[i]))
                    col = (int)i;
            if (col >= 0)
                continue; /* that was the header */
            if (nf != 1) {
                st = bl_fail_at(err, BL_EPARSE, path, bl_csv_line(r), -1, NULL,
                                "expected one column of NHS numbers or a column named nhs_number");
                break;
            }
            col = 0; /* headerless single column */
        }
        if ((size_t)col >= nf)
            continue;
        char norm[16];
        bl_error e;
        bl_error_clear(&e);
        if (bl_normalise_nhs_number(f[col], norm, sizeof norm, &e) != BL_OK || strlen(norm) != 10) {
            stats->list_invalid++;
            continue;
        }
        stats->list_entries++;
        if (vec_push(list, digits_value(norm)) != 0) {
            st = bl_fail(err, BL_ENOMEM, "out of memory");
            break;
        }
        bl_wipe(norm, sizeof norm);
    }
    bl_csv_close(r);
    return st;
}

static int field_of_type(const bl_schema *schema, bl_field_type t)
{
    for (size_t i = 0; i < bl_schema_field_count(schema); i++)
        if (bl_schema_field_type(schema, i) == t)
            return (int)i;
    return -1;
}

typedef struct {
    char (*t)[33];
    size_t n, cap;
} tokvec;

static int cmp_tok(const void *a, const void *b) { return memcmp(a, b, 32); }

bl_status bl_optout_tokens(const bl_schema *schema, const bl_profile *profile, const bl_key *key,
                           const char *extract_path, const char *nhs_list_path,
                           const char *out_path, bl_optout_stats *stats, bl_error *err)
{
    bl_optout_stats local;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!schema || !profile || !key || !extract_path || !nhs_list_path || !out_path)
        return bl_fail(err, BL_EMISUSE, "opt-out needs a schema, profile, key, extract, list and output");
    int fi = field_of_type(schema, BL_FIELD_NHS_NUMBER);
    const char *nhs_col = fi >= 0 ? bl_profile_field_column(profile, schema,
                                                             bl_schema_field_name(schema, (size_t)fi))
                                  : NULL;
    if (!nhs_col)
        return bl_fail(err, BL_ENOTFOUND,
                       "source '%s' records no NHS number, so it cannot match the opt-out list; "
                       "its records of opted-out people are removed through linkage instead",
                       bl_profile_source(profile));
    const char *rid_col = bl_profile_record_id_column(profile);

    bl_encoder *enc = NULL;
    bl_status st = bl_encoder_new(schema, profile, key, &enc, err);
    if (st != BL_OK)
        return st;
    u64vec list = {0};
    tokvec toks = {0};
    struct bloom bf;
    int bf_ready = 0;
    bl_csv_reader *r = NULL;
    bl_atomic_file *out = NULL;

    if ((st = read_list(nhs_list_path, &list, stats, err)) != BL_OK)
        goto done;
    qsort(list.v, list.n, sizeof *list.v, cmp_u64);
    if (bloom_init(&bf, list.n > 1000 ? (int)list.n : 1000, BLOOM_ERROR_RATE) != 0) {
        st = bl_fail(err, BL_ENOMEM, "cannot allocate the opt-out filter");
        goto done;
    }
    bf_ready = 1;
    for (size_t i = 0; i < list.n; i++)
        bloom_add(&bf, &list.v[i], sizeof list.v[i]);

    if ((st = bl_csv_open(extract_path, bl_profile_separator(profile),
                          bl_profile_skip_initial_space(profile), &r, err)) != BL_OK)
        goto done;
    char **f;
    size_t nf;
    if ((st = bl_csv_next(r, &f, &nf, err)) != BL_OK)
        goto done;
    if (!f) {
        st = bl_fail_at(err, BL_EPARSE, extract_path, 1, -1, NULL, "empty extract");
        goto done;
    }
    int cr = -1, cn = -1;
    for (size_t i = 0; i < nf; i++) {
        if (!strcmp(f[i], rid_col))
            cr = (int)i;
        if (!strcmp(f[i], nhs_col))
            cn = (int)i;
    }
    if (cr < 0 || cn < 0) {
        st = bl_fail_at(err, BL_ENOTFOUND, extract_path, 1, -1, cr < 0 ? rid_col : nhs_col,
                        "column named by the profile is not in the extract");
        goto done;
    }
    while ((st = bl_csv_next(r, &f, &nf, err)) == BL_OK && f) {
        if (nf == 1 && !f[0][0])
            continue;
        stats->records_read++;
        if ((size_t)cr >= nf || (size_t)cn >= nf || !f[cr][0]) {
            stats->records_without_nhs++;
            continue;
        }
        char norm[16];
        bl_error e;
        bl_error_clear(&e);
        if (bl_normalise_nhs_number(f[cn], norm, sizeof norm, &e) != BL_OK || strlen(norm) != 10) {
            stats->records_without_nhs++;
            continue;
        }
        uint64_t v = digits_value(norm);
        bl_wipe(norm, sizeof norm);
        if (!bloom_check(&bf, &v, sizeof v))
            continue;
        stats->filter_hits++;
        if (!bsearch(&v, list.v, list.n, sizeof *list.v, cmp_u64)) {
            stats->filter_false_positives++;
            continue;
        }
        if (toks.n == toks.cap) {
            size_t nc = toks.cap ? 2 * toks.cap : 256;
            char(*nt)[33] = realloc(toks.t, nc * sizeof *nt);
            if (!nt) {
                st = bl_fail(err, BL_ENOMEM, "out of memory");
                goto done;
            }
            toks.t = nt;
            toks.cap = nc;
        }
        if ((st = bl_encoder_record_token(enc, f[cr], toks.t[toks.n], err)) != BL_OK)
            goto done;
        toks.n++;
    }
    if (st != BL_OK)
        goto done;

    /* Sorted and de-duplicated: the file says nothing about extract order. */
    qsort(toks.t, toks.n, sizeof *toks.t, cmp_tok);
    if ((st = bl_atomic_open(out_path, &out, err)) != BL_OK)
        goto done;
    st = bl_atomic_printf(out, err, "source,record_token\n");
    for (size_t i = 0; st == BL_OK && i < toks.n; i++) {
        if (i && !memcmp(toks.t[i], toks.t[i - 1], 32))
            continue;
        st = bl_atomic_printf(out, err, "%s,%s\n", bl_profile_source(profile), toks.t[i]);
        stats->tokens_written++;
    }
    if (st == BL_OK) {
        st = bl_atomic_commit(out, err);
        out = NULL;
    }
done:
    bl_atomic_abort(out);
    bl_csv_close(r);
    if (bf_ready) {
        bloom_reset(&bf); /* the filter is derived from NHS numbers */
        bloom_free(&bf);
    }
    vec_wipe_free(&list);
    free(toks.t);
    bl_encoder_free(enc);
    return st;
}
