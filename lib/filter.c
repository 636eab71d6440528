/* filter.c - Dice similarity of Bloom filters: the scalar reference kernel,
 * run-time kernel choice, and the public bl_popcount / bl_dice* calls.
 *
 * The scalar kernel is deliberately a plain loop of __builtin_popcountll over
 * the words, the same shape as anonlink's native Dice code: it is both the
 * reference the SIMD kernels are tested against and the baseline the
 * benchmark reports their speed-up over.  Hand-unrolling it would make the
 * baseline harder to compare with other tools, so it is left plain.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "error.h"
#include "filter.h"

/* ------------------------------------------------------- scalar kernel */

/* memcpy keeps unaligned pointers defined; compilers turn it into one load. */
static inline uint64_t load_word(const uint64_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/*
 * One body, compiled twice below: once for baseline x86-64 (where
 * __builtin_popcountll becomes a short bit-twiddling sequence) and once with
 * the popcnt instruction enabled.  always_inline lets the target("popcnt")
 * wrappers inline it, so both copies are the same C.
 */
static inline __attribute__((always_inline)) uint64_t scalar_popcount_body(const uint64_t *a,
                                                                           size_t words)
{
    uint64_t c = 0;
    for (size_t i = 0; i < words; i++)
        c += (uint64_t)__builtin_popcountll(load_word(a + i));
    return c;
}

static inline __attribute__((always_inline)) uint64_t
scalar_and_popcount_body(const uint64_t *a, const uint64_t *b, size_t words)
{
    uint64_t c = 0;
    for (size_t i = 0; i < words; i++)
        c += (uint64_t)__builtin_popcountll(load_word(a + i) & load_word(b + i));
    return c;
}

static inline __attribute__((always_inline)) size_t
scalar_scan_body(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                 const uint32_t *pop_many, size_t n, size_t words, uint32_t num, uint32_t den,
                 uint32_t *out_idx)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t c = scalar_and_popcount_body(one, many + i * words, words);
        if (bl_dice_pass((uint32_t)c, pop_one, pop_many[i], num, den))
            out_idx[k++] = (uint32_t)i;
    }
    return k;
}

static uint64_t scalar_popcount(const uint64_t *a, size_t words)
{
    return scalar_popcount_body(a, words);
}

static uint64_t scalar_and_popcount(const uint64_t *a, const uint64_t *b, size_t words)
{
    return scalar_and_popcount_body(a, b, words);
}

static size_t scalar_scan(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                          const uint32_t *pop_many, size_t n, size_t words, uint32_t num,
                          uint32_t den, uint32_t *out_idx)
{
    return scalar_scan_body(one, pop_one, many, pop_many, n, words, num, den, out_idx);
}

const bl_kernel_ops bl_kernel_ops_scalar = {
    BL_KERNEL_SCALAR, "scalar", scalar_popcount, scalar_and_popcount, scalar_scan,
};

#if BL_HAVE_X86_KERNELS
#define BL_TARGET_POPCNT __attribute__((target("popcnt")))

BL_TARGET_POPCNT static uint64_t scalar_popcnt_popcount(const uint64_t *a, size_t words)
{
    return scalar_popcount_body(a, words);
}

BL_TARGET_POPCNT static uint64_t scalar_popcnt_and_popcount(const uint64_t *a, const uint64_t *b,
                                                            size_t words)
{
    return scalar_and_popcount_body(a, b, words);
}

BL_TARGET_POPCNT static size_t scalar_popcnt_scan(const uint64_t *one, uint32_t pop_one,
                                                  const uint64_t *many, const uint32_t *pop_many,
                                                  size_t n, size_t words, uint32_t num,
                                                  uint32_t den, uint32_t *out_idx)
{
    return scalar_scan_body(one, pop_one, many, pop_many, n, words, num, den, out_idx);
}

const bl_kernel_ops bl_kernel_ops_scalar_popcnt = {
    BL_KERNEL_SCALAR, "scalar", scalar_popcnt_popcount, scalar_popcnt_and_popcount,
    scalar_popcnt_scan,
};
#endif

/* ------------------------------------------------------- kernel choice */

/*
 * Process-wide mutable state: the kernel in force (sha256.c keeps the other
 * such pointer, for HMAC).  kernel_once runs choose_best() on first use,
 * which also initialises libgcc's CPU model (through bl_cpu_init:
 * __builtin_cpu_init is not safe to race); afterwards only bl_set_kernel
 * replaces the pointer.  It is atomic so
 * that a bl_set_kernel in one thread never tears a read in another; a scan
 * that already fetched the old kernel finishes with it, which is harmless
 * because every kernel gives the same answer.
 */
