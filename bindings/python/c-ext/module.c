/* module.c - bloomlink._bloomlink: module set-up, the version check, handle
 * helpers shared by every type, and free functions (versions, Dice kernels,
 * normalisers, synthetic data, the CSV reader's record iterator). */
#include "bloomlink_ext.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

int blpy_check_open(bl_py_handle *h, const char *what)
{
    if (h->closed) {
        blpy_misuse("%s is closed", what);
        return -1;
    }
    if (h->busy) {
        blpy_misuse("%s is in use by another thread", what);
        return -1;
    }
    return 0;
}

int blpy_acquire(bl_py_handle *h, const char *what)
{
    if (blpy_check_open(h, what) < 0)
        return -1;
    h->busy = 1;
    return 0;
}

void blpy_release(bl_py_handle *h) { h->busy = 0; }

int blpy_path_converter(PyObject *o, void *out) { return PyUnicode_FSConverter(o, out); }

int blpy_optional_path_converter(PyObject *o, void *out)
{
    if (o == Py_None) {
        *(PyObject **)out = NULL;
        return 1;
    }
    return PyUnicode_FSConverter(o, out);
}

PyObject *blpy_hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[2 * 64 + 1];
    if (n > 64)
        n = 64;
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = digits[p[i] >> 4];
        buf[2 * i + 1] = digits[p[i] & 15];
    }
    return PyUnicode_FromStringAndSize(buf, (Py_ssize_t)(2 * n));
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int blpy_token_converter(PyObject *o, void *out)
{
    uint8_t *tok = out;
    if (PyUnicode_Check(o)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(o, &n);
        if (!s)
            return 0;
        if (n == 2 * BL_TOKEN_BYTES) {
            for (int i = 0; i < BL_TOKEN_BYTES; i++) {
                int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);
                if (a < 0 || b < 0)
                    goto bad;
                tok[i] = (uint8_t)(a << 4 | b);
            }
            return 1;
        }
        goto bad;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(o, &view, PyBUF_SIMPLE) < 0)
        return 0;
    int ok = view.len == BL_TOKEN_BYTES;
    if (ok)
        memcpy(tok, view.buf, BL_TOKEN_BYTES);
    PyBuffer_Release(&view);
    if (ok)
        return 1;
bad:
    blpy_misuse("a record token is 16 bytes or 32 hex characters");
    return 0;
}

PyObject *blpy_json_loads(const char *text)
{
    PyObject *json = PyImport_ImportModule("json");
    if (!json)
        return NULL;
    PyObject *r = PyObject_CallMethod(json, "loads", "s", text);
    Py_DECREF(json);
    return r;
}

/* ------------------------------------------------------------ versions */

PyDoc_STRVAR(version_doc, "version() -> str\n\n"
                          "Version of the linked libbloomlink, e.g. '0.1.0'.");
static PyObject *py_version(PyObject *self, PyObject *args)
{
    return PyUnicode_FromString(bl_version_string());
}

PyDoc_STRVAR(live_handles_doc, "_live_handles() -> int\n\n"
                               "Number of library handles alive (bl_debug_live_handles), for leak tests.");
static PyObject *py_live_handles(PyObject *self, PyObject *args)
{
    return PyLong_FromLong(bl_debug_live_handles());
}

/* ------------------------------------------------------------ kernels */

static int kernel_from_name(PyObject *o, bl_kernel *k)
{
    const char *s = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
    if (!s) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "kernel name must be a str");
        return -1;
    }
    static const struct {
        const char *name;
        bl_kernel k;
    } names[] = {{"auto", BL_KERNEL_AUTO},
                 {"scalar", BL_KERNEL_SCALAR},
                 {"avx2", BL_KERNEL_AVX2},
                 {"avx512", BL_KERNEL_AVX512}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name)) {
            *k = names[i].k;
            return 0;
        }
    blpy_misuse("unknown kernel '%s' (auto, scalar, avx2, avx512)", s);
    return -1;
}

