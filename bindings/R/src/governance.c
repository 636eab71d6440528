/* governance.c - agreements (DSA), signing keys, pseudonyms, opt-outs,
   the emitter and the audit log. */
#include "bloomlink_r.h"

#include <stdlib.h>
#include <string.h>

static int64_t when(SEXP now)
{
    double d = blr_double(now, "now");
    if (d < 0 || d > 9.2e18)
        blr_misuse("now must be Unix seconds (0 = the current time)");
    return (int64_t)d;
}

/* -------------------------------------------------------- signing keys */

SEXP C_signing_keygen(SEXP path, SEXP overwrite)
{
    const char *p = blr_path(path, "path");
    int ow = blr_flag(overwrite, "overwrite");
    char hex[BL_ED25519_PUBLIC_HEX + 1];
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_signing_key_generate(p, ow, hex, &err);
    if (st)
        blr_raise(st, &err);
    return blr_str1(hex);
}

SEXP C_signing_key_public(SEXP path)
{
    const char *p = blr_path(path, "path");
    char hex[BL_ED25519_PUBLIC_HEX + 1];
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_signing_key_public(p, hex, &err);
    if (st)
        blr_raise(st, &err);
    return blr_str1(hex);
}

/* ------------------------------------------------------------------ DSA */

SEXP C_dsa_load(SEXP path)
{
    const char *p = blr_path(path, "path");
    SEXP h = PROTECT(blr_handle_new("bl_dsa", blr_fin_dsa, R_NilValue));
    bl_dsa *d = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dsa_load(p, &d, &err);
    R_SetExternalPtrAddr(h, d);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_dsa_parse(SEXP json, SEXP name)
{
    const char *js = blr_string(json, "json");
    const char *nm = blr_string(name, "name");
    SEXP h = PROTECT(blr_handle_new("bl_dsa", blr_fin_dsa, R_NilValue));
    bl_dsa *d = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dsa_parse(js, strlen(js), nm, &d, &err);
    R_SetExternalPtrAddr(h, d);
    if (st)
        blr_raise(st, &err);
    UNPROTECT(1);
    return h;
}

SEXP C_dsa_info(SEXP dsa)
{
    static const char *const names[] = {"project_id", "hash", "canonical", "parties"};
    static const char *const pn[] = {"party", "public_key", "signature"};
    static const char *const states[] = {"unsigned", "signed", "bad signature"};
    const bl_dsa *d = blr_handle_get(dsa, "bl_dsa", "dsa");
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 4));
    SET_VECTOR_ELT(r, 0, blr_str1(bl_dsa_project_id(d)));
    SET_VECTOR_ELT(r, 1, blr_str1(bl_dsa_hash(d)));
    SET_VECTOR_ELT(r, 2, blr_str1(bl_dsa_canonical_text(d)));
    R_xlen_t n = (R_xlen_t)bl_dsa_party_count(d);
    SEXP cols = PROTECT(Rf_allocVector(VECSXP, 3));
    for (int c = 0; c < 3; c++)
        SET_VECTOR_ELT(cols, c, Rf_allocVector(STRSXP, n));
    for (R_xlen_t i = 0; i < n; i++) {
        bl_dsa_signature_state s = bl_dsa_party_signature(d, (size_t)i);
        SET_STRING_ELT(VECTOR_ELT(cols, 0), i, blr_mkstring(bl_dsa_party_name(d, (size_t)i)));
        SET_STRING_ELT(VECTOR_ELT(cols, 1), i, blr_mkstring(bl_dsa_party_public_key(d, (size_t)i)));
        SET_STRING_ELT(VECTOR_ELT(cols, 2), i,
                       Rf_mkChar((unsigned)s <= 2 ? states[s] : "unknown"));
    }
    blr_set_names(cols, pn, 3);
    SET_VECTOR_ELT(r, 3, blr_as_data_frame(cols, n));
    UNPROTECT(1);
    blr_set_names(r, names, 4);
    UNPROTECT(1);
    return r;
}

SEXP C_dsa_verify(SEXP dsa, SEXP now)
{
    const bl_dsa *d = blr_handle_get(dsa, "bl_dsa", "dsa");
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dsa_verify(d, when(now), &err);
    if (st)
        blr_raise(st, &err);
    return Rf_ScalarLogical(1);
}

SEXP C_dsa_sign(SEXP dsa, SEXP key_path, SEXP now)
{
    bl_dsa *d = blr_handle_get(dsa, "bl_dsa", "dsa");
    const char *k = blr_path(key_path, "key");
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dsa_sign(d, k, when(now), &err);
    if (st)
        blr_raise(st, &err);
    return R_NilValue;
}

SEXP C_dsa_set_party_key(SEXP dsa, SEXP party, SEXP public_hex)
{
    bl_dsa *d = blr_handle_get(dsa, "bl_dsa", "dsa");
    const char *p = blr_string(party, "party");
    const char *h = blr_string(public_hex, "public_key");
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dsa_set_party_key(d, p, h, &err);
    if (st)
        blr_raise(st, &err);
    return R_NilValue;
}

