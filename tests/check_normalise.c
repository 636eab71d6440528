/* check_normalise.c - known answers for every normaliser, idempotence, and
   the rule that errors never echo names, postcodes or NHS numbers. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "normalise.h"
#include "tests.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ names */

static const struct {
    const char *in, *want;
} names[] = {
    {"Zoë", "ZOE"},
    {"Zoe\xcc\x88", "ZOE"}, /* decomposed form: e + combining diaeresis */
    {"Siân", "SIAN"},
    {"Łukasz", "LUKASZ"},
    {"ŁUKASZ", "LUKASZ"},
    {"Søren Ørsted", "SOREN ORSTED"},
    {"Đorđe", "DORDE"},
    {"Straße", "STRASSE"},
    {"Æthelred", "AETHELRED"},
    {"Œuvre", "OEUVRE"},
    {"Þór", "THOR"},
    {"Yıldız", "YILDIZ"},
    {"İlkay", "ILKAY"},
    {"Nguyễn Thị", "NGUYEN THI"},
    {"ﬁona", "FIONA"},                  /* ligature */
    {"Ｊｏｈｎ", "JOHN"},               /* full-width */
    {"O'Brien-Smith", "OBRIENSMITH"},
    {"O’Brien", "OBRIEN"},              /* right single quotation mark */
    {"O`Brien", "OBRIEN"},
    {"O´Brien", "OBRIEN"},              /* acute accent used as apostrophe */
    {"Smith–Jones", "SMITHJONES"},      /* en dash */
    {"Smith - Jones", "SMITH JONES"},   /* a spaced dash separates */
    {"Jean-Luc d'Arcy", "JEANLUC DARCY"},
    {"Mary\xe2\x80\x8bJane", "MARYJANE"}, /* zero-width space is ignorable */
    {"John\xc2\xa0Smith", "JOHN SMITH"},  /* no-break space */
    {"  John \t  Smith  ", "JOHN SMITH"},
    {"John2Smith", "JOHN SMITH"},
    {"Smith (deceased)", "SMITH DECEASED"},
    {"Mr John Smith", "JOHN SMITH"},
    {"MR. JOHN SMITH JNR.", "JOHN SMITH"},
    {"Mrs Dr Jane Doe", "JANE DOE"},
    {"Prof. Sir John Smith III", "JOHN SMITH"},
    {"Rev Revd Smith", "SMITH"},
    {"DR", "DR"},          /* a title alone is kept, not made missing */
    {"Mr", "MR"},
    {"MR DR", "DR"},
    {"Drake", "DRAKE"},    /* DR inside a word is not a title */
    {"Sir Drake", "DRAKE"},
    {"John Lord", "JOHN LORD"},   /* titles only lead: LORD the surname survives */
    {"Jane Master", "JANE MASTER"},
    {"Jr Smith", "JR SMITH"},     /* suffixes only end */
    {"Smith Jr", "SMITH"},
    {"Jr", "JR"},
    {"de la Cruz", "DE LA CRUZ"},
    {"", ""},
    {"  ", ""},
    {"-'.,", ""},
    {"123", ""},
};

START_TEST(name_known)
{
    bl_error err;
    bl_error_clear(&err);
    char out[64];
    memset(out, 'x', sizeof out);
    ck_assert_int_eq(bl_normalise_name(names[_i].in, out, sizeof out, &err), BL_OK);
    ck_assert_msg(strcmp(out, names[_i].want) == 0, "'%s' -> '%s', want '%s'", names[_i].in, out,
                  names[_i].want);
    ck_assert_int_eq(err.code, 0);

    /* Idempotent: the output is already canonical. */
    char again[64];
    ck_assert_int_eq(bl_normalise_name(out, again, sizeof again, &err), BL_OK);
    ck_assert_str_eq(again, out);
    ck_assert_int_eq(bl_normalise_text(out, again, sizeof again, &err), BL_OK);
    ck_assert_str_eq(again, out);
}
END_TEST

static const char *const bad_utf8[] = {
    "Jo\xffhn",             /* never valid in UTF-8 */
    "Jo\x80hn",             /* lone continuation byte */
    "Zo\xc3",               /* truncated sequence */
    "\xc0\xaf",             /* overlong '/' */
    "\xed\xa0\x80",         /* UTF-16 surrogate */
    "\xf4\x90\x80\x80",     /* beyond U+10FFFF */
};

START_TEST(name_invalid_utf8)
{
    bl_error err;
    bl_error_clear(&err);
    char out[64] = "stale";
    ck_assert_int_eq(bl_normalise_name(bad_utf8[_i], out, sizeof out, &err), BL_EINVALID);
    ck_assert_int_eq(err.code, BL_EINVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "UTF-8"));
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(name_errors_do_not_leak)
{
    bl_error err;
    bl_error_clear(&err);
    char out[64];
    ck_assert_int_eq(bl_normalise_name("Иван Petrov", out, sizeof out, &err), BL_EINVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "Latin"));
    ck_assert_ptr_null(strstr(err.text, "Иван"));
    ck_assert_ptr_null(strstr(err.text, "PETROV"));
    ck_assert_ptr_null(strstr(err.text, "Petrov"));
    ck_assert_str_eq(out, "");

    /* Too long for the buffer: an error, never a silent truncation. */
    bl_error_clear(&err);
    char small[8] = "stale";
    ck_assert_int_eq(bl_normalise_name("Bartholomew", small, sizeof small, &err), BL_EINVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "too long"));
    ck_assert_ptr_null(strstr(err.text, "BARTHOL"));
    ck_assert_ptr_null(strstr(err.text, "Barthol"));
    ck_assert_str_eq(small, "");
    /* Exactly fitting is fine; titles do not count against the limit. */
    bl_error_clear(&err);
    ck_assert_int_eq(bl_normalise_name("Mr Doe Roe", small, sizeof small, &err), BL_OK);
    ck_assert_str_eq(small, "DOE ROE");
}
END_TEST

START_TEST(name_long_input)
{
    /* Longer than every inline buffer, so the heap path is exercised. */
    char in[4000], want[4000], out[4000];
    size_t n = 0, w = 0;
    for (int i = 0; i < 600; i++) {
        memcpy(in + n, "Zoë ", 5);
        n += 5;
        memcpy(want + w, "ZOE ", 4);
        w += 4;
    }
    in[n] = '\0';
    want[w - 1] = '\0';
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_normalise_name(in, out, sizeof out, &err), BL_OK);
    ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(name_misuse)
{
    bl_error err;
    bl_error_clear(&err);
    char out[16] = "stale";
    ck_assert_int_eq(bl_normalise_name("John", NULL, 16, &err), BL_EMISUSE);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_normalise_name("John", out, 0, &err), BL_EMISUSE);
    ck_assert_str_eq(out, "stale");
    /* NULL input is a missing value. */
    ck_assert_int_eq(bl_normalise_name(NULL, out, sizeof out, NULL), BL_OK);
    ck_assert_str_eq(out, "");
    /* The first error wins: a later failure keeps the earlier message. */
    bl_error_clear(&err);
    ck_assert_int_eq(bl_normalise_nhs_number("123", out, sizeof out, &err), BL_EINVALID);
    char first[BL_ERROR_TEXT_LENGTH];
    memcpy(first, err.text, sizeof first);
    ck_assert_int_eq(bl_normalise_name("\xff", out, sizeof out, &err), BL_EINVALID);
    ck_assert_str_eq(err.text, first);
}
END_TEST

/* ---------------------------------------------------------------- text */

