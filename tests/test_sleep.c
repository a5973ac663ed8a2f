/* sleep: consolidation by distillation beats plain backprop in the class
 * scenario, the teacher is zero-padded outside the classes it learned,
 * distilling from a teacher equal to the student changes nothing, the other
 * input sources run, and the ledger counts the teacher, the buffer and the
 * teacher's FLOPs.
 *
 * The seq-tasks comparison uses a 100-100 MLP and no anytime evaluations
 * to stay fast (about 7 s); everything else is the default protocol (5
 * tasks, 300 steps, batch 32, Adam 1e-3, sleep defaults). Measured with
 * these settings, mean over seeds 0-2: class acc naive 0.192, sleep 0.924.
 * The hand-driven tests use a 32-32 MLP on seq-tasks' first two tasks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include <criterion/criterion.h>
#include "clbench/run/config.h"
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/base/rng.h"
#include "clbench/run/runner.h"
#include "clbench/strategies/strategy.h"

static void init(void) { openblas_set_num_threads(1); }

TestSuite(sleep, .init = init, .timeout = 300);

/* One seq-tasks run with `base` then `extra` settings (NULL-terminated). */
static cl_run_result *run_one(const char *strategy, cl_scenario sc, unsigned long seed,
                              const char *const *base, const char *const *extra)
{
    cl_config *c;
    cr_assert_eq(cl_config_new(&c, "seq-tasks", sc, strategy, seed), 0, "%s", cl_error_last());
    for (int i = 0; base && base[i]; i++)
        cr_assert_eq(cl_config_set_arg(c, base[i]), 0, "%s", cl_error_last());
    for (int i = 0; extra && extra[i]; i++)
        cr_assert_eq(cl_config_set_arg(c, extra[i]), 0, "%s", cl_error_last());
    cl_run_result *r;
    cr_assert_eq(cl_run_execute(&r, c, NULL), 0, "%s: %s", strategy, cl_error_last());
    cr_assert_eq(r->status, CL_RUN_OK, "%s seed %lu: %s", strategy, seed, r->reason);
    cl_config_free(c);
    return r;
}

static const char *const fast[] = {"model.hidden=100,100", "train.eval_every=0", NULL};

static double mean_acc(const char *strategy, cl_scenario sc)
{
    double acc = 0;
    for (unsigned long seed = 0; seed < 3; seed++) {
        cl_run_result *r = run_one(strategy, sc, seed, fast, NULL);
        acc += r->metrics.acc / 3;
        cl_run_result_free(r);
    }
    return acc;
}

/* Naive forgets nearly everything in the class scenario (acc about 0.19).
 * Sleeping on a 200-sample buffer after every task recovers it (measured
 * 0.924 with these settings, 0.970 with the default 400-400 MLP). Margin
 * +0.5, against a measured gap of 0.73. */
Test(sleep, class_scenario_beats_naive)
{
    double naive = mean_acc("naive", CL_SCENARIO_CLASS);
    double sl = mean_acc("sleep", CL_SCENARIO_CLASS);
    cr_assert(sl > naive + 0.5, "sleep acc %.3f vs naive %.3f", sl, naive);
}

/* A hand-driven class-scenario setup: suite, a 32-32 net and a sleep
 * context created with `sets` (name, value pairs, NULL-terminated). */
typedef struct rig {
    cl_suite *suite;
    cl_net *net;
    gsl_rng *rs, *ri, *rx;
    const cl_strategy_ops *ops;
    void *ctx;
} rig;

