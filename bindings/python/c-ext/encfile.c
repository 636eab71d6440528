/* encfile.c - encoding files (.ble): bloomlink.Record (one record, copied out
 * of the library), bloomlink.EncodingReader and bloomlink.EncodingWriter.
 *
 * A layout is kept as a tuple (field_names, field_bits, field_types,
 * clk_bits, blocking_key_names) so that records can name their fields; the
 * Python side sees it as the `header` dict of readers and encoders. */
#include "bloomlink_ext.h"

#include <stdlib.h>
#include <string.h>

PyTypeObject BlPyRecord_Type;

static PyStructSequence_Field record_fields[] = {
    {"token", "Record token (16 bytes): HMAC of source and local record id."},
    {"present", "Presence mask: bit i set when field i has a value."},
    {"fields", "Field filters: schema field name -> filter bytes (zeros when absent)."},
    {"clk", "Record-level Bloom filter (CLK) bytes; b'' when the layout has none."},
    {"blocking_keys", "Blocking key name -> keyed 64-bit value (0 = no key)."},
    {"sex", "0 unknown, 1 male, 2 female."},
    {"age_band", "0 unknown, else 1 + age/10 at encoding."},
    {"cohort", "Keyed 16-bit tag of the salt (birth year); 0 unknown."},
    {NULL}};

static PyStructSequence_Desc record_desc = {
    "bloomlink.Record",
    "One encoded record (a copy; filters as bytes, little-endian 64-bit words as\n"
    "stored).  Compare records with ==.",
    record_fields, 8};


static PyObject *str_tuple(const char *const *names, size_t n)
{
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; t && i < n; i++) {
        PyObject *s = PyUnicode_FromString(names[i] ? names[i] : "");
        if (!s) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, s);
    }
    return t;
}

/* Layout tuple: (names, bits, types, clk_bits, key names, swap groups
   (str or None), salted (bool)); groups and salted may be NULL (none). */
static PyObject *layout_build(size_t nf, const char *const *names, const uint32_t *bits,
                              const uint8_t *types, size_t clk_bits, size_t nk,
                              const char *const *key_names, const char *const *groups,
                              const uint8_t *salted)
{
    PyObject *fn = str_tuple(names, nf), *kn = str_tuple(key_names, nk);
    PyObject *fb = PyTuple_New((Py_ssize_t)nf), *ft = PyTuple_New((Py_ssize_t)nf);
    PyObject *fg = PyTuple_New((Py_ssize_t)nf), *fs = PyTuple_New((Py_ssize_t)nf);
    PyObject *r = NULL;
    if (!fn || !kn || !fb || !ft || !fg || !fs)
        goto done;
    for (size_t i = 0; i < nf; i++) {
        PyObject *g = groups && groups[i] ? PyUnicode_FromString(groups[i]) : Py_NewRef(Py_None);
        if (!g)
            goto done;
        PyTuple_SET_ITEM(fg, (Py_ssize_t)i, g);
        PyTuple_SET_ITEM(fs, (Py_ssize_t)i, PyBool_FromLong(salted ? salted[i] : 0));
    }
    for (size_t i = 0; i < nf; i++) {
        PyObject *b = PyLong_FromUnsignedLong(bits[i]);
        PyObject *t = PyUnicode_FromString(bl_field_type_name((bl_field_type)types[i]));
        if (!b || !t) {
            Py_XDECREF(b);
            Py_XDECREF(t);
            goto done;
        }
        PyTuple_SET_ITEM(fb, (Py_ssize_t)i, b);
        PyTuple_SET_ITEM(ft, (Py_ssize_t)i, t);
    }
    r = Py_BuildValue("(OOOnOOO)", fn, fb, ft, (Py_ssize_t)clk_bits, kn, fg, fs);
done:
    Py_XDECREF(fg);
    Py_XDECREF(fs);
    Py_XDECREF(fn);
    Py_XDECREF(kn);
    Py_XDECREF(fb);
    Py_XDECREF(ft);
    return r;
}

PyObject *blpy_layout_from_info(const bl_encfile_info *info)
{
    return layout_build(info->field_count, info->field_names, info->field_bits, info->field_types,
                        info->clk_bits, info->blocking_key_count, info->blocking_key_names,
                        info->field_swap_groups, info->field_salted);
}

