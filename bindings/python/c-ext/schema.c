/* schema.c - bloomlink.Schema (linkage schema) and bloomlink.Profile (source
 * profile).  Neither is secret; both are immutable once parsed. */
#include "bloomlink_ext.h"

/* ------------------------------------------------------------ Schema */

static void schema_dealloc(BlPySchema *self)
{
    bl_schema_free(self->schema);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *schema_wrap(bl_schema *s)
{
    BlPySchema *self = PyObject_New(BlPySchema, &BlPySchema_Type);
    if (!self) {
        bl_schema_free(s);
        return NULL;
    }
    self->h.closed = self->h.busy = 0;
    self->h.users = 0;
    self->schema = s;
    return (PyObject *)self;
}

PyDoc_STRVAR(schema_load_doc, "Schema.load(path) -> Schema\n\nParse a linkage schema JSON file.");
static PyObject *schema_load(PyTypeObject *cls, PyObject *arg)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    bl_schema *s = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_schema_load(PyBytes_AS_STRING(path), &s, &err);
    Py_DECREF(path);
    return st != BL_OK ? blpy_raise(st, &err) : schema_wrap(s);
}

/* Text argument: str (UTF-8) or bytes-like. */
static int get_text(PyObject *o, Py_buffer *b)
{
    if (PyUnicode_Check(o)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(o, &n);
        if (!s)
            return -1;
        return PyBuffer_FillInfo(b, o, (void *)s, n, 1, PyBUF_SIMPLE);
    }
    return PyObject_GetBuffer(o, b, PyBUF_SIMPLE);
}

PyDoc_STRVAR(schema_parse_doc,
             "Schema.parse(text, name='<memory>') -> Schema\n\n"
             "Parse a schema from JSON text (str or bytes-like); name is used in errors.");
static PyObject *schema_parse(PyTypeObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"text", "name", NULL};
    PyObject *text;
    const char *name = "<memory>";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|s:parse", kwlist, &text, &name))
        return NULL;
    Py_buffer b;
    if (get_text(text, &b) < 0)
        return NULL;
    bl_schema *s = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_schema_parse(b.buf, (size_t)b.len, name, &s, &err);
    PyBuffer_Release(&b);
    return st != BL_OK ? blpy_raise(st, &err) : schema_wrap(s);
}

PyDoc_STRVAR(schema_default_doc,
             "Schema.default() -> Schema\n\nThe shipped default schema for English health and care data.");
static PyObject *schema_default(PyTypeObject *cls, PyObject *args)
{
    bl_schema *s = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_schema_default(&s, &err);
    return st != BL_OK ? blpy_raise(st, &err) : schema_wrap(s);
}

PyDoc_STRVAR(schema_default_json_doc,
             "Schema.default_json() -> str\n\nThe default schema's JSON text.");
static PyObject *schema_default_json(PyTypeObject *cls, PyObject *args)
{
    return PyUnicode_FromString(bl_schema_default_json());
}

static PyObject *schema_fingerprint(BlPySchema *self, void *c)
{
    char hex[BL_FINGERPRINT_HEX + 1];
    bl_schema_fingerprint(self->schema, hex);
    return PyUnicode_FromString(hex);
}

static PyObject *schema_canonical(BlPySchema *self, void *c)
{
    char *out = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_schema_canonical(self->schema, &out, &err);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    PyObject *r = PyUnicode_FromString(out);
    free(out);
    return r;
}

static PyObject *schema_fields(BlPySchema *self, void *c)
{
    size_t n = bl_schema_field_count(self->schema);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *t = Py_BuildValue("{s:s,s:s,s:n}", "name", bl_schema_field_name(self->schema, i),
                                    "type", bl_field_type_name(bl_schema_field_type(self->schema, i)),
                                    "bits", (Py_ssize_t)bl_schema_field_bits(self->schema, i));
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

static PyObject *schema_field_names(BlPySchema *self, void *c)
{
    size_t n = bl_schema_field_count(self->schema);
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; t && i < n; i++) {
        PyObject *s = PyUnicode_FromString(bl_schema_field_name(self->schema, i));
        if (!s) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, s);
    }
    return t;
}

static PyObject *schema_clk_bits(BlPySchema *self, void *c)
{
    return PyLong_FromSize_t(bl_schema_clk_bits(self->schema));
}

