/* bloomlink_r.h - shared helpers of the R binding: handles, errors, conversions.
 *
 * Rules every .Call entry point follows (see src/util.c):
 * - Every library object lives in an external pointer from birth: the pointer
 *   is allocated (with its class and finalizer) before the bl_*_new / _load
 *   call, which then fills it.  An R allocation that fails (and longjmps) can
 *   therefore never leak a library handle; the finalizer frees it.
 * - Temporary C arrays come from R_alloc, which R frees even on error.
 * - Errors from the library are raised with blr_raise() after everything the
 *   call owns was released or is owned by an external pointer.  It calls the
 *   R function raise_bloomlink_error(), which signals a classed condition.
 */
#ifndef BLOOMLINK_R_H
#define BLOOMLINK_R_H

#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <stdint.h>

#include <bloomlink.h>

/* ---- handles */

/* A new external pointer with a NULL address, class `cls` and a finalizer
   that runs `fin` (registered to run at exit too).  `deps` is kept alive as
   long as the handle (objects the library borrows).  Unprotected result. */
SEXP blr_handle_new(const char *cls, R_CFinalizer_t fin, SEXP deps);
/* The objects a handle borrows (its `prot` argument at creation). */
SEXP blr_handle_deps(SEXP x);
/* Count objects borrowing x (delta +1 / -1); a borrowed handle cannot be
   released early. */
void blr_handle_borrow(SEXP x, int delta);
/* The address behind a handle of class `cls`; raises a bloomlink_misuse_error
   for another type, or for a handle that is dead (freed, or restored from a
   saved session). */
void *blr_handle_get(SEXP x, const char *cls, const char *what);
/* Free now what the handle holds (the finalizer later finds it cleared). */
void blr_handle_release(SEXP x);

/* Finalizers, one per library type. */
void blr_fin_key(SEXP x);
void blr_fin_schema(SEXP x);
void blr_fin_profile(SEXP x);
void blr_fin_encoder(SEXP x);
void blr_fin_encfile(SEXP x);
void blr_fin_csv(SEXP x);
void blr_fin_dataset(SEXP x);
void blr_fin_model(SEXP x);
void blr_fin_linkmap(SEXP x);
void blr_fin_evaluation(SEXP x);
void blr_fin_dsa(SEXP x);
void blr_fin_free(SEXP x); /* plain free(), for char * the library returns */

/* ---- errors */

/* Raise the library's error as an R condition; never returns. */
void NORET blr_raise(bl_status st, const bl_error *err);
/* Raise a bloomlink_misuse_error for a bad argument; never returns. */
void NORET blr_misuse(const char *fmt, ...);

/* ---- arguments */

const char *blr_string(SEXP x, const char *what);     /* scalar, non-NA, UTF-8 */
const char *blr_opt_string(SEXP x, const char *what); /* NULL for NULL or NA */
const char *blr_path(SEXP x, const char *what);       /* native encoding, ~ expanded */
const char *blr_opt_path(SEXP x, const char *what);
double blr_double(SEXP x, const char *what);
int blr_int(SEXP x, const char *what);
int blr_flag(SEXP x, const char *what);
/* Element `name` of a named list, or R_NilValue. */
SEXP blr_list_get(SEXP list, const char *name);

/* ---- results */

SEXP blr_mkstring(const char *s);                 /* UTF-8 CHARSXP, "" for NULL */
SEXP blr_str1(const char *s);                     /* length-1 character */
void blr_hex(const uint8_t *p, size_t n, char *out); /* 2n lower-case digits + NUL */
/* A named list from names[] and values (a VECSXP of the same length). */
void blr_set_names(SEXP x, const char *const *names, R_xlen_t n);
/* Turn a named list of equal-length columns into a data.frame (in place). */
SEXP blr_as_data_frame(SEXP cols, R_xlen_t nrow);

/* Filters: 64-bit words <-> bytes, little-endian (the .ble byte order). */
void blr_words_to_bytes(const uint64_t *w, size_t words, uint8_t *out);
void blr_bytes_to_words(const uint8_t *b, size_t words, uint64_t *out);

/* ---- progress: interrupts and optional messages */

typedef struct blr_progress {
    int verbose;      /* print "what: done / total" to the console */
    int interrupted;  /* set when the user pressed Ctrl-C */
    void *main_thread; /* opaque: pthread_t of the calling thread */
    double last;      /* last print, seconds */
} blr_progress;

void blr_progress_init(blr_progress *p, SEXP verbose);
int blr_progress_cb(void *user, const char *what, uint64_t done, uint64_t total);
void blr_progress_done(blr_progress *p);
/* After a failed call: a cancellation the user caused becomes an interrupt
   error (bloomlink_cancelled_error); anything else is raised as usual. */
void NORET blr_raise_progress(bl_status st, const bl_error *err, const blr_progress *p);

/* ---- record tables (encoder output and .ble reader) */

typedef struct blr_layout {
    size_t field_count;
    const char *field_names[BL_MAX_FIELDS];
    size_t field_words[BL_MAX_FIELDS];
    size_t clk_words;
    size_t bk_count;
    const char **bk_names;
    int hex;        /* filters as hex strings rather than raw vectors */
    int with_id;    /* a record_id column (encoder output) */
} blr_layout;

typedef struct blr_table {
    SEXP cols;      /* protected by the caller via blr_table_new's PROTECT_WITH_INDEX */
    PROTECT_INDEX pi;
    R_xlen_t n, cap;
    const blr_layout *lay;
    SEXP source;    /* CHARSXP */
    uint8_t *buf;   /* R_alloc'd scratch for filter bytes */
} blr_table;

/* Start a table; PROTECTs one object (the caller UNPROTECTs it at the end). */
void blr_table_new(blr_table *t, const blr_layout *lay, const char *source, R_xlen_t cap);
void blr_table_add(blr_table *t, const bl_record_view *rec, const char *record_id);
/* Finish: trim, name the columns, make a data.frame.  Returns t->cols. */
SEXP blr_table_finish(blr_table *t);

SEXP blr_stats_encode(const bl_encode_stats *s);
SEXP blr_stats_match(const bl_match_stats *s);
const char *blr_field_type_name(int type);

#endif
