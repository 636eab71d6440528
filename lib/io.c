/* io.c - atomic outputs, whole-file reads, hex and file hashing. */
#include "config.h"

#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

struct bl_atomic_file {
    char *path;     /* destination */
    char *tmp_path; /* where bytes go until commit */
    int fd;
    FILE *fp;       /* cookie stream over fd, so every write can be counted */
    uint64_t written;
    uint64_t fail_after; /* UINT64_MAX: no injected failure */
    int failed_errno;
};

static ssize_t cookie_write(void *c, const char *buf, size_t size)
{
    bl_atomic_file *f = c;
    size_t done = 0;
    while (done < size) {
        size_t n = size - done;
        if (f->fail_after != UINT64_MAX) {
            if (f->written >= f->fail_after) {
                f->failed_errno = ENOSPC;
                errno = ENOSPC;
                return done ? (ssize_t)done : -1;
            }
            if (n > f->fail_after - f->written)
                n = (size_t)(f->fail_after - f->written);
        }
        ssize_t w = write(f->fd, buf + done, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            f->failed_errno = errno;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)w;
        f->written += (uint64_t)w;
    }
    return (ssize_t)done;
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
    if (!f->path || !f->tmp_path) {
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

FILE *bl_atomic_stream(bl_atomic_file *f) { return f ? f->fp : NULL; }
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

bl_status bl_atomic_write(bl_atomic_file *f, const void *p, size_t n, bl_error *err)
{
    if (n && fwrite(p, 1, n, f->fp) != n)
        return write_failed(f, err);
    return BL_OK;
}

bl_status bl_atomic_printf(bl_atomic_file *f, bl_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f->fp, fmt, ap);
    va_end(ap);
    if (r < 0)
        return write_failed(f, err);
    return BL_OK;
}

void bl_atomic_abort(bl_atomic_file *f)
{
    if (!f)
        return;
    if (f->fp)
        fclose(f->fp); /* flush errors are irrelevant: the file is discarded */
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmp_path)
        unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->path);
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
    if (fflush(f->fp) != 0 || ferror(f->fp) || f->failed_errno)
        st = write_failed(f, err);
    fclose(f->fp);
    f->fp = NULL;
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

bl_status bl_csv_write_field(bl_atomic_file *f, const char *s, int last, bl_error *err)
{
    /* The unlocked calls: a file belongs to one handle, used by one thread at
       a time, and the lock per call was a visible share of encoding. */
    FILE *fp = f->fp;
    if (!s)
        s = "";
    size_t plain = strcspn(s, ",\"\r\n");
    if (s[plain]) {
        /* Quote, doubling embedded quotes; copy the runs between quotes whole. */
        fputc_unlocked('"', fp);
        for (const char *p = s; *p;) {
            size_t run = strcspn(p, "\"");
            fwrite_unlocked(p, 1, run, fp);
            p += run;
            if (*p == '"') {
                fputs_unlocked("\"\"", fp);
                p++;
            }
        }
        fputc_unlocked('"', fp);
    } else {
        fwrite_unlocked(s, 1, plain, fp);
    }
    if (fputc_unlocked(last ? '\n' : ',', fp) == EOF)
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
