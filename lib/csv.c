/*
 * csv.c - streaming RFC 4180 reader over zlib's gz* interface.
 *
 * Reading goes through gzdopen/gzread, which decompresses .gz input and
 * passes plain files through unchanged, so one code path serves both.  Input
 * arrives in fixed chunks; only the current record is kept, so memory follows
 * the longest record, never the file (and records are capped, see csv.h).
 *
 * Dialect, beyond RFC 4180:
 * - Records end at LF, CR LF or a bare CR (old Mac exports), outside quotes.
 *   Inside quotes all three are kept verbatim as field text.
 * - Blank lines (no bytes at all between two line ends) are skipped wherever
 *   they appear, so a trailing newline or a stray empty line in the middle is
 *   not a record.  A consequence: a one-column file cannot carry an empty
 *   value as an unquoted blank line; write it as "".
 * - A quote only opens a quoted field as the field's first byte (after the
 *   spaces skip_initial_space drops).  Elsewhere in an unquoted field it is
 *   an ordinary character (5'11" and similar survive in free text).
 * - After a closing quote only the separator, a line end or the end of input
 *   may follow; anything else is an error rather than a guess.
 * - A UTF-8 byte order mark at the very start is skipped.
 *
 * Errors are BL_EPARSE with source = path, line = the physical line on which
 * the record started (for an unterminated quote: the line where that quote
 * opened), column = the 1-based FIELD NUMBER (not a byte column: fields may
 * span lines) and field = "column N".  The message names the physical line
 * of the offending byte when it differs from the reported line.  err->record
 * is left for the caller, who knows whether a header counts.  After an error
 * the reader refuses further reads.
 */
#include "config.h"

#include "csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"

/* Large enough that gzread's per-call overhead vanishes, small enough to be
   irrelevant next to a record buffer. */
#define CHUNK_BYTES ((size_t)64 * 1024)
#define GZ_BUFFER_BYTES (128u * 1024u)

enum { C_EOF = -1, C_ERR = -2 };

/* How a field ended. */
enum field_end { END_SEP, END_LINE, END_EOF };

struct bl_csv_reader {
    gzFile gz;
    char *path;
    unsigned char sep;
    int skip_space;
    /* Bytes that interrupt the bulk copy of field text. */
    unsigned char stop_plain[256];
    unsigned char stop_quoted[256];

    unsigned char *in;
    size_t in_len, in_pos;
    long long in_offset; /* stream offset of in[0] */
    int at_eof;
    int started;         /* first chunk seen (BOM handled) */

    char *rec;           /* field texts, each NUL-terminated */
    size_t rec_len, rec_cap;
    size_t *starts;      /* offset of each field in rec (rec may move) */
    char **fields;       /* handed to the caller */
    size_t nfields, fields_cap;

    long line;           /* physical line of the next unread byte */
    long record_line;    /* line on which the record being read started */
    long last_line;      /* ... and of the last record returned */
    long long nrec;
    bl_status failed;    /* sticky: non-zero after any error */
};

static long long stream_pos(const bl_csv_reader *r)
{
    return r->in_offset + (long long)r->in_pos;
}

/* Every parse error goes through here so that location, sticky state and
   byte position are filled the same way. */
static bl_status parse_fail(bl_csv_reader *r, bl_error *err, bl_status code, long line,
                            size_t field_no, long long pos, const char *fmt, ...) BL_PRINTF(7, 8);
static bl_status parse_fail(bl_csv_reader *r, bl_error *err, bl_status code, long line,
                            size_t field_no, long long pos, const char *fmt, ...)
{
    r->failed = code;
    int fresh = err && err->code == 0;
    char msg[BL_ERROR_TEXT_LENGTH];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char field[32] = "";
    if (field_no > 0)
        snprintf(field, sizeof field, "column %zu", field_no);
    bl_fail_at(err, code, r->path, line, field_no > 0 ? (long)field_no : -1,
               field_no > 0 ? field : NULL, "%s", msg);
    if (fresh && pos >= 0)
        err->position = pos;
    return code;
}

