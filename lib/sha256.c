/* sha256.c - SHA-256 and HMAC-SHA256 from FIPS 180-4 and RFC 2104: the
 * portable scalar kernel (the reference the others are tested against),
 * the multi-block path for long messages, key midstates, run-time kernel
 * choice, and the public PRF-kernel calls.
 *
 * The scalar compression is the standard's pseudo-code nearly line for line
 * (section 6.2.2), kept rolled and plain: it is the reference, and the
 * baseline the benchmark reports the others against.
 */
#include "config.h"

#include "sha256.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "error.h"
#include "filter.h"

/* ------------------------------------------------------------ constants */

/* FIPS 180-4 4.2.2: first 32 bits of the fractional parts of the cube roots
   of the first 64 primes. */
_Alignas(64) const uint32_t bl_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* FIPS 180-4 5.3.3: square roots of the first 8 primes. */
static const uint32_t sha256_h0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* ------------------------------------------------------ scalar compress */

static inline uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Scratch of one compression.  The caller owns it so that it can wipe it
   once per batch instead of once per block: the words hold message and,
   for the outer block, key-derived values. */
typedef struct sha_scratch {
    uint32_t w[64];
} sha_scratch;

/* FIPS 180-4 6.2.2 steps 1-4 for one block given as 16 words.  The working
   variables are locals, as in the standard, so they live in registers. */
static void compress(uint32_t st[8], const uint32_t m[16], sha_scratch *s)
{
    uint32_t *w = s->w;
    for (int t = 0; t < 16; t++)
        w[t] = m[t];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = s1 + w[t - 7] + s0 + w[t - 16];
    }
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6],
             h = st[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                      bl_sha256_k[t] + w[t];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
    st[4] += e;
    st[5] += f;
    st[6] += g;
    st[7] += h;
}

static void compress_bytes(uint32_t st[8], const uint8_t block[64], uint32_t m[16], sha_scratch *s)
{
    for (int i = 0; i < 16; i++)
        m[i] = load_be32(block + 4 * i);
    compress(st, m, s);
}

/* ------------------------------------------------- general (any length) */

/* A running hash: state, partial block, and bytes hashed so far (the
   midstate of an HMAC key counts as one block already done). */
typedef struct sha_stream {
    uint32_t st[8];
    uint8_t buf[64];
    uint32_t m[16];
    size_t fill;
    uint64_t total;
    sha_scratch s;
} sha_stream;

static void stream_start(sha_stream *h, const uint32_t st[8], uint64_t done)
{
    memcpy(h->st, st, sizeof h->st);
    h->fill = 0;
    h->total = done;
}

static void stream_add(sha_stream *h, const uint8_t *p, size_t n)
{
    h->total += n;
    while (n) {
        size_t take = 64 - h->fill < n ? 64 - h->fill : n;
        memcpy(h->buf + h->fill, p, take);
        h->fill += take;
        p += take;
        n -= take;
        if (h->fill == 64) {
            compress_bytes(h->st, h->buf, h->m, &h->s);
            h->fill = 0;
        }
    }
}

/* FIPS 180-4 5.1.1 padding; leaves the digest as words in h->st. */
static void stream_finish(sha_stream *h)
{
    uint64_t bits = h->total * 8;
    h->buf[h->fill++] = 0x80;
    if (h->fill > 56) {
        memset(h->buf + h->fill, 0, 64 - h->fill);
        compress_bytes(h->st, h->buf, h->m, &h->s);
        h->fill = 0;
    }
    memset(h->buf + h->fill, 0, 56 - h->fill);
    for (int i = 0; i < 8; i++)
        h->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    compress_bytes(h->st, h->buf, h->m, &h->s);
}

void bl_sha256(const uint8_t *msg, size_t len, uint8_t out[BL_SHA256_BYTES])
{
    sha_stream h;
    stream_start(&h, sha256_h0, 0);
    stream_add(&h, msg, len);
    stream_finish(&h);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, h.st[i]);
    bl_wipe(&h, sizeof h);
}

/* The outer block of an HMAC: the inner digest, padded as a 96-byte message
   (outer key block + 32 bytes), so its last word is 96 * 8. */
