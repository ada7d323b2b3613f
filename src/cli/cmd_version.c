// aha version: the version and the build's optional features.
#include "cli/cli.h"

#include <stdio.h>

#define AHA_VERSION "0.1.0"

typedef struct {
    int unused;   // the command has no settings
} VersionFlags;

static const OptDef version_options[] = {
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};

static void version_defaults(void *cfg) { ((VersionFlags *)cfg)->unused = 0; }

const CliOptions version_cli = {version_options, sizeof(VersionFlags), version_defaults,
                                "usage: aha version\nPrints the version and the build's optional features.\n", NULL};

int cmd_version(int argc, char **argv) {
    VersionFlags f;
    int rc = cli_parse_options("version", argc, argv, &version_cli, &f);
    if (rc) return rc == 1 ? 0 : rc;
    printf("aha %s", AHA_VERSION);
#ifdef _OPENMP
    printf(" +openmp");
#endif
#ifdef AHA_BLAS
    printf(" +openblas");
#endif
    printf("\n");
    return 0;
}
