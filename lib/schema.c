/* schema.c - linkage schema: parse, validate, canonical form, fingerprint. */
#include "config.h"

#include "schema.h"

#include <jansson.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io.h"

/*
 * The shipped default for English health and care data.  docs/schema.md
 * explains every number; the short version:
 * - Names use padded bigrams: one typo still leaves most bigrams shared, so a
 *   Dice near 0.8 separates typos from different names.
 * - given_name, family_name and postcode are salted with the birth year:
 *   identical names of people born in different years set unrelated bits, which
 *   defeats frequency alignment across the population (DESIGN.md, threat
 *   model).  Within a birth-year cohort identical values still give identical
 *   filters, which the matcher counts for term-frequency weights.
 * - The CLK salts every field (it is only used for LSH blocking and interchange).
 * - dob and nhs_number are unsalted in their field filters: salting them with a
 *   part of themselves adds nothing, and NHS numbers are near-unique (no
 *   frequency signal).  A year typo therefore still leaves NHS-number evidence.
 * - Filter sizes keep about 10-25% of bits set for typical values.
 */
static const char default_schema_json[] =
    "{\n"
    "  \"bloomlink_schema\": 1,\n"
    "  \"name\": \"england-health-care-v1\",\n"
    "  \"clk\": {\"bits\": 1024},\n"
    "  \"hardening\": {\"salt\": \"year(dob)\", \"missing_salt\": \"withhold\"},\n"
    "  \"fields\": [\n"
    "    {\"name\": \"given_name\", \"type\": \"name\", \"q\": 2, \"padding\": true, \"bits\": 512, \"hashes\": 8, \"clk_hashes\": 4, \"salted\": true, \"first_word\": true, \"swap_group\": \"name\"},\n"
    "    {\"name\": \"family_name\", \"type\": \"name\", \"q\": 2, \"padding\": true, \"bits\": 512, \"hashes\": 8, \"clk_hashes\": 4, \"salted\": true, \"swap_group\": \"name\"},\n"
    "    {\"name\": \"dob\", \"type\": \"date\", \"bits\": 256, \"hashes\": 12, \"clk_hashes\": 6, \"salted\": false},\n"
    "    {\"name\": \"sex\", \"type\": \"sex\", \"bits\": 64, \"hashes\": 8, \"clk_hashes\": 2, \"salted\": false},\n"
    "    {\"name\": \"postcode\", \"type\": \"postcode\", \"q\": 2, \"padding\": true, \"bits\": 256, \"hashes\": 8, \"clk_hashes\": 3, \"salted\": true},\n"
    "    {\"name\": \"nhs_number\", \"type\": \"nhs_number\", \"q\": 2, \"padding\": true, \"bits\": 256, \"hashes\": 6, \"clk_hashes\": 2, \"salted\": false},\n"
    "    {\"name\": \"name_district\", \"type\": \"identity\", \"parts\": [\"given_name\", \"family_name\", \"outward(postcode)\"], \"bits\": 128, \"hashes\": 12}\n"
    "  ],\n"
    "  \"blocking_keys\": [\n"
    "    {\"name\": \"nhs\", \"parts\": [\"nhs_number\"]},\n"
    "    {\"name\": \"family_sdx_yob\", \"parts\": [\"soundex(family_name)\", \"year(dob)\"]},\n"
    "    {\"name\": \"given_sdx_yob\", \"parts\": [\"soundex(given_name)\", \"year(dob)\"]},\n"
    "    {\"name\": \"postcode_yob\", \"parts\": [\"postcode\", \"year(dob)\"]},\n"
    "    {\"name\": \"initials_dob\", \"parts\": [\"initials(given_name,family_name)\", \"dob\"]},\n"
    "    {\"name\": \"name_district\", \"parts\": [\"given_name\", \"family_name\", \"outward(postcode)\"]}\n"
    "  ]\n"
    "}\n";

const char *bl_schema_default_json(void) { return default_schema_json; }

