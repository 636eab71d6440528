/* csv.h - private limits and test hooks of the streaming CSV reader. */
#ifndef BL_CSV_H
#define BL_CSV_H
#include <stddef.h>

#include "bloomlink.h"

/* Hostile input must not exhaust memory: one record (all field bytes plus a
   NUL per field) and its field count are capped.  Exceeding either fails with
   BL_EPARSE "record too long". */
#define BL_CSV_MAX_RECORD_BYTES ((size_t)16 << 20)
#define BL_CSV_MAX_FIELDS ((size_t)100000)

/* Bytes the reader currently holds for input, record text and field
   pointers (not zlib's own buffers), so tests can check that memory follows
   the longest record rather than the file. */
size_t bl_csv_debug_footprint(const bl_csv_reader *r);

#endif
