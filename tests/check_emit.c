/* check_emit.c - the emitter: refusals, minimisation, opt-out, pseudonym
   scope, crash safety, aggregates with suppression. */
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/dsa.h"
#include "../lib/suppress.h"
#include "tests.h"

#define T_IN_FORCE ((int64_t)1749988800) /* 2025-06-15 */
#define T_EXPIRED ((int64_t)1798891200)  /* 2027-01-02 */
#define NPEOPLE 60

static const char dsa_template[] =
    "{\"format\": \"bloomlink-dsa/1\", \"project_id\": \"%s\",%s\n"
    " \"purpose\": \"testing the emitter end to end\",\n"
    " \"parties\": [{\"name\": \"controller\", \"public_key\": \"%s\"},\n"
    "              {\"name\": \"holders\", \"public_key\": \"%s\"}],\n"
    " \"valid_from\": \"2024-01-01\", \"expires\": \"2026-12-31\", \"retain_until\": \"2027-12-31\",\n"
    " \"pseudonym_scope\": \"project\", \"outputs\": [%s],\n"
    " \"opt_out\": {\"rule\": \"national_data_opt_out\", \"sources\": [\"gp\"]},\n"
    " \"person\": {\"age_reference_date\": \"2024-03-31\"},\n"
    " \"sources\": {\n"
    "  \"gp\": {\"date_formats\": [\"%%d/%%m/%%Y\"], \"columns\": {\n"
    "   \"EventDate\": {\"use\": \"event_date\", \"generalise\": \"month\"},\n"
    "   \"EventType\": {\"use\": \"event_type\"},\n"
    "   \"LTCCount\": {\"use\": \"event\", \"as\": \"ltc_count\", \"generalise\": \"top_code\", \"top\": 5},\n"
    "   \"Sex\": {\"use\": \"person\", \"as\": \"sex\", \"generalise\": \"sex\"},\n"
    "   \"BirthYear\": {\"use\": \"person\", \"as\": \"age_band\", \"generalise\": \"age_band\"},\n"
    "   \"Notes\": {\"use\": \"drop\"}}},\n"
    "  \"housing\": {\"date_formats\": [\"%%Y-%%m-%%d\"], \"columns\": {\n"
    "   \"EventDate\": {\"use\": \"event_date\", \"generalise\": \"month\"},\n"
    "   \"EventType\": {\"use\": \"event_type\"},\n"
    "   \"Tenure\": {\"use\": \"event\", \"as\": \"tenure\"},\n"
    "   \"Notes\": {\"use\": \"drop\"}}}}}\n";

typedef struct {
    char *dir;
    char key_a[512], key_b[512], pkey[512], pkey2[512];
    char pub_a[65], pub_b[65];
    char linkmap[512], gp[512], housing[512], optout[512], log[512];
} fixture;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *read_all(const char *path, size_t *len)
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
    if (len)
        *len = (size_t)n;
    return b;
}

static int contains_bytes(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(hay + i, needle, k))
            return 1;
    return 0;
}

static void token_of(int source, int person, char *out33)
{
    snprintf(out33, 33, "%08x%08xdeadbeef%08x", 0xa0 + source, person, 0x5eed + person);
}

