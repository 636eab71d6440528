/* encode.h - the data holder's encoder (private parts). */
#ifndef BL_ENCODE_H
#define BL_ENCODE_H
#include <stdint.h>

#include "bloomlink.h"
#include "schema.h"

/* One encoded record's storage; views point into it. */
typedef struct bl_record_buf {
    bl_record_view view;
    const uint64_t *field_ptrs[BL_MAX_FIELDS];
    uint64_t keys[BL_MAX_BLOCKING_KEYS];
    uint8_t token[BL_TOKEN_BYTES];
    uint64_t *words; /* all field filters then the CLK, contiguous */
    size_t nwords;
} bl_record_buf;

/* Layout of the schema as an encoding file describes it (arrays owned by the
   caller's struct below). */
typedef struct bl_schema_layout {
    bl_encfile_layout layout;
    const char *field_names[BL_MAX_FIELDS];
    uint32_t field_bits[BL_MAX_FIELDS];
    uint8_t field_types[BL_MAX_FIELDS];
    const char *swap_groups[BL_MAX_FIELDS];
    uint8_t salted[BL_MAX_FIELDS];
    const char *key_names[BL_MAX_BLOCKING_KEYS];
} bl_schema_layout;

void bl_schema_layout_of(const bl_schema *schema, bl_schema_layout *out);

/* Test hook: the encoding file's writer fails with ENOSPC after `bytes`. */
void bl_encoder_inject_enospc(bl_encoder *enc, uint64_t bytes);
/* Date against which birth dates count as "future" and ages are computed
   (YYYYMMDD; default today). */
void bl_encoder_set_today(bl_encoder *enc, long yyyymmdd);
#endif
