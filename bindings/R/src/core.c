/* core.c - version, keys, schemas, profiles and the CSV reader. */
#include "bloomlink_r.h"

#include <string.h>

SEXP C_version(void)
{
    static const char *const names[] = {"string", "number", "header_string", "header_number"};
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 4));
    SET_VECTOR_ELT(r, 0, blr_str1(bl_version_string()));
    SET_VECTOR_ELT(r, 1, Rf_ScalarReal((double)bl_version_number()));
    SET_VECTOR_ELT(r, 2, blr_str1(BL_VERSION_STRING));
    SET_VECTOR_ELT(r, 3, Rf_ScalarReal((double)BL_VERSION_HEX));
    blr_set_names(r, names, 4);
    UNPROTECT(1);
    return r;
}

SEXP C_live_handles(void)
{
    return Rf_ScalarReal((double)bl_debug_live_handles());
}

SEXP C_release(SEXP x)
{
    blr_handle_release(x);
    return R_NilValue;
}

SEXP C_handle_alive(SEXP x)
{
    return Rf_ScalarLogical(TYPEOF(x) == EXTPTRSXP && R_ExternalPtrAddr(x) != NULL);
}

/* ---------------------------------------------------------------- keys */

SEXP C_key_generate(SEXP path, SEXP overwrite)
{
    const char *p = blr_path(path, "path");
    int ow = blr_flag(overwrite, "overwrite");
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_key_generate_file(p, ow, &err);
    if (st)
        blr_raise(st, &err);
    return R_NilValue;
}

