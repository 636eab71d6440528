/* cluster.c - union-find over accepted links, with evidence constraints.
 *
 * Plain connected components over-merge: one false link joins two people's
 * whole clusters.  Here a link that would join two clusters of which one has
 * several records is only taken when the clusters as wholes agree: every
 * cross pair is scored directly (any two records can be compared, not just
 * candidates) and their mean match probability must reach merge_min_support
 * (average linkage).  Links are processed strongest first, so strong evidence
 * forms the cores and a later weak chain cannot pull them together.
 */
#include "config.h"

#include "cluster.h"

#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "error.h"
#include "model.h"

/* Beyond this many cross pairs a merge is judged on an even sample of them. */
#define MAX_CROSS 4096

typedef struct uf {
    uint32_t *parent, *size, *next;
    uint64_t *edges, *umask;
} uf;

static uint32_t find(uf *u, uint32_t x)
{
    while (u->parent[x] != x) {
        u->parent[x] = u->parent[u->parent[x]];
        x = u->parent[x];
    }
    return x;
}

static uint32_t unite(uf *u, uint32_t ra, uint32_t rb)
{
    if (u->size[ra] < u->size[rb]) {
        uint32_t t = ra;
        ra = rb;
        rb = t;
    }
    u->parent[rb] = ra;
    u->size[ra] += u->size[rb];
    u->edges[ra] += u->edges[rb];
    u->umask[ra] |= u->umask[rb];
    /* splice the circular member lists */
    uint32_t t = u->next[ra];
    u->next[ra] = u->next[rb];
    u->next[rb] = t;
    return ra;
}

static int cmp_weight_desc(const void *x, const void *y)
{
    const bl_scored_pair *a = x, *b = y;
    if (a->weight != b->weight)
        return a->weight > b->weight ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->b < b->b ? -1 : a->b > b->b;
}

static double pair_prob(const bl_dataset *ds, const bl_model *m, uint32_t x, uint32_t y)
{
    uint64_t g = bl_compare_pair(ds, m, x, y);
    return bl_weight_to_prob(bl_model_weight(m, ds, g, x, y));
}

static int push_review(bl_cluster_result *r, size_t *cap, uint32_t a, uint32_t b, float w,
                       uint8_t reason)
{
    if (r->review_count == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        bl_cluster_review *nr = realloc(r->review, nc * sizeof *nr);
        if (!nr)
            return -1;
        r->review = nr;
        *cap = nc;
    }
    bl_cluster_review *v = &r->review[r->review_count++];
    v->a = a;
    v->b = b;
    v->weight = w;
    v->reason = reason;
    return 0;
}

void bl_cluster_result_free(bl_cluster_result *r)
{
    if (!r)
        return;
    free(r->entity);
    free(r->best_prob);
    free(r->entity_size);
    free(r->entity_edges);
    free(r->review);
    memset(r, 0, sizeof *r);
}

