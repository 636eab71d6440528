/* encode.c - normalise, tokenise and hash a holder's records into field
   filters, a CLK, keyed blocking keys and a record token. */
#include "config.h"

#include "encode.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "csv.h"
#include "encfile.h"
#include "error.h"
#include "filter.h"
#include "io.h"
#include "key.h"
#include "normalise.h"
#include "profile.h"
#include "sha256.h"
#include "tokenise.h"

/*
 * The PRF is HMAC-SHA256 under one sub-key per purpose, each kept as its
 * two midstates (sha256.c), so a token's message of up to 55 bytes costs
 * exactly two compressions.
 *
 * A record needs about 55 PRF outputs.  They are gathered first (prf_add),
 * then resolved together (prf_flush): every cache slot is prefetched before
 * any is read, the misses go to the HMAC kernel as one batch (which runs
 * several messages interleaved), and only then are bits set.  Bits are
 * ORed in, so the order of resolution cannot change the output.
 *
 * Cache: tokens repeat heavily (a bigram of a common name within a
 * birth-year cohort, NHS-number digit pairs, date parts), so of 5.2 million
 * PRF calls for 100,000 GP records only 179,000 messages are distinct.  One
 * direct-mapped table of one-line entries keeps the common ones.  Because
 * all of a record's slots are prefetched before any is read, a probe costs
 * about 5 ns even when the line comes from L3 or memory, while a miss costs
 * an HMAC (about 50 ns with SHA-NI in batches).  Measured per record on that
 * extract (Zen 5; PRF resolution and bit setting, in ns at 2.1 GHz TSC):
 *   slots   memory   HMACs/record   ns/record
 *   none       -        58.6          3500
 *   2^12    256 KiB     40.9          2970
 *   2^14      1 MiB     31.4          2500
 *   2^16      4 MiB     19.4          2000
 *   2^17      8 MiB     14.7          1730
 *   2^18     16 MiB     11.6          1650
 *   2^19     32 MiB      9.8          1650   (more page faults, no faster)
 * so 2^17: nearly all of the gain for a quarter of the old table.  The old
 * layout put a 4096-slot near table in front of 2^19 slots; with every slot
 * of a record prefetched before the first probe, one level is enough.  The
 * table holds key-derived bits and is wiped with the encoder.
 */
#define CACHE_SLOTS (1u << 17)
/* Longest cached message: the key is len + 1, tag, message, zero padding. */
#define CACHE_MSG 14
#define CACHE_KEY 16
typedef struct cache_slot {
    uint8_t key[CACHE_KEY]; /* all zero: empty */
    uint8_t mac[32];
    uint8_t pad[16]; /* one slot per cache line */
} cache_slot;

/* One PRF output wanted: the message (at arena + msg) under a key, and
   where its 16 two-byte chunks go.  Chunks lo1 .. lo1+n1-1 become positions
   in f1, chunks lo2 .. lo2+n2-1 positions in f2; or, for blocking keys and
   the record token, the first raw_n bytes are copied to raw. */
typedef struct prf_req {
    const bl_hmac_key *key;
    uint64_t *f1, *f2;
    uint8_t *raw;
    uint32_t bits1, bits2;
    uint32_t slot; /* cache slot, or NO_SLOT for a message too long to cache */
    uint16_t msg, len;
    uint8_t lo1, n1, lo2, n2, raw_n;
} prf_req;

#define NO_SLOT UINT32_MAX
/* A default-schema record needs about 60 requests and 1 KiB of arena; a
   flush only happens early for schemas with many long tokens or keys. */
#define REQ_CAP 256
#define ARENA_BYTES 8192

/*
 * Per-encoder scratch for one record's requests (heap, reused).  Each
 * message sits in the arena at a 16-byte boundary, two bytes into its cache
 * key (len + 1, tag, message, zeros), so the key is written once when the
 * request is queued and read back as two words at flush time, long after
 * the byte stores have retired.
 */
typedef struct prf_batch {
    prf_req req[REQ_CAP];
    bl_hmac_job jobs[REQ_CAP];
    uint16_t job_req[REQ_CAP];
    uint8_t macs[REQ_CAP][BL_SHA256_BYTES];
    _Alignas(16) uint8_t arena[ARENA_BYTES];
    size_t n, used;
} prf_batch;

/* Cohort-tag slots, by year modulo: a power of two above a lifetime's span
   of birth years, so living people's years never share a slot. */
#define COHORT_SLOTS 128

struct bl_encoder {
    const bl_schema *schema;
    const bl_profile *profile;
    bl_hmac_key field_prf[BL_MAX_FIELDS];
    bl_hmac_key clk_prf;
    bl_hmac_key key_prf[BL_MAX_BLOCKING_KEYS];
    bl_hmac_key token_prf;
    bl_hmac_key cohort_prf;
    char key_fingerprint[BL_FINGERPRINT_HEX + 1];
    long today;
    uint64_t inject_enospc;
    cache_slot *cache;
    prf_batch *batch;
    /* Cohort tags by birth year (year + 1; 0 = empty): the tag's message is
       the year alone, so one HMAC per year serves every record, where the
       PRF cache would not (tags are raw outputs, never cached). */
    uint16_t cohort_year[COHORT_SLOTS];
    uint8_t cohort_tag[COHORT_SLOTS][2];
    /* Hardening transforms: fields with xor_folds or balanced are built here
       first; balanced fields have a keyed permutation each. */
    uint64_t *build[BL_MAX_FIELDS];
    uint64_t *folded;
    size_t build_words;
    uint32_t *perm[BL_MAX_FIELDS];
    bl_record_buf rec;
    /* column index of each schema field / full name / id / content in the
       current CSV header; -1 when absent */
    int col_field[BL_MAX_FIELDS];
    int col_full, col_id;
    int *col_content;
};

/* ------------------------------------------------------------ PRF */

/* Slot of a 16-byte cache key (two little-endian words): a full 64-bit
   avalanche (xorshift-multiply rounds), so every message byte reaches the
   index bits; a weaker mix left the q-gram bytes out of the index and made
   the direct-mapped table thrash. */
static uint32_t slot_of(uint64_t a, uint64_t b)
{
    uint64_t h = a ^ (b * 0x9e3779b97f4a7c15ull);
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return (uint32_t)(h & (CACHE_SLOTS - 1));
}

/* Bit positions from PRF output: 16-bit chunks scaled to [0, bits) by
   multiply-shift (exact for powers of two up to 65536, negligible bias
   otherwise).  Positions beyond 16 come from further PRF blocks (counter).
   A chunk is mac[2i] | mac[2i+1] << 8, i.e. a little-endian load, which is
   what configure guarantees the host is; one 16-bit load instead of two
   byte loads made this loop a fifth faster. */