PyObject *blpy_layout_from_schema(const bl_schema *schema)
{
    size_t nf = bl_schema_field_count(schema), nk = bl_schema_blocking_key_count(schema);
    const char *names[BL_MAX_FIELDS], *keys[64], *groups[BL_MAX_FIELDS];
    uint32_t bits[BL_MAX_FIELDS];
    uint8_t types[BL_MAX_FIELDS], salted[BL_MAX_FIELDS];
    if (nf > BL_MAX_FIELDS || nk > 64) {
        blpy_misuse("schema too large for a layout");
        return NULL;
    }
    for (size_t i = 0; i < nf; i++) {
        names[i] = bl_schema_field_name(schema, i);
        bits[i] = (uint32_t)bl_schema_field_bits(schema, i);
        types[i] = (uint8_t)bl_schema_field_type(schema, i);
        groups[i] = bl_schema_field_swap_group(schema, i);
        salted[i] = (uint8_t)bl_schema_field_salted(schema, i);
    }
    for (size_t i = 0; i < nk; i++)
        keys[i] = bl_schema_blocking_key_name(schema, i);
    return layout_build(nf, names, bits, types, bl_schema_clk_bits(schema), nk, keys, groups,
                        salted);
}

PyObject *blpy_record_new(const bl_record_view *v, PyObject *layout)
{
    PyObject *names = PyTuple_GET_ITEM(layout, 0), *bits = PyTuple_GET_ITEM(layout, 1);
    Py_ssize_t clk_bits = PyLong_AsSsize_t(PyTuple_GET_ITEM(layout, 3));
    PyObject *keys = PyTuple_GET_ITEM(layout, 4);
    PyObject *rec = PyStructSequence_New(&BlPyRecord_Type);
    if (!rec)
        return NULL;
    PyObject *fields = PyDict_New(), *bk = PyDict_New();
    if (!fields || !bk)
        goto fail;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        size_t nbits = PyLong_AsSize_t(PyTuple_GET_ITEM(bits, i));
        PyObject *f = PyBytes_FromStringAndSize((const char *)v->fields[i], (Py_ssize_t)(nbits / 8));
        if (!f || PyDict_SetItem(fields, PyTuple_GET_ITEM(names, i), f) < 0) {
            Py_XDECREF(f);
            goto fail;
        }
        Py_DECREF(f);
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keys); i++) {
        PyObject *k = PyLong_FromUnsignedLongLong(v->blocking_keys[i]);
        if (!k || PyDict_SetItem(bk, PyTuple_GET_ITEM(keys, i), k) < 0) {
            Py_XDECREF(k);
            goto fail;
        }
        Py_DECREF(k);
    }
    PyObject *items[8] = {
        PyBytes_FromStringAndSize((const char *)v->token, BL_TOKEN_BYTES),
        PyLong_FromUnsignedLong(v->present),
        fields,
        clk_bits > 0 && v->clk ? PyBytes_FromStringAndSize((const char *)v->clk, clk_bits / 8)
                               : PyBytes_FromStringAndSize("", 0),
        bk,
        PyLong_FromLong(v->sex),
        PyLong_FromLong(v->age_band),
        PyLong_FromLong(v->cohort)};
    fields = bk = NULL;
    int bad = 0;
    for (int i = 0; i < 8; i++) {
        if (!items[i])
            bad = 1;
        PyStructSequence_SET_ITEM(rec, i, items[i] ? items[i] : Py_NewRef(Py_None));
    }
    if (bad) {
        Py_DECREF(rec);
        return NULL;
    }
    return rec;
fail:
    Py_XDECREF(fields);
    Py_XDECREF(bk);
    Py_DECREF(rec);
    return NULL;
}

