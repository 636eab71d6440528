/* cmd_demo.c - `bloomlink demo`: the whole flow on synthetic data, run as the
   same subcommands a user would type, so the demo is also the tutorial. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char usage_text[] =
    "usage: bloomlink demo [--people N] [--seed S] [--out DIR]\n"
    "Runs synth -> keygen -> encode (4 holders) -> match -> evaluate in DIR\n"
    "(default ./demo-out), printing each command as it goes.\n";

static const char *const sources[] = {"gp", "social_care", "housing", "education"};

/* Run one subcommand with a printf-built argument list, echoing it. */
static int step(int (*fn)(int, char **), const char *fmt, ...)
{
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n$ bloomlink %s\n", line);
    char *argv[64];
    int argc = 0;
    char *save = NULL;
    for (char *p = strtok_r(line, " ", &save); p && argc < 63; p = strtok_r(NULL, " ", &save))
        argv[argc++] = p;
    argv[argc] = NULL;
    int rc = fn(argc, argv);
    if (rc != EXIT_OK)
        cli_errorf("demo: step failed (exit %d): bloomlink %s", rc, argv[0]);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    uint64_t people = 20000, seed = 1;
    const char *dir = "demo-out";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--people") && i + 1 < argc) {
            if (cli_parse_u64(argv[++i], &people) || people == 0)
                return cli_usage(usage_text, "demo: --people must be a positive integer");
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            if (cli_parse_u64(argv[++i], &seed))
                return cli_usage(usage_text, "demo: --seed must be an integer");
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--help")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else {
            return cli_usage(usage_text, "demo: unexpected argument '%s'", argv[i]);
        }
    }
    if (strchr(dir, ' ')) {
        cli_errorf("demo: the output directory must not contain spaces");
        return EXIT_USAGE;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cli_errorf("demo: cannot create %s: %s", dir, strerror(errno));
        return EXIT_FAIL;
    }
    int rc;
    if ((rc = step(cmd_synth, "synth --people %llu --seed %llu --out %s", (unsigned long long)people,
                   (unsigned long long)seed, dir)))
        return rc;
    if ((rc = step(cmd_keygen, "keygen --force %s/linkage.key", dir)))
        return rc;
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        const char *s = sources[i];
        if ((rc = step(cmd_encode,
                       "encode --schema %s/schema.json --profile %s/%s.profile.json --key %s/linkage.key"
                       " --in %s/%s.csv --out %s/%s.ble --content-out %s/%s.content.csv --id-map %s/%s.ids",
                       dir, dir, s, dir, dir, s, dir, s, dir, s, dir, s)))
            return rc;
    }
    if ((rc = step(cmd_match, "match --out %s/links.csv --review %s/review.csv --model-out %s/model.json"
                              " %s/gp.ble %s/social_care.ble %s/housing.ble %s/education.ble",
                   dir, dir, dir, dir, dir, dir, dir)))
        return rc;
    if ((rc = step(cmd_evaluate, "evaluate --truth %s/truth.csv --id-map gp=%s/gp.ids"
                                 " --id-map social_care=%s/social_care.ids --id-map housing=%s/housing.ids"
                                 " --id-map education=%s/education.ids --linkmap %s/links.csv",
                   dir, dir, dir, dir, dir, dir)))
        return rc;
    fprintf(stderr, "\nbloomlink: demo finished; outputs are in %s/\n", dir);
    return EXIT_OK;
}
