/* match.c - the in-memory dataset, shared helpers (threads, sorting, logging)
   and the orchestration of a matching run. */
#include "config.h"

#include "match.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "cluster.h"
#include "compare.h"
#include "error.h"
#include "linkmap.h"
#include "model.h"

/* ------------------------------------------------------------ helpers */

void bl_logf(const bl_match_options *opt, bl_log_level level, const char *fmt, ...)
{
    if (!opt || !opt->log)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    opt->log(opt->log_user, level, buf);
}

unsigned bl_threads_for(unsigned requested)
{
    if (requested)
        return requested > 256 ? 256 : requested;
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    if (c < 1)
        c = 1;
    return c > 256 ? 256u : (unsigned)c;
}

/* LSD radix sort on 16-bit digits, skipping digits that are equal in every
   value (packed pairs of a small dataset use only the low bits). */
int bl_sort_u64(uint64_t *v, size_t n)
{
    if (n < 2)
        return 0;
    if (n < 256) {
        for (size_t i = 1; i < n; i++) {
            uint64_t x = v[i];
            size_t j = i;
            for (; j > 0 && v[j - 1] > x; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
        return 0;
    }
    uint64_t or_all = 0, and_all = ~(uint64_t)0;
    for (size_t i = 0; i < n; i++) {
        or_all |= v[i];
        and_all &= v[i];
    }
    uint64_t varying = or_all ^ and_all;
    uint64_t *tmp = malloc(n * sizeof *tmp);
    size_t *count = malloc(65536 * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return -1;
    }
    uint64_t *from = v, *to = tmp;
    for (unsigned shift = 0; shift < 64; shift += 16) {
        if (!((varying >> shift) & 0xffff))
            continue;
        memset(count, 0, 65536 * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(from[i] >> shift) & 0xffff]++;
        size_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            to[count[(from[i] >> shift) & 0xffff]++] = from[i];
        uint64_t *t = from;
        from = to;
        to = t;
    }
    if (from != v)
        memcpy(v, from, n * sizeof *v);
    free(tmp);
    free(count);
    return 0;
}

size_t bl_sort_unique_u64(uint64_t *v, size_t n, int *oom)
{
    if (bl_sort_u64(v, n) != 0) {
        *oom = 1;
        return n;
    }
    if (n == 0)
        return 0;
    size_t w = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[w - 1])
            v[w++] = v[i];
    return w;
}

struct pf_shared {
    size_t n, chunk;
    bl_range_fn fn;
    void *ctx;
    atomic_size_t next;
    atomic_size_t done;
    atomic_int cancel;
    atomic_int total_reported;
};

struct pf_worker {
    struct pf_shared *sh;
    unsigned thread;
};

static void pf_run(struct pf_shared *sh, unsigned thread, bl_progress_fn progress, void *user,
                   const char *what)
{
    for (;;) {
        if (atomic_load(&sh->cancel))
            return;
        size_t lo = atomic_fetch_add(&sh->next, sh->chunk);
        if (lo >= sh->n)
            return;
        size_t hi = lo + sh->chunk < sh->n ? lo + sh->chunk : sh->n;
        sh->fn(sh->ctx, thread, lo, hi);
        size_t d = atomic_fetch_add(&sh->done, hi - lo) + (hi - lo);
        if (progress) {
            if (d == sh->n)
                atomic_store(&sh->total_reported, 1);
            if (progress(user, what, d, sh->n))
                atomic_store(&sh->cancel, 1);
        }
    }
}

static void *pf_thread(void *arg)
{
    struct pf_worker *w = arg;
    pf_run(w->sh, w->thread, NULL, NULL, NULL);
    return NULL;
}

bl_status bl_parallel_for(size_t n, size_t chunk, unsigned threads, bl_range_fn fn, void *ctx,
                          bl_progress_fn progress, void *progress_user, const char *what,
                          bl_error *err)
{
    struct pf_shared sh;
    sh.n = n;
    sh.chunk = chunk ? chunk : 1;
    sh.fn = fn;
    sh.ctx = ctx;
    atomic_init(&sh.next, 0);
    atomic_init(&sh.done, 0);
    atomic_init(&sh.cancel, 0);
    atomic_init(&sh.total_reported, 0);
    if (threads < 1)
        threads = 1;
    if (threads > 1 && n / sh.chunk < threads)
        threads = (unsigned)(n / sh.chunk) + 1;
    pthread_t tid[256];
    struct pf_worker wk[256];
    unsigned started = 0;
    for (unsigned t = 1; t < threads && t < 256; t++) {
        wk[t].sh = &sh;
        wk[t].thread = t;
        if (pthread_create(&tid[t], NULL, pf_thread, &wk[t]) != 0)
            break; /* fewer threads is still correct */
        started++;
    }
    pf_run(&sh, 0, progress, progress_user, what);
    for (unsigned t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    if (atomic_load(&sh.cancel))
        return bl_fail(err, BL_ECANCELLED, "%s: cancelled", what ? what : "matching");
    if (progress && !atomic_load(&sh.total_reported))
        progress(progress_user, what, n, n);
    return BL_OK;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------ dataset */

bl_status bl_dataset_new(bl_dataset **out, bl_error *err)
{
    if (!out)
        return bl_fail(err, BL_EMISUSE, "bl_dataset_new: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    bl_handle_created();
    return BL_OK;
}

void bl_dataset_free(bl_dataset *ds)
{
    if (!ds)
        return;
    for (size_t f = 0; f < ds->field_count; f++) {
        free(ds->field_names ? ds->field_names[f] : NULL);
        if (ds->filt)
            free(ds->filt[f]);
        if (ds->pop)
            free(ds->pop[f]);
        if (ds->tf)
            free(ds->tf[f]);
    }
    for (size_t k = 0; k < ds->key_count; k++)
        free(ds->key_names[k]);
    for (size_t s = 0; s < ds->source_count; s++)
        free(ds->source_names[s]);
    free(ds->field_names);
    free(ds->field_bits);
    free(ds->field_types);
    free(ds->words);
    free(ds->key_names);
    free(ds->first_path);
    free(ds->tokens);
    free(ds->src);
    free(ds->present);
    free(ds->sex);
    free(ds->age_band);
    free(ds->cohort);
    free(ds->filt);
    free(ds->pop);
    free(ds->clk);
    free(ds->clk_pop);
    free(ds->keys);
    free(ds->tf);
    free(ds->tf_present);
    free(ds->tf_pair_rate);
    free(ds);
    bl_handle_destroyed();
}

size_t bl_dataset_record_count(const bl_dataset *ds) { return ds ? ds->n : 0; }
size_t bl_dataset_source_count(const bl_dataset *ds) { return ds ? ds->source_count : 0; }
const char *bl_dataset_source_name(const bl_dataset *ds, size_t s)
{
    return ds && s < ds->source_count ? ds->source_names[s] : NULL;
}

bl_status bl_dataset_init_layout(bl_dataset *ds, const bl_encfile_layout *layout,
                                 const char *schema_fp, const char *key_fp, bl_error *err)
{
    if (ds->field_count || ds->n)
        return bl_fail(err, BL_EMISUSE, "dataset layout already set");
    if (layout->field_count == 0 || layout->field_count > BL_MATCH_FIELDS)
        return bl_fail(err, BL_EUNSUPPORTED, "matching supports 1 to %d fields, not %zu",
                       BL_MATCH_FIELDS, layout->field_count);
    size_t nf = layout->field_count;
    ds->field_count = nf;
    ds->field_names = calloc(nf, sizeof *ds->field_names);
    ds->field_bits = calloc(nf, sizeof *ds->field_bits);
    ds->field_types = calloc(nf, sizeof *ds->field_types);
    ds->words = calloc(nf, sizeof *ds->words);
    ds->filt = calloc(nf, sizeof *ds->filt);
    ds->pop = calloc(nf, sizeof *ds->pop);
    ds->tf = calloc(nf, sizeof *ds->tf);
    ds->tf_present = calloc(nf, sizeof *ds->tf_present);
    ds->tf_pair_rate = calloc(nf, sizeof *ds->tf_pair_rate);
    ds->key_count = layout->blocking_key_count;
    ds->key_names = calloc(ds->key_count ? ds->key_count : 1, sizeof *ds->key_names);
    if (!ds->field_names || !ds->field_bits || !ds->field_types || !ds->words || !ds->filt ||
        !ds->pop || !ds->tf || !ds->tf_present || !ds->tf_pair_rate || !ds->key_names)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t f = 0; f < nf; f++) {
        if (layout->field_bits[f] == 0 || layout->field_bits[f] % 64)
            return bl_fail(err, BL_EFORMAT, "field %zu: %u bits is not a positive multiple of 64",
                           f, layout->field_bits[f]);
        ds->field_names[f] = strdup(layout->field_names[f] ? layout->field_names[f] : "");
        if (!ds->field_names[f])
            return bl_fail(err, BL_ENOMEM, "out of memory");
        ds->field_bits[f] = layout->field_bits[f];
        ds->field_types[f] = layout->field_types[f];
        ds->words[f] = layout->field_bits[f] / 64;
        if (ds->field_types[f] == BL_FIELD_NAME)
            ds->name_mask |= 1u << f;
        if (ds->field_types[f] == BL_FIELD_IDENTITY)
            ds->identity_mask |= 1u << f;
        if (layout->field_salted && layout->field_salted[f])
            ds->salted_mask |= 1u << f;
    }
    if (layout->clk_bits % 64)
        return bl_fail(err, BL_EFORMAT, "CLK of %zu bits is not a multiple of 64", layout->clk_bits);
    const char *const *groups = layout->field_swap_groups;
    for (size_t f = 0; groups && f < nf; f++)
        for (size_t g = f + 1; groups[f] && g < nf; g++) {
            if (!groups[g] || strcmp(groups[f], groups[g]))
                continue;
            if (ds->field_bits[f] != ds->field_bits[g] || ds->field_types[f] != ds->field_types[g])
                return bl_fail(err, BL_EFORMAT,
                               "fields '%s' and '%s' share swap group '%s' but differ in type or size",
                               ds->field_names[f], ds->field_names[g], groups[f]);
            if (ds->swap_count == BL_MATCH_FIELDS / 2)
                return bl_fail(err, BL_EFORMAT, "too many swap groups");
            ds->swap_a[ds->swap_count] = (uint8_t)f;
            ds->swap_b[ds->swap_count] = (uint8_t)g;
            ds->swap_count++;
        }
    ds->clk_words = layout->clk_bits / 64;
    for (size_t k = 0; k < ds->key_count; k++) {
        ds->key_names[k] = strdup(layout->blocking_key_names[k] ? layout->blocking_key_names[k] : "");
        if (!ds->key_names[k])
            return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    snprintf(ds->schema_fp, sizeof ds->schema_fp, "%s", schema_fp ? schema_fp : "");
    snprintf(ds->key_fp, sizeof ds->key_fp, "%s", key_fp ? key_fp : "");
    return BL_OK;
}

static int grow(void **p, size_t elem, size_t cap)
{
    void *q = realloc(*p, elem * cap);
    if (!q)
        return -1;
    *p = q;
    return 0;
}

static bl_status ds_reserve(bl_dataset *ds, size_t want, bl_error *err)
{
    if (want <= ds->cap)
        return BL_OK;
    size_t cap = ds->cap ? ds->cap : 1024;
    while (cap < want)
        cap *= 2;
    if (cap > UINT32_MAX)
        return bl_fail(err, BL_EUNSUPPORTED, "more than %u records", UINT32_MAX);
    int bad = grow((void **)&ds->tokens, BL_TOKEN_BYTES, cap) ||
              grow((void **)&ds->src, 1, cap) || grow((void **)&ds->present, 4, cap) ||
              grow((void **)&ds->sex, 1, cap) || grow((void **)&ds->age_band, 1, cap) ||
              grow((void **)&ds->cohort, 2, cap) ||
              grow((void **)&ds->clk_pop, 4, cap) ||
              (ds->clk_words && grow((void **)&ds->clk, 8 * ds->clk_words, cap)) ||
              (ds->key_count && grow((void **)&ds->keys, 8 * ds->key_count, cap));
    for (size_t f = 0; !bad && f < ds->field_count; f++)
        bad = grow((void **)&ds->filt[f], 8 * ds->words[f], cap) ||
              grow((void **)&ds->pop[f], 4, cap);
    if (bad)
        return bl_fail(err, BL_ENOMEM, "out of memory holding %zu records", cap);
    ds->cap = cap;
    return BL_OK;
}

static int source_index(bl_dataset *ds, const char *name, bl_error *err)
{
    for (size_t s = 0; s < ds->source_count; s++)
        if (!strcmp(ds->source_names[s], name))
            return (int)s;
    if (ds->source_count >= BL_MAX_SOURCES) {
        bl_fail(err, BL_EUNSUPPORTED, "more than %d sources", BL_MAX_SOURCES);
        return -1;
    }
    ds->source_names[ds->source_count] = strdup(name);
    if (!ds->source_names[ds->source_count]) {
        bl_fail(err, BL_ENOMEM, "out of memory");
        return -1;
    }
    return (int)ds->source_count++;
}

bl_status bl_dataset_add_record(bl_dataset *ds, const char *source, const bl_record_view *rec,
                                bl_error *err)
{
    if (!ds->field_count)
        return bl_fail(err, BL_EMISUSE, "dataset has no layout yet");
    int s = source_index(ds, source ? source : "", err);
    if (s < 0)
        return (bl_status)err->code ? (bl_status)err->code : BL_ENOMEM;
    bl_status st = ds_reserve(ds, ds->n + 1, err);
    if (st)
        return st;
    size_t i = ds->n;
    memcpy(ds->tokens + i * BL_TOKEN_BYTES, rec->token, BL_TOKEN_BYTES);
    ds->src[i] = (uint8_t)s;
    uint32_t keep = ds->field_count >= 32 ? ~0u : ((1u << ds->field_count) - 1);
    ds->present[i] = rec->present & keep;
    ds->sex[i] = rec->sex;
    ds->age_band[i] = rec->age_band;
    ds->cohort[i] = rec->cohort;
    for (size_t f = 0; f < ds->field_count; f++) {
        uint64_t *dst = ds->filt[f] + i * ds->words[f];
        if (ds->present[i] >> f & 1) {
            memcpy(dst, rec->fields[f], 8 * ds->words[f]);
            ds->pop[f][i] = bl_popcount(dst, ds->words[f]);
            /* An empty filter carries no value: treat it as missing. */
            if (!ds->pop[f][i])
                ds->present[i] &= ~(1u << f);
        } else {
            memset(dst, 0, 8 * ds->words[f]);
            ds->pop[f][i] = 0;
        }
    }
    if (ds->clk_words) {
        uint64_t *c = ds->clk + i * ds->clk_words;
        if (rec->clk)
            memcpy(c, rec->clk, 8 * ds->clk_words);
        else
            memset(c, 0, 8 * ds->clk_words);
        ds->clk_pop[i] = bl_popcount(c, ds->clk_words);
    } else {
        ds->clk_pop[i] = 0;
    }
    if (ds->key_count) {
        if (rec->blocking_keys)
            memcpy(ds->keys + i * ds->key_count, rec->blocking_keys, 8 * ds->key_count);
        else
            memset(ds->keys + i * ds->key_count, 0, 8 * ds->key_count);
    }
    ds->source_records[s]++;
    ds->n++;
    ds->tf_ready = 0;
    return BL_OK;
}

static int same_layout(const bl_dataset *ds, const bl_encfile_info *h, char *what, size_t wsize)
{
    if (h->field_count != ds->field_count) {
        snprintf(what, wsize, "%zu fields vs %zu", h->field_count, ds->field_count);
        return 0;
    }
    for (size_t f = 0; f < ds->field_count; f++) {
        if (strcmp(h->field_names[f], ds->field_names[f]) || h->field_bits[f] != ds->field_bits[f] ||
            h->field_types[f] != ds->field_types[f]) {
            snprintf(what, wsize, "field %zu is '%s' (%u bits) vs '%s' (%u bits)", f,
                     h->field_names[f], h->field_bits[f], ds->field_names[f], ds->field_bits[f]);
            return 0;
        }
    }
    size_t pairs = 0;
    for (size_t f = 0; h->field_swap_groups && f < h->field_count; f++)
        for (size_t g = f + 1; h->field_swap_groups[f] && g < h->field_count; g++)
            pairs += h->field_swap_groups[g] &&
                     !strcmp(h->field_swap_groups[f], h->field_swap_groups[g]);
    if (pairs != ds->swap_count) {
        snprintf(what, wsize, "%zu swap groups vs %zu", pairs, ds->swap_count);
        return 0;
    }
    if (h->clk_bits != ds->clk_words * 64) {
        snprintf(what, wsize, "CLK of %zu bits vs %zu", h->clk_bits, ds->clk_words * 64);
        return 0;
    }
    if (h->blocking_key_count != ds->key_count) {
        snprintf(what, wsize, "%zu blocking keys vs %zu", h->blocking_key_count, ds->key_count);
        return 0;
    }
    for (size_t k = 0; k < ds->key_count; k++)
        if (strcmp(h->blocking_key_names[k], ds->key_names[k])) {
            snprintf(what, wsize, "blocking key %zu is '%s' vs '%s'", k, h->blocking_key_names[k],
                     ds->key_names[k]);
            return 0;
        }
    return 1;
}

bl_status bl_dataset_add_file(bl_dataset *ds, const char *path, bl_progress_fn progress,
                              void *progress_user, bl_error *err)
{
    if (!ds || !path)
        return bl_fail(err, BL_EMISUSE, "bl_dataset_add_file: NULL argument");
    bl_encfile_reader *r = NULL;
    bl_status st = bl_encfile_open(path, &r, err);
    if (st)
        return st;
    const bl_encfile_info *h = bl_encfile_header(r);
    if (!ds->field_count) {
        bl_encfile_layout lay = {h->field_count, h->field_names, h->field_bits, h->field_types,
                                 h->clk_bits, h->blocking_key_count, h->blocking_key_names,
                                 h->field_swap_groups, h->field_salted};
        st = bl_dataset_init_layout(ds, &lay, h->schema_fingerprint, h->key_fingerprint, err);
        if (!st && !(ds->first_path = strdup(path)))
            st = bl_fail(err, BL_ENOMEM, "out of memory");
        if (st) {
            bl_encfile_close(r);
            bl_error_locate(err, path, -1, -1, NULL);
            return st;
        }
    } else {
        char what[256];
        if (strcmp(h->schema_fingerprint, ds->schema_fp)) {
            st = bl_fail_at(err, BL_EMISMATCH, path, -1, -1, NULL,
                            "schema fingerprint differs from %s: encoded with a different schema",
                            ds->first_path);
        } else if (strcmp(h->key_fingerprint, ds->key_fp)) {
            st = bl_fail_at(err, BL_EMISMATCH, path, -1, -1, NULL,
                            "key fingerprint differs from %s: encoded under a different key",
                            ds->first_path);
        } else if (!same_layout(ds, h, what, sizeof what)) {
            st = bl_fail_at(err, BL_EMISMATCH, path, -1, -1, NULL,
                            "layout differs from %s: %s", ds->first_path, what);
        }
        if (st) {
            bl_encfile_close(r);
            return st;
        }
    }
    if (h->record_count && (st = ds_reserve(ds, ds->n + h->record_count, err))) {
        bl_encfile_close(r);
        return st;
    }
    const char *source = h->source ? h->source : "";
    uint64_t count = 0;
    for (;;) {
        const bl_record_view *rec = NULL;
        st = bl_encfile_next(r, &rec, err);
        if (st || !rec)
            break;
        if ((st = bl_dataset_add_record(ds, source, rec, err)))
            break;
        count++;
        if (progress && (count & 0xffff) == 0 &&
            progress(progress_user, "loading encodings", count, h->record_count)) {
            st = bl_fail(err, BL_ECANCELLED, "loading cancelled");
            break;
        }
    }
    bl_encfile_close(r);
    if (st)
        bl_error_locate(err, path, -1, -1, NULL);
    return st;
}

bl_status bl_dataset_find(const bl_dataset *ds, const char *source, const uint8_t token[BL_TOKEN_BYTES],
                          size_t *index, bl_error *err)
{
    if (!ds || !token || !index)
        return bl_fail(err, BL_EMISUSE, "bl_dataset_find: NULL argument");
    for (size_t i = 0; i < ds->n; i++) {
        if (memcmp(ds->tokens + i * BL_TOKEN_BYTES, token, BL_TOKEN_BYTES))
            continue;
        if (source && strcmp(ds->source_names[ds->src[i]], source))
            continue;
        *index = i;
        return BL_OK;
    }
    char hex[2 * BL_TOKEN_BYTES + 1];
    for (int b = 0; b < BL_TOKEN_BYTES; b++)
        snprintf(hex + 2 * b, 3, "%02x", token[b]);
    return bl_fail(err, BL_ENOTFOUND, "no record with token %s%s%s", hex, source ? " in source " : "",
                   source ? source : "");
}

/* Hash a filter's words for term-frequency counting. */
static uint64_t filter_hash(const uint64_t *w, size_t words)
{
    uint64_t h = 0x243f6a8885a308d3ULL ^ words;
    for (size_t i = 0; i < words; i++)
        h = bl_mix64(h ^ w[i]) + i;
    return h;
}

bl_status bl_dataset_term_frequencies(bl_dataset *ds, bl_error *err)
{
    if (ds->tf_ready)
        return BL_OK;
    size_t n = ds->n;
    uint64_t *h = malloc((n ? n : 1) * sizeof *h);
    uint64_t *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!h || !sorted) {
        free(h);
        free(sorted);
        return bl_fail(err, BL_ENOMEM, "out of memory counting term frequencies");
    }
    for (size_t f = 0; f < ds->field_count; f++) {
        free(ds->tf[f]);
        ds->tf[f] = calloc(n ? n : 1, sizeof *ds->tf[f]);
        if (!ds->tf[f]) {
            free(h);
            free(sorted);
            return bl_fail(err, BL_ENOMEM, "out of memory counting term frequencies");
        }
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (ds->present[i] >> f & 1) {
                h[i] = filter_hash(bl_ds_filter(ds, f, i), ds->words[f]);
                sorted[m++] = h[i];
            }
        }
        ds->tf_present[f] = m;
        if (bl_sort_u64(sorted, m)) {
            free(h);
            free(sorted);
            return bl_fail(err, BL_ENOMEM, "out of memory counting term frequencies");
        }
        for (size_t i = 0; i < n; i++) {
            if (!(ds->present[i] >> f & 1))
                continue;
            /* lower and upper bound of h[i] in sorted */
            size_t lo = 0, hi = m;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (sorted[mid] < h[i])
                    lo = mid + 1;
                else
                    hi = mid;
            }
            size_t a = lo;
            hi = m;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (sorted[mid] <= h[i])
                    lo = mid + 1;
                else
                    hi = mid;
            }
            ds->tf[f][i] = (uint32_t)(lo - a);
        }
        /* Sum over records of (count - 1) = ordered pairs sharing a filter. */
        double same = 0;
        for (size_t i = 0; i < n; i++)
            if (ds->present[i] >> f & 1)
                same += (double)ds->tf[f][i] - 1.0;
        ds->tf_pair_rate[f] = m > 1 ? same / ((double)m * (double)(m - 1)) : 0.0;
    }
    free(h);
    free(sorted);
    ds->tf_ready = 1;
    return BL_OK;
}

