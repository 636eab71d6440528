/* filter_avx2.c - Dice kernel for AVX2 (no vector popcount instruction).
 *
 * Popcount is the nibble-lookup method: vpshufb looks up the bit count of
 * each 4-bit half of every byte in a 16-entry table, giving per-byte counts
 * that are summed as bytes and widened to 64-bit lanes with vpsadbw against
 * zero only every few iterations.  Each byte lane gains at most 8 per 256-bit
 * vector, so a byte accumulator is safe for 31 vectors (31 * 8 = 248 < 256).
 *
 * As in filter_avx512.c, target attributes sit on each function rather than
 * on the command line, and filter.c calls in only after
 * __builtin_cpu_supports("avx2").  Tails use vpmaskmovq, which does not
 * touch the masked-off words.
 */
#include "config.h"

#include "filter.h"

#if BL_HAVE_X86_KERNELS

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))
#define AVX2_INLINE __attribute__((target("avx2"), always_inline)) static inline

/* Vectors a byte accumulator can take before it must be widened. */
enum { BYTE_BATCH = 31 };

AVX2_INLINE __m256i loadu(const uint64_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* The first r (< 4) words at p, the rest zero, reading only those words. */
AVX2_INLINE __m256i load_tail(const uint64_t *p, size_t r)
{
    __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    __m256i mask = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)r), lane);
    return _mm256_maskload_epi64((const long long *)(const void *)p, mask);
}

/* Bit count of each byte of v (0..8 per byte). */
AVX2_INLINE __m256i pop_bytes(__m256i v)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                                         2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_and_si256(v, low4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

/* Widen byte counts into four 64-bit lane sums. */
AVX2_INLINE __m256i widen(__m256i bytes)
{
    return _mm256_sad_epu8(bytes, _mm256_setzero_si256());
}

AVX2_INLINE uint64_t hsum(__m256i v)
{
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return (uint64_t)_mm_cvtsi128_si64(s) + (uint64_t)_mm_extract_epi64(s, 1);
}

/*
 * Lane sums of popcount(a AND b), or of popcount(a) when b is NULL (the
 * branch on b is hoisted by the compiler once this is inlined with a
 * constant).  Two byte accumulators per batch, eight words per step.
 */
AVX2_INLINE __m256i pop_lanes(const uint64_t *a, const uint64_t *b, size_t words)
{
    __m256i total = _mm256_setzero_si256();
    size_t i = 0;
    while (i + 8 <= words) {
        __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
        /* Each step adds one vector to each accumulator. */
        for (int step = 0; step < BYTE_BATCH && i + 8 <= words; step++, i += 8) {
            __m256i x0 = loadu(a + i), x1 = loadu(a + i + 4);
            if (b) {
                x0 = _mm256_and_si256(x0, loadu(b + i));
                x1 = _mm256_and_si256(x1, loadu(b + i + 4));
            }
            acc0 = _mm256_add_epi8(acc0, pop_bytes(x0));
            acc1 = _mm256_add_epi8(acc1, pop_bytes(x1));
        }
        total = _mm256_add_epi64(total, _mm256_add_epi64(widen(acc0), widen(acc1)));
    }
    if (i + 4 <= words) {
        __m256i x = loadu(a + i);
        if (b)
            x = _mm256_and_si256(x, loadu(b + i));
        total = _mm256_add_epi64(total, widen(pop_bytes(x)));
        i += 4;
    }
    if (i < words) {
        __m256i x = load_tail(a + i, words - i);
        if (b)
            x = _mm256_and_si256(x, load_tail(b + i, words - i));
        total = _mm256_add_epi64(total, widen(pop_bytes(x)));
    }
    return total;
}

AVX2 static uint64_t avx2_popcount(const uint64_t *a, size_t words)
{
    return hsum(pop_lanes(a, NULL, words));
}

AVX2 static uint64_t avx2_and_popcount(const uint64_t *a, const uint64_t *b, size_t words)
{
    return hsum(pop_lanes(a, b, words));
}

/* Four vectors' horizontal sums at once: lane j of the result sums v[j]. */
AVX2_INLINE __m256i hsum4(__m256i v0, __m256i v1, __m256i v2, __m256i v3)
{
    __m256i a01 = _mm256_add_epi64(_mm256_unpacklo_epi64(v0, v1), _mm256_unpackhi_epi64(v0, v1));
    __m256i a23 = _mm256_add_epi64(_mm256_unpacklo_epi64(v2, v3), _mm256_unpackhi_epi64(v2, v3));
    return _mm256_add_epi64(_mm256_permute2x128_si256(a01, a23, 0x20),
                            _mm256_permute2x128_si256(a01, a23, 0x31));
}

/*
 * bl_dice_pass lane-wise (see filter.h for the derivation).  AVX2 has no
 * unsigned 64-bit compare, so both sides are offset by 2^63 and compared
 * signed.
 */
typedef struct {
    __m256i pa, num, den, halfup, one, bias;
} thresh256;

AVX2_INLINE thresh256 thresh_init(uint32_t pop_one, uint32_t num, uint32_t den)
{
    thresh256 t;
    t.pa = _mm256_set1_epi64x((long long)pop_one);
    t.num = _mm256_set1_epi64x((long long)num);
    t.den = _mm256_set1_epi64x((long long)den);
    t.halfup = _mm256_set1_epi64x((long long)(((uint64_t)num + 1) >> 1));
    t.one = _mm256_set1_epi64x(1);
    t.bias = _mm256_set1_epi64x((long long)(UINT64_C(1) << 63));
    return t;
}

/* Bit j set when candidate j (of four, counts c, popcounts pop[0..3]) passes. */
AVX2_INLINE unsigned thresh_test(const thresh256 *t, __m256i c, const uint32_t *pop)
{
    __m256i pb = _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(const void *)pop));
    __m256i s = _mm256_add_epi64(t->pa, pb);
    __m256i rhs = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(s, 1), t->num),
                                   _mm256_mul_epu32(_mm256_and_si256(s, t->one), t->halfup));
    __m256i lhs = _mm256_mul_epu32(c, t->den);
    __m256i fail = _mm256_cmpgt_epi64(_mm256_xor_si256(rhs, t->bias),
                                      _mm256_xor_si256(lhs, t->bias));
    return ~(unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(fail)) & 0xfu;
}

