/* cmd_emit.c - `bloomlink emit`: the data controller's dataset, under a signed DSA. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gov.h"

static const char usage_text[] =
    "usage: bloomlink emit --dsa DSA.json --project-key PROJECT.key --linkmap LINKS.csv\n"
    "                      --content SOURCE=CONTENT.csv [--content ...]\n"
    "                      [--optout SOURCE=OPTOUT_TOKENS.csv ...] --out OUTPUT\n"
    "                      [--format sqlite|csv] [--aggregate DIM[,DIM...]]\n"
    "                      [--report REPORT.json] [--audit-log LOG] [--actor WHO] [--force]\n"
    "Writes the pseudonymised longitudinal dataset (SQLite file, or a directory of\n"
    "CSV files with --format csv) or, with --aggregate, a CSV of person counts by\n"
    "the given dimensions (sources, in_<source>, or person columns the agreement\n"
    "allows) with small-number suppression.  Runs only under an agreement signed\n"
    "by every party and in force; every run is appended to the audit log (default:\n"
    "bloomlink-audit.log next to OUTPUT).\n";

#define MAX_INPUTS 64
#define MAX_DIMS 8

static char *default_log(const char *out)
{
    const char *slash = strrchr(out, '/');
    size_t dl = slash ? (size_t)(slash - out) + 1 : 0;
    static const char name[] = "bloomlink-audit.log";
    char *p = malloc(dl + sizeof name);
    if (p) {
        memcpy(p, out, dl);
        memcpy(p + dl, name, sizeof name);
    }
    return p;
}

static void print_mix(const char *report)
{
    json_error_t je;
    json_t *r = json_loads(report, 0, &je);
    json_t *mix = json_object_get(r, "opt_out_mix");
    size_t i, j;
    json_t *m, *row;
    if (json_array_size(mix))
        printf("how the national data opt-out changes the mix (people; suppressed and rounded):\n");
    json_array_foreach(mix, i, m) {
        printf("  %-38s %10s %10s %10s\n", json_string_value(json_object_get(m, "dimension")),
               "before", "removed", "after");
        json_array_foreach(json_object_get(m, "rows"), j, row) {
            printf("    %-36s %10s %10s %10s\n", json_string_value(json_object_get(row, "value")),
                   json_string_value(json_object_get(row, "before")),
                   json_string_value(json_object_get(row, "removed")),
                   json_string_value(json_object_get(row, "after")));
        }
    }
    json_t *und = json_object_get(json_object_get(r, "columns"), "undeclared");
    json_array_foreach(und, i, m)
        fprintf(stderr, "bloomlink: %s: column '%s' is not named in the agreement: reported, not passed on\n",
                json_string_value(json_object_get(m, "source")),
                json_string_value(json_object_get(m, "column")));
    json_t *mis = json_object_get(json_object_get(r, "columns"), "missing");
    json_array_foreach(mis, i, m)
        fprintf(stderr, "bloomlink: %s: column '%s' named in the agreement is not in the content file\n",
                json_string_value(json_object_get(m, "source")),
                json_string_value(json_object_get(m, "column")));
    json_decref(r);
}

int cmd_emit(int argc, char **argv)
{
    bl_emit_options opt;
    bl_emit_options_default(&opt);
    bl_emit_input content[MAX_INPUTS], optout[MAX_INPUTS];
    size_t ncontent = 0, noptout = 0;
    const char *dims[MAX_DIMS];
    size_t ndims = 0;
    const char *format = NULL, *aggregate = NULL, *fail_after = NULL;
    char *agg_copy = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--dsa")          ? &opt.dsa_path
                           : !strcmp(a, "--project-key") ? &opt.project_key_path
                           : !strcmp(a, "--linkmap")    ? &opt.linkmap_path
                           : !strcmp(a, "--out")        ? &opt.out_path
                           : !strcmp(a, "--report")     ? &opt.report_path
                           : !strcmp(a, "--audit-log")  ? &opt.audit_log_path
                           : !strcmp(a, "--actor")      ? &opt.actor
                           : !strcmp(a, "--format")     ? &format
                           : !strcmp(a, "--aggregate")  ? &aggregate
                           /* Test hook for the crash-safety tests: fail after N rows. */
                           : !strcmp(a, "--test-fail-after-rows") ? &fail_after
                                                                  : NULL;
        int is_content = !strcmp(a, "--content"), is_optout = !strcmp(a, "--optout");
        if (dst || is_content || is_optout) {
            if (++i >= argc)
                return cli_usage(usage_text, "emit: %s needs a value", a);
            if (dst) {
                *dst = argv[i];
                continue;
            }
            bl_emit_input *list = is_content ? content : optout;
            size_t *n = is_content ? &ncontent : &noptout;
            if (*n >= MAX_INPUTS)
                return cli_usage(usage_text, "emit: too many %s options", a);
            if (gov_split_pair(argv[i], &list[*n].source, &list[*n].path) != 0)
                return cli_usage(usage_text, "emit: %s takes SOURCE=FILE", a);
            (*n)++;
        } else if (!strcmp(a, "--force")) {
            opt.overwrite = 1;
        } else if (!strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else {
            return cli_usage(usage_text, "emit: unexpected argument '%s'", a);
        }
    }
    if (!opt.dsa_path || !opt.project_key_path || !opt.linkmap_path || !opt.out_path || !ncontent)
        return cli_usage(usage_text,
                         "emit: --dsa, --project-key, --linkmap, --content and --out are required");
    if (format && !strcmp(format, "csv"))
        opt.format = BL_EMIT_CSV;
    else if (format && strcmp(format, "sqlite"))
        return cli_usage(usage_text, "emit: --format is sqlite or csv");
    if (aggregate) {
        if (format)
            return cli_usage(usage_text, "emit: --aggregate writes its own CSV; drop --format");
        agg_copy = strdup(aggregate);
        if (!agg_copy)
            return EXIT_FAIL;
        for (char *p = agg_copy, *next; p && *p; p = next) {
            next = strchr(p, ',');
            if (next)
                *next++ = '\0';
            if (ndims >= MAX_DIMS) {
                free(agg_copy);
                return cli_usage(usage_text, "emit: at most %d aggregate dimensions", MAX_DIMS);
            }
            dims[ndims++] = p;
        }
        opt.format = BL_EMIT_AGGREGATE;
        opt.aggregate_by = dims;
        opt.aggregate_by_count = ndims;
    }
    if (fail_after && cli_parse_u64(fail_after, &opt.fail_after_rows) != 0) {
        free(agg_copy);
        return cli_usage(usage_text, "emit: --test-fail-after-rows takes a number");
    }
    opt.content = content;
    opt.content_count = ncontent;
    opt.optout = optout;
    opt.optout_count = noptout;
    if (!opt.actor)
        opt.actor = gov_default_actor();
    char *log = NULL;
    if (!opt.audit_log_path) {
        if (!(log = default_log(opt.out_path))) {
            free(agg_copy);
            return EXIT_FAIL;
        }
        opt.audit_log_path = log;
    }
    opt.progress = cli_progress;

    bl_error err;
    bl_error_clear(&err);
    bl_emit_result res;
    bl_status st = bl_emit(&opt, &res, &err);
    int rc;
    if (st != BL_OK) {
        rc = cli_fail(&err);
        fprintf(stderr, "bloomlink: the refusal or failure was recorded in %s\n", opt.audit_log_path);
    } else {
        cli_progress_done();
        printf("agreement %s (sha256 %.16s...) verified: all parties signed, in force\n", opt.dsa_path,
               res.dsa_hash);
        if (opt.format == BL_EMIT_AGGREGATE)
            printf("aggregate %s: %llu cells, %llu suppressed (small numbers) + %llu (secondary)\n",
                   opt.out_path, (unsigned long long)res.aggregate_cells,
                   (unsigned long long)res.suppressed_primary,
                   (unsigned long long)res.suppressed_secondary);
        else
            printf("dataset %s: %llu people, %llu events from %llu content rows\n", opt.out_path,
                   (unsigned long long)res.persons, (unsigned long long)res.events,
                   (unsigned long long)res.content_rows);
        printf("opt-out: %llu tokens -> %llu people removed with %llu records (%llu events) "
               "across all sources\n",
               (unsigned long long)res.optout_tokens, (unsigned long long)res.optout_persons,
               (unsigned long long)res.optout_records, (unsigned long long)res.optout_events);
        if (res.content_rows_unlinked)
            printf("%llu content rows had no link map entry and were left out\n",
                   (unsigned long long)res.content_rows_unlinked);
        if (res.invalid_values)
            printf("%llu values could not be generalised and were left empty\n",
                   (unsigned long long)res.invalid_values);
        if (res.report_json)
            print_mix(res.report_json);
        printf("audit log %s: new head %s\n", opt.audit_log_path, res.audit_entry_hash);
        rc = EXIT_OK;
    }
    bl_emit_result_clear(&res);
    free(log);
    free(agg_copy);
    return rc;
}
