/* check_csv.c - the streaming CSV reader: RFC 4180 quoting, line ends, BOM,
   gzip input, located errors, limits and bounded memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "csv.h"
#include "tests.h"

/* Each test writes its input into a fresh directory removed at teardown. */
static char *tmpdir;
static char path[4096];

static void setup(void)
{
    tmpdir = test_tmpdir();
    ck_assert_ptr_nonnull(tmpdir);
    snprintf(path, sizeof path, "%s/in.csv", tmpdir);
}

static void teardown(void)
{
    rm_rf(tmpdir);
    free(tmpdir);
    tmpdir = NULL;
}

static void write_bytes(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_text(const char *text) { write_bytes(path, text, strlen(text)); }

static bl_csv_reader *open_csv(char sep, int skip)
{
    bl_error err;
    bl_error_clear(&err);
    bl_csv_reader *r = NULL;
    ck_assert_int_eq(bl_csv_open(path, sep, skip, &r, &err), BL_OK);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* Read one record and compare it with the expected fields (NULL-terminated
   list) and start line. */
static void expect_record(bl_csv_reader *r, long line, const char *const *want)
{
    bl_error err;
    bl_error_clear(&err);
    char **f = NULL;
    size_t n = 99;
    ck_assert_int_eq(bl_csv_next(r, &f, &n, &err), BL_OK);
    ck_assert_ptr_nonnull(f);
    size_t k = 0;
    while (want[k])
        k++;
    ck_assert_uint_eq(n, k);
    for (size_t i = 0; i < k; i++)
        ck_assert_str_eq(f[i], want[i]);
    ck_assert_int_eq(bl_csv_line(r), line);
}

static void expect_end(bl_csv_reader *r)
{
    bl_error err;
    bl_error_clear(&err);
    char **f = (char **)1;
    size_t n = 99;
    ck_assert_int_eq(bl_csv_next(r, &f, &n, &err), BL_OK);
    ck_assert_ptr_null(f);
    ck_assert_uint_eq(n, 0);
}

#define REC(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Read until the first failure and return it in *err; records before it must
   read fine. */
static bl_status read_to_error(bl_csv_reader *r, bl_error *err)
{
    bl_error_clear(err);
    char **f;
    size_t n;
    for (;;) {
        bl_status st = bl_csv_next(r, &f, &n, err);
        if (st != BL_OK)
            return st;
        if (!f)
            return BL_OK;
    }
}

START_TEST(quoted_fields)
{
    write_text("id,name,note\n"
               "1,\"Smith, John\",\"said \"\"hi\"\"\nand left\"\n"
               "2,\"\",plain\n"
               "\"3\",\"a\r\nb\",\"\"\"\"\n");
    bl_csv_reader *r = open_csv(',', 0);
    ck_assert_int_eq(bl_csv_line(r), 0);
    expect_record(r, 1, REC("id", "name", "note"));
    expect_record(r, 2, REC("1", "Smith, John", "said \"hi\"\nand left"));
    /* the previous record spanned lines 2-3 */
    expect_record(r, 4, REC("2", "", "plain"));
    expect_record(r, 5, REC("3", "a\r\nb", "\""));
    ck_assert_int_eq(bl_csv_record(r), 4);
    expect_end(r);
    ck_assert_int_eq(bl_csv_record(r), 4);
    ck_assert_int_eq(bl_csv_line(r), 5);
    bl_csv_close(r);
}
END_TEST

START_TEST(line_ends)
{
    /* CR LF, then LF, then classic Mac bare CR, inside and outside quotes. */
    write_text("a,b\r\nc,d\ne,f\rg,\"h\ri\"\r\"j\nk\"\r\nlast\r");
    bl_csv_reader *r = open_csv(',', 0);
    expect_record(r, 1, REC("a", "b"));
    expect_record(r, 2, REC("c", "d"));
    expect_record(r, 3, REC("e", "f"));
    expect_record(r, 4, REC("g", "h\ri"));
    expect_record(r, 6, REC("j\nk"));
    expect_record(r, 8, REC("last"));
    expect_end(r);
    bl_csv_close(r);
}
END_TEST

START_TEST(bom_skipped)
{
    write_text("\xEF\xBB\xBFid,x\n1,\xEF\xBB\xBF\n");
    bl_csv_reader *r = open_csv(',', 0);
    expect_record(r, 1, REC("id", "x"));
    /* only a leading BOM is dropped; elsewhere U+FEFF is ordinary text */
    expect_record(r, 2, REC("1", "\xEF\xBB\xBF"));
    expect_end(r);
    bl_csv_close(r);

    write_text("\xEF\xBB\xBF");
    r = open_csv(',', 0);
    expect_end(r);
    bl_csv_close(r);

    write_text("\xEF\xBB\xBF\"q\"\n");
    r = open_csv(',', 0);
    expect_record(r, 1, REC("q"));
    bl_csv_close(r);
}
END_TEST

START_TEST(gzip_input)
{
    snprintf(path, sizeof path, "%s/in.csv.gz", tmpdir);
    gzFile gz = gzopen(path, "wb");
    ck_assert_ptr_nonnull(gz);
    ck_assert_int_gt(gzputs(gz, "nhs,name\n"), 0);
    for (int i = 0; i < 20000; i++)
        ck_assert_int_gt(gzprintf(gz, "%d,\"Name, %d\"\n", i, i), 0);
    ck_assert_int_eq(gzclose(gz), Z_OK);

    bl_csv_reader *r = open_csv(',', 0);
    expect_record(r, 1, REC("nhs", "name"));
    for (int i = 0; i < 20000; i++) {
        char a[16], b[32];
        snprintf(a, sizeof a, "%d", i);
        snprintf(b, sizeof b, "Name, %d", i);
        char **f;
        size_t n;
        /* plain comparisons: per-record ck_asserts would be slow in fork mode */
        if (bl_csv_next(r, &f, &n, NULL) != BL_OK || !f || n != 2 || strcmp(f[0], a) != 0 ||
            strcmp(f[1], b) != 0 || bl_csv_line(r) != i + 2)
            ck_abort_msg("record %d read wrongly", i);
    }
    expect_end(r);
    ck_assert_int_eq(bl_csv_record(r), 20001);
    bl_csv_close(r);
}
END_TEST

START_TEST(gzip_corrupt)
{
    /* A valid stream, then a truncated copy and one with a flipped byte. */
    char gzpath[4096];
    snprintf(gzpath, sizeof gzpath, "%s/ok.gz", tmpdir);
    gzFile gz = gzopen(gzpath, "wb");
    ck_assert_ptr_nonnull(gz);
    for (int i = 0; i < 2000; i++)
        ck_assert_int_gt(gzprintf(gz, "%d,value %d\n", i, i * 7), 0);
    ck_assert_int_eq(gzclose(gz), Z_OK);
    FILE *f = fopen(gzpath, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char buf[65536];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_uint_gt(len, 100);

    bl_error err;
    write_bytes(path, buf, len / 2);
    bl_csv_reader *r = open_csv(',', 0);
    ck_assert_int_eq(read_to_error(r, &err), BL_EPARSE);
    ck_assert_str_eq(err.source, path);
    ck_assert_ptr_nonnull(strstr(err.text, "gzip"));
    /* zlib's "<fd:N>: " prefix is noise next to err.source */
    ck_assert_ptr_null(strstr(err.text, "<fd:"));
    bl_csv_close(r);

    buf[len / 2] ^= 0x55;
    write_bytes(path, buf, len);
    r = open_csv(',', 0);
    ck_assert_int_eq(read_to_error(r, &err), BL_EPARSE);
    ck_assert_ptr_nonnull(strstr(err.text, "gzip"));
    bl_csv_close(r);
}
END_TEST

START_TEST(final_record_without_newline)
{
    write_text("a,b\nc,d");
    bl_csv_reader *r = open_csv(',', 0);
    expect_record(r, 1, REC("a", "b"));
    expect_record(r, 2, REC("c", "d"));
    expect_end(r);
    bl_csv_close(r);

    /* a trailing separator still makes an empty last field */
    write_text("a,b,");
    r = open_csv(',', 0);
    expect_record(r, 1, REC("a", "b", ""));
    expect_end(r);
    bl_csv_close(r);

    write_text("x,\"quoted at EOF\"");
    r = open_csv(',', 0);
    expect_record(r, 1, REC("x", "quoted at EOF"));
    expect_end(r);
    bl_csv_close(r);
}
END_TEST

START_TEST(blank_lines_and_empty_file)
{
    write_text("");
    bl_csv_reader *r = open_csv(',', 0);
    expect_end(r);
    ck_assert_int_eq(bl_csv_record(r), 0);
    expect_end(r); /* end stays end */
    bl_csv_close(r);

    write_text("\n\na\n\r\n\rb\n\n\n");
    r = open_csv(',', 0);
    expect_record(r, 3, REC("a"));
    expect_record(r, 6, REC("b"));
    expect_end(r);
    ck_assert_int_eq(bl_csv_record(r), 2);
    bl_csv_close(r);

    /* a quoted empty value is a record, not a blank line */
    write_text("\"\"\n \n");
    r = open_csv(',', 0);
    expect_record(r, 1, REC(""));
    expect_record(r, 2, REC(" "));
    expect_end(r);
    bl_csv_close(r);
}
END_TEST

START_TEST(line_numbers_after_multiline_record)
{
    write_text("h1,h2\n\"one\ntwo\nthree\",x\ny,\"\r\n\"\nz,w\n");
    bl_csv_reader *r = open_csv(',', 0);
    expect_record(r, 1, REC("h1", "h2"));
    expect_record(r, 2, REC("one\ntwo\nthree", "x"));
    expect_record(r, 5, REC("y", "\r\n"));
    expect_record(r, 7, REC("z", "w"));
    expect_end(r);
    bl_csv_close(r);
}
END_TEST

START_TEST(skip_initial_space)
{
    write_text("rec_id, given_name, surname\nrec-1-org,  mia, \"smith, jr\",x\n");
    bl_csv_reader *r = open_csv(',', 1);
    expect_record(r, 1, REC("rec_id", "given_name", "surname"));
    expect_record(r, 2, REC("rec-1-org", "mia", "smith, jr", "x"));
    expect_end(r);
    bl_csv_close(r);

    /* without the flag the spaces are data, and a quote after them is literal */
    r = open_csv(',', 0);
    expect_record(r, 1, REC("rec_id", " given_name", " surname"));
    expect_record(r, 2, REC("rec-1-org", "  mia", " \"smith", " jr\"", "x"));
    bl_csv_close(r);

    /* leading spaces of a record and trailing spaces are always kept */
    write_text("  a , b \n");
    r = open_csv(',', 1);
    expect_record(r, 1, REC("  a ", "b "));
    bl_csv_close(r);
}
END_TEST

START_TEST(other_separators)
{
    write_text("a\tb c\t\"d\te\"\n");
    bl_csv_reader *r = open_csv('\t', 0);
    expect_record(r, 1, REC("a", "b c", "d\te"));
    bl_csv_close(r);

    write_text("a;b,c\n");
    r = open_csv(';', 0);
    expect_record(r, 1, REC("a", "b,c"));
    bl_csv_close(r);

    bl_error err;
    bl_error_clear(&err);
    bl_csv_reader *bad = (bl_csv_reader *)1;
    ck_assert_int_eq(bl_csv_open(path, '"', 0, &bad, &err), BL_EMISUSE);
    ck_assert_ptr_null(bad);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_csv_open(path, '\n', 0, &bad, &err), BL_EMISUSE);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_csv_open(path, (char)0xC3, 0, &bad, &err), BL_EMISUSE);
}
END_TEST

/* One malformed input per row: the error must name its line, field and
   nature. */
static const struct {
    const char *text;
    size_t len; /* 0: strlen(text) */
    long line;
    long column;
    const char *needle; /* expected in err.text */
    long long position; /* byte offset of the culprit, -1 where not reported */
} bad_inputs[] = {
    {"a,b\nc,\"d\ne\nf\n", 0, 2, 2, "unterminated", -1},
    /* the quote opens on line 2 of a record that starts on line 1 */
    {"\"x\ny\",\"z\n\n", 0, 2, 2, "record starts on line 1", -1},
    {"a,b\n\"c\"d,e\n", 0, 2, 1, "'d' after a closing quote", 7},
    {"a\n\"m\nn\",\"o\"  ,p\n", 0, 2, 2, "(on line 3)", 11},
    {"a,b\nc,\xFF\n", 0, 2, 2, "invalid UTF-8 at byte 1", -1},
    {"a,b\nc,ok\xC0\xAF\n", 0, 2, 2, "invalid UTF-8 at byte 3", -1},   /* overlong '/' */
    {"x\n\"\xED\xA0\x80\"\n", 0, 2, 1, "invalid UTF-8", -1},            /* surrogate */
    {"x\ny,\xF4\x90\x80\x80\n", 0, 2, 2, "invalid UTF-8", -1},          /* > U+10FFFF */
    {"x\ny,caf\xC3\n", 0, 2, 2, "invalid UTF-8", -1},                   /* truncated */
    {"a,b\nc,d\0e\n", 10, 2, 2, "NUL byte", 7},
    {"a\n\"p\nq\0\"\n", 9, 2, 1, "NUL byte in field (on line 3)", 6},
};

START_TEST(errors_name_the_line)
{
    const char *text = bad_inputs[_i].text;
    size_t len = bad_inputs[_i].len ? bad_inputs[_i].len : strlen(text);
    write_bytes(path, text, len);
    bl_csv_reader *r = open_csv(',', 0);
    bl_error err;
    ck_assert_int_eq(read_to_error(r, &err), BL_EPARSE);
    ck_assert_int_eq(err.code, BL_EPARSE);
    ck_assert_int_eq(err.line, bad_inputs[_i].line);
    ck_assert_int_eq(err.column, bad_inputs[_i].column);
    char field[32];
    snprintf(field, sizeof field, "column %ld", bad_inputs[_i].column);
    ck_assert_str_eq(err.field, field);
    ck_assert_str_eq(err.source, path);
    ck_assert_msg(strstr(err.text, bad_inputs[_i].needle) != NULL, "text '%s' lacks '%s'", err.text,
                  bad_inputs[_i].needle);
    ck_assert_int_eq(err.position, bad_inputs[_i].position);

    /* the reader stays failed; the first error survives in err */
    char **f = (char **)1;
    size_t n = 7;
    ck_assert_int_eq(bl_csv_next(r, &f, &n, &err), BL_EPARSE);
    ck_assert_ptr_null(f);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(err.line, bad_inputs[_i].line);
    bl_csv_close(r);
}
END_TEST

START_TEST(valid_utf8_accepted)
{
    write_text("Zo\xC3\xAB,\xE2\x82\xAC,\xF0\x9F\x98\x80,\xEF\xBF\xBF,\xF4\x8F\xBF\xBF\n");
    bl_csv_reader *r = open_csv(',', 0);
    expect_record(r, 1, REC("Zo\xC3\xAB", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBF\xBF",
                            "\xF4\x8F\xBF\xBF"));
    bl_csv_close(r);
}
END_TEST

START_TEST(open_failures)
{
    bl_error err;
    bl_error_clear(&err);
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/no-such.csv", tmpdir);
    bl_csv_reader *r = (bl_csv_reader *)1;
    ck_assert_int_eq(bl_csv_open(missing, ',', 0, &r, &err), BL_EIO);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(err.source, missing);
    ck_assert_ptr_nonnull(strstr(err.text, strerror(ENOENT)));

    bl_error_clear(&err);
    ck_assert_int_eq(bl_csv_open(tmpdir, ',', 0, &r, &err), BL_EIO);
    ck_assert_ptr_nonnull(strstr(err.text, strerror(EISDIR)));

    /* NULL err is allowed */
    ck_assert_int_eq(bl_csv_open(missing, ',', 0, &r, NULL), BL_EIO);
    bl_csv_close(NULL);
}
END_TEST

START_TEST(too_many_fields)
{
    size_t n = BL_CSV_MAX_FIELDS + 1;
    char *buf = malloc(2 * n + 8);
    ck_assert_ptr_nonnull(buf);
    size_t len = 0;
    len += (size_t)snprintf(buf, 8, "ok\n");
    for (size_t i = 0; i < n; i++) {
        buf[len++] = 'x';
        buf[len++] = i + 1 < n ? ',' : '\n';
    }
    write_bytes(path, buf, len);
    bl_csv_reader *r = open_csv(',', 0);
    bl_error err;
    ck_assert_int_eq(read_to_error(r, &err), BL_EPARSE);
    ck_assert_int_eq(err.line, 2);
    ck_assert_ptr_nonnull(strstr(err.text, "record too long"));
    bl_csv_close(r);

    /* exactly at the limit is fine */
    write_bytes(path, buf, len - 3);
    r = open_csv(',', 0);
    expect_record(r, 1, REC("ok"));
    char **f;
    size_t nf;
    ck_assert_int_eq(bl_csv_next(r, &f, &nf, NULL), BL_OK);
    ck_assert_uint_eq(nf, BL_CSV_MAX_FIELDS);
    bl_csv_close(r);
    free(buf);
}
END_TEST

START_TEST(record_too_long)
{
    /* one quoted field a byte past the cap, so the unterminated-quote path
       cannot be what stops it */
    size_t big = BL_CSV_MAX_RECORD_BYTES;
    char *buf = malloc(big + 16);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, "a\n\"", 3);
    memset(buf + 3, 'y', big);
    memcpy(buf + 3 + big, "\"\n", 2);
    write_bytes(path, buf, big + 5);
    free(buf);
    bl_csv_reader *r = open_csv(',', 0);
    bl_error err;
    ck_assert_int_eq(read_to_error(r, &err), BL_EPARSE);
    ck_assert_int_eq(err.line, 2);
    ck_assert_ptr_nonnull(strstr(err.text, "record too long"));
    ck_assert_uint_le(bl_csv_debug_footprint(r), BL_CSV_MAX_RECORD_BYTES + 1024 * 1024);
    bl_csv_close(r);
}
END_TEST

