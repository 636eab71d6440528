/* filter.h - private: Bloom filter bit helpers and the Dice kernel table.
 *
 * Filters are arrays of 64-bit words; bit i lives in word i / 64 at bit
 * i % 64 (least significant first).  Any word count works, and pointers need
 * no particular alignment: every kernel reads with unaligned loads.
 *
 * Kernels (scalar, AVX2, AVX-512 VPOPCNTDQ) sit behind bl_kernel_ops so the
 * dispatcher in filter.c picks one at run time; the SIMD ones live in their
 * own translation units with per-function target attributes, so the library
 * as a whole still runs on any x86-64 (and builds on other architectures,
 * where only the scalar kernel exists).
 */
#ifndef BL_FILTER_H
#define BL_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "bloomlink.h"

/* The SIMD kernels are x86-64 only; elsewhere only scalar is compiled in. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BL_HAVE_X86_KERNELS 1
#else
#define BL_HAVE_X86_KERNELS 0
#endif

/* Words needed for `bits` bits (written so that bits near SIZE_MAX cannot wrap). */
static inline size_t bl_words(size_t bits)
{
    return bits / 64 + (bits % 64 != 0);
}

/* Set bit i; the caller guarantees i < the filter's bit count. */
static inline void bl_bit_set(uint64_t *f, uint32_t i)
{
    f[i >> 6] |= UINT64_C(1) << (i & 63);
}

/* 1 if bit i is set. */
static inline int bl_bit_test(const uint64_t *f, uint32_t i)
{
    return (int)((f[i >> 6] >> (i & 63)) & 1u);
}

/*
 * Exact Dice threshold test on counts: 2*c*den >= num*(pa+pb), decided in
 * 64-bit arithmetic without overflow for every uint32 input.  Multiplying out
 * directly needs 65 bits (2*c*den and num*(pa+pb) can both pass 2^64), so the
 * factor 2 is moved to the right-hand side instead: for s = pa+pb,
 *   2*c*den >= num*s  <=>  c*den >= num*floor(s/2) + (s odd ? ceil(num/2) : 0)
 * (the left side is an integer, so "+ num/2" may round up).  Both sides then
 * stay below 2^64.
 *
 * Two empty filters have Dice 0 by convention (bl_dice), so when s == 0 the
 * pair passes only a threshold of 0.  The SIMD kernels compute the same
 * formula lane-wise, so all kernels agree bit for bit.
 */
static inline int bl_dice_pass(uint32_t c, uint32_t pa, uint32_t pb, uint32_t num, uint32_t den)
{
    uint64_t s = (uint64_t)pa + pb;
    if (s == 0)
        return num == 0;
    uint64_t rhs = (uint64_t)num * (s >> 1) + ((s & 1) ? ((uint64_t)num + 1) >> 1 : 0);
    return (uint64_t)c * den >= rhs;
}

/*
 * One kernel.  Counts are returned as uint64_t internally; the public API
 * narrows them to uint32_t (filters are limited to fewer than 2^32 bits).
 *
 * scan has narrower preconditions than bl_dice_scan, which handles the rest
 * before calling it: n >= 1, words >= 1, num >= 1 and pop_one >= 1 (so that
 * pa + pb > 0 for every candidate and the empty-pair rule never applies), and
 * n <= 2^32 so indices fit in uint32_t.  It writes passing indices in
 * increasing order and returns how many it wrote.
 */
typedef struct bl_kernel_ops {
    bl_kernel id;
    const char *name;
    uint64_t (*popcount)(const uint64_t *a, size_t words);
    uint64_t (*and_popcount)(const uint64_t *a, const uint64_t *b, size_t words);
    size_t (*scan)(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                   const uint32_t *pop_many, size_t n, size_t words, uint32_t num, uint32_t den,
                   uint32_t *out_idx);
} bl_kernel_ops;

/* Defined in filter.c (scalar) and filter_avx2.c / filter_avx512.c. */
extern const bl_kernel_ops bl_kernel_ops_scalar;
#if BL_HAVE_X86_KERNELS
/* The same scalar code compiled for the popcnt instruction; chosen as the
   scalar kernel when the CPU has it, so the baseline is the honest one. */
extern const bl_kernel_ops bl_kernel_ops_scalar_popcnt;
extern const bl_kernel_ops bl_kernel_ops_avx2;
extern const bl_kernel_ops bl_kernel_ops_avx512;
#endif

/*
 * The kernel in force (never NULL).  Hot loops elsewhere in the library (the
 * matcher) may fetch it once per block and call through it directly, which
 * saves the dispatch on every pair; the pointer stays valid for the life of
 * the process.
 */
const bl_kernel_ops *bl_kernel_ops_active(void);

/* The ops for kernel k if this CPU can run it, else NULL (AUTO = the best). */
const bl_kernel_ops *bl_kernel_ops_get(bl_kernel k);

/* Hardening transforms of a built field filter (schema xor_folds, balanced).
   XOR folding: in (bits) folded in half `folds` times into out (bits >> folds).
   Balancing: out (2 * bits) holds in and its complement, bit j of that
   concatenation moved to position perm[j], so exactly bits are set whatever
   the value; perm is a keyed permutation of 0 .. 2 * bits - 1. */
void bl_filter_xor_fold(const uint64_t *in, uint32_t bits, int folds, uint64_t *out);
void bl_filter_balance(const uint64_t *in, uint32_t bits, const uint32_t *perm, uint64_t *out);

/* Initialise libgcc's CPU model once for the whole library; every run-time
   dispatcher calls this before __builtin_cpu_supports. */
void bl_cpu_init(void);

#endif
