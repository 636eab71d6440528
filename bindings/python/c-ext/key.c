/* key.c - bloomlink.Key: a linkage key held by the library (bl_key), never
 * handed to Python as bytes or str.  The library wipes it on close. */
#include "bloomlink_ext.h"

static void key_free_now(BlPyKey *self)
{
    bl_key_free(self->key); /* wipes */
    self->key = NULL;
}

static void key_dealloc(BlPyKey *self)
{
    key_free_now(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *key_wrap(bl_key *k)
{
    BlPyKey *self = PyObject_New(BlPyKey, &BlPyKey_Type);
    if (!self) {
        bl_key_free(k);
        return NULL;
    }
    self->h.closed = self->h.busy = 0;
    self->h.users = 0;
    self->key = k;
    return (PyObject *)self;
}

const bl_key *blpy_key_borrow(PyObject *o)
{
    if (!PyObject_TypeCheck(o, &BlPyKey_Type)) {
        PyErr_SetString(PyExc_TypeError, "expected a bloomlink.Key");
        return NULL;
    }
    BlPyKey *k = (BlPyKey *)o;
    if (blpy_check_open(&k->h, "key") < 0)
        return NULL;
    k->h.users++;
    return k->key;
}

void blpy_key_unborrow(PyObject *o)
{
    BlPyKey *k = (BlPyKey *)o;
    if (--k->h.users == 0 && k->h.closed)
        key_free_now(k);
}

PyDoc_STRVAR(key_load_doc,
             "Key.load(path) -> Key\n\n"
             "Load a key file.  Refuses files of the wrong size and files readable\n"
             "or writable by group or others (KeyFileError).");
static PyObject *key_load(PyTypeObject *cls, PyObject *arg)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    bl_key *k = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_key_load(PyBytes_AS_STRING(path), &k, &err);
    Py_DECREF(path);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    return key_wrap(k);
}

PyDoc_STRVAR(key_generate_doc,
             "Key.generate(path, overwrite=False) -> Key\n\n"
             "Write 32 random bytes to a new owner-only (0600) key file, then load it.\n"
             "Refuses to replace an existing file unless overwrite (ExistsError).");
static PyObject *key_generate(PyTypeObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "overwrite", NULL};
    PyObject *path = NULL;
    int overwrite = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|p:generate", kwlist, blpy_path_converter, &path,
                                     &overwrite))
        return NULL;
    bl_key *k = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_key_generate_file(PyBytes_AS_STRING(path), overwrite, &err);
    if (st == BL_OK)
        st = bl_key_load(PyBytes_AS_STRING(path), &k, &err);
    Py_DECREF(path);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    return key_wrap(k);
}

PyDoc_STRVAR(key_from_bytes_doc,
             "Key.from_bytes(data) -> Key\n\n"
             "Make a key from 32 raw bytes (any bytes-like object; for tests and for\n"
             "keys kept in a secrets store).  The caller should wipe a bytearray it\n"
             "passed; the key cannot be read back.");
static PyObject *key_from_bytes(PyTypeObject *cls, PyObject *arg)
{
    Py_buffer b;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0)
        return NULL;
    bl_key *k = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_key_from_bytes(b.buf, (size_t)b.len, &k, &err);
    PyBuffer_Release(&b);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    return key_wrap(k);
}

static PyObject *key_fingerprint(BlPyKey *self, void *c)
{
    if (blpy_check_open(&self->h, "key") < 0)
        return NULL;
    char hex[BL_FINGERPRINT_HEX + 1];
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_key_fingerprint(self->key, hex, &err);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    return PyUnicode_FromString(hex);
}

static PyObject *key_closed(BlPyKey *self, void *c) { return PyBool_FromLong(self->h.closed); }

PyDoc_STRVAR(key_close_doc,
             "close() -> None\n\n"
             "Wipe and free the key.  Encoders made with it keep working until they\n"
             "are closed; the key is wiped when the last of them goes.");
static PyObject *key_close(BlPyKey *self, PyObject *args)
{
    if (self->h.busy)
        return blpy_misuse("key is in use by another thread");
    self->h.closed = 1;
    if (self->h.users == 0)
        key_free_now(self);
    Py_RETURN_NONE;
}

static PyObject *key_enter(BlPyKey *self, PyObject *args)
{
    if (blpy_check_open(&self->h, "key") < 0)
        return NULL;
    return Py_NewRef(self);
}

static PyObject *key_exit(BlPyKey *self, PyObject *args)
{
    PyObject *r = key_close(self, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *key_repr(BlPyKey *self)
{
    if (self->h.closed)
        return PyUnicode_FromString("<bloomlink.Key closed>");
    char hex[BL_FINGERPRINT_HEX + 1];
    if (bl_key_fingerprint(self->key, hex, NULL) != BL_OK)
        return PyUnicode_FromString("<bloomlink.Key>");
    return PyUnicode_FromFormat("<bloomlink.Key fingerprint=%.16s...>", hex);
}

static PyObject *key_reduce(PyObject *self, PyObject *args)
{
    PyErr_SetString(PyExc_TypeError, "a bloomlink.Key cannot be pickled or copied");
    return NULL;
}

static PyMethodDef key_methods[] = {
    {"load", (PyCFunction)key_load, METH_O | METH_CLASS, key_load_doc},
    {"generate", (PyCFunction)(void (*)(void))key_generate,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS, key_generate_doc},
    {"from_bytes", (PyCFunction)key_from_bytes, METH_O | METH_CLASS, key_from_bytes_doc},
    {"close", (PyCFunction)key_close, METH_NOARGS, key_close_doc},
    {"__enter__", (PyCFunction)key_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)key_exit, METH_VARARGS, NULL},
    {"__reduce__", key_reduce, METH_NOARGS, NULL},
    {"__reduce_ex__", key_reduce, METH_VARARGS, NULL},
    {"__copy__", key_reduce, METH_NOARGS, NULL},
    {"__deepcopy__", key_reduce, METH_VARARGS, NULL},
    {NULL}};

static PyGetSetDef key_getset[] = {
    {"fingerprint", (getter)key_fingerprint, NULL,
     "Key fingerprint (64 hex): an HMAC of a fixed label; reveals nothing about the key.", NULL},
    {"closed", (getter)key_closed, NULL, "True after close().", NULL},
    {NULL}};

PyTypeObject BlPyKey_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bloomlink.Key",
    .tp_basicsize = sizeof(BlPyKey),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A linkage key held by the library (locked away from Python).\n\n"
              "Make one with Key.load(path), Key.generate(path) or Key.from_bytes(b).\n"
              "Use it as a context manager (or call close()) to wipe it promptly:\n\n"
              "    with bloomlink.Key.load('linkage.key') as key:\n"
              "        ...",
    .tp_dealloc = (destructor)key_dealloc,
    .tp_repr = (reprfunc)key_repr,
    .tp_methods = key_methods,
    .tp_getset = key_getset,
};
