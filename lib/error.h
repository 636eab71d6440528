/* error.h - private helpers for filling bl_error (first error wins). */
#ifndef BL_ERROR_H
#define BL_ERROR_H

#include "bloomlink.h"

#if defined(__GNUC__)
#define BL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define BL_PRINTF(f, a)
#endif

/* Set code and message unless err already holds an error; returns code. */
bl_status bl_fail(bl_error *err, bl_status code, const char *fmt, ...) BL_PRINTF(3, 4);
/* As bl_fail, with a location; source/field may be NULL, line/column -1. */
bl_status bl_fail_at(bl_error *err, bl_status code, const char *source, long line, long column,
                     const char *field, const char *fmt, ...) BL_PRINTF(7, 8);
/* Fill location parts that are still unset (an outer layer knows the file). */
void bl_error_locate(bl_error *err, const char *source, long line, long column, const char *field);
void bl_error_set_record(bl_error *err, long long record);
/* Copy and clear OpenSSL's per-thread error queue into the message. */
bl_status bl_fail_openssl(bl_error *err, const char *what);
/* Copy err's message into an existing error (used when a helper used a local). */
void bl_error_copy(bl_error *dst, const bl_error *src);

/* Live-handle accounting for leak tests (atomic counter, not state that
   changes behaviour). */
void bl_handle_created(void);
void bl_handle_destroyed(void);

#endif