static void outer_words(uint32_t m[16], const uint32_t inner_digest[8])
{
    for (int i = 0; i < 8; i++)
        m[i] = inner_digest[i];
    m[8] = 0x80000000u;
    for (int i = 9; i < 15; i++)
        m[i] = 0;
    m[15] = (BL_SHA256_BLOCK + BL_SHA256_BYTES) * 8;
}

void bl_hmac_parts(const bl_hmac_key *k, const bl_bytes *parts, size_t nparts,
                   uint8_t out[BL_SHA256_BYTES])
{
    sha_stream h;
    stream_start(&h, k->inner, BL_SHA256_BLOCK);
    for (size_t i = 0; i < nparts; i++)
        stream_add(&h, parts[i].p, parts[i].n);
    stream_finish(&h);
    outer_words(h.m, h.st);
    memcpy(h.st, k->outer, sizeof h.st);
    compress(h.st, h.m, &h.s);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, h.st[i]);
    bl_wipe(&h, sizeof h);
}

void bl_hmac_key_init(bl_hmac_key *k, const uint8_t *key, size_t len)
{
    struct {
        uint8_t kb[64], pad[64];
        uint32_t m[16];
        sha_scratch s;
    } t;
    memset(t.kb, 0, sizeof t.kb);
    if (len > sizeof t.kb)
        bl_sha256(key, len, t.kb);
    else if (len)
        memcpy(t.kb, key, len);
    for (int i = 0; i < 64; i++)
        t.pad[i] = t.kb[i] ^ 0x36;
    memcpy(k->inner, sha256_h0, sizeof k->inner);
    compress_bytes(k->inner, t.pad, t.m, &t.s);
    for (int i = 0; i < 64; i++)
        t.pad[i] = t.kb[i] ^ 0x5c;
    memcpy(k->outer, sha256_h0, sizeof k->outer);
    compress_bytes(k->outer, t.pad, t.m, &t.s);
    bl_wipe(&t, sizeof t);
}

void bl_hmac_key_wipe(bl_hmac_key *k) { bl_wipe(k, sizeof *k); }

/* ------------------------------------------------------- scalar kernel */

/* Words of the single padded block of a message of len <= 55 bytes that
   follows one key block: message, 0x80, zeros, 64-bit bit length. */
