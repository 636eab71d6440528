/* linkmap.h - private: the link map (record -> entity) and review pairs. */
#ifndef BL_LINKMAP_H
#define BL_LINKMAP_H
#include "bloomlink.h"
#include "cluster.h"
#include "match.h"

typedef struct bl_lm_review {
    uint8_t src_a, src_b;
    uint8_t tok_a[BL_TOKEN_BYTES], tok_b[BL_TOKEN_BYTES];
    double weight;
    uint8_t reason;
} bl_lm_review;

struct bl_linkmap {
    size_t n, cap;
    size_t source_count;
    char *source_names[BL_MAX_SOURCES];
    uint8_t *src;
    uint8_t *tokens;
    uint64_t *entity;       /* 1-based ids */
    double *prob;
    uint32_t *entity_size;  /* per record: size of its entity */
    uint8_t *sex, *age_band;
    int has_demographics;
    size_t entity_count;
    uint64_t *entity_edges; /* per entity id - 1; NULL when read from CSV */
    bl_lm_review *review;
    size_t review_count, review_cap;
};

bl_status bl_linkmap_from_clusters(const bl_dataset *ds, const bl_cluster_result *cr,
                                   bl_linkmap **out, bl_error *err);
const char *bl_reason_name(uint8_t reason);
#endif