SEXP C_dsa_save(SEXP dsa, SEXP path)
{
    const bl_dsa *d = blr_handle_get(dsa, "bl_dsa", "dsa");
    const char *p = blr_path(path, "path");
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dsa_save(d, p, &err);
    if (st)
        blr_raise(st, &err);
    return R_NilValue;
}

/* ----------------------------------------------------------- pseudonyms */

SEXP C_pseudonym(SEXP key, SEXP project_id, SEXP entity_ids)
{
    const bl_key *k = blr_handle_get(key, "bl_key", "project_key");
    const char *pid = blr_string(project_id, "project_id");
    if (TYPEOF(entity_ids) != STRSXP)
        blr_misuse("entity_id must be a character vector");
    R_xlen_t n = XLENGTH(entity_ids);
    SEXP r = PROTECT(Rf_allocVector(STRSXP, n));
    for (R_xlen_t i = 0; i < n; i++) {
        SEXP e = STRING_ELT(entity_ids, i);
        if (e == NA_STRING) {
            SET_STRING_ELT(r, i, NA_STRING);
            continue;
        }
        char hex[33];
        bl_error err;
        bl_error_clear(&err);
        bl_status st = bl_pseudonym(k, pid, Rf_translateCharUTF8(e), hex, &err);
        if (st)
            blr_raise(st, &err);
        SET_STRING_ELT(r, i, Rf_mkChar(hex));
    }
    UNPROTECT(1);
    return r;
}

/* -------------------------------------------------------------- opt-out */

SEXP C_optout(SEXP schema, SEXP profile, SEXP key, SEXP extract, SEXP nhs_list, SEXP out)
{
    const bl_schema *s = blr_handle_get(schema, "bl_schema", "schema");
    const bl_profile *p = blr_handle_get(profile, "bl_profile", "profile");
    const bl_key *k = blr_handle_get(key, "bl_key", "key");
    const char *ep = blr_path(extract, "extract");
    const char *np = blr_path(nhs_list, "nhs_list");
    const char *op = blr_path(out, "out");
    bl_optout_stats stats;
    memset(&stats, 0, sizeof stats);
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_optout_tokens(s, p, k, ep, np, op, &stats, &err);
    if (st)
        blr_raise(st, &err);
    static const char *const names[] = {"list_entries", "list_invalid", "records_read",
                                        "records_without_nhs", "filter_hits",
                                        "filter_false_positives", "tokens_written"};
    const uint64_t v[] = {stats.list_entries, stats.list_invalid, stats.records_read,
                          stats.records_without_nhs, stats.filter_hits,
                          stats.filter_false_positives, stats.tokens_written};
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 7));
    for (int i = 0; i < 7; i++)
        SET_VECTOR_ELT(r, i, Rf_ScalarReal((double)v[i]));
    blr_set_names(r, names, 7);
    UNPROTECT(1);
    return blr_as_data_frame(r, 1);
}

/* ----------------------------------------------------------------- emit */

static void fin_emit_result(SEXP x)
{
    bl_emit_result *r = R_ExternalPtrAddr(x);
    if (r) {
        R_ClearExternalPtr(x);
        bl_emit_result_clear(r);
        free(r);
    }
}

static const bl_emit_input *inputs(SEXP named, size_t *count, const char *what)
{
    *count = 0;
    if (named == R_NilValue || XLENGTH(named) == 0)
        return NULL;
    SEXP names = Rf_getAttrib(named, R_NamesSymbol);
    if (TYPEOF(named) != STRSXP || names == R_NilValue)
        blr_misuse("%s must be a named character vector: source = file", what);
    size_t n = (size_t)XLENGTH(named);
    bl_emit_input *in = (bl_emit_input *)R_alloc(n, sizeof *in);
    for (size_t i = 0; i < n; i++) {
        SEXP nm = STRING_ELT(names, (R_xlen_t)i);
        if (nm == NA_STRING || !CHAR(nm)[0])
            blr_misuse("%s must name a source for every file", what);
        in[i].source = Rf_translateCharUTF8(nm);
        SEXP one = PROTECT(Rf_ScalarString(STRING_ELT(named, (R_xlen_t)i)));
        in[i].path = blr_path(one, what);
        UNPROTECT(1);
    }
    *count = n;
    return in;
}

