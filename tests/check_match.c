/* check_match.c - blocking, comparison, EM, clustering, link map and
   evaluation on hand-made in-memory records (no encoder needed). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

#include "../lib/block.h"
#include "../lib/cluster.h"
#include "../lib/compare.h"
#include "../lib/linkmap.h"
#include "../lib/match.h"
#include "../lib/model.h"
#include "../lib/report.h"

/* ---- a toy encoder for tests: bigrams hashed into k bits ---- */

static uint64_t th(const char *s, size_t n, uint64_t seed)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return bl_mix64(h);
}

static void toy_filter(const char *value, const char *salt, uint64_t *w, size_t words)
{
    memset(w, 0, words * 8);
    char buf[128];
    snprintf(buf, sizeof buf, "_%s_", value);
    size_t n = strlen(buf);
    for (size_t i = 0; i + 1 < n; i++) {
        char tok[64];
        snprintf(tok, sizeof tok, "%c%c|%s", buf[i], buf[i + 1], salt);
        for (int k = 0; k < 15; k++) {
            uint64_t b = th(tok, strlen(tok), (uint64_t)k) % (words * 64);
            w[b / 64] |= 1ull << (b % 64);
        }
    }
}

enum { F_GIVEN, F_FAMILY, F_DOB, F_SEX, F_POST, F_NHS, NF };
static const char *fnames[NF] = {"given_name", "family_name", "dob", "sex", "postcode", "nhs_number"};
static const uint32_t fbits[NF] = {512, 512, 256, 64, 256, 256};
static const uint8_t ftypes[NF] = {BL_FIELD_NAME, BL_FIELD_NAME, BL_FIELD_DATE, BL_FIELD_SEX,
                                   BL_FIELD_POSTCODE, BL_FIELD_NHS_NUMBER};
static const char *knames[2] = {"family_yob", "nhs"};

typedef struct toy {
    const char *given, *family, *dob, *sex, *post, *nhs; /* NULL or "" = missing */
} toy;

static bl_dataset *toy_dataset(void)
{
    bl_dataset *ds = NULL;
    ck_assert_int_eq(bl_dataset_new(&ds, NULL), BL_OK);
    bl_encfile_layout lay = {NF, fnames, fbits, ftypes, 1024, 2, knames, NULL, NULL};
    ck_assert_int_eq(bl_dataset_init_layout(ds, &lay, "s", "k", NULL), BL_OK);
    return ds;
}

static void toy_add(bl_dataset *ds, const char *source, uint32_t id, const toy *t)
{
    static uint64_t f0[8], f1[8], f2[4], f3[1], f4[4], f5[4], clk[16];
    uint64_t *f[NF] = {f0, f1, f2, f3, f4, f5};
    const char *v[NF] = {t->given, t->family, t->dob, t->sex, t->post, t->nhs};
    char year[8] = "";
    if (t->dob && strlen(t->dob) >= 4)
        snprintf(year, sizeof year, "%.4s", t->dob);
    uint32_t present = 0;
    memset(clk, 0, sizeof clk);
    for (int i = 0; i < NF; i++) {
        if (v[i] && *v[i]) {
            int salted = i == F_GIVEN || i == F_FAMILY || i == F_POST;
            toy_filter(v[i], salted ? year : "", f[i], fbits[i] / 64);
            present |= 1u << i;
            uint64_t c[16];
            char tag[80];
            snprintf(tag, sizeof tag, "%d%s", i, v[i]);
            toy_filter(tag, year, c, 16);
            for (int w = 0; w < 16; w++)
                clk[w] |= c[w];
        }
    }
    uint64_t keys[2] = {0, 0};
    if (t->family && *t->family && year[0]) {
        char k[64];
        snprintf(k, sizeof k, "%.1s%s", t->family, year);
        keys[0] = th(k, strlen(k), 77) | 1;
    }
    if (t->nhs && *t->nhs)
        keys[1] = th(t->nhs, strlen(t->nhs), 78) | 1;
    uint8_t token[BL_TOKEN_BYTES] = {0};
    memcpy(token, &id, 4);
    token[4] = (uint8_t)source[0];
    const uint64_t *fp[NF] = {f0, f1, f2, f3, f4, f5};
    bl_record_view rec = {token, present, fp, clk, keys, 1, 3, 0};
    ck_assert_int_eq(bl_dataset_add_record(ds, source, &rec, NULL), BL_OK);
}

/* ------------------------------------------------------------ comparison */

START_TEST(test_compare_levels)
{
    bl_dataset *ds = toy_dataset();
    toy a = {"JONATHAN", "SMITH", "19800102", "M", "OX1 2JD", "4010232137"};
    toy b = {"JONATHAN", "SMYTH", "19800102", "M", "OX1 2JE", ""};
    toy c = {"ELIZABETH", "SMITH", "19800201", "F", "OX4 1AA", "9434765919"};
    toy_add(ds, "gp", 1, &a);
    toy_add(ds, "gp", 2, &b);
    toy_add(ds, "gp", 3, &c);
    bl_model *m = NULL;
    ck_assert_int_eq(bl_model_default(ds, &m, NULL), BL_OK);
    double d;
    int exact = (int)m->fields[F_GIVEN].nlevels - 1;
    ck_assert_int_eq(bl_compare_field(ds, m, F_GIVEN, 0, 1, &d), exact);
    ck_assert(d == 1.0);
    int lv = bl_compare_field(ds, m, F_FAMILY, 0, 1, &d);
    ck_assert_msg(lv == 3 || lv == 2, "SMITH/SMYTH level %d dice %f", lv, d);
    lv = bl_compare_field(ds, m, F_GIVEN, 0, 2, &d);
    ck_assert_msg(lv == 1 || (lv == 2 && d < 0.6), "JONATHAN/ELIZABETH level %d dice %f", lv, d);
    ck_assert_int_eq(bl_compare_field(ds, m, F_NHS, 0, 1, &d), 0);   /* missing */
    ck_assert(d == -1);
    ck_assert_int_eq(bl_compare_field(ds, m, F_SEX, 0, 2, NULL), 1);
    ck_assert_int_eq(bl_compare_field(ds, m, F_SEX, 0, 1, NULL), 2); /* sex: exact is level 2 */
    uint64_t g = bl_compare_pair(ds, m, 0, 1);
    ck_assert_int_eq(bl_gamma_level(g, F_GIVEN), exact);
    ck_assert_int_eq(bl_gamma_level(g, F_NHS), 0);
    /* integer threshold test agrees with the rational definition */
    for (uint32_t x = 0; x < 3; x++)
        for (uint32_t y = 0; y < 3; y++)
            for (size_t f = 0; f < NF; f++) {
                double dd;
                int l = bl_compare_field(ds, m, f, x, y, &dd);
                if (l >= 1 && l < (int)m->fields[f].nlevels - 1 && m->fields[f].nbands)
                    ck_assert(l == 1 || dd >= m->fields[f].thresholds[m->fields[f].nlevels - 2 - l] - 1e-12);
            }
    bl_model_free(m);
    bl_dataset_free(ds);
}
END_TEST

/* ------------------------------------------------------------ EM */