bl_status bl_cluster(const bl_dataset *ds, const bl_model *m, const bl_match_options *opt,
                     bl_scored_pair *pairs, size_t n, bl_progress_fn progress, void *pu,
                     bl_cluster_result *r, bl_error *err)
{
    memset(r, 0, sizeof *r);
    size_t N = ds->n;
    uint64_t unique_mask = 0;
    for (size_t k = 0; k < opt->unique_source_count; k++)
        for (size_t s = 0; s < ds->source_count; s++)
            if (opt->unique_sources[k] && !strcmp(opt->unique_sources[k], ds->source_names[s]))
                unique_mask |= 1ull << s;
    uf u;
    size_t NN = N ? N : 1;
    u.parent = malloc(NN * sizeof *u.parent);
    u.size = malloc(NN * sizeof *u.size);
    u.next = malloc(NN * sizeof *u.next);
    u.edges = calloc(NN, sizeof *u.edges);
    u.umask = malloc(NN * sizeof *u.umask);
    r->best_prob = calloc(NN, sizeof *r->best_prob);
    r->entity = malloc(NN * sizeof *r->entity);
    uint32_t *xs = malloc(NN * sizeof *xs), *ys = malloc(NN * sizeof *ys);
    bl_status st = BL_OK;
    if (!u.parent || !u.size || !u.next || !u.edges || !u.umask || !r->best_prob || !r->entity ||
        !xs || !ys) {
        st = bl_fail(err, BL_ENOMEM, "out of memory clustering %zu records", N);
        goto done;
    }
    for (size_t i = 0; i < N; i++) {
        u.parent[i] = u.next[i] = (uint32_t)i;
        u.size[i] = 1;
        u.umask[i] = (1ull << ds->src[i]) & unique_mask;
    }
    qsort(pairs, n, sizeof *pairs, cmp_weight_desc);
    double thr_w = bl_prob_to_weight(opt->threshold);
    double low_w = bl_prob_to_weight(opt->review_low);
    size_t rcap = 0;
    for (size_t i = 0; i < n; i++) {
        if ((i & 0xffff) == 0 && progress &&
            progress(pu, "clustering", i, n)) {
            st = bl_fail(err, BL_ECANCELLED, "clustering cancelled");
            goto done;
        }
        bl_scored_pair *p = &pairs[i];
        if (p->weight < thr_w)
            break;
        uint32_t ra = find(&u, p->a), rb = find(&u, p->b);
        if (ra == rb)
            continue;
        r->links++;
        double prob = bl_weight_to_prob(p->weight);
        if (u.size[ra] == 1 && u.size[rb] == 1) {
            if ((u.umask[ra] & u.umask[rb]) && prob < opt->unique_min_probability) {
                r->links_rejected++;
                if (push_review(r, &rcap, p->a, p->b, p->weight, BL_REASON_UNIQUE))
                    goto oom;
                continue;
            }
            uint32_t root = unite(&u, ra, rb);
            u.edges[root] += 1;
        } else {
            /* Score the cross pairs of the two clusters directly. */
            size_t na = 0, nb = 0;
            uint32_t x = ra;
            do {
                xs[na++] = x;
                x = u.next[x];
            } while (x != ra);
            x = rb;
            do {
                ys[nb++] = x;
                x = u.next[x];
            } while (x != rb);
            size_t total = na * nb, step = total > MAX_CROSS ? total / MAX_CROSS + 1 : 1;
            double sum = 0;
            size_t scored = 0, above = 0;
            int unique_bad = 0;
            for (size_t k = 0; k < total; k += step) {
                uint32_t a = xs[k / nb], b = ys[k % nb];
                double q = pair_prob(ds, m, a, b);
                sum += q;
                scored++;
                if (q >= opt->threshold)
                    above++;
                if (((1ull << ds->src[a]) & (1ull << ds->src[b]) & unique_mask) &&
                    q < opt->unique_min_probability)
                    unique_bad = 1;
            }
            double support = scored ? sum / (double)scored : 0;
            if (unique_bad || support < opt->merge_min_support) {
                r->links_rejected++;
                if (push_review(r, &rcap, p->a, p->b, p->weight,
                                unique_bad ? BL_REASON_UNIQUE : BL_REASON_WEAK_BRIDGE))
                    goto oom;
                continue;
            }
            uint32_t root = unite(&u, ra, rb);
            u.edges[root] += step == 1 ? above : (uint64_t)((double)above * (double)total / (double)scored + 0.5);
        }
        if (prob > r->best_prob[p->a])
            r->best_prob[p->a] = (float)prob;
        if (prob > r->best_prob[p->b])
            r->best_prob[p->b] = (float)prob;
    }
    /* Entities numbered by their first record, so ids do not depend on the
       order links were taken. */
    for (size_t i = 0; i < N; i++)
        xs[i] = UINT32_MAX;
    size_t ne = 0;
    for (size_t i = 0; i < N; i++) {
        uint32_t root = find(&u, (uint32_t)i);
        if (xs[root] == UINT32_MAX)
            xs[root] = (uint32_t)ne++;
        r->entity[i] = xs[root];
    }
    r->entity_count = ne;
    r->entity_size = calloc(ne ? ne : 1, sizeof *r->entity_size);
    r->entity_edges = calloc(ne ? ne : 1, sizeof *r->entity_edges);
    if (!r->entity_size || !r->entity_edges)
        goto oom;
    for (size_t i = 0; i < N; i++) {
        uint32_t root = find(&u, (uint32_t)i);
        if (root == i) {
            r->entity_size[xs[root]] = u.size[root];
            r->entity_edges[xs[root]] = u.edges[root];
            if (u.size[root] > 1)
                r->multi_entities++;
        }
    }
    /* Grey band: below the threshold but worth a human look, unless the two
       records ended up together anyway. */
    for (size_t i = 0; i < n; i++) {
        bl_scored_pair *p = &pairs[i];
        if (p->weight >= thr_w || p->weight < low_w)
            continue;
        if (r->entity[p->a] == r->entity[p->b])
            continue;
        if (push_review(r, &rcap, p->a, p->b, p->weight, BL_REASON_GREY))
            goto oom;
    }
    if (progress)
        progress(pu, "clustering", n, n);
    goto done;
oom:
    st = bl_fail(err, BL_ENOMEM, "out of memory clustering");
done:
    free(u.parent);
    free(u.size);
    free(u.next);
    free(u.edges);
    free(u.umask);
    free(xs);
    free(ys);
    if (st)
        bl_cluster_result_free(r);
    return st;
}
