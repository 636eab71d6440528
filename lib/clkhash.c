/* clkhash.c - under construction. */
#include "config.h"