/* A 3-field mixture with known m, u and prior: expected counts of every
   pattern are fed to EM, which must give m and the prior back. */
START_TEST(test_em_known_mixture)
{
    const char *names[3] = {"a", "b", "c"};
    const uint8_t types[3] = {BL_FIELD_SEX, BL_FIELD_SEX, BL_FIELD_NHS_NUMBER};
    bl_model *m = NULL;
    ck_assert_int_eq(bl_model_for_fields(3, names, types, &m, NULL), BL_OK);
    /* sex fields: levels 1 disagree, 2 exact; nhs: 1 disagree, 2 close, 3 exact */
    double tm[3][4] = {{0, 0.1, 0.9}, {0, 0.2, 0.8}, {0, 0.05, 0.15, 0.8}};
    double tu[3][4] = {{0, 0.5, 0.5}, {0, 0.9, 0.1}, {0, 0.98, 0.015, 0.005}};
    double prior = 0.001, total = 1e9;
    m->u_from_candidates = 0; /* Splink-style: u fixed from random pairs */
    m->related_class = 0;
    m->variant_class = 0;
    m->household_class = 0;
    for (int f = 0; f < 3; f++)
        for (unsigned l = 1; l < m->fields[f].nlevels; l++) {
            m->fields[f].u[l] = tu[f][l];
            m->fields[f].fix_u[l] = 1;
        }
    uint64_t pat[64], cnt[64];
    size_t np = 0;
    double kept = 0;
    for (int a = 1; a <= 2; a++)
        for (int b = 1; b <= 2; b++)
            for (int c = 1; c <= 3; c++) {
                double pm = tm[0][a] * tm[1][b] * tm[2][c], pu = tu[0][a] * tu[1][b] * tu[2][c];
                double e = total * (prior * pm + (1 - prior) * pu);
                pat[np] = (uint64_t)a | (uint64_t)b << 3 | (uint64_t)c << 6;
                cnt[np] = (uint64_t)llround(e);
                kept += (double)cnt[np];
                np++;
            }
    bl_match_options opt;
    bl_match_options_default(&opt);
    opt.em_tolerance = 1e-7;
    opt.em_max_iterations = 20000;
    ck_assert_int_eq(bl_model_em_patterns(m, pat, cnt, np, kept, NULL, 0, &opt, NULL), BL_OK);
    ck_assert_msg(m->em_converged, "EM: %u iterations, prior %g", m->em_iterations, m->prior);
    ck_assert_msg(fabs(m->prior - prior) / prior < 0.01, "prior %g", m->prior);
    for (int f = 0; f < 3; f++)
        for (unsigned l = 1; l < m->fields[f].nlevels; l++) {
            ck_assert_msg(fabs(m->fields[f].m[l] - tm[f][l]) < 0.01, "m[%d][%u] = %f, want %f", f, l,
                          m->fields[f].m[l], tm[f][l]);
            ck_assert(m->fields[f].u[l] == tu[f][l]); /* fixed: untouched */
        }
    ck_assert(m->fields[2].w[3] > 7); /* exact agreement is strong evidence */

    /* A fixed m stays put while the others move. */
    for (int f = 0; f < 3; f++)
        for (unsigned l = 1; l < m->fields[f].nlevels; l++)
            m->fields[f].m[l] = 1.0 / (m->fields[f].nlevels - 1);
    m->fields[0].m[2] = 0.9;
    m->fields[0].m[1] = 0.1;
    m->fields[0].fix_m[1] = m->fields[0].fix_m[2] = 1;
    m->fields[1].m[2] = 0.5;
    m->fields[1].fix_m[2] = 1;
    ck_assert_int_eq(bl_model_em_patterns(m, pat, cnt, np, kept, NULL, 0, &opt, NULL), BL_OK);
    ck_assert(m->fields[1].m[2] == 0.5);
    ck_assert(m->fields[0].m[2] == 0.9);
    ck_assert(fabs(m->fields[1].m[1] - 0.5) < 1e-9); /* the rest of the mass */
    bl_model_free(m);
}
END_TEST

START_TEST(test_model_json_roundtrip)
{
    const char *names[2] = {"given_name", "dob"};
    const uint8_t types[2] = {BL_FIELD_NAME, BL_FIELD_DATE};
    bl_model *m = NULL, *m2 = NULL;
    ck_assert_int_eq(bl_model_for_fields(2, names, types, &m, NULL), BL_OK);
    m->fields[0].m[4] = 0.77;
    m->fields[0].fix_m[4] = 1;
    m->fields[1].u[1] = 0.95;
    m->fields[1].fix_u[1] = 1;
    m->prior = 2.5e-6;
    m->trained = 1;
    bl_model_update_weights(m);
    char *js = NULL;
    ck_assert_int_eq(bl_model_to_json(m, &js, NULL), BL_OK);
    ck_assert_ptr_nonnull(strstr(js, "\"fix_m\": true"));
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_model_parse(js, strlen(js), "m.json", &m2, &err), BL_OK);
    ck_assert(bl_model_is_trained(m2));
    ck_assert(fabs(m2->prior - 2.5e-6) < 1e-15);
    for (int f = 0; f < 2; f++) {
        ck_assert_int_eq(m2->fields[f].nlevels, m->fields[f].nlevels);
        ck_assert_int_eq(m2->fields[f].tf, m->fields[f].tf);
        for (unsigned l = 1; l < m->fields[f].nlevels; l++) {
            ck_assert(fabs(m2->fields[f].m[l] - m->fields[f].m[l]) < 1e-9);
            ck_assert(fabs(m2->fields[f].u[l] - m->fields[f].u[l]) < 1e-9);
            ck_assert_int_eq(m2->fields[f].fix_m[l], m->fields[f].fix_m[l]);
            ck_assert_int_eq(m2->fields[f].thr_num[l < 4 ? 0 : 0], m->fields[f].thr_num[0]);
        }
    }
    free(js);
    bl_model_free(m2);
    /* malformed: thresholds out of order */
    const char *bad = "{\"format\":\"bloomlink-model\",\"version\":1,\"fields\":[{\"name\":\"x\","
                      "\"type\":\"name\",\"levels\":[{\"name\":\"exact\"},{\"name\":\"close\","
                      "\"min_dice\":0.5},{\"name\":\"partial\",\"min_dice\":0.7},{\"name\":\"disagree\"}]}]}";
    bl_error_clear(&err);
    ck_assert_int_eq(bl_model_parse(bad, strlen(bad), "bad.json", &m2, &err), BL_ESCHEMA);
    ck_assert_ptr_null(m2);
    ck_assert_ptr_nonnull(strstr(err.text, "min_dice"));
    bl_error_clear(&err);
    ck_assert_int_eq(bl_model_parse("{", 1, "x.json", &m2, &err), BL_EPARSE);
    bl_model_free(m);
}
END_TEST


/* Latent classes over candidates: a planted two-class mixture with different
   match shares in two source pairs; EM must recover m, u and both shares. */
