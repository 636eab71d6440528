/* check_key.c - HKDF (RFC 5869) and HMAC (RFC 4231) known answers, key files. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io.h"
#include "key.h"
#include "tests.h"

static void unhex_or_die(const char *hex, uint8_t *out, size_t n)
{
    ck_assert_int_eq(bl_unhex(hex, out, n), 0);
}

START_TEST(hkdf_rfc5869_case1)
{
    uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    unhex_or_die("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
                 want, sizeof want);
    ck_assert_int_eq(bl_hkdf_sha256(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm,
                                    sizeof okm, NULL), BL_OK);
    ck_assert_mem_eq(okm, want, sizeof want);
}
END_TEST

START_TEST(hkdf_rfc5869_case3_empty_salt_info)
{
    uint8_t ikm[22], okm[42], want[42];
    memset(ikm, 0x0b, sizeof ikm);
    unhex_or_die("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
                 want, sizeof want);
    ck_assert_int_eq(bl_hkdf_sha256(ikm, sizeof ikm, NULL, 0, NULL, 0, okm, sizeof okm, NULL), BL_OK);
    ck_assert_mem_eq(okm, want, sizeof want);
}
END_TEST

START_TEST(hmac_rfc4231_case2)
{
    uint8_t mac[32], want[32];
    unhex_or_die("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, 32);
    const char *data = "what do ya want for nothing?";
    ck_assert_int_eq(bl_hmac_sha256((const uint8_t *)"Jefe", 4, data, strlen(data), mac, NULL), BL_OK);
    ck_assert_mem_eq(mac, want, 32);
}
END_TEST

START_TEST(keygen_owner_only_and_loading_rules)
{
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/k.key", dir);
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_key_generate_file(path, 0, &err), BL_OK);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(st.st_size, BL_KEY_BYTES);
    /* never overwrite a key silently */
    bl_error_clear(&err);
    ck_assert_int_eq(bl_key_generate_file(path, 0, &err), BL_EEXISTS);

    bl_key *k = NULL;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_key_load(path, &k, &err), BL_OK);
    char fp1[65], fp2[65];
    ck_assert_int_eq(bl_key_fingerprint(k, fp1, NULL), BL_OK);
    ck_assert_int_eq(strlen(fp1), 64);
    bl_key_free(k);

    chmod(path, 0644);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_key_load(path, &k, &err), BL_EKEY);
    ck_assert_ptr_null(k);
    ck_assert_ptr_nonnull(strstr(err.text, "group or others"));
    ck_assert_str_eq(err.source, path);

    chmod(path, 0600);
    FILE *f = fopen(path, "ab");
    fputc('x', f);
    fclose(f);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_key_load(path, &k, &err), BL_EKEY);

    ck_assert_int_eq(bl_key_generate_file(path, 1, NULL), BL_OK);
    ck_assert_int_eq(bl_key_load(path, &k, NULL), BL_OK);
    ck_assert_int_eq(bl_key_fingerprint(k, fp2, NULL), BL_OK);
    ck_assert_str_ne(fp1, fp2);
    bl_key_free(k);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(subkeys_are_separated)
{
    uint8_t raw[32] = {1, 2, 3};
    bl_key *k;
    ck_assert_int_eq(bl_key_from_bytes(raw, sizeof raw, &k, NULL), BL_OK);
    uint8_t a[32], b[32], c[32];
    ck_assert_int_eq(bl_key_derive(k, "field", "given_name", a, 32, NULL), BL_OK);
    ck_assert_int_eq(bl_key_derive(k, "field", "family_name", b, 32, NULL), BL_OK);
    ck_assert_int_eq(bl_key_derive(k, "fieldg", "iven_name", c, 32, NULL), BL_OK);
    ck_assert_mem_ne(a, b, 32);
    ck_assert_mem_ne(a, c, 32); /* the 0 separator keeps labels unambiguous */
    ck_assert_mem_ne(a, raw, 32);
    char fp[65], fp_again[65];
    ck_assert_int_eq(bl_key_fingerprint(k, fp, NULL), BL_OK);
    ck_assert_int_eq(bl_key_fingerprint(k, fp_again, NULL), BL_OK);
    ck_assert_str_eq(fp, fp_again);
    bl_key_free(k);
    ck_assert_int_eq(bl_key_from_bytes(raw, 31, &k, NULL), BL_EKEY);
}
END_TEST

Suite *suite_key(void)
{
    Suite *s = suite_create("key");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, hkdf_rfc5869_case1);
    tcase_add_test(tc, hkdf_rfc5869_case3_empty_salt_info);
    tcase_add_test(tc, hmac_rfc4231_case2);
    tcase_add_test(tc, keygen_owner_only_and_loading_rules);
    tcase_add_test(tc, subkeys_are_separated);
    suite_add_tcase(s, tc);
    return s;
}
