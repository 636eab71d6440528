/* compare.h - private: field comparison (Dice of field filters -> level)
   and the threaded comparison of candidate pairs. */
#ifndef BL_COMPARE_H
#define BL_COMPARE_H
#include "bloomlink.h"
#include "match.h"

struct bl_model;

/* Fields comparable between records a and b: present on both sides, and
   salted fields only when both records are of one salt cohort. */
uint32_t bl_compare_both(const bl_dataset *ds, uint32_t a, uint32_t b);
/* Agreement level of field f for records a and b (0 missing, 1 disagree,
   ..., nlevels-1 exact).  If dice is not NULL it receives the Dice
   coefficient (-1 when missing). */
int bl_compare_field(const bl_dataset *ds, const struct bl_model *m, size_t f, uint32_t a,
                     uint32_t b, double *dice);
/* Comparison vector: BL_GAMMA_BITS per field, with BL_GAMMA_SWAPPED set when
   a swap group's fields agreed better crossed and were scored that way. */
uint64_t bl_compare_pair(const bl_dataset *ds, const struct bl_model *m, uint32_t a, uint32_t b);
/* The same, with each field's Dice in dice[field_count] (-1 when missing). */
uint64_t bl_compare_pair_dice(const bl_dataset *ds, const struct bl_model *m, uint32_t a,
                              uint32_t b, double dice[]);
/* Compare n packed pairs into gamma[], split over threads. */
bl_status bl_compare_pairs(const bl_dataset *ds, const struct bl_model *m, const uint64_t *pairs,
                           size_t n, unsigned threads, uint64_t *gamma, bl_progress_fn progress,
                           void *pu, bl_error *err);
#endif
