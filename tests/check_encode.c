/* check_encode.c - determinism, key dependence, typo tolerance, salting,
   an encoding pinned across versions and PRF kernels, counted rejections,
   and no partial output on failure. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encode.h"
#include "key.h"
#include "schema.h"
#include "tests.h"

static const char profile_json[] =
    "{\"source\":\"gp\",\"record_id\":\"Id\",\"fields\":{\"given_name\":\"Given\",\"family_name\":\"Family\","
    "\"dob\":{\"column\":\"DOB\",\"formats\":[\"%d/%m/%Y\"]},\"sex\":\"Sex\",\"postcode\":\"Postcode\","
    "\"nhs_number\":\"NHS\"},\"content\":[\"Event\"]}";
static const char *const cols[] = {"Id", "Given", "Family", "DOB", "Sex", "Postcode", "NHS", "Event"};
enum { NCOLS = 8 };

typedef struct fixture {
    bl_schema *schema;
    bl_profile *profile;
    bl_key *key;
    bl_encoder *enc;
} fixture;

static void setup(fixture *fx, uint8_t key_byte)
{
    uint8_t raw[32];
    memset(raw, key_byte, sizeof raw);
    ck_assert_int_eq(bl_schema_default(&fx->schema, NULL), BL_OK);
    ck_assert_int_eq(bl_profile_parse(profile_json, strlen(profile_json), "p", fx->schema, &fx->profile, NULL),
                     BL_OK);
    ck_assert_int_eq(bl_key_from_bytes(raw, 32, &fx->key, NULL), BL_OK);
    ck_assert_int_eq(bl_encoder_new(fx->schema, fx->profile, fx->key, &fx->enc, NULL), BL_OK);
    bl_encoder_set_today(fx->enc, 20240601);
}

static void teardown(fixture *fx)
{
    bl_encoder_free(fx->enc);
    bl_key_free(fx->key);
    bl_profile_free(fx->profile);
    bl_schema_free(fx->schema);
}

/* Copy of one encoded record, so two encodings can be compared. */
typedef struct copy {
    uint8_t token[16];
    uint32_t present;
    uint64_t f[7][8];
    uint64_t clk[16];
    uint64_t keys[6];
    uint16_t cohort;
} copy;

static void encode(fixture *fx, const char *id, const char *given, const char *family, const char *dob,
                   const char *sex, const char *pc, const char *nhs, copy *out, bl_encode_stats *st)
{
    const char *vals[NCOLS] = {id, given, family, dob, sex, pc, nhs, "e"};
    const bl_record_view *v;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_msg(bl_encoder_encode_row(fx->enc, cols, vals, NCOLS, &v, st, &err) == BL_OK, "%s", err.text);
    memset(out, 0, sizeof *out);
    memcpy(out->token, v->token, 16);
    out->present = v->present;
    out->cohort = v->cohort;
    for (int i = 0; i < 7; i++)
        memcpy(out->f[i], v->fields[i], bl_schema_field_bits(fx->schema, (size_t)i) / 8);
    memcpy(out->clk, v->clk, 128);
    memcpy(out->keys, v->blocking_keys, sizeof out->keys);
}

static double dice_field(const copy *a, const copy *b, int field, size_t bits)
{
    return bl_dice(a->f[field], b->f[field], bits / 64);
}

START_TEST(same_input_same_bytes_and_key_changes_every_filter)
{
    fixture fx, fy, fz;
    setup(&fx, 7);
    setup(&fy, 7);
    setup(&fz, 8);
    copy a, b, c;
    encode(&fx, "1", "Zoë", "O'Brien", "05/03/1987", "F", "OX1 2JD", "943 476 5919", &a, NULL);
    encode(&fy, "1", "Zoë", "O'Brien", "05/03/1987", "F", "OX1 2JD", "943 476 5919", &b, NULL);
    encode(&fz, "1", "Zoë", "O'Brien", "05/03/1987", "F", "OX1 2JD", "943 476 5919", &c, NULL);
    ck_assert_mem_eq(&a, &b, sizeof a);
    ck_assert_uint_eq(a.present, 0x7f);
    ck_assert_mem_ne(a.token, c.token, 16);
    for (int i = 0; i < 7; i++) {
        size_t bits = bl_schema_field_bits(fx.schema, (size_t)i);
        ck_assert_msg(memcmp(a.f[i], c.f[i], bits / 8) != 0, "field %d unchanged by the key", i);
        /* no more alike than chance: a different key is a different encoding */
        ck_assert_msg(dice_field(&a, &c, i, bits) < 0.5, "field %d dice %.2f across keys", i,
                      dice_field(&a, &c, i, bits));
    }
    ck_assert_mem_ne(a.clk, c.clk, 128);
    for (int k = 0; k < 5; k++)
        ck_assert(a.keys[k] != c.keys[k] && a.keys[k] != 0);
    teardown(&fx);
    teardown(&fy);
    teardown(&fz);
}
END_TEST

