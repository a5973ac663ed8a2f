/* The network interface: registry, net files, the shared optimiser and
 * its schedules, model.net in configs, labels and text generation. The
 * architectures' own gradients are tested in test_model.c (mlp) and
 * test_gpt.c (gpt). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "clbench/base/error.h"
#include "clbench/base/rng.h"
#include "clbench/nn/generate.h"
#include "clbench/nn/loss.h"
#include "clbench/nn/net.h"
#include "clbench/nn/optim.h"
#include "clbench/run/config.h"
#include "support.h"

static const cl_optim_config ADAMW = {CL_OPTIM_ADAMW, 3e-3f, 0.0f, 0.9f, 0.999f, 1e-8f, 0.1f};

/* A small gpt (ctx T, 1 layer, d_model 16, 2 heads). */
static cl_net *small_gpt(int T, unsigned long seed, const cl_optim_config *opt)
{
    cl_params *p;
    cr_assert_eq(cl_params_new(&p, "model", cl_net_gpt.params), 0);
    char ctx[16];
    snprintf(ctx, sizeof ctx, "%d", T);
    cr_assert_eq(cl_params_set(p, "ctx", ctx), 0);
    cr_assert_eq(cl_params_set(p, "layers", "1"), 0);
    cr_assert_eq(cl_params_set(p, "d_model", "16"), 0);
    cr_assert_eq(cl_params_set(p, "heads", "2"), 0);
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_INIT), 0);
    cl_net *n;
    cr_assert_eq(cl_net_new(&n, &cl_net_gpt, p, T + 1, 256, opt, rng), 0, "%s", cl_error_last());
    gsl_rng_free(rng);
    cl_params_free(p);
    return n;
}

static cl_net *small_mlp(void)
{
    static const long hidden[] = {7, 5};
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 3, CL_RNG_INIT), 0);
    cl_net *n;
    cr_assert_eq(cl_net_mlp_new(&n, 6, hidden, 2, 4, &ADAMW, rng), 0);
    gsl_rng_free(rng);
    return n;
}

/* Windows of T + 1 bytes cut from `text` at offsets 0, 1, ..., n - 1. */
static float *windows(const char *text, int n, int T)
{
    float *x = malloc((size_t)n * (T + 1) * sizeof *x); /* (n, T + 1) */
    size_t len = strlen(text);
    for (int i = 0; i < n; i++)
        for (int t = 0; t <= T; t++) x[(size_t)i * (T + 1) + t] = (unsigned char)text[(i + t) % len];
    return x;
}

/* One AdamW step of mean next-byte cross-entropy on x (n windows). */
static double lm_step(cl_net *net, const float *x, int n)
{
    const float *logits;
    const int *y;
    double loss;
    cl_net_zero_grad(net);
    cr_assert_eq(cl_net_forward(net, x, n, &logits), 0);
    cr_assert_eq(cl_net_labels(net, x, NULL, n, &y), 0);
    cr_assert_eq(cl_loss_ce(logits, y, cl_net_rows(net, n), 256, NULL, 1.0f, net->dlogits, &loss),
                 0);
    cr_assert_eq(cl_net_backward(net, net->dlogits), 0);
    cl_net_step(net);
    return loss;
}

/* ---- registry -------------------------------------------------------------- */

Test(net, registry)
{
    const cl_net_ops *o;
    cr_assert_eq(cl_net_count(), 2);
    cr_assert_eq(cl_net_find(&o, "mlp"), 0);
    cr_assert_eq(o, &cl_net_mlp);
    cr_assert_eq(cl_net_find(&o, "gpt"), 0);
    cr_assert_eq(o, &cl_net_gpt);
    cr_assert_eq(cl_net_find(&o, "lstm"), CL_EINVAL);
    cr_assert(strstr(cl_error_last(), "lstm"));
    for (int i = 0; i < cl_net_count(); i++) {
        cr_assert_eq(cl_net_at(i)->version, CL_NET_OPS_VERSION);
        cr_assert(cl_net_at(i)->exact_squares);
    }
}

Test(net, token_labels_are_the_next_bytes)
{
    cl_net *n = small_gpt(4, 1, &ADAMW);
    cr_assert_eq(n->rows_per_sample, 4);
    cr_assert_eq(n->d_feat, 16);
    float *x = windows("abcdefgh", 2, 4); /* "abcde", "bcdef" */
    const int *y;
    cr_assert_eq(cl_net_labels(n, x, NULL, 2, &y), 0);
    const int want[8] = {'b', 'c', 'd', 'e', 'c', 'd', 'e', 'f'};
    for (int i = 0; i < 8; i++) cr_assert_eq(y[i], want[i], "label %d", i);
    free(x);
    cl_net_free(n);
}

