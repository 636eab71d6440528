/* cmd_dsa.c - placeholder until this subcommand lands. */
#include "config.h"

#include "cli.h"

int cmd_dsa(int argc, char **argv)
{
    (void)argc;
    cli_errorf("%s: not implemented yet", argv[0]);
    return EXIT_FAIL;
}