START_TEST(typo_keeps_high_dice)
{
    fixture fx;
    setup(&fx, 1);
    copy a, b, c;
    encode(&fx, "1", "Jonathan", "Richardson", "01/02/1970", "M", "OX4 1AA", "", &a, NULL);
    encode(&fx, "2", "Jonathon", "Richardsen", "01/02/1970", "M", "OX4 1AB", "", &b, NULL);
    encode(&fx, "3", "Priya", "Patel", "01/02/1970", "F", "OX2 9QZ", "", &c, NULL);
    ck_assert_double_ge(dice_field(&a, &b, 0, 512), 0.7);
    ck_assert_double_ge(dice_field(&a, &b, 1, 512), 0.7);
    ck_assert_double_ge(dice_field(&a, &b, 4, 256), 0.6);
    ck_assert_double_lt(dice_field(&a, &c, 0, 512), 0.3);
    ck_assert_double_lt(dice_field(&a, &c, 1, 512), 0.3);
    /* identical dob: identical filter */
    ck_assert_double_eq(dice_field(&a, &b, 2, 256), 1.0);
    ck_assert_double_ge(bl_dice(a.clk, b.clk, 16), 0.7);
    teardown(&fx);
}
END_TEST

/* A day typo must not cost a record its names: the year of "31/02/1990"
   still salts them (identical to a valid 1990 date's), while the date stays
   missing.  A two-digit or future year is not salvaged. */
START_TEST(invalid_date_keeps_its_year_for_salting)
{
    fixture fx;
    setup(&fx, 5);
    bl_encode_stats st;
    memset(&st, 0, sizeof st);
    copy a, b, c;
    encode(&fx, "1", "Ann", "Lee", "31/02/1990", "F", "OX4 1AA", "", &a, &st);
    encode(&fx, "2", "Ann", "Lee", "01/03/1990", "F", "OX4 1AA", "", &b, NULL);
    encode(&fx, "3", "Ann", "Lee", "01/03/1991", "F", "OX4 1AA", "", &c, NULL);
    ck_assert_uint_eq(st.invalid_date, 1);
    ck_assert_uint_eq(st.salvaged_year, 1);
    ck_assert_uint_eq(st.missing_salt, 0);
    ck_assert_uint_eq(a.present & (1u << 2), 0); /* the date itself stays missing */
    ck_assert(a.present & 1u);
    ck_assert_double_eq(dice_field(&a, &b, 0, 512), 1.0);
    ck_assert_double_eq(dice_field(&a, &b, 1, 512), 1.0);
    ck_assert_double_lt(dice_field(&a, &c, 0, 512), 0.35);
    ck_assert(a.keys[1] == b.keys[1] && a.keys[1] != 0); /* family_sdx_yob blocks them too */
    ck_assert(a.cohort == b.cohort && a.cohort != 0);      /* one salt cohort */
    ck_assert(a.cohort != c.cohort && c.cohort != 0);
    memset(&st, 0, sizeof st);
    encode(&fx, "4", "Ann", "Lee", "31/02/2090", "F", "", "", &a, &st);
    ck_assert_uint_eq(st.salvaged_year, 0);
    ck_assert_uint_eq(st.missing_salt, 1);
    /* the "unknown" default date is no date: no 1900 salt, no dob filter */
    memset(&st, 0, sizeof st);
    encode(&fx, "5", "Ann", "Lee", "01/01/1900", "F", "", "", &a, &st);
    ck_assert_uint_eq(st.placeholder_date, 1);
    ck_assert_uint_eq(st.missing_salt, 1);
    ck_assert_uint_eq(a.present & 7u, 0);
    teardown(&fx);
}
END_TEST

