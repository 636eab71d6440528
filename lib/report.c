/* report.c - evaluation of a link map against truth (pairwise precision,
   recall, F1 overall and per source pair, split and merged persons) and the
   "who fails to link" report.  Pair counts come from contingency counts of
   records per (entity, person, source), never from pair lists, so millions
   of records cost a sort. */
#include "config.h"

#include "report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io.h"
#include "linkmap.h"
#include "match.h"

#define EV_MAX_SOURCES 64

struct bl_evaluation {
    size_t nsources;
    char *names[EV_MAX_SOURCES];
    bl_eval_counts overall;
    /* source pairs s <= t in name order */
    size_t npairs;
    char **pair_names;
    bl_eval_counts *pairs;
    uint64_t records, persons, entities, split_persons, merged_entities;
    uint64_t missing_token, missing_in_linkmap, skipped_sources;
};

static void finish(bl_eval_counts *c)
{
    c->precision = c->predicted ? (double)c->true_positive / (double)c->predicted : 1.0;
    c->recall = c->actual ? (double)c->true_positive / (double)c->actual : 1.0;
    c->f1 = c->precision + c->recall > 0
                ? 2 * c->precision * c->recall / (c->precision + c->recall)
                : 0.0;
}

void bl_evaluation_free(bl_evaluation *ev)
{
    if (!ev)
        return;
    for (size_t s = 0; s < ev->nsources; s++)
        free(ev->names[s]);
    for (size_t p = 0; p < ev->npairs; p++)
        free(ev->pair_names ? ev->pair_names[p] : NULL);
    free(ev->pair_names);
    free(ev->pairs);
    free(ev);
    bl_handle_destroyed();
}

void bl_evaluation_overall(const bl_evaluation *ev, bl_eval_counts *out)
{
    if (ev && out)
        *out = ev->overall;
}
size_t bl_evaluation_pair_count(const bl_evaluation *ev) { return ev ? ev->npairs : 0; }
const char *bl_evaluation_pair_name(const bl_evaluation *ev, size_t i)
{
    return ev && i < ev->npairs ? ev->pair_names[i] : NULL;
}
void bl_evaluation_pair(const bl_evaluation *ev, size_t i, bl_eval_counts *out)
{
    if (ev && out && i < ev->npairs)
        *out = ev->pairs[i];
}
uint64_t bl_evaluation_split_persons(const bl_evaluation *ev) { return ev ? ev->split_persons : 0; }
uint64_t bl_evaluation_merged_entities(const bl_evaluation *ev) { return ev ? ev->merged_entities : 0; }

typedef struct evrec {
    uint64_t e, p;
    uint32_t s;
} evrec;

static int cmp_ep(const void *x, const void *y)
{
    const evrec *a = x, *b = y;
    if (a->e != b->e)
        return a->e < b->e ? -1 : 1;
    if (a->p != b->p)
        return a->p < b->p ? -1 : 1;
    return a->s < b->s ? -1 : a->s > b->s;
}

static int cmp_pe(const void *x, const void *y)
{
    const evrec *a = x, *b = y;
    if (a->p != b->p)
        return a->p < b->p ? -1 : 1;
    if (a->e != b->e)
        return a->e < b->e ? -1 : 1;
    return a->s < b->s ? -1 : a->s > b->s;
}

/* Add the pairs among a group's records, per source pair, to field `which`
   (0 tp, 1 predicted, 2 actual) of the rank-indexed pair table. */
static void add_group(const uint64_t *cnt, const uint32_t *touched, size_t nt, const size_t *pidx,
                      size_t S, bl_eval_counts *pairs, bl_eval_counts *overall, int which)
{
    for (size_t x = 0; x < nt; x++) {
        uint32_t s = touched[x];
        for (size_t y = x; y < nt; y++) {
            uint32_t t = touched[y];
            uint64_t v = s == t ? cnt[s] * (cnt[s] - 1) / 2 : cnt[s] * cnt[t];
            if (!v)
                continue;
            size_t k = s < t ? pidx[s * S + t] : pidx[t * S + s];
            uint64_t *dst = which == 0 ? &pairs[k].true_positive
                            : which == 1 ? &pairs[k].predicted : &pairs[k].actual;
            *dst += v;
            uint64_t *o = which == 0 ? &overall->true_positive
                          : which == 1 ? &overall->predicted : &overall->actual;
            *o += v;
        }
    }
}

