/* normalise.c - canonical forms of identifiers before they are tokenised.
 *
 * Two values that denote the same person must normalise to the same bytes, or
 * the encodings disagree for reasons that have nothing to do with identity.
 * The rules here are therefore deliberately forgiving about form (case,
 * accents, spacing, punctuation, date layout) and strict about content
 * (calendar dates, postcode structure, NHS check digit): a wrong value that
 * looks valid would be worse than a missing one.
 *
 * Messages never echo names, postcodes or NHS numbers: error texts end up in
 * logs that are less protected than the extract itself.  Dates and sex codes
 * are echoed (shortened and made printable) because the format problem is
 * usually obvious from the value and a lone date identifies nobody.
 *
 * A NULL input counts as missing; a NULL or empty output buffer is BL_EMISUSE.
 */
#include "config.h"

#include "normalise.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "error.h"

/* ------------------------------------------------------------ ASCII helpers */

/* Locale-independent on purpose: <ctype.h> results depend on setlocale(),
   which an embedding program may have changed. */
static int a_upper(int c) { return c >= 'A' && c <= 'Z'; }
static int a_lower(int c) { return c >= 'a' && c <= 'z'; }
static int a_alpha(int c) { return a_upper(c) || a_lower(c); }
static int a_digit(int c) { return c >= '0' && c <= '9'; }
static int a_toupper(int c) { return a_lower(c) ? c - 'a' + 'A' : c; }
static int a_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Bytes of blank at p: ASCII whitespace, or U+00A0 (NBSP), which spreadsheets
   put into postcodes and NHS numbers. */
