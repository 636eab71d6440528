/* dsa.h - private. */
#ifndef BL_DSA_H
#define BL_DSA_H
#include "bloomlink.h"
#endif
