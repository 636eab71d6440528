/* check_filter.c - Dice kernels: known answers, every available kernel
 * against an independent bit-by-bit reference (edge lengths, unaligned
 * pointers), exact threshold boundaries, and bl_dice_scan against a naive
 * loop.  Kernels this CPU lacks are skipped by name, and the test still
 * passes, so the suite runs on any x86-64 (or other) machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "filter.h"
#include "tests.h"

/* ------------------------------------------------------------ helpers */

/* splitmix64: deterministic, seedable, good enough to make test filters. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A word with each bit set with probability about permille / 1000. */
static uint64_t random_word(uint64_t *state, unsigned permille)
{
    if (permille >= 1000)
        return ~UINT64_C(0);
    uint64_t w = 0;
    for (int bit = 0; bit < 64; bit++)
        if (next_u64(state) % 1000 < permille)
            w |= UINT64_C(1) << bit;
    return w;
}

/* Reference popcount: one bit at a time, sharing no code with the kernels. */
static uint32_t ref_popcount(const uint64_t *a, size_t words)
{
    uint32_t c = 0;
    for (size_t i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, a + i, sizeof w);
        for (int bit = 0; bit < 64; bit++)
            c += (uint32_t)((w >> bit) & 1u);
    }
    return c;
}

static uint32_t ref_and_popcount(const uint64_t *a, const uint64_t *b, size_t words)
{
    uint32_t c = 0;
    for (size_t i = 0; i < words; i++) {
        uint64_t x, y;
        memcpy(&x, a + i, sizeof x);
        memcpy(&y, b + i, sizeof y);
        for (int bit = 0; bit < 64; bit++)
            c += (uint32_t)(((x & y) >> bit) & 1u);
    }
    return c;
}

/* x * y as a (hi, lo) pair of 64-bit halves, for x < 2^64, y < 2^32. */
static void mul_wide(uint64_t x, uint32_t y, uint64_t *hi, uint64_t *lo)
{
    uint64_t low = (x & 0xffffffffu) * y, high = (x >> 32) * y;
    *lo = low + (high << 32);
    *hi = (high >> 32) + (*lo < low);
}

/* Reference threshold with double-width products (independent of
   filter.h's rearrangement); two empty filters have Dice 0. */
static int ref_pass(uint32_t c, uint32_t pa, uint32_t pb, uint32_t num, uint32_t den)
{
    uint64_t s = (uint64_t)pa + pb;
    if (s == 0)
        return num == 0;
    uint64_t lh, ll, rh, rl;
    mul_wide(2 * (uint64_t)c, den, &lh, &ll);
    mul_wide(s, num, &rh, &rl);
    return lh > rh || (lh == rh && ll >= rl);
}

static const bl_kernel kernels[] = {BL_KERNEL_SCALAR, BL_KERNEL_AVX2, BL_KERNEL_AVX512};
static const size_t lengths[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 257};
#define NLENGTHS (sizeof lengths / sizeof lengths[0])

/* Force kernel k; returns 0 (after saying so on stderr) if the CPU lacks it. */
static int use_kernel(bl_kernel k)
{
    if (!bl_kernel_available(k)) {
        fprintf(stderr, "skip %s: CPU lacks %s\n", bl_kernel_name_of(k),
                k == BL_KERNEL_AVX512 ? "AVX-512 VPOPCNTDQ" : "AVX2");
        return 0;
    }
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_set_kernel(k, &err), BL_OK);
    ck_assert_str_eq(bl_kernel_name(), bl_kernel_name_of(k));
    return 1;
}

static void restore_auto(void)
{
    ck_assert_int_eq(bl_set_kernel(BL_KERNEL_AUTO, NULL), BL_OK);
}

/* Room for a filter of `words` words at a byte offset into a 64-aligned block. */
static uint64_t *alloc_words(size_t words, size_t byte_offset, void **block)
{
    *block = aligned_alloc(64, ((words * 8 + byte_offset + 64) / 64 + 1) * 64);
    ck_assert_ptr_nonnull(*block);
    return (uint64_t *)(void *)((char *)*block + byte_offset);
}

static void store_word(uint64_t *p, uint64_t w)
{
    memcpy(p, &w, sizeof w);
}

/* -------------------------------------------------------- known answers */

