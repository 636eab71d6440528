/* cmd_clk.c - clkhash / anonlink interchange: clk, import-clks, export-clks
   and clk-match, thin over the library's bl_clkhash_* / bl_clkset_* /
   bl_clk_match calls. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char clk_usage[] =
    "usage: bloomlink clk --clkhash-schema SCHEMA.json --secret-file FILE --in DATA.csv\n"
    "                     --out CLKS.json [--no-header | --ignore-header]\n"
    "\n"
    "Encode a CSV file into CLKs bit-identical to clkhash 0.18's for the same linkage\n"
    "schema (v3; v1 and v2 are converted as clkhash converts them), secret and rows, and\n"
    "write anonlink's JSON ({\"clks\": [base64, ...]}).  See docs/clkhash.md for the schema\n"
    "options supported and refused.\n"
    "\n"
    "  --clkhash-schema F  clkhash linkage schema (JSON)\n"
    "  --secret-file F     the shared secret: the file's bytes, less one trailing newline;\n"
    "                      the file must not be readable by group or others\n"
    "  --in F              CSV input, columns in schema order (.gz is read too)\n"
    "  --out F             anonlink CLK JSON, written atomically\n"
    "  --no-header         the CSV has no header line\n"
    "  --ignore-header     the CSV has a header line, not checked against the schema\n"
    "                      (by default it must name every feature, in order)\n";

static const char import_usage[] =
    "usage: bloomlink import-clks CLKS.json --out X.ble [--source NAME]\n"
    "\n"
    "Convert anonlink CLK JSON into an encoding file (.ble) with no fields, no blocking\n"
    "keys and empty fingerprints.  Record tokens are 8 zero bytes then the CLK's index\n"
    "in the JSON array (big-endian).  The CLK length must be a multiple of 64 bits.\n"
    "\n"
    "  --out F      encoding file to write (atomically)\n"
    "  --source S   source name in the file's header (default \"anonlink\")\n";

static const char export_usage[] =
    "usage: bloomlink export-clks X.ble --out CLKS.json\n"
    "\n"
    "Write the CLKs of an encoding file, in record order, as anonlink CLK JSON.\n"
    "\n"
    "  --out F      anonlink CLK JSON to write (atomically)\n";

static const char match_usage[] =
    "usage: bloomlink clk-match PARTY.json|PARTY.ble ... --threshold T --out GROUPS.json\n"
    "\n"
    "Match the CLKs of two or more parties as anonlink does: every cross-party pair with\n"
    "Dice coefficient >= T is a candidate; candidates are merged greedily in order of\n"
    "decreasing similarity, two groups only when all their cross pairs are candidates\n"
    "(greedy one-to-one matching for two parties).  Writes anonlink's groups JSON,\n"
    "{\"groups\": [[[party, record], ...], ...]}, parties numbered in argument order.\n"
    "\n"
    "  --threshold T  Dice threshold, 0 < T <= 1\n"
    "  --out F        groups JSON to write (atomically)\n";

static int wants_help(int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 1;
        }
    return 0;
}

/* Read the secret file: owner-only, one trailing LF or CRLF removed (so a
   file written with `echo` holds the same secret as clkhash's argument). */
static int read_secret(const char *path, char **secret, size_t *len)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        cli_errorf("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_mode & 077) {
        cli_errorf("%s: the secret file is readable or writable by group or others; "
                   "run chmod 600 on it", path);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_errorf("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        cli_errorf("out of memory");
        return -1;
    }
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            fclose(f);
            bl_wipe(buf, cap);
            free(buf);
            cli_errorf("%s: secret longer than %zu bytes", path, cap);
            return -1;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        bl_wipe(buf, cap);
        free(buf);
        cli_errorf("%s: read failed", path);
        return -1;
    }
    if (n && buf[n - 1] == '\n') {
        n--;
        if (n && buf[n - 1] == '\r')
            n--;
    }
    *secret = buf;
    *len = n;
    return 0;
}

