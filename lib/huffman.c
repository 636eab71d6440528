/* huffman.c - Huffman-only zlib compressor, written from RFC 1950 and 1951.
 *
 * Encoding files are mostly Bloom filters: near-random bits at 10-50%
 * density, zero padding and random 64-bit keys.  LZ77 finds nothing in them,
 * but their byte values are skewed, so a per-block Huffman code saves about a
 * third.  zlib's deflate (level 1, Z_HUFFMAN_ONLY) gets the same ratio but
 * spends ~9 ns a byte in machinery built for matching; this does only what
 * the data needs: one pass for the histogram (and the Adler-32) and one
 * table-driven encoding pass, about 1 ns a byte in all.
 *
 * Stream layout (RFC 1950): 2-byte header, deflate blocks, Adler-32.
 * The input is split into blocks of at most 65,535 bytes, as even as
 * possible so no short tail block pays a whole table header for few bytes.
 * Each block is written in whichever of three forms is shortest, costed
 * exactly beforehand:
 *  - dynamic Huffman (BTYPE 10): literals and end-of-block only;
 *  - fixed Huffman (BTYPE 01): only wins for a few bytes (empty input);
 *  - stored (BTYPE 00): when coding would not shrink the block, e.g. keys
 *    or tokens alone.  65,535 is the largest stored block, so a block that
 *    falls back needs only one, which keeps the bound simple.
 * Because a block is never longer than its stored form, the output never
 * exceeds the all-stored size (bl_huffman_zlib_bound).
 *
 * Code lengths are limited to 15 bits (7 for the code-length code).  A plain
 * Huffman code is built first (linear time on sorted weights); only when it
 * is too deep does package-merge run, which gives the optimal limited code.
 * Sparse blocks do need it (at 5% density a 64 KiB block wants 16 bits for
 * its rarest byte).  Package-merge is optimal by construction, so it can be
 * tested against exact answers, and it costs 1-8 us on the blocks that need
 * it (under 0.15 ns a byte).  Rescaling the frequencies and rebuilding
 * measured within 0.002% of it, so the choice is about certainty, not ratio.
 */
#include "config.h"

#include "huffman.h"

#include <pthread.h>
#include <string.h>

#include "crc32.h"
#include "filter.h" /* BL_HAVE_X86_KERNELS, bl_cpu_init */

enum {
    NLIT = 257,          /* literals 0..255 and end-of-block; no length codes */
    EOB = 256,
    NDIST = 2,           /* two unused distance codes, see plan_dynamic */
    NCL = 19,            /* code-length alphabet */
    MAX_BITS = 15,       /* RFC 1951 3.2.7 */
    MAX_CL_BITS = 7,     /* code-length code lengths are sent in 3 bits */
    MAX_SYMS = NLIT,     /* largest alphabet we build a code for */
    BLOCK_MAX = 65535,   /* largest stored block (LEN is 16 bits) */
};

/* Frequencies must fit the two 8-bit radix passes in sort_by_freq. */
_Static_assert(BLOCK_MAX < 65536, "block frequencies must stay below 2^16");

/* Order in which code-length code lengths are sent (RFC 1951 3.2.7). */
static const uint8_t cl_order[NCL] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};

/* ------------------------------------------------------------- bit output */

/* Bits go out LSB first (RFC 1951 3.1.1).  `count` stays below 8 between
   calls, so up to 56 bits can be added before a flush is needed. */
typedef struct bitwriter {
    uint64_t bits;
    unsigned count;
    uint8_t *p;
} bitwriter;

/* Callers have checked that the block fits, so these never bound-check. */
static void put_bits(bitwriter *w, uint32_t value, unsigned n)
{
    w->bits |= (uint64_t)value << w->count;
    w->count += n;
    while (w->count >= 8) {
        *w->p++ = (uint8_t)w->bits;
        w->bits >>= 8;
        w->count -= 8;
    }
}

static void align_byte(bitwriter *w)
{
    if (w->count)
        put_bits(w, 0, 8 - w->count);
}

/* Code tables hold the bit-reversed code in the low 16 bits (Huffman codes
   are sent most significant bit first, into an LSB-first stream) and the
   length above it, so the hot loop needs one load per symbol. */
#define ENTRY_CODE(e) ((e) & 0xffffu)
#define ENTRY_LEN(e) ((e) >> 16)

static void put_symbol(bitwriter *w, uint32_t entry)
{
    put_bits(w, ENTRY_CODE(entry), ENTRY_LEN(entry));
}

/*
 * The hot loop.  Codes are paired before they meet the bit buffer, which
 * halves the serial shift-or-add chain through it, then the whole 64-bit
 * word is stored unaligned and the pointer advances by the complete bytes
 * only.  At most 7 bits are pending after a store, so four codes fit before
 * the next when none is longer than 14 bits (7 + 4 * 14 = 63); with 15-bit
 * codes only three do.  Each store writes up to 8 bytes past the last
 * complete one: the caller guarantees that slack.
 */
