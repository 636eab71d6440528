/* tokenise.h - private. */
#ifndef BL_TOKENISE_H
#define BL_TOKENISE_H
#include "bloomlink.h"
#endif
