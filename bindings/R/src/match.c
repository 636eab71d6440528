/* match.c - datasets, models, matching, explanations, link maps, evaluation. */
#include "bloomlink_r.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------- helpers */

static int parse_token(const char *hex, uint8_t token[BL_TOKEN_BYTES])
{
    if (strlen(hex) != 2 * BL_TOKEN_BYTES)
        return -1;
    for (int i = 0; i < BL_TOKEN_BYTES; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + k];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                         : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                : 99u;
            if (d > 15)
                return -1;
            v = v * 16 + d;
        }
        token[i] = (uint8_t)v;
    }
    return 0;
}

/* Warnings from the matcher (capped blocks, ...), which may come from worker
   threads: collected under a mutex into an R_alloc'd buffer and handed back
   to R, which signals them after the call. */
typedef struct blr_log {
    pthread_mutex_t mu;
    char *buf;
    size_t cap, len;
    int count, dropped;
} blr_log;

static void log_init(blr_log *l)
{
    pthread_mutex_init(&l->mu, NULL);
    l->cap = 1 << 16;
    l->buf = R_alloc(l->cap, 1);
    l->buf[0] = '\0';
    l->len = 0;
    l->count = l->dropped = 0;
}

static void log_cb(void *user, bl_log_level level, const char *msg)
{
    blr_log *l = user;
    if (level > BL_LOG_WARN)
        return;
    pthread_mutex_lock(&l->mu);
    size_t n = strlen(msg);
    if (l->len + n + 2 <= l->cap && l->count < 100) {
        memcpy(l->buf + l->len, msg, n);
        l->len += n;
        l->buf[l->len++] = '\n';
        l->buf[l->len] = '\0';
        l->count++;
    } else {
        l->dropped++;
    }
    pthread_mutex_unlock(&l->mu);
}

static SEXP log_result(blr_log *l)
{
    pthread_mutex_destroy(&l->mu);
    SEXP r = PROTECT(Rf_allocVector(STRSXP, l->count + (l->dropped ? 1 : 0)));
    char *p = l->buf;
    for (int i = 0; i < l->count; i++) {
        char *nl = strchr(p, '\n');
        *nl = '\0';
        SET_STRING_ELT(r, i, blr_mkstring(p));
        p = nl + 1;
    }
    if (l->dropped) {
        char b[64];
        snprintf(b, sizeof b, "%d more warnings not shown", l->dropped);
        SET_STRING_ELT(r, l->count, Rf_mkChar(b));
    }
    UNPROTECT(1);
    return r;
}

static uint64_t opt_u64(SEXP opts, const char *name, uint64_t dflt)
{
    SEXP v = blr_list_get(opts, name);
    if (v == R_NilValue)
        return dflt;
    double d = blr_double(v, name);
    if (d < 0 || d > 18446744073709549568.0 || d != (double)(unsigned long long)d)
        blr_misuse("%s must be a non-negative whole number", name);
    return (uint64_t)d;
}

static double opt_double(SEXP opts, const char *name, double dflt)
{
    SEXP v = blr_list_get(opts, name);
    return v == R_NilValue ? dflt : blr_double(v, name);
}

/* Options from a named list (see bl_match_options() in R); strings and the
   log buffer are R_alloc'd. */