static size_t blank_len(const char *p)
{
    if (a_space((unsigned char)*p))
        return 1;
    if ((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0)
        return 2;
    return 0;
}

static bl_status check_out(char *out, size_t out_size, size_t need, const char *what,
                           bl_error *err)
{
    if (!out || out_size == 0)
        return bl_fail(err, BL_EMISUSE, "%s: no output buffer", what);
    out[0] = '\0';
    if (out_size < need)
        return bl_fail(err, BL_EMISUSE, "%s: output buffer of %zu bytes, need %zu", what,
                       out_size, need);
    return BL_OK;
}

/* A short printable copy of a value for an error message (dates, sex codes
   only).  Non-ASCII and control bytes become '?', so a message never holds a
   broken UTF-8 sequence or a newline. */
static const char *printable(const char *s, size_t n, char *buf, size_t size)
{
    size_t max = size - 4, i;
    for (i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (i < n) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

/* Trim ASCII whitespace: [*s, *e). */
static void trim(const char *in, const char **s, const char **e)
{
    const char *b = in, *f = in + strlen(in);
    while (b < f && a_space((unsigned char)*b))
        b++;
    while (f > b && a_space((unsigned char)f[-1]))
        f--;
    *s = b;
    *e = f;
}

/* ------------------------------------------------------------ word lists */

/* Names are tokenised into words first, because titles, particles and the
   given/family split are decisions about whole words.  Small inline buffers
   keep the common case free of malloc. */
enum { WF_UPPER = 1, WF_LOWER = 2 };

struct word {
    size_t off, len;
    unsigned flags; /* WF_*: the case of the raw letters, for full-name splits */
};

struct wordlist {
    char *text;
    size_t len, cap;
    struct word *w;
    size_t n, wcap;
    int in_word;
    char text0[128];
    struct word w0[16];
};

static void wl_init(struct wordlist *l)
{
    l->text = l->text0;
    l->cap = sizeof l->text0;
    l->len = 0;
    l->w = l->w0;
    l->wcap = sizeof l->w0 / sizeof l->w0[0];
    l->n = 0;
    l->in_word = 0;
}

static void wl_free(struct wordlist *l)
{
    if (l->text != l->text0)
        free(l->text);
    if (l->w != l->w0)
        free(l->w);
}

static int wl_grow_text(struct wordlist *l)
{
    if (l->cap > SIZE_MAX / 2)
        return -1;
    size_t ncap = l->cap * 2;
    char *p = l->text == l->text0 ? malloc(ncap) : realloc(l->text, ncap);
    if (!p)
        return -1;
    if (l->text == l->text0)
        memcpy(p, l->text0, l->len);
    l->text = p;
    l->cap = ncap;
    return 0;
}

static int wl_grow_words(struct wordlist *l)
{
    if (l->wcap > SIZE_MAX / 2 / sizeof *l->w)
        return -1;
    size_t ncap = l->wcap * 2;
    struct word *p = l->w == l->w0 ? malloc(ncap * sizeof *p) : realloc(l->w, ncap * sizeof *p);
    if (!p)
        return -1;
    if (l->w == l->w0)
        memcpy(p, l->w0, l->n * sizeof *p);
    l->w = p;
    l->wcap = ncap;
    return 0;
}

static int wl_putc(struct wordlist *l, char c, unsigned flags)
{
    if (!l->in_word) {
        if (l->n == l->wcap && wl_grow_words(l))
            return -1;
        l->w[l->n].off = l->len;
        l->w[l->n].len = 0;
        l->w[l->n].flags = 0;
        l->n++;
        l->in_word = 1;
    }
    if (l->len == l->cap && wl_grow_text(l))
        return -1;
    l->text[l->len++] = c;
    l->w[l->n - 1].len++;
    l->w[l->n - 1].flags |= flags;
    return 0;
}

/* Whether the n bytes at s are one of the words in list (NULL-terminated).
   The first letters are compared before any strlen: names are checked
   against the title, suffix and particle lists word by word. */
static int text_in(const char *s, size_t n, const char *const *list)
{
    if (n == 0)
        return 0; /* no list has an empty word */
    for (; *list; list++)
        if ((*list)[0] == s[0] && strlen(*list) == n && memcmp(s, *list, n) == 0)
            return 1;
    return 0;
}

static int word_in(const struct wordlist *l, size_t i, const char *const *list)
{
    return text_in(l->text + l->w[i].off, l->w[i].len, list);
}

static void wl_remove_front(struct wordlist *l, size_t k)
{
    memmove(l->w, l->w + k, (l->n - k) * sizeof *l->w);
    l->n -= k;
}

/* ------------------------------------------------------- character mapping */

/* Latin letters that Unicode gives no decomposition, so stripping marks
   leaves them alone.  Looked up after case folding, so lower case only. */
static const struct {
    int32_t cp;
    const char *ascii;
} extra_letters[] = {
    {0x00DF, "SS"}, /* sharp s (folding already gives "ss"; kept for safety) */
    {0x00E6, "AE"}, {0x00F0, "D"},  {0x00F8, "O"},  {0x00FE, "TH"}, {0x0111, "D"},
    {0x0127, "H"},  {0x0131, "I"},  {0x0138, "K"},  {0x0142, "L"},  {0x014B, "NG"},
    {0x0153, "OE"}, {0x0167, "T"},  {0x0180, "B"},  {0x0192, "F"},  {0x01E5, "G"},
    {0x0253, "B"},  {0x0256, "D"},  {0x0257, "D"},  {0x0259, "E"},  {0x025B, "E"},
    {0x0268, "I"},  {0x0272, "N"},  {0x0289, "U"},  {0x01B4, "Y"},  {0x0199, "K"},
};

static const char *extra_letter(int32_t cp)
{
    for (size_t i = 0; i < sizeof extra_letters / sizeof extra_letters[0]; i++)
        if (extra_letters[i].cp == cp)
            return extra_letters[i].ascii;
    return NULL;
}

/* Apostrophes and hyphens (and look-alikes that keyboards, word processors
   and OCR substitute) join the letters around them, so "O'Brien", "O’Brien",
   "O`Brien" and "OBrien" agree, and a double-barrelled name stays one word.
   The acute accent U+00B4 must be caught before decomposition, which would
   turn it into a space. */
static int is_joiner(int32_t cp)
{
    switch (cp) {
    case 0x0027: case 0x002D: case 0x0060: case 0x00AD: case 0x00B4: case 0x00B7:
    case 0x02B9: case 0x02BB: case 0x02BC: case 0x02BD: case 0x2018: case 0x2019:
    case 0x201B: case 0x2032: case 0x2212: case 0xFE63: case 0xFF07: case 0xFF0D:
        return 1;
    default:
        return cp >= 0x2010 && cp <= 0x2015;
    }
}

enum cclass { C_SEP, C_JOIN, C_LETTER, C_DIGIT, C_FOREIGN };

static enum cclass classify(int32_t cp)
{
    if (cp < 0x80) {
        if (a_alpha(cp))
            return C_LETTER;
        if (a_digit(cp))
            return C_DIGIT;
        return is_joiner(cp) ? C_JOIN : C_SEP;
    }
    if (extra_letter(cp))
        return C_LETTER;
    if (is_joiner(cp))
        return C_JOIN;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LO:
        return C_FOREIGN;
    /* Modifier letters and stray marks are diacritics in all but name. */
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return C_JOIN;
    default:
        return C_SEP;
    }
}

static unsigned case_flags(int32_t cp)
{
    if (cp < 0x80)
        return a_upper(cp) ? WF_UPPER : a_lower(cp) ? WF_LOWER : 0;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LT: return WF_UPPER;
    case UTF8PROC_CATEGORY_LL: return WF_LOWER;
    default: return 0;
    }
}

/* Compatibility decomposition (ligatures, full-width forms, NBSP), marks
   stripped, case folded, ignorable characters (zero-width space, soft hyphen)
   dropped, dashes and quotes lumped to their ASCII forms. */
#define FOLD_OPTIONS                                                                    \
    (UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |  \
     UTF8PROC_IGNORE | UTF8PROC_LUMP)

/* One folded code point into the word list: 0, -1 out of memory, 1 foreign. */
static int put_folded(struct wordlist *l, int32_t cp, unsigned flags, int keep_digits)
{
    const char *ex;
    switch (classify(cp)) {
    case C_LETTER:
        if ((ex = extra_letter(cp)) != NULL) {
            for (; *ex; ex++)
                if (wl_putc(l, *ex, flags))
                    return -1;
            return 0;
        }
        return wl_putc(l, (char)a_toupper(cp), flags);
    case C_DIGIT:
        if (keep_digits)
            return wl_putc(l, (char)cp, 0);
        l->in_word = 0;
        return 0;
    case C_JOIN:
        return 0;
    case C_FOREIGN:
        return 1;
    case C_SEP:
    default:
        l->in_word = 0;
        return 0;
    }
}

/*
 * Split `len` bytes of UTF-8 into words of A-Z (and 0-9 if keep_digits).
 * `what` names the field in messages ("name", "text"); the value never
 * appears in them, only the byte offset (plus `base`, where `in` starts in
 * the caller's value).
 */
static bl_status tokenise(const char *in, size_t len, size_t base, int keep_digits, int fast,
                          const char *what, struct wordlist *l, bl_error *err)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)in;
    size_t pos = 0;
    l->in_word = 0;
    while (pos < len) {
        if (fast && p[pos] < 0x80) {
            /* A byte below 0x80 is a whole character (utf8proc_iterate hands
               it back as it is), and these are put_folded's cases for it: no
               extra_letter is below U+00DF, and case_flags is the letter's
               case.  Saves the table scan and the calls on every letter. */
            int c = p[pos++], rc = 0;
            if (a_alpha(c))
                rc = wl_putc(l, (char)a_toupper(c), a_upper(c) ? WF_UPPER : WF_LOWER);
            else if (a_digit(c) && keep_digits)
                rc = wl_putc(l, (char)c, 0);
            else if (!is_joiner(c))
                l->in_word = 0;
            if (rc < 0)
                return bl_fail(err, BL_ENOMEM, "out of memory normalising a %s", what);
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + pos, (utf8proc_ssize_t)(len - pos), &cp);
        if (n <= 0)
            return bl_fail(err, BL_EINVALID, "%s is not valid UTF-8 (at byte %zu)", what,
                           base + pos);
        pos += (size_t)n;
        unsigned flags = case_flags(cp);
        int rc;
        if (cp < 0x80 || is_joiner(cp)) {
            rc = put_folded(l, cp, flags, keep_digits);
        } else {
            utf8proc_int32_t buf[32];
            int boundclass = 0;
            utf8proc_ssize_t m =
                utf8proc_decompose_char(cp, buf, (utf8proc_ssize_t)(sizeof buf / sizeof buf[0]),
                                        FOLD_OPTIONS, &boundclass);
            rc = 0;
            if (m < 0 || m > (utf8proc_ssize_t)(sizeof buf / sizeof buf[0]))
                rc = 1; /* no Unicode character decomposes this far; be safe */
            for (utf8proc_ssize_t i = 0; rc == 0 && i < m; i++)
                rc = put_folded(l, buf[i], flags, keep_digits);
        }
        if (rc < 0)
            return bl_fail(err, BL_ENOMEM, "out of memory normalising a %s", what);
        if (rc > 0)
            return bl_fail(err, BL_EINVALID,
                           "%s contains letters outside the Latin alphabet (at byte %zu)", what,
                           base + pos - (size_t)n);
    }
    return BL_OK;
}

/* Join words [from, to) with single spaces.  Never truncates: a cut-off
   identifier would silently disagree with its other copies. */
static bl_status emit(const struct wordlist *l, size_t from, size_t to, char *out,
                      size_t out_size, const char *what, bl_error *err)
{
    size_t need = 0;
    for (size_t i = from; i < to; i++)
        need += l->w[i].len + (i > from);
    out[0] = '\0';
    if (need >= out_size)
        return bl_fail(err, BL_EINVALID, "%s is too long (%zu characters, at most %zu)", what,
                       need, out_size - 1);
    char *o = out;
    for (size_t i = from; i < to; i++) {
        if (i > from)
            *o++ = ' ';
        memcpy(o, l->text + l->w[i].off, l->w[i].len);
        o += l->w[i].len;
    }
    *o = '\0';
    return BL_OK;
}

