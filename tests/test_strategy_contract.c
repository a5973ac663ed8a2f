/* The contract every registered strategy must keep, run over the registry:
 * a new strategy gets these checks by being added to strategies/registry.c. */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "clbench/run/config.h"
#include "clbench/base/error.h"
#include "clbench/run/results.h"
#include "clbench/base/rng.h"
#include "clbench/run/runner.h"
#include "clbench/strategies/strategy.h"
#include "support.h"

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
    cl_net *net;
    cr_assert_eq(cl_net_mlp_new(&net, s->d, hidden, 2, s->n_classes, &opt, ri), 0);
    cl_strategy_env env = {sc, s->n_tasks, s->n_classes, s->d};
    void *ctx = NULL;
    cr_assert_eq(ops->create(&ctx, cfg->strat, &env, net, rx), 0, "%s: %s", ops->name,
                 cl_error_last());
    cr_assert(ctx != NULL);

    size_t pbytes = cl_net_param_bytes(net);
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
    cl_net_free(net);
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
    /* Each task's last curve point is taken after task_end, on the network R
     * row t + 1 sees: the same accuracies wherever the curve covers the
     * whole test sets and the predictor is the network's forward pass. */
    for (int p = 0; !ops->predict && p < a->curve.n; p++) {
        int t = a->curve.stage[p];
        if (p + 1 < a->curve.n && a->curve.stage[p + 1] == t) continue;
        for (int j = 0; j < T; j++)
            cr_assert(a->curve.acc[(size_t)p * T + j] == a->R[(t + 1) * T + j],
                      "%s: task %d's last curve point on task %d: %g, R %g", ops->name, t + 1,
                      j + 1, a->curve.acc[(size_t)p * T + j], a->R[(t + 1) * T + j]);
    }
    cr_assert(a->train_flops > 0);
    cl_run_result_free(a);
    cl_run_result_free(b);
    cl_config_free(cfg);
}

/* ---- checkpoints -------------------------------------------------------
 * Stopping a run at a task boundary and resuming it from the checkpoint in
 * a fresh runner must end exactly where the uninterrupted run ends: R, the
 * curve, metrics, ledger and FLOP counts bit for bit (timings aside). */

static cl_config *tiny3_config(const char *strategy, cl_scenario sc, const char *extra)
{
    cl_config *c = tiny_config(strategy, sc);
    cr_assert_eq(cl_config_set_arg(c, "suite.tasks=3"), 0, "%s", cl_error_last());
    cr_assert_eq(cl_config_set_arg(c, "train.steps=60"), 0, "%s", cl_error_last());
    if (extra) cr_assert_eq(cl_config_set_arg(c, extra), 0, "%s: %s", extra, cl_error_last());
    return c;
}

typedef struct stopper {
    int at;       /* stop once this many tasks are done */
    void *blob;   /* the checkpoint taken then */
    size_t len;
    int calls;
} stopper;

static int stop_at(void *user, int done, cl_ckpt_source write, void *write_ctx)
{
    stopper *s = user;
    s->calls++;
    if (done != s->at) return 0;
    cl_ckpt_mem m = {0};
    cr_assert_eq(write(write_ctx, cl_ckpt_mem_sink, &m), 0, "%s", cl_error_last());
    s->blob = m.data;
    s->len = m.len;
    return cl_error_set(CL_ENOTFOUND, "stopped after task %d", done);
}

static int is_timing_line(const char *line)
{
    return strstr(line, "\"wall_s\"") || strstr(line, "\"train_s\"") ||
           strstr(line, "\"eval_s\"") || strstr(line, "\"peak_rss_bytes\"");
}

/* The line at *s (NUL-terminated in place), advancing *s; NULL at the end. */
static char *next_line(char **s)
{
    char *line = *s;
    if (!line || !*line) return NULL;
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    *s = nl ? nl + 1 : NULL;
    return line;
}

/* metrics.json of both runs, line by line, timings aside. */
static void same_json(const cl_config *cfg, const cl_run_result *a, const cl_run_result *b,
                      const char *what)
{
    cl_strbuf ja, jb;
    cl_strbuf_init(&ja);
    cl_strbuf_init(&jb);
    cl_results_metrics_json(&ja, cfg, a);
    cl_results_metrics_json(&jb, cfg, b);
    char *sa = ja.s, *sb = jb.s, *la, *lb;
    int line = 0;
    for (;;) {
        la = next_line(&sa);
        lb = next_line(&sb);
        line++;
        if (!la || !lb) break;
        if (is_timing_line(la) && is_timing_line(lb)) continue;
        cr_assert_str_eq(la, lb, "%s: metrics.json line %d differs", what, line);
    }
    cr_assert(!la && !lb, "%s: metrics.json lengths differ", what);
    cl_strbuf_release(&ja);
    cl_strbuf_release(&jb);
}

