/* bench_dice.c - placeholder. */
#include "config.h"

#include "cli.h"

int bench_dice(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_errorf("bench dice: not implemented yet");
    return EXIT_FAIL;
}
