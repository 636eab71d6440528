/* cli.h - the bloomlink command: each subcommand is cmd_<name>(argc, argv)
   with argv[0] the subcommand name; returns the process exit status. */
#ifndef BL_CLI_H
#define BL_CLI_H
#include <stdint.h>

#include "bloomlink.h"

/* Exit statuses: 0 success, 1 failure of the operation, 2 usage error. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_keygen(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_schema(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int bench_encode(int argc, char **argv); /* bloomlink bench encode */
int bench_dice(int argc, char **argv);   /* bloomlink bench dice */
int cmd_clk(int argc, char **argv);          /* clk: clkhash-compatible CLKs */
int cmd_import_clks(int argc, char **argv);  /* import-clks */
int cmd_export_clks(int argc, char **argv);  /* export-clks */
int cmd_clk_match(int argc, char **argv);    /* clk-match: anonlink-style solving */
int cmd_match(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_dsa(int argc, char **argv);          /* dsa keygen|sign|verify */
int cmd_emit(int argc, char **argv);
int cmd_audit(int argc, char **argv);        /* audit verify|show */
int cmd_optout(int argc, char **argv);       /* holder: opt-out NHS numbers -> record tokens */
/* `bloomlink inspect` on a model JSON file (json: machine-readable output). */
int inspect_model(const char *path, int json);

/* Print "bloomlink: <formatted error>" to stderr and return EXIT_FAIL. */
int cli_fail(const bl_error *err);
/* Print "bloomlink: <message>" to stderr. */
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a usage error and return EXIT_USAGE. */
int cli_usage(const char *usage_text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Progress bar on stderr when it is a terminal, or every few seconds otherwise;
   pass as bl_progress_fn with user NULL. */
int cli_progress(void *user, const char *what, uint64_t done, uint64_t total);
void cli_progress_done(void);
/* Apply BLOOMLINK_KERNEL (scalar, avx2, avx512, auto) if set. */
int cli_apply_kernel_env(void);
/* Apply BLOOMLINK_PRF_KERNEL (a name from bl_prf_kernel_at, or auto) if set. */
int cli_apply_prf_kernel_env(void);
/* Seconds from a monotonic clock. */
double cli_now(void);
/* CPU seconds this process has used: unlike wall time, not inflated when
   other processes share the cores. */
double cli_cpu_now(void);
/* Peak resident set size of this process in bytes. */
uint64_t cli_max_rss(void);
/* Parse an unsigned integer option value strictly; returns 0 on success. */
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_double(const char *s, double *out);
#endif
