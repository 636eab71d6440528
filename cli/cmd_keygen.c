/* cmd_keygen.c - `bloomlink keygen [--force] FILE`: a new linkage key. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: bloomlink keygen [--force] KEYFILE\n"
    "Writes 32 random bytes (OpenSSL CSPRNG) to KEYFILE with mode 0600.\n"
    "Share the key with the other data holders only, never with the linkage service.\n";

int cmd_keygen(int argc, char **argv)
{
    const char *path = NULL;
    int force = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--force"))
            force = 1;
        else if (!strcmp(argv[i], "--help")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else if (argv[i][0] == '-')
            return cli_usage(usage_text, "keygen: unknown option '%s'", argv[i]);
        else if (path)
            return cli_usage(usage_text, "keygen: one key file only");
        else
            path = argv[i];
    }
    if (!path)
        return cli_usage(usage_text, "keygen: which file?");
    bl_error err;
    bl_error_clear(&err);
    if (bl_key_generate_file(path, force, &err) != BL_OK)
        return cli_fail(&err);
    bl_key *key = NULL;
    char fp[BL_FINGERPRINT_HEX + 1];
    if (bl_key_load(path, &key, &err) != BL_OK || bl_key_fingerprint(key, fp, &err) != BL_OK) {
        bl_key_free(key);
        return cli_fail(&err);
    }
    bl_key_free(key);
    fprintf(stderr, "bloomlink: wrote %s (mode 0600); key fingerprint %.16s\n", path, fp);
    return EXIT_OK;
}
