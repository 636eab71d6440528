/* encfile.c - streaming writer and reader for .ble encoding files.
 *
 * A file is a checksummed header, independent zlib-compressed blocks of
 * fixed-size records, and a trailer that ties the record count to the header.
 * Readers hold one block at a time, so memory does not grow with the file.
 */
#include "config.h"

#include "encfile.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "crc32.h"
#include "error.h"
#include "huffman.h"
#include "io.h"
#include "schema.h"

static const uint8_t block_tag[4] = {'B', 'L', 'K', '1'};
static const uint8_t end_tag[4] = {'B', 'E', 'N', 'D'};
#define MAX_HEADER_JSON (1u << 20)

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static uint32_t crc(const void *p, size_t n)
{
    return bl_crc32(0, p, n); /* zlib's crc32, folded with PCLMULQDQ where the CPU has it */
}

size_t bl_encfile_record_bytes(const bl_encfile_layout *l)
{
    size_t n = BL_BLE_RECORD_HEAD;
    for (size_t i = 0; i < l->field_count; i++)
        n += l->field_bits[i] / 8;
    return n + l->clk_bits / 8 + 8 * l->blocking_key_count;
}

const char *bl_encfile_huffman_kernel(void) { return bl_huffman_kernel_name(); }
const char *bl_encfile_crc32_kernel(void) { return bl_crc32_kernel_name(); }

/* ================================================================ writer */

/*
 * Records are coded a deflate block (~63 KB, ~140 records) at a time as
 * they arrive, not a whole .ble block (1.8 MB) at its end: the bytes are
 * then still in cache when the coder reads them, and the raw buffer is one
 * deflate block long, so copying records in no longer misses the cache
 * either.  A full .ble block is cut as bl_huffman_split cuts it, so its
 * stream is what bl_huffman_zlib would write; a last, partial block keeps
 * those cuts and ends with what is left (possibly an empty final block),
 * still an ordinary zlib stream.
 */
struct bl_encfile_writer {
    bl_atomic_file *out;
    bl_encfile_layout layout; /* counts only; arrays not kept */
    size_t record_bytes;
    uint8_t *raw;        /* the current deflate block, then the part of a record past it */
    size_t fill;         /* bytes in raw */
    size_t sub, nsub;    /* deflate block being filled, and how many a full .ble block has */
    size_t sub_base, sub_extra; /* deflate block b holds sub_base + (b < sub_extra) bytes */
    bl_huffman_stream *hs;
    size_t nraw; /* records in the current block */
    uint8_t *comp;
    size_t comp_cap;
    uint64_t total, blocks;
    uint32_t header_crc;
};

static size_t sub_len(const bl_encfile_writer *w, size_t b)
{
    return w->sub_base + (b < w->sub_extra);
}


void bl_encfile_writer_abort(bl_encfile_writer *w)
{
    if (!w)
        return;
    bl_atomic_abort(w->out);
    free(w->raw);
    free(w->hs);
    free(w->comp);
    free(w);
    bl_handle_destroyed();
}

void bl_encfile_writer_inject_enospc(bl_encfile_writer *w, uint64_t bytes)
{
    bl_atomic_inject_enospc(w->out, bytes);
}