/* Put the tricky byte pairs (CR LF, "" escapes, closing quote + separator)
   across the 64 KiB chunk boundary, at every offset of the tail. */
START_TEST(chunk_boundaries)
{
    size_t pad = 65536 - 22 + (size_t)_i;
    size_t cap = pad + 64;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 'p', pad);
    buf[pad - 1] = '\n';
    const char tail[] = "\"a\"\"b\",c\r\nd\r\"e\r\nf\"\r\n";
    memcpy(buf + pad, tail, sizeof tail - 1);
    write_bytes(path, buf, pad + sizeof tail - 1);
    bl_csv_reader *r = open_csv(',', 0);
    char **f;
    size_t n;
    ck_assert_int_eq(bl_csv_next(r, &f, &n, NULL), BL_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(strlen(f[0]), pad - 1);
    expect_record(r, 2, REC("a\"b", "c"));
    expect_record(r, 3, REC("d"));
    expect_record(r, 4, REC("e\r\nf"));
    expect_end(r);
    bl_csv_close(r);
    free(buf);
}
END_TEST

START_TEST(million_records_bounded_memory)
{
    const long count = 1000000;
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    static char iobuf[1 << 16];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    fputs("id,name,dob\n", f);
    for (long i = 0; i < count; i++)
        fprintf(f, "%ld,N%ld,%s\n", i, i % 977, i % 1000 == 0 ? "\"1 Jan, 1970\"" : "19700101");
    ck_assert_int_eq(fclose(f), 0);

    bl_csv_reader *r = open_csv(',', 0);
    char **fields;
    size_t n;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_csv_next(r, &fields, &n, &err), BL_OK);
    ck_assert_str_eq(fields[0], "id");
    size_t peak = 0;
    for (long i = 0; i < count; i++) {
        /* In fork mode every ck_assert leaves a checkpoint through a pipe,
           which would dominate the run: compare plainly, abort with detail. */
        if (bl_csv_next(r, &fields, &n, &err) != BL_OK)
            ck_abort_msg("record %ld: %s", i, err.text);
        char want[24];
        snprintf(want, sizeof want, "%ld", i);
        if (!fields || n != 3 || strcmp(fields[0], want) != 0 ||
            strcmp(fields[2], i % 1000 == 0 ? "1 Jan, 1970" : "19700101") != 0 ||
            bl_csv_line(r) != i + 2)
            ck_abort_msg("record %ld read wrongly (n=%zu, line %ld)", i, n, bl_csv_line(r));
        if (i % 65536 == 0) {
            size_t fp = bl_csv_debug_footprint(r);
            peak = fp > peak ? fp : peak;
        }
    }
    expect_end(r);
    ck_assert_int_eq(bl_csv_record(r), count + 1);
    /* about 20 MB of input; the reader holds one chunk and one short record */
    ck_assert_uint_lt(peak, 256 * 1024);
    bl_csv_close(r);
}
END_TEST

