/* cmd_demo.c - `bloomlink demo`: the whole flow on synthetic data, run as the
   same subcommands a user would type, so the demo is also the tutorial. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char usage_text[] =
    "usage: bloomlink demo [--people N] [--seed S] [--out DIR]\n"
    "Runs the whole flow in DIR (default ./demo-out), printing each command:\n"
    "holders: synth, keygen, encode x4; linkage service: match, evaluate;\n"
    "governance: three parties sign the agreement, holders turn the opt-out list\n"
    "into record tokens, the controller emits the pseudonymised dataset and a\n"
    "suppressed aggregate, and the audit chain is verified.\n";

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
    if (strchr(dir, ' ') || strlen(dir) > 256) {
        cli_errorf("demo: the output directory must be under 256 characters, without spaces");
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
    if ((rc = step(cmd_match, "match --out %s/links.csv --review %s/review.csv --save-model %s/model.json --report %s/link-report.json"
                              " %s/gp.ble %s/social_care.ble %s/housing.ble %s/education.ble",
                   dir, dir, dir, dir, dir, dir, dir, dir)))
        return rc;
    if ((rc = step(cmd_evaluate, "evaluate --truth %s/truth.csv --id-map gp=%s/gp.ids"
                                 " --id-map social_care=%s/social_care.ids --id-map housing=%s/housing.ids"
                                 " --id-map education=%s/education.ids --linkmap %s/links.csv",
                   dir, dir, dir, dir, dir, dir)))
        return rc;
    /* Governance: the parties sign the example agreement (with real keys put
       in), the holders with NHS numbers turn the opt-out list into tokens, and
       the controller emits under it. */
    static const char *const parties[][2] = {
        {"icb-analytics", "icb"}, {"gp-federation", "gpfed"}, {"county-council", "council"}};
    for (size_t i = 0; i < 3; i++)
        if ((rc = step(cmd_dsa, "dsa keygen --force --out %s/%s.signing.key", dir, parties[i][1])))
            return rc;
    if ((rc = step(cmd_dsa, "dsa example --out %s/dsa.json", dir)))
        return rc;
    for (size_t i = 0; i < 3; i++)
        if ((rc = step(cmd_dsa, "dsa set-key --party %s --public-key %s/%s.signing.key.pub %s/dsa.json",
                       parties[i][0], dir, parties[i][1], dir)))
            return rc;
    char log[4096];
    snprintf(log, sizeof log, "%s/audit.log", dir);
    unlink(log); /* a fresh chain for a fresh demo */
    for (size_t i = 0; i < 3; i++)
        if ((rc = step(cmd_dsa, "dsa sign --key %s/%s.signing.key --actor %s --audit-log %s %s/dsa.json",
                       dir, parties[i][1], parties[i][0], log, dir)))
            return rc;
    if ((rc = step(cmd_dsa, "dsa verify %s/dsa.json", dir)))
        return rc;
    static const char *const nhs_sources[] = {"gp", "social_care"};
    for (size_t i = 0; i < 2; i++)
        if ((rc = step(cmd_optout, "optout --schema %s/schema.json --profile %s/%s.profile.json"
                                   " --key %s/linkage.key --in %s/%s.csv --nhs-list %s/optout.csv"
                                   " --out %s/%s.optout.csv --audit-log %s --actor %s-holder",
                       dir, dir, nhs_sources[i], dir, dir, nhs_sources[i], dir, dir, nhs_sources[i],
                       log, nhs_sources[i])))
            return rc;
    if ((rc = step(cmd_dsa, "dsa project-key --force --out %s/project.key", dir)))
        return rc;
    char common[16384];
    snprintf(common, sizeof common,
             "--dsa %s/dsa.json --project-key %s/project.key --linkmap %s/links.csv"
             " --content gp=%s/gp.content.csv --content social_care=%s/social_care.content.csv"
             " --content housing=%s/housing.content.csv --content education=%s/education.content.csv"
             " --optout gp=%s/gp.optout.csv --optout social_care=%s/social_care.optout.csv"
             " --audit-log %s --actor icb-analytics --force",
             dir, dir, dir, dir, dir, dir, dir, dir, dir, log);
    if ((rc = step(cmd_emit, "emit %s --out %s/dataset.sqlite --report %s/emit-report.json", common,
                   dir, dir)))
        return rc;
    if ((rc = step(cmd_emit, "emit %s --aggregate in_social_care,in_housing,age_band --out %s/counts.csv",
                   common, dir)))
        return rc;
    if ((rc = step(cmd_audit, "audit verify %s", log)))
        return rc;
    fprintf(stderr, "\nbloomlink: demo finished; outputs are in %s/\n"
                    "  linked dataset: %s/dataset.sqlite (tables person, event, provenance)\n"
                    "  try: sqlite3 %s/dataset.sqlite \"SELECT age_band, count(*) FROM person"
                    " WHERE in_social_care AND in_housing GROUP BY 1\"\n",
            dir, dir, dir);
    return EXIT_OK;
}
