/* synth.h - private. */
#ifndef BL_SYNTH_H
#define BL_SYNTH_H
#include "bloomlink.h"
#endif
