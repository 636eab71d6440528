/* report.c - under construction. */
#include "config.h"
