/* cluster.h - private: constrained clustering of scored pairs. */
#ifndef BL_CLUSTER_H
#define BL_CLUSTER_H
#include "bloomlink.h"
#include "match.h"

struct bl_model;

typedef struct bl_scored_pair {
    uint32_t a, b;
    float weight;
} bl_scored_pair;

enum { BL_REASON_GREY = 0, BL_REASON_WEAK_BRIDGE = 1, BL_REASON_UNIQUE = 2 };

typedef struct bl_cluster_review {
    uint32_t a, b;
    float weight;
    uint8_t reason;
} bl_cluster_review;

typedef struct bl_cluster_result {
    uint32_t *entity;        /* per record: entity 0 .. entity_count-1, by first record */
    float *best_prob;        /* per record: strongest accepted link, 0 if none */
    size_t entity_count;
    uint32_t *entity_size;   /* per entity */
    uint64_t *entity_edges;  /* per entity: record pairs inside scored above threshold */
    bl_cluster_review *review;
    size_t review_count;
    uint64_t links, links_rejected, multi_entities;
} bl_cluster_result;

/*
 * Accept pairs with probability >= threshold in descending weight order.
 * Two singletons merge on their link (if both are in one unique source, only
 * with probability >= unique_min_probability).  Merging clusters with more
 * records scores every cross pair directly and needs mean probability >=
 * merge_min_support (average linkage), so one weak link cannot bridge two
 * people.  pairs is reordered.
 */
bl_status bl_cluster(const bl_dataset *ds, const struct bl_model *m, const bl_match_options *opt,
                     bl_scored_pair *pairs, size_t n, bl_progress_fn progress, void *pu,
                     bl_cluster_result *out, bl_error *err);
void bl_cluster_result_free(bl_cluster_result *r);
#endif
