/* EWC: less forgetting than naive in the task and domain scenarios of
 * seq-tasks (3 seeds), the online Fisher fold, the stored pairs against
 * cl_fisher_* recomputed on the saved weights, the penalty gradient against
 * a hand-built step, lambda = 0 reproducing naive exactly, and the ledger. */
#include <criterion/criterion.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/run/config.h"
#include "clbench/base/error.h"
#include "clbench/nn/fisher.h"
#include "clbench/base/rng.h"
#include "clbench/run/runner.h"
#include "clbench/strategies/strategy.h"

static void suite_init(void) { openblas_set_num_threads(1); }

TestSuite(ewc, .timeout = 300, .init = suite_init);

/* The leading members of strategies/ewc.c's context, which that file keeps
 * first on purpose so tests can read the stored pairs without an accessor. */
typedef struct ewc_view {
    int n_pairs;
    float **fisher; /* (n_pairs) each (n_params) */
    float **anchor; /* (n_pairs) each (n_params) */
} ewc_view;

static cl_config *config(const char *strategy, cl_scenario sc, unsigned long seed,
                         const char *const *sets, size_t n_sets)
{
    cl_config *c;
    cr_assert_eq(cl_config_new(&c, "seq-tasks", sc, strategy, seed), 0, "%s", cl_error_last());
    for (size_t i = 0; i < n_sets; i++)
        cr_assert_eq(cl_config_set_arg(c, sets[i]), 0, "%s: %s", sets[i], cl_error_last());
    return c;
}

static cl_run_result *run(const char *strategy, cl_scenario sc, unsigned long seed,
                          const char *const *sets, size_t n_sets)
{
    cl_config *c = config(strategy, sc, seed, sets, n_sets);
    cl_run_result *r;
    cr_assert_eq(cl_run_execute(&r, c, NULL), 0, "%s: %s", strategy, cl_error_last());
    cr_assert_eq(r->status, CL_RUN_OK, "%s: %s", strategy, r->reason);
    cl_config_free(c);
    return r;
}

/* Mean forgetting and learning accuracy over seeds 0, 1, 2 of seq-tasks
 * with every default; anytime curves are off (they never touch training,
 * so R is the same) to halve the time. */
static void mean_over_seeds(const char *strategy, cl_scenario sc, double *forgetting,
                            double *la)
{
    static const char *const sets[] = {"train.eval_every=0"};
    *forgetting = *la = 0.0;
    for (unsigned long seed = 0; seed < 3; seed++) {
        cl_run_result *r = run(strategy, sc, seed, sets, 1);
        *forgetting += r->metrics.forgetting / 3.0;
        *la += r->metrics.learning_accuracy / 3.0;
        cl_run_result_free(r);
    }
}

/* Measured (seeds 0-2, defaults, lambda 2e4): task naive 0.155 vs ewc 0.001
 * (gap 0.154); domain naive 0.459 vs ewc 0.222 (gap 0.237). Margins 0.07 and
 * 0.10 are ~45% and ~42% of those gaps. EWC may give up a little plasticity
 * (learning accuracy 0.968 and 0.938 vs naive's 0.977), but not 0.1. */
static void forgets_less(cl_scenario sc, double margin)
{
    double f_naive, la_naive, f_ewc, la_ewc;
    mean_over_seeds("naive", sc, &f_naive, &la_naive);
    mean_over_seeds("ewc", sc, &f_ewc, &la_ewc);
    cr_assert(f_ewc < f_naive - margin, "%s: ewc forgetting %.3f, naive %.3f (margin %.2f)",
              cl_scenario_name(sc), f_ewc, f_naive, margin);
    cr_assert(la_ewc > la_naive - 0.1, "%s: ewc learning accuracy %.3f, naive %.3f",
              cl_scenario_name(sc), la_ewc, la_naive);
}

Test(ewc, forgets_less_than_naive_task) { forgets_less(CL_SCENARIO_TASK, 0.07); }
Test(ewc, forgets_less_than_naive_domain) { forgets_less(CL_SCENARIO_DOMAIN, 0.10); }

/* lambda = 0: the same seed shares the data order and the initial weights,
 * the Fisher passes at task ends touch neither, and the penalty adds exact
 * zeros, so R is naive's bit for bit. */