bl_status bl_evaluate_records(const uint8_t *source, const uint64_t *person, const uint64_t *entity,
                              size_t n, const char *const *names, size_t S, bl_evaluation **out,
                              bl_error *err)
{
    *out = NULL;
    if (S == 0 || S > EV_MAX_SOURCES)
        return bl_fail(err, BL_EMISUSE, "evaluation needs 1 to %d sources", EV_MAX_SOURCES);
    bl_evaluation *ev = calloc(1, sizeof *ev);
    if (!ev)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    bl_handle_created();
    ev->nsources = S;
    for (size_t s = 0; s < S; s++)
        if (!(ev->names[s] = strdup(names[s])))
            goto oom;
    /* Source pairs in name order: rank sources by name. */
    size_t order[EV_MAX_SOURCES], rank[EV_MAX_SOURCES];
    for (size_t s = 0; s < S; s++)
        order[s] = s;
    for (size_t i = 1; i < S; i++)
        for (size_t j = i; j > 0 && strcmp(names[order[j - 1]], names[order[j]]) > 0; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (size_t r = 0; r < S; r++)
        rank[order[r]] = r;
    ev->npairs = S * (S + 1) / 2;
    ev->pairs = calloc(ev->npairs, sizeof *ev->pairs);
    ev->pair_names = calloc(ev->npairs, sizeof *ev->pair_names);
    size_t *pidx = malloc(S * S * sizeof *pidx);
    uint64_t *cnt = calloc(S, sizeof *cnt);
    uint32_t *touched = malloc(S * sizeof *touched);
    evrec *r = malloc((n ? n : 1) * sizeof *r);
    if (!ev->pairs || !ev->pair_names || !pidx || !cnt || !touched || !r) {
        free(pidx);
        free(cnt);
        free(touched);
        free(r);
        goto oom;
    }
    size_t k = 0;
    for (size_t a = 0; a < S; a++)
        for (size_t b = a; b < S; b++) {
            size_t len = strlen(names[order[a]]) + strlen(names[order[b]]) + 2;
            if (!(ev->pair_names[k] = malloc(len))) {
                free(pidx);
                free(cnt);
                free(touched);
                free(r);
                goto oom;
            }
            snprintf(ev->pair_names[k], len, "%s-%s", names[order[a]], names[order[b]]);
            pidx[a * S + b] = k++;
        }
    /* records carry source ranks, so s < t means name order */
    for (size_t i = 0; i < n; i++) {
        r[i].e = entity[i];
        r[i].p = person[i];
        r[i].s = (uint32_t)rank[source[i]];
    }
    ev->records = n;
    /* (entity, person) groups give true positives; entity groups give
       predicted pairs, merged entities and the entity count. */
    qsort(r, n, sizeof *r, cmp_ep);
    for (int pass = 0; pass < 2; pass++) {
        size_t nt = 0;
        for (size_t i = 0; i < n;) {
            size_t j = i;
            uint64_t distinct_p = 0;
            while (j < n && r[j].e == r[i].e && (pass == 1 || r[j].p == r[i].p)) {
                if (pass == 1 && (j == i || r[j].p != r[j - 1].p))
                    distinct_p++;
                if (!cnt[r[j].s]++)
                    touched[nt++] = r[j].s;
                j++;
            }
            add_group(cnt, touched, nt, pidx, S, ev->pairs, &ev->overall, pass == 0 ? 0 : 1);
            for (size_t x = 0; x < nt; x++)
                cnt[touched[x]] = 0;
            nt = 0;
            if (pass == 1) {
                ev->entities++;
                if (distinct_p > 1)
                    ev->merged_entities++;
            }
            i = j;
        }
    }
    /* person groups give actual pairs and split persons */
    qsort(r, n, sizeof *r, cmp_pe);
    {
        size_t nt = 0;
        for (size_t i = 0; i < n;) {
            size_t j = i;
            uint64_t distinct_e = 0;
            while (j < n && r[j].p == r[i].p) {
                if (j == i || r[j].e != r[j - 1].e)
                    distinct_e++;
                if (!cnt[r[j].s]++)
                    touched[nt++] = r[j].s;
                j++;
            }
            add_group(cnt, touched, nt, pidx, S, ev->pairs, &ev->overall, 2);
            for (size_t x = 0; x < nt; x++)
                cnt[touched[x]] = 0;
            nt = 0;
            ev->persons++;
            if (distinct_e > 1)
                ev->split_persons++;
            i = j;
        }
    }
    finish(&ev->overall);
    for (size_t p = 0; p < ev->npairs; p++)
        finish(&ev->pairs[p]);
    free(pidx);
    free(cnt);
    free(touched);
    free(r);
    *out = ev;
    return BL_OK;
oom:
    bl_evaluation_free(ev);
    return bl_fail(err, BL_ENOMEM, "out of memory evaluating");
}

static json_t *counts_json(const bl_eval_counts *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "precision", json_real(c->precision));
    json_object_set_new(o, "recall", json_real(c->recall));
    json_object_set_new(o, "f1", json_real(c->f1));
    json_object_set_new(o, "true_positive_pairs", json_integer((json_int_t)c->true_positive));
    json_object_set_new(o, "predicted_pairs", json_integer((json_int_t)c->predicted));
    json_object_set_new(o, "true_pairs", json_integer((json_int_t)c->actual));
    return o;
}

