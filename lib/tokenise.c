/* tokenise.c - q-grams and date tokens. */
#include "config.h"

#include "tokenise.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

static int add(bl_tokens *t, const char *s, size_t n)
{
    size_t used = t->n ? (size_t)t->off[t->n - 1] + t->len[t->n - 1] : 0;
    if (t->n >= BL_MAX_TOKENS || used + n > BL_TOKEN_BUF || n > 255)
        return -1;
    memcpy(t->buf + used, s, n);
    t->off[t->n] = (uint16_t)used;
    t->len[t->n] = (uint8_t)n;
    t->n++;
    return 0;
}

/* The value padded with q-1 '_' at both ends (postcodes lose their
   spaces) into out; its length, or TOO_LONG beyond BL_QGRAM_INPUT_MAX. */
#define TOO_LONG ((size_t)-1)
#define BL_QGRAM_INPUT_MAX 511
static size_t pad_value(const bl_schema_field *f, const char *value, char *out)
{
    size_t n = 0;
    int pad = f->padding ? f->q - 1 : 0;
    for (int i = 0; i < pad; i++)
        out[n++] = '_';
    for (const char *p = value; *p; p++) {
        if (f->type == BL_FIELD_POSTCODE && *p == ' ')
            continue;
        if (n + (size_t)pad + 1 > BL_QGRAM_INPUT_MAX)
            return TOO_LONG;
        out[n++] = *p;
    }
    for (int i = 0; i < pad; i++)
        out[n++] = '_';
    return n;
}

static bl_status qgrams(const bl_schema_field *f, const char *value, bl_tokens *t, bl_error *err)
{
    /* Plain q-grams are windows onto the padded value, which is written into
       the token buffer once: the encoder takes about forty per record, and
       copying each one out cost as much as hashing the cached ones. */
    char positional_buf[BL_QGRAM_INPUT_MAX + 1];
    char *padded = f->positional ? positional_buf : t->buf;
    _Static_assert(BL_TOKEN_BUF > BL_QGRAM_INPUT_MAX, "the padded value must fit the token buffer");
    size_t n = pad_value(f, value, padded);
    if (n == TOO_LONG)
        return bl_fail(err, BL_EINVALID, "value too long to tokenise");
    size_t q = (size_t)f->q;
    if (n < q) { /* shorter than one q-gram: the value is its own token */
        if (f->positional)
            return add(t, padded, n) ? bl_fail(err, BL_EINVALID, "too many tokens") : BL_OK;
        t->off[0] = 0;
        t->len[0] = (uint8_t)n;
        t->n = 1;
        return BL_OK;
    }
    if (!f->positional) {
        size_t count = n - q + 1;
        if (count > BL_MAX_TOKENS || q > 255)
            return bl_fail(err, BL_EINVALID, "value has too many tokens (at most %d)",
                           BL_MAX_TOKENS);
        for (size_t i = 0; i < count; i++) {
            t->off[i] = (uint16_t)i;
            t->len[i] = (uint8_t)q;
        }
        t->n = (int)count;
        return BL_OK;
    }
    for (size_t i = 0; i + q <= n; i++) {
        char tok[32];
        size_t len = q;
        memcpy(tok, padded + i, len);
        len += (size_t)snprintf(tok + len, sizeof tok - len, "@%zu", i);
        if (add(t, tok, len))
            return bl_fail(err, BL_EINVALID, "value has too many tokens (at most %d)", BL_MAX_TOKENS);
    }
    return BL_OK;
}

static bl_status date_tokens(const char *v, bl_tokens *t, bl_error *err)
{
    if (strlen(v) != 8)
        return bl_fail(err, BL_EMISUSE, "date not normalised to YYYYMMDD");
    char tok[8];
    tok[0] = 'Y';
    memcpy(tok + 1, v, 4);
    add(t, tok, 5);
    tok[0] = 'M';
    memcpy(tok + 1, v + 4, 2);
    add(t, tok, 3);
    tok[0] = 'D';
    memcpy(tok + 1, v + 6, 2);
    add(t, tok, 3);
    const char *mm = v + 4, *dd = v + 6;
    const char *lo = memcmp(mm, dd, 2) <= 0 ? mm : dd, *hi = lo == mm ? dd : mm;
    tok[0] = 'X';
    memcpy(tok + 1, lo, 2);
    memcpy(tok + 3, hi, 2);
    add(t, tok, 5);
    return BL_OK;
}

bl_status bl_tokenise(const bl_schema_field *field, const char *value, bl_tokens *out,
                      bl_error *err)
{
    out->n = 0;
    if (!value || !*value)
        return bl_fail(err, BL_EMISUSE, "missing values are not tokenised");
    switch (field->type) {
    case BL_FIELD_DATE:
        return date_tokens(value, out, err);
    case BL_FIELD_SEX:
        return add(out, value, strlen(value)) ? bl_fail(err, BL_EINVALID, "sex code too long") : BL_OK;
    case BL_FIELD_IDENTITY: /* one token, so only equal values share bits */
        return add(out, value, strlen(value)) ? bl_fail(err, BL_EINVALID, "identity value too long")
                                              : BL_OK;
    case BL_FIELD_NAME:
    case BL_FIELD_TEXT:
    case BL_FIELD_POSTCODE:
    case BL_FIELD_NHS_NUMBER:
        return qgrams(field, value, out, err);
    }
    return bl_fail(err, BL_EMISUSE, "unknown field type");
}
