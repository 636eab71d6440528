/* governance.c - data-sharing agreements (bloomlink.Agreement over bl_dsa),
 * signing keys, project pseudonyms, opt-out tokens, the emitter and the
 * hash-chained audit log. */
#include "bloomlink_ext.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    bl_py_handle h;
    bl_dsa *dsa;
} BlPyAgreement;

static void dsa_dealloc(BlPyAgreement *self)
{
    bl_dsa_free(self->dsa);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *dsa_wrap(bl_dsa *d)
{
    BlPyAgreement *self = PyObject_New(BlPyAgreement, &BlPyAgreement_Type);
    if (!self) {
        bl_dsa_free(d);
        return NULL;
    }
    self->h.closed = self->h.busy = 0;
    self->h.users = 0;
    self->dsa = d;
    return (PyObject *)self;
}

PyDoc_STRVAR(dsa_load_doc, "Agreement.load(path) -> Agreement\n\n"
                           "Parse and validate a data-sharing agreement (signatures are checked\n"
                           "by verify()).");
static PyObject *dsa_load(PyTypeObject *cls, PyObject *arg)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    bl_dsa *d = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dsa_load(PyBytes_AS_STRING(path), &d, &err);
    Py_DECREF(path);
    return st != BL_OK ? blpy_raise(st, &err) : dsa_wrap(d);
}

PyDoc_STRVAR(dsa_parse_doc, "Agreement.parse(text, name='<memory>') -> Agreement");
static PyObject *dsa_parse(PyTypeObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"text", "name", NULL};
    const char *text, *name = "<memory>";
    Py_ssize_t len;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s#|s:parse", kwlist, &text, &len, &name))
        return NULL;
    bl_dsa *d = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dsa_parse(text, (size_t)len, name, &d, &err);
    return st != BL_OK ? blpy_raise(st, &err) : dsa_wrap(d);
}

static PyObject *dsa_str(BlPyAgreement *self, void *c)
{
    if (blpy_check_open(&self->h, "agreement") < 0)
        return NULL;
    const char *s = c == (void *)0   ? bl_dsa_project_id(self->dsa)
                    : c == (void *)1 ? bl_dsa_canonical_text(self->dsa)
                                     : bl_dsa_hash(self->dsa);
    return s ? PyUnicode_FromString(s) : Py_NewRef(Py_None);
}

static PyObject *dsa_parties(BlPyAgreement *self, void *c)
{
    if (blpy_check_open(&self->h, "agreement") < 0)
        return NULL;
    static const char *states[] = {"unsigned", "signed", "bad-signature"};
    size_t n = bl_dsa_party_count(self->dsa);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        const char *name = bl_dsa_party_name(self->dsa, i);
        const char *pk = bl_dsa_party_public_key(self->dsa, i);
        bl_dsa_signature_state s = bl_dsa_party_signature(self->dsa, i);
        PyObject *d = Py_BuildValue("{s:s,s:s,s:s}", "name", name ? name : "", "public_key",
                                    pk ? pk : "", "signature",
                                    (unsigned)s < 3 ? states[s] : "unknown");
        if (!d) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, d);
    }
    return list;
}

PyDoc_STRVAR(dsa_verify_doc,
             "verify(now=0) -> None\n\n"
             "Raise SignatureError unless every party signed the current text, or\n"
             "ExpiredError unless `now` (Unix seconds; 0 = now) is within its dates.");
static PyObject *dsa_verify(BlPyAgreement *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"now", NULL};
    long long now = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|L:verify", kwlist, &now))
        return NULL;
    if (blpy_check_open(&self->h, "agreement") < 0)
        return NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dsa_verify(self->dsa, (int64_t)now, &err);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(dsa_sign_doc,
             "sign(key_path, now=0) -> None\n\n"
             "Sign with a party's Ed25519 key file (in memory; save() writes it).");
static PyObject *dsa_sign(BlPyAgreement *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key_path", "now", NULL};
    PyObject *path = NULL;
    long long now = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|L:sign", kwlist, blpy_path_converter, &path,
                                     &now))
        return NULL;
    PyObject *r = NULL;
    if (blpy_check_open(&self->h, "agreement") == 0) {
        bl_error err;
        bl_error_clear(&err);
        bl_status st = bl_dsa_sign(self->dsa, PyBytes_AS_STRING(path), (int64_t)now, &err);
        r = st != BL_OK ? blpy_raise(st, &err) : Py_NewRef(Py_None);
    }
    Py_DECREF(path);
    return r;
}

