/* check_huffman.c - the Huffman-only zlib writer against zlib's inflate.
 *
 * Every case inflates the output with zlib and compares bytes, so a wrong
 * code, header, bit order or checksum fails here, not in a reader later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "huffman.h"
#include "tests.h"

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void random_bytes(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(mix(seed + i) >> 24);
}

/* Set each bit with probability percent/100. */
static void sparse_bits(uint8_t *p, size_t n, unsigned percent, uint64_t seed)
{
    memset(p, 0, n);
    for (size_t bit = 0; bit < 8 * n; bit++)
        if (mix(seed ^ (bit * 0x100000001b3ull)) % 100 < percent)
            p[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

/*
 * Records shaped like the .ble default layout (420 bytes): a random token,
 * presence mask and attributes, six field filters at 5-30% density of which
 * some are absent (all zero), a CLK at 30% and random 64-bit blocking keys.
 */
static void bloom_records(uint8_t *p, size_t n, uint64_t seed)
{
    uint8_t r[420];
    for (size_t off = 0, i = 0; off < n; off += sizeof r, i++) {
        uint64_t s = seed + i * 1000;
        memset(r, 0, sizeof r);
        random_bytes(r, 16, s);
        r[16] = (uint8_t)(mix(s + 17) & 0x3f);
        r[20] = (uint8_t)(1 + mix(s + 18) % 2);
        r[21] = (uint8_t)(mix(s + 19) % 12);
        for (unsigned f = 0; f < 6; f++)
            if (mix(s + 20 + f) % 5)
                sparse_bits(r + 24 + 40 * f, 40, 5 + 5 * f, s + 30 + f);
        sparse_bits(r + 264, 128, 30, s + 40);
        random_bytes(r + 392, 28, s + 50);
        size_t k = n - off < sizeof r ? n - off : sizeof r;
        memcpy(p + off, r, k);
    }
}

/* Compress, check the output against the bound and the zlib framing, inflate
   it with zlib and compare; returns the compressed size. */
static size_t round_trip(const uint8_t *in, size_t n)
{
    size_t bound = bl_huffman_zlib_bound(n), len = 0;
    ck_assert_uint_gt(bound, 0);
    uint8_t *out = malloc(bound);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(bl_huffman_zlib(in, n, out, bound, &len), BL_OK);
    ck_assert_uint_le(len, bound);
    ck_assert_uint_ge(len, 8);
    ck_assert_uint_eq(out[0], 0x78);
    ck_assert_uint_eq((out[0] * 256u + out[1]) % 31, 0);
    uint8_t *back = malloc(n + 1);
    ck_assert_ptr_nonnull(back);
    uLongf back_len = (uLongf)n + 1;
    uLong used = (uLong)len;
    /* uncompress2 reports how much input the stream used: it must be all of
       it, or the writer emitted a stream that ends early. */
    ck_assert_int_eq(uncompress2(back, &back_len, out, &used), Z_OK);
    ck_assert_uint_eq(used, len);
    ck_assert_uint_eq(back_len, n);
    ck_assert(n == 0 || memcmp(back, in, n) == 0);

    /* Same bytes again into a buffer exactly as long as the output: the
       writer must then avoid its whole-word stores past the end (ASan
       builds catch a stray byte). */
    uint8_t *tight = malloc(len);
    size_t len2 = 0;
    ck_assert_ptr_nonnull(tight);
    ck_assert_int_eq(bl_huffman_zlib(in, n, tight, len, &len2), BL_OK);
    ck_assert_uint_eq(len2, len);
    ck_assert(memcmp(tight, out, len) == 0);
    /* One byte short must fail cleanly. */
    ck_assert_int_eq(bl_huffman_zlib(in, n, tight, len - 1, &len2), BL_EMISUSE);
    ck_assert_uint_eq(len2, 0);
    free(tight);
    free(back);
    free(out);
    return len;
}

static int first_block_lengths(const uint8_t *z, size_t n, uint8_t lit[257]);
static unsigned kraft(const uint8_t *len, unsigned nsym, unsigned *max);
static uint8_t *compress_alloc(const uint8_t *in, size_t n, size_t *len);

/* zlib's own Huffman-only deflate (what encfile used before), for sizes. */
static size_t zlib_huffman_size(const uint8_t *in, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit2(&z, 1, Z_DEFLATED, 15, 8, Z_HUFFMAN_ONLY), Z_OK);
    uLong cap = compressBound((uLong)n);
    uint8_t *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    free(out);
    return len;
}

START_TEST(empty_input)
{
    /* Known answer: one fixed-Huffman block holding only end-of-block, the
       same 8 bytes zlib writes for empty input. */
    static const uint8_t want[8] = {0x78, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    uint8_t out[16];
    size_t len = 0;
    ck_assert_int_eq(bl_huffman_zlib(NULL, 0, out, sizeof out, &len), BL_OK);
    ck_assert_uint_eq(len, sizeof want);
    ck_assert(memcmp(out, want, sizeof want) == 0);
    uint8_t none = 0;
    ck_assert_uint_eq(round_trip(&none, 0), 8);
}
END_TEST

START_TEST(one_byte)
{
    static const uint8_t values[] = {0x00, 0x01, 0x41, 0x8f, 0x90, 0xff};
    for (size_t i = 0; i < sizeof values; i++)
        ck_assert_uint_le(round_trip(values + i, 1), bl_huffman_zlib_bound(1));
    /* A few bytes are cheapest as a fixed-code block: 2 + 1..2 + 4. */
    const uint8_t hello[] = "hello";
    ck_assert_uint_lt(round_trip(hello, 5), 5 + 6 + 5);
}
END_TEST

/* One literal plus end-of-block: the smallest dynamic code (two 1-bit
   codes), so a long run costs one bit a byte. */
START_TEST(all_same_bytes)
{
    static const size_t sizes[] = {2, 3, 100, 4096, 65535, 65536, 300000};
    static const uint8_t values[] = {0x00, 0xab, 0xff};
    size_t max = 300000;
    uint8_t *in = malloc(max);
    ck_assert_ptr_nonnull(in);
    for (size_t v = 0; v < sizeof values; v++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t n = sizes[i];
            memset(in, values[v], n);
            size_t len = round_trip(in, n);
            size_t blocks = (n + 65534) / 65535;
            if (n < 4096)
                continue;
            ck_assert_uint_le(len, n / 8 + 6 + 40 * blocks);
            uint8_t *out = compress_alloc(in, n, &len), lit[257];
            ck_assert_int_eq(first_block_lengths(out, len, lit), 2);
            unsigned longest;
            ck_assert_uint_eq(kraft(lit, 257, &longest), 32768);
            ck_assert_uint_eq(longest, 1);
            ck_assert_uint_eq(lit[values[v]], 1);
            ck_assert_uint_eq(lit[256], 1);
            free(out);
        }
    free(in);
}
END_TEST

/* Random bytes do not shrink: every block must fall back to stored, which
   makes the output exactly the bound. */
START_TEST(uniform_random_is_stored)
{
    static const size_t sizes[] = {1000, 65535, 65536, 200000};
    uint8_t *in = malloc(200000);
    ck_assert_ptr_nonnull(in);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        random_bytes(in, sizes[i], 42 + i);
        size_t len = round_trip(in, sizes[i]);
        ck_assert_uint_eq(len, bl_huffman_zlib_bound(sizes[i]));
    }
    free(in);
}
END_TEST

/*
 * Literal code lengths of the first block of a zlib stream, read with a
 * minimal deflate header parser of its own (RFC 1951 3.2.7), so the tests
 * can see the code the writer chose, not just that zlib accepted it.
 * Returns the block type, or -1 for a malformed header.
 */
typedef struct bitreader {
    const uint8_t *p;
    size_t n, pos;
} bitreader;

static unsigned get_bits(bitreader *r, unsigned k)
{
    unsigned v = 0;
    for (unsigned i = 0; i < k; i++, r->pos++)
        if (r->pos / 8 < r->n)
            v |= (unsigned)((r->p[r->pos / 8] >> (r->pos % 8)) & 1) << i;
    return v;
}

/* Decode one symbol of a canonical code, one bit at a time. */
static int get_symbol(bitreader *r, const uint8_t *len, unsigned nsym)
{
    unsigned code = 0, first = 0;
    for (unsigned bits = 1; bits <= 15; bits++) {
        code |= get_bits(r, 1);
        unsigned count = 0;
        for (unsigned s = 0; s < nsym; s++)
            count += len[s] == bits;
        if (code - first < count) {
            unsigned k = code - first;
            for (unsigned s = 0; s < nsym; s++)
                if (len[s] == bits && k-- == 0)
                    return (int)s;
        }
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

static int first_block_lengths(const uint8_t *z, size_t n, uint8_t lit[257])
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};
    bitreader r = {z + 2, n - 2, 0};
    get_bits(&r, 1);
    int type = (int)get_bits(&r, 2);
    if (type != 2)
        return type;
    unsigned hlit = get_bits(&r, 5) + 257, hdist = get_bits(&r, 5) + 1, hclen = get_bits(&r, 4) + 4;
    uint8_t cl[19] = {0}, lens[320] = {0};
    for (unsigned i = 0; i < hclen; i++)
        cl[order[i]] = (uint8_t)get_bits(&r, 3);
    for (unsigned i = 0; i < hlit + hdist;) {
        int sym = get_symbol(&r, cl, 19);
        if (sym < 0)
            return -1;
        unsigned rep = 1, val = (unsigned)sym;
        if (sym == 16) {
            if (i == 0)
                return -1;
            val = lens[i - 1];
            rep = 3 + get_bits(&r, 2);
        } else if (sym == 17) {
            val = 0;
            rep = 3 + get_bits(&r, 3);
        } else if (sym == 18) {
            val = 0;
            rep = 11 + get_bits(&r, 7);
        }
        if (i + rep > hlit + hdist)
            return -1;
        while (rep--)
            lens[i++] = (uint8_t)val;
    }
    memcpy(lit, lens, 257);
    return type;
}

/* Kraft sum of a code in units of 2^-15: 32768 for a complete code. */
static unsigned kraft(const uint8_t *len, unsigned nsym, unsigned *max)
{
    unsigned sum = 0;
    *max = 0;
    for (unsigned s = 0; s < nsym; s++)
        if (len[s]) {
            sum += 32768u >> len[s];
            if (len[s] > *max)
                *max = len[s];
        }
    return sum;
}

/*
 * Fibonacci counts give the deepest Huffman tree: with counts 1, 2, 3, 5,
 * ... and end-of-block's 1, no two weights tie, every merge takes the
 * previous subtree, and k literals want a k-bit code.  17-22 literals (one
 * block of up to 46,366 bytes) want 17-22 bits, so the writer must limit
 * the code to 15 bits, keep it complete, and stay as good as zlib.
 */
static size_t fibonacci_data(uint8_t *p, unsigned symbols, uint64_t seed)
{
    size_t n = 0;
    uint32_t a = 1, b = 2;
    for (unsigned s = 0; s < symbols; s++) {
        for (uint32_t k = 0; k < a; k++)
            p[n++] = (uint8_t)(s * 11 + 3);
        uint32_t c = a + b;
        a = b;
        b = c;
    }
    /* Shuffle, so each block of a multi-block input sees the same skew. */
    for (size_t i = n; i > 1; i--) {
        size_t j = mix(seed + i) % i;
        uint8_t t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    return n;
}

static uint8_t *compress_alloc(const uint8_t *in, size_t n, size_t *len)
{
    uint8_t *out = malloc(bl_huffman_zlib_bound(n));
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(bl_huffman_zlib(in, n, out, bl_huffman_zlib_bound(n), len), BL_OK);
    return out;
}

START_TEST(skewed_needs_length_limit)
{
    uint8_t *in = malloc(200000);
    ck_assert_ptr_nonnull(in);
    static const unsigned symbol_counts[] = {15, 17, 18, 20, 22, 23};
    for (size_t i = 0; i < sizeof symbol_counts / sizeof symbol_counts[0]; i++) {
        unsigned k = symbol_counts[i];
        size_t n = fibonacci_data(in, k, i);
        size_t ours = round_trip(in, n), theirs = zlib_huffman_size(in, n);
        ck_assert_msg(ours <= theirs + theirs / 100 + 8, "%u symbols: %zu bytes, zlib %zu", k, ours,
                      theirs);
        if (n > 65535)
            continue; /* several blocks: each sees only part of the skew */
        size_t len;
        uint8_t *out = compress_alloc(in, n, &len), lit[257];
        ck_assert_int_eq(first_block_lengths(out, len, lit), 2);
        unsigned max, sum = kraft(lit, 257, &max);
        ck_assert_uint_eq(sum, 32768);
        ck_assert_uint_eq(max, k <= 15 ? k : 15);
        free(out);
    }
    /* Two symbols only, one of them rare: 1-bit codes, still limited. */
    memset(in, 7, 60000);
    in[12345] = 200;
    ck_assert_uint_le(round_trip(in, 60000), 60000 / 8 + 60);
    free(in);
}
END_TEST

/* The data the writer exists for: compressed within a few % of zlib's
   Huffman-only deflate (in practice a little smaller: fewer, larger
   blocks), and really compressed. */
START_TEST(bloom_filters_match_zlib)
{
    size_t n = 4096 * 420;
    uint8_t *in = malloc(n);
    ck_assert_ptr_nonnull(in);
    bloom_records(in, n, 7);
    size_t ours = round_trip(in, n), theirs = zlib_huffman_size(in, n);
    ck_assert_msg(ours * 100 <= theirs * 102, "ours %zu bytes, zlib %zu", ours, theirs);
    ck_assert_msg(ours * 100 <= n * 85, "ours %zu of %zu bytes", ours, n);
    size_t len;
    uint8_t *out = compress_alloc(in, n, &len), lit[257];
    ck_assert_int_eq(first_block_lengths(out, len, lit), 2);
    unsigned max;
    ck_assert_uint_eq(kraft(lit, 257, &max), 32768);
    ck_assert_uint_le(max, 15);
    free(out);
    /* Pure sparse filters at 10%, without keys or tokens. */
    sparse_bits(in, 200000, 10, 99);
    ours = round_trip(in, 200000);
    theirs = zlib_huffman_size(in, 200000);
    ck_assert_msg(ours * 100 <= theirs * 102, "sparse: ours %zu bytes, zlib %zu", ours, theirs);
    ck_assert_uint_lt(ours, 200000 * 6 / 10);
    /* One record: a tiny block pays its table header and still shrinks. */
    ck_assert_uint_lt(round_trip(in, 420), 420 + 11);
    free(in);
}
END_TEST

/* Sizes around the 65,535-byte block limit, and mixtures where stored and
   Huffman blocks alternate, so a stored block starts at every bit offset. */
START_TEST(block_boundaries)
{
    static const size_t sizes[] = {65534, 65535, 65536, 65537, 131069, 131070, 131071,
                                   131072, 196605, 196606, 262140, 262141};
    size_t max = 262141;
    uint8_t *in = malloc(max);
    ck_assert_ptr_nonnull(in);
    bloom_records(in, max, 3);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        round_trip(in, sizes[i]);
    for (uint64_t seed = 0; seed < 8; seed++) {
        /* Alternate 40-70 KB stretches of random and sparse bytes. */
        size_t off = 0;
        for (unsigned part = 0; off < max; part++) {
            size_t len = 40000 + mix(seed * 100 + part) % 30000;
            if (len > max - off)
                len = max - off;
            if ((part + seed) % 2)
                random_bytes(in + off, len, seed * 1000 + part);
            else
                sparse_bits(in + off, len, 3 + (unsigned)(seed * 5), seed + part);
            off += len;
        }
        round_trip(in, max - seed * 9973);
    }
    free(in);
}
END_TEST

/* Every byte value with roughly equal counts except a few: all 257 codes
   in use, lengths 7-9, the code-length code's repeat symbols exercised. */
START_TEST(full_alphabet)
{
    size_t n = 100000;
    uint8_t *in = malloc(n);
    ck_assert_ptr_nonnull(in);
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)(mix(i) % 3 ? mix(i + 7) % 256 : mix(i + 9) % 16);
    size_t len = round_trip(in, n);
    ck_assert_uint_lt(len, n);
    free(in);
}
END_TEST

/* encfile's reader rejects a block longer than zlib's compressBound, so the
   writer's bound must never exceed it. */
START_TEST(bound_within_compress_bound)
{
    for (size_t n = 0; n < 300000; n += n < 1000 ? 1 : 997)
        ck_assert_msg(bl_huffman_zlib_bound(n) <= compressBound((uLong)n), "n = %zu", n);
    static const size_t big[] = {65535, 65536, 4096 * 420, 4096 * 2000, (size_t)1 << 31};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        ck_assert_uint_le(bl_huffman_zlib_bound(big[i]), compressBound((uLong)big[i]));
    ck_assert_uint_eq(bl_huffman_zlib_bound(SIZE_MAX), 0);
}
END_TEST

START_TEST(misuse)
{
    uint8_t in[4] = {1, 2, 3, 4}, out[64];
    size_t len = 99;
    ck_assert_int_eq(bl_huffman_zlib(NULL, 4, out, sizeof out, &len), BL_EMISUSE);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(bl_huffman_zlib(in, 4, NULL, sizeof out, &len), BL_EMISUSE);
    ck_assert_int_eq(bl_huffman_zlib(in, 4, out, sizeof out, NULL), BL_EMISUSE);
    ck_assert_int_eq(bl_huffman_zlib(in, 4, out, 5, &len), BL_EMISUSE);
}
END_TEST

/* Compress with the AVX-512 kernels and with the portable code only: the
   streams must be the same bytes (same codes, same bit order), and the CRC
   from bl_huffman_zlib_crc must be zlib's.  Skipped where the CPU has no
   AVX-512 (both runs would take the portable path). */
static void same_both_ways(const uint8_t *in, size_t n)
{
    size_t bound = bl_huffman_zlib_bound(n), la = 0, lb = 0;
    uint8_t *a = malloc(bound), *b = malloc(bound);
    ck_assert(a && b);
    uint32_t ca = 1, cb = 2;
    bl_huffman_use_simd(1);
    ck_assert_int_eq(bl_huffman_zlib_crc(in, n, a, bound, &la, &ca), BL_OK);
    bl_huffman_use_simd(0);
    ck_assert_int_eq(bl_huffman_zlib_crc(in, n, b, bound, &lb, &cb), BL_OK);
    bl_huffman_use_simd(1);
    ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "n = %zu: streams differ", n);
    ck_assert_uint_eq(ca, (uint32_t)crc32(0, in, (uInt)n));
    ck_assert_uint_eq(cb, ca);
    free(a);
    free(b);
}