START_TEST(bit_helpers)
{
    ck_assert_uint_eq(bl_words(0), 0);
    ck_assert_uint_eq(bl_words(1), 1);
    ck_assert_uint_eq(bl_words(64), 1);
    ck_assert_uint_eq(bl_words(65), 2);
    ck_assert_uint_eq(bl_words(1024), 16);
    ck_assert_uint_eq(bl_words(SIZE_MAX), SIZE_MAX / 64 + 1);

    uint64_t f[3] = {0, 0, 0};
    bl_bit_set(f, 0);
    bl_bit_set(f, 63);
    bl_bit_set(f, 64);
    bl_bit_set(f, 130);
    bl_bit_set(f, 130); /* idempotent */
    ck_assert_uint_eq(f[0], UINT64_C(0x8000000000000001));
    ck_assert_uint_eq(f[1], 1);
    ck_assert_uint_eq(f[2], 4);
    ck_assert_int_eq(bl_bit_test(f, 0), 1);
    ck_assert_int_eq(bl_bit_test(f, 1), 0);
    ck_assert_int_eq(bl_bit_test(f, 63), 1);
    ck_assert_int_eq(bl_bit_test(f, 64), 1);
    ck_assert_int_eq(bl_bit_test(f, 129), 0);
    ck_assert_int_eq(bl_bit_test(f, 130), 1);
}
END_TEST

/* Folding maps bit p to p mod (bits/2) by XOR; balancing keeps the value
   and its complement, so with the identity permutation the halves are
   complementary. */
START_TEST(fold_and_balance_known_answers)
{
    uint64_t in[4] = {0x1ull, 0x0ull, 0x3ull, 0x8000000000000000ull}, out[4];
    out[2] = out[3] = 0x5a5a5a5a5a5a5a5aull; /* beyond the folded size: must survive */
    bl_filter_xor_fold(in, 256, 1, out);
    ck_assert(out[0] == 0x2ull && out[1] == 0x8000000000000000ull);
    ck_assert(out[2] == 0x5a5a5a5a5a5a5a5aull && out[3] == 0x5a5a5a5a5a5a5a5aull);
    out[1] = 0x5a5a5a5a5a5a5a5aull;
    bl_filter_xor_fold(in, 256, 2, out);
    ck_assert(out[0] == (0x2ull ^ 0x8000000000000000ull));
    ck_assert(out[1] == 0x5a5a5a5a5a5a5a5aull);
    uint32_t perm[256];
    for (uint32_t j = 0; j < 256; j++)
        perm[j] = j;
    uint64_t bal[4];
    bl_filter_balance(in, 128, perm, bal);
    ck_assert(bal[0] == in[0] && bal[1] == in[1] && bal[2] == ~in[0] && bal[3] == ~in[1]);
    for (uint32_t j = 0; j < 256; j++)
        perm[j] = 255 - j; /* reversed: bit 0 of the value lands at 255 */
    bl_filter_balance(in, 128, perm, bal);
    ck_assert_uint_eq(bal[3] >> 63, 1);
    ck_assert_uint_eq(bl_popcount(bal, 4), 128);
}
END_TEST

START_TEST(kernel_names)
{
    ck_assert_str_eq(bl_kernel_name_of(BL_KERNEL_AUTO), "auto");
    ck_assert_str_eq(bl_kernel_name_of(BL_KERNEL_SCALAR), "scalar");
    ck_assert_str_eq(bl_kernel_name_of(BL_KERNEL_AVX2), "avx2");
    ck_assert_str_eq(bl_kernel_name_of(BL_KERNEL_AVX512), "avx512");
    ck_assert_int_eq(bl_kernel_available(BL_KERNEL_AUTO), 1);
    ck_assert_int_eq(bl_kernel_available(BL_KERNEL_SCALAR), 1);

    /* AUTO picks the best available one. */
    restore_auto();
    const char *want = bl_kernel_available(BL_KERNEL_AVX512) ? "avx512"
                       : bl_kernel_available(BL_KERNEL_AVX2) ? "avx2"
                                                             : "scalar";
    ck_assert_str_eq(bl_kernel_name(), want);

    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_set_kernel((bl_kernel)42, &err), BL_EMISUSE);
    ck_assert_int_eq(err.code, BL_EMISUSE);
    ck_assert_ptr_nonnull(strstr(err.text, "42"));
    ck_assert_str_eq(bl_kernel_name(), want); /* a refused change changes nothing */

    /* A kernel the CPU lacks is refused with a message that names it. */
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        if (bl_kernel_available(kernels[i]))
            continue;
        bl_error_clear(&err);
        ck_assert_int_eq(bl_set_kernel(kernels[i], &err), BL_EUNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(err.text, bl_kernel_name_of(kernels[i])));
        ck_assert_str_eq(bl_kernel_name(), want);
    }
}
END_TEST