static void match_options(SEXP opts, bl_match_options *o, blr_log *log)
{
    bl_match_options_default(o);
    if (opts != R_NilValue && TYPEOF(opts) != VECSXP)
        blr_misuse("options must be a list made by bl_match_options()");
    o->threshold = opt_double(opts, "threshold", o->threshold);
    o->review_low = opt_double(opts, "review_low", o->review_low);
    o->threads = (unsigned)opt_u64(opts, "threads", o->threads);
    o->max_block = (size_t)opt_u64(opts, "max_block", o->max_block);
    o->lsh_bands = (unsigned)opt_u64(opts, "lsh_bands", o->lsh_bands);
    o->lsh_bits = (unsigned)opt_u64(opts, "lsh_bits", o->lsh_bits);
    o->u_sample_pairs = opt_u64(opts, "u_pairs", o->u_sample_pairs);
    o->em_max_iterations = (unsigned)opt_u64(opts, "em_max_iterations", o->em_max_iterations);
    o->em_tolerance = opt_double(opts, "em_tolerance", o->em_tolerance);
    o->seed = opt_u64(opts, "seed", o->seed);
    o->unique_min_probability = opt_double(opts, "unique_min_probability", o->unique_min_probability);
    o->merge_min_support = opt_double(opts, "merge_support", o->merge_min_support);
    SEXP rt = blr_list_get(opts, "retrain");
    o->retrain = rt == R_NilValue ? 0 : blr_flag(rt, "retrain");
    SEXP u = blr_list_get(opts, "unique");
    if (u != R_NilValue && XLENGTH(u) > 0) {
        if (TYPEOF(u) != STRSXP)
            blr_misuse("unique must be a character vector of source names");
        R_xlen_t n = XLENGTH(u);
        const char **names = (const char **)R_alloc((size_t)n, sizeof(char *));
        for (R_xlen_t i = 0; i < n; i++) {
            if (STRING_ELT(u, i) == NA_STRING)
                blr_misuse("unique must not contain NA");
            names[i] = Rf_translateCharUTF8(STRING_ELT(u, i));
        }
        o->unique_sources = names;
        o->unique_source_count = (size_t)n;
    }
    log_init(log);
    o->log = log_cb;
    o->log_user = log;
}

/* ------------------------------------------------------------- dataset */

SEXP C_dataset_new(SEXP files, SEXP progress)
{
    if (TYPEOF(files) != STRSXP || XLENGTH(files) < 1)
        blr_misuse("files must name at least one .ble file");
    R_xlen_t n = XLENGTH(files);
    const char **paths = (const char **)R_alloc((size_t)n, sizeof(char *));
    for (R_xlen_t i = 0; i < n; i++) {
        SEXP one = PROTECT(Rf_ScalarString(STRING_ELT(files, i)));
        paths[i] = blr_path(one, "files");
        UNPROTECT(1);
    }
    blr_progress pr;
    blr_progress_init(&pr, progress);
    SEXP h = PROTECT(blr_handle_new("bl_dataset", blr_fin_dataset, R_NilValue));
    bl_dataset *ds = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dataset_new(&ds, &err);
    R_SetExternalPtrAddr(h, ds);
    for (R_xlen_t i = 0; !st && i < n; i++)
        st = bl_dataset_add_file(ds, paths[i], blr_progress_cb, &pr, &err);
    blr_progress_done(&pr);
    if (st)
        blr_raise_progress(st, &err, &pr);
    UNPROTECT(1);
    return h;
}

SEXP C_dataset_info(SEXP dataset)
{
    static const char *const names[] = {"records", "sources"};
    const bl_dataset *ds = blr_handle_get(dataset, "bl_dataset", "dataset");
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 2));
    SET_VECTOR_ELT(r, 0, Rf_ScalarReal((double)bl_dataset_record_count(ds)));
    R_xlen_t n = (R_xlen_t)bl_dataset_source_count(ds);
    SEXP s = Rf_allocVector(STRSXP, n);
    SET_VECTOR_ELT(r, 1, s);
    for (R_xlen_t i = 0; i < n; i++)
        SET_STRING_ELT(s, i, blr_mkstring(bl_dataset_source_name(ds, (size_t)i)));
    blr_set_names(r, names, 2);
    UNPROTECT(1);
    return r;
}