static PyObject *schema_blocking_keys(BlPySchema *self, void *c)
{
    size_t n = bl_schema_blocking_key_count(self->schema);
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; t && i < n; i++) {
        PyObject *s = PyUnicode_FromString(bl_schema_blocking_key_name(self->schema, i));
        if (!s) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, s);
    }
    return t;
}

static PyObject *schema_repr(BlPySchema *self)
{
    char hex[BL_FINGERPRINT_HEX + 1];
    bl_schema_fingerprint(self->schema, hex);
    return PyUnicode_FromFormat("<bloomlink.Schema fields=%zu fingerprint=%.16s...>",
                                bl_schema_field_count(self->schema), hex);
}

static PyMethodDef schema_methods[] = {
    {"load", (PyCFunction)schema_load, METH_O | METH_CLASS, schema_load_doc},
    {"parse", (PyCFunction)(void (*)(void))schema_parse, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     schema_parse_doc},
    {"default", (PyCFunction)schema_default, METH_NOARGS | METH_CLASS, schema_default_doc},
    {"default_json", (PyCFunction)schema_default_json, METH_NOARGS | METH_CLASS,
     schema_default_json_doc},
    {NULL}};

static PyGetSetDef schema_getset[] = {
    {"fingerprint", (getter)schema_fingerprint, NULL, "SHA-256 of the canonical JSON (hex).", NULL},
    {"canonical_json", (getter)schema_canonical, NULL, "Canonical JSON (sorted keys, compact).",
     NULL},
    {"fields", (getter)schema_fields, NULL, "Fields: a list of {'name', 'type', 'bits'} dicts.",
     NULL},
    {"field_names", (getter)schema_field_names, NULL, "Field names, in order.", NULL},
    {"clk_bits", (getter)schema_clk_bits, NULL, "Bits in the record-level CLK.", NULL},
    {"blocking_keys", (getter)schema_blocking_keys, NULL, "Blocking key names, in order.", NULL},
    {NULL}};

PyTypeObject BlPySchema_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bloomlink.Schema",
    .tp_basicsize = sizeof(BlPySchema),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A linkage schema: the identifier fields, how each is normalised,\n"
              "tokenised and hashed, and the blocking keys.  Not secret.\n"
              "Make one with Schema.load(path), Schema.parse(text) or Schema.default().",
    .tp_dealloc = (destructor)schema_dealloc,
    .tp_repr = (reprfunc)schema_repr,
    .tp_methods = schema_methods,
    .tp_getset = schema_getset,
};

/* ------------------------------------------------------------ Profile */

static void profile_dealloc(BlPyProfile *self)
{
    bl_profile_free(self->profile);
    Py_XDECREF(self->schema);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *profile_wrap(bl_profile *p, PyObject *schema)
{
    BlPyProfile *self = PyObject_New(BlPyProfile, &BlPyProfile_Type);
    if (!self) {
        bl_profile_free(p);
        return NULL;
    }
    self->h.closed = self->h.busy = 0;
    self->h.users = 0;
    self->profile = p;
    self->schema = Py_NewRef(schema);
    return (PyObject *)self;
}

PyDoc_STRVAR(profile_load_doc, "Profile.load(path, schema) -> Profile\n\n"
                               "Parse a source profile JSON file against a schema.");
static PyObject *profile_load(PyTypeObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "schema", NULL};
    PyObject *path = NULL, *schema;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O!:load", kwlist, blpy_path_converter, &path,
                                     &BlPySchema_Type, &schema))
        return NULL;
    bl_profile *p = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st =
        bl_profile_load(PyBytes_AS_STRING(path), ((BlPySchema *)schema)->schema, &p, &err);
    Py_DECREF(path);
    return st != BL_OK ? blpy_raise(st, &err) : profile_wrap(p, schema);
}

PyDoc_STRVAR(profile_parse_doc,
             "Profile.parse(text, schema, name='<memory>') -> Profile\n\n"
             "Parse a source profile from JSON text against a schema.");
static PyObject *profile_parse(PyTypeObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"text", "schema", "name", NULL};
    PyObject *text, *schema;
    const char *name = "<memory>";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO!|s:parse", kwlist, &text, &BlPySchema_Type,
                                     &schema, &name))
        return NULL;
    Py_buffer b;
    if (get_text(text, &b) < 0)
        return NULL;
    bl_profile *p = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st =
        bl_profile_parse(b.buf, (size_t)b.len, name, ((BlPySchema *)schema)->schema, &p, &err);
    PyBuffer_Release(&b);
    return st != BL_OK ? blpy_raise(st, &err) : profile_wrap(p, schema);
}