static void short_words(uint32_t m[16], const uint8_t *msg, size_t len)
{
    uint8_t b[64];
    memset(b, 0, sizeof b);
    if (len) /* an empty message may come with a null pointer */
        memcpy(b, msg, len);
    b[len] = 0x80;
    uint64_t bits = (BL_SHA256_BLOCK + (uint64_t)len) * 8;
    for (int i = 0; i < 8; i++)
        b[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    for (int i = 0; i < 16; i++)
        m[i] = load_be32(b + 4 * i);
}

static void scalar_short_batch(const bl_hmac_job *jobs, size_t n, uint8_t (*out)[BL_SHA256_BYTES])
{
    struct {
        uint32_t st[8], m[16];
        sha_scratch s;
    } t;
    for (size_t i = 0; i < n; i++) {
        short_words(t.m, jobs[i].msg, jobs[i].len);
        memcpy(t.st, jobs[i].key->inner, sizeof t.st);
        compress(t.st, t.m, &t.s);
        outer_words(t.m, t.st);
        memcpy(t.st, jobs[i].key->outer, sizeof t.st);
        compress(t.st, t.m, &t.s);
        for (int j = 0; j < 8; j++)
            store_be32(out[i] + 4 * j, t.st[j]);
    }
    bl_wipe(&t, sizeof t);
}

const bl_hmac_ops bl_hmac_ops_scalar = {"scalar", scalar_short_batch};

/* ------------------------------------------------------- kernel choice */

typedef struct kernel_entry {
    const char *name;
    const bl_hmac_ops *ops;
    const char *needs;
} kernel_entry;

/* Every compiled-in kernel, reference first. */
static const kernel_entry kernels[] = {
    {"scalar", &bl_hmac_ops_scalar, "nothing special"},
    {"openssl", &bl_hmac_ops_openssl, "nothing special"},
#if BL_HAVE_X86_SHA
    {"shani1", &bl_hmac_ops_shani1, "the SHA extensions (SHA-NI) and SSE4.1"},
    {"shani2", &bl_hmac_ops_shani2, "the SHA extensions (SHA-NI) and SSE4.1"},
    {"shani4", &bl_hmac_ops_shani4, "the SHA extensions (SHA-NI) and SSE4.1"},
    {"avx512", &bl_hmac_ops_avx512, "AVX-512 F and BW"},
    {"avx2", &bl_hmac_ops_avx2, "AVX2"},
#endif
};
#define NKERNELS (sizeof kernels / sizeof kernels[0])

/*
 * The kernel in force: with the Dice kernel pointer in filter.c, the
 * library's only process-wide mutable state.  hmac_once picks the best on
 * first use, after bl_cpu_init (filter.c) has set up libgcc's CPU model
 * for every dispatcher; afterwards only bl_set_prf_kernel replaces it.
 * Atomic so that a switch never tears a read; a batch that fetched the old
 * kernel finishes with it, which is harmless since every kernel gives the
 * same bytes.
 */
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static _Atomic(const bl_hmac_ops *) hmac_active;

static const kernel_entry *entry_of(const char *name)
{
    for (size_t i = 0; i < NKERNELS; i++)
        if (!strcmp(kernels[i].name, name))
            return &kernels[i];
    return NULL;
}

/* Whether the CPU and OS can run e.  Only after hmac_once has run. */
static int cpu_can_run(const kernel_entry *e)
{
#if BL_HAVE_X86_SHA
    /* libgcc's checks include XCR0, i.e. that the OS saves the vector state. */
    if (!strncmp(e->name, "shani", 5))
        return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1");
    if (e->ops == &bl_hmac_ops_avx512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    if (e->ops == &bl_hmac_ops_avx2)
        return __builtin_cpu_supports("avx2") != 0;
#endif
    return e->ops == &bl_hmac_ops_scalar || e->ops == &bl_hmac_ops_openssl;
}

/*
 * Best first.  On AMD Zen 5 (HMACs/s, 7-22 byte messages, best of 30) four
 * interleaved SHA-NI messages beat two, and tie with AVX-512's sixteen
 * lanes in full groups (about 20 M/s each), but the encoder's batches are
 * some 15 messages, where a part-filled 16-lane group loses (12 messages:
 * 13 M/s against 18.5 M/s).  AVX-512 and AVX2 serve x86 CPUs without
 * SHA-NI; OpenSSL's assembly serves the rest (AArch64, older x86), where it
 * beats our portable C, which stays the reference.
 */
static const char *const preference[] = {"shani4", "shani2", "avx512", "avx2", "openssl",
                                         "scalar"};

static const bl_hmac_ops *best(void)
{
    for (size_t i = 0; i < sizeof preference / sizeof preference[0]; i++) {
        const kernel_entry *e = entry_of(preference[i]);
        if (e && cpu_can_run(e))
            return e->ops;
    }
    return &bl_hmac_ops_scalar;
}

static void choose_best(void)
{
    bl_cpu_init();
    atomic_store_explicit(&hmac_active, best(), memory_order_release);
}

const bl_hmac_ops *bl_hmac_ops_active(void)
{
    const bl_hmac_ops *ops = atomic_load_explicit(&hmac_active, memory_order_acquire);
    if (!ops) {
        pthread_once(&hmac_once, choose_best);
        ops = atomic_load_explicit(&hmac_active, memory_order_acquire);
    }
    return ops;
}

const bl_hmac_ops *bl_hmac_ops_get(const char *name)
{
    pthread_once(&hmac_once, choose_best);
    if (!name)
        return NULL;
    if (!strcmp(name, "auto"))
        return best();
    const kernel_entry *e = entry_of(name);
    return e && cpu_can_run(e) ? e->ops : NULL;
}

const char *bl_hmac_kernel_at(size_t i) { return i < NKERNELS ? kernels[i].name : NULL; }

const char *bl_hmac_kernel_needs(const char *name)
{
    const kernel_entry *e = name ? entry_of(name) : NULL;
    return e ? e->needs : "an unknown kernel";
}

/* ------------------------------------------------------------- batches */

void bl_hmac_batch(const bl_hmac_job *jobs, size_t n, uint8_t (*out)[BL_SHA256_BYTES])
{
    const bl_hmac_ops *ops = bl_hmac_ops_active();
    size_t i = 0;
    while (i < n) {
        /* Hand the kernel each run of short messages whole. */
        size_t j = i;
        while (j < n && jobs[j].len <= BL_HMAC_SHORT_MAX)
            j++;
        if (j > i)
            ops->short_batch(jobs + i, j - i, out + i);
        if (j < n) {
            bl_bytes one = {jobs[j].msg, jobs[j].len};
            bl_hmac_parts(jobs[j].key, &one, 1, out[j]);
            j++;
        }
        i = j;
    }
}

/* ------------------------------------------------------------- public */

const char *bl_prf_kernel_name(void) { return bl_hmac_ops_active()->name; }

const char *bl_prf_kernel_at(size_t i) { return bl_hmac_kernel_at(i); }

int bl_prf_kernel_available(const char *name) { return bl_hmac_ops_get(name) != NULL; }

bl_status bl_set_prf_kernel(const char *name, bl_error *err)
{
    if (!name || (strcmp(name, "auto") && !entry_of(name)))
        return bl_fail(err, BL_EMISUSE, "bl_set_prf_kernel: unknown kernel '%s'",
                       name ? name : "(null)");
    const bl_hmac_ops *ops = bl_hmac_ops_get(name);
    if (!ops)
        return bl_fail(err, BL_EUNSUPPORTED,
                       "PRF kernel '%s' needs %s, which this CPU or operating system does not "
                       "provide",
                       name, bl_hmac_kernel_needs(name));
    atomic_store_explicit(&hmac_active, ops, memory_order_release);
    return BL_OK;
}

bl_status bl_prf_kernel_run(const char *name, size_t count, uint8_t digest[32], bl_error *err)
{
    if (!name || !digest || (strcmp(name, "auto") && !entry_of(name)))
        return bl_fail(err, BL_EMISUSE, "bl_prf_kernel_run: unknown kernel '%s'",
                       name ? name : "(null)");
    const bl_hmac_ops *ops = bl_hmac_ops_get(name);
    if (!ops)
        return bl_fail(err, BL_EUNSUPPORTED, "PRF kernel '%s' needs %s", name,
                       bl_hmac_kernel_needs(name));
    /*
     * The encoder's shape: batches of 64 under 8 keys in turn, messages of
     * 7 to 22 bytes (salt, separator, q-gram, counter).  The keys are fixed
     * public test keys: this measures speed and proves nothing secret.
     */
    enum { NKEYS = 8, BATCH = 64 };
    bl_hmac_key keys[NKEYS];
    for (int i = 0; i < NKEYS; i++) {
        uint8_t kb[32];
        for (int j = 0; j < 32; j++)
            kb[j] = (uint8_t)(i * 32 + j);
        bl_hmac_key_init(&keys[i], kb, sizeof kb);
    }
    uint8_t msgs[BATCH][32];
    bl_hmac_job jobs[BATCH];
    uint8_t out[BATCH][BL_SHA256_BYTES];
    for (size_t i = 0; i < BATCH; i++) {
        size_t len = 7 + i % 16;
        for (size_t j = 0; j < len; j++)
            msgs[i][j] = (uint8_t)(i * 31 + j);
        jobs[i] = (bl_hmac_job){NULL, msgs[i], len};
    }
    memset(digest, 0, 32);
    for (size_t done = 0, pass = 0; done < count; pass++) {
        size_t n = count - done < BATCH ? count - done : BATCH;
        for (size_t i = 0; i < n; i++)
            jobs[i].key = &keys[(i + pass) % NKEYS];
        ops->short_batch(jobs, n, out);
        /* Folding every MAC in keeps the work observable. */
        for (size_t i = 0; i < n; i++)
            for (int j = 0; j < 32; j++)
                digest[j] ^= out[i][j];
        done += n;
    }
    for (int i = 0; i < NKEYS; i++)
        bl_hmac_key_wipe(&keys[i]);
    return BL_OK;
}
