/* cmd_optout.c - `bloomlink optout`: run by a data holder, never elsewhere. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gov.h"

static const char usage_text[] =
    "usage: bloomlink optout --schema SCHEMA.json --profile PROFILE.json --key KEYFILE\n"
    "                        --in EXTRACT.csv --nhs-list OPTOUT.csv --out OPTOUT_TOKENS.csv\n"
    "                        [--audit-log LOG] [--actor WHO]\n"
    "Run by a data holder: turns the national data opt-out list (NHS numbers) into\n"
    "the record tokens of the holder's own records, for the emitter, which removes\n"
    "those people, and everything linked to them, from every source's output.\n"
    "The NHS numbers never leave the holder; the output holds record tokens only.\n";

int cmd_optout(int argc, char **argv)
{
    const char *schema_path = NULL, *profile_path = NULL, *key_path = NULL, *in = NULL,
               *list = NULL, *out = NULL, *audit_log = NULL, *actor = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--schema")      ? &schema_path
                           : !strcmp(a, "--profile")   ? &profile_path
                           : !strcmp(a, "--key")       ? &key_path
                           : !strcmp(a, "--in")        ? &in
                           : !strcmp(a, "--nhs-list")  ? &list
                           : !strcmp(a, "--out")       ? &out
                           : !strcmp(a, "--audit-log") ? &audit_log
                           : !strcmp(a, "--actor")     ? &actor
                                                       : NULL;
        if (dst) {
            if (++i >= argc)
                return cli_usage(usage_text, "optout: %s needs a value", a);
            *dst = argv[i];
        } else if (!strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else {
            return cli_usage(usage_text, "optout: unexpected argument '%s'", a);
        }
    }
    if (!schema_path || !profile_path || !key_path || !in || !list || !out)
        return cli_usage(usage_text,
                         "optout: --schema, --profile, --key, --in, --nhs-list and --out are required");
    bl_error err;
    bl_error_clear(&err);
    bl_schema *schema = NULL;
    bl_profile *profile = NULL;
    bl_key *key = NULL;
    bl_optout_stats s;
    int rc = EXIT_OK;
    if (bl_schema_load(schema_path, &schema, &err) != BL_OK ||
        bl_profile_load(profile_path, schema, &profile, &err) != BL_OK ||
        bl_key_load(key_path, &key, &err) != BL_OK ||
        bl_optout_tokens(schema, profile, key, in, list, out, &s, &err) != BL_OK) {
        rc = cli_fail(&err);
    } else {
        printf("%s: %llu opted-out NHS numbers on the list (%llu invalid, ignored); "
               "%llu of %llu records matched -> %llu tokens in %s\n",
               bl_profile_source(profile), (unsigned long long)s.list_entries,
               (unsigned long long)s.list_invalid, (unsigned long long)(s.filter_hits - s.filter_false_positives),
               (unsigned long long)s.records_read,
               (unsigned long long)s.tokens_written, out);
        if (s.records_without_nhs)
            printf("  %llu records had no valid NHS number; linkage removes them if they belong "
                   "to an opted-out person\n", (unsigned long long)s.records_without_nhs);
        printf("  Bloom pre-filter: %llu hits, %llu false positives (caught by the exact check)\n",
               (unsigned long long)s.filter_hits, (unsigned long long)s.filter_false_positives);
        if (audit_log) {
            char details[512];
            snprintf(details, sizeof details,
                     "{\"source\":\"%s\",\"list_entries\":%llu,\"list_invalid\":%llu,"
                     "\"records_read\":%llu,\"tokens_written\":%llu}",
                     bl_profile_source(profile), (unsigned long long)s.list_entries,
                     (unsigned long long)s.list_invalid, (unsigned long long)s.records_read,
                     (unsigned long long)s.tokens_written);
            if (bl_audit_append(audit_log, actor ? actor : gov_default_actor(), "optout", details, 0,
                                NULL, &err) != BL_OK)
                rc = cli_fail(&err);
        }
    }
    bl_key_free(key);
    bl_profile_free(profile);
    bl_schema_free(schema);
    return rc;
}