START_TEST(test_em_latent_by_source_pair)
{
    const char *names[4] = {"a", "b", "c", "d"};
    const uint8_t types[4] = {BL_FIELD_SEX, BL_FIELD_SEX, BL_FIELD_SEX, BL_FIELD_NHS_NUMBER};
    bl_model *m = NULL;
    ck_assert_int_eq(bl_model_for_fields(4, names, types, &m, NULL), BL_OK);
    m->related_class = 0;
    m->variant_class = 0;
    m->household_class = 0;
    double tm[4][4] = {{0, 0.1, 0.9}, {0, 0.2, 0.8}, {0, 0.05, 0.95}, {0, 0.05, 0.15, 0.8}};
    double tu[4][4] = {{0, 0.7, 0.3}, {0, 0.9, 0.1}, {0, 0.6, 0.4}, {0, 0.97, 0.02, 0.01}};
    double share[2] = {0.3, 0.05}, per_sp = 1e7;
    for (int f = 0; f < 4; f++)
        for (unsigned l = 1; l < m->fields[f].nlevels; l++)
            m->fields[f].u_random[l] = 1.0 / (m->fields[f].nlevels - 1); /* a poor start */
    uint64_t pat[128], cnt[128];
    size_t np = 0;
    for (uint64_t sp = 0; sp < 2; sp++)
        for (int a = 1; a <= 2; a++)
            for (int b = 1; b <= 2; b++)
                for (int c = 1; c <= 2; c++)
                    for (int d = 1; d <= 3; d++) {
                        double pm = tm[0][a] * tm[1][b] * tm[2][c] * tm[3][d];
                        double pu = tu[0][a] * tu[1][b] * tu[2][c] * tu[3][d];
                        pat[np] = (uint64_t)a | (uint64_t)b << 3 | (uint64_t)c << 6 |
                                  (uint64_t)d << 9 | sp << BL_SP_SHIFT;
                        cnt[np++] = (uint64_t)llround(per_sp * (share[sp] * pm + (1 - share[sp]) * pu));
                    }
    const char *spn[4] = {"gp", "education", "gp", "gp"};
    bl_match_options opt;
    bl_match_options_default(&opt);
    opt.em_tolerance = 1e-9;
    opt.em_max_iterations = 20000;
    ck_assert_int_eq(bl_model_em_patterns(m, pat, cnt, np, 0, spn, 2, &opt, NULL), BL_OK);
    for (int f = 0; f < 4; f++)
        for (unsigned l = 1; l < m->fields[f].nlevels; l++) {
            ck_assert_msg(fabs(m->fields[f].m[l] - tm[f][l]) < 0.01, "m[%d][%u] %f", f, l, m->fields[f].m[l]);
            ck_assert_msg(fabs(m->fields[f].u[l] - tu[f][l]) < 0.01, "u[%d][%u] %f", f, l, m->fields[f].u[l]);
        }
    ck_assert_uint_eq(m->n_sp, 2);
    double pi[BL_CLASSES];
    bl_model_pair_pi(m, "education", "gp", pi);
    ck_assert_msg(fabs(pi[0] - 0.3) < 0.01, "gp-education share %f", pi[0]);
    bl_model_pair_pi(m, "gp", "gp", pi);
    ck_assert_msg(fabs(pi[0] - 0.05) < 0.01, "gp-gp share %f", pi[0]);
    /* the shares survive a JSON round trip */
    char *js = NULL;
    bl_model *m2 = NULL;
    ck_assert_int_eq(bl_model_to_json(m, &js, NULL), BL_OK);
    ck_assert_int_eq(bl_model_parse(js, strlen(js), "m.json", &m2, NULL), BL_OK);
    bl_model_pair_pi(m2, "gp", "education", pi);
    ck_assert(fabs(pi[0] - m->sp_pi[0][0]) < 1e-9 || fabs(pi[0] - m->sp_pi[1][0]) < 1e-9);
    ck_assert_int_eq(m2->u_from_candidates, 1);
    bl_model_free(m2);
    /* Regression: shares saved rounded may sum to just over 1 when a source
       pair's candidates hold almost no unrelated pairs; loading must accept
       that and keep the unrelated share positive. */
    m->sp_pi[0][0] = 0.4314032503;
    m->sp_pi[0][2] = 0.1361528333;
    m->sp_pi[0][3] = 0.02849903582;
    m->sp_pi[0][4] = 0.4039448806;
    free(js);
    ck_assert_int_eq(bl_model_to_json(m, &js, NULL), BL_OK);
    bl_error err;
    bl_error_clear(&err);
    ck_assert_msg(bl_model_parse(js, strlen(js), "m.json", &m2, &err) == BL_OK, "%s", err.text);
    ck_assert(m2->sp_pi[0][0] + m2->sp_pi[0][2] + m2->sp_pi[0][3] + m2->sp_pi[0][4] < 1);
    free(js);
    bl_model_free(m2);
    bl_model_free(m);
}
END_TEST

static void write_ble(const char *path, const char *source, const char *key_fp)
{
    bl_encfile_layout lay = {NF, fnames, fbits, ftypes, 1024, 2, knames, NULL, NULL};
    bl_encfile_writer *w = NULL;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_msg(bl_encfile_writer_open(path, source, "aa", key_fp, &lay, &w, &err) == BL_OK, "%s",
                  err.text);
    uint64_t f0[8] = {1}, f1[8] = {2}, f2[4] = {3}, f3[1] = {1}, f4[4] = {5}, f5[4] = {6}, clk[16] = {7};
    const uint64_t *fp[NF] = {f0, f1, f2, f3, f4, f5};
    uint64_t keys[2] = {11, 0};
    uint8_t token[BL_TOKEN_BYTES] = {1, 2, 3};
    bl_record_view rec = {token, 0x3f, fp, clk, keys, 1, 2, 0};
    ck_assert_int_eq(bl_encfile_writer_add(w, &rec, &err), BL_OK);
    ck_assert_int_eq(bl_encfile_writer_close(w, &err), BL_OK);
}

START_TEST(test_dataset_refuses_mismatch)
{
    char *dir = test_tmpdir();
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/gp.ble", dir);
    snprintf(b, sizeof b, "%s/housing.ble", dir);
    snprintf(c, sizeof c, "%s/other.ble", dir);
    write_ble(a, "gp", "k1");
    write_ble(b, "housing", "k1");
    write_ble(c, "housing", "k2");
    bl_dataset *ds = NULL;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_dataset_new(&ds, NULL), BL_OK);
    ck_assert_int_eq(bl_dataset_add_file(ds, a, NULL, NULL, &err), BL_OK);
    ck_assert_int_eq(bl_dataset_add_file(ds, b, NULL, NULL, &err), BL_OK);
    ck_assert_uint_eq(bl_dataset_record_count(ds), 2);
    ck_assert_uint_eq(bl_dataset_source_count(ds), 2);
    ck_assert_str_eq(bl_dataset_source_name(ds, 1), "housing");
    ck_assert_int_eq(bl_dataset_add_file(ds, c, NULL, NULL, &err), BL_EMISMATCH);
    char buf[1024];
    bl_error_format(&err, buf, sizeof buf);
    ck_assert_msg(strstr(buf, "other.ble") && strstr(buf, "gp.ble"), "%s", buf);
    size_t idx = 99;
    uint8_t token[BL_TOKEN_BYTES] = {1, 2, 3};
    ck_assert_int_eq(bl_dataset_find(ds, "housing", token, &idx, NULL), BL_OK);
    ck_assert_uint_eq(idx, 1);
    bl_dataset_free(ds);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------ blocking */

