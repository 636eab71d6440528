/* report.h - private. */
#ifndef BL_REPORT_H
#define BL_REPORT_H
#include "bloomlink.h"
#endif
