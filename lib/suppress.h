/* suppress.h - small-number suppression of count tables with margins (private). */
#ifndef BL_SUPPRESS_H
#define BL_SUPPRESS_H
#include <stddef.h>
#include <stdint.h>

#include "bloomlink.h"

/*
 * A k-dimensional count table with every marginal total.  Dimension d has
 * ext[d] = categories + 1 positions; the last position is the total over that
 * dimension.  Cells are stored row-major (the last dimension varies fastest).
 * A "line" is the ext[d] positions along one dimension with the others fixed:
 * its last entry is the sum of the others, so a line whose entries are all
 * published but one gives that one away.
 */
typedef struct bl_ctable {
    size_t ndims;
    size_t ext[8];
    size_t ncells;
    uint64_t *count;
    uint8_t *state; /* BL_CELL_* */
} bl_ctable;

enum { BL_CELL_PUBLISHED = 0, BL_CELL_PRIMARY = 1, BL_CELL_SECONDARY = 2 };

#define BL_CTABLE_MAX_DIMS 8

/* Allocate a zeroed table; categories[d] >= 1. */
bl_status bl_ctable_init(bl_ctable *t, size_t ndims, const size_t *categories, bl_error *err);
void bl_ctable_free(bl_ctable *t);
/* Flat index of a position (idx[d] == categories[d] means the total). */
size_t bl_ctable_index(const bl_ctable *t, const size_t *idx);
/* Fill every margin from the interior cells. */
void bl_ctable_totals(bl_ctable *t);
/*
 * Suppress: counts 1..threshold are primary suppressions; with `secondary`,
 * complementary cells are suppressed until no suppressed entry can be
 * derived from the published ones by the additive relations of the table
 * (each line sums to its total).  Counts of primary and secondary
 * suppressions go to *primary and *secondary (may be NULL).
 */
bl_status bl_ctable_suppress(bl_ctable *t, long threshold, int secondary, uint64_t *primary,
                             uint64_t *secondary_out, bl_error *err);
/*
 * Number of suppressed entries whose value follows exactly from the published
 * entries and the table's additive structure (0 means none can be recovered).
 * Exact linear algebra over a large prime field.
 */
size_t bl_ctable_recoverable(const bl_ctable *t);
/* Text to publish for position i: "*", or the count rounded to a multiple of
   round_to (0 stays 0). */
void bl_ctable_format(const bl_ctable *t, size_t i, long round_to, char *out, size_t out_size);
#endif
