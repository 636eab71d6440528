/* cmd_inspect.c - placeholder until this subcommand lands. */
#include "config.h"

#include "cli.h"

int cmd_inspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_errorf("inspect: not implemented yet");
    return EXIT_FAIL;
}