bl_status bl_evaluation_to_json(const bl_evaluation *ev, char **out, bl_error *err)
{
    if (!ev || !out)
        return bl_fail(err, BL_EMISUSE, "bl_evaluation_to_json: NULL argument");
    json_t *root = json_object();
    json_object_set_new(root, "overall", counts_json(&ev->overall));
    json_t *bp = json_object();
    for (size_t p = 0; p < ev->npairs; p++)
        if (ev->pairs[p].predicted || ev->pairs[p].actual)
            json_object_set_new(bp, ev->pair_names[p], counts_json(&ev->pairs[p]));
    json_object_set_new(root, "by_source_pair", bp);
    json_object_set_new(root, "records", json_integer((json_int_t)ev->records));
    json_object_set_new(root, "persons", json_integer((json_int_t)ev->persons));
    json_object_set_new(root, "entities", json_integer((json_int_t)ev->entities));
    json_object_set_new(root, "split_persons", json_integer((json_int_t)ev->split_persons));
    json_object_set_new(root, "merged_entities", json_integer((json_int_t)ev->merged_entities));
    json_object_set_new(root, "truth_records_without_token", json_integer((json_int_t)ev->missing_token));
    json_object_set_new(root, "truth_records_not_in_linkmap",
                        json_integer((json_int_t)ev->missing_in_linkmap));
    *out = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(root);
    return *out ? BL_OK : bl_fail(err, BL_ENOMEM, "out of memory");
}

/* ------------------------------------------------------------ files */

static uint64_t hash_str(uint64_t seed, const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return bl_mix64(h);
}

static uint64_t hash_bytes(uint64_t seed, const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return bl_mix64(h);
}

typedef struct kv {
    uint64_t k, v;
} kv;

static int cmp_kv(const void *x, const void *y)
{
    const kv *a = x, *b = y;
    return a->k < b->k ? -1 : a->k > b->k;
}

static const kv *kv_find(const kv *t, size_t n, uint64_t k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].k < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && t[lo].k == k ? &t[lo] : NULL;
}

static int kv_push(kv **t, size_t *n, size_t *cap, uint64_t k, uint64_t v)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4096;
        kv *nt = realloc(*t, nc * sizeof *nt);
        if (!nt)
            return -1;
        *t = nt;
        *cap = nc;
    }
    (*t)[*n].k = k;
    (*t)[*n].v = v;
    (*n)++;
    return 0;
}

/* Key of (source, record id) and of (source, token). */
static uint64_t rid_key(const char *source, const char *rid)
{
    return hash_str(hash_str(1, source), rid);
}
static uint64_t tok_key(const char *source, const uint8_t *tok)
{
    return hash_bytes(hash_str(2, source), tok, BL_TOKEN_BYTES);
}

static bl_status header_cols(bl_csv_reader *r, const char *path, const char *const *names, int *pos,
                             size_t nn, bl_error *err)
{
    char **fields;
    size_t nf;
    bl_status st = bl_csv_next(r, &fields, &nf, err);
    if (st)
        return st;
    if (!fields)
        return bl_fail_at(err, BL_EPARSE, path, 1, -1, NULL, "empty file: expected a header");
    for (size_t k = 0; k < nn; k++) {
        pos[k] = -1;
        for (size_t i = 0; i < nf; i++)
            if (!strcmp(fields[i], names[k]))
                pos[k] = (int)i;
        if (pos[k] < 0)
            return bl_fail_at(err, BL_EPARSE, path, 1, -1, names[k], "column missing from header");
    }
    return BL_OK;
}

