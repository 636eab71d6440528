/* linkmap.c - under construction. */
#include "config.h"