/* Without a birth year the names are withheld, but the identity field (a
   keyed hash of given name, family name and postcode district together)
   still shows whether two records agree on all three. */
START_TEST(identity_field_without_birth_year)
{
    fixture fx;
    setup(&fx, 7);
    bl_encode_stats st;
    memset(&st, 0, sizeof st);
    copy a, b, c, d;
    encode(&fx, "1", "Angus", "Haselhurst", "", "M", "OX2 7SB", "", &a, &st);
    encode(&fx, "2", "ANGUS", "HASELHURST", "07/03/2013", "M", "OX2 7AA", "", &b, NULL);
    encode(&fx, "3", "Angus", "Haselhurst", "07/03/2013", "M", "OX4 1AA", "", &c, NULL);
    encode(&fx, "4", "Angus", "Hazelhurst", "07/03/2013", "M", "OX2 7SB", "", &d, NULL);
    ck_assert_uint_eq(st.missing_salt, 1);
    ck_assert_uint_eq(a.present, (1u << 3) | (1u << 6)); /* sex and identity only */
    ck_assert_int_eq(memcmp(a.f[6], b.f[6], 16), 0);
    ck_assert_double_lt(dice_field(&a, &c, 6, 128), 0.5); /* another district */
    ck_assert_double_lt(dice_field(&a, &d, 6, 128), 0.5); /* one letter differs: no partial credit */
    teardown(&fx);
}
END_TEST

/* XOR folding halves a filter; balancing stores it with its complement under
   a keyed permutation, so every value sets exactly half the bits.  Both keep
   determinism, similar values similar, and change with the key. */
START_TEST(xor_fold_and_balance_options)
{
    static const char schema_json[] =
        "{\"bloomlink_schema\":1,\"hardening\":{\"salt\":\"year(dob)\"},\"clk\":{\"bits\":256},\"fields\":["
        "{\"name\":\"given_name\",\"type\":\"name\",\"bits\":512,\"hashes\":8,\"salted\":true,\"xor_folds\":1},"
        "{\"name\":\"family_name\",\"type\":\"name\",\"bits\":256,\"hashes\":8,\"salted\":true,\"balanced\":true},"
        "{\"name\":\"dob\",\"type\":\"date\",\"bits\":256,\"hashes\":8}]}";
    static const char prof[] =
        "{\"source\":\"gp\",\"record_id\":\"Id\",\"fields\":{\"given_name\":\"Given\",\"family_name\":\"Family\","
        "\"dob\":{\"column\":\"DOB\",\"formats\":[\"%d/%m/%Y\"]}}}";
    static const char *const c3[] = {"Id", "Given", "Family", "DOB"};
    bl_schema *schema = NULL;
    bl_profile *profile = NULL;
    ck_assert_int_eq(bl_schema_parse(schema_json, strlen(schema_json), "s", &schema, NULL), BL_OK);
    ck_assert_uint_eq(bl_schema_field_bits(schema, 0), 256); /* folded once */
    ck_assert_uint_eq(bl_schema_field_bits(schema, 1), 512); /* doubled */
    ck_assert_int_eq(bl_profile_parse(prof, strlen(prof), "p", schema, &profile, NULL), BL_OK);
    uint64_t out[2][3][8];
    for (int k = 0; k < 2; k++) {
        uint8_t raw[32];
        memset(raw, 9 + k, sizeof raw);
        bl_key *key = NULL;
        bl_encoder *enc = NULL;
        ck_assert_int_eq(bl_key_from_bytes(raw, 32, &key, NULL), BL_OK);
        ck_assert_int_eq(bl_encoder_new(schema, profile, key, &enc, NULL), BL_OK);
        static const char *const rows[3][4] = {{"1", "Jonathan", "Richardson", "01/02/1970"},
                                               {"2", "Jonathon", "Richardsen", "01/02/1970"},
                                               {"3", "Priya", "Patel", "01/02/1970"}};
        for (int r = 0; r < 3; r++) {
            const bl_record_view *v;
            ck_assert_int_eq(bl_encoder_encode_row(enc, c3, (const char *const *)rows[r], 4, &v, NULL, NULL),
                             BL_OK);
            memcpy(out[k][r], v->fields[1], 64);
            /* the date filter, next to the transformed names, keeps its own
               bits: 4 date tokens x 8 hashes at most */
            ck_assert_uint_le(bl_popcount(v->fields[2], 4), 32);
            ck_assert_uint_ge(bl_popcount(v->fields[2], 4), 16);
            ck_assert_uint_eq(bl_popcount(v->fields[1], 8), 256); /* balanced: exactly half */
            ck_assert_uint_le(bl_popcount(v->fields[0], 4), 64);
            if (r == 0)
                ck_assert_uint_gt(bl_popcount(v->fields[0], 4), 8);
        }
        /* a typo stays closer than another name, balanced or not */
        double typo = bl_dice(out[k][0], out[k][1], 8), other = bl_dice(out[k][0], out[k][2], 8);
        ck_assert_msg(typo > other + 0.1, "balanced typo %.3f vs other %.3f", typo, other);
        bl_encoder_free(enc);
        bl_key_free(key);
    }
    ck_assert_int_ne(memcmp(out[0][0], out[1][0], 64), 0); /* the permutation is keyed */
    bl_profile_free(profile);
    bl_schema_free(schema);
    /* folding below 64 bits is refused with the path */
    static const char bad[] = "{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},\"fields\":["
                              "{\"name\":\"n\",\"type\":\"name\",\"bits\":128,\"hashes\":4,\"xor_folds\":2}]}";
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_schema_parse(bad, strlen(bad), "s", &schema, &err), BL_ESCHEMA);
    ck_assert_str_eq(err.field, "fields[0].xor_folds");
}
END_TEST