PyDoc_STRVAR(kernel_name_doc, "kernel_name() -> str\n\n"
                              "Dice kernel in use: 'scalar', 'avx2' or 'avx512'.");
static PyObject *py_kernel_name(PyObject *self, PyObject *args)
{
    return PyUnicode_FromString(bl_kernel_name());
}

PyDoc_STRVAR(kernel_available_doc, "kernel_available(name) -> bool\n\n"
                                   "Whether this CPU (and OS) can run kernel `name`.");
static PyObject *py_kernel_available(PyObject *self, PyObject *name)
{
    bl_kernel k;
    if (kernel_from_name(name, &k) < 0)
        return NULL;
    return PyBool_FromLong(bl_kernel_available(k));
}

PyDoc_STRVAR(set_kernel_doc, "set_kernel(name) -> None\n\n"
                             "Force a Dice kernel for this process ('auto' restores the best).\n"
                             "Raises UnsupportedError if the CPU cannot run it.");
static PyObject *py_set_kernel(PyObject *self, PyObject *name)
{
    bl_kernel k;
    if (kernel_from_name(name, &k) < 0)
        return NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_set_kernel(k, &err);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    Py_RETURN_NONE;
}

/* A filter argument: any C-contiguous bytes-like object of whole 64-bit words. */
static int get_filter(PyObject *o, Py_buffer *view, const char *what)
{
    if (PyObject_GetBuffer(o, view, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (view->len % 8) {
        PyBuffer_Release(view);
        blpy_misuse("%s: %zd bytes is not a whole number of 64-bit words", what, view->len);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(popcount_doc, "popcount(filter) -> int\n\n"
                           "Bits set in a filter (bytes-like, a multiple of 8 bytes).");
static PyObject *py_popcount(PyObject *self, PyObject *arg)
{
    Py_buffer a;
    if (get_filter(arg, &a, "filter") < 0)
        return NULL;
    uint32_t p = bl_popcount(a.buf, (size_t)a.len / 8);
    PyBuffer_Release(&a);
    return PyLong_FromUnsignedLong(p);
}

PyDoc_STRVAR(dice_doc, "dice(a, b) -> float\n\n"
                       "Dice coefficient 2|a&b| / (|a|+|b|) of two equal-length filters\n"
                       "(bytes-like, multiples of 8 bytes); 0.0 when both are empty.");
static PyObject *py_dice(PyObject *self, PyObject *args)
{
    PyObject *ao, *bo;
    if (!PyArg_ParseTuple(args, "OO:dice", &ao, &bo))
        return NULL;
    Py_buffer a, b;
    if (get_filter(ao, &a, "a") < 0)
        return NULL;
    if (get_filter(bo, &b, "b") < 0) {
        PyBuffer_Release(&a);
        return NULL;
    }
    PyObject *r = NULL;
    if (a.len != b.len)
        blpy_misuse("filters differ in length (%zd and %zd bytes)", a.len, b.len);
    else
        r = PyFloat_FromDouble(bl_dice(a.buf, b.buf, (size_t)a.len / 8));
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    return r;
}

PyDoc_STRVAR(dice_scan_doc,
             "_dice_scan(one, many, num, den) -> memoryview\n\n"
             "Indices (uint32) of the filters in `many` (contiguous, len(one) bytes\n"
             "each) whose Dice coefficient with `one` is >= num/den, increasing.\n"
             "Integer-exact; uses the kernel in force; releases the GIL.");
static PyObject *py_dice_scan(PyObject *self, PyObject *args)
{
    PyObject *oneo, *manyo;
    unsigned long num, den;
    if (!PyArg_ParseTuple(args, "OOkk:_dice_scan", &oneo, &manyo, &num, &den))
        return NULL;
    if (num > UINT32_MAX || den > UINT32_MAX || den == 0)
        return blpy_misuse("threshold num/den must be 32-bit with den > 0");
    Py_buffer one, many;
    if (get_filter(oneo, &one, "one") < 0)
        return NULL;
    if (get_filter(manyo, &many, "many") < 0) {
        PyBuffer_Release(&one);
        return NULL;
    }
    PyObject *r = NULL, *out = NULL;
    uint32_t *pop = NULL;
    size_t words = (size_t)one.len / 8;
    if (words == 0 || many.len % one.len) {
        blpy_misuse("many (%zd bytes) is not a whole number of %zd-byte filters", many.len,
                    one.len);
        goto done;
    }
    size_t n = (size_t)(many.len / one.len);
    if (n > UINT32_MAX) {
        blpy_misuse("at most 2^32 - 1 filters per scan");
        goto done;
    }
    pop = PyMem_RawMalloc((n ? n : 1) * sizeof *pop);
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * sizeof(uint32_t)));
    if (!pop || !out) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    size_t found;
    uint32_t *idx = (uint32_t *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    const uint64_t *m = many.buf;
    for (size_t i = 0; i < n; i++)
        pop[i] = bl_popcount(m + i * words, words);
    found = bl_dice_scan(one.buf, bl_popcount(one.buf, words), m, pop, n, words, (uint32_t)num,
                         (uint32_t)den, idx);
    Py_END_ALLOW_THREADS
    if (_PyBytes_Resize(&out, (Py_ssize_t)(found * sizeof(uint32_t))) < 0)
        goto done; /* out is NULL now */
    PyObject *mv = PyMemoryView_FromObject(out);
    if (mv) {
        r = PyObject_CallMethod(mv, "cast", "s", "I");
        Py_DECREF(mv);
    }
done:
    Py_XDECREF(out);
    PyMem_RawFree(pop);
    PyBuffer_Release(&one);
    PyBuffer_Release(&many);
    return r;
}

/* ------------------------------------------------------------ normalisers */

typedef bl_status (*norm_fn)(const char *, char *, size_t, bl_error *);

static PyObject *normalise_with(PyObject *arg, norm_fn fn)
{
    Py_ssize_t n;
    const char *s = PyUnicode_Check(arg) ? PyUnicode_AsUTF8AndSize(arg, &n) : NULL;
    if (!s) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "value must be a str");
        return NULL;
    }
    size_t size = 4 * (size_t)n + 256;
    char *out = PyMem_Malloc(size);
    if (!out)
        return PyErr_NoMemory();
    bl_error err;
    bl_error_clear(&err);
    bl_status st = fn(s, out, size, &err);
    PyObject *r = st != BL_OK ? blpy_raise(st, &err)
                  : out[0]    ? PyUnicode_FromString(out)
                              : Py_NewRef(Py_None);
    PyMem_Free(out);
    return r;
}

#define NORMALISER(pyname, cfn, what)                                                              \
    PyDoc_STRVAR(pyname##_doc, #pyname "(value) -> str | None\n\n" what                            \
                                       "\nNone when the value is missing; InvalidValueError "      \
                                       "when it is present but invalid.");                        \
    static PyObject *py_##pyname(PyObject *self, PyObject *arg) { return normalise_with(arg, cfn); }

NORMALISER(normalise_name, bl_normalise_name,
           "Canonical name: accents stripped, upper-case A-Z, titles dropped.")
NORMALISER(normalise_sex, bl_normalise_sex, "Sex code: 'M', 'F'.")
NORMALISER(normalise_postcode, bl_normalise_postcode, "UK postcode, 'OUTWARD INWARD'.")
NORMALISER(normalise_nhs_number, bl_normalise_nhs_number,
           "NHS number: 10 digits passing the Modulus 11 check.")
NORMALISER(normalise_text, bl_normalise_text, "Free text: case-folded, accents stripped.")

PyDoc_STRVAR(normalise_full_name_doc,
             "normalise_full_name(value) -> tuple[str, str]\n\n"
             "Split a full name ('Given Middle Family' or 'FAMILY, Given') into\n"
             "normalised (first given name, family name); '' for a missing part.");
static PyObject *py_normalise_full_name(PyObject *self, PyObject *arg)
{
    Py_ssize_t n;
    const char *s = PyUnicode_Check(arg) ? PyUnicode_AsUTF8AndSize(arg, &n) : NULL;
    if (!s) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "value must be a str");
        return NULL;
    }
    size_t size = 4 * (size_t)n + 256;
    char *given = PyMem_Malloc(size), *family = PyMem_Malloc(size);
    PyObject *r = NULL;
    if (!given || !family) {
        PyErr_NoMemory();
    } else {
        bl_error err;
        bl_error_clear(&err);
        bl_status st = bl_normalise_full_name(s, given, size, family, size, &err);
        r = st != BL_OK ? blpy_raise(st, &err) : Py_BuildValue("(ss)", given, family);
    }
    PyMem_Free(given);
    PyMem_Free(family);
    return r;
}

