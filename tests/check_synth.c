/* check_synth.c - the synthetic-data generator: deterministic, complete truth,
   unique ids, valid NHS numbers except the deliberately corrupted few, dates in
   the profiles' formats, CSV that the reader accepts, profiles the parser
   accepts.  Populations are small (2,000 people) to keep the suite fast. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "synth.h"
#include "tests.h"

#define PEOPLE 2000

static const char *const sources[4] = {"gp", "social_care", "housing", "education"};
static const char *const files[] = {"gp.csv", "social_care.csv", "housing.csv", "education.csv",
                                    "truth.csv", "optout.csv", "schema.json",
                                    "gp.profile.json", "social_care.profile.json",
                                    "housing.profile.json", "education.profile.json",
                                    "README.txt"};
#define NFILES (sizeof files / sizeof files[0])

static char *generate(uint64_t seed, double rate)
{
    char *dir = test_tmpdir();
    ck_assert_ptr_nonnull(dir);
    bl_synth_options opt;
    bl_synth_options_default(&opt);
    opt.people = PEOPLE;
    opt.seed = seed;
    opt.error_rate = rate;
    bl_error err;
    bl_error_clear(&err);
    bl_status st = bl_synth_write(&opt, dir, NULL, NULL, &err);
    ck_assert_msg(st == BL_OK, "bl_synth_write: %s", err.text);
    return dir;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* A whole CSV file read through the library's reader. */
typedef struct table {
    size_t ncols, nrows;
    char **header;
    char ***rows;
} table;

static table read_table(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    bl_csv_reader *r;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_msg(bl_csv_open(path, ',', 0, &r, &err) == BL_OK, "%s: %s", name, err.text);
    table t = {0, 0, NULL, NULL};
    size_t cap = 0;
    for (;;) {
        char **f;
        size_t n;
        bl_status st = bl_csv_next(r, &f, &n, &err);
        ck_assert_msg(st == BL_OK, "%s line %ld: %s", name, err.line, err.text);
        if (!f)
            break;
        char **copy = calloc(n, sizeof *copy);
        ck_assert_ptr_nonnull(copy);
        for (size_t i = 0; i < n; i++)
            copy[i] = strdup(f[i]);
        if (!t.header) {
            t.header = copy;
            t.ncols = n;
            continue;
        }
        ck_assert_msg(n == t.ncols, "%s row %zu: %zu fields, header has %zu", name, t.nrows + 1,
                      n, t.ncols);
        if (t.nrows == cap) {
            cap = cap ? cap * 2 : 256;
            t.rows = realloc(t.rows, cap * sizeof *t.rows);
            ck_assert_ptr_nonnull(t.rows);
        }
        t.rows[t.nrows++] = copy;
    }
    bl_csv_close(r);
    return t;
}

static int col_of(const table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (!strcmp(t->header[i], name))
            return (int)i;
    ck_abort_msg("no column %s", name);
    return -1;
}

static void free_table(table *t)
{
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t i = 0; i < t->ncols; i++)
            free(t->rows[r][i]);
        free(t->rows[r]);
    }
    for (size_t i = 0; i < t->ncols; i++)
        free(t->header[i]);
    free(t->header);
    free(t->rows);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Mod 11, written independently of the library's checker. */
static int nhs_ok(const char *s)
{
    char d[16];
    size_t n = 0;
    for (; *s; s++) {
        if (*s == ' ' || *s == '-')
            continue;
        if (*s < '0' || *s > '9' || n >= 10)
            return 0;
        d[n++] = *s;
    }
    if (n != 10)
        return 0;
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (d[i] - '0') * (10 - i);
    int c = 11 - sum % 11;
    if (c == 11)
        c = 0;
    return c != 10 && c == d[9] - '0';
}