START_TEST(simd_matches_portable)
{
    bl_huffman_use_simd(1);
    if (strcmp(bl_huffman_kernel_name(), "avx512vbmi") != 0) {
        fprintf(stderr, "skip huffman kernel avx512vbmi: CPU lacks AVX-512 VBMI\n");
        return;
    }
    size_t max = 4096 * 448;
    uint8_t *in = malloc(max);
    ck_assert_ptr_nonnull(in);
    bloom_records(in, max, 11);
    same_both_ways(in, max);
    /* Every length near the 64-byte step, from several offsets (tails and
       tiny blocks), then a spread of lengths up to a few blocks. */
    for (size_t n = 0; n < 300; n++)
        same_both_ways(in + n % 7, n);
    for (uint64_t t = 0; t < 40; t++)
        same_both_ways(in + t, (size_t)(mix(t) % 300000));
    /* Sparse filters (long codes), random bytes (stored), skewed data whose
       code needs 15 bits (the kernel's limit is 14: portable loop). */
    sparse_bits(in, 200000, 3, 5);
    same_both_ways(in, 200000);
    random_bytes(in, 100000, 6);
    same_both_ways(in, 100000);
    for (unsigned k = 14; k <= 18; k++) {
        size_t n = fibonacci_data(in, k, k);
        same_both_ways(in, n);
    }
    free(in);
}
END_TEST

