/* bench_encode.c - placeholder. */
#include "config.h"

#include "cli.h"

int bench_encode(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_errorf("bench encode: not implemented yet");
    return EXIT_FAIL;
}
