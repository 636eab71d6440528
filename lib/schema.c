/* schema.c - under construction. */
#include "config.h"