bl_status bl_encfile_writer_open(const char *path, const char *source, const char *schema_fp,
                                 const char *key_fp, const bl_encfile_layout *layout,
                                 bl_encfile_writer **out, bl_error *err)
{
    *out = NULL;
    if (!layout || !source || layout->field_count > 32 || layout->blocking_key_count > 64)
        return bl_fail(err, BL_EMISUSE, "invalid encoding-file layout");
    for (size_t i = 0; i < layout->field_count; i++)
        if (layout->field_bits[i] == 0 || layout->field_bits[i] % 64)
            return bl_fail(err, BL_EMISUSE, "field filter sizes must be positive multiples of 64 bits");
    if (layout->clk_bits % 64)
        return bl_fail(err, BL_EMISUSE, "CLK size must be a multiple of 64 bits");
    bl_encfile_writer *w = calloc(1, sizeof *w);
    if (!w)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    bl_handle_created();
    w->layout = *layout;
    w->record_bytes = bl_encfile_record_bytes(layout);
    size_t block_bytes = w->record_bytes * BL_BLE_BLOCK_RECORDS;
    w->nsub = bl_huffman_split(block_bytes, &w->sub_base, &w->sub_extra);
    w->raw = malloc(sub_len(w, 0) + w->record_bytes);
    w->hs = malloc(bl_huffman_stream_size());
    /* Every deflate block is at most its stored size (5 bytes + data), and
       a partial .ble block has at most nsub + 1 of them. */
    w->comp_cap = block_bytes + 6 + 5 * (w->nsub + 1);
    w->comp = malloc(w->comp_cap);
    json_t *h = json_object();
    json_t *fields = json_array(), *keys = json_array();
    if (!w->raw || !w->hs || !w->comp || !h || !fields || !keys) {
        json_decref(h);
        json_decref(fields);
        json_decref(keys);
        bl_encfile_writer_abort(w);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < layout->field_count; i++) {
        json_t *f = json_pack("{s:s, s:s, s:i}", "name", layout->field_names[i], "type",
                              bl_field_type_name((bl_field_type)layout->field_types[i]), "bits",
                              (json_int_t)layout->field_bits[i]);
        if (f && layout->field_swap_groups && layout->field_swap_groups[i])
            json_object_set_new(f, "swap_group", json_string(layout->field_swap_groups[i]));
        if (f && layout->field_salted && layout->field_salted[i])
            json_object_set_new(f, "salted", json_true());
        json_array_append_new(fields, f);
    }
    for (size_t i = 0; i < layout->blocking_key_count; i++)
        json_array_append_new(keys, json_string(layout->blocking_key_names[i]));
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(h, "source", json_string(source));
    json_object_set_new(h, "schema_fingerprint", json_string(schema_fp ? schema_fp : ""));
    json_object_set_new(h, "key_fingerprint", json_string(key_fp ? key_fp : ""));
    json_object_set_new(h, "fields", fields);
    json_object_set_new(h, "clk_bits", json_integer((json_int_t)layout->clk_bits));
    json_object_set_new(h, "blocking_keys", keys);
    json_object_set_new(h, "record_bytes", json_integer((json_int_t)w->record_bytes));
    json_object_set_new(h, "block_records", json_integer(BL_BLE_BLOCK_RECORDS));
    json_object_set_new(h, "created", json_string(created));
    json_object_set_new(h, "software", json_string("bloomlink " BL_VERSION_STRING));
    char *text = json_dumps(h, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(h);
    if (!text) {
        bl_encfile_writer_abort(w);
        return bl_fail(err, BL_ENOMEM, "out of memory (or invalid UTF-8 in the source name)");
    }
    size_t tl = strlen(text);
    uint8_t *head = malloc(16 + tl + 4);
    bl_status st = head ? BL_OK : bl_fail(err, BL_ENOMEM, "out of memory");
    if (st == BL_OK) {
        memcpy(head, BL_BLE_MAGIC, 8);
        uint16_t ver[2] = {BL_BLE_MAJOR, BL_BLE_MINOR};
        memcpy(head + 8, ver, 4);
        put32(head + 12, (uint32_t)tl);
        memcpy(head + 16, text, tl);
        w->header_crc = crc(head, 16 + tl);
        put32(head + 16 + tl, w->header_crc);
        st = bl_atomic_open(path, &w->out, err);
        if (st == BL_OK)
            st = bl_atomic_write(w->out, head, 16 + tl + 4, err);
    }
    free(head);
    free(text);
    if (st == BL_OK)
        st = bl_huffman_begin(w->hs, w->comp, w->comp_cap);
    if (st != BL_OK) {
        bl_encfile_writer_abort(w);
        return st;
    }
    *out = w;
    return BL_OK;
}

/* Code the deflate blocks the raw buffer has filled; the bytes past the last
   one (part of a record) move to its start. */
static bl_status code_full_subs(bl_encfile_writer *w, bl_error *err)
{
    while (w->fill >= sub_len(w, w->sub)) {
        size_t n = sub_len(w, w->sub);
        if (bl_huffman_block(w->hs, w->raw, n, w->sub + 1 == w->nsub) != BL_OK)
            return bl_fail(err, BL_EMISUSE, "block compression failed: output buffer too small");
        memmove(w->raw, w->raw + n, w->fill - n);
        w->fill -= n;
        w->sub++;
    }
    return BL_OK;
}

/* End the current .ble block (full, or partial at close) and write it. */
static bl_status flush_block(bl_encfile_writer *w, bl_error *err)
{
    if (w->nraw == 0)
        return BL_OK;
    size_t raw_len = w->nraw * w->record_bytes;
    /* Huffman coding only: filters have no repeated strings for LZ77 to find,
       but their bytes are skewed (mostly zero at 10-25% density, and missing
       fields are all zero).  Our own literal-only deflate captures that at
       about a tenth of the time zlib's deflate (level 1, Z_HUFFMAN_ONLY)
       took.  The stream is ordinary zlib: any inflate reads it, and the
       reader below uses zlib's.  A full block's deflate blocks were all
       coded (the last one final) as records came in. */
    bl_status st = BL_OK;
    if (w->sub < w->nsub) {
        /* A partial block: what is left, possibly nothing, ends the stream. */
        st = bl_huffman_block(w->hs, w->raw, w->fill, 1);
        w->fill = 0;
    }
    size_t comp_len;
    uint32_t raw_crc; /* summed by the coder while each piece was in cache */
    if (st == BL_OK)
        st = bl_huffman_end(w->hs, &comp_len, &raw_crc);
    if (st != BL_OK)
        return bl_fail(err, st, "block compression failed: output buffer too small");
    uint8_t bh[24];
    memcpy(bh, block_tag, 4);
    put32(bh + 4, (uint32_t)w->nraw);
    put32(bh + 8, (uint32_t)raw_len);
    put32(bh + 12, (uint32_t)comp_len);
    put32(bh + 16, raw_crc);
    put32(bh + 20, crc(bh, 20));
    st = bl_atomic_write(w->out, bh, sizeof bh, err);
    if (st == BL_OK)
        st = bl_atomic_write(w->out, w->comp, comp_len, err);
    w->total += w->nraw;
    w->blocks++;
    w->nraw = 0;
    w->sub = 0;
    if (st == BL_OK)
        st = bl_huffman_begin(w->hs, w->comp, w->comp_cap);
    return st;
}

bl_status bl_encfile_writer_add(bl_encfile_writer *w, const bl_record_view *rec, bl_error *err)
{
    if (!w || !rec)
        return bl_fail(err, BL_EMISUSE, "no writer or record");
    uint8_t *p = w->raw + w->fill;
    memcpy(p, rec->token, BL_TOKEN_BYTES);
    put32(p + 16, rec->present);
    p[20] = rec->sex;
    p[21] = rec->age_band;
    p[22] = (uint8_t)rec->cohort;
    p[23] = (uint8_t)(rec->cohort >> 8);
    p += BL_BLE_RECORD_HEAD;
    for (size_t i = 0; i < w->layout.field_count; i++) {
        size_t n = w->layout.field_bits[i] / 8;
        memcpy(p, rec->fields[i], n);
        p += n;
    }
    if (w->layout.clk_bits) {
        memcpy(p, rec->clk, w->layout.clk_bits / 8);
        p += w->layout.clk_bits / 8;
    }
    if (w->layout.blocking_key_count)
        memcpy(p, rec->blocking_keys, 8 * w->layout.blocking_key_count);
    w->fill += w->record_bytes;
    w->nraw++;
    bl_status st = BL_OK;
    if (w->fill >= sub_len(w, w->sub))
        st = code_full_subs(w, err);
    if (st == BL_OK && w->nraw == BL_BLE_BLOCK_RECORDS)
        st = flush_block(w, err);
    return st;
}

bl_status bl_encfile_writer_close(bl_encfile_writer *w, bl_error *err)
{
    if (!w)
        return bl_fail(err, BL_EMISUSE, "no writer");
    bl_status st = flush_block(w, err);
    if (st == BL_OK) {
        uint8_t t[BL_BLE_TRAILER_BYTES];
        memcpy(t, end_tag, 4);
        put32(t + 4, 0);
        put64(t + 8, w->total);
        put64(t + 16, w->blocks);
        put32(t + 24, w->header_crc);
        put32(t + 28, crc(t, 28));
        st = bl_atomic_write(w->out, t, sizeof t, err);
    }
    if (st == BL_OK) {
        st = bl_atomic_commit(w->out, err);
        w->out = NULL;
    }
    bl_encfile_writer_abort(w);
    return st;
}

/* ================================================================ reader */

struct bl_encfile_reader {
    FILE *fp;
    char *path;
    bl_encfile_info info;
    json_t *header;
    const char **field_names;
    uint32_t *field_bits;
    uint8_t *field_types;
    const char **field_groups;
    uint8_t *field_salted;
    const char **key_names;
    uint32_t header_crc;
    size_t record_bytes;
    uint64_t trailer_records; /* UINT64_MAX if unknown (not seekable) */
    uint8_t *raw, *comp;
    size_t raw_cap, comp_cap;
    size_t nraw, next; /* records in the current block, next to hand out */
    uint64_t seen, blocks;
    long long offset; /* byte offset of the next read, for messages */
    int done;
    bl_record_view view;
    const uint64_t **field_ptrs;
    uint64_t *aligned; /* one record copied for 8-byte alignment of filters */
};

void bl_encfile_close(bl_encfile_reader *r)
{
    if (!r)
        return;
    if (r->fp)
        fclose(r->fp);
    json_decref(r->header);
    free(r->path);
    free(r->field_names);
    free(r->field_bits);
    free(r->field_types);
    free(r->field_groups);
    free(r->field_salted);
    free(r->key_names);
    free(r->raw);
    free(r->comp);
    free(r->field_ptrs);
    free(r->aligned);
    free(r);
    bl_handle_destroyed();
}

#define READER_FAIL(code, ...) bl_fail_at(err, code, r->path, -1, -1, NULL, __VA_ARGS__)

static bl_status read_exact(bl_encfile_reader *r, void *buf, size_t n, const char *what,
                            bl_error *err)
{
    size_t got = fread(buf, 1, n, r->fp);
    if (got != n) {
        if (ferror(r->fp))
            return READER_FAIL(BL_EIO, "read error in %s: %s", what, strerror(errno));
        return READER_FAIL(BL_ECHECKSUM, "truncated file: %s ends at byte %lld",
                           what, r->offset + (long long)got);
    }
    r->offset += (long long)n;
    return BL_OK;
}

static bl_status parse_header(bl_encfile_reader *r, const char *text, size_t len, bl_error *err)
{
    json_error_t je;
    r->header = json_loadb(text, len, 0, &je);
    if (!r->header || !json_is_object(r->header))
        return READER_FAIL(BL_EFORMAT, "header is not valid JSON");
    json_t *h = r->header;
    const char *source = json_string_value(json_object_get(h, "source"));
    const char *sfp = json_string_value(json_object_get(h, "schema_fingerprint"));
    const char *kfp = json_string_value(json_object_get(h, "key_fingerprint"));
    json_t *fields = json_object_get(h, "fields"), *keys = json_object_get(h, "blocking_keys");
    json_t *clk = json_object_get(h, "clk_bits"), *rb = json_object_get(h, "record_bytes");
    if (!source || !sfp || !kfp || !json_is_array(fields) || !json_is_array(keys) ||
        !json_is_integer(clk) || !json_is_integer(rb) || json_array_size(fields) > 32 ||
        json_array_size(keys) > 64)
        return READER_FAIL(BL_EFORMAT, "header lacks required entries");
    size_t nf = json_array_size(fields), nk = json_array_size(keys);
    r->field_names = calloc(nf + 1, sizeof *r->field_names);
    r->field_bits = calloc(nf + 1, sizeof *r->field_bits);
    r->field_types = calloc(nf + 1, 1);
    r->field_groups = calloc(nf + 1, sizeof *r->field_groups);
    r->field_salted = calloc(nf + 1, 1);
    r->key_names = calloc(nk + 1, sizeof *r->key_names);
    r->field_ptrs = calloc(nf + 1, sizeof *r->field_ptrs);
    if (!r->field_names || !r->field_bits || !r->field_types || !r->field_groups || !r->field_salted ||
        !r->key_names || !r->field_ptrs)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t i = 0; i < nf; i++) {
        json_t *f = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *type = json_string_value(json_object_get(f, "type"));
        json_t *bits = json_object_get(f, "bits");
        bl_field_type ft;
        int tc = type && !bl_field_type_parse(type, &ft) ? (int)ft : -1;
        if (!name || tc < 0 || !json_is_integer(bits) || json_integer_value(bits) <= 0 ||
            json_integer_value(bits) % 64 || json_integer_value(bits) > 65536)
            return READER_FAIL(BL_EFORMAT, "header field %zu is malformed", i);
        json_t *group = json_object_get(f, "swap_group");
        if (group && !json_is_string(group))
            return READER_FAIL(BL_EFORMAT, "header field %zu has a malformed swap group", i);
        r->field_groups[i] = group ? json_string_value(group) : NULL;
        r->field_salted[i] = json_is_true(json_object_get(f, "salted"));
        r->field_names[i] = name;
        r->field_types[i] = (uint8_t)tc;
        r->field_bits[i] = (uint32_t)json_integer_value(bits);
    }
    for (size_t i = 0; i < nk; i++) {
        r->key_names[i] = json_string_value(json_array_get(keys, i));
        if (!r->key_names[i])
            return READER_FAIL(BL_EFORMAT, "header blocking key %zu is malformed", i);
    }
    json_int_t cb = json_integer_value(clk);
    if (cb < 0 || cb % 64 || cb > 65536)
        return READER_FAIL(BL_EFORMAT, "header CLK size is malformed");
    r->info.source = source;
    r->info.schema_fingerprint = sfp;
    r->info.key_fingerprint = kfp;
    r->info.field_count = nf;
    r->info.field_names = r->field_names;
    r->info.field_bits = r->field_bits;
    r->info.field_types = r->field_types;
    r->info.clk_bits = (size_t)cb;
    r->info.blocking_key_count = nk;
    r->info.blocking_key_names = r->key_names;
    r->info.field_swap_groups = r->field_groups;
    r->info.field_salted = r->field_salted;
    bl_encfile_layout lay = {nf, r->field_names, r->field_bits, r->field_types, (size_t)cb, nk,
                             r->key_names, r->field_groups, r->field_salted};
    r->record_bytes = bl_encfile_record_bytes(&lay);
    if ((json_int_t)r->record_bytes != json_integer_value(rb))
        return READER_FAIL(BL_EFORMAT, "header record size disagrees with its layout");
    r->info.record_bytes = r->record_bytes;
    r->aligned = aligned_alloc(64, ((r->record_bytes + 63) / 64) * 64);
    if (!r->aligned)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    return BL_OK;
}