SEXP C_key_load(SEXP path)
{
    const char *p = blr_path(path, "path");
    SEXP h = PROTECT(blr_handle_new("bl_key", blr_fin_key, R_NilValue));
    bl_key *k = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_key_load(p, &k, &err);
    R_SetExternalPtrAddr(h, k);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_key_from_raw(SEXP bytes)
{
    if (TYPEOF(bytes) != RAWSXP)
        blr_misuse("bytes must be a raw vector");
    SEXP h = PROTECT(blr_handle_new("bl_key", blr_fin_key, R_NilValue));
    bl_key *k = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_key_from_bytes(RAW(bytes), (size_t)XLENGTH(bytes), &k, &err);
    R_SetExternalPtrAddr(h, k);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_key_fingerprint(SEXP key)
{
    const bl_key *k = blr_handle_get(key, "bl_key", "key");
    char hex[BL_FINGERPRINT_HEX + 1];
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_key_fingerprint(k, hex, &err);
    if (st)
        blr_raise(st, &err);
    return blr_str1(hex);
}

/* -------------------------------------------------------------- schema */

SEXP C_schema_load(SEXP path)
{
    const char *p = blr_path(path, "path");
    SEXP h = PROTECT(blr_handle_new("bl_schema", blr_fin_schema, R_NilValue));
    bl_schema *s = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_schema_load(p, &s, &err);
    R_SetExternalPtrAddr(h, s);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_schema_parse(SEXP json, SEXP name)
{
    const char *js = blr_string(json, "json");
    const char *nm = blr_string(name, "name");
    SEXP h = PROTECT(blr_handle_new("bl_schema", blr_fin_schema, R_NilValue));
    bl_schema *s = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_schema_parse(js, strlen(js), nm, &s, &err);
    R_SetExternalPtrAddr(h, s);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_schema_default(void)
{
    SEXP h = PROTECT(blr_handle_new("bl_schema", blr_fin_schema, R_NilValue));
    bl_schema *s = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_schema_default(&s, &err);
    R_SetExternalPtrAddr(h, s);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_schema_default_json(void)
{
    return blr_str1(bl_schema_default_json());
}

SEXP C_schema_info(SEXP schema)
{
    static const char *const names[] = {"fingerprint", "fields", "clk_bits", "blocking_keys",
                                        "canonical"};
    static const char *const fnames[] = {"name", "type", "bits"};
    const bl_schema *s = blr_handle_get(schema, "bl_schema", "schema");
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 5));
    char fp[BL_FINGERPRINT_HEX + 1];
    bl_schema_fingerprint(s, fp);
    SET_VECTOR_ELT(r, 0, blr_str1(fp));
    R_xlen_t n = (R_xlen_t)bl_schema_field_count(s);
    SEXP f = PROTECT(Rf_allocVector(VECSXP, 3));
    SEXP fname = Rf_allocVector(STRSXP, n);
    SET_VECTOR_ELT(f, 0, fname);
    SEXP ftype = Rf_allocVector(STRSXP, n);
    SET_VECTOR_ELT(f, 1, ftype);
    SEXP fbits = Rf_allocVector(REALSXP, n);
    SET_VECTOR_ELT(f, 2, fbits);
    for (R_xlen_t i = 0; i < n; i++) {
        SET_STRING_ELT(fname, i, blr_mkstring(bl_schema_field_name(s, (size_t)i)));
        SET_STRING_ELT(ftype, i, Rf_mkChar(blr_field_type_name(bl_schema_field_type(s, (size_t)i))));
        REAL(fbits)[i] = (double)bl_schema_field_bits(s, (size_t)i);
    }
    blr_set_names(f, fnames, 3);
    SET_VECTOR_ELT(r, 1, blr_as_data_frame(f, n));
    UNPROTECT(1);
    SET_VECTOR_ELT(r, 2, Rf_ScalarReal((double)bl_schema_clk_bits(s)));
    R_xlen_t nb = (R_xlen_t)bl_schema_blocking_key_count(s);
    SEXP bk = Rf_allocVector(STRSXP, nb);
    SET_VECTOR_ELT(r, 3, bk);
    for (R_xlen_t i = 0; i < nb; i++)
        SET_STRING_ELT(bk, i, blr_mkstring(bl_schema_blocking_key_name(s, (size_t)i)));
    /* the canonical text is owned by us: hold it in a handle until copied */
    SEXP buf = PROTECT(blr_handle_new("bl_buffer", blr_fin_free, R_NilValue));
    char *canon = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_schema_canonical(s, &canon, &err);
    R_SetExternalPtrAddr(buf, canon);
    if (st)
        blr_raise(st, &err);
    SET_VECTOR_ELT(r, 4, blr_str1(canon));
    blr_handle_release(buf);
    blr_set_names(r, names, 5);
    UNPROTECT(2);
    return r;
}

/* ------------------------------------------------------------- profile */

SEXP C_profile_load(SEXP path, SEXP schema)
{
    const char *p = blr_path(path, "path");
    const bl_schema *s = blr_handle_get(schema, "bl_schema", "schema");
    SEXP h = PROTECT(blr_handle_new("bl_profile", blr_fin_profile, schema));
    bl_profile *pr = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_profile_load(p, s, &pr, &err);
    R_SetExternalPtrAddr(h, pr);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_profile_parse(SEXP json, SEXP name, SEXP schema)
{
    const char *js = blr_string(json, "json");
    const char *nm = blr_string(name, "name");
    const bl_schema *s = blr_handle_get(schema, "bl_schema", "schema");
    SEXP h = PROTECT(blr_handle_new("bl_profile", blr_fin_profile, schema));
    bl_profile *pr = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_profile_parse(js, strlen(js), nm, s, &pr, &err);
    R_SetExternalPtrAddr(h, pr);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_profile_info(SEXP profile)
{
    static const char *const names[] = {"source", "record_id_column", "separator",
                                        "skip_initial_space", "fields", "content"};
    static const char *const fnames[] = {"field", "column"};
    const bl_profile *p = blr_handle_get(profile, "bl_profile", "profile");
    SEXP schema = blr_handle_deps(profile);
    const bl_schema *s = blr_handle_get(schema, "bl_schema", "the profile's schema");
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 6));
    SET_VECTOR_ELT(r, 0, blr_str1(bl_profile_source(p)));
    SET_VECTOR_ELT(r, 1, blr_str1(bl_profile_record_id_column(p)));
    char sep[2] = {bl_profile_separator(p), '\0'};
    SET_VECTOR_ELT(r, 2, blr_str1(sep));
    SET_VECTOR_ELT(r, 3, Rf_ScalarLogical(bl_profile_skip_initial_space(p) != 0));
    R_xlen_t n = (R_xlen_t)bl_schema_field_count(s);
    SEXP f = PROTECT(Rf_allocVector(VECSXP, 2));
    SEXP ff = Rf_allocVector(STRSXP, n);
    SET_VECTOR_ELT(f, 0, ff);
    SEXP fc = Rf_allocVector(STRSXP, n);
    SET_VECTOR_ELT(f, 1, fc);
    for (R_xlen_t i = 0; i < n; i++) {
        const char *field = bl_schema_field_name(s, (size_t)i);
        const char *col = bl_profile_field_column(p, s, field);
        SET_STRING_ELT(ff, i, blr_mkstring(field));
        SET_STRING_ELT(fc, i, col ? blr_mkstring(col) : NA_STRING);
    }
    blr_set_names(f, fnames, 2);
    SET_VECTOR_ELT(r, 4, blr_as_data_frame(f, n));
    UNPROTECT(1);
    R_xlen_t nc = (R_xlen_t)bl_profile_content_count(p);
    SEXP cc = Rf_allocVector(STRSXP, nc);
    SET_VECTOR_ELT(r, 5, cc);
    for (R_xlen_t i = 0; i < nc; i++)
        SET_STRING_ELT(cc, i, blr_mkstring(bl_profile_content_column(p, (size_t)i)));
    blr_set_names(r, names, 6);
    UNPROTECT(1);
    return r;
}

/* ----------------------------------------------------------------- CSV */

/* Read a whole CSV file as the encoder reads it: a list of character
   columns named by the header. */
SEXP C_csv_read(SEXP path, SEXP sep, SEXP skip_initial_space)
{
    const char *p = blr_path(path, "path");
    const char *sp = blr_string(sep, "sep");
    if (strlen(sp) != 1)
        blr_misuse("sep must be a single character");
    int skip = blr_flag(skip_initial_space, "skip_initial_space");
    SEXP h = PROTECT(blr_handle_new("bl_csv", blr_fin_csv, R_NilValue));
    bl_csv_reader *r = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_csv_open(p, sp[0], skip, &r, &err);
    R_SetExternalPtrAddr(h, r);
    char **fields = NULL;
    size_t nf = 0;
    if (!st)
        st = bl_csv_next(r, &fields, &nf, &err);
    if (st)
        blr_raise(st, &err);
    if (!fields) {
        blr_handle_release(h);
        UNPROTECT(1);
        return blr_as_data_frame(Rf_allocVector(VECSXP, 0), 0);
    }
    size_t ncol = nf;
    SEXP cols = PROTECT(Rf_allocVector(VECSXP, (R_xlen_t)ncol));
    SEXP names = PROTECT(Rf_allocVector(STRSXP, (R_xlen_t)ncol));
    for (size_t c = 0; c < ncol; c++)
        SET_STRING_ELT(names, (R_xlen_t)c, blr_mkstring(fields[c]));
    R_xlen_t cap = 1024, n = 0;
    for (size_t c = 0; c < ncol; c++)
        SET_VECTOR_ELT(cols, (R_xlen_t)c, Rf_allocVector(STRSXP, cap));
    for (;;) {
        st = bl_csv_next(r, &fields, &nf, &err);
        if (st)
            blr_raise(st, &err);
        if (!fields)
            break;
        if (nf != ncol) {
            bl_error_clear(&err);
            snprintf(err.source, sizeof err.source, "%s", p);
            err.line = bl_csv_line(r);
            err.code = BL_EPARSE;
            snprintf(err.text, sizeof err.text, "row has %zu fields, the header has %zu", nf, ncol);
            blr_raise(BL_EPARSE, &err);
        }
        if (n == cap) {
            cap *= 2;
            for (size_t c = 0; c < ncol; c++)
                SET_VECTOR_ELT(cols, (R_xlen_t)c, Rf_xlengthgets(VECTOR_ELT(cols, (R_xlen_t)c), cap));
        }
        for (size_t c = 0; c < ncol; c++)
            SET_STRING_ELT(VECTOR_ELT(cols, (R_xlen_t)c), n, blr_mkstring(fields[c]));
        n++;
    }
    blr_handle_release(h);
    for (size_t c = 0; c < ncol; c++)
        SET_VECTOR_ELT(cols, (R_xlen_t)c, Rf_xlengthgets(VECTOR_ELT(cols, (R_xlen_t)c), n));
    Rf_setAttrib(cols, R_NamesSymbol, names);
    UNPROTECT(3);
    return blr_as_data_frame(cols, n);
}
