/* check_main.c - runs every module's suite; exits non-zero on any failure. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"

char *test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/bltest.XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

void rm_rf(const char *path)
{
    if (path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv)
{
    Suite *(*suites[])(void) = {
        suite_error, suite_io, suite_csv, suite_normalise, suite_key, suite_schema,
        suite_tokenise, suite_encode, suite_encfile, suite_filter, suite_sha256, suite_synth,
        suite_banned, suite_clkhash, suite_match, suite_dsa, suite_emit, suite_huffman, suite_crc32,
    };
    SRunner *sr = srunner_create(NULL);
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        srunner_add_suite(sr, suites[i]());
    /* Optional: run one suite by name, e.g. `check_bloomlink csv`. */
    srunner_run(sr, argc > 1 ? argv[1] : NULL, NULL, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
