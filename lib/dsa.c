/* dsa.c - data-sharing agreements: parse, canonicalise, sign and verify.
 *
 * The agreement is JSON.  What the parties sign is its canonical text: the
 * document without its "signatures" member, serialised by jansson with sorted
 * keys, no whitespace and only ASCII (JSON_SORT_KEYS | JSON_COMPACT |
 * JSON_ENSURE_ASCII).  So re-indenting the file or reordering keys keeps the
 * signatures valid, while any change of a value breaks every one of them.
 * Real numbers are refused anywhere in the document because their textual
 * form is the one thing that could differ between jansson builds.
 */
#include "config.h"

#include "dsa.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "io.h"

#define DSA_MAX_BYTES ((size_t)4 << 20)
#define SIGNING_KEY_MAX_BYTES 4096

#define DSA_FAIL(path, ...) bl_fail_at(err, BL_ESCHEMA, d->name, -1, -1, path, __VA_ARGS__)

/* ------------------------------------------------------------ small helpers */

bl_status bl_sha256_hex(const void *p, size_t n, char *hex65, bl_error *err)
{
    unsigned char md[32];
    unsigned int len = 0;
    if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1)
        return bl_fail_openssl(err, "SHA-256");
    bl_hex(md, 32, hex65);
    return BL_OK;
}