static bl_status check_trailer(bl_encfile_reader *r, const uint8_t *t, bl_error *err)
{
    if (memcmp(t, end_tag, 4) || get32(t + 4) != 0)
        return READER_FAIL(BL_ECHECKSUM, "truncated file: no end marker");
    if (get32(t + 28) != crc(t, 28))
        return READER_FAIL(BL_ECHECKSUM, "end marker checksum mismatch");
    if (get32(t + 24) != r->header_crc)
        return READER_FAIL(BL_ECHECKSUM, "end marker belongs to a different file");
    return BL_OK;
}

bl_status bl_encfile_open(const char *path, bl_encfile_reader **out, bl_error *err)
{
    *out = NULL;
    bl_encfile_reader *r = calloc(1, sizeof *r);
    if (!r)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    bl_handle_created();
    r->path = strdup(path);
    r->fp = fopen(path, "rb");
    r->trailer_records = UINT64_MAX;
    bl_status st = BL_OK;
    if (!r->path) {
        st = bl_fail(err, BL_ENOMEM, "out of memory");
        goto fail;
    }
    if (!r->fp) {
        st = bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "cannot open: %s", strerror(errno));
        goto fail;
    }
    uint8_t head[16];
    size_t got = fread(head, 1, 16, r->fp);
    if (got < 8 || memcmp(head, BL_BLE_MAGIC, 8)) {
        st = READER_FAIL(BL_EFORMAT, "not a bloomlink encoding file (bad magic)");
        goto fail;
    }
    if (got < 16) {
        st = READER_FAIL(BL_ECHECKSUM, "truncated file: header ends at byte %zu", got);
        goto fail;
    }
    r->offset = 16;
    uint16_t ver[2];
    memcpy(ver, head + 8, 4);
    r->info.version_major = ver[0];
    r->info.version_minor = ver[1];
    if (ver[0] != BL_BLE_MAJOR) {
        st = READER_FAIL(BL_EFORMAT, "format version %u.%u is not supported (this bloomlink reads %d.x)",
                         ver[0], ver[1], BL_BLE_MAJOR);
        goto fail;
    }
    uint32_t tl = get32(head + 12);
    if (tl == 0 || tl > MAX_HEADER_JSON) {
        st = READER_FAIL(BL_EFORMAT, "header length %u is implausible", tl);
        goto fail;
    }
    uint8_t *buf = malloc(16 + (size_t)tl + 4);
    if (!buf) {
        st = bl_fail(err, BL_ENOMEM, "out of memory");
        goto fail;
    }
    memcpy(buf, head, 16);
    st = read_exact(r, buf + 16, (size_t)tl + 4, "header", err);
    if (st == BL_OK) {
        r->header_crc = crc(buf, 16 + tl);
        if (get32(buf + 16 + tl) != r->header_crc)
            st = READER_FAIL(BL_ECHECKSUM, "header checksum mismatch");
    }
    if (st == BL_OK)
        st = parse_header(r, (const char *)buf + 16, tl, err);
    free(buf);
    if (st != BL_OK)
        goto fail;
    /* Read the trailer up front when the file is seekable: the record count
       is known before streaming, and a truncated file fails at once. */
    long here = ftell(r->fp);
    if (here >= 0 && fseek(r->fp, -(long)BL_BLE_TRAILER_BYTES, SEEK_END) == 0) {
        uint8_t t[BL_BLE_TRAILER_BYTES];
        if (ftell(r->fp) < here || fread(t, 1, sizeof t, r->fp) != sizeof t) {
            st = READER_FAIL(BL_ECHECKSUM, "truncated file: no end marker");
            goto fail;
        }
        if ((st = check_trailer(r, t, err)) != BL_OK)
            goto fail;
        r->trailer_records = get64(t + 8);
        r->info.record_count = r->trailer_records;
        if (fseek(r->fp, here, SEEK_SET) != 0) {
            st = READER_FAIL(BL_EIO, "seek failed");
            goto fail;
        }
    }
    *out = r;
    return BL_OK;