static PyObject *str_or_none(const char *s)
{
    return s ? PyUnicode_FromString(s) : Py_NewRef(Py_None);
}

static PyObject *profile_source(BlPyProfile *self, void *c)
{
    return str_or_none(bl_profile_source(self->profile));
}
static PyObject *profile_record_id_column(BlPyProfile *self, void *c)
{
    return str_or_none(bl_profile_record_id_column(self->profile));
}
static PyObject *profile_separator(BlPyProfile *self, void *c)
{
    char s[2] = {bl_profile_separator(self->profile), 0};
    return PyUnicode_FromString(s);
}
static PyObject *profile_skip(BlPyProfile *self, void *c)
{
    return PyBool_FromLong(bl_profile_skip_initial_space(self->profile));
}
static PyObject *profile_schema(BlPyProfile *self, void *c) { return Py_NewRef(self->schema); }

static PyObject *profile_content_columns(BlPyProfile *self, void *c)
{
    size_t n = bl_profile_content_count(self->profile);
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; t && i < n; i++) {
        PyObject *s = str_or_none(bl_profile_content_column(self->profile, i));
        if (!s) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, s);
    }
    return t;
}

static PyObject *profile_field_columns(BlPyProfile *self, void *c)
{
    const bl_schema *schema = ((BlPySchema *)self->schema)->schema;
    PyObject *d = PyDict_New();
    size_t n = bl_schema_field_count(schema);
    for (size_t i = 0; d && i < n; i++) {
        const char *f = bl_schema_field_name(schema, i);
        PyObject *v = str_or_none(bl_profile_field_column(self->profile, schema, f));
        if (!v || PyDict_SetItemString(d, f, v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(d);
            break;
        }
        Py_DECREF(v);
    }
    return d;
}

PyDoc_STRVAR(profile_field_column_doc,
             "field_column(field) -> str | None\n\n"
             "Column feeding schema field `field`, or None if the source lacks it.");
static PyObject *profile_field_column(BlPyProfile *self, PyObject *arg)
{
    const char *f = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    if (!f) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "field must be a str");
        return NULL;
    }
    return str_or_none(
        bl_profile_field_column(self->profile, ((BlPySchema *)self->schema)->schema, f));
}

static PyObject *profile_repr(BlPyProfile *self)
{
    return PyUnicode_FromFormat("<bloomlink.Profile source=%s>", bl_profile_source(self->profile));
}

static PyMethodDef profile_methods[] = {
    {"load", (PyCFunction)(void (*)(void))profile_load, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     profile_load_doc},
    {"parse", (PyCFunction)(void (*)(void))profile_parse,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS, profile_parse_doc},
    {"field_column", (PyCFunction)profile_field_column, METH_O, profile_field_column_doc},
    {NULL}};

static PyGetSetDef profile_getset[] = {
    {"source", (getter)profile_source, NULL, "Source name, e.g. 'gp'.", NULL},
    {"record_id_column", (getter)profile_record_id_column, NULL,
     "Column holding the local record id.", NULL},
    {"separator", (getter)profile_separator, NULL, "CSV separator of the extract.", NULL},
    {"skip_initial_space", (getter)profile_skip, NULL,
     "Whether spaces after a separator are dropped.", NULL},
    {"content_columns", (getter)profile_content_columns, NULL, "Content column names.", NULL},
    {"field_columns", (getter)profile_field_columns, NULL,
     "Schema field -> column feeding it (None if the source lacks it).", NULL},
    {"schema", (getter)profile_schema, NULL, "The Schema this profile was parsed against.", NULL},
    {NULL}};

PyTypeObject BlPyProfile_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bloomlink.Profile",
    .tp_basicsize = sizeof(BlPyProfile),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A source profile: which of a holder's columns feed which schema field,\n"
              "its record-id column and content columns.  Profile.load(path, schema).",
    .tp_dealloc = (destructor)profile_dealloc,
    .tp_repr = (reprfunc)profile_repr,
    .tp_methods = profile_methods,
    .tp_getset = profile_getset,
};
