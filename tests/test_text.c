/* Text streams end to end: bits per byte on hand-computed cases, the
 * prequential order (a window is scored before the update on it), fact
 * probes, every strategy on text-synth, the pretraining cache and
 * checkpoints of text runs bit for bit. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "clbench/base/error.h"
#include "clbench/base/rng.h"
#include "clbench/nn/loss.h"
#include "clbench/run/config.h"
#include "clbench/run/results.h"
#include "clbench/run/runner.h"
#include "clbench/run/stream.h"
#include "clbench/strategies/strategy.h"
#include "support.h"

/* A run of ~30 steps a task on a one-layer gpt: well under a second. */
static const char *const small[] = {
    "model.net=gpt",          "model.layers=1",          "model.d_model=32",
    "model.heads=2",          "model.ctx=32",            "train.batch_size=4",
    "train.lr=0.003",         "suite.tasks=2",           "suite.train_bytes=4096",
    "suite.test_bytes=1024",  "suite.facts_per_task=4",  "suite.probe_delays=64,512,100000",
    "sleep.sleep_steps=20",   "ewc.fisher=empirical",    "episodic.memory_size=2048",
    "replay.buffer_size=64",  "train.eval_every=10",     "train.curve_samples=8"};
#define SMALL_ARGS                                                                          \
    "--set model.net=gpt --set model.layers=1 --set model.d_model=32 --set model.heads=2 "  \
    "--set model.ctx=32 --set train.batch_size=4 --set train.lr=0.003 --set suite.tasks=2 " \
    "--set suite.train_bytes=4096 --set suite.test_bytes=1024 --set suite.facts_per_task=4 " \
    "--set suite.probe_delays=64,512,100000 --set train.eval_every=10"

static char tmp[256];

static void make_tmp(void)
{
    openblas_set_num_threads(1);
    cl_test_tmpdir_new(tmp, sizeof tmp, "text");
}

static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(text, .init = make_tmp, .fini = remove_tmp, .timeout = 240);

/* The small config of `strategy`; settings of other strategies are skipped. */
static cl_config *small_config(const char *strategy, int pretrain)
{
    cl_config *c;
    cr_assert_eq(cl_config_new(&c, "text-synth", CL_SCENARIO_DOMAIN, strategy, 3), 0, "%s",
                 cl_error_last());
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        const char *dot = strchr(small[i], '.');
        int ns = (int)(dot - small[i]);
        int other = strncmp(small[i], "model", 5) && strncmp(small[i], "train", 5) &&
                    strncmp(small[i], "suite", 5) && strncmp(small[i], strategy, (size_t)ns);
        if (!other) cr_assert_eq(cl_config_set_arg(c, small[i]), 0, "%s", cl_error_last());
    }
    if (pretrain) {
        cr_assert_eq(cl_config_set_arg(c, "suite.pretrain=true"), 0);
        cr_assert_eq(cl_config_set_arg(c, "suite.pretrain_steps=20"), 0);
    }
    return c;
}

static cl_run_result *run_config(const cl_config *c, const cl_run_opts *o)
{
    cl_run_result *r;
    cr_assert_eq(cl_run_execute(&r, c, o), 0, "%s", cl_error_last());
    cr_assert_eq(r->status, CL_RUN_OK, "%s", r->reason);
    return r;
}

/* metrics.json without its timing lines (wall, train, eval, tokens/s, RSS). */
static char *json_sans_timings(const cl_config *c, const cl_run_result *r)
{
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_results_metrics_json(&b, c, r);
    char *out = malloc(b.len + 1), *w = out;
    for (const char *s = b.s; *s;) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s + 1) : strlen(s);
        if (!strstr(s, "_s\":") || (e && strstr(s, "_s\":") > e)) {
            if (!(strstr(s, "peak_rss") && (!e || strstr(s, "peak_rss") < e))) {
                memcpy(w, s, n);
                w += n;
            }
        }
        s += n;
    }
    *w = 0;
    cl_strbuf_release(&b);
    return out;
}