AVX2_INLINE size_t emit(unsigned bits, size_t base, uint32_t *out, size_t k)
{
    while (bits) {
        out[k++] = (uint32_t)(base + (unsigned)__builtin_ctz(bits));
        bits &= bits - 1;
    }
    return k;
}

AVX2_INLINE size_t scan_rest(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                             const uint32_t *pop_many, size_t i, size_t n, size_t words,
                             uint32_t num, uint32_t den, uint32_t *out_idx, size_t k)
{
    for (; i < n; i++) {
        uint64_t c = hsum(pop_lanes(one, many + i * words, words));
        if (bl_dice_pass((uint32_t)c, pop_one, pop_many[i], num, den))
            out_idx[k++] = (uint32_t)i;
    }
    return k;
}

/*
 * 1024-bit filters: the query stays in four registers and four candidates
 * go through per iteration.  A candidate's sixteen words give byte counts of
 * at most 4 * 8 = 32, so one vpsadbw per candidate is enough.
 */
AVX2 static size_t scan16(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                          const uint32_t *pop_many, size_t n, uint32_t num, uint32_t den,
                          uint32_t *out_idx)
{
    const __m256i q0 = loadu(one), q1 = loadu(one + 4), q2 = loadu(one + 8),
                  q3 = loadu(one + 12);
    const thresh256 t = thresh_init(pop_one, num, den);
    size_t k = 0, i = 0;
#define BL_CAND16(j)                                                                          \
    widen(_mm256_add_epi8(                                                                    \
        _mm256_add_epi8(pop_bytes(_mm256_and_si256(q0, loadu(b + 16 * (j)))),                 \
                        pop_bytes(_mm256_and_si256(q1, loadu(b + 16 * (j) + 4)))),            \
        _mm256_add_epi8(pop_bytes(_mm256_and_si256(q2, loadu(b + 16 * (j) + 8))),             \
                        pop_bytes(_mm256_and_si256(q3, loadu(b + 16 * (j) + 12))))))
    for (; i + 4 <= n; i += 4) {
        const uint64_t *b = many + i * 16;
        __m256i c = hsum4(BL_CAND16(0), BL_CAND16(1), BL_CAND16(2), BL_CAND16(3));
        unsigned m = thresh_test(&t, c, pop_many + i);
        if (m)
            k = emit(m, i, out_idx, k);
    }
#undef BL_CAND16
    return scan_rest(one, pop_one, many, pop_many, i, n, 16, num, den, out_idx, k);
}

/*
 * Any other length: four candidates per iteration, walking the words four at
 * a time with a byte accumulator per candidate, widened every BYTE_BATCH
 * vectors.  The last partial vector uses masked loads.
 */
AVX2 static size_t scan_any(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                            const uint32_t *pop_many, size_t n, size_t words, uint32_t num,
                            uint32_t den, uint32_t *out_idx)
{
    const thresh256 t = thresh_init(pop_one, num, den);
    const size_t full = words & ~(size_t)3, rem = words - full;
    size_t k = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint64_t *b = many + i * words;
        __m256i tot[4], acc[4];
        for (int j = 0; j < 4; j++)
            tot[j] = acc[j] = _mm256_setzero_si256();
        int batch = 0;
        for (size_t w = 0; w < full; w += 4) {
            __m256i q = loadu(one + w);
            for (int j = 0; j < 4; j++)
                acc[j] = _mm256_add_epi8(
                    acc[j], pop_bytes(_mm256_and_si256(q, loadu(b + (size_t)j * words + w))));
            if (++batch == BYTE_BATCH) {
                for (int j = 0; j < 4; j++) {
                    tot[j] = _mm256_add_epi64(tot[j], widen(acc[j]));
                    acc[j] = _mm256_setzero_si256();
                }
                batch = 0;
            }
        }
        if (rem) {
            /* At most BYTE_BATCH - 1 vectors are pending here, so one more fits. */
            __m256i q = load_tail(one + full, rem);
            for (int j = 0; j < 4; j++)
                acc[j] = _mm256_add_epi8(
                    acc[j],
                    pop_bytes(_mm256_and_si256(q, load_tail(b + (size_t)j * words + full, rem))));
        }
        for (int j = 0; j < 4; j++)
            tot[j] = _mm256_add_epi64(tot[j], widen(acc[j]));
        unsigned m = thresh_test(&t, hsum4(tot[0], tot[1], tot[2], tot[3]), pop_many + i);
        if (m)
            k = emit(m, i, out_idx, k);
    }
    return scan_rest(one, pop_one, many, pop_many, i, n, words, num, den, out_idx, k);
}

AVX2 static size_t avx2_scan(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                             const uint32_t *pop_many, size_t n, size_t words, uint32_t num,
                             uint32_t den, uint32_t *out_idx)
{
    if (words == 16)
        return scan16(one, pop_one, many, pop_many, n, num, den, out_idx);
    return scan_any(one, pop_one, many, pop_many, n, words, num, den, out_idx);
}

const bl_kernel_ops bl_kernel_ops_avx2 = {
    BL_KERNEL_AVX2, "avx2", avx2_popcount, avx2_and_popcount, avx2_scan,
};

#endif /* BL_HAVE_X86_KERNELS */