static const char *const type_names[] = {"name", "date", "sex", "postcode", "nhs_number", "text",
                                         "identity"};
#define NTYPES (sizeof type_names / sizeof type_names[0])

const char *bl_field_type_name(bl_field_type t)
{
    return (size_t)t < NTYPES ? type_names[t] : "text";
}

int bl_field_type_parse(const char *s, bl_field_type *t)
{
    for (size_t i = 0; s && i < NTYPES; i++)
        if (!strcmp(s, type_names[i])) {
            *t = (bl_field_type)i;
            return 0;
        }
    return -1;
}

int bl_schema_field_index(const bl_schema *schema, const char *name)
{
    for (int i = 0; i < schema->nfields; i++)
        if (!strcmp(schema->fields[i].name, name))
            return i;
    return -1;
}

void bl_schema_free(bl_schema *schema)
{
    if (!schema)
        return;
    /* Every slot, not just nfields: a field that failed half-way keeps its strings. */
    for (int i = 0; i < BL_MAX_FIELDS; i++) {
        free(schema->fields[i].name);
        free(schema->fields[i].swap_group);
    }
    for (int i = 0; i < schema->nkeys; i++)
        free(schema->keys[i].name);
    free(schema->name);
    free(schema->canonical);
    free(schema);
    bl_handle_destroyed();
}

/* Error helper: every schema error names the JSON path. */
#define SCHEMA_FAIL(path, ...) bl_fail_at(err, BL_ESCHEMA, src, -1, -1, path, __VA_ARGS__)

static int valid_identifier(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

static bl_status get_int(json_t *obj, const char *key, long lo, long hi, long dflt, long *out,
                         const char *path, const char *src, bl_error *err)
{
    json_t *v = json_object_get(obj, key);
    char p[128];
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!v) {
        if (dflt < lo)
            return SCHEMA_FAIL(p, "required");
        *out = dflt;
        return BL_OK;
    }
    if (!json_is_integer(v))
        return SCHEMA_FAIL(p, "must be an integer");
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return SCHEMA_FAIL(p, "must be between %ld and %ld, got %lld", lo, hi, x);
    *out = (long)x;
    return BL_OK;
}

static bl_status get_bool(json_t *obj, const char *key, int dflt, int *out, const char *path,
                          const char *src, bl_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = dflt;
        return BL_OK;
    }
    if (!json_is_boolean(v)) {
        char p[128];
        snprintf(p, sizeof p, "%s.%s", path, key);
        return SCHEMA_FAIL(p, "must be true or false");
    }
    *out = json_is_true(v);
    return BL_OK;
}

/* Reject keys we do not know: a typo such as "salt_ed" must not silently
   produce an unhardened encoding. */
static bl_status check_keys(json_t *obj, const char *const *known, const char *path,
                            const char *src, bl_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        int ok = 0;
        for (const char *const *kk = known; *kk; kk++)
            if (!strcmp(k, *kk))
                ok = 1;
        if (!ok) {
            char p[160];
            snprintf(p, sizeof p, "%s.%s", path, k);
            return SCHEMA_FAIL(p, "unknown key");
        }
    }
    return BL_OK;
}