/* ------------------------------------------------------------------ names */

/* Titles lead a name and suffixes end it; only whole words in those places
   are dropped, so LORD, MASTER or LADY as a family name ("John Lord")
   survive.  REVD and ESQ are added to the usual lists as common in English
   records. */
static const char *const titles[] = {
    "MR", "MRS", "MS", "MISS", "MX", "DR", "PROF", "REV", "REVD", "SIR", "DAME", "LADY",
    "LORD", "MASTER", NULL,
};
static const char *const suffixes[] = {"JR", "JNR", "SR", "SNR", "II", "III", "ESQ", NULL};

/* Family-name particles kept in front of the last word ("Anna van der Berg").
   BEN and ST are left out: both are common given or middle names. */
static const char *const particles[] = {
    "VAN", "VON", "DER", "DEN", "DE", "DA", "DI", "DU", "DOS", "DAS", "DEL", "DELLA", "LA",
    "LE", "TER", "TEN", "AL", "EL", "BIN", "BINTI", "AP", "MAC", NULL,
};

/* At least one word always survives, so "Dr" alone stays "DR" rather than
   turning a present value into a missing one. */
static void drop_titles(struct wordlist *l)
{
    size_t k = 0;
    while (k + 1 < l->n && word_in(l, k, titles))
        k++;
    wl_remove_front(l, k);
    while (l->n > 1 && word_in(l, l->n - 1, suffixes))
        l->n--;
}

static bl_status name_words(const char *in, size_t len, size_t base, int keep_digits,
                            int titles_too, int fast, const char *what, struct wordlist *l,
                            bl_error *err)
{
    bl_status st = tokenise(in, len, base, keep_digits, fast, what, l, err);
    if (st == BL_OK && titles_too)
        drop_titles(l);
    return st;
}

/*
 * bl_normalise_name for a value that is all ASCII, as nearly every name in an
 * English extract is, written straight to out without utf8proc or a word
 * list.  Below 0x80 tokenise takes each byte as one code point and classify()
 * alone decides: a letter goes upper-cased into the current word, a joiner
 * (' - `) writes nothing and keeps the word going, anything else (digits too,
 * as names drop them) ends the word; emit then joins the words with single
 * spaces.  Returns 0 and leaves the value to the general path for any byte
 * >= 0x80, for a leading title or trailing suffix (drop_titles' business),
 * and when the result might not fit (the general path words that error).
 */
static int name_ascii(const char *in, char *out, size_t out_size)
{
    size_t o = 0, nwords = 0, first_len = 0, last_off = 0;
    int in_word = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        int c = *p;
        if (a_alpha(c)) {
            if (o + 3 > out_size) /* room for a space, the letter and the NUL */
                return 0;
            if (!in_word) {
                if (nwords++ > 0) {
                    if (nwords == 2)
                        first_len = o;
                    out[o++] = ' ';
                }
                last_off = o;
                in_word = 1;
            }
            out[o++] = (char)a_toupper(c);
        } else if (c >= 0x80) {
            return 0;
        } else if (!is_joiner(c)) {
            in_word = 0;
        }
    }
    if (nwords == 1)
        first_len = o;
    if (nwords > 1 && (text_in(out, first_len, titles) ||
                       text_in(out + last_off, o - last_off, suffixes)))
        return 0;
    out[o] = '\0';
    return 1;
}

static bl_status normalise_name(const char *in, char *out, size_t out_size, int fast,
                                bl_error *err)
{
    bl_status st = check_out(out, out_size, 1, "bl_normalise_name", err);
    if (st != BL_OK || !in)
        return st;
    if (fast && name_ascii(in, out, out_size))
        return BL_OK;
    out[0] = '\0'; /* whatever name_ascii left, the general path's errors leave "" */
    struct wordlist l;
    wl_init(&l);
    st = name_words(in, strlen(in), 0, 0, 1, fast, "name", &l, err);
    if (st == BL_OK)
        st = emit(&l, 0, l.n, out, out_size, "name", err);
    wl_free(&l);
    return st;
}

bl_status bl_normalise_name(const char *in, char *out, size_t out_size, bl_error *err)
{
    return normalise_name(in, out, out_size, 1, err);
}

bl_status bl_normalise_name_general(const char *in, char *out, size_t out_size, bl_error *err)
{
    return normalise_name(in, out, out_size, 0, err);
}

static bl_status normalise_text(const char *in, char *out, size_t out_size, int fast,
                                bl_error *err)
{
    bl_status st = check_out(out, out_size, 1, "bl_normalise_text", err);
    if (st != BL_OK || !in)
        return st;
    struct wordlist l;
    wl_init(&l);
    st = name_words(in, strlen(in), 0, 1, 0, fast, "text", &l, err);
    if (st == BL_OK)
        st = emit(&l, 0, l.n, out, out_size, "text", err);
    wl_free(&l);
    return st;
}

bl_status bl_normalise_text(const char *in, char *out, size_t out_size, bl_error *err)
{
    return normalise_text(in, out, out_size, 1, err);
}

bl_status bl_normalise_text_general(const char *in, char *out, size_t out_size, bl_error *err)
{
    return normalise_text(in, out, out_size, 0, err);
}

/* A word typed in capitals (two letters or more, so initials do not count)
   in a name that also has lower-case words: the "SMITH John" convention of
   many patient administration systems. */
static int is_caps(const struct word *w)
{
    return (w->flags & WF_UPPER) && !(w->flags & WF_LOWER) && w->len >= 2;
}

static size_t extend_particles(const struct wordlist *l, size_t from)
{
    while (from > 1 && word_in(l, from - 1, particles))
        from--;
    return from;
}

/*
 * Where the family name is in a name without a comma: [*ff, *ft), given
 * name at *g.  When the input mixes case, a run of capitalised words at the
 * start or end is the family name ("SMITH John", "John SMITH", "Anna van der
 * BERG").  Otherwise the last word is, with any particles before it.
 */
static void split_words(const struct wordlist *l, size_t *ff, size_t *ft, size_t *g)
{
    size_t n = l->n, k, i;
    int caps_rest = 0, lower_rest = 0;
    for (k = 0; k < n && is_caps(&l->w[k]); k++)
        ;
    for (i = k; i < n; i++) {
        caps_rest |= is_caps(&l->w[i]);
        lower_rest |= (l->w[i].flags & WF_LOWER) != 0;
    }
    if (k >= 1 && k < n && !caps_rest && lower_rest) {
        *ff = 0;
        *ft = k;
        *g = k;
        return;
    }
    for (k = n; k > 0 && is_caps(&l->w[k - 1]); k--)
        ;
    caps_rest = lower_rest = 0;
    for (i = 0; i < k; i++) {
        caps_rest |= is_caps(&l->w[i]);
        lower_rest |= (l->w[i].flags & WF_LOWER) != 0;
    }
    *g = 0;
    *ft = n;
    if (k >= 1 && k < n && !caps_rest && lower_rest)
        *ff = extend_particles(l, k);
    else
        *ff = extend_particles(l, n - 1);
}