/* ------------------------------------------------------------ options */

void bl_match_options_default(bl_match_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    /* 0.5 is the Bayes decision boundary for calibrated probabilities (link
       when a match is more likely than not); the band below it goes to
       clerical review.  Projects that weigh a false merge above a missed link
       raise it (e.g. 0.9; docs/matching.md gives both operating points). */
    opt->threshold = 0.5;
    opt->review_low = 0.1;
    opt->threads = 0;
    opt->max_block = 1000;
    opt->lsh_bands = 24;
    opt->lsh_bits = 64;
    opt->u_sample_pairs = 4000000;
    opt->em_max_iterations = 5000;
    opt->em_tolerance = 1e-6;
    opt->seed = 1;
    opt->unique_min_probability = 0.999;
    opt->merge_min_support = 0.5;
}

static bl_status check_options(const bl_match_options *opt, bl_error *err)
{
    if (!(opt->threshold > 0 && opt->threshold < 1))
        return bl_fail(err, BL_EMISUSE, "threshold %g is not in (0, 1)", opt->threshold);
    if (!(opt->review_low >= 0 && opt->review_low <= opt->threshold))
        return bl_fail(err, BL_EMISUSE, "review band lower bound %g is not in [0, threshold]",
                       opt->review_low);
    if (opt->lsh_bands && (opt->lsh_bits == 0 || opt->lsh_bits > 64))
        return bl_fail(err, BL_EMISUSE, "LSH bits per band must be 1..64, not %u", opt->lsh_bits);
    if (!(opt->merge_min_support >= 0 && opt->merge_min_support <= 1))
        return bl_fail(err, BL_EMISUSE, "merge support %g is not in [0, 1]", opt->merge_min_support);
    return BL_OK;
}