static bl_status parse_part(bl_schema *s, const char *text, bl_key_part *part, const char *path,
                            const char *src, bl_error *err)
{
    static const struct {
        const char *fn;
        bl_part_fn code;
    } fns[] = {{"soundex", BL_PART_SOUNDEX}, {"initial", BL_PART_INITIAL}, {"year", BL_PART_YEAR},
               {"outward", BL_PART_OUTWARD}, {"initials", BL_PART_INITIALS}};
    char buf[160];
    snprintf(buf, sizeof buf, "%s", text);
    part->field2 = -1;
    char *open = strchr(buf, '(');
    if (!open) {
        part->fn = BL_PART_VALUE;
        part->field = bl_schema_field_index(s, buf);
        if (part->field < 0)
            return SCHEMA_FAIL(path, "unknown field '%s'", buf);
        return BL_OK;
    }
    size_t n = strlen(buf);
    if (buf[n - 1] != ')')
        return SCHEMA_FAIL(path, "expected fn(field), got '%s'", text);
    buf[n - 1] = '\0';
    *open = '\0';
    char *arg = open + 1;
    int found = 0;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (!strcmp(buf, fns[i].fn)) {
            part->fn = fns[i].code;
            found = 1;
        }
    if (!found)
        return SCHEMA_FAIL(path, "unknown function '%s' (soundex, initial, year, outward, initials)", buf);
    char *comma = strchr(arg, ',');
    if (part->fn == BL_PART_INITIALS) {
        if (!comma)
            return SCHEMA_FAIL(path, "initials() takes two fields");
        *comma = '\0';
        part->field2 = bl_schema_field_index(s, comma + 1);
        if (part->field2 < 0)
            return SCHEMA_FAIL(path, "unknown field '%s'", comma + 1);
    } else if (comma) {
        return SCHEMA_FAIL(path, "%s() takes one field", buf);
    }
    part->field = bl_schema_field_index(s, arg);
    if (part->field < 0)
        return SCHEMA_FAIL(path, "unknown field '%s'", arg);
    bl_field_type t = s->fields[part->field].type;
    if (part->fn == BL_PART_YEAR && t != BL_FIELD_DATE)
        return SCHEMA_FAIL(path, "year() needs a date field");
    if (part->fn == BL_PART_OUTWARD && t != BL_FIELD_POSTCODE)
        return SCHEMA_FAIL(path, "outward() needs a postcode field");
    return BL_OK;
}