int cmd_clk(int argc, char **argv)
{
    if (wants_help(argc, argv, clk_usage))
        return EXIT_OK;
    static const struct option opts[] = {
        {"clkhash-schema", required_argument, NULL, 's'},
        {"secret-file", required_argument, NULL, 'k'},
        {"in", required_argument, NULL, 'i'},
        {"out", required_argument, NULL, 'o'},
        {"no-header", no_argument, NULL, 'n'},
        {"ignore-header", no_argument, NULL, 'g'},
        {NULL, 0, NULL, 0},
    };
    const char *schema_path = NULL, *secret_path = NULL, *in = NULL, *out = NULL;
    bl_clkhash_header header = BL_CLKHASH_HEADER_CHECK;
    int header_opts = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': schema_path = optarg; break;
        case 'k': secret_path = optarg; break;
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'n': header = BL_CLKHASH_HEADER_NONE; header_opts++; break;
        case 'g': header = BL_CLKHASH_HEADER_IGNORE; header_opts++; break;
        default: return cli_usage(clk_usage, "clk: unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage(clk_usage, "clk: unexpected argument '%s'", argv[optind]);
    if (!schema_path || !secret_path || !in || !out)
        return cli_usage(clk_usage, "clk: --clkhash-schema, --secret-file, --in and --out are required");
    if (header_opts > 1)
        return cli_usage(clk_usage, "clk: --no-header and --ignore-header exclude each other");
    if (!strcmp(in, out))
        return cli_usage(clk_usage, "clk: --out must not be the input file");

    bl_error err;
    bl_error_clear(&err);
    bl_clkhash_schema *schema = NULL;
    if (bl_clkhash_schema_load(schema_path, &schema, &err) != BL_OK)
        return cli_fail(&err);
    char *secret;
    size_t secret_len;
    if (read_secret(secret_path, &secret, &secret_len) != 0) {
        bl_clkhash_schema_free(schema);
        return EXIT_FAIL;
    }
    bl_clkhash_encoder *enc = NULL;
    bl_status st = bl_clkhash_encoder_new(schema, secret, secret_len, &enc, &err);
    bl_wipe(secret, secret_len);
    free(secret);
    uint64_t count = 0;
    if (st == BL_OK)
        st = bl_clkhash_encode_csv(enc, in, header, out, cli_progress, NULL, &count, &err);
    bl_clkhash_encoder_free(enc);
    size_t bits = bl_clkhash_schema_clk_bits(schema);
    bl_clkhash_schema_free(schema);
    if (st != BL_OK)
        return cli_fail(&err);
    cli_progress_done();
    fprintf(stderr, "bloomlink: wrote %llu CLKs of %zu bits to %s\n", (unsigned long long)count,
            bits, out);
    return EXIT_OK;
}

/* One positional input and --out (plus --source for import). */
static int in_out_args(int argc, char **argv, const char *usage, const char **in, const char **out,
                       const char **source)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"source", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'o')
            *out = optarg;
        else if (c == 's' && source)
            *source = optarg;
        else
            return cli_usage(usage, "%s: unknown or incomplete option '%s'", argv[0],
                             argv[optind - 1]);
    }
    if (argc - optind != 1)
        return cli_usage(usage, "%s: expected exactly one input file", argv[0]);
    *in = argv[optind];
    if (!*out)
        return cli_usage(usage, "%s: --out is required", argv[0]);
    if (!strcmp(*in, *out))
        return cli_usage(usage, "%s: --out must not be the input file", argv[0]);
    return -1;
}

int cmd_import_clks(int argc, char **argv)
{
    if (wants_help(argc, argv, import_usage))
        return EXIT_OK;
    const char *in = NULL, *out = NULL, *source = "anonlink";
    int rc = in_out_args(argc, argv, import_usage, &in, &out, &source);
    if (rc >= 0)
        return rc;
    bl_error err;
    bl_error_clear(&err);
    bl_clkset *set = NULL;
    if (bl_clkset_load_json(in, &set, &err) != BL_OK)
        return cli_fail(&err);
    bl_status st = bl_clkset_write_ble(set, out, source, &err);
    size_t n = bl_clkset_count(set), bits = bl_clkset_bits(set);
    bl_clkset_free(set);
    if (st != BL_OK)
        return cli_fail(&err);
    fprintf(stderr, "bloomlink: imported %zu CLKs of %zu bits into %s\n", n, bits, out);
    return EXIT_OK;
}