static const struct {
    const char *in, *want;
} texts[] = {
    {"  Flat 3,  12 High St. ", "FLAT 3 12 HIGH ST"},
    {"Café Noël", "CAFE NOEL"},
    {"Mr Smith", "MR SMITH"}, /* titles are kept in free text */
    {"Dr", "DR"},
    {"O'Brien-Smith", "OBRIENSMITH"},
    {"Ｎｏ．１０", "NO 10"},
    {"", ""},
    {"\t\n", ""},
};

START_TEST(text_known)
{
    bl_error err;
    bl_error_clear(&err);
    char out[64], again[64];
    ck_assert_int_eq(bl_normalise_text(texts[_i].in, out, sizeof out, &err), BL_OK);
    ck_assert_msg(strcmp(out, texts[_i].want) == 0, "'%s' -> '%s', want '%s'", texts[_i].in,
                  out, texts[_i].want);
    ck_assert_int_eq(bl_normalise_text(out, again, sizeof again, &err), BL_OK);
    ck_assert_str_eq(again, out);
}
END_TEST

START_TEST(text_errors)
{
    bl_error err;
    bl_error_clear(&err);
    char out[8];
    ck_assert_int_eq(bl_normalise_text("a\xfe", out, sizeof out, &err), BL_EINVALID);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_normalise_text("12345678", out, sizeof out, &err), BL_EINVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "too long"));
    ck_assert_str_eq(out, "");
}
END_TEST

/* ------------------------------------------------------------ full names */

static const struct {
    const char *in, *given, *family;
} full_names[] = {
    {"John Smith", "JOHN", "SMITH"},
    {"John Paul Smith", "JOHN", "SMITH"},
    {"SMITH, John Paul", "JOHN", "SMITH"},
    {"Smith,John", "JOHN", "SMITH"},
    {"Mr John Smith", "JOHN", "SMITH"},
    {"SMITH, Mr John", "JOHN", "SMITH"},
    {"Dr. Mary-Jane O'Brien-Smith", "MARYJANE", "OBRIENSMITH"},
    {"SMITH John", "JOHN", "SMITH"},          /* surname in capitals first */
    {"SMITH John Paul", "JOHN", "SMITH"},
    {"O'BRIEN Mary", "MARY", "OBRIEN"},
    {"John SMITH", "JOHN", "SMITH"},
    {"John A SMITH", "JOHN", "SMITH"},        /* an initial is not a capitalised word */
    {"JOHN SMITH", "JOHN", "SMITH"},          /* all capitals: positional */
    {"john smith", "JOHN", "SMITH"},
    {"Anna van der Berg", "ANNA", "VAN DER BERG"},
    {"Anna Maria van der Berg", "ANNA", "VAN DER BERG"},
    {"Anna van der BERG", "ANNA", "VAN DER BERG"},
    {"VAN DER BERG, Anna", "ANNA", "VAN DER BERG"},
    {"VAN DER BERG Anna", "ANNA", "VAN DER BERG"},
    {"Ludwig van Beethoven", "LUDWIG", "VAN BEETHOVEN"},
    {"Maria de la Cruz", "MARIA", "DE LA CRUZ"},
    {"Da Silva", "DA", "SILVA"},              /* the first word is always given */
    {"John Ben Smith", "JOHN", "SMITH"},      /* BEN is not a particle */
    {"John Lord", "JOHN", "LORD"},
    {"John Smith Jr", "JOHN", "SMITH"},
    {"SMITH JR, John", "JOHN", "SMITH"},
    {"Smith", "", "SMITH"},                   /* one word: a family name */
    {"Mr Smith", "", "SMITH"},
    {"Dr", "", "DR"},
    {", John", "JOHN", ""},
    {"SMITH,", "", "SMITH"},
    {"", "", ""},
    {"  ,  ", "", ""},
    {"Zoë Łukasz", "ZOE", "LUKASZ"},
};

START_TEST(full_name_known)
{
    bl_error err;
    bl_error_clear(&err);
    char given[32], family[32];
    memset(given, 'x', sizeof given);
    memset(family, 'x', sizeof family);
    ck_assert_int_eq(bl_normalise_full_name(full_names[_i].in, given, sizeof given, family,
                                            sizeof family, &err),
                     BL_OK);
    ck_assert_msg(!strcmp(given, full_names[_i].given) && !strcmp(family, full_names[_i].family),
                  "'%s' -> given '%s' family '%s', want '%s' '%s'", full_names[_i].in, given,
                  family, full_names[_i].given, full_names[_i].family);
}
END_TEST

START_TEST(full_name_errors)
{
    bl_error err;
    bl_error_clear(&err);
    char given[8], family[8];
    ck_assert_int_eq(bl_normalise_full_name("John \xff Smith", given, sizeof given, family,
                                            sizeof family, &err),
                     BL_EINVALID);
    ck_assert_str_eq(given, "");
    ck_assert_str_eq(family, "");
    ck_assert_ptr_nonnull(strstr(err.text, "at byte 5"));
    bl_error_clear(&err);
    ck_assert_int_eq(bl_normalise_full_name("SMITH, Jo\xffhn", given, sizeof given, family,
                                            sizeof family, &err),
                     BL_EINVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "at byte 9"));
    bl_error_clear(&err);
    ck_assert_int_eq(bl_normalise_full_name("John Wolfeschlegel", given, sizeof given, family,
                                            sizeof family, &err),
                     BL_EINVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "family name is too long"));
    ck_assert_str_eq(given, "");
    ck_assert_str_eq(family, "");
    bl_error_clear(&err);
    ck_assert_int_eq(bl_normalise_full_name(NULL, given, sizeof given, family, sizeof family,
                                            &err),
                     BL_OK);
    ck_assert_str_eq(given, "");
    ck_assert_str_eq(family, "");
    ck_assert_int_eq(bl_normalise_full_name("a b", given, sizeof given, NULL, 8, &err),
                     BL_EMISUSE);
}
END_TEST

/* --------------------------------------------------------------- soundex */

static const struct {
    const char *in, *want;
} soundex[] = {
    {"ROBERT", "R163"},  {"RUPERT", "R163"},  {"RUBIN", "R150"},    {"ASHCRAFT", "A261"},
    {"ASHCROFT", "A261"}, {"TYMCZAK", "T522"}, {"PFISTER", "P236"}, {"HONEYMAN", "H555"},
    {"LEE", "L000"},     {"WASHINGTON", "W252"}, {"GUTIERREZ", "G362"}, {"JACKSON", "J250"},
    {"VAN DER BERG", "V536"}, {"VANDERBERG", "V536"}, {"A", "A000"}, {"", ""}, {"  ", ""},
};

START_TEST(soundex_known)
{
    char out[BL_SOUNDEX_SIZE];
    memset(out, 'x', sizeof out);
    bl_soundex(soundex[_i].in, out);
    ck_assert_msg(strcmp(out, soundex[_i].want) == 0, "soundex '%s' -> '%s', want '%s'",
                  soundex[_i].in, out, soundex[_i].want);
}
END_TEST

/* ----------------------------------------------------------------- dates */

static const char *const DMY[] = {"%d/%m/%Y", NULL};
static const char *const DMY_MDY[] = {"%d/%m/%Y", "%m/%d/%Y", NULL};
static const char *const DBY[] = {"%d-%b-%Y", NULL};
static const char *const DBIGBY[] = {"%d-%B-%Y", NULL};
static const char *const D_B_Y[] = {"%d %b %Y", NULL};
static const char *const YMD_PACKED[] = {"%Y%m%d", NULL};
static const char *const DMY2[] = {"%d/%m/%y", NULL};
static const char *const DMY_TIME[] = {"%d/%m/%Y %H:%M", NULL};
static const char *const ISO_TIME[] = {"%Y-%m-%dT%H:%M:%S", NULL};
static const char *const NONE[] = {NULL};