static char *path_in(const fixture *fx, const char *name)
{
    size_t n = strlen(fx->dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", fx->dir, name);
    return p;
}

/* An agreement signed by the parties named in `signers` ("ab", "a", ""). */
static char *make_dsa_extra(fixture *fx, const char *name, const char *project, const char *outputs,
                            const char *signers, const char *extra)
{
    char text[8192];
    snprintf(text, sizeof text, dsa_template, project, extra, fx->pub_a, fx->pub_b, outputs);
    char *path = path_in(fx, name);
    write_file(path, text);
    bl_error err;
    bl_error_clear(&err);
    for (const char *s = signers; *s; s++) {
        bl_dsa *d = NULL;
        ck_assert_int_eq(bl_dsa_load(path, &d, &err), BL_OK);
        ck_assert_int_eq(bl_dsa_sign(d, *s == 'a' ? fx->key_a : fx->key_b, T_IN_FORCE, &err), BL_OK);
        ck_assert_int_eq(bl_dsa_save(d, path, &err), BL_OK);
        bl_dsa_free(d);
    }
    return path;
}

static char *make_dsa(fixture *fx, const char *name, const char *project, const char *outputs,
                      const char *signers)
{
    return make_dsa_extra(fx, name, project, outputs, signers, "");
}

static void setup(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    fx->dir = test_tmpdir();
    ck_assert_ptr_nonnull(fx->dir);
    snprintf(fx->key_a, sizeof fx->key_a, "%s/a.key", fx->dir);
    snprintf(fx->key_b, sizeof fx->key_b, "%s/b.key", fx->dir);
    snprintf(fx->pkey, sizeof fx->pkey, "%s/project.key", fx->dir);
    snprintf(fx->pkey2, sizeof fx->pkey2, "%s/project2.key", fx->dir);
    snprintf(fx->linkmap, sizeof fx->linkmap, "%s/links.csv", fx->dir);
    snprintf(fx->gp, sizeof fx->gp, "%s/gp_content.csv", fx->dir);
    snprintf(fx->housing, sizeof fx->housing, "%s/housing_content.csv", fx->dir);
    snprintf(fx->optout, sizeof fx->optout, "%s/optout_gp.csv", fx->dir);
    snprintf(fx->log, sizeof fx->log, "%s/audit.log", fx->dir);
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_signing_key_generate(fx->key_a, 0, fx->pub_a, &err), BL_OK);
    ck_assert_int_eq(bl_signing_key_generate(fx->key_b, 0, fx->pub_b, &err), BL_OK);
    ck_assert_int_eq(bl_key_generate_file(fx->pkey, 0, &err), BL_OK);
    ck_assert_int_eq(bl_key_generate_file(fx->pkey2, 0, &err), BL_OK);

    /* Everyone is in gp; every third person is in housing too. */
    FILE *lm = fopen(fx->linkmap, "w"), *gp = fopen(fx->gp, "w"), *ho = fopen(fx->housing, "w");
    fprintf(lm, "source,record_token,entity_id,match_probability,review\n");
    fprintf(gp, "record_token,EventDate,EventType,LTCCount,Sex,BirthYear,Notes,Secret\n");
    fprintf(ho, "record_token,EventDate,EventType,Tenure,Notes\n");
    for (int i = 0; i < NPEOPLE; i++) {
        char t[33];
        token_of(0, i, t);
        fprintf(lm, "gp,%s,ent-%d,0.99,\n", t, i);
        fprintf(gp, "%s,%02d/03/2021,consultation,%d,%s,%d,\"NOTE-SECRET, person %d\",UNDECLARED-%d\n", t,
                1 + i % 28, i % 9, i % 2 ? "F" : "M", 1940 + i % 60, i, i);
        fprintf(gp, "%s,15/0%d/2022,prescription,%d,%s,%d,NOTE-SECRET,UNDECLARED-%d\n", t, 1 + i % 9,
                i % 9, i % 2 ? "F" : "M", 1940 + i % 60, i);
        if (i % 3 == 0) {
            token_of(1, i, t);
            fprintf(lm, "housing,%s,ent-%d,0.95,\n", t, i);
            fprintf(ho, "%s,2020-0%d-10,tenancy_start,council,NOTE-SECRET\n", t, 1 + i % 9);
        }
    }
    fclose(lm);
    fclose(gp);
    fclose(ho);
    /* Persons 0 and 3 opted out (3 is also in housing, which has no NHS number). */
    char t0[33], t3[33], buf[256];
    token_of(0, 0, t0);
    token_of(0, 3, t3);
    snprintf(buf, sizeof buf, "source,record_token\ngp,%s\ngp,%s\n", t0, t3);
    write_file(fx->optout, buf);
}

static void teardown(fixture *fx)
{
    rm_rf(fx->dir);
    free(fx->dir);
}