Test(net, features_net_labels_are_y)
{
    cl_net *n = small_mlp();
    int y[2] = {3, 1};
    const int *got;
    float x[12] = {0};
    cr_assert_eq(cl_net_labels(n, x, y, 2, &got), 0);
    cr_assert_eq(got, y);
    cl_net_dense top[CL_NET_MAX_TOP];
    cr_assert_eq(cl_net_top(n, top, CL_NET_MAX_TOP), 3);
    cr_assert_eq(top[2].n_in, 5);
    cr_assert_eq(top[2].b_off + 4, n->n_params);
    cl_net_free(n);
}

/* ---- net files --------------------------------------------------------------- */

static void round_trip(cl_net *n, const float *x, int samples)
{
    char dir[256], path[300];
    cl_test_tmpdir_new(dir, sizeof dir, "net");
    snprintf(path, sizeof path, "%s/net.bin", dir);
    cr_assert_eq(cl_net_save(n, path), 0, "%s", cl_error_last());
    cl_net *m;
    cr_assert_eq(cl_net_load(&m, path, &n->opt), 0, "%s", cl_error_last());
    cr_assert_eq(m->ops, n->ops);
    cr_assert_eq(m->n_params, n->n_params);
    cr_assert_eq(memcmp(m->params, n->params, n->n_params * sizeof(float)), 0);
    const float *a, *b;
    size_t rows = (size_t)cl_net_rows(n, samples) * n->n_out;
    float *keep = malloc(rows * sizeof *keep); /* (rows, n_out) */
    cr_assert_eq(cl_net_forward(n, x, samples, &a), 0);
    memcpy(keep, a, rows * sizeof *keep);
    cr_assert_eq(cl_net_forward(m, x, samples, &b), 0);
    cr_assert_eq(memcmp(keep, b, rows * sizeof *keep), 0, "logits differ after loading");
    free(keep);
    cl_net_free(m);
    cl_test_tmpdir_remove(dir);
}

Test(net, save_load_round_trip_gpt)
{
    cl_net *n = small_gpt(8, 2, &ADAMW);
    float *x = windows("the cat sat on the mat", 3, 8);
    for (int s = 0; s < 3; s++) lm_step(n, x, 3); /* trained weights, not just init */
    round_trip(n, x, 3);
    free(x);
    cl_net_free(n);
}

Test(net, save_load_round_trip_mlp)
{
    cl_net *n = small_mlp();
    float x[18];
    for (int i = 0; i < 18; i++) x[i] = (float)sin(i);
    round_trip(n, x, 3);
    cl_net_free(n);
}

Test(net, load_rejects_bad_files)
{
    char dir[256], path[300];
    cl_test_tmpdir_new(dir, sizeof dir, "netbad");
    snprintf(path, sizeof path, "%s/net.bin", dir);
    cl_net *n = small_gpt(8, 2, &ADAMW), *m = NULL;
    cr_assert_eq(cl_net_save(n, path), 0);
    size_t len;
    char *data = cl_test_read(path, &len);
    cl_test_write(path, data, len - 9); /* truncated */
    cr_assert_eq(cl_net_load(&m, path, NULL), CL_EDATA);
    cr_assert(strstr(cl_error_last(), path), "%s", cl_error_last());
    cr_assert_null(m);
    data[len / 2] ^= 0x40; /* corrupt */
    cl_test_write(path, data, len);
    cr_assert_eq(cl_net_load(&m, path, NULL), CL_EDATA);
    cl_test_spit(path, "hello\n"); /* not a net file */
    cr_assert_eq(cl_net_load(&m, path, NULL), CL_EDATA);
    free(data);
    cl_net_free(n);
    cl_test_tmpdir_remove(dir);
}

/* ---- the optimiser and schedules ---------------------------------------------- */

/* torch.optim.AdamW on one element, by hand: p *= 1 - lr*wd, then Adam. */
static double adamw_ref(double p, double g, double lr, double wd, int decay)
{
    if (decay) p *= 1.0 - lr * wd;
    double m = 0.1 * g, v = 0.001 * g * g;
    double mhat = m / (1.0 - 0.9), vhat = v / (1.0 - 0.999);
    return p - lr * mhat / (sqrt(vhat) + 1e-8);
}