Test(ewc, lambda_zero_is_naive)
{
    static const char *const sets[] = {"suite.tasks=3", "model.hidden=64,64", "train.steps=100",
                                       "ewc.lambda=0"};
    for (int sc = CL_SCENARIO_CLASS; sc <= CL_SCENARIO_DOMAIN; sc++) {
        cl_run_result *a = run("naive", sc, 4, sets, 3);
        cl_run_result *b = run("ewc", sc, 4, sets, 4);
        cr_assert_eq(a->T, b->T);
        for (int k = 0; k < (a->T + 1) * a->T; k++)
            cr_assert(a->R[k] == b->R[k], "%s: R[%d] naive %.6f, ewc %.6f", cl_scenario_name(sc),
                      k, a->R[k], b->R[k]);
        cr_assert(b->ledger.fisher_flops > 0 && b->ledger.penalty_flops > 0,
                  "the Fisher and penalty must still run at lambda 0");
        cl_run_result_free(a);
        cl_run_result_free(b);
    }
}

/* Ledger after T = 3 tasks of S steps: standard EWC holds T (F, theta*)
 * pairs, online one; the penalty costs 6 FLOPs per parameter per pair per
 * step, and pairs exist from the second task on (0 + 1 + 2 standard,
 * 0 + 1 + 1 online). */
Test(ewc, ledger_bytes_and_penalty_flops)
{
    enum { T = 3, S = 40 };
    static const char *const std_sets[] = {"suite.tasks=3", "model.hidden=32,32", "train.steps=40",
                                           "train.eval_every=0"};
    static const char *const onl_sets[] = {"suite.tasks=3", "model.hidden=32,32", "train.steps=40",
                                           "train.eval_every=0", "ewc.online=true"};
    cl_run_result *s = run("ewc", CL_SCENARIO_TASK, 1, std_sets, 4);
    cl_run_result *o = run("ewc", CL_SCENARIO_TASK, 1, onl_sets, 5);
    size_t P = s->n_params;
    cr_assert_eq(s->ledger.extra_bytes, (size_t)T * 2 * P * 4);
    cr_assert_eq(o->ledger.extra_bytes, 2 * P * 4);
    cr_assert(s->ledger.penalty_flops == 6.0 * P * S * (0 + 1 + 2), "%g", s->ledger.penalty_flops);
    cr_assert(o->ledger.penalty_flops == 6.0 * P * S * (0 + 1 + 1), "%g", o->ledger.penalty_flops);
    cr_assert(s->ledger.fisher_flops > 0 && o->ledger.fisher_flops > 0);
    cr_assert(s->ledger.replay_flops == 0 && s->ledger.distill_flops == 0);
    cl_run_result_free(s);
    cl_run_result_free(o);
}

/* Drives the ops by hand over two tiny tasks. */
typedef struct drive {
    cl_config *cfg;
    cl_suite *suite;
    cl_net *net;
    gsl_rng *rng;
    const cl_strategy_ops *ops;
    void *ctx;
    float *theta[2]; /* (n_params) weights at each task end */
} drive;

static void drive_open(drive *d, cl_scenario sc, const char *const *sets, size_t n_sets,
                       const cl_optim_config *opt)
{
    memset(d, 0, sizeof *d);
    d->cfg = config("ewc", sc, 2, sets, n_sets);
    gsl_rng *rs, *ri;
    cr_assert_eq(cl_rng_new(&rs, 2, CL_RNG_SUITE), 0);
    cr_assert_eq(cl_rng_new(&ri, 2, CL_RNG_INIT), 0);
    cr_assert_eq(cl_rng_new(&d->rng, 2, CL_RNG_STRATEGY), 0);
    cr_assert_eq(d->cfg->family->build(&d->suite, "seq-tasks", d->cfg->suite_p, sc, NULL, rs), 0);
    long hidden[] = {32, 32};
    cl_optim_config o;
    cl_config_optim(d->cfg, &o);
    if (opt) o = *opt;
    cr_assert_eq(cl_net_mlp_new(&d->net, d->suite->d, hidden, 2, d->suite->n_classes, &o, ri), 0);
    cl_strategy_env env = {sc, d->suite->n_tasks, d->suite->n_classes, d->suite->d};
    d->ops = d->cfg->ops;
    cr_assert_eq(d->ops->create(&d->ctx, d->cfg->strat, &env, d->net, d->rng), 0, "%s",
                 cl_error_last());
    gsl_rng_free(rs);
    gsl_rng_free(ri);
}