PyDoc_STRVAR(normalise_date_doc,
             "normalise_date(value, formats=('%d/%m/%Y',), not_after=0) -> str | None\n\n"
             "Parse with the first matching strptime-like format; returns 'YYYYMMDD'.\n"
             "not_after (YYYYMMDD as an int, 0 = no limit) rejects later dates.");
static PyObject *py_normalise_date(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"value", "formats", "not_after", NULL};
    const char *s;
    PyObject *formats = NULL;
    long not_after = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|Ol:normalise_date", kwlist, &s, &formats,
                                     &not_after))
        return NULL;
    const char *fmts[64];
    size_t nf = 0;
    PyObject *seq = NULL;
    if (formats && formats != Py_None) {
        if (PyUnicode_Check(formats)) {
            fmts[nf++] = PyUnicode_AsUTF8(formats);
            if (!fmts[0])
                return NULL;
        } else {
            seq = PySequence_Fast(formats, "formats must be a sequence of str");
            if (!seq)
                return NULL;
            Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
            if (n > 64) {
                Py_DECREF(seq);
                return blpy_misuse("at most 64 date formats");
            }
            for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *f = PySequence_Fast_GET_ITEM(seq, i);
                fmts[nf] = PyUnicode_Check(f) ? PyUnicode_AsUTF8(f) : NULL;
                if (!fmts[nf]) {
                    Py_DECREF(seq);
                    if (!PyErr_Occurred())
                        PyErr_SetString(PyExc_TypeError, "formats must be a sequence of str");
                    return NULL;
                }
                nf++;
            }
        }
    } else {
        fmts[nf++] = "%d/%m/%Y";
    }
    char out[64];
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_normalise_date(s, fmts, nf, not_after, out, sizeof out, &err);
    Py_XDECREF(seq);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    return out[0] ? PyUnicode_FromString(out) : Py_NewRef(Py_None);
}

