/* bench_encode.c - `bloomlink bench encode`: records/s of the encoder on one
   core, on a synthetic GP extract, with the CSV read alone as the baseline
   measured in the same process. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char usage_text[] =
    "usage: bloomlink bench encode [--people N] [--runs R] [--dir DIR] [--json]\n"
    "Generates a synthetic GP extract of N people (default 100000) in DIR (default a\n"
    "temporary directory) and encodes it R times (default 5) on one core with the\n"
    "default schema; prints the median and best records/s.\n";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void rm_tree(const char *dir)
{
    static const char *const names[] = {"gp.csv", "social_care.csv", "housing.csv", "education.csv",
                                        "truth.csv", "optout.csv", "schema.json", "README.txt",
                                        "gp.profile.json", "social_care.profile.json",
                                        "housing.profile.json", "education.profile.json",
                                        "bench.key", "bench.ble", "bench.content.csv"};
    char p[4096];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

int bench_encode(int argc, char **argv)
{
    uint64_t people = 100000, runs = 5;
    const char *dir_arg = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--people") && i + 1 < argc) {
            if (cli_parse_u64(argv[++i], &people) || people == 0)
                return cli_usage(usage_text, "bench encode: --people must be a positive integer");
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            if (cli_parse_u64(argv[++i], &runs) || runs == 0 || runs > 100)
                return cli_usage(usage_text, "bench encode: --runs must be 1..100");
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir_arg = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--help")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else {
            return cli_usage(usage_text, "bench encode: unexpected argument '%s'", argv[i]);
        }
    }
    char tmpl[] = "/tmp/bloomlink-bench.XXXXXX";
    const char *dir = dir_arg;
    if (!dir) {
        dir = mkdtemp(tmpl);
        if (!dir) {
            cli_errorf("bench encode: cannot create a temporary directory");
            return EXIT_FAIL;
        }
    }
    bl_error err;
    bl_error_clear(&err);
    bl_synth_options opt;
    bl_synth_options_default(&opt);
    opt.people = people;
    char csv[4096], prof[4096], keyp[4096], out[4096], content[4096];
    snprintf(csv, sizeof csv, "%s/gp.csv", dir);
    snprintf(prof, sizeof prof, "%s/gp.profile.json", dir);
    snprintf(keyp, sizeof keyp, "%s/bench.key", dir);
    snprintf(out, sizeof out, "%s/bench.ble", dir);
    snprintf(content, sizeof content, "%s/bench.content.csv", dir);
    bl_schema *schema = NULL;
    bl_profile *profile = NULL;
    bl_key *key = NULL;
    double *rate = calloc(runs, sizeof *rate), *base = calloc(runs, sizeof *base);
    uint64_t records = 0;
    int rc = EXIT_OK;
    if (!rate || !base) {
        cli_errorf("out of memory");
        rc = EXIT_FAIL;
        goto done;
    }
    if (bl_synth_write(&opt, dir, NULL, NULL, &err) != BL_OK ||
        bl_key_generate_file(keyp, 1, &err) != BL_OK || bl_key_load(keyp, &key, &err) != BL_OK ||
        bl_schema_default(&schema, &err) != BL_OK ||
        bl_profile_load(prof, schema, &profile, &err) != BL_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    for (uint64_t r = 0; r < runs; r++) {
        /* Baseline: reading and splitting the CSV alone. */
        bl_csv_reader *rd = NULL;
        double t0 = cli_now();
        uint64_t rows = 0;
        if (bl_csv_open(csv, bl_profile_separator(profile), bl_profile_skip_initial_space(profile),
                        &rd, &err) != BL_OK) {
            rc = cli_fail(&err);
            goto done;
        }
        char **f;
        size_t nf;
        while (bl_csv_next(rd, &f, &nf, &err) == BL_OK && f)
            rows++;
        bl_csv_close(rd);
        if (err.code) {
            rc = cli_fail(&err);
            goto done;
        }
        base[r] = (double)(rows - 1) / (cli_now() - t0);

        bl_encoder *enc = NULL;
        bl_encode_stats st;
        t0 = cli_now();
        if (bl_encoder_new(schema, profile, key, &enc, &err) != BL_OK ||
            bl_encoder_encode_csv(enc, csv, out, content, NULL, NULL, NULL, &st, &err) != BL_OK) {
            bl_encoder_free(enc);
            rc = cli_fail(&err);
            goto done;
        }
        double dt = cli_now() - t0;
        bl_encoder_free(enc);
        records = st.records_read;
        rate[r] = (double)st.records_read / dt;
    }
    double sorted[100], sorted_base[100];
    memcpy(sorted, rate, runs * sizeof *rate);
    memcpy(sorted_base, base, runs * sizeof *base);
    qsort(sorted, runs, sizeof *sorted, cmp_double);
    qsort(sorted_base, runs, sizeof *sorted_base, cmp_double);
    double median = sorted[runs / 2], best = sorted[runs - 1], median_base = sorted_base[runs / 2];
    char cpu[256] = "unknown";
    FILE *ci = fopen("/proc/cpuinfo", "r");
    if (ci) {
        char line[512];
        while (fgets(line, sizeof line, ci))
            if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
                snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
                cpu[strcspn(cpu, "\n")] = '\0';
                break;
            }
        fclose(ci);
    }
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:s}", "benchmark",
                              "encode", "version", bl_version_string(), "cpu", cpu, "records",
                              (json_int_t)records, "runs", (json_int_t)runs, "records_per_s", median,
                              "records_per_s_best", best, "csv_read_records_per_s", median_base,
                              "encode_vs_csv_read", median / median_base, "max_rss_mib",
                              (double)cli_max_rss() / 1048576.0, "threads", "1");
        char *s = json_dumps(o, JSON_INDENT(2));
        puts(s ? s : "{}");
        free(s);
        json_decref(o);
    } else {
        printf("encode benchmark (bloomlink %s, one core, default schema)\n", bl_version_string());
        printf("cpu:              %s\n", cpu);
        printf("records:          %llu synthetic GP records x %llu runs\n",
               (unsigned long long)records, (unsigned long long)runs);
        printf("encode:           %.0f records/s median, %.0f best\n", median, best);
        printf("csv read alone:   %.0f records/s median (baseline, same process)\n", median_base);
        printf("encode/csv read:  %.2f\n", median / median_base);
        printf("peak memory:      %.1f MiB\n", (double)cli_max_rss() / 1048576.0);
    }
done:
    free(rate);
    free(base);
    bl_key_free(key);
    bl_profile_free(profile);
    bl_schema_free(schema);
    if (!dir_arg)
        rm_tree(dir);
    return rc;
}
