/* io.c - atomic outputs, whole-file reads, hex and file hashing. */
#include "config.h"

#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

/*
 * Bytes are collected in our own buffer and handed to write() in large
 * pieces.  The hot writers (CSV fields, the encoder's rows) append to it
 * directly: stdio's per-call overhead (locking aside, each fputc/fwrite
 * re-checks the stream state) was most of the content file's cost.  The
 * stdio stream is still there for callers that want fprintf-style output
 * (bl_atomic_stream); it is a cookie stream whose writes land behind ours,
 * so once a caller has taken it, direct appends flush it first and the
 * bytes stay in order.
 */
#define OUT_BUF (1u << 16)
#ifndef SYNC_CHUNK
#define SYNC_CHUNK (4u << 20)
#endif

/* A helper thread that makes written data durable while the caller goes on
   producing more (see request_sync). */
typedef struct syncer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;
    int pending, stop;
    int err; /* first fdatasync errno; commit fails with it */
} syncer;

struct bl_atomic_file {
    char *path;     /* destination */
    char *tmp_path; /* where bytes go until commit */
    int fd;
    FILE *fp;       /* cookie stream over our buffer, for bl_atomic_stream */
    int stream_used; /* bl_atomic_stream was called: fp may hold bytes */
    char *buf;       /* OUT_BUF bytes, len of them pending */
    size_t len;
    uint64_t written;
    uint64_t fail_after; /* UINT64_MAX: no injected failure */
    int failed_errno;
    syncer *sync;       /* NULL until the file first grows by SYNC_CHUNK */
    int sync_off;       /* the helper could not be started: commit does it all */
    uint64_t sync_mark; /* bytes written at the last sync request */
};

static void *sync_main(void *arg)
{
    syncer *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->pending && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop)
            break;
        s->pending = 0;
        pthread_mutex_unlock(&s->mu);
        int r = fdatasync(s->fd), e = errno;
        pthread_mutex_lock(&s->mu);
        if (r != 0 && !s->err)
            s->err = e;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/*
 * Every SYNC_CHUNK bytes, ask a helper thread to fdatasync what is written
 * so far, while this thread goes on producing more.  Commit still fsyncs
 * (that is the durability guarantee), but then little is left to write.
 * The encoder's commits (content 9 MB, .ble 30 MB per 100k records) took
 * ~940 cycles a record of waiting; with the helper ~430 (pinned core,
 * median of 7).  sync_file_range(SYNC_FILE_RANGE_WRITE) from this thread
 * was tried first and gained nothing net: it only starts writeback (its
 * page submission cost moved into the encoding loop), and most of the
 * final wait on the test VM was the device cache flush of everything
 * written, which only an early flush takes off the end.  4 MiB: 2 and 8
 * measured the same, 16 lets the 9 MB content file wait at the end again.
 * The helper is started on the first request, so small files never get
 * one; it blocks all signals, which stay with the caller's threads.
 */
/* The helper for fd, or NULL when one cannot be started. */
static syncer *start_syncer(int fd)
{
    syncer *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        goto no_mutex;
    if (pthread_cond_init(&s->cv, NULL) != 0)
        goto no_cond;
    s->fd = fd;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, sync_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        return s;
    pthread_cond_destroy(&s->cv);
no_cond:
    pthread_mutex_destroy(&s->mu);
no_mutex:
    free(s);
    return NULL;
}

static void request_sync(bl_atomic_file *f)
{
    f->sync_mark = f->written;
    if (f->sync_off)
        return;
    if (!f->sync && !(f->sync = start_syncer(f->fd))) {
        f->sync_off = 1; /* commit's fsync does it all */
        return;
    }
    pthread_mutex_lock(&f->sync->mu);
    f->sync->pending = 1;
    pthread_cond_signal(&f->sync->cv);
    pthread_mutex_unlock(&f->sync->mu);
}

/* Stop and join the helper; returns its first error (0 if none). */
static int stop_sync(bl_atomic_file *f)
{
    syncer *s = f->sync;
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    int e = s->err;
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    f->sync = NULL;
    return e;
}

/* Write straight to the fd, counting bytes for the injected ENOSPC.  On
   failure failed_errno is set (and stays set: later writes fail at once).
   Returns 0 or -1. */