static void rig_open(rig *g, const char *const *sets)
{
    cl_config *cfg;
    cr_assert_eq(cl_config_new(&cfg, "seq-tasks", CL_SCENARIO_CLASS, "sleep", 0), 0);
    cr_assert_eq(cl_rng_new(&g->rs, 0, CL_RNG_SUITE), 0);
    cr_assert_eq(cl_rng_new(&g->ri, 0, CL_RNG_INIT), 0);
    cr_assert_eq(cl_rng_new(&g->rx, 0, CL_RNG_STRATEGY), 0);
    cr_assert_eq(cfg->family->build(&g->suite, "seq-tasks", cfg->suite_p, CL_SCENARIO_CLASS, NULL,
                                    g->rs),
                 0);
    long hidden[] = {32, 32};
    cl_optim_config opt;
    cl_config_optim(cfg, &opt);
    const cl_suite *s = g->suite;
    cr_assert_eq(cl_net_mlp_new(&g->net, s->d, hidden, 2, s->n_classes, &opt, g->ri), 0);
    cl_strategy_env env = {CL_SCENARIO_CLASS, s->n_tasks, s->n_classes, s->d};
    cr_assert_eq(cl_strategy_find(&g->ops, "sleep"), 0);
    cl_params *p;
    cr_assert_eq(cl_params_new(&p, "sleep", g->ops->params), 0);
    for (int i = 0; sets && sets[i]; i += 2)
        cr_assert_eq(cl_params_set(p, sets[i], sets[i + 1]), 0, "%s", cl_error_last());
    cr_assert_eq(g->ops->create(&g->ctx, p, &env, g->net, g->rx), 0, "%s", cl_error_last());
    cl_params_free(p);
    cl_config_free(cfg);
}

static void rig_close(rig *g)
{
    g->ops->destroy(g->ctx);
    cl_net_free(g->net);
    cl_suite_free(g->suite);
    gsl_rng_free(g->rs);
    gsl_rng_free(g->ri);
    gsl_rng_free(g->rx);
}

enum { B = 16 };

static cl_batch batch_of(const rig *g, int t, int off)
{
    const cl_task *k = &g->suite->tasks[t];
    cl_batch b = {k->train_x + (size_t)off * g->suite->d, k->train_y + off, B, g->suite->d, t,
                  g->suite->n_classes, NULL, 0};
    return b;
}

/* Trains task 1 for 100 steps (no teacher yet: plain CE), ends it, clears
 * the optimiser state and begins task 2, which snapshots the teacher:
 * teacher == student. */
static void through_task1(rig *g)
{
    const cl_task *k = &g->suite->tasks[0];
    cr_assert_eq(g->ops->task_begin(g->ctx, g->net, k), 0);
    for (int step = 0; step < 100; step++) {
        cl_batch b = batch_of(g, 0, (step * B) % (k->n_train - B));
        cr_assert_eq(g->ops->observe(g->ctx, g->net, &b), 0, "%s", cl_error_last());
    }
    cr_assert_eq(g->ops->task_end(g->ctx, g->net, k), 0);
    cl_net_reset_optim(g->net); /* as the harness does (train.reset_optim) */
    cr_assert_eq(g->ops->task_begin(g->ctx, g->net, &g->suite->tasks[1]), 0);
}

/* The update an optimiser makes from dlogits (B, C) of batch b, on a copy
 * of net; returns the copy. */
static cl_net *reference_step(const cl_net *net, const cl_batch *b, const float *dlogits)
{
    cl_net *ref;
    cr_assert_eq(cl_net_clone(&ref, net), 0);
    const float *logits;
    cl_net_zero_grad(ref);
    cr_assert_eq(cl_net_forward(ref, b->x, b->n, &logits), 0);
    cr_assert_eq(cl_net_backward(ref, dlogits), 0);
    cl_net_step(ref);
    return ref;
}

/* Zero-padding. After task 1 (classes 0, 1) the teacher's softened
 * probabilities must be its softmax at T = 2 over classes 0 and 1,
 * renormalised there, and exactly 0 on every other class (task 2's 2 and 3
 * included). With source=current, units=padded and pure distillation
 * (alpha = 1), the first update of task 2 is then exactly the step on
 * T^2 KL(q_padded || softmax(s/T)) over all ten units, computed here by
 * hand. The unpadded teacher (its softmax over all units) equals the
 * student and would give a zero gradient, so the update would be nil: the
 * test also checks the network moved. Compared bitwise: the same sgemm on
 * the same inputs and the same loss code give the same floats. */