int cmd_export_clks(int argc, char **argv)
{
    if (wants_help(argc, argv, export_usage))
        return EXIT_OK;
    const char *in = NULL, *out = NULL;
    int rc = in_out_args(argc, argv, export_usage, &in, &out, NULL);
    if (rc >= 0)
        return rc;
    bl_error err;
    bl_error_clear(&err);
    bl_clkset *set = NULL;
    if (bl_clkset_load_ble(in, &set, &err) != BL_OK)
        return cli_fail(&err);
    bl_status st = bl_clkset_write_json(set, out, &err);
    size_t n = bl_clkset_count(set), bits = bl_clkset_bits(set);
    bl_clkset_free(set);
    if (st != BL_OK)
        return cli_fail(&err);
    fprintf(stderr, "bloomlink: exported %zu CLKs of %zu bits to %s\n", n, bits, out);
    return EXIT_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

int cmd_clk_match(int argc, char **argv)
{
    if (wants_help(argc, argv, match_usage))
        return EXIT_OK;
    static const struct option opts[] = {
        {"threshold", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    double threshold = -1;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 't') {
            if (cli_parse_double(optarg, &threshold) != 0 || !(threshold > 0 && threshold <= 1))
                return cli_usage(match_usage, "clk-match: --threshold must be a number above 0 "
                                              "and at most 1, not '%s'", optarg);
        } else if (c == 'o') {
            out = optarg;
        } else {
            return cli_usage(match_usage, "clk-match: unknown or incomplete option '%s'",
                             argv[optind - 1]);
        }
    }
    int nparties = argc - optind;
    if (nparties < 2)
        return cli_usage(match_usage, "clk-match: at least two CLK files are needed");
    if (threshold < 0 || !out)
        return cli_usage(match_usage, "clk-match: --threshold and --out are required");
    for (int i = optind; i < argc; i++)
        if (!strcmp(argv[i], out))
            return cli_usage(match_usage, "clk-match: --out must not be an input file");

    bl_error err;
    bl_error_clear(&err);
    bl_clkset **sets = calloc((size_t)nparties, sizeof *sets);
    if (!sets) {
        cli_errorf("out of memory");
        return EXIT_FAIL;
    }
    int rc = EXIT_OK;
    for (int i = 0; i < nparties && rc == EXIT_OK; i++) {
        const char *path = argv[optind + i];
        bl_status st = ends_with(path, ".ble") ? bl_clkset_load_ble(path, &sets[i], &err)
                                               : bl_clkset_load_json(path, &sets[i], &err);
        if (st != BL_OK)
            rc = cli_fail(&err);
    }
    bl_clk_groups *groups = NULL;
    if (rc == EXIT_OK &&
        bl_clk_match((const bl_clkset *const *)sets, (size_t)nparties, threshold, cli_progress,
                     NULL, &groups, &err) != BL_OK)
        rc = cli_fail(&err);
    if (rc == EXIT_OK && bl_clk_groups_write_json(groups, out, &err) != BL_OK)
        rc = cli_fail(&err);
    if (rc == EXIT_OK) {
        cli_progress_done();
        size_t members = 0;
        for (size_t g = 0; g < bl_clk_groups_count(groups); g++)
            members += bl_clk_group_size(groups, g);
        fprintf(stderr, "bloomlink: %llu candidate pairs, %zu groups (%zu records) written to %s "
                        "(Dice kernel: %s)\n",
                (unsigned long long)bl_clk_groups_candidate_count(groups),
                bl_clk_groups_count(groups), members, out, bl_kernel_name());
    }
    bl_clk_groups_free(groups);
    for (int i = 0; i < nparties; i++)
        bl_clkset_free(sets[i]);
    free(sets);
    return rc;
}