/* ------------------------------------------------------------ training */

/* Candidates and their comparison vectors, shared by train and run. */
typedef struct candidates {
    uint64_t *pairs;
    uint64_t *gamma;
    size_t n;
} candidates;

static bl_status make_candidates(const bl_dataset *ds, const bl_model *model,
                                 const bl_match_options *opt, bl_progress_fn progress, void *pu,
                                 candidates *c, bl_match_stats *stats, bl_error *err)
{
    double t0 = now_seconds();
    bl_block_result br;
    memset(&br, 0, sizeof br);
    bl_status st = bl_block_candidates(ds, opt, progress, pu, &br, err);
    if (st)
        return st;
    stats->candidate_pairs = br.n;
    stats->blocking_pairs = br.blocking_pairs;
    stats->lsh_only_pairs = br.lsh_only_pairs;
    stats->blocks_capped = br.blocks_capped;
    stats->keys_dropped = br.keys_dropped;
    double t1 = now_seconds();
    stats->seconds_block += t1 - t0;
    c->pairs = br.pairs;
    c->n = br.n;
    c->gamma = malloc((c->n ? c->n : 1) * sizeof *c->gamma);
    if (!c->gamma) {
        free(c->pairs);
        c->pairs = NULL;
        return bl_fail(err, BL_ENOMEM, "out of memory for %zu comparison vectors", c->n);
    }
    st = bl_compare_pairs(ds, model, c->pairs, c->n, bl_threads_for(opt->threads), c->gamma,
                          progress, pu, err);
    stats->seconds_compare += now_seconds() - t1;
    if (st) {
        free(c->pairs);
        free(c->gamma);
        c->pairs = c->gamma = NULL;
    }
    return st;
}

