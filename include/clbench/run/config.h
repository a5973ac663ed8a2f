/* One run's effective configuration: which suite, scenario, strategy and
 * seed, plus the parameter tables of every namespace (model, train, suite,
 * the strategy's own). Its YAML form is written into every results folder
 * and `clbench run` reads it back to repeat the run. */
#ifndef CLBENCH_CONFIG_H
#define CLBENCH_CONFIG_H

#include <stdint.h>
#include "clbench/base/params.h"
#include "clbench/strategies/strategy.h"
#include "clbench/base/strbuf.h"
#include "clbench/tasks/suite.h"

typedef struct cl_config {
    char suite[64];
    cl_scenario scenario;
    char strategy[32];
    unsigned long seed;
    int threads;                       /* OpenBLAS threads for this run */
    char data_dir[512];                /* "" = the suite family's default */
    const cl_suite_family *family;
    const cl_strategy_ops *ops;
    const cl_net_ops *net; /* model.net: which network the model table is for */
    cl_params *model;    /* namespace "model": the network's table */
    cl_params *train;    /* namespace "train" */
    cl_params *suite_p;  /* namespace "suite": the family's table */
    cl_params *strat;    /* namespace "<strategy name>" */
} cl_config;

/* Looks up suite and strategy (CL_EINVAL listing valid names) and checks the
 * family supports the scenario; all parameters start at their defaults. */
int cl_config_new(cl_config **out, const char *suite, cl_scenario sc,
                  const char *strategy, unsigned long seed);
void cl_config_free(cl_config *c);
int cl_config_clone(cl_config **out, const cl_config *src);

/* A copy of src for another strategy (its parameters at their defaults):
 * the same suite, seed and settings, e.g. to find the joint reference. */
int cl_config_for_strategy(cl_config **out, const cl_config *src, const char *strategy);

/* Applies "ns.name" = value. ns is model, train, suite or a strategy name.
 * model.net switches the model table to that network's (values set so far
 * carry over, and must exist there).
 * A strategy namespace other than this config's strategy is validated
 * against that strategy's table and otherwise ignored, so one --set list can
 * serve a comparison of several strategies. */
int cl_config_set(cl_config *c, const char *key, const char *value);

/* Splits "ns.name=value" (value may contain '='); CL_EINVAL if malformed. */
int cl_config_set_arg(cl_config *c, const char *arg);

/* Checks relations between parameters that one spec cannot (e.g. both
 * train.steps and train.epochs set). */
int cl_config_validate(const cl_config *c);

/* The effective config as YAML; stable text, so its hash names the run. */
void cl_config_yaml(const cl_config *c, cl_strbuf *out);

/* 64-bit FNV-1a of the YAML text. */
uint64_t cl_config_hash(const cl_config *c);

/* suite-scenario-strategy-s<seed>-<8 hex of the hash>. */
void cl_config_run_id(const cl_config *c, char *buf, size_t n);

/* The spec table of the train namespace, for `clbench list` (the model
 * namespace's is the network's: cl_net_ops.params). */
extern const cl_param_spec cl_train_params[];

/* Optimiser settings from the train table. */
void cl_config_optim(const cl_config *c, cl_optim_config *out);

/* The lr schedule from the train table, for a run of n_tasks tasks of
 * steps_per_task steps. */
void cl_config_schedule(const cl_config *c, long steps_per_task, long n_tasks, cl_schedule *out);

#endif