Test(optim, adamw_decays_only_decay_spans)
{
    float p[4] = {0.5f, -1.0f, 2.0f, 0.25f}, g[4] = {0.1f, -0.3f, 0.2f, 1.0f};
    float m[4] = {0}, v[4] = {0}, p0[4];
    memcpy(p0, p, sizeof p);
    cl_optim_span spans[2] = {{0, 2, 1}, {2, 2, 0}};
    cl_optim_step(&ADAMW, ADAMW.lr, p, g, m, v, 4, 0, spans, 2);
    for (int i = 0; i < 4; i++) {
        double want = adamw_ref(p0[i], g[i], ADAMW.lr, ADAMW.weight_decay, i < 2);
        cr_assert_float_eq(p[i], want, 1e-6, "p[%d] = %.9g, want %.9g", i, p[i], want);
    }
}

Test(optim, adamw_without_decay_is_adam_bit_for_bit)
{
    cl_optim_config a = ADAMW, w = ADAMW;
    a.kind = CL_OPTIM_ADAM;
    a.weight_decay = w.weight_decay = 0.0f;
    float pa[3] = {1, 2, 3}, pw[3] = {1, 2, 3}, g[3] = {0.3f, -0.2f, 0.1f};
    float ma[3] = {0}, va[3] = {0}, mw[3] = {0}, vw[3] = {0};
    for (long t = 0; t < 3; t++) {
        cl_optim_step(&a, a.lr, pa, g, ma, va, 3, t, NULL, 0);
        cl_optim_step(&w, w.lr, pw, g, mw, vw, 3, t, NULL, 0);
    }
    cr_assert_eq(memcmp(pa, pw, sizeof pa), 0);
}

Test(schedule, constant_is_the_base_lr_exactly)
{
    cl_schedule s = {CL_SCHEDULE_CONSTANT, 1e-3f, 10, 0.1, 100, 3};
    for (long k = 0; k < 300; k += 37) cr_assert_eq(cl_schedule_lr(&s, k), 1e-3f);
}

Test(schedule, cosine_warms_up_then_decays_to_the_floor)
{
    cl_schedule s = {CL_SCHEDULE_COSINE, 1.0f, 4, 0.1, 11, 2}; /* 22 steps: 4 warm, 18 cosine */
    cr_assert_float_eq(cl_schedule_lr(&s, 0), 0.25, 1e-7);
    cr_assert_float_eq(cl_schedule_lr(&s, 3), 1.0, 1e-7);
    cr_assert_float_eq(cl_schedule_lr(&s, 4), 1.0, 1e-7);   /* cosine starts at the peak */
    cr_assert_float_eq(cl_schedule_lr(&s, 21), 0.1, 1e-7);  /* and ends at min_lr */
    /* halfway through the 18 cosine steps (k - 4 = 8.5 of 17): (1 + 0.1) / 2 */
    double mid = 0.1 + 0.9 * 0.5 * (1 + cos(3.14159265358979323846 * 8.0 / 17.0));
    cr_assert_float_eq(cl_schedule_lr(&s, 12), mid, 1e-6);
    cr_assert_eq(cl_schedule_parse("cosine"), CL_SCHEDULE_COSINE);
    cr_assert_eq(cl_schedule_parse("linear"), -1);
}

Test(schedule, rewarm_restarts_at_every_task)
{
    cl_schedule s = {CL_SCHEDULE_REWARM, 2.0f, 2, 0.0, 10, 3};
    for (int t = 0; t < 3; t++) {
        cr_assert_float_eq(cl_schedule_lr(&s, t * 10 + 0), 1.0, 1e-7, "task %d", t);
        cr_assert_float_eq(cl_schedule_lr(&s, t * 10 + 2), 2.0, 1e-7, "task %d", t);
        cr_assert_float_eq(cl_schedule_lr(&s, t * 10 + 9), 0.0, 1e-7, "task %d", t);
    }
}

/* ---- model.net in configs ------------------------------------------------------- */