static const struct {
    const char *in;
    const char *const *formats;
    long not_after;
    bl_status st;
    const char *want;   /* output, or a substring of the error text */
    int future;
} dates[] = {
    {"05/03/1987", DMY, 0, BL_OK, "19870305", 0},
    {"5/3/1987", DMY, 0, BL_OK, "19870305", 0},
    {"  05/03/1987\t", DMY, 0, BL_OK, "19870305", 0},
    {"31/02/2001", DMY, 0, BL_EINVALID, "does not exist", 0},
    {"29/02/2000", DMY, 0, BL_OK, "20000229", 0},
    {"29/02/1900", DMY, 0, BL_EINVALID, "does not exist", 0},
    {"29/02/2004", DMY, 0, BL_OK, "20040229", 0},
    {"29/02/2003", DMY, 0, BL_EINVALID, "does not exist", 0},
    {"31/04/2001", DMY, 0, BL_EINVALID, "does not exist", 0},
    {"30/04/2001", DMY, 0, BL_OK, "20010430", 0},
    {"31/12/2001", DMY, 0, BL_OK, "20011231", 0},
    {"32/01/2001", DMY, 0, BL_EINVALID, "matches none of the formats '%d/%m/%Y'", 0},
    {"0/01/2001", DMY, 0, BL_EINVALID, "matches none", 0},
    {"05/13/1987", DMY, 0, BL_EINVALID, "matches none", 0},
    {"05/03/1987x", DMY, 0, BL_EINVALID, "matches none", 0},
    {"05/03/19870", DMY, 0, BL_EINVALID, "matches none", 0},
    {"05031987", DMY, 0, BL_EINVALID, "date '05031987'", 0},
    {"01/01/1879", DMY, 0, BL_EINVALID, "outside 1880", 0},
    {"01/01/1880", DMY, 0, BL_OK, "18800101", 0},
    {"05-Mar-1987", DBY, 0, BL_OK, "19870305", 0},
    {"05-MAR-1987", DBY, 0, BL_OK, "19870305", 0},
    {"5-sept-1987", DBY, 0, BL_OK, "19870905", 0},
    {"5-Sep-1987", DBY, 0, BL_OK, "19870905", 0},
    {"05-September-1987", DBY, 0, BL_OK, "19870905", 0},
    {"05-march-1987", DBIGBY, 0, BL_OK, "19870305", 0},
    {"05-Mars-1987", DBY, 0, BL_EINVALID, "matches none", 0},
    {"5 Dec 1999", D_B_Y, 0, BL_OK, "19991205", 0},
    {"5   Dec  1999", D_B_Y, 0, BL_OK, "19991205", 0},
    {"19870305", YMD_PACKED, 0, BL_OK, "19870305", 0},
    {"1987035", YMD_PACKED, 0, BL_EINVALID, "matches none", 0},
    {"1987305", YMD_PACKED, 0, BL_EINVALID, "matches none", 0},
    {"1987-03-05", NONE, 0, BL_OK, "19870305", 0},
    {"05/03/1987", NONE, 0, BL_OK, "19870305", 0},
    {"19870305", NONE, 0, BL_OK, "19870305", 0},
    {"12/25/2001", DMY_MDY, 0, BL_OK, "20011225", 0},  /* falls through to %m/%d */
    {"05/03/1987", DMY_MDY, 0, BL_OK, "19870305", 0},  /* the first match wins */
    {"02/31/2001", DMY_MDY, 0, BL_EINVALID, "does not exist", 0},
    {"05/03/1987 00:00", DMY_TIME, 0, BL_OK, "19870305", 0},
    {"05/03/1987 24:00", DMY_TIME, 0, BL_EINVALID, "matches none", 0},
    {"1987-03-05T10:20:30", ISO_TIME, 0, BL_OK, "19870305", 0},
    {"05/03/87", DMY2, 20240615, BL_OK, "19870305", 0},
    {"05/03/24", DMY2, 20240615, BL_OK, "20240305", 0},
    {"15/06/24", DMY2, 20240615, BL_OK, "20240615", 0},
    {"16/06/24", DMY2, 20240615, BL_OK, "19240616", 0},
    {"01/01/00", DMY2, 20240615, BL_OK, "20000101", 0},
    {"29/02/00", DMY2, 19990101, BL_EINVALID, "does not exist", 0}, /* 1900 */
    {"05/03/1987", DMY2, 20240615, BL_EINVALID, "matches none", 0},
    {"05/03/2030", DMY, 20240615, BL_EINVALID, "future date '05/03/2030'", 1},
    {"16/06/2024", DMY, 20240615, BL_EINVALID, "future date", 1},
    {"15/06/2024", DMY, 20240615, BL_OK, "20240615", 0},
    {"05/03/2030", DMY, 0, BL_OK, "20300305", 0},   /* no limit, no future check */
    {"", DMY, 20240615, BL_OK, "", 0},
    {"   ", DMY, 0, BL_OK, "", 0},
};

START_TEST(date_known)
{
    size_t nf = 0;
    while (dates[_i].formats[nf])
        nf++;
    bl_error err;
    bl_error_clear(&err);
    char out[16];
    memset(out, 'x', sizeof out);
    int future = -1;
    bl_status st = bl_normalise_date_ex(dates[_i].in, dates[_i].formats, nf, dates[_i].not_after,
                                        out, sizeof out, &future, &err);
    ck_assert_msg(st == dates[_i].st, "'%s': status %d, want %d (%s)", dates[_i].in, st,
                  dates[_i].st, err.text);
    ck_assert_int_eq(future, dates[_i].future);
    if (st == BL_OK) {
        ck_assert_msg(strcmp(out, dates[_i].want) == 0, "'%s' -> '%s', want '%s'", dates[_i].in,
                      out, dates[_i].want);
        /* The public wrapper agrees. */
        char out2[16];
        ck_assert_int_eq(bl_normalise_date(dates[_i].in, dates[_i].formats, nf,
                                           dates[_i].not_after, out2, sizeof out2, NULL),
                         BL_OK);
        ck_assert_str_eq(out2, out);
    } else {
        ck_assert_str_eq(out, "");
        ck_assert_msg(strstr(err.text, dates[_i].want) != NULL, "'%s': message '%s' lacks '%s'",
                      dates[_i].in, err.text, dates[_i].want);
        if (dates[_i].future)
            ck_assert_int_eq(strncmp(err.text, "future date", 11), 0);
    }
}
END_TEST

START_TEST(date_two_digit_year_today)
{
    /* With no limit, two-digit years resolve against today's date. */
    const char *fmt[] = {"%d/%m/%y"};
    char out[16];
    ck_assert_int_eq(bl_normalise_date("31/12/99", fmt, 1, 0, out, sizeof out, NULL), BL_OK);
    ck_assert_str_eq(out, "19991231");
    ck_assert_int_eq(bl_normalise_date("01/01/00", fmt, 1, 0, out, sizeof out, NULL), BL_OK);
    ck_assert_str_eq(out, "20000101");
}
END_TEST

