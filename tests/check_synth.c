/* check_synth.c - placeholder until the synth module lands. */
#include "tests.h"
Suite *suite_synth(void) { return suite_create("synth"); }
