/* cmd_match.c - `bloomlink match`, `train`, `explain` and `evaluate`: thin
   argument parsing over the matching library. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_FILES 256
#define MAX_UNIQUE 64

static const char match_usage[] =
    "usage: bloomlink match --out LINKS.csv [--model MODEL.json] [--save-model MODEL.json]\n"
    "                       [--threshold P] [--review REVIEW.csv] [--review-low P]\n"
    "                       [--unique SOURCE]... [--report REPORT.json] [--threads N]\n"
    "                       [--max-block N] [--lsh-bands N] [--lsh-bits N] [--u-pairs N]\n"
    "                       [--merge-support P] [--em-iterations N] [--em-tolerance T]\n"
    "                       [--seed S] [--retrain] [--verbose] [--quiet] FILE.ble...\n"
    "Links the records of the encoding files (one per source) into entities.\n"
    "Without --model (or with an untrained one) the model is estimated first:\n"
    "u from random pairs, m and the prior by EM over the candidate pairs.\n"
    "  --threshold P      link pairs with match probability >= P (default 0.5)\n"
    "  --review FILE      write pairs for clerical review (grey band, refused links)\n"
    "  --review-low P     lower edge of the grey band (default 0.1)\n"
    "  --unique SOURCE    at most one record per person in SOURCE (e.g. gp); two of\n"
    "                     its records join only on very strong evidence\n"
    "  --report FILE      link rates by source, age band and sex; entity sizes (JSON)\n"
    "  --save-model FILE  write the model used (trained) as JSON\n";

static const char train_usage[] =
    "usage: bloomlink train --out MODEL.json [--model START.json] [--threads N]\n"
    "                       [--u-pairs N] [--max-block N] [--lsh-bands N] [--em-iterations N]\n"
    "                       [--em-tolerance T] [--verbose] [--quiet] FILE.ble...\n"
    "Estimates a matching model: u from random pairs, term frequencies, then m and\n"
    "the prior by EM over candidate pairs; values marked fix_m/fix_u stay as given.\n";

static const char explain_usage[] =
    "usage: bloomlink explain [--model MODEL.json] [--json] FILE.ble... --pair A B\n"
    "A and B are record tokens (32 hex), optionally prefixed by a source: gp:TOKEN.\n"
    "Prints each field's agreement level, m, u and weight (a waterfall).\n";

static const char evaluate_usage[] =
    "usage: bloomlink evaluate --truth TRUTH.csv --id-map SOURCE=IDS.csv [--id-map ...]\n"
    "                          --linkmap LINKS.csv [--json]\n"
    "Pairwise precision, recall and F1, overall and per source pair, with split\n"
    "and merged persons.  TRUTH.csv: source,record_id,person_id; id maps:\n"
    "record_id,record_token as written by `encode --id-map`.\n";

typedef struct common {
    bl_match_options opt;
    const char *files[MAX_FILES];
    size_t nfiles;
    const char *unique[MAX_UNIQUE];
    int verbose, quiet;
} common;

static void log_cb(void *user, bl_log_level level, const char *msg)
{
    common *c = user;
    if (level == BL_LOG_ERROR || level == BL_LOG_WARN)
        cli_errorf("warning: %s", msg);
    else if (c->verbose)
        cli_errorf("%s", msg);
}

static int parse_prob(const char *s, double *v)
{
    return cli_parse_double(s, v) || !(*v >= 0 && *v <= 1) ? -1 : 0;
}

/* Options shared by match and train; returns 1 if consumed (i advanced),
   0 if not ours, -1 on a bad value. */
static int common_option(common *c, int argc, char **argv, int *i, const char *usage)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    uint64_t u;
    double d;
#define NEED()                                                                                     \
    do {                                                                                           \
        if (!v) {                                                                                  \
            cli_usage(usage, "%s needs a value", a);                                               \
            return -1;                                                                             \
        }                                                                                          \
        (*i)++;                                                                                    \
    } while (0)
