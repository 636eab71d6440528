/* synth.c - under construction. */
#include "config.h"
