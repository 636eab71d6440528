/* cmd_encode.c - placeholder until this subcommand lands. */
#include "config.h"

#include "cli.h"

int cmd_encode(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_errorf("encode: not implemented yet");
    return EXIT_FAIL;
}
