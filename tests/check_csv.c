/* check_csv.c - placeholder until the csv module lands. */
#include "tests.h"
Suite *suite_csv(void) { return suite_create("csv"); }
