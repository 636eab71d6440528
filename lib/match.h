/* match.h - private: the in-memory dataset every matching module reads, and
   small helpers they share (threads, random numbers, logging). */
#ifndef BL_MATCH_H
#define BL_MATCH_H
#include <stdatomic.h>
#include <stdint.h>

#include "bloomlink.h"

#define BL_MAX_SOURCES 64
/* Comparison vectors hold 3 bits per field in the low 48 bits of a 64-bit
   word; EM keys put the source pair above them. */
#define BL_MATCH_FIELDS 16
#define BL_SP_SHIFT 48

/*
 * Column-wise layout: each field's filters are one contiguous array
 * (n * words[f] words) with their popcounts beside them, so a comparison
 * touches only the words it needs and threads share read-only arrays.
 */
struct bl_dataset {
    size_t n, cap;
    size_t field_count;
    char **field_names;
    uint32_t *field_bits;
    uint8_t *field_types;
    size_t *words;          /* field_bits / 64 */
    size_t clk_words;
    size_t key_count;
    char **key_names;
    char schema_fp[BL_FINGERPRINT_HEX + 1];
    char key_fp[BL_FINGERPRINT_HEX + 1];
    char *first_path;       /* named in mismatch errors */
    /* Swap pairs: fields hashed alike (one swap group), so a value in the
       wrong column still compares; field indices, swap_count pairs. */
    uint32_t name_mask;     /* fields of type name */
    uint32_t salted_mask;   /* salted fields: comparable only within one cohort */
    uint16_t *cohort;       /* per record; 0 unknown */
    uint32_t identity_mask; /* fields of type identity: compared only when a name is missing */
    size_t swap_count;
    uint8_t swap_a[BL_MATCH_FIELDS / 2], swap_b[BL_MATCH_FIELDS / 2];

    size_t source_count;
    char *source_names[BL_MAX_SOURCES];
    uint64_t source_records[BL_MAX_SOURCES];

    uint8_t *tokens;        /* n * BL_TOKEN_BYTES */
    uint8_t *src;           /* source index per record */
    uint32_t *present;
    uint8_t *sex, *age_band;
    uint64_t **filt;        /* [field] -> n * words[field] */
    uint32_t **pop;         /* [field] -> n */
    uint64_t *clk;          /* n * clk_words */
    uint32_t *clk_pop;
    uint64_t *keys;         /* n * key_count */

    /* Term frequencies: how many records carry exactly this filter (salted
       values: a value within its birth-year cohort).  Filled lazily by
       bl_dataset_term_frequencies; tf_present[f] = records with field f. */
    uint32_t **tf;
    uint64_t *tf_present;
    double *tf_pair_rate;   /* [field] share of random pairs with identical filters */
    int tf_ready;
};

/* Build a dataset from arrays (tests, importers).  Layout as for the writer;
   records are appended with bl_dataset_add_record. */
bl_status bl_dataset_init_layout(bl_dataset *ds, const bl_encfile_layout *layout,
                                 const char *schema_fp, const char *key_fp, bl_error *err);
bl_status bl_dataset_add_record(bl_dataset *ds, const char *source, const bl_record_view *rec,
                                bl_error *err);
/* Count identical filters per field (idempotent). */
bl_status bl_dataset_term_frequencies(bl_dataset *ds, bl_error *err);

static inline const uint64_t *bl_ds_filter(const bl_dataset *ds, size_t f, size_t i)
{
    return ds->filt[f] + i * ds->words[f];
}

/* ---- helpers shared by the matching modules ---- */

/* splitmix64: a tiny deterministic generator, per caller state (the C library one is global). */
static inline uint64_t bl_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
static inline uint64_t bl_rng_next(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* Uniform in [0, n) (n > 0), by multiply-shift (bias below 2^-32 for our n). */
static inline uint64_t bl_rng_below(uint64_t *state, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)bl_rng_next(state) * n) >> 64);
}

/* Candidate pairs are packed i << 32 | j with i < j. */
static inline uint64_t bl_pair_pack(uint32_t i, uint32_t j)
{
    return i < j ? ((uint64_t)i << 32) | j : ((uint64_t)j << 32) | i;
}
static inline uint32_t bl_pair_a(uint64_t p) { return (uint32_t)(p >> 32); }
static inline uint32_t bl_pair_b(uint64_t p) { return (uint32_t)p; }

/* Sort n 64-bit values ascending (LSD radix, tmp may be NULL: allocated).
   Returns 0, or -1 if out of memory. */
int bl_sort_u64(uint64_t *v, size_t n);
/* Sort and drop duplicates; returns the new length. */
size_t bl_sort_unique_u64(uint64_t *v, size_t n, int *oom);

/* Threads actually used for opt->threads (0 = online CPUs), at least 1. */
unsigned bl_threads_for(unsigned requested);

/*
 * Run fn(ctx, lo, hi) over [0, n) in chunks on `threads` threads.  Progress
 * is reported from the calling thread; a non-zero return from progress sets
 * *cancel, which workers poll between chunks.
 */
typedef void (*bl_range_fn)(void *ctx, unsigned thread, size_t lo, size_t hi);
bl_status bl_parallel_for(size_t n, size_t chunk, unsigned threads, bl_range_fn fn, void *ctx,
                          bl_progress_fn progress, void *progress_user, const char *what,
                          bl_error *err);

void bl_logf(const bl_match_options *opt, bl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