SEXP C_emit(SEXP args, SEXP progress)
{
    bl_emit_options o;
    bl_emit_options_default(&o);
#define ARG(name) blr_list_get(args, name)
    o.dsa_path = blr_path(ARG("dsa"), "dsa");
    o.project_key_path = blr_path(ARG("project_key"), "project_key");
    o.linkmap_path = blr_path(ARG("linkmap"), "linkmap");
    o.content = inputs(ARG("content"), &o.content_count, "content");
    o.optout = inputs(ARG("optout"), &o.optout_count, "optout");
    o.out_path = blr_path(ARG("out"), "out");
    const char *fmt = blr_string(ARG("format"), "format");
    if (!strcmp(fmt, "sqlite"))
        o.format = BL_EMIT_SQLITE;
    else if (!strcmp(fmt, "csv"))
        o.format = BL_EMIT_CSV;
    else if (!strcmp(fmt, "aggregate"))
        o.format = BL_EMIT_AGGREGATE;
    else
        blr_misuse("format must be \"sqlite\", \"csv\" or \"aggregate\"");
    SEXP by = ARG("aggregate_by");
    if (by != R_NilValue && XLENGTH(by) > 0) {
        if (TYPEOF(by) != STRSXP)
            blr_misuse("aggregate_by must be a character vector");
        size_t n = (size_t)XLENGTH(by);
        const char **dims = (const char **)R_alloc(n, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            dims[i] = Rf_translateCharUTF8(STRING_ELT(by, (R_xlen_t)i));
        o.aggregate_by = dims;
        o.aggregate_by_count = n;
    }
    o.report_path = blr_opt_path(ARG("report"), "report");
    o.audit_log_path = blr_path(ARG("audit_log"), "audit_log");
    o.actor = blr_string(ARG("actor"), "actor");
    o.now = when(ARG("now"));
    o.overwrite = blr_flag(ARG("overwrite"), "overwrite");
#undef ARG
    blr_progress pr;
    blr_progress_init(&pr, progress);
    o.progress = blr_progress_cb;
    o.progress_user = &pr;

    SEXP h = PROTECT(blr_handle_new("bl_emit_result", fin_emit_result, R_NilValue));
    bl_emit_result *res = calloc(1, sizeof *res);
    if (!res)
        blr_raise(BL_ENOMEM, NULL);
    R_SetExternalPtrAddr(h, res);
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_emit(&o, res, &err);
    blr_progress_done(&pr);
    if (st)
        blr_raise_progress(st, &err, &pr);

    static const char *const names[] = {
        "dsa_hash",        "audit_entry_hash",      "linkmap_rows",   "entities",
        "persons",         "events",                "content_rows",   "content_rows_unlinked",
        "invalid_values",  "undeclared_columns",    "optout_tokens",  "optout_tokens_linked",
        "optout_persons",  "optout_records",        "optout_events",  "aggregate_cells",
        "suppressed_primary", "suppressed_secondary"};
    const uint64_t v[] = {res->linkmap_rows,   res->entities,        res->persons,
                          res->events,         res->content_rows,    res->content_rows_unlinked,
                          res->invalid_values, res->undeclared_columns, res->optout_tokens,
                          res->optout_tokens_linked, res->optout_persons, res->optout_records,
                          res->optout_events,  res->aggregate_cells, res->suppressed_primary,
                          res->suppressed_secondary};
    SEXP cols = PROTECT(Rf_allocVector(VECSXP, 18));
    SET_VECTOR_ELT(cols, 0, blr_str1(res->dsa_hash));
    SET_VECTOR_ELT(cols, 1, blr_str1(res->audit_entry_hash));
    for (int i = 0; i < 16; i++)
        SET_VECTOR_ELT(cols, i + 2, Rf_ScalarReal((double)v[i]));
    blr_set_names(cols, names, 18);
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 2));
    SET_VECTOR_ELT(r, 0, blr_as_data_frame(cols, 1));
    SET_VECTOR_ELT(r, 1, blr_str1(res->report_json));
    static const char *const rn[] = {"result", "report"};
    blr_set_names(r, rn, 2);
    fin_emit_result(h);
    UNPROTECT(3);
    return r;
}

/* ------------------------------------------------------------ audit log */

SEXP C_audit_verify(SEXP path, SEXP expect_head)
{
    const char *p = blr_path(path, "path");
    const char *eh = blr_opt_string(expect_head, "expect_head");
    uint64_t entries = 0;
    char head[BL_FINGERPRINT_HEX + 1] = "";
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_audit_verify(p, eh, &entries, head, &err);
    if (st)
        blr_raise(st, &err);
    static const char *const names[] = {"entries", "head"};
    SEXP r = PROTECT(Rf_allocVector(VECSXP, 2));
    SET_VECTOR_ELT(r, 0, Rf_ScalarReal((double)entries));
    SET_VECTOR_ELT(r, 1, blr_str1(head));
    blr_set_names(r, names, 2);
    UNPROTECT(1);
    return r;
}

SEXP C_audit_append(SEXP path, SEXP actor, SEXP command, SEXP details, SEXP now)
{
    const char *p = blr_path(path, "path");
    const char *a = blr_string(actor, "actor");
    const char *c = blr_string(command, "command");
    const char *d = blr_string(details, "details");
    char head[BL_FINGERPRINT_HEX + 1] = "";
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_audit_append(p, a, c, d, when(now), head, &err);
    if (st)
        blr_raise(st, &err);
    return blr_str1(head);
}
