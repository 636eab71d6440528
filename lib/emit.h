/* emit.h - the longitudinal dataset emitter (private). */
#ifndef BL_EMIT_H
#define BL_EMIT_H
#include <stddef.h>

#include "bloomlink.h"

/* A growable string for building SQL and reports. */
typedef struct bl_sb {
    char *s;
    size_t len, cap;
    int oom;
} bl_sb;

void bl_sb_printf(bl_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bl_sb_free(bl_sb *b);

/* Pseudonym from raw project key bytes (bl_pseudonym without a bl_key). */
bl_status bl_pseudonym_raw(const uint8_t *key, size_t key_len, const char *project_id,
                           const char *entity_id, char *hex33, bl_error *err);
#endif
