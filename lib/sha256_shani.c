/* sha256_shani.c - HMAC-SHA256 of short messages with the x86 SHA
 * extensions, several messages interleaved.
 *
 * sha256rnds2 does two rounds, so a block is 32 of them in a dependent
 * chain: one message at a time is bound by that instruction's latency,
 * while the core could start another every cycle or two.  Running 2 or 4
 * independent messages' rounds side by side fills those slots; the message
 * schedule (sha256msg1/msg2) is independent of the rounds and fills the rest.
 *
 * Measured on AMD EPYC (Zen 5), 7-22 byte messages in batches of 64, one
 * core, best of 30: one message at a time 13 M HMACs/s, two interleaved
 * 19 M/s, four 23 M/s (about 90 TSC cycles per HMAC at 2.1 GHz).  On that
 * core sha256rnds2 has about four times the latency of its issue interval,
 * so four chains keep it busy (its issue interval alone puts the floor
 * near 40 cycles).  The same code compiled with VEX encodings (fewer
 * register copies) was no faster, nor was keeping fewer values live.
 *
 * Register layout (Intel's documentation of SHA256RNDS2): the eight state
 * words live in two vectors, ABEF = {F, E, B, A} and CDGH = {H, G, D, C}
 * (lane 0 first); a round pair takes W[t] + K[t] and W[t+1] + K[t+1] in the
 * low two lanes of its third operand and returns the new ABEF, while the
 * old ABEF becomes the new CDGH.  Message words are held four to a vector,
 * W[4g] in lane 0.
 *
 * As in filter_avx2.c, the target attribute sits on each function, and
 * sha256.c calls in only after __builtin_cpu_supports("sha") and ("sse4.1").
 */
#include "config.h"

#include "sha256.h"

#if BL_HAVE_X86_SHA

#include <immintrin.h>
#include <string.h>

#define SHANI __attribute__((target("sha,sse4.1")))
#define SHANI_INLINE __attribute__((target("sha,sse4.1"), always_inline)) static inline

/* One message in flight: state and the last sixteen schedule words. */
typedef struct lane {
    __m128i abef, cdgh;
    __m128i m0, m1, m2, m3; /* W[4g..4g+3] of groups g = 0..3 (mod 4) */
    __m128i abef0, cdgh0;   /* state before the block, for the final addition */
} lane;

SHANI_INLINE __m128i load128(const void *p) { return _mm_loadu_si128((const __m128i *)p); }

/* Big-endian words of 16 bytes. */
SHANI_INLINE __m128i load_be(const uint8_t *p)
{
    const __m128i swap = _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    return _mm_shuffle_epi8(load128(p), swap);
}

/* State words a..h (host order) into ABEF / CDGH. */
SHANI_INLINE void state_in(lane *l, const uint32_t s[8])
{
    __m128i x = _mm_shuffle_epi32(load128(s), 0xB1);     /* b a d c */
    __m128i y = _mm_shuffle_epi32(load128(s + 4), 0xB1); /* f e h g */
    l->abef = l->abef0 = _mm_unpacklo_epi64(y, x);
    l->cdgh = l->cdgh0 = _mm_unpackhi_epi64(y, x);
}

/* ABEF / CDGH back to words a..d and e..h (the inverse of state_in). */
SHANI_INLINE void state_out(const lane *l, __m128i *abcd, __m128i *efgh)
{
    *abcd = _mm_shuffle_epi32(_mm_unpackhi_epi64(l->abef, l->cdgh), 0xB1);
    *efgh = _mm_shuffle_epi32(_mm_unpacklo_epi64(l->abef, l->cdgh), 0xB1);
}

/* W[t..t+3] from the previous sixteen words, a..d = groups g-4 .. g-1:
   W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]. */
SHANI_INLINE __m128i schedule(__m128i a, __m128i b, __m128i c, __m128i d)
{
    __m128i t = _mm_sha256msg1_epu32(a, b);             /* W[t-16] + s0(W[t-15]) */
    t = _mm_add_epi32(t, _mm_alignr_epi8(d, c, 4));     /* + W[t-7] */
    return _mm_sha256msg2_epu32(t, d);                  /* + s1(W[t-2]) */
}

