/* check_io.c - atomic outputs appear whole or not at all; hex helpers. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "tests.h"

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

START_TEST(commit_renames_abort_removes)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    bl_atomic_file *f;
    ck_assert_int_eq(bl_atomic_open(path, &f, NULL), BL_OK);
    ck_assert_int_eq(bl_atomic_printf(f, NULL, "hello %d\n", 42), BL_OK);
    ck_assert_int_ne(access(path, F_OK), 0); /* not visible before commit */
    ck_assert_int_eq(entries(dir), 1);        /* only the temp file */
    ck_assert_int_eq(bl_atomic_commit(f, NULL), BL_OK);
    char *data;
    size_t len;
    ck_assert_int_eq(bl_read_file(path, 1024, &data, &len, NULL), BL_OK);
    ck_assert_str_eq(data, "hello 42\n");
    free(data);
    struct stat st;
    stat(path, &st);
    ck_assert_int_eq(st.st_mode & 0777, 0600);

    ck_assert_int_eq(bl_atomic_open(path, &f, NULL), BL_OK);
    bl_atomic_printf(f, NULL, "replacement");
    bl_atomic_abort(f);
    ck_assert_int_eq(bl_read_file(path, 1024, &data, &len, NULL), BL_OK);
    ck_assert_str_eq(data, "hello 42\n"); /* the old file is untouched */
    free(data);
    ck_assert_int_eq(entries(dir), 1);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(enospc_leaves_nothing)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/big.bin", dir);
    bl_atomic_file *f;
    ck_assert_int_eq(bl_atomic_open(path, &f, NULL), BL_OK);
    bl_atomic_inject_enospc(f, 1000);
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    bl_error err;
    bl_error_clear(&err);
    /* Buffered writes may only fail at commit; either way commit must fail. */
    bl_status st = bl_atomic_write(f, buf, sizeof buf, &err);
    if (st == BL_OK)
        st = bl_atomic_commit(f, &err);
    else
        bl_atomic_abort(f);
    ck_assert_int_eq(st, BL_EIO);
    ck_assert_ptr_nonnull(strstr(err.text, "No space"));
    ck_assert_str_eq(err.source, path);
    ck_assert_int_eq(entries(dir), 0);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(read_file_limits_and_errors)
{
    char *data = NULL;
    size_t len;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_read_file("/nonexistent/x", 10, &data, &len, &err), BL_EIO);
    ck_assert_str_eq(err.source, "/nonexistent/x");
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/f", dir);
    ck_assert_int_eq(bl_write_file_atomic(path, "0123456789abcdef", 16, NULL), BL_OK);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_read_file(path, 8, &data, &len, &err), BL_EIO);
    ck_assert_ptr_nonnull(strstr(err.text, "larger"));
    ck_assert_int_eq(bl_read_file(path, 16, &data, &len, NULL), BL_OK);
    ck_assert_uint_eq(len, 16);
    free(data);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(hex_round_trip)
{
    uint8_t in[5] = {0x00, 0x01, 0xab, 0xff, 0x10}, out[5];
    char hex[11];
    bl_hex(in, 5, hex);
    ck_assert_str_eq(hex, "0001abff10");
    ck_assert_int_eq(bl_unhex("0001ABff10", out, 5), 0);
    ck_assert_mem_eq(in, out, 5);
    ck_assert_int_eq(bl_unhex("0001abff1", out, 5), -1);
    ck_assert_int_eq(bl_unhex("0001abff1g", out, 5), -1);
}
END_TEST

START_TEST(csv_field_quoting)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/q.csv", dir);
    bl_atomic_file *f;
    ck_assert_int_eq(bl_atomic_open(path, &f, NULL), BL_OK);
    ck_assert_int_eq(bl_csv_write_field(f, "plain", 0, NULL), BL_OK);
    ck_assert_int_eq(bl_csv_write_field(f, "a,b", 0, NULL), BL_OK);
    ck_assert_int_eq(bl_csv_write_field(f, "say \"hi\"", 0, NULL), BL_OK);
    ck_assert_int_eq(bl_csv_write_field(f, "line\nbreak", 1, NULL), BL_OK);
    ck_assert_int_eq(bl_atomic_commit(f, NULL), BL_OK);
    char *data;
    ck_assert_int_eq(bl_read_file(path, 1024, &data, NULL, NULL), BL_OK);
    ck_assert_str_eq(data, "plain,\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\"\n");
    free(data);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* The quoting rule, written the plain way: the reference the buffered
   writer is held to. */
