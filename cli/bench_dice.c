/* bench_dice.c - `bloomlink bench dice`: all-pairs Dice scan speed of each
 * kernel this CPU can run, measured in one process so the ratios to the
 * scalar baseline are like for like.
 *
 * Every run of every kernel must report the same matches (count and a
 * checksum of the pairs); a fast wrong answer is a failure, not a figure.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: bloomlink bench dice [--n N] [--bits B] [--threshold T] [--runs R] [--json]\n"
    "\n"
    "Scan N random query filters against N random filters (N x N Dice\n"
    "comparisons, one thread) with each available kernel, R times each, and\n"
    "report comparisons per second (median, minimum and maximum over the runs).\n"
    "\n"
    "  --n N          filters per side (default 10000)\n"
    "  --bits B       filter length in bits (default 1024)\n"
    "  --threshold T  Dice threshold in [0, 1] (default 0.8)\n"
    "  --runs R       timed runs per kernel (default 5)\n"
    "  --json         print one JSON object instead of text\n";

enum { NKERNELS = 3 };
static const bl_kernel bench_kernels[NKERNELS] = {BL_KERNEL_SCALAR, BL_KERNEL_AVX2,
                                                  BL_KERNEL_AVX512};

/* splitmix64: the data must be the same on every run and machine. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

typedef struct {
    size_t n, words;
    uint64_t *queries, *filters;
    uint32_t *pop_queries, *pop_filters;
} dataset;

static void dataset_free(dataset *d)
{
    free(d->queries);
    free(d->filters);
    free(d->pop_queries);
    free(d->pop_filters);
}

/*
 * Filters with about 30% of bits set (typical of 1024-bit CLKs).  Every
 * tenth candidate is a noisy copy of its query, with 0-30% of bits flipped,
 * which spreads those pairs' Dice over about [0.67, 1]: many land close to
 * the default threshold, so a kernel that miscounts by even a few bits
 * changes the matches and fails the cross-kernel check.  Random pairs sit
 * near Dice 0.3.
 */
static int dataset_make(dataset *d, size_t n, size_t bits)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->words = (bits + 63) / 64;
    size_t total = n * d->words;
    d->queries = aligned_alloc(64, (total * 8 + 63) / 64 * 64);
    d->filters = aligned_alloc(64, (total * 8 + 63) / 64 * 64);
    d->pop_queries = malloc(n * sizeof *d->pop_queries);
    d->pop_filters = malloc(n * sizeof *d->pop_filters);
    if (!d->queries || !d->filters || !d->pop_queries || !d->pop_filters) {
        dataset_free(d);
        return -1;
    }
    uint64_t rng = 0x626c6f6f6d6c696eu; /* "bloomlin" */
    const uint64_t p30 = (uint64_t)(0.3 * 9007199254740992.0); /* 0.3 of 2^53 */
    const uint64_t last_mask =
        bits % 64 ? (UINT64_C(1) << (bits % 64)) - 1 : ~UINT64_C(0);
    for (size_t i = 0; i < n; i++) {
        uint64_t *q = d->queries + i * d->words, *f = d->filters + i * d->words;
        const uint64_t pflip = p30 / 1000 * (next_u64(&rng) % 1001);
        for (size_t w = 0; w < d->words; w++) {
            uint64_t qw = 0, fw = 0, flip = 0;
            for (int b = 0; b < 64; b++) {
                if ((next_u64(&rng) >> 11) < p30)
                    qw |= UINT64_C(1) << b;
                if ((next_u64(&rng) >> 11) < p30)
                    fw |= UINT64_C(1) << b;
                if ((next_u64(&rng) >> 11) < pflip)
                    flip |= UINT64_C(1) << b;
            }
            if (w + 1 == d->words) {
                qw &= last_mask;
                fw &= last_mask;
                flip &= last_mask;
            }
            q[w] = qw;
            f[w] = i % 10 == 0 ? qw ^ flip : fw;
        }
    }
    for (size_t i = 0; i < n; i++) {
        d->pop_queries[i] = bl_popcount(d->queries + i * d->words, d->words);
        d->pop_filters[i] = bl_popcount(d->filters + i * d->words, d->words);
    }
    return 0;
}

typedef struct {
    uint64_t matches;
    uint64_t checksum; /* order-sensitive hash of every (query, filter) pair */
} scan_result;

