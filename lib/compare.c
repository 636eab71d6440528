/* compare.c - per-field agreement levels from Dice of field filters.
   Integer tests only: with c = |a AND b|, Dice >= t/D  <=>  2cD >= t(|a|+|b|),
   so no level ever depends on floating-point rounding. */
#include "config.h"

#include "compare.h"

#include "error.h"
#include "model.h"

/* Level from the AND count c of filters with pa and pb bits set. */
static int level_of(const bl_model_field *mf, uint32_t pa, uint32_t pb, uint32_t c)
{
    if (c == pa && c == pb)
        return (int)mf->nlevels - 1;
    uint64_t lhs = 2ull * c * BL_THRESHOLD_DEN, sum = (uint64_t)pa + pb;
    for (unsigned k = 0; k < mf->nbands; k++)
        if (lhs >= (uint64_t)mf->thr_num[k] * sum)
            return (int)mf->nlevels - 2 - (int)k;
    return 1;
}

/* Level of field fa of record a against field fb of record b, on fa's scale;
   both present.  fa == fb is the ordinary comparison. */
static int cross_level(const bl_dataset *ds, const bl_model *m, size_t fa, size_t fb, uint32_t a,
                       uint32_t b, double *dice)
{
    uint32_t pa = ds->pop[fa][a], pb = ds->pop[fb][b];
    uint32_t c = bl_and_popcount(bl_ds_filter(ds, fa, a), bl_ds_filter(ds, fb, b), ds->words[fa]);
    if (dice)
        *dice = pa + pb ? 2.0 * c / (double)(pa + pb) : 0.0;
    return level_of(&m->fields[fa], pa, pb, c);
}

uint32_t bl_compare_both(const bl_dataset *ds, uint32_t a, uint32_t b)
{
    uint32_t both = ds->present[a] & ds->present[b];
    /* Salted in different cohorts (a birth-year typo), two filters of the
       same name share no bits: that is no evidence, not disagreement. */
    if (ds->salted_mask && ds->cohort[a] && ds->cohort[b] && ds->cohort[a] != ds->cohort[b])
        both &= ~ds->salted_mask;
    return both;
}

/* The fields to compare for a pair: those comparable on both sides, where
   an identity field counts only when a name is missing on one side
   (withheld for want of a birth year), where it is the only evidence on
   names and so never counts name agreement twice.  Names missing, not
   merely in other cohorts: across cohorts the year differs, and a father
   and son of one name at one address would pass for a year typo. */
static uint32_t compared_fields(const bl_dataset *ds, uint32_t a, uint32_t b)
{
    uint32_t both = bl_compare_both(ds, a, b);
    uint32_t present = ds->present[a] & ds->present[b];
    if ((present & ds->name_mask) == ds->name_mask)
        both &= ~ds->identity_mask;
    return both;
}

int bl_compare_field(const bl_dataset *ds, const bl_model *m, size_t f, uint32_t a, uint32_t b,
                     double *dice)
{
    if (!(compared_fields(ds, a, b) >> f & 1)) {
        if (dice)
            *dice = -1;
        return 0;
    }
    return cross_level(ds, m, f, f, a, b, dice);
}

static uint64_t set_level(uint64_t g, size_t f, int lv)
{
    uint64_t mask = (uint64_t)7u << (BL_GAMMA_BITS * f);
    return (g & ~mask) | (uint64_t)lv << (BL_GAMMA_BITS * f);
}

/* Given and family names swapped between records (a common data-entry slip)
   compare as if in their own columns when that agrees better: the swap
   group's shared hashing makes a name set the same bits in either field. */
static uint64_t apply_swaps(const bl_dataset *ds, const bl_model *m, uint32_t a, uint32_t b,
                            uint64_t g, double dice[])
{
    uint32_t both = bl_compare_both(ds, a, b);
    for (size_t k = 0; k < ds->swap_count; k++) {
        size_t f = ds->swap_a[k], h = ds->swap_b[k];
        if (!(both >> f & 1) || !(both >> h & 1))
            continue;
        int lf = bl_gamma_level(g, f), lh = bl_gamma_level(g, h);
        if (lf == (int)m->fields[f].nlevels - 1 && lh == (int)m->fields[h].nlevels - 1)
            continue;
        double df, dh;
        int cf = cross_level(ds, m, f, h, a, b, &df);
        int ch = cross_level(ds, m, h, f, a, b, &dh);
        if (cf + ch > lf + lh) {
            g = set_level(set_level(g, f, cf), h, ch) | BL_GAMMA_SWAPPED;
            if (dice) {
                dice[f] = df;
                dice[h] = dh;
            }
        }
    }
    return g;
}

uint64_t bl_compare_pair(const bl_dataset *ds, const bl_model *m, uint32_t a, uint32_t b)
{
    uint64_t g = 0;
    uint32_t fields = compared_fields(ds, a, b);
    for (size_t f = 0; f < ds->field_count; f++)
        if (fields >> f & 1)
            g |= (uint64_t)cross_level(ds, m, f, f, a, b, NULL) << (BL_GAMMA_BITS * f);
    return ds->swap_count ? apply_swaps(ds, m, a, b, g, NULL) : g;
}

uint64_t bl_compare_pair_dice(const bl_dataset *ds, const bl_model *m, uint32_t a, uint32_t b,
                              double dice[])
{
    uint64_t g = 0;
    for (size_t f = 0; f < ds->field_count; f++)
        g |= (uint64_t)bl_compare_field(ds, m, f, a, b, &dice[f]) << (BL_GAMMA_BITS * f);
    return ds->swap_count ? apply_swaps(ds, m, a, b, g, dice) : g;
}

typedef struct cmp_ctx {
    const bl_dataset *ds;
    const bl_model *m;
    const uint64_t *pairs;
    uint64_t *gamma;
} cmp_ctx;

static void cmp_range(void *arg, unsigned thread, size_t lo, size_t hi)
{
    (void)thread;
    cmp_ctx *c = arg;
    const bl_dataset *ds = c->ds;
    /* Pairs are sorted by their first record, so the second record's
       filters are scattered: fetch them a few pairs ahead. */
    enum { AHEAD = 8 };
    for (size_t i = lo; i < hi; i++) {
        if (i + AHEAD < hi) {
            uint32_t nb = bl_pair_b(c->pairs[i + AHEAD]);
            for (size_t f = 0; f < ds->field_count; f++)
                __builtin_prefetch(bl_ds_filter(ds, f, nb));
            __builtin_prefetch(&ds->present[nb]);
        }
        c->gamma[i] = bl_compare_pair(ds, c->m, bl_pair_a(c->pairs[i]), bl_pair_b(c->pairs[i]));
    }
}

bl_status bl_compare_pairs(const bl_dataset *ds, const bl_model *m, const uint64_t *pairs,
                           size_t n, unsigned threads, uint64_t *gamma, bl_progress_fn progress,
                           void *pu, bl_error *err)
{
    cmp_ctx c = {ds, m, pairs, gamma};
    return bl_parallel_for(n, 1 << 15, threads, cmp_range, &c, progress, pu, "comparing pairs",
                           err);
}
