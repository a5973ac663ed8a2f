/* Experiment files: one YAML file names suites, scenarios, strategies, seeds
 * and parameter grids; loading it expands and validates every cell (one
 * cl_config per run) before anything runs. The effective config.yaml that
 * every run writes is itself an experiment file of exactly one cell with the
 * same run id, so `clbench run results/runs/<id>/config.yaml` repeats a run.
 *
 * Schema (top-level keys; every one optional):
 *   seed: N | [N, ...]       seeds: K (seed..seed+K-1) | [N, ...]
 *   scenario: S | [S, ...]   (default: the suite's first, class when it has it)
 *   threads: N               data_dir: PATH
 *   suite: NAME | [NAME, ...] | {name: NAME | [..], PARAM: VALUE, ...}
 *   strategy: NAME | [NAME, ...] | all | {name: ..., PARAM: VALUE, ...}
 *   model: {PARAM: VALUE}    train: {PARAM: VALUE}
 *   STRATEGY: {PARAM: VALUE} (e.g. ewc: {lambda: 10}; that strategy's cells only)
 * A VALUE is a scalar, passed as text to the parameter's declared spec, or a
 * sequence: a grid over its items. For INTS parameters (model.hidden) a flat
 * sequence of numbers is one value and a sequence of sequences is a grid.
 * A value equal to the parameter's default counts as not set (so an effective
 * config, which lists every parameter, passes cl_config_validate).
 *
 * Expansion order: seed, then suite, then scenario, then strategy (as listed,
 * joint first so the others can measure intransigence against it), then the
 * grid axes in file order, the first varying slowest. Cells with the same
 * run id (a value listed twice) are kept once.
 *
 * Errors: CL_EINVAL with one line "FILE:LINE:COL: ..." (1-based) naming what
 * was expected; nothing is half-built. */
#ifndef CLBENCH_EXPERIMENT_H
#define CLBENCH_EXPERIMENT_H

#include <stddef.h>
#include "clbench/run/config.h"

/* Expansions beyond this many cells are rejected before any is built: each
 * cell holds a full config (about 12 KB) and 10000 runs already take hours. */
#define CL_EXPERIMENT_MAX_CELLS 10000

typedef struct cl_experiment cl_experiment;

/* Parses len bytes of YAML; `name` names the input in messages. */
int cl_experiment_parse(cl_experiment **out, const char *name, const char *text, size_t len);

/* Reads and parses the file at path (CL_EINVAL if it cannot be read). */
int cl_experiment_load(cl_experiment **out, const char *path);

void cl_experiment_free(cl_experiment *e);

/* The expanded cells, in expansion order. The configs belong to e; callers
 * may adjust them (e.g. threads) before running. */
int cl_experiment_count(const cl_experiment *e);
cl_config **cl_experiment_cells(cl_experiment *e);

#endif
