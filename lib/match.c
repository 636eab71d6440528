/* match.c - under construction. */
#include "config.h"