bl_status bl_evaluate_files(const char *truth_csv, const char *const *srcs,
                            const char *const *paths, size_t nmaps, const char *linkmap_csv,
                            bl_evaluation **out, bl_error *err)
{
    if (!truth_csv || !linkmap_csv || !out || (nmaps && (!srcs || !paths)))
        return bl_fail(err, BL_EMISUSE, "bl_evaluate_files: NULL argument");
    *out = NULL;
    if (nmaps == 0 || nmaps > EV_MAX_SOURCES)
        return bl_fail(err, BL_EMISUSE, "give 1 to %d id maps (one per source)", EV_MAX_SOURCES);
    kv *ids = NULL, *lmk = NULL;
    size_t nids = 0, cids = 0, nlm = 0;
    uint8_t *rs = NULL;
    uint64_t *rp = NULL, *re = NULL;
    size_t nr = 0, cr = 0;
    bl_linkmap *lm = NULL;
    bl_csv_reader *r = NULL;
    bl_status st = BL_OK;
    uint64_t missing_token = 0, missing_lm = 0;
    char **fields;
    size_t nf;
    /* id maps: (source, record_id) -> (source, token) key */
    for (size_t m = 0; !st && m < nmaps; m++) {
        static const char *const cols[] = {"record_id", "record_token"};
        int pos[2];
        if ((st = bl_csv_open(paths[m], ',', 0, &r, err)))
            break;
        st = header_cols(r, paths[m], cols, pos, 2, err);
        while (!st) {
            if ((st = bl_csv_next(r, &fields, &nf, err)) || !fields)
                break;
            uint8_t tok[BL_TOKEN_BYTES];
            if ((size_t)pos[0] >= nf || (size_t)pos[1] >= nf || strlen(fields[pos[1]]) != 32 ||
                bl_unhex(fields[pos[1]], tok, BL_TOKEN_BYTES)) {
                st = bl_fail_at(err, BL_EPARSE, paths[m], bl_csv_line(r), -1, "record_token",
                                "expected a record id and a 32-hex token");
                break;
            }
            if (kv_push(&ids, &nids, &cids, rid_key(srcs[m], fields[pos[0]]), tok_key(srcs[m], tok)))
                st = bl_fail(err, BL_ENOMEM, "out of memory");
        }
        bl_csv_close(r);
        r = NULL;
    }
    if (!st)
        qsort(ids, nids, sizeof *ids, cmp_kv);
    /* link map: token key -> entity id */
    if (!st)
        st = bl_linkmap_read_csv(linkmap_csv, NULL, &lm, err);
    if (!st) {
        lmk = malloc((lm->n ? lm->n : 1) * sizeof *lmk);
        if (!lmk)
            st = bl_fail(err, BL_ENOMEM, "out of memory");
        for (size_t i = 0; !st && i < lm->n; i++) {
            lmk[i].k = tok_key(lm->source_names[lm->src[i]], lm->tokens + i * BL_TOKEN_BYTES);
            lmk[i].v = lm->entity[i];
        }
        if (!st) {
            nlm = lm->n;
            qsort(lmk, nlm, sizeof *lmk, cmp_kv);
        }
    }
    uint64_t next_singleton = 0;
    for (size_t i = 0; !st && i < nlm; i++)
        if (lmk[i].v >= next_singleton)
            next_singleton = lmk[i].v + 1;
    /* truth: source, record_id, person_id */
    if (!st && !(st = bl_csv_open(truth_csv, ',', 0, &r, err))) {
        static const char *const cols[] = {"source", "record_id", "person_id"};
        int pos[3];
        st = header_cols(r, truth_csv, cols, pos, 3, err);
        while (!st) {
            if ((st = bl_csv_next(r, &fields, &nf, err)) || !fields)
                break;
            if ((size_t)pos[0] >= nf || (size_t)pos[1] >= nf || (size_t)pos[2] >= nf) {
                st = bl_fail_at(err, BL_EPARSE, truth_csv, bl_csv_line(r), -1, NULL,
                                "too few columns");
                break;
            }
            size_t s = 0;
            while (s < nmaps && strcmp(srcs[s], fields[pos[0]]))
                s++;
            if (s == nmaps)
                continue; /* a source not under evaluation */
            if (nr == cr) {
                size_t nc = cr ? cr * 2 : 4096;
                uint8_t *a = realloc(rs, nc);
                if (a)
                    rs = a;
                uint64_t *b = realloc(rp, nc * sizeof *rp);
                if (b)
                    rp = b;
                uint64_t *c = realloc(re, nc * sizeof *re);
                if (c)
                    re = c;
                if (!a || !b || !c) {
                    st = bl_fail(err, BL_ENOMEM, "out of memory");
                    break;
                }
                cr = nc;
            }
            rs[nr] = (uint8_t)s;
            rp[nr] = hash_str(3, fields[pos[2]]);
            const kv *t = kv_find(ids, nids, rid_key(srcs[s], fields[pos[1]]));
            const kv *e = t ? kv_find(lmk, nlm, t->v) : NULL;
            /* A record the pipeline lost (no token, or absent from the link
               map) cannot be linked: it stands alone and costs recall. */
            if (!t)
                missing_token++;
            else if (!e)
                missing_lm++;
            re[nr] = e ? e->v : next_singleton++;
            nr++;
        }
        bl_csv_close(r);
    }
    if (!st) {
        st = bl_evaluate_records(rs, rp, re, nr, srcs, nmaps, out, err);
        if (!st) {
            (*out)->missing_token = missing_token;
            (*out)->missing_in_linkmap = missing_lm;
        }
    }
    free(ids);
    free(lmk);
    free(rs);
    free(rp);
    free(re);
    bl_linkmap_free(lm);
    return st;
}

