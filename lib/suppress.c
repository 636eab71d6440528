/* suppress.c - primary and secondary small-number suppression.
 *
 * Primary suppression hides counts from 1 to the threshold.  That alone is
 * not enough when totals are published: a row with one hidden cell gives it
 * away by subtraction.  Secondary (complementary) suppression hides more
 * cells until no hidden value follows from the published ones.  Two passes:
 *  1. the line rule: every line (cells along one dimension plus their total)
 *     holds zero or at least two suppressed entries;
 *  2. an exact check: a hidden entry x_j is recoverable iff the unit vector
 *     e_j lies in the row space of the line equations restricted to hidden
 *     entries.  Patterns that pass the line rule can still fail this (two
 *     cycles of hidden cells joined by one cell), so each recoverable entry
 *     gets one more complement and both passes repeat.
 * Complements are the smallest non-zero published counts (least information
 * lost); a published zero is used only when nothing else is left.
 */
#include "config.h"

#include "suppress.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

bl_status bl_ctable_init(bl_ctable *t, size_t ndims, const size_t *categories, bl_error *err)
{
    memset(t, 0, sizeof *t);
    if (ndims == 0 || ndims > BL_CTABLE_MAX_DIMS)
        return bl_fail(err, BL_EMISUSE, "a count table has 1 to %d dimensions", BL_CTABLE_MAX_DIMS);
    size_t n = 1;
    for (size_t d = 0; d < ndims; d++) {
        if (categories[d] == 0)
            return bl_fail(err, BL_EMISUSE, "dimension %zu has no categories", d);
        t->ext[d] = categories[d] + 1;
        if (n > ((size_t)1 << 26) / t->ext[d])
            return bl_fail(err, BL_EPOLICY, "the aggregate table would have too many cells; "
                                            "choose fewer or coarser dimensions");
        n *= t->ext[d];
    }
    t->ndims = ndims;
    t->ncells = n;
    t->count = calloc(n, sizeof *t->count);
    t->state = calloc(n, 1);
    if (!t->count || !t->state) {
        bl_ctable_free(t);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    return BL_OK;
}

void bl_ctable_free(bl_ctable *t)
{
    if (!t)
        return;
    free(t->count);
    free(t->state);
    t->count = NULL;
    t->state = NULL;
}

size_t bl_ctable_index(const bl_ctable *t, const size_t *idx)
{
    size_t i = 0;
    for (size_t d = 0; d < t->ndims; d++)
        i = i * t->ext[d] + idx[d];
    return i;
}

static size_t stride_of(const bl_ctable *t, size_t d)
{
    size_t s = 1;
    for (size_t e = d + 1; e < t->ndims; e++)
        s *= t->ext[e];
    return s;
}

static size_t coord(const bl_ctable *t, size_t i, size_t d)
{
    return i / stride_of(t, d) % t->ext[d];
}

void bl_ctable_totals(bl_ctable *t)
{
    /* Margins dimension by dimension: after pass d every position whose
       coordinate d is the total holds the sum along d. */
    for (size_t d = 0; d < t->ndims; d++) {
        size_t st = stride_of(t, d), last = t->ext[d] - 1;
        for (size_t i = 0; i < t->ncells; i++) {
            if (coord(t, i, d) != 0)
                continue;
            uint64_t sum = 0;
            for (size_t k = 0; k < last; k++)
                sum += t->count[i + k * st];
            t->count[i + last * st] = sum;
        }
    }
}

/* Calls fn for each line: its first position and stride along dimension d. */
typedef int (*line_fn)(bl_ctable *t, size_t first, size_t stride, size_t len, void *u);

static int for_each_line(bl_ctable *t, line_fn fn, void *u)
{
    int changed = 0;
    for (size_t d = 0; d < t->ndims; d++) {
        size_t st = stride_of(t, d);
        for (size_t i = 0; i < t->ncells; i++)
            if (coord(t, i, d) == 0)
                changed |= fn(t, i, st, t->ext[d], u);
    }
    return changed;
}

/* Smallest non-zero published entry of a line (non-total first on ties), or
   a published zero when allow_zero; SIZE_MAX if none. */
static size_t pick_complement(const bl_ctable *t, size_t first, size_t st, size_t len, int allow_zero)
{
    size_t best = SIZE_MAX;
    for (size_t k = 0; k < len; k++) {
        size_t p = first + k * st;
        if (t->state[p] != BL_CELL_PUBLISHED || (t->count[p] == 0 && !allow_zero))
            continue;
        if (best == SIZE_MAX || t->count[p] < t->count[best])
            best = p; /* strict: earlier (non-total) positions win ties */
    }
    return best;
}

static int line_rule(bl_ctable *t, size_t first, size_t st, size_t len, void *u)
{
    uint64_t *added = u;
    size_t hidden = 0;
    for (size_t k = 0; k < len; k++)
        hidden += t->state[first + k * st] != BL_CELL_PUBLISHED;
    if (hidden != 1)
        return 0;
    size_t p = pick_complement(t, first, st, len, 0);
    if (p == SIZE_MAX)
        p = pick_complement(t, first, st, len, 1);
    if (p == SIZE_MAX)
        return 0;
    t->state[p] = BL_CELL_SECONDARY;
    (*added)++;
    return 1;
}

/* ---------------------------------------------------- exact recoverability */

#define PRIME ((uint64_t)0x1fffffffffffffffULL) /* 2^61 - 1 */

static uint64_t mulmod(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    uint64_t lo = (uint64_t)(r & PRIME), hi = (uint64_t)(r >> 61);
    uint64_t s = lo + hi;
    return s >= PRIME ? s - PRIME : s;
}

static uint64_t powmod(uint64_t a, uint64_t e)
{
    uint64_t r = 1;
    while (e) {
        if (e & 1)
            r = mulmod(r, a);
        a = mulmod(a, a);
        e >>= 1;
    }
    return r;
}

static uint64_t submod(uint64_t a, uint64_t b) { return a >= b ? a - b : a + PRIME - b; }

typedef struct {
    size_t m;          /* hidden entries */
    size_t *col_of;    /* table position -> column, SIZE_MAX if published */
    uint64_t *rows;    /* reduced rows, m columns each */
    size_t *pivot;     /* pivot column of each row */
    size_t nrows;
    size_t cap;
    int oom;
} elim;

/* Reduce v by the rows so far; returns the first non-zero column or SIZE_MAX. */
static size_t reduce(const elim *e, uint64_t *v)
{
    for (size_t r = 0; r < e->nrows; r++) {
        uint64_t f = v[e->pivot[r]];
        if (!f)
            continue;
        const uint64_t *row = e->rows + r * e->m;
        for (size_t c = 0; c < e->m; c++)
            if (row[c])
                v[c] = submod(v[c], mulmod(f, row[c]));
    }
    for (size_t c = 0; c < e->m; c++)
        if (v[c])
            return c;
    return SIZE_MAX;
}

static int add_equation(bl_ctable *t, size_t first, size_t st, size_t len, void *u)
{
    elim *e = u;
    if (e->oom)
        return 0;
    if (e->nrows == e->cap) {
        size_t nc = e->cap ? 2 * e->cap : 64;
        if (nc > e->m)
            nc = e->m; /* rank never exceeds the number of unknowns */
        if (nc <= e->cap) {
            return 0; /* full rank already: nothing more can be learnt */
        }
        uint64_t *nr = realloc(e->rows, nc * e->m * sizeof *nr);
        size_t *np = nr ? realloc(e->pivot, nc * sizeof *np) : NULL;
        if (nr)
            e->rows = nr;
        if (!np) {
            e->oom = 1;
            return 0;
        }
        e->pivot = np;
        e->cap = nc;
    }
    uint64_t *v = e->rows + e->nrows * e->m;
    memset(v, 0, e->m * sizeof *v);
    int any = 0;
    for (size_t k = 0; k < len; k++) {
        size_t c = e->col_of[first + k * st];
        if (c != SIZE_MAX) {
            v[c] = 1;
            any = 1;
        }
    }
    if (!any)
        return 0;
    size_t p = reduce(e, v);
    if (p == SIZE_MAX)
        return 0;
    /* Normalise the pivot to 1 and clear it from the earlier rows, so rows
       stay fully reduced and a later reduce() needs one pass. */
    uint64_t inv = powmod(v[p], PRIME - 2);
    for (size_t c = 0; c < e->m; c++)
        if (v[c])
            v[c] = mulmod(v[c], inv);
    for (size_t r = 0; r < e->nrows; r++) {
        uint64_t *row = e->rows + r * e->m;
        uint64_t f = row[p];
        if (!f)
            continue;
        for (size_t c = 0; c < e->m; c++)
            if (v[c])
                row[c] = submod(row[c], mulmod(f, v[c]));
    }
    e->pivot[e->nrows++] = p;
    return 0;
}

/* Hidden entries a published-values attacker can solve for exactly; their
   table positions go to out (if non-NULL, room for all hidden entries).
   Returns SIZE_MAX when the system is too large to check. */
static size_t recoverable_positions(const bl_ctable *t, size_t *out)
{
    elim e;
    memset(&e, 0, sizeof e);
    for (size_t i = 0; i < t->ncells; i++)
        e.m += t->state[i] != BL_CELL_PUBLISHED;
    if (e.m == 0)
        return 0;
    if (e.m > 4000)
        return SIZE_MAX; /* O(m^3): left to the line rule for huge tables */
    e.col_of = malloc(t->ncells * sizeof *e.col_of);
    size_t *pos = malloc(e.m * sizeof *pos);
    uint64_t *v = malloc(e.m * sizeof *v);
    size_t found = 0;
    if (!e.col_of || !pos || !v) {
        found = SIZE_MAX;
        goto done;
    }
    for (size_t i = 0, c = 0; i < t->ncells; i++) {
        e.col_of[i] = SIZE_MAX;
        if (t->state[i] != BL_CELL_PUBLISHED) {
            e.col_of[i] = c;
            pos[c++] = i;
        }
    }
    for_each_line((bl_ctable *)t, add_equation, &e);
    if (e.oom) {
        found = SIZE_MAX;
        goto done;
    }
    for (size_t j = 0; j < e.m; j++) {
        memset(v, 0, e.m * sizeof *v);
        v[j] = 1;
        if (reduce(&e, v) == SIZE_MAX) {
            if (out)
                out[found] = pos[j];
            found++;
        }
    }
done:
    free(e.col_of);
    free(e.rows);
    free(e.pivot);
    free(pos);
    free(v);
    return found;
}

size_t bl_ctable_recoverable(const bl_ctable *t) { return recoverable_positions(t, NULL); }

/* One more complement in some line through position p. */
static int protect(bl_ctable *t, size_t p, int allow_zero)
{
    size_t best = SIZE_MAX;
    for (size_t d = 0; d < t->ndims; d++) {
        size_t st = stride_of(t, d);
        size_t first = p - coord(t, p, d) * st;
        size_t q = pick_complement(t, first, st, t->ext[d], allow_zero);
        if (q != SIZE_MAX && (best == SIZE_MAX || t->count[q] < t->count[best]))
            best = q;
    }
    if (best == SIZE_MAX)
        return 0;
    t->state[best] = BL_CELL_SECONDARY;
    return 1;
}

bl_status bl_ctable_suppress(bl_ctable *t, long threshold, int secondary, uint64_t *primary,
                             uint64_t *secondary_out, bl_error *err)
{
    uint64_t np = 0, ns = 0;
    for (size_t i = 0; i < t->ncells; i++) {
        t->state[i] = BL_CELL_PUBLISHED;
        if (t->count[i] >= 1 && t->count[i] <= (uint64_t)threshold) {
            t->state[i] = BL_CELL_PRIMARY;
            np++;
        }
    }
    if (secondary) {
        size_t *bad = malloc((t->ncells ? t->ncells : 1) * sizeof *bad);
        if (!bad)
            return bl_fail(err, BL_ENOMEM, "out of memory");
        for (;;) {
            while (for_each_line(t, line_rule, &ns))
                ;
            size_t nbad = recoverable_positions(t, bad);
            if (nbad == 0 || nbad == SIZE_MAX)
                break;
            int progress = 0;
            for (size_t k = 0; k < nbad && !progress; k++)
                progress = protect(t, bad[k], 0) || protect(t, bad[k], 1);
            if (!progress) {
                free(bad);
                return bl_fail(err, BL_EPOLICY, "cannot protect %zu suppressed cells of the "
                                                "aggregate; choose coarser dimensions", nbad);
            }
            ns++;
        }
        free(bad);
    }
    if (primary)
        *primary = np;
    if (secondary_out)
        *secondary_out = ns;
    return BL_OK;
}

void bl_ctable_format(const bl_ctable *t, size_t i, long round_to, char *out, size_t out_size)
{
    if (t->state[i] != BL_CELL_PUBLISHED) {
        snprintf(out, out_size, "*");
        return;
    }
    uint64_t c = t->count[i];
    if (round_to > 1)
        c = (c + (uint64_t)round_to / 2) / (uint64_t)round_to * (uint64_t)round_to;
    snprintf(out, out_size, "%llu", (unsigned long long)c);
}