START_TEST(date_bad_formats)
{
    static const char *const bad[] = {"%d/%m", "%d/%m/%Y %q", "%d/%m/%Y/%d", "%d/%b/%m/%Y",
                                      "%d/%m/%Y %", "", "%d/%m/%Y %H %H"};
    for (size_t i = 0; i < N_OF(bad); i++) {
        bl_error err;
        bl_error_clear(&err);
        ck_assert_int_eq(bl_date_format_check(bad[i], &err), BL_ESCHEMA);
        const char *f[] = {bad[i]};
        char out[16];
        bl_error_clear(&err);
        ck_assert_int_eq(bl_normalise_date("05/03/1987", f, 1, 0, out, sizeof out, &err),
                         BL_ESCHEMA);
    }
    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_date_format_check("%d %B %Y at %H%%", &err), BL_OK);
    /* Fixed-size output buffer too small is the caller's bug. */
    char small[8];
    ck_assert_int_eq(bl_normalise_date("1987-03-05", NULL, 0, 0, small, sizeof small, &err),
                     BL_EMISUSE);
}
END_TEST

START_TEST(date_parts_and_today)
{
    int y = 0, m = 0, d = 0;
    ck_assert_int_eq(bl_date_parts("19870305", &y, &m, &d), 0);
    ck_assert_int_eq(y, 1987);
    ck_assert_int_eq(m, 3);
    ck_assert_int_eq(d, 5);
    ck_assert_int_eq(bl_date_parts("20000229", &y, &m, &d), 0);
    ck_assert_int_eq(d, 29);
    static const char *const bad[] = {"19000229", "20010231", "2001023", "200102311", "2001-2-3",
                                      "18791231", "20011301", "20010100", ""};
    for (size_t i = 0; i < N_OF(bad); i++) {
        y = m = d = -7;
        ck_assert_msg(bl_date_parts(bad[i], &y, &m, &d) == -1, "'%s' accepted", bad[i]);
        ck_assert_int_eq(y, -7);
    }
    ck_assert_int_eq(bl_date_parts(NULL, &y, &m, &d), -1);
    long t = bl_today_yyyymmdd();
    ck_assert_int_gt(t, 20240101);
    char buf[24];
    snprintf(buf, sizeof buf, "%ld", t);
    ck_assert_int_eq(bl_date_parts(buf, &y, &m, &d), 0);
}
END_TEST

/* ------------------------------------------------------------------- sex */

static const struct {
    const char *in;
    bl_status st;
    const char *want;
} sexes[] = {
    {"M", BL_OK, "M"}, {"m", BL_OK, "M"}, {" Male ", BL_OK, "M"}, {"MALE", BL_OK, "M"},
    {"1", BL_OK, "M"}, {"boy", BL_OK, "M"},
    {"F", BL_OK, "F"}, {"female", BL_OK, "F"}, {"2", BL_OK, "F"}, {"Girl", BL_OK, "F"},
    {"w", BL_OK, "F"}, {"Woman", BL_OK, "F"},
    {"U", BL_OK, ""}, {"unknown", BL_OK, ""}, {"0", BL_OK, ""}, {"9", BL_OK, ""},
    {"x", BL_OK, ""}, {"I", BL_OK, ""}, {"Indeterminate", BL_OK, ""}, {"not known", BL_OK, ""},
    {"NOT  KNOWN", BL_OK, ""}, {"Not_Specified", BL_OK, ""}, {"", BL_OK, ""}, {" \t", BL_OK, ""},
    {"Q", BL_EINVALID, "'Q'"}, {"3", BL_EINVALID, "'3'"}, {"MALEFEMALE", BL_EINVALID, "sex"},
    {"M F", BL_EINVALID, "sex"}, {"an extremely long sex code value", BL_EINVALID, "..."},
};

START_TEST(sex_known)
{
    bl_error err;
    bl_error_clear(&err);
    char out[4] = "zz";
    bl_status st = bl_normalise_sex(sexes[_i].in, out, sizeof out, &err);
    ck_assert_msg(st == sexes[_i].st, "'%s': status %d", sexes[_i].in, st);
    if (st == BL_OK)
        ck_assert_str_eq(out, sexes[_i].want);
    else {
        ck_assert_str_eq(out, "");
        ck_assert_ptr_nonnull(strstr(err.text, sexes[_i].want));
    }
}
END_TEST

/* -------------------------------------------------------------- postcode */

static const struct {
    const char *in;
    bl_status st;
    const char *want;
} postcodes[] = {
    {" ox1  2jd ", BL_OK, "OX1 2JD"},
    {"SW1A1AA", BL_OK, "SW1A 1AA"},
    {"M1 1AE", BL_OK, "M1 1AE"},       /* A9 */
    {"B33 8TH", BL_OK, "B33 8TH"},     /* A99 */
    {"W1A 0AX", BL_OK, "W1A 0AX"},     /* A9A */
    {"CR2 6XH", BL_OK, "CR2 6XH"},     /* AA9 */
    {"DN55 1PT", BL_OK, "DN55 1PT"},   /* AA99 */
    {"EC1A 1BB", BL_OK, "EC1A 1BB"},   /* AA9A */
    {"gir0aa", BL_OK, "GIR 0AA"},
    {"OX1\xc2\xa0" "2JD", BL_OK, "OX1 2JD"}, /* no-break space */
    {"O X 1 2 J D", BL_OK, "OX1 2JD"},
    {"", BL_OK, ""},
    {"   ", BL_OK, ""},
    {"ZZ99 3VZ", BL_OK, ""},           /* NHS pseudo-postcode: no fixed abode */
    {"zz993cz", BL_OK, ""},
    {"OX1 2CD", BL_EINVALID, "letter C"},
    {"OX1 2JV", BL_EINVALID, "letter V"},
    {"OX1 2J", BL_EINVALID, "inward"},
    {"OX1 JD2", BL_EINVALID, "inward"},
    {"OX1 2JDX", BL_EINVALID, "inward"},
    {"OX11A 2JD", BL_EINVALID, "too long"},
    {"OX1", BL_EINVALID, "too short"},
    {"OX1-2JD", BL_EINVALID, "characters"},
    {"OX1 2JÐ", BL_EINVALID, "characters"},
    {"QA1 1AA", BL_EINVALID, "outward"},   /* Q never first */
    {"AI1 1AA", BL_EINVALID, "outward"},   /* I never second */
    {"W1I 1AA", BL_EINVALID, "outward"},   /* I never third in A9A */
    {"EC1C 1AA", BL_EINVALID, "outward"},  /* C never fourth in AA9A */
    {"1X1 2JD", BL_EINVALID, "outward"},
    {"OX 2JD", BL_EINVALID, "outward"},
    {"OXAB 2JD", BL_EINVALID, "outward"},
};

START_TEST(postcode_known)
{
    bl_error err;
    bl_error_clear(&err);
    char out[BL_POSTCODE_SIZE] = "zz";
    bl_status st = bl_normalise_postcode(postcodes[_i].in, out, sizeof out, &err);
    ck_assert_msg(st == postcodes[_i].st, "'%s': status %d (%s)", postcodes[_i].in, st, err.text);
    if (st == BL_OK) {
        ck_assert_str_eq(out, postcodes[_i].want);
        char again[BL_POSTCODE_SIZE];
        ck_assert_int_eq(bl_normalise_postcode(out, again, sizeof again, &err), BL_OK);
        ck_assert_str_eq(again, out);
    } else {
        ck_assert_str_eq(out, "");
        ck_assert_msg(strstr(err.text, postcodes[_i].want) != NULL, "'%s': message '%s'",
                      postcodes[_i].in, err.text);
        /* The postcode itself never appears in the message. */
        ck_assert_ptr_null(strstr(err.text, "OX1"));
        ck_assert_ptr_null(strstr(err.text, "2JD"));
    }
}
END_TEST