/* 1-based dataset indices of records (NA where a token is not found). */
SEXP C_dataset_find(SEXP dataset, SEXP source, SEXP tokens)
{
    const bl_dataset *ds = blr_handle_get(dataset, "bl_dataset", "dataset");
    if (TYPEOF(tokens) != STRSXP || TYPEOF(source) != STRSXP)
        blr_misuse("token and source must be character vectors");
    R_xlen_t n = XLENGTH(tokens), ns = XLENGTH(source);
    if (ns != 1 && ns != n)
        blr_misuse("source must have length 1 or the length of token");
    SEXP r = PROTECT(Rf_allocVector(REALSXP, n));
    for (R_xlen_t i = 0; i < n; i++) {
        SEXP t = STRING_ELT(tokens, i), s = STRING_ELT(source, ns == 1 ? 0 : i);
        uint8_t tok[BL_TOKEN_BYTES];
        if (t == NA_STRING || parse_token(CHAR(t), tok)) {
            if (t != NA_STRING)
                blr_misuse("token %lld is not 32 hex digits", (long long)i + 1);
            REAL(r)[i] = NA_REAL;
            continue;
        }
        size_t idx = 0;
        bl_error err;
        bl_error_clear(&err);
        bl_status st = bl_dataset_find(ds, s == NA_STRING ? NULL : Rf_translateCharUTF8(s), tok,
                                       &idx, &err);
        if (st == BL_ENOTFOUND)
            REAL(r)[i] = NA_REAL;
        else if (st)
            blr_raise(st, &err);
        else
            REAL(r)[i] = (double)idx + 1;
    }
    UNPROTECT(1);
    return r;
}

/* --------------------------------------------------------------- model */