/* Rounds 4g .. 4g+3.  g is a constant once inlined, so the switch folds away
   and only the register that holds group g is touched. */
SHANI_INLINE void group(lane *l, int g)
{
    __m128i m;
    switch (g & 3) {
    case 0:
        if (g >= 4)
            l->m0 = schedule(l->m0, l->m1, l->m2, l->m3);
        m = l->m0;
        break;
    case 1:
        if (g >= 4)
            l->m1 = schedule(l->m1, l->m2, l->m3, l->m0);
        m = l->m1;
        break;
    case 2:
        if (g >= 4)
            l->m2 = schedule(l->m2, l->m3, l->m0, l->m1);
        m = l->m2;
        break;
    default:
        if (g >= 4)
            l->m3 = schedule(l->m3, l->m0, l->m1, l->m2);
        m = l->m3;
        break;
    }
    __m128i wk = _mm_add_epi32(m, load128(&bl_sha256_k[4 * g]));
    l->cdgh = _mm_sha256rnds2_epu32(l->cdgh, l->abef, wk);
    l->abef = _mm_sha256rnds2_epu32(l->abef, l->cdgh, _mm_shuffle_epi32(wk, 0x0E));
}

SHANI_INLINE void feed_forward(lane *l)
{
    l->abef = _mm_add_epi32(l->abef, l->abef0);
    l->cdgh = _mm_add_epi32(l->cdgh, l->cdgh0);
}

/* Inner block from the inner midstate; blk was padded well before (see
   the batch functions), so its loads find the bytes in L1 rather than
   waiting on the narrower stores that wrote them. */
SHANI_INLINE void inner_start(lane *l, const bl_hmac_job *job, const uint8_t *blk)
{
    l->m0 = load_be(blk);
    l->m1 = load_be(blk + 16);
    l->m2 = load_be(blk + 32);
    l->m3 = load_be(blk + 48);
    state_in(l, job->key->inner);
}

/* Outer block: the inner digest (already words: no byte swap), padded as
   the 32 bytes after one key block, from the outer midstate. */
SHANI_INLINE void outer_start(lane *l, const bl_hmac_key *key)
{
    feed_forward(l);
    state_out(l, &l->m0, &l->m1);
    l->m2 = _mm_setr_epi32((int)0x80000000u, 0, 0, 0);
    l->m3 = _mm_setr_epi32(0, 0, 0, (BL_SHA256_BLOCK + BL_SHA256_BYTES) * 8);
    state_in(l, key->outer);
}

SHANI_INLINE void finish(lane *l, uint8_t *out)
{
    const __m128i swap = _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    __m128i abcd, efgh;
    feed_forward(l);
    state_out(l, &abcd, &efgh);
    _mm_storeu_si128((__m128i *)(void *)out, _mm_shuffle_epi8(abcd, swap));
    _mm_storeu_si128((__m128i *)(void *)(out + 16), _mm_shuffle_epi8(efgh, swap));
}

/*
 * The lanes are separate named locals (l0, l1, ...) rather than an array,
 * and the sixteen groups are spelled out, so every index is a constant and
 * the compiler keeps each lane in registers (spilling what does not fit)
 * instead of addressing an array.  EACH(X) expands X(j) for every lane j.
 */
#define EACH1(X) X(0)
#define EACH2(X) X(0) X(1)
#define EACH4(X) X(0) X(1) X(2) X(3)
#define G_(j, g) group(&l##j, g);
#define G0(j) G_(j, 0)
#define G1(j) G_(j, 1)
#define G2(j) G_(j, 2)
#define G3(j) G_(j, 3)
#define G4(j) G_(j, 4)
#define G5(j) G_(j, 5)
#define G6(j) G_(j, 6)
#define G7(j) G_(j, 7)
#define G8(j) G_(j, 8)
#define G9(j) G_(j, 9)
#define G10(j) G_(j, 10)
#define G11(j) G_(j, 11)
#define G12(j) G_(j, 12)
#define G13(j) G_(j, 13)
#define G14(j) G_(j, 14)
#define G15(j) G_(j, 15)
#define ALL_ROUNDS(EACH)                                                                          \
    EACH(G0) EACH(G1) EACH(G2) EACH(G3) EACH(G4) EACH(G5) EACH(G6) EACH(G7) EACH(G8) EACH(G9)    \
        EACH(G10) EACH(G11) EACH(G12) EACH(G13) EACH(G14) EACH(G15)