static int raw_write(bl_atomic_file *f, const char *buf, size_t size)
{
    if (f->failed_errno) {
        errno = f->failed_errno;
        return -1;
    }
    size_t done = 0;
    while (done < size) {
        size_t n = size - done;
        if (f->fail_after != UINT64_MAX) {
            if (f->written >= f->fail_after) {
                f->failed_errno = ENOSPC;
                errno = ENOSPC;
                return -1;
            }
            if (n > f->fail_after - f->written)
                n = (size_t)(f->fail_after - f->written);
        }
        ssize_t w = write(f->fd, buf + done, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            f->failed_errno = errno;
            return -1;
        }
        done += (size_t)w;
        f->written += (uint64_t)w;
    }
    if (f->written - f->sync_mark >= SYNC_CHUNK)
        request_sync(f);
    return 0;
}

static int flush_buf(bl_atomic_file *f)
{
    size_t n = f->len;
    f->len = 0;
    return n ? raw_write(f, f->buf, n) : 0;
}

/* Bytes written through the stdio stream: ours go first. */
static ssize_t cookie_write(void *c, const char *buf, size_t size)
{
    bl_atomic_file *f = c;
    if (flush_buf(f) != 0 || raw_write(f, buf, size) != 0)
        return -1;
    return (ssize_t)size;
}

static int cookie_close(void *c)
{
    (void)c; /* the fd is closed by commit/abort after fsync */
    return 0;
}

static char *dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *d = strdup(dirname(copy));
    free(copy);
    return d;
}

bl_status bl_atomic_open(const char *path, bl_atomic_file **out, bl_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return bl_fail(err, BL_EMISUSE, "no output path given");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "output is a directory");
    bl_atomic_file *f = calloc(1, sizeof *f);
    if (!f)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    f->fd = -1;
    f->fail_after = UINT64_MAX;
    f->path = strdup(path);
    size_t tlen = strlen(path) + 32;
    f->tmp_path = malloc(tlen);
    f->buf = malloc(OUT_BUF);
    if (!f->path || !f->tmp_path || !f->buf) {
        bl_atomic_abort(f);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    /* Random suffix, O_EXCL: never follows a planted symlink or reuses a file. */
    for (int attempt = 0; attempt < 16; attempt++) {
        uint8_t r[6];
        char hex[13];
        if (RAND_bytes(r, sizeof r) != 1) {
            bl_atomic_abort(f);
            return bl_fail_openssl(err, "RAND_bytes");
        }
        bl_hex(r, sizeof r, hex);
        snprintf(f->tmp_path, tlen, "%s.tmp-%s", path, hex);
        f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (f->fd >= 0 || errno != EEXIST)
            break;
    }
    if (f->fd < 0) {
        int e = errno;
        free(f->tmp_path);
        f->tmp_path = NULL;
        bl_atomic_abort(f);
        return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "cannot create output: %s", strerror(e));
    }
    cookie_io_functions_t io = {.read = NULL, .write = cookie_write, .seek = NULL,
                                .close = cookie_close};
    f->fp = fopencookie(f, "w", io);
    if (!f->fp) {
        bl_atomic_abort(f);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    setvbuf(f->fp, NULL, _IOFBF, 1 << 16);
    *out = f;
    return BL_OK;
}

FILE *bl_atomic_stream(bl_atomic_file *f)
{
    if (!f)
        return NULL;
    f->stream_used = 1;
    return f->fp;
}
const char *bl_atomic_path(const bl_atomic_file *f) { return f ? f->path : NULL; }
void bl_atomic_inject_enospc(bl_atomic_file *f, uint64_t bytes)
{
    if (f)
        f->fail_after = bytes;
}

static bl_status write_failed(bl_atomic_file *f, bl_error *err)
{
    int e = f->failed_errno ? f->failed_errno : errno;
    return bl_fail_at(err, BL_EIO, f->path, -1, -1, NULL, "write failed: %s", strerror(e ? e : EIO));
}

/* Before a direct append: bytes a caller wrote through the stream go first,
   and a file whose write already failed takes no more (the error is sticky,
   so a long run of buffered appends stops at the next call). */
static int sync_stream(bl_atomic_file *f)
{
    if (f->failed_errno || (f->stream_used && fflush(f->fp) != 0))
        return -1;
    return 0;
}

static int append(bl_atomic_file *f, const void *p, size_t n)
{
    if (n <= OUT_BUF - f->len) {
        memcpy(f->buf + f->len, p, n);
        f->len += n;
        return 0;
    }
    if (flush_buf(f) != 0)
        return -1;
    if (n >= OUT_BUF / 2) /* large pieces (the .ble's blocks) skip the copy */
        return raw_write(f, p, n);
    memcpy(f->buf, p, n);
    f->len = n;
    return 0;
}