/* ------------------------------------------------------------ link rates */

static void bump(json_t *obj, const char *key, int linked, int across)
{
    json_t *o = json_object_get(obj, key);
    if (!o) {
        o = json_object();
        json_object_set_new(o, "records", json_integer(0));
        json_object_set_new(o, "linked", json_integer(0));
        json_object_set_new(o, "linked_across_sources", json_integer(0));
        json_object_set_new(obj, key, o);
    }
    json_object_set_new(o, "records", json_integer(json_integer_value(json_object_get(o, "records")) + 1));
    if (linked)
        json_object_set_new(o, "linked", json_integer(json_integer_value(json_object_get(o, "linked")) + 1));
    if (across)
        json_object_set_new(o, "linked_across_sources",
                            json_integer(json_integer_value(json_object_get(o, "linked_across_sources")) + 1));
}

static void rates(json_t *o)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (json_object_get(v, "records")) {
            double n = (double)json_integer_value(json_object_get(v, "records"));
            double l = (double)json_integer_value(json_object_get(v, "linked"));
            double a = (double)json_integer_value(json_object_get(v, "linked_across_sources"));
            json_object_set_new(v, "link_rate", json_real(n ? l / n : 0));
            json_object_set_new(v, "cross_source_link_rate", json_real(n ? a / n : 0));
        } else {
            rates(v);
        }
    }
}

static json_t *sub(json_t *o, const char *key)
{
    json_t *x = json_object_get(o, key);
    if (!x) {
        x = json_object();
        json_object_set_new(o, key, x);
    }
    return x;
}

