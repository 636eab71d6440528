/* model.c - Fellegi-Sunter model: defaults per field type, JSON load/save,
   u from random pairs, m and the prior by EM, term-frequency adjustment. */
#include "config.h"

#include "model.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "error.h"
#include "schema.h"
#include "io.h"

/* Probabilities are kept off 0 and 1 so weights stay finite. */
#define P_FLOOR 1e-9

/*
 * Default agreement bands per field type.  They only decide where level
 * boundaries fall; how much each level is worth is estimated from the data.
 * Names and text: bigram filters, so one edit in a short name keeps roughly
 * 0.6-0.8 of the bits; a "weak" band down to 0.4 holds diminutives and
 * shared stems (DAVE/DAVID, OLLY/OLIVER), which would otherwise look like the
 * unrelated names of twins and siblings (under 0.3) and make twins merge.  Dates (day, month, year, day-month tokens): 3 of 4
 * tokens shared is 0.75, 2 of 4 is 0.5.  Postcodes: same sector vs same
 * district.  NHS numbers: digit bigrams, one digit wrong keeps about 0.8.
 */
static void type_defaults(uint8_t type, unsigned *nb, double th[BL_MAX_BANDS], int *tf)
{
    *tf = 0;
    switch (type) {
    case BL_FIELD_NAME:
    case BL_FIELD_TEXT:
        *nb = 3; th[0] = 0.8; th[1] = 0.6; th[2] = 0.4; *tf = 1;
        break;
    case BL_FIELD_DATE:
        *nb = 2; th[0] = 0.7; th[1] = 0.45; *tf = 1;
        break;
    case BL_FIELD_POSTCODE:
        *nb = 2; th[0] = 0.75; th[1] = 0.5; *tf = 1;
        break;
    case BL_FIELD_NHS_NUMBER:
        *nb = 1; th[0] = 0.7;
        break;
    case BL_FIELD_IDENTITY: /* one token: the same values or not */
        *nb = 0; *tf = 1;
        break;
    case BL_FIELD_SEX:
    default:
        *nb = 0;
        break;
    }
}

static const char *band_names[BL_MAX_BANDS] = {"close", "partial", "weak"};

const char *bl_model_level_name(const bl_model_field *f, int level)
{
    if (level <= 0 || (unsigned)level >= f->nlevels)
        return "missing";
    return f->level_names[level] ? f->level_names[level] : "?";
}

static void free_fields(bl_model *m)
{
    if (!m->fields)
        return;
    for (size_t f = 0; f < m->field_count; f++) {
        free(m->fields[f].name);
        for (int l = 0; l < BL_MAX_LEVELS; l++)
            free(m->fields[f].level_names[l]);
    }
    free(m->fields);
    m->fields = NULL;
}

static void free_sp(bl_model *m)
{
    for (size_t i = 0; i < m->n_sp; i++) {
        free(m->sp_a[i]);
        free(m->sp_b[i]);
    }
    free(m->sp_a);
    free(m->sp_b);
    free(m->sp_pi);
    m->sp_a = m->sp_b = NULL;
    m->sp_pi = NULL;
    m->n_sp = 0;
    free(m->bound);
    m->bound = NULL;
    m->bound_sources = 0;
}

/* Room for n per-source-pair share vectors (training and loading both fill it). */
static bl_status alloc_sp(bl_model *m, size_t n, bl_error *err)
{
    m->sp_a = calloc(n, sizeof *m->sp_a);
    m->sp_b = calloc(n, sizeof *m->sp_b);
    m->sp_pi = calloc(n, sizeof *m->sp_pi);
    if (!m->sp_a || !m->sp_b || !m->sp_pi)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    return BL_OK;
}

void bl_model_free(bl_model *m)
{
    if (!m)
        return;
    free_sp(m);
    free_fields(m);
    free(m);
    bl_handle_destroyed();
}

int bl_model_is_trained(const bl_model *m) { return m ? m->trained : 0; }

static bl_model *model_alloc(size_t nf)
{
    bl_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->fields = calloc(nf ? nf : 1, sizeof *m->fields);
    if (!m->fields) {
        free(m);
        return NULL;
    }
    m->field_count = nf;
    m->em_max_iterations = 200;
    m->em_tolerance = 1e-6;
    bl_handle_created();
    return m;
}

static void set_thresholds(bl_model_field *mf)
{
    for (unsigned k = 0; k < mf->nbands; k++)
        mf->thr_num[k] = (uint32_t)ceil(mf->thresholds[k] * BL_THRESHOLD_DEN - 1e-9);
    mf->nlevels = mf->nbands + 3;
}

/* Starting values: exact agreement is most of the matches, lower bands
   progressively less; u starts as "agreement is rare".  EM and the random
   pairs replace them. */
static void start_values(bl_model_field *mf)
{
    unsigned L = mf->nlevels;
    mf->m[L - 1] = 0.8;
    mf->u[L - 1] = 0.01;
    double mleft = 0.2, uleft = 0.99;
    for (unsigned l = L - 2; l >= 1; l--) {
        if (l == 1) {
            mf->m[l] = mleft;
            mf->u[l] = uleft;
        } else {
            mf->m[l] = mleft / 2;
            mf->u[l] = 0.01;
            mleft -= mf->m[l];
            uleft -= mf->u[l];
        }
    }
}

static bl_status init_field(bl_model_field *mf, const char *name, uint8_t type)
{
    mf->name = strdup(name);
    if (!mf->name)
        return BL_ENOMEM;
    mf->type = type;
    type_defaults(type, &mf->nbands, mf->thresholds, &mf->tf);
    mf->tf_min_u = 1e-8;
    set_thresholds(mf);
    mf->level_names[1] = strdup("disagree");
    mf->level_names[mf->nlevels - 1] = strdup("exact");
    for (unsigned k = 0; k < mf->nbands; k++)
        mf->level_names[mf->nlevels - 2 - k] = strdup(band_names[k]);
    for (unsigned l = 1; l < mf->nlevels; l++)
        if (!mf->level_names[l])
            return BL_ENOMEM;
    start_values(mf);
    return BL_OK;
}

void bl_model_update_weights(bl_model *m)
{
    for (size_t f = 0; f < m->field_count; f++) {
        bl_model_field *mf = &m->fields[f];
        mf->w[0] = 0;
        for (unsigned l = 1; l < mf->nlevels; l++) {
            double mm = mf->m[l] < P_FLOOR ? P_FLOOR : mf->m[l];
            double uu = mf->u[l] < P_FLOOR ? P_FLOOR : mf->u[l];
            mf->w[l] = log2(mm / uu);
            double hh = mf->h[l] < P_FLOOR ? P_FLOOR : mf->h[l];
            mf->wh[l] = log2(hh / uu);
            double vv = mf->v[l] < P_FLOOR ? P_FLOOR : mf->v[l];
            mf->wv[l] = log2(vv / mm);
            double gg = mf->g[l] < P_FLOOR ? P_FLOOR : mf->g[l];
            mf->wg[l] = log2(gg / uu);
        }
    }
}

static void global_pi(const bl_model *m, double pi[BL_CLASSES])
{
    pi[0] = m->prior;
    pi[2] = m->related_class ? m->prior_related : 0;
    pi[3] = m->variant_class ? m->prior_variant : 0;
    pi[4] = m->household_class ? m->prior_household : 0;
    pi[1] = 1 - pi[0] - pi[2] - pi[3] - pi[4];
}

double bl_model_prior_weight_pi(const double pi[BL_CLASSES])
{
    double p = pi[0] < 1e-15 ? 1e-15 : pi[0];
    double q = pi[1] < 1e-12 ? 1e-12 : pi[1];
    return log2(p / q);
}

double bl_model_prior_weight(const bl_model *m)
{
    double pi[BL_CLASSES];
    global_pi(m, pi);
    return bl_model_prior_weight_pi(pi);
}

/* log2(1 + 2^x) without overflow */
static double log2_1p_exp2(double x)
{
    return x > 60 ? x : log2(1.0 + exp2(x));
}

