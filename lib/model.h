/* model.h - private: the Fellegi-Sunter model (levels, m, u, prior, term
   frequencies), its JSON form, u estimation and EM. */
#ifndef BL_MODEL_H
#define BL_MODEL_H
#include <math.h>
#include <stdint.h>

#include "bloomlink.h"
#include "match.h"

/* Levels: 0 missing (no evidence), 1 disagree, 2 .. nlevels-2 Dice bands
   (the highest band first in thresholds[]), nlevels-1 exact (identical
   filters).  At most 3 bands, so a level fits in 3 bits of a gamma. */
#define BL_MAX_BANDS 3
#define BL_MAX_LEVELS (BL_MAX_BANDS + 3)
#define BL_GAMMA_BITS 3
/* Top bit of a comparison vector (fields use at most 3 x 16 bits): a swap
   group was compared crossed, so its exact levels carry no term frequency
   (the counts are of each value in its own column). */
#define BL_GAMMA_SWAPPED (1ull << 63)
#define BL_THRESHOLD_DEN 10000u
/* Latent classes, in this order: M match, U unrelated non-match, H related
   non-match, V match with variant names, G same-household non-match. */
#define BL_CLASSES 5

typedef struct bl_model_field {
    char *name;
    uint8_t type;                 /* bl_field_type */
    unsigned nbands;
    double thresholds[BL_MAX_BANDS]; /* descending Dice lower bounds */
    uint32_t thr_num[BL_MAX_BANDS];  /* thresholds * BL_THRESHOLD_DEN, rounded up */
    char *level_names[BL_MAX_LEVELS];
    unsigned nlevels;             /* nbands + 3 */
    double m[BL_MAX_LEVELS], u[BL_MAX_LEVELS];
    double u_random[BL_MAX_LEVELS]; /* as observed on random pairs, before removing matches */
    double w[BL_MAX_LEVELS];      /* log2(m/u); 0 for missing */
    double h[BL_MAX_LEVELS];      /* P(level | related non-match), see prior_related */
    double wh[BL_MAX_LEVELS];     /* log2(h/u) */
    double v[BL_MAX_LEVELS];      /* P(level | match with variant names), see prior_variant */
    double wv[BL_MAX_LEVELS];     /* log2(v/m) */
    double g[BL_MAX_LEVELS];      /* P(level | same-household non-match), see prior_household */
    double wg[BL_MAX_LEVELS];     /* log2(g/u) */
    int fix_m[BL_MAX_LEVELS], fix_u[BL_MAX_LEVELS];
    int tf;                       /* term-frequency adjustment on exact agreement */
    double tf_min_u;
} bl_model_field;

struct bl_model {
    size_t field_count;
    bl_model_field *fields;
    double prior;                 /* P(match) for a pair in prior_scope */
    int fix_prior;
    /* Where u comes from in the final model: 0 = random pairs (u fixed
       during EM; prior on the scale of all pairs), 1 = EM over the
       candidates (started from the random-pair u; prior on the scale of
       candidate pairs).  See docs/matching.md for why 1 is the default. */
    int u_from_candidates;
    /* A third latent class of "related" non-matches (same household, twins):
       pairs that agree on several fields together, which the independence
       assumption would otherwise count as overwhelming match evidence.  EM
       learns its level distribution h and share prior_related; scoring
       compares matches with both kinds of non-match.  Only with
       u_from_candidates.  prior then is P(match) among candidates. */
    int related_class;
    double prior_related;
    /* A second latent class of matches whose names disagree (swapped given
       and family names, changed surnames, known-as names) while the rest
       agrees: independence would multiply the two name disagreements as if
       unrelated.  Probability of a match = P(M) + P(V). */
    int variant_class;
    double prior_variant;
    /* A class started in the shape of people sharing a household (address
       agrees, NHS numbers differ, names and birth dates half the time:
       siblings, twins, couples), so that it, not the match class, takes
       them. */
    int household_class;
    double prior_household;
    /* Class shares per pair of sources (a duplicate within one GP list is
       rarer than a GP patient in the school census): n_sp entries, names
       owned; pi[] in class order M, U, H, V. */
    size_t n_sp;
    char **sp_a, **sp_b;
    double (*sp_pi)[BL_CLASSES];
    /* sp_pi rows for a dataset's source pairs (bl_model_bind): bound[sa * S + sb] */
    size_t bound_sources;
    int *bound;
    int trained;
    char schema_fp[BL_FINGERPRINT_HEX + 1];
    /* training record, for reports */
    unsigned em_iterations;
    int em_converged;
    unsigned em_max_iterations;
    double em_tolerance;
    uint64_t em_candidate_pairs;
    uint64_t em_patterns;
    double em_expected_matches;
    double em_loglik;             /* natural log-likelihood of the candidates' patterns */
    double em_params;             /* free parameters, for BIC */
    double em_bic;
    uint64_t u_sample_pairs;
    uint64_t records;
};

