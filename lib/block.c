/* block.c - candidate pairs.  Each "kind" (one keyed blocking key, or one
   LSH band over the CLK) is handled independently, so kinds run in parallel:
   collect (key, record) entries, drop keys seen once with a libbloom
   semi-join, sort, and emit every pair within each block.  Pairs are packed
   into 64 bits and deduplicated by sort + unique rather than hash sets. */
#include "config.h"

#include "block.h"

#include <bloom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

typedef struct entry {
    uint64_t key;
    uint32_t idx;
} entry;

#define MAX_WARN_PER_KIND 5

typedef struct kind_out {
    uint64_t *pairs;
    size_t n, cap;
    uint64_t capped;
    uint64_t dropped;
    size_t warn_n;
    uint64_t warn_size[MAX_WARN_PER_KIND];
    int oom;
} kind_out;

typedef struct block_ctx {
    const bl_dataset *ds;
    const bl_match_options *opt;
    unsigned kinds;             /* key_count + lsh bands */
    uint32_t *positions;        /* lsh_bands * lsh_bits */
    kind_out *out;
} block_ctx;

void bl_lsh_positions(uint64_t seed, unsigned band, size_t clk_bits, unsigned bits, uint32_t *out)
{
    uint64_t rng = bl_mix64(seed ^ (0x15a5ULL << 32) ^ band);
    for (unsigned k = 0; k < bits; k++) {
        uint32_t p;
        int dup;
        do { /* distinct positions within a band */
            p = (uint32_t)bl_rng_below(&rng, clk_bits);
            dup = 0;
            for (unsigned j = 0; j < k; j++)
                if (out[j] == p)
                    dup = 1;
        } while (dup && bits < clk_bits);
        out[k] = p;
    }
}

uint64_t bl_lsh_key(const bl_dataset *ds, const uint32_t *pos, unsigned bits, unsigned band, size_t i)
{
    if (!ds->clk_words || !ds->clk_pop[i])
        return 0;
    const uint64_t *c = ds->clk + i * ds->clk_words;
    uint64_t v = 0;
    for (unsigned k = 0; k < bits; k++)
        v |= ((c[pos[k] >> 6] >> (pos[k] & 63)) & 1u) << k;
    /* All sampled bits clear says nothing about identity (sparse filters
       would put everyone in one bucket). */
    if (!v)
        return 0;
    uint64_t h = bl_mix64(v ^ ((uint64_t)band << 56) ^ 0x6c7368ULL);
    return h ? h : 1;
}

static int cmp_entry(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int push_pair(kind_out *o, uint64_t p)
{
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 1 << 16;
        uint64_t *np = realloc(o->pairs, nc * sizeof *np);
        if (!np)
            return -1;
        o->pairs = np;
        o->cap = nc;
    }
    o->pairs[o->n++] = p;
    return 0;
}

static void do_kind(block_ctx *c, unsigned kind)
{
    const bl_dataset *ds = c->ds;
    kind_out *o = &c->out[kind];
    size_t n = ds->n;
    entry *e = malloc((n ? n : 1) * sizeof *e);
    if (!e) {
        o->oom = 1;
        return;
    }
    size_t m = 0;
    int is_lsh = kind >= ds->key_count;
    unsigned band = is_lsh ? kind - (unsigned)ds->key_count : 0;
    const uint32_t *pos = is_lsh ? c->positions + (size_t)band * c->opt->lsh_bits : NULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = is_lsh ? bl_lsh_key(ds, pos, c->opt->lsh_bits, band, i)
                            : ds->keys[i * ds->key_count + kind];
        if (k) {
            e[m].key = k;
            e[m].idx = (uint32_t)i;
            m++;
        }
    }
    /* Semi-join: a key held by one record cannot make a pair.  Two libbloom
       filters (seen, seen twice) find such keys in one pass without sorting
       them; false positives only keep a few singletons, never drop a pair. */
    struct bloom seen, twice;
    int entries = m < 1000 ? 1000 : (m > 0x7fffffff ? 0x7fffffff : (int)m);
    if (m > 1 && bloom_init(&seen, entries, 0.01) == 0) {
        if (bloom_init(&twice, entries, 0.01) == 0) {
            for (size_t i = 0; i < m; i++)
                if (bloom_add(&seen, &e[i].key, sizeof e[i].key) == 1)
                    bloom_add(&twice, &e[i].key, sizeof e[i].key);
            size_t w = 0;
            for (size_t i = 0; i < m; i++)
                if (bloom_check(&twice, &e[i].key, sizeof e[i].key) == 1)
                    e[w++] = e[i];
            o->dropped = m - w;
            m = w;
            bloom_free(&twice);
        }
        bloom_free(&seen);
    }
    qsort(e, m, sizeof *e, cmp_entry);
    size_t cap = c->opt->max_block ? c->opt->max_block : (size_t)-1;
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && e[j].key == e[i].key)
            j++;
        size_t s = j - i;
        if (s > cap) {
            o->capped++;
            if (o->warn_n < MAX_WARN_PER_KIND)
                o->warn_size[o->warn_n++] = s;
        } else {
            for (size_t a = i; a < j && !o->oom; a++)
                for (size_t b = a + 1; b < j; b++)
                    if (e[a].idx != e[b].idx && push_pair(o, bl_pair_pack(e[a].idx, e[b].idx))) {
                        o->oom = 1;
                        break;
                    }
        }
        i = j;
    }
    free(e);
    if (!o->oom)
        o->n = bl_sort_unique_u64(o->pairs, o->n, &o->oom);
}

