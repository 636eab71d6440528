/* check_emit.c - placeholder until the emit module lands. */
#include "tests.h"
Suite *suite_emit(void) { return suite_create("emit"); }
