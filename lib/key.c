/* key.c - under construction. */
#include "config.h"
