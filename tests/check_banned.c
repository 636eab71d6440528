/* check_banned.c - banned functions (atoi, sprintf, strcpy, strtok, rand,
   gets) never appear in lib/ or cli/: each has a safer replacement. */
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

static int scan_dir(const char *dir, regex_t *re, char *report, size_t size)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    struct dirent *de;
    int hits = 0;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 3 || (strcmp(de->d_name + n - 2, ".c") && strcmp(de->d_name + n - 2, ".h")))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        char line[4096];
        int lineno = 0;
        while (fgets(line, sizeof line, f)) {
            lineno++;
            if (regexec(re, line, 0, NULL, 0) == 0) {
                hits++;
                size_t used = strlen(report);
                snprintf(report + used, size - used, "%s:%d: %s", path, lineno, line);
            }
        }
        fclose(f);
    }
    closedir(d);
    return hits;
}

START_TEST(no_banned_functions)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, "(^|[^_a-zA-Z0-9.>])(atoi|sprintf|vsprintf|strcpy|strcat|strtok|rand|gets)[ ]*\\(",
                             REG_EXTENDED), 0);
    char report[8192] = "";
    int hits = 0;
    hits += scan_dir(BL_SRCDIR "/lib", &re, report, sizeof report);
    hits += scan_dir(BL_SRCDIR "/cli", &re, report, sizeof report);
    regfree(&re);
    ck_assert_msg(hits == 0, "banned functions used:\n%s", report);
}
END_TEST

Suite *suite_banned(void)
{
    Suite *s = suite_create("banned");
    TCase *tc = tcase_create("grep");
    tcase_add_test(tc, no_banned_functions);
    suite_add_tcase(s, tc);
    return s;
}