double bl_model_related_adjustment_pi(const bl_model *m, uint64_t gamma, const double pi[BL_CLASSES])
{
    double adj = 0;
    double pu = pi[1] < 1e-12 ? 1e-12 : pi[1];
    /* non-match side: log2(1 + (pi_H P(g|H) + pi_G P(g|G)) / (pi_U P(g|U))) */
    double lh = -1e300, lg = -1e300;
    if (m->related_class && pi[2] > 0) {
        lh = log2(pi[2] / pu);
        for (size_t f = 0; f < m->field_count; f++)
            lh += m->fields[f].wh[bl_gamma_level(gamma, f)];
    }
    if (m->household_class && pi[4] > 0) {
        lg = log2(pi[4] / pu);
        for (size_t f = 0; f < m->field_count; f++)
            lg += m->fields[f].wg[bl_gamma_level(gamma, f)];
    }
    if (lh > -1e300 || lg > -1e300) {
        double mx = lh > lg ? lh : lg;
        double sum = mx + log2(exp2(lh - mx) + exp2(lg - mx));
        adj -= log2_1p_exp2(sum);
    }
    if (m->variant_class && pi[3] > 0 && pi[0] > 0) {
        double lv = log2(pi[3] / pi[0]);
        for (size_t f = 0; f < m->field_count; f++)
            lv += m->fields[f].wv[bl_gamma_level(gamma, f)];
        adj += log2_1p_exp2(lv);
    }
    return adj;
}

double bl_model_related_adjustment(const bl_model *m, uint64_t gamma)
{
    double pi[BL_CLASSES];
    global_pi(m, pi);
    return bl_model_related_adjustment_pi(m, gamma, pi);
}

void bl_model_pair_pi(const bl_model *m, const char *sa, const char *sb, double pi[BL_CLASSES])
{
    for (size_t i = 0; i < m->n_sp; i++)
        if ((!strcmp(m->sp_a[i], sa) && !strcmp(m->sp_b[i], sb)) ||
            (!strcmp(m->sp_a[i], sb) && !strcmp(m->sp_b[i], sa))) {
            memcpy(pi, m->sp_pi[i], BL_CLASSES * sizeof *pi);
            return;
        }
    global_pi(m, pi);
}

bl_status bl_model_bind(bl_model *m, const bl_dataset *ds, bl_error *err)
{
    free(m->bound);
    m->bound = NULL;
    m->bound_sources = 0;
    size_t S = ds->source_count;
    if (!m->n_sp || !S)
        return BL_OK;
    m->bound = malloc(S * S * sizeof *m->bound);
    if (!m->bound)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t a = 0; a < S; a++)
        for (size_t b = 0; b < S; b++) {
            int found = -1;
            for (size_t i = 0; i < m->n_sp && found < 0; i++)
                if ((!strcmp(m->sp_a[i], ds->source_names[a]) &&
                     !strcmp(m->sp_b[i], ds->source_names[b])) ||
                    (!strcmp(m->sp_a[i], ds->source_names[b]) &&
                     !strcmp(m->sp_b[i], ds->source_names[a])))
                    found = (int)i;
            m->bound[a * S + b] = found;
        }
    m->bound_sources = S;
    return BL_OK;
}

bl_status bl_model_for_fields(size_t nf, const char *const *names, const uint8_t *types,
                              bl_model **out, bl_error *err)
{
    *out = NULL;
    if (nf == 0 || nf > BL_MATCH_FIELDS)
        return bl_fail(err, BL_EUNSUPPORTED, "a model needs 1 to %d fields, not %zu",
                       BL_MATCH_FIELDS, nf);
    bl_model *m = model_alloc(nf);
    if (!m)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t f = 0; f < nf; f++)
        if (init_field(&m->fields[f], names[f], types[f])) {
            bl_model_free(m);
            return bl_fail(err, BL_ENOMEM, "out of memory");
        }
    m->prior = 1e-6;
    m->u_from_candidates = 1;
    m->related_class = 1;
    m->variant_class = 1;
    m->household_class = 1;
    bl_model_update_weights(m);
    *out = m;
    return BL_OK;
}

bl_status bl_model_default(const bl_dataset *ds, bl_model **out, bl_error *err)
{
    if (!ds || !out)
        return bl_fail(err, BL_EMISUSE, "bl_model_default: NULL argument");
    if (!ds->field_count)
        return bl_fail(err, BL_EMISUSE, "dataset is empty: add an encoding file first");
    bl_status st = bl_model_for_fields(ds->field_count, (const char *const *)ds->field_names,
                                       ds->field_types, out, err);
    if (!st)
        snprintf((*out)->schema_fp, sizeof (*out)->schema_fp, "%s", ds->schema_fp);
    return st;
}

bl_status bl_model_check_dataset(const bl_model *m, const bl_dataset *ds, bl_error *err)
{
    if (!ds->field_count)
        return bl_fail(err, BL_EMISUSE, "dataset is empty");
    if (m->schema_fp[0] && ds->schema_fp[0] && strcmp(m->schema_fp, ds->schema_fp))
        return bl_fail(err, BL_EMISMATCH,
                       "model was made for schema %.12s..., the encodings use %.12s...",
                       m->schema_fp, ds->schema_fp);
    if (m->field_count != ds->field_count)
        return bl_fail(err, BL_EMISMATCH, "model has %zu fields, the encodings %zu",
                       m->field_count, ds->field_count);
    for (size_t f = 0; f < m->field_count; f++)
        if (strcmp(m->fields[f].name, ds->field_names[f]))
            return bl_fail(err, BL_EMISMATCH, "model field %zu is '%s', the encodings have '%s'",
                           f, m->fields[f].name, ds->field_names[f]);
    return BL_OK;
}

/* ------------------------------------------------------------ scoring */

double bl_model_tf_adjustment(const bl_model *m, const bl_dataset *ds, size_t f, int level,
                              uint32_t a)
{
    const bl_model_field *mf = &m->fields[f];
    if (!mf->tf || level != (int)mf->nlevels - 1 || !ds->tf_ready)
        return 0.0;
    uint64_t N = ds->tf_present[f];
    double mean = ds->tf_pair_rate[f];
    if (N < 2 || mean <= 0)
        return 0.0;
    /* Chance that another record carries exactly this (salted) value; its
       mean over records is tf_pair_rate, so rare values gain and common ones
       lose relative to the average exact-agreement weight. */
    double c = (double)ds->tf[f][a] - 1.0;
    if (c < 1)
        c = 1;
    double utf = c / (double)(N - 1);
    if (utf < mf->tf_min_u)
        utf = mf->tf_min_u;
    return log2(mean / utf);
}

double bl_model_weight_pi(const bl_model *m, const bl_dataset *ds, uint64_t gamma, uint32_t a,
                          const double pi[BL_CLASSES])
{
    double w = bl_model_prior_weight_pi(pi);
    for (size_t f = 0; f < m->field_count; f++) {
        int lv = bl_gamma_level(gamma, f);
        if (!lv)
            continue;
        w += m->fields[f].w[lv];
        if (m->fields[f].tf && lv == (int)m->fields[f].nlevels - 1 &&
            !bl_gamma_swapped_field(ds, gamma, f))
            w += bl_model_tf_adjustment(m, ds, f, lv, a);
    }
    return w + bl_model_related_adjustment_pi(m, gamma, pi);
}

double bl_model_weight(const bl_model *m, const bl_dataset *ds, uint64_t gamma, uint32_t a,
                       uint32_t b)
{
    double pi[BL_CLASSES];
    int row = -1;
    if (m->bound && m->bound_sources == ds->source_count)
        row = m->bound[(size_t)ds->src[a] * ds->source_count + ds->src[b]];
    if (row >= 0)
        memcpy(pi, m->sp_pi[row], sizeof pi);
    else
        global_pi(m, pi);
    return bl_model_weight_pi(m, ds, gamma, a, pi);
}

/* ------------------------------------------------------------ u */

typedef struct u_ctx {
    const bl_dataset *ds;
    const bl_model *m;
    uint64_t seed;
    uint64_t *counts; /* [thread][field][level] */
} u_ctx;

static void u_range(void *arg, unsigned thread, size_t lo, size_t hi)
{
    u_ctx *c = arg;
    const bl_dataset *ds = c->ds;
    uint64_t *cnt = c->counts + (size_t)thread * ds->field_count * BL_MAX_LEVELS;
    /* One stream per chunk, so the sample does not depend on thread count. */
    uint64_t rng = bl_mix64(c->seed ^ bl_mix64(lo));
    uint64_t n = ds->n;
    for (size_t s = lo; s < hi; s++) {
        uint32_t a = (uint32_t)bl_rng_below(&rng, n);
        uint32_t b = (uint32_t)bl_rng_below(&rng, n - 1);
        if (b >= a)
            b++;
        for (size_t f = 0; f < ds->field_count; f++) {
            int lv = bl_compare_field(ds, c->m, f, a, b, NULL);
            cnt[f * BL_MAX_LEVELS + (size_t)lv]++;
        }
    }
}

