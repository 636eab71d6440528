/* gov_util.c - small helpers for the governance subcommands. */
#include "config.h"

#include "gov.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *gov_default_actor(void)
{
    static char name[64]; /* CLI only: one command per process */
    struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name && *pw->pw_name) {
        snprintf(name, sizeof name, "%s", pw->pw_name);
        return name;
    }
    const char *u = getenv("USER");
    if (u && *u) {
        snprintf(name, sizeof name, "%s", u);
        return name;
    }
    snprintf(name, sizeof name, "uid:%ld", (long)geteuid());
    return name;
}

int64_t gov_parse_day(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%Y-%m-%d", &tm) : NULL;
    if (!end || *end)
        return 0;
    int mday = tm.tm_mday, mon = tm.tm_mon;
    tm.tm_hour = 12;
    time_t t = timegm(&tm);
    struct tm chk;
    if (t == (time_t)-1 || !gmtime_r(&t, &chk) || chk.tm_mday != mday || chk.tm_mon != mon)
        return 0; /* 31 February and friends */
    return (int64_t)t;
}

int gov_split_pair(char *arg, const char **source, const char **path)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return -1;
    *eq = '\0';
    *source = arg;
    *path = eq + 1;
    return 0;
}
