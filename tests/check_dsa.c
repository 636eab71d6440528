/* check_dsa.c - agreements (parse, canonical text, sign, verify, expiry),
   generalisation rules, and the hash-chained audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/dsa.h"
#include "tests.h"

/* 2025-06-15 12:00 UTC: inside the test agreement's validity. */
#define T_IN_FORCE ((int64_t)1749988800)
/* 2027-01-02: after it expired. */
#define T_EXPIRED ((int64_t)1798891200)
/* 2023-06-01: before it started. */
#define T_EARLY ((int64_t)1685620800)

static const char dsa_template[] =
    "{\"format\": \"bloomlink-dsa/1\", \"project_id\": \"p1\",\n"
    " \"purpose\": \"testing the agreement machinery\",\n"
    " \"_comment\": \"comments are signed too\",\n"
    " \"parties\": [{\"name\": \"alpha\", \"role\": \"controller\", \"public_key\": \"%s\"},\n"
    "              {\"name\": \"beta\", \"role\": \"holder\", \"public_key\": \"%s\"}],\n"
    " \"valid_from\": \"2024-01-01\", \"expires\": \"2026-12-31\", \"retain_until\": \"2027-12-31\",\n"
    " \"pseudonym_scope\": \"project\", \"outputs\": [\"sqlite\"],\n"
    " \"opt_out\": {\"rule\": \"national_data_opt_out\", \"sources\": [\"gp\"]},\n"
    " \"person\": {\"age_reference_date\": \"2024-03-31\"},\n"
    " \"sources\": {\"gp\": {\"date_formats\": [\"%%d/%%m/%%Y\"], \"columns\": {\n"
    "   \"EventDate\": {\"use\": \"event_date\", \"generalise\": \"month\"},\n"
    "   \"Notes\": {\"use\": \"drop\"}}}}}\n";

typedef struct {
    char *dir;
    char key_a[512], key_b[512], key_c[512], dsa[512];
    char pub_a[65], pub_b[65], pub_c[65];
} fixture;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void setup(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    fx->dir = test_tmpdir();
    ck_assert_ptr_nonnull(fx->dir);
    snprintf(fx->key_a, sizeof fx->key_a, "%s/a.key", fx->dir);
    snprintf(fx->key_b, sizeof fx->key_b, "%s/b.key", fx->dir);
    snprintf(fx->key_c, sizeof fx->key_c, "%s/c.key", fx->dir);
    snprintf(fx->dsa, sizeof fx->dsa, "%s/dsa.json", fx->dir);
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_signing_key_generate(fx->key_a, 0, fx->pub_a, &err), BL_OK);
    ck_assert_int_eq(bl_signing_key_generate(fx->key_b, 0, fx->pub_b, &err), BL_OK);
    ck_assert_int_eq(bl_signing_key_generate(fx->key_c, 0, fx->pub_c, &err), BL_OK);
    char text[4096];
    snprintf(text, sizeof text, dsa_template, fx->pub_a, fx->pub_b);
    write_file(fx->dsa, text);
}

static void teardown(fixture *fx)
{
    rm_rf(fx->dir);
    free(fx->dir);
}

static bl_status sign_with(const char *dsa_path, const char *key)
{
    bl_error err;
    bl_error_clear(&err);
    bl_dsa *d = NULL;
    bl_status st = bl_dsa_load(dsa_path, &d, &err);
    if (st == BL_OK)
        st = bl_dsa_sign(d, key, T_IN_FORCE, &err);
    if (st == BL_OK)
        st = bl_dsa_save(d, dsa_path, &err);
    bl_dsa_free(d);
    return st;
}

static bl_status verify_at(const char *dsa_path, int64_t now, bl_error *err)
{
    bl_dsa *d = NULL;
    bl_status st = bl_dsa_load(dsa_path, &d, err);
    if (st == BL_OK)
        st = bl_dsa_verify(d, now, err);
    bl_dsa_free(d);
    return st;
}

START_TEST(test_signing_key_is_owner_only)
{
    fixture fx;
    setup(&fx);
    struct stat st;
    ck_assert_int_eq(stat(fx.key_a, &st), 0);
    ck_assert_int_eq(st.st_mode & 077, 0);
    char pub[65];
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_signing_key_public(fx.key_a, pub, &err), BL_OK);
    ck_assert_str_eq(pub, fx.pub_a);
    /* A group-readable key is refused, and so is overwriting a key. */
    chmod(fx.key_a, 0640);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_signing_key_public(fx.key_a, pub, &err), BL_EKEY);
    ck_assert_ptr_nonnull(strstr(err.text, "chmod 600"));
    bl_error_clear(&err);
    ck_assert_int_eq(bl_signing_key_generate(fx.key_b, 0, pub, &err), BL_EEXISTS);
    /* The file is PEM, and nothing secret is in the public hex. */
    char *pem = read_all(fx.key_b);
    ck_assert_ptr_nonnull(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    free(pem);
    teardown(&fx);
}
END_TEST