static size_t ref_field(char *out, const char *s, int last)
{
    size_t n = 0;
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\r\n")) {
        out[n++] = '"';
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                out[n++] = '"';
            out[n++] = *p;
        }
        out[n++] = '"';
    } else {
        size_t l = strlen(s);
        memcpy(out + n, s, l);
        n += l;
    }
    out[n++] = last ? '\n' : ',';
    return n;
}

/* Random fields (short and long, plain and needing quotes, NULL and empty)
   through bl_csv_write_field and bl_csv_write_fields, crossing the writer's
   buffer boundary at many offsets; the file must equal the reference. */
START_TEST(csv_writer_matches_reference)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/r.csv", dir);
    bl_atomic_file *f;
    ck_assert_int_eq(bl_atomic_open(path, &f, NULL), BL_OK);
    size_t cap = 8u << 20, n = 0;
    char *want = malloc(cap);
    char *field = malloc(200000);
    static const char alphabet[] = "ab,\"\r\nxyz 09";
    uint32_t seed = 12345;
    const char *group[5];
    char *owned[5];
    for (int i = 0; i < 5; i++)
        owned[i] = malloc(200000);
    for (int row = 0; n < 4u << 20; row++) {
        int k = 1 + row % 5;
        for (int i = 0; i < k; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 8;
            size_t len = r % 97 == 0 ? 70000 + r % 5000 : r % 40; /* some longer than the buffer */
            int special = (r >> 4) % 3 == 0;
            for (size_t j = 0; j < len; j++) {
                seed = seed * 1103515245u + 12345u;
                unsigned c = seed >> 16;
                field[j] = special ? alphabet[c % (sizeof alphabet - 1)] : (char)('a' + c % 26);
            }
            field[len] = '\0';
            memcpy(owned[i], field, len + 1);
            group[i] = (r >> 10) % 17 == 0 ? NULL : owned[i];
        }
        int last = row % 3 != 0;
        if (row % 2) {
            ck_assert_int_eq(bl_csv_write_fields(f, group, (size_t)k, last, NULL), BL_OK);
        } else {
            for (int i = 0; i < k; i++)
                ck_assert_int_eq(bl_csv_write_field(f, group[i], last && i + 1 == k, NULL), BL_OK);
        }
        for (int i = 0; i < k; i++)
            n += ref_field(want + n, group[i], last && i + 1 == k);
        ck_assert_uint_lt(n, cap - 400000);
    }
    ck_assert_int_eq(bl_atomic_commit(f, NULL), BL_OK);
    char *data;
    size_t len;
    ck_assert_int_eq(bl_read_file(path, cap, &data, &len, NULL), BL_OK);
    ck_assert_uint_eq(len, n);
    ck_assert_mem_eq(data, want, n);
    free(data);
    free(want);
    free(field);
    for (int i = 0; i < 5; i++)
        free(owned[i]);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* Direct writes, printf and the stdio stream interleave in call order. */
START_TEST(stream_and_direct_writes_keep_order)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/o.txt", dir);
    bl_atomic_file *f;
    ck_assert_int_eq(bl_atomic_open(path, &f, NULL), BL_OK);
    ck_assert_int_eq(bl_atomic_write(f, "a", 1, NULL), BL_OK);
    FILE *fp = bl_atomic_stream(f);
    fputs("b", fp);
    ck_assert_int_eq(bl_csv_write_field(f, "c", 1, NULL), BL_OK);
    fputs("d", fp);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(bl_atomic_printf(f, NULL, "%s|%d", big, 7), BL_OK); /* longer than printf's stack buffer */
    fputs("e", fp);
    ck_assert_int_eq(bl_atomic_commit(f, NULL), BL_OK);
    char *data;
    size_t len;
    ck_assert_int_eq(bl_read_file(path, 1 << 16, &data, &len, NULL), BL_OK);
    ck_assert_uint_eq(len, 5 + sizeof big - 1 + 3);
    ck_assert(!memcmp(data, "abc\nd", 5));
    ck_assert(!memcmp(data + 5, big, sizeof big - 1));
    ck_assert_str_eq(data + 5 + sizeof big - 1, "|7e");
    free(data);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* ENOSPC on the buffered CSV path: a write or the commit fails, naming the
   file, and nothing is left behind. */