typedef struct logcap {
    int warnings;
    char last[512];
} logcap;

static void capture_log(void *user, bl_log_level level, const char *msg)
{
    logcap *c = user;
    if (level == BL_LOG_WARN) {
        c->warnings++;
        snprintf(c->last, sizeof c->last, "%s", msg);
    }
}

static int has_pair(const bl_block_result *r, uint32_t a, uint32_t b)
{
    uint64_t p = bl_pair_pack(a, b);
    for (size_t i = 0; i < r->n; i++)
        if (r->pairs[i] == p)
            return 1;
    return 0;
}

START_TEST(test_blocking_and_lsh)
{
    bl_dataset *ds = toy_dataset();
    /* 0,1: same family initial + year -> family_yob block.
       2,3: same NHS number only.
       4,5: identical content but different family initial (no shared key):
            only the CLK LSH can find them... they share the CLK.
       6: alone.  7..: a big block of 30 same-key records (capped at 20). */
    toy r0 = {"ANN", "SMITH", "19800101", "F", "OX1 1AA", ""};
    toy r1 = {"BOB", "SMART", "19800505", "M", "OX2 1AA", ""};
    toy r2 = {"CAT", "JONES", "19700101", "F", "OX3 1AA", "4010232137"};
    toy r3 = {"DAN", "WHITE", "19600101", "M", "OX4 1AA", "4010232137"};
    toy r4 = {"EVE", "ADAMS", "19900303", "F", "OX5 1AA", ""};
    toy r5 = {"EVE", "ADAMS", "19900303", "F", "OX5 1AA", ""};
    toy r6 = {"FAY", "YOUNG", "20010101", "F", "OX6 1AA", ""};
    toy_add(ds, "gp", 0, &r0);
    toy_add(ds, "housing", 1, &r1);
    toy_add(ds, "gp", 2, &r2);
    toy_add(ds, "social_care", 3, &r3);
    toy_add(ds, "gp", 4, &r4);
    toy_add(ds, "education", 5, &r5);
    toy_add(ds, "gp", 6, &r6);
    /* records 4 and 5 must not share a key: clear record 5's keys */
    ds->keys[5 * 2 + 0] = 0xdeadbeefULL;
    for (uint32_t i = 0; i < 30; i++) {
        char given[16];
        snprintf(given, sizeof given, "G%uX", i * 7919u);
        toy t = {given, "KAY", "19500101", "M", "", ""};
        toy_add(ds, "housing", 100 + i, &t);
    }
    bl_match_options opt;
    bl_match_options_default(&opt);
    opt.max_block = 20;
    opt.threads = 2;
    logcap lc = {0, ""};
    opt.log = capture_log;
    opt.log_user = &lc;
    opt.lsh_bands = 0;
    bl_block_result r;
    ck_assert_int_eq(bl_block_candidates(ds, &opt, NULL, NULL, &r, NULL), BL_OK);
    ck_assert(has_pair(&r, 0, 1));
    ck_assert(has_pair(&r, 2, 3));
    ck_assert(!has_pair(&r, 4, 5));
    ck_assert(!has_pair(&r, 0, 6));
    ck_assert_int_eq(r.blocks_capped, 1);
    ck_assert_int_eq(lc.warnings, 1);
    ck_assert_ptr_nonnull(strstr(lc.last, "family_yob"));
    ck_assert_ptr_nonnull(strstr(lc.last, "30"));
    ck_assert(r.keys_dropped >= 4); /* singleton keys of records 4, 5, 6, ... */
    ck_assert_int_eq(r.lsh_only_pairs, 0);
    for (size_t i = 1; i < r.n; i++)
        ck_assert(r.pairs[i - 1] < r.pairs[i]); /* sorted, distinct */
    size_t without_lsh = r.n;
    free(r.pairs);

    opt.lsh_bands = 16;
    opt.lsh_bits = 16;
    ck_assert_int_eq(bl_block_candidates(ds, &opt, NULL, NULL, &r, NULL), BL_OK);
    ck_assert(has_pair(&r, 4, 5)); /* identical CLKs collide in every band */
    ck_assert(r.lsh_only_pairs >= 1);
    ck_assert(r.n >= without_lsh);
    ck_assert(has_pair(&r, 0, 1));
    free(r.pairs);
    bl_dataset_free(ds);
}
END_TEST

/* ------------------------------------------------------------ clustering */

/* A model where every field is worth a fixed, simple amount. */
static bl_model *simple_model(const bl_dataset *ds)
{
    bl_model *m = NULL;
    ck_assert_int_eq(bl_model_default(ds, &m, NULL), BL_OK);
    for (size_t f = 0; f < m->field_count; f++) {
        bl_model_field *mf = &m->fields[f];
        mf->tf = 0;
        unsigned L = mf->nlevels;
        mf->m[L - 1] = 0.9;
        mf->u[L - 1] = 0.01;
        mf->m[1] = 0.05;
        mf->u[1] = 0.9;
        for (unsigned l = 2; l < L - 1; l++) {
            mf->m[l] = 0.05 / (L - 3);
            mf->u[l] = 0.09 / (L - 3);
        }
    }
    m->prior = 0.01;
    m->trained = 1;
    bl_model_update_weights(m);
    return m;
}

START_TEST(test_cluster_weak_bridge)
{
    bl_dataset *ds = toy_dataset();
    /* Two people who share surname, sex and address (sisters): each has
       two strong records.  A weak link joins A2 to B1. */
    toy a1 = {"ALICE", "TWIN", "19900101", "F", "OX1 1AA", "4010232137"};
    toy a2 = {"ALICE", "TWIN", "19900101", "F", "OX1 1AA", ""};
    toy b1 = {"BEATRICE", "TWIN", "20020707", "F", "OX1 1AA", ""};
    toy b2 = {"BEATRICE", "TWIN", "20020707", "F", "OX1 1AA", "9434765919"};
    toy_add(ds, "gp", 0, &a1);
    toy_add(ds, "housing", 1, &a2);
    toy_add(ds, "education", 2, &b1);
    toy_add(ds, "gp", 3, &b2);
    bl_model *m = simple_model(ds);
    bl_match_options opt;
    bl_match_options_default(&opt);
    /* scored pairs: strong A, strong B, and a bridge above threshold */
    bl_scored_pair sp[3] = {{0, 1, 30.0f}, {2, 3, 29.0f}, {1, 2, 5.0f}};
    bl_cluster_result cr;
    ck_assert_int_eq(bl_cluster(ds, m, &opt, sp, 3, NULL, NULL, &cr, NULL), BL_OK);
    ck_assert_uint_eq(cr.entity[0], cr.entity[1]);
    ck_assert_uint_eq(cr.entity[2], cr.entity[3]);
    ck_assert_uint_ne(cr.entity[0], cr.entity[2]);
    ck_assert_int_eq(cr.links_rejected, 1);
    ck_assert_int_eq(cr.review_count, 1);
    ck_assert_int_eq(cr.review[0].reason, BL_REASON_WEAK_BRIDGE);
    ck_assert_int_eq(cr.entity_count, 2);
    ck_assert(cr.best_prob[0] > 0.99f);
    bl_cluster_result_free(&cr);

    /* With the support requirement off, the bridge merges everything. */
    opt.merge_min_support = 0;
    bl_scored_pair sp2[3] = {{0, 1, 30.0f}, {2, 3, 29.0f}, {1, 2, 5.0f}};
    ck_assert_int_eq(bl_cluster(ds, m, &opt, sp2, 3, NULL, NULL, &cr, NULL), BL_OK);
    ck_assert_int_eq(cr.entity_count, 1);
    ck_assert_uint_eq(cr.entity_size[0], 4);
    bl_cluster_result_free(&cr);
    bl_model_free(m);
    bl_dataset_free(ds);
}
END_TEST

