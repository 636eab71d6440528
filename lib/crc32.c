/* crc32.c - CRC-32 by carry-less multiplication, zlib's crc32 as fallback.
 *
 * The .ble writer checksums every raw block (about 1.8 MB per 4096 records)
 * and the reader checks it again.  zlib 1.2.13's crc32 (braided, no SIMD)
 * takes about 0.35 TSC cycles a byte here, some 155 cycles per 448-byte
 * record: a sixth of the writer's budget.  Folding with carry-less
 * multiplies (Gopal et al., "Fast CRC Computation for Generic Polynomials
 * Using PCLMULQDQ Instruction", Intel 2009) keeps several 128-bit lanes in
 * flight and reduces them at the end; the constants are the paper's for the
 * bit-reflected polynomial 0xEDB88320 (as in Linux, zlib-ng and Chromium's
 * zlib), plus the 2048-bit fold distance for the ZMM kernel, computed by the
 * same formula (see K_* below).
 *
 * Per 448-byte record, 1.8 MB blocks in cache, best of 40 (AMD Zen 5):
 * zlib 155 cycles, PCLMULQDQ on four XMM lanes 65, VPCLMULQDQ on four ZMM
 * registers 16.
 *
 * The kernels take a multiple of 16 bytes (at least 64, or 256 for ZMM);
 * the remainder goes through zlib's crc32, which continues a running CRC.
 * check_crc32 compares every kernel with zlib's on all short lengths and
 * offsets and on random long ones.
 */
#include "config.h"

#include "crc32.h"

#include <pthread.h>
#include <zlib.h>

#include "filter.h" /* BL_HAVE_X86_KERNELS, bl_cpu_init */

uint32_t bl_crc32_zlib(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    /* zlib takes uInt lengths: feed huge inputs in pieces. */
    while (n > 0x40000000u) {
        crc = (uint32_t)crc32(crc, b, 0x40000000u);
        b += 0x40000000u;
        n -= 0x40000000u;
    }
    return (uint32_t)crc32(crc, b, (uInt)n);
}

#if BL_HAVE_X86_KERNELS

#include <immintrin.h>

#define CLMUL __attribute__((target("pclmul,sse4.1")))
#define CLMUL512 __attribute__((target("pclmul,sse4.1,avx512f,vpclmulqdq")))

/* Folding constants: x^e mod P(x), bit-reflected, as the paper's k values:
   k(e) = reflect64((x^e mod P) << 32) << 1.  A lane folded forward by D
   bits is multiplied by k(D + 32) (its low half) and k(D - 32) (high). */
#define K_544 0x0154442bd4   /* D = 512: four 128-bit lanes */
#define K_480 0x01c6e41596
#define K_160 0x01751997d0   /* D = 128: one lane onto the next */
#define K_96 0x00ccaa009e
#define K_64 0x0163cd6124    /* 128 bits to 64 */
#define K_2080 0x011542778a  /* D = 2048: sixteen lanes in four ZMM registers */
#define K_1984 0x01322d1430

/* From four 128-bit lanes (64 consecutive bytes, folded so far) and any
   16-byte pieces after them to the CRC state. */
CLMUL static uint32_t finish(__m128i x1, __m128i x2, __m128i x3, __m128i x4,
                             const unsigned char *p, size_t n)
{
    const __m128i k3k4 = _mm_set_epi64x(K_96, K_160);
    const __m128i k5 = _mm_set_epi64x(0, K_64);
    const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641); /* mu, P(x) */
    const __m128i mask32 = _mm_setr_epi32(-1, 0, -1, 0);
    __m128i y;
    y = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), x2), y);
    y = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), x3), y);
    y = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), x4), y);
    while (n >= 16) {
        y = _mm_clmulepi64_si128(x1, k3k4, 0x00);
        x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11),
                                         _mm_loadu_si128((const __m128i *)p)),
                           y);
        p += 16;
        n -= 16;
    }
    /* 128 bits to 64, then Barrett reduction to 32. */
    __m128i x;
    x = _mm_xor_si128(_mm_srli_si128(x1, 8), _mm_clmulepi64_si128(x1, k3k4, 0x10));
    x = _mm_xor_si128(_mm_srli_si128(x, 4), _mm_clmulepi64_si128(_mm_and_si128(x, mask32), k5, 0x00));
    y = _mm_clmulepi64_si128(_mm_and_si128(x, mask32), poly, 0x10);
    y = _mm_clmulepi64_si128(_mm_and_si128(y, mask32), poly, 0x00);
    return (uint32_t)_mm_extract_epi32(_mm_xor_si128(x, y), 1);
}

