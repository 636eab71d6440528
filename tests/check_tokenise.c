/* check_tokenise.c - q-grams, padding, positions, date tokens. */
#include <string.h>

#include "tests.h"
#include "tokenise.h"

static void expect(const bl_tokens *t, const char *const *want, int n)
{
    ck_assert_int_eq(t->n, n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(t->len[i], strlen(want[i]));
        ck_assert_msg(!memcmp(t->buf + t->off[i], want[i], t->len[i]), "token %d is '%.*s', want '%s'",
                      i, t->len[i], t->buf + t->off[i], want[i]);
    }
}

START_TEST(padded_bigrams)
{
    bl_schema_field f = {.name = "n", .type = BL_FIELD_NAME, .q = 2, .padding = 1};
    bl_tokens t;
    ck_assert_int_eq(bl_tokenise(&f, "JOHN", &t, NULL), BL_OK);
    const char *want[] = {"_J", "JO", "OH", "HN", "N_"};
    expect(&t, want, 5);
    f.padding = 0;
    f.positional = 1;
    ck_assert_int_eq(bl_tokenise(&f, "ABC", &t, NULL), BL_OK);
    const char *want2[] = {"AB@0", "BC@1"};
    expect(&t, want2, 2);
    f.q = 3;
    f.positional = 0;
    ck_assert_int_eq(bl_tokenise(&f, "AB", &t, NULL), BL_OK);
    const char *want3[] = {"AB"}; /* shorter than q: itself */
    expect(&t, want3, 1);
}
END_TEST

START_TEST(postcode_drops_space)
{
    bl_schema_field f = {.name = "p", .type = BL_FIELD_POSTCODE, .q = 2, .padding = 1};
    bl_tokens t;
    ck_assert_int_eq(bl_tokenise(&f, "OX1 2JD", &t, NULL), BL_OK);
    const char *want[] = {"_O", "OX", "X1", "12", "2J", "JD", "D_"};
    expect(&t, want, 7);
}
END_TEST

START_TEST(date_tokens_survive_day_month_swap)
{
    bl_schema_field f = {.name = "dob", .type = BL_FIELD_DATE};
    bl_tokens a, b;
    ck_assert_int_eq(bl_tokenise(&f, "19800615", &a, NULL), BL_OK);
    const char *want[] = {"Y1980", "M06", "D15", "X0615"};
    expect(&a, want, 4);
    ck_assert_int_eq(bl_tokenise(&f, "19801506", &b, NULL), BL_OK); /* swapped (not a date, but tokens) */
    ck_assert_int_eq(b.len[3], 5);
    ck_assert(!memcmp(b.buf + b.off[3], "X0615", 5));
    ck_assert_int_eq(bl_tokenise(&f, "1980", &a, NULL), BL_EMISUSE);
}
END_TEST

/* At most BL_MAX_TOKENS q-grams: one more makes the value invalid, never
   truncated; and the windows onto the padded value are the right ones. */
START_TEST(token_limits)
{
    bl_schema_field f = {.name = "n", .type = BL_FIELD_NAME, .q = 2, .padding = 1};
    bl_tokens t;
    char v[600];
    memset(v, 'A', sizeof v);
    v[BL_MAX_TOKENS - 1] = '\0'; /* 159 letters + 2 pads: 160 bigrams */
    v[7] = 'B';
    ck_assert_int_eq(bl_tokenise(&f, v, &t, NULL), BL_OK);
    ck_assert_int_eq(t.n, BL_MAX_TOKENS);
    ck_assert(!memcmp(t.buf + t.off[0], "_A", 2));
    ck_assert(!memcmp(t.buf + t.off[7], "AB", 2) && !memcmp(t.buf + t.off[8], "BA", 2));
    ck_assert(!memcmp(t.buf + t.off[BL_MAX_TOKENS - 1], "A_", 2));
    v[BL_MAX_TOKENS - 1] = 'A';
    v[BL_MAX_TOKENS] = '\0';
    ck_assert_int_eq(bl_tokenise(&f, v, &t, NULL), BL_EINVALID);
    v[BL_MAX_TOKENS] = 'A';
    v[sizeof v - 1] = '\0'; /* beyond the 511-byte padded limit */
    ck_assert_int_eq(bl_tokenise(&f, v, &t, NULL), BL_EINVALID);
}
END_TEST

Suite *suite_tokenise(void)
{
    Suite *s = suite_create("tokenise");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, padded_bigrams);
    tcase_add_test(tc, postcode_drops_space);
    tcase_add_test(tc, date_tokens_survive_day_month_swap);
    tcase_add_test(tc, token_limits);
    suite_add_tcase(s, tc);
    return s;
}
