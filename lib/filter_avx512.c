/* filter_avx512.c */
#include "config.h"