/* header dict of a layout plus file metadata */
static PyObject *header_dict(PyObject *layout, const bl_encfile_info *info, const char *source,
                             const char *schema_fp, const char *key_fp)
{
    PyObject *names = PyTuple_GET_ITEM(layout, 0), *bits = PyTuple_GET_ITEM(layout, 1),
             *types = PyTuple_GET_ITEM(layout, 2);
    PyObject *fields = PyList_New(PyTuple_GET_SIZE(names));
    if (!fields)
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *d = Py_BuildValue("{s:O,s:O,s:O}", "name", PyTuple_GET_ITEM(names, i), "bits",
                                    PyTuple_GET_ITEM(bits, i), "type", PyTuple_GET_ITEM(types, i));
        PyObject *g = PyTuple_GET_ITEM(PyTuple_GET_ITEM(layout, 5), i);
        if (d && g != Py_None && PyDict_SetItemString(d, "swap_group", g) < 0)
            Py_CLEAR(d);
        if (d && PyTuple_GET_ITEM(PyTuple_GET_ITEM(layout, 6), i) == Py_True &&
            PyDict_SetItemString(d, "salted", Py_True) < 0)
            Py_CLEAR(d);
        if (!d) {
            Py_DECREF(fields);
            return NULL;
        }
        PyList_SET_ITEM(fields, i, d);
    }
    PyObject *keys = PySequence_List(PyTuple_GET_ITEM(layout, 4));
    if (!keys) {
        Py_DECREF(fields);
        return NULL;
    }
    PyObject *d = Py_BuildValue("{s:s,s:s,s:s,s:N,s:O,s:N}", "source", source ? source : "",
                                "schema_fingerprint", schema_fp ? schema_fp : "", "key_fingerprint",
                                key_fp ? key_fp : "", "fields", fields, "clk_bits",
                                PyTuple_GET_ITEM(layout, 3), "blocking_keys", keys);
    if (d && info) {
        PyObject *extra = Py_BuildValue("{s:(II),s:K,s:n}", "version", info->version_major,
                                        info->version_minor, "record_count",
                                        (unsigned long long)info->record_count, "record_bytes",
                                        (Py_ssize_t)info->record_bytes);
        if (!extra || PyDict_Update(d, extra) < 0)
            Py_CLEAR(d);
        Py_XDECREF(extra);
    }
    return d;
}

PyObject *blpy_header_dict(PyObject *layout, const char *source, const char *schema_fp,
                           const char *key_fp)
{
    return header_dict(layout, NULL, source, schema_fp, key_fp);
}

/* ------------------------------------------------------------ Reader */

typedef struct {
    bl_py_handle h;
    bl_encfile_reader *r;
    PyObject *layout;
    PyObject *header;
} BlPyReader;

static void reader_dealloc(BlPyReader *self)
{
    bl_encfile_close(self->r);
    Py_XDECREF(self->layout);
    Py_XDECREF(self->header);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *reader_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", NULL};
    PyObject *path = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:EncodingReader", kwlist, blpy_path_converter,
                                     &path))
        return NULL;
    BlPyReader *self = (BlPyReader *)type->tp_alloc(type, 0);
    if (!self) {
        Py_DECREF(path);
        return NULL;
    }
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    Py_BEGIN_ALLOW_THREADS
    st = bl_encfile_open(PyBytes_AS_STRING(path), &self->r, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (st != BL_OK) {
        self->h.closed = 1;
        Py_DECREF(self);
        return blpy_raise(st, &err);
    }
    const bl_encfile_info *info = bl_encfile_header(self->r);
    self->layout = blpy_layout_from_info(info);
    if (self->layout)
        self->header = header_dict(self->layout, info, info->source, info->schema_fingerprint,
                                   info->key_fingerprint);
    if (!self->header) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static PyObject *reader_next(BlPyReader *self)
{
    if (!self->r)
        return NULL; /* closed or exhausted: StopIteration */
    if (blpy_check_open(&self->h, "reader") < 0)
        return NULL;
    const bl_record_view *v = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    self->h.busy = 1;
    Py_BEGIN_ALLOW_THREADS
    st = bl_encfile_next(self->r, &v, &err);
    Py_END_ALLOW_THREADS
    self->h.busy = 0;
    if (st != BL_OK)
        return blpy_raise(st, &err);
    if (!v) {
        /* keep the header; the file is verified and done */
        bl_encfile_close(self->r);
        self->r = NULL;
        return NULL;
    }
    return blpy_record_new(v, self->layout);
}

static PyObject *reader_close(BlPyReader *self, PyObject *args)
{
    if (self->h.busy)
        return blpy_misuse("reader is in use by another thread");
    bl_encfile_close(self->r);
    self->r = NULL;
    self->h.closed = 1;
    Py_RETURN_NONE;
}

static PyObject *reader_enter(BlPyReader *self, PyObject *args) { return Py_NewRef(self); }
static PyObject *reader_exit(BlPyReader *self, PyObject *args)
{
    PyObject *r = reader_close(self, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *reader_header(BlPyReader *self, void *c) { return Py_NewRef(self->header); }
static PyObject *reader_closed(BlPyReader *self, void *c) { return PyBool_FromLong(self->h.closed); }

static PyMethodDef reader_methods[] = {
    {"close", (PyCFunction)reader_close, METH_NOARGS, "Close the file."},
    {"__enter__", (PyCFunction)reader_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)reader_exit, METH_VARARGS, NULL},
    {NULL}};

static PyGetSetDef reader_getset[] = {
    {"header", (getter)reader_header, NULL,
     "The file's header: version, source, schema_fingerprint, key_fingerprint,\n"
     "record_count, fields ({'name','bits','type'} dicts), clk_bits,\n"
     "blocking_keys, record_bytes.",
     NULL},
    {"closed", (getter)reader_closed, NULL, "True after close().", NULL},
    {NULL}};

PyTypeObject BlPyReader_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bloomlink.EncodingReader",
    .tp_basicsize = sizeof(BlPyReader),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "EncodingReader(path)\n\n"
              "Read an encoding file (.ble) record by record; iterate to get Records.\n"
              "The trailer checksum is verified when iteration ends (ChecksumError on\n"
              "damage).  A context manager.",
    .tp_new = reader_new,
    .tp_dealloc = (destructor)reader_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)reader_next,
    .tp_methods = reader_methods,
    .tp_getset = reader_getset,
};