/* The block-at-a-time interface: blocks over 65,535 bytes are refused and
   the failure sticks; an empty final block ends a stream validly. */
START_TEST(stream_interface)
{
    size_t n = 70000;
    uint8_t *in = malloc(n), *out = malloc(bl_huffman_zlib_bound(n) + 16), back[70000];
    ck_assert(in && out);
    bloom_records(in, n, 4);
    bl_huffman_stream *s = malloc(bl_huffman_stream_size());
    size_t len;
    uint32_t crc;
    ck_assert_int_eq(bl_huffman_begin(s, out, bl_huffman_zlib_bound(n) + 16), BL_OK);
    ck_assert_int_eq(bl_huffman_block(s, in, 65536, 0), BL_EMISUSE);
    ck_assert_int_eq(bl_huffman_block(s, in, 10, 1), BL_EMISUSE);
    ck_assert_int_eq(bl_huffman_end(s, &len, &crc), BL_EMISUSE);
    ck_assert_int_eq(bl_huffman_begin(s, out, bl_huffman_zlib_bound(n) + 16), BL_OK);
    ck_assert_int_eq(bl_huffman_block(s, in, 60000, 0), BL_OK);
    ck_assert_int_eq(bl_huffman_block(s, in + 60000, 10000, 0), BL_OK);
    ck_assert_int_eq(bl_huffman_block(s, NULL, 0, 1), BL_OK);
    ck_assert_int_eq(bl_huffman_end(s, &len, &crc), BL_OK);
    ck_assert_uint_eq(crc, (uint32_t)crc32(0, in, (uInt)n));
    uLongf back_len = sizeof back;
    ck_assert_int_eq(uncompress(back, &back_len, out, (uLong)len), Z_OK);
    ck_assert_uint_eq(back_len, n);
    ck_assert(!memcmp(back, in, n));
    free(s);
    free(in);
    free(out);
}
END_TEST