/* The default given name keeps its first word only, and given and family
   names share hashing (one swap group), so a swapped record's given-name
   filter equals the other's family-name filter. */
START_TEST(first_word_and_swap_group)
{
    fixture fx;
    setup(&fx, 6);
    copy a, b, c;
    encode(&fx, "1", "Mark Wayne", "Smith", "21/05/1981", "M", "", "", &a, NULL);
    encode(&fx, "2", "Mark", "Smith", "21/05/1981", "M", "", "", &b, NULL);
    encode(&fx, "3", "Smith", "Mark", "21/05/1981", "M", "", "", &c, NULL);
    ck_assert_double_eq(dice_field(&a, &b, 0, 512), 1.0);
    ck_assert_int_eq(memcmp(b.f[0], c.f[1], 64), 0);
    ck_assert_int_eq(memcmp(b.f[1], c.f[0], 64), 0);
    ck_assert_double_lt(dice_field(&b, &c, 0, 512), 0.35); /* uncrossed they disagree */
    teardown(&fx);
}
END_TEST

/* Under the default schema, the same name with different birth years must
   look like an unrelated name: unsalted, the Dice would be exactly 1. */
START_TEST(salting_separates_birth_years)
{
    fixture fx;
    setup(&fx, 3);
    static const char *const names[] = {"Oliver", "Amelia", "Mohammed", "Olivia", "George", "Isla"};
    double worst_same = 0, worst_unrelated = 0;
    for (int n = 0; n < 6; n++) {
        copy a, b, c;
        encode(&fx, "1", names[n], "Smith", "01/01/1980", "M", "OX1 1AA", "", &a, NULL);
        encode(&fx, "2", names[n], "Smith", "01/01/1981", "M", "OX1 1AA", "", &b, NULL);
        encode(&fx, "3", names[(n + 1) % 6], "Jones", "01/01/1980", "M", "OX1 1AA", "", &c, NULL);
        double same = dice_field(&a, &b, 0, 512), unrelated = dice_field(&a, &c, 0, 512);
        worst_same = same > worst_same ? same : worst_same;
        worst_unrelated = unrelated > worst_unrelated ? unrelated : worst_unrelated;
        ck_assert_double_lt(dice_field(&a, &b, 1, 512), 0.35); /* family name too */
        ck_assert_double_lt(bl_dice(a.clk, b.clk, 16), 0.5);   /* and the CLK */
    }
    ck_assert_msg(worst_same < 0.35, "same name, other year: dice %.2f", worst_same);
    ck_assert_msg(worst_same <= worst_unrelated + 0.15, "salted %.2f vs unrelated %.2f", worst_same,
                  worst_unrelated);
    teardown(&fx);
}
END_TEST

