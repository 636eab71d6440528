/* check_normalise.c - placeholder until the normalise module lands. */
#include "tests.h"
Suite *suite_normalise(void) { return suite_create("normalise"); }
