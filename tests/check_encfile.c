/* check_encfile.c - .ble round trips and rejection of damaged files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "encfile.h"
#include "huffman.h"
#include "tests.h"

static const char *const fnames[] = {"a", "b"};
static const uint32_t fbits[] = {128, 64};
static const uint8_t ftypes[] = {BL_FIELD_NAME, BL_FIELD_SEX};
static const char *const knames[] = {"k1"};
static const bl_encfile_layout layout = {2, fnames, fbits, ftypes, 256, 1, knames, NULL, NULL};

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Record i's content is a pure function of i. */
static void make_record(uint64_t i, uint8_t token[16], uint64_t words[7], uint64_t *key, bl_record_view *v,
                        const uint64_t *ptrs[2])
{
    for (int b = 0; b < 16; b++)
        token[b] = (uint8_t)(mix(i * 31 + (uint64_t)b) & 0xff);
    for (int w = 0; w < 7; w++)
        words[w] = mix(i * 7 + (uint64_t)w);
    *key = mix(i ^ 0xabc);
    ptrs[0] = words;
    ptrs[1] = words + 2;
    v->token = token;
    v->present = (uint32_t)(i & 3);
    v->fields = ptrs;
    v->clk = words + 3;
    v->blocking_keys = key;
    v->sex = (uint8_t)(i % 3);
    v->age_band = (uint8_t)(i % 11);
    v->cohort = (uint16_t)(i * 2654435761u >> 16);
}

static void write_file_n(const char *path, uint64_t n)
{
    bl_encfile_writer *w;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_encfile_writer_open(path, "gp", "sfp", "kfp", &layout, &w, &err), BL_OK);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t token[16];
        uint64_t words[7], key;
        const uint64_t *ptrs[2];
        bl_record_view v;
        make_record(i, token, words, &key, &v, ptrs);
        ck_assert_int_eq(bl_encfile_writer_add(w, &v, &err), BL_OK);
    }
    ck_assert_int_eq(bl_encfile_writer_close(w, &err), BL_OK);
}

static bl_status read_all(const char *path, uint64_t *count, bl_error *err)
{
    bl_encfile_reader *r;
    *count = 0;
    bl_status st = bl_encfile_open(path, &r, err);
    if (st != BL_OK)
        return st;
    const bl_record_view *rec;
    while ((st = bl_encfile_next(r, &rec, err)) == BL_OK && rec)
        (*count)++;
    bl_encfile_close(r);
    return st;
}

START_TEST(round_trip)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/x.ble", dir);
    uint64_t n = BL_BLE_BLOCK_RECORDS * 2 + 17; /* several blocks and a partial one */
    write_file_n(path, n);
    bl_encfile_reader *r;
    ck_assert_int_eq(bl_encfile_open(path, &r, NULL), BL_OK);
    const bl_encfile_info *h = bl_encfile_header(r);
    ck_assert_str_eq(h->source, "gp");
    ck_assert_str_eq(h->schema_fingerprint, "sfp");
    ck_assert_uint_eq(h->record_count, n);
    ck_assert_uint_eq(h->field_count, 2);
    ck_assert_str_eq(h->field_names[1], "b");
    ck_assert_uint_eq(h->field_bits[0], 128);
    ck_assert_uint_eq(h->clk_bits, 256);
    ck_assert_str_eq(h->blocking_key_names[0], "k1");
    const bl_record_view *rec;
    for (uint64_t i = 0; i < n; i++) {
        ck_assert_int_eq(bl_encfile_next(r, &rec, NULL), BL_OK);
        ck_assert_ptr_nonnull(rec);
        uint8_t token[16];
        uint64_t words[7], key;
        const uint64_t *ptrs[2];
        bl_record_view v;
        make_record(i, token, words, &key, &v, ptrs);
        ck_assert_mem_eq(rec->token, token, 16);
        ck_assert_uint_eq(rec->present, v.present);
        ck_assert_mem_eq(rec->fields[0], words, 16);
        ck_assert_mem_eq(rec->fields[1], words + 2, 8);
        ck_assert_mem_eq(rec->clk, words + 3, 32);
        ck_assert_uint_eq(rec->blocking_keys[0], key);
        ck_assert_uint_eq(rec->sex, v.sex);
        ck_assert_uint_eq(rec->age_band, v.age_band);
        ck_assert_uint_eq(rec->cohort, v.cohort);
    }
    ck_assert_int_eq(bl_encfile_next(r, &rec, NULL), BL_OK);
    ck_assert_ptr_null(rec);
    bl_encfile_close(r);
    rm_rf(dir);
    free(dir);
}
END_TEST

