/* tokenise.c - under construction. */
#include "config.h"