char *bl_json_canonical(const json_t *v)
{
    return json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static long ymd_checked(int y, int m, int d)
{
    if (y < 1800 || y > 9999 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return 0;
    return (long)y * 10000 + m * 100 + d;
}

long bl_parse_iso_date(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return 0;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    return ymd_checked(y, m, d);
}

long bl_ymd_of_time(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return 0;
    return (long)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static int valid_name(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* Walk the tree: reals have no canonical text we can promise, so refuse them. */
static const char *find_real(const json_t *v)
{
    if (json_is_real(v))
        return "a real number";
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const char *r = find_real(json_array_get(v, i));
            if (r)
                return r;
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            const char *r = find_real(x);
            if (r)
                return r;
        }
    }
    return NULL;
}

/* Keys starting with "_" are comments: signed like everything else, ignored
   by the emitter.  Any other unknown key is an error, so a party never signs
   a rule that the software would silently ignore. */
static bl_status check_keys(const bl_dsa *d, const json_t *obj, const char *path,
                            const char *const *known, bl_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (k[0] == '_')
            continue;
        int ok = 0;
        for (const char *const *kk = known; *kk && !ok; kk++)
            ok = !strcmp(k, *kk);
        if (!ok) {
            char p[160];
            snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", k);
            return DSA_FAIL(p, "unknown key (comments go in keys starting with \"_\")");
        }
    }
    return BL_OK;
}

static const char *get_string(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* ------------------------------------------------------------- generalise */

long bl_dsa_parse_date(const bl_dsa_source *s, const char *in)
{
    static const char *const fallback[] = {"%Y-%m-%d"};
    const char *const *formats = s && s->ndate_formats ? (const char *const *)s->date_formats : fallback;
    int n = s && s->ndate_formats ? s->ndate_formats : 1;
    while (*in == ' ')
        in++;
    if (!*in)
        return 0;
    for (int i = 0; i < n; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        tm.tm_mday = 1;
        const char *end = strptime(in, formats[i], &tm);
        if (!end)
            continue;
        while (*end == ' ')
            end++;
        if (*end)
            continue;
        long ymd = ymd_checked(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        if (ymd)
            return ymd;
    }
    return 0;
}

/* A full date, or a bare four-digit year (month and day unknown: 0). */
static long parse_birth(const bl_dsa_source *s, const char *in, int *year_only)
{
    *year_only = 0;
    while (*in == ' ')
        in++;
    size_t n = strlen(in);
    while (n && in[n - 1] == ' ')
        n--;
    if (n == 4 && isdigit((unsigned char)in[0]) && isdigit((unsigned char)in[1]) &&
        isdigit((unsigned char)in[2]) && isdigit((unsigned char)in[3])) {
        *year_only = 1;
        return ((in[0] - '0') * 1000L + (in[1] - '0') * 100 + (in[2] - '0') * 10 + (in[3] - '0')) *
               10000;
    }
    return bl_dsa_parse_date(s, in);
}

static void copy_trimmed(const char *in, char *out, size_t out_size)
{
    while (*in == ' ' || *in == '\t')
        in++;
    size_t n = strlen(in);
    while (n && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

/* Outward code of a UK postcode ("OX4 1AB", "ox41ab", or just "OX4"). */
static int postcode_outward(const char *in, char *out, size_t out_size)
{
    char c[16];
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ' ')
            continue;
        if (!isalnum((unsigned char)*p) || n + 1 >= sizeof c)
            return 0;
        c[n++] = (char)toupper((unsigned char)*p);
    }
    c[n] = '\0';
    size_t ol;
    if (n >= 5 && n <= 7 && isdigit((unsigned char)c[n - 3]) && isalpha((unsigned char)c[n - 2]) &&
        isalpha((unsigned char)c[n - 1]))
        ol = n - 3; /* full postcode: the inward code is always digit letter letter */
    else if (n >= 2 && n <= 4)
        ol = n; /* already an outward code */
    else
        return 0;
    if (!isalpha((unsigned char)c[0]) || ol < 2 || ol > 4 || ol >= out_size)
        return 0;
    int digits = 0;
    for (size_t i = 0; i < ol; i++)
        digits += isdigit((unsigned char)c[i]) != 0;
    if (!digits)
        return 0;
    memcpy(out, c, ol);
    out[ol] = '\0';
    return 1;
}

void bl_dsa_generalise(const bl_dsa *dsa, const bl_dsa_source *s, const bl_dsa_column *c,
                       const char *in, char *out, size_t out_size, int *invalid)
{
    out[0] = '\0';
    *invalid = 0;
    char v[256];
    copy_trimmed(in ? in : "", v, sizeof v);
    if (!v[0] || c->use == BL_USE_DROP)
        return;
    switch (c->gen) {
    case BL_GEN_NONE:
        snprintf(out, out_size, "%s", v);
        return;
    case BL_GEN_MONTH:
    case BL_GEN_YEAR: {
        long ymd = bl_dsa_parse_date(s, v);
        if (!ymd)
            break;
        if (c->gen == BL_GEN_MONTH)
            snprintf(out, out_size, "%04ld-%02ld", ymd / 10000, ymd / 100 % 100);
        else
            snprintf(out, out_size, "%04ld", ymd / 10000);
        return;
    }
    case BL_GEN_BIRTH_YEAR:
    case BL_GEN_AGE_BAND: {
        int year_only;
        long b = parse_birth(s, v, &year_only);
        long ref = dsa->age_reference;
        if (!b || b / 10000 < 1880 || b > ref)
            break;
        if (c->gen == BL_GEN_BIRTH_YEAR) {
            snprintf(out, out_size, "%04ld", b / 10000);
            return;
        }
        /* Age in completed years at the reference date; with a year only,
           the age reached during the reference year (may be one too high). */
        long age = ref / 10000 - b / 10000;
        if (!year_only && ref % 10000 < b % 10000)
            age--;
        if (age < 0)
            break;
        int w = dsa->age_band_width, top = dsa->age_band_top;
        if (age >= top)
            snprintf(out, out_size, "%d+", top);
        else {
            long lo = age / w * w;
            long hi = lo + w - 1 < top - 1 ? lo + w - 1 : top - 1;
            snprintf(out, out_size, "%ld-%ld", lo, hi);
        }
        return;
    }
    case BL_GEN_OUTWARD:
    case BL_GEN_AREA: {
        char o[8];
        if (!postcode_outward(v, o, sizeof o))
            break;
        if (c->gen == BL_GEN_AREA) {
            size_t i = 0;
            while (o[i] && isalpha((unsigned char)o[i]))
                i++;
            o[i] = '\0';
        }
        snprintf(out, out_size, "%s", o);
        return;
    }
    case BL_GEN_SEX: {
        char u[16];
        size_t i;
        for (i = 0; v[i] && i + 1 < sizeof u; i++)
            u[i] = (char)toupper((unsigned char)v[i]);
        u[i] = '\0';
        if (!strcmp(u, "M") || !strcmp(u, "MALE") || !strcmp(u, "1"))
            snprintf(out, out_size, "M");
        else if (!strcmp(u, "F") || !strcmp(u, "FEMALE") || !strcmp(u, "2"))
            snprintf(out, out_size, "F");
        else
            snprintf(out, out_size, "U");
        return;
    }
    case BL_GEN_BROAD: {
        /* Census-style categories ("Asian or Asian British - Indian") keep
           their broad group only: fewer, larger categories. */
        char *dash = strstr(v, " - ");
        if (dash)
            *dash = '\0';
        copy_trimmed(v, out, out_size);
        return;
    }
    case BL_GEN_TOP_CODE: {
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || *end || x < 0)
            break;
        if (x > c->top)
            snprintf(out, out_size, "%ld+", c->top);
        else
            snprintf(out, out_size, "%ld", x);
        return;
    }
    }
    *invalid = 1;
}

/* ------------------------------------------------------------------ parse */

static void free_source(bl_dsa_source *s)
{
    free(s->name);
    for (int i = 0; i < s->ndate_formats; i++)
        free(s->date_formats[i]);
    for (size_t i = 0; i < s->ncols; i++) {
        free(s->cols[i].column);
        free(s->cols[i].as);
    }
    free(s->cols);
}

void bl_dsa_free(bl_dsa *dsa)
{
    if (!dsa)
        return;
    json_decref(dsa->doc);
    free(dsa->name);
    free(dsa->canonical);
    for (size_t i = 0; i < dsa->nparties; i++) {
        free(dsa->parties[i].name);
        free(dsa->parties[i].role);
    }
    free(dsa->parties);
    for (size_t i = 0; i < dsa->noptout_sources; i++)
        free(dsa->optout_sources[i]);
    free(dsa->optout_sources);
    for (size_t i = 0; i < dsa->nsources; i++)
        free_source(&dsa->sources[i]);
    free(dsa->sources);
    free(dsa);
    bl_handle_destroyed();
}

int bl_dsa_source_index(const bl_dsa *dsa, const char *name)
{
    for (size_t i = 0; i < dsa->nsources; i++)
        if (!strcmp(dsa->sources[i].name, name))
            return (int)i;
    return -1;
}

static const struct {
    const char *name;
    bl_dsa_gen gen;
} gen_names[] = {
    {"none", BL_GEN_NONE},         {"month", BL_GEN_MONTH},     {"year", BL_GEN_YEAR},
    {"birth_year", BL_GEN_BIRTH_YEAR}, {"age_band", BL_GEN_AGE_BAND}, {"outward", BL_GEN_OUTWARD},
    {"postcode_district", BL_GEN_OUTWARD}, {"area", BL_GEN_AREA}, {"sex", BL_GEN_SEX},
    {"top_code", BL_GEN_TOP_CODE}, {"broad_group", BL_GEN_BROAD},
};

const char *bl_dsa_gen_name(bl_dsa_gen g)
{
    for (size_t i = 0; i < sizeof gen_names / sizeof gen_names[0]; i++)
        if (gen_names[i].gen == g)
            return gen_names[i].name;
    return "?";
}

static const struct {
    const char *name;
    bl_dsa_use use;
} use_names[] = {
    {"drop", BL_USE_DROP},   {"event_date", BL_USE_EVENT_DATE}, {"event_type", BL_USE_EVENT_TYPE},
    {"event", BL_USE_EVENT}, {"person", BL_USE_PERSON},
};

/* Output column names the emitter uses itself. */
static int reserved_column(const char *as)
{
    static const char *const r[] = {"pseudonym", "source", "sources", "event_id", "event_date",
                                    "event_type", "n_events", "item", "value", NULL};
    for (const char *const *p = r; *p; p++)
        if (!strcmp(as, *p))
            return 1;
    return strncmp(as, "in_", 3) == 0;
}

static bl_status parse_column(bl_dsa *d, bl_dsa_source *s, const char *cname, json_t *rule,
                              bl_dsa_column *c, bl_error *err)
{
    static const char *const known[] = {"use", "generalise", "as", "top", NULL};
    char path[200];
    snprintf(path, sizeof path, "sources.%s.columns.%s", s->name, cname);
    c->column = strdup(cname);
    if (!c->column)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    if (!json_is_object(rule))
        return DSA_FAIL(path, "a column rule is an object such as {\"use\": \"event\"}");
    bl_status st = check_keys(d, rule, path, known, err);
    if (st != BL_OK)
        return st;
    const char *use = get_string(rule, "use");
    if (!use)
        return DSA_FAIL(path, "\"use\" is required: drop, event_date, event_type, event or person");
    size_t i;
    for (i = 0; i < sizeof use_names / sizeof use_names[0]; i++)
        if (!strcmp(use, use_names[i].name))
            break;
    if (i == sizeof use_names / sizeof use_names[0])
        return DSA_FAIL(path, "unknown use '%s' (drop, event_date, event_type, event, person)", use);
    c->use = use_names[i].use;
    const char *gen = get_string(rule, "generalise");
    if (json_object_get(rule, "generalise") && !gen)
        return DSA_FAIL(path, "\"generalise\" must be a string");
    c->gen = BL_GEN_NONE;
    if (gen) {
        for (i = 0; i < sizeof gen_names / sizeof gen_names[0]; i++)
            if (!strcmp(gen, gen_names[i].name))
                break;
        if (i == sizeof gen_names / sizeof gen_names[0])
            return DSA_FAIL(path, "unknown generalisation '%s'", gen);
        c->gen = gen_names[i].gen;
    }
    if (c->use == BL_USE_DROP && gen)
        return DSA_FAIL(path, "a dropped column takes no generalisation");
    if (c->use == BL_USE_EVENT_DATE && c->gen != BL_GEN_MONTH && c->gen != BL_GEN_YEAR)
        return DSA_FAIL(path, "an event date is generalised to \"month\" or \"year\"");
    if (c->use == BL_USE_EVENT_TYPE && c->gen != BL_GEN_NONE)
        return DSA_FAIL(path, "an event type is kept as a code (no generalisation)");
    if (c->gen == BL_GEN_TOP_CODE) {
        json_t *top = json_object_get(rule, "top");
        if (!json_is_integer(top) || json_integer_value(top) < 0)
            return DSA_FAIL(path, "top_code needs \"top\": a non-negative integer");
        c->top = (long)json_integer_value(top);
    } else if (json_object_get(rule, "top")) {
        return DSA_FAIL(path, "\"top\" applies to top_code only");
    }
    if (c->use == BL_USE_EVENT || c->use == BL_USE_PERSON) {
        const char *as = get_string(rule, "as");
        char def[64];
        if (!as) {
            /* Default output name: the header in lower case, other characters as '_'. */
            size_t n = 0;
            for (const char *p = cname; *p && n + 1 < sizeof def; p++)
                def[n++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
            def[n] = '\0';
            as = def;
        }
        if (!valid_name(as, 48))
            return DSA_FAIL(path, "output name '%s' must match [a-z][a-z0-9_]* (give \"as\")", as);
        if (reserved_column(as))
            return DSA_FAIL(path, "output name '%s' is used by the emitter itself", as);
        c->as = strdup(as);
        if (!c->as)
            return bl_fail(err, BL_ENOMEM, "out of memory");
    } else if (json_object_get(rule, "as")) {
        return DSA_FAIL(path, "\"as\" applies to event and person columns only");
    }
    return BL_OK;
}

static bl_status parse_sources(bl_dsa *d, json_t *sources, bl_error *err)
{
    static const char *const known[] = {"date_formats", "columns", NULL};
    if (!json_is_object(sources) || json_object_size(sources) == 0)
        return DSA_FAIL("sources", "required: an object with one entry per source");
    d->sources = calloc(json_object_size(sources), sizeof *d->sources);
    if (!d->sources)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    const char *sname;
    json_t *sv;
    json_object_foreach(sources, sname, sv) {
        if (sname[0] == '_')
            continue;
        bl_dsa_source *s = &d->sources[d->nsources++];
        char path[160];
        snprintf(path, sizeof path, "sources.%s", sname);
        s->name = strdup(sname);
        if (!s->name)
            return bl_fail(err, BL_ENOMEM, "out of memory");
        if (!valid_name(sname, 32))
            return DSA_FAIL(path, "a source name matches [a-z][a-z0-9_]*");
        if (!json_is_object(sv))
            return DSA_FAIL(path, "must be an object");
        bl_status st = check_keys(d, sv, path, known, err);
        if (st != BL_OK)
            return st;
        json_t *df = json_object_get(sv, "date_formats");
        if (df) {
            if (!json_is_array(df) || json_array_size(df) == 0 ||
                json_array_size(df) > BL_DSA_MAX_DATE_FORMATS)
                return DSA_FAIL(path, "date_formats: 1 to %d strptime formats such as \"%%d/%%m/%%Y\"",
                                BL_DSA_MAX_DATE_FORMATS);
            for (size_t i = 0; i < json_array_size(df); i++) {
                const char *f = json_string_value(json_array_get(df, i));
                if (!f || !*f)
                    return DSA_FAIL(path, "date_formats: each format is a non-empty string");
                if (!(s->date_formats[s->ndate_formats++] = strdup(f)))
                    return bl_fail(err, BL_ENOMEM, "out of memory");
            }
        }
        json_t *cols = json_object_get(sv, "columns");
        if (!json_is_object(cols) || json_object_size(cols) == 0)
            return DSA_FAIL(path, "columns: required, one rule per content column");
        s->cols = calloc(json_object_size(cols), sizeof *s->cols);
        if (!s->cols)
            return bl_fail(err, BL_ENOMEM, "out of memory");
        const char *cname;
        json_t *rule;
        int ndate = 0, ntype = 0;
        json_object_foreach(cols, cname, rule) {
            if (cname[0] == '_')
                continue;
            if (!strcmp(cname, "record_token"))
                return DSA_FAIL(path, "record_token is the join key, not a content column");
            bl_dsa_column *c = &s->cols[s->ncols++];
            st = parse_column(d, s, cname, rule, c, err);
            if (st != BL_OK)
                return st;
            ndate += c->use == BL_USE_EVENT_DATE;
            ntype += c->use == BL_USE_EVENT_TYPE;
            /* Two person columns may feed one person value (e.g. a birth date
               and a birth year column, both to age_band); two event columns
               would fight over one cell of the same row. */
            for (size_t j = 0; j + 1 < s->ncols; j++)
                if (c->use == BL_USE_EVENT && s->cols[j].use == BL_USE_EVENT &&
                    !strcmp(c->as, s->cols[j].as))
                    return DSA_FAIL(path, "two columns are both output as '%s'", c->as);
        }
        if (ndate != 1)
            return DSA_FAIL(path, "exactly one column must have \"use\": \"event_date\"");
        if (ntype > 1)
            return DSA_FAIL(path, "at most one column may have \"use\": \"event_type\"");
    }
    if (d->nsources == 0)
        return DSA_FAIL("sources", "required: at least one source");
    return BL_OK;
}

static bl_status parse_parties(bl_dsa *d, json_t *parties, bl_error *err)
{
    static const char *const known[] = {"name", "role", "public_key", NULL};
    if (!json_is_array(parties) || json_array_size(parties) == 0)
        return DSA_FAIL("parties", "required: a list of {name, role, public_key}");
    d->parties = calloc(json_array_size(parties), sizeof *d->parties);
    if (!d->parties)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(parties); i++) {
        json_t *p = json_array_get(parties, i);
        char path[64];
        snprintf(path, sizeof path, "parties[%zu]", i);
        if (!json_is_object(p))
            return DSA_FAIL(path, "a party is an object");
        bl_status st = check_keys(d, p, path, known, err);
        if (st != BL_OK)
            return st;
        const char *name = get_string(p, "name"), *role = get_string(p, "role");
        const char *pub = get_string(p, "public_key");
        if (!name || !*name)
            return DSA_FAIL(path, "name: required");
        uint8_t raw[BL_ED25519_PUBLIC_BYTES];
        if (!pub || bl_unhex(pub, raw, sizeof raw) != 0)
            return DSA_FAIL(path, "public_key: 64 hex digits (from bloomlink dsa keygen)");
        bl_dsa_party *party = &d->parties[d->nparties++];
        party->name = strdup(name);
        party->role = strdup(role ? role : "");
        if (!party->name || !party->role)
            return bl_fail(err, BL_ENOMEM, "out of memory");
        bl_hex(raw, sizeof raw, party->public_hex); /* lower case, for comparisons */
        for (size_t j = 0; j + 1 < d->nparties; j++) {
            if (!strcmp(d->parties[j].name, name))
                return DSA_FAIL(path, "two parties are called '%s'", name);
            if (!strcmp(d->parties[j].public_hex, party->public_hex))
                return DSA_FAIL(path, "parties '%s' and '%s' share a public key", d->parties[j].name,
                                name);
        }
    }
    return BL_OK;
}

static bl_status parse_policy(bl_dsa *d, json_t *root, bl_error *err)
{
    /* Outputs allowed. */
    json_t *outs = json_object_get(root, "outputs");
    if (!json_is_array(outs) || json_array_size(outs) == 0)
        return DSA_FAIL("outputs", "required: a list of allowed outputs (sqlite, csv, aggregate)");
    for (size_t i = 0; i < json_array_size(outs); i++) {
        const char *o = json_string_value(json_array_get(outs, i));
        if (o && !strcmp(o, "sqlite"))
            d->outputs |= BL_DSA_OUT_SQLITE;
        else if (o && !strcmp(o, "csv"))
            d->outputs |= BL_DSA_OUT_CSV;
        else if (o && !strcmp(o, "aggregate"))
            d->outputs |= BL_DSA_OUT_AGGREGATE;
        else
            return DSA_FAIL("outputs", "unknown output '%s' (sqlite, csv, aggregate)", o ? o : "?");
    }

    /* National data opt-out. */
    static const char *const oo_known[] = {"rule", "sources", "remove", NULL};
    json_t *oo = json_object_get(root, "opt_out");
    if (!json_is_object(oo))
        return DSA_FAIL("opt_out", "required: {\"rule\": \"national_data_opt_out\", \"sources\": [...]}");
    bl_status st = check_keys(d, oo, "opt_out", oo_known, err);
    if (st != BL_OK)
        return st;
    const char *rule = get_string(oo, "rule");
    if (!rule || (strcmp(rule, "national_data_opt_out") && strcmp(rule, "none")))
        return DSA_FAIL("opt_out.rule", "\"national_data_opt_out\" or \"none\" (an exemption, e.g. s251 support)");
    d->optout_apply = !strcmp(rule, "national_data_opt_out");
    const char *remove = get_string(oo, "remove");
    if (remove && strcmp(remove, "entity"))
        return DSA_FAIL("opt_out.remove", "only \"entity\" is supported: an opted-out person's "
                                          "linked records go from every source");
    json_t *oos = json_object_get(oo, "sources");
    if (d->optout_apply) {
        if (!json_is_array(oos) || json_array_size(oos) == 0)
            return DSA_FAIL("opt_out.sources", "the sources that hold NHS numbers and must supply opt-out tokens");
        d->optout_sources = calloc(json_array_size(oos), sizeof *d->optout_sources);
        if (!d->optout_sources)
            return bl_fail(err, BL_ENOMEM, "out of memory");
        for (size_t i = 0; i < json_array_size(oos); i++) {
            const char *s = json_string_value(json_array_get(oos, i));
            if (!s || bl_dsa_source_index(d, s) < 0)
                return DSA_FAIL("opt_out.sources", "'%s' is not one of the agreement's sources", s ? s : "?");
            if (!(d->optout_sources[d->noptout_sources++] = strdup(s)))
                return bl_fail(err, BL_ENOMEM, "out of memory");
        }
    } else if (oos) {
        return DSA_FAIL("opt_out.sources", "no sources when the rule is \"none\"");
    }

    /* Small-number suppression: NHS England's rule for sub-national counts by
       default (0 stays 0, 1-7 become "*", the rest rounded to the nearest 5). */
    static const char *const sup_known[] = {"rule", "threshold", "round_to", "secondary", NULL};
    d->supp_threshold = 7;
    d->supp_round = 5;
    d->supp_secondary = 1;
    json_t *sup = json_object_get(root, "suppression");
    if (sup) {
        if (!json_is_object(sup))
            return DSA_FAIL("suppression", "must be an object");
        st = check_keys(d, sup, "suppression", sup_known, err);
        if (st != BL_OK)
            return st;
        const char *r = get_string(sup, "rule");
        if (r && strcmp(r, "nhse_subnational") && strcmp(r, "custom"))
            return DSA_FAIL("suppression.rule", "\"nhse_subnational\" or \"custom\"");
        json_t *t = json_object_get(sup, "threshold"), *ro = json_object_get(sup, "round_to");
        json_t *sec = json_object_get(sup, "secondary");
        if ((t || ro) && (!r || strcmp(r, "custom")))
            return DSA_FAIL("suppression", "threshold and round_to need \"rule\": \"custom\"");
        if (t) {
            if (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 1000)
                return DSA_FAIL("suppression.threshold", "an integer from 1 to 1000");
            d->supp_threshold = (long)json_integer_value(t);
        }
        if (ro) {
            if (!json_is_integer(ro) || json_integer_value(ro) < 1 || json_integer_value(ro) > 1000)
                return DSA_FAIL("suppression.round_to", "an integer from 1 (no rounding) to 1000");
            d->supp_round = (long)json_integer_value(ro);
        }
        if (sec) {
            if (!json_is_boolean(sec))
                return DSA_FAIL("suppression.secondary", "true or false");
            d->supp_secondary = json_is_true(sec);
        }
    }

    /* Person-level generalisation settings. */
    static const char *const per_known[] = {"age_reference_date", "age_band_width", "age_band_top", NULL};
    d->age_band_width = 10;
    d->age_band_top = 90;
    d->age_reference = d->valid_from ? d->valid_from : 0;
    json_t *per = json_object_get(root, "person");
    if (per) {
        if (!json_is_object(per))
            return DSA_FAIL("person", "must be an object");
        st = check_keys(d, per, "person", per_known, err);
        if (st != BL_OK)
            return st;
        json_t *ar = json_object_get(per, "age_reference_date");
        if (ar && !(d->age_reference = bl_parse_iso_date(json_string_value(ar))))
            return DSA_FAIL("person.age_reference_date", "a date YYYY-MM-DD");
        json_t *w = json_object_get(per, "age_band_width"), *top = json_object_get(per, "age_band_top");
        if (w) {
            if (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > 50)
                return DSA_FAIL("person.age_band_width", "an integer from 1 to 50 years");
            d->age_band_width = (int)json_integer_value(w);
        }
        if (top) {
            if (!json_is_integer(top) || json_integer_value(top) < 1 || json_integer_value(top) > 120)
                return DSA_FAIL("person.age_band_top", "an integer from 1 to 120 years");
            d->age_band_top = (int)json_integer_value(top);
        }
    }
    for (size_t i = 0; i < d->nsources; i++)
        for (size_t j = 0; j < d->sources[i].ncols; j++)
            if (d->sources[i].cols[j].gen == BL_GEN_AGE_BAND && !d->age_reference)
                return DSA_FAIL("person.age_reference_date",
                                "age bands need a reference date (or valid_from)");
    return BL_OK;
}

/* Check every signature entry against the canonical text. */
static bl_status check_signatures(bl_dsa *d, bl_error *err)
{
    static const char *const known[] = {"party", "public_key", "signature", "signed_at", NULL};
    json_t *sigs = json_object_get(d->doc, "signatures");
    if (!sigs)
        return BL_OK;
    if (!json_is_array(sigs))
        return DSA_FAIL("signatures", "must be a list (written by bloomlink dsa sign)");
    for (size_t i = 0; i < json_array_size(sigs); i++) {
        json_t *s = json_array_get(sigs, i);
        char path[64];
        snprintf(path, sizeof path, "signatures[%zu]", i);
        if (!json_is_object(s))
            return DSA_FAIL(path, "a signature is an object");
        bl_status st = check_keys(d, s, path, known, err);
        if (st != BL_OK)
            return st;
        uint8_t pub[BL_ED25519_PUBLIC_BYTES], sig[BL_ED25519_SIGNATURE_BYTES];
        const char *ph = get_string(s, "public_key"), *sh = get_string(s, "signature");
        if (!ph || bl_unhex(ph, pub, sizeof pub) || !sh || bl_unhex(sh, sig, sizeof sig))
            return DSA_FAIL(path, "public_key (64 hex) and signature (128 hex) are required");
        char pl[2 * BL_ED25519_PUBLIC_BYTES + 1];
        bl_hex(pub, sizeof pub, pl);
        bl_dsa_party *party = NULL;
        for (size_t j = 0; j < d->nparties; j++)
            if (!strcmp(d->parties[j].public_hex, pl))
                party = &d->parties[j];
        if (!party) {
            if (!d->foreign_signatures++)
                snprintf(d->foreign_detail, sizeof d->foreign_detail,
                         "signatures[%zu] is by a key that belongs to no party", i);
            continue;
        }
        EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, sizeof pub);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!pk || !ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) != 1) {
            EVP_MD_CTX_free(ctx);
            EVP_PKEY_free(pk);
            return bl_fail_openssl(err, "Ed25519 verify setup");
        }
        int ok = EVP_DigestVerify(ctx, sig, sizeof sig, (const unsigned char *)d->canonical,
                                  strlen(d->canonical)) == 1;
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(pk);
        ERR_clear_error(); /* a failed verify leaves entries in OpenSSL's queue */
        /* A bad signature wins over a good one by the same key: an entry that
           does not verify means someone edited the text after signing. */
        if (!ok)
            party->state = BL_DSA_BAD_SIGNATURE;
        else if (party->state != BL_DSA_BAD_SIGNATURE)
            party->state = BL_DSA_SIGNED;
    }
    return BL_OK;
}

