/* sha256_mb_body.h - the body of a multi-buffer HMAC-SHA256 kernel: one
 * message per vector lane, MB_LANES at a time.  Included by sha256_mb.c once
 * per target (AVX2 with 8 lanes, AVX-512 with 16), after it defines:
 *   MB_LANES, MB_V (vector type), MB_FN (function attributes: target),
 *   MB_INLINE (the same, always_inline), MB_NAME(x) (per-target names),
 *   MB_ADD, MB_ROR, MB_SHR, MB_XOR3, MB_CH, MB_MAJ, MB_SET1, MB_LOAD,
 *   MB_STORE, MB_BSWAP (byte order of each 32-bit word), and
 *   MB_TRANSPOSE(rows, W): MB_LANES rows of 16 words -> 16 vectors W[t]
 *   whose lane j is word t of row j.
 * Everything here is FIPS 180-4 6.2.2 with each variable a vector: the
 * round function has no data-dependent control flow, so sixteen messages
 * are sixteen independent lanes of the same instructions.
 */

/* The big and small sigma functions (FIPS 180-4 4.1.2). */
#define MB_BSIG0(x) MB_XOR3(MB_ROR(x, 2), MB_ROR(x, 13), MB_ROR(x, 22))
#define MB_BSIG1(x) MB_XOR3(MB_ROR(x, 6), MB_ROR(x, 11), MB_ROR(x, 25))
#define MB_SSIG0(x) MB_XOR3(MB_ROR(x, 7), MB_ROR(x, 18), MB_SHR(x, 3))
#define MB_SSIG1(x) MB_XOR3(MB_ROR(x, 17), MB_ROR(x, 19), MB_SHR(x, 10))

/* Round i, with the eight working variables renamed instead of moved:
   the caller rotates the argument order, so d and h are the ones written. */
#define MB_ROUND(a, b, c, d, e, f, g, h, i)                                                       \
    do {                                                                                          \
        if ((i) >= 16)                                                                            \
            W[(i)&15] = MB_ADD(MB_ADD(MB_SSIG1(W[((i)-2) & 15]), W[((i)-7) & 15]),                 \
                               MB_ADD(MB_SSIG0(W[((i)-15) & 15]), W[(i)&15]));                     \
        MB_V t1_ = MB_ADD(MB_ADD(h, MB_BSIG1(e)),                                                 \
                          MB_ADD(MB_CH(e, f, g), MB_ADD(MB_SET1(bl_sha256_k[i]), W[(i)&15])));     \
        MB_V t2_ = MB_ADD(MB_BSIG0(a), MB_MAJ(a, b, c));                                          \
        d = MB_ADD(d, t1_);                                                                       \
        h = MB_ADD(t1_, t2_);                                                                     \
    } while (0)

#define MB_ROUNDS8(i)                                                                             \
    MB_ROUND(a, b, c, d, e, f, g, h, (i) + 0);                                                    \
    MB_ROUND(h, a, b, c, d, e, f, g, (i) + 1);                                                    \
    MB_ROUND(g, h, a, b, c, d, e, f, (i) + 2);                                                    \
    MB_ROUND(f, g, h, a, b, c, d, e, (i) + 3);                                                    \
    MB_ROUND(e, f, g, h, a, b, c, d, (i) + 4);                                                    \
    MB_ROUND(d, e, f, g, h, a, b, c, (i) + 5);                                                    \
    MB_ROUND(c, d, e, f, g, h, a, b, (i) + 6);                                                    \
    MB_ROUND(b, c, d, e, f, g, h, a, (i) + 7)

/* One block for every lane: st += compress(st, W).  W is consumed.  Every
   index is a constant, so the arrays live in registers (AVX-512 has 32;
   AVX2 spills part of W, which is read once per round anyway). */