SEXP C_model_default(SEXP dataset)
{
    const bl_dataset *ds = blr_handle_get(dataset, "bl_dataset", "dataset");
    SEXP h = PROTECT(blr_handle_new("bl_model", blr_fin_model, R_NilValue));
    bl_model *m = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_model_default(ds, &m, &err);
    R_SetExternalPtrAddr(h, m);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_model_load(SEXP path)
{
    const char *p = blr_path(path, "path");
    SEXP h = PROTECT(blr_handle_new("bl_model", blr_fin_model, R_NilValue));
    bl_model *m = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_model_load(p, &m, &err);
    R_SetExternalPtrAddr(h, m);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_model_parse(SEXP json, SEXP name)
{
    const char *js = blr_string(json, "json");
    const char *nm = blr_string(name, "name");
    SEXP h = PROTECT(blr_handle_new("bl_model", blr_fin_model, R_NilValue));
    bl_model *m = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_model_parse(js, strlen(js), nm, &m, &err);
    R_SetExternalPtrAddr(h, m);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_model_save(SEXP model, SEXP path)
{
    const bl_model *m = blr_handle_get(model, "bl_model", "model");
    const char *p = blr_path(path, "path");
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_model_save(m, p, &err);
    if (st)
        blr_raise(st, &err);
    return R_NilValue;
}

SEXP C_model_json(SEXP model)
{
    const bl_model *m = blr_handle_get(model, "bl_model", "model");
    SEXP buf = PROTECT(blr_handle_new("bl_buffer", blr_fin_free, R_NilValue));
    char *js = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_model_to_json(m, &js, &err);
    R_SetExternalPtrAddr(buf, js);
    if (st)
        blr_raise(st, &err);
    SEXP r = blr_str1(js);
    blr_handle_release(buf);
    UNPROTECT(1);
    return r;
}

SEXP C_model_trained(SEXP model)
{
    const bl_model *m = blr_handle_get(model, "bl_model", "model");
    return Rf_ScalarLogical(bl_model_is_trained(m) != 0);
}

SEXP C_model_train(SEXP model, SEXP dataset, SEXP opts, SEXP progress)
{
    bl_model *m = blr_handle_get(model, "bl_model", "model");
    const bl_dataset *ds = blr_handle_get(dataset, "bl_dataset", "dataset");
    bl_match_options o;
    blr_log log;
    match_options(opts, &o, &log);
    blr_progress pr;
    blr_progress_init(&pr, progress);
    bl_match_stats stats;
    memset(&stats, 0, sizeof stats);
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_model_train(m, ds, &o, blr_progress_cb, &pr, &stats, &err);
    blr_progress_done(&pr);
    if (st)
        blr_raise_progress(st, &err, &pr);
    static const char *const names[] = {"stats", "warnings"};
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 2));
    SET_VECTOR_ELT(r, 0, blr_stats_match(&stats));
    SET_VECTOR_ELT(r, 1, log_result(&log));
    blr_set_names(r, names, 2);
    UNPROTECT(1);
    return r;
}

/* ------------------------------------------------------------ link maps */

static SEXP linkmap_frame(const bl_linkmap *lm)
{
    static const char *const names[] = {"source", "record_token", "entity_id",
                                        "match_probability", "entity_size"};
    R_xlen_t n = (R_xlen_t)bl_linkmap_count(lm);
    SEXP cols = PROTECT(Rf_allocVector(VECSXP, 5));
    SEXP src = Rf_allocVector(STRSXP, n);
    SET_VECTOR_ELT(cols, 0, src);
    SEXP tok = Rf_allocVector(STRSXP, n);
    SET_VECTOR_ELT(cols, 1, tok);
    SEXP eid = Rf_allocVector(REALSXP, n);
    SET_VECTOR_ELT(cols, 2, eid);
    SEXP prob = Rf_allocVector(REALSXP, n);
    SET_VECTOR_ELT(cols, 3, prob);
    SEXP size = Rf_allocVector(INTSXP, n);
    SET_VECTOR_ELT(cols, 4, size);
    for (R_xlen_t i = 0; i < n; i++) {
        bl_linkmap_entry e;
        bl_error err;
        bl_error_clear(&err);
        bl_status st = bl_linkmap_get(lm, (size_t)i, &e, &err);
        if (st)
            blr_raise(st, &err);
        char hex[2 * BL_TOKEN_BYTES + 1];
        blr_hex(e.token, BL_TOKEN_BYTES, hex);
        SET_STRING_ELT(src, i, blr_mkstring(e.source));
        SET_STRING_ELT(tok, i, Rf_mkChar(hex));
        REAL(eid)[i] = (double)e.entity_id;
        REAL(prob)[i] = e.match_probability;
        INTEGER(size)[i] = (int)e.entity_size;
    }
    blr_set_names(cols, names, 5);
    UNPROTECT(1);
    return blr_as_data_frame(cols, n);
}

static SEXP review_frame(const bl_linkmap *lm)
{
    static const char *const names[] = {"source_a",     "record_token_a",    "source_b",
                                        "record_token_b", "match_weight",    "match_probability",
                                        "reason"};
    R_xlen_t n = (R_xlen_t)bl_linkmap_review_count(lm);
    SEXP cols = PROTECT(Rf_allocVector(VECSXP, 7));
    for (int c = 0; c < 7; c++)
        SET_VECTOR_ELT(cols, c, Rf_allocVector(c == 4 || c == 5 ? REALSXP : STRSXP, n));
    for (R_xlen_t i = 0; i < n; i++) {
        bl_review_pair p;
        bl_error err;
        bl_error_clear(&err);
        bl_status st = bl_linkmap_review_get(lm, (size_t)i, &p, &err);
        if (st)
            blr_raise(st, &err);
        char ha[2 * BL_TOKEN_BYTES + 1], hb[2 * BL_TOKEN_BYTES + 1];
        blr_hex(p.token_a, BL_TOKEN_BYTES, ha);
        blr_hex(p.token_b, BL_TOKEN_BYTES, hb);
        SET_STRING_ELT(VECTOR_ELT(cols, 0), i, blr_mkstring(p.source_a));
        SET_STRING_ELT(VECTOR_ELT(cols, 1), i, Rf_mkChar(ha));
        SET_STRING_ELT(VECTOR_ELT(cols, 2), i, blr_mkstring(p.source_b));
        SET_STRING_ELT(VECTOR_ELT(cols, 3), i, Rf_mkChar(hb));
        REAL(VECTOR_ELT(cols, 4))[i] = p.weight;
        REAL(VECTOR_ELT(cols, 5))[i] = p.probability;
        SET_STRING_ELT(VECTOR_ELT(cols, 6), i, blr_mkstring(p.reason));
    }
    blr_set_names(cols, names, 7);
    UNPROTECT(1);
    return blr_as_data_frame(cols, n);
}

SEXP C_match(SEXP dataset, SEXP model, SEXP opts, SEXP out, SEXP review_out, SEXP progress)
{
    const bl_dataset *ds = blr_handle_get(dataset, "bl_dataset", "dataset");
    const char *outp = blr_opt_path(out, "out");
    const char *revp = blr_opt_path(review_out, "review_out");
    bl_match_options o;
    blr_log log;
    match_options(opts, &o, &log);
    blr_progress pr;
    blr_progress_init(&pr, progress);
    int nprot = 0;
    if (model == R_NilValue) {
        model = PROTECT(C_model_default(dataset));
        nprot++;
    }
    bl_model *m = blr_handle_get(model, "bl_model", "model");
    SEXP lmh = PROTECT(blr_handle_new("bl_linkmap", blr_fin_linkmap, R_NilValue));
    nprot++;
    bl_linkmap *lm = NULL;
    bl_match_stats stats;
    memset(&stats, 0, sizeof stats);
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_match_run(ds, m, &o, blr_progress_cb, &pr, &lm, &stats, &err);
    R_SetExternalPtrAddr(lmh, lm);
    blr_progress_done(&pr);
    if (st)
        blr_raise_progress(st, &err, &pr);
    if (outp && (st = bl_linkmap_write_csv(lm, outp, &err)) != BL_OK)
        blr_raise(st, &err);
    if (revp && (st = bl_linkmap_write_review_csv(lm, revp, &err)) != BL_OK)
        blr_raise(st, &err);
    SEXP buf = PROTECT(blr_handle_new("bl_buffer", blr_fin_free, R_NilValue));
    nprot++;
    char *rep = NULL;
    st = bl_linkmap_report_json(lm, &rep, &err);
    R_SetExternalPtrAddr(buf, rep);
    if (st)
        blr_raise(st, &err);

    static const char *const names[] = {"linkmap", "review", "stats", "model", "warnings",
                                        "report"};
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 6));
    nprot++;
    SET_VECTOR_ELT(r, 0, linkmap_frame(lm));
    SET_VECTOR_ELT(r, 1, review_frame(lm));
    SET_VECTOR_ELT(r, 2, blr_stats_match(&stats));
    SET_VECTOR_ELT(r, 3, model);
    SET_VECTOR_ELT(r, 4, log_result(&log));
    SET_VECTOR_ELT(r, 5, blr_str1(rep));
    blr_set_names(r, names, 6);
    blr_handle_release(buf);
    blr_handle_release(lmh);
    UNPROTECT(nprot);
    return r;
}

