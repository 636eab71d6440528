/* check_clkhash.c - placeholder until the clkhash module lands. */
#include "tests.h"
Suite *suite_clkhash(void) { return suite_create("clkhash"); }
