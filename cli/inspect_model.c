/* inspect_model.c - placeholder until the matcher lands. */
#include "config.h"

#include "cli.h"

int inspect_model(const char *path, int json)
{
    (void)json;
    cli_errorf("%s: model inspection not implemented yet", path);
    return EXIT_FAIL;
}