static bl_status parse_field(bl_schema *s, json_t *f, int i, const char *src, bl_error *err)
{
    static const char *const known[] = {"name", "type", "q", "padding", "positional", "bits",
                                        "hashes", "clk_hashes", "salted", "first_word",
                                        "swap_group", "parts", "xor_folds", "balanced", NULL};
    char path[64];
    snprintf(path, sizeof path, "fields[%d]", i);
    if (!json_is_object(f))
        return SCHEMA_FAIL(path, "must be an object");
    bl_status st = check_keys(f, known, path, src, err);
    if (st != BL_OK)
        return st;
    bl_schema_field *fd = &s->fields[i];
    const char *name = json_string_value(json_object_get(f, "name"));
    const char *type = json_string_value(json_object_get(f, "type"));
    if (!name || !valid_identifier(name))
        return SCHEMA_FAIL(path, "\"name\" must be a lower-case identifier");
    if (bl_schema_field_index(s, name) >= 0)
        return SCHEMA_FAIL(path, "duplicate field name '%s'", name);
    if (!type || bl_field_type_parse(type, &fd->type) != 0)
        return SCHEMA_FAIL(path, "\"type\" must be one of name, date, sex, postcode, nhs_number, text, identity");
    long q, bits, hashes, clk_hashes;
    int qgram_type = fd->type == BL_FIELD_NAME || fd->type == BL_FIELD_POSTCODE ||
                     fd->type == BL_FIELD_NHS_NUMBER || fd->type == BL_FIELD_TEXT;
    if ((st = get_int(f, "q", 1, 4, qgram_type ? 2 : 1, &q, path, src, err)) ||
        (st = get_int(f, "bits", 64, 65536, -1, &bits, path, src, err)) ||
        (st = get_int(f, "hashes", 1, 64, -1, &hashes, path, src, err)) ||
        (st = get_int(f, "clk_hashes", 0, 64, 0, &clk_hashes, path, src, err)) ||
        (st = get_bool(f, "padding", 1, &fd->padding, path, src, err)) ||
        (st = get_bool(f, "positional", 0, &fd->positional, path, src, err)) ||
        (st = get_bool(f, "salted", 0, &fd->salted, path, src, err)) ||
        (st = get_bool(f, "first_word", 0, &fd->first_word, path, src, err)) ||
        (st = get_bool(f, "balanced", 0, &fd->balanced, path, src, err)))
        return st;
    long folds;
    if ((st = get_int(f, "xor_folds", 0, 3, 0, &folds, path, src, err)))
        return st;
    fd->xor_folds = (int)folds;
    if (fd->first_word && fd->type != BL_FIELD_NAME) {
        char p[96];
        snprintf(p, sizeof p, "%s.first_word", path);
        return SCHEMA_FAIL(p, "only name fields can keep their first word");
    }
    json_t *parts = json_object_get(f, "parts");
    if ((fd->type == BL_FIELD_IDENTITY) != (parts != NULL)) {
        char p[96];
        snprintf(p, sizeof p, "%s.parts", path);
        return SCHEMA_FAIL(p, fd->type == BL_FIELD_IDENTITY ? "an identity field needs its parts"
                                                             : "only identity fields have parts");
    }
    if (fd->type == BL_FIELD_IDENTITY && (fd->salted || clk_hashes)) {
        char p[96];
        snprintf(p, sizeof p, "%s.%s", path, fd->salted ? "salted" : "clk_hashes");
        return SCHEMA_FAIL(p, "an identity field is one keyed token: it is neither salted nor in the CLK");
    }
    json_t *group = json_object_get(f, "swap_group");
    if (group && (!json_is_string(group) || !valid_identifier(json_string_value(group)))) {
        char p[96];
        snprintf(p, sizeof p, "%s.swap_group", path);
        return SCHEMA_FAIL(p, "must be a lower-case identifier");
    }
    if (bits % 64) {
        char p[96];
        snprintf(p, sizeof p, "%s.bits", path);
        return SCHEMA_FAIL(p, "must be a multiple of 64");
    }
    fd->name = strdup(name);
    if (!fd->name)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    if (((uint32_t)bits >> folds) % 64) {
        char p[96];
        snprintf(p, sizeof p, "%s.xor_folds", path);
        return SCHEMA_FAIL(p, "%ld bits folded %ld times is not a multiple of 64", bits, folds);
    }
    fd->q = (int)q;
    fd->bits = (uint32_t)bits;
    fd->stored_bits = ((uint32_t)bits >> folds) * (fd->balanced ? 2u : 1u);
    fd->hashes = (uint32_t)hashes;
    fd->clk_hashes = (uint32_t)clk_hashes;
    if (group && !(fd->swap_group = strdup(json_string_value(group))))
        return bl_fail(err, BL_ENOMEM, "out of memory");
    s->nfields = i + 1;
    return BL_OK;
}

/* A swap group pairs two fields whose values often land in each other's
   column (given and family names).  Both share one sub-key and must hash
   alike, or a value would not set the same bits in the other field. */
static bl_status check_swap_groups(const bl_schema *s, const char *src, bl_error *err)
{
    for (int i = 0; i < s->nfields; i++) {
        const bl_schema_field *a = &s->fields[i];
        if (!a->swap_group)
            continue;
        int partner = -1, count = 1;
        for (int j = 0; j < s->nfields; j++)
            if (j != i && s->fields[j].swap_group && !strcmp(s->fields[j].swap_group, a->swap_group)) {
                count++;
                partner = j;
            }
        char p[96];
        snprintf(p, sizeof p, "fields[%d].swap_group", i);
        if (count != 2)
            return SCHEMA_FAIL(p, "swap group '%s' has %d field(s); a group pairs exactly two",
                               a->swap_group, count);
        const bl_schema_field *b = &s->fields[partner];
        if (a->type != b->type || a->q != b->q || a->padding != b->padding ||
            a->positional != b->positional || a->bits != b->bits || a->hashes != b->hashes ||
            a->clk_hashes != b->clk_hashes || a->salted != b->salted ||
            a->xor_folds != b->xor_folds || a->balanced != b->balanced)
            return SCHEMA_FAIL(p, "fields '%s' and '%s' of swap group '%s' must have the same type, "
                                  "q, padding, positional, bits, hashes, clk_hashes, salted, xor_folds and balanced",
                               a->name, b->name, a->swap_group);
    }
    return BL_OK;
}

