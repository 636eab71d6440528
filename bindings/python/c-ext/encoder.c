/* encoder.c - bloomlink.Encoder: one source's encoder (bl_encoder), which
 * turns rows (dicts, sequences with column names) or whole CSV extracts into
 * records and .ble files.  Borrows its schema, profile and key. */
#include "bloomlink_ext.h"

#include <math.h>
#include <string.h>

static void encoder_free_now(BlPyEncoder *self)
{
    bl_encoder_free(self->enc);
    self->enc = NULL;
    if (self->key) {
        blpy_key_unborrow(self->key);
        Py_CLEAR(self->key);
    }
}

static void encoder_dealloc(BlPyEncoder *self)
{
    encoder_free_now(self);
    Py_XDECREF(self->schema);
    Py_XDECREF(self->profile);
    Py_XDECREF(self->layout);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *encoder_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"schema", "profile", "key", NULL};
    PyObject *schema, *profile, *key;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!O!O!:Encoder", kwlist, &BlPySchema_Type, &schema,
                                     &BlPyProfile_Type, &profile, &BlPyKey_Type, &key))
        return NULL;
    const bl_key *k = blpy_key_borrow(key);
    if (!k)
        return NULL;
    BlPyEncoder *self = (BlPyEncoder *)type->tp_alloc(type, 0);
    if (!self) {
        blpy_key_unborrow(key);
        return NULL;
    }
    self->schema = Py_NewRef(schema);
    self->profile = Py_NewRef(profile);
    self->key = Py_NewRef(key);
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_encoder_new(((BlPySchema *)schema)->schema,
                                  ((BlPyProfile *)profile)->profile, k, &self->enc, &err);
    if (st != BL_OK) {
        self->h.closed = 1;
        Py_DECREF(self);
        return blpy_raise(st, &err);
    }
    self->layout = blpy_layout_from_schema(((BlPySchema *)schema)->schema);
    if (!self->layout) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* UTF-8 of a cell; missing (None, NaN) is "".  *keep receives a new reference
   that owns the returned text. */
static const char *cell_text(PyObject *v, PyObject **keep)
{
    *keep = NULL;
    if (v == Py_None || (PyFloat_Check(v) && isnan(PyFloat_AS_DOUBLE(v))))
        return "";
    if (PyUnicode_Check(v)) {
        *keep = Py_NewRef(v);
    } else if (PyBytes_Check(v)) {
        *keep = PyUnicode_FromEncodedObject(v, "utf-8", "strict");
    } else {
        *keep = PyObject_Str(v);
    }
    if (!*keep)
        return NULL;
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(*keep, &n);
    if (s && strlen(s) != (size_t)n) {
        blpy_misuse("a value contains a NUL character");
        return NULL;
    }
    return s;
}

PyDoc_STRVAR(encode_row_doc,
             "encode_row(row, columns=None) -> Record\n\n"
             "Encode one row exactly as the CSV path does.  row is a mapping from\n"
             "column name to value, or a sequence of values with `columns` naming\n"
             "them (the same columns the source's CSV header has).  None and NaN are\n"
             "missing; other values are converted with str().  Invalid values are\n"
             "counted in .stats and encoded as missing.  An empty record id raises\n"
             "InvalidValueError; a column the profile needs but the row lacks,\n"
             "NotFoundError.");
