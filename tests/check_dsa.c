/* check_dsa.c - placeholder until the dsa module lands. */
#include "tests.h"
Suite *suite_dsa(void) { return suite_create("dsa"); }
