/* emit.c - under construction. */
#include "config.h"