bl_status bl_model_estimate_u(bl_model *m, const bl_dataset *ds, const bl_match_options *opt,
                              bl_progress_fn progress, void *pu, bl_error *err)
{
    if (ds->n < 2)
        return bl_fail(err, BL_EINVALID, "need at least two records to estimate u");
    bl_status st = bl_dataset_term_frequencies((bl_dataset *)ds, err);
    if (st)
        return st;
    unsigned threads = bl_threads_for(opt->threads);
    size_t per = ds->field_count * BL_MAX_LEVELS;
    uint64_t *counts = calloc((size_t)threads * per, sizeof *counts);
    if (!counts)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    uint64_t S = opt->u_sample_pairs ? opt->u_sample_pairs : 1000000;
    u_ctx c = {ds, m, opt->seed ^ 0x75u, counts};
    st = bl_parallel_for(S, 1 << 15, threads, u_range, &c, progress, pu, "sampling random pairs",
                         err);
    if (st) {
        free(counts);
        return st;
    }
    for (unsigned t = 1; t < threads; t++)
        for (size_t k = 0; k < per; k++)
            counts[k] += counts[(size_t)t * per + k];
    for (size_t f = 0; f < m->field_count; f++) {
        bl_model_field *mf = &m->fields[f];
        const uint64_t *cf = counts + f * BL_MAX_LEVELS;
        unsigned L = mf->nlevels;
        double both = 0;
        for (unsigned l = 1; l < L; l++)
            both += (double)cf[l];
        /* Exact agreement: counted over all records, not sampled, so rare
           exact agreement (a salted name) is measured without noise. */
        double uex = ds->tf_pair_rate[f];
        if (uex <= 0)
            uex = both > 0 ? (double)cf[L - 1] / both : 0;
        if (uex < P_FLOOR)
            uex = P_FLOOR;
        double rest = 0;
        for (unsigned l = 1; l < L - 1; l++)
            rest += (double)cf[l] + 0.5;
        mf->u_random[L - 1] = uex;
        for (unsigned l = 1; l < L - 1; l++)
            mf->u_random[l] = ((double)cf[l] + 0.5) / rest * (1.0 - uex);
        for (unsigned l = 1; l < L; l++)
            if (!mf->fix_u[l])
                mf->u[l] = mf->u_random[l];
    }
    m->u_sample_pairs = S;
    m->records = ds->n;
    free(counts);
    bl_model_update_weights(m);
    return BL_OK;
}

/* ------------------------------------------------------------ EM */

/* Open-addressing table gamma -> count (distinct vectors are few). */
typedef struct ptab {
    uint64_t *key, *cnt;
    size_t cap, used;
} ptab;

static int ptab_add(ptab *t, uint64_t k, uint64_t c);

static int ptab_grow(ptab *t)
{
    ptab n;
    n.cap = t->cap ? t->cap * 2 : 4096;
    n.used = 0;
    n.key = malloc(n.cap * sizeof *n.key);
    n.cnt = calloc(n.cap, sizeof *n.cnt);
    if (!n.key || !n.cnt) {
        free(n.key);
        free(n.cnt);
        return -1;
    }
    for (size_t i = 0; i < t->cap; i++)
        if (t->cnt[i])
            ptab_add(&n, t->key[i], t->cnt[i]);
    free(t->key);
    free(t->cnt);
    *t = n;
    return 0;
}

static int ptab_add(ptab *t, uint64_t k, uint64_t c)
{
    if ((t->used + 1) * 2 > t->cap && ptab_grow(t))
        return -1;
    size_t mask = t->cap - 1;
    size_t i = (size_t)bl_mix64(k) & mask;
    while (t->cnt[i] && t->key[i] != k)
        i = (i + 1) & mask;
    if (!t->cnt[i]) {
        t->key[i] = k;
        t->used++;
    }
    t->cnt[i] += c;
    return 0;
}

/* Level distribution from weighted counts, with one pseudo-pair spread over
   the levels so an unseen level gets a small probability, not zero (a level
   no match showed in training must not veto a link forever). */
static double update_dist(double *dst, const double *acc, const int *fixed, unsigned L)
{
    double tot = 0, fixed_mass = 0, delta = 0;
    for (unsigned l = 1; l < L; l++) {
        if (fixed && fixed[l])
            fixed_mass += dst[l];
        else
            tot += acc[l] + 1.0 / (L - 1);
    }
    if (tot <= 0)
        return 0;
    for (unsigned l = 1; l < L; l++) {
        if (fixed && fixed[l])
            continue;
        double v = (acc[l] + 1.0 / (L - 1)) * (1.0 - fixed_mass) / tot;
        if (v < P_FLOOR)
            v = P_FLOOR;
        if (fabs(v - dst[l]) > delta)
            delta = fabs(v - dst[l]);
        dst[l] = v;
    }
    return delta;
}

/*
 * EM over the candidates with every class's level distribution estimated
 * there.  Classes (each with independent fields): 0 M match, 1 U unrelated
 * non-match, 2 H related non-match (households, twins; with related_class),
 * 3 V match with variant names (with variant_class).  Starting values: m
 * from the model (exact agreement likely), u from random pairs, h "agrees
 * half the time", v "names mostly disagree, the rest agrees", and about one
 * match per record.  The classes only start from these shapes; where they
 * end up is the data's doing.
 */
enum { CL_M, CL_U, CL_H, CL_V, CL_G, CL_N };

static double *class_dist(bl_model_field *mf, int k)
{
    return k == CL_M ? mf->m : k == CL_U ? mf->u : k == CL_H ? mf->h : k == CL_V ? mf->v : mf->g;
}

/* Starting shape of the household class for one field. */
static void household_start(bl_model_field *mf)
{
    unsigned L = mf->nlevels;
    double exact;
    switch (mf->type) {
    case BL_FIELD_POSTCODE: exact = 0.85; break;
    case BL_FIELD_NHS_NUMBER: exact = 0.02; break;
    case BL_FIELD_DATE: exact = 0.3; break;
    default: exact = 0.5; break;
    }
    mf->g[L - 1] = exact;
    double rest = 1 - exact;
    if (L > 3) {
        for (unsigned l = 2; l < L - 1; l++)
            mf->g[l] = 0.1 * rest / (L - 3);
        mf->g[1] = 0.9 * rest;
    } else {
        mf->g[1] = rest;
    }
}

/*
 * Start the household class from the data where the schema says how: pairs
 * at one address (a postcode field agrees exactly) whose NHS numbers do not
 * agree and whose names do not all agree.  EM then refines it; without such
 * fields the typed starting shape stays.
 */
static void household_seed(bl_model *m, const uint64_t *pat, const uint64_t *cnt, size_t np)
{
    int post = -1, have_name = 0;
    for (size_t f = 0; f < m->field_count; f++) {
        if (m->fields[f].type == BL_FIELD_POSTCODE && post < 0)
            post = (int)f;
        if (m->fields[f].type == BL_FIELD_NAME)
            have_name = 1;
    }
    if (post < 0 || !have_name)
        return;
    double acc[BL_MATCH_FIELDS][BL_MAX_LEVELS];
    memset(acc, 0, sizeof acc);
    double n = 0;
    for (size_t p = 0; p < np; p++) {
        const bl_model_field *pf = &m->fields[post];
        if (bl_gamma_level(pat[p], (size_t)post) != (int)pf->nlevels - 1)
            continue;
        int reject = 0, name_differs = 0;
        for (size_t f = 0; f < m->field_count; f++) {
            const bl_model_field *mf = &m->fields[f];
            int lv = bl_gamma_level(pat[p], f);
            if (mf->type == BL_FIELD_NHS_NUMBER && lv == (int)mf->nlevels - 1)
                reject = 1;
            if (mf->type == BL_FIELD_NAME && lv == 1)
                name_differs = 1;
        }
        if (reject || !name_differs)
            continue;
        for (size_t f = 0; f < m->field_count; f++)
            acc[f][bl_gamma_level(pat[p], f)] += (double)cnt[p];
        n += (double)cnt[p];
    }
    if (n < 10)
        return;
    for (size_t f = 0; f < m->field_count; f++) {
        bl_model_field *mf = &m->fields[f];
        double tot = 0;
        for (unsigned l = 1; l < mf->nlevels; l++)
            tot += acc[f][l] + 1.0;
        if (tot <= 0)
            continue;
        for (unsigned l = 1; l < mf->nlevels; l++)
            mf->g[l] = (acc[f][l] + 1.0) / tot;
    }
}