static pthread_once_t kernel_once = PTHREAD_ONCE_INIT;
static _Atomic(const bl_kernel_ops *) kernel_active;

/* Whether the CPU and OS can run k.  Only call after kernel_once has run. */
static int cpu_can_run(bl_kernel k)
{
    switch (k) {
    case BL_KERNEL_AUTO:
    case BL_KERNEL_SCALAR:
        return 1;
#if BL_HAVE_X86_KERNELS
    /* libgcc's checks include XCR0, i.e. that the OS saves the YMM/ZMM state. */
    case BL_KERNEL_AVX2:
        return __builtin_cpu_supports("avx2") != 0;
    case BL_KERNEL_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
#else
    case BL_KERNEL_AVX2:
    case BL_KERNEL_AVX512:
        return 0;
#endif
    }
    return 0;
}

static const bl_kernel_ops *scalar_ops(void)
{
#if BL_HAVE_X86_KERNELS
    if (__builtin_cpu_supports("popcnt"))
        return &bl_kernel_ops_scalar_popcnt;
#endif
    return &bl_kernel_ops_scalar;
}

/* Ops for k, or NULL when the CPU cannot run it.  Only after kernel_once. */
static const bl_kernel_ops *ops_for(bl_kernel k)
{
    if (!cpu_can_run(k))
        return NULL;
    switch (k) {
    case BL_KERNEL_AUTO:
        /* Best first: VPOPCNTDQ, then AVX2, then the scalar reference. */
        if (cpu_can_run(BL_KERNEL_AVX512))
            return ops_for(BL_KERNEL_AVX512);
        if (cpu_can_run(BL_KERNEL_AVX2))
            return ops_for(BL_KERNEL_AVX2);
        return scalar_ops();
    case BL_KERNEL_SCALAR:
        return scalar_ops();
#if BL_HAVE_X86_KERNELS
    case BL_KERNEL_AVX2:
        return &bl_kernel_ops_avx2;
    case BL_KERNEL_AVX512:
        return &bl_kernel_ops_avx512;
#else
    case BL_KERNEL_AVX2:
    case BL_KERNEL_AVX512:
        return NULL;
#endif
    }
    return NULL;
}

/* libgcc's CPU model is shared by every dispatcher in the library (Dice
   here, HMAC in sha256.c), so it is initialised under one once-flag. */
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void cpu_init(void)
{
#if BL_HAVE_X86_KERNELS
    __builtin_cpu_init();
#endif
}

void bl_cpu_init(void) { pthread_once(&cpu_once, cpu_init); }

static void choose_best(void)
{
    bl_cpu_init();
    atomic_store_explicit(&kernel_active, ops_for(BL_KERNEL_AUTO), memory_order_release);
}

const bl_kernel_ops *bl_kernel_ops_active(void)
{
    const bl_kernel_ops *ops = atomic_load_explicit(&kernel_active, memory_order_acquire);
    if (!ops) {
        pthread_once(&kernel_once, choose_best);
        ops = atomic_load_explicit(&kernel_active, memory_order_acquire);
    }
    return ops;
}

const bl_kernel_ops *bl_kernel_ops_get(bl_kernel k)
{
    pthread_once(&kernel_once, choose_best);
    return ops_for(k);
}

int bl_kernel_available(bl_kernel k)
{
    return bl_kernel_ops_get(k) != NULL;
}

static const char *kernel_needs(bl_kernel k)
{
    switch (k) {
    case BL_KERNEL_AVX2:
        return "AVX2";
    case BL_KERNEL_AVX512:
        return "AVX-512 F and VPOPCNTDQ";
    default:
        return "nothing special";
    }
}

bl_status bl_set_kernel(bl_kernel k, bl_error *err)
{
    if (k != BL_KERNEL_AUTO && k != BL_KERNEL_SCALAR && k != BL_KERNEL_AVX2 &&
        k != BL_KERNEL_AVX512)
        return bl_fail(err, BL_EMISUSE, "bl_set_kernel: unknown kernel %d", (int)k);
    /* Run the first-use choice now, so it can never overwrite this one later. */
    const bl_kernel_ops *ops = bl_kernel_ops_get(k);
    if (!ops) {
#if BL_HAVE_X86_KERNELS
        return bl_fail(err, BL_EUNSUPPORTED,
                       "kernel '%s' needs %s, which this CPU or operating system does not provide",
                       bl_kernel_name_of(k), kernel_needs(k));
#else
        return bl_fail(err, BL_EUNSUPPORTED,
                       "kernel '%s' is x86-64 only and not built for this architecture",
                       bl_kernel_name_of(k));
#endif
    }
    atomic_store_explicit(&kernel_active, ops, memory_order_release);
    return BL_OK;
}