static bl_status normalise_full_name(const char *in, char *given, size_t given_size,
                                     char *family, size_t family_size, int fast, bl_error *err)
{
    bl_status st = check_out(given, given_size, 1, "bl_normalise_full_name", err);
    if (st == BL_OK)
        st = check_out(family, family_size, 1, "bl_normalise_full_name", err);
    if (st != BL_OK || !in)
        return st;
    struct wordlist fam, giv;
    wl_init(&fam);
    wl_init(&giv);
    const char *comma = strchr(in, ',');
    if (comma) {
        /* "FAMILY, Given Middle": every word before the comma is family. */
        st = name_words(in, (size_t)(comma - in), 0, 0, 1, fast, "name", &fam, err);
        if (st == BL_OK)
            st = name_words(comma + 1, strlen(comma + 1), (size_t)(comma + 1 - in), 0, 1,
                            fast, "name", &giv, err);
        if (st == BL_OK)
            st = emit(&fam, 0, fam.n, family, family_size, "family name", err);
        if (st == BL_OK)
            st = emit(&giv, 0, giv.n ? 1 : 0, given, given_size, "given name", err);
    } else {
        st = name_words(in, strlen(in), 0, 0, 1, fast, "name", &fam, err);
        if (st == BL_OK && fam.n == 1) {
            /* One word: more often a surname-only record than a given name. */
            st = emit(&fam, 0, 1, family, family_size, "family name", err);
        } else if (st == BL_OK && fam.n > 1) {
            size_t ff, ft, g;
            split_words(&fam, &ff, &ft, &g);
            st = emit(&fam, ff, ft, family, family_size, "family name", err);
            if (st == BL_OK)
                st = emit(&fam, g, g + 1, given, given_size, "given name", err);
        }
    }
    if (st != BL_OK)
        given[0] = family[0] = '\0';
    wl_free(&fam);
    wl_free(&giv);
    return st;
}

bl_status bl_normalise_full_name(const char *in, char *given, size_t given_size, char *family,
                                 size_t family_size, bl_error *err)
{
    return normalise_full_name(in, given, given_size, family, family_size, 1, err);
}

bl_status bl_normalise_full_name_general(const char *in, char *given, size_t given_size,
                                         char *family, size_t family_size, bl_error *err)
{
    return normalise_full_name(in, given, given_size, family, family_size, 0, err);
}

/* ---------------------------------------------------------------- soundex */

void bl_soundex(const char *name, char out[BL_SOUNDEX_SIZE])
{
    /* '0' separates equal codes (vowels and Y); '-' (H, W) does not. */
    static const char codes[] = "0123012-02245501262301-202";
    size_t o = 0;
    char prev = 0;
    out[0] = '\0';
    if (!name)
        return;
    for (const char *p = name; *p && o < 4; p++) {
        int c = a_toupper((unsigned char)*p);
        if (!a_upper(c))
            continue;
        char code = codes[c - 'A'];
        if (o == 0) {
            out[o++] = (char)c;
        } else if (code == '-') {
            continue;
        } else if (code != '0' && code != prev) {
            out[o++] = code;
        }
        prev = code;
    }
    if (o == 0)
        return;
    while (o < 4)
        out[o++] = '0';
    out[4] = '\0';
}

/* ------------------------------------------------------------------ dates */

#define MIN_YEAR 1880
#define MAX_YEAR 9999

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int bl_date_valid(int y, int m, int d)
{
    return y >= MIN_YEAR && y <= MAX_YEAR && m >= 1 && m <= 12 && d >= 1 &&
           d <= days_in_month(y, m);
}

int bl_date_parts(const char *s, int *y, int *m, int *d)
{
    if (!s)
        return -1;
    int v[8];
    for (int i = 0; i < 8; i++) {
        if (!a_digit((unsigned char)s[i]))
            return -1;
        v[i] = s[i] - '0';
    }
    if (s[8] != '\0')
        return -1;
    int yy = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
    int mm = v[4] * 10 + v[5], dd = v[6] * 10 + v[7];
    if (!bl_date_valid(yy, mm, dd))
        return -1;
    *y = yy;
    *m = mm;
    *d = dd;
    return 0;
}

