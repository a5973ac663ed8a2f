/* episodic (MbPA++): beats naive in the class scenario, predicts without
 * touching the network, reduces to the plain network with adaptation,
 * mixing and replay off, keeps its keys fixed, matches its literal
 * (primal) adaptation with the fast dual form, stores each input once,
 * and accounts for its memory and FLOPs. */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include <criterion/criterion.h>
#include "clbench/run/config.h"
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/base/rng.h"
#include "clbench/run/runner.h"
#include "clbench/nn/kvmem.h"
#include "clbench/strategies/strategy.h"

static void init(void) { openblas_set_num_threads(1); }

TestSuite(episodic, .init = init, .timeout = 300);

/* strategies/episodic.c's context begins with its memory. */
typedef cl_kvmem episodic_view;

/* ---- a hand-driven rig: tiny suite, tiny net, the ops called directly -- */

typedef struct rig {
    cl_config *cfg;
    cl_suite *suite;
    cl_net *net;
    const cl_strategy_ops *ops;
    void *ctx;
    gsl_rng *rs, *ri, *rx;
} rig;

static void rig_open(rig *r, cl_scenario sc, const char **sets, int n_sets)
{
    memset(r, 0, sizeof *r);
    cr_assert_eq(cl_config_new(&r->cfg, "seq-tasks", sc, "episodic", 3), 0, "%s", cl_error_last());
    const char *base[] = {"suite.tasks=2", "suite.train_per_class=60", "suite.test_per_class=30"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        cr_assert_eq(cl_config_set_arg(r->cfg, base[i]), 0, "%s", cl_error_last());
    for (int i = 0; i < n_sets; i++)
        cr_assert_eq(cl_config_set_arg(r->cfg, sets[i]), 0, "%s", cl_error_last());
    cr_assert_eq(cl_rng_new(&r->rs, 1, CL_RNG_SUITE), 0);
    cr_assert_eq(cl_rng_new(&r->ri, 1, CL_RNG_INIT), 0);
    cr_assert_eq(cl_rng_new(&r->rx, 1, CL_RNG_STRATEGY), 0);
    cr_assert_eq(r->cfg->family->build(&r->suite, "seq-tasks", r->cfg->suite_p, sc, NULL, r->rs), 0);
    long hidden[] = {32, 32};
    cl_optim_config opt;
    cl_config_optim(r->cfg, &opt);
    cr_assert_eq(cl_net_mlp_new(&r->net, r->suite->d, hidden, 2, r->suite->n_classes, &opt, r->ri), 0);
    cl_strategy_env env = {sc, r->suite->n_tasks, r->suite->n_classes, r->suite->d};
    r->ops = r->cfg->ops;
    cr_assert_eq(r->ops->create(&r->ctx, r->cfg->strat, &env, r->net, r->rx), 0, "%s",
                 cl_error_last());
}

static void rig_close(rig *r)
{
    r->ops->destroy(r->ctx);
    cl_net_free(r->net);
    cl_suite_free(r->suite);
    gsl_rng_free(r->rs);
    gsl_rng_free(r->ri);
    gsl_rng_free(r->rx);
    cl_config_free(r->cfg);
}

static const unsigned char *rig_mask(const rig *r, int t)
{
    return r->suite->scenario == CL_SCENARIO_TASK ? r->suite->tasks[t].classes : NULL;
}

/* 20 steps of 16 samples on task t, bracketed by task_begin / task_end. */
static void rig_train(rig *r, int t)
{
    const cl_task *k = &r->suite->tasks[t];
    int d = r->suite->d;
    cr_assert_eq(r->ops->task_begin(r->ctx, r->net, k), 0, "%s", cl_error_last());
    for (int step = 0; step < 20; step++) {
        int off = (step * 16) % (k->n_train - 16);
        cl_batch b = {k->train_x + (size_t)off * d, k->train_y + off, 16, d, t,
                      r->suite->n_classes, rig_mask(r, t), 0};
        cr_assert_eq(r->ops->observe(r->ctx, r->net, &b), 0, "%s", cl_error_last());
    }
    cr_assert_eq(r->ops->task_end(r->ctx, r->net, k), 0, "%s", cl_error_last());
}

/* Predicts the first n test samples of task t into logits (n, C). */
static void rig_predict(rig *r, int t, int n, int anytime, float *logits)
{
    const cl_task *k = &r->suite->tasks[t];
    cl_batch b = {k->test_x, k->test_y, n, r->suite->d, t, r->suite->n_classes, rig_mask(r, t),
                  anytime};
    cr_assert_eq(r->ops->predict(r->ctx, r->net, &b, logits), 0, "%s", cl_error_last());
}

static double mean_acc(const char *strategy, cl_scenario sc, const char **sets, int n_sets)
{
    double sum = 0.0;
    for (unsigned long seed = 0; seed < 3; seed++) {
        cl_config *c;
        cr_assert_eq(cl_config_new(&c, "seq-tasks", sc, strategy, seed), 0, "%s", cl_error_last());
        for (int i = 0; i < n_sets; i++)
            cr_assert_eq(cl_config_set_arg(c, sets[i]), 0, "%s", cl_error_last());
        cl_run_result *res;
        cr_assert_eq(cl_run_execute(&res, c, NULL), 0, "%s", cl_error_last());
        cr_assert_eq(res->status, CL_RUN_OK, "%s", res->reason);
        sum += res->metrics.acc;
        cl_run_result_free(res);
        cl_config_free(c);
    }
    return sum / 3.0;
}

/* (a) seq-tasks, class scenario, seeds 0-2, episodic at its defaults. To
 * keep the test fast the net is 200-200 (not 400-400), 100 test samples
 * per class and no anytime curve (R does not depend on it); the claim is
 * the same at full size. Measured mean acc here: naive 0.198, episodic
 * 0.986 (full defaults: 0.19 vs 0.977). Margin 0.5: local adaptation on
 * retrieved neighbours must undo most of the forgetting, not nudge it. */
Test(episodic, class_scenario_beats_naive)
{
    const char *sets[] = {"train.eval_every=0", "model.hidden=200,200", "suite.test_per_class=100"};
    double naive = mean_acc("naive", CL_SCENARIO_CLASS, sets, 3);
    double epi = mean_acc("episodic", CL_SCENARIO_CLASS, sets, 3);
    cr_assert(naive < 0.3, "naive acc %.3f: the suite no longer forgets", naive);
    cr_assert(epi > naive + 0.5, "episodic %.3f vs naive %.3f", epi, naive);
}

/* (b) Prediction leaves parameters and optimiser state bit-identical, in
 * every adaptation form and with mixing. */
Test(episodic, predict_leaves_network_unchanged)
{
    const char *variants[][2] = {{"episodic.adapt_form=dual", "episodic.knn_mix=0.5"},
                                 {"episodic.adapt_form=primal", "episodic.knn_mix=0"},
                                 {"episodic.adapt_layers=2", "episodic.adapt_steps=5"}};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        rig r;
        rig_open(&r, CL_SCENARIO_CLASS, variants[v], 2);
        rig_train(&r, 0);
        rig_train(&r, 1);
        size_t bytes = cl_net_param_bytes(r.net);
        float *p = malloc(bytes), *m = malloc(bytes), *vv = malloc(bytes);
        memcpy(p, r.net->params, bytes);
        memcpy(m, r.net->opt_m, bytes);
        memcpy(vv, r.net->opt_v, bytes);
        int C = r.suite->n_classes;
        float *logits = malloc(sizeof(float) * 40 * (size_t)C);
        rig_predict(&r, 0, 40, 0, logits);
        rig_predict(&r, 1, 40, 0, logits);
        cr_assert(memcmp(p, r.net->params, bytes) == 0, "variant %zu changed the weights", v);
        cr_assert(memcmp(m, r.net->opt_m, bytes) == 0 && memcmp(vv, r.net->opt_v, bytes) == 0);
        for (int i = 0; i < 40 * C; i++) cr_assert(isfinite(logits[i]));
        free(logits);
        free(p);
        free(m);
        free(vv);
        rig_close(&r);
    }
}