START_TEST(same_seed_same_bytes)
{
    char *a = generate(42, 1.0), *b = generate(42, 1.0), *c = generate(43, 1.0);
    for (size_t i = 0; i < NFILES; i++) {
        size_t la, lb;
        char *x = slurp(a, files[i], &la), *y = slurp(b, files[i], &lb);
        ck_assert_msg(la == lb && !memcmp(x, y, la), "%s differs between runs", files[i]);
        free(x);
        free(y);
    }
    for (int i = 0; i < 4; i++) {
        size_t la, lc;
        char *x = slurp(a, files[i], &la), *z = slurp(c, files[i], &lc);
        ck_assert_msg(la != lc || memcmp(x, z, la), "%s identical for different seeds", files[i]);
        free(x);
        free(z);
    }
    rm_rf(a);
    rm_rf(b);
    rm_rf(c);
    free(a);
    free(b);
    free(c);
}
END_TEST

START_TEST(truth_covers_every_row_once)
{
    static const char *const id_col[4] = {"PatientID", "ClientRef", "TenancyRef", "UPN"};
    char *dir = generate(7, 1.0);
    table truth = read_table(dir, "truth.csv");
    ck_assert_uint_eq(truth.ncols, 3);
    ck_assert_str_eq(truth.header[0], "source");
    ck_assert_str_eq(truth.header[1], "record_id");
    ck_assert_str_eq(truth.header[2], "person_id");
    size_t total = 0;
    for (int s = 0; s < 4; s++) {
        char name[64];
        snprintf(name, sizeof name, "%s.csv", sources[s]);
        table t = read_table(dir, name);
        ck_assert_msg(t.nrows > 0, "%s is empty", name);
        int ic = col_of(&t, id_col[s]);
        /* Record ids: unique within the source, and exactly the truth's ids. */
        char **ids = malloc(t.nrows * sizeof *ids), **tids = malloc(truth.nrows * sizeof *tids);
        size_t nt = 0;
        for (size_t r = 0; r < t.nrows; r++)
            ids[r] = t.rows[r][ic];
        for (size_t r = 0; r < truth.nrows; r++)
            if (!strcmp(truth.rows[r][0], sources[s]))
                tids[nt++] = truth.rows[r][1];
        qsort(ids, t.nrows, sizeof *ids, cmp_str);
        qsort(tids, nt, sizeof *tids, cmp_str);
        for (size_t r = 1; r < t.nrows; r++)
            ck_assert_msg(strcmp(ids[r - 1], ids[r]), "%s: record id %s twice", name, ids[r]);
        ck_assert_msg(nt == t.nrows, "%s: %zu rows, truth lists %zu", name, t.nrows, nt);
        for (size_t r = 0; r < nt; r++)
            ck_assert_msg(!strcmp(ids[r], tids[r]), "%s: truth and extract disagree at %s/%s",
                          name, ids[r], tids[r]);
        total += t.nrows;
        free(ids);
        free(tids);
        free_table(&t);
    }
    ck_assert_uint_eq(total, truth.nrows);
    /* Every person id is one of the population's. */
    for (size_t r = 0; r < truth.nrows; r++) {
        const char *p = truth.rows[r][2];
        ck_assert_msg(p[0] == 'P' && strtoul(p + 1, NULL, 10) >= 1 &&
                          strtoul(p + 1, NULL, 10) <= PEOPLE,
                      "bad person id %s", p);
    }
    free_table(&truth);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* Share of present GP NHS numbers that fail mod 11: small but not zero at the
   default error rate, zero (and none missing) with errors switched off. */
static void gp_nhs_rates(const char *dir, size_t *present, size_t *invalid, size_t *rows)
{
    table t = read_table(dir, "gp.csv");
    int c = col_of(&t, "NHSNumber");
    *present = *invalid = 0;
    *rows = t.nrows;
    for (size_t r = 0; r < t.nrows; r++) {
        const char *v = t.rows[r][c];
        if (!*v)
            continue;
        (*present)++;
        *invalid += !nhs_ok(v);
    }
    free_table(&t);
}

START_TEST(gp_nhs_numbers_valid_unless_corrupted)
{
    char *dir = generate(11, 1.0);
    size_t present, invalid, rows;
    gp_nhs_rates(dir, &present, &invalid, &rows);
    ck_assert_msg(present > rows * 90 / 100, "only %zu of %zu NHS numbers present", present, rows);
    ck_assert_msg(invalid > 0, "no invalid NHS numbers at error rate 1");
    ck_assert_msg(invalid * 100 < present * 2, "%zu of %zu NHS numbers invalid", invalid, present);
    rm_rf(dir);
    free(dir);

    dir = generate(11, 0.0);
    gp_nhs_rates(dir, &present, &invalid, &rows);
    ck_assert_uint_eq(invalid, 0);
    ck_assert_uint_eq(present, rows);
    /* The opt-out list holds valid numbers of about 5% of people. */
    table o = read_table(dir, "optout.csv");
    ck_assert_str_eq(o.header[0], "nhs_number");
    ck_assert_msg(o.nrows > PEOPLE / 50 && o.nrows < PEOPLE / 10, "%zu opt-outs", o.nrows);
    for (size_t r = 0; r < o.nrows; r++)
        ck_assert_msg(nhs_ok(o.rows[r][0]) && strlen(o.rows[r][0]) == 10, "bad opt-out %s",
                      o.rows[r][0]);
    free_table(&o);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(nhs_check_digit)
{
    /* 943 476 5919 is the NHS data dictionary's example. */
    ck_assert_int_eq(synth_nhs_check_digit("943476591"), 9);
    ck_assert_int_eq(nhs_ok("943 476 5919"), 1);
    ck_assert_int_eq(nhs_ok("943 476 5918"), 0);
}
END_TEST

static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A strict reading of the three formats the profiles use (%b case-insensitive,
   as strptime reads it); calendar-checked.  1 if s is a real date in fmt. */
static int date_in_format(const char *s, const char *fmt)
{
    int y = 0, m = 0, d = 0;
    char mon[4] = "";
    size_t n = strlen(s);
    int ok = 0;
    if (!strcmp(fmt, "%d/%m/%Y"))
        ok = n == 10 && sscanf(s, "%2d/%2d/%4d", &d, &m, &y) == 3 && s[2] == '/' && s[5] == '/';
    else if (!strcmp(fmt, "%Y-%m-%d"))
        ok = n == 10 && sscanf(s, "%4d-%2d-%2d", &y, &m, &d) == 3 && s[4] == '-' && s[7] == '-';
    else if (!strcmp(fmt, "%d-%b-%Y")) {
        ok = n == 11 && sscanf(s, "%2d-%3c-%4d", &d, mon, &y) == 3 && s[2] == '-' && s[6] == '-';
        m = 0;
        for (int i = 0; i < 12 && ok; i++)
            if (!strncasecmp(mon, months[i], 3))
                m = i + 1;
    }
    if (!ok || m < 1 || m > 12 || d < 1 || y < 1850)
        return 0;
    static const int dm[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d > dm[m - 1])
        return 0;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    return 1;
}

/* Reads each source's profile (jansson), checks its keys and that every
   column it names exists, and counts dates outside the profile's formats. */
static void check_profiles(const char *dir, double max_bad_dates)
{
    for (int s = 0; s < 4; s++) {
        char name[64], path[4096];
        snprintf(name, sizeof name, "%s.profile.json", sources[s]);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        json_error_t je;
        json_t *p = json_load_file(path, 0, &je);
        ck_assert_msg(p != NULL, "%s: %s (line %d)", name, je.text, je.line);
        ck_assert_str_eq(json_string_value(json_object_get(p, "source")), sources[s]);
        const char *rid = json_string_value(json_object_get(p, "record_id"));
        ck_assert_ptr_nonnull(rid);
        json_t *csv = json_object_get(p, "csv");
        ck_assert_str_eq(json_string_value(json_object_get(csv, "separator")), ",");
        ck_assert(json_is_false(json_object_get(csv, "skip_initial_space")));
        json_t *fields = json_object_get(p, "fields");
        ck_assert(json_is_object(fields));
        json_t *content = json_object_get(p, "content");
        ck_assert(json_is_array(content));

        snprintf(name, sizeof name, "%s.csv", sources[s]);
        table t = read_table(dir, name);
        col_of(&t, rid);
        const char *key;
        json_t *v;
        json_object_foreach(fields, key, v) {
            static const char *const known[] = {"given_name", "family_name", "dob", "sex",
                                                "postcode", "nhs_number"};
            int k = 0;
            for (size_t i = 0; i < 6; i++)
                k |= !strcmp(key, known[i]);
            ck_assert_msg(k, "%s: unknown schema field %s", name, key);
            col_of(&t, json_string_value(json_object_get(v, "column")));
        }
        /* Names come from separate columns or one full-name column. */
        json_t *full = json_object_get(p, "full_name");
        if (full) {
            col_of(&t, json_string_value(json_object_get(full, "column")));
            ck_assert_str_eq(json_string_value(json_object_get(full, "given")), "given_name");
            ck_assert_str_eq(json_string_value(json_object_get(full, "family")), "family_name");
        } else {
            ck_assert_ptr_nonnull(json_object_get(fields, "given_name"));
            ck_assert_ptr_nonnull(json_object_get(fields, "family_name"));
        }
        ck_assert_msg((json_object_get(fields, "nhs_number") != NULL) == (s < 2),
                      "%s: only gp and social care have NHS numbers", name);
        size_t ci;
        json_array_foreach(content, ci, v) col_of(&t, json_string_value(v));
        ck_assert_str_eq(json_string_value(json_array_get(content, 0)), "EventDate");
        ck_assert_str_eq(json_string_value(json_array_get(content, 1)), "EventType");

        /* Birth dates: every present one in a listed format, except the
           deliberately invalid or future few; event dates all valid. */
        json_t *dob = json_object_get(fields, "dob");
        json_t *formats = json_object_get(dob, "formats");
        int dc = col_of(&t, json_string_value(json_object_get(dob, "column")));
        int ec = col_of(&t, "EventDate");
        size_t bad = 0, present = 0;
        for (size_t r = 0; r < t.nrows; r++) {
            const char *val = t.rows[r][dc];
            int ok = 0, eok = 0;
            size_t fi;
            json_t *f;
            json_array_foreach(formats, fi, f) {
                ok |= date_in_format(val, json_string_value(f));
                eok |= date_in_format(t.rows[r][ec], json_string_value(f));
            }
            ck_assert_msg(eok, "%s: event date '%s' not in the profile's formats", name,
                          t.rows[r][ec]);
            if (!*val)
                continue;
            present++;
            bad += !ok;
        }
        ck_assert_msg((double)bad <= max_bad_dates * (double)present,
                      "%s: %zu of %zu birth dates outside %s", name, bad, present,
                      json_dumps(formats, JSON_COMPACT));
        free_table(&t);
        json_decref(p);
    }
}

START_TEST(profiles_and_date_formats)
{
    char *dir = generate(5, 0.0);
    check_profiles(dir, 0.0);
    rm_rf(dir);
    free(dir);
    dir = generate(5, 1.0);
    check_profiles(dir, 0.02);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(profiles_parse_against_default_schema)
{
    char *dir = generate(3, 1.0);
    bl_schema *schema;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_msg(bl_schema_default(&schema, &err) == BL_OK, "%s", err.text);
    for (int s = 0; s < 4; s++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.profile.json", dir, sources[s]);
        bl_profile *p;
        ck_assert_msg(bl_profile_load(path, schema, &p, &err) == BL_OK, "%s: %s", path, err.text);
        ck_assert_str_eq(bl_profile_source(p), sources[s]);
        bl_profile_free(p);
    }
    bl_schema_free(schema);
    /* schema.json is the default schema, byte for byte. */
    size_t len;
    char *text = slurp(dir, "schema.json", &len);
    ck_assert_str_eq(text, bl_schema_default_json());
    free(text);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* The Notes column names people (so leaks are detectable downstream) and
   holds commas, quotes and line breaks (so CSV quoting is exercised). */
START_TEST(notes_name_people_and_need_quoting)
{
    char *dir = generate(9, 1.0);
    table t = read_table(dir, "gp.csv");
    int nc = col_of(&t, "Notes"), sc = col_of(&t, "Surname");
    size_t named = 0, newline = 0, quote = 0;
    for (size_t r = 0; r < t.nrows; r++) {
        const char *n = t.rows[r][nc];
        named += *t.rows[r][sc] && strstr(n, t.rows[r][sc]) != NULL;
        newline += strchr(n, '\n') != NULL;
        quote += strchr(n, '"') != NULL;
    }
    ck_assert_msg(named > 20, "only %zu notes name the patient", named);
    ck_assert(newline > 0);
    ck_assert(quote > 0);
    free_table(&t);
    /* Full names with commas ("SURNAME, Given") in social care. */
    t = read_table(dir, "social_care.csv");
    int fc = col_of(&t, "ClientName");
    size_t comma = 0;
    for (size_t r = 0; r < t.nrows; r++)
        comma += strchr(t.rows[r][fc], ',') != NULL;
    ck_assert_msg(comma > t.nrows / 3, "%zu of %zu full names in SURNAME, Given form", comma,
                  t.nrows);
    free_table(&t);
    rm_rf(dir);
    free(dir);
}
END_TEST

static int cancel_at_1000(void *user, const char *what, uint64_t done, uint64_t total)
{
    (void)what;
    (void)total;
    int *calls = user;
    (*calls)++;
    return done >= 1000;
}

START_TEST(bad_arguments_and_cancel)
{
    bl_synth_options opt;
    bl_synth_options_default(&opt);
    ck_assert_uint_eq(opt.people, 20000);
    ck_assert_uint_eq(opt.seed, 1);
    ck_assert(opt.error_rate == 1.0);
    bl_error err;
    bl_error_clear(&err);
    char *dir = test_tmpdir();
    opt.people = 0;
    ck_assert_int_eq(bl_synth_write(&opt, dir, NULL, NULL, &err), BL_EMISUSE);
    bl_error_clear(&err);
    opt.people = PEOPLE;
    opt.error_rate = -1;
    ck_assert_int_eq(bl_synth_write(&opt, dir, NULL, NULL, &err), BL_EMISUSE);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_synth_write(NULL, dir, NULL, NULL, &err), BL_EMISUSE);
    /* Cancelling leaves no output behind. */
    opt.error_rate = 1;
    int calls = 0;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_synth_write(&opt, dir, cancel_at_1000, &calls, &err), BL_ECANCELLED);
    ck_assert_int_eq(calls, 1);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int entries = 0;
    while ((de = readdir(d)))
        entries += de->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(entries, 0);
    rm_rf(dir);
    free(dir);
}
END_TEST

Suite *suite_synth(void)
{
    Suite *s = suite_create("synth");
    TCase *tc = tcase_create("synth");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, same_seed_same_bytes);
    tcase_add_test(tc, truth_covers_every_row_once);
    tcase_add_test(tc, gp_nhs_numbers_valid_unless_corrupted);
    tcase_add_test(tc, nhs_check_digit);
    tcase_add_test(tc, profiles_and_date_formats);
    tcase_add_test(tc, profiles_parse_against_default_schema);
    tcase_add_test(tc, notes_name_people_and_need_quoting);
    tcase_add_test(tc, bad_arguments_and_cancel);
    suite_add_tcase(s, tc);
    return s;
}
