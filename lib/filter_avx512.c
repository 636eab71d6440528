/* filter_avx512.c - Dice kernel for AVX-512 F + VPOPCNTDQ.
 *
 * Every function carries its own target attribute instead of the file being
 * built with -mavx512*: the compiler then cannot spill AVX-512 instructions
 * into code that runs before the CPU check, and the rest of the library keeps
 * running on any x86-64.  filter.c calls in here only after
 * __builtin_cpu_supports("avx512f") and ("avx512vpopcntdq") said yes.
 *
 * Tails shorter than a vector are read with masked loads, which do not touch
 * (or fault on) the masked-off bytes, so no scalar clean-up loop is needed.
 */
#include "config.h"

#include "filter.h"

#if BL_HAVE_X86_KERNELS

#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vpopcntdq")))
#define AVX512_INLINE __attribute__((target("avx512f,avx512vpopcntdq"), always_inline)) static inline

/* Mask selecting the first r (< 8) words of a chunk. */
AVX512_INLINE __mmask8 tail_mask(size_t r)
{
    return (__mmask8)((1u << r) - 1u);
}

AVX512_INLINE uint64_t hsum(__m512i v)
{
    return (uint64_t)_mm512_reduce_add_epi64(v);
}

AVX512 static uint64_t avx512_popcount(const uint64_t *a, size_t words)
{
    /* Four independent accumulators keep the adds off the critical path. */
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= words; i += 32) {
        s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(_mm512_loadu_si512(a + i)));
        s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(_mm512_loadu_si512(a + i + 8)));
        s2 = _mm512_add_epi64(s2, _mm512_popcnt_epi64(_mm512_loadu_si512(a + i + 16)));
        s3 = _mm512_add_epi64(s3, _mm512_popcnt_epi64(_mm512_loadu_si512(a + i + 24)));
    }
    for (; i + 8 <= words; i += 8)
        s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(_mm512_loadu_si512(a + i)));
    if (i < words)
        s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(_mm512_maskz_loadu_epi64(tail_mask(words - i),
                                                                               a + i)));
    return hsum(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
}

AVX512_INLINE __m512i and_pop(const uint64_t *a, const uint64_t *b)
{
    return _mm512_popcnt_epi64(_mm512_and_si512(_mm512_loadu_si512(a), _mm512_loadu_si512(b)));
}

/* Per-lane counts of a AND b over all words (sum the lanes for the total). */
AVX512_INLINE __m512i and_pop_lanes(const uint64_t *a, const uint64_t *b, size_t words)
{
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= words; i += 32) {
        s0 = _mm512_add_epi64(s0, and_pop(a + i, b + i));
        s1 = _mm512_add_epi64(s1, and_pop(a + i + 8, b + i + 8));
        s2 = _mm512_add_epi64(s2, and_pop(a + i + 16, b + i + 16));
        s3 = _mm512_add_epi64(s3, and_pop(a + i + 24, b + i + 24));
    }
    for (; i + 8 <= words; i += 8)
        s0 = _mm512_add_epi64(s0, and_pop(a + i, b + i));
    if (i < words) {
        __mmask8 m = tail_mask(words - i);
        __m512i x = _mm512_and_si512(_mm512_maskz_loadu_epi64(m, a + i),
                                     _mm512_maskz_loadu_epi64(m, b + i));
        s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(x));
    }
    return _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3));
}

AVX512 static uint64_t avx512_and_popcount(const uint64_t *a, const uint64_t *b, size_t words)
{
    return hsum(and_pop_lanes(a, b, words));
}

/*
 * Horizontal sums of eight vectors at once: lane j of the result is the sum
 * of v[j]'s eight lanes.  A transpose-and-add tree (3 levels, 14 shuffles,
 * 7 adds) costs far less than eight separate reductions (about 6 shuffles and
 * adds each), and leaves the counts in one register for a vector threshold
 * test.
 */
