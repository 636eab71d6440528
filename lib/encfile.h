/* encfile.h - private. */
#ifndef BL_ENCFILE_H
#define BL_ENCFILE_H
#include "bloomlink.h"
#endif