/* " (on line N)" when the offending byte is not on the reported line. */
static void where(char *buf, size_t size, long reported, long actual)
{
    if (actual != reported)
        snprintf(buf, size, " (on line %ld)", actual);
    else
        buf[0] = '\0';
}

static bl_status read_fail(bl_csv_reader *r, bl_error *err, int saved_errno)
{
    int zerr = Z_OK;
    const char *msg = gzerror(r->gz, &zerr);
    if (zerr == Z_ERRNO)
        return parse_fail(r, err, BL_EIO, r->line, 0, -1, "read failed: %s",
                          strerror(saved_errno ? saved_errno : EIO));
    if (zerr == Z_MEM_ERROR)
        return parse_fail(r, err, BL_ENOMEM, r->line, 0, -1, "out of memory in zlib");
    /* zlib prefixes its message with the name it was opened under, which
       for gzdopen is "<fd:N>"; the path is in err->source already. */
    if (msg && msg[0] == '<') {
        const char *colon = strstr(msg, ">: ");
        if (colon)
            msg = colon + 3;
    }
    /* Corrupt or truncated compressed data: the input is malformed, not the
       disk. */
    return parse_fail(r, err, BL_EPARSE, r->line, 0, -1, "corrupt gzip data: %s",
                      msg && *msg ? msg : "unknown zlib error");
}

/* Load the next chunk.  Returns 1 with data, 0 at end of input, -1 on error. */
static int refill(bl_csv_reader *r, bl_error *err)
{
    if (r->at_eof)
        return 0;
    r->in_offset += (long long)r->in_len;
    r->in_len = r->in_pos = 0;
    errno = 0;
    int n = gzread(r->gz, r->in, (unsigned)CHUNK_BYTES);
    int saved = errno;
    if (n < 0) {
        read_fail(r, err, saved);
        return -1;
    }
    if (n == 0) {
        /* gzread reports a stream cut short only through gzerror. */
        int zerr = Z_OK;
        gzerror(r->gz, &zerr);
        if (zerr != Z_OK) {
            read_fail(r, err, saved);
            return -1;
        }
        r->at_eof = 1;
        return 0;
    }
    r->in_len = (size_t)n;
    if (!r->started) {
        r->started = 1;
        if (r->in_len >= 3 && r->in[0] == 0xEF && r->in[1] == 0xBB && r->in[2] == 0xBF)
            r->in_pos = 3;
        if (r->in_pos == r->in_len)
            return refill(r, err);
    }
    return 1;
}

static int peek(bl_csv_reader *r, bl_error *err)
{
    if (r->in_pos == r->in_len) {
        int rc = refill(r, err);
        if (rc <= 0)
            return rc == 0 ? C_EOF : C_ERR;
    }
    return r->in[r->in_pos];
}

static bl_status too_long(bl_csv_reader *r, bl_error *err, const char *what)
{
    return parse_fail(r, err, BL_EPARSE, r->record_line, r->nfields + 1, -1,
                      "record too long (more than %s)", what);
}

static bl_status reserve(bl_csv_reader *r, size_t extra, bl_error *err)
{
    /* +1 keeps room for the field's terminating NUL. */
    if (extra > BL_CSV_MAX_RECORD_BYTES - r->rec_len - 1)
        return too_long(r, err, "16 MiB");
    size_t need = r->rec_len + extra + 1;
    if (need <= r->rec_cap)
        return BL_OK;
    size_t cap = r->rec_cap ? r->rec_cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > BL_CSV_MAX_RECORD_BYTES)
        cap = BL_CSV_MAX_RECORD_BYTES;
    char *p = realloc(r->rec, cap);
    if (!p)
        return parse_fail(r, err, BL_ENOMEM, r->record_line, 0, -1, "out of memory");
    r->rec = p;
    r->rec_cap = cap;
    return BL_OK;
}

static bl_status append(bl_csv_reader *r, const void *p, size_t n, bl_error *err)
{
    bl_status st = reserve(r, n, err);
    if (st != BL_OK)
        return st;
    memcpy(r->rec + r->rec_len, p, n);
    r->rec_len += n;
    return BL_OK;
}

