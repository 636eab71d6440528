/* cmd_bench.c - `bloomlink bench <what>`: benchmarks that print figures. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: bloomlink bench encode [--records N] [--runs N] [--json]\n"
    "       bloomlink bench dice [--n N] [--bits B] [--threshold T] [--runs R] [--json]\n";

int cmd_bench(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage(usage_text, "bench: which benchmark?");
    if (!strcmp(argv[1], "encode"))
        return bench_encode(argc - 1, argv + 1);
    if (!strcmp(argv[1], "dice"))
        return bench_dice(argc - 1, argv + 1);
    if (!strcmp(argv[1], "--help")) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    return cli_usage(usage_text, "bench: unknown benchmark '%s'", argv[1]);
}