START_TEST(missing_salt_withholds_and_invalid_values_counted)
{
    fixture fx;
    setup(&fx, 4);
    bl_encode_stats st;
    memset(&st, 0, sizeof st);
    copy a;
    encode(&fx, "1", "Ann", "Lee", "31/02/90", "X9", "NOT A PC", "9434765918", &a, &st);
    ck_assert_uint_eq(st.invalid_date, 1);
    ck_assert_uint_eq(st.salvaged_year, 0); /* no four-digit year to keep */
    ck_assert_uint_eq(st.invalid_sex, 1);
    ck_assert_uint_eq(st.invalid_postcode, 1);
    ck_assert_uint_eq(st.invalid_nhs_number, 1);
    ck_assert_uint_eq(st.missing_salt, 1);
    ck_assert_uint_eq(a.present, 0); /* nothing unsalted leaks; bad values are missing */
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(a.clk[i], 0);
    encode(&fx, "2", "Ann", "Lee", "01/02/2030", "F", "", "", &a, &st);
    ck_assert_uint_eq(st.future_date, 1);
    teardown(&fx);
}
END_TEST

START_TEST(record_tokens_depend_on_source_and_id)
{
    fixture fx;
    setup(&fx, 5);
    char t1[33], t2[33], t3[33];
    ck_assert_int_eq(bl_encoder_record_token(fx.enc, "123", t1, NULL), BL_OK);
    ck_assert_int_eq(bl_encoder_record_token(fx.enc, "1234", t2, NULL), BL_OK);
    ck_assert_int_eq(bl_encoder_record_token(fx.enc, "123", t3, NULL), BL_OK);
    ck_assert_str_ne(t1, t2);
    ck_assert_str_eq(t1, t3);
    ck_assert_uint_eq(strlen(t1), 32);
    ck_assert_int_eq(bl_encoder_record_token(fx.enc, "", t1, NULL), BL_EMISUSE);
    teardown(&fx);
}
END_TEST

/* Rows for the pinned encoding: ordinary records, a record id longer than
   one hash block, a missing birth date (salted fields withheld), invalid
   values, long and punctuated names. */
static const char *const pinned_rows[][7] = {
    {"1000000", "Jack", "Tarr", "11/12/2015", "M", "OX3 9AB", "6832415001"},
    {"1000012", "Max", "Sims", "16/06/2006", "M", "OX17 7HY", "4088268776"},
    {"g-77", "Mary-Jane", "O'Neill Smith", "01/01/1950", "F", "OX1 1AA", ""},
    {"a-very-long-record-identifier-that-is-longer-than-one-sha256-block-0123456789-abcdef",
     "Anne", "Li", "29/02/1988", "F", "OX4 2EX", "9434765919"},
    {"no-dob", "Zoe", "Quinn", "", "F", "OX2 6HN", "9434765870"},
    {"bad-values", "X", "Y", "31/02/2001", "U", "NOT A PC", "1234567890"},
    {"x", "Bartholomew", "Featherstonehaugh-Cholmondeley", "15/08/1972", "M", "OX33 1ZZ",
     "4010232137"},
};

/* SHA-256 over every byte the pinned rows encode to (token, present, sex,
   age band, field filters, CLK, blocking keys), encoding the set `passes`
   times so that later passes come from the PRF cache. */
