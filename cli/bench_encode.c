/* bench_encode.c - `bloomlink bench encode`: records/s of the encoder on one
   core, on a synthetic GP extract, with the CSV read alone as the baseline
   measured in the same process; and the HMAC rate of each PRF kernel on the
   encoder's message shape, so a change in records/s can be told apart from
   a change in the hash. */
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
    "default schema; prints the median and best records/s, the PRF kernel the encoder\n"
    "used, and the HMACs/s of every PRF kernel this CPU runs.\n";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* PRF kernels measured: at most this many are compiled in. */
#define MAX_PRF_KERNELS 8

typedef struct prf_figures {
    const char *name;
    double hmacs_per_s; /* median of the runs; 0 if the CPU lacks the kernel */
} prf_figures;

/*
 * HMACs/s of every available PRF kernel: `runs` timed passes, interleaved
 * across kernels so that load from other processes hits them alike.  Every
 * kernel must fold the workload to the same digest as the scalar reference:
 * a fast wrong kernel is an error, not a result.
 */
static int bench_prf_kernels(uint64_t runs, prf_figures *pf, size_t *npf)
{
    enum { COUNT = 200000 };
    double rates[MAX_PRF_KERNELS][100];
    uint8_t want[32], got[32];
    bl_error err;
    bl_error_clear(&err);
    size_t n = 0;
    while (n < MAX_PRF_KERNELS && bl_prf_kernel_at(n)) {
        pf[n].name = bl_prf_kernel_at(n);
        pf[n].hmacs_per_s = 0;
        n++;
    }
    *npf = n;
    if (bl_prf_kernel_run("scalar", COUNT, want, &err) != BL_OK)
        return cli_fail(&err);
    for (uint64_t r = 0; r < runs; r++)
        for (size_t k = 0; k < n; k++) {
            if (!bl_prf_kernel_available(pf[k].name))
                continue;
            double t0 = cli_now();
            if (bl_prf_kernel_run(pf[k].name, COUNT, got, &err) != BL_OK)
                return cli_fail(&err);
            rates[k][r] = COUNT / (cli_now() - t0);
            if (memcmp(got, want, sizeof got)) {
                cli_errorf("bench encode: PRF kernel %s disagrees with the scalar reference",
                           pf[k].name);
                return EXIT_FAIL;
            }
        }
    for (size_t k = 0; k < n; k++) {
        if (!bl_prf_kernel_available(pf[k].name))
            continue;
        qsort(rates[k], runs, sizeof rates[k][0], cmp_double);
        pf[k].hmacs_per_s = rates[k][runs / 2];
    }
    return EXIT_OK;
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
    double *rate = calloc(runs, sizeof *rate), *base = calloc(runs, sizeof *base),
           *cpu_rate = calloc(runs, sizeof *cpu_rate);
    uint64_t records = 0;
    int rc = EXIT_OK;
    if (!rate || !base || !cpu_rate) {
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
        double c0 = cli_cpu_now();
        if (bl_encoder_new(schema, profile, key, &enc, &err) != BL_OK ||
            bl_encoder_encode_csv(enc, csv, out, content, NULL, NULL, NULL, &st, &err) != BL_OK) {
            bl_encoder_free(enc);
            rc = cli_fail(&err);
            goto done;
        }
        double dt = cli_now() - t0, dc = cli_cpu_now() - c0;
        bl_encoder_free(enc);
        records = st.records_read;
        rate[r] = (double)st.records_read / dt;
        cpu_rate[r] = (double)st.records_read / dc;
    }
    prf_figures pf[MAX_PRF_KERNELS];
    size_t npf = 0;
    if ((rc = bench_prf_kernels(runs, pf, &npf)) != EXIT_OK)
        goto done;
    double sorted[100], sorted_base[100];
    memcpy(sorted, rate, runs * sizeof *rate);
    memcpy(sorted_base, base, runs * sizeof *base);
    qsort(sorted, runs, sizeof *sorted, cmp_double);
    qsort(cpu_rate, runs, sizeof *cpu_rate, cmp_double);
    double median_cpu = cpu_rate[runs / 2];
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
        json_t *rates = json_object();
        for (size_t k = 0; k < npf; k++)
            if (pf[k].hmacs_per_s > 0)
                json_object_set_new(rates, pf[k].name, json_real(pf[k].hmacs_per_s));
        json_object_set_new(o, "records_per_cpu_s", json_real(median_cpu));
        json_object_set_new(o, "prf_kernel", json_string(bl_prf_kernel_name()));
        json_object_set_new(o, "huffman_kernel", json_string(bl_encfile_huffman_kernel()));
        json_object_set_new(o, "crc32_kernel", json_string(bl_encfile_crc32_kernel()));
        json_object_set_new(o, "prf_hmacs_per_s", rates);
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
        printf("encode, cpu time: %.0f records per CPU second median\n", median_cpu);
        printf("csv read alone:   %.0f records/s median (baseline, same process)\n", median_base);
        printf("encode/csv read:  %.2f\n", median / median_base);
        printf("peak memory:      %.1f MiB\n", (double)cli_max_rss() / 1048576.0);
        printf("prf kernel:       %s (used by the encoder)\n", bl_prf_kernel_name());
        printf("writer kernels:   huffman %s, crc32 %s\n", bl_encfile_huffman_kernel(),
               bl_encfile_crc32_kernel());
        for (size_t k = 0; k < npf; k++) {
            if (pf[k].hmacs_per_s > 0)
                printf("  %-8s        %.2f M HMAC-SHA256/s median\n", pf[k].name,
                       pf[k].hmacs_per_s / 1e6);
            else
                printf("  %-8s        not run: this CPU lacks it\n", pf[k].name);
        }
    }
done:
    free(rate);
    free(base);
    free(cpu_rate);
    bl_key_free(key);
    bl_profile_free(profile);
    bl_schema_free(schema);
    if (!dir_arg)
        rm_tree(dir);
    return rc;
}