START_TEST(known_answers)
{
    if (!use_kernel(kernels[_i]))
        return;
    /* Two words: a = {0..3, 64}, b = {2..5, 64, 65}; a&b = {2, 3, 64}. */
    uint64_t a[2] = {0x0f, 0x1}, b[2] = {0x3c, 0x3};
    ck_assert_uint_eq(bl_popcount(a, 2), 5);
    ck_assert_uint_eq(bl_popcount(b, 2), 6);
    ck_assert_uint_eq(bl_and_popcount(a, b, 2), 3);
    ck_assert_double_eq_tol(bl_dice(a, b, 2), 6.0 / 11.0, 1e-15);

    uint64_t ones[9], zeros[9] = {0};
    for (int i = 0; i < 9; i++)
        ones[i] = ~UINT64_C(0);
    ck_assert_uint_eq(bl_popcount(ones, 9), 576);
    ck_assert_uint_eq(bl_and_popcount(ones, ones, 9), 576);
    ck_assert_double_eq(bl_dice(ones, ones, 9), 1.0);
    ck_assert_double_eq(bl_dice(ones, zeros, 9), 0.0);
    ck_assert_double_eq(bl_dice(zeros, zeros, 9), 0.0); /* empty pair: 0 by convention */
    ck_assert_uint_eq(bl_popcount(NULL, 0), 0);          /* no words, nothing read */
    ck_assert_double_eq(bl_dice(NULL, NULL, 0), 0.0);

    /* Disjoint halves of 17 words. */
    uint64_t x[17], y[17];
    for (int i = 0; i < 17; i++) {
        x[i] = UINT64_C(0x5555555555555555);
        y[i] = UINT64_C(0xaaaaaaaaaaaaaaaa);
    }
    ck_assert_uint_eq(bl_and_popcount(x, y, 17), 0);
    ck_assert_double_eq(bl_dice(x, y, 17), 0.0);
    ck_assert_double_eq(bl_dice(x, x, 17), 1.0);
    restore_auto();
}
END_TEST

/* ------------------------------------------- kernels against reference */

START_TEST(kernel_vs_reference)
{
    if (!use_kernel(kernels[_i]))
        return;
    const bl_kernel_ops *scalar = bl_kernel_ops_get(BL_KERNEL_SCALAR);
    ck_assert_ptr_nonnull(scalar);
    uint64_t rng = 0x1234 + (uint64_t)_i;
    /* 0 bytes (aligned), 8 (word- but not vector-aligned), 1 and 3 (byte). */
    static const size_t offsets[] = {0, 8, 24, 1, 3};
    static const unsigned densities[] = {0, 20, 300, 700, 1000};
    for (size_t li = 0; li < NLENGTHS; li++) {
        size_t words = lengths[li];
        for (size_t oi = 0; oi < sizeof offsets / sizeof offsets[0]; oi++) {
            for (size_t di = 0; di < sizeof densities / sizeof densities[0]; di++) {
                void *ba, *bb;
                uint64_t *a = alloc_words(words, offsets[oi], &ba);
                uint64_t *b = alloc_words(words, offsets[(oi + 1) % 5], &bb);
                for (size_t w = 0; w < words; w++) {
                    store_word(a + w, random_word(&rng, densities[di]));
                    store_word(b + w, random_word(&rng, densities[(di + 2) % 5]));
                }
                uint32_t ra = ref_popcount(a, words), rb = ref_popcount(b, words);
                uint32_t rab = ref_and_popcount(a, b, words);
                ck_assert_msg(bl_popcount(a, words) == ra, "%s popcount words=%zu off=%zu",
                              bl_kernel_name(), words, offsets[oi]);
                ck_assert_msg(bl_and_popcount(a, b, words) == rab,
                              "%s and_popcount words=%zu off=%zu", bl_kernel_name(), words,
                              offsets[oi]);
                if (words) {
                    ck_assert_uint_eq(scalar->popcount(a, words), ra);
                    ck_assert_uint_eq(scalar->and_popcount(a, b, words), rab);
                }
                double want = ra + rb ? 2.0 * rab / (double)(ra + rb) : 0.0;
                ck_assert_double_eq(bl_dice(a, b, words), want);
                free(ba);
                free(bb);
            }
        }
    }
    restore_auto();
}
END_TEST

