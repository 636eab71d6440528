/* filter_avx2.c */
#include "config.h"