#define DECLARE(j) lane l##j;
#define INNER(j) inner_start(&l##j, &jobs[j], blk[j]);
#define OUTER(j) outer_start(&l##j, jobs[j].key);
#define FINISH(j) finish(&l##j, out[j]);

#define DEFINE_HMAC_LANES(name, EACH)                                                             \
    SHANI static void name(const bl_hmac_job *jobs, uint8_t (*out)[BL_SHA256_BYTES],              \
                           uint8_t (*blk)[BL_SHA256_BLOCK])                                       \
    {                                                                                             \
        EACH(DECLARE)                                                                             \
        EACH(INNER)                                                                               \
        ALL_ROUNDS(EACH)                                                                          \
        EACH(OUTER)                                                                               \
        ALL_ROUNDS(EACH)                                                                          \
        EACH(FINISH)                                                                              \
    }

DEFINE_HMAC_LANES(hmac_x1, EACH1)
DEFINE_HMAC_LANES(hmac_x2, EACH2)
DEFINE_HMAC_LANES(hmac_x4, EACH4)

/* Blocks padded ahead of the rounds.  A chunk of them is prepared before
   any is hashed: loading a block right after writing it byte-wise stalls
   on store forwarding, for every message.  Messages are personal data (a
   salt and a name's q-gram), so the blocks are wiped like the scalar
   kernel's scratch. */
enum { CHUNK = 16 };

SHANI static void shani2_batch(const bl_hmac_job *jobs, size_t n, uint8_t (*out)[BL_SHA256_BYTES])
{
    _Alignas(64) uint8_t blk[CHUNK][BL_SHA256_BLOCK];
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK, i = 0;
        for (size_t j = 0; j < m; j++)
            bl_hmac_pad_short(blk[j], jobs[at + j].msg, jobs[at + j].len);
        for (; i + 2 <= m; i += 2)
            hmac_x2(jobs + at + i, out + at + i, blk + i);
        if (i < m)
            hmac_x1(jobs + at + i, out + at + i, blk + i);
    }
    bl_wipe(blk, (n < CHUNK ? n : CHUNK) * sizeof blk[0]);
}

SHANI static void shani4_batch(const bl_hmac_job *jobs, size_t n, uint8_t (*out)[BL_SHA256_BYTES])
{
    _Alignas(64) uint8_t blk[CHUNK][BL_SHA256_BLOCK];
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK, i = 0;
        for (size_t j = 0; j < m; j++)
            bl_hmac_pad_short(blk[j], jobs[at + j].msg, jobs[at + j].len);
        for (; i + 4 <= m; i += 4)
            hmac_x4(jobs + at + i, out + at + i, blk + i);
        if (i + 2 <= m) {
            hmac_x2(jobs + at + i, out + at + i, blk + i);
            i += 2;
        }
        if (i < m)
            hmac_x1(jobs + at + i, out + at + i, blk + i);
    }
    bl_wipe(blk, (n < CHUNK ? n : CHUNK) * sizeof blk[0]);
}

SHANI static void shani1_batch(const bl_hmac_job *jobs, size_t n, uint8_t (*out)[BL_SHA256_BYTES])
{
    _Alignas(64) uint8_t blk[CHUNK][BL_SHA256_BLOCK];
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        for (size_t j = 0; j < m; j++)
            bl_hmac_pad_short(blk[j], jobs[at + j].msg, jobs[at + j].len);
        for (size_t i = 0; i < m; i++)
            hmac_x1(jobs + at + i, out + at + i, blk + i);
    }
    bl_wipe(blk, (n < CHUNK ? n : CHUNK) * sizeof blk[0]);
}

const bl_hmac_ops bl_hmac_ops_shani1 = {"shani1", shani1_batch};
const bl_hmac_ops bl_hmac_ops_shani2 = {"shani2", shani2_batch};
const bl_hmac_ops bl_hmac_ops_shani4 = {"shani4", shani4_batch};

#endif /* BL_HAVE_X86_SHA */