const char *bl_kernel_name(void)
{
    return bl_kernel_ops_active()->name;
}

const char *bl_kernel_name_of(bl_kernel k)
{
    switch (k) {
    case BL_KERNEL_AUTO:
        return "auto";
    case BL_KERNEL_SCALAR:
        return "scalar";
    case BL_KERNEL_AVX2:
        return "avx2";
    case BL_KERNEL_AVX512:
        return "avx512";
    }
    return "unknown";
}

/* ------------------------------------------------------------- public */

uint32_t bl_popcount(const uint64_t *a, size_t words)
{
    if (words == 0)
        return 0;
    return (uint32_t)bl_kernel_ops_active()->popcount(a, words);
}

uint32_t bl_and_popcount(const uint64_t *a, const uint64_t *b, size_t words)
{
    if (words == 0)
        return 0;
    return (uint32_t)bl_kernel_ops_active()->and_popcount(a, b, words);
}

double bl_dice(const uint64_t *a, const uint64_t *b, size_t words)
{
    if (words == 0)
        return 0.0;
    const bl_kernel_ops *ops = bl_kernel_ops_active();
    uint64_t s = ops->popcount(a, words) + ops->popcount(b, words);
    if (s == 0)
        return 0.0;
    return 2.0 * (double)ops->and_popcount(a, b, words) / (double)s;
}

int bl_dice_at_least(const uint64_t *a, uint32_t pa, const uint64_t *b, uint32_t pb, size_t words,
                     uint32_t num, uint32_t den)
{
    /* The counts alone settle the trivial cases; skip reading the filters. */
    if (num == 0)
        return 1;
    if ((uint64_t)pa + pb == 0)
        return 0;
    uint32_t c = words ? (uint32_t)bl_kernel_ops_active()->and_popcount(a, b, words) : 0;
    return bl_dice_pass(c, pa, pb, num, den);
}

size_t bl_dice_scan(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                    const uint32_t *pop_many, size_t n, size_t words, uint32_t num, uint32_t den,
                    uint32_t *out_idx)
{
    /* Indices are 32-bit; a caller with more candidates scans in slices. */
    if (n > (size_t)UINT32_MAX + 1)
        n = (size_t)UINT32_MAX + 1;
    if (n == 0)
        return 0;
    if (num == 0) {
        /* Every Dice is >= 0. */
        for (size_t i = 0; i < n; i++)
            out_idx[i] = (uint32_t)i;
        return n;
    }
    if (words == 0 || pop_one == 0) {
        /*
         * Edge cases the kernels need not handle: with no words every AND is
         * empty; with an empty query the empty-pair rule depends on each
         * candidate's count.  Neither is a hot path.
         */
        const bl_kernel_ops *ops = bl_kernel_ops_active();
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t c = words ? (uint32_t)ops->and_popcount(one, many + i * words, words) : 0;
            if (bl_dice_pass(c, pop_one, pop_many[i], num, den))
                out_idx[k++] = (uint32_t)i;
        }
        return k;
    }
    return bl_kernel_ops_active()->scan(one, pop_one, many, pop_many, n, words, num, den, out_idx);
}

/* ------------------------------------------------------- hardening */

void bl_filter_xor_fold(const uint64_t *in, uint32_t bits, int folds, uint64_t *out)
{
    /* Folding n times XORs the 2^n equal segments together; out holds only
       the result (it is the next field's neighbour in a record). */
    size_t in_words = bits / 64, out_words = (bits >> folds) / 64;
    for (size_t w = 0; w < out_words; w++) {
        uint64_t x = 0;
        for (size_t k = w; k < in_words; k += out_words)
            x ^= in[k];
        out[w] = x;
    }
}

void bl_filter_balance(const uint64_t *in, uint32_t bits, const uint32_t *perm, uint64_t *out)
{
    memset(out, 0, 2 * (size_t)bits / 8);
    for (uint32_t j = 0; j < 2 * bits; j++) {
        uint32_t src = j < bits ? j : j - bits;
        uint64_t bit = (in[src >> 6] >> (src & 63)) & 1u;
        if (j >= bits)
            bit ^= 1u;
        out[perm[j] >> 6] |= bit << (perm[j] & 63);
    }
}