static void same_run(const cl_config *cfg, const cl_run_result *a, const cl_run_result *b,
                     const char *what)
{
    size_t cells = (size_t)(a->T + 1) * a->T;
    cr_assert_eq(a->status, b->status, "%s", what);
    cr_assert(memcmp(a->R, b->R, cells * sizeof *a->R) == 0, "%s: R differs", what);
    cr_assert_eq(!a->stale, !b->stale);
    if (a->stale) cr_assert(memcmp(a->stale, b->stale, cells * sizeof *a->stale) == 0, "%s", what);
    cr_assert_eq(a->curve.n, b->curve.n, "%s: curve lengths %d, %d", what, a->curve.n, b->curve.n);
    for (int e = 0; e < a->curve.n; e++) {
        cr_assert_eq(a->curve.step[e], b->curve.step[e], "%s", what);
        cr_assert_eq(a->curve.stage[e], b->curve.stage[e], "%s", what);
    }
    cr_assert(memcmp(a->curve.acc, b->curve.acc, (size_t)a->curve.n * a->T * sizeof(double)) == 0,
              "%s: curve differs", what);
    cr_assert(memcmp(&a->metrics, &b->metrics, sizeof a->metrics) == 0, "%s: metrics differ", what);
    cr_assert(memcmp(&a->ledger, &b->ledger, sizeof a->ledger) == 0, "%s: ledger differs", what);
    cr_assert(a->train_flops == b->train_flops && a->eval_flops == b->eval_flops,
              "%s: FLOPs %g/%g vs %g/%g", what, a->train_flops, a->eval_flops, b->train_flops,
              b->eval_flops);
    same_json(cfg, a, b, what);
}

/* Uninterrupted run, then for each boundary k: stop after k tasks, free
 * everything, resume from the bytes in a fresh runner, compare. */
static void check_resume(const char *strategy, cl_scenario sc, const char *extra)
{
    char what[256];
    cl_config *cfg = tiny3_config(strategy, sc, extra);
    cl_run_result *full;
    cr_assert_eq(cl_run_execute(&full, cfg, NULL), 0, "%s: %s", strategy, cl_error_last());
    cr_assert_eq(full->status, CL_RUN_OK, "%s: %s", strategy, full->reason);
    for (int k = 1; k < full->T; k++) {
        snprintf(what, sizeof what, "%s (%s%s%s) resumed after task %d", strategy,
                 cl_scenario_name(sc), extra ? ", " : "", extra ? extra : "", k);
        stopper st = {.at = k};
        cl_run_opts stop = {.user = &st, .checkpoint = stop_at};
        cl_run_result *part = NULL;
        cr_assert_eq(cl_run_execute(&part, cfg, &stop), CL_ENOTFOUND, "%s: %s", what,
                     cl_error_last());
        cr_assert_null(part);
        cr_assert_eq(st.calls, k, "%s: checkpoint called %d times", what, st.calls);
        cl_run_opts go = {.resume = st.blob, .resume_len = st.len, .resume_name = "mem.ckpt"};
        cl_run_result *resumed;
        cr_assert_eq(cl_run_execute(&resumed, cfg, &go), 0, "%s: %s", what, cl_error_last());
        cr_assert_eq(resumed->resumed_after, k);
        same_run(cfg, full, resumed, what);
        cl_run_result_free(resumed);
        free(st.blob);
    }
    cl_run_result_free(full);
    cl_config_free(cfg);
}

ParameterizedTestParameters(contract, resume_class) { return registry(); }
ParameterizedTest(int *i, contract, resume_class)
{
    const cl_strategy_ops *ops = cl_strategy_at(*i);
    cr_assert(ops->save && ops->load, "%s implements no save/load: runs cannot be resumed",
              ops->name);
    check_resume(ops->name, CL_SCENARIO_CLASS, NULL);
}

ParameterizedTestParameters(contract, resume_task) { return registry(); }
ParameterizedTest(int *i, contract, resume_task)
{
    check_resume(cl_strategy_at(*i)->name, CL_SCENARIO_TASK, NULL);
}

/* Settings that keep other state than the defaults do. */
static const char *const variants[][2] = {
    {"ewc", "ewc.online=true"},           {"replay", "replay.selection=balanced"},
    {"replay", "replay.mix=weighted"},    {"sleep", "sleep.source=noise"},
    {"sleep", "sleep.source=current"},    {"sleep", "sleep.every=25"},
    {"episodic", "episodic.adapt_form=primal"}, {"episodic", "episodic.write_prob=0.5"},
    {"episodic", "episodic.memory_size=100"},
};

ParameterizedTestParameters(contract, resume_variants)
{
    static int idx[sizeof variants / sizeof variants[0]];
    for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) idx[i] = (int)i;
    return cr_make_param_array(int, idx, sizeof idx / sizeof idx[0]);
}

ParameterizedTest(int *i, contract, resume_variants)
{
    const cl_strategy_ops *ops;
    if (cl_strategy_find(&ops, variants[*i][0]) != 0) cr_skip_test("%s is not registered", variants[*i][0]);
    check_resume(variants[*i][0], CL_SCENARIO_TASK, variants[*i][1]);
}

