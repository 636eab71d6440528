/* gov.h - helpers shared by the governance subcommands (dsa, optout, emit, audit). */
#ifndef BL_CLI_GOV_H
#define BL_CLI_GOV_H
#include <stdint.h>

/* Who runs the command, for the audit log: the effective user's login name
   from the passwd database; $USER only when there is no passwd entry (some
   containers).  --actor overrides it. */
const char *gov_default_actor(void);
/* "YYYY-MM-DD" -> Unix seconds at noon UTC that day; 0 on a bad date. */
int64_t gov_parse_day(const char *s);
/* Split "source=path" in place; returns 0 and sets *source, *path. */
int gov_split_pair(char *arg, const char **source, const char **path);
#endif
