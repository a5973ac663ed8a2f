/* Sweeps: an experiment grid run as independent cells, each in its own
 * process (`clbench sweep FILE --cell K`), by local workers or by the tasks
 * of Slurm job arrays. This module holds what the front end decides before
 * anything runs: which cells are finished, which wait for a joint reference
 * run, how the cells to run split into job arrays, and the batch script.
 *
 * Cells are numbered 0.. in the experiment's expansion order (see
 * experiment.h); a worker re-expands the same file and runs cell K, so the
 * grid hash lets it refuse a file that changed after the sweep was planned. */
#ifndef CLBENCH_SWEEP_H
#define CLBENCH_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include "clbench/run/config.h"
#include "clbench/base/strbuf.h"

/* Slurm's default MaxArraySize: array task ids must be below it. */
#define CL_SWEEP_MAX_ARRAY_DEFAULT 1001

/* Longest --array text put in one job array; longer lists are split (the
 * alternative, a one-line #SBATCH of tens of kilobytes, is asking for
 * trouble in every tool that reads the script). */
#define CL_SWEEP_MAX_SPEC 2000

typedef struct cl_sweep_cell {
    char run_id[256];
    int joint; /* index of the cell that is this cell's joint reference run
                  (intransigence is measured against it), or -1 */
    int done;  /* root/<run id>/metrics.json exists */
} cl_sweep_cell;

/* One entry per config: run ids, joint references and finished flags under
 * `root`. Free with cl_sweep_cells_free. */
int cl_sweep_cells_new(cl_sweep_cell **out, cl_config *const *cells, int n, const char *root);
void cl_sweep_cells_free(cl_sweep_cell *c);

/* FNV-1a over the run ids in order: names the grid (the script file) and
 * lets a worker check it expanded the same cells as its planner. */
uint64_t cl_sweep_grid_hash(cl_config *const *cells, int n);

/* Ascending distinct indices as Slurm's compressed list: "0,3,5-9". */
void cl_sweep_array_spec(cl_strbuf *out, const int *idx, int n);

/* One job array: its task ids are cell indices minus `offset`. */
typedef struct cl_sweep_array {
    int offset;  /* cell = SLURM_ARRAY_TASK_ID + offset */
    int phase;   /* 0; or 1: holds cells whose joint reference runs in a
                    phase-0 array, so it must wait for those to end */
    int n_tasks;
    char *spec;  /* owned: the --array list, task ids */
} cl_sweep_array;

/* Splits the cells with todo[i] set into job arrays: task ids below
 * max_array (Slurm's MaxArraySize), lists at most CL_SWEEP_MAX_SPEC long,
 * ascending cells. With `phased`, cells whose joint reference is also to
 * run go into phase-1 arrays after all phase-0 ones; without, every array
 * is phase 0. *n_out is 0 when nothing is to run. Free with
 * cl_sweep_arrays_free. */
int cl_sweep_arrays_new(cl_sweep_array **out, int *n_out, const cl_sweep_cell *cells,
                        const unsigned char *todo, int n, int max_array, int phased);
void cl_sweep_arrays_free(cl_sweep_array *a, int n);

/* The sbatch options of a[i], each preceded by a space: --array (when
 * there are several arrays; the script carries the single one), --export
 * of CLBENCH_CELL_OFFSET, and for phase 1 --dependency=afterany on every
 * phase-0 array: the job ids in jobids, or with jobids NULL the shell
 * expansions ${jK%%;*} of variables jK holding `sbatch --parsable` output. */
void cl_sweep_sbatch_args(cl_strbuf *out, const cl_sweep_array *a, int n, int i,
                          const long *jobids);

/* What the batch script needs. Paths must be absolute. */
typedef struct cl_sweep_slurm {
    const char *bin;       /* the clbench binary the tasks run */
    const char *file;      /* the experiment file */
    const char *out;       /* results root; logs go to out/slurm-logs */
    const char *partition; /* NULL: the cluster's default */
    const char *time;      /* time limit, NULL: the partition's */
    long mem_mb;           /* memory per task in MB, 0: the cluster's default */
    int cpus;              /* --cpus-per-task, also each run's OpenBLAS threads */
    int force;             /* tasks re-run finished cells */
    int resume;            /* tasks go on from a killed run's checkpoint */
    uint64_t grid;         /* cl_sweep_grid_hash of the cells */
    const char *array;     /* the #SBATCH --array list */
} cl_sweep_slurm;

/* The sbatch script text. CL_EINVAL naming the value when a path or option
 * cannot be written into #SBATCH lines safely (whitespace, quotes, '%',
 * control characters) or is not absolute. */
int cl_sweep_slurm_script(cl_strbuf *out, const cl_sweep_slurm *s);

/* Appends s single-quoted for a POSIX shell. */
void cl_sweep_shell_quote(cl_strbuf *out, const char *s);

#endif
