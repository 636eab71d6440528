/* check_match.c - placeholder until the match module lands. */
#include "tests.h"
Suite *suite_match(void) { return suite_create("match"); }
