/* cluster.h - private. */
#ifndef BL_CLUSTER_H
#define BL_CLUSTER_H
#include "bloomlink.h"
#endif
