/* match.c - matching: bloomlink.Dataset (records of .ble files), bloomlink.Model
 * (Fellegi-Sunter), bloomlink.LinkMap, and the functions match, explain_pair
 * and evaluate_files.  Long calls release the GIL. */
#include "bloomlink_ext.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    bl_py_handle h;
    bl_dataset *ds;
} BlPyDataset;

typedef struct {
    bl_py_handle h;
    bl_model *model;
} BlPyModel;

typedef struct {
    bl_py_handle h;
    bl_linkmap *lm;
    PyObject *stats; /* dict or None */
    PyObject *model; /* the model used, or None */
} BlPyLinkMap;

/* ------------------------------------------------------------ options */

#define MAX_UNIQUE 64

typedef struct {
    bl_match_options opt;
    const char *unique[MAX_UNIQUE];
    PyObject *unique_seq; /* keeps the strings alive */
    PyObject *progress, *log;
} match_args;

static void match_args_clear(match_args *a) { Py_CLEAR(a->unique_seq); }

/* Fill a from keyword arguments (kw may be NULL).  Unknown keywords are errors. */
static int match_args_parse(match_args *a, PyObject *kw)
{
    memset(a, 0, sizeof *a);
    bl_match_options_default(&a->opt);
    a->progress = a->log = Py_None;
    if (!kw)
        return 0;
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(kw, &pos, &k, &v)) {
        const char *name = PyUnicode_AsUTF8(k);
        if (!name)
            return -1;
#define DBL(n)                                                                                     \
    if (!strcmp(name, #n)) {                                                                       \
        a->opt.n = PyFloat_AsDouble(v);                                                            \
        if (PyErr_Occurred())                                                                      \
            return -1;                                                                             \
        continue;                                                                                  \
    }
#define UINT(n, type)                                                                              \
    if (!strcmp(name, #n)) {                                                                       \
        unsigned long long x = PyLong_AsUnsignedLongLong(v);                                       \
        if (PyErr_Occurred())                                                                      \
            return -1;                                                                             \
        a->opt.n = (type)x;                                                                        \
        continue;                                                                                  \
    }
        DBL(threshold)
        DBL(review_low)
        DBL(em_tolerance)
        DBL(unique_min_probability)
        DBL(merge_min_support)
        UINT(threads, unsigned)
        UINT(max_block, size_t)
        UINT(lsh_bands, unsigned)
        UINT(lsh_bits, unsigned)
        UINT(u_sample_pairs, uint64_t)
        UINT(em_max_iterations, unsigned)
        UINT(seed, uint64_t)
#undef DBL
#undef UINT
        if (!strcmp(name, "retrain")) {
            int t = PyObject_IsTrue(v);
            if (t < 0)
                return -1;
            a->opt.retrain = t;
        } else if (!strcmp(name, "progress")) {
            a->progress = v;
        } else if (!strcmp(name, "log")) {
            a->log = v;
        } else if (!strcmp(name, "unique_sources")) {
            if (PyUnicode_Check(v)) {
                PyErr_SetString(PyExc_TypeError, "unique_sources must be a sequence of str");
                return -1;
            }
            a->unique_seq = PySequence_Tuple(v);
            if (!a->unique_seq)
                return -1;
            Py_ssize_t n = PyTuple_GET_SIZE(a->unique_seq);
            if (n > MAX_UNIQUE) {
                blpy_misuse("at most %d unique sources", MAX_UNIQUE);
                return -1;
            }
            for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *s = PyTuple_GET_ITEM(a->unique_seq, i);
                if (!PyUnicode_Check(s) || !(a->unique[i] = PyUnicode_AsUTF8(s))) {
                    if (!PyErr_Occurred())
                        PyErr_SetString(PyExc_TypeError, "unique_sources must be a sequence of str");
                    return -1;
                }
            }
            a->opt.unique_sources = a->unique;
            a->opt.unique_source_count = (size_t)n;
        } else {
            PyErr_Format(PyExc_TypeError, "unexpected keyword argument '%s'", name);
            return -1;
        }
    }
    if (!(a->opt.threshold > 0 && a->opt.threshold < 1) || a->opt.review_low < 0 ||
        a->opt.review_low > a->opt.threshold) {
        blpy_misuse("need 0 <= review_low <= threshold < 1 and threshold > 0");
        return -1;
    }
    return 0;
}

