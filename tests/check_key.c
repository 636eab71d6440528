/* check_key.c - placeholder until the key module lands. */
#include "tests.h"
Suite *suite_key(void) { return suite_create("key"); }
