/* util.c - handles, errors, argument conversion and record tables. */
#include "bloomlink_r.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ handles */

/* The protected slot of every handle is list(deps, borrowers): the objects
   it borrows (kept alive with it) and how many live objects borrow it. */
SEXP blr_handle_new(const char *cls, R_CFinalizer_t fin, SEXP deps)
{
    SEXP prot = PROTECT(Rf_allocVector(VECSXP, 2));
    SET_VECTOR_ELT(prot, 0, deps);
    SEXP count = Rf_allocVector(INTSXP, 1);
    INTEGER(count)[0] = 0;
    SET_VECTOR_ELT(prot, 1, count);
    SEXP tag = PROTECT(Rf_install(cls));
    SEXP x = PROTECT(R_MakeExternalPtr(NULL, tag, prot));
    R_RegisterCFinalizerEx(x, fin, TRUE);
    SEXP klass = PROTECT(Rf_allocVector(STRSXP, 2));
    SET_STRING_ELT(klass, 0, Rf_mkChar(cls));
    SET_STRING_ELT(klass, 1, Rf_mkChar("bloomlink_handle"));
    Rf_setAttrib(x, R_ClassSymbol, klass);
    UNPROTECT(4);
    return x;
}

SEXP blr_handle_deps(SEXP x)
{
    SEXP prot = R_ExternalPtrProtected(x);
    return TYPEOF(prot) == VECSXP && XLENGTH(prot) == 2 ? VECTOR_ELT(prot, 0) : R_NilValue;
}

void blr_handle_borrow(SEXP x, int delta)
{
    SEXP prot = R_ExternalPtrProtected(x);
    if (TYPEOF(prot) == VECSXP && XLENGTH(prot) == 2 && TYPEOF(VECTOR_ELT(prot, 1)) == INTSXP)
        INTEGER(VECTOR_ELT(prot, 1))[0] += delta;
}

static int borrowers(SEXP x)
{
    SEXP prot = R_ExternalPtrProtected(x);
    if (TYPEOF(prot) == VECSXP && XLENGTH(prot) == 2 && TYPEOF(VECTOR_ELT(prot, 1)) == INTSXP)
        return INTEGER(VECTOR_ELT(prot, 1))[0];
    return 0;
}

void *blr_handle_get(SEXP x, const char *cls, const char *what)
{
    if (TYPEOF(x) != EXTPTRSXP || !Rf_inherits(x, cls))
        blr_misuse("%s must be a %s object", what, cls);
    void *p = R_ExternalPtrAddr(x);
    if (!p)
        blr_misuse("%s is a dead %s handle (freed, or restored from a saved session)", what, cls);
    return p;
}

/* The finalizer of a handle is found again from its tag. */
void blr_handle_release(SEXP x)
{
    if (TYPEOF(x) != EXTPTRSXP || !R_ExternalPtrAddr(x))
        return;
    const char *cls = CHAR(PRINTNAME(R_ExternalPtrTag(x)));
    if (borrowers(x) > 0)
        blr_misuse("this %s is still used by %d encoder(s): free them first", cls, borrowers(x));
    if (!strcmp(cls, "bl_key"))
        blr_fin_key(x);
    else if (!strcmp(cls, "bl_schema"))
        blr_fin_schema(x);
    else if (!strcmp(cls, "bl_profile"))
        blr_fin_profile(x);
    else if (!strcmp(cls, "bl_encoder"))
        blr_fin_encoder(x);
    else if (!strcmp(cls, "bl_encfile"))
        blr_fin_encfile(x);
    else if (!strcmp(cls, "bl_csv"))
        blr_fin_csv(x);
    else if (!strcmp(cls, "bl_dataset"))
        blr_fin_dataset(x);
    else if (!strcmp(cls, "bl_model"))
        blr_fin_model(x);
    else if (!strcmp(cls, "bl_linkmap"))
        blr_fin_linkmap(x);
    else if (!strcmp(cls, "bl_evaluation"))
        blr_fin_evaluation(x);
    else if (!strcmp(cls, "bl_dsa"))
        blr_fin_dsa(x);
    else if (!strcmp(cls, "bl_buffer"))
        blr_fin_free(x);
}

/* Finalizers skip a cleared pointer and clear before freeing, so a handle is
   freed at most once whichever runs first: release, gc() or exit. */
