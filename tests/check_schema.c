/* check_schema.c - schema and profile parsing, canonical form, fingerprints. */
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "schema.h"
#include "tests.h"

START_TEST(default_schema_parses)
{
    bl_schema *s;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_schema_default(&s, &err), BL_OK);
    ck_assert_uint_eq(bl_schema_field_count(s), 7);
    ck_assert_str_eq(bl_schema_field_name(s, 0), "given_name");
    ck_assert_uint_eq(bl_schema_clk_bits(s), 1024);
    /* hardened by default: names salted by birth year */
    ck_assert_int_eq(s->salt_field, bl_schema_field_index(s, "dob"));
    ck_assert(s->fields[bl_schema_field_index(s, "given_name")].salted);
    ck_assert(s->fields[bl_schema_field_index(s, "family_name")].salted);
    ck_assert_uint_eq(bl_schema_blocking_key_count(s), 6);
    bl_schema_free(s);
}
END_TEST

START_TEST(fingerprint_ignores_layout_not_content)
{
    const char *a = "{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},"
                    "\"fields\":[{\"name\":\"n\",\"type\":\"name\",\"bits\":128,\"hashes\":4}]}";
    const char *b = "{ \"fields\": [ { \"hashes\": 4, \"bits\": 128, \"type\": \"name\", \"name\": \"n\" } ],\n"
                    "  \"hardening\": {\"salt\": null}, \"bloomlink_schema\": 1 }";
    const char *c = "{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},"
                    "\"fields\":[{\"name\":\"n\",\"type\":\"name\",\"bits\":128,\"hashes\":5}]}";
    bl_schema *sa, *sb, *sc;
    ck_assert_int_eq(bl_schema_parse(a, strlen(a), "a", &sa, NULL), BL_OK);
    ck_assert_int_eq(bl_schema_parse(b, strlen(b), "b", &sb, NULL), BL_OK);
    ck_assert_int_eq(bl_schema_parse(c, strlen(c), "c", &sc, NULL), BL_OK);
    char fa[65], fb[65], fc[65];
    bl_schema_fingerprint(sa, fa);
    bl_schema_fingerprint(sb, fb);
    bl_schema_fingerprint(sc, fc);
    ck_assert_str_eq(fa, fb);
    ck_assert_str_ne(fa, fc);
    bl_schema_free(sa);
    bl_schema_free(sb);
    bl_schema_free(sc);
}
END_TEST

static const struct {
    const char *json, *field, *text;
    int code;
} bad_schemas[] = {
    {"{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},\"fields\":[{\"name\":\"n\",\"type\":\"name\",\"bits\":100,\"hashes\":4}]}",
     "fields[0].bits", "multiple of 64", BL_ESCHEMA},
    {"{\"bloomlink_schema\":1,\"fields\":[{\"name\":\"n\",\"type\":\"name\",\"bits\":128,\"hashes\":4}]}",
     "hardening", "required", BL_ESCHEMA},
    {"{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},\"fields\":[{\"name\":\"n\",\"type\":\"name\",\"bits\":128,\"hashes\":4,\"salted\":true}]}",
     "fields[0].salted", "hardening.salt is null", BL_ESCHEMA},
    {"{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},\"fields\":[{\"name\":\"n\",\"type\":\"nme\",\"bits\":128,\"hashes\":4}]}",
     "fields[0]", "\"type\" must be", BL_ESCHEMA},
    {"{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},\"fields\":[{\"name\":\"n\",\"type\":\"name\",\"bits\":128,\"hashes\":4,\"salt_ed\":true}]}",
     "fields[0].salt_ed", "unknown key", BL_ESCHEMA},
    {"{\"bloomlink_schema\":2,\"hardening\":{\"salt\":null},\"fields\":[]}", "bloomlink_schema",
     "not supported", BL_EUNSUPPORTED},
    {"{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},\"fields\":[{\"name\":\"n\",\"type\":\"name\",\"bits\":128,\"hashes\":4}],"
     "\"blocking_keys\":[{\"name\":\"k\",\"parts\":[\"soundex(x)\"]}]}",
     "blocking_keys[0].parts[0]", "unknown field 'x'", BL_ESCHEMA},
    {"{\"bloomlink_schema\":1,\"hardening\":{\"salt\":\"year(n)\"},\"fields\":[{\"name\":\"n\",\"type\":\"name\",\"bits\":128,\"hashes\":4}]}",
     "hardening.salt", "needs a date field", BL_ESCHEMA},
    {"{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},\"fields\":[{\"name\":\"d\",\"type\":\"date\",\"bits\":128,\"hashes\":4,\"first_word\":true}]}",
     "fields[0].first_word", "only name fields", BL_ESCHEMA},
    {"{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},\"fields\":[{\"name\":\"n\",\"type\":\"name\",\"bits\":128,\"hashes\":4,\"swap_group\":\"g\"}]}",
     "fields[0].swap_group", "pairs exactly two", BL_ESCHEMA},
    {"{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},\"fields\":[{\"name\":\"n\",\"type\":\"name\",\"bits\":128,\"hashes\":4,\"swap_group\":\"g\"},"
     "{\"name\":\"m\",\"type\":\"name\",\"bits\":256,\"hashes\":4,\"swap_group\":\"g\"}]}",
     "fields[0].swap_group", "must have the same", BL_ESCHEMA},
    {"{\"bloomlink_schema\":1,\"hardening\":{\"salt\":null},\"fields\":[{\"name\":\"n\",\"type\":\"name\",\"bits\":128,\"hashes\":4,\"swap_group\":\"Bad Group\"}]}",
     "fields[0].swap_group", "lower-case identifier", BL_ESCHEMA},
};