static PyObject *match_stats_dict(const bl_match_stats *s)
{
    return Py_BuildValue(
        "{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:I,s:O,s:K,s:K,s:K,s:K,s:K,s:d,s:d,s:d,s:d,s:d}", "records",
        (unsigned long long)s->records, "candidate_pairs", (unsigned long long)s->candidate_pairs,
        "blocking_pairs", (unsigned long long)s->blocking_pairs, "lsh_only_pairs",
        (unsigned long long)s->lsh_only_pairs, "blocks_capped", (unsigned long long)s->blocks_capped,
        "keys_dropped", (unsigned long long)s->keys_dropped, "u_sample_pairs",
        (unsigned long long)s->u_sample_pairs, "em_iterations", s->em_iterations, "em_converged",
        s->em_converged ? Py_True : Py_False, "links", (unsigned long long)s->links,
        "links_rejected", (unsigned long long)s->links_rejected, "entities",
        (unsigned long long)s->entities, "multi_record_entities",
        (unsigned long long)s->multi_record_entities, "review_pairs",
        (unsigned long long)s->review_pairs, "seconds_load", s->seconds_load, "seconds_block",
        s->seconds_block, "seconds_compare", s->seconds_compare, "seconds_train",
        s->seconds_train, "seconds_cluster", s->seconds_cluster);
}

/* ------------------------------------------------------------ Dataset */

static void dataset_dealloc(BlPyDataset *self)
{
    bl_dataset_free(self->ds);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *dataset_add_file(BlPyDataset *self, PyObject *args, PyObject *kw);

static PyObject *dataset_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"files", "progress", NULL};
    PyObject *files = NULL, *progress = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:Dataset", kwlist, &files, &progress))
        return NULL;
    BlPyDataset *self = (BlPyDataset *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dataset_new(&self->ds, &err);
    if (st != BL_OK) {
        self->h.closed = 1;
        Py_DECREF(self);
        return blpy_raise(st, &err);
    }
    if (files && files != Py_None) {
        if (PyUnicode_Check(files) || PyBytes_Check(files)) {
            Py_DECREF(self);
            PyErr_SetString(PyExc_TypeError, "files must be a sequence of paths");
            return NULL;
        }
        PyObject *it = PyObject_GetIter(files), *f;
        if (!it) {
            Py_DECREF(self);
            return NULL;
        }
        while ((f = PyIter_Next(it))) {
            PyObject *a = Py_BuildValue("(OO)", f, progress);
            PyObject *r = a ? dataset_add_file(self, a, NULL) : NULL;
            Py_XDECREF(a);
            Py_DECREF(f);
            if (!r)
                break;
            Py_DECREF(r);
        }
        Py_DECREF(it);
        if (PyErr_Occurred()) {
            Py_DECREF(self);
            return NULL;
        }
    }
    return (PyObject *)self;
}

PyDoc_STRVAR(dataset_add_file_doc,
             "add_file(path, progress=None) -> None\n\n"
             "Read every record of an encoding file.  The first file fixes the layout;\n"
             "later files must share schema fingerprint, key fingerprint and layout\n"
             "(MismatchError naming both files).  Releases the GIL.");
static PyObject *dataset_add_file(BlPyDataset *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "progress", NULL};
    PyObject *path = NULL, *progress = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O:add_file", kwlist, blpy_path_converter, &path,
                                     &progress))
        return NULL;
    if (blpy_acquire(&self->h, "dataset") < 0) {
        Py_DECREF(path);
        return NULL;
    }
    blpy_callback cb;
    blpy_callback_init(&cb, progress, NULL);
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    Py_BEGIN_ALLOW_THREADS
    st = bl_dataset_add_file(self->ds, PyBytes_AS_STRING(path), blpy_progress, &cb, &err);
    Py_END_ALLOW_THREADS
    blpy_release(&self->h);
    Py_DECREF(path);
    if (blpy_callback_finish(&cb))
        return NULL;
    if (st != BL_OK)
        return blpy_raise(st, &err);
    Py_RETURN_NONE;
}

static Py_ssize_t dataset_len(BlPyDataset *self)
{
    return self->ds ? (Py_ssize_t)bl_dataset_record_count(self->ds) : 0;
}

static PyObject *dataset_sources(BlPyDataset *self, void *c)
{
    if (blpy_check_open(&self->h, "dataset") < 0)
        return NULL;
    size_t n = bl_dataset_source_count(self->ds);
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; t && i < n; i++) {
        PyObject *s = PyUnicode_FromString(bl_dataset_source_name(self->ds, i));
        if (!s) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, s);
    }
    return t;
}

PyDoc_STRVAR(dataset_find_doc,
             "find(token, source=None) -> int\n\n"
             "Index of the record with this token (16 bytes or 32 hex), in source or\n"
             "in any source.  NotFoundError if there is none.");
static PyObject *dataset_find(BlPyDataset *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"token", "source", NULL};
    uint8_t tok[BL_TOKEN_BYTES];
    const char *source = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|z:find", kwlist, blpy_token_converter, tok,
                                     &source))
        return NULL;
    if (blpy_check_open(&self->h, "dataset") < 0)
        return NULL;
    size_t idx;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_dataset_find(self->ds, source, tok, &idx, &err);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    return PyLong_FromSize_t(idx);
}