/* ------------------------------------------------------------ Writer */

typedef struct {
    bl_py_handle h;
    bl_encfile_writer *w;
    size_t nfields, nkeys, clk_bits;
    uint32_t bits[BL_MAX_FIELDS];
    PyObject *layout;
    unsigned long long added;
} BlPyWriter;

static void writer_dealloc(BlPyWriter *self)
{
    bl_encfile_writer_abort(self->w); /* never commit a file nobody closed */
    Py_XDECREF(self->layout);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int type_from(PyObject *o, uint8_t *t)
{
    if (PyLong_Check(o)) {
        long v = PyLong_AsLong(o);
        if (v < 0 || v > BL_FIELD_IDENTITY)
            goto bad;
        *t = (uint8_t)v;
        return 0;
    }
    const char *s = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
    if (s)
        for (int i = 0; i <= BL_FIELD_IDENTITY; i++)
            if (!strcmp(s, bl_field_type_name((bl_field_type)i))) {
                *t = (uint8_t)i;
                return 0;
            }
bad:
    if (!PyErr_Occurred())
        blpy_misuse("unknown field type");
    return -1;
}

static PyObject *dict_get(PyObject *d, const char *k)
{
    PyObject *v = PyMapping_GetItemString(d, k);
    if (!v && PyErr_ExceptionMatches(PyExc_KeyError)) {
        PyErr_Clear();
        blpy_misuse("header needs '%s'", k);
    }
    return v;
}

static PyObject *writer_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "header", NULL};
    PyObject *path = NULL, *hdr;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O:EncodingWriter", kwlist, blpy_path_converter,
                                     &path, &hdr))
        return NULL;
    BlPyWriter *self = (BlPyWriter *)type->tp_alloc(type, 0);
    PyObject *source = NULL, *sfp = NULL, *kfp = NULL, *fields = NULL, *fseq = NULL, *clk = NULL,
             *keys = NULL, *kseq = NULL;
    PyObject *field_objs[BL_MAX_FIELDS] = {0};
    const char *fnames[BL_MAX_FIELDS], *knames[64], *groups[BL_MAX_FIELDS] = {NULL};
    uint8_t ftypes[BL_MAX_FIELDS], salted[BL_MAX_FIELDS] = {0};
    PyObject *group_objs[BL_MAX_FIELDS] = {NULL};
    if (!self)
        goto fail;
    self->h.closed = 1; /* until open */
    if (!(source = dict_get(hdr, "source")) || !(sfp = dict_get(hdr, "schema_fingerprint")) ||
        !(kfp = dict_get(hdr, "key_fingerprint")) || !(fields = dict_get(hdr, "fields")) ||
        !(clk = dict_get(hdr, "clk_bits")) || !(keys = dict_get(hdr, "blocking_keys")))
        goto fail;
    const char *src = PyUnicode_AsUTF8(source), *sf = PyUnicode_AsUTF8(sfp),
               *kf = PyUnicode_AsUTF8(kfp);
    if (!src || !sf || !kf)
        goto fail;
    if (!(fseq = PySequence_Fast(fields, "header 'fields' must be a sequence")) ||
        !(kseq = PySequence_Fast(keys, "header 'blocking_keys' must be a sequence")))
        goto fail;
    Py_ssize_t nf = PySequence_Fast_GET_SIZE(fseq), nk = PySequence_Fast_GET_SIZE(kseq);
    if (nf > BL_MAX_FIELDS || nk > 64) {
        blpy_misuse("at most %d fields and 64 blocking keys", BL_MAX_FIELDS);
        goto fail;
    }
    for (Py_ssize_t i = 0; i < nf; i++) {
        PyObject *f = PySequence_Fast_GET_ITEM(fseq, i), *n, *b, *t;
        if (PyMapping_Check(f) && !PyTuple_Check(f) && !PyList_Check(f)) {
            n = dict_get(f, "name");
            b = n ? dict_get(f, "bits") : NULL;
            t = b ? dict_get(f, "type") : NULL;
            /* optional: what the matcher needs from format 1.1 headers */
            PyObject *g = t ? PyMapping_GetItemString(f, "swap_group") : NULL;
            if (!g && PyErr_ExceptionMatches(PyExc_KeyError))
                PyErr_Clear();
            if (g && g != Py_None && !(groups[i] = PyUnicode_AsUTF8(g))) {
                Py_DECREF(g);
                goto fail;
            }
            group_objs[i] = g;
            PyObject *sl = t ? PyMapping_GetItemString(f, "salted") : NULL;
            if (!sl && PyErr_ExceptionMatches(PyExc_KeyError))
                PyErr_Clear();
            salted[i] = sl && PyObject_IsTrue(sl) == 1;
            Py_XDECREF(sl);
        } else if (PySequence_Check(f) && PySequence_Size(f) == 3) {
            n = PySequence_GetItem(f, 0);
            b = n ? PySequence_GetItem(f, 1) : NULL;
            t = b ? PySequence_GetItem(f, 2) : NULL;
        } else {
            blpy_misuse("each field is a {'name','bits','type'} mapping or a (name, bits, type)");
            goto fail;
        }
        field_objs[i] = n;
        int ok = n && b && t && (fnames[i] = PyUnicode_AsUTF8(n)) != NULL;
        unsigned long bits = ok ? PyLong_AsUnsignedLong(b) : 0;
        ok = ok && !PyErr_Occurred() && type_from(t, &ftypes[i]) == 0;
        Py_XDECREF(b);
        Py_XDECREF(t);
        if (!ok)
            goto fail;
        self->bits[i] = (uint32_t)bits;
    }
    for (Py_ssize_t i = 0; i < nk; i++)
        if (!(knames[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(kseq, i))))
            goto fail;
    size_t clk_bits = PyLong_AsSize_t(clk);
    if (PyErr_Occurred())
        goto fail;
    bl_encfile_layout lay = {(size_t)nf, fnames, self->bits, ftypes, clk_bits, (size_t)nk, knames,
                             groups, salted};
    self->nfields = (size_t)nf;
    self->nkeys = (size_t)nk;
    self->clk_bits = clk_bits;
    self->layout = layout_build((size_t)nf, fnames, self->bits, ftypes, clk_bits, (size_t)nk,
                                knames, groups, salted);
    if (!self->layout)
        goto fail;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_encfile_writer_open(PyBytes_AS_STRING(path), src, sf, kf, &lay, &self->w,
                                          &err);
    if (st != BL_OK) {
        blpy_raise(st, &err);
        goto fail;
    }
    self->h.closed = 0;
    goto done;
