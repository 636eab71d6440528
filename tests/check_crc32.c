/* check_crc32.c - bl_crc32 against zlib's crc32, the function it replaces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "crc32.h"
#include "tests.h"

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

enum { BUF = 1 << 20 };

static uint8_t *random_buffer(uint64_t seed)
{
    uint8_t *b = malloc(BUF);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < BUF; i++)
        b[i] = (uint8_t)(mix(seed + i) >> 24);
    return b;
}

/* Each test runs once per kernel level the CPU has (_i: 0 zlib, 1
   PCLMULQDQ, 2 VPCLMULQDQ); a level the CPU lacks is skipped. */
static int use_level(int level)
{
    static const char *const names[] = {"zlib", "pclmulqdq", "vpclmulqdq"};
    if (level > bl_crc32_have_clmul()) {
        fprintf(stderr, "skip crc32 kernel %s: CPU lacks it\n", names[level]);
        return 0;
    }
    bl_crc32_use_clmul(level);
    return 1;
}

/* Every length 0..1100 (each tail length, around the 64- and 256-byte
   kernel minimums) at every offset 0..15, from zero and from a running CRC. */
START_TEST(crc32_short_lengths_all_offsets)
{
    if (!use_level(_i))
        return;
    uint8_t *b = random_buffer(1);
    for (size_t off = 0; off < 16; off++)
        for (size_t n = 0; n <= 1100; n++) {
            uint32_t seed = (uint32_t)mix(off * 1000 + n);
            ck_assert_uint_eq(bl_crc32(0, b + off, n), (uint32_t)crc32(0, b + off, (uInt)n));
            ck_assert_uint_eq(bl_crc32(seed, b + off, n), (uint32_t)crc32(seed, b + off, (uInt)n));
        }
    free(b);
    bl_crc32_use_clmul(2);
}
END_TEST

/* Random long lengths, offsets and seeds; and a CRC built in pieces. */
START_TEST(crc32_long_and_chained)
{
    if (!use_level(_i))
        return;
    uint8_t *b = random_buffer(2);
    for (int t = 0; t < 300; t++) {
        size_t off = mix(t) % 64, n = mix(t + 1000) % (BUF - 64);
        uint32_t seed = t % 2 ? (uint32_t)mix(t + 2000) : 0;
        ck_assert_uint_eq(bl_crc32(seed, b + off, n), (uint32_t)crc32(seed, b + off, (uInt)n));
    }
    uint32_t run = 0;
    size_t at = 0;
    for (int t = 0; at < BUF; t++) {
        size_t n = mix(t + 3000) % 5000;
        if (n > BUF - at)
            n = BUF - at;
        run = bl_crc32(run, b + at, n);
        at += n;
    }
    ck_assert_uint_eq(run, (uint32_t)crc32(0, b, BUF));
    /* All zeros and all ones: patterns random data would not hit. */
    memset(b, 0, 4096);
    ck_assert_uint_eq(bl_crc32(0, b, 4096), (uint32_t)crc32(0, b, 4096));
    memset(b, 0xff, 4096);
    ck_assert_uint_eq(bl_crc32(0, b, 4096), (uint32_t)crc32(0, b, 4096));
    /* The zlib-only path is the reference itself. */
    ck_assert_uint_eq(bl_crc32_zlib(7, b, 1000), (uint32_t)crc32(7, b, 1000));
    free(b);
    bl_crc32_use_clmul(2);
}
END_TEST

/* Known answer: CRC-32 of "123456789" is 0xCBF43926. */
START_TEST(crc32_check_value)
{
    char s[64 * 3 + 1];
    ck_assert_uint_eq(bl_crc32(0, "123456789", 9), 0xCBF43926u);
    for (int i = 0; i < 64 * 3; i++)
        s[i] = (char)('0' + i % 10);
    ck_assert_uint_eq(bl_crc32(0, s, sizeof s - 1), (uint32_t)crc32(0, (const Bytef *)s, sizeof s - 1));
}
END_TEST

Suite *suite_crc32(void)
{
    Suite *s = suite_create("crc32");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, crc32_short_lengths_all_offsets, 0, 3);
    tcase_add_loop_test(tc, crc32_long_and_chained, 0, 3);
    tcase_add_test(tc, crc32_check_value);
    suite_add_tcase(s, tc);
    return s;
}
