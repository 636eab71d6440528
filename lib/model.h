/* model.h - private. */
#ifndef BL_MODEL_H
#define BL_MODEL_H
#include "bloomlink.h"
#endif