static void set_bits(uint64_t *filter, uint32_t bits, const uint8_t *mac, uint32_t first,
                     uint32_t count)
{
    for (uint32_t i = first; i < first + count; i++) {
        uint16_t chunk;
        memcpy(&chunk, mac + 2 * i, sizeof chunk);
        uint32_t pos = (uint32_t)(((uint64_t)chunk * bits) >> 16);
        filter[pos >> 6] |= 1ull << (pos & 63);
    }
}

static void req_emit(const prf_req *r, const uint8_t *mac)
{
    if (r->raw) {
        memcpy(r->raw, mac, r->raw_n);
        return;
    }
    set_bits(r->f1, r->bits1, mac, r->lo1, r->n1);
    if (r->n2)
        set_bits(r->f2, r->bits2, mac, r->lo2, r->n2);
}

static inline int key_equal(const uint8_t *a, const uint8_t *b)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8);
    memcpy(&a1, a + 8, 8);
    memcpy(&b0, b, 8);
    memcpy(&b1, b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* Resolve every pending request: cache hits at once, misses as one batch
   for the HMAC kernel, whose results then fill the cache.  All slots are
   prefetched first, so misses to L2 and beyond overlap instead of queueing
   one by one (prefetching each as it was queued measured slower: the
   prefetches then stall the tokenising between them). */
static void prf_flush(bl_encoder *enc)
{
    prf_batch *b = enc->batch;
    cache_slot *cache = enc->cache;
    for (size_t i = 0; i < b->n; i++)
        if (b->req[i].slot != NO_SLOT)
            __builtin_prefetch(&cache[b->req[i].slot]);
    size_t nj = 0;
    for (size_t i = 0; i < b->n; i++) {
        const prf_req *r = &b->req[i];
        if (r->slot != NO_SLOT && key_equal(cache[r->slot].key, b->arena + r->msg - 2)) {
            req_emit(r, cache[r->slot].mac);
            continue;
        }
        b->jobs[nj] = (bl_hmac_job){r->key, b->arena + r->msg, r->len};
        b->job_req[nj++] = (uint16_t)i;
    }
    bl_hmac_batch(b->jobs, nj, b->macs);
    for (size_t j = 0; j < nj; j++) {
        const prf_req *r = &b->req[b->job_req[j]];
        req_emit(r, b->macs[j]);
        if (r->slot != NO_SLOT) {
            memcpy(cache[r->slot].key, b->arena + r->msg - 2, CACHE_KEY);
            memcpy(cache[r->slot].mac, b->macs[j], BL_SHA256_BYTES);
        }
    }
    b->n = 0;
    b->used = 0;
}

/* Queue PRF(msg) (counter 0) or PRF(msg ‖ counter) under key; tag names the
   key in the cache (raw outputs are never cached: they are unique per
   record).  Returns the request for the caller to say where the output
   goes.  Flushes first when full.
 *
 * A cacheable message (at most CACHE_MSG bytes with its counter) has its
 * cache key built in two registers, from a 16-byte load of msg masked to
 * its length: so msg must have 16 readable bytes.  The slot is then known at
 * once, and no 8-byte load ever waits on the byte stores that wrote the
 * message (a failed store forward). */
static prf_req *prf_add(bl_encoder *enc, const bl_hmac_key *key, uint8_t tag, const uint8_t *msg,
                        size_t len, uint32_t counter, uint8_t *raw, uint8_t raw_n)
{
    prf_batch *b = enc->batch;
    size_t need = len + (counter != 0);
    size_t room = (2 + need + 15) & ~(size_t)15;
    if (b->n == REQ_CAP || b->used + room > ARENA_BYTES)
        prf_flush(enc);
    prf_req *r = &b->req[b->n++];
    r->key = key;
    r->raw = raw;
    r->raw_n = raw_n;
    r->n1 = r->n2 = 0; /* the caller sets the sinks of a stream */
    r->msg = (uint16_t)(b->used + 2);
    r->len = (uint16_t)need;
    uint8_t *p = b->arena + b->used;
    b->used += room;
    if (need > CACHE_MSG || raw) {
        r->slot = NO_SLOT;
        memset(p, 0, CACHE_KEY);
        p[1] = tag;
        memcpy(p + 2, msg, len);
        if (counter)
            p[2 + len] = (uint8_t)counter;
        return r;
    }
    /* Key bytes: need + 1, tag, the message, its counter, zeros. */
    uint64_t m0, m1;
    memcpy(&m0, msg, 8);
    memcpy(&m1, msg + 8, 8);
    uint64_t lo = (uint64_t)(need + 1) | (uint64_t)tag << 8 | m0 << 16;
    uint64_t hi = m0 >> 48 | m1 << 16;
    size_t end = 2 + len; /* first byte after the message */
    if (end < 8) {
        lo &= (1ull << (8 * end)) - 1;
        hi = 0;
    } else if (end == 8) {
        hi = 0;
    } else if (end < 16) {
        hi &= (1ull << (8 * (end - 8))) - 1;
    }
    if (counter) {
        if (end < 8)
            lo |= (uint64_t)(uint8_t)counter << (8 * end);
        else
            hi |= (uint64_t)(uint8_t)counter << (8 * (end - 8));
    }
    memcpy(p, &lo, 8);
    memcpy(p + 8, &hi, 8);
    r->slot = slot_of(lo, hi);
    return r;
}

/* Hash a token: positions 0..n1-1 of the PRF stream for msg go to filter f1
   and the next n2 positions to f2 (may be NULL), so one stream (and one cache
   lookup per 16 positions) feeds a salted field's filter and its CLK bits.
   Block 0 of the stream is PRF(msg); block b > 0 is PRF(msg ‖ b), b as one
   byte.  msg must fit the arena (tokens are at most 255 bytes) and have at
   least 16 readable bytes (prf_add). */
static void hash_token(bl_encoder *enc, const bl_hmac_key *key, uint8_t tag, const uint8_t *msg,
                       size_t len, uint64_t *f1, uint32_t bits1, uint32_t n1, uint64_t *f2,
                       uint32_t bits2, uint32_t n2)
{
    uint32_t total = n1 + n2;
    for (uint32_t blk = 0; blk * 16 < total; blk++) {
        uint32_t lo = blk * 16, hi = lo + 16 < total ? lo + 16 : total;
        prf_req *r = prf_add(enc, key, tag, msg, len, blk, NULL, 0);
        uint32_t a1 = lo, e1 = hi < n1 ? hi : n1;
        uint32_t a2 = lo > n1 ? lo : n1, e2 = hi;
        r->f1 = f1;
        r->bits1 = bits1;
        r->lo1 = (uint8_t)(a1 - lo);
        r->n1 = (uint8_t)(e1 > a1 ? e1 - a1 : 0);
        r->f2 = f2;
        r->bits2 = bits2;
        r->lo2 = (uint8_t)(a2 - lo);
        r->n2 = (uint8_t)(e2 > a2 ? e2 - a2 : 0);
    }
}

/* ------------------------------------------------------------ lifecycle */

void bl_schema_layout_of(const bl_schema *schema, bl_schema_layout *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < schema->nfields; i++) {
        out->field_names[i] = schema->fields[i].name;
        out->field_bits[i] = schema->fields[i].stored_bits;
        out->field_types[i] = (uint8_t)schema->fields[i].type;
        out->swap_groups[i] = schema->fields[i].swap_group;
        out->salted[i] = (uint8_t)schema->fields[i].salted;
    }
    for (int i = 0; i < schema->nkeys; i++)
        out->key_names[i] = schema->keys[i].name;
    out->layout.field_count = (size_t)schema->nfields;
    out->layout.field_names = out->field_names;
    out->layout.field_bits = out->field_bits;
    out->layout.field_types = out->field_types;
    out->layout.clk_bits = schema->clk_bits;
    out->layout.blocking_key_count = (size_t)schema->nkeys;
    out->layout.blocking_key_names = out->key_names;
    out->layout.field_swap_groups = out->swap_groups;
    out->layout.field_salted = out->salted;
}

