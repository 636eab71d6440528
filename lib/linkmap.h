/* linkmap.h - private. */
#ifndef BL_LINKMAP_H
#define BL_LINKMAP_H
#include "bloomlink.h"
#endif