START_TEST(csv_enospc_names_file)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/c.csv", dir);
    bl_atomic_file *f;
    ck_assert_int_eq(bl_atomic_open(path, &f, NULL), BL_OK);
    bl_atomic_inject_enospc(f, 100000);
    bl_error err;
    bl_error_clear(&err);
    bl_status st = BL_OK;
    const char *row[3] = {"0123456789abcdef", "with,comma", "plain"};
    for (int i = 0; i < 20000 && st == BL_OK; i++)
        st = bl_csv_write_fields(f, row, 3, 1, &err);
    ck_assert_int_eq(st, BL_EIO); /* 600 kB cannot all sit in the buffer */
    ck_assert_ptr_nonnull(strstr(err.text, "No space"));
    ck_assert_str_eq(err.source, path);
    /* Later writes keep failing; commit fails too. */
    ck_assert_int_eq(bl_csv_write_field(f, "x", 1, NULL), BL_EIO);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_atomic_commit(f, &err), BL_EIO);
    ck_assert_str_eq(err.source, path);
    ck_assert_int_eq(entries(dir), 0);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* Files past the background-sync size (4 MiB): the helper thread runs
   while bytes are still appended, and commit, abort and a write error all
   end it cleanly (ASan builds check for leaks and races on the memory). */
START_TEST(big_files_sync_in_background)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/big.bin", dir);
    size_t piece = 1 << 20, total = 20 * piece;
    uint8_t *buf = malloc(piece);
    ck_assert_ptr_nonnull(buf);
    bl_atomic_file *f;
    ck_assert_int_eq(bl_atomic_open(path, &f, NULL), BL_OK);
    for (size_t off = 0; off < total; off += piece) {
        for (size_t i = 0; i < piece; i++)
            buf[i] = (uint8_t)((off + i) * 2654435761u >> 24);
        ck_assert_int_eq(bl_atomic_write(f, buf, piece, NULL), BL_OK);
        ck_assert_int_eq(bl_csv_write_field(f, "x,y", 1, NULL), BL_OK);
    }
    ck_assert_int_eq(bl_atomic_commit(f, NULL), BL_OK);
    char *data;
    size_t len;
    ck_assert_int_eq(bl_read_file(path, total * 2, &data, &len, NULL), BL_OK);
    ck_assert_uint_eq(len, total + 20 * 6);
    for (size_t off = 0, at = 0; off < total; off += piece) {
        for (size_t i = 0; i < piece; i++)
            buf[i] = (uint8_t)((off + i) * 2654435761u >> 24);
        ck_assert(!memcmp(data + at, buf, piece));
        at += piece;
        ck_assert(!memcmp(data + at, "\"x,y\"\n", 6));
        at += 6;
    }
    free(data);
    ck_assert_int_eq(entries(dir), 1);

    /* Abort with the helper running: nothing new is left. */
    ck_assert_int_eq(bl_atomic_open(path, &f, NULL), BL_OK);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(bl_atomic_write(f, buf, piece, NULL), BL_OK);
    bl_atomic_abort(f);
    ck_assert_int_eq(entries(dir), 1);

    /* A write error after the helper started: commit fails, naming the file. */
    ck_assert_int_eq(bl_atomic_open(path, &f, NULL), BL_OK);
    bl_atomic_inject_enospc(f, 9 * piece + 123);
    bl_error err;
    bl_error_clear(&err);
    bl_status st = BL_OK;
    for (int i = 0; i < 12 && st == BL_OK; i++)
        st = bl_atomic_write(f, buf, piece, &err);
    if (st == BL_OK)
        st = bl_atomic_commit(f, &err);
    else
        bl_atomic_abort(f);
    ck_assert_int_eq(st, BL_EIO);
    ck_assert_str_eq(err.source, path);
    ck_assert_int_eq(entries(dir), 1);
    free(buf);
    rm_rf(dir);
    free(dir);
}
END_TEST

Suite *suite_io(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, commit_renames_abort_removes);
    tcase_add_test(tc, enospc_leaves_nothing);
    tcase_add_test(tc, read_file_limits_and_errors);
    tcase_add_test(tc, hex_round_trip);
    tcase_add_test(tc, csv_field_quoting);
    tcase_add_test(tc, csv_writer_matches_reference);
    tcase_add_test(tc, stream_and_direct_writes_keep_order);
    tcase_add_test(tc, csv_enospc_names_file);
    tcase_add_test(tc, big_files_sync_in_background);
    suite_add_tcase(s, tc);
    return s;
}