START_TEST(test_unsigned_partly_and_fully_signed)
{
    fixture fx;
    setup(&fx);
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(verify_at(fx.dsa, T_IN_FORCE, &err), BL_ESIGNATURE);
    ck_assert_ptr_nonnull(strstr(err.text, "alpha"));

    ck_assert_int_eq(sign_with(fx.dsa, fx.key_a), BL_OK);
    bl_error_clear(&err);
    ck_assert_int_eq(verify_at(fx.dsa, T_IN_FORCE, &err), BL_ESIGNATURE);
    ck_assert_ptr_nonnull(strstr(err.text, "'beta' has not signed"));

    ck_assert_int_eq(sign_with(fx.dsa, fx.key_b), BL_OK);
    bl_error_clear(&err);
    ck_assert_int_eq(verify_at(fx.dsa, T_IN_FORCE, &err), BL_OK);

    /* Signing again replaces the party's entry rather than adding one. */
    ck_assert_int_eq(sign_with(fx.dsa, fx.key_b), BL_OK);
    char *text = read_all(fx.dsa);
    int n = 0;
    for (const char *p = text; (p = strstr(p, "\"signature\"")); p++)
        n++;
    ck_assert_int_eq(n, 2);
    free(text);
    teardown(&fx);
}
END_TEST

START_TEST(test_outsider_cannot_sign)
{
    fixture fx;
    setup(&fx);
    ck_assert_int_eq(sign_with(fx.dsa, fx.key_c), BL_EPOLICY);
    teardown(&fx);
}
END_TEST

static void replace_in_file(const char *path, const char *from, const char *to)
{
    char *t = read_all(path);
    char *p = strstr(t, from);
    ck_assert_ptr_nonnull(p);
    size_t n = strlen(t) + strlen(to) + 1;
    char *o = malloc(n);
    snprintf(o, n, "%.*s%s%s", (int)(p - t), t, to, p + strlen(from));
    write_file(path, o);
    free(o);
    free(t);
}

START_TEST(test_tampered_is_refused)
{
    fixture fx;
    setup(&fx);
    ck_assert_int_eq(sign_with(fx.dsa, fx.key_a), BL_OK);
    ck_assert_int_eq(sign_with(fx.dsa, fx.key_b), BL_OK);
    /* Widen the agreement after signing: allow CSV output too. */
    replace_in_file(fx.dsa, "\"sqlite\"", "\"sqlite\", \"csv\"");
    bl_error err;
    bl_error_clear(&err);
    bl_dsa *d = NULL;
    ck_assert_int_eq(bl_dsa_load(fx.dsa, &d, &err), BL_OK);
    ck_assert_int_eq(bl_dsa_party_signature(d, 0), BL_DSA_BAD_SIGNATURE);
    ck_assert_int_eq(bl_dsa_party_signature(d, 1), BL_DSA_BAD_SIGNATURE);
    ck_assert_int_eq(bl_dsa_verify(d, T_IN_FORCE, &err), BL_ESIGNATURE);
    ck_assert_ptr_nonnull(strstr(err.text, "changed after signing"));
    bl_dsa_free(d);
    teardown(&fx);
}
END_TEST

START_TEST(test_signature_survives_reformatting)
{
    fixture fx;
    setup(&fx);
    ck_assert_int_eq(sign_with(fx.dsa, fx.key_a), BL_OK);
    ck_assert_int_eq(sign_with(fx.dsa, fx.key_b), BL_OK);
    bl_error err;
    bl_error_clear(&err);
    bl_dsa *d = NULL;
    ck_assert_int_eq(bl_dsa_load(fx.dsa, &d, &err), BL_OK);
    char hash[65];
    snprintf(hash, sizeof hash, "%s", bl_dsa_hash(d));
    /* The canonical text has sorted keys, no whitespace, no signatures. */
    const char *canon = bl_dsa_canonical_text(d);
    ck_assert_ptr_null(strstr(canon, "signatures"));
    ck_assert_ptr_null(strchr(canon, '\n'));
    ck_assert(strncmp(canon, "{\"_comment\":", 12) == 0);
    bl_dsa_free(d);
    /* Same content, other layout: still verifies, same hash. */
    char *t = read_all(fx.dsa);
    for (char *p = t; *p; p++)
        if (*p == '\n')
            *p = ' ';
    write_file(fx.dsa, t);
    free(t);
    ck_assert_int_eq(bl_dsa_load(fx.dsa, &d, &err), BL_OK);
    ck_assert_str_eq(bl_dsa_hash(d), hash);
    ck_assert_int_eq(bl_dsa_verify(d, T_IN_FORCE, &err), BL_OK);
    bl_dsa_free(d);
    teardown(&fx);
}
END_TEST