/* Each string of a parts array (blocking keys, identity fields); path names
   the array, e.g. "blocking_keys[2].parts". */
static bl_status parse_parts(bl_schema *s, json_t *parts, bl_key_part *out, const char *path,
                             const char *src, bl_error *err)
{
    for (size_t j = 0; j < json_array_size(parts); j++) {
        const char *pt = json_string_value(json_array_get(parts, j));
        char ppath[96];
        snprintf(ppath, sizeof ppath, "%s[%zu]", path, j);
        if (!pt)
            return SCHEMA_FAIL(ppath, "must be a string");
        bl_status st = parse_part(s, pt, &out[j], ppath, src, err);
        if (st != BL_OK)
            return st;
    }
    return BL_OK;
}

static bl_status parse_schema(json_t *root, bl_schema *s, const char *src, bl_error *err)
{
    static const char *const known[] = {"bloomlink_schema", "name", "clk", "hardening",
                                        "fields", "blocking_keys", "description", NULL};
    if (!json_is_object(root))
        return SCHEMA_FAIL("$", "a schema is a JSON object");
    bl_status st = check_keys(root, known, "$", src, err);
    if (st != BL_OK)
        return st;
    json_t *ver = json_object_get(root, "bloomlink_schema");
    if (!json_is_integer(ver))
        return SCHEMA_FAIL("bloomlink_schema", "required: the schema format version (1)");
    if (json_integer_value(ver) != 1)
        return bl_fail_at(err, BL_EUNSUPPORTED, src, -1, -1, "bloomlink_schema",
                          "schema format version %lld is not supported by this bloomlink (1)",
                          (long long)json_integer_value(ver));
    s->version = 1;
    const char *name = json_string_value(json_object_get(root, "name"));
    s->name = strdup(name ? name : "unnamed");
    if (!s->name)
        return bl_fail(err, BL_ENOMEM, "out of memory");

    json_t *fields = json_object_get(root, "fields");
    if (!json_is_array(fields) || json_array_size(fields) == 0)
        return SCHEMA_FAIL("fields", "must be a non-empty array");
    if (json_array_size(fields) > BL_MAX_FIELDS)
        return SCHEMA_FAIL("fields", "at most %d fields", BL_MAX_FIELDS);
    for (size_t i = 0; i < json_array_size(fields); i++)
        if ((st = parse_field(s, json_array_get(fields, i), (int)i, src, err)) != BL_OK)
            return st;
    if ((st = check_swap_groups(s, src, err)) != BL_OK)
        return st;
    for (int i = 0; i < s->nfields; i++) {
        if (s->fields[i].type != BL_FIELD_IDENTITY)
            continue;
        json_t *parts = json_object_get(json_array_get(fields, (size_t)i), "parts");
        char path[64];
        snprintf(path, sizeof path, "fields[%d].parts", i);
        if (!json_is_array(parts) || json_array_size(parts) < 2 ||
            json_array_size(parts) > BL_MAX_KEY_PARTS)
            return SCHEMA_FAIL(path, "must list 2 to %d parts", BL_MAX_KEY_PARTS);
        if ((st = parse_parts(s, parts, s->fields[i].parts, path, src, err)) != BL_OK)
            return st;
        for (size_t j = 0; j < json_array_size(parts); j++)
            if (s->fields[s->fields[i].parts[j].field].type == BL_FIELD_IDENTITY) {
                char ppath[96];
                snprintf(ppath, sizeof ppath, "%s[%zu]", path, j);
                return SCHEMA_FAIL(ppath, "an identity field cannot be made of another");
            }
        s->fields[i].nparts = (int)json_array_size(parts);
    }

    long clk_bits = 0;
    json_t *clk = json_object_get(root, "clk");
    if (clk) {
        static const char *const ck[] = {"bits", NULL};
        if (!json_is_object(clk))
            return SCHEMA_FAIL("clk", "must be an object");
        if ((st = check_keys(clk, ck, "clk", src, err)) ||
            (st = get_int(clk, "bits", 64, 65536, -1, &clk_bits, "clk", src, err)))
            return st;
        if (clk_bits % 64)
            return SCHEMA_FAIL("clk.bits", "must be a multiple of 64");
    }
    s->clk_bits = (uint32_t)clk_bits;

    /* Hardening: salting is required unless explicitly switched off, so that an
       omitted block never yields unhardened name filters. */
    s->salt_field = -1;
    json_t *h = json_object_get(root, "hardening");
    if (!h)
        return SCHEMA_FAIL("hardening", "required: {\"salt\": \"year(<date field>)\"} or {\"salt\": null} to opt out explicitly");
    static const char *const hk[] = {"salt", "missing_salt", NULL};
    if (!json_is_object(h))
        return SCHEMA_FAIL("hardening", "must be an object");
    if ((st = check_keys(h, hk, "hardening", src, err)) != BL_OK)
        return st;
    json_t *salt = json_object_get(h, "salt");
    if (!salt)
        return SCHEMA_FAIL("hardening.salt", "required (null to opt out explicitly)");
    if (json_is_string(salt)) {
        bl_key_part p;
        if ((st = parse_part(s, json_string_value(salt), &p, "hardening.salt", src, err)) != BL_OK)
            return st;
        if (p.fn != BL_PART_YEAR)
            return SCHEMA_FAIL("hardening.salt", "only year(<date field>) salts are supported");
        s->salt_field = p.field;
    } else if (!json_is_null(salt)) {
        return SCHEMA_FAIL("hardening.salt", "must be a string such as \"year(dob)\" or null");
    }
    json_t *ms = json_object_get(h, "missing_salt");
    if (ms && (!json_is_string(ms) || strcmp(json_string_value(ms), "withhold")))
        return SCHEMA_FAIL("hardening.missing_salt",
                           "only \"withhold\" is supported: salted fields of a record without a salt are not encoded");
    for (int i = 0; i < s->nfields; i++)
        if (s->fields[i].salted && s->salt_field < 0) {
            char p[96];
            snprintf(p, sizeof p, "fields[%d].salted", i);
            return SCHEMA_FAIL(p, "field is salted but hardening.salt is null");
        }

    json_t *keys = json_object_get(root, "blocking_keys");
    if (keys) {
        if (!json_is_array(keys) || json_array_size(keys) > BL_MAX_BLOCKING_KEYS)
            return SCHEMA_FAIL("blocking_keys", "must be an array of at most %d keys", BL_MAX_BLOCKING_KEYS);
        for (size_t i = 0; i < json_array_size(keys); i++) {
            json_t *k = json_array_get(keys, i);
            char path[64];
            snprintf(path, sizeof path, "blocking_keys[%zu]", i);
            static const char *const kk[] = {"name", "parts", NULL};
            if (!json_is_object(k))
                return SCHEMA_FAIL(path, "must be an object");
            if ((st = check_keys(k, kk, path, src, err)) != BL_OK)
                return st;
            const char *kname = json_string_value(json_object_get(k, "name"));
            json_t *parts = json_object_get(k, "parts");
            if (!kname || !valid_identifier(kname))
                return SCHEMA_FAIL(path, "\"name\" must be a lower-case identifier");
            for (int j = 0; j < s->nkeys; j++)
                if (!strcmp(s->keys[j].name, kname))
                    return SCHEMA_FAIL(path, "duplicate blocking key '%s'", kname);
            if (!json_is_array(parts) || json_array_size(parts) == 0 ||
                json_array_size(parts) > BL_MAX_KEY_PARTS)
                return SCHEMA_FAIL(path, "\"parts\" must list 1 to %d parts", BL_MAX_KEY_PARTS);
            bl_blocking_key *bk = &s->keys[i];
            char ppath[80];
            snprintf(ppath, sizeof ppath, "%s.parts", path);
            if ((st = parse_parts(s, parts, bk->parts, ppath, src, err)) != BL_OK)
                return st;
            bk->nparts = (int)json_array_size(parts);
            bk->name = strdup(kname);
            if (!bk->name)
                return bl_fail(err, BL_ENOMEM, "out of memory");
            s->nkeys = (int)i + 1;
        }
    }
    return BL_OK;
}

