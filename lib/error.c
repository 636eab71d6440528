/* error.c - status texts and the first-error-wins error record. */
#include "config.h"

#include "error.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_long live_handles;

const char *bl_version_string(void) { return BL_VERSION_STRING; }
unsigned bl_version_number(void) { return BL_VERSION_HEX; }

void bl_handle_created(void) { atomic_fetch_add(&live_handles, 1); }
void bl_handle_destroyed(void) { atomic_fetch_sub(&live_handles, 1); }
long bl_debug_live_handles(void) { return atomic_load(&live_handles); }

void bl_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

void bl_error_clear(bl_error *err)
{
    if (!err)
        return;
    /* Field by field rather than memset: the encoder clears a local error per
       value, and 700 bytes of memset per field showed up in profiles. */
    err->code = 0;
    err->source[0] = err->field[0] = err->text[0] = '\0';
    err->line = err->column = -1;
    err->record = err->position = -1;
}

const char *bl_strerror(bl_status status)
{
    switch (status) {
    case BL_OK: return "success";
    case BL_ENOMEM: return "out of memory";
    case BL_EIO: return "input/output error";
    case BL_EPARSE: return "malformed input";
    case BL_ESCHEMA: return "invalid schema or configuration";
    case BL_EKEY: return "unusable key";
    case BL_EFORMAT: return "not a bloomlink file or unsupported version";
    case BL_ECHECKSUM: return "checksum mismatch or truncated file";
    case BL_EMISMATCH: return "inputs do not match";
    case BL_EMISUSE: return "library misuse";
    case BL_ECRYPTO: return "cryptographic library failure";
    case BL_ENOTFOUND: return "not found";
    case BL_EUNSUPPORTED: return "not supported";
    case BL_EINVALID: return "invalid value";
    case BL_EEXPIRED: return "expired";
    case BL_ESIGNATURE: return "missing or invalid signature";
    case BL_EPOLICY: return "refused by the data-sharing agreement";
    case BL_EEXISTS: return "output already exists";
    case BL_ECANCELLED: return "cancelled";
    }
    return "unknown status";
}

/* A zeroed struct (code 0, numbers 0) counts as "no location yet" too, so that
   callers who memset instead of bl_error_clear still get sensible output. */
static int unset(long long v) { return v <= 0; }

static void set_text(bl_error *err, const char *fmt, va_list ap)
{
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    size_t n = strlen(err->text);
    while (n && (err->text[n - 1] == '\n' || err->text[n - 1] == '\r'))
        err->text[--n] = '\0';
}

bl_status bl_fail(bl_error *err, bl_status code, const char *fmt, ...)
{
    if (!err || err->code != 0)
        return code;
    long long rec = err->record, pos = err->position;
    long line = err->line, col = err->column;
    err->code = (int)code;
    err->line = unset(line) ? -1 : line;
    err->column = unset(col) ? -1 : col;
    err->record = unset(rec) ? -1 : rec;
    err->position = pos < 0 ? -1 : pos;
    va_list ap;
    va_start(ap, fmt);
    set_text(err, fmt, ap);
    va_end(ap);
    return code;
}

bl_status bl_fail_at(bl_error *err, bl_status code, const char *source, long line, long column,
                     const char *field, const char *fmt, ...)
{
    if (!err || err->code != 0)
        return code;
    err->code = (int)code;
    err->line = line;
    err->column = column;
    if (unset(err->record))
        err->record = -1;
    if (err->position < 0 || err->position == 0)
        err->position = -1;
    err->source[0] = err->field[0] = '\0';
    if (source)
        snprintf(err->source, sizeof err->source, "%s", source);
    if (field)
        snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    set_text(err, fmt, ap);
    va_end(ap);
    return code;
}

void bl_error_locate(bl_error *err, const char *source, long line, long column, const char *field)
{
    if (!err || err->code == 0)
        return;
    if (source && !err->source[0])
        snprintf(err->source, sizeof err->source, "%s", source);
    if (line > 0 && unset(err->line))
        err->line = line;
    if (column > 0 && unset(err->column))
        err->column = column;
    if (field && !err->field[0])
        snprintf(err->field, sizeof err->field, "%s", field);
}

void bl_error_set_record(bl_error *err, long long record)
{
    if (err && err->code != 0 && unset(err->record))
        err->record = record;
}

void bl_error_copy(bl_error *dst, const bl_error *src)
{
    if (dst && src && dst->code == 0 && src->code != 0)
        *dst = *src;
}

static int collect_openssl(const char *str, size_t len, void *u)
{
    char *buf = u;
    size_t used = strlen(buf);
    if (used + 3 < 200)
        snprintf(buf + used, 200 - used, "%s%.*s", used ? "; " : "", (int)len, str);
    return 1;
}

bl_status bl_fail_openssl(bl_error *err, const char *what)
{
    char detail[200] = "";
    ERR_print_errors_cb(collect_openssl, detail);
    ERR_clear_error();
    size_t n = strlen(detail);
    while (n && detail[n - 1] == '\n')
        detail[--n] = '\0';
    return bl_fail(err, BL_ECRYPTO, "%s failed%s%s", what, n ? ": " : "", detail);
}

static void append(char *buf, size_t size, size_t *used, const char *fmt, ...) BL_PRINTF(4, 5);
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    if (*used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    if (w > 0)
        *used += (size_t)w < size - *used ? (size_t)w : size - *used - 1;
}

char *bl_error_format(const bl_error *err, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    buf[0] = '\0';
    if (!err)
        return buf;
    size_t used = 0;
    if (err->source[0]) {
        append(buf, size, &used, "%s:", err->source);
        if (err->line > 0) {
            append(buf, size, &used, "%ld:", err->line);
            if (err->column > 0)
                append(buf, size, &used, "%ld:", err->column);
        }
        append(buf, size, &used, " ");
    }
    if (err->record > 0 && err->line <= 0)
        append(buf, size, &used, "record %lld: ", err->record);
    if (err->field[0])
        append(buf, size, &used, "field '%s': ", err->field);
    append(buf, size, &used, "%s", err->text[0] ? err->text : bl_strerror((bl_status)err->code));
    return buf;
}
