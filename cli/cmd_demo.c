/* cmd_demo.c - placeholder until this subcommand lands. */
#include "config.h"

#include "cli.h"

int cmd_demo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_errorf("demo: not implemented yet");
    return EXIT_FAIL;
}