START_TEST(test_cluster_unique_source_and_grey)
{
    bl_dataset *ds = toy_dataset();
    toy a = {"ALICE", "SMITH", "19900101", "F", "OX1 1AA", ""};
    toy b = {"ALICE", "SMITH", "19900101", "F", "OX1 1AB", ""};
    toy c = {"CAROL", "JONES", "19500101", "F", "OX9 9ZZ", ""};
    toy_add(ds, "gp", 0, &a);
    toy_add(ds, "gp", 1, &b);
    toy_add(ds, "housing", 2, &c);
    bl_model *m = simple_model(ds);
    bl_match_options opt;
    bl_match_options_default(&opt);
    const char *uniq[1] = {"gp"};
    opt.unique_sources = uniq;
    opt.unique_source_count = 1;
    opt.threshold = 0.9; /* explicit: this test is about the band below it */
    opt.review_low = 0.5;
    /* p(6 bits) = 0.985: above 0.9 but below 0.999 -> kept apart */
    bl_scored_pair sp[2] = {{0, 1, 6.0f}, {0, 2, 0.5f}};
    bl_cluster_result cr;
    ck_assert_int_eq(bl_cluster(ds, m, &opt, sp, 2, NULL, NULL, &cr, NULL), BL_OK);
    ck_assert_uint_ne(cr.entity[0], cr.entity[1]);
    ck_assert_int_eq(cr.review_count, 2);
    int unique = 0, grey = 0;
    for (size_t i = 0; i < cr.review_count; i++) {
        unique += cr.review[i].reason == BL_REASON_UNIQUE;
        grey += cr.review[i].reason == BL_REASON_GREY;
    }
    ck_assert_int_eq(unique, 1);
    ck_assert_int_eq(grey, 1); /* p(0.5 bits) = 0.59: grey band */
    bl_cluster_result_free(&cr);
    /* strong evidence does join them */
    bl_scored_pair sp2[1] = {{0, 1, 12.0f}};
    ck_assert_int_eq(bl_cluster(ds, m, &opt, sp2, 1, NULL, NULL, &cr, NULL), BL_OK);
    ck_assert_uint_eq(cr.entity[0], cr.entity[1]);
    bl_cluster_result_free(&cr);
    bl_model_free(m);
    bl_dataset_free(ds);
}
END_TEST


/* Names in each other's columns compare crossed when the layout puts them
   in one swap group, and only then; crossed exact agreement earns no term
   frequency adjustment. */
START_TEST(test_swap_group)
{
    static const char *groups[NF] = {"name", "name", NULL, NULL, NULL, NULL};
    bl_dataset *plain = toy_dataset(), *ds = NULL;
    ck_assert_int_eq(bl_dataset_new(&ds, NULL), BL_OK);
    bl_encfile_layout lay = {NF, fnames, fbits, ftypes, 1024, 2, knames, groups, NULL};
    ck_assert_int_eq(bl_dataset_init_layout(ds, &lay, "s", "k", NULL), BL_OK);
    ck_assert_uint_eq(ds->swap_count, 1);
    toy a = {"DAVID", "CRAWFORD", "19651203", "M", "OX1 5DY", ""};
    toy b = {"CRAWFORD", "DAVID", "19651203", "M", "OX1 5DY", ""};
    toy c = {"DAVID", "CRAWLEY", "19651203", "M", "OX1 5DY", ""};
    for (int k = 0; k < 2; k++) {
        bl_dataset *d = k ? ds : plain;
        toy_add(d, "housing", 1, &a);
        toy_add(d, "housing", 2, &b);
        toy_add(d, "housing", 3, &c);
    }
    bl_model *m = NULL;
    ck_assert_int_eq(bl_model_default(ds, &m, NULL), BL_OK);
    int exact = (int)m->fields[F_GIVEN].nlevels - 1;
    uint64_t gp = bl_compare_pair(plain, m, 0, 1), gs = bl_compare_pair(ds, m, 0, 1);
    ck_assert_int_lt(bl_gamma_level(gp, F_GIVEN), exact - 1);
    ck_assert(!(gp & BL_GAMMA_SWAPPED));
    ck_assert_int_eq(bl_gamma_level(gs, F_GIVEN), exact);
    ck_assert_int_eq(bl_gamma_level(gs, F_FAMILY), exact);
    ck_assert(gs & BL_GAMMA_SWAPPED);
    ck_assert(bl_gamma_swapped_field(ds, gs, F_FAMILY) && !bl_gamma_swapped_field(ds, gs, F_DOB));
    /* a family-name typo is not a swap: the direct comparison wins */
    uint64_t gc = bl_compare_pair(ds, m, 0, 2);
    ck_assert(!(gc & BL_GAMMA_SWAPPED));
    ck_assert_int_eq(bl_gamma_level(gc, F_GIVEN), exact);
    bl_explanation ex;
    m->fields[F_GIVEN].tf = 1;
    ck_assert_int_eq(bl_explain_pair(ds, m, 0, 1, &ex, NULL), BL_OK);
    ck_assert(ex.fields[F_GIVEN].swapped && ex.fields[F_FAMILY].swapped && !ex.fields[F_DOB].swapped);
    ck_assert_int_eq(ex.fields[F_GIVEN].level, exact);
    ck_assert(ex.fields[F_GIVEN].tf_adjustment == 0.0);
    ck_assert(ex.fields[F_GIVEN].dice == 1.0);
    bl_model_free(m);
    bl_dataset_free(ds);
    bl_dataset_free(plain);
    /* a group whose fields differ in size cannot be compared crossed */
    static const char *bad[NF] = {"name", NULL, "name", NULL, NULL, NULL};
    ck_assert_int_eq(bl_dataset_new(&ds, NULL), BL_OK);
    bl_encfile_layout lay2 = {NF, fnames, fbits, ftypes, 1024, 2, knames, bad, NULL};
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_dataset_init_layout(ds, &lay2, "s", "k", &err), BL_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.text, "swap group"));
    bl_dataset_free(ds);
}
END_TEST

/* Records of different salt cohorts (a birth-year typo) do not compare their
   salted fields at all: no evidence, instead of false disagreement. */
