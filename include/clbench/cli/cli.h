/* Command-line front ends. Each takes main's arguments after the command
 * word, prints its own output and errors, and returns the process exit code
 * (0 ok, 1 runtime failure, 2 usage/config/input error, 3 regression). */
#ifndef CLBENCH_CLI_H
#define CLBENCH_CLI_H

#include <stdio.h>

int cl_cli_run_flags(int argc, char **argv); /* clbench --strategy ... */
int cl_cli_run(int argc, char **argv);       /* clbench run FILE.yaml */
int cl_cli_list(int argc, char **argv);      /* clbench list */
int cl_cli_report(int argc, char **argv);    /* clbench report DIR... */
int cl_cli_plot(int argc, char **argv);      /* clbench plot DIR... */
int cl_cli_compare(int argc, char **argv);   /* clbench compare BASELINE CURRENT */
int cl_cli_sweep(int argc, char **argv);     /* clbench sweep FILE.yaml */
int cl_cli_sample(int argc, char **argv);    /* clbench sample NET_FILE */
void cl_cli_usage(FILE *f);

/* Shared by the run front ends (flags, experiment files). */
struct cl_config;
typedef struct cl_exec_opts {
    const char *out;    /* results root */
    const char *format; /* "table" or "json" */
    int quiet, force;
    int resume;         /* go on from each run's checkpoint.bin when there is one */
} cl_exec_opts;

/* Runs cells in order, skipping those whose metrics.json exists under
 * o->out unless o->force. Each run checkpoints in its folder after every
 * task but the last (checkpoint.bin, removed once metrics.json is written);
 * with o->resume a run goes on from that file when it exists (a corrupt or
 * foreign one is an input error, exit 2). Writes each run's folder, fills
 * intransigence from a finished joint run, then prints the JSON of every run
 * or tables (one run: its full table; several: one comparison per suite,
 * scenario and settings, rows in registry order). Stops at the first failed
 * run. Returns the exit code: 1 when a run failed or diverged. cells stay
 * the caller's. */
int cl_cli_exec_cells(struct cl_config *const *cells, int n, const cl_exec_opts *o);

#endif