#define BLR_FINALIZER(name, type, freefn)                                                          \
    void name(SEXP x)                                                                              \
    {                                                                                              \
        type *p = R_ExternalPtrAddr(x);                                                            \
        if (p) {                                                                                   \
            R_ClearExternalPtr(x);                                                                 \
            freefn(p);                                                                             \
        }                                                                                          \
    }

BLR_FINALIZER(blr_fin_key, bl_key, bl_key_free)
BLR_FINALIZER(blr_fin_schema, bl_schema, bl_schema_free)
BLR_FINALIZER(blr_fin_profile, bl_profile, bl_profile_free)
/* An encoder borrows its schema, profile and key: give them back. */
void blr_fin_encoder(SEXP x)
{
    bl_encoder *p = R_ExternalPtrAddr(x);
    if (p) {
        R_ClearExternalPtr(x);
        bl_encoder_free(p);
        SEXP deps = blr_handle_deps(x);
        if (TYPEOF(deps) == VECSXP)
            for (R_xlen_t i = 0; i < XLENGTH(deps); i++)
                blr_handle_borrow(VECTOR_ELT(deps, i), -1);
    }
}
BLR_FINALIZER(blr_fin_encfile, bl_encfile_reader, bl_encfile_close)
BLR_FINALIZER(blr_fin_csv, bl_csv_reader, bl_csv_close)
BLR_FINALIZER(blr_fin_dataset, bl_dataset, bl_dataset_free)
BLR_FINALIZER(blr_fin_model, bl_model, bl_model_free)
BLR_FINALIZER(blr_fin_linkmap, bl_linkmap, bl_linkmap_free)
BLR_FINALIZER(blr_fin_evaluation, bl_evaluation, bl_evaluation_free)
BLR_FINALIZER(blr_fin_dsa, bl_dsa, bl_dsa_free)
BLR_FINALIZER(blr_fin_free, void, free)

/* ------------------------------------------------------------- errors */

static SEXP num_or_na(long long v)
{
    return Rf_ScalarReal(v < 0 ? NA_REAL : (double)v);
}

void blr_raise(bl_status st, const bl_error *err)
{
    static const char *const names[] = {"code",     "message", "text",     "source",
                                        "line",     "column",  "record",   "position",
                                        "field",    "status"};
    char msg[BL_ERROR_SOURCE_LENGTH + BL_ERROR_FIELD_LENGTH + BL_ERROR_TEXT_LENGTH + 64];
    bl_error fallback;
    if (!err || !err->text[0]) {
        bl_error_clear(&fallback);
        fallback.code = (int)st;
        snprintf(fallback.text, sizeof fallback.text, "%s", bl_strerror(st));
        if (err) {
            memcpy(fallback.source, err->source, sizeof fallback.source);
            memcpy(fallback.field, err->field, sizeof fallback.field);
            fallback.line = err->line;
            fallback.column = err->column;
            fallback.record = err->record;
            fallback.position = err->position;
        }
        err = &fallback;
    }
    bl_error_format(err, msg, sizeof msg);
    SEXP info = PROTECT(Rf_allocVector(VECSXP, 10));
    SET_VECTOR_ELT(info, 0, Rf_ScalarInteger((int)st));
    SET_VECTOR_ELT(info, 1, blr_str1(msg));
    SET_VECTOR_ELT(info, 2, blr_str1(err->text));
    SET_VECTOR_ELT(info, 3, err->source[0] ? blr_str1(err->source) : Rf_ScalarString(NA_STRING));
    SET_VECTOR_ELT(info, 4, num_or_na(err->line));
    SET_VECTOR_ELT(info, 5, num_or_na(err->column));
    SET_VECTOR_ELT(info, 6, num_or_na(err->record));
    SET_VECTOR_ELT(info, 7, num_or_na(err->position));
    SET_VECTOR_ELT(info, 8, err->field[0] ? blr_str1(err->field) : Rf_ScalarString(NA_STRING));
    SET_VECTOR_ELT(info, 9, blr_str1(bl_strerror(st)));
    blr_set_names(info, names, 10);
    SEXP ns = PROTECT(R_FindNamespace(PROTECT(Rf_mkString("bloomlink"))));
    SEXP call = PROTECT(Rf_lang2(Rf_install("raise_bloomlink_error"), info));
    Rf_eval(call, ns);
    UNPROTECT(4);
    Rf_error("%s", msg); /* not reached: raise_bloomlink_error signals */
}