PyDoc_STRVAR(nhs_number_valid_doc, "nhs_number_valid(digits) -> bool\n\n"
                                   "Modulus 11 check on exactly 10 ASCII digits.");
static PyObject *py_nhs_number_valid(PyObject *self, PyObject *arg)
{
    const char *s = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    if (!s) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "digits must be a str");
        return NULL;
    }
    return PyBool_FromLong(bl_nhs_number_valid(s));
}

/* ------------------------------------------------------------ synth */

PyDoc_STRVAR(synth_doc,
             "synth(out_dir, people=20000, seed=1, error_rate=1.0, progress=None) -> None\n\n"
             "Write synthetic GP, social care, housing and education extracts, truth.csv,\n"
             "schema.json and one profile per source into out_dir (created if missing).\n"
             "Deterministic for a seed.  Releases the GIL.");
static PyObject *py_synth(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"out_dir", "people", "seed", "error_rate", "progress", NULL};
    PyObject *dir = NULL, *progress = Py_None;
    bl_synth_options opt;
    bl_synth_options_default(&opt);
    unsigned long long people = opt.people, seed = opt.seed;
    double rate = opt.error_rate;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|KKdO:synth", kwlist, blpy_path_converter, &dir,
                                     &people, &seed, &rate, &progress))
        return NULL;
    opt.people = people;
    opt.seed = seed;
    opt.error_rate = rate;
    blpy_callback cb;
    blpy_callback_init(&cb, progress, NULL);
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    Py_BEGIN_ALLOW_THREADS
    st = bl_synth_write(&opt, PyBytes_AS_STRING(dir), blpy_progress, &cb, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(dir);
    if (blpy_callback_finish(&cb))
        return NULL;
    if (st != BL_OK)
        return blpy_raise(st, &err);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------ CSV reader */

typedef struct {
    PyObject_HEAD
    bl_csv_reader *r;
} BlPyCsv;

static void csv_dealloc(BlPyCsv *self)
{
    bl_csv_close(self->r);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *csv_next(BlPyCsv *self)
{
    if (!self->r)
        return NULL;
    char **fields;
    size_t n;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_csv_next(self->r, &fields, &n, &err);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    if (!fields) {
        bl_csv_close(self->r);
        self->r = NULL;
        return NULL;
    }
    PyObject *row = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; row && i < n; i++) {
        PyObject *s = PyUnicode_DecodeUTF8(fields[i], (Py_ssize_t)strlen(fields[i]), "strict");
        if (!s) {
            Py_CLEAR(row);
            break;
        }
        PyList_SET_ITEM(row, (Py_ssize_t)i, s);
    }
    return row;
}

static PyObject *csv_enter(PyObject *self, PyObject *args) { return Py_NewRef(self); }
static PyObject *csv_exit(BlPyCsv *self, PyObject *args)
{
    bl_csv_close(self->r);
    self->r = NULL;
    Py_RETURN_FALSE;
}
static PyObject *csv_line(BlPyCsv *self, void *c)
{
    return self->r ? PyLong_FromLong(bl_csv_line(self->r)) : Py_NewRef(Py_None);
}

static PyMethodDef csv_methods[] = {
    {"__enter__", csv_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)csv_exit, METH_VARARGS, NULL},
    {"close", (PyCFunction)csv_exit, METH_NOARGS, "Close the file."},
    {NULL}};