long bl_today_yyyymmdd(void)
{
    time_t now = time(NULL);
    struct tm tm;
    if (now == (time_t)-1 || !gmtime_r(&now, &tm))
        return 0;
    return (long)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static const char *const month_names[12] = {
    "JANUARY", "FEBRUARY", "MARCH",     "APRIL",   "MAY",      "JUNE",
    "JULY",    "AUGUST",   "SEPTEMBER", "OCTOBER", "NOVEMBER", "DECEMBER",
};

static int prefix_ci(const char *s, const char *e, const char *word, size_t n)
{
    if ((size_t)(e - s) < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (a_toupper((unsigned char)s[i]) != word[i])
            return 0;
    return 1;
}

/* Month name at s: full name, "Sept", or three letters; the longest wins so
   "September" is not read as "Sep" followed by junk.  %b and %B both accept
   all three, as glibc's strptime does. */
static int take_month(const char **s, const char *e)
{
    int best = 0;
    size_t best_len = 0;
    for (int m = 0; m < 12; m++) {
        size_t full = strlen(month_names[m]);
        if (full > best_len && prefix_ci(*s, e, month_names[m], full)) {
            best = m + 1;
            best_len = full;
        } else if (3 > best_len && prefix_ci(*s, e, month_names[m], 3)) {
            best = m + 1;
            best_len = 3;
        }
    }
    if (4 > best_len && prefix_ci(*s, e, "SEPT", 4)) {
        best = 9;
        best_len = 4;
    }
    *s += best_len;
    return best;
}

static int take_number(const char **s, const char *e, int min_digits, int max_digits, int *v)
{
    int n = 0, val = 0;
    while (n < max_digits && *s + n < e && a_digit((unsigned char)(*s)[n])) {
        val = val * 10 + ((*s)[n] - '0');
        n++;
    }
    if (n < min_digits)
        return 0;
    *s += n;
    *v = val;
    return 1;
}

static int numeric_directive(const char *f)
{
    return f[0] == '%' && f[1] && strchr("dmYyHMS", f[1]) != NULL;
}

bl_status bl_date_format_check(const char *format, bl_error *err)
{
    if (!format || !*format)
        return bl_fail(err, BL_ESCHEMA, "empty date format");
    int day = 0, month = 0, year = 0, h = 0, mi = 0, sec = 0;
    for (const char *f = format; *f; f++) {
        if (*f != '%')
            continue;
        f++;
        switch (*f) {
        case 'd': day++; break;
        case 'm': case 'b': case 'B': month++; break;
        case 'Y': case 'y': year++; break;
        case 'H': h++; break;
        case 'M': mi++; break;
        case 'S': sec++; break;
        case '%': break;
        case '\0':
            return bl_fail(err, BL_ESCHEMA, "date format '%s' ends with a lone %%", format);
        default:
            return bl_fail(err, BL_ESCHEMA,
                           "date format '%s': unsupported directive %%%c (use %%d %%m %%Y %%y "
                           "%%b %%B %%H %%M %%S %%%%)", format, *f);
        }
    }
    if (day != 1 || month != 1 || year != 1)
        return bl_fail(err, BL_ESCHEMA,
                       "date format '%s' must name the day, the month and the year exactly once",
                       format);
    if (h > 1 || mi > 1 || sec > 1)
        return bl_fail(err, BL_ESCHEMA, "date format '%s' names a time part twice", format);
    return BL_OK;
}

struct parsed_date {
    int y, m, d;
    int two_digit_year;
};

/* Match the whole of [s, e) against a checked format.  Field ranges are part
   of matching (month 13 does not match %m), so "12/25/2001" can fall through
   from "%d/%m/%Y" to "%m/%d/%Y"; month lengths are checked afterwards, so
   "31/02/2001" gets a precise message instead of "matches no format". */
static int match_date(const char *s, const char *e, const char *f, struct parsed_date *p,
                      int lenient)
{
    int v, prev_numeric = 0;
    /* Lenient matching (year salvage) takes any two digits as a day or month. */
    int dmax = lenient ? 99 : 31, mmax = lenient ? 99 : 12, dmin = lenient ? 0 : 1;
    p->two_digit_year = 0;
    while (*f) {
        if (a_space((unsigned char)*f)) {
            while (s < e && a_space((unsigned char)*s))
                s++;
            f++;
            prev_numeric = 0;
            continue;
        }
        if (*f != '%' || f[1] == '%') {
            char c = *f == '%' ? '%' : *f;
            if (s >= e || a_toupper((unsigned char)*s) != a_toupper((unsigned char)c))
                return 0;
            s++;
            f += *f == '%' ? 2 : 1;
            prev_numeric = 0;
            continue;
        }
        /* Fixed width next to another number ("%Y%m%d"), where one digit
           would make the split ambiguous. */
        int minw = numeric_directive(f + 2) || prev_numeric ? 2 : 1;
        prev_numeric = numeric_directive(f);
        switch (f[1]) {
        case 'd':
            if (!take_number(&s, e, minw, 2, &v) || v < dmin || v > dmax)
                return 0;
            p->d = v;
            break;
        case 'm':
            if (!take_number(&s, e, minw, 2, &v) || v < dmin || v > mmax)
                return 0;
            p->m = v;
            break;
        case 'b':
        case 'B':
            if (!(p->m = take_month(&s, e)))
                return 0;
            break;
        case 'Y':
            if (!take_number(&s, e, 4, 4, &p->y))
                return 0;
            break;
        case 'y':
            if (!take_number(&s, e, 2, 2, &p->y))
                return 0;
            p->two_digit_year = 1;
            break;
        case 'H':
            if (!take_number(&s, e, minw, 2, &v) || v > 23)
                return 0;
            break;
        case 'M':
            if (!take_number(&s, e, minw, 2, &v) || v > 59)
                return 0;
            break;
        case 'S':
            if (!take_number(&s, e, minw, 2, &v) || v > 60)
                return 0;
            break;
        default:
            return 0;
        }
        f += 2;
    }
    return s == e;
}

/* "YYYYMMDD" of a valid date (four-digit year): the general path's
   snprintf "%04d%02d%02d" without the format parsing. */
static void put_yyyymmdd(char *out, int y, int m, int d)
{
    for (int i = 3; i >= 0; i--, y /= 10)
        out[i] = (char)('0' + y % 10);
    out[4] = (char)('0' + m / 10);
    out[5] = (char)('0' + m % 10);
    out[6] = (char)('0' + d / 10);
    out[7] = (char)('0' + d % 10);
    out[8] = '\0';
}

/* Month 1..12 whose first three letters are at s (any case), else 0. */
static int month_abbrev(const char *s)
{
    for (int m = 0; m < 12; m++)
        if (a_toupper((unsigned char)s[0]) == month_names[m][0] &&
            a_toupper((unsigned char)s[1]) == month_names[m][1] &&
            a_toupper((unsigned char)s[2]) == month_names[m][2])
            return m + 1;
    return 0;
}

/*
 * bl_normalise_date_ex for the common case: the first format is made only of
 * %d, %m or %b/%B, %Y and literal characters other than blanks ("%d/%m/%Y",
 * "%Y-%m-%d", "%Y%m%d", "%d-%b-%Y"), and the value fills it with every
 * field at full width and nothing around it ("05/03/1987", "05-Mar-1987"),
 * naming a real date that is not in the future.  The general path would
 * agree step by step:
 *  - its format check passes: the first format has one day, one month and
 *    one year and no other directive (counted here); the others are checked
 *    here;
 *  - trimming changes nothing, as the value starts and ends with a digit, a
 *    letter of a month or a literal that is not a blank;
 *  - match_date reads the very same fields from the first format: %d and %m
 *    take at most two digits, %Y exactly four, all greedily; take_month
 *    takes the longest month name, and with no letter after the three here
 *    only these three match (every longer name, and "Sept", has a fourth);
 *    an identical byte passes its case-blind literal test; and a real date
 *    is within its field ranges (day 1..31, month 1..12);
 *  - the calendar (with the year range) and future checks are its own.
 * Returns 0, leaving the value to the general path, whenever any of that is
 * not so, including every value it would reject.
 */
static int date_fixed(const char *in, const char *const *formats, size_t nformats,
                      long not_after, char *out)
{
    for (size_t i = 1; i < nformats; i++)
        if (bl_date_format_check(formats[i], NULL) != BL_OK)
            return 0;
    const char *s = in;
    int y = 0, m = 0, d = 0, ny = 0, nm = 0, nd = 0;
    for (const char *f = formats[0]; *f; f++) {
        if (*f != '%') {
            if (a_space((unsigned char)*f) || *s != *f)
                return 0;
            s++;
            continue;
        }
        f++;
        if (*f == 'b' || *f == 'B') {
            if (!(m = month_abbrev(s)) || a_alpha((unsigned char)s[3]))
                return 0;
            s += 3;
            nm++;
            continue;
        }
        int width = *f == 'Y' ? 4 : *f == 'm' || *f == 'd' ? 2 : 0, v = 0;
        if (width == 0) /* another directive, or a lone '%' */
            return 0;
        for (int i = 0; i < width; i++, s++) {
            if (!a_digit((unsigned char)*s))
                return 0;
            v = v * 10 + (*s - '0');
        }
        if (*f == 'Y')
            y = v, ny++;
        else if (*f == 'm')
            m = v, nm++;
        else
            d = v, nd++;
    }
    if (*s || ny != 1 || nm != 1 || nd != 1 || !bl_date_valid(y, m, d) ||
        (not_after > 0 && (long)y * 10000 + m * 100 + d > not_after))
        return 0;
    put_yyyymmdd(out, y, m, d);
    return 1;
}

static const char *const default_formats[] = {"%Y-%m-%d", "%d/%m/%Y", "%Y%m%d"};

static bl_status normalise_date(const char *in, const char *const *formats, size_t nformats,
                                long not_after, char *out, size_t out_size, int *is_future,
                                int fast, bl_error *err)
{
    if (is_future)
        *is_future = 0;
    bl_status st = check_out(out, out_size, BL_DATE_SIZE, "bl_normalise_date", err);
    if (st != BL_OK || !in)
        return st;
    if (!formats || nformats == 0) {
        formats = default_formats;
        nformats = sizeof default_formats / sizeof default_formats[0];
    }
    if (fast && date_fixed(in, formats, nformats, not_after, out))
        return BL_OK;
    for (size_t i = 0; i < nformats; i++)
        if ((st = bl_date_format_check(formats[i], err)) != BL_OK)
            return st;

    const char *s, *e;
    trim(in, &s, &e);
    if (s == e)
        return BL_OK;
    /* The value for messages, made printable only when one is needed. */
    char shown[48];
    size_t n = (size_t)(e - s);

    struct parsed_date p = {0, 0, 0, 0};
    size_t i;
    for (i = 0; i < nformats; i++)
        if (match_date(s, e, formats[i], &p, 0))
            break;
    if (i == nformats) {
        char tried[160] = "";
        size_t used = 0;
        for (size_t j = 0; j < nformats && used + 1 < sizeof tried; j++) {
            int w = snprintf(tried + used, sizeof tried - used, "%s'%s'", j ? ", " : "",
                             formats[j]);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        return bl_fail(err, BL_EINVALID, "date '%s' matches none of the formats %s",
                       printable(s, n, shown, sizeof shown), tried);
    }
    if (p.two_digit_year) {
        /* The latest century that does not put the date after the limit: for
           birth dates, "01/01/30" read in 2024 is 1930, not 2030. */
        long limit = not_after > 0 ? not_after : bl_today_yyyymmdd();
        long century = limit / 10000 - (limit / 10000) % 100;
        long y = century + p.y;
        if (y * 10000 + p.m * 100 + p.d > limit)
            y -= 100;
        p.y = (int)y;
    }
    if (p.y < MIN_YEAR || p.y > MAX_YEAR)
        return bl_fail(err, BL_EINVALID, "date '%s': year %d is outside %d..%d",
                       printable(s, n, shown, sizeof shown), p.y, MIN_YEAR, MAX_YEAR);
    if (!bl_date_valid(p.y, p.m, p.d))
        return bl_fail(err, BL_EINVALID, "date '%s' does not exist (month %d of %d has %d days)",
                       printable(s, n, shown, sizeof shown), p.m, p.y,
                       days_in_month(p.y, p.m));
    long ymd = (long)p.y * 10000 + p.m * 100 + p.d;
    if (not_after > 0 && ymd > not_after) {
        if (is_future)
            *is_future = 1;
        return bl_fail(err, BL_EINVALID, "future date '%s' (after %ld)",
                       printable(s, n, shown, sizeof shown), not_after);
    }
    if (fast)
        put_yyyymmdd(out, p.y, p.m, p.d);
    else
        snprintf(out, out_size, "%04d%02d%02d", p.y, p.m, p.d);
    return BL_OK;
}

bl_status bl_normalise_date_ex(const char *in, const char *const *formats, size_t nformats,
                               long not_after, char *out, size_t out_size, int *is_future,
                               bl_error *err)
{
    return normalise_date(in, formats, nformats, not_after, out, out_size, is_future, 1, err);
}

bl_status bl_normalise_date_general(const char *in, const char *const *formats,
                                    size_t nformats, long not_after, char *out,
                                    size_t out_size, int *is_future, bl_error *err)
{
    return normalise_date(in, formats, nformats, not_after, out, out_size, is_future, 0, err);
}

int bl_date_salvage_year(const char *in, const char *const *formats, size_t nformats,
                         long not_after_yyyymmdd)
{
    if (!in)
        return 0;
    if (!formats || nformats == 0) {
        formats = default_formats;
        nformats = sizeof default_formats / sizeof default_formats[0];
    }
    const char *s, *e;
    trim(in, &s, &e);
    long limit = not_after_yyyymmdd > 0 ? not_after_yyyymmdd : bl_today_yyyymmdd();
    struct parsed_date p = {0, 0, 0, 0};
    for (size_t i = 0; i < nformats; i++) {
        if (bl_date_format_check(formats[i], NULL) != BL_OK ||
            !match_date(s, e, formats[i], &p, 1))
            continue;
        /* A two-digit year has no century of its own, and a year after the
           limit is itself the error: neither is worth salting with. */
        if (p.two_digit_year || p.y < MIN_YEAR || (long)p.y > limit / 10000)
            return 0;
        return p.y;
    }
    return 0;
}

bl_status bl_normalise_date(const char *in, const char *const *formats, size_t nformats,
                            long not_after_yyyymmdd, char *out, size_t out_size, bl_error *err)
{
    return bl_normalise_date_ex(in, formats, nformats, not_after_yyyymmdd, out, out_size, NULL,
                                err);
}

/* -------------------------------------------------------------------- sex */

static const char *const sex_male[] = {"M", "MALE", "1", "BOY", "MAN", NULL};
static const char *const sex_female[] = {"F", "FEMALE", "2", "GIRL", "W", "WOMAN", NULL};
/* NHS data dictionary: 0 not known, 9 not specified / indeterminate; X is
   "not known" in Person Stated Gender Code. */
static const char *const sex_missing[] = {
    "U", "UNKNOWN", "0", "9", "X", "I", "INDETERMINATE", "NOT KNOWN", "NOT SPECIFIED",
    "NOT STATED", "NK", "UNSPECIFIED", NULL,
};

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

static bl_status normalise_sex(const char *in, char *out, size_t out_size, int fast,
                               bl_error *err)
{
    bl_status st = check_out(out, out_size, BL_SEX_SIZE, "bl_normalise_sex", err);
    if (st != BL_OK || !in)
        return st;
    /* A lone M or F in either case, as most extracts hold it: upper-cased it
       is the first entry of sex_male or sex_female, found before any list
       search that the general path does. */
    int first = a_toupper((unsigned char)in[0]);
    if (fast && (first == 'M' || first == 'F') && !in[1]) {
        out[0] = (char)first;
        out[1] = '\0';
        return BL_OK;
    }
    const char *s, *e;
    trim(in, &s, &e);
    /* Upper-cased, with runs of blanks, '_' and '-' as one space, so that
       "Not_Known" and "not  known" are recognised. */
    char code[24];
    size_t n = 0;
    int gap = 0;
    for (const char *p = s; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (a_space(c) || c == '_' || c == '-') {
            gap = 1;
            continue;
        }
        if (n + 2 >= sizeof code) {
            n = sizeof code; /* too long for any code */
            break;
        }
        if (gap && n)
            code[n++] = ' ';
        gap = 0;
        code[n++] = (char)a_toupper(c);
    }
    if (n < sizeof code) {
        code[n] = '\0';
        if (in_list(code, sex_male)) {
            memcpy(out, "M", 2);
            return BL_OK;
        }
        if (in_list(code, sex_female)) {
            memcpy(out, "F", 2);
            return BL_OK;
        }
        if (n == 0 || in_list(code, sex_missing))
            return BL_OK;
    }
    char shown[24];
    return bl_fail(err, BL_EINVALID, "unrecognised sex code '%s'",
                   printable(s, (size_t)(e - s), shown, sizeof shown));
}

bl_status bl_normalise_sex(const char *in, char *out, size_t out_size, bl_error *err)
{
    return normalise_sex(in, out, out_size, 1, err);
}

bl_status bl_normalise_sex_general(const char *in, char *out, size_t out_size, bl_error *err)
{
    return normalise_sex(in, out, out_size, 0, err);
}

/* --------------------------------------------------------------- postcode */

static int is_one_of(int c, const char *set) { return c && strchr(set, c) != NULL; }

/* BS 7666 rules for the outward code, as published with the UK government
   data standards: Q V X never first; I J Z never second; a letter third only
   in A9A (ABCDEFGHJKPSTUW); a letter fourth only in AA9A (ABEHMNPRVWXY). */
static int outward_ok(const char *o, size_t n)
{
    char shape[5];
    for (size_t i = 0; i < n; i++)
        shape[i] = a_upper(o[i]) ? 'A' : a_digit(o[i]) ? '9' : '?';
    shape[n] = '\0';
    if (!a_upper(o[0]) || is_one_of(o[0], "QVX"))
        return 0;
    if (!strcmp(shape, "A9") || !strcmp(shape, "A99"))
        return 1;
    if (!strcmp(shape, "A9A"))
        return is_one_of(o[2], "ABCDEFGHJKPSTUW");
    if (!strcmp(shape, "AA9") || !strcmp(shape, "AA99"))
        return !is_one_of(o[1], "IJZ");
    if (!strcmp(shape, "AA9A"))
        return !is_one_of(o[1], "IJZ") && is_one_of(o[3], "ABEHMNPRVWXY");
    return 0;
}

/* Sets of upper-case letters as bit masks, bit (c - 'A'), so that membership
   is a shift rather than a strchr. */
#define L_(c) (UINT32_C(1) << ((c) - 'A'))
#define NEVER_INWARD (L_('C') | L_('I') | L_('K') | L_('M') | L_('O') | L_('V'))
#define NEVER_FIRST (L_('Q') | L_('V') | L_('X'))
#define NEVER_SECOND (L_('I') | L_('J') | L_('Z'))
#define THIRD_OF_A9A (L_('A') | L_('B') | L_('C') | L_('D') | L_('E') | L_('F') | L_('G') | \
                      L_('H') | L_('J') | L_('K') | L_('P') | L_('S') | L_('T') | L_('U') | \
                      L_('W'))
#define FOURTH_OF_AA9A (L_('A') | L_('B') | L_('E') | L_('H') | L_('M') | L_('N') | L_('P') | \
                        L_('R') | L_('V') | L_('W') | L_('X') | L_('Y'))

static int letter_in(int c, uint32_t set) { return a_upper(c) && (set >> (c - 'A') & 1); }

/*
 * bl_normalise_postcode for the common case, letters and digits with plain
 * spaces between, accepting only what the general path accepts and with the
 * same output.  The checks are the general path's (outward_ok, the inward
 * code's letters) with letter sets as bit masks and the outward shape as a
 * bit per letter, rather than strchr and strcmp on shape strings.  Returns 0,
 * leaving the value to the general path, for anything it would reject (so
 * the message comes from there), for the ZZ99 pseudo-postcodes, GIR 0AA,
 * and any blank other than ' '.
 */
static int postcode_ascii(const char *in, char *out)
{
    char pc[7];
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        int c = (unsigned char)*p;
        if (c == ' ')
            continue;
        if ((!a_alpha(c) && !a_digit(c)) || n == 7)
            return 0;
        pc[n++] = (char)a_toupper(c);
    }
    if (n < 5)
        return 0;
    size_t on = n - 3;
    const char *inward = pc + on;
    if (!a_digit(inward[0]) || !a_upper(inward[1]) || !a_upper(inward[2]) ||
        letter_in(inward[1], NEVER_INWARD) || letter_in(inward[2], NEVER_INWARD))
        return 0;
    /* ZZ99 never gets here: Z may not come second in an outward code.  Nor
       GIR 0AA: GIR has no valid outward shape. */
    if (!a_upper(pc[0]) || letter_in(pc[0], NEVER_FIRST))
        return 0;
    unsigned shape = 0; /* bit i: outward character i is a letter (the rest are digits) */
    for (size_t i = 0; i < on; i++)
        shape |= (unsigned)a_upper(pc[i]) << i;
    int second_ok = !letter_in(pc[1], NEVER_SECOND);
    int ok;
    switch (on * 16 + shape) {
    case 2 * 16 + 1:  /* A9 */
    case 3 * 16 + 1:  /* A99 */
        ok = 1;
        break;
    case 3 * 16 + 5:  /* A9A */
        ok = letter_in(pc[2], THIRD_OF_A9A);
        break;
    case 3 * 16 + 3:  /* AA9 */
    case 4 * 16 + 3:  /* AA99 */
        ok = second_ok;
        break;
    case 4 * 16 + 11: /* AA9A */
        ok = second_ok && letter_in(pc[3], FOURTH_OF_AA9A);
        break;
    default:
        ok = 0;
    }
    if (!ok)
        return 0;
    memcpy(out, pc, on);
    out[on] = ' ';
    memcpy(out + on + 1, inward, 3);
    out[on + 4] = '\0';
    return 1;
}