PyDoc_STRVAR(dsa_set_party_key_doc,
             "set_party_key(party, public_hex) -> None\n\n"
             "Put a party's public key into the draft; removes every signature.");
static PyObject *dsa_set_party_key(BlPyAgreement *self, PyObject *args)
{
    const char *party, *pk;
    if (!PyArg_ParseTuple(args, "ss:set_party_key", &party, &pk))
        return NULL;
    if (blpy_check_open(&self->h, "agreement") < 0)
        return NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dsa_set_party_key(self->dsa, party, pk, &err);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(dsa_save_doc, "save(path) -> None\n\nWrite the agreement (with signatures) atomically.");
static PyObject *dsa_save(BlPyAgreement *self, PyObject *arg)
{
    if (blpy_check_open(&self->h, "agreement") < 0)
        return NULL;
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dsa_save(self->dsa, PyBytes_AS_STRING(path), &err);
    Py_DECREF(path);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    Py_RETURN_NONE;
}

static PyMethodDef dsa_methods[] = {
    {"load", (PyCFunction)dsa_load, METH_O | METH_CLASS, dsa_load_doc},
    {"parse", (PyCFunction)(void (*)(void))dsa_parse, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     dsa_parse_doc},
    {"verify", (PyCFunction)(void (*)(void))dsa_verify, METH_VARARGS | METH_KEYWORDS,
     dsa_verify_doc},
    {"sign", (PyCFunction)(void (*)(void))dsa_sign, METH_VARARGS | METH_KEYWORDS, dsa_sign_doc},
    {"set_party_key", (PyCFunction)dsa_set_party_key, METH_VARARGS, dsa_set_party_key_doc},
    {"save", (PyCFunction)dsa_save, METH_O, dsa_save_doc},
    {NULL}};

static PyGetSetDef dsa_getset[] = {
    {"project_id", (getter)dsa_str, NULL, "Project id.", (void *)0},
    {"canonical_text", (getter)dsa_str, NULL, "The signed (canonical) text.", (void *)1},
    {"hash", (getter)dsa_str, NULL, "SHA-256 of the canonical text (hex).", (void *)2},
    {"parties", (getter)dsa_parties, NULL,
     "Parties: {'name', 'public_key', 'signature'} with signature one of\n"
     "'unsigned', 'signed', 'bad-signature'.",
     NULL},
    {NULL}};

PyTypeObject BlPyAgreement_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bloomlink.Agreement",
    .tp_basicsize = sizeof(BlPyAgreement),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A data-sharing agreement signed (Ed25519) by every party.\n"
              "Agreement.load(path) or Agreement.parse(text).",
    .tp_dealloc = (destructor)dsa_dealloc,
    .tp_methods = dsa_methods,
    .tp_getset = dsa_getset,
};

/* ------------------------------------------------------------ functions */

PyDoc_STRVAR(signing_key_generate_doc,
             "generate_signing_key(path, overwrite=False) -> str\n\n"
             "New Ed25519 signing key in an owner-only PEM file; returns the public\n"
             "key as hex.");
static PyObject *py_signing_key_generate(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "overwrite", NULL};
    PyObject *path = NULL;
    int overwrite = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|p:generate_signing_key", kwlist,
                                     blpy_path_converter, &path, &overwrite))
        return NULL;
    char hex[BL_ED25519_PUBLIC_HEX + 1];
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_signing_key_generate(PyBytes_AS_STRING(path), overwrite, hex, &err);
    Py_DECREF(path);
    return st != BL_OK ? blpy_raise(st, &err) : PyUnicode_FromString(hex);
}

PyDoc_STRVAR(signing_key_public_doc,
             "signing_key_public(path) -> str\n\nPublic key (hex) of a signing key file.");
static PyObject *py_signing_key_public(PyObject *self, PyObject *arg)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    char hex[BL_ED25519_PUBLIC_HEX + 1];
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_signing_key_public(PyBytes_AS_STRING(path), hex, &err);
    Py_DECREF(path);
    return st != BL_OK ? blpy_raise(st, &err) : PyUnicode_FromString(hex);
}

PyDoc_STRVAR(pseudonym_doc,
             "pseudonym(project_key, project_id, entity_id) -> str\n\n"
             "Project pseudonym of an entity (32 hex): unlinkable across projects.");
