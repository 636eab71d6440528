/* sha256.h - private: HMAC-SHA256 (FIPS 180-4, RFC 2104) for the encoder's
 * per-token PRF, in batches of short messages.
 *
 * The encoder computes some fifty HMACs per record, each of a message of
 * about 7 to 20 bytes under one of a dozen sub-keys.  Two things make that
 * cheap here and not through a general hash API:
 * - The key's inner and outer blocks are compressed once (bl_hmac_key), so
 *   an HMAC of a message of at most BL_HMAC_SHORT_MAX bytes is exactly two
 *   compressions: the padded message after the inner midstate, then the
 *   padded inner digest after the outer midstate.
 * - Messages come in batches, so a kernel can run several independent
 *   compressions interleaved (SHA-NI: sha256rnds2 has a long latency and a
 *   short issue interval) or side by side in vector lanes.
 *
 * Kernels sit behind bl_hmac_ops and are chosen once at run time, as the
 * Dice kernels are (filter.c): per-function target attributes, never global
 * -m flags, so the library still runs on any x86-64.  All kernels give the
 * same bytes; the scalar one is the reference.
 */
#ifndef BL_SHA256_H
#define BL_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bloomlink.h"

/* The SIMD kernels are x86-64 only (the same test as filter.h's). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BL_HAVE_X86_SHA 1
#else
#define BL_HAVE_X86_SHA 0
#endif

#define BL_SHA256_BYTES 32
#define BL_SHA256_BLOCK 64
/* Longest message that fits one block with its 0x80 byte and 64-bit length. */
#define BL_HMAC_SHORT_MAX 55

/*
 * A key as its two midstates: the SHA-256 state after compressing
 * key ^ ipad and after key ^ opad (words a..h, host order).  These are
 * key-equivalent secrets: wipe with bl_hmac_key_wipe.
 */
typedef struct bl_hmac_key {
    uint32_t inner[8];
    uint32_t outer[8];
} bl_hmac_key;

/* Midstates of a key of any length (longer than a block: hashed first, as
   RFC 2104 says). */
void bl_hmac_key_init(bl_hmac_key *k, const uint8_t *key, size_t len);
void bl_hmac_key_wipe(bl_hmac_key *k);

/* One MAC to compute.  Messages in a batch may each use a different key. */
typedef struct bl_hmac_job {
    const bl_hmac_key *key;
    const uint8_t *msg;
    size_t len;
} bl_hmac_job;

/* out[i] = HMAC-SHA256(jobs[i].key, jobs[i].msg) for i < n, with the
   kernel in force.  Any length works; messages longer than
   BL_HMAC_SHORT_MAX take the (scalar) multi-block path. */
void bl_hmac_batch(const bl_hmac_job *jobs, size_t n, uint8_t (*out)[BL_SHA256_BYTES]);

/* One MAC of the concatenation of nparts pieces (any lengths), so a caller
   can hash prefix ‖ separator ‖ id without assembling a buffer. */
typedef struct bl_bytes {
    const uint8_t *p;
    size_t n;
} bl_bytes;
void bl_hmac_parts(const bl_hmac_key *k, const bl_bytes *parts, size_t nparts,
                   uint8_t out[BL_SHA256_BYTES]);

/* Plain SHA-256 of a message (scalar; tests and long keys). */
void bl_sha256(const uint8_t *msg, size_t len, uint8_t out[BL_SHA256_BYTES]);

/* ------------------------------------------------------------ kernels */

/*
 * A kernel computes a batch whose messages are all at most
 * BL_HMAC_SHORT_MAX bytes; out may not overlap the messages.  Any n >= 0.
 */
typedef struct bl_hmac_ops {
    const char *name;
    void (*short_batch)(const bl_hmac_job *jobs, size_t n, uint8_t (*out)[BL_SHA256_BYTES]);
} bl_hmac_ops;

/* The block a message of at most BL_HMAC_SHORT_MAX bytes makes after one
   key block: message, 0x80, zeros, and the 64-bit bit count (64 + len) * 8,
   of which only the last two bytes can be non-zero.  For the vector
   kernels, which pad a chunk of blocks first and load them back whole. */
static inline void bl_hmac_pad_short(uint8_t blk[BL_SHA256_BLOCK], const uint8_t *msg, size_t len)
{
    unsigned bits = (unsigned)(BL_SHA256_BLOCK + len) * 8;
    memset(blk, 0, BL_SHA256_BLOCK);
    if (len) /* an empty message may come with a null pointer */
        memcpy(blk, msg, len);
    blk[len] = 0x80;
    blk[62] = (uint8_t)(bits >> 8);
    blk[63] = (uint8_t)bits;
}

/* Round constants (FIPS 180-4 4.2.2), aligned for vector loads. */
extern const uint32_t bl_sha256_k[64];

extern const bl_hmac_ops bl_hmac_ops_scalar;
/* One message at a time through OpenSSL's SHA256_Transform
   (sha256_openssl.c): whatever assembly OpenSSL has for this CPU. */
extern const bl_hmac_ops bl_hmac_ops_openssl;
#if BL_HAVE_X86_SHA
/* SHA-NI with two and with four messages interleaved (sha256_shani.c). */
extern const bl_hmac_ops bl_hmac_ops_shani1;
extern const bl_hmac_ops bl_hmac_ops_shani2;
extern const bl_hmac_ops bl_hmac_ops_shani4;
/* One message per vector lane: 16 with AVX-512, 8 with AVX2 (sha256_mb.c). */
extern const bl_hmac_ops bl_hmac_ops_avx512;
extern const bl_hmac_ops bl_hmac_ops_avx2;
#endif

/* The kernel in force (never NULL); the pointer stays valid for the life of
   the process, so a hot loop may fetch it once. */
const bl_hmac_ops *bl_hmac_ops_active(void);
/* Kernel by name ("auto" = the best this CPU runs), or NULL when the name is
   unknown or this CPU cannot run it. */
const bl_hmac_ops *bl_hmac_ops_get(const char *name);
/* i-th compiled-in kernel name (i = 0 is "scalar"), NULL past the last;
   lets tests and the benchmark visit every kernel, available or not. */
const char *bl_hmac_kernel_at(size_t i);
/* What kernel `name` needs from the CPU, for skip messages. */
const char *bl_hmac_kernel_needs(const char *name);

#endif