Test(text, uniform_logits_give_eight_bits_a_byte)
{
    enum { ROWS = 5 };
    float *z = calloc((size_t)ROWS * 256, sizeof *z); /* (ROWS, 256) */
    int y[ROWS] = {0, 7, 65, 200, 255};
    double rb[ROWS];
    unsigned char hit[ROWS];
    double bits = cl_loss_bits(z, y, ROWS, 256, rb, hit);
    cr_assert_float_eq(bits, 8.0 * ROWS, 1e-12);
    for (int i = 0; i < ROWS; i++) cr_assert_float_eq(rb[i], 8.0, 1e-12);
    /* Ties go to unit 0: only the label 0 is a hit. */
    cr_assert(hit[0] && !hit[1] && !hit[4]);
    /* One unit at log 255 over 255 zeros: p = 1/2, one bit. */
    z[(size_t)1 * 256 + 7] = logf(255.0f);
    cr_assert_float_eq(cl_loss_bits(z + 256, y + 1, 1, 256, NULL, NULL), 1.0, 1e-6);
    free(z);
}

Test(text, a_gpt_with_a_zero_head_scores_eight_bits_a_byte)
{
    cl_config *c = small_config("naive", 0);
    const cl_net_ops *gpt = c->net;
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 1, CL_RNG_INIT), 0);
    cl_optim_config opt;
    cl_config_optim(c, &opt);
    cl_net *n;
    cr_assert_eq(cl_net_new(&n, gpt, c->model, 33, 256, &opt, rng), 0, "%s", cl_error_last());
    cl_net_dense top[CL_NET_MAX_TOP];
    int k = cl_net_top(n, top, CL_NET_MAX_TOP);
    memset(n->params + top[k - 1].w_off, 0, (size_t)top[k - 1].n_in * 256 * sizeof(float));
    memset(n->params + top[k - 1].b_off, 0, 256 * sizeof(float));
    float x[2 * 33];
    for (int i = 0; i < 2 * 33; i++) x[i] = (float)((i * 37) % 256);
    const float *logits;
    const int *labels;
    cr_assert_eq(cl_net_forward(n, x, 2, &logits), 0);
    cr_assert_eq(cl_net_labels(n, x, NULL, 2, &labels), 0);
    cr_assert_float_eq(cl_loss_bits(logits, labels, 64, 256, NULL, NULL) / 64, 8.0, 1e-12);
    cl_net_free(n);
    gsl_rng_free(rng);
    cl_config_free(c);
}

/* Rebuilds the first two steps of a naive run by hand: step s's score is
 * that of the network before the update on its own windows, after the
 * updates on every earlier one. */
Test(text, a_window_is_scored_before_its_own_update)
{
    cl_config *c = small_config("naive", 0);
    cl_run_result *r = run_config(c, NULL);
    const cl_text_result *x = r->text;
    cr_assert_not_null(x);
    cr_assert_gt(x->n_points, 2);

    gsl_rng *rs, *ri;
    cr_assert_eq(cl_rng_new(&rs, c->seed, CL_RNG_SUITE), 0);
    cr_assert_eq(cl_rng_new(&ri, c->seed, CL_RNG_INIT), 0);
    cl_suite *s;
    cr_assert_eq(c->family->build(&s, c->suite, c->suite_p, c->scenario, NULL, rs), 0);
    cr_assert_eq(cl_suite_cut_windows(s, 32), 0);
    cl_optim_config opt;
    cl_config_optim(c, &opt);
    cl_net *n;
    cr_assert_eq(cl_net_new(&n, c->net, c->model, s->d, 256, &opt, ri), 0);
    n->lr = opt.lr;
    float xb[4 * 33];
    for (int step = 0; step < 3; step++) {
        cl_task_rows(&s->tasks[0], 0, step * 4, 4, xb);
        const float *logits;
        const int *labels;
        cr_assert_eq(cl_net_forward(n, xb, 4, &logits), 0);
        cr_assert_eq(cl_net_labels(n, xb, NULL, 4, &labels), 0);
        double bits = cl_loss_bits(logits, labels, 4 * 32, 256, NULL, NULL);
        cr_assert_eq(bits, x->points[step].bits, "step %d: %.17g, the run scored %.17g", step, bits,
                     x->points[step].bits);
        cr_assert_eq(x->points[step].n, 4 * 32);
        /* The frozen reference is the untrained network at every step. */
        if (step == 0) cr_assert_eq(x->points[0].frozen_bits, bits);
        else cr_assert_neq(x->points[step].frozen_bits, bits);
        cl_batch b = {xb, NULL, 4, 33, 0, 256, NULL, 0};
        cr_assert_eq(cl_strategy_sgd_step(n, &b), 0);
    }
    cl_net_free(n);
    cl_suite_free(s);
    gsl_rng_free(rs);
    gsl_rng_free(ri);
    cl_run_result_free(r);
    cl_config_free(c);
}

