// aha version: the version and the build's optional features.
#include "base/dist.h"
#include "cli/cli.h"

#include <stdio.h>

#define AHA_VERSION "0.1.0"

typedef struct {
    int unused;   // the command has no settings
} VersionFlags;

static const OptDef version_options[] = {
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};

const CliOptions version_cli = {
    version_options, sizeof(VersionFlags), NULL, "aha version",
    "Prints the version and the build's optional features.", NULL, 0};

int cmd_version(void *cfg) {
    (void)cfg;
    // Under MPI every rank answers: ranks above 0 on stderr, their stdout
    // being silenced (cli/main.c).
    FILE *f = dist_rank() > 0 ? stderr : stdout;
    fprintf(f, "aha %s", AHA_VERSION);
#ifdef _OPENMP
    fprintf(f, " +openmp");
#endif
#ifdef AHA_BLAS
    fprintf(f, " +openblas");
#endif
#ifdef AHA_DNNL
    fprintf(f, " +onednn");
#endif
    if (dist_available()) fprintf(f, " +mpi");
    if (dist_size() > 1) fprintf(f, " (rank %d of %d)", dist_rank(), dist_size());
    fprintf(f, "\n");
    return 0;
}