bl_status bl_schema_parse(const char *json, size_t len, const char *name, bl_schema **out,
                          bl_error *err)
{
    *out = NULL;
    const char *src = name ? name : "<schema>";
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return bl_fail_at(err, BL_EPARSE, src, je.line, je.column, NULL, "%s", je.text);
    bl_schema *s = calloc(1, sizeof *s);
    if (!s) {
        json_decref(root);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    bl_handle_created();
    bl_status st = parse_schema(root, s, src, err);
    if (st == BL_OK) {
        /* Canonical form: sorted keys, compact, ASCII.  Two holders with the same
           schema get the same fingerprint whatever their whitespace. */
        s->canonical = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!s->canonical) {
            st = bl_fail(err, BL_ENOMEM, "out of memory");
        } else {
            uint8_t md[32];
            SHA256((const unsigned char *)s->canonical, strlen(s->canonical), md);
            bl_hex(md, sizeof md, s->fingerprint);
        }
    }
    json_decref(root);
    if (st != BL_OK) {
        bl_schema_free(s);
        return st;
    }
    *out = s;
    return BL_OK;
}

bl_status bl_schema_load(const char *path, bl_schema **out, bl_error *err)
{
    char *text;
    size_t len;
    *out = NULL;
    bl_status st = bl_read_file(path, 1 << 20, &text, &len, err);
    if (st != BL_OK)
        return st;
    st = bl_schema_parse(text, len, path, out, err);
    free(text);
    return st;
}

