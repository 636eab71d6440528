/* util.c - shared CLI helpers: error printing, progress, timing. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_fail(const bl_error *err)
{
    char buf[1024];
    cli_progress_done();
    fprintf(stderr, "bloomlink: %s\n", bl_error_format(err, buf, sizeof buf));
    return EXIT_FAIL;
}

void cli_errorf(const char *fmt, ...)
{
    va_list ap;
    cli_progress_done();
    fputs("bloomlink: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage(const char *usage_text, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        fputs("bloomlink: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double cli_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t cli_max_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024u;
}

static int progress_shown;
static double progress_last;

int cli_progress(void *user, const char *what, uint64_t done, uint64_t total)
{
    (void)user;
    double now = cli_now();
    int tty = isatty(STDERR_FILENO);
    double interval = tty ? 0.2 : 5.0;
    if (done != total && now - progress_last < interval)
        return 0;
    if (!progress_shown && done == total)
        return 0; /* short jobs finish silently */
    progress_last = now;
    if (tty) {
        if (total)
            fprintf(stderr, "\r%-28s %12llu / %llu (%3.0f%%)", what, (unsigned long long)done,
                    (unsigned long long)total, 100.0 * (double)done / (double)total);
        else
            fprintf(stderr, "\r%-28s %12llu", what, (unsigned long long)done);
        progress_shown = 1;
    } else if (progress_shown || done != total) {
        if (total)
            fprintf(stderr, "bloomlink: %s: %llu / %llu\n", what, (unsigned long long)done,
                    (unsigned long long)total);
        else
            fprintf(stderr, "bloomlink: %s: %llu\n", what, (unsigned long long)done);
        progress_shown = 2;
    }
    return 0;
}

void cli_progress_done(void)
{
    if (progress_shown == 1)
        fputc('\n', stderr);
    progress_shown = 0;
}

int cli_apply_kernel_env(void)
{
    const char *k = getenv("BLOOMLINK_KERNEL");
    if (!k || !*k)
        return 0;
    bl_kernel kernel;
    if (!strcmp(k, "auto"))
        kernel = BL_KERNEL_AUTO;
    else if (!strcmp(k, "scalar"))
        kernel = BL_KERNEL_SCALAR;
    else if (!strcmp(k, "avx2"))
        kernel = BL_KERNEL_AVX2;
    else if (!strcmp(k, "avx512"))
        kernel = BL_KERNEL_AVX512;
    else {
        cli_errorf("BLOOMLINK_KERNEL='%s': expected auto, scalar, avx2 or avx512", k);
        return -1;
    }
    bl_error err;
    bl_error_clear(&err);
    if (bl_set_kernel(kernel, &err) != BL_OK) {
        cli_fail(&err);
        return -1;
    }
    return 0;
}

int cli_apply_prf_kernel_env(void)
{
    const char *k = getenv("BLOOMLINK_PRF_KERNEL");
    if (!k || !*k)
        return 0;
    bl_error err;
    bl_error_clear(&err);
    if (bl_set_prf_kernel(k, &err) != BL_OK) {
        cli_fail(&err);
        return -1;
    }
    return 0;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}