START_TEST(test_expiry)
{
    fixture fx;
    setup(&fx);
    ck_assert_int_eq(sign_with(fx.dsa, fx.key_a), BL_OK);
    ck_assert_int_eq(sign_with(fx.dsa, fx.key_b), BL_OK);
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(verify_at(fx.dsa, T_EXPIRED, &err), BL_EEXPIRED);
    ck_assert_ptr_nonnull(strstr(err.text, "2026-12-31"));
    bl_error_clear(&err);
    ck_assert_int_eq(verify_at(fx.dsa, T_EARLY, &err), BL_EEXPIRED);
    /* The last day is still in force. */
    bl_error_clear(&err);
    ck_assert_int_eq(verify_at(fx.dsa, (int64_t)1798718400 /* 2026-12-31 12:00 */, &err), BL_OK);
    teardown(&fx);
}
END_TEST

static bl_status parse_text(const char *text, bl_error *err)
{
    bl_dsa *d = NULL;
    bl_status st = bl_dsa_parse(text, strlen(text), "t.json", &d, err);
    bl_dsa_free(d);
    return st;
}

START_TEST(test_bad_documents)
{
    char good[4096], bad[4096];
    const char *k = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const char *k2 = "f123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    snprintf(good, sizeof good, dsa_template, k, k2);
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(parse_text(good, &err), BL_OK);
    static const struct {
        const char *from, *to;
        bl_status want;
        const char *field;
    } cases[] = {
        {"\"project_id\": \"p1\"", "\"project_id\": \"p1\", \"surprise\": 1", BL_ESCHEMA, "surprise"},
        {"\"project_id\": \"p1\"", "\"project_id\": \"p1\", \"project_id\": \"p2\"", BL_EPARSE, NULL},
        {"\"person\": {", "\"person\": {\"age_band_width\": 2.5, ", BL_ESCHEMA, "$"},
        {"\"use\": \"drop\"", "\"use\": \"keep\"", BL_ESCHEMA, "sources.gp.columns.Notes"},
        {"\"generalise\": \"month\"", "\"generalise\": \"none\"", BL_ESCHEMA, "sources.gp.columns.EventDate"},
        {"\"expires\": \"2026-12-31\"", "\"expires\": \"2026-02-30\"", BL_ESCHEMA, "expires"},
        {"\"pseudonym_scope\": \"project\"", "\"pseudonym_scope\": \"global\"", BL_ESCHEMA, "pseudonym_scope"},
        {"\"sources\": [\"gp\"]", "\"sources\": [\"housing\"]", BL_ESCHEMA, "opt_out.sources"},
        {"\"outputs\": [\"sqlite\"]", "\"outputs\": [\"xlsx\"]", BL_ESCHEMA, "outputs"},
        {"bloomlink-dsa/1", "bloomlink-dsa/9", BL_ESCHEMA, "format"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = strstr(good, cases[i].from);
        ck_assert_ptr_nonnull(p);
        snprintf(bad, sizeof bad, "%.*s%s%s", (int)(p - good), good, cases[i].to, p + strlen(cases[i].from));
        bl_error_clear(&err);
        ck_assert_msg(parse_text(bad, &err) == cases[i].want, "case %zu: %s", i, err.text);
        if (cases[i].field)
            ck_assert_msg(!strcmp(err.field, cases[i].field), "case %zu: field '%s'", i, err.field);
    }
    /* Two parties with one key. */
    snprintf(bad, sizeof bad, dsa_template, k, k);
    bl_error_clear(&err);
    ck_assert_int_eq(parse_text(bad, &err), BL_ESCHEMA);
}
END_TEST

START_TEST(test_example_agreement_parses)
{
    bl_error err;
    bl_error_clear(&err);
    bl_dsa *d = NULL;
    ck_assert_msg(bl_dsa_load(BL_SRCDIR "/examples/dsa.json", &d, &err) == BL_OK, "%s %s", err.field, err.text);
    ck_assert_str_eq(bl_dsa_project_id(d), "oxon-frailty-2024");
    ck_assert_uint_eq(bl_dsa_party_count(d), 3);
    ck_assert_uint_eq(d->nsources, 4);
    ck_assert_int_eq(bl_dsa_verify(d, 0, &err), BL_ESIGNATURE); /* placeholders, unsigned */
    bl_dsa_free(d);
}
END_TEST

static void gen(const bl_dsa *d, bl_dsa_gen g, long top, const char *in, const char *want)
{
    bl_dsa_column c = {.column = (char *)"x", .use = BL_USE_PERSON, .gen = g, .as = (char *)"x", .top = top};
    char out[64];
    int bad;
    bl_dsa_generalise(d, &d->sources[0], &c, in, out, sizeof out, &bad);
    ck_assert_msg(!strcmp(out, want), "generalise '%s': got '%s', want '%s'", in, out, want);
    ck_assert_int_eq(bad, want[0] == '\0' && in[0] != '\0');
}

START_TEST(test_generalisation)
{
    char text[4096];
    const char *k = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const char *k2 = "f123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    snprintf(text, sizeof text, dsa_template, k, k2);
    bl_error err;
    bl_error_clear(&err);
    bl_dsa *d = NULL;
    ck_assert_int_eq(bl_dsa_parse(text, strlen(text), "t", &d, &err), BL_OK);
    gen(d, BL_GEN_MONTH, 0, "05/03/2021", "2021-03");
    gen(d, BL_GEN_YEAR, 0, "05/03/2021", "2021");
    gen(d, BL_GEN_MONTH, 0, "31/02/2021", "");  /* no such day */
    gen(d, BL_GEN_MONTH, 0, "2021-03-05", "");  /* not this source's format */
    gen(d, BL_GEN_BIRTH_YEAR, 0, "17/07/1950", "1950");
    gen(d, BL_GEN_AGE_BAND, 0, "01/04/1980", "40-49");  /* reference 2024-03-31: age 43 */
    gen(d, BL_GEN_AGE_BAND, 0, "31/03/1974", "50-59");  /* 50 on the reference day */
    gen(d, BL_GEN_AGE_BAND, 0, "01/04/1974", "40-49");  /* one day short of 50 */
    gen(d, BL_GEN_AGE_BAND, 0, "1930", "90+");
    gen(d, BL_GEN_AGE_BAND, 0, "01/01/2030", "");      /* born after the reference date */
    gen(d, BL_GEN_OUTWARD, 0, "ox4 1ab", "OX4");
    gen(d, BL_GEN_OUTWARD, 0, "SW1A1AA", "SW1A");
    gen(d, BL_GEN_OUTWARD, 0, "OX4", "OX4");
    gen(d, BL_GEN_AREA, 0, "SW1A 1AA", "SW");
    gen(d, BL_GEN_OUTWARD, 0, "not a postcode", "");
    gen(d, BL_GEN_SEX, 0, "female", "F");
    gen(d, BL_GEN_SEX, 0, "1", "M");
    gen(d, BL_GEN_SEX, 0, "9", "U");
    gen(d, BL_GEN_TOP_CODE, 5, "3", "3");
    gen(d, BL_GEN_TOP_CODE, 5, "11", "5+");
    gen(d, BL_GEN_TOP_CODE, 5, "many", "");
    gen(d, BL_GEN_NONE, 0, "  E1  ", "E1");
    gen(d, BL_GEN_BROAD, 0, "Asian or Asian British - Bangladeshi", "Asian or Asian British");
    gen(d, BL_GEN_BROAD, 0, "Other", "Other");
    bl_dsa_free(d);
}
END_TEST

/* ------------------------------------------------------------- audit log */

static char *log_line(const char *path, int n)
{
    char *t = read_all(path);
    char *p = t;
    for (int i = 1; i < n; i++)
        p = strchr(p, '\n') + 1;
    char *e = strchr(p, '\n');
    char *line = strndup(p, (size_t)(e - p + 1));
    free(t);
    return line;
}

START_TEST(test_audit_chain)
{
    char *dir = test_tmpdir();
    char log[512];
    snprintf(log, sizeof log, "%s/audit.log", dir);
    bl_error err;
    bl_error_clear(&err);
    char h[3][65];
    for (int i = 0; i < 3; i++) {
        char details[64];
        snprintf(details, sizeof details, "{\"rows\": %d}", 10 * (i + 1));
        ck_assert_int_eq(bl_audit_append(log, "tester", "emit", details, T_IN_FORCE + i, h[i], &err), BL_OK);
    }
    uint64_t n = 0;
    char head[65];
    ck_assert_int_eq(bl_audit_verify(log, NULL, &n, head, &err), BL_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(head, h[2]);
    ck_assert_int_eq(bl_audit_verify(log, h[2], NULL, NULL, &err), BL_OK);
    char *orig = read_all(log);
    char *l1 = log_line(log, 1), *l2 = log_line(log, 2), *l3 = log_line(log, 3);
    ck_assert_ptr_nonnull(strstr(l2, "\"prev\":\""));
    ck_assert_ptr_nonnull(strstr(l2, h[0]));

    /* Edited: a count changed. */
    replace_in_file(log, "\"rows\":20", "\"rows\":25");
    bl_error_clear(&err);
    ck_assert_int_eq(bl_audit_verify(log, NULL, NULL, NULL, &err), BL_ECHECKSUM);
    ck_assert_int_eq(err.line, 2);
    /* Edited and re-hashed (anyone can compute SHA-256): the next entry's
       "prev" no longer matches. */
    {
        json_error_t je;
        json_t *e = json_loads(l2, 0, &je);
        json_object_set_new(json_object_get(e, "details"), "rows", json_integer(25));
        json_object_del(e, "hash");
        char *c = bl_json_canonical(e), hx[65];
        ck_assert_int_eq(bl_sha256_hex(c, strlen(c), hx, &err), BL_OK);
        free(c);
        json_object_set_new(e, "hash", json_string(hx));
        c = bl_json_canonical(e);
        char all[8192];
        snprintf(all, sizeof all, "%s%s\n%s", l1, c, l3);
        write_file(log, all);
        free(c);
        json_decref(e);
        bl_error_clear(&err);
        ck_assert_int_eq(bl_audit_verify(log, NULL, NULL, NULL, &err), BL_ECHECKSUM);
        ck_assert_int_eq(err.line, 3);
    }
    /* Removed from the middle. */
    char buf[8192];
    snprintf(buf, sizeof buf, "%s%s", l1, l3);
    write_file(log, buf);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_audit_verify(log, NULL, NULL, NULL, &err), BL_ECHECKSUM);
    /* Reordered. */
    snprintf(buf, sizeof buf, "%s%s%s", l2, l1, l3);
    write_file(log, buf);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_audit_verify(log, NULL, NULL, NULL, &err), BL_ECHECKSUM);
    /* Removed from the end: the chain alone is fine, the recorded head is not. */
    snprintf(buf, sizeof buf, "%s%s", l1, l2);
    write_file(log, buf);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_audit_verify(log, NULL, NULL, NULL, &err), BL_OK);
    ck_assert_int_eq(bl_audit_verify(log, h[2], NULL, NULL, &err), BL_ECHECKSUM);
    /* Whitespace added to an entry: not canonical any more. */
    write_file(log, orig);
    replace_in_file(log, "{\"actor\"", "{ \"actor\"");
    bl_error_clear(&err);
    ck_assert_int_eq(bl_audit_verify(log, NULL, NULL, NULL, &err), BL_ECHECKSUM);
    /* A broken log is never extended. */
    bl_error_clear(&err);
    ck_assert_int_eq(bl_audit_append(log, "tester", "emit", NULL, 0, NULL, &err), BL_ECHECKSUM);
    /* Truncated mid-line. */
    write_file(log, orig);
    orig[strlen(orig) - 10] = '\0';
    write_file(log, orig);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_audit_verify(log, NULL, NULL, NULL, &err), BL_ECHECKSUM);
    free(l1);
    free(l2);
    free(l3);
    free(orig);
    rm_rf(dir);
    free(dir);
}
END_TEST

Suite *suite_dsa(void)
{
    Suite *s = suite_create("dsa");
    TCase *tc = tcase_create("agreement");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_signing_key_is_owner_only);
    tcase_add_test(tc, test_unsigned_partly_and_fully_signed);
    tcase_add_test(tc, test_outsider_cannot_sign);
    tcase_add_test(tc, test_tampered_is_refused);
    tcase_add_test(tc, test_signature_survives_reformatting);
    tcase_add_test(tc, test_expiry);
    tcase_add_test(tc, test_bad_documents);
    tcase_add_test(tc, test_example_agreement_parses);
    tcase_add_test(tc, test_generalisation);
    suite_add_tcase(s, tc);
    TCase *ta = tcase_create("audit");
    tcase_add_test(ta, test_audit_chain);
    suite_add_tcase(s, ta);
    return s;
}