MB_INLINE void MB_NAME(compress)(MB_V st[8], MB_V W[16])
{
    MB_V a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    MB_ROUNDS8(0);
    MB_ROUNDS8(8);
    MB_ROUNDS8(16);
    MB_ROUNDS8(24);
    MB_ROUNDS8(32);
    MB_ROUNDS8(40);
    MB_ROUNDS8(48);
    MB_ROUNDS8(56);
    st[0] = MB_ADD(st[0], a);
    st[1] = MB_ADD(st[1], b);
    st[2] = MB_ADD(st[2], c);
    st[3] = MB_ADD(st[3], d);
    st[4] = MB_ADD(st[4], e);
    st[5] = MB_ADD(st[5], f);
    st[6] = MB_ADD(st[6], g);
    st[7] = MB_ADD(st[7], h);
}

/* Scratch of one group of lanes: the padded blocks, each lane's midstate
   and MAC words laid out lane-minor for vector loads.  Messages and
   key-derived words: wiped by the caller. */
typedef struct MB_NAME(scratch) {
    _Alignas(64) uint8_t blk[MB_LANES][BL_SHA256_BLOCK];
    _Alignas(64) uint32_t words[8][MB_LANES];
} MB_NAME(scratch);

/* Midstates (inner or outer) of every lane's key, as eight vectors. */
MB_INLINE void MB_NAME(load_midstates)(MB_V st[8], const bl_hmac_job *jobs, size_t n, int outer,
                                       MB_NAME(scratch) * sc)
{
    for (size_t j = 0; j < MB_LANES; j++) {
        const uint32_t *m = outer ? jobs[j < n ? j : 0].key->outer : jobs[j < n ? j : 0].key->inner;
        for (int w = 0; w < 8; w++)
            sc->words[w][j] = m[w];
    }
    for (int w = 0; w < 8; w++)
        st[w] = MB_LOAD(sc->words[w]);
}

/*
 * HMACs of jobs[0 .. n-1], 1 <= n <= MB_LANES.  Lanes past n hash a copy of
 * job 0 and are dropped, so a short group costs as much as a full one (the
 * batch function hands short tails to the scalar kernel when that is
 * cheaper).
 */
MB_FN static void MB_NAME(hmac_group)(const bl_hmac_job *jobs, size_t n,
                                      uint8_t (*out)[BL_SHA256_BYTES], MB_NAME(scratch) * sc)
{
    MB_V W[16], st[8];
    for (size_t j = 0; j < MB_LANES; j++) {
        const bl_hmac_job *job = &jobs[j < n ? j : 0];
        bl_hmac_pad_short(sc->blk[j], job->msg, job->len);
    }
    MB_TRANSPOSE(sc->blk, W);
    for (int t = 0; t < 16; t++)
        W[t] = MB_BSWAP(W[t]);
    MB_NAME(load_midstates)(st, jobs, n, 0, sc);
    MB_NAME(compress)(st, W);
    /* The outer block: the inner digest (already one word per lane, so no
       transpose) padded as 32 bytes after the outer key block. */
    for (int t = 0; t < 8; t++)
        W[t] = st[t];
    W[8] = MB_SET1(0x80000000u);
    for (int t = 9; t < 15; t++)
        W[t] = MB_SET1(0);
    W[15] = MB_SET1((BL_SHA256_BLOCK + BL_SHA256_BYTES) * 8);
    MB_NAME(load_midstates)(st, jobs, n, 1, sc);
    MB_NAME(compress)(st, W);
    for (int w = 0; w < 8; w++)
        MB_STORE(sc->words[w], MB_BSWAP(st[w]));
    for (size_t j = 0; j < n; j++)
        for (int w = 0; w < 8; w++)
            memcpy(out[j] + 4 * w, &sc->words[w][j], 4);
}

#undef MB_BSIG0
#undef MB_BSIG1
#undef MB_SSIG0
#undef MB_SSIG1
#undef MB_ROUND
#undef MB_ROUNDS8
/* The parameters too, so the next target defines its own. */
#undef MB_LANES
#undef MB_V
#undef MB_FN
#undef MB_INLINE
#undef MB_NAME
#undef MB_ADD
#undef MB_ROR
#undef MB_SHR
#undef MB_XOR3
#undef MB_CH
#undef MB_MAJ
#undef MB_SET1
#undef MB_LOAD
#undef MB_STORE
#undef MB_BSWAP
#undef MB_TRANSPOSE
