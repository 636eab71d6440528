/* synth_names.c - under construction. */
#include "config.h"
