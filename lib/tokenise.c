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

static bl_status qgrams(const bl_schema_field *f, const char *value, bl_tokens *t, bl_error *err)
{
    char padded[512];
    size_t n = 0;
    int pad = f->padding ? f->q - 1 : 0;
    for (int i = 0; i < pad; i++)
        padded[n++] = '_';
    for (const char *p = value; *p; p++) {
        if (f->type == BL_FIELD_POSTCODE && *p == ' ')
            continue;
        if (n + (size_t)pad + 1 >= sizeof padded)
            return bl_fail(err, BL_EINVALID, "value too long to tokenise");
        padded[n++] = *p;
    }
    for (int i = 0; i < pad; i++)
        padded[n++] = '_';
    if (n < (size_t)f->q) /* shorter than one q-gram: the value is its own token */
        return add(t, padded, n) ? bl_fail(err, BL_EINVALID, "too many tokens") : BL_OK;
    for (size_t i = 0; i + (size_t)f->q <= n; i++) {
        char tok[32];
        size_t len = (size_t)f->q;
        memcpy(tok, padded + i, len);
        if (f->positional)
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
