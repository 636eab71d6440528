/* match.h - private. */
#ifndef BL_MATCH_H
#define BL_MATCH_H
#include "bloomlink.h"
#endif