static PyObject *encoder_encode_row(BlPyEncoder *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"row", "columns", NULL};
    PyObject *row, *columns = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:encode_row", kwlist, &row, &columns))
        return NULL;
    if (blpy_check_open(&self->h, "encoder") < 0)
        return NULL;
    PyObject *cols = NULL, *vals = NULL, *r = NULL, *keep = NULL;
    const char **cv = NULL, **vv = NULL;
    if (columns == Py_None) {
        if (!PyMapping_Check(row) || PyTuple_Check(row) || PyList_Check(row)) {
            blpy_misuse("encode_row: a sequence row needs columns=");
            return NULL;
        }
        cols = PyMapping_Keys(row);
        vals = cols ? PyMapping_Values(row) : NULL;
    } else {
        cols = PySequence_List(columns);
        vals = cols ? PySequence_List(row) : NULL;
    }
    if (!vals)
        goto done;
    Py_ssize_t n = PyList_GET_SIZE(cols);
    if (PyList_GET_SIZE(vals) != n) {
        blpy_misuse("encode_row: %zd columns but %zd values", n, PyList_GET_SIZE(vals));
        goto done;
    }
    keep = PyList_New(0);
    cv = PyMem_Calloc((size_t)n + 1, sizeof *cv);
    vv = PyMem_Calloc((size_t)n + 1, sizeof *vv);
    if (!keep || !cv || !vv) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *k1 = NULL, *k2 = NULL;
        PyObject *c = PyList_GET_ITEM(cols, i);
        if (!PyUnicode_Check(c)) {
            PyErr_SetString(PyExc_TypeError, "column names must be str");
            goto done;
        }
        cv[i] = cell_text(c, &k1);
        vv[i] = cv[i] ? cell_text(PyList_GET_ITEM(vals, i), &k2) : NULL;
        int bad = (k1 && PyList_Append(keep, k1) < 0) || (k2 && PyList_Append(keep, k2) < 0);
        Py_XDECREF(k1);
        Py_XDECREF(k2);
        if (!cv[i] || !vv[i] || bad)
            goto done;
    }
    const bl_record_view *v = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_encoder_encode_row(self->enc, cv, vv, (size_t)n, &v, &self->stats, &err);
    if (st != BL_OK)
        blpy_raise(st, &err);
    else
        r = blpy_record_new(v, self->layout);
done:
    PyMem_Free(cv);
    PyMem_Free(vv);
    Py_XDECREF(keep);
    Py_XDECREF(cols);
    Py_XDECREF(vals);
    return r;
}

PyObject *blpy_encode_stats_dict(const bl_encode_stats *s)
{
    return Py_BuildValue(
        "{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K}", "records_read",
        (unsigned long long)s->records_read, "records_encoded",
        (unsigned long long)s->records_encoded, "records_rejected",
        (unsigned long long)s->records_rejected, "invalid_date", (unsigned long long)s->invalid_date,
        "future_date", (unsigned long long)s->future_date, "invalid_sex",
        (unsigned long long)s->invalid_sex, "invalid_postcode",
        (unsigned long long)s->invalid_postcode, "invalid_nhs_number",
        (unsigned long long)s->invalid_nhs_number, "invalid_name",
        (unsigned long long)s->invalid_name, "missing_salt", (unsigned long long)s->missing_salt,
        "duplicate_record_id", (unsigned long long)s->duplicate_record_id);
}

PyDoc_STRVAR(encode_csv_doc,
             "encode_csv(in_path, out_path, content_path=None, id_map_path=None,\n"
             "           progress=None) -> dict\n\n"
             "Encode a whole extract (CSV or .csv.gz) into the encoding file out_path,\n"
             "the content file and the holder's id map (record_id,record_token), all\n"
             "written atomically: on failure none is left behind.  Returns the counts\n"
             "(records read, encoded, rejected; invalid values by reason).  Releases\n"
             "the GIL; progress(what, done, total) is called now and then, and an\n"
             "exception it raises (or Ctrl-C) cancels.");
static PyObject *encoder_encode_csv(BlPyEncoder *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"in_path", "out_path", "content_path", "id_map_path", "progress",
                             NULL};
    PyObject *in = NULL, *out = NULL, *content = NULL, *idmap = NULL, *progress = Py_None;
    PyObject *r = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&|O&O&O:encode_csv", kwlist,
                                     blpy_path_converter, &in, blpy_path_converter, &out,
                                     blpy_optional_path_converter, &content,
                                     blpy_optional_path_converter, &idmap, &progress))
        goto done;
    if (blpy_acquire(&self->h, "encoder") < 0)
        goto done;
    blpy_callback cb;
    blpy_callback_init(&cb, progress, NULL);
    bl_encode_stats stats;
    memset(&stats, 0, sizeof stats);
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    Py_BEGIN_ALLOW_THREADS
    st = bl_encoder_encode_csv(self->enc, PyBytes_AS_STRING(in), PyBytes_AS_STRING(out),
                               BLPY_PATH(content), BLPY_PATH(idmap), blpy_progress, &cb, &stats,
                               &err);
    Py_END_ALLOW_THREADS
    blpy_release(&self->h);
    if (blpy_callback_finish(&cb))
        goto done;
    if (st != BL_OK)
        blpy_raise(st, &err);
    else
        r = blpy_encode_stats_dict(&stats);
done:
    Py_XDECREF(in);
    Py_XDECREF(out);
    Py_XDECREF(content);
    Py_XDECREF(idmap);
    return r;
}