static void kind_range(void *arg, unsigned thread, size_t lo, size_t hi)
{
    (void)thread;
    for (size_t k = lo; k < hi; k++)
        do_kind(arg, (unsigned)k);
}

/* Concatenate kinds [k0, k1) and sort + unique. */
static int merge_kinds(kind_out *out, unsigned k0, unsigned k1, uint64_t **pairs, size_t *n)
{
    size_t total = 0;
    for (unsigned k = k0; k < k1; k++)
        total += out[k].n;
    uint64_t *v = malloc((total ? total : 1) * sizeof *v);
    if (!v)
        return -1;
    size_t w = 0;
    for (unsigned k = k0; k < k1; k++) {
        if (out[k].n)
            memcpy(v + w, out[k].pairs, out[k].n * sizeof *v);
        w += out[k].n;
        free(out[k].pairs);
        out[k].pairs = NULL;
    }
    int oom = 0;
    *n = bl_sort_unique_u64(v, total, &oom);
    *pairs = v;
    return oom ? -1 : 0;
}

/* Union of two sorted distinct arrays; frees both. */
static int merge_two(uint64_t *a, size_t na, uint64_t *b, size_t nb, uint64_t **out, size_t *n)
{
    uint64_t *v = malloc((na + nb ? na + nb : 1) * sizeof *v);
    if (!v) {
        free(a);
        free(b);
        return -1;
    }
    size_t i = 0, j = 0, w = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            v[w++] = a[i++];
        else if (b[j] < a[i])
            v[w++] = b[j++];
        else {
            v[w++] = a[i++];
            j++;
        }
    }
    while (i < na)
        v[w++] = a[i++];
    while (j < nb)
        v[w++] = b[j++];
    free(a);
    free(b);
    uint64_t *shrunk = realloc(v, (w ? w : 1) * sizeof *v);
    *out = shrunk ? shrunk : v;
    *n = w;
    return 0;
}

bl_status bl_block_candidates(const bl_dataset *ds, const bl_match_options *opt,
                              bl_progress_fn progress, void *pu, bl_block_result *res,
                              bl_error *err)
{
    memset(res, 0, sizeof *res);
    unsigned bands = ds->clk_words ? opt->lsh_bands : 0;
    unsigned kinds = (unsigned)ds->key_count + bands;
    block_ctx c;
    c.ds = ds;
    c.opt = opt;
    c.kinds = kinds;
    c.positions = calloc((size_t)(bands ? bands : 1) * (opt->lsh_bits ? opt->lsh_bits : 1),
                         sizeof *c.positions);
    c.out = calloc(kinds ? kinds : 1, sizeof *c.out);
    if (!c.positions || !c.out) {
        free(c.positions);
        free(c.out);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    for (unsigned b = 0; b < bands; b++)
        bl_lsh_positions(opt->seed, b, ds->clk_words * 64, opt->lsh_bits,
                         c.positions + (size_t)b * opt->lsh_bits);
    bl_status st = bl_parallel_for(kinds, 1, bl_threads_for(opt->threads), kind_range, &c,
                                   progress, pu, "blocking", err);
    int oom = 0;
    for (unsigned k = 0; k < kinds; k++) {
        oom |= c.out[k].oom;
        res->blocks_capped += c.out[k].capped;
        res->keys_dropped += c.out[k].dropped;
        char lshname[48];
        const char *name = k < ds->key_count ? ds->key_names[k] : lshname;
        if (k >= ds->key_count)
            snprintf(lshname, sizeof lshname, "clk_lsh_band_%u", k - (unsigned)ds->key_count);
        for (size_t w = 0; !st && w < c.out[k].warn_n; w++)
            bl_logf(opt, BL_LOG_WARN,
                    "blocking key '%s': block of %llu records exceeds the cap of %zu; its pairs are skipped",
                    name, (unsigned long long)c.out[k].warn_size[w], opt->max_block);
        if (!st && c.out[k].capped > c.out[k].warn_n)
            bl_logf(opt, BL_LOG_WARN, "blocking key '%s': %llu more oversized blocks skipped", name,
                    (unsigned long long)(c.out[k].capped - c.out[k].warn_n));
    }
    uint64_t *bp = NULL, *lp = NULL;
    size_t nb = 0, nl = 0;
    if (!st && !oom) {
        if (merge_kinds(c.out, 0, (unsigned)ds->key_count, &bp, &nb) ||
            merge_kinds(c.out, (unsigned)ds->key_count, kinds, &lp, &nl))
            oom = 1;
    }
    for (unsigned k = 0; k < kinds; k++)
        free(c.out[k].pairs);
    free(c.out);
    free(c.positions);
    if (!st && oom)
        st = bl_fail(err, BL_ENOMEM, "out of memory generating candidate pairs");
    if (st) {
        free(bp);
        free(lp);
        return st;
    }
    res->blocking_pairs = nb;
    if (merge_two(bp, nb, lp, nl, &res->pairs, &res->n))
        return bl_fail(err, BL_ENOMEM, "out of memory merging candidate pairs");
    res->lsh_only_pairs = res->n - nb;
    return BL_OK;
}
