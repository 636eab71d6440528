/* block.h - private. */
#ifndef BL_BLOCK_H
#define BL_BLOCK_H
#include "bloomlink.h"
#endif