START_TEST(test_cohort_mismatch)
{
    static const uint8_t salted[NF] = {1, 1, 0, 0, 1, 0};
    bl_dataset *ds = NULL;
    ck_assert_int_eq(bl_dataset_new(&ds, NULL), BL_OK);
    bl_encfile_layout lay = {NF, fnames, fbits, ftypes, 1024, 2, knames, NULL, salted};
    ck_assert_int_eq(bl_dataset_init_layout(ds, &lay, "s", "k", NULL), BL_OK);
    toy a = {"JOSEPH", "ELLIS", "19321204", "M", "OX17 9US", "4894718588"};
    toy b = {"JOSEPH", "ELLIS", "19421204", "M", "OX19 9US", "4894718588"};
    toy_add(ds, "social_care", 1, &a);
    toy_add(ds, "social_care", 2, &b);
    bl_model *m = NULL;
    ck_assert_int_eq(bl_model_default(ds, &m, NULL), BL_OK);
    /* unknown cohorts (format 1.0 files): compared as before, and the toy
       salts by year, so the names disagree */
    uint64_t g = bl_compare_pair(ds, m, 0, 1);
    ck_assert_int_eq(bl_gamma_level(g, F_GIVEN), 1);
    ds->cohort[0] = 17;
    ds->cohort[1] = 42;
    g = bl_compare_pair(ds, m, 0, 1);
    ck_assert_int_eq(bl_gamma_level(g, F_GIVEN), 0);
    ck_assert_int_eq(bl_gamma_level(g, F_FAMILY), 0);
    ck_assert_int_eq(bl_gamma_level(g, F_POST), 0);
    ck_assert_int_eq(bl_gamma_level(g, F_NHS), (int)m->fields[F_NHS].nlevels - 1);
    ck_assert_int_gt(bl_gamma_level(g, F_DOB), 0);
    ds->cohort[1] = 17; /* one cohort: compared */
    g = bl_compare_pair(ds, m, 0, 1);
    ck_assert_int_gt(bl_gamma_level(g, F_GIVEN), 0);
    bl_model_free(m);
    bl_dataset_free(ds);
}
END_TEST

/* Identical salted filters are counted: agreeing on a rare value is worth
   more than agreeing on a common one, and the adjustment averages out. */
START_TEST(test_term_frequency)
{
    bl_dataset *ds = toy_dataset();
    for (uint32_t i = 0; i < 20; i++) {
        toy t = {"OLIVER", "SMITH", "20150101", "M", "", ""};
        toy_add(ds, "gp", i, &t);
    }
    toy r = {"PEREGRINE", "QUAYLE", "20150101", "M", "", ""};
    toy_add(ds, "gp", 100, &r);
    toy_add(ds, "education", 101, &r);
    for (uint32_t i = 0; i < 30; i++) {
        char g[16];
        snprintf(g, sizeof g, "N%uQ", i * 131u);
        toy t = {g, "OTHER", "19990101", "F", "", ""};
        toy_add(ds, "housing", 200 + i, &t);
    }
    ck_assert_int_eq(bl_dataset_term_frequencies(ds, NULL), BL_OK);
    ck_assert_uint_eq(ds->tf[F_GIVEN][0], 20);
    ck_assert_uint_eq(ds->tf[F_GIVEN][20], 2);
    bl_model *m = simple_model(ds);
    m->fields[F_GIVEN].tf = 1;
    int exact = (int)m->fields[F_GIVEN].nlevels - 1;
    double common = bl_model_tf_adjustment(m, ds, F_GIVEN, exact, 0);
    double rare = bl_model_tf_adjustment(m, ds, F_GIVEN, exact, 20);
    ck_assert_msg(rare > 0 && common < 0 && rare - common > 3, "rare %f common %f", rare, common);
    ck_assert(bl_model_tf_adjustment(m, ds, F_GIVEN, 1, 20) == 0.0); /* only on exact */
    /* the pair rate is the mean of the per-record rates */
    double N = (double)ds->tf_present[F_GIVEN], mean = 0;
    for (size_t i = 0; i < ds->n; i++)
        mean += ((double)ds->tf[F_GIVEN][i] - 1) / (N - 1);
    ck_assert(fabs(mean / N - ds->tf_pair_rate[F_GIVEN]) < 1e-12);
    bl_model_free(m);
    bl_dataset_free(ds);
}
END_TEST


static int cancel_now(void *user, const char *what, uint64_t done, uint64_t total)
{
    (void)what;
    (void)done;
    (void)total;
    (*(int *)user)++;
    return 1;
}

START_TEST(test_cancel)
{
    bl_dataset *ds = toy_dataset();
    toy a = {"ANN", "SMITH", "19800101", "F", "OX1 1AA", ""};
    for (uint32_t i = 0; i < 50; i++)
        toy_add(ds, "gp", i, &a);
    bl_match_options opt;
    bl_match_options_default(&opt);
    int calls = 0;
    bl_block_result r;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_block_candidates(ds, &opt, cancel_now, &calls, &r, &err), BL_ECANCELLED);
    ck_assert(calls >= 1);
    bl_model *m = NULL;
    ck_assert_int_eq(bl_model_default(ds, &m, NULL), BL_OK);
    bl_linkmap *lm = NULL;
    ck_assert_int_eq(bl_match_run(ds, m, &opt, cancel_now, &calls, &lm, NULL, NULL), BL_ECANCELLED);
    ck_assert_ptr_null(lm);
    bl_model_free(m);
    bl_dataset_free(ds);
}
END_TEST

