/* Private to clbench sweep (harness/cli/cli_sweep*.c): the parsed command line
 * and the Slurm path, which lives in cli_sweep_slurm.c. */
#ifndef CLBENCH_CLI_SWEEP_H
#define CLBENCH_CLI_SWEEP_H

#include <stdint.h>
#include "clbench/run/sweep.h"

typedef struct cl_cli_sweep_opts {
    const char *file, *out, *script, *partition, *time;
    int jobs;       /* 0: online CPUs / threads */
    int threads;    /* 0: the file's */
    int cpus;       /* --cpus-per-task, 0: the threads */
    long mem_mb;
    long cell;      /* -1: plan the sweep; else run this cell */
    int quiet, force, resume, dry_run, slurm, submit, has_grid;
    uint64_t grid;
} cl_cli_sweep_opts;

/* Writes the batch script for the cells of sc still to run (all with
 * o->force) and, with o->submit, submits it as job arrays; cpus per task,
 * grid the grid hash the tasks check. Prints what it did; returns the exit
 * code. */
int cl_cli_sweep_slurm(const cl_cli_sweep_opts *o, const cl_sweep_cell *sc, int n, int cpus,
                       uint64_t grid);

#endif