static void pinned_digest(fixture *fx, int passes, uint8_t out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
    for (int pass = 0; pass < passes; pass++)
        for (size_t r = 0; r < sizeof pinned_rows / sizeof pinned_rows[0]; r++) {
            const char *vals[NCOLS];
            for (int j = 0; j < 7; j++)
                vals[j] = pinned_rows[r][j];
            vals[7] = "e";
            const bl_record_view *v;
            bl_error err;
            bl_error_clear(&err);
            ck_assert_msg(bl_encoder_encode_row(fx->enc, cols, vals, NCOLS, &v, NULL, &err) == BL_OK,
                          "%s", err.text);
            EVP_DigestUpdate(c, v->token, 16);
            EVP_DigestUpdate(c, &v->present, 4);
            EVP_DigestUpdate(c, &v->sex, 1);
            EVP_DigestUpdate(c, &v->age_band, 1);
            EVP_DigestUpdate(c, &v->cohort, 2);
            size_t nf = bl_schema_field_count(fx->schema), nk = bl_schema_blocking_key_count(fx->schema);
            for (size_t i = 0; i < nf; i++)
                EVP_DigestUpdate(c, v->fields[i], bl_schema_field_bits(fx->schema, i) / 8);
            EVP_DigestUpdate(c, v->clk, 128);
            EVP_DigestUpdate(c, v->blocking_keys, nk * 8);
        }
    unsigned len = 0;
    ck_assert_int_eq(EVP_DigestFinal_ex(c, out, &len), 1);
    ck_assert_uint_eq(len, 32);
    EVP_MD_CTX_free(c);
}

/*
 * The encoding is part of the file format: the same rows under the same key
 * must give the same bytes in every version and with every PRF kernel.  The
 * digest is of the 1.1 default schema (swap group, identity field, cohort
 * tag); the batched HMAC kernels were checked byte for byte against the
 * encoder before them (OpenSSL's SHA256_* with a 32 MiB cache) on 99,461
 * synthetic GP records.  A change here breaks linkage against every .ble
 * file already written.
 */
START_TEST(encoding_pinned_for_every_prf_kernel)
{
    static const char pinned[] = "6c17f24baf6ff93fd076c30e7bc0d525d74721a75bf25a77f3a484143c49e1ed";
    uint8_t raw[32];
    for (int i = 0; i < 32; i++)
        raw[i] = (uint8_t)(0xa0 + i);
    int ran = 0;
    for (size_t k = 0; bl_prf_kernel_at(k); k++) {
        const char *name = bl_prf_kernel_at(k);
        if (!bl_prf_kernel_available(name)) {
            fprintf(stderr, "skip encoding with PRF kernel %s: this CPU lacks it\n", name);
            continue;
        }
        ck_assert_int_eq(bl_set_prf_kernel(name, NULL), BL_OK);
        fixture fx;
        ck_assert_int_eq(bl_schema_default(&fx.schema, NULL), BL_OK);
        ck_assert_int_eq(bl_profile_parse(profile_json, strlen(profile_json), "p", fx.schema,
                                          &fx.profile, NULL),
                         BL_OK);
        ck_assert_int_eq(bl_key_from_bytes(raw, 32, &fx.key, NULL), BL_OK);
        ck_assert_int_eq(bl_encoder_new(fx.schema, fx.profile, fx.key, &fx.enc, NULL), BL_OK);
        bl_encoder_set_today(fx.enc, 20240601);
        uint8_t d[32];
        char hex[65];
        pinned_digest(&fx, 1, d);
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        ck_assert_msg(!strcmp(hex, pinned), "PRF kernel %s: encoding digest %s", name, hex);
        /* Twice more from the same encoder: cache hits give the same bytes. */
        uint8_t d1[32], d2[32];
        pinned_digest(&fx, 1, d1);
        pinned_digest(&fx, 1, d2);
        ck_assert(!memcmp(d1, d, 32) && !memcmp(d2, d, 32));
        teardown(&fx);
        ran++;
    }
    ck_assert_int_ge(ran, 1);
    ck_assert_int_eq(bl_set_prf_kernel("auto", NULL), BL_OK);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(csv_errors_and_no_partial_outputs)
{
    fixture fx;
    setup(&fx, 6);
    char *dir = test_tmpdir();
    char in[4096], out[4096], content[4096], ids[4096];
    snprintf(in, sizeof in, "%s/in.csv", dir);
    snprintf(out, sizeof out, "%s/out.ble", dir);
    snprintf(content, sizeof content, "%s/content.csv", dir);
    snprintf(ids, sizeof ids, "%s/ids.csv", dir);
    /* A short row on line 3 names its line; no output remains. */
    write_file(in, "Id,Given,Family,DOB,Sex,Postcode,NHS,Event\n1,A,B,01/01/1990,F,OX1 1AA,,x\n2,A,B\n");
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_encoder_encode_csv(fx.enc, in, out, content, ids, NULL, NULL, NULL, &err), BL_EPARSE);
    ck_assert_int_eq(err.line, 3);
    ck_assert_str_eq(err.source, in);
    ck_assert_int_ne(access(out, F_OK), 0);
    ck_assert_int_ne(access(content, F_OK), 0);
    ck_assert_int_ne(access(ids, F_OK), 0);
    /* A missing column names the column. */
    write_file(in, "Id,Given,Family,DOB,Sex,Postcode,Event\n");
    bl_error_clear(&err);
    ck_assert_int_eq(bl_encoder_encode_csv(fx.enc, in, out, NULL, NULL, NULL, NULL, NULL, &err), BL_ENOTFOUND);
    ck_assert_str_eq(err.field, "NHS");
    /* Disk full midway: nothing left behind. */
    FILE *f = fopen(in, "w");
    fputs("Id,Given,Family,DOB,Sex,Postcode,NHS,Event\n", f);
    for (int i = 0; i < 20000; i++)
        fprintf(f, "%d,Name%d,Family%d,01/01/1990,F,OX1 1AA,,x\n", i, i % 97, i % 31);
    fclose(f);
    bl_encoder_inject_enospc(fx.enc, 100000);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_encoder_encode_csv(fx.enc, in, out, content, ids, NULL, NULL, NULL, &err), BL_EIO);
    ck_assert_ptr_nonnull(strstr(err.text, "No space"));
    ck_assert_int_ne(access(out, F_OK), 0);
    ck_assert_int_ne(access(content, F_OK), 0);
    ck_assert_int_ne(access(ids, F_OK), 0);
    /* And the directory holds no temp files either. */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep -v '^in.csv$')\"", dir);
    ck_assert_int_eq(system(cmd), 0);
    bl_encoder_inject_enospc(fx.enc, 0);
    bl_encode_stats st;
    ck_assert_int_eq(bl_encoder_encode_csv(fx.enc, in, out, content, ids, NULL, NULL, &st, NULL), BL_OK);
    ck_assert_uint_eq(st.records_encoded, 20000);
    ck_assert_int_eq(access(out, F_OK), 0);
    rm_rf(dir);
    free(dir);
    teardown(&fx);
}
END_TEST