START_TEST(bad_schema_names_json_path)
{
    bl_schema *s = NULL;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_schema_parse(bad_schemas[_i].json, strlen(bad_schemas[_i].json), "s.json", &s, &err),
                     bad_schemas[_i].code);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(err.field, bad_schemas[_i].field);
    ck_assert_msg(strstr(err.text, bad_schemas[_i].text), "message '%s' lacks '%s'", err.text,
                  bad_schemas[_i].text);
    ck_assert_str_eq(err.source, "s.json");
}
END_TEST

START_TEST(json_syntax_error_has_line)
{
    bl_schema *s = NULL;
    bl_error err;
    bl_error_clear(&err);
    const char *j = "{\n\"bloomlink_schema\": 1,\n,}";
    ck_assert_int_eq(bl_schema_parse(j, strlen(j), "s.json", &s, &err), BL_EPARSE);
    ck_assert_int_eq(err.line, 3);
}
END_TEST

static const char good_profile[] =
    "{\"source\":\"gp\",\"record_id\":\"Id\",\"fields\":{\"given_name\":{\"column\":\"First\"},"
    "\"dob\":{\"column\":\"DOB\",\"formats\":[\"%d/%m/%Y\",\"%Y-%m-%d\"]}},\"content\":[\"EventDate\"]}";

START_TEST(profile_parses_and_exposes_columns)
{
    bl_schema *s;
    bl_profile *p;
    ck_assert_int_eq(bl_schema_default(&s, NULL), BL_OK);
    ck_assert_int_eq(bl_profile_parse(good_profile, strlen(good_profile), "p", s, &p, NULL), BL_OK);
    ck_assert_str_eq(bl_profile_source(p), "gp");
    ck_assert_str_eq(bl_profile_record_id_column(p), "Id");
    ck_assert_str_eq(bl_profile_field_column(p, s, "given_name"), "First");
    ck_assert_ptr_null(bl_profile_field_column(p, s, "nhs_number"));
    ck_assert_uint_eq(bl_profile_content_count(p), 1);
    ck_assert_int_eq(p->fields[bl_schema_field_index(s, "dob")].nformats, 2);
    bl_profile_free(p);
    bl_schema_free(s);
}
END_TEST

static const struct {
    const char *json, *field, *text;
} bad_profiles[] = {
    {"{\"source\":\"gp\",\"fields\":{\"given_name\":\"F\"}}", "record_id", "required"},
    {"{\"source\":\"GP!\",\"record_id\":\"Id\",\"fields\":{\"given_name\":\"F\"}}", "source", "lower-case"},
    {"{\"source\":\"gp\",\"record_id\":\"Id\",\"fields\":{\"middle\":\"F\"}}", "fields.middle", "no field"},
    {"{\"source\":\"gp\",\"record_id\":\"Id\",\"fields\":{\"dob\":{\"column\":\"D\"}}}", "fields.dob", "formats"},
    {"{\"source\":\"gp\",\"record_id\":\"Id\",\"fields\":{\"given_name\":\"F\"},\"content\":[\"F\"]}",
     "content[0]", "identifier"},
    {"{\"source\":\"gp\",\"record_id\":\"Id\",\"fields\":{\"given_name\":\"F\"},\"content\":[\"Id\"]}",
     "content[0]", "identifier"},
    {"{\"source\":\"gp\",\"record_id\":\"Id\"}", "fields", "maps no column"},
};

START_TEST(bad_profile_rejected)
{
    bl_schema *s;
    bl_profile *p = NULL;
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_schema_default(&s, NULL), BL_OK);
    ck_assert_int_eq(bl_profile_parse(bad_profiles[_i].json, strlen(bad_profiles[_i].json), "p.json", s,
                                      &p, &err), BL_ESCHEMA);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(err.field, bad_profiles[_i].field);
    ck_assert_msg(strstr(err.text, bad_profiles[_i].text), "message '%s' lacks '%s'", err.text,
                  bad_profiles[_i].text);
    bl_schema_free(s);
}
END_TEST

Suite *suite_schema(void)
{
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, default_schema_parses);
    tcase_add_test(tc, fingerprint_ignores_layout_not_content);
    tcase_add_loop_test(tc, bad_schema_names_json_path, 0, sizeof bad_schemas / sizeof bad_schemas[0]);
    tcase_add_test(tc, json_syntax_error_has_line);
    tcase_add_test(tc, profile_parses_and_exposes_columns);
    tcase_add_loop_test(tc, bad_profile_rejected, 0, sizeof bad_profiles / sizeof bad_profiles[0]);
    suite_add_tcase(s, tc);
    return s;
}
