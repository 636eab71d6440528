/* block.h - private: candidate generation (keyed blocking keys + LSH on the
   CLK), with libbloom semi-join filtering and block-size caps. */
#ifndef BL_BLOCK_H
#define BL_BLOCK_H
#include "bloomlink.h"
#include "match.h"

typedef struct bl_block_result {
    uint64_t *pairs;          /* sorted, distinct, packed i << 32 | j, i < j; owned */
    size_t n;
    uint64_t blocking_pairs;  /* distinct pairs from keyed blocking keys */
    uint64_t lsh_only_pairs;  /* found by LSH and by no blocking key */
    uint64_t blocks_capped;
    uint64_t keys_dropped;    /* occurrences the semi-join removed */
} bl_block_result;

bl_status bl_block_candidates(const bl_dataset *ds, const bl_match_options *opt,
                              bl_progress_fn progress, void *pu, bl_block_result *out,
                              bl_error *err);

/* Band key of record i for LSH band b (0 = record not bucketed in this band),
   from lsh_bits CLK bit positions drawn from seed.  Exposed for tests. */
uint64_t bl_lsh_key(const bl_dataset *ds, const uint32_t *positions, unsigned bits, unsigned band,
                    size_t i);
void bl_lsh_positions(uint64_t seed, unsigned band, size_t clk_bits, unsigned bits, uint32_t *out);
#endif