static bl_status dsa_build(bl_dsa *d, bl_error *err)
{
    static const char *const known[] = {"format", "project_id", "purpose", "controller", "parties",
                                        "valid_from", "expires", "retain_until", "pseudonym_scope",
                                        "outputs", "opt_out", "suppression", "person", "sources",
                                        "signatures", "project_key_fingerprint", NULL};
    json_t *root = d->doc;
    if (!json_is_object(root))
        return DSA_FAIL("$", "an agreement is a JSON object");
    const char *real = find_real(root);
    if (real)
        return DSA_FAIL("$", "%s: agreements hold strings, integers and booleans only, so that the "
                             "signed text is the same everywhere", real);
    bl_status st = check_keys(d, root, "", known, err);
    if (st != BL_OK)
        return st;
    const char *fmt = get_string(root, "format");
    if (!fmt || strcmp(fmt, BL_DSA_FORMAT))
        return DSA_FAIL("format", "must be \"%s\"", BL_DSA_FORMAT);
    d->project_id = get_string(root, "project_id");
    if (!d->project_id || !*d->project_id || strlen(d->project_id) > 64)
        return DSA_FAIL("project_id", "required: a short project identifier");
    for (const char *p = d->project_id; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return DSA_FAIL("project_id", "letters, digits, '-', '_' and '.' only");
    d->purpose = get_string(root, "purpose");
    if (!d->purpose || strlen(d->purpose) < 10)
        return DSA_FAIL("purpose", "required: the purpose of the processing, in words");
    if (json_object_get(root, "controller") && !json_is_string(json_object_get(root, "controller")))
        return DSA_FAIL("controller", "must be a string");
    const char *scope = get_string(root, "pseudonym_scope");
    if (!scope || strcmp(scope, "project"))
        return DSA_FAIL("pseudonym_scope", "must be \"project\" (pseudonyms keyed per project)");
    if (json_object_get(root, "valid_from") &&
        !(d->valid_from = bl_parse_iso_date(get_string(root, "valid_from"))))
        return DSA_FAIL("valid_from", "a date YYYY-MM-DD");
    if (!(d->expires = bl_parse_iso_date(get_string(root, "expires"))))
        return DSA_FAIL("expires", "required: the last day the agreement allows processing, YYYY-MM-DD");
    if (!(d->retain_until = bl_parse_iso_date(get_string(root, "retain_until"))))
        return DSA_FAIL("retain_until", "required: the date by which outputs are destroyed, YYYY-MM-DD");
    if (d->valid_from && d->expires < d->valid_from)
        return DSA_FAIL("expires", "is before valid_from");
    if (d->retain_until < d->expires)
        return DSA_FAIL("retain_until", "is before expires");
    json_t *pkf = json_object_get(root, "project_key_fingerprint");
    if (pkf) {
        uint8_t tmp[32];
        d->project_key_fingerprint = json_string_value(pkf);
        if (!d->project_key_fingerprint || bl_unhex(d->project_key_fingerprint, tmp, sizeof tmp))
            return DSA_FAIL("project_key_fingerprint", "64 hex digits (bloomlink dsa project-key prints it)");
    }
    if ((st = parse_parties(d, json_object_get(root, "parties"), err)) != BL_OK)
        return st;
    if ((st = parse_sources(d, json_object_get(root, "sources"), err)) != BL_OK)
        return st;
    if ((st = parse_policy(d, root, err)) != BL_OK)
        return st;

    json_t *copy = json_copy(root);
    if (!copy)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    json_object_del(copy, "signatures");
    d->canonical = bl_json_canonical(copy);
    json_decref(copy);
    if (!d->canonical)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    if ((st = bl_sha256_hex(d->canonical, strlen(d->canonical), d->hash, err)) != BL_OK)
        return st;
    return check_signatures(d, err);
}

bl_status bl_dsa_parse(const char *json, size_t len, const char *name, bl_dsa **out, bl_error *err)
{
    if (!out)
        return bl_fail(err, BL_EMISUSE, "no output handle");
    *out = NULL;
    if (!json)
        return bl_fail(err, BL_EMISUSE, "no agreement text");
    bl_dsa *d = calloc(1, sizeof *d);
    if (!d)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    bl_handle_created();
    d->name = strdup(name ? name : "<memory>");
    if (!d->name) {
        bl_dsa_free(d);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    json_error_t je;
    /* Duplicate keys would let two readers see two different agreements. */
    d->doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!d->doc) {
        bl_status st = bl_fail_at(err, BL_EPARSE, d->name, je.line, je.column, NULL, "%s", je.text);
        bl_dsa_free(d);
        return st;
    }
    bl_status st = dsa_build(d, err);
    if (st != BL_OK) {
        bl_dsa_free(d);
        return st;
    }
    *out = d;
    return BL_OK;
}

bl_status bl_dsa_load(const char *path, bl_dsa **out, bl_error *err)
{
    if (!out)
        return bl_fail(err, BL_EMISUSE, "no output handle");
    *out = NULL;
    char *text;
    size_t len;
    bl_status st = bl_read_file(path, DSA_MAX_BYTES, &text, &len, err);
    if (st != BL_OK)
        return st;
    st = bl_dsa_parse(text, len, path, out, err);
    free(text);
    return st;
}

/* ------------------------------------------------------------- accessors */

const char *bl_dsa_project_id(const bl_dsa *dsa) { return dsa->project_id; }
const char *bl_dsa_canonical_text(const bl_dsa *dsa) { return dsa->canonical; }
const char *bl_dsa_hash(const bl_dsa *dsa) { return dsa->hash; }
size_t bl_dsa_party_count(const bl_dsa *dsa) { return dsa->nparties; }

const char *bl_dsa_party_name(const bl_dsa *dsa, size_t i)
{
    return i < dsa->nparties ? dsa->parties[i].name : NULL;
}

const char *bl_dsa_party_public_key(const bl_dsa *dsa, size_t i)
{
    return i < dsa->nparties ? dsa->parties[i].public_hex : NULL;
}

bl_dsa_signature_state bl_dsa_party_signature(const bl_dsa *dsa, size_t i)
{
    return i < dsa->nparties ? (bl_dsa_signature_state)dsa->parties[i].state : BL_DSA_UNSIGNED;
}

static void ymd_text(long ymd, char *buf, size_t n)
{
    snprintf(buf, n, "%04ld-%02ld-%02ld", ymd / 10000, ymd / 100 % 100, ymd % 100);
}

bl_status bl_dsa_verify(const bl_dsa *dsa, int64_t now, bl_error *err)
{
    if (!dsa)
        return bl_fail(err, BL_EMISUSE, "no agreement");
    if (dsa->foreign_signatures)
        return bl_fail_at(err, BL_ESIGNATURE, dsa->name, -1, -1, "signatures", "%s",
                          dsa->foreign_detail);
    for (size_t i = 0; i < dsa->nparties; i++) {
        if (dsa->parties[i].state == BL_DSA_BAD_SIGNATURE)
            return bl_fail_at(err, BL_ESIGNATURE, dsa->name, -1, -1, "signatures",
                              "party '%s' signed a different text: the agreement was changed "
                              "after signing", dsa->parties[i].name);
        if (dsa->parties[i].state != BL_DSA_SIGNED)
            return bl_fail_at(err, BL_ESIGNATURE, dsa->name, -1, -1, "signatures",
                              "party '%s' has not signed the agreement", dsa->parties[i].name);
    }
    long today = bl_ymd_of_time(now ? now : (int64_t)time(NULL));
    char buf[48];
    if (today > dsa->expires) {
        ymd_text(dsa->expires, buf, sizeof buf);
        return bl_fail_at(err, BL_EEXPIRED, dsa->name, -1, -1, "expires",
                          "the agreement expired on %s", buf);
    }
    if (dsa->valid_from && today < dsa->valid_from) {
        ymd_text(dsa->valid_from, buf, sizeof buf);
        return bl_fail_at(err, BL_EEXPIRED, dsa->name, -1, -1, "valid_from",
                          "the agreement is not in force until %s", buf);
    }
    return BL_OK;
}

/* ------------------------------------------------------------ signing keys */

static bl_status load_signing_key(const char *path, EVP_PKEY **out, bl_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return bl_fail_at(err, errno == ELOOP ? BL_EKEY : BL_EIO, path, -1, -1, NULL,
                          "cannot open signing key: %s",
                          errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return bl_fail_at(err, BL_EKEY, path, -1, -1, NULL, "signing key is not a regular file");
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return bl_fail_at(err, BL_EKEY, path, -1, -1, NULL,
                          "signing key is accessible by group or others (mode %04o); run chmod 600",
                          (unsigned)(st.st_mode & 07777));
    }
    if (st.st_size <= 0 || st.st_size > SIGNING_KEY_MAX_BYTES) {
        close(fd);
        return bl_fail_at(err, BL_EKEY, path, -1, -1, NULL, "not a signing key (size %lld)",
                          (long long)st.st_size);
    }
    char buf[SIGNING_KEY_MAX_BYTES];
    size_t got = 0, want = (size_t)st.st_size;
    while (got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    bl_status s = BL_OK;
    BIO *bio = got == want ? BIO_new_mem_buf(buf, (int)got) : NULL;
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    bl_wipe(buf, sizeof buf);
    if (got != want)
        s = bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "cannot read signing key");
    else if (!pk || EVP_PKEY_get_id(pk) != EVP_PKEY_ED25519) {
        ERR_clear_error();
        s = bl_fail_at(err, BL_EKEY, path, -1, -1, NULL,
                       "not an Ed25519 private key in PEM (make one with bloomlink dsa keygen)");
    }
    if (s != BL_OK) {
        EVP_PKEY_free(pk);
        return s;
    }
    *out = pk;
    return BL_OK;
}

static bl_status public_hex_of(EVP_PKEY *pk, char *hex, bl_error *err)
{
    uint8_t raw[BL_ED25519_PUBLIC_BYTES];
    size_t n = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(pk, raw, &n) != 1 || n != sizeof raw)
        return bl_fail_openssl(err, "Ed25519 public key");
    bl_hex(raw, sizeof raw, hex);
    return BL_OK;
}