bl_status bl_linkmap_report_json(const bl_linkmap *lm, char **out, bl_error *err)
{
    if (!lm || !out)
        return bl_fail(err, BL_EMISUSE, "bl_linkmap_report_json: NULL argument");
    /* Which sources each entity spans (entity ids are 1..entity_count when
       made by matching; read-back maps may use any ids, so index by sort). */
    size_t n = lm->n;
    kv *es = malloc((n ? n : 1) * sizeof *es);
    if (!es)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        es[i].k = lm->entity[i];
        es[i].v = 1ull << lm->src[i];
    }
    qsort(es, n, sizeof *es, cmp_kv);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && es[w - 1].k == es[i].k)
            es[w - 1].v |= es[i].v;
        else
            es[w++] = es[i];
    }
    static const char *sexes[] = {"unknown", "male", "female"};
    json_t *root = json_object();
    json_t *all = json_object(), *bys = json_object(), *bya = json_object(), *byx = json_object();
    json_t *sizes = json_object();
    uint64_t hist[9] = {0};
    static const char *hn[] = {"1", "2", "3", "4", "5", "6-10", "11-20", "21-100", ">100"};
    uint64_t largest = 0;
    for (size_t i = 0; i < n; i++) {
        const kv *e = kv_find(es, w, lm->entity[i]);
        uint64_t mask = e ? e->v : 0;
        int linked = lm->entity_size[i] > 1;
        int across = (mask & ~(1ull << lm->src[i])) != 0;
        const char *sname = lm->source_names[lm->src[i]];
        bump(all, "all", linked, across);
        bump(bys, sname, linked, across);
        if (lm->has_demographics) {
            char band[32];
            if (lm->age_band[i] == 0)
                snprintf(band, sizeof band, "unknown");
            else
                snprintf(band, sizeof band, "%d-%d", (lm->age_band[i] - 1) * 10,
                         (lm->age_band[i] - 1) * 10 + 9);
            bump(sub(bya, sname), band, linked, across);
            bump(sub(byx, sname), sexes[lm->sex[i] < 3 ? lm->sex[i] : 0], linked, across);
        }
        uint32_t sz = lm->entity_size[i];
        if (sz > largest)
            largest = sz;
    }
    /* entity-size histogram: count records per entity id, once per entity */
    {
        kv *cnt = malloc((n ? n : 1) * sizeof *cnt);
        if (cnt) {
            for (size_t i = 0; i < n; i++) {
                cnt[i].k = lm->entity[i];
                cnt[i].v = 0;
            }
            qsort(cnt, n, sizeof *cnt, cmp_kv);
            for (size_t i = 0; i < n;) {
                size_t j = i;
                while (j < n && cnt[j].k == cnt[i].k)
                    j++;
                size_t s = j - i;
                int b = s <= 5 ? (int)s - 1 : s <= 10 ? 5 : s <= 20 ? 6 : s <= 100 ? 7 : 8;
                hist[b]++;
                i = j;
            }
            free(cnt);
        }
    }
    for (int b = 0; b < 9; b++)
        json_object_set_new(sizes, hn[b], json_integer((json_int_t)hist[b]));
    rates(all);
    rates(bys);
    rates(bya);
    rates(byx);
    json_object_set_new(root, "overall", json_incref(json_object_get(all, "all")));
    json_decref(all);
    json_object_set_new(root, "by_source", bys);
    if (lm->has_demographics) {
        json_object_set_new(root, "by_source_age_band", bya);
        json_object_set_new(root, "by_source_sex", byx);
    } else {
        json_decref(bya);
        json_decref(byx);
    }
    json_object_set_new(root, "entities", json_integer((json_int_t)w));
    json_object_set_new(root, "entity_sizes", sizes);
    json_object_set_new(root, "largest_entity", json_integer((json_int_t)largest));
    if (lm->entity_edges) {
        /* Density: share of an entity's record pairs that score above the
           threshold.  Low density in a big entity is the mark of a chain. */
        double sum = 0;
        uint64_t multi = 0, sparse = 0;
        uint32_t *size_of = calloc(lm->entity_count ? lm->entity_count : 1, sizeof *size_of);
        if (size_of) {
            for (size_t i = 0; i < n; i++)
                if (lm->entity[i] >= 1 && lm->entity[i] <= lm->entity_count)
                    size_of[lm->entity[i] - 1] = lm->entity_size[i];
            for (size_t e = 0; e < lm->entity_count; e++) {
                uint64_t s = size_of[e];
                if (s < 2)
                    continue;
                double d = (double)lm->entity_edges[e] / ((double)s * (double)(s - 1) / 2);
                if (d > 1)
                    d = 1;
                sum += d;
                multi++;
                if (d < 0.5)
                    sparse++;
            }
            free(size_of);
        }
        json_t *dj = json_object();
        json_object_set_new(dj, "multi_record_entities", json_integer((json_int_t)multi));
        json_object_set_new(dj, "mean", json_real(multi ? sum / (double)multi : 1.0));
        json_object_set_new(dj, "entities_below_half", json_integer((json_int_t)sparse));
        json_object_set_new(root, "link_density", dj);
    }
    free(es);
    *out = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(root);
    return *out ? BL_OK : bl_fail(err, BL_ENOMEM, "out of memory");
}

bl_status bl_linkmap_write_report(const bl_linkmap *lm, const char *path, bl_error *err)
{
    if (!lm || !path)
        return bl_fail(err, BL_EMISUSE, "bl_linkmap_write_report: NULL argument");
    char *text = NULL;
    bl_status st = bl_linkmap_report_json(lm, &text, err);
    if (st)
        return st;
    size_t len = strlen(text);
    char *nl = realloc(text, len + 2);
    if (!nl) {
        free(text);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    nl[len] = '\n';
    nl[len + 1] = '\0';
    st = bl_write_file_atomic(path, nl, len + 1, err);
    free(nl);
    return st;
}