Test(sleep, teacher_is_zero_padded_outside_its_classes)
{
    const char *sets[] = {"source", "current", "units", "padded", "every", "1",
                          "sleep_steps", "1", "weighting", "fixed", "alpha", "1", NULL};
    rig g;
    rig_open(&g, sets);
    through_task1(&g);
    int C = g.suite->n_classes;
    cl_batch b = batch_of(&g, 1, 0);

    /* What the padded teacher says about task 2's inputs. */
    cl_net *teacher;
    cr_assert_eq(cl_net_clone(&teacher, g.net), 0);
    const float *logits;
    cr_assert_eq(cl_net_forward(teacher, b.x, B, &logits), 0);
    float q[B * 10], dl[B * 10];
    cr_assert_eq(C, 10);
    cl_softmax(logits, B, C, g.suite->tasks[0].classes, 2.0f, q);
    for (int i = 0; i < B; i++) {
        cr_assert(q[i * C + 2] == 0.0f && q[i * C + 3] == 0.0f, "task 2's classes");
        cr_assert(fabsf(q[i * C] + q[i * C + 1] - 1.0f) < 1e-6f, "renormalised over 0, 1");
    }
    cr_assert_eq(cl_net_forward(teacher, b.x, B, &logits), 0);
    cr_assert_eq(cl_loss_distill(logits, q, B, C, NULL, 2.0f, 1.0f, dl, NULL), 0);
    cl_net *ref = reference_step(g.net, &b, dl);

    size_t bytes = cl_net_param_bytes(g.net);
    cr_assert(memcmp(ref->params, g.net->params, bytes) != 0, "the padded teacher must pull");
    cr_assert_eq(g.ops->observe(g.ctx, g.net, &b), 0, "%s", cl_error_last());
    cr_assert(memcmp(ref->params, g.net->params, bytes) == 0,
              "the update is not the one the zero-padded teacher gives");
    cl_net_free(ref);
    cl_net_free(teacher);
    rig_close(&g);
}

/* Teacher == student: the distillation gradient is exactly zero (the
 * student's and the teacher's softmax are the same floats), so a sleep
 * update right after the snapshot is the CE part alone. Checked for
 * LwF's configuration (alpha = 0.5: the update equals a step on
 * 0.5 * CE, bitwise) and for pure distillation (alpha = 1: the network
 * does not move at all; Adam turns any nonzero gradient, however small,
 * into a step of about lr). */
Test(sleep, distilling_an_identical_teacher_changes_nothing)
{
    const char *alphas[] = {"0.5", "1"};
    for (int k = 0; k < 2; k++) {
        const char *sets[] = {"source", "current", "every", "1", "sleep_steps", "1",
                              "weighting", "fixed", "alpha", alphas[k], NULL};
        rig g;
        rig_open(&g, sets);
        through_task1(&g);
        cl_batch b = batch_of(&g, 1, 32);
        int C = g.suite->n_classes;
        float dl[B * 10];
        const float *logits;
        cl_net *probe;
        cr_assert_eq(cl_net_clone(&probe, g.net), 0);
        cr_assert_eq(cl_net_forward(probe, b.x, B, &logits), 0);
        cr_assert_eq(cl_loss_ce(logits, b.y, B, C, NULL, 1.0f - (float)atof(alphas[k]), dl, NULL), 0);
        cl_net *ref = reference_step(g.net, &b, dl);
        size_t bytes = cl_net_param_bytes(g.net);
        float *before = malloc(bytes);
        memcpy(before, g.net->params, bytes);
        cr_assert_eq(g.ops->observe(g.ctx, g.net, &b), 0, "%s", cl_error_last());
        cr_assert(memcmp(ref->params, g.net->params, bytes) == 0,
                  "alpha %s: the update is not the CE part alone", alphas[k]);
        if (k == 1) cr_assert(memcmp(before, g.net->params, bytes) == 0, "alpha 1 moved the net");
        else cr_assert(memcmp(before, g.net->params, bytes) != 0, "alpha 0.5 did not learn");
        free(before);
        cl_net_free(ref);
        cl_net_free(probe);
        rig_close(&g);
    }
}

static const char *const tiny[] = {"suite.tasks=3",        "suite.train_per_class=100",
                                   "suite.test_per_class=50", "model.hidden=32,32",
                                   "train.steps=60",       "train.batch_size=16",
                                   "train.eval_every=20",  NULL};

