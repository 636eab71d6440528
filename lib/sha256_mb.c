/* sha256_mb.c - multi-buffer HMAC-SHA256 of short messages: one message per
 * 32-bit vector lane, 16 at a time with AVX-512 or 8 with AVX2.
 *
 * For CPUs without the SHA extensions (Intel server cores before Ice Lake
 * have AVX-512 or AVX2 but no SHA-NI), where the alternative is the scalar
 * kernel's one message at a time.  The round code is sha256_mb_body.h,
 * compiled once per target below; only the vector primitives and the
 * transposes differ.  AVX-512 does each sigma in three rotates and one
 * three-way XOR (vpternlogd), Ch and Maj in one vpternlogd each; AVX2 needs
 * shifts and ORs for the rotates and two or three operations for the rest.
 *
 * As in filter_avx512.c, every function carries its own target attribute,
 * and sha256.c calls in only after __builtin_cpu_supports said yes.
 */
#include "config.h"

#include "sha256.h"

#if BL_HAVE_X86_SHA

#include <immintrin.h>
#include <string.h>

/* ---------------------------------------------------------- AVX-512 */

#define AVX512_FN __attribute__((target("avx512f,avx512bw")))
#define AVX512_INLINE __attribute__((target("avx512f,avx512bw"), always_inline)) static inline

/* 16 rows of 16 words -> W[t] with lane j = word t of row j: unpack 32-bit,
   then 64-bit elements within 128-bit lanes (each lane of u[4m+c] then
   holds column 4L+c of rows 4m..4m+3), then move 128-bit lanes across
   groups.  64 shuffles for 256 words. */
AVX512_INLINE void transpose16(uint8_t (*rows)[BL_SHA256_BLOCK], __m512i W[16])
{
    __m512i r[16], t[16], u[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = _mm512_load_si512(rows[i]);
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
        t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
    }
#pragma GCC unroll 4
    for (int m = 0; m < 4; m++) {
        u[4 * m + 0] = _mm512_unpacklo_epi64(t[4 * m], t[4 * m + 2]);
        u[4 * m + 1] = _mm512_unpackhi_epi64(t[4 * m], t[4 * m + 2]);
        u[4 * m + 2] = _mm512_unpacklo_epi64(t[4 * m + 1], t[4 * m + 3]);
        u[4 * m + 3] = _mm512_unpackhi_epi64(t[4 * m + 1], t[4 * m + 3]);
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512i lo01 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
        __m512i hi01 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
        __m512i lo23 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
        __m512i hi23 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
        W[c] = _mm512_shuffle_i32x4(lo01, lo23, 0x88);
        W[4 + c] = _mm512_shuffle_i32x4(lo01, lo23, 0xDD);
        W[8 + c] = _mm512_shuffle_i32x4(hi01, hi23, 0x88);
        W[12 + c] = _mm512_shuffle_i32x4(hi01, hi23, 0xDD);
    }
}

AVX512_INLINE __m512i bswap512(__m512i x)
{
    const __m512i swap = _mm512_broadcast_i32x4(
        _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
    return _mm512_shuffle_epi8(x, swap);
}

#define MB_LANES 16
#define MB_V __m512i
#define MB_FN AVX512_FN
#define MB_INLINE AVX512_INLINE
#define MB_NAME(x) avx512_##x
#define MB_ADD(a, b) _mm512_add_epi32(a, b)
#define MB_ROR(x, n) _mm512_ror_epi32(x, n)
#define MB_SHR(x, n) _mm512_srli_epi32(x, n)
#define MB_XOR3(a, b, c) _mm512_ternarylogic_epi32(a, b, c, 0x96)
#define MB_CH(e, f, g) _mm512_ternarylogic_epi32(e, f, g, 0xCA)  /* e ? f : g */
#define MB_MAJ(a, b, c) _mm512_ternarylogic_epi32(a, b, c, 0xE8) /* two of three */
#define MB_SET1(x) _mm512_set1_epi32((int)(x))
#define MB_LOAD(p) _mm512_load_si512(p)
#define MB_STORE(p, v) _mm512_store_si512(p, v)
#define MB_BSWAP(x) bswap512(x)
#define MB_TRANSPOSE(rows, W) transpose16(rows, W)
#include "sha256_mb_body.h"

/* ------------------------------------------------------------- AVX2 */

#define AVX2_FN __attribute__((target("avx2")))
#define AVX2_INLINE __attribute__((target("avx2"), always_inline)) static inline

/* 8 rows of 16 words -> W[0..15], as two 8x8 transposes (words 0-7 and
   8-15 of each row): unpack 32-bit, 64-bit, then swap 128-bit halves. */
AVX2_INLINE void transpose8x8(const __m256i r[8], __m256i *W)
{
    __m256i t[8], u[8];
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        t[2 * k] = _mm256_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
    }
#pragma GCC unroll 2
    for (int m = 0; m < 2; m++) {
        u[4 * m + 0] = _mm256_unpacklo_epi64(t[4 * m], t[4 * m + 2]);
        u[4 * m + 1] = _mm256_unpackhi_epi64(t[4 * m], t[4 * m + 2]);
        u[4 * m + 2] = _mm256_unpacklo_epi64(t[4 * m + 1], t[4 * m + 3]);
        u[4 * m + 3] = _mm256_unpackhi_epi64(t[4 * m + 1], t[4 * m + 3]);
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        W[c] = _mm256_permute2x128_si256(u[c], u[4 + c], 0x20);
        W[4 + c] = _mm256_permute2x128_si256(u[c], u[4 + c], 0x31);
    }
}