static PyObject *dataset_close(BlPyDataset *self, PyObject *args)
{
    if (self->h.busy)
        return blpy_misuse("dataset is in use by another thread");
    if (self->h.users)
        return blpy_misuse("dataset is in use");
    bl_dataset_free(self->ds);
    self->ds = NULL;
    self->h.closed = 1;
    Py_RETURN_NONE;
}

static PyObject *self_enter(PyObject *self, PyObject *args)
{
    if (blpy_check_open((bl_py_handle *)self, "handle") < 0)
        return NULL;
    return Py_NewRef(self);
}

static PyObject *dataset_exit(BlPyDataset *self, PyObject *args)
{
    PyObject *r = dataset_close(self, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *dataset_repr(BlPyDataset *self)
{
    if (!self->ds)
        return PyUnicode_FromString("<bloomlink.Dataset closed>");
    return PyUnicode_FromFormat("<bloomlink.Dataset records=%zu sources=%zu>",
                                bl_dataset_record_count(self->ds),
                                bl_dataset_source_count(self->ds));
}

static PyMethodDef dataset_methods[] = {
    {"add_file", (PyCFunction)(void (*)(void))dataset_add_file, METH_VARARGS | METH_KEYWORDS,
     dataset_add_file_doc},
    {"find", (PyCFunction)(void (*)(void))dataset_find, METH_VARARGS | METH_KEYWORDS,
     dataset_find_doc},
    {"close", (PyCFunction)dataset_close, METH_NOARGS, "Free the records."},
    {"__enter__", self_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)dataset_exit, METH_VARARGS, NULL},
    {NULL}};

static PyGetSetDef dataset_getset[] = {
    {"sources", (getter)dataset_sources, NULL, "Source names, in index order.", NULL}, {NULL}};

static PySequenceMethods dataset_seq = {.sq_length = (lenfunc)dataset_len};

PyTypeObject BlPyDataset_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bloomlink.Dataset",
    .tp_basicsize = sizeof(BlPyDataset),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Dataset(files=(), progress=None)\n\n"
              "The records of one or more encoding files (one per source), ready to\n"
              "match.  len() is the number of records.",
    .tp_new = dataset_new,
    .tp_dealloc = (destructor)dataset_dealloc,
    .tp_repr = (reprfunc)dataset_repr,
    .tp_as_sequence = &dataset_seq,
    .tp_methods = dataset_methods,
    .tp_getset = dataset_getset,
};

/* ------------------------------------------------------------ Model */

static void model_dealloc(BlPyModel *self)
{
    bl_model_free(self->model);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *model_wrap(bl_model *m)
{
    BlPyModel *self = PyObject_New(BlPyModel, &BlPyModel_Type);
    if (!self) {
        bl_model_free(m);
        return NULL;
    }
    self->h.closed = self->h.busy = 0;
    self->h.users = 0;
    self->model = m;
    return (PyObject *)self;
}

PyDoc_STRVAR(model_default_doc,
             "Model.default(dataset) -> Model\n\n"
             "An untrained model for the dataset's fields (default agreement levels\n"
             "and starting values).");
static PyObject *model_default(PyTypeObject *cls, PyObject *arg)
{
    if (!PyObject_TypeCheck(arg, &BlPyDataset_Type)) {
        PyErr_SetString(PyExc_TypeError, "expected a bloomlink.Dataset");
        return NULL;
    }
    BlPyDataset *ds = (BlPyDataset *)arg;
    if (blpy_check_open(&ds->h, "dataset") < 0)
        return NULL;
    bl_model *m = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_model_default(ds->ds, &m, &err);
    return st != BL_OK ? blpy_raise(st, &err) : model_wrap(m);
}

PyDoc_STRVAR(model_load_doc, "Model.load(path) -> Model\n\nLoad a model saved as JSON.");
static PyObject *model_load(PyTypeObject *cls, PyObject *arg)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    bl_model *m = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_model_load(PyBytes_AS_STRING(path), &m, &err);
    Py_DECREF(path);
    return st != BL_OK ? blpy_raise(st, &err) : model_wrap(m);
}

PyDoc_STRVAR(model_parse_doc,
             "Model.parse(text, name='<memory>') -> Model\n\nParse a model from JSON text.");