static PyObject *py_pseudonym(PyObject *self, PyObject *args)
{
    PyObject *key;
    const char *project, *entity;
    if (!PyArg_ParseTuple(args, "O!ss:pseudonym", &BlPyKey_Type, &key, &project, &entity))
        return NULL;
    const bl_key *k = blpy_key_borrow(key);
    if (!k)
        return NULL;
    char hex[33];
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_pseudonym(k, project, entity, hex, &err);
    blpy_key_unborrow(key);
    return st != BL_OK ? blpy_raise(st, &err) : PyUnicode_FromString(hex);
}

PyDoc_STRVAR(optout_doc,
             "optout_tokens(schema, profile, key, extract_path, nhs_list_path,\n"
             "              out_path) -> dict\n\n"
             "At the holder: write source,record_token rows for the records whose NHS\n"
             "number is on the national data opt-out list.  Returns the counts.");
static PyObject *py_optout_tokens(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"schema", "profile", "key", "extract_path", "nhs_list_path",
                             "out_path", NULL};
    PyObject *schema, *profile, *key, *ex = NULL, *list = NULL, *out = NULL, *r = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!O!O!O&O&O&:optout_tokens", kwlist,
                                     &BlPySchema_Type, &schema, &BlPyProfile_Type, &profile,
                                     &BlPyKey_Type, &key, blpy_path_converter, &ex,
                                     blpy_path_converter, &list, blpy_path_converter, &out))
        return NULL;
    const bl_key *k = blpy_key_borrow(key);
    if (k) {
        bl_optout_stats s;
        memset(&s, 0, sizeof s);
        bl_error err;
        bl_error_clear(&err);
        bl_status st;
        Py_BEGIN_ALLOW_THREADS
        st = bl_optout_tokens(((BlPySchema *)schema)->schema, ((BlPyProfile *)profile)->profile,
                              k, PyBytes_AS_STRING(ex), PyBytes_AS_STRING(list),
                              PyBytes_AS_STRING(out), &s, &err);
        Py_END_ALLOW_THREADS
        blpy_key_unborrow(key);
        if (st != BL_OK)
            blpy_raise(st, &err);
        else
            r = Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K}", "list_entries",
                              (unsigned long long)s.list_entries, "list_invalid",
                              (unsigned long long)s.list_invalid, "records_read",
                              (unsigned long long)s.records_read, "records_without_nhs",
                              (unsigned long long)s.records_without_nhs, "filter_hits",
                              (unsigned long long)s.filter_hits, "filter_false_positives",
                              (unsigned long long)s.filter_false_positives, "tokens_written",
                              (unsigned long long)s.tokens_written);
    }
    Py_XDECREF(ex);
    Py_XDECREF(list);
    Py_XDECREF(out);
    return r;
}

/* (source, path) pairs from a mapping or a sequence of pairs; strings kept in keep. */
static int inputs_from(PyObject *o, bl_emit_input **out, size_t *n, PyObject *keep)
{
    *out = NULL;
    *n = 0;
    if (o == Py_None)
        return 0;
    PyObject *items = PyMapping_Check(o) && !PySequence_Check(o) ? PyMapping_Items(o)
                                                                  : PySequence_List(o);
    if (!items)
        return -1;
    Py_ssize_t k = PyList_GET_SIZE(items);
    bl_emit_input *in = PyMem_Calloc((size_t)k + 1, sizeof *in);
    if (!in) {
        Py_DECREF(items);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *it = PyList_GET_ITEM(items, i), *p = NULL;
        if (!PyTuple_Check(it) || PyTuple_GET_SIZE(it) != 2 ||
            !PyUnicode_Check(PyTuple_GET_ITEM(it, 0))) {
            PyErr_SetString(PyExc_TypeError, "inputs: a mapping of source -> path");
            goto fail;
        }
        in[i].source = PyUnicode_AsUTF8(PyTuple_GET_ITEM(it, 0));
        if (!in[i].source || PyList_Append(keep, PyTuple_GET_ITEM(it, 0)) < 0 ||
            !PyUnicode_FSConverter(PyTuple_GET_ITEM(it, 1), &p))
            goto fail;
        in[i].path = PyBytes_AS_STRING(p);
        int bad = PyList_Append(keep, p) < 0;
        Py_DECREF(p);
        if (bad)
            goto fail;
    }
    Py_DECREF(items);
    *out = in;
    *n = (size_t)k;
    return 0;
fail:
    Py_DECREF(items);
    PyMem_Free(in);
    return -1;
}

