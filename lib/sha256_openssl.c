/* sha256_openssl.c - HMAC-SHA256 of short messages, one compression at a
 * time through OpenSSL's SHA256_Transform.
 *
 * The fallback for CPUs that none of our vector kernels serve: on AArch64
 * OpenSSL uses the ARMv8 SHA-2 instructions, and on x86-64 without AVX2 it
 * still has assembly about twice as fast as our portable C (measured on the
 * Zen 5 with OpenSSL's SHA-NI path masked off: 3.8 M HMACs/s through
 * SHA256_Update/Final against 1.9 M/s for the scalar kernel).  Without it,
 * moving the PRF off OpenSSL would have made the encoder slower there.
 *
 * SHA256_Transform is the only OpenSSL call that compresses one block from
 * a state we supply (our midstates), with no padding or length bookkeeping;
 * it is deprecated in OpenSSL 3 but still exported.  Only this file opts
 * in to the deprecated declarations.
 */
#include "config.h"

#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/sha.h>
#include <string.h>

#include "sha256.h"

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Blocks are written a chunk at a time, each pass before the next reads
   them: SHA256_Transform loading a block straight after it was written
   byte by byte stalls on store forwarding, twice per message. */
enum { CHUNK = 16 };

static void openssl_short_batch(const bl_hmac_job *jobs, size_t n,
                                uint8_t (*out)[BL_SHA256_BYTES])
{
    struct {
        SHA256_CTX c;
        uint8_t inner[CHUNK][BL_SHA256_BLOCK], outer[CHUNK][BL_SHA256_BLOCK];
    } t;
    memset(&t.c, 0, sizeof t.c);
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        for (size_t j = 0; j < m; j++)
            bl_hmac_pad_short(t.inner[j], jobs[at + j].msg, jobs[at + j].len);
        for (size_t j = 0; j < m; j++) {
            for (int w = 0; w < 8; w++)
                t.c.h[w] = jobs[at + j].key->inner[w];
            SHA256_Transform(&t.c, t.inner[j]);
            /* The outer block: the inner digest, padded as 32 bytes after
               the outer key block. */
            uint8_t *o = t.outer[j];
            memset(o, 0, BL_SHA256_BLOCK);
            for (int w = 0; w < 8; w++)
                put_be32(o + 4 * w, (uint32_t)t.c.h[w]);
            o[32] = 0x80;
            put_be32(o + 60, (BL_SHA256_BLOCK + BL_SHA256_BYTES) * 8);
        }
        for (size_t j = 0; j < m; j++) {
            for (int w = 0; w < 8; w++)
                t.c.h[w] = jobs[at + j].key->outer[w];
            SHA256_Transform(&t.c, t.outer[j]);
            for (int w = 0; w < 8; w++)
                put_be32(out[at + j] + 4 * w, (uint32_t)t.c.h[w]);
        }
    }
    bl_wipe(&t, sizeof t);
}

const bl_hmac_ops bl_hmac_ops_openssl = {"openssl", openssl_short_batch};