static scan_result scan_all(const dataset *d, uint32_t num, uint32_t den, uint32_t *out)
{
    scan_result r = {0, 0};
    for (size_t i = 0; i < d->n; i++) {
        size_t k = bl_dice_scan(d->queries + i * d->words, d->pop_queries[i], d->filters,
                                d->pop_filters, d->n, d->words, num, den, out);
        r.matches += k;
        for (size_t j = 0; j < k; j++)
            r.checksum = (r.checksum ^ ((uint64_t)i << 32 | out[j])) * UINT64_C(0x100000001b3);
    }
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* "model name" from /proc/cpuinfo, or "unknown". */
static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *colon = strchr(line, ':');
        if (!colon)
            continue;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        size_t len = strcspn(colon, "\r\n");
        if (len)
            snprintf(buf, size, "%.*s", (int)len, colon);
        break;
    }
    fclose(f);
}

/* s as a JSON string literal (quotes included). */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

typedef struct {
    int available;
    double median, min, max; /* comparisons per second over the runs */
} kernel_figures;

static void json_kernel_map(const char *key, const kernel_figures *kf, int what,
                            double scalar_median)
{
    printf("  \"%s\": {", key);
    const char *sep = "";
    for (int k = 0; k < NKERNELS; k++) {
        if (!kf[k].available)
            continue;
        double v = what == 0   ? kf[k].median
                   : what == 1 ? kf[k].min
                   : what == 2 ? kf[k].max
                               : kf[k].median / scalar_median;
        printf(what == 3 ? "%s\"%s\": %.3f" : "%s\"%s\": %.0f", sep,
               bl_kernel_name_of(bench_kernels[k]), v);
        sep = ", ";
    }
    printf("},\n");
}