#define BAD()                                                                                      \
    do {                                                                                           \
        cli_usage(usage, "%s: bad value '%s'", a, v);                                              \
        return -1;                                                                                 \
    } while (0)
    if (!strcmp(a, "--threads")) {
        NEED();
        if (cli_parse_u64(v, &u) || u > 256)
            BAD();
        c->opt.threads = (unsigned)u;
    } else if (!strcmp(a, "--max-block")) {
        NEED();
        if (cli_parse_u64(v, &u))
            BAD();
        c->opt.max_block = (size_t)u;
    } else if (!strcmp(a, "--lsh-bands")) {
        NEED();
        if (cli_parse_u64(v, &u) || u > 1024)
            BAD();
        c->opt.lsh_bands = (unsigned)u;
    } else if (!strcmp(a, "--lsh-bits")) {
        NEED();
        if (cli_parse_u64(v, &u) || u == 0 || u > 64)
            BAD();
        c->opt.lsh_bits = (unsigned)u;
    } else if (!strcmp(a, "--u-pairs")) {
        NEED();
        if (cli_parse_u64(v, &u) || u == 0)
            BAD();
        c->opt.u_sample_pairs = u;
    } else if (!strcmp(a, "--em-iterations")) {
        NEED();
        if (cli_parse_u64(v, &u) || u == 0 || u > 1000000)
            BAD();
        c->opt.em_max_iterations = (unsigned)u;
    } else if (!strcmp(a, "--em-tolerance")) {
        NEED();
        if (cli_parse_double(v, &d) || !(d > 0 && d < 1))
            BAD();
        c->opt.em_tolerance = d;
    } else if (!strcmp(a, "--seed")) {
        NEED();
        if (cli_parse_u64(v, &u))
            BAD();
        c->opt.seed = u;
    } else if (!strcmp(a, "--threshold")) {
        NEED();
        if (parse_prob(v, &d) || d <= 0 || d >= 1)
            BAD();
        c->opt.threshold = d;
    } else if (!strcmp(a, "--review-low")) {
        NEED();
        if (parse_prob(v, &d))
            BAD();
        c->opt.review_low = d;
    } else if (!strcmp(a, "--merge-support")) {
        NEED();
        if (parse_prob(v, &d))
            BAD();
        c->opt.merge_min_support = d;
    } else if (!strcmp(a, "--unique")) {
        NEED();
        if (c->opt.unique_source_count >= MAX_UNIQUE)
            BAD();
        c->unique[c->opt.unique_source_count++] = v;
    } else if (!strcmp(a, "--verbose")) {
        c->verbose = 1;
    } else if (!strcmp(a, "--quiet")) {
        c->quiet = 1;
    } else if (a[0] == '-' && a[1]) {
        return 0;
    } else {
        if (c->nfiles >= MAX_FILES) {
            cli_usage(usage, "too many input files");
            return -1;
        }
        c->files[c->nfiles++] = a;
    }
    return 1;
#undef NEED
#undef BAD
}

static void common_init(common *c)
{
    memset(c, 0, sizeof *c);
    bl_match_options_default(&c->opt);
    c->opt.log = log_cb;
    c->opt.log_user = c;
    c->opt.unique_sources = c->unique;
}

static bl_status load_all(common *c, bl_dataset **ds, bl_error *err)
{
    bl_status st = bl_dataset_new(ds, err);
    for (size_t i = 0; !st && i < c->nfiles; i++)
        st = bl_dataset_add_file(*ds, c->files[i], c->quiet ? NULL : cli_progress, NULL, err);
    return st;
}

static bl_status get_model(const char *path, const bl_dataset *ds, bl_model **m, bl_error *err)
{
    if (path)
        return bl_model_load(path, m, err);
    return bl_model_default(ds, m, err);
}

