/* audit.h - private. */
#ifndef BL_AUDIT_H
#define BL_AUDIT_H
#include "bloomlink.h"
#endif
