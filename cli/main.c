/* main.c - dispatch to subcommands; everything else lives in the library. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *help;
} commands[] = {
    {"keygen", cmd_keygen, "write a new random linkage key to an owner-only file"},
    {"schema", cmd_schema, "print the default linkage schema, or check one"},
    {"encode", cmd_encode, "encode a holder's extract into a .ble file and a content file"},
    {"inspect", cmd_inspect, "show what a .ble, schema or model file holds (nothing secret)"},
    {"synth", cmd_synth, "write synthetic GP, social care, housing and education extracts"},
    {"demo", cmd_demo, "run the whole flow on synthetic data"},
    {"match", cmd_match, "link .ble files: block, compare, score (EM), cluster, write a link map"},
    {"train", cmd_train, "estimate a matching model (m/u by EM) and save it as JSON"},
    {"explain", cmd_explain, "show the per-field evidence behind one pair's score"},
    {"evaluate", cmd_evaluate, "precision, recall and F1 of a link map against truth"},
    {"clk", cmd_clk, "clkhash-compatible CLKs from a clkhash linkage schema"},
    {"import-clks", cmd_import_clks, "convert anonlink CLK JSON into a .ble file"},
    {"export-clks", cmd_export_clks, "convert a .ble file's CLKs into anonlink JSON"},
    {"clk-match", cmd_clk_match, "anonlink-style CLK matching (Dice threshold + greedy solving)"},
    {"dsa", cmd_dsa, "data-sharing agreements: keygen, sign, verify"},
    {"optout", cmd_optout, "holder: turn national data opt-out NHS numbers into record tokens"},
    {"emit", cmd_emit, "write the pseudonymised longitudinal dataset under a signed DSA"},
    {"audit", cmd_audit, "verify the hash-chained audit log"},
    {"bench", cmd_bench, "benchmarks: encode, dice"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: bloomlink <command> [options]   (bloomlink <command> --help)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("bloomlink %s\n", bl_version_string());
        return EXIT_OK;
    }
    if (cli_apply_kernel_env() != 0 || cli_apply_prf_kernel_env() != 0)
        return EXIT_USAGE;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    cli_errorf("unknown command '%s'", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