/* Checkpoints that do not fit the config are refused with CL_EDATA naming
 * the checkpoint, and a strategy without save/load cannot resume. */
Test(contract, resume_refuses_what_does_not_fit)
{
    cl_config *cfg = tiny3_config("replay", CL_SCENARIO_CLASS, NULL);
    stopper st = {.at = 1};
    cl_run_opts stop = {.user = &st, .checkpoint = stop_at};
    cl_run_result *r = NULL;
    cr_assert_eq(cl_run_execute(&r, cfg, &stop), CL_ENOTFOUND);

    cl_config *other = tiny3_config("replay", CL_SCENARIO_CLASS, "replay.buffer_size=100");
    cl_run_opts go = {.resume = st.blob, .resume_len = st.len, .resume_name = "mem.ckpt"};
    cr_assert_eq(cl_run_execute(&r, other, &go), CL_EDATA);
    cr_assert(strstr(cl_error_last(), "mem.ckpt") == cl_error_last(), "%s", cl_error_last());
    cr_assert(strstr(cl_error_last(), "not of seq-tasks-class-replay-s3-"), "%s", cl_error_last());
    cl_config_free(other);

    /* One flipped byte anywhere past the header. */
    unsigned char *bad = malloc(st.len);
    memcpy(bad, st.blob, st.len);
    bad[st.len / 2] ^= 1;
    go.resume = bad;
    cr_assert_eq(cl_run_execute(&r, cfg, &go), CL_EDATA);
    cr_assert(strstr(cl_error_last(), "checksum mismatch"), "%s", cl_error_last());
    free(bad);

    cl_strategy_ops no_load = *cfg->ops;
    no_load.load = NULL;
    cfg->ops = &no_load;
    go.resume = st.blob;
    cr_assert_eq(cl_run_execute(&r, cfg, &go), CL_EINVAL);
    cr_assert(strstr(cl_error_last(), "cannot resume"), "%s", cl_error_last());
    /* ...and is never checkpointed. */
    stopper none = {.at = 1};
    cl_run_opts watch = {.user = &none, .checkpoint = stop_at};
    cr_assert_eq(cl_run_execute(&r, cfg, &watch), 0, "%s", cl_error_last());
    cr_assert_eq(none.calls, 0);
    cl_run_result_free(r);
    free(st.blob);
    cl_config_free(cfg);
}

/* split-* suites hold their images as bytes and the run reads them as the
 * floats they stand for: the same run over the suite turned into floats
 * before anything reads it gives the same numbers, for every strategy.
 * Only a strategy that keeps the tasks themselves (joint) reports more
 * bytes held, by exactly the floats' extra 3 bytes per feature. */
static int to_floats(void *user, cl_suite *s)
{
    (void)user;
    return cl_suite_to_floats(s);
}

ParameterizedTestParameters(contract, bytes_read_as_floats) { return registry(); }

ParameterizedTest(int *i, contract, bytes_read_as_floats)
{
    const cl_strategy_ops *ops = cl_strategy_at(*i);
    char tmp[256], dir[512];
    cl_test_tmpdir_new(tmp, sizeof tmp, "bytes");
    snprintf(dir, sizeof dir, "%s/toy", tmp);
    cl_test_put_dataset(dir, 120, 40, 8);
    cl_config *cfg;
    cr_assert_eq(cl_config_new(&cfg, "split-toy", CL_SCENARIO_CLASS, ops->name, 3), 0, "%s",
                 cl_error_last());
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", dir);
    const char *sets[] = {"suite.tasks=3", "model.hidden=16,16", "train.steps=40",
                          "train.batch_size=8", "train.eval_every=10"};
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++)
        cr_assert_eq(cl_config_set_arg(cfg, sets[k]), 0, "%s", cl_error_last());
    cl_run_result *bytes, *floats;
    cr_assert_eq(cl_run_execute(&bytes, cfg, NULL), 0, "%s: %s", ops->name, cl_error_last());
    cl_run_opts as_floats = {.suite_built = to_floats};
    cr_assert_eq(cl_run_execute(&floats, cfg, &as_floats), 0, "%s: %s", ops->name,
                 cl_error_last());
    cr_assert_eq(bytes->T, 3);
    size_t kept = 0; /* training images of the 3 tasks' 6 classes */
    for (int k = 0; k < 120; k++) kept += cl_test_idx_label(0, k) < 6;
    size_t extra = floats->ledger.extra_bytes - bytes->ledger.extra_bytes;
    cr_assert(extra == 0 || extra == 3 * 64 * kept, "%s: %zu more bytes held as floats",
              ops->name, extra);
    floats->ledger.extra_bytes = bytes->ledger.extra_bytes;
    same_run(cfg, bytes, floats, ops->name);
    cl_run_result_free(bytes);
    cl_run_result_free(floats);
    cl_config_free(cfg);
    cl_test_tmpdir_remove(tmp);
}
