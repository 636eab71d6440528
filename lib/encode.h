/* encode.h - private. */
#ifndef BL_ENCODE_H
#define BL_ENCODE_H
#include "bloomlink.h"
#endif