int cmd_match(int argc, char **argv)
{
    common c;
    common_init(&c);
    const char *out = NULL, *model_path = NULL, *save_model = NULL, *review = NULL, *report = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--out")          ? &out
                           : !strcmp(a, "--model")      ? &model_path
                           : !strcmp(a, "--save-model") ? &save_model
                           : !strcmp(a, "--review")     ? &review
                           : !strcmp(a, "--report")     ? &report
                                                        : NULL;
        if (dst) {
            if (++i >= argc)
                return cli_usage(match_usage, "match: %s needs a value", a);
            *dst = argv[i];
            continue;
        }
        if (!strcmp(a, "--retrain")) {
            c.opt.retrain = 1;
            continue;
        }
        if (!strcmp(a, "--help")) {
            fputs(match_usage, stdout);
            return EXIT_OK;
        }
        int r = common_option(&c, argc, argv, &i, match_usage);
        if (r < 0)
            return EXIT_USAGE;
        if (r == 0)
            return cli_usage(match_usage, "match: unexpected argument '%s'", a);
    }
    if (!out)
        return cli_usage(match_usage, "match: --out is required");
    if (!c.nfiles)
        return cli_usage(match_usage, "match: give at least one .ble file");
    if (c.opt.review_low > c.opt.threshold)
        return cli_usage(match_usage, "match: --review-low is above --threshold");

    double t0 = cli_now();
    bl_error err;
    bl_error_clear(&err);
    bl_dataset *ds = NULL;
    bl_model *model = NULL;
    bl_linkmap *lm = NULL;
    bl_match_stats st;
    memset(&st, 0, sizeof st);
    int rc = EXIT_OK;
    bl_status s = load_all(&c, &ds, &err);
    double t_load = cli_now() - t0;
    if (!s)
        s = get_model(model_path, ds, &model, &err);
    if (!s)
        s = bl_match_run(ds, model, &c.opt, c.quiet ? NULL : cli_progress, NULL, &lm, &st, &err);
    if (!s)
        s = bl_linkmap_write_csv(lm, out, &err);
    if (!s && review)
        s = bl_linkmap_write_review_csv(lm, review, &err);
    if (!s && save_model)
        s = bl_model_save(model, save_model, &err);
    if (!s && report)
        s = bl_linkmap_write_report(lm, report, &err);
    cli_progress_done();
    if (s) {
        rc = cli_fail(&err);
    } else if (!c.quiet) {
        printf("records:            %llu in %zu source(s)\n", (unsigned long long)st.records,
               bl_dataset_source_count(ds));
        printf("candidate pairs:    %llu (%llu from blocking keys, %llu only from CLK LSH)\n",
               (unsigned long long)st.candidate_pairs, (unsigned long long)st.blocking_pairs,
               (unsigned long long)st.lsh_only_pairs);
        printf("blocks capped:      %llu (max block %zu); %llu singleton key occurrences dropped\n",
               (unsigned long long)st.blocks_capped, c.opt.max_block,
               (unsigned long long)st.keys_dropped);
        if (st.em_iterations)
            printf("EM iterations:      %u (%s); u from %llu random pairs\n", st.em_iterations,
                   st.em_converged ? "converged" : "stopped at the cap",
                   (unsigned long long)st.u_sample_pairs);
        else
            printf("EM iterations:      0 (trained model given)\n");
        printf("links:              %llu accepted at p >= %g, %llu refused by cluster constraints\n",
               (unsigned long long)st.links, c.opt.threshold,
               (unsigned long long)st.links_rejected);
        printf("entities:           %llu (%llu with more than one record)\n",
               (unsigned long long)st.entities, (unsigned long long)st.multi_record_entities);
        printf("review pairs:       %llu%s%s\n", (unsigned long long)st.review_pairs,
               review ? " -> " : "", review ? review : "");
        printf("time:               %.1f s (load %.1f, block %.1f, compare %.1f, train %.1f, "
               "score+cluster %.1f); peak memory %.0f MiB\n",
               cli_now() - t0, t_load, st.seconds_block, st.seconds_compare, st.seconds_train,
               st.seconds_cluster, (double)cli_max_rss() / 1048576.0);
        /* who fails to link, per source */
        for (size_t srci = 0; srci < bl_dataset_source_count(ds); srci++) {
            const char *name = bl_dataset_source_name(ds, srci);
            uint64_t n = 0, linked = 0;
            for (size_t i = 0; i < bl_linkmap_count(lm); i++) {
                bl_linkmap_entry e;
                if (bl_linkmap_get(lm, i, &e, NULL) == BL_OK && !strcmp(e.source, name)) {
                    n++;
                    linked += e.entity_size > 1;
                }
            }
            printf("link rate %-12s %6.2f%% of %llu records\n", name,
                   n ? 100.0 * (double)linked / (double)n : 0.0, (unsigned long long)n);
        }
    }
    bl_linkmap_free(lm);
    bl_model_free(model);
    bl_dataset_free(ds);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    common c;
    common_init(&c);
    const char *out = NULL, *model_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--out") || !strcmp(a, "--model")) {
            if (++i >= argc)
                return cli_usage(train_usage, "train: %s needs a value", a);
            *(!strcmp(a, "--out") ? &out : &model_path) = argv[i];
            continue;
        }
        if (!strcmp(a, "--help")) {
            fputs(train_usage, stdout);
            return EXIT_OK;
        }
        int r = common_option(&c, argc, argv, &i, train_usage);
        if (r < 0)
            return EXIT_USAGE;
        if (r == 0)
            return cli_usage(train_usage, "train: unexpected argument '%s'", a);
    }
    if (!out || !c.nfiles)
        return cli_usage(train_usage, "train: --out and at least one .ble file are required");
    bl_error err;
    bl_error_clear(&err);
    bl_dataset *ds = NULL;
    bl_model *model = NULL;
    bl_match_stats st;
    double t0 = cli_now();
    bl_status s = load_all(&c, &ds, &err);
    if (!s)
        s = get_model(model_path, ds, &model, &err);
    if (!s)
        s = bl_model_train(model, ds, &c.opt, c.quiet ? NULL : cli_progress, NULL, &st, &err);
    if (!s)
        s = bl_model_save(model, out, &err);
    cli_progress_done();
    int rc = EXIT_OK;
    if (s)
        rc = cli_fail(&err);
    else if (!c.quiet)
        printf("trained on %llu records: %llu candidate pairs, u from %llu random pairs, "
               "EM %u iterations (%s), %.1f s -> %s\n",
               (unsigned long long)st.records, (unsigned long long)st.candidate_pairs,
               (unsigned long long)st.u_sample_pairs, st.em_iterations,
               st.em_converged ? "converged" : "cap reached", cli_now() - t0, out);
    bl_model_free(model);
    bl_dataset_free(ds);
    return rc;
}