static PyGetSetDef csv_getset[] = {
    {"line", (getter)csv_line, NULL, "Line on which the last record started.", NULL}, {NULL}};

static PyTypeObject BlPyCsv_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bloomlink.CsvReader",
    .tp_basicsize = sizeof(BlPyCsv),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Iterator over the records of a CSV file, as lists of str (the\n"
              "library's RFC 4180 reader: the same records the encoder sees).",
    .tp_dealloc = (destructor)csv_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)csv_next,
    .tp_methods = csv_methods,
    .tp_getset = csv_getset,
};

PyDoc_STRVAR(read_csv_doc,
             "read_csv(path, separator=',', skip_initial_space=False) -> CsvReader\n\n"
             "Stream a CSV (or .csv.gz) file with the library's reader; the first\n"
             "record is the header.  Errors name the line (ParseError).");
static PyObject *py_read_csv(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "separator", "skip_initial_space", NULL};
    PyObject *path = NULL;
    const char *sep = ",";
    int skip = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|sp:read_csv", kwlist, blpy_path_converter,
                                     &path, &sep, &skip))
        return NULL;
    if (strlen(sep) != 1) {
        Py_DECREF(path);
        return blpy_misuse("separator must be one ASCII character");
    }
    bl_csv_reader *r = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_csv_open(PyBytes_AS_STRING(path), sep[0], skip, &r, &err);
    Py_DECREF(path);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    BlPyCsv *o = PyObject_New(BlPyCsv, &BlPyCsv_Type);
    if (!o) {
        bl_csv_close(r);
        return NULL;
    }
    o->r = r;
    return (PyObject *)o;
}

/* ------------------------------------------------------------ module */

