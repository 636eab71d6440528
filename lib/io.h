/* io.h - safe file output (temp file + fsync + rename) and whole-file reads. */
#ifndef BL_IO_H
#define BL_IO_H
#include <stdint.h>
#include <stdio.h>

#include "bloomlink.h"

/*
 * An output that appears atomically.  bl_atomic_open creates a random-named
 * temp file (mode 0600, O_EXCL) in the destination's directory; commit
 * flushes, fsyncs, closes, renames over the destination and fsyncs the
 * directory; abort (or any failure in commit) removes the temp file.  A file
 * is never left half-written under the destination name.  Once a file has
 * grown past a few MiB, a helper thread fdatasyncs it in the background
 * so that commit has little left to wait for (io.c, request_sync).
 */
typedef struct bl_atomic_file bl_atomic_file;

bl_status bl_atomic_open(const char *path, bl_atomic_file **out, bl_error *err);
/* The stream to write to (owned by the atomic file). */
FILE *bl_atomic_stream(bl_atomic_file *f);
/* Destination path (borrowed). */
const char *bl_atomic_path(const bl_atomic_file *f);
bl_status bl_atomic_commit(bl_atomic_file *f, bl_error *err);
/* Discard: close and unlink the temp file, free f.  NULL is a no-op. */
void bl_atomic_abort(bl_atomic_file *f);
/* Test hook: writes fail with ENOSPC once more than `bytes` were written. */
void bl_atomic_inject_enospc(bl_atomic_file *f, uint64_t bytes);
/* Write n bytes, failing with the path and errno text. */
bl_status bl_atomic_write(bl_atomic_file *f, const void *p, size_t n, bl_error *err);
bl_status bl_atomic_printf(bl_atomic_file *f, bl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Read a whole (small) file: *data is owned (free()), NUL-terminated. */
bl_status bl_read_file(const char *path, size_t max_bytes, char **data, size_t *len, bl_error *err);

/* Write `len` bytes to path atomically. */
bl_status bl_write_file_atomic(const char *path, const void *data, size_t len, bl_error *err);

/* Write a CSV field to f, quoting it when it holds a separator, quote, CR or LF. */
bl_status bl_csv_write_field(bl_atomic_file *f, const char *s, int last, bl_error *err);
/* n fields in one call, as n calls of bl_csv_write_field (the last one's
   `last` is the argument; NULL writes an empty field). */
bl_status bl_csv_write_fields(bl_atomic_file *f, const char *const *fields, size_t n, int last,
                              bl_error *err);

/* Hex encode n bytes into out (2n+1 bytes). */
void bl_hex(const uint8_t *in, size_t n, char *out);
/* Decode exactly n bytes of hex; 0 on success. */
int bl_unhex(const char *in, uint8_t *out, size_t n);
/* SHA-256 of a file, hex (65 bytes). */
bl_status bl_sha256_file(const char *path, char *hex65, bl_error *err);
#endif
