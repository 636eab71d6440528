/* check_schema.c - placeholder until the schema module lands. */
#include "tests.h"
Suite *suite_schema(void) { return suite_create("schema"); }
