/* normalise.c - under construction. */
#include "config.h"