static int parse_ref(const char *s, char *source, size_t ssize, uint8_t token[BL_TOKEN_BYTES])
{
    const char *colon = strrchr(s, ':');
    const char *hex = colon ? colon + 1 : s;
    source[0] = '\0';
    if (colon) {
        size_t n = (size_t)(colon - s);
        if (n >= ssize)
            return -1;
        memcpy(source, s, n);
        source[n] = '\0';
    }
    if (strlen(hex) != 2 * BL_TOKEN_BYTES)
        return -1;
    for (int i = 0; i < BL_TOKEN_BYTES; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char ch = hex[2 * i + k];
            unsigned d = ch >= '0' && ch <= '9'   ? (unsigned)(ch - '0')
                         : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                         : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10)
                                                  : 99u;
            if (d > 15)
                return -1;
            v = v * 16 + d;
        }
        token[i] = (uint8_t)v;
    }
    return 0;
}

int cmd_explain(int argc, char **argv)
{
    common c;
    common_init(&c);
    c.quiet = 1;
    const char *model_path = NULL, *ra = NULL, *rb = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--model")) {
            if (++i >= argc)
                return cli_usage(explain_usage, "explain: --model needs a value");
            model_path = argv[i];
        } else if (!strcmp(a, "--pair")) {
            if (i + 2 >= argc)
                return cli_usage(explain_usage, "explain: --pair needs two records");
            ra = argv[++i];
            rb = argv[++i];
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--help")) {
            fputs(explain_usage, stdout);
            return EXIT_OK;
        } else {
            int r = common_option(&c, argc, argv, &i, explain_usage);
            if (r < 0)
                return EXIT_USAGE;
            if (r == 0)
                return cli_usage(explain_usage, "explain: unexpected argument '%s'", a);
        }
    }
    char sa[128], sb[128];
    uint8_t ta[BL_TOKEN_BYTES], tb[BL_TOKEN_BYTES];
    if (!ra || !c.nfiles)
        return cli_usage(explain_usage, "explain: --pair and at least one .ble file are required");
    if (parse_ref(ra, sa, sizeof sa, ta) || parse_ref(rb, sb, sizeof sb, tb))
        return cli_usage(explain_usage, "explain: records are [SOURCE:]32-hex-token");
    bl_error err;
    bl_error_clear(&err);
    bl_dataset *ds = NULL;
    bl_model *model = NULL;
    size_t ia = 0, ib = 0;
    bl_explanation ex;
    bl_status s = load_all(&c, &ds, &err);
    if (!s)
        s = bl_dataset_find(ds, sa[0] ? sa : NULL, ta, &ia, &err);
    if (!s)
        s = bl_dataset_find(ds, sb[0] ? sb : NULL, tb, &ib, &err);
    if (!s)
        s = get_model(model_path, ds, &model, &err);
    if (!s && !bl_model_is_trained(model))
        s = bl_model_train(model, ds, &c.opt, NULL, NULL, NULL, &err);
    if (!s)
        s = bl_explain_pair(ds, model, ia, ib, &ex, &err);
    int rc = EXIT_OK;
    if (s) {
        rc = cli_fail(&err);
    } else if (json) {
        printf("{\n  \"prior_weight\": %.6f,\n  \"fields\": [\n", ex.prior_weight);
        for (size_t f = 0; f < ex.field_count; f++) {
            const bl_field_evidence *e = &ex.fields[f];
            printf("    {\"field\": \"%s\", \"level\": \"%s\", \"dice\": %.6f, \"m\": %.8g, "
                   "\"u\": %.8g, \"weight\": %.6f, \"tf_adjustment\": %.6f, \"swapped\": %s}%s\n",
                   e->field, e->level_name, e->dice, e->m, e->u, e->weight, e->tf_adjustment,
                   e->swapped ? "true" : "false", f + 1 < ex.field_count ? "," : "");
        }
        printf("  ],\n  \"related_adjustment\": %.6f,\n", ex.related_adjustment);
        printf("  \"match_weight\": %.6f,\n  \"match_probability\": %.8f\n}\n", ex.weight,
               ex.probability);
    } else {
        printf("%-16s %-10s %7s %12s %12s %9s %9s %9s\n", "field", "level", "dice", "m", "u",
               "weight", "tf adj", "running");
        double run = ex.prior_weight;
        printf("%-16s %-10s %7s %12s %12s %9.2f %9s %9.2f\n", "(prior)", "", "", "", "",
               ex.prior_weight, "", run);
        int swapped = 0;
        for (size_t f = 0; f < ex.field_count; f++) {
            const bl_field_evidence *e = &ex.fields[f];
            run += e->weight + e->tf_adjustment;
            swapped |= e->swapped;
            if (e->level == 0)
                printf("%-16s %-10s %7s %12s %12s %9.2f %9s %9.2f\n", e->field, e->level_name, "-",
                       "-", "-", 0.0, "", run);
            else
                printf("%-16s %-10s %7.3f %12.6g %12.6g %9.2f %9.2f %9.2f%s\n", e->field,
                       e->level_name, e->dice, e->m, e->u, e->weight, e->tf_adjustment, run,
                       e->swapped ? "  *" : "");
        }
        if (swapped)
            printf("* compared crossed: the names are in each other's columns in one record\n");
        run += ex.related_adjustment;
        printf("%-16s %-10s %7s %12s %12s %9.2f %9s %9.2f\n", "(related?)", "", "", "", "",
               ex.related_adjustment, "", run);
        printf("match weight %.2f, match probability %.6f\n", ex.weight, ex.probability);
    }
    bl_model_free(model);
    bl_dataset_free(ds);
    return rc;
}