static inline __attribute__((always_inline)) void
put_literals_body(bitwriter *w, const uint8_t *in, size_t n, const uint32_t *table, const int four)
{
    uint64_t bits = w->bits;
    unsigned count = w->count;
    uint8_t *p = w->p;
    size_t i = 0, step = four ? 4 : 3;
    for (; i + step <= n; i += step) {
        uint32_t a = table[in[i]], b = table[in[i + 1]], c = table[in[i + 2]];
        uint32_t d = four ? table[in[i + 3]] : 0;
        uint32_t ab = ENTRY_CODE(a) | ENTRY_CODE(b) << ENTRY_LEN(a);
        uint32_t cd = ENTRY_CODE(c) | ENTRY_CODE(d) << ENTRY_LEN(c);
        bits |= (uint64_t)ab << count;
        count += ENTRY_LEN(a) + ENTRY_LEN(b);
        bits |= (uint64_t)cd << count;
        count += ENTRY_LEN(c) + ENTRY_LEN(d);
        memcpy(p, &bits, 8);
        p += count >> 3;
        bits >>= count & ~7u;
        count &= 7;
    }
    w->bits = bits;
    w->count = count;
    w->p = p;
    for (; i < n; i++)
        put_symbol(w, table[in[i]]);
}

static void put_literals(bitwriter *w, const uint8_t *in, size_t n, const uint32_t *table,
                         unsigned max_len, int have_slack)
{
    if (!have_slack) {
        for (size_t i = 0; i < n; i++)
            put_symbol(w, table[in[i]]);
    } else if (max_len <= 14) {
        put_literals_body(w, in, n, table, 1);
    } else {
        put_literals_body(w, in, n, table, 0);
    }
}

/* ------------------------------------------------------------ statistics */

#define ADLER_MOD 65521u

/* Byte counts in four tables (see scan_block). */
typedef uint32_t byte_counts[4][256];

static inline void count_word(byte_counts h, uint64_t v)
{
    h[0][v & 0xff]++;
    h[1][(v >> 8) & 0xff]++;
    h[2][(v >> 16) & 0xff]++;
    h[3][(v >> 24) & 0xff]++;
    h[0][(v >> 32) & 0xff]++;
    h[1][(v >> 40) & 0xff]++;
    h[2][(v >> 48) & 0xff]++;
    h[3][v >> 56]++;
}

static void sum_counts(byte_counts h, uint32_t freq[256])
{
    for (int s = 0; s < 256; s++)
        freq[s] = h[0][s] + h[1][s] + h[2][s] + h[3][s];
}

/*
 * Byte histogram and Adler-32 (RFC 1950 8.2) of one block in one pass: the
 * histogram's loads and increments leave the ALUs idle, so the checksum
 * costs little here, where zlib's adler32() would be a third pass.
 *
 * Four tables, because consecutive bytes are often equal (zero padding) and
 * incrementing one counter back to back stalls on store-to-load forwarding.
 *
 * Adler-32 eight bytes at a time: with s1 the running sum, bytes b0..b7 add
 * their sum to s1 and 8*s1 + 8*b0 + 7*b1 + ... + 1*b7 to s2.  The bytes are
 * split into even and odd 16-bit lanes and each weighted sum is the top lane
 * of one multiply (no lane exceeds 16 bits, so nothing carries into it).
 * Sums are kept in 64 bits and reduced once per block: for n <= 65535,
 * s2 < 65521 + n * (65521 + 255 n) < 2^41.
 */
static uint32_t scan_block(const uint8_t *in, size_t n, uint32_t freq[256], uint32_t adler)
{
    byte_counts h;
    memset(h, 0, sizeof h);
    uint64_t s1 = adler & 0xffff, s2 = adler >> 16;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, in + i, 8);
        count_word(h, v);
        uint64_t even = v & 0x00ff00ff00ff00ffull, odd = (v >> 8) & 0x00ff00ff00ff00ffull;
        s2 += 8 * s1 + ((even * 0x0008000600040002ull) >> 48) +
              ((odd * 0x0007000500030001ull) >> 48);
        s1 += ((even + odd) * 0x0001000100010001ull) >> 48;
    }
    for (; i < n; i++) {
        h[0][in[i]]++;
        s1 += in[i];
        s2 += s1;
    }
    sum_counts(h, freq);
    return (uint32_t)(s2 % ADLER_MOD) << 16 | (uint32_t)(s1 % ADLER_MOD);
}

/* The histogram alone, for the AVX-512 path (which sums Adler-32 in its
   own pass). */
static void histogram(const uint8_t *in, size_t n, uint32_t freq[256])
{
    byte_counts h;
    memset(h, 0, sizeof h);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, in + i, 8);
        count_word(h, v);
    }
    for (; i < n; i++)
        h[0][in[i]]++;
    sum_counts(h, freq);
}