static void base_options(fixture *fx, bl_emit_options *opt, bl_emit_input content[2],
                         bl_emit_input optout[1], const char *dsa, const char *out)
{
    bl_emit_options_default(opt);
    content[0] = (bl_emit_input){"gp", fx->gp};
    content[1] = (bl_emit_input){"housing", fx->housing};
    optout[0] = (bl_emit_input){"gp", fx->optout};
    opt->dsa_path = dsa;
    opt->project_key_path = fx->pkey;
    opt->linkmap_path = fx->linkmap;
    opt->content = content;
    opt->content_count = 2;
    opt->optout = optout;
    opt->optout_count = 1;
    opt->out_path = out;
    opt->audit_log_path = fx->log;
    opt->actor = "tester";
    opt->now = T_IN_FORCE;
}

static int64_t q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    int64_t v = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int dir_has_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)))
            found = 1;
    if (d)
        closedir(d);
    return found;
}

START_TEST(test_emit_sqlite)
{
    fixture fx;
    setup(&fx);
    char *dsa = make_dsa(&fx, "dsa.json", "p1", "\"sqlite\", \"csv\", \"aggregate\"", "ab");
    char *out = path_in(&fx, "dataset.sqlite");
    bl_emit_options opt;
    bl_emit_input content[2], optout[1];
    base_options(&fx, &opt, content, optout, dsa, out);
    bl_emit_result res;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_msg(bl_emit(&opt, &res, &err) == BL_OK, "%s", err.text);
    ck_assert_uint_eq(res.persons, NPEOPLE - 2);
    ck_assert_uint_eq(res.optout_persons, 2);
    ck_assert_uint_eq(res.optout_records, 4);   /* 2 gp records + both people's housing records */
    ck_assert_uint_eq(res.optout_events, 6);    /* 2 x 2 gp events + 2 housing events */
    ck_assert_uint_eq(res.undeclared_columns, 1);
    ck_assert_uint_eq(res.events, (NPEOPLE - 2) * 2 + (NPEOPLE / 3 - 2));
    ck_assert_ptr_nonnull(res.report_json);
    ck_assert_ptr_nonnull(strstr(res.report_json, "\"Secret\""));
    ck_assert_ptr_nonnull(strstr(res.report_json, "opt_out_mix"));

    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(out, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM person"), NPEOPLE - 2);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM person WHERE in_gp AND in_housing"), NPEOPLE / 3 - 2);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM person WHERE sources = 'gp+housing'"), NPEOPLE / 3 - 2);
    /* Disallowed columns never appear: Notes (dropped), Secret (undeclared). */
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM pragma_table_info('event') WHERE lower(name) IN ('notes', 'secret')"), 0);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM pragma_table_info('person') WHERE lower(name) IN ('notes', 'secret', 'birthyear')"), 0);
    /* Generalised: months, age bands, top-coded counts. */
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM event WHERE length(event_date) != 7"), 0);
    ck_assert_int_gt(q_int(db, "SELECT count(*) FROM event WHERE ltc_count = '5+'"), 0);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM event WHERE ltc_count IN ('6', '7', '8')"), 0);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM person WHERE age_band NOT LIKE '%-%' AND age_band != '90+'"), 0);
    /* Time-ordered within each person. */
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM event a JOIN event b ON a.pseudonym = b.pseudonym"
                               " AND b.event_id > a.event_id WHERE b.event_date < a.event_date"), 0);
    char q0[256];
    snprintf(q0, sizeof q0, "SELECT count(*) FROM provenance WHERE item = 'dsa_sha256' AND value = '%s'",
             res.dsa_hash);
    ck_assert_int_eq(q_int(db, q0), 1);
    ck_assert_int_eq(q_int(db, "SELECT value FROM provenance WHERE item = 'count.optout.removed_persons'"), 2);
    /* Opted-out people appear nowhere, not even through their housing record. */
    bl_key *pk = NULL;
    ck_assert_int_eq(bl_key_load(fx.pkey, &pk, &err), BL_OK);
    for (int i = 0; i < NPEOPLE; i++) {
        char ent[32], ps[33], q[256];
        snprintf(ent, sizeof ent, "ent-%d", i);
        ck_assert_int_eq(bl_pseudonym(pk, "p1", ent, ps, &err), BL_OK);
        snprintf(q, sizeof q, "SELECT (SELECT count(*) FROM person WHERE pseudonym = '%s') +"
                              " (SELECT count(*) FROM event WHERE pseudonym = '%s')", ps, ps);
        int64_t n = q_int(db, q);
        if (i == 0 || i == 3)
            ck_assert_int_eq(n, 0);
        else
            ck_assert_int_eq(n, 1 + 2 + (i % 3 == 0));
    }
    bl_key_free(pk);
    sqlite3_close(db);

    /* No byte of dropped text, undeclared values, tokens or entity ids in the
       file, free pages included. */
    size_t n;
    char *bytes = read_all(out, &n);
    ck_assert(!contains_bytes(bytes, n, "NOTE-SECRET"));
    ck_assert(!contains_bytes(bytes, n, "UNDECLARED"));
    ck_assert(!contains_bytes(bytes, n, "ent-1"));
    char t[33];
    token_of(0, 7, t);
    ck_assert(!contains_bytes(bytes, n, t));
    token_of(1, 6, t);
    ck_assert(!contains_bytes(bytes, n, t));
    free(bytes);

    /* The audit log holds the run, and nothing identifying. */
    uint64_t entries = 0;
    char head[65];
    ck_assert_int_eq(bl_audit_verify(fx.log, res.audit_entry_hash, &entries, head, &err), BL_OK);
    ck_assert_uint_eq(entries, 1);
    char *logtext = read_all(fx.log, &n);
    ck_assert(!contains_bytes(logtext, n, "ent-"));
    ck_assert(!contains_bytes(logtext, n, "NOTE-SECRET"));
    token_of(0, 0, t);
    ck_assert(!contains_bytes(logtext, n, t));
    ck_assert_ptr_nonnull(strstr(logtext, "\"outcome\":\"ok\""));
    free(logtext);

    /* An existing output is not replaced unless asked. */
    bl_emit_result_clear(&res);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_EEXISTS);
    opt.overwrite = 1;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_OK);
    bl_emit_result_clear(&res);
    ck_assert_int_eq(bl_audit_verify(fx.log, NULL, &entries, NULL, &err), BL_OK);
    ck_assert_uint_eq(entries, 3);
    free(dsa);
    free(out);
    teardown(&fx);
}
END_TEST