static void free_candidates(candidates *c)
{
    free(c->pairs);
    free(c->gamma);
    c->pairs = c->gamma = NULL;
    c->n = 0;
}

static bl_status train_with(bl_model *model, const bl_dataset *ds, const bl_match_options *opt,
                            bl_progress_fn progress, void *pu, const candidates *c,
                            bl_match_stats *stats, bl_error *err)
{
    double t0 = now_seconds();
    bl_status st = bl_model_estimate_u(model, ds, opt, progress, pu, err);
    if (!st)
        st = bl_model_em(model, ds, c->pairs, c->gamma, c->n, opt, err);
    if (!st) {
        stats->u_sample_pairs = model->u_sample_pairs;
        stats->em_iterations = model->em_iterations;
        stats->em_converged = model->em_converged;
    }
    stats->seconds_train += now_seconds() - t0;
    return st;
}

bl_status bl_model_train(bl_model *model, const bl_dataset *ds, const bl_match_options *options,
                         bl_progress_fn progress, void *pu, bl_match_stats *stats, bl_error *err)
{
    if (!model || !ds)
        return bl_fail(err, BL_EMISUSE, "bl_model_train: NULL argument");
    bl_match_options defaults;
    if (!options) {
        bl_match_options_default(&defaults);
        options = &defaults;
    }
    bl_match_stats local;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    stats->records = ds->n;
    bl_status st = check_options(options, err);
    if (!st)
        st = bl_model_check_dataset(model, ds, err);
    if (!st)
        st = bl_dataset_term_frequencies((bl_dataset *)ds, err);
    if (st)
        return st;
    candidates c = {0};
    st = make_candidates(ds, model, options, progress, pu, &c, stats, err);
    if (!st)
        st = train_with(model, ds, options, progress, pu, &c, stats, err);
    free_candidates(&c);
    return st;
}