/* ------------------------------------------------------------ AVX-512 */

/*
 * With AVX-512 (F, BW, VBMI) the two byte-proportional passes besides the
 * histogram run on 64 bytes at a time; both give exactly what the scalar
 * code gives (check_huffman compares the streams byte for byte).
 *
 * Adler-32: per 64 bytes, vpsadbw sums the bytes (s1) and vpmaddubsw /
 * vpmaddwd weight them 64..1 (s2); s1 before the step is added 64 times
 * through a running sum of sums.  Chunks of at most 5504 bytes keep every
 * 32-bit lane below 2^32 (5504/64 steps of at most 64 * 255 * 64 / 16 per
 * lane); sums are reduced mod 65521 per chunk.  About 20 cycles per record
 * against about 90 for the scalar sums inside scan_block.
 *
 * Literals: three byte tables (code low byte, high byte, length) are looked
 * up for 64 input bytes with vpermi2b (two per 128-entry half, blended on
 * the top bit); adjacent codes are joined in 32-bit, then 64-bit lanes by
 * variable shifts (four codes of at most 14 bits: <= 56 bits), and the
 * scalar loop only appends sixteen (code, length) pairs to the bit buffer.
 * Those pairs go through memory; the loop appends the previous step's pairs
 * while this step's are stored, because loading 8 bytes of a 64-byte store
 * that has not retired stalls on store forwarding (measured 300 against 225
 * cycles per record).  The scalar loop needs 480.
 */
#if BL_HAVE_X86_KERNELS

#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vbmi")))

AVX512 static uint32_t adler_avx512(uint32_t adler, const uint8_t *p, size_t n)
{
    uint64_t s1 = adler & 0xffff, s2 = adler >> 16;
    const __m512i ones = _mm512_set1_epi16(1);
    const __m512i weights = _mm512_set_epi8(
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
        27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50,
        51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64);
    while (n >= 64) {
        size_t k = n < 5504 ? n & ~(size_t)63 : 5504;
        __m512i vs1 = _mm512_setzero_si512(), vs2 = _mm512_setzero_si512();
        __m512i vps = _mm512_setzero_si512();
        for (size_t b = 0; b < k; b += 64) {
            __m512i d = _mm512_loadu_si512(p + b);
            vps = _mm512_add_epi64(vps, vs1);
            vs1 = _mm512_add_epi64(vs1, _mm512_sad_epu8(d, _mm512_setzero_si512()));
            vs2 = _mm512_add_epi32(vs2, _mm512_madd_epi16(_mm512_maddubs_epi16(d, weights), ones));
        }
        uint64_t t1 = (uint64_t)_mm512_reduce_add_epi64(vs1);
        uint64_t t2 = (uint64_t)(uint32_t)_mm512_reduce_add_epi32(vs2) +
                      64 * (uint64_t)_mm512_reduce_add_epi64(vps);
        s2 = (s2 + s1 * k + t2) % ADLER_MOD;
        s1 = (s1 + t1) % ADLER_MOD;
        p += k;
        n -= k;
    }
    for (; n; n--) {
        s1 += *p++;
        s2 += s1;
    }
    return (uint32_t)(s2 % ADLER_MOD) << 16 | (uint32_t)(s1 % ADLER_MOD);
}

/* Literals of in[0..n) with codes of at most 14 bits; the caller guarantees
   the 8 bytes of slack the word stores need, as for put_literals_body. */
