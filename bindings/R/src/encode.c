/* encode.c - encoder, .ble reader, Dice, kernels and synthetic data. */
#include "bloomlink_r.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------- encoder */

SEXP C_encoder_new(SEXP schema, SEXP profile, SEXP key)
{
    const bl_schema *s = blr_handle_get(schema, "bl_schema", "schema");
    const bl_profile *p = blr_handle_get(profile, "bl_profile", "profile");
    const bl_key *k = blr_handle_get(key, "bl_key", "key");
    /* the encoder borrows all three: its handle keeps them alive */
    SEXP keep = PROTECT(Rf_allocVector(VECSXP, 3));
    SET_VECTOR_ELT(keep, 0, schema);
    SET_VECTOR_ELT(keep, 1, profile);
    SET_VECTOR_ELT(keep, 2, key);
    SEXP h = PROTECT(blr_handle_new("bl_encoder", blr_fin_encoder, keep));
    bl_encoder *e = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_encoder_new(s, p, k, &e, &err);
    R_SetExternalPtrAddr(h, e);
    if (st)
        blr_raise(st, &err);
    for (int i = 0; i < 3; i++)
        blr_handle_borrow(VECTOR_ELT(keep, i), +1);
    UNPROTECT(2);
    return h;
}

static const bl_schema *encoder_schema(SEXP encoder)
{
    SEXP keep = blr_handle_deps(encoder);
    return blr_handle_get(VECTOR_ELT(keep, 0), "bl_schema", "the encoder's schema");
}

static const bl_profile *encoder_profile(SEXP encoder)
{
    SEXP keep = blr_handle_deps(encoder);
    return blr_handle_get(VECTOR_ELT(keep, 1), "bl_profile", "the encoder's profile");
}

SEXP C_encoder_info(SEXP encoder)
{
    static const char *const names[] = {"source", "record_id_column", "key_fingerprint"};
    const bl_encoder *e = blr_handle_get(encoder, "bl_encoder", "encoder");
    const bl_profile *p = encoder_profile(encoder);
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 3));
    SET_VECTOR_ELT(r, 0, blr_str1(bl_profile_source(p)));
    SET_VECTOR_ELT(r, 1, blr_str1(bl_profile_record_id_column(p)));
    SET_VECTOR_ELT(r, 2, blr_str1(bl_encoder_key_fingerprint(e)));
    blr_set_names(r, names, 3);
    UNPROTECT(1);
    return r;
}

static void schema_layout(const bl_schema *s, blr_layout *l)
{
    memset(l, 0, sizeof *l);
    l->field_count = bl_schema_field_count(s);
    for (size_t i = 0; i < l->field_count && i < BL_MAX_FIELDS; i++) {
        l->field_names[i] = bl_schema_field_name(s, i);
        l->field_words[i] = bl_schema_field_bits(s, i) / 64;
    }
    l->clk_words = bl_schema_clk_bits(s) / 64;
    l->bk_count = bl_schema_blocking_key_count(s);
    l->bk_names = (const char **)R_alloc(l->bk_count + 1, sizeof(char *));
    for (size_t i = 0; i < l->bk_count; i++)
        l->bk_names[i] = bl_schema_blocking_key_name(s, i);
}

/* Encode rows given as character columns.  Rows without a record id are
   skipped and counted as rejected, as the CSV path does. */