/* (c) With L = 0, no mixing and no replay, the strategy is naive training
 * plus a memory nobody reads: logits equal the network's bit for bit, and
 * a whole run's R equals naive's. */
Test(episodic, no_adaptation_equals_plain_network)
{
    const char *sets[] = {"episodic.adapt_steps=0", "episodic.knn_mix=0", "episodic.replay_every=0"};
    rig r;
    rig_open(&r, CL_SCENARIO_CLASS, sets, 3);
    rig_train(&r, 0);
    rig_train(&r, 1);
    float got[30 * 4]; /* 2 tasks x 2 classes */
    cr_assert_eq(r.suite->n_classes, 4);
    rig_predict(&r, 0, 30, 0, got);
    const float *want;
    cr_assert_eq(cl_net_forward(r.net, r.suite->tasks[0].test_x, 30, &want), 0);
    cr_assert(memcmp(got, want, sizeof got) == 0);
    rig_close(&r);

    const char *tiny[] = {"suite.tasks=3", "suite.train_per_class=100", "suite.test_per_class=50",
                          "model.hidden=64,64", "train.steps=60", "train.eval_every=20",
                          "episodic.adapt_steps=0", "episodic.replay_every=0"};
    cl_run_result *res[2];
    const char *names[2] = {"naive", "episodic"};
    for (int s = 0; s < 2; s++) {
        cl_config *c;
        cr_assert_eq(cl_config_new(&c, "seq-tasks", CL_SCENARIO_CLASS, names[s], 1), 0);
        for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++)
            cr_assert_eq(cl_config_set_arg(c, tiny[i]), 0, "%s", cl_error_last());
        cr_assert_eq(cl_run_execute(&res[s], c, NULL), 0, "%s", cl_error_last());
        cl_config_free(c);
    }
    for (int k = 0; k < 4 * 3; k++) cr_assert(res[0]->R[k] == res[1]->R[k], "R[%d]", k);
    cl_run_result_free(res[0]);
    cl_run_result_free(res[1]);
}