static void damage(const char *src, const char *dst, long offset, int truncate_at, int append)
{
    FILE *f = fopen(src, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 8);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    if (offset >= 0)
        buf[offset] ^= 0x01;
    if (truncate_at >= 0)
        n = truncate_at;
    if (append) {
        memcpy(buf + n, "junk", 4);
        n += 4;
    }
    f = fopen(dst, "wb");
    fwrite(buf, 1, (size_t)n, f);
    fclose(f);
    free(buf);
}

START_TEST(damaged_files_rejected)
{
    char *dir = test_tmpdir();
    char good[4096], bad[4096];
    snprintf(good, sizeof good, "%s/g.ble", dir);
    snprintf(bad, sizeof bad, "%s/b.ble", dir);
    write_file_n(good, BL_BLE_BLOCK_RECORDS + 5);
    struct stat st;
    stat(good, &st);
    long size = (long)st.st_size;
    struct {
        long flip;
        int trunc, append;
        int code;
        const char *text;
    } cases[] = {
        {0, -1, 0, BL_EFORMAT, "bad magic"},
        {8, -1, 0, BL_EFORMAT, "version"},
        {20, -1, 0, BL_ECHECKSUM, "header checksum"},
        {size / 2, -1, 0, BL_ECHECKSUM, ""},
        {-1, (int)(size / 2), 0, BL_ECHECKSUM, ""},
        {-1, (int)(size - 1), 0, BL_ECHECKSUM, "end marker"},
        {-1, 12, 0, BL_ECHECKSUM, "truncated"},
        {size - 20, -1, 0, BL_ECHECKSUM, ""},
        {-1, -1, 1, BL_ECHECKSUM, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        damage(good, bad, cases[i].flip, cases[i].trunc, cases[i].append);
        bl_error err;
        bl_error_clear(&err);
        uint64_t count;
        bl_status s = read_all(bad, &count, &err);
        ck_assert_msg(s == (bl_status)cases[i].code, "case %zu: status %d (%s), want %d", i, s, err.text,
                      cases[i].code);
        ck_assert_msg(strstr(err.text, cases[i].text), "case %zu: '%s' lacks '%s'", i, err.text, cases[i].text);
        ck_assert_str_eq(err.source, bad);
    }
    uint64_t count;
    ck_assert_int_eq(read_all(good, &count, NULL), BL_OK);
    ck_assert_uint_eq(count, BL_BLE_BLOCK_RECORDS + 5);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(empty_file_round_trip)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/e.ble", dir);
    write_file_n(path, 0);
    uint64_t count = 99;
    ck_assert_int_eq(read_all(path, &count, NULL), BL_OK);
    ck_assert_uint_eq(count, 0);
    rm_rf(dir);
    free(dir);
}
END_TEST

/*
 * The writer codes each deflate block as soon as its records are in.  With
 * 48-byte records a full .ble block is four deflate blocks of exactly 1024
 * records, so partial blocks of 1024, 2048 or 3072 records end right at a
 * deflate block (and need an empty final one); other counts end inside
 * one.  Every count must read back record for record, and every full
 * block's stream must be the one bl_huffman_zlib writes for its bytes.
 */
static const uint32_t one_bits[] = {128};
static const bl_encfile_layout small = {1, fnames, one_bits, ftypes, 0, 1, knames, NULL, NULL};

static void small_record(uint64_t i, uint8_t rec[48])
{
    for (int b = 0; b < 48; b++)
        rec[b] = (uint8_t)(mix(i * 48 + (uint64_t)b) >> (b % 5 ? 0 : 61)); /* some skew */
    memset(rec + 16, 0, 8);
    rec[16] = (uint8_t)(i & 1);
    rec[20] = (uint8_t)(i % 3);
}

START_TEST(deflate_blocks_as_records_arrive)
{
    static const uint64_t counts[] = {1, 1023, 1024, 1025, 2048, 3072, 4095, 4096, 4097, 5120, 8192};
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/s.ble", dir);
    ck_assert_uint_eq(bl_encfile_record_bytes(&small), 48);
    uint8_t *raw = malloc(48 * 4096);
    size_t zcap = bl_huffman_zlib_bound(48 * 4096);
    uint8_t *z = malloc(zcap), *file = malloc(1 << 22);
    ck_assert(raw && z && file);
    for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
        uint64_t n = counts[t];
        bl_encfile_writer *w;
        ck_assert_int_eq(bl_encfile_writer_open(path, "gp", "", "", &small, &w, NULL), BL_OK);
        for (uint64_t i = 0; i < n; i++) {
            uint8_t rec[48];
            small_record(i, rec);
            const uint64_t *field[1] = {(const uint64_t *)(rec + 24)}; /* unaligned is fine: copied */
            uint32_t present;
            memcpy(&present, rec + 16, 4);
            bl_record_view v = {rec, present, field, NULL, (const uint64_t *)(rec + 40),
                                rec[20], rec[21], (uint16_t)(rec[22] | rec[23] << 8)};
            ck_assert_int_eq(bl_encfile_writer_add(w, &v, NULL), BL_OK);
        }
        ck_assert_int_eq(bl_encfile_writer_close(w, NULL), BL_OK);

        bl_encfile_reader *r;
        ck_assert_int_eq(bl_encfile_open(path, &r, NULL), BL_OK);
        const bl_record_view *got;
        for (uint64_t i = 0; i < n; i++) {
            uint8_t rec[48];
            small_record(i, rec);
            ck_assert_int_eq(bl_encfile_next(r, &got, NULL), BL_OK);
            ck_assert_ptr_nonnull(got);
            ck_assert_mem_eq(got->token, rec, 48); /* the reader's copy is the whole record */
        }
        ck_assert_int_eq(bl_encfile_next(r, &got, NULL), BL_OK);
        ck_assert_ptr_null(got);
        bl_encfile_close(r);

        /* Full blocks: the same stream as the one-shot coder. */
        FILE *f = fopen(path, "rb");
        size_t len = fread(file, 1, 1 << 22, f);
        fclose(f);
        uint32_t tl;
        memcpy(&tl, file + 12, 4);
        size_t at = 16 + tl + 4;
        for (uint64_t first = 0; first < n; first += 4096) {
            uint32_t nrec, raw_len, comp_len;
            ck_assert(at + 24 <= len && !memcmp(file + at, "BLK1", 4));
            memcpy(&nrec, file + at + 4, 4);
            memcpy(&raw_len, file + at + 8, 4);
            memcpy(&comp_len, file + at + 12, 4);
            ck_assert_uint_eq(nrec, n - first < 4096 ? n - first : 4096);
            ck_assert_uint_le(comp_len, compressBound(raw_len));
            if (nrec == 4096) {
                for (uint64_t i = 0; i < 4096; i++)
                    small_record(first + i, raw + 48 * i);
                size_t zlen;
                ck_assert_int_eq(bl_huffman_zlib(raw, raw_len, z, zcap, &zlen), BL_OK);
                ck_assert_uint_eq(zlen, comp_len);
                ck_assert(!memcmp(z, file + at + 24, zlen));
            }
            at += 24 + comp_len;
        }
        ck_assert(at + 32 == len && !memcmp(file + at, "BEND", 4));
    }
    free(raw);
    free(z);
    free(file);
    rm_rf(dir);
    free(dir);
}
END_TEST

Suite *suite_encfile(void)
{
    Suite *s = suite_create("encfile");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, damaged_files_rejected);
    tcase_add_test(tc, empty_file_round_trip);
    tcase_add_test(tc, deflate_blocks_as_records_arrive);
    suite_add_tcase(s, tc);
    return s;
}
