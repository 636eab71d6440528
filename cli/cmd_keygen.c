/* cmd_keygen.c - placeholder until this subcommand lands. */
#include "config.h"

#include "cli.h"

int cmd_keygen(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_errorf("keygen: not implemented yet");
    return EXIT_FAIL;
}