static cl_batch batch_of(const drive *d, int t, int off, int n)
{
    const cl_task *k = &d->suite->tasks[t];
    const unsigned char *mask = d->cfg->scenario == CL_SCENARIO_TASK ? k->classes : NULL;
    cl_batch b = {k->train_x + (size_t)off * d->suite->d, k->train_y + off, n, d->suite->d, t,
                  d->suite->n_classes, mask, 0};
    return b;
}

/* Trains task t for 30 steps, ends it, and keeps the weights it ended with. */
static void drive_task(drive *d, int t)
{
    const cl_task *k = &d->suite->tasks[t];
    for (int step = 0; step < 30; step++) {
        cl_batch b = batch_of(d, t, (step * 16) % (k->n_train - 16), 16);
        cr_assert_eq(d->ops->observe(d->ctx, d->net, &b), 0, "%s", cl_error_last());
    }
    cr_assert_eq(d->ops->task_end(d->ctx, d->net, k), 0, "%s", cl_error_last());
    size_t bytes = cl_net_param_bytes(d->net);
    d->theta[t] = malloc(bytes);
    cr_assert_not_null(d->theta[t]);
    memcpy(d->theta[t], d->net->params, bytes);
}

/* cl_fisher_task of task t at the weights saved at its end, through a
 * clone so the live network is not disturbed. */
static float *fisher_at(const drive *d, int t)
{
    cl_net *m;
    cr_assert_eq(cl_net_clone(&m, d->net), 0);
    memcpy(m->params, d->theta[t], cl_net_param_bytes(m));
    const cl_task *k = &d->suite->tasks[t];
    const unsigned char *mask = d->cfg->scenario == CL_SCENARIO_TASK ? k->classes : NULL;
    float *f = malloc(cl_net_param_bytes(m));
    cr_assert_not_null(f);
    cr_assert_eq(cl_fisher_task(m, k, d->suite->d, mask, CL_FISHER_EXPECTED, 0, NULL, f, NULL), 0);
    cl_net_free(m);
    return f;
}

static void drive_close(drive *d)
{
    d->ops->destroy(d->ctx);
    free(d->theta[0]);
    free(d->theta[1]);
    cl_net_free(d->net);
    cl_suite_free(d->suite);
    gsl_rng_free(d->rng);
    cl_config_free(d->cfg);
}

static const char *const TINY[] = {"suite.tasks=2", "suite.train_per_class=60",
                                   "suite.test_per_class=30", "model.hidden=32,32",
                                   "ewc.samples=0", "ewc.fisher=expected"};

/* The same float operations in the same order give the same numbers; 1e-6
 * relative only allows the compiler to reorder the fold. */
static void assert_same(const float *got, const float *want, size_t n, const char *what)
{
    double scale = 0.0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    cr_assert(scale > 0.0, "%s is all zeros", what);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(got[i] - want[i]) <= 1e-6 * fmax(fabs(want[i]), 1e-6 * scale),
                  "%s[%zu]: %.9g vs %.9g", what, i, got[i], want[i]);
}

/* Online: after two tasks the one stored Fisher is gamma F1 + F2, each
 * recomputed with cl_fisher_task on the weights saved at its task end, and
 * the anchor is the second task's weights. */
Test(ewc, online_fisher_is_gamma_f1_plus_f2)
{
    const char *sets[8];
    memcpy(sets, TINY, sizeof TINY);
    sets[6] = "ewc.online=true";
    sets[7] = "ewc.gamma=0.3";
    for (int sc = CL_SCENARIO_CLASS; sc <= CL_SCENARIO_DOMAIN; sc++) {
        drive d;
        drive_open(&d, sc, sets, 8, NULL);
        const ewc_view *v = d.ctx;
        size_t P = d.net->n_params;
        drive_task(&d, 0);
        cr_assert_eq(v->n_pairs, 1);
        cr_assert(memcmp(v->anchor[0], d.theta[0], P * sizeof(float)) == 0);
        drive_task(&d, 1);
        cr_assert_eq(v->n_pairs, 1, "online EWC must keep one pair");
        cr_assert(memcmp(v->anchor[0], d.theta[1], P * sizeof(float)) == 0,
                  "online anchor is not the latest weights");
        float *f1 = fisher_at(&d, 0), *f2 = fisher_at(&d, 1);
        for (size_t i = 0; i < P; i++) f1[i] = 0.3f * f1[i] + f2[i];
        assert_same(v->fisher[0], f1, P, "online F");
        free(f1);
        free(f2);
        drive_close(&d);
    }
}

