/* cmd_encode.c - `bloomlink encode`: the data holder's encoder. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: bloomlink encode --schema SCHEMA.json --profile PROFILE.json --key KEYFILE\n"
    "                        --in EXTRACT.csv[.gz] --out SOURCE.ble\n"
    "                        [--content-out CONTENT.csv] [--id-map IDS.csv] [--quiet]\n"
    "Encodes a holder's extract: field filters, CLK and keyed blocking keys go to\n"
    "the .ble file for the linkage service; the content columns go, keyed by\n"
    "record token, to the content file for the data controller; the id map\n"
    "(record_id,record_token) stays with the holder.\n";

static void print_stats(FILE *out, const char *source, const bl_encode_stats *s, double secs)
{
    fprintf(out, "%s: %llu records read, %llu encoded, %llu rejected", source,
            (unsigned long long)s->records_read, (unsigned long long)s->records_encoded,
            (unsigned long long)s->records_rejected);
    if (secs > 0)
        fprintf(out, " in %.2f s", secs);
    fputc('\n', out);
    const struct {
        const char *what;
        uint64_t n;
    } reasons[] = {
        {"invalid dates (treated as missing)", s->invalid_date},
        {"  of which the birth year was kept for salting and blocking", s->salvaged_year},
        {"future dates of birth (treated as missing)", s->future_date},
        {"placeholder dates such as 01/01/1900 (treated as missing)", s->placeholder_date},
        {"invalid sex codes (treated as missing)", s->invalid_sex},
        {"invalid postcodes (treated as missing)", s->invalid_postcode},
        {"invalid NHS numbers (failed format or Modulus 11; treated as missing)", s->invalid_nhs_number},
        {"invalid names (treated as missing)", s->invalid_name},
        {"records without a birth year: salted fields withheld", s->missing_salt},
        {"rows with a duplicate record id (later rows dropped)", s->duplicate_record_id},
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].n)
            fprintf(out, "  %8llu %s\n", (unsigned long long)reasons[i].n, reasons[i].what);
}

int cmd_encode(int argc, char **argv)
{
    const char *schema_path = NULL, *profile_path = NULL, *key_path = NULL, *in = NULL,
               *out = NULL, *content = NULL, *idmap = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--schema")        ? &schema_path
                           : !strcmp(a, "--profile")     ? &profile_path
                           : !strcmp(a, "--key")         ? &key_path
                           : !strcmp(a, "--in")          ? &in
                           : !strcmp(a, "--out")         ? &out
                           : !strcmp(a, "--content-out") ? &content
                           : !strcmp(a, "--id-map")      ? &idmap
                                                         : NULL;
        if (dst) {
            if (++i >= argc)
                return cli_usage(usage_text, "encode: %s needs a value", a);
            *dst = argv[i];
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else {
            return cli_usage(usage_text, "encode: unexpected argument '%s'", a);
        }
    }
    if (!schema_path || !profile_path || !key_path || !in || !out)
        return cli_usage(usage_text, "encode: --schema, --profile, --key, --in and --out are required");

    bl_error err;
    bl_error_clear(&err);
    bl_schema *schema = NULL;
    bl_profile *profile = NULL;
    bl_key *key = NULL;
    bl_encoder *enc = NULL;
    bl_encode_stats stats;
    memset(&stats, 0, sizeof stats);
    int rc = EXIT_OK;
    double t0 = cli_now();
    if (bl_schema_load(schema_path, &schema, &err) != BL_OK ||
        bl_profile_load(profile_path, schema, &profile, &err) != BL_OK ||
        bl_key_load(key_path, &key, &err) != BL_OK ||
        bl_encoder_new(schema, profile, key, &enc, &err) != BL_OK ||
        bl_encoder_encode_csv(enc, in, out, content, idmap, quiet ? NULL : cli_progress, NULL,
                              &stats, &err) != BL_OK) {
        rc = cli_fail(&err);
    } else {
        cli_progress_done();
        if (!quiet)
            print_stats(stderr, bl_profile_source(profile), &stats, cli_now() - t0);
    }
    bl_encoder_free(enc);
    bl_key_free(key);
    bl_profile_free(profile);
    bl_schema_free(schema);
    return rc;
}