START_TEST(content_file_has_token_content_and_derived_columns)
{
    bl_schema *schema;
    bl_profile *profile;
    bl_key *key;
    bl_encoder *enc;
    uint8_t raw[32] = {9};
    const char pj[] = "{\"source\":\"gp\",\"record_id\":\"Id\",\"fields\":{\"given_name\":\"Given\","
                      "\"dob\":{\"column\":\"DOB\",\"formats\":[\"%d/%m/%Y\"]},\"sex\":\"Sex\"},"
                      "\"content\":[\"Event\"],\"derived_content\":[\"BirthYear\",\"Sex\"]}";
    ck_assert_int_eq(bl_schema_default(&schema, NULL), BL_OK);
    ck_assert_int_eq(bl_profile_parse(pj, strlen(pj), "p", schema, &profile, NULL), BL_OK);
    ck_assert_int_eq(bl_key_from_bytes(raw, 32, &key, NULL), BL_OK);
    ck_assert_int_eq(bl_encoder_new(schema, profile, key, &enc, NULL), BL_OK);
    char *dir = test_tmpdir();
    char in[4096], out[4096], content[4096];
    snprintf(in, sizeof in, "%s/in.csv", dir);
    snprintf(out, sizeof out, "%s/out.ble", dir);
    snprintf(content, sizeof content, "%s/content.csv", dir);
    write_file(in, "Id,Given,DOB,Sex,Event\n7,Ann,02/03/1961,Female,\"a, b\"\n8,Bo,31/02/1961,X,c\n");
    ck_assert_int_eq(bl_encoder_encode_csv(enc, in, out, content, NULL, NULL, NULL, NULL, NULL), BL_OK);
    char tok7[33], tok8[33], want[512];
    ck_assert_int_eq(bl_encoder_record_token(enc, "7", tok7, NULL), BL_OK);
    ck_assert_int_eq(bl_encoder_record_token(enc, "8", tok8, NULL), BL_OK);
    snprintf(want, sizeof want, "record_token,Event,BirthYear,Sex\n%s,\"a, b\",1961,F\n%s,c,,\n", tok7, tok8);
    FILE *f = fopen(content, "r");
    char got[512] = "";
    size_t n = fread(got, 1, sizeof got - 1, f);
    got[n] = '\0';
    fclose(f);
    ck_assert_str_eq(got, want); /* no name, no DOB; invalid values derive nothing */
    rm_rf(dir);
    free(dir);
    bl_encoder_free(enc);
    bl_key_free(key);
    bl_profile_free(profile);
    bl_schema_free(schema);
}
END_TEST