/* Unsigned, partly signed, tampered or expired: refused, no output, logged. */
START_TEST(test_emit_refusals)
{
    fixture fx;
    setup(&fx);
    char *out = path_in(&fx, "dataset.sqlite");
    bl_emit_options opt;
    bl_emit_input content[2], optout[1];
    bl_emit_result res;
    bl_error err;
    struct {
        const char *signers;
        int tamper;
        int64_t now;
        bl_status want;
    } cases[] = {
        {"", 0, T_IN_FORCE, BL_ESIGNATURE},
        {"a", 0, T_IN_FORCE, BL_ESIGNATURE},
        {"b", 0, T_IN_FORCE, BL_ESIGNATURE},
        {"ab", 1, T_IN_FORCE, BL_ESIGNATURE},
        {"ab", 0, T_EXPIRED, BL_EEXPIRED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dsa = make_dsa(&fx, "dsa.json", "p1", "\"sqlite\"", cases[i].signers);
        if (cases[i].tamper) {
            char *t = read_all(dsa, NULL);
            char *p = strstr(t, "\"top\": 5");
            ck_assert_ptr_nonnull(p);
            p[7] = '9'; /* a looser top code than the parties agreed */
            write_file(dsa, t);
            free(t);
        }
        base_options(&fx, &opt, content, optout, dsa, out);
        opt.now = cases[i].now;
        bl_error_clear(&err);
        ck_assert_int_eq(bl_emit(&opt, &res, &err), cases[i].want);
        ck_assert_int_eq(access(out, F_OK), -1);
        free(dsa);
    }
    /* A missing opt-out list and a disallowed format are policy refusals. */
    char *dsa = make_dsa(&fx, "dsa.json", "p1", "\"sqlite\"", "ab");
    base_options(&fx, &opt, content, optout, dsa, out);
    opt.optout_count = 0;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_EPOLICY);
    ck_assert_ptr_nonnull(strstr(err.text, "opt-out"));
    base_options(&fx, &opt, content, optout, dsa, out);
    opt.format = BL_EMIT_CSV;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_EPOLICY);
    /* A source outside the agreement. */
    base_options(&fx, &opt, content, optout, dsa, out);
    content[1].source = "education";
    bl_error_clear(&err);
    ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_EPOLICY);
    ck_assert_int_eq(access(out, F_OK), -1);
    /* Each refusal is in the log. */
    uint64_t entries = 0;
    ck_assert_int_eq(bl_audit_verify(fx.log, NULL, &entries, NULL, &err), BL_OK);
    ck_assert_uint_eq(entries, 8);
    char *logtext = read_all(fx.log, NULL);
    int refused = 0;
    for (const char *p = logtext; (p = strstr(p, "\"outcome\":\"refused\"")); p++)
        refused++;
    ck_assert_int_eq(refused, 8);
    free(logtext);
    /* An agreement that pins the project key refuses any other key. */
    {
        bl_key *k = NULL;
        char fp[65], extra[128];
        ck_assert_int_eq(bl_key_load(fx.pkey, &k, &err), BL_OK);
        ck_assert_int_eq(bl_key_fingerprint(k, fp, &err), BL_OK);
        bl_key_free(k);
        snprintf(extra, sizeof extra, " \"project_key_fingerprint\": \"%s\",", fp);
        char *pinned = make_dsa_extra(&fx, "pinned.json", "p1", "\"sqlite\"", "ab", extra);
        base_options(&fx, &opt, content, optout, pinned, out);
        opt.project_key_path = fx.pkey2;
        bl_error_clear(&err);
        ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_EPOLICY);
        opt.project_key_path = fx.pkey;
        bl_error_clear(&err);
        ck_assert_msg(bl_emit(&opt, &res, &err) == BL_OK, "%s", err.text);
        bl_emit_result_clear(&res);
        unlink(out);
        free(pinned);
    }
    /* Opt-out tokens that match nothing (another key, another extract): the
       opt-out cannot be applied, so nothing is emitted. */
    char *bogus = path_in(&fx, "bogus_optout.csv");
    write_file(bogus, "source,record_token\ngp,0123456789abcdef0123456789abcdef\n");
    base_options(&fx, &opt, content, optout, dsa, out);
    optout[0].path = bogus;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_EMISMATCH);
    ck_assert_int_eq(access(out, F_OK), -1);
    free(bogus);
    free(dsa);
    free(out);
    teardown(&fx);
}
END_TEST