/*
 * No kernel may read past the end of a filter: each filter here ends exactly
 * where an inaccessible page begins (libsodium's guard-page habit), so a
 * full-vector load over a short tail crashes this test (fork mode turns the
 * crash into one failure).  The pages before it are full of set bits, so a
 * kernel that read before the start would miscount instead.
 */
static uint64_t *guarded_words(size_t words, void **map, size_t *map_len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (words * 8 + page - 1) / page * page + page;
    *map_len = data + page;
    *map = mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(*map, MAP_FAILED);
    memset(*map, 0xff, data);
    ck_assert_int_eq(mprotect((char *)*map + data, page, PROT_NONE), 0);
    return (uint64_t *)(void *)((char *)*map + data - words * 8);
}

START_TEST(kernel_stays_in_bounds)
{
    if (!use_kernel(kernels[_i]))
        return;
    for (size_t li = 0; li < NLENGTHS; li++) {
        size_t words = lengths[li];
        void *ma, *mb;
        size_t la, lb;
        uint64_t *a = guarded_words(words, &ma, &la);
        enum { N = 11 };
        uint64_t *b = guarded_words(words * N, &mb, &lb);
        uint32_t pop[N], out[N];
        for (size_t w = 0; w < words; w++)
            a[w] = UINT64_C(0x0101010101010101);
        for (size_t w = 0; w < words * N; w++)
            b[w] = UINT64_C(0x0303030303030303);
        for (size_t i = 0; i < N; i++)
            pop[i] = (uint32_t)(16 * words);
        ck_assert_uint_eq(bl_popcount(a, words), 8 * words);
        ck_assert_uint_eq(bl_and_popcount(a, b + (N - 1) * words, words), 8 * words);
        /* Dice = 16w / 24w = 2/3 for every candidate (0 when words = 0). */
        size_t want = words ? N : 0;
        ck_assert_uint_eq(bl_dice_scan(a, (uint32_t)(8 * words), b, pop, N, words, 2, 3, out),
                          want);
        ck_assert_uint_eq(bl_dice_scan(a, (uint32_t)(8 * words), b, pop, N, words, 201, 300, out),
                          0);
        munmap(ma, la);
        munmap(mb, lb);
    }
    restore_auto();
}
END_TEST

/* -------------------------------------------------- threshold boundaries */