int bench_dice(int argc, char **argv)
{
    uint64_t n = 10000, bits = 1024, runs = 5;
    double threshold = 0.8;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (strcmp(a, "--n") && strcmp(a, "--bits") && strcmp(a, "--threshold") &&
            strcmp(a, "--runs"))
            return cli_usage(usage_text, "bench dice: unknown option '%s'", a);
        if (i + 1 >= argc)
            return cli_usage(usage_text, "bench dice: %s needs a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--n")) {
            if (cli_parse_u64(v, &n) || n == 0 || n > UINT32_MAX)
                return cli_usage(usage_text, "bench dice: --n wants 1..%u, not '%s'",
                                 (unsigned)UINT32_MAX, v);
        } else if (!strcmp(a, "--bits")) {
            if (cli_parse_u64(v, &bits) || bits == 0 || bits > (UINT64_C(1) << 24))
                return cli_usage(usage_text, "bench dice: --bits wants 1..16777216, not '%s'", v);
        } else if (!strcmp(a, "--threshold")) {
            if (cli_parse_double(v, &threshold) || threshold < 0.0 || threshold > 1.0)
                return cli_usage(usage_text, "bench dice: --threshold wants 0..1, not '%s'", v);
        } else { /* --runs */
            if (cli_parse_u64(v, &runs) || runs == 0 || runs > 1000)
                return cli_usage(usage_text, "bench dice: --runs wants 1..1000, not '%s'", v);
        }
    }
    if (n > SIZE_MAX / 8 / ((bits + 63) / 64)) {
        cli_errorf("bench dice: %llu filters of %llu bits do not fit in memory",
                   (unsigned long long)n, (unsigned long long)bits);
        return EXIT_FAIL;
    }
    /* The threshold as an exact fraction, as a matcher would pass it. */
    const uint32_t den = 1000000;
    const uint32_t num = (uint32_t)llround(threshold * den);

    bl_error err;
    bl_error_clear(&err);
    if (bl_set_kernel(BL_KERNEL_AUTO, &err) != BL_OK)
        return cli_fail(&err);
    const char *auto_kernel = bl_kernel_name();

    dataset d;
    if (dataset_make(&d, (size_t)n, (size_t)bits) != 0) {
        cli_errorf("bench dice: out of memory for %llu filters", (unsigned long long)n);
        return EXIT_FAIL;
    }
    uint32_t *out = malloc((size_t)n * sizeof *out);
    double *rates = malloc((size_t)runs * NKERNELS * sizeof *rates);
    if (!out || !rates) {
        free(out);
        free(rates);
        dataset_free(&d);
        cli_errorf("bench dice: out of memory");
        return EXIT_FAIL;
    }

    kernel_figures kf[NKERNELS];
    memset(kf, 0, sizeof kf);
    for (int k = 0; k < NKERNELS; k++)
        kf[k].available = bl_kernel_available(bench_kernels[k]);

    /*
     * Runs are interleaved (scalar, avx2, avx512, scalar, ...) so that clock
     * or thermal drift during the benchmark affects every kernel alike.  An
     * untimed pass per kernel first warms caches and checks the answer.
     */
    int status = EXIT_OK;
    scan_result ref = {0, 0};
    int have_ref = 0;
    const double comparisons = (double)n * (double)n;
    for (uint64_t r = 0; r <= runs && status == EXIT_OK; r++) {
        for (int k = 0; k < NKERNELS && status == EXIT_OK; k++) {
            if (!kf[k].available)
                continue;
            if (bl_set_kernel(bench_kernels[k], &err) != BL_OK) {
                status = cli_fail(&err);
                break;
            }
            double t0 = cli_now();
            scan_result res = scan_all(&d, num, den, out);
            double t1 = cli_now();
            if (!have_ref) {
                ref = res;
                have_ref = 1;
            } else if (res.matches != ref.matches || res.checksum != ref.checksum) {
                cli_errorf("bench dice: kernel %s found %llu matches (checksum %016llx), "
                           "expected %llu (%016llx): wrong answer",
                           bl_kernel_name_of(bench_kernels[k]), (unsigned long long)res.matches,
                           (unsigned long long)res.checksum, (unsigned long long)ref.matches,
                           (unsigned long long)ref.checksum);
                status = EXIT_FAIL;
            }
            if (r > 0) /* run 0 is the warm-up */
                rates[(size_t)k * runs + (r - 1)] = comparisons / (t1 - t0 > 1e-9 ? t1 - t0 : 1e-9);
        }
    }
    /* Leave the process as we found it: the best kernel. */
    if (bl_set_kernel(BL_KERNEL_AUTO, &err) != BL_OK && status == EXIT_OK)
        status = cli_fail(&err);
    if (status != EXIT_OK) {
        free(out);
        free(rates);
        dataset_free(&d);
        return status;
    }

    int best = 0;
    for (int k = 0; k < NKERNELS; k++) {
        if (!kf[k].available)
            continue;
        double *v = rates + (size_t)k * runs;
        qsort(v, (size_t)runs, sizeof *v, cmp_double);
        kf[k].min = v[0];
        kf[k].max = v[runs - 1];
        kf[k].median = runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2.0;
        if (kf[k].median > kf[best].median)
            best = k;
    }
    const double scalar_median = kf[0].median; /* scalar is always available */
    char cpu[256];
    cpu_model(cpu, sizeof cpu);

    if (json) {
        printf("{\n  \"cpu\": ");
        json_string(cpu);
        printf(",\n  \"bits\": %llu,\n  \"n\": %llu,\n  \"threshold\": %g,\n  \"runs\": %llu,\n",
               (unsigned long long)bits, (unsigned long long)n, threshold,
               (unsigned long long)runs);
        printf("  \"auto_kernel\": ");
        json_string(auto_kernel);
        printf(",\n");
        json_kernel_map("kernels", kf, 0, scalar_median);
        json_kernel_map("median", kf, 0, scalar_median);
        json_kernel_map("min", kf, 1, scalar_median);
        json_kernel_map("max", kf, 2, scalar_median);
        json_kernel_map("speedup_vs_scalar", kf, 3, scalar_median);
        printf("  \"best_kernel\": \"%s\",\n  \"skipped\": [",
               bl_kernel_name_of(bench_kernels[best]));
        const char *sep = "";
        for (int k = 0; k < NKERNELS; k++)
            if (!kf[k].available) {
                printf("%s\"%s\"", sep, bl_kernel_name_of(bench_kernels[k]));
                sep = ", ";
            }
        printf("],\n  \"matches\": %llu,\n  \"version\": ", (unsigned long long)ref.matches);
        json_string(bl_version_string());
        printf("\n}\n");
    } else {
        printf("bench dice: %llu x %llu filters of %llu bits, Dice >= %g, %llu runs per kernel, "
               "1 thread\n",
               (unsigned long long)n, (unsigned long long)n, (unsigned long long)bits, threshold,
               (unsigned long long)runs);
        printf("cpu: %s; auto kernel: %s; bloomlink %s\n", cpu, auto_kernel,
               bl_version_string());
        printf("%-8s %16s %16s %16s %10s\n", "kernel", "median cmp/s", "min cmp/s", "max cmp/s",
               "vs scalar");
        for (int k = 0; k < NKERNELS; k++) {
            const char *name = bl_kernel_name_of(bench_kernels[k]);
            if (!kf[k].available) {
                printf("%-8s %16s   (skipped: not supported by this CPU)\n", name, "-");
                continue;
            }
            printf("%-8s %16.4g %16.4g %16.4g %9.2fx\n", name, kf[k].median, kf[k].min,
                   kf[k].max, kf[k].median / scalar_median);
        }
        printf("matches: %llu (identical across kernels)\n", (unsigned long long)ref.matches);
        printf("best: %s, %.2fx the scalar baseline (medians, same process)\n",
               bl_kernel_name_of(bench_kernels[best]), kf[best].median / scalar_median);
    }
    free(out);
    free(rates);
    dataset_free(&d);
    return EXIT_OK;
}
