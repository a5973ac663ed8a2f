/* fact-stream: "does backprop at inference keep knowledge?" in miniature.
 * A stream of facts, each an entity key (a random +-1 code the network
 * cannot generalise across) mapped to a value class. Every task brings new
 * facts, and from the second task on a share of them overwrite the value of
 * an earlier key. A fact is tested in the task that wrote its final value,
 * against that value; for an overwritten fact the outdated value is its
 * stale label, so the results also give the stale-answer rate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/rng.h"
#include "clbench/tasks/suite.h"

static const cl_param_spec fact_params[] = {
    {"tasks", CL_PARAM_INT, "5", 1, 1000, NULL, "number of tasks in the stream"},
    {"facts_per_task", CL_PARAM_INT, "200", 1, 1000000, NULL, "facts each task writes"},
    {"values", CL_PARAM_INT, "10", 2, 1000, NULL, "value classes a fact can take"},
    {"key_dim", CL_PARAM_INT, "64", 8, 65536, NULL, "length of the +-1 entity codes"},
    {"update_fraction", CL_PARAM_FLOAT, "0.2", 0, 0.9, NULL,
     "share of each later task's facts that overwrite an earlier key's value"},
    {"repeats", CL_PARAM_INT, "1", 1, 1000, NULL, "copies of each fact in its task's training set"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct fact {
    int key;      /* index into the key codes */
    int value;
    int task;     /* task that wrote this value */
    int stale;    /* the value it replaced, or -1 */
    int final;    /* 1 if no later task overwrites it */
} fact;

/* Writes the stream: T * F facts in task order, updates marked. */
static int write_stream(fact *facts, int T, int F, int V, int n_upd, int *latest, gsl_rng *rng)
{
    int n_keys = 0, *pick = malloc((size_t)T * F * sizeof *pick);
    if (!pick) return cl_error_set(CL_ENOMEM, "out of memory");
    for (int t = 0; t < T; t++) {
        int upd = t == 0 ? 0 : n_upd, existing = n_keys;
        for (int k = 0; k < existing; k++) pick[k] = k;
        for (int i = 0; i < F; i++) {
            fact *f = &facts[t * F + i];
            f->task = t;
            f->final = 1;
            if (i < upd) {
                /* Distinct earlier keys: partial Fisher-Yates over 0..existing-1. */
                int j = i + (int)cl_rng_below(rng, (unsigned long)(existing - i));
                int tmp = pick[i];
                pick[i] = pick[j];
                pick[j] = tmp;
                f->key = pick[i];
                fact *old = &facts[latest[f->key]];
                old->final = 0;
                f->stale = old->value;
                f->value = (old->value + 1 + (int)cl_rng_below(rng, (unsigned long)V - 1)) % V;
            } else {
                f->key = n_keys++;
                f->stale = -1;
                f->value = (int)cl_rng_below(rng, (unsigned long)V);
            }
            latest[f->key] = t * F + i;
        }
    }
    free(pick);
    return 0;
}

static int fact_build(cl_suite **out, const char *suite_name, const cl_params *p,
                      cl_scenario sc, const char *data_dir, gsl_rng *rng)
{
    (void)data_dir;
    *out = NULL;
    int T = (int)cl_params_int(p, "tasks"), F = (int)cl_params_int(p, "facts_per_task");
    int V = (int)cl_params_int(p, "values"), d = (int)cl_params_int(p, "key_dim");
    int R = (int)cl_params_int(p, "repeats");
    int n_upd = (int)(cl_params_float(p, "update_fraction") * F + 0.5);
    if ((double)T * F * d > 5e8 || (double)F * R > 1e8)
        return cl_error_set(CL_EINVAL, "suite fact-stream: %d tasks x %d facts x %d dims is too large",
                            T, F, d);
    fact *facts = calloc((size_t)T * F, sizeof *facts);
    int *latest = malloc((size_t)T * F * sizeof *latest); /* key -> index of its newest fact */
    signed char *codes = malloc((size_t)T * F * d);       /* (keys, d) +-1 entity codes */
    int rc = facts && latest && codes ? 0 : cl_error_set(CL_ENOMEM, "out of memory");
    if (rc == 0) rc = write_stream(facts, T, F, V, n_upd, latest, rng);
    for (size_t i = 0; rc == 0 && i < (size_t)T * F * d; i++)
        codes[i] = gsl_rng_uniform(rng) < 0.5 ? -1 : 1;
    if (rc == 0) rc = cl_suite_alloc(out, suite_name, sc, T, d, sc == CL_SCENARIO_TASK ? V * T : V);
    for (int t = 0; rc == 0 && t < T; t++) {
        cl_task *task = &(*out)->tasks[t];
        int n_test = 0, label0 = sc == CL_SCENARIO_TASK ? V * t : 0;
        for (int i = 0; i < F; i++) n_test += facts[t * F + i].final;
        if (n_test == 0) {
            rc = cl_error_set(CL_EINVAL, "parameter suite.update_fraction: every fact of task %d "
                              "is overwritten later; lower it or add facts", t + 1);
            break;
        }
        if ((rc = cl_task_alloc(task, F * R, n_test, d, true, CL_TASK_FLOATS))) break;
        for (int i = 0, n = 0; i < F * R; i++) {
            const fact *f = &facts[t * F + i % F];
            for (int j = 0; j < d; j++) task->train_x[(size_t)i * d + j] = codes[(size_t)f->key * d + j];
            task->train_y[i] = label0 + f->value;
            if (i >= F || !f->final) continue;
            memcpy(task->test_x + (size_t)n * d, task->train_x + (size_t)i * d, (size_t)d * sizeof(float));
            task->test_y[n] = label0 + f->value;
            task->test_stale_y[n++] = f->stale < 0 ? -1 : label0 + f->stale;
        }
        for (int v = 0; v < V; v++) task->classes[label0 + v] = 1;
    }
    if (rc == 0)
        snprintf((*out)->recipe, sizeof (*out)->recipe,
                 "%d tasks x %d facts (+-1 keys of %d dims -> %d values), %d per later task "
                 "overwrite an earlier key; tested where the final value was written",
                 T, F, d, V, n_upd);
    free(facts);
    free(latest);
    free(codes);
    if (rc) {
        cl_suite_free(*out);
        *out = NULL;
    }
    return rc;
}

const cl_suite_family cl_suite_fact_stream = {
    .version = CL_SUITE_FAMILY_VERSION,
    .name = "fact-stream",
    .summary = "embedded stream of key -> value facts, some later overwritten; reports stale answers",
    .params = fact_params,
    .scenarios = 1u << CL_SCENARIO_DOMAIN | 1u << CL_SCENARIO_TASK,
    .build = fact_build,
};