START_TEST(dice_at_least_boundaries)
{
    if (!use_kernel(kernels[_i]))
        return;
    /* |a| = 5, |b| = 5, |a&b| = 4: Dice = 8/10 = 0.8 exactly. */
    uint64_t a[2] = {0x1f, 0}, b[2] = {0x2f, 0};
    ck_assert_uint_eq(bl_and_popcount(a, b, 2), 4);
    ck_assert_int_eq(bl_dice_at_least(a, 5, b, 5, 2, 4, 5), 1);
    ck_assert_int_eq(bl_dice_at_least(a, 5, b, 5, 2, 8, 10), 1);
    ck_assert_int_eq(bl_dice_at_least(a, 5, b, 5, 2, 79, 100), 1);
    ck_assert_int_eq(bl_dice_at_least(a, 5, b, 5, 2, 81, 100), 0);
    ck_assert_int_eq(bl_dice_at_least(a, 5, b, 5, 2, 800001, 1000000), 0); /* 0.8 + 1e-6 */
    ck_assert_int_eq(bl_dice_at_least(a, 5, b, 5, 2, 799999, 1000000), 1);
    /* The same ratio scaled up to den = UINT32_MAX: products pass 2^64 if
       computed naively, so this checks the exact 64-bit rearrangement. */
    uint32_t k = UINT32_MAX / 5; /* 858993459, 5k = UINT32_MAX */
    ck_assert_int_eq(bl_dice_at_least(a, 5, b, 5, 2, 4 * k, 5 * k), 1);
    ck_assert_int_eq(bl_dice_at_least(a, 5, b, 5, 2, 4 * k + 1, 5 * k), 0);

    /* Odd |a|+|b|: |a| = 3, |b| = 4, |a&b| = 3: Dice = 6/7. */
    uint64_t c[1] = {0x7}, d[1] = {0xf};
    ck_assert_int_eq(bl_dice_at_least(c, 3, d, 4, 1, 6, 7), 1);
    ck_assert_int_eq(bl_dice_at_least(c, 3, d, 4, 1, 6000001, 7000000), 0);
    uint32_t m = UINT32_MAX / 7; /* 613566756 */
    ck_assert_int_eq(bl_dice_at_least(c, 3, d, 4, 1, 6 * m, 7 * m), 1);
    ck_assert_int_eq(bl_dice_at_least(c, 3, d, 4, 1, 6 * m + 1, 7 * m), 0);
    ck_assert_int_eq(bl_dice_at_least(c, 3, d, 4, 1, 6 * m - 1, 7 * m), 1);

    /* Identical filters pass 1/1 and UINT32_MAX/UINT32_MAX, not above 1. */
    ck_assert_int_eq(bl_dice_at_least(d, 4, d, 4, 1, 1, 1), 1);
    ck_assert_int_eq(bl_dice_at_least(d, 4, d, 4, 1, UINT32_MAX, UINT32_MAX), 1);
    ck_assert_int_eq(bl_dice_at_least(d, 4, d, 4, 1, UINT32_MAX, UINT32_MAX - 1), 0);

    /* Empty pair: Dice 0, so only a zero threshold passes. */
    uint64_t z[2] = {0, 0};
    ck_assert_int_eq(bl_dice_at_least(z, 0, z, 0, 2, 4, 5), 0);
    ck_assert_int_eq(bl_dice_at_least(z, 0, z, 0, 2, 1, UINT32_MAX), 0);
    ck_assert_int_eq(bl_dice_at_least(z, 0, z, 0, 2, 0, 5), 1);
    ck_assert_int_eq(bl_dice_at_least(z, 0, a, 5, 2, 0, 1), 1);
    ck_assert_int_eq(bl_dice_at_least(z, 0, a, 5, 2, 1, 1000), 0);

    /* The shared helper against the reference, on extreme values and on
       small ones, where exact boundaries come up often. */
    uint64_t rng = 77;
    for (int i = 0; i < 300000; i++) {
        uint32_t pa = (uint32_t)next_u64(&rng), pb = (uint32_t)next_u64(&rng);
        uint32_t num = (uint32_t)next_u64(&rng), den = (uint32_t)next_u64(&rng);
        if (i % 2) {
            pa %= 64;
            pb %= 64;
            num %= 16;
            den = num + (den % 16);
        }
        uint32_t most = pa < pb ? pa : pb;
        uint32_t cc = (uint32_t)(next_u64(&rng) % ((uint64_t)most + 1));
        ck_assert_msg(bl_dice_pass(cc, pa, pb, num, den) == ref_pass(cc, pa, pb, num, den),
                      "c=%u pa=%u pb=%u num=%u den=%u", cc, pa, pb, num, den);
    }
    restore_auto();
}
END_TEST

/* ------------------------------------------------------- scan vs naive */

static size_t naive_scan(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                         const uint32_t *pop_many, size_t n, size_t words, uint32_t num,
                         uint32_t den, uint32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ref_pass(ref_and_popcount(one, many + i * words, words), pop_one, pop_many[i], num,
                     den))
            out[k++] = (uint32_t)i;
    return k;
}