SEXP C_linkmap_read(SEXP path, SEXP review)
{
    const char *p = blr_path(path, "path");
    const char *rp = blr_opt_path(review, "review");
    SEXP h = PROTECT(blr_handle_new("bl_linkmap", blr_fin_linkmap, R_NilValue));
    bl_linkmap *lm = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_linkmap_read_csv(p, rp, &lm, &err);
    R_SetExternalPtrAddr(h, lm);
    if (st)
        blr_raise(st, &err);
    static const char *const names[] = {"linkmap", "review"};
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 2));
    SET_VECTOR_ELT(r, 0, linkmap_frame(lm));
    SET_VECTOR_ELT(r, 1, review_frame(lm));
    blr_set_names(r, names, 2);
    blr_handle_release(h);
    UNPROTECT(2);
    return r;
}

/* ------------------------------------------------------------- explain */

SEXP C_explain(SEXP dataset, SEXP model, SEXP a, SEXP b, SEXP opts)
{
    const bl_dataset *ds = blr_handle_get(dataset, "bl_dataset", "dataset");
    bl_model *m = blr_handle_get(model, "bl_model", "model");
    double da = blr_double(a, "a"), db = blr_double(b, "b");
    double n = (double)bl_dataset_record_count(ds);
    if (da < 1 || da > n || db < 1 || db > n || da != (double)(size_t)da || db != (double)(size_t)db)
        blr_misuse("record indices must be between 1 and %.0f", n);
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    int trained = 0;
    if (!bl_model_is_trained(m)) {
        bl_match_options o;
        blr_log log;
        match_options(opts, &o, &log);
        st = bl_model_train(m, ds, &o, NULL, NULL, NULL, &err);
        pthread_mutex_destroy(&log.mu);
        if (st)
            blr_raise(st, &err);
        trained = 1;
    }
    bl_explanation ex;
    st = bl_explain_pair(ds, m, (size_t)da - 1, (size_t)db - 1, &ex, &err);
    if (st)
        blr_raise(st, &err);

    /* waterfall: (prior), one row per field, (related) */
    static const char *const cn[] = {"step", "level", "dice", "m", "u", "weight",
                                     "tf_adjustment", "running_weight"};
    R_xlen_t rows = (R_xlen_t)ex.field_count + 2;
    SEXP cols = PROTECT(Rf_allocVector(VECSXP, 8));
    for (int c = 0; c < 8; c++)
        SET_VECTOR_ELT(cols, c, Rf_allocVector(c < 2 ? STRSXP : REALSXP, rows));
    double run = ex.prior_weight;
#define ROW(i, stepname, lvl, dice, mm, uu, w, tf)                                                  \
    do {                                                                                           \
        SET_STRING_ELT(VECTOR_ELT(cols, 0), i, blr_mkstring(stepname));                            \
        SET_STRING_ELT(VECTOR_ELT(cols, 1), i, (lvl) ? blr_mkstring(lvl) : NA_STRING);             \
        REAL(VECTOR_ELT(cols, 2))[i] = (dice);                                                     \
        REAL(VECTOR_ELT(cols, 3))[i] = (mm);                                                       \
        REAL(VECTOR_ELT(cols, 4))[i] = (uu);                                                       \
        REAL(VECTOR_ELT(cols, 5))[i] = (w);                                                        \
        REAL(VECTOR_ELT(cols, 6))[i] = (tf);                                                       \
        REAL(VECTOR_ELT(cols, 7))[i] = run;                                                        \
    } while (0)
    ROW(0, "(prior)", NULL, NA_REAL, NA_REAL, NA_REAL, ex.prior_weight, 0.0);
    for (size_t f = 0; f < ex.field_count; f++) {
        const bl_field_evidence *e = &ex.fields[f];
        run += e->weight + e->tf_adjustment;
        int missing = e->level == 0;
        ROW((R_xlen_t)f + 1, e->field, e->level_name, missing ? NA_REAL : e->dice,
            missing ? NA_REAL : e->m, missing ? NA_REAL : e->u, e->weight, e->tf_adjustment);
    }
    run += ex.related_adjustment;
    ROW(rows - 1, "(related)", NULL, NA_REAL, NA_REAL, NA_REAL, ex.related_adjustment, 0.0);
#undef ROW
    blr_set_names(cols, cn, 8);
    static const char *const names[] = {"waterfall", "prior_weight", "related_adjustment",
                                        "weight", "probability", "trained"};
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 6));
    SET_VECTOR_ELT(r, 0, blr_as_data_frame(cols, rows));
    SET_VECTOR_ELT(r, 1, Rf_ScalarReal(ex.prior_weight));
    SET_VECTOR_ELT(r, 2, Rf_ScalarReal(ex.related_adjustment));
    SET_VECTOR_ELT(r, 3, Rf_ScalarReal(ex.weight));
    SET_VECTOR_ELT(r, 4, Rf_ScalarReal(ex.probability));
    SET_VECTOR_ELT(r, 5, Rf_ScalarLogical(trained));
    blr_set_names(r, names, 6);
    UNPROTECT(2);
    return r;
}

