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

Suite *suite_io(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, commit_renames_abort_removes);
    tcase_add_test(tc, enospc_leaves_nothing);
    tcase_add_test(tc, read_file_limits_and_errors);
    tcase_add_test(tc, hex_round_trip);
    tcase_add_test(tc, csv_field_quoting);
    suite_add_tcase(s, tc);
    return s;
}