PyMethodDef blpy_module_functions[] = {
    {"version", py_version, METH_NOARGS, version_doc},
    {"_live_handles", py_live_handles, METH_NOARGS, live_handles_doc},
    {"kernel_name", py_kernel_name, METH_NOARGS, kernel_name_doc},
    {"kernel_available", py_kernel_available, METH_O, kernel_available_doc},
    {"set_kernel", py_set_kernel, METH_O, set_kernel_doc},
    {"popcount", py_popcount, METH_O, popcount_doc},
    {"dice", py_dice, METH_VARARGS, dice_doc},
    {"_dice_scan", py_dice_scan, METH_VARARGS, dice_scan_doc},
    {"normalise_name", py_normalise_name, METH_O, normalise_name_doc},
    {"normalise_full_name", py_normalise_full_name, METH_O, normalise_full_name_doc},
    {"normalise_date", (PyCFunction)(void (*)(void))py_normalise_date, METH_VARARGS | METH_KEYWORDS,
     normalise_date_doc},
    {"normalise_sex", py_normalise_sex, METH_O, normalise_sex_doc},
    {"normalise_postcode", py_normalise_postcode, METH_O, normalise_postcode_doc},
    {"normalise_nhs_number", py_normalise_nhs_number, METH_O, normalise_nhs_number_doc},
    {"normalise_text", py_normalise_text, METH_O, normalise_text_doc},
    {"nhs_number_valid", py_nhs_number_valid, METH_O, nhs_number_valid_doc},
    {"synth", (PyCFunction)(void (*)(void))py_synth, METH_VARARGS | METH_KEYWORDS, synth_doc},
    {"read_csv", (PyCFunction)(void (*)(void))py_read_csv, METH_VARARGS | METH_KEYWORDS,
     read_csv_doc},
    {NULL}};

static int add_functions(PyObject *m, PyMethodDef *defs)
{
    return PyModule_AddFunctions(m, defs);
}

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bloomlink._bloomlink",
    .m_doc = "C extension over libbloomlink; import bloomlink instead.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__bloomlink(void)
{
    /* The header we compiled against must be the library we run with: the
       option and result structs are passed by layout. */
    if (bl_version_number() != (unsigned)BL_VERSION_HEX) {
        PyErr_Format(PyExc_ImportError,
                     "bloomlink: compiled against libbloomlink %s but loaded libbloomlink %s; "
                     "rebuild the extension",
                     BL_VERSION_STRING, bl_version_string());
        return NULL;
    }
    PyObject *m = PyModule_Create(&moduledef);
    if (!m)
        return NULL;
    PyTypeObject *types[] = {&BlPyKey_Type,     &BlPySchema_Type,    &BlPyProfile_Type,
                             &BlPyEncoder_Type, &BlPyReader_Type,    &BlPyWriter_Type,
                             &BlPyDataset_Type, &BlPyModel_Type,     &BlPyLinkMap_Type,
                             &BlPyAgreement_Type, &BlPyCsv_Type};
    if (blpy_errors_init(m) < 0 || blpy_encfile_init(m) < 0)
        goto fail;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (PyType_Ready(types[i]) < 0)
            goto fail;
        const char *dot = strrchr(types[i]->tp_name, '.');
        if (PyModule_AddObjectRef(m, dot ? dot + 1 : types[i]->tp_name, (PyObject *)types[i]) < 0)
            goto fail;
    }
    if (add_functions(m, blpy_module_functions) < 0 || add_functions(m, blpy_match_functions) < 0 ||
        add_functions(m, blpy_governance_functions) < 0)
        goto fail;
    if (PyModule_AddStringConstant(m, "HEADER_VERSION", BL_VERSION_STRING) < 0 ||
        PyModule_AddIntConstant(m, "KEY_BYTES", BL_KEY_BYTES) < 0 ||
        PyModule_AddIntConstant(m, "TOKEN_BYTES", BL_TOKEN_BYTES) < 0 ||
        PyModule_AddIntConstant(m, "MAX_FIELDS", BL_MAX_FIELDS) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