/* Standard: one pair per task, each its own task's Fisher and weights. */
Test(ewc, standard_keeps_a_pair_per_task)
{
    for (int sc = CL_SCENARIO_CLASS; sc <= CL_SCENARIO_DOMAIN; sc++) {
        drive d;
        drive_open(&d, sc, TINY, 6, NULL);
        const ewc_view *v = d.ctx;
        size_t P = d.net->n_params;
        drive_task(&d, 0);
        drive_task(&d, 1);
        cr_assert_eq(v->n_pairs, 2);
        for (int t = 0; t < 2; t++) {
            cr_assert(memcmp(v->anchor[t], d.theta[t], P * sizeof(float)) == 0);
            float *f = fisher_at(&d, t);
            assert_same(v->fisher[t], f, P, "standard F");
            free(f);
        }
        drive_close(&d);
    }
}

/* One observe step with plain SGD equals a hand-built step: the CE
 * gradient plus lambda sum_t F_t (theta - theta*_t), then theta -= lr g. */
Test(ewc, penalty_gradient_is_lambda_f_times_displacement)
{
    const cl_optim_config sgd = {.kind = CL_OPTIM_SGD, .lr = 0.05f};
    const char *sets[7];
    memcpy(sets, TINY, sizeof TINY);
    sets[6] = "ewc.lambda=300";
    drive d;
    drive_open(&d, CL_SCENARIO_TASK, sets, 7, &sgd);
    const ewc_view *v = d.ctx;
    drive_task(&d, 0);
    drive_task(&d, 1);
    size_t P = d.net->n_params;
    cl_net *ref;
    cr_assert_eq(cl_net_clone(&ref, d.net), 0);
    cl_batch b = batch_of(&d, 1, 5, 16);
    cl_net_zero_grad(ref);
    cr_assert_eq(cl_strategy_add_ce_grad(ref, &b, 1.0f, NULL), 0);
    double moved = 0.0;
    for (size_t i = 0; i < P; i++) {
        for (int t = 0; t < 2; t++) {
            float pull = v->fisher[t][i] * (ref->params[i] - v->anchor[t][i]);
            ref->grads[i] += 300.0f * pull;
            moved += fabs(pull);
        }
    }
    cr_assert(moved > 0.0, "the weights never left the anchors");
    cl_net_step(ref);
    cr_assert_eq(d.ops->observe(d.ctx, d.net, &b), 0);
    for (size_t i = 0; i < P; i++)
        cr_assert(fabs(d.net->params[i] - ref->params[i]) <= 1e-6 * fmax(fabs(ref->params[i]), 1e-3),
                  "param %zu: ewc %.9g vs by hand %.9g", i, d.net->params[i], ref->params[i]);
    cl_net_free(ref);
    drive_close(&d);
}

/* A penalty that overflows is a divergence, not silent garbage: an anchor
 * pushed to 1e30 makes F (theta - theta*)^2 infinite while the
 * cross-entropy stays finite. */
Test(ewc, nonfinite_penalty_diverges)
{
    drive d;
    drive_open(&d, CL_SCENARIO_CLASS, TINY, 6, NULL);
    const ewc_view *v = d.ctx;
    drive_task(&d, 0);
    for (size_t i = 0; i < d.net->n_params; i++) v->anchor[0][i] = 1e30f;
    cl_batch b = batch_of(&d, 1, 0, 16);
    cr_assert_eq(d.ops->observe(d.ctx, d.net, &b), CL_EDIVERGED);
    cr_assert(strstr(cl_error_last(), "penalty") != NULL, "%s", cl_error_last());
    drive_close(&d);
}