SEXP C_encode_rows(SEXP encoder, SEXP columns, SEXP data, SEXP id_col, SEXP hex)
{
    bl_encoder *e = blr_handle_get(encoder, "bl_encoder", "encoder");
    const bl_schema *s = encoder_schema(encoder);
    const bl_profile *p = encoder_profile(encoder);
    if (TYPEOF(columns) != STRSXP || TYPEOF(data) != VECSXP || XLENGTH(columns) != XLENGTH(data))
        blr_misuse("data must be a list of character columns with names");
    size_t ncol = (size_t)XLENGTH(columns);
    int id = blr_int(id_col, "id_col");
    if (id < 0 || (size_t)id >= ncol)
        blr_misuse("data has no record id column");
    R_xlen_t n = ncol ? XLENGTH(VECTOR_ELT(data, 0)) : 0;
    for (size_t j = 0; j < ncol; j++)
        if (TYPEOF(VECTOR_ELT(data, (R_xlen_t)j)) != STRSXP || XLENGTH(VECTOR_ELT(data, (R_xlen_t)j)) != n)
            blr_misuse("data must be a list of character columns of equal length");
    blr_layout lay;
    schema_layout(s, &lay);
    lay.hex = blr_flag(hex, "hex");
    lay.with_id = 1;
    const char **cols = (const char **)R_alloc(ncol + 1, sizeof(char *));
    const char **vals = (const char **)R_alloc(ncol + 1, sizeof(char *));
    for (size_t j = 0; j < ncol; j++)
        cols[j] = Rf_translateCharUTF8(STRING_ELT(columns, (R_xlen_t)j));

    blr_table t;
    blr_table_new(&t, &lay, bl_profile_source(p), n);
    bl_encode_stats stats;
    memset(&stats, 0, sizeof stats);
    for (R_xlen_t i = 0; i < n; i++) {
        if ((i & 1023) == 1023)
            R_CheckUserInterrupt(); /* safe: the encoder is owned by its handle */
        const void *vmax = vmaxget();
        for (size_t j = 0; j < ncol; j++) {
            SEXP v = STRING_ELT(VECTOR_ELT(data, (R_xlen_t)j), i);
            vals[j] = v == NA_STRING ? "" : Rf_translateCharUTF8(v);
        }
        stats.records_read++;
        if (!vals[id][0]) {
            stats.records_rejected++;
            vmaxset(vmax);
            continue;
        }
        const bl_record_view *rec = NULL;
        bl_error err;
        bl_error_clear(&err);
        bl_status st = bl_encoder_encode_row(e, cols, vals, ncol, &rec, &stats, &err);
        if (st) {
            if (err.record < 0)
                err.record = (long long)i + 1;
            if (!err.source[0] || !strcmp(err.source, "<row>"))
                snprintf(err.source, sizeof err.source, "row %lld", (long long)i + 1);
            blr_raise(st, &err);
        }
        blr_table_add(&t, rec, vals[id]);
        stats.records_encoded++;
        vmaxset(vmax);
    }
    SEXP df = PROTECT(blr_table_finish(&t));
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 2));
    SET_VECTOR_ELT(r, 0, df);
    SET_VECTOR_ELT(r, 1, blr_stats_encode(&stats));
    UNPROTECT(3);
    return r;
}

SEXP C_encode_csv(SEXP encoder, SEXP in, SEXP out, SEXP content, SEXP idmap, SEXP progress)
{
    bl_encoder *e = blr_handle_get(encoder, "bl_encoder", "encoder");
    const char *inp = blr_path(in, "input");
    const char *outp = blr_path(out, "output");
    const char *cp = blr_opt_path(content, "content");
    const char *ip = blr_opt_path(idmap, "id_map");
    blr_progress pr;
    blr_progress_init(&pr, progress);
    bl_encode_stats stats;
    memset(&stats, 0, sizeof stats);
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_encoder_encode_csv(e, inp, outp, cp, ip, blr_progress_cb, &pr, &stats, &err);
    blr_progress_done(&pr);
    if (st)
        blr_raise_progress(st, &err, &pr);
    return blr_stats_encode(&stats);
}

SEXP C_record_token(SEXP encoder, SEXP ids)
{
    const bl_encoder *e = blr_handle_get(encoder, "bl_encoder", "encoder");
    if (TYPEOF(ids) != STRSXP)
        blr_misuse("record_id must be a character vector");
    R_xlen_t n = XLENGTH(ids);
    SEXP r = PROTECT(Rf_allocVector(STRSXP, n));
    for (R_xlen_t i = 0; i < n; i++) {
        SEXP v = STRING_ELT(ids, i);
        if (v == NA_STRING) {
            SET_STRING_ELT(r, i, NA_STRING);
            continue;
        }
        char hex[2 * BL_TOKEN_BYTES + 1];
        bl_error err;
        bl_error_clear(&err);
        bl_status st = bl_encoder_record_token(e, Rf_translateCharUTF8(v), hex, &err);
        if (st)
            blr_raise(st, &err);
        SET_STRING_ELT(r, i, Rf_mkChar(hex));
    }
    UNPROTECT(1);
    return r;
}

/* ---------------------------------------------------------- .ble files */