static bl_status normalise_postcode(const char *in, char *out, size_t out_size, int fast,
                                    bl_error *err)
{
    bl_status st = check_out(out, out_size, BL_POSTCODE_SIZE, "bl_normalise_postcode", err);
    if (st != BL_OK || !in)
        return st;
    if (fast && postcode_ascii(in, out))
        return BL_OK;
    char pc[8];
    size_t n = 0;
    for (const char *p = in; *p;) {
        size_t b = blank_len(p);
        if (b) {
            p += b;
            continue;
        }
        unsigned char c = (unsigned char)*p++;
        if (!a_alpha(c) && !a_digit(c))
            return bl_fail(err, BL_EINVALID,
                           "postcode contains characters other than letters, digits and spaces");
        if (n == 7)
            return bl_fail(err, BL_EINVALID,
                           "postcode is too long (more than 7 letters and digits)");
        pc[n++] = (char)a_toupper(c);
    }
    pc[n] = '\0';
    if (n == 0)
        return BL_OK;
    if (n < 5)
        return bl_fail(err, BL_EINVALID, "postcode is too short (%zu letters and digits, "
                       "a UK postcode has 5 to 7)", n);
    const char *inward = pc + n - 3;
    size_t on = n - 3;
    /* NHS pseudo-postcodes (ZZ99 3VZ no fixed abode, ZZ99 3WZ Wales, ...)
       locate nobody; agreeing on them is no evidence of identity. */
    if (on == 4 && !memcmp(pc, "ZZ99", 4))
        return BL_OK;
    int gir = !strcmp(pc, "GIR0AA");
    if (!gir) {
        if (!a_digit(inward[0]) || !a_upper(inward[1]) || !a_upper(inward[2]))
            return bl_fail(err, BL_EINVALID,
                           "postcode inward code (last three characters) must be a digit "
                           "and two letters");
        for (int i = 1; i < 3; i++)
            if (is_one_of(inward[i], "CIKMOV"))
                return bl_fail(err, BL_EINVALID,
                               "postcode inward code uses the letter %c, which UK postcodes "
                               "never use there", inward[i]);
        if (!outward_ok(pc, on))
            return bl_fail(err, BL_EINVALID,
                           "postcode outward code is not a valid UK format");
    }
    memcpy(out, pc, on);
    out[on] = ' ';
    memcpy(out + on + 1, inward, 4);
    return BL_OK;
}