Test(net, config_switches_the_model_table)
{
    cl_config *c;
    cr_assert_eq(cl_config_new(&c, "seq-tasks", CL_SCENARIO_CLASS, "naive", 0), 0);
    cr_assert_eq(c->net, &cl_net_mlp);
    cr_assert_eq(cl_config_set(c, "model.layers", "3"), CL_EINVAL); /* not an mlp parameter */
    cr_assert_eq(cl_config_set(c, "model.net", "gpt"), 0);
    cr_assert_eq(c->net, &cl_net_gpt);
    cr_assert_eq(cl_config_set(c, "model.layers", "3"), 0);
    cr_assert_eq(cl_config_set(c, "model.net", "rnn"), CL_EINVAL);
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_config_yaml(c, &b);
    cr_assert(strstr(b.s, "\nmodel:\n  net: gpt\n  layers: 3\n"), "%s", b.s);
    cl_strbuf_release(&b);
    /* A value set for one net that the other lacks is an error, not lost. */
    cr_assert_eq(cl_config_set(c, "model.net", "mlp"), CL_EINVAL);
    cr_assert(strstr(cl_error_last(), "model.layers"), "%s", cl_error_last());
    cl_config_free(c);
}

Test(net, gpt_on_a_classifier_suite_is_one_clear_error)
{
    char dir[256];
    cl_test_tmpdir_new(dir, sizeof dir, "netcli");
    cl_test_result r;
    cl_test_run_cli(&r, dir, "--suite seq-tasks --set model.net=gpt --set train.steps=2 --out %s/o",
                    dir);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "gpt"), "%s", r.err);
    cr_assert_eq(cl_test_count_char(r.err, '\n'), 1, "%s", r.err);
    cl_test_result_free(&r);
    cl_test_tmpdir_remove(dir);
}

/* ---- generation ------------------------------------------------------------------ */

/* A gpt trained to memorise a short cycle continues it greedily; through
 * a saved file, `clbench sample` prints the same continuation. */
Test(net, generate_continues_a_memorised_cycle, .timeout = 120)
{
    const char *cycle = "abcdefgh";
    int T = 8, n = 8;
    cl_net *net = small_gpt(T, 4, &ADAMW);
    net->lr = 1e-2f;
    float *x = windows(cycle, n, T);
    double loss = 0;
    for (int s = 0; s < 300; s++) loss = lm_step(net, x, n);
    cr_assert_lt(loss, 0.05, "did not memorise: loss %g", loss);
    unsigned char out[12];
    cr_assert_eq(cl_generate(net, (const unsigned char *)"cde", 3, sizeof out, 0.0, NULL, out), 0);
    cr_assert_eq(memcmp(out, "fghabcdefgha", sizeof out), 0, "got '%.12s'", out);
    /* Sampling is reproducible from its seed. */
    unsigned char s1[20], s2[20];
    gsl_rng *r1, *r2;
    cr_assert_eq(cl_rng_new(&r1, 9, CL_RNG_STRATEGY), 0);
    cr_assert_eq(cl_rng_new(&r2, 9, CL_RNG_STRATEGY), 0);
    cr_assert_eq(cl_generate(net, (const unsigned char *)"a", 1, 20, 1.5, r1, s1), 0);
    cr_assert_eq(cl_generate(net, (const unsigned char *)"a", 1, 20, 1.5, r2, s2), 0);
    cr_assert_eq(memcmp(s1, s2, 20), 0);
    gsl_rng_free(r1);
    gsl_rng_free(r2);

    char dir[256], path[300];
    cl_test_tmpdir_new(dir, sizeof dir, "sample");
    snprintf(path, sizeof path, "%s/net.bin", dir);
    cr_assert_eq(cl_net_save(net, path), 0);
    cl_test_result r;
    cl_test_run_cli(&r, dir, "sample %s --prompt cde --bytes 12", path);
    cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
    cr_assert_str_eq(r.out, "cdefghabcdefgha\n");
    cl_test_result_free(&r);
    cl_test_run_cli(&r, dir, "sample %s --temperature -1", path);
    cr_assert_eq(r.code, 2);
    cr_assert(strstr(r.err, "--temperature"), "%s", r.err);
    cl_test_result_free(&r);
    cl_test_spit(path, "not a net\n");
    cl_test_run_cli(&r, dir, "sample %s", path);
    cr_assert_eq(r.code, 2);
    cr_assert_eq(cl_test_count_char(r.err, '\n'), 1, "%s", r.err);
    cl_test_result_free(&r);
    cl_test_tmpdir_remove(dir);
    free(x);
    cl_net_free(net);
}

Test(net, generate_refuses_a_features_net)
{
    cl_net *n = small_mlp();
    unsigned char out[4];
    cr_assert_eq(cl_generate(n, (const unsigned char *)"a", 1, 4, 0.0, NULL, out), CL_EINVAL);
    cl_net_free(n);
}
