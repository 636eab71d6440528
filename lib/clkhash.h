/* clkhash.h - private parts of the clkhash / anonlink interchange, exposed for
   the tests: the greedy solver on hand-made candidates, clkhash's date
   parsing and its tokeniser. */
#ifndef BL_CLKHASH_H
#define BL_CLKHASH_H
#include <stddef.h>
#include <stdint.h>

#include "bloomlink.h"

/* One candidate pair as anonlink's candidate generation yields it. */
typedef struct bl_clk_candidate {
    double sim;
    uint32_t party0, party1; /* party0 < party1 */
    uint32_t rec0, rec1;
} bl_clk_candidate;

/* Sort candidates as anonlink does: similarity descending, then party0,
   party1, rec0, rec1 ascending. */
void bl_clk_candidates_sort(bl_clk_candidate *c, size_t n);

/*
 * anonlink's greedy solver (merge threshold 1, no deduplication) over
 * candidates already in solving order.  party_sizes gives each party's record
 * count (indices must be below it).  *out owned: bl_clk_groups_free.
 */
bl_status bl_clk_greedy_solve(const bl_clk_candidate *c, size_t n, const size_t *party_sizes,
                              size_t nparties, bl_clk_groups **out, bl_error *err);

/*
 * Python's datetime.strptime(value, format).strftime('%Y%m%d') as clkhash
 * uses it for date features (supported directives only).  out holds at least
 * 16 bytes.  BL_EINVALID when the value does not match or is not a date,
 * BL_EUNSUPPORTED for a directive bloomlink does not implement.
 */
bl_status bl_clkhash_format_date(const char *format, const char *value, char *out, size_t out_size,
                                 bl_error *err);

/*
 * clkhash's n-gram tokens of a UTF-8 word (padding with n-1 spaces each side
 * when n > 1; positional tokens are "<1-based index> <gram>"), written NUL
 * separated into buf.  Returns the token count, or -1 if buf is too small or
 * the word is not UTF-8.
 */
long bl_clkhash_ngrams(const char *word, unsigned n, int positional, char *buf, size_t size);

#endif
