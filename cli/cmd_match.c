/* cmd_match.c - placeholder until this subcommand lands. */
#include "config.h"

#include "cli.h"

int cmd_match(int argc, char **argv)
{
    (void)argc;
    cli_errorf("%s: not implemented yet", argv[0]);
    return EXIT_FAIL;
}

int cmd_train(int argc, char **argv)
{
    (void)argc;
    cli_errorf("%s: not implemented yet", argv[0]);
    return EXIT_FAIL;
}

int cmd_explain(int argc, char **argv)
{
    (void)argc;
    cli_errorf("%s: not implemented yet", argv[0]);
    return EXIT_FAIL;
}

int cmd_evaluate(int argc, char **argv)
{
    (void)argc;
    cli_errorf("%s: not implemented yet", argv[0]);
    return EXIT_FAIL;
}
