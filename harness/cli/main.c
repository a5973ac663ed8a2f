/* clbench: continual-learning benchmark harness. main only dispatches; the
 * commands live in harness/cli/cli_*.c. */
#include <stdio.h>
#include <string.h>
#include "clbench/cli/cli.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        cl_cli_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        cl_cli_usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("clbench " CL_VERSION " (" CL_GIT_REV ")\n");
        return 0;
    }
    if (!strcmp(cmd, "list")) return cl_cli_list(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return cl_cli_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare")) return cl_cli_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return cl_cli_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "plot")) return cl_cli_plot(argc - 1, argv + 1);
    if (!strcmp(cmd, "sweep")) return cl_cli_sweep(argc - 1, argv + 1);
    if (!strcmp(cmd, "sample")) return cl_cli_sample(argc - 1, argv + 1);
    if (cmd[0] == '-') return cl_cli_run_flags(argc, argv);
    fprintf(stderr, "clbench: unknown command '%s' (commands: run, sweep, list, report, plot, compare, sample; or run flags, see --help)\n", cmd);
    return 2;
}
