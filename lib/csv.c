/* csv.c - under construction. */
#include "config.h"
