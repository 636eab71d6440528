/* check_encode.c - placeholder until the encode module lands. */
#include "tests.h"
Suite *suite_encode(void) { return suite_create("encode"); }