AVX2_INLINE void transpose8(uint8_t (*rows)[BL_SHA256_BLOCK], __m256i W[16])
{
    __m256i lo[8], hi[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        lo[i] = _mm256_load_si256((const __m256i *)(const void *)rows[i]);
        hi[i] = _mm256_load_si256((const __m256i *)(const void *)(rows[i] + 32));
    }
    transpose8x8(lo, W);
    transpose8x8(hi, W + 8);
}

AVX2_INLINE __m256i bswap256(__m256i x)
{
    const __m256i swap = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3,
                                          2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    return _mm256_shuffle_epi8(x, swap);
}

AVX2_INLINE __m256i ror256(__m256i x, int n)
{
    return _mm256_or_si256(_mm256_srli_epi32(x, n), _mm256_slli_epi32(x, 32 - n));
}

#define MB_LANES 8
#define MB_V __m256i
#define MB_FN AVX2_FN
#define MB_INLINE AVX2_INLINE
#define MB_NAME(x) avx2_##x
#define MB_ADD(a, b) _mm256_add_epi32(a, b)
#define MB_ROR(x, n) ror256(x, n)
#define MB_SHR(x, n) _mm256_srli_epi32(x, n)
#define MB_XOR3(a, b, c) _mm256_xor_si256(_mm256_xor_si256(a, b), c)
/* Ch = g ^ (e & (f ^ g)); Maj = (a & b) | (c & (a | b)). */
#define MB_CH(e, f, g) _mm256_xor_si256(g, _mm256_and_si256(e, _mm256_xor_si256(f, g)))
#define MB_MAJ(a, b, c)                                                                           \
    _mm256_or_si256(_mm256_and_si256(a, b), _mm256_and_si256(c, _mm256_or_si256(a, b)))
#define MB_SET1(x) _mm256_set1_epi32((int)(x))
#define MB_LOAD(p) _mm256_load_si256((const __m256i *)(const void *)(p))
#define MB_STORE(p, v) _mm256_store_si256((__m256i *)(void *)(p), v)
#define MB_BSWAP(x) bswap256(x)
#define MB_TRANSPOSE(rows, W) transpose8(rows, W)
#include "sha256_mb_body.h"

/* ------------------------------------------------------------ batches */

/* Full groups, then one short group for the rest, whose idle lanes cost as
   much as busy ones.  Measured on Zen 5, a group takes about 1.5 (AVX-512)
   or 2 (AVX2) scalar HMACs' time, so a tail of one message goes to the
   scalar kernel instead. */
AVX512_FN static void avx512_batch(const bl_hmac_job *jobs, size_t n,
                                   uint8_t (*out)[BL_SHA256_BYTES])
{
    avx512_scratch sc;
    size_t i = 0;
    while (n - i > 1) {
        size_t m = n - i < 16 ? n - i : 16;
        avx512_hmac_group(jobs + i, m, out + i, &sc);
        i += m;
    }
    if (i < n)
        bl_hmac_ops_scalar.short_batch(jobs + i, n - i, out + i);
    if (n > 1)
        bl_wipe(&sc, sizeof sc);
}

AVX2_FN static void avx2_batch(const bl_hmac_job *jobs, size_t n, uint8_t (*out)[BL_SHA256_BYTES])
{
    avx2_scratch sc;
    size_t i = 0;
    while (n - i > 1) {
        size_t m = n - i < 8 ? n - i : 8;
        avx2_hmac_group(jobs + i, m, out + i, &sc);
        i += m;
    }
    if (i < n)
        bl_hmac_ops_scalar.short_batch(jobs + i, n - i, out + i);
    if (n > 1)
        bl_wipe(&sc, sizeof sc);
}

const bl_hmac_ops bl_hmac_ops_avx512 = {"avx512", avx512_batch};
const bl_hmac_ops bl_hmac_ops_avx2 = {"avx2", avx2_batch};

#endif /* BL_HAVE_X86_SHA */