static double tot_or(double (*sum)[CL_N], size_t ns, int k)
{
    double t = 0;
    for (size_t i = 0; i < ns; i++)
        t += sum[i][k];
    return t;
}

static bl_status em_latent(bl_model *m, const uint64_t *pat, const uint64_t *cnt, size_t np,
                           const char *const *sp_names, size_t n_sp, const bl_match_options *opt,
                           bl_error *err)
{
    size_t nf = m->field_count;
    int on[CL_N] = {1, 1, m->related_class, m->variant_class, m->household_class};
    const uint64_t gmask = ((uint64_t)1 << BL_SP_SHIFT) - 1;
    if (!sp_names)
        n_sp = 0;
    size_t ns = n_sp ? n_sp : 1;
    double ncand = 0;
    double *nsp = calloc(ns, sizeof *nsp);
    double (*pi)[CL_N] = calloc(ns, sizeof *pi);
    double (*sum)[CL_N] = calloc(ns, sizeof *sum);
    const size_t asize = sizeof(double[CL_N][BL_MATCH_FIELDS][BL_MAX_LEVELS]);
    double (*A)[BL_MATCH_FIELDS][BL_MAX_LEVELS] = malloc(asize);
    if (!nsp || !pi || !sum || !A) {
        free(nsp);
        free(pi);
        free(sum);
        free(A);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    for (size_t p = 0; p < np; p++) {
        size_t sp = n_sp ? (size_t)(pat[p] >> BL_SP_SHIFT) : 0;
        if (sp >= ns)
            sp = ns - 1;
        nsp[sp] += (double)cnt[p];
        ncand += (double)cnt[p];
    }
    if (ncand <= 0) {
        free(nsp);
        free(pi);
        free(sum);
        free(A);
        return bl_fail(err, BL_EINVALID, "no candidate pairs to train on");
    }
    double g[CL_N] = {0, 0, 0, 0, 0};
    double guess = 0.5 * (ncand < (double)m->records || !m->records ? ncand : (double)m->records);
    g[CL_M] = m->fix_prior ? m->prior : guess / ncand;
    if (g[CL_M] <= 0 || g[CL_M] >= 0.5)
        g[CL_M] = 0.1;
    g[CL_H] = on[CL_H] ? g[CL_M] / 2 : 0;
    g[CL_V] = on[CL_V] ? g[CL_M] / 20 : 0;
    g[CL_G] = on[CL_G] ? g[CL_M] / 4 : 0;
    g[CL_U] = 1 - g[CL_M] - g[CL_H] - g[CL_V] - g[CL_G];
    for (size_t sp = 0; sp < ns; sp++)
        memcpy(pi[sp], g, sizeof g);
    for (size_t f = 0; f < nf; f++) {
        bl_model_field *mf = &m->fields[f];
        unsigned L = mf->nlevels;
        for (unsigned l = 1; l < L; l++)
            if (!mf->fix_u[l] && mf->u_random[l] > 0)
                mf->u[l] = mf->u_random[l];
        mf->h[L - 1] = L > 3 ? 0.5 : 0.55;
        mf->h[1] = L > 3 ? 0.4 : 0.45;
        for (unsigned l = 2; l < L - 1; l++)
            mf->h[l] = 0.1 / (L - 3);
        int name = mf->type == BL_FIELD_NAME;
        for (unsigned l = 1; l < L; l++)
            mf->v[l] = name ? (l == 1 ? 0.6 : 0.4 / (L - 2)) : mf->m[l];
        household_start(mf);
    }
    if (on[CL_G])
        household_seed(m, pat, cnt, np);
    unsigned maxit = opt && opt->em_max_iterations ? opt->em_max_iterations : 5000;
    double tol = opt && opt->em_tolerance > 0 ? opt->em_tolerance : 1e-6;
    unsigned it;
    int converged = 0;
    /* Pairs of sources with few candidates borrow strength from the
       overall shares (this many pseudo-pairs). */
    const double borrow = 20.0;
    /* log2 of every class's level probabilities and shares, once per
       iteration rather than once per pattern */
    double (*lq)[BL_MATCH_FIELDS][BL_MAX_LEVELS] = malloc(asize);
    double (*lpi)[CL_N] = malloc(ns * sizeof *lpi);
    if (!lq || !lpi) {
        free(lq);
        free(lpi);
        free(nsp);
        free(pi);
        free(sum);
        free(A);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    for (it = 1; it <= maxit; it++) {
        memset(A, 0, asize);
        memset(sum, 0, ns * sizeof *sum);
        for (int k = 0; k < CL_N; k++) {
            if (!on[k])
                continue;
            for (size_t f = 0; f < nf; f++) {
                const double *dist = class_dist(&m->fields[f], k);
                lq[k][f][0] = 0;
                for (unsigned l = 1; l < m->fields[f].nlevels; l++)
                    lq[k][f][l] = log2(dist[l] < P_FLOOR ? P_FLOOR : dist[l]);
            }
            for (size_t sp = 0; sp < ns; sp++)
                lpi[sp][k] = log2(pi[sp][k] < 1e-300 ? 1e-300 : pi[sp][k]);
        }
        for (size_t p = 0; p < np; p++) {
            size_t sp = n_sp ? (size_t)(pat[p] >> BL_SP_SHIFT) : 0;
            if (sp >= ns)
                sp = ns - 1;
            uint64_t gam = pat[p] & gmask;
            double l[CL_N];
            for (int k = 0; k < CL_N; k++)
                l[k] = on[k] ? lpi[sp][k] : 0;
            for (size_t f = 0; f < nf; f++) {
                int lv = bl_gamma_level(gam, f);
                if (!lv)
                    continue;
                for (int k = 0; k < CL_N; k++)
                    if (on[k])
                        l[k] += lq[k][f][lv];
            }
            double mx = -1e300;
            for (int k = 0; k < CL_N; k++)
                if (on[k] && l[k] > mx)
                    mx = l[k];
            double r[CL_N], z = 0;
            for (int k = 0; k < CL_N; k++)
                z += (r[k] = on[k] ? exp2(l[k] - mx) : 0);
            for (int k = 0; k < CL_N; k++) {
                if (!on[k])
                    continue;
                double e = r[k] / z * (double)cnt[p];
                sum[sp][k] += e;
                for (size_t f = 0; f < nf; f++)
                    A[k][f][bl_gamma_level(gam, f)] += e;
            }
        }
        double delta = 0;
        double tot[CL_N] = {0, 0, 0, 0, 0};
        for (size_t sp = 0; sp < ns; sp++)
            for (int k = 0; k < CL_N; k++)
                tot[k] += sum[sp][k];
        for (int k = 0; k < CL_N; k++)
            g[k] = tot[k] / ncand;
        for (size_t sp = 0; sp < ns; sp++) {
            double np_k[CL_N];
            for (int k = 0; k < CL_N; k++)
                np_k[k] = on[k] ? (sum[sp][k] + borrow * g[k]) / (nsp[sp] + borrow) : 0;
            if (m->fix_prior) {
                double rest = 0;
                for (int k = 1; k < CL_N; k++)
                    rest += np_k[k];
                np_k[CL_M] = m->prior;
                for (int k = 1; k < CL_N; k++)
                    np_k[k] = rest > 0 ? (1 - m->prior) * np_k[k] / rest : 0;
            }
            for (int k = 0; k < CL_N; k++) {
                if (!on[k])
                    continue;
                if (np_k[k] < 1e-12)
                    np_k[k] = 1e-12;
                double d = fabs(log(np_k[k] / pi[sp][k]));
                if (nsp[sp] > 0 && d > delta)
                    delta = d;
                pi[sp][k] = np_k[k];
            }
        }
        for (size_t f = 0; f < nf; f++) {
            bl_model_field *mf = &m->fields[f];
            /* V differs from M only in its names: other fields share one
               distribution (pooled counts), which keeps V a kind of match
               rather than any cluster of pairs EM might find. */
            int shared = on[CL_V] && mf->type != BL_FIELD_NAME;
            if (shared)
                for (unsigned l = 0; l < mf->nlevels; l++)
                    A[CL_M][f][l] += A[CL_V][f][l];
            for (int k = 0; k < CL_N; k++) {
                if (!on[k])
                    continue;
                if (k == CL_V && shared) {
                    memcpy(mf->v, mf->m, sizeof mf->v);
                    continue;
                }
                if (mf->type == BL_FIELD_IDENTITY && k != CL_M && k != CL_V) {
                    /* Candidates were found by this very value (its blocking
                       key), so among them non-matches agree too: chance
                       agreement can only come from random pairs. */
                    if (k != CL_U)
                        memcpy(class_dist(mf, k), mf->u, sizeof mf->u);
                    continue;
                }
                const int *fixed = k == CL_M ? mf->fix_m : k == CL_U ? mf->fix_u : NULL;
                double d = update_dist(class_dist(mf, k), A[k][f], fixed, mf->nlevels);
                if (d > delta)
                    delta = d;
            }
        }
        if (delta < tol) {
            converged = 1;
            break;
        }
    }
    free(A);
    free(lq);
    free(lpi);
    if (it > maxit)
        it = maxit;
    /* Log-likelihood and parameter count, for choosing how many classes the
       data support (BIC). */
    double ll = 0, kpar = 0;
    for (size_t p = 0; p < np; p++) {
        size_t sp = n_sp ? (size_t)(pat[p] >> BL_SP_SHIFT) : 0;
        if (sp >= ns)
            sp = ns - 1;
        uint64_t gam = pat[p] & gmask;
        double l[CL_N], mx = -1e300;
        for (int k = 0; k < CL_N; k++) {
            if (!on[k])
                continue;
            l[k] = log(pi[sp][k] < 1e-300 ? 1e-300 : pi[sp][k]);
            for (size_t f = 0; f < nf; f++) {
                int lv = bl_gamma_level(gam, f);
                if (lv) {
                    double q = class_dist(&m->fields[f], k)[lv];
                    l[k] += log(q < P_FLOOR ? P_FLOOR : q);
                }
            }
            if (l[k] > mx)
                mx = l[k];
        }
        double z = 0;
        for (int k = 0; k < CL_N; k++)
            if (on[k])
                z += exp(l[k] - mx);
        ll += (double)cnt[p] * (mx + log(z));
    }
    int K = 0;
    for (int k = 0; k < CL_N; k++) {
        if (!on[k])
            continue;
        K++;
        for (size_t f = 0; f < nf; f++)
            if (k != CL_V || m->fields[f].type == BL_FIELD_NAME)
                kpar += m->fields[f].nlevels - 2;
    }
    size_t active_sp = 0;
    for (size_t sp = 0; sp < ns; sp++)
        active_sp += nsp[sp] > 0;
    kpar += (double)active_sp * (K - 1);
    m->em_loglik = ll;
    m->em_params = kpar;
    m->em_bic = -2 * ll + kpar * log(ncand);
    m->prior = m->fix_prior ? m->prior : g[CL_M];
    m->prior_related = g[CL_H];
    m->prior_variant = g[CL_V];
    m->prior_household = g[CL_G];
    free_sp(m);
    bl_status st = BL_OK;
    if (n_sp) {
        st = alloc_sp(m, n_sp, err);
        for (size_t sp = 0; !st && sp < n_sp; sp++) {
            if (nsp[sp] <= 0)
                continue; /* a pair of sources with no candidates: use the overall shares */
            size_t i = m->n_sp;
            m->sp_a[i] = strdup(sp_names[2 * sp]);
            m->sp_b[i] = strdup(sp_names[2 * sp + 1]);
            m->n_sp++;
            if (!m->sp_a[i] || !m->sp_b[i])
                st = bl_fail(err, BL_ENOMEM, "out of memory");
            for (int k = 0; k < CL_N; k++)
                m->sp_pi[i][k] = on[k] ? pi[sp][k] : 0;
        }
    }
    bl_model_update_weights(m);
    m->em_iterations = it;
    m->em_converged = converged;
    m->em_max_iterations = maxit;
    m->em_tolerance = tol;
    m->em_candidate_pairs = (uint64_t)ncand;
    m->em_patterns = np;
    m->em_expected_matches = tot_or(sum, ns, CL_M) + tot_or(sum, ns, CL_V);
    m->trained = 1;
    bl_logf(opt, BL_LOG_INFO,
            "EM: %u iterations (%s), %zu patterns; expected pairs: %.0f matches, %.0f matches "
            "with variant names, %.0f related non-matches, %.0f same-household non-matches, "
            "%.0f unrelated",
            it, converged ? "converged" : "iteration cap", np, tot_or(sum, ns, CL_M),
            tot_or(sum, ns, CL_V), tot_or(sum, ns, CL_H), tot_or(sum, ns, CL_G),
            tot_or(sum, ns, CL_U));
    free(nsp);
    free(pi);
    free(sum);
    return st;
}

/* Numeric state of a model, so several class configurations can be fitted
   from the same start and the best one kept. */
typedef struct model_state {
    double (*lv)[5][BL_MAX_LEVELS]; /* per field: m, u, h, v, g */
    double prior, prior_related, prior_variant, prior_household;
    int related, variant, household;
    size_t n_sp;
    double (*sp_pi)[BL_CLASSES];
    unsigned iterations;
    int converged;
    double expected, loglik, params, bic;
} model_state;

static int state_save(const bl_model *m, model_state *s)
{
    s->lv = malloc((m->field_count ? m->field_count : 1) * sizeof *s->lv);
    s->sp_pi = malloc((m->n_sp ? m->n_sp : 1) * sizeof *s->sp_pi);
    if (!s->lv || !s->sp_pi) {
        free(s->lv);
        free(s->sp_pi);
        s->lv = NULL;
        s->sp_pi = NULL;
        return -1;
    }
    for (size_t f = 0; f < m->field_count; f++) {
        const bl_model_field *mf = &m->fields[f];
        memcpy(s->lv[f][0], mf->m, sizeof mf->m);
        memcpy(s->lv[f][1], mf->u, sizeof mf->u);
        memcpy(s->lv[f][2], mf->h, sizeof mf->h);
        memcpy(s->lv[f][3], mf->v, sizeof mf->v);
        memcpy(s->lv[f][4], mf->g, sizeof mf->g);
    }
    s->prior = m->prior;
    s->prior_related = m->prior_related;
    s->prior_variant = m->prior_variant;
    s->prior_household = m->prior_household;
    s->related = m->related_class;
    s->variant = m->variant_class;
    s->household = m->household_class;
    s->n_sp = m->n_sp;
    if (m->n_sp)
        memcpy(s->sp_pi, m->sp_pi, m->n_sp * sizeof *s->sp_pi);
    s->iterations = m->em_iterations;
    s->converged = m->em_converged;
    s->expected = m->em_expected_matches;
    s->loglik = m->em_loglik;
    s->params = m->em_params;
    s->bic = m->em_bic;
    return 0;
}

/* Restore numbers (the per-pair table must have the same rows). */
static void state_load(bl_model *m, const model_state *s)
{
    for (size_t f = 0; f < m->field_count; f++) {
        bl_model_field *mf = &m->fields[f];
        memcpy(mf->m, s->lv[f][0], sizeof mf->m);
        memcpy(mf->u, s->lv[f][1], sizeof mf->u);
        memcpy(mf->h, s->lv[f][2], sizeof mf->h);
        memcpy(mf->v, s->lv[f][3], sizeof mf->v);
        memcpy(mf->g, s->lv[f][4], sizeof mf->g);
    }
    m->prior = s->prior;
    m->prior_related = s->prior_related;
    m->prior_variant = s->prior_variant;
    m->prior_household = s->prior_household;
    m->related_class = s->related;
    m->variant_class = s->variant;
    m->household_class = s->household;
    if (s->n_sp && s->n_sp == m->n_sp)
        memcpy(m->sp_pi, s->sp_pi, s->n_sp * sizeof *s->sp_pi);
    m->em_iterations = s->iterations;
    m->em_converged = s->converged;
    m->em_expected_matches = s->expected;
    m->em_loglik = s->loglik;
    m->em_params = s->params;
    m->em_bic = s->bic;
    bl_model_update_weights(m);
}

static void state_free(model_state *s)
{
    free(s->lv);
    free(s->sp_pi);
    s->lv = NULL;
    s->sp_pi = NULL;
}

/*
 * How many latent classes do the data support?  Fit the plain two-class
 * model, then add the related, household and variant-name classes in turn
 * (each only if the model allows it), every fit from the same starting
 * values, and keep the fit with the lowest BIC.  A small extract keeps the
 * simple model; a large one earns the classes that describe it.
 */
static bl_status em_select(bl_model *m, const uint64_t *pat, const uint64_t *cnt, size_t np,
                           const char *const *sp_names, size_t n_sp, const bl_match_options *opt,
                           bl_error *err)
{
    int allow_h = m->related_class, allow_v = m->variant_class, allow_g = m->household_class;
    static const int ladder[4][3] = {{0, 0, 0}, {1, 0, 0}, {1, 0, 1}, {1, 1, 1}};
    model_state start, best;
    memset(&best, 0, sizeof best);
    if (state_save(m, &start))
        return bl_fail(err, BL_ENOMEM, "out of memory");
    int have_best = 0;
    bl_status st = BL_OK;
    for (int c = 0; c < 4 && !st; c++) {
        int h = ladder[c][0], v = ladder[c][1], g = ladder[c][2];
        if ((h && !allow_h) || (v && !allow_v) || (g && !allow_g))
            continue;
        if (c > 0 && h == (ladder[c - 1][0] && allow_h) && v == (ladder[c - 1][1] && allow_v) &&
            g == (ladder[c - 1][2] && allow_g))
            continue;
        state_load(m, &start);
        m->related_class = h;
        m->variant_class = v;
        m->household_class = g;
        st = em_latent(m, pat, cnt, np, sp_names, n_sp, opt, err);
        if (st)
            break;
        bl_logf(opt, BL_LOG_INFO, "EM with%s%s%s%s: log-likelihood %.1f, %.0f parameters, BIC %.1f",
                h || v || g ? "" : " match and non-match classes only", h ? " related" : "",
                g ? " household" : "", v ? " variant-name" : "", m->em_loglik, m->em_params,
                m->em_bic);
        if (!have_best || m->em_bic < best.bic) {
            state_free(&best);
            if (state_save(m, &best)) {
                st = bl_fail(err, BL_ENOMEM, "out of memory");
                break;
            }
            have_best = 1;
        }
    }
    if (!st && have_best)
        state_load(m, &best);
    state_free(&start);
    state_free(&best);
    return st;
}

bl_status bl_model_em_patterns(bl_model *m, const uint64_t *pat, const uint64_t *cnt, size_t np,
                               double total_pairs, const char *const *sp_names, size_t n_sp,
                               const bl_match_options *opt, bl_error *err)
{
    if (m->u_from_candidates)
        return em_select(m, pat, cnt, np, sp_names, n_sp, opt, err);
    free_sp(m); /* one prior on the scale of all pairs */
    size_t nf = m->field_count;
    double *g = malloc((np ? np : 1) * sizeof *g);
    if (!g)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    double ncand = 0;
    for (size_t p = 0; p < np; p++)
        ncand += (double)cnt[p];
    if (total_pairs < ncand)
        total_pairs = ncand;
    /* Start the prior at "about one match per record among the candidates",
       capped by the candidate count. */
    if (!m->fix_prior) {
        double guess = 0.5 * (ncand < (double)m->records || !m->records ? ncand : (double)m->records);
        m->prior = guess / total_pairs;
        if (m->prior <= 0)
            m->prior = 1e-9;
    }
    unsigned maxit = opt && opt->em_max_iterations ? opt->em_max_iterations : 200;
    double tol = opt && opt->em_tolerance > 0 ? opt->em_tolerance : 1e-6;
    unsigned it = 0;
    int converged = 0;
    double acc[BL_MATCH_FIELDS][BL_MAX_LEVELS];
    double expected = 0;
    for (it = 1; it <= maxit; it++) {
        bl_model_update_weights(m);
        double pw = bl_model_prior_weight(m);
        /* E step: posterior match probability per pattern.  Pairs outside
           the candidates count as non-matches, so the prior lives on the
           scale of all pairs and the u of random pairs applies unchanged. */
        memset(acc, 0, sizeof acc);
        expected = 0;
        for (size_t p = 0; p < np; p++) {
            double w = pw;
            for (size_t f = 0; f < nf; f++)
                w += m->fields[f].w[bl_gamma_level(pat[p], f)];
            g[p] = bl_weight_to_prob(w);
            double e = g[p] * (double)cnt[p];
            expected += e;
            for (size_t f = 0; f < nf; f++)
                acc[f][bl_gamma_level(pat[p], f)] += e;
        }
        /* M step. */
        double delta = 0;
        double newprior = expected / total_pairs;
        if (newprior < 1e-15)
            newprior = 1e-15;
        if (!m->fix_prior) {
            double d = fabs(log(newprior / m->prior));
            if (d > delta)
                delta = d;
            m->prior = newprior;
        }
        for (size_t f = 0; f < nf; f++) {
            bl_model_field *mf = &m->fields[f];
            double tot = 0, fixed_mass = 0;
            for (unsigned l = 1; l < mf->nlevels; l++) {
                if (mf->fix_m[l])
                    fixed_mass += mf->m[l];
                else
                    tot += acc[f][l];
            }
            if (tot <= 0)
                continue;
            double scale = (1.0 - fixed_mass) / tot;
            for (unsigned l = 1; l < mf->nlevels; l++) {
                if (mf->fix_m[l])
                    continue;
                double nm = acc[f][l] * scale;
                if (nm < P_FLOOR)
                    nm = P_FLOOR;
                double d = fabs(nm - mf->m[l]);
                if (d > delta)
                    delta = d;
                mf->m[l] = nm;
            }
            /* Random pairs include a few true matches; take them out of u
               (u_random = prior*m + (1-prior)*u). */
            for (unsigned l = 1; l < mf->nlevels; l++) {
                if (mf->fix_u[l] || mf->u_random[l] <= 0)
                    continue;
                double nu = (mf->u_random[l] - m->prior * mf->m[l]) / (1.0 - m->prior);
                if (nu < mf->u_random[l] * 0.01)
                    nu = mf->u_random[l] * 0.01;
                mf->u[l] = nu;
            }
        }
        if (delta < tol) {
            converged = 1;
            break;
        }
    }
    if (it > maxit)
        it = maxit;
    bl_model_update_weights(m);
    m->em_iterations = it;
    m->em_converged = converged;
    m->em_max_iterations = maxit;
    m->em_tolerance = tol;
    m->em_candidate_pairs = (uint64_t)ncand;
    m->em_patterns = np;
    m->em_expected_matches = expected;
    m->trained = 1;
    bl_logf(opt, BL_LOG_INFO, "EM: %u iterations (%s), %zu patterns, prior %.3g, %.0f expected matches",
            it, converged ? "converged" : "iteration cap", np, m->prior, expected);
    free(g);
    return BL_OK;
}

bl_status bl_model_em(bl_model *m, const bl_dataset *ds, const uint64_t *pairs,
                      const uint64_t *gamma, size_t n, const bl_match_options *opt, bl_error *err)
{
    /* Pattern key: comparison vector, and (for the latent-class model) the
       pair of sources above it, so class shares can differ by source pair. */
    size_t S = ds->source_count;
    int by_sp = m->u_from_candidates && S > 0;
    ptab t = {0};
    for (size_t i = 0; i < n; i++) {
        uint64_t key = gamma[i];
        if (by_sp) {
            uint32_t sa = ds->src[bl_pair_a(pairs[i])], sb = ds->src[bl_pair_b(pairs[i])];
            if (sa > sb) {
                uint32_t x = sa;
                sa = sb;
                sb = x;
            }
            key |= (uint64_t)(sa * S + sb) << BL_SP_SHIFT;
        }
        if (ptab_add(&t, key, 1)) {
            free(t.key);
            free(t.cnt);
            return bl_fail(err, BL_ENOMEM, "out of memory counting comparison patterns");
        }
    }
    uint64_t *pat = malloc((t.used ? t.used : 1) * sizeof *pat);
    uint64_t *cnt = malloc((t.used ? t.used : 1) * sizeof *cnt);
    const char **names = by_sp ? calloc(2 * S * S, sizeof *names) : NULL;
    if (!pat || !cnt || (by_sp && !names)) {
        free(pat);
        free(cnt);
        free(names);
        free(t.key);
        free(t.cnt);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    if (by_sp)
        for (size_t a = 0; a < S; a++)
            for (size_t b = 0; b < S; b++) {
                names[2 * (a * S + b)] = ds->source_names[a];
                names[2 * (a * S + b) + 1] = ds->source_names[b];
            }
    size_t np = 0;
    for (size_t i = 0; i < t.cap; i++)
        if (t.cnt[i]) {
            pat[np] = t.key[i];
            cnt[np++] = t.cnt[i];
        }
    free(t.key);
    free(t.cnt);
    m->records = ds->n;
    double total = (double)ds->n * (double)(ds->n - 1) / 2.0;
    bl_status st = bl_model_em_patterns(m, pat, cnt, np, total, names, by_sp ? S * S : 0, opt, err);
    if (!st && !m->schema_fp[0])
        snprintf(m->schema_fp, sizeof m->schema_fp, "%s", ds->schema_fp);
    if (!st)
        st = bl_model_bind(m, ds, err);
    free(pat);
    free(cnt);
    free(names);
    return st;
}

/* ------------------------------------------------------------ JSON */

static json_t *field_json(const bl_model_field *mf)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(mf->name));
    json_object_set_new(o, "type", json_string(bl_field_type_name((bl_field_type)mf->type)));
    json_object_set_new(o, "term_frequency", json_boolean(mf->tf));
    json_object_set_new(o, "tf_min_u", json_real(mf->tf_min_u));
    json_t *lv = json_array();
    for (unsigned l = mf->nlevels - 1; l >= 1; l--) {
        json_t *e = json_object();
        json_object_set_new(e, "name", json_string(mf->level_names[l]));
        if (l > 1 && l < mf->nlevels - 1)
            json_object_set_new(e, "min_dice", json_real(mf->thresholds[mf->nlevels - 2 - l]));
        json_object_set_new(e, "m", json_real(mf->m[l]));
        json_object_set_new(e, "u", json_real(mf->u[l]));
        json_object_set_new(e, "weight", json_real(mf->w[l]));
        if (mf->h[l] > 0)
            json_object_set_new(e, "h", json_real(mf->h[l]));
        if (mf->v[l] > 0)
            json_object_set_new(e, "v", json_real(mf->v[l]));
        if (mf->g[l] > 0)
            json_object_set_new(e, "g", json_real(mf->g[l]));
        if (mf->u_random[l] > 0)
            json_object_set_new(e, "u_random_pairs", json_real(mf->u_random[l]));
        if (mf->fix_m[l])
            json_object_set_new(e, "fix_m", json_true());
        if (mf->fix_u[l])
            json_object_set_new(e, "fix_u", json_true());
        json_array_append_new(lv, e);
    }
    json_object_set_new(o, "levels", lv);
    return o;
}

bl_status bl_model_to_json(const bl_model *m, char **out, bl_error *err)
{
    if (!m || !out)
        return bl_fail(err, BL_EMISUSE, "bl_model_to_json: NULL argument");
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string("bloomlink-model"));
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "schema_fingerprint", json_string(m->schema_fp));
    json_object_set_new(root, "trained", json_boolean(m->trained));
    json_object_set_new(root, "prior", json_real(m->prior));
    json_object_set_new(root, "prior_weight", json_real(bl_model_prior_weight(m)));
    if (m->fix_prior)
        json_object_set_new(root, "fix_prior", json_true());
    json_object_set_new(root, "related_class", json_boolean(m->related_class));
    if (m->related_class)
        json_object_set_new(root, "prior_related", json_real(m->prior_related));
    if (m->n_sp) {
        json_t *sp = json_array();
        for (size_t i = 0; i < m->n_sp; i++) {
            json_t *o = json_object();
            json_t *names = json_array();
            json_array_append_new(names, json_string(m->sp_a[i]));
            json_array_append_new(names, json_string(m->sp_b[i]));
            json_object_set_new(o, "sources", names);
            json_object_set_new(o, "prior", json_real(m->sp_pi[i][0]));
            json_object_set_new(o, "prior_related", json_real(m->sp_pi[i][2]));
            json_object_set_new(o, "prior_variant", json_real(m->sp_pi[i][3]));
            json_object_set_new(o, "prior_household", json_real(m->sp_pi[i][4]));
            json_array_append_new(sp, o);
        }
        json_object_set_new(root, "priors_by_source_pair", sp);
    }
    json_object_set_new(root, "household_class", json_boolean(m->household_class));
    if (m->household_class)
        json_object_set_new(root, "prior_household", json_real(m->prior_household));
    json_object_set_new(root, "variant_class", json_boolean(m->variant_class));
    if (m->variant_class)
        json_object_set_new(root, "prior_variant", json_real(m->prior_variant));
    json_object_set_new(root, "u_estimation",
                        json_string(m->u_from_candidates ? "candidates" : "random_pairs"));
    json_t *tr = json_object();
    json_object_set_new(tr, "records", json_integer((json_int_t)m->records));
    json_object_set_new(tr, "u_sample_pairs", json_integer((json_int_t)m->u_sample_pairs));
    json_object_set_new(tr, "em_candidate_pairs", json_integer((json_int_t)m->em_candidate_pairs));
    json_object_set_new(tr, "em_patterns", json_integer((json_int_t)m->em_patterns));
    json_object_set_new(tr, "em_iterations", json_integer(m->em_iterations));
    json_object_set_new(tr, "em_max_iterations", json_integer(m->em_max_iterations));
    json_object_set_new(tr, "em_tolerance", json_real(m->em_tolerance));
    json_object_set_new(tr, "em_converged", json_boolean(m->em_converged));
    json_object_set_new(tr, "em_expected_matches", json_real(m->em_expected_matches));
    json_object_set_new(tr, "em_log_likelihood", json_real(m->em_loglik));
    json_object_set_new(tr, "em_parameters", json_real(m->em_params));
    json_object_set_new(tr, "em_bic", json_real(m->em_bic));
    json_object_set_new(root, "training", tr);
    json_t *fa = json_array();
    for (size_t f = 0; f < m->field_count; f++)
        json_array_append_new(fa, field_json(&m->fields[f]));
    json_object_set_new(root, "fields", fa);
    *out = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (!*out)
        return bl_fail(err, BL_ENOMEM, "out of memory writing the model");
    return BL_OK;
}