static void pseudonyms_of(const char *db_path, char ***out, size_t *n)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT pseudonym FROM person", -1, &s, NULL), SQLITE_OK);
    *out = NULL;
    *n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        *out = realloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = strdup((const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
}

START_TEST(test_two_projects_unlinkable)
{
    fixture fx;
    setup(&fx);
    char *dsa1 = make_dsa(&fx, "dsa1.json", "project-one", "\"sqlite\"", "ab");
    char *dsa2 = make_dsa(&fx, "dsa2.json", "project-two", "\"sqlite\"", "ab");
    char *out1 = path_in(&fx, "one.sqlite"), *out2 = path_in(&fx, "two.sqlite");
    bl_emit_options opt;
    bl_emit_input content[2], optout[1];
    bl_emit_result res;
    bl_error err;
    bl_error_clear(&err);
    base_options(&fx, &opt, content, optout, dsa1, out1);
    ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_OK);
    bl_emit_result_clear(&res);
    base_options(&fx, &opt, content, optout, dsa2, out2);
    opt.project_key_path = fx.pkey2;
    ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_OK);
    bl_emit_result_clear(&res);
    char **p1, **p2;
    size_t n1, n2;
    pseudonyms_of(out1, &p1, &n1);
    pseudonyms_of(out2, &p2, &n2);
    ck_assert_uint_eq(n1, NPEOPLE - 2);
    ck_assert_uint_eq(n2, NPEOPLE - 2);
    for (size_t i = 0; i < n1; i++) {
        ck_assert_uint_eq(strlen(p1[i]), 32);
        for (size_t j = 0; j < n2; j++)
            ck_assert_str_ne(p1[i], p2[j]);
    }
    for (size_t i = 0; i < n1; i++)
        free(p1[i]);
    for (size_t i = 0; i < n2; i++)
        free(p2[i]);
    free(p1);
    free(p2);

    /* The pseudonym depends on key and project id, never on the entity id alone. */
    bl_key *k1 = NULL, *k2 = NULL;
    ck_assert_int_eq(bl_key_load(fx.pkey, &k1, &err), BL_OK);
    ck_assert_int_eq(bl_key_load(fx.pkey2, &k2, &err), BL_OK);
    char a[33], b[33], c[33], d[33];
    ck_assert_int_eq(bl_pseudonym(k1, "p", "e1", a, &err), BL_OK);
    ck_assert_int_eq(bl_pseudonym(k2, "p", "e1", b, &err), BL_OK);
    ck_assert_int_eq(bl_pseudonym(k1, "q", "e1", c, &err), BL_OK);
    ck_assert_int_eq(bl_pseudonym(k1, "p", "e1", d, &err), BL_OK);
    ck_assert_str_ne(a, b);
    ck_assert_str_ne(a, c);
    ck_assert_str_eq(a, d);
    /* ("p", "e1") and ("pe", "1") are different messages. */
    ck_assert_int_eq(bl_pseudonym(k1, "pe", "1", c, &err), BL_OK);
    ck_assert_str_ne(a, c);
    bl_key_free(k1);
    bl_key_free(k2);
    free(dsa1);
    free(dsa2);
    free(out1);
    free(out2);
    teardown(&fx);
}
END_TEST