static SEXP header_list(const bl_encfile_info *h, double records)
{
    static const char *const names[] = {"version", "source", "schema_fingerprint",
                                        "key_fingerprint", "record_count", "fields", "clk_bits",
                                        "blocking_keys", "record_bytes"};
    static const char *const fnames[] = {"name", "type", "bits"};
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 9));
    char v[32];
    snprintf(v, sizeof v, "%u.%u", h->version_major, h->version_minor);
    SET_VECTOR_ELT(r, 0, blr_str1(v));
    SET_VECTOR_ELT(r, 1, blr_str1(h->source));
    SET_VECTOR_ELT(r, 2, blr_str1(h->schema_fingerprint));
    SET_VECTOR_ELT(r, 3, blr_str1(h->key_fingerprint));
    SET_VECTOR_ELT(r, 4, Rf_ScalarReal(records));
    R_xlen_t n = (R_xlen_t)h->field_count;
    SEXP f = PROTECT(Rf_allocVector(VECSXP, 3));
    SEXP fname = Rf_allocVector(STRSXP, n);
    SET_VECTOR_ELT(f, 0, fname);
    SEXP ftype = Rf_allocVector(STRSXP, n);
    SET_VECTOR_ELT(f, 1, ftype);
    SEXP fbits = Rf_allocVector(REALSXP, n);
    SET_VECTOR_ELT(f, 2, fbits);
    for (R_xlen_t i = 0; i < n; i++) {
        SET_STRING_ELT(fname, i, blr_mkstring(h->field_names[i]));
        SET_STRING_ELT(ftype, i, Rf_mkChar(blr_field_type_name(h->field_types[i])));
        REAL(fbits)[i] = (double)h->field_bits[i];
    }
    blr_set_names(f, fnames, 3);
    SET_VECTOR_ELT(r, 5, blr_as_data_frame(f, n));
    UNPROTECT(1);
    SET_VECTOR_ELT(r, 6, Rf_ScalarReal((double)h->clk_bits));
    SEXP bk = Rf_allocVector(STRSXP, (R_xlen_t)h->blocking_key_count);
    SET_VECTOR_ELT(r, 7, bk);
    for (size_t i = 0; i < h->blocking_key_count; i++)
        SET_STRING_ELT(bk, (R_xlen_t)i, blr_mkstring(h->blocking_key_names[i]));
    SET_VECTOR_ELT(r, 8, Rf_ScalarReal((double)h->record_bytes));
    blr_set_names(r, names, 9);
    UNPROTECT(1);
    return r;
}

SEXP C_read_ble(SEXP path, SEXP hex, SEXP header_only)
{
    const char *p = blr_path(path, "path");
    int hx = blr_flag(hex, "hex");
    int only = blr_flag(header_only, "header_only");
    SEXP h = PROTECT(blr_handle_new("bl_encfile", blr_fin_encfile, R_NilValue));
    bl_encfile_reader *r = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_encfile_open(p, &r, &err);
    R_SetExternalPtrAddr(h, r);
    if (st)
        blr_raise(st, &err);
    const bl_encfile_info *info = bl_encfile_header(r);
    if (info->field_count > BL_MAX_FIELDS)
        blr_misuse("%s: more than %d fields", p, BL_MAX_FIELDS);
    if (only) {
        SEXP hl = header_list(info, (double)info->record_count);
        blr_handle_release(h);
        UNPROTECT(1);
        return hl;
    }
    blr_layout lay;
    memset(&lay, 0, sizeof lay);
    lay.field_count = info->field_count;
    for (size_t i = 0; i < lay.field_count; i++) {
        lay.field_names[i] = info->field_names[i];
        lay.field_words[i] = info->field_bits[i] / 64;
    }
    lay.clk_words = info->clk_bits / 64;
    lay.bk_count = info->blocking_key_count;
    lay.bk_names = (const char **)info->blocking_key_names;
    lay.hex = hx;
    blr_table t;
    blr_table_new(&t, &lay, info->source, (R_xlen_t)(info->record_count ? info->record_count : 1024));
    for (;;) {
        const bl_record_view *rec = NULL;
        st = bl_encfile_next(r, &rec, &err);
        if (st)
            blr_raise(st, &err);
        if (!rec)
            break;
        blr_table_add(&t, rec, NULL);
        if ((t.n & 4095) == 4095)
            R_CheckUserInterrupt();
    }
    SEXP df = PROTECT(blr_table_finish(&t));
    SEXP res = PROTECT(Rf_allocVector(VECSXP, 2));
    SET_VECTOR_ELT(res, 0, df);
    SET_VECTOR_ELT(res, 1, header_list(info, (double)t.n));
    blr_handle_release(h);
    UNPROTECT(4);
    return res;
}

/* ------------------------------------------------------------------ Dice */

/* Filter i of x: a list of raw vectors or a character vector of hex. */
static const uint8_t *filter_bytes(SEXP x, R_xlen_t i, size_t *len, const char *what)
{
    if (TYPEOF(x) == VECSXP) {
        SEXP v = VECTOR_ELT(x, i);
        if (TYPEOF(v) != RAWSXP)
            blr_misuse("%s[[%lld]] is not a raw vector", what, (long long)i + 1);
        *len = (size_t)XLENGTH(v);
        return RAW(v);
    }
    SEXP s = STRING_ELT(x, i);
    if (s == NA_STRING)
        return NULL;
    const char *h = CHAR(s);
    size_t n = strlen(h);
    if (n % 2)
        blr_misuse("%s[%lld] has an odd number of hex digits", what, (long long)i + 1);
    uint8_t *b = (uint8_t *)R_alloc(n / 2 + 1, 1);
    for (size_t k = 0; k < n / 2; k++) {
        unsigned v = 0;
        for (int d = 0; d < 2; d++) {
            char c = h[2 * k + (size_t)d];
            unsigned x4 = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                          : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                          : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                 : 99u;
            if (x4 > 15)
                blr_misuse("%s[%lld] is not hex", what, (long long)i + 1);
            v = v * 16 + x4;
        }
        b[k] = (uint8_t)v;
    }
    *len = n / 2;
    return b;
}