static PyObject *emit_result_dict(const bl_emit_result *r)
{
    PyObject *report = r->report_json ? blpy_json_loads(r->report_json) : Py_NewRef(Py_None);
    if (!report)
        return NULL;
#define U(x) (unsigned long long)r->x
    return Py_BuildValue("{s:s,s:s,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,"
                         "s:K,s:N}",
                         "dsa_hash", r->dsa_hash, "audit_entry_hash", r->audit_entry_hash,
                         "linkmap_rows", U(linkmap_rows), "entities", U(entities), "persons",
                         U(persons), "events", U(events), "content_rows", U(content_rows),
                         "content_rows_unlinked", U(content_rows_unlinked), "invalid_values",
                         U(invalid_values), "undeclared_columns", U(undeclared_columns),
                         "optout_tokens", U(optout_tokens), "optout_tokens_linked",
                         U(optout_tokens_linked), "optout_persons", U(optout_persons),
                         "optout_records", U(optout_records), "optout_events", U(optout_events),
                         "aggregate_cells", U(aggregate_cells), "suppressed_primary",
                         U(suppressed_primary), "suppressed_secondary", U(suppressed_secondary),
                         "report", report);
#undef U
}

PyDoc_STRVAR(emit_doc,
             "emit(*, dsa_path, project_key_path, linkmap_path, content, out_path,\n"
             "     audit_log_path, actor, format='sqlite', optout=None, aggregate_by=(),\n"
             "     report_path=None, now=0, overwrite=False, progress=None) -> dict\n\n"
             "Verify the agreement, then write the pseudonymised longitudinal dataset\n"
             "(format 'sqlite' or 'csv') or a suppressed aggregate ('aggregate')\n"
             "atomically.  content and optout map source -> file.  Refusals raise\n"
             "SignatureError, ExpiredError or PolicyError; every run appends to the\n"
             "audit log.  Returns the counts and the report.  Releases the GIL.");
static PyObject *py_emit(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"dsa_path", "project_key_path", "linkmap_path", "content",
                             "out_path", "audit_log_path", "actor", "format", "optout",
                             "aggregate_by", "report_path", "now", "overwrite", "progress",
                             NULL};
    PyObject *dsa = NULL, *pkey = NULL, *lm = NULL, *out = NULL, *audit = NULL,
             *optout = Py_None, *aggby = NULL, *report = NULL, *progress = Py_None;
    PyObject *content = NULL;
    const char *actor = NULL, *format = "sqlite";
    long long now = 0;
    int overwrite = 0;
    PyObject *keep = NULL, *aggseq = NULL, *r = NULL;
    bl_emit_input *cin = NULL, *oin = NULL;
    const char **agg = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$O&O&O&OO&O&ssOOO&LpO:emit", kwlist,
                                     blpy_path_converter, &dsa, blpy_path_converter, &pkey,
                                     blpy_path_converter, &lm, &content, blpy_path_converter, &out,
                                     blpy_path_converter, &audit, &actor, &format, &optout,
                                     &aggby, blpy_optional_path_converter, &report, &now,
                                     &overwrite, &progress))
        goto done;
    if (!dsa || !pkey || !lm || !content || !out || !audit || !actor) {
        PyErr_SetString(PyExc_TypeError, "emit() needs dsa_path, project_key_path, linkmap_path, "
                                         "content, out_path, audit_log_path and actor");
        goto done;
    }
    bl_emit_options opt;
    bl_emit_options_default(&opt);
    if (!strcmp(format, "sqlite"))
        opt.format = BL_EMIT_SQLITE;
    else if (!strcmp(format, "csv"))
        opt.format = BL_EMIT_CSV;
    else if (!strcmp(format, "aggregate"))
        opt.format = BL_EMIT_AGGREGATE;
    else {
        blpy_misuse("format must be 'sqlite', 'csv' or 'aggregate'");
        goto done;
    }
    keep = PyList_New(0);
    if (!keep || inputs_from(content, &cin, &opt.content_count, keep) < 0 ||
        inputs_from(optout, &oin, &opt.optout_count, keep) < 0)
        goto done;
    if (aggby && aggby != Py_None) {
        aggseq = PySequence_Tuple(aggby);
        if (!aggseq)
            goto done;
        Py_ssize_t n = PyTuple_GET_SIZE(aggseq);
        agg = PyMem_Calloc((size_t)n + 1, sizeof *agg);
        if (!agg) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            if (!(agg[i] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(aggseq, i))))
                goto done;
        opt.aggregate_by = agg;
        opt.aggregate_by_count = (size_t)n;
    }
    opt.dsa_path = PyBytes_AS_STRING(dsa);
    opt.project_key_path = PyBytes_AS_STRING(pkey);
    opt.linkmap_path = PyBytes_AS_STRING(lm);
    opt.content = cin;
    opt.optout = oin;
    opt.out_path = PyBytes_AS_STRING(out);
    opt.report_path = BLPY_PATH(report);
    opt.audit_log_path = PyBytes_AS_STRING(audit);
    opt.actor = actor;
    opt.now = (int64_t)now;
    opt.overwrite = overwrite;
    blpy_callback cb;
    blpy_callback_init(&cb, progress, NULL);
    opt.progress = blpy_progress;
    opt.progress_user = &cb;
    bl_emit_result res;
    memset(&res, 0, sizeof res);
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    Py_BEGIN_ALLOW_THREADS
    st = bl_emit(&opt, &res, &err);
    Py_END_ALLOW_THREADS
    if (blpy_callback_finish(&cb))
        ;
    else if (st != BL_OK)
        blpy_raise(st, &err);
    else
        r = emit_result_dict(&res);
    bl_emit_result_clear(&res);