/* A failure mid-write (the test hook, like a full disk) leaves nothing. */
START_TEST(test_crash_leaves_no_dataset)
{
    fixture fx;
    setup(&fx);
    char *dsa = make_dsa(&fx, "dsa.json", "p1", "\"sqlite\", \"csv\"", "ab");
    char *out = path_in(&fx, "dataset.sqlite");
    char *outdir = path_in(&fx, "dataset_csv");
    bl_emit_options opt;
    bl_emit_input content[2], optout[1];
    bl_emit_result res;
    bl_error err;
    for (uint64_t n = 1; n < 330; n += 37) {
        base_options(&fx, &opt, content, optout, dsa, out);
        opt.fail_after_rows = n;
        bl_error_clear(&err);
        ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_EIO);
        ck_assert_ptr_nonnull(strstr(err.text, "simulated failure"));
        ck_assert_int_eq(access(out, F_OK), -1);
        ck_assert(!dir_has_prefix(fx.dir, "dataset.sqlite.tmp-"));
        base_options(&fx, &opt, content, optout, dsa, outdir);
        opt.format = BL_EMIT_CSV;
        opt.fail_after_rows = n;
        bl_error_clear(&err);
        ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_EIO);
        ck_assert_int_eq(access(outdir, F_OK), -1);
        ck_assert(!dir_has_prefix(fx.dir, "dataset_csv.tmp-"));
    }
    /* The failures were logged as failures, and a good run then works. */
    char *logtext = read_all(fx.log, NULL);
    ck_assert_ptr_nonnull(strstr(logtext, "\"outcome\":\"failed\""));
    ck_assert_ptr_null(strstr(logtext, "\"outcome\":\"ok\""));
    free(logtext);
    base_options(&fx, &opt, content, optout, dsa, outdir);
    opt.format = BL_EMIT_CSV;
    bl_error_clear(&err);
    ck_assert_msg(bl_emit(&opt, &res, &err) == BL_OK, "%s", err.text);
    bl_emit_result_clear(&res);
    static const char *const files[] = {"person.csv", "event.csv", "provenance.csv", "variable.csv"};
    for (size_t i = 0; i < 4; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", outdir, files[i]);
        ck_assert_int_eq(access(p, R_OK), 0);
    }
    char p[1024];
    snprintf(p, sizeof p, "%s/event.csv", outdir);
    char *ev = read_all(p, NULL);
    ck_assert(strncmp(ev, "event_id,pseudonym,source,event_date,event_type,ltc_count,tenure\n", 65) == 0);
    ck_assert_ptr_null(strstr(ev, "NOTE-SECRET"));
    free(ev);
    free(dsa);
    free(out);
    free(outdir);
    teardown(&fx);
}
END_TEST