Test(text, probe_windows_put_the_value_after_the_prompt)
{
    cl_fact f = {0, 0, 1, "the pet of Bo is ", "owl"};
    float w[33];
    int off = cl_text_probe_window(w, 32, &f, 0);
    cr_assert_eq(off, 18);
    const char *want = "\nthe pet of Bo is owl";
    for (int i = 0; i < 33; i++)
        cr_assert_eq((int)w[i], i < 21 ? (unsigned char)want[i] : '\n', "byte %d", i);
    /* The sentence in context does not fit 33 bytes: refused, untouched. */
    w[0] = -1;
    cr_assert_eq(cl_text_probe_window(w, 32, &f, 1), -1);
    cr_assert_eq(w[0], -1);
    float v[65];
    off = cl_text_probe_window(v, 64, &f, 1);
    cr_assert_eq(off, (int)strlen("\nthe pet of Bo is owl.\nthe pet of Bo is "));
    /* Row q predicts byte q + 1: the value's bytes are rows off-1 .. off+1. */
    double rb[64] = {0};
    unsigned char hit[64] = {0};
    rb[off - 1] = 1.5, rb[off] = 2, rb[off + 1] = 0.25, rb[off + 2] = 100;
    hit[off - 1] = hit[off] = hit[off + 1] = 1;
    double bits;
    int exact;
    cl_text_value_score(rb, hit, off, 3, &bits, &exact);
    cr_assert_float_eq(bits, 3.75, 1e-15);
    cr_assert_eq(exact, 1);
    hit[off] = 0;
    cl_text_value_score(rb, hit, off, 3, &bits, &exact);
    cr_assert_eq(exact, 0);
}

Test(text, facts_are_probed_before_and_after_each_delay)
{
    cl_config *c = small_config("naive", 0);
    cl_run_result *r = run_config(c, NULL);
    const cl_text_result *x = r->text;
    cr_assert_eq(r->n_facts, 8);
    int before = 0, at[3] = {0, 0, 0};
    for (int i = 0; i < x->n_probes; i++) {
        const cl_probe *p = &x->probes[i];
        if (p->delay < 0) {
            before++;
            continue;
        }
        at[p->delay]++;
        cr_assert_geq(p->delay_bytes, x->delays[p->delay], "probed early");
        /* Within one step (4 windows of 32 bytes) of the delay. */
        cr_assert_lt(p->delay_bytes, x->delays[p->delay] + 4 * 32 + 1);
        cr_assert(isfinite(p->bits) && p->bits > 0);
    }
    cr_assert_eq(before, 8);
    cr_assert_eq(at[0], 8, "every fact is 64 bytes old before its stream ends");
    cr_assert_eq(at[2], 0, "no stream is 100000 bytes long");
    cl_run_result_free(r);
    cl_config_free(c);
}

/* Every registered strategy runs the text-synth stream through the CLI and
 * writes bits-per-byte results. */
Test(text, every_strategy_runs_a_text_stream)
{
    for (int i = 0; i < cl_strategy_count(); i++) {
        const char *name = cl_strategy_at(i)->name;
        cl_test_result r;
        cl_test_run_cli(&r, tmp,
                        "--strategy %s --suite text-synth " SMALL_ARGS " --set sleep.sleep_steps=20 "
                        "--set ewc.fisher=empirical --out '%s/all' --quiet",
                        name, tmp);
        cr_assert_eq(r.code, 0, "%s exited %d: %s", name, r.code, r.err);
        cl_test_result_free(&r);
    }
    cl_test_result r;
    cl_test_sh(&r, tmp, "grep -l '\"units\": \"bpb\"' '%s'/all/text-synth-domain-*/metrics.json", tmp);
    cr_assert_eq(cl_test_count_char(r.out, '\n'), cl_strategy_count(), "%s", r.out);
    cl_test_result_free(&r);
    cl_test_sh(&r, tmp, "head -1 '%s'/all/text-synth-domain-naive-*/preq.csv", tmp);
    cr_assert_str_eq(r.out, "step,bytes,task,bpb,frozen_bpb\n");
    cl_test_result_free(&r);
}