bl_status bl_normalise_postcode(const char *in, char *out, size_t out_size, bl_error *err)
{
    return normalise_postcode(in, out, out_size, 1, err);
}

bl_status bl_normalise_postcode_general(const char *in, char *out, size_t out_size,
                                        bl_error *err)
{
    return normalise_postcode(in, out, out_size, 0, err);
}

/* Outward code length of a canonical postcode, or 0 if not canonical. */
static size_t outward_len(const char *c)
{
    if (!c)
        return 0;
    const char *sp = strchr(c, ' ');
    if (!sp)
        return 0;
    size_t n = (size_t)(sp - c);
    if (n < 2 || n > 4 || strlen(sp + 1) != 3)
        return 0;
    return n;
}

void bl_postcode_outward(const char *canonical, char out[BL_POSTCODE_OUTWARD_SIZE])
{
    size_t n = outward_len(canonical);
    memcpy(out, canonical, n);
    out[n] = '\0';
}

void bl_postcode_district(const char *canonical, char out[BL_POSTCODE_OUTWARD_SIZE])
{
    bl_postcode_outward(canonical, out);
}

void bl_postcode_sector(const char *canonical, char out[BL_POSTCODE_SECTOR_SIZE])
{
    size_t n = outward_len(canonical);
    memcpy(out, canonical, n ? n + 2 : 0);
    out[n ? n + 2 : 0] = '\0';
}

