/* errors.c - bloomlink.Error and one subclass per bl_status category.
 *
 * Each exception carries what the library's bl_error held: .code (the
 * bl_status number), .source, .line, .column, .record, .position, .field and
 * .text; numbers that do not apply are None, strings that do not apply are
 * None.  str(exc) is bl_error_format's "SOURCE:LINE:COL: field 'F': TEXT".
 * Subclasses also derive from the matching builtin where one fits, so
 * `except ValueError` and `except OSError` keep working. */
#include "bloomlink_ext.h"

#include <stdarg.h>

PyObject *BlPy_Error;

typedef struct {
    bl_status status;
    const char *name;      /* attribute in the module */
    const char *builtin;   /* second base from builtins, or NULL */
    const char *doc;
    PyObject *type;
} error_class;

static error_class classes[] = {
    {BL_ENOMEM, "NoMemoryError", "MemoryError", "An allocation failed (BL_ENOMEM).", NULL},
    {BL_EIO, "FileIOError", "OSError",
     "Reading, writing, opening, renaming or syncing a file failed (BL_EIO).", NULL},
    {BL_EPARSE, "ParseError", "ValueError", "Malformed input text: CSV, JSON, dates (BL_EPARSE).",
     NULL},
    {BL_ESCHEMA, "SchemaError", "ValueError",
     "Invalid schema, profile, model or agreement content (BL_ESCHEMA).", NULL},
    {BL_EKEY, "KeyFileError", NULL,
     "Unusable key or key file: size or permissions (BL_EKEY).", NULL},
    {BL_EFORMAT, "FormatError", NULL, "Not a bloomlink file, or an unknown version (BL_EFORMAT).",
     NULL},
    {BL_ECHECKSUM, "ChecksumError", NULL, "Checksum mismatch or truncated file (BL_ECHECKSUM).",
     NULL},
    {BL_EMISMATCH, "MismatchError", NULL,
     "Inputs disagree: schema or key fingerprint, layout (BL_EMISMATCH).", NULL},
    {BL_EMISUSE, "MisuseError", "ValueError",
     "A caller's bug: bad argument, closed handle, wrong order of calls (BL_EMISUSE).", NULL},
    {BL_ECRYPTO, "CryptoError", NULL, "OpenSSL failed (BL_ECRYPTO).", NULL},
    {BL_ENOTFOUND, "NotFoundError", "LookupError",
     "Column, field, key or record not found (BL_ENOTFOUND).", NULL},
    {BL_EUNSUPPORTED, "UnsupportedError", NULL, "Valid but not supported by this build (BL_EUNSUPPORTED).",
     NULL},
    {BL_EINVALID, "InvalidValueError", "ValueError",
     "A value failed validation: date, NHS number, ... (BL_EINVALID).", NULL},
    {BL_EEXPIRED, "ExpiredError", NULL, "An agreement or key has expired (BL_EEXPIRED).", NULL},
    {BL_ESIGNATURE, "SignatureError", NULL, "Missing or bad signature (BL_ESIGNATURE).", NULL},
    {BL_EPOLICY, "PolicyError", NULL, "Refused by governance rules (BL_EPOLICY).", NULL},
    {BL_EEXISTS, "ExistsError", "FileExistsError",
     "The output exists and overwriting was not asked for (BL_EEXISTS).", NULL},
    {BL_ECANCELLED, "CancelledError", NULL,
     "A progress callback (or Ctrl-C) stopped the operation (BL_ECANCELLED).", NULL},
};
#define NCLASSES (sizeof classes / sizeof classes[0])

static const char *attr_names[] = {"code", "source", "line", "column", "record",
                                   "position", "field", "text"};