START_TEST(misuse)
{
    write_text("a\n");
    bl_csv_reader *r = open_csv(',', 0);
    bl_error err;
    bl_error_clear(&err);
    size_t n;
    ck_assert_int_eq(bl_csv_next(r, NULL, &n, &err), BL_EMISUSE);
    ck_assert_int_eq(bl_csv_next(NULL, NULL, NULL, NULL), BL_EMISUSE);
    bl_csv_close(r);
    ck_assert_int_eq(bl_csv_line(NULL), 0);
    ck_assert_int_eq(bl_csv_record(NULL), 0);
}
END_TEST

START_TEST(handles_counted)
{
    write_text("a\n");
    long before = bl_debug_live_handles();
    bl_csv_reader *r = open_csv(',', 0);
    ck_assert_int_eq(bl_debug_live_handles(), before + 1);
    bl_csv_close(r);
    ck_assert_int_eq(bl_debug_live_handles(), before);
}
END_TEST

Suite *suite_csv(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("read");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, quoted_fields);
    tcase_add_test(tc, line_ends);
    tcase_add_test(tc, bom_skipped);
    tcase_add_test(tc, gzip_input);
    tcase_add_test(tc, gzip_corrupt);
    tcase_add_test(tc, final_record_without_newline);
    tcase_add_test(tc, blank_lines_and_empty_file);
    tcase_add_test(tc, line_numbers_after_multiline_record);
    tcase_add_test(tc, skip_initial_space);
    tcase_add_test(tc, other_separators);
    tcase_add_loop_test(tc, errors_name_the_line, 0, (int)(sizeof bad_inputs / sizeof bad_inputs[0]));
    tcase_add_test(tc, valid_utf8_accepted);
    tcase_add_test(tc, open_failures);
    tcase_add_test(tc, misuse);
    tcase_add_test(tc, handles_counted);
    suite_add_tcase(s, tc);

    TCase *big = tcase_create("limits");
    tcase_add_checked_fixture(big, setup, teardown);
    tcase_set_timeout(big, 20);
    tcase_add_test(big, too_many_fields);
    tcase_add_test(big, record_too_long);
    tcase_add_loop_test(big, chunk_boundaries, 0, 30);
    tcase_add_test(big, million_records_bounded_memory);
    suite_add_tcase(s, big);
    return s;
}
