/* cmd_inspect.c - `bloomlink inspect FILE`: what a .ble, schema or model file
   holds.  Never shows anything secret: no key, no filter bits, no tokens. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: bloomlink inspect [--json] FILE\n"
    "FILE is an encoding file (.ble), a linkage schema or a trained model (JSON).\n";

static int inspect_ble(const char *path, int json)
{
    bl_error err;
    bl_error_clear(&err);
    bl_encfile_reader *r = NULL;
    if (bl_encfile_open(path, &r, &err) != BL_OK)
        return cli_fail(&err);
    const bl_encfile_info *h = bl_encfile_header(r);
    size_t nf = h->field_count;
    uint64_t *present = calloc(nf + 1, sizeof *present);
    double *bits = calloc(nf + 1, sizeof *bits);
    double clk_bits = 0;
    uint64_t n = 0, clk_n = 0, *keys = calloc(h->blocking_key_count + 1, sizeof *keys);
    const bl_record_view *rec;
    int rc = EXIT_OK;
    if (!present || !bits || !keys) {
        cli_errorf("out of memory");
        rc = EXIT_FAIL;
        goto done;
    }
    for (;;) {
        if (bl_encfile_next(r, &rec, &err) != BL_OK) {
            rc = cli_fail(&err);
            goto done;
        }
        if (!rec)
            break;
        n++;
        for (size_t i = 0; i < nf; i++)
            if (rec->present & (1u << i)) {
                present[i]++;
                bits[i] += bl_popcount(rec->fields[i], h->field_bits[i] / 64);
            }
        if (h->clk_bits) {
            uint32_t c = bl_popcount(rec->clk, h->clk_bits / 64);
            if (c) {
                clk_n++;
                clk_bits += c;
            }
        }
        for (size_t k = 0; k < h->blocking_key_count; k++)
            keys[k] += rec->blocking_keys[k] != 0;
    }
    if (json) {
        json_t *o = json_object(), *fields = json_array(), *bk = json_object();
        json_object_set_new(o, "file", json_string(path));
        json_object_set_new(o, "format_version",
                            json_sprintf("%u.%u", h->version_major, h->version_minor));
        json_object_set_new(o, "source", json_string(h->source));
        json_object_set_new(o, "schema_fingerprint", json_string(h->schema_fingerprint));
        json_object_set_new(o, "key_fingerprint", json_string(h->key_fingerprint));
        json_object_set_new(o, "records", json_integer((json_int_t)n));
        for (size_t i = 0; i < nf; i++)
            json_array_append_new(fields, json_pack("{s:s, s:i, s:I, s:f}", "name", h->field_names[i],
                                                    "bits", (int)h->field_bits[i], "present",
                                                    (json_int_t)present[i], "mean_bits_set",
                                                    present[i] ? bits[i] / (double)present[i] : 0.0));
        json_object_set_new(o, "fields", fields);
        json_object_set_new(o, "clk", json_pack("{s:i, s:I, s:f}", "bits", (int)h->clk_bits, "present",
                                                (json_int_t)clk_n, "mean_bits_set",
                                                clk_n ? clk_bits / (double)clk_n : 0.0));
        for (size_t k = 0; k < h->blocking_key_count; k++)
            json_object_set_new(bk, h->blocking_key_names[k], json_integer((json_int_t)keys[k]));
        json_object_set_new(o, "blocking_keys_present", bk);
        char *s = json_dumps(o, JSON_INDENT(2));
        puts(s ? s : "{}");
        free(s);
        json_decref(o);
        goto done;
    }
    printf("file:               %s\n", path);
    printf("format version:     %u.%u\n", h->version_major, h->version_minor);
    printf("source:             %s\n", h->source);
    printf("schema fingerprint: %s\n", h->schema_fingerprint);
    printf("key fingerprint:    %s\n", h->key_fingerprint);
    printf("records:            %llu (record size %zu bytes)\n", (unsigned long long)n, h->record_bytes);
    printf("\n%-16s %-11s %6s %10s %8s %15s\n", "field", "type", "bits", "present", "%", "mean bits set");
    for (size_t i = 0; i < nf; i++)
        printf("%-16s %-11s %6u %10llu %7.1f%% %15.1f\n", h->field_names[i],
               bl_field_type_name((bl_field_type)h->field_types[i]), h->field_bits[i],
               (unsigned long long)present[i], n ? 100.0 * (double)present[i] / (double)n : 0.0,
               present[i] ? bits[i] / (double)present[i] : 0.0);
    if (h->clk_bits)
        printf("%-16s %-11s %6zu %10llu %7.1f%% %15.1f\n", "(CLK)", "record", h->clk_bits,
               (unsigned long long)clk_n, n ? 100.0 * (double)clk_n / (double)n : 0.0,
               clk_n ? clk_bits / (double)clk_n : 0.0);
    printf("\n%-24s %10s\n", "blocking key", "present");
    for (size_t k = 0; k < h->blocking_key_count; k++)
        printf("%-24s %10llu\n", h->blocking_key_names[k], (unsigned long long)keys[k]);
done:
    free(present);
    free(bits);
    free(keys);
    bl_encfile_close(r);
    return rc;
}

static int inspect_schema(const char *path, int json)
{
    bl_error err;
    bl_error_clear(&err);
    bl_schema *s = NULL;
    if (bl_schema_load(path, &s, &err) != BL_OK)
        return cli_fail(&err);
    char fp[BL_FINGERPRINT_HEX + 1];
    bl_schema_fingerprint(s, fp);
    if (json) {
        printf("{\"schema_fingerprint\": \"%s\", \"fields\": %zu, \"clk_bits\": %zu, \"blocking_keys\": %zu}\n",
               fp, bl_schema_field_count(s), bl_schema_clk_bits(s), bl_schema_blocking_key_count(s));
    } else {
        printf("schema fingerprint: %s\nCLK bits:           %zu\nfields:\n", fp, bl_schema_clk_bits(s));
        for (size_t i = 0; i < bl_schema_field_count(s); i++)
            printf("  %-16s %6zu bits\n", bl_schema_field_name(s, i), bl_schema_field_bits(s, i));
        printf("blocking keys:\n");
        for (size_t i = 0; i < bl_schema_blocking_key_count(s); i++)
            printf("  %s\n", bl_schema_blocking_key_name(s, i));
    }
    bl_schema_free(s);
    return EXIT_OK;
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--help")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else if (argv[i][0] == '-' && argv[i][1])
            return cli_usage(usage_text, "inspect: unknown option '%s'", argv[i]);
        else if (path)
            return cli_usage(usage_text, "inspect: one file at a time");
        else
            path = argv[i];
    }
    if (!path)
        return cli_usage(usage_text, "inspect: which file?");
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_errorf("%s: cannot open: %s", path, strerror(errno));
        return EXIT_FAIL;
    }
    unsigned char magic[4] = {0};
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (got == 4 && magic[0] == 0x89 && !memcmp(magic + 1, "BLE", 3))
        return inspect_ble(path, json);
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc) {
        cli_errorf("%s:%d:%d: neither a .ble file nor JSON: %s", path, je.line, je.column, je.text);
        return EXIT_FAIL;
    }
    int is_schema = json_object_get(doc, "bloomlink_schema") != NULL;
    json_decref(doc);
    return is_schema ? inspect_schema(path, json) : inspect_model(path, json);
}

static const char schema_usage[] =
    "usage: bloomlink schema default          print the shipped default schema (JSON)\n"
    "       bloomlink schema check FILE       validate a schema and print its fingerprint\n";

int cmd_schema(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "default")) {
        fputs(bl_schema_default_json(), stdout);
        return EXIT_OK;
    }
    if (argc == 3 && !strcmp(argv[1], "check"))
        return inspect_schema(argv[2], 0);
    if (argc == 2 && !strcmp(argv[1], "--help")) {
        fputs(schema_usage, stdout);
        return EXIT_OK;
    }
    return cli_usage(schema_usage, "schema: expected 'default' or 'check FILE'");
}