Test(text, a_feature_network_on_a_text_suite_is_one_line_and_exit_2)
{
    cl_test_result r;
    cl_test_run_cli(&r, tmp, "--strategy naive --suite text-synth --out '%s/mlp' --quiet", tmp);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "model.net=gpt"), "%s", r.err);
    cr_assert(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "not one line: %s", r.err);
    cl_test_result_free(&r);
}

/* Pretraining from the cache is the same run as pretraining afresh. */
Test(text, a_cached_pretraining_gives_the_same_run)
{
    char cache[512];
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    cl_config *c = small_config("replay", 1);
    cl_run_opts o = {.cache_dir = cache};
    cl_run_result *fresh = run_config(c, NULL), *first = run_config(c, &o),
                  *cached = run_config(c, &o);
    cr_assert_eq(cl_test_dir_count(cache), 1);
    cr_assert(strstr(cached->log.s, "from the cache"), "%s", cached->log.s);
    char *a = json_sans_timings(c, fresh), *b = json_sans_timings(c, first),
         *d = json_sans_timings(c, cached);
    cr_assert_str_eq(a, b);
    cr_assert_str_eq(a, d);
    free(a), free(b), free(d);
    cl_run_result_free(fresh), cl_run_result_free(first), cl_run_result_free(cached);
    cl_config_free(c);
}

typedef struct grab {
    int at;
    unsigned char *blob;
    size_t len;
} grab;

static int grab_at(void *user, int done, cl_ckpt_source write, void *write_ctx)
{
    grab *g = user;
    if (done != g->at) return 0;
    cl_ckpt_mem m = {0};
    cr_assert_eq(write(write_ctx, cl_ckpt_mem_sink, &m), 0, "%s", cl_error_last());
    g->blob = m.data;
    g->len = m.len;
    return 0;
}

/* Resumed after the pretraining task and after the first streamed one,
 * every strategy ends exactly as the uninterrupted run. */
Test(text, a_text_run_resumes_bit_for_bit)
{
    for (int i = 0; i < cl_strategy_count(); i++) {
        const cl_strategy_ops *ops = cl_strategy_at(i);
        if (!ops->save) continue;
        cl_config *c = small_config(ops->name, 1);
        cl_run_result *ref = run_config(c, NULL);
        char *want = json_sans_timings(c, ref);
        for (int at = 1; at <= 2; at++) {
            grab g = {.at = at};
            cl_run_opts o = {.user = &g, .checkpoint = grab_at};
            cl_run_result_free(run_config(c, &o));
            cr_assert_not_null(g.blob);
            cl_run_opts ro = {.resume = g.blob, .resume_len = g.len, .resume_name = "ckpt"};
            cl_run_result *r = run_config(c, &ro);
            cr_assert_eq(r->resumed_after, at);
            char *got = json_sans_timings(c, r);
            cr_assert_str_eq(got, want, "%s resumed after %d tasks differs", ops->name, at);
            free(got);
            free(g.blob);
            cl_run_result_free(r);
        }
        free(want);
        cl_run_result_free(ref);
        cl_config_free(c);
    }
}

/* Self-generated replay: the teacher's own windows are distilled, which
 * costs distillation FLOPs and the pool's bytes, and the run resumes. */
Test(text, sleep_distils_text_the_teacher_writes)
{
    cl_config *c = small_config("sleep", 1);
    cr_assert_eq(cl_config_set_arg(c, "sleep.source=generate"), 0);
    cr_assert_eq(cl_config_set_arg(c, "sleep.buffer_size=8"), 0);
    cl_run_result *r = run_config(c, NULL);
    cr_assert_gt(r->ledger.distill_flops, 0);
    /* 8 windows of 33 floats and their (32, 256) probabilities, and the teacher. */
    cr_assert_geq(r->ledger.extra_bytes, 8 * (33 * 4 + 32 * 256 * 4));
    grab g = {.at = 2};
    cl_run_opts o = {.user = &g, .checkpoint = grab_at};
    cl_run_result_free(run_config(c, &o));
    cl_run_opts ro = {.resume = g.blob, .resume_len = g.len, .resume_name = "ckpt"};
    cl_run_result *again = run_config(c, &ro);
    char *a = json_sans_timings(c, r), *b = json_sans_timings(c, again);
    cr_assert_str_eq(a, b);
    free(a), free(b), free(g.blob);
    cl_run_result_free(r), cl_run_result_free(again);
    cl_config_free(c);
}
