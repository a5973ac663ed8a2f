/* The suite-family interface. A suite family (one file in tasks/) turns a
 * seed and its parameters into T tasks (clbench/store/task.h); it knows
 * nothing of strategies. */
#ifndef CLBENCH_SUITE_H
#define CLBENCH_SUITE_H

#include <gsl/gsl_rng.h>
#include "clbench/base/params.h"
#include "clbench/store/task.h"

typedef struct cl_suite_family {
    int version;          /* CL_SUITE_FAMILY_VERSION */
    const char *name;     /* "seq-tasks", or a prefix ending in '*': "split-*" */
    const char *summary;  /* one line for `clbench list` */
    const cl_param_spec *params;
    unsigned scenarios;   /* bit (1 << cl_scenario) for each one supported */
    /* `suite_name` is the full name asked for ("split-fmnist"); data_dir may
     * be NULL (use the family's default). */
    int (*build)(cl_suite **out, const char *suite_name, const cl_params *p,
                 cl_scenario sc, const char *data_dir, gsl_rng *rng);
} cl_suite_family;

#define CL_SUITE_FAMILY_VERSION 1

/* The registry: an explicit table in tasks/registry.c. */
int cl_suite_family_count(void);
const cl_suite_family *cl_suite_family_at(int i);
/* The scenario a suite runs in when none is named: class when the family
 * supports it, else domain (one label set, as in fact-stream), else task. */
cl_scenario cl_suite_family_default_scenario(const cl_suite_family *f);

/* Finds the family serving `suite_name`; CL_EINVAL with the valid names. */
int cl_suite_family_find(const cl_suite_family **out, const char *suite_name);

#endif