AVX512 static void put_literals_avx512(bitwriter *w, const uint8_t *in, size_t n,
                                       const uint32_t *table)
{
    uint8_t tab[3][256];
    for (int c = 0; c < 256; c++) {
        tab[0][c] = (uint8_t)ENTRY_CODE(table[c]);
        tab[1][c] = (uint8_t)(ENTRY_CODE(table[c]) >> 8);
        tab[2][c] = (uint8_t)ENTRY_LEN(table[c]);
    }
    __m512i t[3][4];
    for (int k = 0; k < 3; k++)
        for (int q = 0; q < 4; q++)
            t[k][q] = _mm512_loadu_si512(tab[k] + 64 * q);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i low16 = _mm512_set1_epi32(0xffff), low32 = _mm512_set1_epi64(0xffffffff);
    /* unpacklo/hi leave groups of four codes in 128-bit-lane order: these
       put them back in stream order. */
    const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i second = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    uint64_t code[2][16], len[2][16];
    uint64_t bits = w->bits;
    unsigned count = w->count;
    uint8_t *p = w->p;
    size_t steps = n / 64;
    for (size_t i = 0; i <= steps; i++) {
        int cur = (int)(i & 1);
        if (i < steps) {
            __m512i x = _mm512_loadu_si512(in + 64 * i);
            __mmask64 top = _mm512_movepi8_mask(x);
            __m512i v[3];
            for (int k = 0; k < 3; k++)
                v[k] = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(t[k][0], x, t[k][1]),
                                              _mm512_permutex2var_epi8(t[k][2], x, t[k][3]));
            __m512i ca = _mm512_unpacklo_epi8(v[0], v[1]), cb = _mm512_unpackhi_epi8(v[0], v[1]);
            __m512i la = _mm512_unpacklo_epi8(v[2], zero), lb = _mm512_unpackhi_epi8(v[2], zero);
            __m512i l0;
            /* Pairs: the odd code shifted past the even one, in 32-bit lanes. */
            l0 = _mm512_and_si512(la, low16);
            ca = _mm512_or_si512(_mm512_and_si512(ca, low16), _mm512_sllv_epi32(_mm512_srli_epi32(ca, 16), l0));
            la = _mm512_add_epi32(l0, _mm512_srli_epi32(la, 16));
            l0 = _mm512_and_si512(lb, low16);
            cb = _mm512_or_si512(_mm512_and_si512(cb, low16), _mm512_sllv_epi32(_mm512_srli_epi32(cb, 16), l0));
            lb = _mm512_add_epi32(l0, _mm512_srli_epi32(lb, 16));
            /* Fours, in 64-bit lanes. */
            l0 = _mm512_and_si512(la, low32);
            ca = _mm512_or_si512(_mm512_and_si512(ca, low32), _mm512_sllv_epi64(_mm512_srli_epi64(ca, 32), l0));
            la = _mm512_add_epi64(l0, _mm512_srli_epi64(la, 32));
            l0 = _mm512_and_si512(lb, low32);
            cb = _mm512_or_si512(_mm512_and_si512(cb, low32), _mm512_sllv_epi64(_mm512_srli_epi64(cb, 32), l0));
            lb = _mm512_add_epi64(l0, _mm512_srli_epi64(lb, 32));
            _mm512_storeu_si512(code[cur], _mm512_permutex2var_epi64(ca, first, cb));
            _mm512_storeu_si512(code[cur] + 8, _mm512_permutex2var_epi64(ca, second, cb));
            _mm512_storeu_si512(len[cur], _mm512_permutex2var_epi64(la, first, lb));
            _mm512_storeu_si512(len[cur] + 8, _mm512_permutex2var_epi64(la, second, lb));
        }
        if (i > 0) {
            const uint64_t *c = code[cur ^ 1], *l = len[cur ^ 1];
            for (int k = 0; k < 16; k++) {
                bits |= c[k] << count;
                count += (unsigned)l[k];
                memcpy(p, &bits, 8);
                p += count >> 3;
                bits >>= count & ~7u;
                count &= 7;
            }
        }
    }
    w->bits = bits;
    w->count = count;
    w->p = p;
    for (size_t i = 64 * steps; i < n; i++)
        put_symbol(w, table[in[i]]);
}

static pthread_once_t simd_once = PTHREAD_ONCE_INIT;
static int have_avx512, use_avx512;

static void simd_choose(void)
{
    bl_cpu_init();
    /* libgcc's checks include XCR0 (the OS saves the ZMM state). */
    have_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vbmi");
    use_avx512 = have_avx512;
}

int bl_huffman_use_simd(int on)
{
    pthread_once(&simd_once, simd_choose);
    int old = use_avx512;
    use_avx512 = on && have_avx512;
    return old;
}

static int simd_enabled(void)
{
    pthread_once(&simd_once, simd_choose);
    return use_avx512;
}

const char *bl_huffman_kernel_name(void) { return simd_enabled() ? "avx512vbmi" : "portable"; }

#else

int bl_huffman_use_simd(int on) { return 0; }
static int simd_enabled(void) { return 0; }
const char *bl_huffman_kernel_name(void) { return "portable"; }
static uint32_t adler_avx512(uint32_t adler, const uint8_t *p, size_t n) { return adler; }
static void put_literals_avx512(bitwriter *w, const uint8_t *in, size_t n, const uint32_t *table) {}

#endif

/* ------------------------------------------------------- code lengths */

/*
 * Stable LSD radix sort of the used symbols by frequency (< 2^16), two 8-bit
 * passes.  Stability keeps ties in symbol order, so the code is a pure
 * function of the frequencies.  Returns the number of used symbols.
 */
static unsigned sort_by_freq(const uint32_t *freq, unsigned nsym, uint16_t *sorted)
{
    uint16_t tmp[MAX_SYMS];
    unsigned lo[257] = {0}, hi[257] = {0}, m = 0;
    for (unsigned s = 0; s < nsym; s++)
        if (freq[s]) {
            tmp[m++] = (uint16_t)s;
            lo[(freq[s] & 0xff) + 1]++;
            hi[(freq[s] >> 8) + 1]++;
        }
    for (unsigned b = 1; b < 257; b++) {
        lo[b] += lo[b - 1];
        hi[b] += hi[b - 1];
    }
    for (unsigned i = 0; i < m; i++)
        sorted[lo[freq[tmp[i]] & 0xff]++] = tmp[i];
    if (hi[1] == m) /* every frequency below 256: the high pass is a no-op */
        return m;
    for (unsigned i = 0; i < m; i++)
        tmp[hi[freq[sorted[i]] >> 8]++] = sorted[i];
    memcpy(sorted, tmp, m * sizeof *tmp);
    return m;
}

