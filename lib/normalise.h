/* normalise.h - private. */
#ifndef BL_NORMALISE_H
#define BL_NORMALISE_H
#include "bloomlink.h"
#endif
