/* check_io.c - placeholder until the io module lands. */
#include "tests.h"
Suite *suite_io(void) { return suite_create("io"); }