START_TEST(test_aggregate_suppressed)
{
    fixture fx;
    setup(&fx);
    char *dsa = make_dsa(&fx, "dsa.json", "p1", "\"aggregate\"", "ab");
    char *out = path_in(&fx, "counts.csv");
    bl_emit_options opt;
    bl_emit_input content[2], optout[1];
    bl_emit_result res;
    bl_error err;
    bl_error_clear(&err);
    base_options(&fx, &opt, content, optout, dsa, out);
    const char *by[] = {"sources", "age_band", "sex"};
    opt.format = BL_EMIT_AGGREGATE;
    opt.aggregate_by = by;
    opt.aggregate_by_count = 3;
    ck_assert_msg(bl_emit(&opt, &res, &err) == BL_OK, "%s", err.text);
    ck_assert_uint_gt(res.suppressed_primary, 0);
    char *text = read_all(out, NULL);
    ck_assert(strncmp(text, "sources,age_band,sex,people\n", 28) == 0);
    ck_assert_ptr_nonnull(strstr(text, "Total,Total,Total,"));
    /* Every published count is 0, '*' or a multiple of 5 above the threshold. */
    size_t rows = 0;
    for (char *line = strchr(text, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        char *nl = strchr(line, '\n');
        char *comma = nl;
        while (*comma != ',')
            comma--;
        char v[32];
        snprintf(v, sizeof v, "%.*s", (int)(nl - comma - 1), comma + 1);
        if (strcmp(v, "*")) {
            long x = strtol(v, NULL, 10);
            ck_assert_msg(x == 0 || (x > 7 && x % 5 == 0), "published '%s'", v);
        }
        rows++;
    }
    ck_assert_uint_eq(rows, res.aggregate_cells);
    free(text);
    bl_emit_result_clear(&res);
    /* Unknown dimensions are refused. */
    const char *bad[] = {"notes"};
    opt.aggregate_by = bad;
    opt.aggregate_by_count = 1;
    opt.overwrite = 1;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_emit(&opt, &res, &err), BL_EPOLICY);
    free(dsa);
    free(out);
    teardown(&fx);
}
END_TEST

/* --------------------------------------------------------- suppression */

static void check_table(const bl_ctable *t, long threshold)
{
    /* No published count below the threshold. */
    for (size_t i = 0; i < t->ncells; i++)
        if (t->state[i] == BL_CELL_PUBLISHED)
            ck_assert(t->count[i] == 0 || t->count[i] > (uint64_t)threshold);
    /* No line with exactly one hidden entry, and nothing recoverable. */
    for (size_t d = 0; d < t->ndims; d++) {
        size_t st = 1;
        for (size_t e = d + 1; e < t->ndims; e++)
            st *= t->ext[e];
        for (size_t i = 0; i < t->ncells; i++) {
            if (i / st % t->ext[d] != 0)
                continue;
            size_t hidden = 0;
            for (size_t k = 0; k < t->ext[d]; k++)
                hidden += t->state[i + k * st] != BL_CELL_PUBLISHED;
            ck_assert_uint_ne(hidden, 1);
        }
    }
    ck_assert_uint_eq(bl_ctable_recoverable(t), 0);
}

START_TEST(test_suppression_random_tables)
{
    bl_error err;
    bl_error_clear(&err);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 60; round++) {
        size_t nd = 1 + (size_t)round % 3, cats[3];
        for (size_t d = 0; d < nd; d++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            cats[d] = 2 + x % 5;
        }
        bl_ctable t;
        ck_assert_int_eq(bl_ctable_init(&t, nd, cats, &err), BL_OK);
        size_t idx[3];
        for (size_t i = 0; i < t.ncells; i++) {
            size_t rem = i, interior = 1;
            for (size_t d = nd; d-- > 0;) {
                idx[d] = rem % t.ext[d];
                rem /= t.ext[d];
                interior &= idx[d] < cats[d];
            }
            if (interior) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                /* Mostly small counts, so suppression has work to do. */
                t.count[i] = x % 4 == 0 ? 0 : x % 4 == 1 ? 1 + x / 4 % 7 : x / 4 % 60;
            }
        }
        bl_ctable_totals(&t);
        uint64_t np = 0, ns = 0;
        ck_assert_int_eq(bl_ctable_suppress(&t, 7, 1, &np, &ns, &err), BL_OK);
        check_table(&t, 7);
        bl_ctable_free(&t);
    }
}
END_TEST