/* ------------------------------------------------------------ run */

typedef struct score_ctx {
    const bl_dataset *ds;
    const bl_model *model;
    const candidates *c;
    float *weight;
} score_ctx;

static void score_range(void *arg, unsigned thread, size_t lo, size_t hi)
{
    (void)thread;
    score_ctx *s = arg;
    for (size_t i = lo; i < hi; i++) {
        uint64_t p = s->c->pairs[i];
        s->weight[i] = (float)bl_model_weight(s->model, s->ds, s->c->gamma[i], bl_pair_a(p),
                                              bl_pair_b(p));
    }
}

bl_status bl_match_run(const bl_dataset *ds, bl_model *model, const bl_match_options *options,
                       bl_progress_fn progress, void *pu, bl_linkmap **out,
                       bl_match_stats *stats, bl_error *err)
{
    if (!ds || !model || !out)
        return bl_fail(err, BL_EMISUSE, "bl_match_run: NULL argument");
    *out = NULL;
    bl_match_options defaults;
    if (!options) {
        bl_match_options_default(&defaults);
        options = &defaults;
    }
    bl_match_stats local;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    stats->records = ds->n;
    bl_status st = check_options(options, err);
    if (!st)
        st = bl_model_check_dataset(model, ds, err);
    if (!st)
        st = bl_dataset_term_frequencies((bl_dataset *)ds, err);
    if (st)
        return st;
    if (ds->n > UINT32_MAX - 1)
        return bl_fail(err, BL_EUNSUPPORTED, "too many records");

    candidates c = {0};
    st = make_candidates(ds, model, options, progress, pu, &c, stats, err);
    if (st)
        return st;
    if (!model->trained || options->retrain) {
        st = train_with(model, ds, options, progress, pu, &c, stats, err);
        if (st) {
            free_candidates(&c);
            return st;
        }
    } else {
        stats->em_iterations = 0;
        stats->em_converged = model->em_converged;
        if ((st = bl_model_bind(model, ds, err))) {
            free_candidates(&c);
            return st;
        }
    }

    double t0 = now_seconds();
    float *weight = malloc((c.n ? c.n : 1) * sizeof *weight);
    if (!weight) {
        free_candidates(&c);
        return bl_fail(err, BL_ENOMEM, "out of memory for pair weights");
    }
    score_ctx sc = {ds, model, &c, weight};
    st = bl_parallel_for(c.n, 1 << 16, bl_threads_for(options->threads), score_range, &sc,
                         progress, pu, "scoring pairs", err);
    if (st) {
        free(weight);
        free_candidates(&c);
        return st;
    }
    /* Keep only pairs worth clustering or reviewing; the rest go now. */
    double wlow = bl_prob_to_weight(options->review_low > 0 ? options->review_low : 1e-12);
    size_t keep = 0;
    for (size_t i = 0; i < c.n; i++)
        if (weight[i] >= wlow)
            keep++;
    bl_scored_pair *sp = malloc((keep ? keep : 1) * sizeof *sp);
    if (!sp) {
        free(weight);
        free_candidates(&c);
        return bl_fail(err, BL_ENOMEM, "out of memory for scored pairs");
    }
    size_t k = 0;
    for (size_t i = 0; i < c.n; i++)
        if (weight[i] >= wlow) {
            sp[k].a = bl_pair_a(c.pairs[i]);
            sp[k].b = bl_pair_b(c.pairs[i]);
            sp[k].weight = weight[i];
            k++;
        }
    free(weight);
    free_candidates(&c);

    bl_cluster_result cr;
    memset(&cr, 0, sizeof cr);
    st = bl_cluster(ds, model, options, sp, keep, progress, pu, &cr, err);
    free(sp);
    if (!st)
        st = bl_linkmap_from_clusters(ds, &cr, out, err);
    if (!st) {
        stats->links = cr.links;
        stats->links_rejected = cr.links_rejected;
        stats->entities = cr.entity_count;
        stats->multi_record_entities = cr.multi_entities;
        stats->review_pairs = cr.review_count;
    }
    bl_cluster_result_free(&cr);
    stats->seconds_cluster = now_seconds() - t0;
    return st;
}

