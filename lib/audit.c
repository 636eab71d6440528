/* audit.c - under construction. */
#include "config.h"
