/* profile.c - source profiles: which of a holder's columns feed the schema. */
#include "config.h"

#include "profile.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io.h"
#include "normalise.h"

#define PROFILE_FAIL(path, ...) bl_fail_at(err, BL_ESCHEMA, src, -1, -1, path, __VA_ARGS__)

void bl_profile_free(bl_profile *p)
{
    if (!p)
        return;
    free(p->source);
    free(p->record_id);
    for (int i = 0; i < BL_MAX_FIELDS; i++) {
        free(p->fields[i].column);
        for (int j = 0; j < p->fields[i].nformats; j++)
            free(p->fields[i].formats[j]);
    }
    free(p->full_name);
    for (int i = 0; i < p->ncontent; i++)
        free(p->content[i]);
    free(p->content);
    free(p);
    bl_handle_destroyed();
}

const char *bl_profile_source(const bl_profile *profile) { return profile->source; }

static int valid_source(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static bl_status parse_profile(json_t *root, const bl_schema *schema, bl_profile *p,
                               const char *src, bl_error *err)
{
    static const char *const known[] = {"source", "record_id", "csv", "fields", "full_name",
                                        "content", "derived_content", "description", NULL};
    if (!json_is_object(root))
        return PROFILE_FAIL("$", "a profile is a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        int ok = 0;
        for (const char *const *kk = known; *kk; kk++)
            ok |= !strcmp(k, *kk);
        if (!ok)
            return PROFILE_FAIL(k, "unknown key");
    }
    const char *source = json_string_value(json_object_get(root, "source"));
    if (!source || !valid_source(source))
        return PROFILE_FAIL("source", "required: a short lower-case source name such as \"gp\"");
    const char *rid = json_string_value(json_object_get(root, "record_id"));
    if (!rid || !*rid)
        return PROFILE_FAIL("record_id", "required: the column holding the local record id");
    p->source = strdup(source);
    p->record_id = strdup(rid);
    if (!p->source || !p->record_id)
        return bl_fail(err, BL_ENOMEM, "out of memory");

    p->separator = ',';
    json_t *csv = json_object_get(root, "csv");
    if (csv) {
        if (!json_is_object(csv))
            return PROFILE_FAIL("csv", "must be an object");
        json_t *sep = json_object_get(csv, "separator");
        if (sep) {
            const char *s = json_string_value(sep);
            if (!s || strlen(s) != 1 || *s == '"' || *s == '\n' || *s == '\r')
                return PROFILE_FAIL("csv.separator", "must be one character (not a quote or newline)");
            p->separator = *s;
        }
        json_t *sis = json_object_get(csv, "skip_initial_space");
        if (sis) {
            if (!json_is_boolean(sis))
                return PROFILE_FAIL("csv.skip_initial_space", "must be true or false");
            p->skip_initial_space = json_is_true(sis);
        }
    }

    p->nfields = schema->nfields;
    p->full_given = p->full_family = -1;
    json_t *fields = json_object_get(root, "fields");
    if (fields && !json_is_object(fields))
        return PROFILE_FAIL("fields", "must be an object mapping schema fields to columns");
    json_object_foreach(fields, k, v) {
        char path[128];
        snprintf(path, sizeof path, "fields.%s", k);
        int fi = bl_schema_field_index(schema, k);
        if (fi < 0)
            return PROFILE_FAIL(path, "the schema has no field '%s'", k);
        if (schema->fields[fi].type == BL_FIELD_IDENTITY)
            return PROFILE_FAIL(path, "'%s' is made from other fields by the encoder; it has no column", k);
        const char *col = json_is_string(v) ? json_string_value(v)
                                            : json_string_value(json_object_get(v, "column"));
        if (!col || !*col)
            return PROFILE_FAIL(path, "expected \"column\": \"<CSV header>\"");
        bl_profile_column *pc = &p->fields[fi];
        pc->column = strdup(col);
        if (!pc->column)
            return bl_fail(err, BL_ENOMEM, "out of memory");
        json_t *formats = json_is_object(v) ? json_object_get(v, "formats") : NULL;
        if (schema->fields[fi].type == BL_FIELD_DATE) {
            if (!json_is_array(formats) || json_array_size(formats) == 0 ||
                json_array_size(formats) > BL_MAX_DATE_FORMATS)
                return PROFILE_FAIL(path, "a date field needs \"formats\": 1 to %d formats such as \"%%d/%%m/%%Y\"",
                                    BL_MAX_DATE_FORMATS);
            for (size_t j = 0; j < json_array_size(formats); j++) {
                const char *f = json_string_value(json_array_get(formats, j));
                if (!f || !strchr(f, '%'))
                    return PROFILE_FAIL(path, "format %zu is not a date format", j + 1);
                bl_error ferr;
                bl_error_clear(&ferr);
                if (bl_date_format_check(f, &ferr) != BL_OK)
                    return PROFILE_FAIL(path, "format '%s': %s", f, ferr.text);
                pc->formats[j] = strdup(f);
                if (!pc->formats[j])
                    return bl_fail(err, BL_ENOMEM, "out of memory");
                pc->nformats = (int)j + 1;
            }
        } else if (formats) {
            return PROFILE_FAIL(path, "\"formats\" applies to date fields only");
        }
    }

    json_t *full = json_object_get(root, "full_name");
    if (full) {
        const char *col = json_string_value(json_object_get(full, "column"));
        const char *given = json_string_value(json_object_get(full, "given"));
        const char *family = json_string_value(json_object_get(full, "family"));
        if (!col || !*col)
            return PROFILE_FAIL("full_name.column", "required");
        p->full_given = given ? bl_schema_field_index(schema, given) : -1;
        p->full_family = family ? bl_schema_field_index(schema, family) : -1;
        if ((given && p->full_given < 0) || (family && p->full_family < 0))
            return PROFILE_FAIL("full_name", "\"given\" and \"family\" must name schema fields");
        if (p->full_given < 0 && p->full_family < 0)
            return PROFILE_FAIL("full_name", "name the schema fields to fill: \"given\" and/or \"family\"");
        if ((p->full_given >= 0 && p->fields[p->full_given].column) ||
            (p->full_family >= 0 && p->fields[p->full_family].column))
            return PROFILE_FAIL("full_name", "a field is mapped both to a column and to the full name");
        p->full_name = strdup(col);
        if (!p->full_name)
            return bl_fail(err, BL_ENOMEM, "out of memory");
    }

    json_t *content = json_object_get(root, "content");
    if (content) {
        if (!json_is_array(content))
            return PROFILE_FAIL("content", "must be an array of column names");
        p->content = calloc(json_array_size(content) + 1, sizeof *p->content);
        if (!p->content)
            return bl_fail(err, BL_ENOMEM, "out of memory");
        for (size_t j = 0; j < json_array_size(content); j++) {
            const char *c = json_string_value(json_array_get(content, j));
            char path[64];
            snprintf(path, sizeof path, "content[%zu]", j);
            if (!c || !*c)
                return PROFILE_FAIL(path, "must be a column name");
            /* Identifier columns never go to the content file: that file
               reaches the data controller, who must not see identifiers. */
            int is_identifier = !strcmp(c, p->record_id) || (p->full_name && !strcmp(c, p->full_name));
            for (int f = 0; f < schema->nfields; f++)
                if (p->fields[f].column && !strcmp(c, p->fields[f].column))
                    is_identifier = 1;
            if (is_identifier)
                return PROFILE_FAIL(path, "column '%s' feeds an identifier and cannot be content", c);
            if (!strcmp(c, "record_token"))
                return PROFILE_FAIL(path, "'record_token' is reserved");
            p->content[j] = dup_or_null(c);
            if (!p->content[j])
                return bl_fail(err, BL_ENOMEM, "out of memory");
            p->ncontent = (int)j + 1;
        }
    }
    /* Derived content: generalisable attributes the holder attaches so the
       controller can describe people (age bands, sex) without receiving the
       identifiers they come from.  The DSA decides how they are generalised. */
    json_t *derived = json_object_get(root, "derived_content");
    if (derived) {
        if (!json_is_array(derived) || json_array_size(derived) > 2)
            return PROFILE_FAIL("derived_content", "must list at most \"BirthYear\" and \"Sex\"");
        for (size_t j = 0; j < json_array_size(derived); j++) {
            const char *d = json_string_value(json_array_get(derived, j));
            char path[64];
            snprintf(path, sizeof path, "derived_content[%zu]", j);
            int code = !d ? 0 : !strcmp(d, "BirthYear") ? BL_DERIVED_BIRTH_YEAR : !strcmp(d, "Sex") ? BL_DERIVED_SEX : 0;
            if (!code)
                return PROFILE_FAIL(path, "unknown derived column (BirthYear, Sex)");
            for (int prev = 0; prev < p->nderived; prev++)
                if (p->derived[prev] == code)
                    return PROFILE_FAIL(path, "listed twice");
            for (int c = 0; c < p->ncontent; c++)
                if (!strcmp(p->content[c], d))
                    return PROFILE_FAIL(path, "'%s' is also a content column", d);
            int need = code == BL_DERIVED_BIRTH_YEAR ? BL_FIELD_DATE : BL_FIELD_SEX, have = 0;
            for (int f = 0; f < schema->nfields; f++)
                have |= schema->fields[f].type == (bl_field_type)need;
            if (!have)
                return PROFILE_FAIL(path, "the schema has no %s field to derive it from",
                                    need == BL_FIELD_DATE ? "date" : "sex");
            p->derived[p->nderived++] = code;
        }
    }
    int any = p->full_name != NULL;
    for (int f = 0; f < schema->nfields; f++)
        any |= p->fields[f].column != NULL;
    if (!any)
        return PROFILE_FAIL("fields", "the profile maps no column to any schema field");
    memcpy(p->schema_fingerprint, schema->fingerprint, sizeof p->schema_fingerprint);
    return BL_OK;
}

bl_status bl_profile_parse(const char *json, size_t len, const char *name, const bl_schema *schema,
                           bl_profile **out, bl_error *err)
{
    *out = NULL;
    const char *src = name ? name : "<profile>";
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return bl_fail_at(err, BL_EPARSE, src, je.line, je.column, NULL, "%s", je.text);
    bl_profile *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(root);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    bl_handle_created();
    bl_status st = parse_profile(root, schema, p, src, err);
    json_decref(root);
    if (st != BL_OK) {
        bl_profile_free(p);
        return st;
    }
    *out = p;
    return BL_OK;
}

bl_status bl_profile_load(const char *path, const bl_schema *schema, bl_profile **out, bl_error *err)
{
    char *text;
    size_t len;
    *out = NULL;
    bl_status st = bl_read_file(path, 1 << 20, &text, &len, err);
    if (st != BL_OK)
        return st;
    st = bl_profile_parse(text, len, path, schema, out, err);
    free(text);
    return st;
}

const char *bl_profile_record_id_column(const bl_profile *profile) { return profile->record_id; }

const char *bl_profile_field_column(const bl_profile *profile, const bl_schema *schema,
                                    const char *field)
{
    int i = bl_schema_field_index(schema, field);
    return i >= 0 && i < profile->nfields ? profile->fields[i].column : NULL;
}

char bl_profile_separator(const bl_profile *profile) { return profile->separator; }
int bl_profile_skip_initial_space(const bl_profile *profile) { return profile->skip_initial_space; }
size_t bl_profile_content_count(const bl_profile *profile) { return (size_t)profile->ncontent; }
const char *bl_profile_content_column(const bl_profile *profile, size_t i)
{
    return i < (size_t)profile->ncontent ? profile->content[i] : NULL;
}

const char *bl_derived_name(int code)
{
    return code == BL_DERIVED_BIRTH_YEAR ? "BirthYear" : code == BL_DERIVED_SEX ? "Sex" : "?";
}