/* ------------------------------------------------------------ evaluate */

static void counts_row(SEXP cols, R_xlen_t i, const char *name, const bl_eval_counts *c)
{
    SET_STRING_ELT(VECTOR_ELT(cols, 0), i, blr_mkstring(name));
    REAL(VECTOR_ELT(cols, 1))[i] = c->precision;
    REAL(VECTOR_ELT(cols, 2))[i] = c->recall;
    REAL(VECTOR_ELT(cols, 3))[i] = c->f1;
    REAL(VECTOR_ELT(cols, 4))[i] = (double)c->true_positive;
    REAL(VECTOR_ELT(cols, 5))[i] = (double)c->predicted;
    REAL(VECTOR_ELT(cols, 6))[i] = (double)c->actual;
}

static SEXP counts_frame(R_xlen_t n)
{
    static const char *const names[] = {"pair", "precision", "recall", "f1",
                                        "true_positive", "predicted", "actual"};
    SEXP cols = PROTECT(Rf_allocVector(VECSXP, 7));
    for (int c = 0; c < 7; c++)
        SET_VECTOR_ELT(cols, c, Rf_allocVector(c ? REALSXP : STRSXP, n));
    blr_set_names(cols, names, 7);
    UNPROTECT(1);
    return cols;
}

SEXP C_evaluate(SEXP truth, SEXP sources, SEXP paths, SEXP linkmap)
{
    const char *tp = blr_path(truth, "truth");
    const char *lp = blr_path(linkmap, "linkmap");
    if (TYPEOF(sources) != STRSXP || TYPEOF(paths) != STRSXP || XLENGTH(sources) != XLENGTH(paths) ||
        XLENGTH(sources) < 1)
        blr_misuse("id_maps must be a named character vector: source = file");
    size_t n = (size_t)XLENGTH(sources);
    const char **srcs = (const char **)R_alloc(n, sizeof(char *));
    const char **files = (const char **)R_alloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        if (STRING_ELT(sources, (R_xlen_t)i) == NA_STRING)
            blr_misuse("id_maps must name a source for every file");
        srcs[i] = Rf_translateCharUTF8(STRING_ELT(sources, (R_xlen_t)i));
        SEXP one = PROTECT(Rf_ScalarString(STRING_ELT(paths, (R_xlen_t)i)));
        files[i] = blr_path(one, "id_maps");
        UNPROTECT(1);
    }
    SEXP h = PROTECT(blr_handle_new("bl_evaluation", blr_fin_evaluation, R_NilValue));
    bl_evaluation *ev = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_evaluate_files(tp, srcs, files, n, lp, &ev, &err);
    R_SetExternalPtrAddr(h, ev);
    if (st)
        blr_raise(st, &err);
    SEXP buf = PROTECT(blr_handle_new("bl_buffer", blr_fin_free, R_NilValue));
    char *js = NULL;
    st = bl_evaluation_to_json(ev, &js, &err);
    R_SetExternalPtrAddr(buf, js);
    if (st)
        blr_raise(st, &err);

    bl_eval_counts c;
    SEXP overall = PROTECT(counts_frame(1));
    bl_evaluation_overall(ev, &c);
    counts_row(overall, 0, "overall", &c);
    R_xlen_t np = (R_xlen_t)bl_evaluation_pair_count(ev);
    SEXP pairs = PROTECT(counts_frame(np));
    for (R_xlen_t i = 0; i < np; i++) {
        bl_evaluation_pair(ev, (size_t)i, &c);
        counts_row(pairs, i, bl_evaluation_pair_name(ev, (size_t)i), &c);
    }
    static const char *const names[] = {"overall", "by_source_pair", "split_persons",
                                        "merged_entities", "json"};
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 5));
    SET_VECTOR_ELT(r, 0, blr_as_data_frame(overall, 1));
    SET_VECTOR_ELT(r, 1, blr_as_data_frame(pairs, np));
    SET_VECTOR_ELT(r, 2, Rf_ScalarReal((double)bl_evaluation_split_persons(ev)));
    SET_VECTOR_ELT(r, 3, Rf_ScalarReal((double)bl_evaluation_merged_entities(ev)));
    SET_VECTOR_ELT(r, 4, blr_str1(js));
    blr_set_names(r, names, 5);
    blr_handle_release(buf);
    blr_handle_release(h);
    UNPROTECT(5);
    return r;
}