/* (d) Keys come from a frozen projection of the input, not the network: a
 * stored sample's key is bit-identical after more training, and with
 * key_dim = d the projection is a rotation, so key distances equal input
 * distances (to float rounding, 1e-4 relative). */
Test(episodic, keys_are_stable)
{
    rig r;
    rig_open(&r, CL_SCENARIO_CLASS, NULL, 0);
    const episodic_view *v = r.ctx;
    rig_train(&r, 0);
    int n = v->n, dim = v->key_dim;
    cr_assert_eq(dim, r.suite->d, "key_dim 128 is clamped to d = %d", r.suite->d);
    cr_assert(n > 0);
    float *keys = malloc((size_t)n * dim * sizeof *keys);
    memcpy(keys, v->keys, (size_t)n * dim * sizeof *keys);
    rig_train(&r, 1);
    float logits[30 * 4]; /* 2 tasks x 2 classes */
    rig_predict(&r, 0, 30, 0, logits);
    cr_assert(v->n > n, "task 2 added samples");
    cr_assert(memcmp(keys, v->keys, (size_t)n * dim * sizeof *keys) == 0);
    for (int i = 0; i + 1 < v->n; i += 7) {
        int j = (i * 13 + 5) % v->n;
        double dk = 0.0, dx = 0.0;
        for (int c = 0; c < dim; c++) {
            double t = (double)v->keys[(size_t)i * dim + c] - v->keys[(size_t)j * dim + c];
            dk += t * t;
        }
        float xi[64], xj[64]; /* (d) */
        cr_assert(v->d <= 64);
        cl_rowpack_get(&v->x, i, 1, xi);
        cl_rowpack_get(&v->x, j, 1, xj);
        for (int c = 0; c < v->d; c++) {
            double t = (double)xi[c] - xj[c];
            dx += t * t;
        }
        cr_assert(fabs(dk - dx) <= 1e-4 * dx + 1e-6, "pair %d,%d: %g vs %g", i, j, dk, dx);
    }
    free(keys);
    rig_close(&r);
}

/* (e) The ledger counts the stored samples and their keys, and the
 * retrieval and adaptation work, once predictions have run. */
Test(episodic, ledger_counts_memory_and_flops)
{
    const char *sets[] = {"episodic.replay_every=5"};
    rig r;
    rig_open(&r, CL_SCENARIO_CLASS, sets, 1);
    const episodic_view *v = r.ctx;
    rig_train(&r, 0);
    rig_train(&r, 1);
    cl_ledger before = {0}, after = {0};
    r.ops->ledger(r.ctx, &before);
    float logits[30 * 4]; /* 2 tasks x 2 classes */
    rig_predict(&r, 0, 30, 0, logits);
    r.ops->ledger(r.ctx, &after);
    size_t floor = (size_t)v->n * ((size_t)(v->d + v->key_dim) * sizeof(float) + 2 * sizeof(int));
    cr_assert(before.extra_bytes >= floor, "%zu < %zu", before.extra_bytes, floor);
    cr_assert(after.extra_bytes > before.extra_bytes, "the feature cache counts too");
    cr_assert(after.retrieval_flops > before.retrieval_flops);
    /* 30 queries x K=32 neighbours x key_dim 64 x 2 at least. */
    cr_assert(after.retrieval_flops - before.retrieval_flops >= 2.0 * 30 * 32 * 64);
    cr_assert(before.adapt_flops == 0 && after.adapt_flops > 0);
    cr_assert(after.replay_flops > 0, "replay every 5 steps ran");
    rig_close(&r);
}

/* The dual (kernel) form is the same gradient descent as the literal SGD
 * on a copy of the output layer: logits agree to float rounding (bound
 * 1e-4 absolute; measured under 1e-6), masked (task scenario) and not.
 * The dual form's own softmax (a vectorised exp) and its blocked loops are
 * checked here against the primal form's libm softmax; k = 7 exercises
 * every remainder path (neighbours not a multiple of 4 or 8). */
