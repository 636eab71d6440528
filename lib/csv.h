/* csv.h - private. */
#ifndef BL_CSV_H
#define BL_CSV_H
#include "bloomlink.h"
#endif
