/* cmd_optout.c - placeholder until this subcommand lands. */
#include "config.h"

#include "cli.h"

int cmd_optout(int argc, char **argv)
{
    (void)argc;
    cli_errorf("%s: not implemented yet", argv[0]);
    return EXIT_FAIL;
}
