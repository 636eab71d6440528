/* key.h - private. */
#ifndef BL_KEY_H
#define BL_KEY_H
#include "bloomlink.h"
#endif