fail:
    Py_CLEAR(self);
done:
    for (int i = 0; i < BL_MAX_FIELDS; i++) {
        Py_XDECREF(field_objs[i]);
        Py_XDECREF(group_objs[i]);
    }
    Py_XDECREF(path);
    Py_XDECREF(source);
    Py_XDECREF(sfp);
    Py_XDECREF(kfp);
    Py_XDECREF(fields);
    Py_XDECREF(fseq);
    Py_XDECREF(clk);
    Py_XDECREF(keys);
    Py_XDECREF(kseq);
    return (PyObject *)self;
}

/* Fill dst (len bytes) from a bytes-like object of exactly that length. */
static int copy_exact(PyObject *o, void *dst, size_t len, const char *what)
{
    Py_buffer b;
    if (PyObject_GetBuffer(o, &b, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    int ok = (size_t)b.len == len;
    if (ok)
        memcpy(dst, b.buf, len);
    PyBuffer_Release(&b);
    if (!ok)
        blpy_misuse("%s: want %zu bytes", what, len);
    return ok ? 0 : -1;
}

/* Item i of a record part given as a mapping (by name) or a sequence (by position). */
static PyObject *part_item(PyObject *part, PyObject *names, Py_ssize_t i)
{
    if (PyDict_Check(part) || (PyMapping_Check(part) && !PySequence_Check(part)))
        return PyObject_GetItem(part, PyTuple_GET_ITEM(names, i));
    return PySequence_GetItem(part, i);
}

PyDoc_STRVAR(writer_add_doc,
             "add(record) -> None\n\n"
             "Append a record: a Record, or any object with token, present, fields\n"
             "(mapping by name or sequence), clk, blocking_keys, sex and age_band.");
static PyObject *writer_add(BlPyWriter *self, PyObject *rec)
{
    if (blpy_check_open(&self->h, "writer") < 0)
        return NULL;
    uint8_t token[BL_TOKEN_BYTES];
    uint64_t *fbuf[BL_MAX_FIELDS] = {0};
    uint64_t *clk = NULL, keys[64];
    PyObject *tok = NULL, *present = NULL, *fields = NULL, *clko = NULL, *bk = NULL, *sex = NULL,
             *age = NULL, *r = NULL;
    if (!(tok = PyObject_GetAttrString(rec, "token")) ||
        !(present = PyObject_GetAttrString(rec, "present")) ||
        !(fields = PyObject_GetAttrString(rec, "fields")) ||
        !(clko = PyObject_GetAttrString(rec, "clk")) ||
        !(bk = PyObject_GetAttrString(rec, "blocking_keys")) ||
        !(sex = PyObject_GetAttrString(rec, "sex")) ||
        !(age = PyObject_GetAttrString(rec, "age_band")))
        goto done;
    if (copy_exact(tok, token, BL_TOKEN_BYTES, "token") < 0)
        goto done;
    PyObject *names = PyTuple_GET_ITEM(self->layout, 0), *knames = PyTuple_GET_ITEM(self->layout, 4);
    for (size_t i = 0; i < self->nfields; i++) {
        fbuf[i] = PyMem_Calloc(self->bits[i] / 64 + 1, 8);
        PyObject *f = fbuf[i] ? part_item(fields, names, (Py_ssize_t)i) : NULL;
        if (!fbuf[i] && !PyErr_Occurred())
            PyErr_NoMemory();
        int bad = !f || copy_exact(f, fbuf[i], self->bits[i] / 8, "field filter") < 0;
        Py_XDECREF(f);
        if (bad)
            goto done;
    }
    clk = PyMem_Calloc(self->clk_bits / 64 + 1, 8);
    if (!clk) {
        PyErr_NoMemory();
        goto done;
    }
    if (self->clk_bits && copy_exact(clko, clk, self->clk_bits / 8, "clk") < 0)
        goto done;
    for (size_t i = 0; i < self->nkeys; i++) {
        PyObject *k = part_item(bk, knames, (Py_ssize_t)i);
        keys[i] = k ? PyLong_AsUnsignedLongLong(k) : 0;
        Py_XDECREF(k);
        if (PyErr_Occurred())
            goto done;
    }
    bl_record_view v;
    memset(&v, 0, sizeof v);
    v.token = token;
    v.present = (uint32_t)PyLong_AsUnsignedLong(present);
    v.fields = (const uint64_t *const *)fbuf;
    v.clk = clk;
    v.blocking_keys = keys;
    v.sex = (uint8_t)PyLong_AsLong(sex);
    v.age_band = (uint8_t)PyLong_AsLong(age);
    PyObject *coh = PyObject_GetAttrString(rec, "cohort");
    if (!coh && PyErr_ExceptionMatches(PyExc_AttributeError))
        PyErr_Clear(); /* records built before format 1.1: no cohort */
    v.cohort = coh ? (uint16_t)PyLong_AsLong(coh) : 0;
    Py_XDECREF(coh);
    if (PyErr_Occurred())
        goto done;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_encfile_writer_add(self->w, &v, &err);
    if (st != BL_OK) {
        blpy_raise(st, &err);
        goto done;
    }
    self->added++;
    r = Py_NewRef(Py_None);
done:
    for (size_t i = 0; i < self->nfields; i++)
        PyMem_Free(fbuf[i]);
    PyMem_Free(clk);
    Py_XDECREF(tok);
    Py_XDECREF(present);
    Py_XDECREF(fields);
    Py_XDECREF(clko);
    Py_XDECREF(bk);
    Py_XDECREF(sex);
    Py_XDECREF(age);
    return r;
}

PyDoc_STRVAR(writer_close_doc,
             "close() -> None\n\n"
             "Write the trailer, fsync and rename the file into place.  Closing twice\n"
             "is a no-op.");
static PyObject *writer_close(BlPyWriter *self, PyObject *args)
{
    if (self->h.busy)
        return blpy_misuse("writer is in use by another thread");
    if (!self->w)
        Py_RETURN_NONE;
    bl_encfile_writer *w = self->w;
    self->w = NULL;
    self->h.closed = 1;
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    Py_BEGIN_ALLOW_THREADS
    st = bl_encfile_writer_close(w, &err);
    Py_END_ALLOW_THREADS
    if (st != BL_OK)
        return blpy_raise(st, &err);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(writer_abort_doc, "abort() -> None\n\nDiscard the partial file.");
static PyObject *writer_abort(BlPyWriter *self, PyObject *args)
{
    if (self->h.busy)
        return blpy_misuse("writer is in use by another thread");
    bl_encfile_writer_abort(self->w);
    self->w = NULL;
    self->h.closed = 1;
    Py_RETURN_NONE;
}

static PyObject *writer_enter(BlPyWriter *self, PyObject *args)
{
    if (blpy_check_open(&self->h, "writer") < 0)
        return NULL;
    return Py_NewRef(self);
}

static PyObject *writer_exit(BlPyWriter *self, PyObject *args)
{
    PyObject *et = PyTuple_Size(args) > 0 ? PyTuple_GET_ITEM(args, 0) : Py_None;
    PyObject *r = et == Py_None ? writer_close(self, NULL) : writer_abort(self, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *writer_count(BlPyWriter *self, void *c) { return PyLong_FromUnsignedLongLong(self->added); }
static PyObject *writer_closed(BlPyWriter *self, void *c) { return PyBool_FromLong(self->h.closed); }

static PyMethodDef writer_methods[] = {
    {"add", (PyCFunction)writer_add, METH_O, writer_add_doc},
    {"close", (PyCFunction)writer_close, METH_NOARGS, writer_close_doc},
    {"abort", (PyCFunction)writer_abort, METH_NOARGS, writer_abort_doc},
    {"__enter__", (PyCFunction)writer_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)writer_exit, METH_VARARGS, NULL},
    {NULL}};

static PyGetSetDef writer_getset[] = {
    {"count", (getter)writer_count, NULL, "Records added so far.", NULL},
    {"closed", (getter)writer_closed, NULL, "True after close() or abort().", NULL},
    {NULL}};

PyTypeObject BlPyWriter_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bloomlink.EncodingWriter",
    .tp_basicsize = sizeof(BlPyWriter),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "EncodingWriter(path, header)\n\n"
              "Write an encoding file (.ble).  header is a dict like EncodingReader.header\n"
              "or Encoder.header: source, schema_fingerprint, key_fingerprint, fields,\n"
              "clk_bits, blocking_keys.  The file appears atomically on close(); as a\n"
              "context manager it commits on success and discards on an exception.\n"
              "An unclosed writer is discarded when collected.",
    .tp_new = writer_new,
    .tp_dealloc = (destructor)writer_dealloc,
    .tp_methods = writer_methods,
    .tp_getset = writer_getset,
};

int blpy_encfile_init(PyObject *module)
{
    if (!BlPyRecord_Type.tp_name && PyStructSequence_InitType2(&BlPyRecord_Type, &record_desc) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Record", (PyObject *)&BlPyRecord_Type);
}
