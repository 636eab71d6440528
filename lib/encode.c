/* encode.c - under construction. */
#include "config.h"
