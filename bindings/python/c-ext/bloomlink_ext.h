/* bloomlink_ext.h - shared declarations of the bloomlink._bloomlink extension.
 *
 * One .c per Python type (key.c, schema.c, encoder.c, encfile.c, match.c,
 * governance.c), module.c for the module itself and free functions, errors.c
 * for the exception hierarchy and callbacks.c for progress and log callbacks.
 *
 * Handle rules, for every wrapper of a bl_* handle:
 * - the C handle is created before the Python object is returned and freed
 *   exactly once (close() or dealloc, whichever comes first); dealloc frees
 *   only what is set, so half-built objects die safely;
 * - an object that borrows another handle (an encoder borrows its schema,
 *   profile and key) keeps a strong reference to its Python owner and counts
 *   itself as a user (bl_py_handle.users), so closing the owner only marks
 *   it closed; the C handle goes when its last user does;
 * - a handle in use by a call that released the GIL is `busy`; any other
 *   call on it (from another thread) raises MisuseError instead of racing.
 */
#ifndef BLOOMLINK_EXT_H
#define BLOOMLINK_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <bloomlink.h>

/* Common head of every handle wrapper. */
typedef struct bl_py_handle {
    PyObject_HEAD
    int closed;  /* close() was called (or construction failed) */
    int busy;    /* a call with the GIL released is using the handle */
    long users;  /* live dependants borrowing the handle */
} bl_py_handle;

/* ---- errors.c */
extern PyObject *BlPy_Error; /* bloomlink.Error */
int blpy_errors_init(PyObject *module);
/* Raise the exception for status st, filled from err (err may be NULL). Returns NULL. */
PyObject *blpy_raise(bl_status st, const bl_error *err);
/* Raise MisuseError with a message.  Returns NULL. */
PyObject *blpy_misuse(const char *fmt, ...);

/* ---- handle helpers (module.c) */
/* Fails (MisuseError, returns -1) if h is closed or busy; `what` names the type. */
int blpy_check_open(bl_py_handle *h, const char *what);
/* Check open, then mark busy.  Pair with blpy_release. */
int blpy_acquire(bl_py_handle *h, const char *what);
void blpy_release(bl_py_handle *h);
/* Filesystem path argument converter (str, bytes or os.PathLike) -> bytes object. */
int blpy_path_converter(PyObject *o, void *out);
/* Same, but None is allowed (out stays NULL). */
int blpy_optional_path_converter(PyObject *o, void *out);
#define BLPY_PATH(o) ((o) ? PyBytes_AS_STRING(o) : NULL)
/* "0123..." hex of n bytes as a new str. */
PyObject *blpy_hex(const uint8_t *p, size_t n);
/* Parse a record token given as 16 bytes-like or 32 hex characters. */
int blpy_token_converter(PyObject *o, void *out /* uint8_t[BL_TOKEN_BYTES] */);
/* json.loads(text); steals nothing. */
PyObject *blpy_json_loads(const char *text);

/* ---- callbacks.c */
/* State for one call into the library with the GIL released. */
typedef struct blpy_callback {
    PyObject *progress; /* callable or NULL */
    PyObject *log;      /* callable or NULL */
    PyObject *exc_type, *exc_value, *exc_tb; /* first exception a callback raised */
    int use_logging;    /* log to logging.getLogger("bloomlink") when log is NULL */
} blpy_callback;
void blpy_callback_init(blpy_callback *cb, PyObject *progress, PyObject *log);
/* bl_progress_fn: calls cb->progress(what, done, total) and checks signals. */
int blpy_progress(void *user, const char *what, uint64_t done, uint64_t total);
/* bl_log_fn. */
void blpy_log(void *user, bl_log_level level, const char *message);
/* After the call: if a callback raised, restore its exception and return 1. */
int blpy_callback_finish(blpy_callback *cb);
/* Raise for a failed call: the callback's exception if it raised, else blpy_raise. */
PyObject *blpy_fail(blpy_callback *cb, bl_status st, const bl_error *err);

/* ---- key.c */
typedef struct BlPyKey {
    bl_py_handle h;
    bl_key *key;
} BlPyKey;
extern PyTypeObject BlPyKey_Type;
/* Borrow the key for a dependant (users++); NULL with an exception if closed. */
const bl_key *blpy_key_borrow(PyObject *key);
void blpy_key_unborrow(PyObject *key);

/* ---- schema.c */
typedef struct BlPySchema {
    bl_py_handle h;
    bl_schema *schema;
} BlPySchema;
typedef struct BlPyProfile {
    bl_py_handle h;
    bl_profile *profile;
    PyObject *schema; /* BlPySchema, strong */
} BlPyProfile;
extern PyTypeObject BlPySchema_Type, BlPyProfile_Type;

/* ---- encoder.c */
typedef struct BlPyEncoder {
    bl_py_handle h;
    bl_encoder *enc;
    PyObject *schema, *profile, *key; /* strong; key counted as a user */
    PyObject *layout;                  /* Layout of the records it makes */
    bl_encode_stats stats;             /* cumulative over encode_row calls */
} BlPyEncoder;
extern PyTypeObject BlPyEncoder_Type;
PyObject *blpy_encode_stats_dict(const bl_encode_stats *s);

/* ---- encfile.c */
extern PyTypeObject BlPyReader_Type, BlPyWriter_Type, BlPyRecord_Type;
/* A tuple describing a layout: (field_names, field_bits, field_types, clk_bits, key_names). */
PyObject *blpy_layout_from_info(const bl_encfile_info *info);
PyObject *blpy_layout_from_schema(const bl_schema *schema);
/* The header dict (like EncodingReader.header, without version and counts) of a layout. */
PyObject *blpy_header_dict(PyObject *layout, const char *source, const char *schema_fp,
                           const char *key_fp);
/* Copy a record view into a new Record, described by layout. */
PyObject *blpy_record_new(const bl_record_view *v, PyObject *layout);
int blpy_encfile_init(PyObject *module);

/* ---- match.c */
extern PyTypeObject BlPyDataset_Type, BlPyModel_Type, BlPyLinkMap_Type;
extern PyMethodDef blpy_match_functions[];

/* ---- governance.c */
extern PyTypeObject BlPyAgreement_Type;
extern PyMethodDef blpy_governance_functions[];

/* ---- module.c */
extern PyMethodDef blpy_module_functions[];

#endif