done:
    PyMem_Free(cin);
    PyMem_Free(oin);
    PyMem_Free(agg);
    Py_XDECREF(aggseq);
    Py_XDECREF(keep);
    Py_XDECREF(dsa);
    Py_XDECREF(pkey);
    Py_XDECREF(lm);
    Py_XDECREF(out);
    Py_XDECREF(audit);
    Py_XDECREF(report);
    return r;
}

PyDoc_STRVAR(audit_append_doc,
             "audit_append(log_path, actor, command, details_json='{}', now=0) -> str\n\n"
             "Append an entry to the hash-chained audit log (after verifying the\n"
             "chain); returns the new head hash.");
static PyObject *py_audit_append(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"log_path", "actor", "command", "details_json", "now", NULL};
    PyObject *path = NULL;
    const char *actor, *command, *details = "{}";
    long long now = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&ss|sL:audit_append", kwlist, blpy_path_converter,
                                     &path, &actor, &command, &details, &now))
        return NULL;
    char head[BL_FINGERPRINT_HEX + 1];
    bl_error err;
    bl_error_clear(&err);
    bl_status st =
        bl_audit_append(PyBytes_AS_STRING(path), actor, command, details, (int64_t)now, head, &err);
    Py_DECREF(path);
    return st != BL_OK ? blpy_raise(st, &err) : PyUnicode_FromString(head);
}

PyDoc_STRVAR(audit_verify_doc,
             "audit_verify(log_path, expect_head=None) -> tuple[int, str]\n\n"
             "Verify the audit log chain; returns (entries, head hash).  ChecksumError\n"
             "names the first bad entry.");
static PyObject *py_audit_verify(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"log_path", "expect_head", NULL};
    PyObject *path = NULL;
    const char *expect = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|z:audit_verify", kwlist, blpy_path_converter,
                                     &path, &expect))
        return NULL;
    char head[BL_FINGERPRINT_HEX + 1] = "";
    uint64_t entries = 0;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_audit_verify(PyBytes_AS_STRING(path), expect, &entries, head, &err);
    Py_DECREF(path);
    return st != BL_OK ? blpy_raise(st, &err)
                       : Py_BuildValue("(Ks)", (unsigned long long)entries, head);
}

PyMethodDef blpy_governance_functions[] = {
    {"generate_signing_key", (PyCFunction)(void (*)(void))py_signing_key_generate,
     METH_VARARGS | METH_KEYWORDS, signing_key_generate_doc},
    {"signing_key_public", py_signing_key_public, METH_O, signing_key_public_doc},
    {"pseudonym", py_pseudonym, METH_VARARGS, pseudonym_doc},
    {"optout_tokens", (PyCFunction)(void (*)(void))py_optout_tokens, METH_VARARGS | METH_KEYWORDS,
     optout_doc},
    {"emit", (PyCFunction)(void (*)(void))py_emit, METH_VARARGS | METH_KEYWORDS, emit_doc},
    {"audit_append", (PyCFunction)(void (*)(void))py_audit_append, METH_VARARGS | METH_KEYWORDS,
     audit_append_doc},
    {"audit_verify", (PyCFunction)(void (*)(void))py_audit_verify, METH_VARARGS | METH_KEYWORDS,
     audit_verify_doc},
    {NULL}};