static const struct {
    const char *in, *outward, *sector, *area;
} postcode_parts[] = {
    {"OX1 2JD", "OX1", "OX1 2", "OX"},
    {"SW1A 1AA", "SW1A", "SW1A 1", "SW"},
    {"M1 1AE", "M1", "M1 1", "M"},
    {"W1A 0AX", "W1A", "W1A 0", "W"},
    {"GIR 0AA", "GIR", "GIR 0", "GIR"},
    {"OX12JD", "", "", ""},
    {"OX1 2J", "", "", ""},
    {"", "", "", ""},
};

START_TEST(postcode_parts_known)
{
    char o[BL_POSTCODE_OUTWARD_SIZE], d[BL_POSTCODE_OUTWARD_SIZE], s[BL_POSTCODE_SECTOR_SIZE],
        a[BL_POSTCODE_AREA_SIZE];
    bl_postcode_outward(postcode_parts[_i].in, o);
    bl_postcode_district(postcode_parts[_i].in, d);
    bl_postcode_sector(postcode_parts[_i].in, s);
    bl_postcode_area(postcode_parts[_i].in, a);
    ck_assert_str_eq(o, postcode_parts[_i].outward);
    ck_assert_str_eq(d, postcode_parts[_i].outward);
    ck_assert_str_eq(s, postcode_parts[_i].sector);
    ck_assert_str_eq(a, postcode_parts[_i].area);
}
END_TEST

/* ------------------------------------------------------------ NHS number */

static const struct {
    const char *in;
    bl_status st;
    const char *want;
} nhs[] = {
    {"9434765919", BL_OK, "9434765919"},
    {"943 476 5919", BL_OK, "9434765919"},
    {" 943-476-5919 ", BL_OK, "9434765919"},
    {"943\xc2\xa0" "476\xc2\xa0" "5919", BL_OK, "9434765919"},
    {"0000000450", BL_OK, "0000000450"},   /* 11 - 0 = 11 -> check digit 0 */
    {"", BL_OK, ""},
    {" - ", BL_OK, ""},
    {"9434765918", BL_EINVALID, "fails Modulus 11 check"},
    {"9434765910", BL_EINVALID, "fails Modulus 11 check"},
    {"1000000010", BL_EINVALID, "fails Modulus 11 check"}, /* check would be 10 */
    {"943476591", BL_EINVALID, "not 10 digits"},
    {"94347659190", BL_EINVALID, "not 10 digits"},
    {"943476591X", BL_EINVALID, "other than digits"},
    {"943.476.5919", BL_EINVALID, "other than digits"},
    {"0000000000", BL_EINVALID, "placeholder"},
    {"1111111111", BL_EINVALID, "placeholder"},
    {"9999999999", BL_EINVALID, "placeholder"},
};

START_TEST(nhs_known)
{
    bl_error err;
    bl_error_clear(&err);
    char out[BL_NHS_NUMBER_SIZE] = "zz";
    bl_status st = bl_normalise_nhs_number(nhs[_i].in, out, sizeof out, &err);
    ck_assert_msg(st == nhs[_i].st, "'%s': status %d (%s)", nhs[_i].in, st, err.text);
    if (st == BL_OK) {
        ck_assert_str_eq(out, nhs[_i].want);
    } else {
        ck_assert_str_eq(out, "");
        ck_assert_msg(strstr(err.text, nhs[_i].want) != NULL, "message '%s'", err.text);
        /* No run of the number's digits leaks into the message. */
        ck_assert_ptr_null(strstr(err.text, "943"));
        ck_assert_ptr_null(strstr(err.text, "0000"));
        ck_assert_ptr_null(strstr(err.text, "1111"));
    }
}
END_TEST

/* An independent Modulus 11 reference, to cross-check many numbers. */
static int reference_check_digit(const char *nine)
{
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (nine[i] - '0') * (10 - i);
    int r = 11 - sum % 11;
    return r == 11 ? 0 : r; /* 10 means no valid check digit */
}

START_TEST(nhs_modulus11_exhaustive_digit)
{
    ck_assert_int_eq(bl_nhs_number_valid("9434765919"), 1);
    ck_assert_int_eq(bl_nhs_number_valid("9434765918"), 0);
    ck_assert_int_eq(bl_nhs_number_valid("943476591"), 0);
    ck_assert_int_eq(bl_nhs_number_valid("94347659190"), 0);
    ck_assert_int_eq(bl_nhs_number_valid("943476591a"), 0);
    ck_assert_int_eq(bl_nhs_number_valid(NULL), 0);
    /* Pure Modulus 11: repeated digits pass here; only normalising refuses. */
    ck_assert_int_eq(bl_nhs_number_valid("1111111111"), 1);
    char num[11];
    unsigned long x = 123456789;
    for (int k = 0; k < 2000; k++) {
        x = (x * 2654435761u + 12345u) % 1000000000u;
        snprintf(num, sizeof num, "%09lu0", x);
        int check = reference_check_digit(num);
        int valid = 0;
        for (int last = 0; last <= 9; last++) {
            num[9] = (char)('0' + last);
            int v = bl_nhs_number_valid(num);
            ck_assert_int_eq(v, check == last);
            valid += v;
        }
        ck_assert_int_eq(valid, check == 10 ? 0 : 1);
    }
}
END_TEST

START_TEST(fixed_buffers_misuse)
{
    bl_error err;
    bl_error_clear(&err);
    char small[4];
    ck_assert_int_eq(bl_normalise_nhs_number("9434765919", small, sizeof small, &err),
                     BL_EMISUSE);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_normalise_postcode("OX1 2JD", small, sizeof small, &err), BL_EMISUSE);
    bl_error_clear(&err);
    ck_assert_int_eq(bl_normalise_sex("M", small, 1, &err), BL_EMISUSE);
    ck_assert_int_eq(bl_normalise_sex(NULL, small, sizeof small, &err), BL_OK);
    ck_assert_str_eq(small, "");
    ck_assert_int_eq(bl_normalise_postcode(NULL, small, 0, NULL), BL_EMISUSE);
}
END_TEST

/* ------------------------------------------- fast paths against general */

/*
 * Each normaliser has fast paths for the common shapes of value (ASCII names,
 * plain postcodes, ten-digit NHS numbers, full-width dates) that must give
 * byte for byte what the general path gives: status, output, message and,
 * for dates, is_future.  The general path is reachable as
 * bl_normalise_*_general (normalise.h).  The tests feed both hand-picked
 * tricky values and a few hundred thousand random ones built from fragments
 * that the fast paths handle or must hand over.  They compare with plain ifs
 * and ck_abort_msg: Check reports every passing ck_assert through a pipe,
 * which would dominate a million comparisons.
 */

/* A fixed-seed generator, so that a failure reproduces. */
static uint64_t rng_state;
static void rng_seed(uint64_t seed) { rng_state = seed; }
static uint32_t rng(uint32_t n)
{
    /* splitmix64 */
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return (uint32_t)((z ^ (z >> 31)) % n);
}

/* The value with bytes outside printable ASCII as \xNN, for failure messages. */
static const char *shown(const char *in)
{
    static char buf[4 * 400 + 8];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < sizeof buf; p++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, *p < 0x20 || *p >= 0x7f ? "\\x%02x" : "%c",
                              *p);
    buf[o] = '\0';
    return buf;
}

/* Name fragments: mostly letters, as real values are, plus the words, bytes
   and broken UTF-8 that the fast paths must notice. */
