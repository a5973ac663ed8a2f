/* The contract every registered strategy must keep, run over the registry:
 * a new strategy gets these checks by being added to strategies/registry.c. */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "clbench/config.h"
#include "clbench/error.h"
#include "clbench/rng.h"
#include "clbench/runner.h"
#include "clbench/strategy.h"

static void init(void) { openblas_set_num_threads(1); }

TestSuite(contract, .init = init, .timeout = 120);

/* A small seq-tasks config: two tasks, a narrow net, a few steps. */
static cl_config *tiny_config(const char *strategy, cl_scenario sc)
{
    cl_config *c;
    cr_assert_eq(cl_config_new(&c, "seq-tasks", sc, strategy, 3), 0, "%s", cl_error_last());
    const char *sets[] = {"suite.tasks=2", "suite.train_per_class=60", "suite.test_per_class=30",
                          "model.hidden=64,64", "train.steps=150", "train.batch_size=16",
                          "train.eval_every=10"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        cr_assert_eq(cl_config_set_arg(c, sets[i]), 0, "%s", cl_error_last());
    return c;
}

/* Criterion copies the array, so one static table serves every test. */
static struct criterion_test_params registry(void)
{
    static int idx[64];
    int n = cl_strategy_count();
    for (int i = 0; i < n; i++) idx[i] = i;
    return cr_make_param_array(int, idx, (size_t)n);
}

ParameterizedTestParameters(contract, ops_table) { return registry(); }

ParameterizedTest(int *i, contract, ops_table)
{
    const cl_strategy_ops *ops = cl_strategy_at(*i);
    cr_assert_eq(ops->version, CL_STRATEGY_OPS_VERSION);
    cr_assert(ops->name && ops->name[0] && strlen(ops->name) < 32);
    cr_assert(ops->summary && ops->summary[0], "%s has no summary", ops->name);
    cr_assert(ops->reference && ops->reference[0], "%s names no paper", ops->name);
    cr_assert(ops->params, "%s: params must be a table (a lone NULL row if empty)", ops->name);
    cr_assert(ops->create && ops->observe && ops->destroy, "%s lacks a required op", ops->name);
    const cl_strategy_ops *found;
    cr_assert_eq(cl_strategy_find(&found, ops->name), 0);
    cr_assert_eq(found, ops);
    /* Every declared default must satisfy its own spec (cl_params_new
     * aborts otherwise) and every parameter must carry help. */
    cl_params *p;
    cr_assert_eq(cl_params_new(&p, ops->name, ops->params), 0);
    for (int k = 0; k < cl_params_count(p); k++)
        cr_assert(cl_params_spec_at(p, k)->help, "%s.%s has no help", ops->name,
                  cl_params_spec_at(p, k)->name);
    cl_params_free(p);
}

/* Drives the ops by hand through two tiny tasks, checking each hook. */
static void drive(const cl_strategy_ops *ops, cl_scenario sc)
{
    cl_config *cfg = tiny_config(ops->name, sc);
    gsl_rng *rs, *ri, *rx;
    cr_assert_eq(cl_rng_new(&rs, 1, CL_RNG_SUITE), 0);
    cr_assert_eq(cl_rng_new(&ri, 1, CL_RNG_INIT), 0);
    cr_assert_eq(cl_rng_new(&rx, 1, CL_RNG_STRATEGY), 0);
    cl_suite *s;
    cr_assert_eq(cfg->family->build(&s, "seq-tasks", cfg->suite_p, sc, NULL, rs), 0);
    long hidden[] = {64, 64};
    cl_optim_config opt;
    cl_config_optim(cfg, &opt);
    cl_model *net;
    cr_assert_eq(cl_model_new(&net, s->d, hidden, 2, s->n_classes, &opt, ri), 0);
    cl_strategy_env env = {sc, s->n_tasks, s->n_classes, s->d, hidden, 2};
    void *ctx = NULL;
    cr_assert_eq(ops->create(&ctx, cfg->strat, &env, net, rx), 0, "%s: %s", ops->name,
                 cl_error_last());
    cr_assert(ctx != NULL);

    size_t pbytes = cl_model_param_bytes(net);
    float *before = malloc(pbytes);
    float *logits = malloc(sizeof(float) * 16 * (size_t)s->n_classes);
    for (int t = 0; t < s->n_tasks; t++) {
        const cl_task *k = &s->tasks[t];
        const unsigned char *mask = sc == CL_SCENARIO_TASK ? k->classes : NULL;
        if (ops->task_begin) cr_assert_eq(ops->task_begin(ctx, net, k), 0, "%s", cl_error_last());
        memcpy(before, net->params, pbytes);
        for (int step = 0; step < 20; step++) {
            int off = (step * 16) % (k->n_train - 16);
            cl_batch b = {k->train_x + (size_t)off * s->d, k->train_y + off, 16, s->d, t,
                          s->n_classes, mask, 0};
            cr_assert_eq(ops->observe(ctx, net, &b), 0, "%s: %s", ops->name, cl_error_last());
        }
        cr_assert(memcmp(before, net->params, pbytes) != 0, "%s: observe did not train", ops->name);
        if (ops->task_end) cr_assert_eq(ops->task_end(ctx, net, k), 0, "%s", cl_error_last());
        if (ops->predict) {
            memcpy(before, net->params, pbytes);
            cl_batch b = {k->test_x, k->test_y, 16, s->d, t, s->n_classes, mask, 0};
            cr_assert_eq(ops->predict(ctx, net, &b, logits), 0, "%s", cl_error_last());
            for (int j = 0; j < 16 * s->n_classes; j++)
                cr_assert(isfinite(logits[j]) || (mask && !mask[j % s->n_classes]),
                          "%s: predict gave a non-finite logit", ops->name);
            cr_assert(memcmp(before, net->params, pbytes) == 0,
                      "%s: predict changed the network", ops->name);
        }
    }
    cl_ledger led = {0};
    if (ops->ledger) ops->ledger(ctx, &led);
    cr_assert(led.replay_flops >= 0 && led.fisher_flops >= 0 && led.retrieval_flops >= 0);
    if (ops->assumes.stores_samples)
        cr_assert(led.extra_bytes > 0, "%s stores samples but reports 0 bytes", ops->name);
    ops->destroy(ctx);
    free(before);
    free(logits);
    cl_model_free(net);
    cl_suite_free(s);
    gsl_rng_free(rs);
    gsl_rng_free(ri);
    gsl_rng_free(rx);
    cl_config_free(cfg);
}

ParameterizedTestParameters(contract, hooks_class) { return registry(); }
ParameterizedTest(int *i, contract, hooks_class) { drive(cl_strategy_at(*i), CL_SCENARIO_CLASS); }
ParameterizedTestParameters(contract, hooks_task) { return registry(); }
ParameterizedTest(int *i, contract, hooks_task) { drive(cl_strategy_at(*i), CL_SCENARIO_TASK); }
ParameterizedTestParameters(contract, hooks_domain) { return registry(); }
ParameterizedTest(int *i, contract, hooks_domain) { drive(cl_strategy_at(*i), CL_SCENARIO_DOMAIN); }

/* Through the runner: R is complete, in [0, 1], the run learns its last
 * task, and the same config gives the same R twice. */
ParameterizedTestParameters(contract, runner) { return registry(); }
ParameterizedTest(int *i, contract, runner)
{
    const cl_strategy_ops *ops = cl_strategy_at(*i);
    cl_config *cfg = tiny_config(ops->name, CL_SCENARIO_CLASS);
    cl_run_result *a, *b;
    cr_assert_eq(cl_run_execute(&a, cfg, NULL), 0, "%s: %s", ops->name, cl_error_last());
    cr_assert_eq(cl_run_execute(&b, cfg, NULL), 0, "%s: %s", ops->name, cl_error_last());
    cr_assert_eq(a->status, CL_RUN_OK, "%s: %s", ops->name, a->reason);
    int T = a->T;
    for (int k = 0; k < (T + 1) * T; k++) {
        cr_assert(a->R[k] >= 0 && a->R[k] <= 1, "%s: R[%d] = %g", ops->name, k, a->R[k]);
        cr_assert(a->R[k] == b->R[k], "%s: rerun differs at R[%d]", ops->name, k);
    }
    /* Every strategy must learn: the last task beats its untrained accuracy. */
    cr_assert(a->R[T * T + T - 1] > a->R[T - 1] + 0.2, "%s did not learn its last task (%g -> %g)",
              ops->name, a->R[T - 1], a->R[T * T + T - 1]);
    cr_assert(a->curve.n >= T, "%s: curve has %d points", ops->name, a->curve.n);
    cr_assert(a->train_flops > 0);
    cl_run_result_free(a);
    cl_run_result_free(b);
    cl_config_free(cfg);
}