/* CRC state (not inverted) of n bytes, n a multiple of 16 and >= 64. */
CLMUL static uint32_t fold(const unsigned char *p, size_t n, uint32_t state)
{
    const __m128i k1k2 = _mm_set_epi64x(K_480, K_544);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 0));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(p + 48));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)state));
    p += 64;
    n -= 64;
    /* Four lanes, each folded 512 bits forward per step. */
    while (n >= 64) {
        __m128i y1 = _mm_clmulepi64_si128(x1, k1k2, 0x00);
        __m128i y2 = _mm_clmulepi64_si128(x2, k1k2, 0x00);
        __m128i y3 = _mm_clmulepi64_si128(x3, k1k2, 0x00);
        __m128i y4 = _mm_clmulepi64_si128(x4, k1k2, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k1k2, 0x11);
        x2 = _mm_clmulepi64_si128(x2, k1k2, 0x11);
        x3 = _mm_clmulepi64_si128(x3, k1k2, 0x11);
        x4 = _mm_clmulepi64_si128(x4, k1k2, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, y1), _mm_loadu_si128((const __m128i *)(p + 0)));
        x2 = _mm_xor_si128(_mm_xor_si128(x2, y2), _mm_loadu_si128((const __m128i *)(p + 16)));
        x3 = _mm_xor_si128(_mm_xor_si128(x3, y3), _mm_loadu_si128((const __m128i *)(p + 32)));
        x4 = _mm_xor_si128(_mm_xor_si128(x4, y4), _mm_loadu_si128((const __m128i *)(p + 48)));
        p += 64;
        n -= 64;
    }
    return finish(x1, x2, x3, x4, p, n);
}

/*
 * The same with VPCLMULQDQ on 512-bit registers: sixteen lanes in four
 * registers, 256 bytes per step, so the multiplier's latency is covered and
 * each instruction does four lanes' work.  n is a multiple of 16, >= 256.
 * The registers are then folded into one (64 bytes apart: the 4-lane
 * constants) and its lanes finished as above.
 */
CLMUL512 static uint32_t fold512(const unsigned char *p, size_t n, uint32_t state)
{
    const __m512i k16 = _mm512_broadcast_i32x4(_mm_set_epi64x(K_1984, K_2080));
    const __m512i k4 = _mm512_broadcast_i32x4(_mm_set_epi64x(K_480, K_544));
    __m512i z0 = _mm512_loadu_si512(p + 0), z1 = _mm512_loadu_si512(p + 64);
    __m512i z2 = _mm512_loadu_si512(p + 128), z3 = _mm512_loadu_si512(p + 192);
    z0 = _mm512_xor_si512(z0, _mm512_castsi128_si512(_mm_cvtsi32_si128((int)state)));
    p += 256;
    n -= 256;
#define FOLD(z, k, next)                                                                           \
    _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(z, k, 0x00),                                \
                              _mm512_clmulepi64_epi128(z, k, 0x11), next, 0x96)
    while (n >= 256) {
        z0 = FOLD(z0, k16, _mm512_loadu_si512(p + 0));
        z1 = FOLD(z1, k16, _mm512_loadu_si512(p + 64));
        z2 = FOLD(z2, k16, _mm512_loadu_si512(p + 128));
        z3 = FOLD(z3, k16, _mm512_loadu_si512(p + 192));
        p += 256;
        n -= 256;
    }
    z1 = FOLD(z0, k4, z1);
    z2 = FOLD(z1, k4, z2);
    z3 = FOLD(z2, k4, z3);
    while (n >= 64) {
        z3 = FOLD(z3, k4, _mm512_loadu_si512(p));
        p += 64;
        n -= 64;
    }
#undef FOLD
    __m128i x1 = _mm512_extracti32x4_epi32(z3, 0), x2 = _mm512_extracti32x4_epi32(z3, 1);
    __m128i x3 = _mm512_extracti32x4_epi32(z3, 2), x4 = _mm512_extracti32x4_epi32(z3, 3);
    /* finish() is SSE code; GCC puts no vzeroupper before the tail call, and
       left dirty, the upper state made the encoder's SSE (SHA-NI) code half
       as fast again on Zen 5 until something else cleared it. */
    _mm256_zeroupper();
    return finish(x1, x2, x3, x4, p, n);
}

static pthread_once_t choose_once = PTHREAD_ONCE_INIT;
static int have_clmul; /* 0 none, 1 PCLMULQDQ, 2 also VPCLMULQDQ on ZMM */
static int use_clmul;  /* what bl_crc32 uses; tests may lower it */

static void choose(void)
{
    bl_cpu_init();
    /* libgcc's AVX-512 checks include XCR0 (the OS saves ZMM state). */
    if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1"))
        have_clmul = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq") ? 2 : 1;
    use_clmul = have_clmul;
}

int bl_crc32_have_clmul(void)
{
    pthread_once(&choose_once, choose);
    return have_clmul;
}

int bl_crc32_use_clmul(int level)
{
    pthread_once(&choose_once, choose);
    int old = use_clmul;
    use_clmul = level < have_clmul ? level : have_clmul;
    return old;
}

const char *bl_crc32_kernel_name(void)
{
    pthread_once(&choose_once, choose);
    return use_clmul == 2 ? "vpclmulqdq" : use_clmul == 1 ? "pclmulqdq" : "zlib";
}

uint32_t bl_crc32(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    if (n >= 64) {
        pthread_once(&choose_once, choose);
        if (use_clmul) {
            size_t bulk = n & ~(size_t)15;
            crc = ~(use_clmul == 2 && bulk >= 256 ? fold512(b, bulk, ~crc) : fold(b, bulk, ~crc));
            b += bulk;
            n -= bulk;
        }
    }
    return n ? bl_crc32_zlib(crc, b, n) : crc;
}

#else

int bl_crc32_have_clmul(void) { return 0; }
int bl_crc32_use_clmul(int level) { return 0; }
const char *bl_crc32_kernel_name(void) { return "zlib"; }

uint32_t bl_crc32(uint32_t crc, const void *p, size_t n) { return bl_crc32_zlib(crc, p, n); }

#endif