void bl_postcode_area(const char *canonical, char out[BL_POSTCODE_AREA_SIZE])
{
    size_t n = outward_len(canonical), k = 0;
    while (k < n && k < BL_POSTCODE_AREA_SIZE - 1 && a_upper(canonical[k]))
        k++;
    memcpy(out, canonical, k);
    out[k] = '\0';
}

/* ------------------------------------------------------------ NHS number */

int bl_nhs_number_valid(const char *s)
{
    if (!s)
        return 0;
    int sum = 0;
    for (int i = 0; i < 10; i++) {
        if (!a_digit((unsigned char)s[i]))
            return 0;
        if (i < 9)
            sum += (s[i] - '0') * (10 - i);
    }
    if (s[10] != '\0')
        return 0;
    /* A remainder giving 10 has no check digit: no digit can equal it. */
    int check = 11 - sum % 11;
    if (check == 11)
        check = 0;
    return check == s[9] - '0';
}

/*
 * bl_normalise_nhs_number for ten ASCII digits with nothing around them, the
 * usual form: the general path's checks (not one digit repeated, Modulus 11
 * as in bl_nhs_number_valid) done in the one pass that reads the digits.
 * Returns 0, leaving the value to the general path, for anything else,
 * including every number that it would reject.
 */
static int nhs_number_plain(const char *in, char *out)
{
    int sum = 0, same = 1;
    for (int i = 0; i < 10; i++) {
        if (!a_digit((unsigned char)in[i]))
            return 0;
        sum += (in[i] - '0') * (10 - i);
        same &= in[i] == in[0];
    }
    /* The weighted sum includes the check digit (weight 1): a valid number
       is one where it comes to a multiple of 11.  A remainder of 10 has no
       check digit, and then no digit makes the total a multiple of 11 either. */
    if (in[10] != '\0' || same || sum % 11 != 0)
        return 0;
    memcpy(out, in, 11);
    return 1;
}

static bl_status normalise_nhs_number(const char *in, char *out, size_t out_size, int fast,
                                      bl_error *err)
{
    bl_status st = check_out(out, out_size, BL_NHS_NUMBER_SIZE, "bl_normalise_nhs_number", err);
    if (st != BL_OK || !in)
        return st;
    if (fast && nhs_number_plain(in, out))
        return BL_OK;
    char digits[11];
    size_t n = 0;
    for (const char *p = in; *p;) {
        size_t b = blank_len(p);
        if (b || *p == '-') {
            p += b ? b : 1;
            continue;
        }
        if (!a_digit((unsigned char)*p))
            return bl_fail(err, BL_EINVALID,
                           "NHS number contains characters other than digits, spaces and dashes");
        if (n < 10)
            digits[n] = *p;
        n++;
        p++;
    }
    if (n == 0)
        return BL_OK;
    if (n != 10)
        return bl_fail(err, BL_EINVALID, "NHS number is not 10 digits (%zu digits)", n);
    digits[10] = '\0';
    /* Every repeated-digit number passes Modulus 11 (d*54 = -d mod 11), and
       systems use 0000000000 and 9999999999 as placeholders: a shared
       placeholder must not look like strong evidence of identity. */
    if (strspn(digits, (char[]){digits[0], '\0'}) == 10)
        return bl_fail(err, BL_EINVALID, "NHS number is a placeholder (one digit repeated)");
    if (!bl_nhs_number_valid(digits))
        return bl_fail(err, BL_EINVALID, "NHS number fails Modulus 11 check");
    memcpy(out, digits, 11);
    return BL_OK;
}

bl_status bl_normalise_nhs_number(const char *in, char *out, size_t out_size, bl_error *err)
{
    return normalise_nhs_number(in, out, out_size, 1, err);
}

bl_status bl_normalise_nhs_number_general(const char *in, char *out, size_t out_size,
                                          bl_error *err)
{
    return normalise_nhs_number(in, out, out_size, 0, err);
}
