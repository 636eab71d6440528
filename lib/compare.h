/* compare.h - private. */
#ifndef BL_COMPARE_H
#define BL_COMPARE_H
#include "bloomlink.h"
#endif
