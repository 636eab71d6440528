/* inspect_model.c - `bloomlink inspect MODEL.json`: m, u and weight per field
   and level, the prior and how training went. */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int inspect_model(const char *path, int json)
{
    bl_error err;
    bl_error_clear(&err);
    bl_model *m = NULL;
    if (bl_model_load(path, &m, &err) != BL_OK)
        return cli_fail(&err);
    char *text = NULL;
    bl_status s = bl_model_to_json(m, &text, &err);
    bl_model_free(m);
    if (s)
        return cli_fail(&err);
    if (json) {
        puts(text);
        free(text);
        return EXIT_OK;
    }
    /* The table is drawn from the canonical JSON, so it shows exactly what
       the file will do when loaded (defaults filled in, weights recomputed). */
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    free(text);
    if (!root) {
        cli_errorf("%s: %s", path, je.text);
        return EXIT_FAIL;
    }
    json_t *tr = json_object_get(root, "training");
    printf("model %s (%s)\n", path,
           json_is_true(json_object_get(root, "trained")) ? "trained" : "untrained: starting values");
    const char *ue = json_string_value(json_object_get(root, "u_estimation"));
    int random_u = ue && !strcmp(ue, "random_pairs");
    printf("prior match probability (%s): %.6g, prior weight %.2f\n",
           random_u ? "random pair" : "candidate pair",
           json_number_value(json_object_get(root, "prior")),
           json_number_value(json_object_get(root, "prior_weight")));
    printf("u estimated from: %s\n", random_u
                                        ? "random pairs (fixed during EM)"
                                        : "candidate pairs by EM (random-pair u kept as u_random_pairs)");
    if (json_is_true(json_object_get(root, "variant_class")) ||
        json_is_true(json_object_get(root, "related_class")) ||
        json_is_true(json_object_get(root, "household_class")))
        printf("latent class shares among candidates: match %.4g, match with variant names %.4g, "
               "related non-match %.4g, same-household non-match %.4g\n",
               json_number_value(json_object_get(root, "prior")),
               json_number_value(json_object_get(root, "prior_variant")),
               json_number_value(json_object_get(root, "prior_related")),
               json_number_value(json_object_get(root, "prior_household")));
    json_t *sp = json_object_get(root, "priors_by_source_pair");
    size_t si;
    json_t *se;
    json_array_foreach(sp, si, se) {
        char pair[128];
        json_t *names = json_object_get(se, "sources");
        snprintf(pair, sizeof pair, "%s-%s", json_string_value(json_array_get(names, 0)),
                 json_string_value(json_array_get(names, 1)));
        printf("  %-28s match %.4g, variant-name match %.4g, household %.4g, related %.4g\n", pair,
               json_number_value(json_object_get(se, "prior")),
               json_number_value(json_object_get(se, "prior_variant")),
               json_number_value(json_object_get(se, "prior_household")),
               json_number_value(json_object_get(se, "prior_related")));
    }
    if (json_is_object(tr))
        printf("trained on %lld records: u from %lld random pairs; EM over %lld candidate pairs "
               "(%lld patterns), %lld iterations, %s; %.0f expected matches\n",
               (long long)json_integer_value(json_object_get(tr, "records")),
               (long long)json_integer_value(json_object_get(tr, "u_sample_pairs")),
               (long long)json_integer_value(json_object_get(tr, "em_candidate_pairs")),
               (long long)json_integer_value(json_object_get(tr, "em_patterns")),
               (long long)json_integer_value(json_object_get(tr, "em_iterations")),
               json_is_true(json_object_get(tr, "em_converged")) ? "converged" : "not converged",
               json_number_value(json_object_get(tr, "em_expected_matches")));
    printf("\n%-14s %-10s %-9s %9s %12s %12s %9s %s\n", "field", "level", "min dice", "", "m", "u",
           "weight", "");
    size_t fi;
    json_t *f;
    json_array_foreach(json_object_get(root, "fields"), fi, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *type = json_string_value(json_object_get(f, "type"));
        size_t li;
        json_t *l;
        json_array_foreach(json_object_get(f, "levels"), li, l) {
            json_t *md = json_object_get(l, "min_dice");
            char mds[16] = "";
            if (md)
                snprintf(mds, sizeof mds, "%.3f", json_number_value(md));
            printf("%-14s %-10s %-9s %9s %12.6g %12.6g %9.2f %s%s\n", li ? "" : name,
                   json_string_value(json_object_get(l, "name")), mds, li ? "" : type,
                   json_number_value(json_object_get(l, "m")),
                   json_number_value(json_object_get(l, "u")),
                   json_number_value(json_object_get(l, "weight")),
                   json_is_true(json_object_get(l, "fix_m")) ? " [m fixed]" : "",
                   json_is_true(json_object_get(l, "fix_u")) ? " [u fixed]" : "");
        }
        printf("%-14s %-10s %-9s %9s %12s %12s %9.2f%s\n", "", "missing", "", "", "-", "-", 0.0,
               json_is_true(json_object_get(f, "term_frequency")) ? "   (exact weight adjusted by term frequency)" : "");
    }
    json_decref(root);
    return EXIT_OK;
}