/* Two blocks of hidden cells joined by a single cell: every line holds two
   hidden entries, yet that cell follows from the totals.  The line rule
   alone misses it; the exact check must not. */
START_TEST(test_suppression_bridge)
{
    bl_error err;
    bl_error_clear(&err);
    size_t cats[2] = {4, 4};
    bl_ctable t;
    ck_assert_int_eq(bl_ctable_init(&t, 2, cats, &err), BL_OK);
    uint64_t v[4][4] = {{3, 4, 50, 60}, {5, 6, 70, 80}, {90, 2, 3, 95}, {97, 98, 4, 5}};
    for (size_t r = 0; r < 4; r++)
        for (size_t c = 0; c < 4; c++) {
            size_t idx[2] = {r, c};
            t.count[bl_ctable_index(&t, idx)] = v[r][c];
        }
    bl_ctable_totals(&t);
    /* Hand-made pattern: block {0,1}x{0,1}, block {2,3}x{2,3}, bridge (2,1). */
    for (size_t i = 0; i < t.ncells; i++)
        t.state[i] = BL_CELL_PUBLISHED;
    size_t hid[][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {2, 2}, {2, 3}, {3, 2}, {3, 3}, {2, 1}};
    for (size_t k = 0; k < 9; k++)
        t.state[bl_ctable_index(&t, hid[k])] = BL_CELL_PRIMARY;
    ck_assert_uint_gt(bl_ctable_recoverable(&t), 0);
    /* The suppressor protects it. */
    ck_assert_int_eq(bl_ctable_suppress(&t, 7, 1, NULL, NULL, &err), BL_OK);
    check_table(&t, 7);
    /* Without secondary suppression a lone small cell stays recoverable. */
    bl_ctable_free(&t);
    size_t one[1] = {3};
    ck_assert_int_eq(bl_ctable_init(&t, 1, one, &err), BL_OK);
    t.count[0] = 3, t.count[1] = 40, t.count[2] = 50;
    bl_ctable_totals(&t);
    ck_assert_int_eq(bl_ctable_suppress(&t, 7, 0, NULL, NULL, &err), BL_OK);
    ck_assert_uint_eq(bl_ctable_recoverable(&t), 1);
    ck_assert_int_eq(bl_ctable_suppress(&t, 7, 1, NULL, NULL, &err), BL_OK);
    check_table(&t, 7);
    char buf[16];
    bl_ctable_format(&t, 0, 5, buf, sizeof buf);
    ck_assert_str_eq(buf, "*");
    bl_ctable_format(&t, 2, 5, buf, sizeof buf);
    ck_assert_str_eq(buf, "50");
    t.state[3] = BL_CELL_PUBLISHED;
    bl_ctable_format(&t, 3, 5, buf, sizeof buf); /* 93 -> 95 */
    ck_assert_str_eq(buf, "95");
    bl_ctable_free(&t);
}
END_TEST

Suite *suite_emit(void)
{
    Suite *s = suite_create("emit");
    TCase *tc = tcase_create("emit");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_emit_sqlite);
    tcase_add_test(tc, test_emit_refusals);
    tcase_add_test(tc, test_two_projects_unlinkable);
    tcase_add_test(tc, test_crash_leaves_no_dataset);
    tcase_add_test(tc, test_aggregate_suppressed);
    suite_add_tcase(s, tc);
    TCase *ts = tcase_create("suppression");
    tcase_set_timeout(ts, 60);
    tcase_add_test(ts, test_suppression_random_tables);
    tcase_add_test(ts, test_suppression_bridge);
    suite_add_tcase(s, ts);
    return s;
}