bl_status bl_model_save(const bl_model *m, const char *path, bl_error *err)
{
    char *text = NULL;
    bl_status st = bl_model_to_json(m, &text, err);
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

static int get_prob(json_t *o, const char *key, double *v, int required)
{
    json_t *x = json_object_get(o, key);
    if (!x)
        return required ? -1 : 0;
    if (!json_is_number(x))
        return -1;
    double d = json_number_value(x);
    if (!(d >= 0 && d <= 1))
        return -1;
    *v = d;
    return 0;
}

static bl_status parse_field(json_t *o, bl_model_field *mf, const char *name, size_t idx,
                             bl_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "fields[%zu]", idx);
    if (!json_is_object(o))
        return bl_fail_at(err, BL_ESCHEMA, name, -1, -1, path, "expected an object");
    const char *fname = json_string_value(json_object_get(o, "name"));
    const char *tname = json_string_value(json_object_get(o, "type"));
    bl_field_type ft;
    if (!fname || !tname || bl_field_type_parse(tname, &ft))
        return bl_fail_at(err, BL_ESCHEMA, name, -1, -1, path,
                          "needs \"name\" and a \"type\" (name, date, sex, postcode, nhs_number, text, identity)");
    mf->type = (uint8_t)ft;
    if (!(mf->name = strdup(fname)))
        return bl_fail(err, BL_ENOMEM, "out of memory");
    mf->tf = json_is_true(json_object_get(o, "term_frequency"));
    mf->tf_min_u = 1e-8;
    get_prob(o, "tf_min_u", &mf->tf_min_u, 0);
    json_t *lv = json_object_get(o, "levels");
    size_t nl = json_array_size(lv);
    if (!json_is_array(lv) || nl < 2 || nl > BL_MAX_LEVELS - 1)
        return bl_fail_at(err, BL_ESCHEMA, name, -1, -1, path,
                          "\"levels\" must list 2 to %d levels, exact first, disagree last",
                          BL_MAX_LEVELS - 1);
    mf->nbands = (unsigned)nl - 2;
    mf->nlevels = (unsigned)nl + 1;
    double prev = 1.0;
    for (size_t k = 0; k < nl; k++) {
        json_t *e = json_array_get(lv, k);
        unsigned l = mf->nlevels - 1 - (unsigned)k;
        const char *ln = json_string_value(json_object_get(e, "name"));
        if (!json_is_object(e) || !ln)
            return bl_fail_at(err, BL_ESCHEMA, name, -1, -1, path, "level %zu needs a \"name\"", k);
        if (!(mf->level_names[l] = strdup(ln)))
            return bl_fail(err, BL_ENOMEM, "out of memory");
        if (k > 0 && k < nl - 1) {
            double t;
            json_t *x = json_object_get(e, "min_dice");
            if (!json_is_number(x) || (t = json_number_value(x)) <= 0 || t >= prev)
                return bl_fail_at(err, BL_ESCHEMA, name, -1, -1, path,
                                  "level '%s' needs \"min_dice\" in (0, 1) below the level above",
                                  ln);
            mf->thresholds[k - 1] = t;
            prev = t;
        }
        if (get_prob(e, "m", &mf->m[l], 0) || get_prob(e, "u", &mf->u[l], 0) ||
            get_prob(e, "h", &mf->h[l], 0) || get_prob(e, "v", &mf->v[l], 0) ||
            get_prob(e, "g", &mf->g[l], 0) ||
            get_prob(e, "u_random_pairs", &mf->u_random[l], 0))
            return bl_fail_at(err, BL_ESCHEMA, name, -1, -1, path,
                              "level '%s': m and u must be probabilities", ln);
        mf->fix_m[l] = json_is_true(json_object_get(e, "fix_m"));
        mf->fix_u[l] = json_is_true(json_object_get(e, "fix_u"));
    }
    set_thresholds(mf);
    /* Levels without m or u get starting values. */
    int missing = 0;
    for (unsigned l = 1; l < mf->nlevels; l++)
        if (mf->m[l] <= 0 || mf->u[l] <= 0)
            missing = 1;
    if (missing) {
        double m0[BL_MAX_LEVELS], u0[BL_MAX_LEVELS];
        memcpy(m0, mf->m, sizeof m0);
        memcpy(u0, mf->u, sizeof u0);
        start_values(mf);
        for (unsigned l = 1; l < mf->nlevels; l++) {
            if (m0[l] > 0)
                mf->m[l] = m0[l];
            if (u0[l] > 0)
                mf->u[l] = u0[l];
        }
    }
    return BL_OK;
}