/* The whole suite again with the portable code only. */
static void portable_setup(void) { bl_huffman_use_simd(0); }
static void portable_teardown(void) { bl_huffman_use_simd(1); }

Suite *suite_huffman(void)
{
    Suite *s = suite_create("huffman");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, empty_input);
    tcase_add_test(tc, one_byte);
    tcase_add_test(tc, all_same_bytes);
    tcase_add_test(tc, uniform_random_is_stored);
    tcase_add_test(tc, skewed_needs_length_limit);
    tcase_add_test(tc, bloom_filters_match_zlib);
    tcase_add_test(tc, block_boundaries);
    tcase_add_test(tc, full_alphabet);
    tcase_add_test(tc, bound_within_compress_bound);
    tcase_add_test(tc, misuse);
    tcase_add_test(tc, simd_matches_portable);
    tcase_add_test(tc, stream_interface);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("portable");
    tcase_set_timeout(tp, 60);
    tcase_add_checked_fixture(tp, portable_setup, portable_teardown);
    tcase_add_test(tp, skewed_needs_length_limit);
    tcase_add_test(tp, bloom_filters_match_zlib);
    tcase_add_test(tp, block_boundaries);
    tcase_add_test(tp, full_alphabet);
    suite_add_tcase(s, tp);
    return s;
}