fail:
    bl_encfile_close(r);
    return st;
}

const bl_encfile_info *bl_encfile_header(const bl_encfile_reader *r) { return &r->info; }

static bl_status next_block(bl_encfile_reader *r, bl_error *err)
{
    uint8_t bh[24];
    long long at = r->offset;
    bl_status st = read_exact(r, bh, 4, "block header", err);
    if (st != BL_OK)
        return st;
    if (!memcmp(bh, end_tag, 4)) {
        uint8_t t[BL_BLE_TRAILER_BYTES];
        memcpy(t, bh, 4);
        if ((st = read_exact(r, t + 4, sizeof t - 4, "end marker", err)) != BL_OK ||
            (st = check_trailer(r, t, err)) != BL_OK)
            return st;
        if (get64(t + 8) != r->seen || get64(t + 16) != r->blocks)
            return READER_FAIL(BL_ECHECKSUM, "end marker counts %llu records, the file holds %llu",
                               (unsigned long long)get64(t + 8), (unsigned long long)r->seen);
        if (fgetc(r->fp) != EOF)
            return READER_FAIL(BL_EFORMAT, "unexpected bytes after the end marker");
        r->done = 1;
        return BL_OK;
    }
    if (memcmp(bh, block_tag, 4))
        return bl_fail_at(err, BL_ECHECKSUM, r->path, -1, -1, NULL,
                          "corrupt file: no block at byte %lld", at);
    if ((st = read_exact(r, bh + 4, 20, "block header", err)) != BL_OK)
        return st;
    if (get32(bh + 20) != crc(bh, 20))
        return READER_FAIL(BL_ECHECKSUM, "block header checksum mismatch at byte %lld", at);
    uint32_t n = get32(bh + 4), raw_len = get32(bh + 8), comp_len = get32(bh + 12);
    /* Any zlib stream is accepted, up to zlib's own worst case; our writer's
       bound (bl_huffman_zlib_bound) is below it, which check_huffman tests. */
    if (n == 0 || n > BL_BLE_BLOCK_RECORDS || raw_len != n * r->record_bytes ||
        comp_len > compressBound(raw_len))
        return READER_FAIL(BL_EFORMAT, "block at byte %lld has implausible sizes", at);
    if (raw_len > r->raw_cap) {
        free(r->raw);
        r->raw = malloc(raw_len);
        r->raw_cap = r->raw ? raw_len : 0;
    }
    if (comp_len > r->comp_cap) {
        free(r->comp);
        r->comp = malloc(comp_len);
        r->comp_cap = r->comp ? comp_len : 0;
    }
    if (!r->raw || !r->comp)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    if ((st = read_exact(r, r->comp, comp_len, "block", err)) != BL_OK)
        return st;
    uLongf out_len = raw_len;
    if (uncompress(r->raw, &out_len, r->comp, comp_len) != Z_OK || out_len != raw_len)
        return READER_FAIL(BL_ECHECKSUM, "block at byte %lld does not decompress", at);
    if (crc(r->raw, raw_len) != get32(bh + 16))
        return READER_FAIL(BL_ECHECKSUM, "block at byte %lld: checksum mismatch", at);
    r->nraw = n;
    r->next = 0;
    r->blocks++;
    return BL_OK;
}

