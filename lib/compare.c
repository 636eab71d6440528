/* compare.c - under construction. */
#include "config.h"
