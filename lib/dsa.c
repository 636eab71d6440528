/* dsa.c - under construction. */
#include "config.h"