void bl_encoder_free(bl_encoder *enc)
{
    if (!enc)
        return;
    if (enc->cache) {
        bl_wipe(enc->cache, CACHE_SLOTS * sizeof *enc->cache);
        munmap(enc->cache, CACHE_SLOTS * sizeof *enc->cache);
    }
    if (enc->batch) {
        /* MACs of the last record (and its messages) are still in there. */
        bl_wipe(enc->batch, sizeof *enc->batch);
        free(enc->batch);
    }
    free(enc->rec.words);
    free(enc->col_content);
    for (int i = 0; i < BL_MAX_FIELDS; i++) {
        if (enc->build[i]) {
            bl_wipe(enc->build[i], enc->schema->fields[i].bits / 8);
            free(enc->build[i]);
        }
        if (enc->perm[i]) {
            bl_wipe(enc->perm[i], (size_t)enc->schema->fields[i].stored_bits * sizeof(uint32_t));
            free(enc->perm[i]);
        }
    }
    if (enc->folded) {
        bl_wipe(enc->folded, enc->build_words * 8);
        free(enc->folded);
    }
    /* The midstates are the sub-keys. */
    bl_wipe(enc, sizeof *enc);
    free(enc);
    bl_handle_destroyed();
}

static bl_status derive_prf(const bl_key *key, const char *purpose, const char *detail,
                            bl_hmac_key *hk, bl_error *err)
{
    uint8_t sub[32];
    bl_status s = bl_key_derive(key, purpose, detail, sub, sizeof sub, err);
    if (s == BL_OK)
        bl_hmac_key_init(hk, sub, sizeof sub);
    bl_wipe(sub, sizeof sub);
    return s;
}

/* Keyed Fisher-Yates permutation of the 2 * n positions of a balanced
   field (n = its size after folding): without the key, which position holds
   a bit or its complement is unknown, so the constant popcount hides nothing
   that the key does not. */