bl_status bl_signing_key_generate(const char *path, int overwrite, char *public_hex, bl_error *err)
{
    if (!path || !*path || !public_hex)
        return bl_fail(err, BL_EMISUSE, "no key file path given");
    if (!overwrite && access(path, F_OK) == 0)
        return bl_fail_at(err, BL_EEXISTS, path, -1, -1, NULL,
                          "signing key exists; refusing to overwrite it");
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!pk)
        return bl_fail_openssl(err, "Ed25519 key generation");
    /* Secure-heap BIO where available, so the PEM text is cleared on free. */
    BIO *bio = BIO_new(BIO_s_secmem());
    bl_status st = BL_OK;
    if (!bio || PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) != 1)
        st = bl_fail_openssl(err, "writing the signing key");
    if (st == BL_OK)
        st = public_hex_of(pk, public_hex, err);
    if (st == BL_OK) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        /* Written through a 0600 temp file: never readable by others. */
        st = bl_write_file_atomic(path, data, (size_t)n, err);
    }
    BIO_free(bio);
    EVP_PKEY_free(pk);
    return st;
}

bl_status bl_signing_key_public(const char *path, char *public_hex, bl_error *err)
{
    EVP_PKEY *pk;
    bl_status st = load_signing_key(path, &pk, err);
    if (st != BL_OK)
        return st;
    st = public_hex_of(pk, public_hex, err);
    EVP_PKEY_free(pk);
    return st;
}

