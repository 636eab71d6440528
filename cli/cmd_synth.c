/* cmd_synth.c - bloomlink synth: write synthetic extracts for testing linkage. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: bloomlink synth --out DIR [--people N] [--seed S] [--error-rate R]\n"
    "\n"
    "Write four synthetic extracts of one invented population (gp.csv,\n"
    "social_care.csv, housing.csv, education.csv), a source profile for each,\n"
    "the default schema, truth.csv (the answer key), optout.csv and README.txt.\n"
    "\n"
    "  --out DIR         output directory (created if missing)\n"
    "  --people N        population size (default 20000)\n"
    "  --seed S          random seed; the same seed gives identical files (default 1)\n"
    "  --error-rate R    scale of typos, variants and other errors; 0 = clean,\n"
    "                    1 = realistic (default), 2 = twice as messy\n"
    "  -h, --help        show this help\n";

/* Accept "--opt VALUE" and "--opt=VALUE"; returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

int cmd_synth(int argc, char **argv)
{
    bl_synth_options opt;
    bl_synth_options_default(&opt);
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else if ((v = opt_value(argc, argv, &i, "--out"))) {
            if (!*v)
                return cli_usage(usage_text, "synth: --out needs a directory");
            out = v;
        } else if ((v = opt_value(argc, argv, &i, "--people"))) {
            if (cli_parse_u64(v, &opt.people) || opt.people == 0)
                return cli_usage(usage_text, "synth: --people needs a positive integer, not '%s'", v);
        } else if ((v = opt_value(argc, argv, &i, "--seed"))) {
            if (cli_parse_u64(v, &opt.seed))
                return cli_usage(usage_text, "synth: --seed needs a non-negative integer, not '%s'", v);
        } else if ((v = opt_value(argc, argv, &i, "--error-rate"))) {
            if (cli_parse_double(v, &opt.error_rate) || opt.error_rate < 0)
                return cli_usage(usage_text, "synth: --error-rate needs a number >= 0, not '%s'", v);
        } else {
            return cli_usage(usage_text, "synth: unexpected argument '%s'", argv[i]);
        }
    }
    if (!out)
        return cli_usage(usage_text, "synth: --out DIR is required");

    bl_error err;
    bl_error_clear(&err);
    double t0 = cli_now();
    if (bl_synth_write(&opt, out, cli_progress, NULL, &err) != BL_OK)
        return cli_fail(&err);
    cli_progress_done();
    fprintf(stderr, "bloomlink: wrote %llu people's records to %s in %.1f s (seed %llu)\n",
            (unsigned long long)opt.people, out, cli_now() - t0, (unsigned long long)opt.seed);
    return EXIT_OK;
}