static bl_status balance_permutation(const bl_key *key, const bl_schema_field *f, uint32_t **out,
                                     bl_error *err)
{
    uint32_t n = 2 * (f->bits >> f->xor_folds);
    bl_hmac_key hk;
    bl_status s = derive_prf(key, "balance", f->name, &hk, err);
    if (s != BL_OK)
        return s;
    uint32_t *perm = malloc(n * sizeof *perm);
    if (!perm) {
        bl_hmac_key_wipe(&hk);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    for (uint32_t j = 0; j < n; j++)
        perm[j] = j;
    uint8_t block[BL_SHA256_BYTES];
    uint64_t counter = 0;
    for (uint32_t j = n - 1; j > 0; j--) {
        if ((n - 1 - j) % 8 == 0) {
            bl_bytes part = {(const uint8_t *)&counter, sizeof counter};
            bl_hmac_parts(&hk, &part, 1, block);
            counter++;
        }
        uint32_t r;
        memcpy(&r, block + 4 * ((n - 1 - j) % 8), 4);
        uint32_t k = (uint32_t)(((uint64_t)r * (j + 1)) >> 32);
        uint32_t t = perm[j];
        perm[j] = perm[k];
        perm[k] = t;
    }
    bl_wipe(block, sizeof block);
    bl_hmac_key_wipe(&hk);
    *out = perm;
    return BL_OK;
}

bl_status bl_encoder_new(const bl_schema *schema, const bl_profile *profile, const bl_key *key,
                         bl_encoder **out, bl_error *err)
{
    *out = NULL;
    if (!schema || !profile || !key)
        return bl_fail(err, BL_EMISUSE, "encoder needs a schema, a profile and a key");
    if (strcmp(profile->schema_fingerprint, schema->fingerprint))
        return bl_fail(err, BL_EMISMATCH, "the profile was parsed against a different schema");
    bl_encoder *enc = calloc(1, sizeof *enc);
    if (!enc)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    bl_handle_created();
    enc->schema = schema;
    enc->profile = profile;
    enc->today = bl_today_yyyymmdd();
    /* mmap: page-aligned (each slot one cache line), zeroed lazily by the
       kernel, so an encoder made for a few rows does not clear 8 MiB, and
       eligible for huge pages, which spares TLB misses on random slots. */
    void *cache = mmap(NULL, CACHE_SLOTS * sizeof *enc->cache, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (cache != MAP_FAILED) {
        madvise(cache, CACHE_SLOTS * sizeof *enc->cache, MADV_HUGEPAGE);
        enc->cache = cache;
    }
    enc->batch = malloc(sizeof *enc->batch);
    if (enc->batch)
        enc->batch->n = enc->batch->used = 0;
    size_t words = schema->clk_bits / 64;
    for (int i = 0; i < schema->nfields; i++) {
        const bl_schema_field *f = &schema->fields[i];
        words += f->stored_bits / 64;
        /* One build buffer per transformed field: a record's bits are set
           only when its batch of PRF outputs is resolved. */
        if (f->stored_bits != f->bits) {
            enc->build[i] = aligned_alloc(64, ((f->bits / 8 + 63) / 64) * 64);
            if (f->bits / 64 > enc->build_words)
                enc->build_words = f->bits / 64;
            if (!enc->build[i]) {
                bl_encoder_free(enc);
                return bl_fail(err, BL_ENOMEM, "out of memory");
            }
        }
    }
    if (enc->build_words && !(enc->folded = aligned_alloc(64, ((enc->build_words * 8 + 63) / 64) * 64))) {
        bl_encoder_free(enc);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    enc->rec.nwords = words;
    enc->rec.words = aligned_alloc(64, ((words * 8 + 63) / 64) * 64);
    enc->col_content = calloc((size_t)profile->ncontent + 1, sizeof *enc->col_content);
    if (!enc->cache || !enc->batch || !enc->rec.words || !enc->col_content) {
        bl_encoder_free(enc);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    bl_status st = BL_OK;
    /* Fields of a swap group share one sub-key, so a given name filed as a
       family name sets the bits it would have set in its own column. */
    for (int i = 0; i < schema->nfields && st == BL_OK; i++)
        st = schema->fields[i].swap_group
                 ? derive_prf(key, "field-group", schema->fields[i].swap_group, &enc->field_prf[i], err)
                 : derive_prf(key, "field", schema->fields[i].name, &enc->field_prf[i], err);
    for (int i = 0; i < schema->nkeys && st == BL_OK; i++)
        st = derive_prf(key, "block", schema->keys[i].name, &enc->key_prf[i], err);
    if (st == BL_OK)
        st = derive_prf(key, "clk", NULL, &enc->clk_prf, err);
    if (st == BL_OK)
        st = derive_prf(key, "token", NULL, &enc->token_prf, err);
    if (st == BL_OK)
        st = derive_prf(key, "cohort", NULL, &enc->cohort_prf, err);
    for (int i = 0; i < schema->nfields && st == BL_OK; i++)
        if (schema->fields[i].balanced)
            st = balance_permutation(key, &schema->fields[i], &enc->perm[i], err);
    if (st == BL_OK)
        st = bl_key_fingerprint(key, enc->key_fingerprint, err);
    if (st != BL_OK) {
        bl_encoder_free(enc);
        return st;
    }
    /* Views into the record buffer are fixed once. */
    size_t off = 0;
    for (int i = 0; i < schema->nfields; i++) {
        enc->rec.field_ptrs[i] = enc->rec.words + off;
        off += schema->fields[i].stored_bits / 64;
    }
    enc->rec.view.token = enc->rec.token;
    enc->rec.view.fields = enc->rec.field_ptrs;
    enc->rec.view.clk = enc->rec.words + off;
    enc->rec.view.blocking_keys = enc->rec.keys;
    *out = enc;
    return BL_OK;
}

void bl_encoder_inject_enospc(bl_encoder *enc, uint64_t bytes) { enc->inject_enospc = bytes; }
void bl_encoder_set_today(bl_encoder *enc, long yyyymmdd) { enc->today = yyyymmdd; }

/* The record token's message: source ‖ 0 ‖ record id, so the same local id
   in two sources gives two unrelated tokens. */
static void token_of(const bl_encoder *enc, const char *record_id, uint8_t out[BL_TOKEN_BYTES])
{
    static const uint8_t zero = 0;
    bl_bytes parts[3] = {{(const uint8_t *)enc->profile->source, strlen(enc->profile->source)},
                         {&zero, 1},
                         {(const uint8_t *)record_id, strlen(record_id)}};
    uint8_t mac[BL_SHA256_BYTES];
    bl_hmac_parts(&enc->token_prf, parts, 3, mac);
    memcpy(out, mac, BL_TOKEN_BYTES);
    bl_wipe(mac, sizeof mac);
}

bl_status bl_encoder_record_token(const bl_encoder *enc, const char *record_id, char *hex33,
                                  bl_error *err)
{
    if (!enc || !record_id || !*record_id)
        return bl_fail(err, BL_EMISUSE, "record token needs an encoder and a non-empty record id");
    uint8_t tok[BL_TOKEN_BYTES];
    token_of(enc, record_id, tok);
    bl_hex(tok, sizeof tok, hex33);
    return BL_OK;
}

/* ------------------------------------------------------------ one record */

#define VALUE_SIZE 256

typedef struct norm_values {
    char v[BL_MAX_FIELDS][VALUE_SIZE]; /* "" = missing */
    /* Birth year of each date field: from the valid date, or salvaged from an
       invalid one (bl_date_salvage_year); "" when neither. */
    char year[BL_MAX_FIELDS][5];
} norm_values;

/* Defaults that record systems put in for an unknown date of birth. */
static int is_placeholder_date(const char *yyyymmdd)
{
    static const char *const known[] = {"19000101", "18991231", "18000101", "19010101", NULL};
    for (int k = 0; known[k]; k++)
        if (!strcmp(yyyymmdd, known[k]))
            return 1;
    return 0;
}

/* Normalise raw[i] (NULL/"" = missing) for every schema field; invalid values
   are counted and become missing.  Errors in err are only for real failures
   (memory, misuse), never for a bad value. */
static size_t parts_value(const bl_key_part *parts, int nparts, const norm_values *nv, char *msg,
                          size_t cap);

static bl_status normalise_all(bl_encoder *enc, const char *const *raw, norm_values *nv,
                               bl_encode_stats *stats, bl_error *err)
{
    const bl_schema *s = enc->schema;
    for (int i = 0; i < s->nfields; i++) {
        char *out = nv->v[i];
        out[0] = '\0';
        nv->year[i][0] = '\0';
        const char *in = raw[i];
        if (!in || !*in)
            continue;
        bl_error local;
        bl_error_clear(&local);
        bl_status st = BL_OK;
        int future = 0;
        const bl_profile_column *pc = &enc->profile->fields[i];
        switch (s->fields[i].type) {
        case BL_FIELD_NAME:
            st = bl_normalise_name(in, out, VALUE_SIZE, &local);
            if (st == BL_EINVALID && stats)
                stats->invalid_name++;
            if (st == BL_OK && s->fields[i].first_word) {
                /* Middle names come and go between extracts ("Mark Wayne" /
                   "Mark"); the first word is the name people are known by. */
                char *sp = strchr(out, ' ');
                if (sp)
                    *sp = '\0';
            }
            break;
        case BL_FIELD_TEXT:
            st = bl_normalise_text(in, out, VALUE_SIZE, &local);
            break;
        case BL_FIELD_IDENTITY: /* made from other fields below; no column */
            break;
        case BL_FIELD_DATE:
            st = bl_normalise_date_ex(in, (const char *const *)pc->formats, (size_t)pc->nformats,
                                      enc->today, out, VALUE_SIZE, &future, &local);
            if (st == BL_EINVALID && stats) {
                if (future)
                    stats->future_date++;
                else
                    stats->invalid_date++;
            }
            if (st == BL_OK && is_placeholder_date(out)) {
                /* Systems fill unknown dates of birth with a default; taken at
                   face value it would salt names with the wrong cohort. */
                out[0] = '\0';
                if (stats)
                    stats->placeholder_date++;
            } else if (st == BL_OK && strlen(out) == 8) {
                memcpy(nv->year[i], out, 4);
                nv->year[i][4] = '\0';
            } else if (st == BL_EINVALID) {
                int y = bl_date_salvage_year(in, (const char *const *)pc->formats,
                                             (size_t)pc->nformats, enc->today);
                if (y > 0 && y <= 9999) {
                    snprintf(nv->year[i], sizeof nv->year[i], "%04d", y % 10000);
                    if (stats)
                        stats->salvaged_year++;
                }
            }
            break;
        case BL_FIELD_SEX:
            st = bl_normalise_sex(in, out, VALUE_SIZE, &local);
            if (st == BL_EINVALID && stats)
                stats->invalid_sex++;
            break;
        case BL_FIELD_POSTCODE:
            st = bl_normalise_postcode(in, out, VALUE_SIZE, &local);
            if (st == BL_EINVALID && stats)
                stats->invalid_postcode++;
            break;
        case BL_FIELD_NHS_NUMBER:
            st = bl_normalise_nhs_number(in, out, VALUE_SIZE, &local);
            if (st == BL_EINVALID && stats)
                stats->invalid_nhs_number++;
            break;
        }
        if (st == BL_EINVALID) {
            out[0] = '\0'; /* reported and treated as missing, never encoded */
            continue;
        }
        if (st != BL_OK) {
            bl_error_copy(err, &local);
            bl_error_locate(err, NULL, -1, -1, s->fields[i].name);
            return st;
        }
    }
    for (int i = 0; i < s->nfields; i++)
        if (s->fields[i].type == BL_FIELD_IDENTITY)
            parts_value(s->fields[i].parts, s->fields[i].nparts, nv, nv->v[i], VALUE_SIZE);
    return BL_OK;
}

/* Bounded copy without snprintf, whose format parsing showed up in the
   encoder's profile. */
static void copy_bounded(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The parts' values joined by 0x1f into msg (at most cap bytes), each
   written in place; 0 when a part is missing, so the record has no such key
   or identity. */
static size_t parts_value(const bl_key_part *parts, int nparts, const norm_values *nv, char *msg,
                          size_t cap)
{
    size_t n = 0;
    for (int p = 0; p < nparts; p++) {
        const bl_key_part *part = &parts[p];
        const char *v = nv->v[part->field], *src = v;
        char tmp[BL_SOUNDEX_SIZE + BL_POSTCODE_OUTWARD_SIZE];
        size_t l = 0;
        switch (part->fn) {
        case BL_PART_VALUE:
            l = strnlen(v, VALUE_SIZE - 1);
            break;
        case BL_PART_SOUNDEX:
            bl_soundex(v, tmp);
            src = tmp;
            l = strlen(tmp);
            break;
        case BL_PART_INITIAL:
            l = *v ? 1 : 0;
            break;
        case BL_PART_YEAR:
            src = nv->year[part->field];
            l = strnlen(src, sizeof nv->year[0] - 1);
            break;
        case BL_PART_OUTWARD:
            bl_postcode_outward(v, tmp);
            src = tmp;
            l = strlen(tmp);
            break;
        case BL_PART_INITIALS: {
            const char *w = nv->v[part->field2];
            if (*v && *w) {
                char a = v[0], b = w[0];
                tmp[0] = a < b ? a : b;
                tmp[1] = a < b ? b : a;
                src = tmp;
                l = 2;
            }
            break;
        }
        }
        /* Room for the part, its separator and the final NUL. */
        if (l == 0 || l + 2 > cap - n) {
            bl_wipe(msg, n);
            msg[0] = '\0';
            return 0;
        }
        memcpy(msg + n, src, l);
        n += l;
        msg[n++] = 0x1f;
    }
    msg[n] = '\0';
    return n;
}

#define KEY_MSG 512

/* PRF message of blocking key k: each part's value followed by 0x1f.
   0 when a part is missing: the record has no such key. */
static size_t key_message(const bl_encoder *enc, int k, const norm_values *nv,
                          uint8_t msg[KEY_MSG])
{
    const bl_blocking_key *bk = &enc->schema->keys[k];
    return parts_value(bk->parts, bk->nparts, nv, (char *)msg, KEY_MSG);
}

static uint8_t age_band(long today, const char *dob)
{
    int y, m, d;
    if (bl_date_parts(dob, &y, &m, &d) != 0)
        return 0;
    long ty = today / 10000, tm = (today / 100) % 100, td = today % 100;
    long age = ty - y - ((tm < m || (tm == m && td < d)) ? 1 : 0);
    if (age < 0)
        return 0;
    long band = 1 + age / 10;
    return (uint8_t)(band > 12 ? 12 : band);
}

/* Encode normalised values into enc->rec. */
static bl_status encode_values(bl_encoder *enc, const char *record_id, const norm_values *nv,
                               bl_encode_stats *stats, bl_error *err)
{
    const bl_schema *s = enc->schema;
    bl_record_buf *r = &enc->rec;
    memset(r->words, 0, r->nwords * 8);
    r->view.present = 0;
    /* A record that failed half-way may have left requests pointing at this
       buffer: drop them. */
    enc->batch->n = enc->batch->used = 0;

    /* The record token and the blocking keys join the field tokens' batch:
       they are never cached (unique per record), but they fill the
       kernel's interleaved lanes. */
    uint8_t kmsg[KEY_MSG];
    size_t sl = strlen(enc->profile->source), rl = strlen(record_id);
    if (sl + 1 + rl <= sizeof kmsg) {
        memcpy(kmsg, enc->profile->source, sl);
        kmsg[sl] = 0;
        memcpy(kmsg + sl + 1, record_id, rl);
        prf_add(enc, &enc->token_prf, 0, kmsg, sl + 1 + rl, 0, r->token, BL_TOKEN_BYTES);
    } else {
        token_of(enc, record_id, r->token);
    }
    for (int k = 0; k < s->nkeys; k++) {
        r->keys[k] = 0;
        size_t n = key_message(enc, k, nv, kmsg);
        if (n)
            prf_add(enc, &enc->key_prf[k], 0, kmsg, n, 0, (uint8_t *)&r->keys[k],
                    sizeof r->keys[k]);
    }

    char salt[8] = "";
    if (s->salt_field >= 0)
        copy_bounded(salt, sizeof salt, nv->year[s->salt_field]);
    int salt_missing_counted = 0;
    /* A keyed 16-bit tag of the salt lets the matcher see that two records'
       salted fields cannot be compared (a birth-year typo) instead of
       reading them as disagreeing names.  Equal birth years are already
       visible in the unsalted date filters, so it tells the service nothing
       new. */
    uint8_t cohort_mac[2] = {0, 0};
    int cohort_at = -1;
    unsigned year = 0;
    if (*salt) {
        year = (unsigned)strtoul(salt, NULL, 10);
        cohort_at = (int)(year & (COHORT_SLOTS - 1));
        if (enc->cohort_year[cohort_at] == year + 1) {
            memcpy(cohort_mac, enc->cohort_tag[cohort_at], 2);
            cohort_at = -1;
        } else {
            enc->cohort_year[cohort_at] = 0; /* filled in once resolved */
            prf_add(enc, &enc->cohort_prf, 0, (const uint8_t *)salt, strlen(salt), 0, cohort_mac,
                    sizeof cohort_mac);
        }
    }

    uint64_t *clk = (uint64_t *)r->view.clk;
    bl_tokens toks;
    uint8_t msg[320];
    for (int i = 0; i < s->nfields; i++) {
        const bl_schema_field *f = &s->fields[i];
        const char *v = nv->v[i];
        if (!*v)
            continue;
        if (f->salted && !*salt) {
            /* No salt: withhold the field rather than emit an unsalted, attackable filter. */
            if (!salt_missing_counted && stats)
                stats->missing_salt++;
            salt_missing_counted = 1;
            continue;
        }
        bl_status st = bl_tokenise(f, v, &toks, err);
        if (st == BL_EINVALID) {
            bl_error_clear(err); /* too long to tokenise: count as invalid, not fatal */
            if (stats)
                stats->invalid_name++;
            continue;
        }
        if (st != BL_OK)
            return st;
        r->view.present |= 1u << i;
        uint64_t *filter = enc->build[i] ? enc->build[i] : (uint64_t *)r->field_ptrs[i];
        if (enc->build[i])
            memset(filter, 0, f->bits / 8);
        /* CLK tokens are salted for every field; field-filter tokens only for
           salted fields.  When both use the same salting, one PRF stream
           serves both with disjoint positions. */
        int clk_on = s->clk_bits && f->clk_hashes && *salt;
        for (int t = 0; t < toks.n; t++) {
            const char *tok = toks.buf + toks.off[t];
            size_t tl = toks.len[t];
            size_t n = 0;
            if (f->salted) {
                memcpy(msg, salt, 4);
                msg[4] = 0x1f;
                n = 5;
            }
            /* A fixed 16-byte copy where the token buffer allows: a
               variable-length memcpy is a library call per token. */
            if (tl <= 16 && (size_t)(tok - toks.buf) + 16 <= sizeof toks.buf)
                memcpy(msg + n, tok, 16);
            else
                memcpy(msg + n, tok, tl);
            n += tl;
            if (f->salted || !clk_on) {
                hash_token(enc, &enc->field_prf[i], (uint8_t)i, msg, n, filter, f->bits, f->hashes,
                           clk, s->clk_bits, clk_on ? f->clk_hashes : 0);
            } else {
                hash_token(enc, &enc->field_prf[i], (uint8_t)i, msg, n, filter, f->bits, f->hashes,
                           NULL, 0, 0);
                /* CLK PRF: field index ‖ salt ‖ token, under the CLK sub-key. */
                uint8_t cm[320];
                cm[0] = (uint8_t)i;
                memcpy(cm + 1, salt, 4);
                cm[5] = 0x1f;
                memcpy(cm + 6, msg + n - tl, tl <= 16 ? 16 : tl);
                hash_token(enc, &enc->clk_prf, (uint8_t)(64 + i), cm, tl + 6, clk, s->clk_bits,
                           f->clk_hashes, NULL, 0, 0);
            }
        }
    }
    prf_flush(enc);
    if (cohort_at >= 0) {
        memcpy(enc->cohort_tag[cohort_at], cohort_mac, 2);
        enc->cohort_year[cohort_at] = (uint16_t)(year + 1);
    }
    r->view.cohort = (uint16_t)(cohort_mac[0] | cohort_mac[1] << 8);
    if (*salt && !r->view.cohort)
        r->view.cohort = 1;
    bl_wipe(cohort_mac, sizeof cohort_mac);
    for (int i = 0; i < s->nfields; i++) {
        const bl_schema_field *f = &s->fields[i];
        if (!enc->build[i] || !(r->view.present >> i & 1))
            continue;
        uint64_t *dst = (uint64_t *)r->field_ptrs[i];
        if (f->balanced) {
            bl_filter_xor_fold(enc->build[i], f->bits, f->xor_folds, enc->folded);
            bl_filter_balance(enc->folded, f->bits >> f->xor_folds, enc->perm[i], dst);
        } else {
            bl_filter_xor_fold(enc->build[i], f->bits, f->xor_folds, dst);
        }
    }
    /* 0 means "no key", so a key whose PRF output starts with 8 zero bytes
       becomes 1. */
    for (int k = 0; k < s->nkeys; k++)
        if (!r->keys[k] && key_message(enc, k, nv, kmsg))
            r->keys[k] = 1;
    r->view.sex = 0;
    for (int i = 0; i < s->nfields; i++) {
        if (s->fields[i].type == BL_FIELD_SEX && nv->v[i][0])
            r->view.sex = nv->v[i][0] == 'M' ? 1 : nv->v[i][0] == 'F' ? 2 : 0;
        if (s->fields[i].type == BL_FIELD_DATE && i == (s->salt_field >= 0 ? s->salt_field : i))
            r->view.age_band = age_band(enc->today, nv->v[i]);
    }
    return BL_OK;
}

/* ------------------------------------------------------------ CSV path */

static int find_col(char **header, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(header[i], name))
            return (int)i;
    return -1;
}

static bl_status bind_header(bl_encoder *enc, char **header, size_t n, const char *path,
                             bl_error *err)
{
    const bl_profile *p = enc->profile;
    const bl_schema *s = enc->schema;
    enc->col_id = find_col(header, n, p->record_id);
    if (enc->col_id < 0)
        return bl_fail_at(err, BL_ENOTFOUND, path, 1, -1, p->record_id,
                          "record-id column named in the profile is not in the header");
    for (int i = 0; i < s->nfields; i++) {
        enc->col_field[i] = -1;
        if (!p->fields[i].column)
            continue;
        enc->col_field[i] = find_col(header, n, p->fields[i].column);
        if (enc->col_field[i] < 0)
            return bl_fail_at(err, BL_ENOTFOUND, path, 1, -1, p->fields[i].column,
                              "column for schema field '%s' is not in the header", s->fields[i].name);
    }
    enc->col_full = -1;
    if (p->full_name) {
        enc->col_full = find_col(header, n, p->full_name);
        if (enc->col_full < 0)
            return bl_fail_at(err, BL_ENOTFOUND, path, 1, -1, p->full_name,
                              "full-name column is not in the header");
    }
    for (int c = 0; c < p->ncontent; c++) {
        enc->col_content[c] = find_col(header, n, p->content[c]);
        if (enc->col_content[c] < 0)
            return bl_fail_at(err, BL_ENOTFOUND, path, 1, -1, p->content[c],
                              "content column is not in the header");
    }
    return BL_OK;
}

/* Raw per-field values of one row, splitting a full name when the profile has one. */
static bl_status row_values(bl_encoder *enc, char **row, const char **raw, char *given,
                            char *family, bl_encode_stats *stats, bl_error *err)
{
    const bl_schema *s = enc->schema;
    for (int i = 0; i < s->nfields; i++)
        raw[i] = enc->col_field[i] >= 0 ? row[enc->col_field[i]] : NULL;
    if (enc->col_full >= 0) {
        bl_error local;
        bl_error_clear(&local);
        given[0] = family[0] = '\0';
        bl_status st = bl_normalise_full_name(row[enc->col_full], given, VALUE_SIZE, family,
                                              VALUE_SIZE, &local);
        if (st == BL_EINVALID) {
            if (stats)
                stats->invalid_name++;
            given[0] = family[0] = '\0';
        } else if (st != BL_OK) {
            bl_error_copy(err, &local);
            return st;
        }
        /* Already normalised; normalising again is idempotent. */
        if (enc->profile->full_given >= 0)
            raw[enc->profile->full_given] = given;
        if (enc->profile->full_family >= 0)
            raw[enc->profile->full_family] = family;
    }
    return BL_OK;
}

/* One content-file row: token, the profile's content columns, then the
   derived columns computed from the normalised identifiers (empty when the
   identifier was missing or invalid).  The fields go to the writer in
   groups of up to 32 (one call and one buffer check per group, not per
   field), and the derived values are copied, not snprintf'd: the row costs
   about a third of the per-field stdio path it replaced. */
static bl_status write_content_row(const bl_encoder *enc, bl_atomic_file *content, const char *hex,
                                   char **row, const norm_values *nv, bl_error *err)
{
    const bl_profile *p = enc->profile;
    const bl_schema *s = enc->schema;
    int ncols = p->ncontent + p->nderived;
    char v[4][8]; /* derived values; p->derived has 4 slots */
    const char *cols[32];
    int n = 0;
    cols[n++] = hex;
    for (int c = 0; c < ncols; c++) {
        if (c < p->ncontent) {
            cols[n++] = row[enc->col_content[c]];
        } else {
            int d = c - p->ncontent;
            v[d][0] = '\0';
            for (int i = 0; i < s->nfields; i++) {
                if (p->derived[d] == BL_DERIVED_BIRTH_YEAR && s->fields[i].type == BL_FIELD_DATE &&
                    (s->salt_field < 0 || i == s->salt_field) && strlen(nv->v[i]) == 8) {
                    memcpy(v[d], nv->v[i], 4); /* YYYYMMDD: the year */
                    v[d][4] = '\0';
                    break;
                }
                if (p->derived[d] == BL_DERIVED_SEX && s->fields[i].type == BL_FIELD_SEX &&
                    nv->v[i][0]) {
                    size_t len = strnlen(nv->v[i], sizeof v[d] - 1);
                    memcpy(v[d], nv->v[i], len);
                    v[d][len] = '\0';
                    break;
                }
            }
            cols[n++] = v[d];
        }
        if (n == 32 && c + 1 < ncols) {
            bl_status st = bl_csv_write_fields(content, cols, (size_t)n, 0, err);
            if (st != BL_OK)
                return st;
            n = 0;
        }
    }
    return bl_csv_write_fields(content, cols, (size_t)n, 1, err);
}

/*
 * Set of the record tokens seen, for duplicate-id detection (memory grows
 * with records, not with file bytes).  A token is identified, as ever, by
 * its first 8 bytes, but placed by a hash of the record id it came from:
 * the slot is then known when the row is read and is prefetched while the
 * row is encoded.  Probed only after encoding, it cost a miss into a table
 * of several MiB per record, about 3% of the encoder.
 */
typedef struct seen_slot {
    uint64_t place; /* id_hash of the record id */
    uint64_t token; /* first 8 token bytes; 0 = empty */
} seen_slot;

typedef struct token_set {
    seen_slot *slots;
    size_t cap, n;
} token_set;

/* Placement only, so any well-mixed hash will do: 8 bytes at a time, then a
   64-bit avalanche. */
static uint64_t id_hash(const char *id)
{
    size_t n = strlen(id);
    uint64_t h = 0x243f6a8885a308d3ull ^ n;
    for (; n >= 8; n -= 8, id += 8) {
        uint64_t w;
        memcpy(&w, id, 8);
        h = (h ^ w) * 0x9fb21c651e98df25ull;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    memcpy(&w, id, n);
    h = (h ^ w) * 0x9fb21c651e98df25ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

static void token_set_prefetch(const token_set *ts, uint64_t place)
{
    if (ts->cap)
        __builtin_prefetch(&ts->slots[place & (ts->cap - 1)]);
}

/* 1 if the token was there already, 0 if added, -1 when memory is short. */
static int token_set_add(token_set *ts, uint64_t place, const uint8_t *token)
{
    uint64_t k;
    memcpy(&k, token, 8);
    if (k == 0)
        k = 1;
    if ((ts->n + 1) * 2 > ts->cap) {
        size_t ncap = ts->cap ? ts->cap * 2 : 1 << 16;
        seen_slot *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < ts->cap; i++)
            if (ts->slots[i].token) {
                size_t j = ts->slots[i].place & (ncap - 1);
                while (ns[j].token)
                    j = (j + 1) & (ncap - 1);
                ns[j] = ts->slots[i];
            }
        free(ts->slots);
        ts->slots = ns;
        ts->cap = ncap;
    }
    size_t j = place & (ts->cap - 1);
    while (ts->slots[j].token) {
        if (ts->slots[j].token == k)
            return 1;
        j = (j + 1) & (ts->cap - 1);
    }
    ts->slots[j] = (seen_slot){place, k};
    ts->n++;
    return 0;
}

bl_status bl_encoder_encode_csv(bl_encoder *enc, const char *in_path, const char *out_path,
                                const char *content_path, const char *idmap_path,
                                bl_progress_fn progress, void *progress_user,
                                bl_encode_stats *stats_out, bl_error *err)
{
    if (!enc || !in_path || !out_path)
        return bl_fail(err, BL_EMISUSE, "encode needs an input and an output path");
    if (!strcmp(in_path, out_path) || (content_path && !strcmp(in_path, content_path)) ||
        (idmap_path && !strcmp(in_path, idmap_path)))
        return bl_fail_at(err, BL_EMISUSE, in_path, -1, -1, NULL, "an output would overwrite the input");
    bl_encode_stats stats;
    memset(&stats, 0, sizeof stats);
    bl_csv_reader *csv = NULL;
    bl_encfile_writer *w = NULL;
    bl_atomic_file *content = NULL, *idmap = NULL;
    token_set seen = {0};
    char schema_fp[BL_FINGERPRINT_HEX + 1];
    bl_schema_layout lay;
    norm_values *nv = malloc(sizeof *nv);
    char *given = malloc(VALUE_SIZE), *family = malloc(VALUE_SIZE);
    bl_status st = BL_OK;
    if (!nv || !given || !family) {
        st = bl_fail(err, BL_ENOMEM, "out of memory");
        goto done;
    }
    st = bl_csv_open(in_path, enc->profile->separator, enc->profile->skip_initial_space, &csv, err);
    if (st != BL_OK)
        goto done;
    char **row;
    size_t nf;
    st = bl_csv_next(csv, &row, &nf, err);
    if (st != BL_OK)
        goto done;
    if (!row) {
        st = bl_fail_at(err, BL_EPARSE, in_path, 1, -1, NULL, "empty file: expected a header row");
        goto done;
    }
    size_t ncols = nf;
    if ((st = bind_header(enc, row, nf, in_path, err)) != BL_OK)
        goto done;

    bl_schema_fingerprint(enc->schema, schema_fp);
    bl_schema_layout_of(enc->schema, &lay);
    if ((st = bl_encfile_writer_open(out_path, enc->profile->source, schema_fp, enc->key_fingerprint,
                                     &lay.layout, &w, err)) != BL_OK)
        goto done;
    if (enc->inject_enospc)
        bl_encfile_writer_inject_enospc(w, enc->inject_enospc);
    if (content_path) {
        if ((st = bl_atomic_open(content_path, &content, err)) != BL_OK)
            goto done;
        int out_cols = enc->profile->ncontent + enc->profile->nderived;
        st = bl_csv_write_field(content, "record_token", out_cols == 0, err);
        for (int c = 0; c < enc->profile->ncontent && st == BL_OK; c++)
            st = bl_csv_write_field(content, enc->profile->content[c], c + 1 == out_cols, err);
        for (int d = 0; d < enc->profile->nderived && st == BL_OK; d++)
            st = bl_csv_write_field(content, bl_derived_name(enc->profile->derived[d]),
                                    enc->profile->ncontent + d + 1 == out_cols, err);
        if (st != BL_OK)
            goto done;
    }
    if (idmap_path) {
        if ((st = bl_atomic_open(idmap_path, &idmap, err)) != BL_OK ||
            (st = bl_atomic_printf(idmap, err, "record_id,record_token\n")) != BL_OK)
            goto done;
    }

    for (;;) {
        if ((st = bl_csv_next(csv, &row, &nf, err)) != BL_OK)
            goto done;
        if (!row)
            break;
        long line = bl_csv_line(csv);
        stats.records_read++;
        if (nf != ncols) {
            st = bl_fail_at(err, BL_EPARSE, in_path, line, -1, NULL,
                            "row has %zu fields, the header has %zu", nf, ncols);
            goto done;
        }
        const char *rid = row[enc->col_id];
        if (!*rid) {
            stats.records_rejected++;
            continue;
        }
        uint64_t place = id_hash(rid);
        token_set_prefetch(&seen, place);
        const char *raw[BL_MAX_FIELDS];
        if ((st = row_values(enc, row, raw, given, family, &stats, err)) != BL_OK ||
            (st = normalise_all(enc, raw, nv, &stats, err)) != BL_OK ||
            (st = encode_values(enc, rid, nv, &stats, err)) != BL_OK) {
            bl_error_locate(err, in_path, line, -1, NULL);
            goto done;
        }
        /* The content row is written after the duplicate check and the
           .ble record; its source fields left the cache during encoding, so
           ask for them now and let the loads overlap that work. */
        if (content)
            for (int c = 0; c < enc->profile->ncontent; c++)
                __builtin_prefetch(row[enc->col_content[c]]);
        int dup = token_set_add(&seen, place, enc->rec.token);
        if (dup < 0) {
            st = bl_fail(err, BL_ENOMEM, "out of memory");
            goto done;
        }
        if (dup) {
            /* Two rows with one id would share a record token: keep the first. */
            stats.duplicate_record_id++;
            stats.records_rejected++;
            continue;
        }
        if ((st = bl_encfile_writer_add(w, &enc->rec.view, err)) != BL_OK)
            goto done;
        char hex[2 * BL_TOKEN_BYTES + 1];
        bl_hex(enc->rec.token, BL_TOKEN_BYTES, hex);
        if (content && (st = write_content_row(enc, content, hex, row, nv, err)) != BL_OK)
            goto done;
        if (idmap) {
            const char *pair[2] = {rid, hex};
            if ((st = bl_csv_write_fields(idmap, pair, 2, 1, err)) != BL_OK)
                goto done;
        }
        stats.records_encoded++;
        if (progress && (stats.records_read & 8191) == 0 &&
            progress(progress_user, "encoding records", stats.records_read, 0)) {
            st = bl_fail(err, BL_ECANCELLED, "cancelled");
            goto done;
        }
    }
    /* Commit the encoding file last... all three appear only if all succeed;
       commit order: id map and content first, so a failure of the main file
       removes them again. */
    if (idmap) {
        st = bl_atomic_commit(idmap, err);
        idmap = NULL;
        if (st != BL_OK)
            goto done;
    }
    if (content) {
        st = bl_atomic_commit(content, err);
        content = NULL;
        if (st != BL_OK) {
            if (idmap_path)
                unlink(idmap_path);
            goto done;
        }
    }
    st = bl_encfile_writer_close(w, err);
    w = NULL;
    if (st != BL_OK) {
        if (idmap_path)
            unlink(idmap_path);
        if (content_path)
            unlink(content_path);
        goto done;
    }
    if (progress)
        progress(progress_user, "encoding records", stats.records_read, stats.records_read);
done:
    if (st != BL_OK && csv)
        bl_error_locate(err, in_path, -1, -1, NULL);
    bl_encfile_writer_abort(w);
    bl_atomic_abort(content);
    bl_atomic_abort(idmap);
    bl_csv_close(csv);
    free(seen.slots);
    if (nv) {
        bl_wipe(nv, sizeof *nv);
        free(nv);
    }
    if (given) {
        bl_wipe(given, VALUE_SIZE);
        free(given);
    }
    if (family) {
        bl_wipe(family, VALUE_SIZE);
        free(family);
    }
    if (stats_out)
        *stats_out = stats;
    return st;
}

bl_status bl_encoder_encode_row(bl_encoder *enc, const char *const *columns,
                                const char *const *values, size_t n, const bl_record_view **out,
                                bl_encode_stats *stats, bl_error *err)
{
    *out = NULL;
    bl_status st = bind_header(enc, (char **)columns, n, "<row>", err);
    if (st != BL_OK)
        return st;
    const char *rid = values[enc->col_id];
    if (!rid || !*rid)
        return bl_fail_at(err, BL_EINVALID, "<row>", -1, -1, enc->profile->record_id,
                          "empty record id");
    norm_values *nv = malloc(sizeof *nv);
    char *given = malloc(VALUE_SIZE), *family = malloc(VALUE_SIZE);
    const char *raw[BL_MAX_FIELDS];
    if (!nv || !given || !family)
        st = bl_fail(err, BL_ENOMEM, "out of memory");
    if (st == BL_OK)
        st = row_values(enc, (char **)values, raw, given, family, stats, err);
    if (st == BL_OK)
        st = normalise_all(enc, raw, nv, stats, err);
    if (st == BL_OK)
        st = encode_values(enc, rid, nv, stats, err);
    if (nv)
        bl_wipe(nv, sizeof *nv);
    free(nv);
    free(given);
    free(family);
    if (st == BL_OK)
        *out = &enc->rec.view;
    return st;
}

const char *bl_encoder_key_fingerprint(const bl_encoder *enc) { return enc->key_fingerprint; }
