/* clkhash.h - private. */
#ifndef BL_CLKHASH_H
#define BL_CLKHASH_H
#include "bloomlink.h"
#endif
