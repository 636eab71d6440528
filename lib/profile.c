/* profile.c - under construction. */
#include "config.h"
