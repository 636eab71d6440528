/* model.c - under construction. */
#include "config.h"
