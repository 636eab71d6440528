/* schema.h - private. */
#ifndef BL_SCHEMA_H
#define BL_SCHEMA_H
#include "bloomlink.h"
#endif