void blr_misuse(const char *fmt, ...)
{
    bl_error e;
    bl_error_clear(&e);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.text, sizeof e.text, fmt, ap);
    va_end(ap);
    e.code = BL_EMISUSE;
    blr_raise(BL_EMISUSE, &e);
}

/* ---------------------------------------------------------- arguments */

const char *blr_string(SEXP x, const char *what)
{
    if (TYPEOF(x) != STRSXP || XLENGTH(x) != 1 || STRING_ELT(x, 0) == NA_STRING)
        blr_misuse("%s must be a single string", what);
    return Rf_translateCharUTF8(STRING_ELT(x, 0));
}

const char *blr_opt_string(SEXP x, const char *what)
{
    if (x == R_NilValue || (TYPEOF(x) == STRSXP && XLENGTH(x) == 1 && STRING_ELT(x, 0) == NA_STRING))
        return NULL;
    return blr_string(x, what);
}

const char *blr_path(SEXP x, const char *what)
{
    if (TYPEOF(x) != STRSXP || XLENGTH(x) != 1 || STRING_ELT(x, 0) == NA_STRING)
        blr_misuse("%s must be a single file name", what);
    /* R_ExpandFileName returns a static buffer: copy it */
    const char *p = R_ExpandFileName(Rf_translateChar(STRING_ELT(x, 0)));
    size_t n = strlen(p) + 1;
    char *c = R_alloc(n, 1);
    memcpy(c, p, n);
    return c;
}

const char *blr_opt_path(SEXP x, const char *what)
{
    if (x == R_NilValue || (TYPEOF(x) == STRSXP && XLENGTH(x) == 1 && STRING_ELT(x, 0) == NA_STRING))
        return NULL;
    return blr_path(x, what);
}

double blr_double(SEXP x, const char *what)
{
    if ((TYPEOF(x) != REALSXP && TYPEOF(x) != INTSXP && TYPEOF(x) != LGLSXP) || XLENGTH(x) != 1)
        blr_misuse("%s must be a single number", what);
    double v = Rf_asReal(x);
    if (ISNAN(v))
        blr_misuse("%s must not be NA", what);
    return v;
}

int blr_int(SEXP x, const char *what)
{
    double v = blr_double(x, what);
    if (v < -2147483647.0 || v > 2147483647.0 || v != (double)(long)v)
        blr_misuse("%s must be a whole number", what);
    return (int)v;
}

int blr_flag(SEXP x, const char *what)
{
    if (TYPEOF(x) != LGLSXP || XLENGTH(x) != 1 || LOGICAL(x)[0] == NA_LOGICAL)
        blr_misuse("%s must be TRUE or FALSE", what);
    return LOGICAL(x)[0];
}

SEXP blr_list_get(SEXP list, const char *name)
{
    SEXP names = Rf_getAttrib(list, R_NamesSymbol);
    if (TYPEOF(list) != VECSXP || names == R_NilValue)
        return R_NilValue;
    for (R_xlen_t i = 0; i < XLENGTH(list); i++)
        if (!strcmp(CHAR(STRING_ELT(names, i)), name))
            return VECTOR_ELT(list, i);
    return R_NilValue;
}

/* ------------------------------------------------------------ results */

SEXP blr_mkstring(const char *s)
{
    return Rf_mkCharCE(s ? s : "", CE_UTF8);
}

SEXP blr_str1(const char *s)
{
    return Rf_ScalarString(blr_mkstring(s));
}

void blr_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void blr_set_names(SEXP x, const char *const *names, R_xlen_t n)
{
    SEXP nm = PROTECT(Rf_allocVector(STRSXP, n));
    for (R_xlen_t i = 0; i < n; i++)
        SET_STRING_ELT(nm, i, blr_mkstring(names[i]));
    Rf_setAttrib(x, R_NamesSymbol, nm);
    UNPROTECT(1);
}

SEXP blr_as_data_frame(SEXP cols, R_xlen_t nrow)
{
    PROTECT(cols);
    SEXP rn = PROTECT(Rf_allocVector(INTSXP, 2));
    INTEGER(rn)[0] = NA_INTEGER;
    INTEGER(rn)[1] = -(int)nrow;
    Rf_setAttrib(cols, R_RowNamesSymbol, rn);
    Rf_setAttrib(cols, R_ClassSymbol, Rf_mkString("data.frame"));
    UNPROTECT(2);
    return cols;
}