static const char *const name_words_pool[] = {
    "John", "SMITH", "mary", "O'Brien", "McDonald", "Mc", "O'", "d'Arcy", "Jean-Luc", "van",
    "der", "DE", "la", "Mr", "MRS", "dr", "Dr.", "Prof", "Sir", "Lady", "Lord", "Master", "Mx",
    "Rev", "Revd", "Dame", "Miss", "Ms", "Jr", "jnr", "Snr", "SR", "II", "III", "Esq", "Esq.",
    "Ben", "Al", "bin", "ap", "Mac", "Zoë", "Łukasz", "Siân", "O’Brien", "Smith–Jones", "Иван",
    "ﬁona", "Ｊｏｈｎ", "Nguyễn", "Straße", "Æthelred",
};
static const char *const fragments[] = {
    " ", " ", "  ", "\t", "'", "-", "`", ".", ",", "/", "(", ")", "_", "0", "1", "7", "9",
    "\xc3\xa9", "\xc3\x89", "\xe2\x80\x99", "\xc2\xa0", "\xcc\x88", "\xc2\xb4", "\xe2\x80\x8b",
    "\xc2\xad", "\xd0\x98", "\xff", "\x80", "\xc3", "\x01", "\x7f",
};

static void add_fragment(char *buf, size_t *n, size_t cap, int words_too)
{
    const char *f;
    char one[2] = {0, 0};
    uint32_t r = rng(100);
    if (r < 55) {
        one[0] = (char)(rng(2) ? 'a' + rng(26) : 'A' + rng(26));
        f = one;
    } else if (r < 70 && words_too) {
        f = name_words_pool[rng(N_OF(name_words_pool))];
    } else {
        f = fragments[rng(N_OF(fragments))];
    }
    size_t l = strlen(f);
    if (*n + l < cap) {
        memcpy(buf + *n, f, l);
        *n += l;
    }
    buf[*n] = '\0';
}

static void random_name(char *buf, size_t cap)
{
    size_t n = 0, len = rng(20) == 0 ? rng(300) : rng(30);
    buf[0] = '\0';
    while (n < len && n + 1 < cap)
        add_fragment(buf, &n, cap, 1);
}

static void assert_same_error(const bl_error *a, const bl_error *b, const char *what,
                              const char *in)
{
    if (!(a->code == b->code && strcmp(a->text, b->text) == 0))
        ck_abort_msg("%s('%s'): fast error %d '%s', general %d '%s'", what, shown(in),
                     a->code, a->text, b->code, b->text);
}

typedef bl_status (*norm_fn)(const char *in, char *out, size_t out_size, bl_error *err);

/* One normaliser's fast and general paths on one value, into out_size
   bytes (at most 400): same status, output and error. */
static void diff_one(norm_fn fast, norm_fn general, const char *what, const char *in,
                     size_t out_size)
{
    char a[400], b[400];
    bl_error ea, eb;
    memset(a, 'x', sizeof a);
    memset(b, 'y', sizeof b);
    bl_error_clear(&ea);
    bl_error_clear(&eb);
    bl_status sa = fast(in, a, out_size, &ea);
    bl_status sb = general(in, b, out_size, &eb);
    if (!(sa == sb && strcmp(a, b) == 0))
        ck_abort_msg("%s('%s', %zu): fast %d '%s', general %d '%s'", what, shown(in), out_size,
                     sa, a, sb, b);
    assert_same_error(&ea, &eb, what, in);
}

static void diff_name(const char *in, size_t out_size)
{
    diff_one(bl_normalise_name, bl_normalise_name_general, "name", in, out_size);
    diff_one(bl_normalise_text, bl_normalise_text_general, "text", in, out_size);

    char ga[400], fa[400], gb[400], fb[400];
    bl_error ea, eb;
    bl_error_clear(&ea);
    bl_error_clear(&eb);
    bl_status sa = bl_normalise_full_name(in, ga, out_size, fa, out_size, &ea);
    bl_status sb = bl_normalise_full_name_general(in, gb, out_size, fb, out_size, &eb);
    if (!(sa == sb && strcmp(ga, gb) == 0 && strcmp(fa, fb) == 0))
        ck_abort_msg("full name('%s'): fast %d '%s' '%s', general %d '%s' '%s'", shown(in),
                     sa, ga, fa, sb, gb, fb);
    assert_same_error(&ea, &eb, "full name", in);
}

static const char *const tricky_names[] = {
    "", " ", "  ", "\t", "John", "john", "JOHN", "  John  ", "John  Smith", " John Smith ",
    "O'Brien", "O'", "'O", "o'brien", "O' Brien", "O 'Brien", "O''Brien", "O`Brien", "O’Brien",
    "Mc", "McDonald", "Mc Donald", "MacDonald", "Smith-Jones", "Smith - Jones", "-Smith",
    "Smith-", "--", "'", "-'.,", "Jean-Luc d'Arcy", "Dr", "DR", "dr", "Dr.", "Dr Who",
    "Dr. Who", "DR WHO", "Dr Dr", "Mr Dr", "MR DR", "Drake", "Mr", "Mr Smith", "Mr. John Smith",
    "Mrs Dr Jane Doe", "Prof. Sir John Smith III", "Rev Revd Smith", "John Smith Jr",
    "John Smith Jr.", "Smith Jr", "Jr Smith", "Jr", "Jr Jr", "Smith jnr", "Smith II III",
    "Smith Esq", "John Lord", "Lord John", "Lady", "Master Smith", "Jane Master", "Mx Jones",
    "de la Cruz", "Anna van der Berg", "Anna van der BERG", "VAN DER BERG, Anna",
    "SMITH, John", "SMITH,John", "Smith,", ", John", ",", " , ", "SMITH John", "John SMITH",
    "John A SMITH", "SMITH JR, John", "John2Smith", "123", "John 3rd", "Smith (deceased)",
    "Zoë", "Zoe\xcc\x88", "Siân", "Łukasz", "Søren Ørsted", "Straße", "Æthelred",
    "Nguyễn Thị", "ﬁona", "Ｊｏｈｎ", "O’Brien", "O´Brien", "Smith–Jones",
    "Mary\xe2\x80\x8bJane", "John\xc2\xa0Smith", "Иван Petrov", "Jo\xffhn", "Jo\x80hn", "Zo\xc3",
    "\xc0\xaf", "\xed\xa0\x80", "John\x01Smith", "John\x7fSmith", "A", "a b", "A B C D E F G",
    "Bartholomew", "Wolfeschlegelsteinhausenbergerdorff",
};

START_TEST(fast_name_tricky)
{
    static const size_t sizes[] = {256, 64, 12, 8, 7, 6, 5, 2, 1};
    for (size_t i = 0; i < N_OF(tricky_names); i++)
        for (size_t k = 0; k < N_OF(sizes); k++)
            diff_name(tricky_names[i], sizes[k]);
    /* Longer than the word list's inline buffers, and than the output. */
    char longer[400];
    for (size_t n = 0; n < 390; n++)
        longer[n] = n % 7 == 6 ? ' ' : (char)('a' + n % 26);
    for (size_t end = 100; end <= 390; end += 29) {
        longer[end] = '\0';
        diff_name(longer, 256);
        diff_name(longer, 400);
        longer[end] = 'x';
    }
}
END_TEST

START_TEST(fast_name_random)
{
    rng_seed(1);
    char in[400];
    for (int i = 0; i < 300000; i++) {
        random_name(in, sizeof in);
        diff_name(in, rng(10) == 0 ? 1 + rng(40) : 256);
    }
}
END_TEST