PyDoc_STRVAR(record_token_doc,
             "record_token(record_id) -> str\n\n"
             "The record token (32 hex) this source gives a local record id.");
static PyObject *encoder_record_token(BlPyEncoder *self, PyObject *arg)
{
    if (blpy_check_open(&self->h, "encoder") < 0)
        return NULL;
    PyObject *keep;
    const char *id = cell_text(arg, &keep);
    if (!id)
        return NULL;
    char hex[33];
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_encoder_record_token(self->enc, id, hex, &err);
    Py_XDECREF(keep);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    return PyUnicode_FromString(hex);
}

static PyObject *encoder_close(BlPyEncoder *self, PyObject *args)
{
    if (self->h.busy)
        return blpy_misuse("encoder is in use by another thread");
    self->h.closed = 1;
    encoder_free_now(self);
    Py_RETURN_NONE;
}

static PyObject *encoder_enter(BlPyEncoder *self, PyObject *args)
{
    if (blpy_check_open(&self->h, "encoder") < 0)
        return NULL;
    return Py_NewRef(self);
}

static PyObject *encoder_exit(BlPyEncoder *self, PyObject *args)
{
    PyObject *r = encoder_close(self, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *encoder_key_fingerprint(BlPyEncoder *self, void *c)
{
    if (blpy_check_open(&self->h, "encoder") < 0)
        return NULL;
    return PyUnicode_FromString(bl_encoder_key_fingerprint(self->enc));
}

static PyObject *encoder_header(BlPyEncoder *self, void *c)
{
    if (blpy_check_open(&self->h, "encoder") < 0)
        return NULL;
    char sfp[BL_FINGERPRINT_HEX + 1];
    bl_schema_fingerprint(((BlPySchema *)self->schema)->schema, sfp);
    return blpy_header_dict(self->layout, bl_profile_source(((BlPyProfile *)self->profile)->profile),
                            sfp, bl_encoder_key_fingerprint(self->enc));
}

static PyObject *encoder_stats(BlPyEncoder *self, void *c)
{
    return blpy_encode_stats_dict(&self->stats);
}

static PyObject *encoder_get(BlPyEncoder *self, void *c)
{
    PyObject *o = c ? self->profile : self->schema;
    return Py_NewRef(o);
}

static PyObject *encoder_closed(BlPyEncoder *self, void *c) { return PyBool_FromLong(self->h.closed); }

static PyMethodDef encoder_methods[] = {
    {"encode_row", (PyCFunction)(void (*)(void))encoder_encode_row, METH_VARARGS | METH_KEYWORDS,
     encode_row_doc},
    {"encode_csv", (PyCFunction)(void (*)(void))encoder_encode_csv, METH_VARARGS | METH_KEYWORDS,
     encode_csv_doc},
    {"record_token", (PyCFunction)encoder_record_token, METH_O, record_token_doc},
    {"close", (PyCFunction)encoder_close, METH_NOARGS,
     "Free the encoder and wipe the sub-keys derived from the key."},
    {"__enter__", (PyCFunction)encoder_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)encoder_exit, METH_VARARGS, NULL},
    {NULL}};

static PyGetSetDef encoder_getset[] = {
    {"key_fingerprint", (getter)encoder_key_fingerprint, NULL, "Fingerprint of the key (hex).",
     NULL},
    {"header", (getter)encoder_header, NULL,
     "Header of the .ble files this encoder writes (for EncodingWriter).", NULL},
    {"stats", (getter)encoder_stats, NULL, "Counts over the encode_row calls so far.", NULL},
    {"schema", (getter)encoder_get, NULL, "The Schema.", NULL},
    {"profile", (getter)encoder_get, NULL, "The Profile.", (void *)1},
    {"closed", (getter)encoder_closed, NULL, "True after close().", NULL},
    {NULL}};

PyTypeObject BlPyEncoder_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bloomlink._Encoder",
    .tp_basicsize = sizeof(BlPyEncoder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Encoder(schema, profile, key)\n\n"
              "Encode one source's records with a linkage key.  Keeps the schema,\n"
              "profile and key alive; close() (or leaving a with block) wipes the\n"
              "derived sub-keys.  One thread at a time.",
    .tp_new = encoder_new,
    .tp_dealloc = (destructor)encoder_dealloc,
    .tp_methods = encoder_methods,
    .tp_getset = encoder_getset,
};