bl_status bl_atomic_write(bl_atomic_file *f, const void *p, size_t n, bl_error *err)
{
    if (sync_stream(f) != 0 || append(f, p, n) != 0)
        return write_failed(f, err);
    return BL_OK;
}

bl_status bl_atomic_printf(bl_atomic_file *f, bl_error *err, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (r < 0)
        return write_failed(f, err);
    char *text = small;
    if ((size_t)r >= sizeof small) {
        text = malloc((size_t)r + 1);
        if (!text)
            return bl_fail(err, BL_ENOMEM, "out of memory");
        va_start(ap, fmt);
        vsnprintf(text, (size_t)r + 1, fmt, ap);
        va_end(ap);
    }
    bl_status st = bl_atomic_write(f, text, (size_t)r, err);
    if (text != small)
        free(text);
    return st;
}

void bl_atomic_abort(bl_atomic_file *f)
{
    if (!f)
        return;
    if (f->fp)
        fclose(f->fp); /* flush errors are irrelevant: the file is discarded */
    stop_sync(f);
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmp_path)
        unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->path);
    free(f->buf);
    free(f);
}

static void fsync_dir(const char *path)
{
    char *d = dir_of(path);
    if (!d)
        return;
    int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: some filesystems refuse fsync on directories */
        close(dfd);
    }
    free(d);
}

bl_status bl_atomic_commit(bl_atomic_file *f, bl_error *err)
{
    if (!f)
        return bl_fail(err, BL_EMISUSE, "commit of a NULL output");
    bl_status st = BL_OK;
    if (fflush(f->fp) != 0 || ferror(f->fp) || flush_buf(f) != 0 || f->failed_errno)
        st = write_failed(f, err);
    fclose(f->fp);
    f->fp = NULL;
    /* The helper's error counts: the kernel reports a writeback error to
       one fsync of the file, which may have been the helper's. */
    int sync_err = stop_sync(f);
    if (st == BL_OK && sync_err)
        st = bl_fail_at(err, BL_EIO, f->path, -1, -1, NULL, "fsync failed: %s", strerror(sync_err));
    if (st == BL_OK && fsync(f->fd) != 0)
        st = bl_fail_at(err, BL_EIO, f->path, -1, -1, NULL, "fsync failed: %s", strerror(errno));
    if (close(f->fd) != 0 && st == BL_OK)
        st = bl_fail_at(err, BL_EIO, f->path, -1, -1, NULL, "close failed: %s", strerror(errno));
    f->fd = -1;
    if (st == BL_OK && rename(f->tmp_path, f->path) != 0)
        st = bl_fail_at(err, BL_EIO, f->path, -1, -1, NULL, "rename failed: %s", strerror(errno));
    if (st != BL_OK) {
        bl_atomic_abort(f);
        return st;
    }
    fsync_dir(f->path);
    free(f->tmp_path);
    f->tmp_path = NULL;
    free(f->path);
    free(f->buf);
    free(f);
    return BL_OK;
}

bl_status bl_read_file(const char *path, size_t max_bytes, char **data, size_t *len, bl_error *err)
{
    *data = NULL;
    if (len)
        *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "cannot open: %s", strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(fp);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max_bytes) {
                free(buf);
                fclose(fp);
                return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "file larger than %zu bytes",
                                  max_bytes);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(fp);
                return bl_fail(err, BL_ENOMEM, "out of memory");
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, fp);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "read failed");
    }
    if (n > max_bytes) {
        free(buf);
        return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "file larger than %zu bytes", max_bytes);
    }
    buf[n] = '\0';
    *data = buf;
    if (len)
        *len = n;
    return BL_OK;
}

bl_status bl_write_file_atomic(const char *path, const void *data, size_t len, bl_error *err)
{
    bl_atomic_file *f;
    bl_status st = bl_atomic_open(path, &f, err);
    if (st != BL_OK)
        return st;
    st = bl_atomic_write(f, data, len, err);
    if (st != BL_OK) {
        bl_atomic_abort(f);
        return st;
    }
    return bl_atomic_commit(f, err);
}