/* Dates: values built from the pieces of the formats below. */
static const char *const *const date_format_sets[] = {
    (const char *const[]){"%d/%m/%Y", NULL},
    (const char *const[]){"%Y-%m-%d", NULL},
    (const char *const[]){"%Y%m%d", NULL},
    (const char *const[]){"%d-%b-%Y", "%Y-%m-%d", NULL},
    (const char *const[]){"%d %B %Y", NULL},
    (const char *const[]){"%b %d %Y", NULL},
    (const char *const[]){"%d/%m/%Y", "%m/%d/%Y", NULL},
    (const char *const[]){"%m/%d/%Y", "%d/%m/%Y", NULL},
    (const char *const[]){"%d/%m/%y", NULL},
    (const char *const[]){"%d.%m.%Y %H:%M", "%d.%m.%Y", NULL},
    (const char *const[]){"%Y-%m-%dT%H:%M:%S", NULL},
    (const char *const[]){"%d%m%Y", NULL},
    (const char *const[]){"%d%bT%Y", NULL}, /* a letter literal right after a month name */
    (const char *const[]){"%bT%d%Y", NULL},
    (const char *const[]){"%d%m%bY", NULL}, /* two months: a broken format */
    (const char *const[]){"%B%d%Y", NULL},
    (const char *const[]){"%d/%m/%Y", "%q", NULL}, /* the second format is broken */
    (const char *const[]){"%d/%d/%Y", NULL},
    (const char *const[]){"%d/%m/%Y/%Y", NULL},
    (const char *const[]){"%d/%m/%Y %%", NULL},
    (const char *const[]){"%d/%m/%Y%", NULL},
    (const char *const[]){"%Y-%m-%d", "", NULL},
    (const char *const[]){NULL}, /* the defaults */
};

static void diff_date(const char *in, const char *const *formats, long not_after)
{
    size_t nf = 0;
    while (formats[nf])
        nf++;
    char a[16], b[16];
    bl_error ea, eb;
    int fa = -1, fb = -2;
    memset(a, 'x', sizeof a);
    memset(b, 'y', sizeof b);
    bl_error_clear(&ea);
    bl_error_clear(&eb);
    bl_status sa = bl_normalise_date_ex(in, nf ? formats : NULL, nf, not_after, a, sizeof a, &fa,
                                        &ea);
    bl_status sb = bl_normalise_date_general(in, nf ? formats : NULL, nf, not_after, b,
                                             sizeof b, &fb, &eb);
    if (!(sa == sb && strcmp(a, b) == 0 && fa == fb))
        ck_abort_msg("date('%s', '%s'...): fast %d '%s' future %d, general %d '%s' future %d",
                     shown(in), nf ? formats[0] : "(defaults)", sa, a, fa, sb, b, fb);
    assert_same_error(&ea, &eb, "date", in);
}

static void random_date(char *buf, size_t cap)
{
    static const char *const months[] = {"Jan", "feb", "MAR", "Apr", "May", "may", "June", "Jun",
                                         "Jul", "Sep", "Sept", "SEPT", "September", "Oct",
                                         "Dec", "Decx", "Ja", "Juk", "T", "X"};
    static const char *const seps[] = {"/", "-", ".", " ", "  ", "T", ":", "", "\t", "%",
                                       "\xc2\xa0"};
    size_t n = 0;
    buf[0] = '\0';
    int parts = (int)rng(8);
    if (rng(8) == 0)
        buf[n++] = ' ';
    for (int i = 0; i < parts && n + 12 < cap; i++) {
        uint32_t r = rng(10);
        if (r < 6) {
            /* a number of 1 to 4 digits, often a plausible field */
            int width = (int)(rng(4) == 0 ? 1 + rng(4) : (rng(3) ? 2 : 4));
            int v = width == 4 ? (int)(1870 + rng(170)) : (int)rng(width == 1 ? 10 : 40);
            if (width == 4 && rng(10) == 0)
                v = (int)rng(10000);
            n += (size_t)snprintf(buf + n, cap - n, "%0*d", width, v);
        } else if (r < 8) {
            const char *m = months[rng(N_OF(months))];
            memcpy(buf + n, m, strlen(m));
            n += strlen(m);
        } else {
            const char *sp = seps[rng(N_OF(seps))];
            memcpy(buf + n, sp, strlen(sp));
            n += strlen(sp);
        }
        if (rng(3))
            n += (size_t)snprintf(buf + n, cap - n, "%s", rng(4) ? "/" : "-");
        buf[n] = '\0';
    }
    if (n && rng(3) == 0)
        n--; /* drop a trailing separator, or the last digit */
    if (rng(8) == 0 && n + 1 < cap)
        buf[n++] = ' ';
    buf[n] = '\0';
}

/* A value that fits fmt exactly, each field full width and near its range. */
static void date_from_format(const char *fmt, char *buf, size_t cap)
{
    static const char *const months[] = {"Jan", "FEB", "mar", "Apr", "May", "Jun", "jul",
                                         "Aug", "Sep", "Oct", "Nov", "DEC"};
    size_t n = 0;
    for (const char *f = fmt; *f && n + 8 < cap; f++) {
        if (*f != '%') {
            buf[n++] = *f;
            continue;
        }
        switch (*++f) {
        case 'd': n += (size_t)snprintf(buf + n, cap - n, "%02u", rng(33)); break;
        case 'm': n += (size_t)snprintf(buf + n, cap - n, "%02u", rng(14)); break;
        case 'Y': n += (size_t)snprintf(buf + n, cap - n, "%04u", 1870 + rng(170)); break;
        case 'y': n += (size_t)snprintf(buf + n, cap - n, "%02u", rng(100)); break;
        case 'b': case 'B':
            n += (size_t)snprintf(buf + n, cap - n, "%s", months[rng(12)]);
            break;
        case 'H': case 'M': case 'S':
            n += (size_t)snprintf(buf + n, cap - n, "%02u", rng(62));
            break;
        case '%': buf[n++] = '%'; break;
        default: break;
        }
        if (!*f)
            break;
    }
    buf[n] = '\0';
}

static const char *const tricky_dates[] = {
    "", " ", "05/03/1987", " 05/03/1987", "05/03/1987 ", "5/3/1987", "05/3/1987", "05/03/87",
    "31/02/1980", "29/02/2000", "29/02/1900", "00/00/1975", "32/01/2000", "12/25/2001",
    "13/13/2001", "01/01/1879", "01/01/1880", "31/12/9999", "01/06/2024", "02/06/2024",
    "1987-03-05", "1987-3-5", "19870305", "1987030", "198703055", "05-Mar-1987", "05-mar-1987",
    "05-MAR-1987", "05-Sept-1987", "05-Sep-1987", "05-September-1987", "05-May-1987",
    "05-Ma-1987", "5-Mar-1987", "05 March 1987", "March 05 1987", "05\xc2\xa0" "03/1987",
    "05/03/1987\xc2\xa0", "\xef\xbc\x90" "5/03/1987", "05/03/1987 00:00", "05.03.1987 23:59",
    "05.03.1987", "1987-03-05T12:00:60", "05/03/1987%", "05T03Mar1987", "SepT051987",
    "Sep051987", "September051987", "01/01/00", "31/12/99",
};

START_TEST(fast_date_tricky)
{
    static const long limits[] = {20240601, 19991231, 0};
    for (size_t i = 0; i < N_OF(tricky_dates); i++)
        for (size_t k = 0; k < N_OF(date_format_sets); k++)
            for (size_t t = 0; t < N_OF(limits); t++)
                diff_date(tricky_dates[i], date_format_sets[k], limits[t]);
}
END_TEST