AVX512_INLINE __m512i hsum8(__m512i v0, __m512i v1, __m512i v2, __m512i v3, __m512i v4,
                            __m512i v5, __m512i v6, __m512i v7)
{
    /* Level 1: within each 128-bit lane, pair up neighbours: (v_even, v_odd). */
    __m512i a01 = _mm512_add_epi64(_mm512_unpacklo_epi64(v0, v1), _mm512_unpackhi_epi64(v0, v1));
    __m512i a23 = _mm512_add_epi64(_mm512_unpacklo_epi64(v2, v3), _mm512_unpackhi_epi64(v2, v3));
    __m512i a45 = _mm512_add_epi64(_mm512_unpacklo_epi64(v4, v5), _mm512_unpackhi_epi64(v4, v5));
    __m512i a67 = _mm512_add_epi64(_mm512_unpacklo_epi64(v6, v7), _mm512_unpackhi_epi64(v6, v7));
    /* Level 2: add 128-bit lanes 0+1 and 2+3 of two such vectors. */
    __m512i b0123 = _mm512_add_epi64(_mm512_shuffle_i64x2(a01, a23, 0x88),
                                     _mm512_shuffle_i64x2(a01, a23, 0xDD));
    __m512i b4567 = _mm512_add_epi64(_mm512_shuffle_i64x2(a45, a67, 0x88),
                                     _mm512_shuffle_i64x2(a45, a67, 0xDD));
    /* Level 3: once more, which leaves (c0, c1), (c2, c3), (c4, c5), (c6, c7). */
    return _mm512_add_epi64(_mm512_shuffle_i64x2(b0123, b4567, 0x88),
                            _mm512_shuffle_i64x2(b0123, b4567, 0xDD));
}

/*
 * The threshold constants of one scan: bl_dice_pass, lane-wise.  With
 * s = pa + pb the test is c*den >= num*floor(s/2) + (s odd ? ceil(num/2) : 0);
 * c, den, num and floor(s/2) all fit in 32 bits, so vpmuludq gives exact
 * 64-bit products.
 */
typedef struct {
    __m512i pa, num, den, halfup, one;
} thresh512;

AVX512_INLINE thresh512 thresh_init(uint32_t pop_one, uint32_t num, uint32_t den)
{
    thresh512 t;
    t.pa = _mm512_set1_epi64((long long)pop_one);
    t.num = _mm512_set1_epi64((long long)num);
    t.den = _mm512_set1_epi64((long long)den);
    t.halfup = _mm512_set1_epi64((long long)(((uint64_t)num + 1) >> 1));
    t.one = _mm512_set1_epi64(1);
    return t;
}

/* Which of the eight candidates with counts c and popcounts pop[0..7] pass. */
AVX512_INLINE __mmask8 thresh_test(const thresh512 *t, __m512i c, const uint32_t *pop)
{
    __m512i pb = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(const void *)pop));
    __m512i s = _mm512_add_epi64(t->pa, pb);
    __m512i rhs = _mm512_mul_epu32(_mm512_srli_epi64(s, 1), t->num);
    rhs = _mm512_mask_add_epi64(rhs, _mm512_test_epi64_mask(s, t->one), rhs, t->halfup);
    return _mm512_cmpge_epu64_mask(_mm512_mul_epu32(c, t->den), rhs);
}

/* Append base + j for each set bit j of m.  Matches are rare, so a loop. */
AVX512_INLINE size_t emit(__mmask8 m, size_t base, uint32_t *out, size_t k)
{
    unsigned bits = m;
    while (bits) {
        out[k++] = (uint32_t)(base + (unsigned)__builtin_ctz(bits));
        bits &= bits - 1;
    }
    return k;
}

/* Candidates after the last full block of eight, one at a time. */
AVX512_INLINE size_t scan_rest(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                               const uint32_t *pop_many, size_t i, size_t n, size_t words,
                               uint32_t num, uint32_t den, uint32_t *out_idx, size_t k)
{
    for (; i < n; i++) {
        uint64_t c = hsum(and_pop_lanes(one, many + i * words, words));
        if (bl_dice_pass((uint32_t)c, pop_one, pop_many[i], num, den))
            out_idx[k++] = (uint32_t)i;
    }
    return k;
}