/* ------------------------------------------------------------ explain */

bl_status bl_explain_pair(const bl_dataset *ds, const bl_model *model, size_t a, size_t b,
                          bl_explanation *out, bl_error *err)
{
    if (!ds || !model || !out)
        return bl_fail(err, BL_EMISUSE, "bl_explain_pair: NULL argument");
    if (a >= ds->n || b >= ds->n)
        return bl_fail(err, BL_EMISUSE, "record index out of range");
    bl_status st = bl_model_check_dataset(model, ds, err);
    if (!st)
        st = bl_dataset_term_frequencies((bl_dataset *)ds, err);
    if (st)
        return st;
    memset(out, 0, sizeof *out);
    double pi[BL_CLASSES];
    bl_model_pair_pi(model, ds->source_names[ds->src[a]], ds->source_names[ds->src[b]], pi);
    out->prior_weight = bl_model_prior_weight_pi(pi);
    out->weight = out->prior_weight;
    out->field_count = model->field_count;
    double dice[BL_MATCH_FIELDS];
    uint64_t g = bl_compare_pair_dice(ds, model, (uint32_t)a, (uint32_t)b, dice);
    for (size_t f = 0; f < model->field_count; f++) {
        const bl_model_field *mf = &model->fields[f];
        bl_field_evidence *e = &out->fields[f];
        int lv = bl_gamma_level(g, f);
        e->field = mf->name;
        e->level = lv;
        e->level_name = bl_model_level_name(mf, lv);
        e->dice = dice[f];
        e->swapped = bl_gamma_swapped_field(ds, g, f);
        if (lv) {
            e->m = mf->m[lv];
            e->u = mf->u[lv];
            e->weight = mf->w[lv];
            if (!e->swapped)
                e->tf_adjustment = bl_model_tf_adjustment(model, ds, f, lv, (uint32_t)a);
        }
        out->weight += e->weight + e->tf_adjustment;
    }
    out->related_adjustment = bl_model_related_adjustment_pi(model, g, pi);
    out->weight += out->related_adjustment;
    out->probability = bl_weight_to_prob(out->weight);
    return BL_OK;
}