bl_status bl_schema_default(bl_schema **out, bl_error *err)
{
    return bl_schema_parse(default_schema_json, sizeof default_schema_json - 1, "<default schema>",
                           out, err);
}

bl_status bl_schema_canonical(const bl_schema *schema, char **out, bl_error *err)
{
    *out = strdup(schema->canonical);
    return *out ? BL_OK : bl_fail(err, BL_ENOMEM, "out of memory");
}

void bl_schema_fingerprint(const bl_schema *schema, char *hex)
{
    memcpy(hex, schema->fingerprint, sizeof schema->fingerprint);
}

size_t bl_schema_field_count(const bl_schema *schema) { return (size_t)schema->nfields; }
const char *bl_schema_field_name(const bl_schema *schema, size_t i)
{
    return i < (size_t)schema->nfields ? schema->fields[i].name : NULL;
}
const char *bl_schema_field_swap_group(const bl_schema *schema, size_t i)
{
    return i < (size_t)schema->nfields ? schema->fields[i].swap_group : NULL;
}
int bl_schema_field_salted(const bl_schema *schema, size_t i)
{
    return i < (size_t)schema->nfields ? schema->fields[i].salted : 0;
}
bl_field_type bl_schema_field_type(const bl_schema *schema, size_t i)
{
    return i < (size_t)schema->nfields ? schema->fields[i].type : BL_FIELD_TEXT;
}
size_t bl_schema_field_bits(const bl_schema *schema, size_t i)
{
    return i < (size_t)schema->nfields ? schema->fields[i].stored_bits : 0;
}
size_t bl_schema_clk_bits(const bl_schema *schema) { return schema->clk_bits; }
size_t bl_schema_blocking_key_count(const bl_schema *schema) { return (size_t)schema->nkeys; }
const char *bl_schema_blocking_key_name(const bl_schema *schema, size_t i)
{
    return i < (size_t)schema->nkeys ? schema->keys[i].name : NULL;
}