/*
 * 1024-bit filters, the common case: the query stays in two registers, and
 * eight candidates are processed per iteration (register blocking), so the
 * loop is sixteen loads, ANDs and popcounts feeding one reduction tree and
 * one vector threshold test per eight comparisons.
 */
AVX512 static size_t scan16(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                            const uint32_t *pop_many, size_t n, uint32_t num, uint32_t den,
                            uint32_t *out_idx)
{
    const __m512i q0 = _mm512_loadu_si512(one), q1 = _mm512_loadu_si512(one + 8);
    const thresh512 t = thresh_init(pop_one, num, den);
    size_t k = 0, i = 0;
#define BL_CAND16(j)                                                                          \
    _mm512_add_epi64(                                                                         \
        _mm512_popcnt_epi64(_mm512_and_si512(q0, _mm512_loadu_si512(b + 16 * (j)))),          \
        _mm512_popcnt_epi64(_mm512_and_si512(q1, _mm512_loadu_si512(b + 16 * (j) + 8))))
    for (; i + 8 <= n; i += 8) {
        const uint64_t *b = many + i * 16;
        __m512i c = hsum8(BL_CAND16(0), BL_CAND16(1), BL_CAND16(2), BL_CAND16(3), BL_CAND16(4),
                          BL_CAND16(5), BL_CAND16(6), BL_CAND16(7));
        __mmask8 m = thresh_test(&t, c, pop_many + i);
        if (m)
            k = emit(m, i, out_idx, k);
    }
#undef BL_CAND16
    return scan_rest(one, pop_one, many, pop_many, i, n, 16, num, den, out_idx, k);
}

/*
 * Any other length: still eight candidates per iteration, walking the words
 * in 8-word chunks with one accumulator per candidate, so each chunk of the
 * query is loaded once for eight candidates.  The last partial chunk uses
 * masked loads.
 */
AVX512 static size_t scan_any(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                              const uint32_t *pop_many, size_t n, size_t words, uint32_t num,
                              uint32_t den, uint32_t *out_idx)
{
    const thresh512 t = thresh_init(pop_one, num, den);
    const size_t full = words & ~(size_t)7;
    const __mmask8 tm = tail_mask(words - full);
    size_t k = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint64_t *b = many + i * words;
        __m512i acc[8];
        for (int j = 0; j < 8; j++)
            acc[j] = _mm512_setzero_si512();
        for (size_t w = 0; w < full; w += 8) {
            __m512i q = _mm512_loadu_si512(one + w);
            for (int j = 0; j < 8; j++) {
                __m512i x = _mm512_and_si512(q, _mm512_loadu_si512(b + (size_t)j * words + w));
                acc[j] = _mm512_add_epi64(acc[j], _mm512_popcnt_epi64(x));
            }
        }
        if (tm) {
            __m512i q = _mm512_maskz_loadu_epi64(tm, one + full);
            for (int j = 0; j < 8; j++) {
                __m512i x = _mm512_and_si512(
                    q, _mm512_maskz_loadu_epi64(tm, b + (size_t)j * words + full));
                acc[j] = _mm512_add_epi64(acc[j], _mm512_popcnt_epi64(x));
            }
        }
        __m512i c = hsum8(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]);
        __mmask8 m = thresh_test(&t, c, pop_many + i);
        if (m)
            k = emit(m, i, out_idx, k);
    }
    return scan_rest(one, pop_one, many, pop_many, i, n, words, num, den, out_idx, k);
}

AVX512 static size_t avx512_scan(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                                 const uint32_t *pop_many, size_t n, size_t words, uint32_t num,
                                 uint32_t den, uint32_t *out_idx)
{
    if (words == 16)
        return scan16(one, pop_one, many, pop_many, n, num, den, out_idx);
    return scan_any(one, pop_one, many, pop_many, n, words, num, den, out_idx);
}

const bl_kernel_ops bl_kernel_ops_avx512 = {
    BL_KERNEL_AVX512, "avx512", avx512_popcount, avx512_and_popcount, avx512_scan,
};

#endif /* BL_HAVE_X86_KERNELS */