START_TEST(scan_vs_naive)
{
    if (!use_kernel(kernels[_i]))
        return;
    static const size_t counts[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 100};
    static const uint32_t thresholds[][2] = {{4, 5}, {1, 2}, {9, 10}, {1, 1}, {0, 1}, {1, 100}};
    uint64_t rng = 99 + (uint64_t)_i;
    size_t total_hits = 0;
    for (size_t li = 0; li < NLENGTHS; li++) {
        size_t words = lengths[li];
        for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
            size_t n = counts[ci];
            for (size_t off = 0; off < 16; off += 8) {
                void *bq, *bm;
                uint64_t *one = alloc_words(words, off, &bq);
                uint64_t *many = alloc_words(words * n, 8 - off, &bm);
                uint32_t *pop = malloc((n + 1) * sizeof *pop);
                uint32_t *got = malloc((n + 1) * sizeof *got), *want = malloc((n + 1) * sizeof *want);
                ck_assert(pop && got && want);
                for (size_t w = 0; w < words; w++)
                    store_word(one + w, random_word(&rng, 300));
                /* Candidates are noisy copies of the query, so Dice spreads over
                   [0, 1] and many land near each threshold; some are empty. */
                for (size_t i = 0; i < n; i++) {
                    unsigned noise = (unsigned)(next_u64(&rng) % 6);
                    for (size_t w = 0; w < words; w++) {
                        uint64_t q;
                        memcpy(&q, one + w, sizeof q);
                        uint64_t v = noise == 5 ? 0 : q;
                        for (unsigned r = 0; r < noise; r++)
                            v ^= UINT64_C(1) << (next_u64(&rng) % 64);
                        store_word(many + i * words + w, v);
                    }
                    pop[i] = ref_popcount(many + i * words, words);
                }
                uint32_t pop_one = ref_popcount(one, words);
                for (size_t t = 0; t < sizeof thresholds / sizeof thresholds[0]; t++) {
                    uint32_t num = thresholds[t][0], den = thresholds[t][1];
                    size_t kw = naive_scan(one, pop_one, many, pop, n, words, num, den, want);
                    size_t kg = bl_dice_scan(one, pop_one, many, pop, n, words, num, den, got);
                    ck_assert_msg(kg == kw, "%s words=%zu n=%zu %u/%u: got %zu want %zu",
                                  bl_kernel_name(), words, n, num, den, kg, kw);
                    ck_assert(memcmp(got, want, kw * sizeof *got) == 0);
                    total_hits += kw;
                    /* An empty query: only a zero threshold passes, except
                       against itself where Dice is 0 too. */
                    uint64_t *saved = malloc(words * sizeof *saved + 1);
                    ck_assert_ptr_nonnull(saved);
                    memcpy(saved, one, words * sizeof *saved);
                    memset(one, 0, words * sizeof *one);
                    kw = naive_scan(one, 0, many, pop, n, words, num, den, want);
                    kg = bl_dice_scan(one, 0, many, pop, n, words, num, den, got);
                    ck_assert_uint_eq(kg, kw);
                    ck_assert(memcmp(got, want, kw * sizeof *got) == 0);
                    memcpy(one, saved, words * sizeof *saved);
                    free(saved);
                }
                free(bq);
                free(bm);
                free(pop);
                free(got);
                free(want);
            }
        }
    }
    /* The data must exercise both outcomes, or the test proves little. */
    ck_assert_uint_gt(total_hits, 1000);
    restore_auto();
}
END_TEST

/* A long scan on 1024-bit filters: the specialised path of each kernel,
   with a match count in between "none" and "all". */
START_TEST(scan_1024_long)
{
    if (!use_kernel(kernels[_i]))
        return;
    enum { N = 4099, W = 16 };
    uint64_t *many = malloc((size_t)N * W * sizeof *many), one[W];
    uint32_t *pop = malloc(N * sizeof *pop), *got = malloc(N * sizeof *got),
             *want = malloc(N * sizeof *want);
    ck_assert(many && pop && got && want);
    uint64_t rng = 2024;
    for (int w = 0; w < W; w++)
        one[w] = random_word(&rng, 300);
    for (size_t i = 0; i < N; i++) {
        unsigned flips = (unsigned)(next_u64(&rng) % 400);
        for (int w = 0; w < W; w++)
            many[i * W + w] = one[w];
        for (unsigned f = 0; f < flips; f++)
            many[i * W + next_u64(&rng) % W] ^= UINT64_C(1) << (next_u64(&rng) % 64);
        pop[i] = ref_popcount(many + i * W, W);
    }
    uint32_t pop_one = ref_popcount(one, W);
    size_t kw = naive_scan(one, pop_one, many, pop, N, W, 4, 5, want);
    size_t kg = bl_dice_scan(one, pop_one, many, pop, N, W, 4, 5, got);
    ck_assert_uint_eq(kg, kw);
    ck_assert(memcmp(got, want, kw * sizeof *got) == 0);
    ck_assert_uint_gt(kw, N / 10);
    ck_assert_uint_lt(kw, N - N / 10);
    free(many);
    free(pop);
    free(got);
    free(want);
    restore_auto();
}
END_TEST

Suite *suite_filter(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = tcase_create("helpers");
    tcase_add_test(tc, bit_helpers);
    tcase_add_test(tc, kernel_names);
    tcase_add_test(tc, fold_and_balance_known_answers);
    suite_add_tcase(s, tc);

    /* One loop iteration per kernel (scalar, avx2, avx512). */
    int nk = (int)(sizeof kernels / sizeof kernels[0]);
    tc = tcase_create("kernels");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, known_answers, 0, nk);
    tcase_add_loop_test(tc, kernel_vs_reference, 0, nk);
    tcase_add_loop_test(tc, kernel_stays_in_bounds, 0, nk);
    tcase_add_loop_test(tc, dice_at_least_boundaries, 0, nk);
    tcase_add_loop_test(tc, scan_vs_naive, 0, nk);
    tcase_add_loop_test(tc, scan_1024_long, 0, nk);
    suite_add_tcase(s, tc);
    return s;
}