/* The data-free and the LwF-style sources run in every scenario, sleeping
 * at task ends and every few steps, and give finite metrics. */
Test(sleep, current_and_noise_sources_run)
{
    const char *srcs[] = {"sleep.source=current", "sleep.source=noise"};
    const char *whens[] = {"sleep.every=0", "sleep.every=7"};
    cl_scenario scs[] = {CL_SCENARIO_CLASS, CL_SCENARIO_TASK, CL_SCENARIO_DOMAIN};
    for (int i = 0; i < 2; i++)
        for (int w = 0; w < 2; w++)
            for (int k = 0; k < 3; k++) {
                const char *extra[] = {srcs[i], whens[w], "sleep.sleep_steps=20", NULL};
                cl_run_result *r = run_one("sleep", scs[k], 1, tiny, extra);
                const cl_metrics *m = &r->metrics;
                cr_assert(isfinite(m->acc) && isfinite(m->bwt) && isfinite(m->forgetting) &&
                              isfinite(m->anytime_acc),
                          "%s %s scenario %d: non-finite metrics", srcs[i], whens[w], k);
                cr_assert(m->acc > 0 && m->acc <= 1);
                cr_assert(r->ledger.distill_flops > 0, "%s: no distillation counted", srcs[i]);
                cl_run_result_free(r);
            }
}

/* FLOPs of one forward + backward of `rows` rows through 64 -> 32 -> 32
 * -> 6 (three tasks of two classes), as harness/nn/model.c counts them: 2*rows*in*out per sgemm; the
 * backward does weights for every layer and inputs for all but the first. */
static double fwd(double rows) { return 2 * rows * (64 * 32 + 32 * 32 + 32 * 6); }
static double fwd_bwd(double rows) { return 2 * fwd(rows) + 2 * rows * (32 * 32 + 32 * 6); }

/* extra_bytes is the teacher's parameters plus what each source keeps:
 * the buffer (x, label, task) and its cached teacher probabilities, or the
 * running input mean and M2, or nothing more. distill_flops is exact: per
 * task after the first, the teacher's forward over the full buffer at the
 * snapshot plus sleep_steps updates over 16 current + 16 distilled rows;
 * and train_flops includes all of it on top of the wake steps, the teacher
 * included (its FLOPs are model FLOPs spent training). */
Test(sleep, ledger_counts_teacher_buffer_and_flops)
{
    const char *srcs[] = {"sleep.source=buffer", "sleep.source=current", "sleep.source=noise"};
    for (int i = 0; i < 3; i++) {
        const char *extra[] = {srcs[i], "sleep.buffer_size=50", "sleep.sleep_steps=20",
                               "train.eval_every=0", NULL};
        cl_run_result *r = run_one("sleep", CL_SCENARIO_CLASS, 0, tiny, extra);
        size_t teacher = r->n_params * sizeof(float), want = teacher;
        if (i == 0)
            want += 50 * (64 * sizeof(float) + 2 * sizeof(int)) +
                    50 * (size_t)r->n_classes * sizeof(float);
        if (i == 2) want += 2 * 64 * sizeof(double);
        cr_assert_eq(r->d, 64);
        cr_assert_eq(r->ledger.extra_bytes, want, "%s: %zu bytes, want %zu", srcs[i],
                     r->ledger.extra_bytes, want);
        /* Two sleeps (after tasks 2 and 3). */
        double teacher_f = i == 0 ? 2 * fwd(50) : i == 1 ? 2 * 20 * fwd(16) : 2 * 20 * fwd(16);
        double student_f = 2 * 20 * fwd_bwd(i == 1 ? 16 : 32);
        double wake = 3 * 60 * fwd_bwd(16);
        cr_assert(fabs(r->ledger.distill_flops - (teacher_f + student_f)) < 1,
                  "%s: distill_flops %.0f, want %.0f", srcs[i], r->ledger.distill_flops,
                  teacher_f + student_f);
        cr_assert(fabs(r->train_flops - (wake + teacher_f + student_f)) < 1,
                  "%s: train_flops %.0f, want %.0f", srcs[i], r->train_flops,
                  wake + teacher_f + student_f);
        cl_run_result_free(r);
    }
}