/* Fail with BL_EMISMATCH unless the model's fields are the dataset's. */
bl_status bl_model_check_dataset(const bl_model *m, const bl_dataset *ds, bl_error *err);
/* Recompute w[] from m and u. */
void bl_model_update_weights(bl_model *m);
double bl_model_prior_weight(const bl_model *m);
/* Weight change from the extra latent classes:
   log2(1 + pi_V P(g|V) / (pi_M P(g|M))) - log2(1 + pi_H P(g|H) / (pi_U P(g|U))),
   0 without them.  Adds to prior weight + field weights. */
double bl_model_related_adjustment(const bl_model *m, uint64_t gamma);
const char *bl_model_level_name(const bl_model_field *f, int level);

static inline double bl_weight_to_prob(double w)
{
    if (w > 200)
        return 1.0;
    if (w < -200)
        return 0.0;
    return 1.0 / (1.0 + exp2(-w));
}
static inline double bl_prob_to_weight(double p)
{
    if (p <= 0)
        return -1e300;
    if (p >= 1)
        return 1e300;
    return log2(p / (1.0 - p));
}

/* Extra weight for agreeing exactly on record a's value of field f. */
double bl_model_tf_adjustment(const bl_model *m, const bl_dataset *ds, size_t f, int level,
                              uint32_t a);
/* Map the dataset's source pairs to the model's per-pair class shares. */
bl_status bl_model_bind(bl_model *m, const bl_dataset *ds, bl_error *err);
/* Class shares (M, U, H, V) for a pair of sources by name (global if unknown). */
void bl_model_pair_pi(const bl_model *m, const char *sa, const char *sb, double pi[BL_CLASSES]);
double bl_model_weight_pi(const bl_model *m, const bl_dataset *ds, uint64_t gamma, uint32_t a,
                          const double pi[BL_CLASSES]);
double bl_model_prior_weight_pi(const double pi[BL_CLASSES]);
double bl_model_related_adjustment_pi(const bl_model *m, uint64_t gamma, const double pi[BL_CLASSES]);
/* Match weight of pair (a, b) with comparison vector gamma. */
double bl_model_weight(const bl_model *m, const bl_dataset *ds, uint64_t gamma, uint32_t a,
                       uint32_t b);

/* u from random pairs (levels) and identical-filter counts (exact). */
bl_status bl_model_estimate_u(bl_model *m, const bl_dataset *ds, const bl_match_options *opt,
                              bl_progress_fn progress, void *pu, bl_error *err);
/* m and the prior by EM over the candidates' comparison vectors. */
bl_status bl_model_em(bl_model *m, const bl_dataset *ds, const uint64_t *pairs,
                      const uint64_t *gamma, size_t n, const bl_match_options *opt, bl_error *err);
/* EM on pattern counts (exposed for tests): total_pairs is all pairs in scope.
   Patterns may carry a source-pair index above BL_SP_SHIFT; sp_names (may be
   NULL) names index i as sp_names[2i], sp_names[2i+1]. */
bl_status bl_model_em_patterns(bl_model *m, const uint64_t *patterns, const uint64_t *counts,
                               size_t npatterns, double total_pairs, const char *const *sp_names,
                               size_t n_sp, const bl_match_options *opt, bl_error *err);
/* A model for a layout without a dataset (tests). */
bl_status bl_model_for_fields(size_t nf, const char *const *names, const uint8_t *types,
                              bl_model **out, bl_error *err);

static inline int bl_gamma_level(uint64_t gamma, size_t f)
{
    return (int)((gamma >> (BL_GAMMA_BITS * f)) & 7u);
}

/* Whether field f was scored crossed with its swap partner in gamma. */
static inline int bl_gamma_swapped_field(const bl_dataset *ds, uint64_t gamma, size_t f)
{
    if (!(gamma & BL_GAMMA_SWAPPED))
        return 0;
    for (size_t k = 0; k < ds->swap_count; k++)
        if (ds->swap_a[k] == f || ds->swap_b[k] == f)
            return 1;
    return 0;
}
#endif
