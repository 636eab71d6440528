/* check_encfile.c - placeholder until the encfile module lands. */
#include "tests.h"
Suite *suite_encfile(void) { return suite_create("encfile"); }
