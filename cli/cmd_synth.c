/* cmd_synth.c - placeholder until this subcommand lands. */
#include "config.h"

#include "cli.h"

int cmd_synth(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_errorf("synth: not implemented yet");
    return EXIT_FAIL;
}
