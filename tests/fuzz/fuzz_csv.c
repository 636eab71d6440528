/*
 * fuzz_csv.c - fuzz target for the streaming CSV reader.
 *
 * The reader takes a path (it streams through zlib), so each input is written
 * to a temporary file and read to the end twice: as plain comma-separated
 * text, and as ';'-separated with skip_initial_space.  Inputs that start with
 * the gzip magic reach the decompression path too.  Besides "no crash, no
 * leak", the invariants below are checked, and a violation aborts so the
 * fuzzer keeps the input.
 *
 * Two builds from this one file:
 * - libFuzzer (no main here):
 *     clang -g -O1 -fsanitize=fuzzer,address,undefined -DBL_FUZZ_LIBFUZZER \
 *       -D_GNU_SOURCE -Ibuild -Iinclude -Ibuild/include -Ilib \
 *       tests/fuzz/fuzz_csv.c lib/csv.c lib/error.c -lz -lcrypto -o fuzz_csv
 *     ./fuzz_csv -max_len=4096 corpus-work/ tests/fuzz/corpus/csv/
 *   (configure with CC=clang --enable-sanitizers for the same flags in the
 *   regular build.)
 * - Regression driver (the default, built by `make check`): main() feeds
 *   each file named on the command line, or every file in a named
 *   directory, to the same entry point, so the seeds and every input that
 *   once crashed are replayed on each build (tests/fuzz/replay.sh).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bloomlink.h"
#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                        \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz_csv: invariant failed at %s:%d: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                                      \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

static void read_all(const char *path, char sep, int skip, size_t size, size_t line_ends)
{
    bl_error err;
    bl_error_clear(&err);
    bl_csv_reader *r = NULL;
    bl_status st = bl_csv_open(path, sep, skip, &r, &err);
    FUZZ_ASSERT(st == BL_OK && r != NULL);

    long long count = 0;
    long last_line = 0;
    for (;;) {
        char **fields = (char **)&count; /* must be overwritten on every path */
        size_t n = 12345;
        st = bl_csv_next(r, &fields, &n, &err);
        if (st != BL_OK) {
            FUZZ_ASSERT(fields == NULL && n == 0);
            FUZZ_ASSERT(err.code == (int)st);
            FUZZ_ASSERT(st == BL_EPARSE || st == BL_EIO || st == BL_ENOMEM);
            FUZZ_ASSERT(err.text[0] != '\0');
            FUZZ_ASSERT(strcmp(err.source, path) == 0);
            FUZZ_ASSERT(err.line == -1 || (err.line >= 1 && (size_t)err.line <= line_ends + 1));
            /* the reader refuses to go on, and the first error stays */
            bl_error again;
            bl_error_clear(&again);
            FUZZ_ASSERT(bl_csv_next(r, &fields, &n, &again) == st);
            break;
        }
        if (!fields) {
            FUZZ_ASSERT(n == 0);
            FUZZ_ASSERT(bl_csv_next(r, &fields, &n, &err) == BL_OK && fields == NULL);
            break;
        }
        count++;
        FUZZ_ASSERT(n >= 1 && n <= BL_CSV_MAX_FIELDS);
        /* every record consumes at least one input byte */
        FUZZ_ASSERT((size_t)count <= size);
        FUZZ_ASSERT(bl_csv_record(r) == count);
        long line = bl_csv_line(r);
        FUZZ_ASSERT(line > last_line && (size_t)line <= line_ends + 1);
        last_line = line;
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
            FUZZ_ASSERT(fields[i] != NULL);
            total += strlen(fields[i]) + 1; /* walks every byte under ASan */
        }
        FUZZ_ASSERT(total <= BL_CSV_MAX_RECORD_BYTES);
    }
    bl_csv_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *base = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/blfuzz_csv.XXXXXX", base && *base ? base : "/tmp");
    int fd = mkstemp(path);
    FUZZ_ASSERT(fd >= 0);
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w < 0 && errno == EINTR)
            continue;
        FUZZ_ASSERT(w > 0);
        off += (size_t)w;
    }
    FUZZ_ASSERT(close(fd) == 0);

    /* Line numbers are bounded by the line ends in the raw input; for gzip
       input the decompressed text may hold more, so bound only plain text. */
    size_t line_ends = 0;
    int gz = size >= 2 && data[0] == 0x1F && data[1] == 0x8B;
    for (size_t i = 0; i < size; i++)
        line_ends += data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'));
    if (gz)
        line_ends = (size_t)-2;

    read_all(path, ',', 0, gz ? (size_t)-1 : size, line_ends);
    read_all(path, ';', 1, gz ? (size_t)-1 : size, line_ends);
    unlink(path);
    return 0;
}

#ifndef BL_FUZZ_LIBFUZZER
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_csv: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "fuzz_csv: %s: cannot read\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    int inputs = 0, failures = 0;
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) != 0) {
            fprintf(stderr, "fuzz_csv: %s: %s\n", argv[a], strerror(errno));
            failures++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failures += replay_file(argv[a]) != 0;
            inputs++;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (!d) {
            fprintf(stderr, "fuzz_csv: %s: %s\n", argv[a], strerror(errno));
            failures++;
            continue;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[a], de->d_name);
            failures += replay_file(p) != 0;
            inputs++;
        }
        closedir(d);
    }
    printf("fuzz_csv: replayed %d inputs, %d unreadable\n", inputs, failures);
    return failures || inputs == 0 ? 1 : 0;
}
#endif
