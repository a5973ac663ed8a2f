/* Command-line front ends. Each takes main's arguments after the command
 * word, prints its own output and errors, and returns the process exit code
 * (0 ok, 1 runtime failure, 2 usage/config/input error, 3 regression). */
#ifndef CLBENCH_CLI_H
#define CLBENCH_CLI_H

#include <stdio.h>

int cl_cli_run_flags(int argc, char **argv); /* clbench --strategy ... */
int cl_cli_list(int argc, char **argv);      /* clbench list */
void cl_cli_usage(FILE *f);

#endif