START_TEST(fast_date_random)
{
    rng_seed(2);
    char in[128];
    for (int i = 0; i < 300000; i++) {
        const char *const *formats = date_format_sets[rng(N_OF(date_format_sets))];
        if (rng(2) && formats[0])
            date_from_format(formats[rng(2) && formats[1] ? 1 : 0], in, sizeof in);
        else
            random_date(in, sizeof in);
        diff_date(in, formats, rng(4) ? 20240601 : (long)rng(3) * 10000000);
    }
}
END_TEST

/* Sex codes, postcodes and NHS numbers: short values from small alphabets. */
static void diff_code(const char *in)
{
    diff_one(bl_normalise_sex, bl_normalise_sex_general, "sex", in, 64);
    diff_one(bl_normalise_postcode, bl_normalise_postcode_general, "postcode", in, 64);
    diff_one(bl_normalise_nhs_number, bl_normalise_nhs_number_general, "NHS number", in, 64);
}

static const char *const tricky_codes[] = {
    "", " ", "M", "m", "F", "f", "M ", " F", "U", "u", "0", "1", "2", "9", "X", "W", "I", "MF",
    "male", "Female", "not known", "Not_Known", "N", "\xc3\x89", "M\xc2\xa0",
    "OX1 2JD", "ox1 2jd", "OX12JD", "OX1  2JD", " OX1 2JD ", "OX1\t2JD", "OX1\xc2\xa0" "2JD",
    "OX1-2JD", "SW1A 1AA", "SW1A1AA", "W1A 0AX", "EC1A 1BB", "M1 1AE", "B33 8TH", "CR2 6XH",
    "DN55 1PT", "GIR 0AA", "gir0aa", "ZZ99 3VZ", "ZZ993WZ", "QX1 2JD", "VA1 1AA", "XA1 1AA",
    "AI1 1AA", "AJ11 1AA", "AZ1A 1AA", "A1I 1AA", "A1A 1AA", "A1Q 1AA", "AA1C 1AA", "AA1Y 1AA",
    "OX1 2CD", "OX1 2DC", "OX1 2JK", "OX1 JD2", "OX 2JD", "O 2JD", "1X1 2JD", "OX1 2JDX",
    "OXA1 2JD", "OX123 2JD", "OX1 2J", "X", "OX1", "12345",
    "9434765919", "943 476 5919", "943-476-5919", " 9434765919", "9434765919 ", "9434765918",
    "943476591", "94347659199", "0000000000", "1111111111", "9999999999", "4010232137",
    "401023213x", "94347659l9", "9434765919\xc2\xa0", "\xc2\xa0" "9434765919", "6832415001",
    "4088268776",
};

START_TEST(fast_code_tricky)
{
    for (size_t i = 0; i < N_OF(tricky_codes); i++)
        diff_code(tricky_codes[i]);
}
END_TEST

START_TEST(fast_code_random)
{
    static const char *const pieces[] = {" ", " ", "\t", "-", "_", "\xc2\xa0", "\xc3\xa9", "\xff",
                                         ".", "/", "Male", "not", "known", "GIR", "ZZ99"};
    rng_seed(3);
    char in[64];
    for (int i = 0; i < 300000; i++) {
        size_t n = 0;
        uint32_t kind = rng(4);
        if (kind == 0) {
            /* ten digits, a valid check digit about half the time */
            int sum = 0;
            for (int k = 0; k < 9; k++) {
                int d = (int)rng(10);
                in[n++] = (char)('0' + d);
                sum += d * (10 - k);
            }
            int check = (11 - sum % 11) % 11;
            in[n++] = (char)('0' + (rng(2) && check < 10 ? check : (int)rng(10)));
            if (rng(8) == 0)
                in[rng(10)] = in[0]; /* towards the repeated-digit placeholders */
            if (rng(10) == 0)
                n -= rng(3);
        } else if (kind == 1) {
            /* a postcode shape with random letters */
            static const char *const shapes[] = {"A9 9AA", "A99 9AA", "A9A 9AA", "AA9 9AA",
                                                 "AA99 9AA", "AA9A 9AA", "AA9A9AA", "A9 9A",
                                                 "AAA 9AA", "A9999AA"};
            const char *shape = shapes[rng(N_OF(shapes))];
            int lower = rng(4) == 0;
            for (const char *c = shape; *c; c++) {
                if (*c == 'A')
                    in[n++] = (char)((lower ? 'a' : 'A') + rng(26));
                else if (*c == '9')
                    in[n++] = (char)('0' + rng(10));
                else if (rng(5))
                    in[n++] = ' ';
            }
        }
        in[n] = '\0';
        /* Noise: stray characters and pieces, mostly few. */
        int extra = kind <= 1 ? (rng(4) == 0 ? (int)rng(3) : 0) : (int)rng(6);
        for (int k = 0; k < extra && n + 12 < sizeof in; k++) {
            if (rng(3) == 0) {
                const char *pc = pieces[rng(N_OF(pieces))];
                size_t at = rng((uint32_t)n + 1), l = strlen(pc);
                memmove(in + at + l, in + at, n - at + 1);
                memcpy(in + at, pc, l);
                n += l;
            } else {
                static const char alphabet[] = "MFmfUuXxIiWw0123456789 OXSWGZJ";
                size_t at = rng((uint32_t)n + 1);
                memmove(in + at + 1, in + at, n - at + 1);
                in[at] = alphabet[rng(sizeof alphabet - 1)];
                n++;
            }
        }
        diff_code(in);
    }
}
END_TEST

Suite *suite_normalise(void)
{
    Suite *s = suite_create("normalise");
    TCase *tc = tcase_create("names");
    tcase_add_loop_test(tc, name_known, 0, (int)N_OF(names));
    tcase_add_loop_test(tc, name_invalid_utf8, 0, (int)N_OF(bad_utf8));
    tcase_add_test(tc, name_errors_do_not_leak);
    tcase_add_test(tc, name_long_input);
    tcase_add_test(tc, name_misuse);
    tcase_add_loop_test(tc, text_known, 0, (int)N_OF(texts));
    tcase_add_test(tc, text_errors);
    tcase_add_loop_test(tc, full_name_known, 0, (int)N_OF(full_names));
    tcase_add_test(tc, full_name_errors);
    tcase_add_loop_test(tc, soundex_known, 0, (int)N_OF(soundex));
    suite_add_tcase(s, tc);

    tc = tcase_create("dates");
    tcase_add_loop_test(tc, date_known, 0, (int)N_OF(dates));
    tcase_add_test(tc, date_two_digit_year_today);
    tcase_add_test(tc, date_bad_formats);
    tcase_add_test(tc, date_parts_and_today);
    suite_add_tcase(s, tc);

    tc = tcase_create("codes");
    tcase_add_loop_test(tc, sex_known, 0, (int)N_OF(sexes));
    tcase_add_loop_test(tc, postcode_known, 0, (int)N_OF(postcodes));
    tcase_add_loop_test(tc, postcode_parts_known, 0, (int)N_OF(postcode_parts));
    tcase_add_loop_test(tc, nhs_known, 0, (int)N_OF(nhs));
    tcase_add_test(tc, nhs_modulus11_exhaustive_digit);
    tcase_add_test(tc, fixed_buffers_misuse);
    suite_add_tcase(s, tc);

    tc = tcase_create("fast paths");
    tcase_set_timeout(tc, 120); /* a few hundred thousand values each, also under sanitizers */
    tcase_add_test(tc, fast_name_tricky);
    tcase_add_test(tc, fast_name_random);
    tcase_add_test(tc, fast_date_tricky);
    tcase_add_test(tc, fast_date_random);
    tcase_add_test(tc, fast_code_tricky);
    tcase_add_test(tc, fast_code_random);
    suite_add_tcase(s, tc);
    return s;
}