bl_status bl_encfile_next(bl_encfile_reader *r, const bl_record_view **rec, bl_error *err)
{
    *rec = NULL;
    if (r->done)
        return BL_OK;
    if (r->next == r->nraw) {
        bl_status st = next_block(r, err);
        if (st != BL_OK || r->done)
            return st;
    }
    /* Copy into an aligned buffer: filters are read as 64-bit words. */
    memcpy(r->aligned, r->raw + r->next * r->record_bytes, r->record_bytes);
    r->next++;
    r->seen++;
    const uint8_t *p = (const uint8_t *)r->aligned;
    r->view.token = p;
    r->view.present = get32(p + 16);
    r->view.sex = p[20];
    r->view.age_band = p[21];
    r->view.cohort = (uint16_t)(p[22] | p[23] << 8);
    p += BL_BLE_RECORD_HEAD;
    for (size_t i = 0; i < r->info.field_count; i++) {
        r->field_ptrs[i] = (const uint64_t *)p;
        p += r->field_bits[i] / 8;
    }
    r->view.fields = r->field_ptrs;
    r->view.clk = (const uint64_t *)p;
    p += r->info.clk_bits / 8;
    r->view.blocking_keys = (const uint64_t *)p;
    *rec = &r->view;
    return BL_OK;
}
