/* tests.h - one Check suite per module, collected by check_main.c. */
#ifndef BL_TESTS_H
#define BL_TESTS_H
#include <check.h>

#include "bloomlink.h"

#ifndef BL_SRCDIR
#define BL_SRCDIR "."
#endif

Suite *suite_error(void);
Suite *suite_io(void);
Suite *suite_csv(void);
Suite *suite_normalise(void);
Suite *suite_key(void);
Suite *suite_schema(void);
Suite *suite_tokenise(void);
Suite *suite_encode(void);
Suite *suite_encfile(void);
Suite *suite_filter(void);
Suite *suite_sha256(void);
Suite *suite_synth(void);
Suite *suite_banned(void);
Suite *suite_clkhash(void);
Suite *suite_match(void);
Suite *suite_dsa(void);
Suite *suite_emit(void);
Suite *suite_huffman(void);
Suite *suite_crc32(void);

/* A fresh temporary directory for a test (mkdtemp under $TMPDIR or /tmp);
   the caller removes it with rm_rf. Returns a static-lifetime-free string the
   caller frees. */
char *test_tmpdir(void);
void rm_rf(const char *path);
#endif