/* A record id seen before is rejected and counted, the first row kept;
   enough rows that the seen-set grows (and re-places its entries) twice. */
START_TEST(duplicate_record_ids_keep_the_first)
{
    fixture fx;
    setup(&fx, 8);
    char *dir = test_tmpdir();
    char in[4096], out[4096], ids[4096];
    snprintf(in, sizeof in, "%s/in.csv", dir);
    snprintf(out, sizeof out, "%s/out.ble", dir);
    snprintf(ids, sizeof ids, "%s/ids.csv", dir);
    enum { ROWS = 70000 };
    FILE *f = fopen(in, "w");
    ck_assert_ptr_nonnull(f);
    fputs("Id,Given,Family,DOB,Sex,Postcode,NHS,Event\n", f);
    for (int i = 0; i < ROWS; i++) {
        /* Every 7th row repeats the id of a row 5,000 or 60,000 rows back. */
        int id = i % 7 == 6 && i >= 60000 ? i - 60000 : i % 7 == 6 && i >= 5000 ? i - 5000 : i;
        fprintf(f, "r%d,Name%d,Family%d,01/01/1990,F,OX1 1AA,,x\n", id, i % 97, i % 31);
    }
    fclose(f);
    int dups = 0;
    for (int i = 0; i < ROWS; i++)
        dups += i % 7 == 6 && i >= 5000;
    bl_encode_stats st;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_msg(bl_encoder_encode_csv(fx.enc, in, out, NULL, ids, NULL, NULL, &st, &err) == BL_OK,
                  "%s", err.text);
    ck_assert_uint_eq(st.records_read, ROWS);
    ck_assert_uint_eq(st.duplicate_record_id, (uint64_t)dups);
    ck_assert_uint_eq(st.records_rejected, (uint64_t)dups);
    ck_assert_uint_eq(st.records_encoded, (uint64_t)(ROWS - dups));
    /* The id map lists each kept id once. */
    f = fopen(ids, "r");
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    int n = 0;
    while (fgets(line, sizeof line, f))
        n++;
    fclose(f);
    ck_assert_int_eq(n, ROWS - dups);
    rm_rf(dir);
    free(dir);
    teardown(&fx);
}
END_TEST

Suite *suite_encode(void)
{
    Suite *s = suite_create("encode");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, same_input_same_bytes_and_key_changes_every_filter);
    tcase_add_test(tc, typo_keeps_high_dice);
    tcase_add_test(tc, salting_separates_birth_years);
    tcase_add_test(tc, missing_salt_withholds_and_invalid_values_counted);
    tcase_add_test(tc, invalid_date_keeps_its_year_for_salting);
    tcase_add_test(tc, first_word_and_swap_group);
    tcase_add_test(tc, identity_field_without_birth_year);
    tcase_add_test(tc, xor_fold_and_balance_options);
    tcase_add_test(tc, record_tokens_depend_on_source_and_id);
    tcase_add_test(tc, encoding_pinned_for_every_prf_kernel);
    tcase_add_test(tc, csv_errors_and_no_partial_outputs);
    tcase_add_test(tc, content_file_has_token_content_and_derived_columns);
    tcase_add_test(tc, duplicate_record_ids_keep_the_first);
    suite_add_tcase(s, tc);
    return s;
}
