/* filter.c - under construction: the filter helper replaces these stubs. */
#include "config.h"

#include "error.h"

bl_status bl_set_kernel(bl_kernel k, bl_error *err)
{
    (void)k;
    return bl_fail(err, BL_EUNSUPPORTED, "kernels not built yet");
}
