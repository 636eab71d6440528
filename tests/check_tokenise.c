/* check_tokenise.c - placeholder until the tokenise module lands. */
#include "tests.h"
Suite *suite_tokenise(void) { return suite_create("tokenise"); }
