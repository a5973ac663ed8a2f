/* Private to the experiment module (harness/experiment*.c): the plan that
 * the parser (experiment_yaml.c) builds from an experiment file and the grid
 * expansion (experiment.c) turns into configs, with the file position of
 * every item so that errors found while expanding name the node that caused
 * them. */
#ifndef CLBENCH_EXPERIMENT_YAML_H
#define CLBENCH_EXPERIMENT_YAML_H

#include <stddef.h>
#include "clbench/run/config.h"

#define CL_EXP_MAX_SUITES 64

typedef struct cl_exp_loc {
    size_t line, col; /* 1-based; 0 = not in the file */
} cl_exp_loc;

/* One parameter named in the file: a grid axis of n values (n = 1 for a
 * scalar). */
typedef struct cl_exp_axis {
    char ns[64];      /* model, train, suite, a strategy name, or "" for the
                         `strategy:` mapping (whichever strategy the cell runs) */
    char name[64];
    cl_exp_loc key;
    int n;
    char **vals;      /* (n) value texts, owned */
    cl_exp_loc *at;   /* (n) where each value was written */
} cl_exp_axis;

/* Every array is owned by the plan (cl_exp_plan_release frees them). */
typedef struct cl_exp_plan {
    const char *file;     /* names the input in messages; borrowed */
    cl_exp_loc root;
    unsigned long *seeds; /* (n_seeds) */
    cl_exp_loc *seed_at;  /* (n_seeds) */
    int n_seeds;
    char suites[CL_EXP_MAX_SUITES][64];
    cl_exp_loc suite_at[CL_EXP_MAX_SUITES];
    int n_suites;
    cl_scenario scen[3];  /* n_scen = 0: each suite's default */
    cl_exp_loc scen_at[3];
    int n_scen;
    const cl_strategy_ops **strats; /* (n_strats) joint first, no repeats */
    cl_exp_loc *strat_at;           /* (n_strats) */
    int n_strats;
    int threads;
    char data_dir[512];
    cl_exp_loc train_at;  /* for errors relating several train parameters */
    cl_exp_axis *axes;    /* (n_axes) in file order */
    int n_axes;
} cl_exp_plan;

/* Parses len bytes of YAML into p; `name` (NULL: "<experiment>") names the
 * input in messages and must outlive p. On success the caller releases p;
 * on failure (CL_EINVAL with "FILE:LINE:COL: ...", or CL_ENOMEM) p holds
 * nothing. */
int cl_exp_plan_parse(cl_exp_plan *p, const char *name, const char *text, size_t len);
/* Frees what p holds; releasing twice is safe. */
void cl_exp_plan_release(cl_exp_plan *p);

/* CL_EINVAL with the message "FILE:LINE:COL: <fmt...>". */
int cl_exp_fail(const cl_exp_plan *p, cl_exp_loc at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes the pending message (from a config or params function) with a
 * position; out-of-memory stays out-of-memory. */
int cl_exp_relocate(const cl_exp_plan *p, cl_exp_loc at, int rc);

#endif
