/* synth_names.h - private. */
#ifndef BL_SYNTH_NAMES_H
#define BL_SYNTH_NAMES_H
#include "bloomlink.h"
#endif
