/* emit.h - private. */
#ifndef BL_EMIT_H
#define BL_EMIT_H
#include "bloomlink.h"
#endif
