/* callbacks.c - progress and log callbacks for calls that release the GIL.
 *
 * The library calls back from the thread that called it (progress) or from
 * worker threads (log), always without the GIL; each callback takes the GIL
 * with PyGILState_Ensure.  A Python exception raised by a callback (or a
 * signal such as Ctrl-C, checked on every progress call) cancels the
 * operation: the library then fails with BL_ECANCELLED and the binding
 * re-raises the callback's exception instead. */
#include "bloomlink_ext.h"

void blpy_callback_init(blpy_callback *cb, PyObject *progress, PyObject *log)
{
    memset(cb, 0, sizeof *cb);
    cb->progress = progress == Py_None ? NULL : progress;
    cb->log = log == Py_None ? NULL : log;
    cb->use_logging = cb->log == NULL;
}

/* Keep the first exception; called with the GIL held and an exception set. */
static void stash(blpy_callback *cb)
{
    if (!cb->exc_type) {
        PyErr_Fetch(&cb->exc_type, &cb->exc_value, &cb->exc_tb);
    } else {
        PyErr_Clear();
    }
}

int blpy_progress(void *user, const char *what, uint64_t done, uint64_t total)
{
    blpy_callback *cb = user;
    PyGILState_STATE g = PyGILState_Ensure();
    int cancel = cb->exc_type != NULL;
    if (!cancel && PyErr_CheckSignals() < 0) {
        stash(cb);
        cancel = 1;
    }
    if (!cancel && cb->progress) {
        PyObject *r = PyObject_CallFunction(cb->progress, "sKK", what ? what : "",
                                            (unsigned long long)done, (unsigned long long)total);
        if (!r) {
            stash(cb);
            cancel = 1;
        }
        Py_XDECREF(r);
    }
    PyGILState_Release(g);
    return cancel;
}

void blpy_log(void *user, bl_log_level level, const char *message)
{
    blpy_callback *cb = user;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = NULL;
    if (cb->log) {
        static const char *names[] = {"error", "warning", "info", "debug"};
        r = PyObject_CallFunction(cb->log, "ss", level <= BL_LOG_DEBUG ? names[level] : "debug",
                                  message ? message : "");
    } else if (cb->use_logging) {
        /* logging levels: ERROR 40, WARNING 30, INFO 20, DEBUG 10 */
        static const int levels[] = {40, 30, 20, 10};
        PyObject *logging = PyImport_ImportModule("logging");
        PyObject *logger = logging ? PyObject_CallMethod(logging, "getLogger", "s", "bloomlink")
                                   : NULL;
        if (logger)
            r = PyObject_CallMethod(logger, "log", "is", level <= BL_LOG_DEBUG ? levels[level] : 10,
                                    message ? message : "");
        Py_XDECREF(logger);
        Py_XDECREF(logging);
    } else {
        r = Py_NewRef(Py_None);
    }
    if (!r)
        stash(cb); /* a failing log callback cannot cancel; it is reported afterwards */
    Py_XDECREF(r);
    PyGILState_Release(g);
}

int blpy_callback_finish(blpy_callback *cb)
{
    if (cb->exc_type) {
        PyErr_Restore(cb->exc_type, cb->exc_value, cb->exc_tb);
        cb->exc_type = cb->exc_value = cb->exc_tb = NULL;
        return 1;
    }
    return 0;
}

PyObject *blpy_fail(blpy_callback *cb, bl_status st, const bl_error *err)
{
    if (cb && blpy_callback_finish(cb))
        return NULL;
    return blpy_raise(st, err);
}