/* Bytes that end a plain CSV field: NUL (the end) and the four that force
   quoting.  One table lookup per byte finds both while copying, in a single
   pass; on the encoder's content rows (8 short fields, a third of them
   quoted) this writes a row in about 230 cycles against about 370 for
   strcspn plus stdio calls per field (best of 30, tmpfs). */
static const uint8_t csv_stop[256] = {[0] = 1, [','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1};

/* Slow path of one field: quoted (doubling quotes) if it holds a separator,
   quote, CR or LF, else plain; through append, so any length fits. */
static int csv_field_slow(bl_atomic_file *f, const char *s)
{
    size_t plain = strcspn(s, ",\"\r\n");
    if (!s[plain])
        return append(f, s, plain);
    if (append(f, "\"", 1) != 0)
        return -1;
    for (const char *p = s; *p;) {
        size_t run = strcspn(p, "\"");
        if (append(f, p, run) != 0)
            return -1;
        p += run;
        if (*p == '"') {
            if (append(f, "\"\"", 2) != 0)
                return -1;
            p++;
        }
    }
    return append(f, "\"", 1);
}

/* One field and its terminator (',' or, for the last, '\n'). */
static int csv_field(bl_atomic_file *f, const char *s, int last)
{
    if (!s)
        s = "";
    /* Fast path, in the buffer's free space (two bytes kept for a closing
       quote and the terminator): copy while scanning; at a byte that needs
       quoting, shift the plain prefix up one for the opening quote and go on
       copying, doubling quotes.  Only a full buffer falls back to the slow
       path, which then starts the field afresh (nothing of it is kept). */
    char *start = f->buf + f->len, *o = start, *end = f->buf + OUT_BUF - 2;
    const unsigned char *p = (const unsigned char *)s;
    /* Four bytes a step while four fit (one room check per step, not per
       byte: 98 against 119 cycles a row), then byte by byte. */
    for (;;) {
        if (end - o < 4) {
            while (o < end && !csv_stop[*p])
                *o++ = (char)*p++;
            break;
        }
        if (csv_stop[p[0]])
            break;
        o[0] = (char)p[0];
        if (csv_stop[p[1]]) {
            o += 1, p += 1;
            break;
        }
        o[1] = (char)p[1];
        if (csv_stop[p[2]]) {
            o += 2, p += 2;
            break;
        }
        o[2] = (char)p[2];
        if (csv_stop[p[3]]) {
            o += 3, p += 3;
            break;
        }
        o[3] = (char)p[3];
        o += 4, p += 4;
    }
    if (o < end && *p) {
        memmove(start + 1, start, (size_t)(o - start));
        *start = '"';
        o++;
        for (unsigned char c; o < end && (c = *p) != 0; p++) {
            if (c == '"')
                *o++ = '"';
            *o++ = (char)c; /* o < end before: at most end + 1 after */
        }
        if (o < end && !*p)
            *o++ = '"'; /* o <= end now: the terminator still fits */
        else
            o = NULL;
    }
    if (o && o <= end && !*p) {
        *o++ = last ? '\n' : ',';
        f->len = (size_t)(o - f->buf);
        return 0;
    }
    if (csv_field_slow(f, s) != 0)
        return -1;
    return append(f, last ? "\n" : ",", 1);
}

bl_status bl_csv_write_field(bl_atomic_file *f, const char *s, int last, bl_error *err)
{
    if (sync_stream(f) != 0 || csv_field(f, s, last) != 0)
        return write_failed(f, err);
    return BL_OK;
}

bl_status bl_csv_write_fields(bl_atomic_file *f, const char *const *fields, size_t n, int last,
                              bl_error *err)
{
    if (sync_stream(f) != 0)
        return write_failed(f, err);
    for (size_t i = 0; i < n; i++)
        if (csv_field(f, fields[i], last && i + 1 == n) != 0)
            return write_failed(f, err);
    return BL_OK;
}

void bl_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
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

int bl_unhex(const char *in, uint8_t *out, size_t n)
{
    if (strlen(in) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)in[2 * i]), lo = hexval((unsigned char)in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

bl_status bl_sha256_file(const char *path, char *hex65, bl_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "cannot open: %s", strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        fclose(fp);
        return bl_fail_openssl(err, "SHA-256");
    }
    unsigned char buf[1 << 16];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, fp)) > 0)
        EVP_DigestUpdate(ctx, buf, r);
    int bad = ferror(fp);
    fclose(fp);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (bad)
        return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "read failed");
    bl_hex(md, 32, hex65);
    return BL_OK;
}
