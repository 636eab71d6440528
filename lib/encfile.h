/* encfile.h - the .ble encoding file (private parts); format in docs/ble-format.md. */
#ifndef BL_ENCFILE_H
#define BL_ENCFILE_H
#include <stdint.h>

#include "bloomlink.h"

#define BL_BLE_MAGIC "\x89" "BLE\r\n\x1a\n"
#define BL_BLE_MAJOR 1
#define BL_BLE_MINOR 1 /* 1.1: optional swap_group per field */
#define BL_BLE_BLOCK_RECORDS 4096
#define BL_BLE_RECORD_HEAD 24 /* token 16, present 4, sex 1, age band 1, reserved 2 */
#define BL_BLE_TRAILER_BYTES 32

/* Test hook: the writer's output fails with ENOSPC after `bytes`. */
void bl_encfile_writer_inject_enospc(bl_encfile_writer *w, uint64_t bytes);
/* Bytes of one record for a layout. */
size_t bl_encfile_record_bytes(const bl_encfile_layout *layout);
#endif