int blpy_errors_init(PyObject *module)
{
    PyObject *dict = PyDict_New();
    if (!dict)
        return -1;
    for (size_t i = 0; i < sizeof attr_names / sizeof attr_names[0]; i++)
        if (PyDict_SetItemString(dict, attr_names[i], Py_None) < 0)
            goto fail;
    BlPy_Error = PyErr_NewExceptionWithDoc(
        "bloomlink.Error",
        "Base of every error bloomlink raises.\n\n"
        "Attributes (None when they do not apply): code (a bl_status number,\n"
        "see bloomlink.Status), source (file name or '<memory>'), line, column,\n"
        "record (data record number from 1), position (byte offset), field\n"
        "(column, schema field or JSON path) and text (the message alone).",
        PyExc_Exception, dict);
    Py_CLEAR(dict);
    if (!BlPy_Error || PyModule_AddObjectRef(module, "Error", BlPy_Error) < 0)
        return -1;
    PyObject *builtins = PyEval_GetBuiltins(); /* borrowed */
    for (size_t i = 0; i < NCLASSES; i++) {
        char qual[96];
        PyOS_snprintf(qual, sizeof qual, "bloomlink.%s", classes[i].name);
        PyObject *bases;
        if (classes[i].builtin) {
            PyObject *b = PyDict_GetItemString(builtins, classes[i].builtin);
            if (!b) {
                PyErr_Format(PyExc_SystemError, "no builtin %s", classes[i].builtin);
                return -1;
            }
            bases = PyTuple_Pack(2, BlPy_Error, b);
        } else {
            bases = PyTuple_Pack(1, BlPy_Error);
        }
        if (!bases)
            return -1;
        classes[i].type = PyErr_NewExceptionWithDoc(qual, classes[i].doc, bases, NULL);
        Py_DECREF(bases);
        if (!classes[i].type || PyModule_AddObjectRef(module, classes[i].name, classes[i].type) < 0)
            return -1;
    }
    return 0;
fail:
    Py_XDECREF(dict);
    return -1;
}

static PyObject *class_for(bl_status st)
{
    for (size_t i = 0; i < NCLASSES; i++)
        if (classes[i].status == st)
            return classes[i].type;
    return BlPy_Error;
}

static int set_num(PyObject *e, const char *name, long long v)
{
    PyObject *o = v < 0 ? Py_NewRef(Py_None) : PyLong_FromLongLong(v);
    if (!o)
        return -1;
    int r = PyObject_SetAttrString(e, name, o);
    Py_DECREF(o);
    return r;
}

static int set_str(PyObject *e, const char *name, const char *s)
{
    PyObject *o = s && *s ? PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace")
                          : Py_NewRef(Py_None);
    if (!o)
        return -1;
    int r = PyObject_SetAttrString(e, name, o);
    Py_DECREF(o);
    return r;
}

PyObject *blpy_raise(bl_status st, const bl_error *err)
{
    bl_error local;
    if (!err || (err->code == 0 && !err->text[0])) {
        bl_error_clear(&local);
        local.code = (int)st;
        err = &local;
    }
    if (st == BL_OK)
        st = err->code ? (bl_status)err->code : BL_EMISUSE;
    char msg[BL_ERROR_SOURCE_LENGTH + BL_ERROR_FIELD_LENGTH + BL_ERROR_TEXT_LENGTH + 64];
    if (err->text[0])
        bl_error_format(err, msg, sizeof msg);
    else
        PyOS_snprintf(msg, sizeof msg, "%s", bl_strerror(st));
    PyObject *cls = class_for(st);
    PyObject *e = PyObject_CallFunction(cls, "s", msg);
    if (!e)
        return NULL;
    if (set_num(e, "code", (long long)st) < 0 || set_str(e, "source", err->source) < 0 ||
        set_num(e, "line", err->line) < 0 || set_num(e, "column", err->column) < 0 ||
        set_num(e, "record", err->record) < 0 || set_num(e, "position", err->position) < 0 ||
        set_str(e, "field", err->field) < 0 ||
        set_str(e, "text", err->text[0] ? err->text : bl_strerror(st)) < 0) {
        Py_DECREF(e);
        return NULL;
    }
    PyErr_SetObject(cls, e);
    Py_DECREF(e);
    return NULL;
}

PyObject *blpy_misuse(const char *fmt, ...)
{
    bl_error err;
    bl_error_clear(&err);
    err.code = BL_EMISUSE;
    va_list ap;
    va_start(ap, fmt);
    PyOS_vsnprintf(err.text, sizeof err.text, fmt, ap);
    va_end(ap);
    return blpy_raise(BL_EMISUSE, &err);
}