SEXP C_dice(SEXP a, SEXP b)
{
    if ((TYPEOF(a) != VECSXP && TYPEOF(a) != STRSXP) || (TYPEOF(b) != VECSXP && TYPEOF(b) != STRSXP))
        blr_misuse("filters must be raw vectors, lists of raw vectors or hex strings");
    R_xlen_t na = XLENGTH(a), nb = XLENGTH(b);
    R_xlen_t n = na > nb ? na : nb;
    if (na == 0 || nb == 0)
        n = 0;
    else if (na != nb && na != 1 && nb != 1)
        blr_misuse("a and b have different lengths (%lld and %lld)", (long long)na, (long long)nb);
    SEXP r = PROTECT(Rf_allocVector(REALSXP, n));
    for (R_xlen_t i = 0; i < n; i++) {
        const void *vmax = vmaxget();
        size_t la = 0, lb = 0;
        const uint8_t *pa = filter_bytes(a, na == 1 ? 0 : i, &la, "a");
        const uint8_t *pb = filter_bytes(b, nb == 1 ? 0 : i, &lb, "b");
        if (!pa || !pb) {
            REAL(r)[i] = NA_REAL;
            vmaxset(vmax);
            continue;
        }
        if (la != lb)
            blr_misuse("filters %lld differ in length (%zu and %zu bytes)", (long long)i + 1, la, lb);
        if (la % 8)
            blr_misuse("filter %lld is %zu bytes, not a whole number of 64-bit words",
                       (long long)i + 1, la);
        size_t words = la / 8;
        uint64_t *wa = (uint64_t *)R_alloc(words + 1, sizeof(uint64_t));
        uint64_t *wb = (uint64_t *)R_alloc(words + 1, sizeof(uint64_t));
        blr_bytes_to_words(pa, words, wa);
        blr_bytes_to_words(pb, words, wb);
        REAL(r)[i] = bl_dice(wa, wb, words);
        vmaxset(vmax);
    }
    UNPROTECT(1);
    return r;
}

static bl_kernel kernel_of(SEXP name)
{
    const char *k = blr_string(name, "kernel");
    if (!strcmp(k, "auto"))
        return BL_KERNEL_AUTO;
    if (!strcmp(k, "scalar"))
        return BL_KERNEL_SCALAR;
    if (!strcmp(k, "avx2"))
        return BL_KERNEL_AVX2;
    if (!strcmp(k, "avx512"))
        return BL_KERNEL_AVX512;
    blr_misuse("unknown kernel '%s' (auto, scalar, avx2 or avx512)", k);
}

SEXP C_kernel(void)
{
    return blr_str1(bl_kernel_name());
}

SEXP C_kernel_available(SEXP name)
{
    return Rf_ScalarLogical(bl_kernel_available(kernel_of(name)) != 0);
}

SEXP C_kernel_set(SEXP name)
{
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_set_kernel(kernel_of(name), &err);
    if (st)
        blr_raise(st, &err);
    return blr_str1(bl_kernel_name());
}

/* ------------------------------------------------------------ synthetic */

SEXP C_synth(SEXP dir, SEXP people, SEXP seed, SEXP error_rate, SEXP progress)
{
    const char *d = blr_path(dir, "dir");
    bl_synth_options opt;
    bl_synth_options_default(&opt);
    double pp = blr_double(people, "people"), sd = blr_double(seed, "seed");
    if (pp < 1 || pp > 1e9 || pp != (double)(long long)pp)
        blr_misuse("people must be a whole number from 1");
    if (sd < 0 || sd > 9007199254740992.0 || sd != (double)(long long)sd)
        blr_misuse("seed must be a non-negative whole number");
    opt.people = (uint64_t)pp;
    opt.seed = (uint64_t)sd;
    opt.error_rate = blr_double(error_rate, "error_rate");
    blr_progress pr;
    blr_progress_init(&pr, progress);
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_synth_write(&opt, d, blr_progress_cb, &pr, &err);
    blr_progress_done(&pr);
    if (st)
        blr_raise_progress(st, &err, &pr);
    return R_NilValue;
}