static bl_status begin_field(bl_csv_reader *r, bl_error *err)
{
    if (r->nfields == BL_CSV_MAX_FIELDS)
        return too_long(r, err, "100000 fields");
    if (r->nfields == r->fields_cap) {
        size_t cap = r->fields_cap ? r->fields_cap * 2 : 16;
        if (cap > BL_CSV_MAX_FIELDS)
            cap = BL_CSV_MAX_FIELDS;
        size_t *s = realloc(r->starts, cap * sizeof *s);
        if (!s)
            return parse_fail(r, err, BL_ENOMEM, r->record_line, 0, -1, "out of memory");
        r->starts = s;
        char **f = realloc(r->fields, cap * sizeof *f);
        if (!f)
            return parse_fail(r, err, BL_ENOMEM, r->record_line, 0, -1, "out of memory");
        r->fields = f;
        r->fields_cap = cap;
    }
    r->starts[r->nfields] = r->rec_len;
    /* An empty field appends nothing, yet end_field needs room for its NUL. */
    return reserve(r, 0, err);
}

/* Index of the first byte that does not start a well-formed UTF-8 sequence
   (overlong forms, surrogates and code points past U+10FFFF included), or n
   when the whole text is valid. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* Most identifiers are ASCII: skip eight bytes at a time. */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            i += 8;
        }
        if (i == n)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c == 0xE0)
            len = 3, lo = 0xA0;
        else if (c == 0xED)
            len = 3, hi = 0x9F;
        else if (c >= 0xE1 && c <= 0xEF)
            len = 3;
        else if (c == 0xF0)
            len = 4, lo = 0x90;
        else if (c == 0xF4)
            len = 4, hi = 0x8F;
        else if (c >= 0xF1 && c <= 0xF3)
            len = 4;
        else
            return i;
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += len;
    }
    return n;
}

static bl_status end_field(bl_csv_reader *r, bl_error *err)
{
    size_t start = r->starts[r->nfields];
    size_t len = r->rec_len - start;
    size_t bad = utf8_invalid_at((const unsigned char *)r->rec + start, len);
    if (bad != len)
        return parse_fail(r, err, BL_EPARSE, r->record_line, r->nfields + 1, -1,
                          "invalid UTF-8 at byte %zu of the field (0x%02X)", bad + 1,
                          (unsigned)(unsigned char)r->rec[start + bad]);
    /* begin_field and append leave room for this NUL. */
    r->rec[r->rec_len++] = '\0';
    r->nfields++;
    return BL_OK;
}

static bl_status nul_fail(bl_csv_reader *r, bl_error *err)
{
    char at[40];
    where(at, sizeof at, r->record_line, r->line);
    return parse_fail(r, err, BL_EPARSE, r->record_line, r->nfields + 1, stream_pos(r) - 1,
                      "NUL byte in field%s", at);
}

/* Consume the LF of a CR LF pair, if there is one; the CR is already gone. */
static bl_status after_cr(bl_csv_reader *r, int keep, bl_error *err)
{
    int c = peek(r, err);
    if (c == C_ERR)
        return r->failed;
    if (c == '\n') {
        r->in_pos++;
        if (keep)
            return append(r, "\n", 1, err);
    }
    return BL_OK;
}

static bl_status read_unquoted(bl_csv_reader *r, enum field_end *how, bl_error *err)
{
    for (;;) {
        if (r->in_pos == r->in_len) {
            int rc = refill(r, err);
            if (rc < 0)
                return r->failed;
            if (rc == 0) {
                *how = END_EOF;
                return BL_OK;
            }
        }
        const unsigned char *p = r->in + r->in_pos, *e = r->in + r->in_len, *q = p;
        while (q < e && !r->stop_plain[*q])
            q++;
        if (q > p) {
            bl_status st = append(r, p, (size_t)(q - p), err);
            if (st != BL_OK)
                return st;
            r->in_pos += (size_t)(q - p);
        }
        if (q == e)
            continue;
        unsigned char c = *q;
        r->in_pos++;
        if (c == r->sep) {
            *how = END_SEP;
            return BL_OK;
        }
        if (c == '\n' || c == '\r') {
            bl_status st = c == '\r' ? after_cr(r, 0, err) : BL_OK;
            r->line++;
            *how = END_LINE;
            return st;
        }
        return nul_fail(r, err);
    }
}

