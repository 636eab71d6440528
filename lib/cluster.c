/* cluster.c - under construction. */
#include "config.h"