/* ------------------------------------------------------------ link map */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_linkmap_roundtrip)
{
    bl_dataset *ds = toy_dataset();
    toy a = {"ALICE", "SMITH", "19900101", "F", "OX1 1AA", ""};
    for (uint32_t i = 0; i < 5; i++)
        toy_add(ds, i < 2 ? "gp" : "social_care", 1000 + i, &a);
    uint32_t entity[5] = {0, 0, 1, 2, 1};
    float best[5] = {0.99f, 0.99f, 0.95f, 0.0f, 0.95f};
    uint32_t esize[3] = {2, 2, 1};
    uint64_t eedges[3] = {1, 1, 0};
    bl_cluster_review rv[1] = {{0, 3, 1.5f, BL_REASON_GREY}};
    bl_cluster_result cr = {entity, best, 3, esize, eedges, rv, 1, 2, 0, 2};
    bl_linkmap *lm = NULL, *lm2 = NULL;
    ck_assert_int_eq(bl_linkmap_from_clusters(ds, &cr, &lm, NULL), BL_OK);
    char *dir = test_tmpdir();
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/links.csv", dir);
    snprintf(p2, sizeof p2, "%s/review.csv", dir);
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_linkmap_write_csv(lm, p1, &err), BL_OK);
    ck_assert_int_eq(bl_linkmap_write_review_csv(lm, p2, &err), BL_OK);
    FILE *f = fopen(p1, "r");
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "source,record_token,entity_id,match_probability,entity_size\n");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "gp,e8030000670000000000000000000000,1,0.990000,2\n");
    fclose(f);
    ck_assert_int_eq(bl_linkmap_read_csv(p1, p2, &lm2, &err), BL_OK);
    ck_assert_uint_eq(bl_linkmap_count(lm2), 5);
    for (size_t i = 0; i < 5; i++) {
        bl_linkmap_entry x, y;
        ck_assert_int_eq(bl_linkmap_get(lm, i, &x, NULL), BL_OK);
        ck_assert_int_eq(bl_linkmap_get(lm2, i, &y, NULL), BL_OK);
        ck_assert_str_eq(x.source, y.source);
        ck_assert_mem_eq(x.token, y.token, BL_TOKEN_BYTES);
        ck_assert_uint_eq(x.entity_id, y.entity_id);
        ck_assert_uint_eq(x.entity_size, y.entity_size);
        ck_assert(fabs(x.match_probability - y.match_probability) < 1e-6);
    }
    ck_assert_uint_eq(bl_linkmap_review_count(lm2), 1);
    bl_review_pair rp;
    ck_assert_int_eq(bl_linkmap_review_get(lm2, 0, &rp, NULL), BL_OK);
    ck_assert_str_eq(rp.reason, "grey-band");
    ck_assert_str_eq(rp.source_b, "social_care");
    ck_assert(fabs(rp.weight - 1.5) < 1e-4);
    char *js = NULL;
    ck_assert_int_eq(bl_linkmap_report_json(lm, &js, NULL), BL_OK);
    ck_assert_ptr_nonnull(strstr(js, "by_source_age_band"));
    ck_assert_ptr_nonnull(strstr(js, "\"20-29\""));
    ck_assert_ptr_nonnull(strstr(js, "\"link_density\""));
    free(js);
    char p3[512];
    snprintf(p3, sizeof p3, "%s/report.json", dir);
    ck_assert_int_eq(bl_linkmap_write_report(lm, p3, NULL), BL_OK);
    FILE *rf = fopen(p3, "r");
    ck_assert_ptr_nonnull(rf);
    fclose(rf);
    /* a malformed token names the line */
    write_text(p1, "source,record_token,entity_id,match_probability\ngp,zz,1,0.5\n");
    bl_linkmap_free(lm2);
    lm2 = NULL;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_linkmap_read_csv(p1, NULL, &lm2, &err), BL_EPARSE);
    ck_assert_int_eq(err.line, 2);
    bl_linkmap_free(lm);
    rm_rf(dir);
    free(dir);
    bl_dataset_free(ds);
}
END_TEST

/* ------------------------------------------------------------ evaluation */

START_TEST(test_evaluation_counts)
{
    /* persons: P1 = gp:a, sc:b, sc:c ; P2 = gp:d, sc:e ; P3 = gp:f
       entities: E1 = a, b ; E2 = c ; E3 = d, e, f (f wrongly merged) */
    char *dir = test_tmpdir();
    char truth[512], gpids[512], scids[512], links[512];
    snprintf(truth, sizeof truth, "%s/truth.csv", dir);
    snprintf(gpids, sizeof gpids, "%s/gp.ids", dir);
    snprintf(scids, sizeof scids, "%s/sc.ids", dir);
    snprintf(links, sizeof links, "%s/links.csv", dir);
    write_text(truth, "source,record_id,person_id\ngp,a,P1\nsocial_care,b,P1\nsocial_care,c,P1\n"
                      "gp,d,P2\nsocial_care,e,P2\ngp,f,P3\nhousing,z,P9\n");
    write_text(gpids, "record_id,record_token\na,000000000000000000000000000000aa\n"
                      "d,000000000000000000000000000000dd\nf,000000000000000000000000000000ff\n");
    write_text(scids, "record_id,record_token\nb,000000000000000000000000000000bb\n"
                      "c,000000000000000000000000000000cc\ne,000000000000000000000000000000ee\n");
    write_text(links, "source,record_token,entity_id,match_probability\n"
                      "gp,000000000000000000000000000000aa,1,0.99\n"
                      "social_care,000000000000000000000000000000bb,1,0.99\n"
                      "social_care,000000000000000000000000000000cc,2,0\n"
                      "gp,000000000000000000000000000000dd,3,0.95\n"
                      "social_care,000000000000000000000000000000ee,3,0.95\n"
                      "gp,000000000000000000000000000000ff,3,0.91\n");
    const char *srcs[2] = {"gp", "social_care"};
    const char *paths[2] = {gpids, scids};
    bl_evaluation *ev = NULL;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_msg(bl_evaluate_files(truth, srcs, paths, 2, links, &ev, &err) == BL_OK, "%s", err.text);
    bl_eval_counts c;
    bl_evaluation_overall(ev, &c);
    /* true pairs: P1: 3, P2: 1 -> 4; predicted: E1 1, E3 3 -> 4; tp: ab, de -> 2 */
    ck_assert_uint_eq(c.actual, 4);
    ck_assert_uint_eq(c.predicted, 4);
    ck_assert_uint_eq(c.true_positive, 2);
    ck_assert(fabs(c.precision - 0.5) < 1e-12 && fabs(c.recall - 0.5) < 1e-12);
    ck_assert_uint_eq(bl_evaluation_pair_count(ev), 3);
    int seen = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *nm = bl_evaluation_pair_name(ev, i);
        bl_evaluation_pair(ev, i, &c);
        if (!strcmp(nm, "gp-gp")) { /* predicted d-f, no true gp-gp pairs */
            ck_assert_uint_eq(c.predicted, 1);
            ck_assert_uint_eq(c.actual, 0);
            seen++;
        } else if (!strcmp(nm, "gp-social_care")) { /* true ab ac de; predicted ab de fe */
            ck_assert_uint_eq(c.actual, 3);
            ck_assert_uint_eq(c.predicted, 3);
            ck_assert_uint_eq(c.true_positive, 2);
            seen++;
        } else if (!strcmp(nm, "social_care-social_care")) { /* true bc */
            ck_assert_uint_eq(c.actual, 1);
            ck_assert_uint_eq(c.predicted, 0);
            seen++;
        }
    }
    ck_assert_int_eq(seen, 3);
    ck_assert_uint_eq(bl_evaluation_split_persons(ev), 1);   /* P1 */
    ck_assert_uint_eq(bl_evaluation_merged_entities(ev), 1); /* E3 */
    char *js = NULL;
    ck_assert_int_eq(bl_evaluation_to_json(ev, &js, NULL), BL_OK);
    ck_assert_ptr_nonnull(strstr(js, "\"by_source_pair\""));
    ck_assert_ptr_nonnull(strstr(js, "\"gp-social_care\""));
    free(js);
    bl_evaluation_free(ev);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------ end to end */

static const char *syll[] = {"AN", "BE", "CO", "DA", "EL", "FI", "GA", "HO", "IS", "JU", "KA",
                             "LI", "MO", "NA", "OR", "PE", "RA", "SI", "TO", "VA", "WI", "YU"};

static void make_name(uint64_t *rng, char *out, size_t n, int parts)
{
    out[0] = '\0';
    for (int i = 0; i < parts; i++) {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s", syll[bl_rng_below(rng, 22)]);
    }
}

static void typo(uint64_t *rng, char *s)
{
    size_t n = strlen(s);
    if (n > 2)
        s[1 + bl_rng_below(rng, n - 2)] = (char)('A' + bl_rng_below(rng, 26));
}

