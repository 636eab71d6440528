/* check_filter.c - placeholder until the filter module lands. */
#include "tests.h"
Suite *suite_filter(void) { return suite_create("filter"); }