bl_status bl_dsa_sign(bl_dsa *dsa, const char *key_path, int64_t now, bl_error *err)
{
    if (!dsa || !key_path)
        return bl_fail(err, BL_EMISUSE, "no agreement or key");
    EVP_PKEY *pk;
    bl_status st = load_signing_key(key_path, &pk, err);
    if (st != BL_OK)
        return st;
    char pub[2 * BL_ED25519_PUBLIC_BYTES + 1];
    if ((st = public_hex_of(pk, pub, err)) != BL_OK) {
        EVP_PKEY_free(pk);
        return st;
    }
    bl_dsa_party *party = NULL;
    for (size_t i = 0; i < dsa->nparties; i++)
        if (!strcmp(dsa->parties[i].public_hex, pub))
            party = &dsa->parties[i];
    if (!party) {
        EVP_PKEY_free(pk);
        return bl_fail_at(err, BL_EPOLICY, dsa->name, -1, -1, "parties",
                          "this key (public %.16s...) belongs to no party of the agreement", pub);
    }
    uint8_t sig[BL_ED25519_SIGNATURE_BYTES];
    size_t siglen = sizeof sig;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1 &&
             EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)dsa->canonical,
                            strlen(dsa->canonical)) == 1 && siglen == sizeof sig;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    if (!ok)
        return bl_fail_openssl(err, "Ed25519 signing");
    char sighex[2 * BL_ED25519_SIGNATURE_BYTES + 1], when[32];
    bl_hex(sig, sizeof sig, sighex);
    time_t t = (time_t)(now ? now : (int64_t)time(NULL));
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);

    json_t *sigs = json_object_get(dsa->doc, "signatures");
    if (!sigs) {
        sigs = json_array();
        if (!sigs || json_object_set_new(dsa->doc, "signatures", sigs) != 0)
            return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    /* One signature per key: re-signing replaces the old entry. */
    for (size_t i = json_array_size(sigs); i-- > 0;) {
        uint8_t raw[BL_ED25519_PUBLIC_BYTES];
        char h[2 * BL_ED25519_PUBLIC_BYTES + 1];
        const char *ph = get_string(json_array_get(sigs, i), "public_key");
        if (ph && !bl_unhex(ph, raw, sizeof raw)) {
            bl_hex(raw, sizeof raw, h);
            if (!strcmp(h, pub))
                json_array_remove(sigs, i);
        }
    }
    json_t *entry = json_pack("{s:s, s:s, s:s, s:s}", "party", party->name, "public_key", pub,
                              "signature", sighex, "signed_at", when);
    if (!entry || json_array_append_new(sigs, entry) != 0)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    party->state = BL_DSA_SIGNED;
    return BL_OK;
}