/*
 * Unlimited Huffman code lengths for m >= 2 weights in ascending order,
 * computed in place in a[] (Moffat and Katajainen, "In-place calculation of
 * minimum-redundancy codes", 1995): linear time, no heap, no tree nodes.
 * On return a[i] is the length for the i-th weight; a[0] is the longest.
 */
static void huffman_lengths(uint32_t *a, unsigned m)
{
    /* Pass 1: build the tree; a[k] for k < next becomes an internal node's
       weight, then its parent's index once it has been combined. */
    unsigned root = 0, leaf = 2;
    a[0] += a[1];
    for (unsigned next = 1; next < m - 1; next++) {
        /* An internal node is always available here, so only the leaf
           supply needs checking.  Ties go to leaves, keeping codes short. */
        if (leaf >= m || a[root] < a[leaf]) {
            a[next] = a[root];
            a[root++] = next;
        } else {
            a[next] = a[leaf++];
        }
        if (leaf >= m || (root < next && a[root] < a[leaf])) {
            a[next] += a[root];
            a[root++] = next;
        } else {
            a[next] += a[leaf++];
        }
    }
    /* Pass 2: parent indices to depths; the root is a[m - 2]. */
    a[m - 2] = 0;
    for (unsigned k = m - 2; k-- > 0;)
        a[k] = a[a[k]] + 1;
    /* Pass 3: internal-node depths to leaf depths, deepest leaves last. */
    unsigned avail = 1, depth = 0;
    long r = (long)m - 2, out = (long)m - 1;
    while (avail > 0) {
        unsigned used = 0;
        while (r >= 0 && a[r] == depth) {
            used++;
            r--;
        }
        while (avail > used) {
            a[out--] = depth;
            avail--;
        }
        avail = 2 * used;
        depth++;
    }
}

/* Scratch for package-merge, kept by the caller so the stack frame of the
   common (unlimited) path stays small. */
typedef struct pm_scratch {
    uint32_t weight[2][2 * MAX_SYMS];
    uint8_t is_package[MAX_BITS][2 * MAX_SYMS];
} pm_scratch;

/*
 * Optimal code lengths of at most `limit` bits for m weights in ascending
 * order (package-merge, Larmore and Hirschberg 1990), m <= 2^limit.
 * Level `limit` - 1 is the deepest list (the leaves alone); each shallower
 * list merges the leaves with pairs ("packages") of the list below.  The
 * cheapest 2m - 2 items of the top list fix the code: a leaf's length is the
 * number of lists in which it is selected.  No list needs more than 2m - 2
 * items (a selected list below the top is even and under 2m), so each is cut
 * there, which bounds the work at limit * 2m steps.
 */
static void package_merge(const uint32_t *w, unsigned m, unsigned limit, uint8_t *len,
                          pm_scratch *s)
{
    unsigned cap = 2 * m - 2, cur = 0;
    uint32_t *prev = s->weight[cur];
    memcpy(prev, w, m * sizeof *w);
    memset(s->is_package[limit - 1], 0, m);
    unsigned nprev = m;
    for (unsigned level = limit - 1; level-- > 0;) {
        uint32_t *out = s->weight[cur ^ 1];
        uint8_t *pkg = s->is_package[level];
        unsigned npkg = nprev / 2, i = 0, j = 0, t = 0;
        while (t < cap && (i < m || j < npkg)) {
            uint32_t pw = j < npkg ? prev[2 * j] + prev[2 * j + 1] : UINT32_MAX;
            if (i < m && w[i] <= pw) {
                out[t] = w[i++];
                pkg[t++] = 0;
            } else {
                out[t] = pw;
                pkg[t++] = 1;
                j++;
            }
        }
        nprev = t;
        cur ^= 1;
        prev = out;
    }
    memset(len, 0, m);
    unsigned need = cap;
    for (unsigned level = 0; level < limit && need; level++) {
        const uint8_t *pkg = s->is_package[level];
        unsigned leaves = 0;
        for (unsigned t = 0; t < need; t++)
            leaves += !pkg[t];
        for (unsigned i = 0; i < leaves; i++)
            len[i]++;
        need = 2 * (need - leaves);
    }
}

/*
 * Code lengths (at most `limit` bits) for an alphabet of nsym symbols.
 * Every code built is complete: with one used symbol a second, unused one
 * gets a 1-bit code too, since some inflaters (zlib's for the code-length
 * code) reject incomplete codes.  Returns the longest length.
 */
