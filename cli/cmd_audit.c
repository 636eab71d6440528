/* cmd_audit.c - `bloomlink audit`: check and read the hash-chained audit log. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: bloomlink audit verify [--head HASH] LOG\n"
    "       bloomlink audit show LOG\n"
    "verify exits 0 only if no entry was edited, removed, added or reordered; with\n"
    "--head (a hash recorded earlier, e.g. printed by emit) it also detects entries\n"
    "removed from the end.  show lists the entries (they hold hashes and counts,\n"
    "never identifiers).\n";

static int show(const char *path)
{
    bl_error err;
    bl_error_clear(&err);
    uint64_t n = 0;
    char head[BL_FINGERPRINT_HEX + 1];
    if (bl_audit_verify(path, NULL, &n, head, &err) != BL_OK)
        cli_fail(&err); /* still show what is there: it helps find the damage */
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_errorf("%s: cannot open", path);
        return EXIT_FAIL;
    }
    char line[1 << 16];
    while (fgets(line, sizeof line, f)) {
        json_error_t je;
        json_t *e = json_loads(line, 0, &je);
        if (!e) {
            printf("(unreadable entry)\n");
            continue;
        }
        json_t *d = json_object_get(e, "details");
        printf("%4lld %s %-12s %-12s %-8s %.16s\n", (long long)json_integer_value(json_object_get(e, "seq")),
               json_string_value(json_object_get(e, "time")),
               json_string_value(json_object_get(e, "actor")),
               json_string_value(json_object_get(e, "command")),
               json_string_value(json_object_get(d, "outcome")) ? json_string_value(json_object_get(d, "outcome")) : "",
               json_string_value(json_object_get(e, "hash")));
        json_decref(e);
    }
    fclose(f);
    return err.code ? EXIT_FAIL : EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *head = NULL, *file = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--head")) {
            if (++i >= argc)
                return cli_usage(usage_text, "audit: --head needs a value");
            head = argv[i];
        } else if (argv[i][0] == '-' || file) {
            return cli_usage(usage_text, "audit: unexpected argument '%s'", argv[i]);
        } else {
            file = argv[i];
        }
    }
    if (!file)
        return cli_usage(usage_text, "audit: the log file is required");
    if (!strcmp(argv[1], "show"))
        return show(file);
    if (strcmp(argv[1], "verify"))
        return cli_usage(usage_text, "audit: unknown subcommand '%s'", argv[1]);
    bl_error err;
    bl_error_clear(&err);
    uint64_t n = 0;
    char h[BL_FINGERPRINT_HEX + 1];
    if (bl_audit_verify(file, head, &n, h, &err) != BL_OK)
        return cli_fail(&err);
    printf("OK: %llu entries, chain intact; head %s\n", (unsigned long long)n, h);
    return EXIT_OK;
}