bl_status bl_model_parse(const char *json, size_t len, const char *name, bl_model **out,
                         bl_error *err)
{
    if (!json || !out)
        return bl_fail(err, BL_EMISUSE, "bl_model_parse: NULL argument");
    *out = NULL;
    if (!name)
        name = "<memory>";
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root)
        return bl_fail_at(err, BL_EPARSE, name, je.line, je.column, NULL, "%s", je.text);
    bl_status st = BL_OK;
    const char *fmt = json_string_value(json_object_get(root, "format"));
    json_t *fa = json_object_get(root, "fields");
    size_t nf = json_array_size(fa);
    if (!fmt || strcmp(fmt, "bloomlink-model")) {
        st = bl_fail_at(err, BL_EFORMAT, name, -1, -1, "format", "not a bloomlink model");
    } else if (json_integer_value(json_object_get(root, "version")) != 1) {
        st = bl_fail_at(err, BL_EFORMAT, name, -1, -1, "version", "unsupported model version");
    } else if (!json_is_array(fa) || nf == 0 || nf > BL_MATCH_FIELDS) {
        st = bl_fail_at(err, BL_ESCHEMA, name, -1, -1, "fields", "expected 1 to %d fields",
                        BL_MATCH_FIELDS);
    }
    bl_model *m = NULL;
    if (!st && !(m = model_alloc(nf)))
        st = bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t f = 0; !st && f < nf; f++)
        st = parse_field(json_array_get(fa, f), &m->fields[f], name, f, err);
    if (!st) {
        const char *fp = json_string_value(json_object_get(root, "schema_fingerprint"));
        snprintf(m->schema_fp, sizeof m->schema_fp, "%s", fp ? fp : "");
        m->trained = json_is_true(json_object_get(root, "trained"));
        m->fix_prior = json_is_true(json_object_get(root, "fix_prior"));
        const char *ue = json_string_value(json_object_get(root, "u_estimation"));
        if (ue && strcmp(ue, "candidates") && strcmp(ue, "random_pairs"))
            st = bl_fail_at(err, BL_ESCHEMA, name, -1, -1, "u_estimation",
                            "expected \"candidates\" or \"random_pairs\"");
        m->u_from_candidates = !ue || !strcmp(ue, "candidates");
        json_t *rc = json_object_get(root, "related_class");
        m->related_class = m->u_from_candidates && (!rc || json_is_true(rc));
        json_t *pr = json_object_get(root, "prior_related");
        if (pr && json_is_number(pr) && json_number_value(pr) >= 0 && json_number_value(pr) < 1)
            m->prior_related = json_number_value(pr);
        json_t *spa = json_object_get(root, "priors_by_source_pair");
        size_t nsp = json_array_size(spa);
        if (nsp)
            st = alloc_sp(m, nsp, err);
        for (size_t i = 0; !st && i < nsp; i++) {
            json_t *o = json_array_get(spa, i);
            json_t *names = json_object_get(o, "sources");
            const char *a = json_string_value(json_array_get(names, 0));
            const char *b = json_string_value(json_array_get(names, 1));
            double pm = 0, ph = 0, pv = 0, pg = 0;
            if (!a || !b || get_prob(o, "prior", &pm, 1) || get_prob(o, "prior_related", &ph, 0) ||
                get_prob(o, "prior_variant", &pv, 0) || get_prob(o, "prior_household", &pg, 0) ||
                pm + ph + pv + pg > 1 + 1e-6) {
                st = bl_fail_at(err, BL_ESCHEMA, name, -1, -1, "priors_by_source_pair",
                                "entry %zu needs \"sources\": [a, b] and probabilities summing below 1",
                                i);
                break;
            }
            /* Shares are saved rounded, so a pair of sources whose candidates
               hold almost no unrelated pairs can sum to 1 + 1e-10: scale them
               back below 1 so the unrelated class keeps a positive share. */
            double total = pm + ph + pv + pg;
            if (total > 1 - 1e-9) {
                double f = (1 - 1e-9) / total;
                pm *= f;
                ph *= f;
                pv *= f;
                pg *= f;
            }
            m->sp_a[i] = strdup(a);
            m->sp_b[i] = strdup(b);
            m->n_sp = i + 1;
            if (!m->sp_a[i] || !m->sp_b[i])
                st = bl_fail(err, BL_ENOMEM, "out of memory");
            m->sp_pi[i][0] = pm;
            m->sp_pi[i][2] = ph;
            m->sp_pi[i][3] = pv;
            m->sp_pi[i][4] = pg;
            m->sp_pi[i][1] = 1 - pm - ph - pv - pg;
        }
        json_t *hc = json_object_get(root, "household_class");
        m->household_class = m->u_from_candidates && (!hc || json_is_true(hc));
        json_t *ph = json_object_get(root, "prior_household");
        if (ph && json_is_number(ph) && json_number_value(ph) >= 0 && json_number_value(ph) < 1)
            m->prior_household = json_number_value(ph);
        json_t *vc = json_object_get(root, "variant_class");
        m->variant_class = m->u_from_candidates && (!vc || json_is_true(vc));
        json_t *pv = json_object_get(root, "prior_variant");
        if (pv && json_is_number(pv) && json_number_value(pv) >= 0 && json_number_value(pv) < 1)
            m->prior_variant = json_number_value(pv);
        m->prior = 1e-6;
        json_t *p = json_object_get(root, "prior");
        if (p && (!json_is_number(p) || json_number_value(p) <= 0 || json_number_value(p) >= 1))
            st = bl_fail_at(err, BL_ESCHEMA, name, -1, -1, "prior", "must be in (0, 1)");
        else if (p)
            m->prior = json_number_value(p);
        json_t *tr = json_object_get(root, "training");
        if (json_is_object(tr)) {
            m->records = (uint64_t)json_integer_value(json_object_get(tr, "records"));
            m->u_sample_pairs = (uint64_t)json_integer_value(json_object_get(tr, "u_sample_pairs"));
            m->em_candidate_pairs =
                (uint64_t)json_integer_value(json_object_get(tr, "em_candidate_pairs"));
            m->em_patterns = (uint64_t)json_integer_value(json_object_get(tr, "em_patterns"));
            m->em_iterations = (unsigned)json_integer_value(json_object_get(tr, "em_iterations"));
            m->em_converged = json_is_true(json_object_get(tr, "em_converged"));
            m->em_expected_matches = json_number_value(json_object_get(tr, "em_expected_matches"));
        }
    }
    json_decref(root);
    if (st) {
        bl_model_free(m);
        return st;
    }
    bl_model_update_weights(m);
    *out = m;
    return BL_OK;
}

bl_status bl_model_load(const char *path, bl_model **out, bl_error *err)
{
    char *text = NULL;
    size_t len = 0;
    bl_status st = bl_read_file(path, 16u << 20, &text, &len, err);
    if (st)
        return st;
    st = bl_model_parse(text, len, path, out, err);
    free(text);
    return st;
}