static unsigned build_lengths(const uint32_t *freq, unsigned nsym, unsigned limit, uint8_t *len,
                              pm_scratch *s)
{
    uint16_t order[MAX_SYMS];
    uint32_t a[MAX_SYMS];
    uint8_t plen[MAX_SYMS];
    memset(len, 0, nsym);
    unsigned m = sort_by_freq(freq, nsym, order);
    if (m == 0)
        return 0;
    if (m == 1) {
        len[order[0]] = 1;
        len[order[0] == 0 ? 1 : 0] = 1;
        return 1;
    }
    for (unsigned i = 0; i < m; i++)
        a[i] = freq[order[i]];
    huffman_lengths(a, m);
    if (a[0] <= limit) {
        for (unsigned i = 0; i < m; i++)
            len[order[i]] = (uint8_t)a[i];
        return a[0];
    }
    for (unsigned i = 0; i < m; i++)
        a[i] = freq[order[i]];
    package_merge(a, m, limit, plen, s);
    for (unsigned i = 0; i < m; i++)
        len[order[i]] = plen[i];
    return plen[0];
}

/* Reverse the low n bits of v (n <= 16). */
static uint32_t reverse_bits(uint32_t v, unsigned n)
{
    v = ((v >> 1) & 0x5555u) | ((v & 0x5555u) << 1);
    v = ((v >> 2) & 0x3333u) | ((v & 0x3333u) << 2);
    v = ((v >> 4) & 0x0f0fu) | ((v & 0x0f0fu) << 4);
    v = ((v >> 8) & 0x00ffu) | ((v & 0x00ffu) << 8);
    return v >> (16 - n);
}

/* Canonical codes from lengths (RFC 1951 3.2.2), as table entries. */
static void assign_codes(const uint8_t *len, unsigned nsym, uint32_t *table)
{
    unsigned count[MAX_BITS + 1] = {0}, next[MAX_BITS + 1];
    for (unsigned s = 0; s < nsym; s++)
        count[len[s]]++;
    count[0] = 0;
    unsigned code = 0;
    for (unsigned b = 1; b <= MAX_BITS; b++) {
        code = (code + count[b - 1]) << 1;
        next[b] = code;
    }
    for (unsigned s = 0; s < nsym; s++)
        table[s] = len[s] ? reverse_bits(next[len[s]]++, len[s]) | (uint32_t)len[s] << 16 : 0;
}

/* ------------------------------------------------------------ one block */

/* The dynamic block's header, prepared so its exact size is known before
   anything is written. */
typedef struct dyn_header {
    uint32_t lit[NLIT];            /* literal/length code table */
    uint32_t cl[NCL];              /* code-length code table */
    uint8_t cl_len[NCL];
    uint16_t rle[NLIT + NDIST];    /* code-length symbols; repeat count above bit 8 */
    unsigned nrle, hclen;
    unsigned max_len;              /* longest literal code, picks the hot loop */
} dyn_header;

static const unsigned cl_extra_bits[3] = {2, 3, 7}; /* symbols 16, 17, 18 */
static const unsigned cl_extra_base[3] = {3, 3, 11};

/*
 * Run-length code a sequence of code lengths with the code-length alphabet
 * (RFC 1951 3.2.7): 16 repeats the previous length 3-6 times, 17 and 18 give
 * 3-10 and 11-138 zeros.  Each output holds the symbol in the low 5 bits and
 * the repeat count from bit 8.
 */
static unsigned rle_lengths(const uint8_t *lens, unsigned n, uint16_t *out, uint32_t *cl_freq)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n;) {
        uint8_t v = lens[i];
        unsigned run = 1;
        while (i + run < n && lens[i + run] == v)
            run++;
        i += run;
        if (v == 0) {
            while (run >= 11) {
                unsigned r = run < 138 ? run : 138;
                out[k++] = (uint16_t)(18 | r << 8);
                cl_freq[18]++;
                run -= r;
            }
            if (run >= 3) {
                out[k++] = (uint16_t)(17 | run << 8);
                cl_freq[17]++;
                run = 0;
            }
        } else {
            out[k++] = v;
            cl_freq[v]++;
            run--;
            while (run >= 3) {
                unsigned r = run < 6 ? run : 6;
                out[k++] = (uint16_t)(16 | r << 8);
                cl_freq[16]++;
                run -= r;
            }
        }
        while (run--) {
            out[k++] = v;
            cl_freq[v]++;
        }
    }
    return k;
}

/*
 * Build the dynamic code for a block with literal frequencies freq[] and
 * return the block's exact size in bits.  The distance code gets two 1-bit
 * codes though no match is ever sent: RFC 1951 also allows one zero-length
 * code, but a complete code is what every inflater accepts (PKZIP-era ones
 * reject an empty set), and it costs a few bits per block.
 */