START_TEST(test_match_end_to_end)
{
    bl_dataset *ds = toy_dataset();
    uint64_t rng = 42;
    enum { P = 1500 };
    uint64_t person[3 * P];
    uint8_t srcidx[3 * P];
    size_t nrec = 0;
    for (uint32_t p = 0; p < P; p++) {
        char given[32], family[32], dob[16], post[16], nhs[16];
        make_name(&rng, given, sizeof given, 2 + (int)bl_rng_below(&rng, 2));
        make_name(&rng, family, sizeof family, 2 + (int)bl_rng_below(&rng, 2));
        snprintf(dob, sizeof dob, "%04u%02u%02u", 1930 + (unsigned)bl_rng_below(&rng, 80),
                 1 + (unsigned)bl_rng_below(&rng, 12), 1 + (unsigned)bl_rng_below(&rng, 28));
        snprintf(post, sizeof post, "OX%u %u%c%c", 1 + (unsigned)bl_rng_below(&rng, 9),
                 (unsigned)bl_rng_below(&rng, 10), 'A' + (int)bl_rng_below(&rng, 20),
                 'A' + (int)bl_rng_below(&rng, 20));
        snprintf(nhs, sizeof nhs, "%010llu", (unsigned long long)bl_rng_below(&rng, 10000000000ULL));
        const char *sex = bl_rng_below(&rng, 2) ? "M" : "F";
        static const char *srcs[3] = {"gp", "social_care", "housing"};
        for (int s = 0; s < 3; s++) {
            if (s > 0 && bl_rng_below(&rng, 10) < 4)
                continue;
            char g2[32], f2[32];
            snprintf(g2, sizeof g2, "%s", given);
            snprintf(f2, sizeof f2, "%s", family);
            if (s > 0 && bl_rng_below(&rng, 5) == 0)
                typo(&rng, g2);
            if (s > 0 && bl_rng_below(&rng, 6) == 0)
                typo(&rng, f2);
            toy t = {g2, f2, dob, sex, bl_rng_below(&rng, 5) ? post : "", s == 2 ? "" : nhs};
            toy_add(ds, srcs[s], (uint32_t)nrec, &t);
            person[nrec] = p;
            srcidx[nrec] = (uint8_t)s;
            nrec++;
        }
    }
    bl_model *m = NULL;
    ck_assert_int_eq(bl_model_default(ds, &m, NULL), BL_OK);
    bl_match_options opt;
    bl_match_options_default(&opt);
    opt.threads = 2;
    opt.u_sample_pairs = 200000;
    bl_linkmap *lm = NULL;
    bl_match_stats st;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_msg(bl_match_run(ds, m, &opt, NULL, NULL, &lm, &st, &err) == BL_OK, "%s", err.text);
    ck_assert(bl_model_is_trained(m));
    ck_assert(st.em_iterations > 0);
    ck_assert_uint_eq(bl_linkmap_count(lm), nrec);
    /* exact NHS agreement is strong evidence, disagreement counts against */
    bl_model_field *nf = &m->fields[F_NHS];
    ck_assert_msg(nf->w[nf->nlevels - 1] > 10, "nhs exact weight %f", nf->w[nf->nlevels - 1]);
    ck_assert(nf->w[1] < 0);
    uint64_t *entity = malloc(nrec * sizeof *entity);
    for (size_t i = 0; i < nrec; i++) {
        bl_linkmap_entry e;
        ck_assert_int_eq(bl_linkmap_get(lm, i, &e, NULL), BL_OK);
        entity[i] = e.entity_id;
    }
    const char *names[3] = {"gp", "social_care", "housing"};
    bl_evaluation *ev = NULL;
    ck_assert_int_eq(bl_evaluate_records(srcidx, person, entity, nrec, names, 3, &ev, NULL), BL_OK);
    bl_eval_counts c;
    bl_evaluation_overall(ev, &c);
    ck_assert_msg(c.f1 > 0.97, "F1 %f (precision %f, recall %f)", c.f1, c.precision, c.recall);
    /* explanation adds up to the weight */
    size_t a = 0, b = 1;
    bl_explanation ex;
    ck_assert_int_eq(bl_explain_pair(ds, m, a, b, &ex, NULL), BL_OK);
    double sum = ex.prior_weight + ex.related_adjustment;
    for (size_t f = 0; f < ex.field_count; f++)
        sum += ex.fields[f].weight + ex.fields[f].tf_adjustment;
    ck_assert(fabs(sum - ex.weight) < 1e-9);
    ck_assert_str_eq(ex.fields[F_GIVEN].field, "given_name");
    ck_assert(ex.probability > 0.9); /* person 0's gp and social care records */
    /* reuse the trained model: same links without retraining */
    bl_linkmap *lm2 = NULL;
    ck_assert_int_eq(bl_match_run(ds, m, &opt, NULL, NULL, &lm2, &st, NULL), BL_OK);
    ck_assert_int_eq(st.em_iterations, 0);
    for (size_t i = 0; i < nrec; i++) {
        bl_linkmap_entry x, y;
        ck_assert_int_eq(bl_linkmap_get(lm, i, &x, NULL), BL_OK);
        ck_assert_int_eq(bl_linkmap_get(lm2, i, &y, NULL), BL_OK);
        ck_assert_uint_eq(x.entity_id, y.entity_id);
    }
    free(entity);
    bl_evaluation_free(ev);
    bl_linkmap_free(lm);
    bl_linkmap_free(lm2);
    bl_model_free(m);
    bl_dataset_free(ds);
}
END_TEST

START_TEST(test_helpers)
{
    uint64_t v[1000];
    uint64_t rng = 7;
    for (int i = 0; i < 1000; i++)
        v[i] = bl_rng_below(&rng, 300) << (i % 2 ? 40 : 0);
    int oom = 0;
    size_t n = bl_sort_unique_u64(v, 1000, &oom);
    ck_assert(!oom);
    for (size_t i = 1; i < n; i++)
        ck_assert(v[i - 1] < v[i]);
    ck_assert(n <= 600 && n > 300);
    ck_assert_uint_eq(bl_pair_pack(5, 3), ((uint64_t)3 << 32) | 5);
    bl_match_options opt;
    bl_match_options_default(&opt);
    ck_assert(opt.threshold == 0.5 && opt.review_low == 0.1);
}
END_TEST

Suite *suite_match(void)
{
    Suite *s = suite_create("match");
    TCase *tc = tcase_create("match");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_helpers);
    tcase_add_test(tc, test_compare_levels);
    tcase_add_test(tc, test_swap_group);
    tcase_add_test(tc, test_cohort_mismatch);
    tcase_add_test(tc, test_em_known_mixture);
    tcase_add_test(tc, test_model_json_roundtrip);
    tcase_add_test(tc, test_em_latent_by_source_pair);
    tcase_add_test(tc, test_dataset_refuses_mismatch);
    tcase_add_test(tc, test_blocking_and_lsh);
    tcase_add_test(tc, test_cluster_weak_bridge);
    tcase_add_test(tc, test_cluster_unique_source_and_grey);
    tcase_add_test(tc, test_term_frequency);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_linkmap_roundtrip);
    tcase_add_test(tc, test_evaluation_counts);
    tcase_add_test(tc, test_match_end_to_end);
    suite_add_tcase(s, tc);
    return s;
}
