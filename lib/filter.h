/* filter.h - private. */
#ifndef BL_FILTER_H
#define BL_FILTER_H
#include "bloomlink.h"
#endif