static uint64_t plan_dynamic(const uint32_t *freq, dyn_header *h, pm_scratch *s)
{
    uint32_t f[NLIT];
    uint8_t lens[NLIT + NDIST];
    memcpy(f, freq, 256 * sizeof *f);
    f[EOB] = 1;
    h->max_len = build_lengths(f, NLIT, MAX_BITS, lens, s);
    assign_codes(lens, NLIT, h->lit);
    lens[NLIT] = lens[NLIT + 1] = 1;

    uint32_t cl_freq[NCL] = {0};
    h->nrle = rle_lengths(lens, NLIT + NDIST, h->rle, cl_freq);
    build_lengths(cl_freq, NCL, MAX_CL_BITS, h->cl_len, s);
    assign_codes(h->cl_len, NCL, h->cl);
    h->hclen = NCL;
    while (h->hclen > 4 && h->cl_len[cl_order[h->hclen - 1]] == 0)
        h->hclen--;

    uint64_t bits = 3 + 5 + 5 + 4 + 3 * (uint64_t)h->hclen;
    for (unsigned s2 = 0; s2 < NCL; s2++) {
        uint64_t extra = s2 >= 16 ? cl_extra_bits[s2 - 16] : 0;
        bits += cl_freq[s2] * (h->cl_len[s2] + extra);
    }
    for (unsigned c = 0; c < 256; c++)
        bits += (uint64_t)freq[c] * ENTRY_LEN(h->lit[c]);
    return bits + ENTRY_LEN(h->lit[EOB]);
}

static void write_dynamic_header(bitwriter *w, int final, const dyn_header *h)
{
    put_bits(w, (uint32_t)final | 2u << 1, 3);
    put_bits(w, NLIT - 257, 5);
    put_bits(w, NDIST - 1, 5);
    put_bits(w, h->hclen - 4, 4);
    for (unsigned i = 0; i < h->hclen; i++)
        put_bits(w, h->cl_len[cl_order[i]], 3);
    for (unsigned i = 0; i < h->nrle; i++) {
        unsigned sym = h->rle[i] & 0x1f, rep = h->rle[i] >> 8;
        put_symbol(w, h->cl[sym]);
        if (sym >= 16)
            put_bits(w, rep - cl_extra_base[sym - 16], cl_extra_bits[sym - 16]);
    }
}

/* Fixed code (RFC 1951 3.2.6): literals 0-143 are 8 bits from 00110000,
   144-255 are 9 bits from 110010000, end-of-block is 7 zero bits. */
static uint32_t fixed_entry(unsigned sym)
{
    if (sym < 144)
        return reverse_bits(0x30 + sym, 8) | 8u << 16;
    if (sym < 256)
        return reverse_bits(0x190 + sym - 144, 9) | 9u << 16;
    return 7u << 16;
}

static uint64_t fixed_bits(const uint32_t *freq)
{
    uint64_t lo = 0, hi = 0;
    for (unsigned c = 0; c < 144; c++)
        lo += freq[c];
    for (unsigned c = 144; c < 256; c++)
        hi += freq[c];
    return 3 + 8 * lo + 9 * hi + 7;
}

/* Stored block size in bits when it starts `count` bits into a byte. */
static uint64_t stored_bits(unsigned count, size_t n)
{
    unsigned head = (count + 3 + 7) / 8 * 8 - count; /* 3 header bits, then pad */
    return head + 32 + 8 * (uint64_t)n;
}

/* ------------------------------------------------------------ the stream */

size_t bl_huffman_zlib_bound(size_t n)
{
    size_t blocks = n / BLOCK_MAX + (n % BLOCK_MAX != 0);
    if (blocks == 0)
        blocks = 1;
    /* header 2 + Adler-32 4, and 5 bytes (3 bits, padding, LEN, NLEN) per
       stored block.  A Huffman block is only chosen when shorter than the
       stored one from the same bit, so the total stays within this. */
    if (n > SIZE_MAX - 6 || blocks > (SIZE_MAX - 6 - n) / 5)
        return 0;
    return n + 6 + 5 * blocks;
}

typedef struct workspace {
    dyn_header dyn;
    pm_scratch pm;
    uint32_t fixed[NLIT];
    int simd; /* AVX-512 kernels for Adler-32 and literals */
} workspace;

/* Write one block in its shortest form; returns the Adler-32 of everything
   so far through *adler. */