void blr_words_to_bytes(const uint64_t *w, size_t words, uint8_t *out)
{
    for (size_t i = 0; i < words; i++)
        for (int b = 0; b < 8; b++)
            out[8 * i + (size_t)b] = (uint8_t)(w[i] >> (8 * b));
}

void blr_bytes_to_words(const uint8_t *b, size_t words, uint64_t *out)
{
    for (size_t i = 0; i < words; i++) {
        uint64_t v = 0;
        for (int k = 7; k >= 0; k--)
            v = (v << 8) | b[8 * i + (size_t)k];
        out[i] = v;
    }
}

const char *blr_field_type_name(int type) { return bl_field_type_name((bl_field_type)type); }

/* ----------------------------------------------------------- progress */

static pthread_t *thread_slot(blr_progress *p)
{
    return (pthread_t *)p->main_thread;
}

void blr_progress_init(blr_progress *p, SEXP verbose)
{
    p->verbose = verbose == R_NilValue ? 0 : blr_flag(verbose, "progress");
    p->interrupted = 0;
    p->last = 0;
    pthread_t *t = (pthread_t *)R_alloc(1, sizeof(pthread_t));
    *t = pthread_self();
    p->main_thread = t;
}

static void check_interrupt(void *unused)
{
    (void)unused;
    R_CheckUserInterrupt();
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Called by the library on the calling thread; ignores any other thread (R
   must only ever be entered from the main one).  R_ToplevelExec catches the
   interrupt's longjmp, so the library unwinds normally with BL_ECANCELLED. */
int blr_progress_cb(void *user, const char *what, uint64_t done, uint64_t total)
{
    blr_progress *p = user;
    if (!pthread_equal(pthread_self(), *thread_slot(p)))
        return 0;
    if (!R_ToplevelExec(check_interrupt, NULL)) {
        p->interrupted = 1;
        return 1;
    }
    if (p->verbose) {
        double t = now_seconds();
        if (t - p->last >= 0.2 || (total && done == total)) {
            p->last = t;
            if (total)
                REprintf("\r%s: %llu / %llu   ", what ? what : "working", (unsigned long long)done,
                         (unsigned long long)total);
            else
                REprintf("\r%s: %llu   ", what ? what : "working", (unsigned long long)done);
        }
    }
    return 0;
}

void blr_progress_done(blr_progress *p)
{
    if (p->verbose && p->last > 0)
        REprintf("\n");
}

void blr_raise_progress(bl_status st, const bl_error *err, const blr_progress *p)
{
    if (st == BL_ECANCELLED && p && p->interrupted) {
        bl_error e;
        bl_error_clear(&e);
        e.code = BL_ECANCELLED;
        snprintf(e.text, sizeof e.text, "interrupted by the user (%.280s)",
                 err && err->text[0] ? err->text : "cancelled");
        blr_raise(st, &e);
    }
    blr_raise(st, err);
}

/* ------------------------------------------------------- record tables */

enum { COL_SOURCE, COL_ID };

static R_xlen_t ncols(const blr_layout *l)
{
    /* source, [record_id], token, present, sex, age_band, fields..., clk, bk... */
    return 5 + (l->with_id ? 1 : 0) + (R_xlen_t)l->field_count + 1 + (R_xlen_t)l->bk_count;
}

static SEXPTYPE filter_type(const blr_layout *l)
{
    return l->hex ? STRSXP : VECSXP;
}

void blr_table_new(blr_table *t, const blr_layout *lay, const char *source, R_xlen_t cap)
{
    t->lay = lay;
    t->n = 0;
    t->cap = cap < 16 ? 16 : cap;
    R_xlen_t nc = ncols(lay);
    t->cols = Rf_allocVector(VECSXP, nc);
    PROTECT_WITH_INDEX(t->cols, &t->pi);
    R_xlen_t c = 0;
    SET_VECTOR_ELT(t->cols, c++, Rf_allocVector(STRSXP, t->cap));
    if (lay->with_id)
        SET_VECTOR_ELT(t->cols, c++, Rf_allocVector(STRSXP, t->cap));
    SET_VECTOR_ELT(t->cols, c++, Rf_allocVector(STRSXP, t->cap));
    SET_VECTOR_ELT(t->cols, c++, Rf_allocVector(REALSXP, t->cap));
    SET_VECTOR_ELT(t->cols, c++, Rf_allocVector(INTSXP, t->cap));
    SET_VECTOR_ELT(t->cols, c++, Rf_allocVector(INTSXP, t->cap));
    for (size_t f = 0; f <= lay->field_count; f++)
        SET_VECTOR_ELT(t->cols, c++, Rf_allocVector(filter_type(lay), t->cap));
    for (size_t k = 0; k < lay->bk_count; k++)
        SET_VECTOR_ELT(t->cols, c++, Rf_allocVector(STRSXP, t->cap));
    /* the source name is kept in the column list's "source" attribute */
    SEXP src = PROTECT(blr_str1(source));
    Rf_setAttrib(t->cols, Rf_install("source"), src);
    t->source = STRING_ELT(src, 0);
    UNPROTECT(1);
    size_t maxw = lay->clk_words;
    for (size_t f = 0; f < lay->field_count; f++)
        if (lay->field_words[f] > maxw)
            maxw = lay->field_words[f];
    /* bytes of the filter, then its hex: 8 + 16 bytes a word, and a NUL */
    t->buf = (uint8_t *)R_alloc(maxw * 24 + 1, 1);
}

static void resize(blr_table *t, R_xlen_t cap)
{
    R_xlen_t nc = XLENGTH(t->cols);
    for (R_xlen_t c = 0; c < nc; c++)
        SET_VECTOR_ELT(t->cols, c, Rf_xlengthgets(VECTOR_ELT(t->cols, c), cap));
    t->cap = cap;
}

static SEXP filter_value(blr_table *t, const uint64_t *w, size_t words)
{
    blr_words_to_bytes(w, words, t->buf);
    if (t->lay->hex) {
        char *hex = (char *)t->buf + 8 * words;
        blr_hex(t->buf, 8 * words, hex);
        return Rf_mkChar(hex);
    }
    SEXP r = Rf_allocVector(RAWSXP, (R_xlen_t)(8 * words));
    if (words)
        memcpy(RAW(r), t->buf, 8 * words);
    return r;
}

void blr_table_add(blr_table *t, const bl_record_view *rec, const char *record_id)
{
    if (t->n == t->cap)
        resize(t, t->cap * 2);
    const blr_layout *l = t->lay;
    R_xlen_t i = t->n, c = 0;
    char hex[2 * BL_TOKEN_BYTES + 1];
    SET_STRING_ELT(VECTOR_ELT(t->cols, c++), i, t->source);
    if (l->with_id)
        SET_STRING_ELT(VECTOR_ELT(t->cols, c++), i, blr_mkstring(record_id));
    blr_hex(rec->token, BL_TOKEN_BYTES, hex);
    SET_STRING_ELT(VECTOR_ELT(t->cols, c++), i, Rf_mkChar(hex));
    REAL(VECTOR_ELT(t->cols, c++))[i] = (double)rec->present;
    INTEGER(VECTOR_ELT(t->cols, c++))[i] = rec->sex;
    INTEGER(VECTOR_ELT(t->cols, c++))[i] = rec->age_band;
    for (size_t f = 0; f <= l->field_count; f++) {
        const uint64_t *w = f < l->field_count ? rec->fields[f] : rec->clk;
        size_t words = f < l->field_count ? l->field_words[f] : l->clk_words;
        SEXP col = VECTOR_ELT(t->cols, c++);
        if (l->hex)
            SET_STRING_ELT(col, i, filter_value(t, w, words));
        else
            SET_VECTOR_ELT(col, i, filter_value(t, w, words));
    }
    for (size_t k = 0; k < l->bk_count; k++) {
        SEXP col = VECTOR_ELT(t->cols, c++);
        uint64_t v = rec->blocking_keys[k];
        if (!v) {
            SET_STRING_ELT(col, i, NA_STRING);
        } else {
            char b[17];
            snprintf(b, sizeof b, "%016llx", (unsigned long long)v);
            SET_STRING_ELT(col, i, Rf_mkChar(b));
        }
    }
    t->n++;
}

SEXP blr_table_finish(blr_table *t)
{
    const blr_layout *l = t->lay;
    resize(t, t->n);
    R_xlen_t nc = XLENGTH(t->cols), c = 0;
    SEXP nm = PROTECT(Rf_allocVector(STRSXP, nc));
    SET_STRING_ELT(nm, c++, Rf_mkChar("source"));
    if (l->with_id)
        SET_STRING_ELT(nm, c++, Rf_mkChar("record_id"));
    SET_STRING_ELT(nm, c++, Rf_mkChar("token"));
    SET_STRING_ELT(nm, c++, Rf_mkChar("present"));
    SET_STRING_ELT(nm, c++, Rf_mkChar("sex"));
    SET_STRING_ELT(nm, c++, Rf_mkChar("age_band"));
    for (size_t f = 0; f < l->field_count; f++)
        SET_STRING_ELT(nm, c++, blr_mkstring(l->field_names[f]));
    SET_STRING_ELT(nm, c++, Rf_mkChar("clk"));
    for (size_t k = 0; k < l->bk_count; k++) {
        char b[BL_ERROR_FIELD_LENGTH + 8];
        snprintf(b, sizeof b, "bk_%s", l->bk_names[k]);
        SET_STRING_ELT(nm, c++, blr_mkstring(b));
    }
    Rf_setAttrib(t->cols, R_NamesSymbol, nm);
    Rf_setAttrib(t->cols, Rf_install("source"), R_NilValue);
    UNPROTECT(1);
    return blr_as_data_frame(t->cols, t->n);
}

/* -------------------------------------------------------------- stats */

SEXP blr_stats_encode(const bl_encode_stats *s)
{
    static const char *const names[] = {
        "records_read",     "records_encoded",    "records_rejected", "invalid_date",
        "future_date",      "invalid_sex",        "invalid_postcode", "invalid_nhs_number",
        "invalid_name",     "missing_salt",       "duplicate_record_id"};
    const uint64_t v[] = {s->records_read,     s->records_encoded,   s->records_rejected,
                          s->invalid_date,     s->future_date,       s->invalid_sex,
                          s->invalid_postcode, s->invalid_nhs_number, s->invalid_name,
                          s->missing_salt,     s->duplicate_record_id};
    R_xlen_t n = (R_xlen_t)(sizeof v / sizeof v[0]);
    SEXP r = PROTECT(Rf_allocVector(VECSXP, n));
    for (R_xlen_t i = 0; i < n; i++)
        SET_VECTOR_ELT(r, i, Rf_ScalarReal((double)v[i]));
    blr_set_names(r, names, n);
    UNPROTECT(1);
    return blr_as_data_frame(r, 1);
}

SEXP blr_stats_match(const bl_match_stats *s)
{
    static const char *const names[] = {
        "records",        "candidate_pairs", "blocking_pairs", "lsh_only_pairs",
        "blocks_capped",  "keys_dropped",    "u_sample_pairs", "em_iterations",
        "em_converged",   "links",           "links_rejected", "entities",
        "multi_record_entities", "review_pairs", "seconds_load", "seconds_block",
        "seconds_compare", "seconds_train",  "seconds_cluster"};
    const double v[] = {(double)s->records,        (double)s->candidate_pairs,
                        (double)s->blocking_pairs, (double)s->lsh_only_pairs,
                        (double)s->blocks_capped,  (double)s->keys_dropped,
                        (double)s->u_sample_pairs, (double)s->em_iterations,
                        (double)s->em_converged,   (double)s->links,
                        (double)s->links_rejected, (double)s->entities,
                        (double)s->multi_record_entities, (double)s->review_pairs,
                        s->seconds_load,           s->seconds_block,
                        s->seconds_compare,        s->seconds_train,
                        s->seconds_cluster};
    R_xlen_t n = (R_xlen_t)(sizeof v / sizeof v[0]);
    SEXP r = PROTECT(Rf_allocVector(VECSXP, n));
    for (R_xlen_t i = 0; i < n; i++) {
        if (i == 8)
            SET_VECTOR_ELT(r, i, Rf_ScalarLogical(v[i] != 0));
        else
            SET_VECTOR_ELT(r, i, Rf_ScalarReal(v[i]));
    }
    blr_set_names(r, names, n);
    UNPROTECT(1);
    return blr_as_data_frame(r, 1);
}
