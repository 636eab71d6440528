/* profile.h - private. */
#ifndef BL_PROFILE_H
#define BL_PROFILE_H
#include "bloomlink.h"
#endif