static void print_counts(const char *name, const bl_eval_counts *c)
{
    printf("%-28s %9.4f %9.4f %9.4f %12llu %12llu %12llu\n", name, c->precision, c->recall, c->f1,
           (unsigned long long)c->true_positive, (unsigned long long)c->predicted,
           (unsigned long long)c->actual);
}

int cmd_evaluate(int argc, char **argv)
{
    const char *truth = NULL, *links = NULL;
    const char *srcs[MAX_UNIQUE], *paths[MAX_UNIQUE];
    char *owned[MAX_UNIQUE];
    size_t nmaps = 0;
    int json = 0, rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--truth") || !strcmp(a, "--linkmap")) {
            if (++i >= argc)
                return cli_usage(evaluate_usage, "evaluate: %s needs a value", a);
            *(!strcmp(a, "--truth") ? &truth : &links) = argv[i];
        } else if (!strcmp(a, "--id-map")) {
            if (++i >= argc)
                return cli_usage(evaluate_usage, "evaluate: --id-map needs SOURCE=FILE");
            const char *eq = strchr(argv[i], '=');
            if (!eq || eq == argv[i] || !eq[1] || nmaps >= MAX_UNIQUE)
                return cli_usage(evaluate_usage, "evaluate: --id-map needs SOURCE=FILE");
            owned[nmaps] = strndup(argv[i], (size_t)(eq - argv[i]));
            if (!owned[nmaps]) {
                cli_errorf("out of memory");
                rc = EXIT_FAIL;
                break;
            }
            srcs[nmaps] = owned[nmaps];
            paths[nmaps] = eq + 1;
            nmaps++;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--help")) {
            fputs(evaluate_usage, stdout);
            for (size_t k = 0; k < nmaps; k++)
                free(owned[k]);
            return EXIT_OK;
        } else {
            for (size_t k = 0; k < nmaps; k++)
                free(owned[k]);
            return cli_usage(evaluate_usage, "evaluate: unexpected argument '%s'", a);
        }
    }
    if (rc == EXIT_OK && (!truth || !links || !nmaps)) {
        for (size_t k = 0; k < nmaps; k++)
            free(owned[k]);
        return cli_usage(evaluate_usage, "evaluate: --truth, --linkmap and --id-map are required");
    }
    bl_error err;
    bl_error_clear(&err);
    bl_evaluation *ev = NULL;
    if (rc == EXIT_OK && bl_evaluate_files(truth, srcs, paths, nmaps, links, &ev, &err) != BL_OK)
        rc = cli_fail(&err);
    if (rc == EXIT_OK && json) {
        char *js = NULL;
        if (bl_evaluation_to_json(ev, &js, &err) != BL_OK) {
            rc = cli_fail(&err);
        } else {
            puts(js);
            free(js);
        }
    } else if (rc == EXIT_OK) {
        bl_eval_counts c;
        printf("%-28s %9s %9s %9s %12s %12s %12s\n", "pairs", "precision", "recall", "F1",
               "true pos", "predicted", "true");
        bl_evaluation_overall(ev, &c);
        print_counts("overall", &c);
        for (size_t i = 0; i < bl_evaluation_pair_count(ev); i++) {
            bl_evaluation_pair(ev, i, &c);
            if (c.predicted || c.actual)
                print_counts(bl_evaluation_pair_name(ev, i), &c);
        }
        printf("split persons (records over several entities): %llu\n",
               (unsigned long long)bl_evaluation_split_persons(ev));
        printf("merged entities (several persons in one):      %llu\n",
               (unsigned long long)bl_evaluation_merged_entities(ev));
    }
    bl_evaluation_free(ev);
    for (size_t k = 0; k < nmaps; k++)
        free(owned[k]);
    return rc;
}
