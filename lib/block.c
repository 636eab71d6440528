/* block.c - under construction. */
#include "config.h"