static bl_status read_quoted(bl_csv_reader *r, enum field_end *how, bl_error *err)
{
    long quote_line = r->line;
    r->in_pos++; /* the opening quote */
    for (;;) {
        if (r->in_pos == r->in_len) {
            int rc = refill(r, err);
            if (rc < 0)
                return r->failed;
            if (rc == 0) {
                char started[64] = "";
                if (quote_line != r->record_line)
                    snprintf(started, sizeof started, " (record starts on line %ld)",
                             r->record_line);
                return parse_fail(r, err, BL_EPARSE, quote_line, r->nfields + 1, -1,
                                  "unterminated quoted field: the quote opened here is never "
                                  "closed%s",
                                  started);
            }
        }
        const unsigned char *p = r->in + r->in_pos, *e = r->in + r->in_len, *q = p;
        while (q < e && !r->stop_quoted[*q])
            q++;
        if (q > p) {
            bl_status st = append(r, p, (size_t)(q - p), err);
            if (st != BL_OK)
                return st;
            r->in_pos += (size_t)(q - p);
        }
        if (q == e)
            continue;
        unsigned char c = *q;
        r->in_pos++;
        bl_status st = BL_OK;
        if (c == '"') {
            int n = peek(r, err);
            if (n == '"') {
                r->in_pos++;
                st = append(r, "\"", 1, err);
            } else {
                /* The closing quote: only a separator or a line end may follow. */
                if (n == C_ERR)
                    return r->failed;
                if (n == C_EOF) {
                    *how = END_EOF;
                    return BL_OK;
                }
                r->in_pos++;
                if (n == r->sep) {
                    *how = END_SEP;
                    return BL_OK;
                }
                if (n == '\n' || n == '\r') {
                    st = n == '\r' ? after_cr(r, 0, err) : BL_OK;
                    r->line++;
                    *how = END_LINE;
                    return st;
                }
                char at[40];
                where(at, sizeof at, r->record_line, r->line);
                char shown[16];
                if (n >= 0x21 && n < 0x7F)
                    snprintf(shown, sizeof shown, "'%c'", n);
                else
                    snprintf(shown, sizeof shown, "byte 0x%02X", (unsigned)n);
                return parse_fail(r, err, BL_EPARSE, r->record_line, r->nfields + 1,
                                  stream_pos(r) - 1,
                                  "%s after a closing quote; expected a separator or the end "
                                  "of the line%s",
                                  shown, at);
            }
        } else if (c == '\n') {
            st = append(r, "\n", 1, err);
            r->line++;
        } else if (c == '\r') {
            st = append(r, "\r", 1, err);
            if (st == BL_OK)
                st = after_cr(r, 1, err);
            r->line++;
        } else {
            return nul_fail(r, err);
        }
        if (st != BL_OK)
            return st;
    }
}

/* Skip blank lines; returns 1 when a record starts, 0 at end of input, -1 on
   error. */
static int skip_blank_lines(bl_csv_reader *r, bl_error *err)
{
    for (;;) {
        int c = peek(r, err);
        if (c == C_ERR)
            return -1;
        if (c == C_EOF)
            return 0;
        if (c != '\n' && c != '\r')
            return 1;
        r->in_pos++;
        if (c == '\r' && after_cr(r, 0, err) != BL_OK)
            return -1;
        r->line++;
    }
}