bl_status bl_dsa_save(const bl_dsa *dsa, const char *path, bl_error *err)
{
    if (!dsa || !path)
        return bl_fail(err, BL_EMISUSE, "no agreement or path");
    /* Human layout (indented, original key order); the signatures do not
       depend on it because they cover the canonical text. */
    char *text = json_dumps(dsa->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return bl_fail(err, BL_ENOMEM, "out of memory");
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    bl_status st = bl_write_file_atomic(path, withnl, n + 1, err);
    free(withnl);
    return st;
}

bl_status bl_dsa_set_party_key(bl_dsa *dsa, const char *party, const char *public_hex,
                               bl_error *err)
{
    if (!dsa || !party || !public_hex)
        return bl_fail(err, BL_EMISUSE, "no agreement, party or key");
    uint8_t raw[BL_ED25519_PUBLIC_BYTES];
    if (bl_unhex(public_hex, raw, sizeof raw) != 0)
        return bl_fail(err, BL_EINVALID, "a public key is 64 hex digits (bloomlink dsa keygen)");
    json_t *parties = json_object_get(dsa->doc, "parties");
    json_t *entry = NULL;
    for (size_t i = 0; i < json_array_size(parties); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(parties, i), "name")), party))
            entry = json_array_get(parties, i);
    if (!entry)
        return bl_fail_at(err, BL_ENOTFOUND, dsa->name, -1, -1, "parties",
                          "no party called '%s'", party);
    char hex[2 * BL_ED25519_PUBLIC_BYTES + 1];
    bl_hex(raw, sizeof raw, hex);
    /* Rebuild from a modified copy, so a failure leaves dsa as it was. */
    json_t *doc = json_deep_copy(dsa->doc);
    if (!doc)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    json_t *e2 = NULL;
    json_t *p2 = json_object_get(doc, "parties");
    for (size_t i = 0; i < json_array_size(p2); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(p2, i), "name")), party))
            e2 = json_array_get(p2, i);
    json_object_set_new(e2, "public_key", json_string(hex));
    /* The text changed, so every signature is void: drop them rather than
       leave signatures that no longer verify. */
    json_object_del(doc, "signatures");
    char *text = json_dumps(doc, JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!text)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    bl_dsa *fresh = NULL;
    bl_status st = bl_dsa_parse(text, strlen(text), dsa->name, &fresh, err);
    free(text);
    if (st != BL_OK)
        return st;
    /* Swap contents: the caller's handle now holds the new agreement. */
    bl_dsa tmp = *dsa;
    *dsa = *fresh;
    *fresh = tmp;
    bl_dsa_free(fresh);
    return BL_OK;
}
