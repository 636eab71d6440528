/* cmd_clk.c - placeholder until this subcommand lands. */
#include "config.h"

#include "cli.h"

int cmd_clk(int argc, char **argv)
{
    (void)argc;
    cli_errorf("%s: not implemented yet", argv[0]);
    return EXIT_FAIL;
}

int cmd_import_clks(int argc, char **argv)
{
    (void)argc;
    cli_errorf("%s: not implemented yet", argv[0]);
    return EXIT_FAIL;
}

int cmd_export_clks(int argc, char **argv)
{
    (void)argc;
    cli_errorf("%s: not implemented yet", argv[0]);
    return EXIT_FAIL;
}

int cmd_clk_match(int argc, char **argv)
{
    (void)argc;
    cli_errorf("%s: not implemented yet", argv[0]);
    return EXIT_FAIL;
}