static PyObject *model_parse(PyTypeObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"text", "name", NULL};
    PyObject *text;
    const char *name = "<memory>";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|s:parse", kwlist, &text, &name))
        return NULL;
    Py_buffer b;
    if (PyUnicode_Check(text)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(text, &n);
        if (!s || PyBuffer_FillInfo(&b, text, (void *)s, n, 1, PyBUF_SIMPLE) < 0)
            return NULL;
    } else if (PyObject_GetBuffer(text, &b, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    bl_model *m = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_model_parse(b.buf, (size_t)b.len, name, &m, &err);
    PyBuffer_Release(&b);
    return st != BL_OK ? blpy_raise(st, &err) : model_wrap(m);
}

PyDoc_STRVAR(model_save_doc, "save(path) -> None\n\nSave the model as JSON, atomically.");
static PyObject *model_save(BlPyModel *self, PyObject *arg)
{
    if (blpy_check_open(&self->h, "model") < 0)
        return NULL;
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_model_save(self->model, PyBytes_AS_STRING(path), &err);
    Py_DECREF(path);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(model_to_json_doc, "to_json() -> str\n\nThe model as JSON text.");
static PyObject *model_to_json(BlPyModel *self, PyObject *args)
{
    if (blpy_check_open(&self->h, "model") < 0)
        return NULL;
    char *out = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_model_to_json(self->model, &out, &err);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    PyObject *r = PyUnicode_FromString(out);
    free(out);
    return r;
}

static PyObject *model_trained(BlPyModel *self, void *c)
{
    if (blpy_check_open(&self->h, "model") < 0)
        return NULL;
    return PyBool_FromLong(bl_model_is_trained(self->model));
}

/* Acquire dataset and model for a long call; -1 with an exception. */
static int acquire_pair(BlPyDataset *ds, BlPyModel *m)
{
    if (blpy_acquire(&ds->h, "dataset") < 0)
        return -1;
    if (blpy_acquire(&m->h, "model") < 0) {
        blpy_release(&ds->h);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(model_train_doc,
             "train(dataset, *, progress=None, log=None, **options) -> dict\n\n"
             "Estimate the model on the dataset: u from random pairs, term\n"
             "frequencies, candidate pairs, then m and the prior by EM.  Options as\n"
             "for match().  Returns the run's statistics.  Releases the GIL.");
static PyObject *model_train(BlPyModel *self, PyObject *args, PyObject *kw)
{
    PyObject *dso;
    if (!PyArg_ParseTuple(args, "O!:train", &BlPyDataset_Type, &dso))
        return NULL;
    BlPyDataset *ds = (BlPyDataset *)dso;
    match_args a;
    if (match_args_parse(&a, kw) < 0) {
        match_args_clear(&a);
        return NULL;
    }
    if (acquire_pair(ds, self) < 0) {
        match_args_clear(&a);
        return NULL;
    }
    blpy_callback cb;
    blpy_callback_init(&cb, a.progress, a.log);
    a.opt.log = blpy_log;
    a.opt.log_user = &cb;
    bl_match_stats stats;
    memset(&stats, 0, sizeof stats);
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    Py_BEGIN_ALLOW_THREADS
    st = bl_model_train(self->model, ds->ds, &a.opt, blpy_progress, &cb, &stats, &err);
    Py_END_ALLOW_THREADS
    blpy_release(&ds->h);
    blpy_release(&self->h);
    match_args_clear(&a);
    if (blpy_callback_finish(&cb))
        return NULL;
    if (st != BL_OK)
        return blpy_raise(st, &err);
    return match_stats_dict(&stats);
}

static PyObject *model_close(BlPyModel *self, PyObject *args)
{
    if (self->h.busy)
        return blpy_misuse("model is in use by another thread");
    bl_model_free(self->model);
    self->model = NULL;
    self->h.closed = 1;
    Py_RETURN_NONE;
}

static PyObject *model_exit(BlPyModel *self, PyObject *args)
{
    PyObject *r = model_close(self, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyMethodDef model_methods[] = {
    {"default", (PyCFunction)model_default, METH_O | METH_CLASS, model_default_doc},
    {"load", (PyCFunction)model_load, METH_O | METH_CLASS, model_load_doc},
    {"parse", (PyCFunction)(void (*)(void))model_parse, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     model_parse_doc},
    {"save", (PyCFunction)model_save, METH_O, model_save_doc},
    {"to_json", (PyCFunction)model_to_json, METH_NOARGS, model_to_json_doc},
    {"train", (PyCFunction)(void (*)(void))model_train, METH_VARARGS | METH_KEYWORDS,
     model_train_doc},
    {"close", (PyCFunction)model_close, METH_NOARGS, "Free the model."},
    {"__enter__", self_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)model_exit, METH_VARARGS, NULL},
    {NULL}};

static PyGetSetDef model_getset[] = {
    {"trained", (getter)model_trained, NULL, "True once m, u and the prior were estimated.", NULL},
    {NULL}};

PyTypeObject BlPyModel_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bloomlink.Model",
    .tp_basicsize = sizeof(BlPyModel),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A Fellegi-Sunter matching model (m, u, prior, agreement levels).\n"
              "Model.default(dataset), Model.load(path) or Model.parse(text).",
    .tp_dealloc = (destructor)model_dealloc,
    .tp_methods = model_methods,
    .tp_getset = model_getset,
};

/* ------------------------------------------------------------ LinkMap */

static void linkmap_dealloc(BlPyLinkMap *self)
{
    bl_linkmap_free(self->lm);
    Py_XDECREF(self->stats);
    Py_XDECREF(self->model);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *linkmap_wrap(bl_linkmap *lm, PyObject *stats, PyObject *model)
{
    BlPyLinkMap *self = PyObject_New(BlPyLinkMap, &BlPyLinkMap_Type);
    if (!self) {
        bl_linkmap_free(lm);
        return NULL;
    }
    self->h.closed = self->h.busy = 0;
    self->h.users = 0;
    self->lm = lm;
    self->stats = Py_NewRef(stats ? stats : Py_None);
    self->model = Py_NewRef(model ? model : Py_None);
    return (PyObject *)self;
}

static Py_ssize_t linkmap_len(BlPyLinkMap *self)
{
    return self->lm ? (Py_ssize_t)bl_linkmap_count(self->lm) : 0;
}

static PyObject *linkmap_item(BlPyLinkMap *self, Py_ssize_t i)
{
    if (blpy_check_open(&self->h, "link map") < 0)
        return NULL;
    if (i < 0 || (size_t)i >= bl_linkmap_count(self->lm)) {
        PyErr_SetString(PyExc_IndexError, "link map index out of range");
        return NULL;
    }
    bl_linkmap_entry e;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_linkmap_get(self->lm, (size_t)i, &e, &err);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    PyObject *tok = blpy_hex(e.token, BL_TOKEN_BYTES);
    if (!tok)
        return NULL;
    return Py_BuildValue("{s:s,s:N,s:K,s:d,s:I}", "source", e.source, "record_token", tok,
                         "entity_id", (unsigned long long)e.entity_id, "match_probability",
                         e.match_probability, "entity_size", (unsigned)e.entity_size);
}

PyDoc_STRVAR(linkmap_review_doc,
             "review_pairs() -> list[dict]\n\n"
             "Pairs for clerical review: source_a, record_token_a, source_b,\n"
             "record_token_b, match_weight, match_probability, reason.");
static PyObject *linkmap_review(BlPyLinkMap *self, PyObject *args)
{
    if (blpy_check_open(&self->h, "link map") < 0)
        return NULL;
    size_t n = bl_linkmap_review_count(self->lm);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        bl_review_pair p;
        bl_error err;
        bl_error_clear(&err);
        bl_status st = bl_linkmap_review_get(self->lm, i, &p, &err);
        PyObject *d = NULL;
        if (st != BL_OK) {
            blpy_raise(st, &err);
        } else {
            PyObject *ta = blpy_hex(p.token_a, BL_TOKEN_BYTES);
            PyObject *tb = ta ? blpy_hex(p.token_b, BL_TOKEN_BYTES) : NULL;
            if (tb)
                d = Py_BuildValue("{s:s,s:O,s:s,s:O,s:d,s:d,s:s}", "source_a", p.source_a,
                                  "record_token_a", ta, "source_b", p.source_b, "record_token_b",
                                  tb, "match_weight", p.weight, "match_probability", p.probability,
                                  "reason", p.reason ? p.reason : "");
            Py_XDECREF(ta);
            Py_XDECREF(tb);
        }
        if (!d) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, d);
    }
    return list;
}

typedef bl_status (*write_fn)(const bl_linkmap *, const char *, bl_error *);

static PyObject *linkmap_write_with(BlPyLinkMap *self, PyObject *arg, write_fn fn)
{
    if (blpy_check_open(&self->h, "link map") < 0)
        return NULL;
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    Py_BEGIN_ALLOW_THREADS
    st = fn(self->lm, PyBytes_AS_STRING(path), &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(linkmap_write_csv_doc,
             "write_csv(path) -> None\n\n"
             "Write the link map as CSV (source,record_token,entity_id,\n"
             "match_probability,entity_size), atomically, as `bloomlink match` does.");
static PyObject *linkmap_write_csv(BlPyLinkMap *self, PyObject *arg)
{
    return linkmap_write_with(self, arg, bl_linkmap_write_csv);
}

PyDoc_STRVAR(linkmap_write_review_csv_doc,
             "write_review_csv(path) -> None\n\nWrite the review pairs as CSV.");
static PyObject *linkmap_write_review_csv(BlPyLinkMap *self, PyObject *arg)
{
    return linkmap_write_with(self, arg, bl_linkmap_write_review_csv);
}

PyDoc_STRVAR(linkmap_read_csv_doc,
             "LinkMap.read_csv(path, review_path=None) -> LinkMap\n\n"
             "Read a link map CSV (and optionally its review CSV).");
static PyObject *linkmap_read_csv(PyTypeObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "review_path", NULL};
    PyObject *path = NULL, *review = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O&:read_csv", kwlist, blpy_path_converter,
                                     &path, blpy_optional_path_converter, &review))
        return NULL;
    bl_linkmap *lm = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    Py_BEGIN_ALLOW_THREADS
    st = bl_linkmap_read_csv(PyBytes_AS_STRING(path), BLPY_PATH(review), &lm, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    Py_XDECREF(review);
    return st != BL_OK ? blpy_raise(st, &err) : linkmap_wrap(lm, NULL, NULL);
}

PyDoc_STRVAR(linkmap_report_doc,
             "report() -> dict\n\n"
             "Link rates by source, age band and sex; entity sizes and link density.");
static PyObject *linkmap_report(BlPyLinkMap *self, PyObject *args)
{
    if (blpy_check_open(&self->h, "link map") < 0)
        return NULL;
    char *out = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_linkmap_report_json(self->lm, &out, &err);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    PyObject *r = blpy_json_loads(out);
    free(out);
    return r;
}

PyDoc_STRVAR(linkmap_records_doc,
             "records() -> list[dict]\n\n"
             "Every record of the link map as a dict: source, record_token (32 hex),\n"
             "entity_id, match_probability, entity_size.");
static PyObject *linkmap_records(BlPyLinkMap *self, PyObject *args)
{
    if (blpy_check_open(&self->h, "link map") < 0)
        return NULL;
    return PySequence_List((PyObject *)self);
}

PyDoc_STRVAR(linkmap_to_dataframe_doc,
             "to_dataframe() -> pandas.DataFrame\n\n"
             "The records as a pandas DataFrame (needs pandas; ImportError otherwise).");
static PyObject *linkmap_to_dataframe(BlPyLinkMap *self, PyObject *args)
{
    PyObject *pd = PyImport_ImportModule("pandas");
    if (!pd)
        return NULL;
    PyObject *recs = linkmap_records(self, NULL), *r = NULL;
    if (recs) {
        PyObject *cols = Py_BuildValue("[sssss]", "source", "record_token", "entity_id",
                                       "match_probability", "entity_size");
        PyObject *df = cols ? PyObject_GetAttrString(pd, "DataFrame") : NULL;
        PyObject *kw = df ? Py_BuildValue("{s:O}", "columns", cols) : NULL;
        PyObject *a = kw ? PyTuple_Pack(1, recs) : NULL;
        if (a)
            r = PyObject_Call(df, a, kw);
        Py_XDECREF(a);
        Py_XDECREF(kw);
        Py_XDECREF(df);
        Py_XDECREF(cols);
        Py_DECREF(recs);
    }
    Py_DECREF(pd);
    return r;
}

static PyObject *linkmap_stats(BlPyLinkMap *self, void *c) { return Py_NewRef(self->stats); }
static PyObject *linkmap_model(BlPyLinkMap *self, void *c) { return Py_NewRef(self->model); }

static PyObject *linkmap_close(BlPyLinkMap *self, PyObject *args)
{
    bl_linkmap_free(self->lm);
    self->lm = NULL;
    self->h.closed = 1;
    Py_RETURN_NONE;
}

static PyObject *linkmap_exit(BlPyLinkMap *self, PyObject *args)
{
    PyObject *r = linkmap_close(self, NULL);
    Py_XDECREF(r);
    Py_RETURN_FALSE;
}

static PyMethodDef linkmap_methods[] = {
    {"records", (PyCFunction)linkmap_records, METH_NOARGS, linkmap_records_doc},
    {"to_dataframe", (PyCFunction)linkmap_to_dataframe, METH_NOARGS, linkmap_to_dataframe_doc},
    {"review_pairs", (PyCFunction)linkmap_review, METH_NOARGS, linkmap_review_doc},
    {"write_csv", (PyCFunction)linkmap_write_csv, METH_O, linkmap_write_csv_doc},
    {"write_review_csv", (PyCFunction)linkmap_write_review_csv, METH_O,
     linkmap_write_review_csv_doc},
    {"read_csv", (PyCFunction)(void (*)(void))linkmap_read_csv,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS, linkmap_read_csv_doc},
    {"report", (PyCFunction)linkmap_report, METH_NOARGS, linkmap_report_doc},
    {"close", (PyCFunction)linkmap_close, METH_NOARGS, "Free the link map."},
    {"__enter__", self_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)linkmap_exit, METH_VARARGS, NULL},
    {NULL}};

static PyGetSetDef linkmap_getset[] = {
    {"stats", (getter)linkmap_stats, NULL, "Statistics of the run that made it (or None).", NULL},
    {"model", (getter)linkmap_model, NULL, "The model used by match() (or None).", NULL},
    {NULL}};

static PySequenceMethods linkmap_seq = {
    .sq_length = (lenfunc)linkmap_len,
    .sq_item = (ssizeargfunc)linkmap_item,
};

PyTypeObject BlPyLinkMap_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bloomlink.LinkMap",
    .tp_basicsize = sizeof(BlPyLinkMap),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A link map: for every record, its entity id, the probability of its\n"
              "strongest link and the entity's size.  A sequence of dicts\n"
              "(source, record_token, entity_id, match_probability, entity_size).",
    .tp_dealloc = (destructor)linkmap_dealloc,
    .tp_as_sequence = &linkmap_seq,
    .tp_methods = linkmap_methods,
    .tp_getset = linkmap_getset,
};

/* ------------------------------------------------------------ functions */

PyDoc_STRVAR(match_doc,
             "match(dataset, model=None, *, progress=None, log=None, threshold=0.5,\n"
             "      review_low=0.1, threads=0, max_block=1000, lsh_bands=24, lsh_bits=64,\n"
             "      u_sample_pairs=4000000, em_max_iterations=1000, em_tolerance=1e-6,\n"
             "      seed=1, unique_sources=(), unique_min_probability=0.999,\n"
             "      merge_min_support=0.5, retrain=False) -> LinkMap\n\n"
             "Link the dataset: block, compare, train the model if it is untrained (or\n"
             "retrain), score, cluster.  Without a model a default one is made and\n"
             "trained; it is the link map's .model.  Warnings go to log(level, message)\n"
             "or, without one, to logging.getLogger('bloomlink').  Releases the GIL.");
static PyObject *py_match(PyObject *self, PyObject *args, PyObject *kw)
{
    PyObject *dso, *mo = Py_None;
    if (!PyArg_ParseTuple(args, "O!|O:match", &BlPyDataset_Type, &dso, &mo))
        return NULL;
    BlPyDataset *ds = (BlPyDataset *)dso;
    if (mo != Py_None && !PyObject_TypeCheck(mo, &BlPyModel_Type)) {
        PyErr_SetString(PyExc_TypeError, "model must be a bloomlink.Model or None");
        return NULL;
    }
    match_args a;
    if (match_args_parse(&a, kw) < 0) {
        match_args_clear(&a);
        return NULL;
    }
    if (mo == Py_None)
        mo = model_default(NULL, dso);
    else
        Py_INCREF(mo);
    if (!mo) {
        match_args_clear(&a);
        return NULL;
    }
    BlPyModel *m = (BlPyModel *)mo;
    if (acquire_pair(ds, m) < 0) {
        Py_DECREF(mo);
        match_args_clear(&a);
        return NULL;
    }
    blpy_callback cb;
    blpy_callback_init(&cb, a.progress, a.log);
    a.opt.log = blpy_log;
    a.opt.log_user = &cb;
    bl_match_stats stats;
    memset(&stats, 0, sizeof stats);
    bl_linkmap *lm = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    Py_BEGIN_ALLOW_THREADS
    st = bl_match_run(ds->ds, m->model, &a.opt, blpy_progress, &cb, &lm, &stats, &err);
    Py_END_ALLOW_THREADS
    blpy_release(&ds->h);
    blpy_release(&m->h);
    match_args_clear(&a);
    PyObject *r = NULL;
    if (blpy_callback_finish(&cb)) {
        bl_linkmap_free(lm);
    } else if (st != BL_OK) {
        blpy_raise(st, &err);
    } else {
        PyObject *sd = match_stats_dict(&stats);
        if (sd)
            r = linkmap_wrap(lm, sd, mo);
        else
            bl_linkmap_free(lm);
        Py_XDECREF(sd);
    }
    Py_DECREF(mo);
    return r;
}

static PyObject *evidence_dict(const bl_field_evidence *f)
{
    return Py_BuildValue("{s:s,s:i,s:s,s:d,s:d,s:d,s:d,s:d}", "field", f->field ? f->field : "",
                         "level", f->level, "level_name", f->level_name ? f->level_name : "",
                         "dice", f->dice, "m", f->m, "u", f->u, "weight", f->weight,
                         "tf_adjustment", f->tf_adjustment);
}

PyDoc_STRVAR(explain_doc,
             "_explain_pair(dataset, model, a, b) -> dict\n\n"
             "The evidence behind the score of records a and b (dataset indices)\n"
             "under a trained model: prior_weight, related_adjustment, weight,\n"
             "probability and one dict per field (level, dice, m, u, weight).");
static PyObject *py_explain_pair(PyObject *self, PyObject *args)
{
    PyObject *dso, *mo;
    Py_ssize_t ia, ib;
    if (!PyArg_ParseTuple(args, "O!O!nn:explain_pair", &BlPyDataset_Type, &dso, &BlPyModel_Type,
                          &mo, &ia, &ib))
        return NULL;
    BlPyDataset *ds = (BlPyDataset *)dso;
    BlPyModel *m = (BlPyModel *)mo;
    if (blpy_check_open(&ds->h, "dataset") < 0 || blpy_check_open(&m->h, "model") < 0)
        return NULL;
    if (ia < 0 || ib < 0)
        return blpy_misuse("record indices must not be negative");
    bl_explanation ex;
    memset(&ex, 0, sizeof ex);
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_explain_pair(ds->ds, m->model, (size_t)ia, (size_t)ib, &ex, &err);
    if (st != BL_OK)
        return blpy_raise(st, &err);
    PyObject *fields = PyList_New((Py_ssize_t)ex.field_count);
    for (size_t i = 0; fields && i < ex.field_count && i < BL_MAX_FIELDS; i++) {
        PyObject *d = evidence_dict(&ex.fields[i]);
        if (!d) {
            Py_CLEAR(fields);
            break;
        }
        PyList_SET_ITEM(fields, (Py_ssize_t)i, d);
    }
    if (!fields)
        return NULL;
    return Py_BuildValue("{s:d,s:d,s:d,s:d,s:N}", "prior_weight", ex.prior_weight,
                         "related_adjustment", ex.related_adjustment, "weight", ex.weight,
                         "probability", ex.probability, "fields", fields);
}

PyDoc_STRVAR(evaluate_doc,
             "evaluate_files(truth_csv, id_maps, linkmap_csv) -> dict\n\n"
             "Pairwise precision, recall and F1 of a link map against truth\n"
             "(source,record_id,person_id), overall and by source pair, with split\n"
             "persons and merged entities.  id_maps maps each source to its id map\n"
             "(record_id,record_token, as encode_csv writes it).  Releases the GIL.");
static PyObject *py_evaluate_files(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"truth_csv", "id_maps", "linkmap_csv", NULL};
    PyObject *truth = NULL, *maps, *linkmap = NULL, *items = NULL, *keep = NULL, *r = NULL;
    const char **srcs = NULL, **paths = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&OO&:evaluate_files", kwlist,
                                     blpy_path_converter, &truth, &maps, blpy_path_converter,
                                     &linkmap))
        goto done;
    items = PyMapping_Check(maps) && !PySequence_Check(maps) ? PyMapping_Items(maps)
                                                              : PySequence_List(maps);
    if (!items)
        goto done;
    Py_ssize_t n = PyList_GET_SIZE(items);
    keep = PyList_New(0);
    srcs = PyMem_Calloc((size_t)n + 1, sizeof *srcs);
    paths = PyMem_Calloc((size_t)n + 1, sizeof *paths);
    if (!keep || !srcs || !paths) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *it = PyList_GET_ITEM(items, i), *s, *p = NULL;
        if (!PyTuple_Check(it) || PyTuple_GET_SIZE(it) != 2) {
            PyErr_SetString(PyExc_TypeError, "id_maps: a mapping or (source, path) pairs");
            goto done;
        }
        s = PyTuple_GET_ITEM(it, 0);
        if (!(srcs[i] = PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : NULL)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "id_maps: source names are str");
            goto done;
        }
        if (!PyUnicode_FSConverter(PyTuple_GET_ITEM(it, 1), &p))
            goto done;
        int bad = PyList_Append(keep, p) < 0;
        paths[i] = PyBytes_AS_STRING(p);
        Py_DECREF(p);
        if (bad)
            goto done;
    }
    bl_evaluation *ev = NULL;
    bl_error err;
    bl_error_clear(&err);
    bl_status st;
    char *json = NULL;
    Py_BEGIN_ALLOW_THREADS
    st = bl_evaluate_files(PyBytes_AS_STRING(truth), srcs, paths, (size_t)n,
                           PyBytes_AS_STRING(linkmap), &ev, &err);
    if (st == BL_OK)
        st = bl_evaluation_to_json(ev, &json, &err);
    Py_END_ALLOW_THREADS
    bl_evaluation_free(ev);
    if (st != BL_OK) {
        blpy_raise(st, &err);
        goto done;
    }
    r = blpy_json_loads(json);
    free(json);
done:
    PyMem_Free(srcs);
    PyMem_Free(paths);
    Py_XDECREF(items);
    Py_XDECREF(keep);
    Py_XDECREF(truth);
    Py_XDECREF(linkmap);
    return r;
}

PyMethodDef blpy_match_functions[] = {
    {"match", (PyCFunction)(void (*)(void))py_match, METH_VARARGS | METH_KEYWORDS, match_doc},
    {"_explain_pair", py_explain_pair, METH_VARARGS, explain_doc},
    {"evaluate_files", (PyCFunction)(void (*)(void))py_evaluate_files,
     METH_VARARGS | METH_KEYWORDS, evaluate_doc},
    {NULL}};