bl_status bl_csv_next(bl_csv_reader *r, char ***fields, size_t *nfields, bl_error *err)
{
    if (fields)
        *fields = NULL;
    if (nfields)
        *nfields = 0;
    if (!r || !fields || !nfields)
        return bl_fail(err, BL_EMISUSE, "bl_csv_next: NULL argument");
    if (r->failed)
        return bl_fail_at(err, r->failed, r->path, -1, -1, NULL,
                          "CSV reader stopped after an earlier error");
    r->rec_len = 0;
    r->nfields = 0;
    int more = skip_blank_lines(r, err);
    if (more < 0)
        return r->failed;
    if (more == 0)
        return BL_OK;
    r->record_line = r->line;
    for (;;) {
        bl_status st = begin_field(r, err);
        if (st != BL_OK)
            return st;
        if (r->skip_space && r->nfields > 0) {
            int c;
            while ((c = peek(r, err)) == ' ')
                r->in_pos++;
            if (c == C_ERR)
                return r->failed;
        }
        enum field_end how;
        int c = peek(r, err);
        if (c == C_ERR)
            return r->failed;
        st = c == '"' ? read_quoted(r, &how, err) : read_unquoted(r, &how, err);
        if (st == BL_OK)
            st = end_field(r, err);
        if (st != BL_OK)
            return st;
        if (how != END_SEP)
            break;
    }
    for (size_t i = 0; i < r->nfields; i++)
        r->fields[i] = r->rec + r->starts[i];
    r->last_line = r->record_line;
    r->nrec++;
    *fields = r->fields;
    *nfields = r->nfields;
    return BL_OK;
}

bl_status bl_csv_open(const char *path, char sep, int skip_initial_space, bl_csv_reader **out,
                      bl_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return bl_fail(err, BL_EMISUSE, "bl_csv_open: NULL argument");
    unsigned char s = (unsigned char)sep;
    /* A separator that is also a quote, line end, NUL or part of a UTF-8
       sequence would make the grammar ambiguous. */
    if (s == '"' || s == '\r' || s == '\n' || s == '\0' || s >= 0x80)
        return bl_fail(err, BL_EMISUSE, "bl_csv_open: unusable separator 0x%02X", (unsigned)s);

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "cannot open: %s", strerror(errno));
    struct stat st;
    int bad = fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (bad) {
        close(fd);
        return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "cannot read: %s", strerror(bad));
    }

    bl_csv_reader *r = calloc(1, sizeof *r);
    if (!r) {
        close(fd);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    r->path = strdup(path);
    r->in = malloc(CHUNK_BYTES);
    if (!r->path || !r->in) {
        close(fd);
        free(r->path);
        free(r->in);
        free(r);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    r->gz = gzdopen(fd, "rb");
    if (!r->gz) {
        /* gzdopen leaves the descriptor open when it fails. */
        close(fd);
        free(r->path);
        free(r->in);
        free(r);
        return bl_fail(err, BL_ENOMEM, "out of memory opening the zlib stream");
    }
    gzbuffer(r->gz, GZ_BUFFER_BYTES);
    r->sep = s;
    r->skip_space = skip_initial_space != 0;
    r->stop_plain[s] = r->stop_plain['\r'] = r->stop_plain['\n'] = r->stop_plain[0] = 1;
    r->stop_quoted['"'] = r->stop_quoted['\r'] = r->stop_quoted['\n'] = r->stop_quoted[0] = 1;
    r->line = 1;
    bl_handle_created();
    *out = r;
    return BL_OK;
}

long bl_csv_line(const bl_csv_reader *r) { return r ? r->last_line : 0; }

long long bl_csv_record(const bl_csv_reader *r) { return r ? r->nrec : 0; }

size_t bl_csv_debug_footprint(const bl_csv_reader *r)
{
    if (!r)
        return 0;
    return CHUNK_BYTES + r->rec_cap + r->fields_cap * (sizeof *r->starts + sizeof *r->fields);
}

void bl_csv_close(bl_csv_reader *r)
{
    if (!r)
        return;
    gzclose(r->gz);
    free(r->path);
    free(r->in);
    free(r->rec);
    free(r->starts);
    free(r->fields);
    free(r);
    bl_handle_destroyed();
}
