/* encfile.c - under construction. */
#include "config.h"
