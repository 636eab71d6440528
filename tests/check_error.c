/* check_error.c - the first error wins and formatting names the location. */
#include <string.h>

#include "error.h"
#include "tests.h"

START_TEST(first_error_wins)
{
    bl_error e;
    bl_error_clear(&e);
    ck_assert_int_eq(bl_fail_at(&e, BL_EPARSE, "a.csv", 3, 7, "dob", "bad date '%s'", "x"), BL_EPARSE);
    ck_assert_int_eq(bl_fail(&e, BL_EIO, "later failure"), BL_EIO);
    ck_assert_int_eq(e.code, BL_EPARSE);
    ck_assert_str_eq(e.text, "bad date 'x'");
    char buf[512];
    ck_assert_str_eq(bl_error_format(&e, buf, sizeof buf), "a.csv:3:7: field 'dob': bad date 'x'");
}
END_TEST

START_TEST(locate_fills_only_unset)
{
    bl_error e;
    bl_error_clear(&e);
    bl_fail(&e, BL_EINVALID, "invalid NHS number\n");
    bl_error_locate(&e, "gp.csv", 12, -1, "nhs_number");
    bl_error_locate(&e, "other.csv", 99, -1, "x");
    char buf[512];
    ck_assert_str_eq(bl_error_format(&e, buf, sizeof buf),
                     "gp.csv:12: field 'nhs_number': invalid NHS number");
    ck_assert_int_eq(bl_fail(NULL, BL_ENOMEM, "null is fine"), BL_ENOMEM);
}
END_TEST

START_TEST(strerror_covers_all)
{
    for (int s = BL_OK; s <= BL_ECANCELLED; s++)
        ck_assert_str_ne(bl_strerror((bl_status)s), "unknown status");
    ck_assert_str_eq(bl_strerror((bl_status)999), "unknown status");
}
END_TEST

Suite *suite_error(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, first_error_wins);
    tcase_add_test(tc, locate_fills_only_unset);
    tcase_add_test(tc, strerror_covers_all);
    suite_add_tcase(s, tc);
    return s;
}