static bl_status write_block(bitwriter *w, const uint8_t *end, const uint8_t *in, size_t n,
                             int final, workspace *ws, uint32_t *adler)
{
    uint32_t freq[256];
    if (ws->simd) {
        histogram(in, n, freq);
        *adler = adler_avx512(*adler, in, n);
    } else {
        *adler = scan_block(in, n, freq, *adler);
    }
    uint64_t dyn = n ? plan_dynamic(freq, &ws->dyn, &ws->pm) : UINT64_MAX;
    uint64_t fix = fixed_bits(freq);
    uint64_t sto = stored_bits(w->count, n);
    uint64_t best = dyn < fix ? dyn : fix;
    if (sto <= best)
        best = sto;
    /* Bytes this block completes from w->p, and whether the fast loop's
       whole-word stores have room past them. */
    uint64_t bytes = (w->count + best + 7) / 8;
    if (bytes > (uint64_t)(end - w->p))
        return BL_EMISUSE;
    int slack = bytes + 8 <= (uint64_t)(end - w->p);
    if (best == sto) {
        put_bits(w, (uint32_t)final, 3);
        align_byte(w);
        put_bits(w, (uint32_t)n, 16);
        put_bits(w, (uint32_t)n ^ 0xffffu, 16);
        if (n)
            memcpy(w->p, in, n);
        w->p += n;
    } else if (best == dyn) {
        write_dynamic_header(w, final, &ws->dyn);
        if (ws->simd && slack && ws->dyn.max_len <= 14)
            put_literals_avx512(w, in, n, ws->dyn.lit);
        else
            put_literals(w, in, n, ws->dyn.lit, ws->dyn.max_len, slack);
        put_symbol(w, ws->dyn.lit[EOB]);
    } else {
        if (!ws->fixed[EOB])
            for (unsigned c = 0; c < NLIT; c++)
                ws->fixed[c] = fixed_entry(c);
        put_bits(w, (uint32_t)final | 1u << 1, 3);
        put_literals(w, in, n, ws->fixed, 9, slack);
        put_symbol(w, ws->fixed[EOB]);
    }
    return BL_OK;
}

struct bl_huffman_stream {
    workspace ws;
    bitwriter w;
    uint8_t *out;
    const uint8_t *end; /* out + cap - 4: room kept for the Adler-32 */
    uint32_t adler, crc;
    bl_status st;       /* first failure; later calls do nothing */
};

size_t bl_huffman_stream_size(void) { return sizeof(bl_huffman_stream); }

bl_status bl_huffman_begin(bl_huffman_stream *s, uint8_t *out, size_t cap)
{
    s->ws.fixed[EOB] = 0; /* fixed table built on first use */
    s->ws.simd = simd_enabled();
    s->out = out;
    s->adler = 1; /* Adler-32 of nothing */
    s->crc = 0;
    s->st = out && cap >= 6 ? BL_OK : BL_EMISUSE;
    if (s->st != BL_OK)
        return s->st;
    s->end = out + cap - 4;
    s->w = (bitwriter){0, 0, out};
    /* CMF 0x78: deflate, 32 KiB window (no match uses it, but it is the
       value every reader expects).  FLG 0x01: FLEVEL 0 (fastest), no
       dictionary, and FCHECK making CMF*256 + FLG a multiple of 31. */
    *s->w.p++ = 0x78;
    *s->w.p++ = 0x01;
    return BL_OK;
}

bl_status bl_huffman_block(bl_huffman_stream *s, const uint8_t *in, size_t n, int final)
{
    if (s->st != BL_OK)
        return s->st;
    if ((!in && n) || n > BLOCK_MAX)
        return s->st = BL_EMISUSE;
    s->st = write_block(&s->w, s->end, in, n, final, &s->ws, &s->adler);
    /* The block was just read twice, so it is in cache: checksumming it
       here spares the caller a pass over the whole input. */
    if (s->st == BL_OK && n)
        s->crc = bl_crc32(s->crc, in, n);
    return s->st;
}

bl_status bl_huffman_end(bl_huffman_stream *s, size_t *out_len, uint32_t *crc)
{
    *out_len = 0;
    if (s->st != BL_OK)
        return s->st;
    align_byte(&s->w);
    uint32_t a = s->adler;
    uint8_t tail[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
    memcpy(s->w.p, tail, 4);
    *out_len = (size_t)(s->w.p + 4 - s->out);
    if (crc)
        *crc = s->crc;
    return BL_OK;
}

bl_status bl_huffman_zlib(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    return bl_huffman_zlib_crc(in, n, out, cap, out_len, NULL);
}

bl_status bl_huffman_zlib_crc(const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                              size_t *out_len, uint32_t *crc)
{
    if (out_len)
        *out_len = 0;
    if ((!in && n) || !out || !out_len)
        return BL_EMISUSE;
    bl_huffman_stream s;
    bl_status st = bl_huffman_begin(&s, out, cap);
    /* Blocks as even as possible, so no short tail block pays a whole table
       header for few bytes (bl_huffman_split). */
    size_t base, extra, blocks = bl_huffman_split(n, &base, &extra);
    const uint8_t *p = in;
    for (size_t b = 0; b < blocks && st == BL_OK; b++) {
        size_t len = base + (b < extra);
        st = bl_huffman_block(&s, p, len, b + 1 == blocks);
        p += len;
    }
    return st == BL_OK ? bl_huffman_end(&s, out_len, crc) : st;
}

size_t bl_huffman_split(size_t n, size_t *base, size_t *extra)
{
    size_t blocks = n / BLOCK_MAX + (n % BLOCK_MAX != 0);
    if (blocks == 0)
        blocks = 1;
    *base = n / blocks;
    *extra = n % blocks;
    return blocks;
}