static void dual_vs_primal(cl_scenario sc, const char *k)
{
    float dual[30 * 4], primal[30 * 4]; /* 2 tasks x 2 classes */
    const char *forms[2][3] = {{"episodic.adapt_form=dual", "episodic.adapt_lr=0.05", k},
                               {"episodic.adapt_form=primal", "episodic.adapt_lr=0.05", k}};
    float *out[2] = {dual, primal};
    for (int f = 0; f < 2; f++) {
        rig r;
        rig_open(&r, sc, forms[f], 3);
        rig_train(&r, 0);
        rig_train(&r, 1);
        rig_predict(&r, 0, 30, 0, out[f]);
        rig_close(&r);
    }
    int differ = 0;
    for (int i = 0; i < 30 * 4; i++) {
        cr_assert(fabsf(dual[i] - primal[i]) <= 1e-4f, "logit %d: %g vs %g", i, dual[i], primal[i]);
    }
    /* And adaptation did something: compare with the plain network. */
    const char *none[] = {"episodic.adapt_steps=0"};
    float plain[30 * 4];
    rig r;
    rig_open(&r, sc, none, 1);
    rig_train(&r, 0);
    rig_train(&r, 1);
    rig_predict(&r, 0, 30, 0, plain);
    rig_close(&r);
    for (int i = 0; i < 30 * 4; i++) differ += fabsf(plain[i] - dual[i]) > 1e-2f;
    cr_assert(differ > 30, "adaptation changed only %d of 120 logits", differ);
}

Test(episodic, dual_form_equals_primal_class) { dual_vs_primal(CL_SCENARIO_CLASS, "episodic.k=32"); }
Test(episodic, dual_form_equals_primal_task) { dual_vs_primal(CL_SCENARIO_TASK, "episodic.k=32"); }
Test(episodic, dual_form_equals_primal_odd_k) { dual_vs_primal(CL_SCENARIO_CLASS, "episodic.k=7"); }

/* An input seen again is not stored again (the stream repeats its data
 * every epoch); a repeat with another label overwrites the stored one.
 * Past memory_size the memory stays full at exactly memory_size. */
Test(episodic, dedupe_and_bounded_memory)
{
    rig r;
    rig_open(&r, CL_SCENARIO_CLASS, NULL, 0);
    const episodic_view *v = r.ctx;
    const cl_task *k = &r.suite->tasks[0];
    int d = r.suite->d;
    int y[8];
    memcpy(y, k->train_y, sizeof y);
    cl_batch b = {k->train_x, y, 8, d, 0, r.suite->n_classes, NULL, 0};
    cr_assert_eq(r.ops->observe(r.ctx, r.net, &b), 0);
    cr_assert_eq(v->n, 8);
    y[3] = (y[3] + 1) % 2;
    cr_assert_eq(r.ops->observe(r.ctx, r.net, &b), 0);
    cr_assert_eq(v->n, 8);
    int found = 0;
    for (int s = 0; s < v->n; s++)
        if (cl_rowpack_equal(&v->x, s, k->train_x + 3 * (size_t)d)) {
            cr_assert_eq(v->y[s], y[3]);
            found++;
        }
    cr_assert_eq(found, 1);
    rig_close(&r);

    const char *small[] = {"episodic.memory_size=50"};
    rig_open(&r, CL_SCENARIO_CLASS, small, 1);
    v = r.ctx;
    rig_train(&r, 0);
    rig_train(&r, 1);
    cr_assert_eq(v->n, 50);
    int from_t2 = 0;
    for (int s = 0; s < v->n; s++) from_t2 += v->task[s] == 1;
    /* 120 distinct samples per task: reservoir keeps both tasks. */
    cr_assert(from_t2 > 5 && from_t2 < 45, "%d of 50 from task 2", from_t2);
    rig_close(&r);
}

/* knn_mix = 1 with no adaptation: predict returns log p_knn, so the
 * probabilities sum to 1, and in the task scenario no mass leaves the
 * task's classes (only its memory items are retrieved). */
Test(episodic, knn_mix_returns_log_probabilities)
{
    const char *sets[] = {"episodic.adapt_steps=0", "episodic.knn_mix=1"};
    rig r;
    rig_open(&r, CL_SCENARIO_TASK, sets, 2);
    rig_train(&r, 0);
    rig_train(&r, 1);
    float logits[30 * 4]; /* 2 tasks x 2 classes */
    rig_predict(&r, 0, 30, 1, logits);
    const unsigned char *mask = r.suite->tasks[0].classes;
    for (int i = 0; i < 30; i++) {
        double sum = 0.0, inside = 0.0;
        for (int c = 0; c < 4; c++) {
            double p = exp(logits[i * 4 + c]);
            sum += p;
            if (mask[c]) inside += p;
        }
        cr_assert(fabs(sum - 1.0) < 1e-4 && fabs(inside - 1.0) < 1e-4, "row %d: %g %g", i, sum, inside);
    }
    rig_close(&r);
}
