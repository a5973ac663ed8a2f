#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <cblas.h>
#include "clbench/store/ckpt.h"
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/base/rng.h"
#include "clbench/run/pretrain.h"
#include "clbench/run/runner.h"

#define EVAL_CHUNK 256
/* Windows per forward pass when a text run evaluates: a token network's
 * rows are positions, EVAL_CHUNK windows would be 16k rows. */
#define TEXT_CHUNK 32

long cl_peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return ru.ru_maxrss * 1024L;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Everything one run holds while it executes. */
typedef struct run {
    const cl_config *cfg;
    const cl_run_opts *opts;
    cl_run_result *res;
    cl_suite *suite;
    cl_net *net;
    cl_schedule sched;
    const cl_strategy_ops *ops;
    void *ctx;
    gsl_rng *rng_suite, *rng_init, *rng_data, *rng_strat;
    float *xb;      /* (B, d) gathered training batch */
    int *yb;        /* (B) */
    int *order;     /* (max n_train) sample order of the current task */
    int order_pos;
    float *xe;      /* (EVAL_CHUNK, d) test inputs decoded from bytes */
    float *logits;  /* (EVAL_CHUNK rows, n_classes) predict output */
    double *accs;   /* (T) one evaluation of every task */
    double t0;
    int chunk;      /* samples per evaluation pass */
    long *task_steps; /* (T) training steps of each task */
    /* Text suites only. */
    cl_net *frozen;    /* the network the stream starts from, never trained */
    int *labels;       /* (chunk * ctx) next bytes of the windows scored */
    double *row_bits;  /* (chunk * ctx) bits of each predicted byte */
    unsigned char *row_hit; /* (chunk * ctx) argmax was the byte */
    float *px;         /* (chunk, ctx + 1) probe windows */
    long *task_byte0;  /* (T) stream bytes read when each task began */
    unsigned char *probed; /* (n_facts, n_delays) probe taken */
    gsl_rng *rng_pre;  /* pretraining's shuffles: its own stream, so a cached
                          pretraining leaves every other draw as it was */
    double train_t0;   /* when the current task's training began */
} run;

static const unsigned char *task_mask(const run *r, int t)
{
    return r->suite->scenario == CL_SCENARIO_TASK ? r->suite->tasks[t].classes : NULL;
}

/* Logits of batch b from the strategy's predictor, or the network's
 * forward pass without a predict op. */
static int predict(run *r, const cl_batch *b, const float **logits)
{
    if (!r->ops->predict) return cl_net_forward(r->net, b->x, b->n, logits);
    *logits = r->logits;
    return r->ops->predict(r->ctx, r->net, b, r->logits);
}

/* Bits of the ctx bytes each of the n windows x (n, ctx + 1) predicts,
 * through the strategy's predictor, or through `net` alone when net is not
 * NULL; per byte into r->row_bits and r->row_hit. */
static int window_bits(run *r, cl_net *net, const float *x, int n, int task, int anytime,
                       double *bits)
{
    int ctx = r->res->ctx, C = r->suite->n_classes;
    for (int s = 0; s < n; s++)
        for (int i = 0; i < ctx; i++)
            r->labels[(size_t)s * ctx + i] = (int)x[(size_t)s * (ctx + 1) + i + 1];
    cl_batch b = {x, NULL, n, ctx + 1, task, C, NULL, anytime};
    const float *logits;
    int rc = net ? cl_net_forward(net, x, n, &logits) : predict(r, &b, &logits);
    if (rc) return rc;
    *bits = cl_loss_bits(logits, r->labels, n * ctx, C, r->row_bits, r->row_hit);
    return 0;
}

/* Bits per byte of the current predictor on the first `limit` test
 * windows of text task t (0 = all). */
static int eval_text(run *r, int t, int limit, int anytime, double *bpb)
{
    const cl_task *k = &r->suite->tasks[t];
    int n = (limit > 0 && limit < k->n_test) ? limit : k->n_test;
    double sum = 0;
    for (int i0 = 0; i0 < n; i0 += r->chunk) {
        int m = n - i0 < r->chunk ? n - i0 : r->chunk;
        double bits;
        int rc = window_bits(r, NULL, cl_task_view(k, 1, i0, m, r->xe), m, t, anytime, &bits);
        if (rc) return rc;
        sum += bits;
    }
    *bpb = sum / ((double)n * r->res->ctx);
    return 0;
}

/* Accuracy (and stale-answer rate) of the current predictor on the first
 * `limit` test samples of task t (0 = all); bits per byte for a text task. */
static int eval_task(run *r, int t, int limit, int anytime, double *acc, double *stale)
{
    if (r->suite->text) {
        if (stale) *stale = NAN;
        return eval_text(r, t, limit, anytime, acc);
    }
    const cl_task *k = &r->suite->tasks[t];
    int n = (limit > 0 && limit < k->n_test) ? limit : k->n_test;
    int C = r->suite->n_classes, d = r->suite->d;
    long correct = 0, stale_hits = 0, stale_n = 0;
    for (int i0 = 0; i0 < n; i0 += EVAL_CHUNK) {
        int m = n - i0 < EVAL_CHUNK ? n - i0 : EVAL_CHUNK;
        cl_batch b = {cl_task_view(k, 1, i0, m, r->xe), k->test_y + i0, m, d, t, C,
                      task_mask(r, t), anytime};
        const float *logits;
        int rc = predict(r, &b, &logits);
        if (rc) return rc;
        for (int i = 0; i < m; i++) {
            int pred = cl_argmax(logits + (size_t)i * C, C, b.mask);
            correct += pred == b.y[i];
            if (k->test_stale_y && k->test_stale_y[i0 + i] >= 0) {
                stale_n++;
                stale_hits += pred == k->test_stale_y[i0 + i];
            }
        }
    }
    *acc = n ? (double)correct / n : NAN;
    if (stale) *stale = stale_n ? (double)stale_hits / stale_n : NAN;
    return 0;
}

/* Evaluates every task; fills accs (T) and, with a row index, R and stale. */
static int eval_all(run *r, int limit, int row)
{
    double t0 = now_s(), f0 = r->net->flops;
    int T = r->suite->n_tasks;
    for (int j = 0; j < T; j++) {
        double st = NAN;
        int rc = eval_task(r, j, limit, row < 0, &r->accs[j], &st);
        if (rc) return rc;
        if (row >= 0) {
            r->res->R[(size_t)row * T + j] = r->accs[j];
            if (r->res->stale) r->res->stale[(size_t)row * T + j] = st;
        }
    }
    r->res->eval_s += now_s() - t0;
    r->res->eval_flops += r->net->flops - f0;
    return 0;
}

static int curve_point(run *r, long step, int stage)
{
    int rc = eval_all(r, (int)cl_params_int(r->cfg->train, "curve_samples"), -1);
    if (rc) return rc;
    return cl_curve_add(&r->res->curve, step, stage, r->accs);
}

/* Next B sample indices of task k: successive shuffled passes over its data,
 * so epochs and steps are the same stream. */
static void next_batch(run *r, const cl_task *k, int B)
{
    int d = r->suite->d;
    for (int i = 0; i < B; i++) {
        if (r->order_pos == k->n_train) {
            cl_rng_shuffle(r->rng_data, r->order, k->n_train);
            r->order_pos = 0;
        }
        int s = r->order[r->order_pos++];
        cl_task_rows(k, 0, s, 1, r->xb + (size_t)i * d);
        r->yb[i] = k->train_y[s];
    }
}

static void report_progress(run *r, int t, long step, long steps)
{
    if (!r->opts || !r->opts->progress) return;
    cl_progress p = {t, r->suite->n_tasks, step, steps, now_s() - r->t0, 0, 0, NAN, NAN};
    const cl_text_result *x = r->res->text;
    if (x) {
        p.bytes = x->bytes_read;
        for (int j = r->suite->pretrain; j < r->suite->n_tasks; j++)
            p.bytes_total += r->task_steps[j] * r->res->batch_size * r->res->ctx;
        double bits = 0;
        long n = 0;
        for (int j = 0; j < r->suite->n_tasks; j++) bits += x->preq_bits[j], n += x->preq_bytes[j];
        p.bpb = n ? bits / (double)n : NAN;
        double el = now_s() - r->train_t0;
        p.tokens_per_s = el > 0 ? (double)(step * r->res->batch_size * r->res->ctx) / el : NAN;
    }
    r->opts->progress(r->opts->user, &p);
}

/* ---- text streams ------------------------------------------------------- */

/* Probes the n facts idx (n <= chunk) at delay index d with the current
 * predictor: bits of the value's bytes after the prompt, and whether every
 * one of them is the argmax (then greedy decoding from the prompt writes
 * exactly the value). */
static int probe_some(run *r, const int *idx, int n, int d, int task)
{
    int ctx = r->res->ctx, off[2][TEXT_CHUNK];
    cl_probe p[TEXT_CHUNK];
    for (int pass = 0; pass < 2; pass++) {
        int fit = 0;
        for (int i = 0; i < n; i++) {
            off[pass][i] = cl_text_probe_window(r->px + (size_t)i * (ctx + 1), ctx,
                                                &r->suite->facts[idx[i]], pass);
            fit |= off[pass][i] >= 0;
            if (off[pass][i] < 0) cl_text_probe_window(r->px + (size_t)i * (ctx + 1), ctx,
                                                       &r->suite->facts[idx[i]], 0);
        }
        double total;
        int rc = fit ? window_bits(r, NULL, r->px, n, task, 0, &total) : 0;
        if (rc) return rc;
        for (int i = 0; i < n; i++) {
            const cl_fact *f = &r->suite->facts[idx[i]];
            double bits = NAN;
            int exact = 0, o = off[pass][i];
            if (o >= 0)
                cl_text_value_score(r->row_bits + (size_t)i * ctx, r->row_hit + (size_t)i * ctx, o,
                                    (int)strlen(f->value), &bits, &exact);
            if (pass == 0) {
                long end = r->task_byte0[f->task] + (long)f->end;
                p[i] = (cl_probe){idx[i], d, d < 0 ? 0 : r->res->text->bytes_read - end, bits, exact,
                                  NAN, 0};
            } else if (o >= 0) {
                p[i].ctx_bits = bits;
                p[i].ctx_exact = exact;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        int rc = cl_text_add_probe(r->res->text, &p[i]);
        if (rc) return rc;
    }
    return 0;
}

/* Probes every fact that is due: at d = -1 the facts of task t as it
 * begins (before = 1), else each fact the first time the bytes read since
 * its last copy reach a delay. */
static int probe_due(run *r, int t, int before)
{
    cl_text_result *x = r->res->text;
    int idx[TEXT_CHUNK], n = 0, nd = x->n_delays;
    for (int d = before ? -1 : 0; d < (before ? 0 : nd); d++) {
        for (int f = 0; f < r->suite->n_facts; f++) {
            const cl_fact *k = &r->suite->facts[f];
            if (before ? k->task != t : k->task > t || r->probed[(size_t)f * nd + d]) continue;
            if (!before && x->bytes_read - (r->task_byte0[k->task] + (long)k->end) < x->delays[d])
                continue;
            if (!before) r->probed[(size_t)f * nd + d] = 1;
            idx[n++] = f;
            if (n == r->chunk) {
                int rc = probe_some(r, idx, n, d, t);
                if (rc) return rc;
                n = 0;
            }
        }
        if (n) {
            int rc = probe_some(r, idx, n, d, t);
            if (rc) return rc;
            n = 0;
        }
    }
    return 0;
}

/* The step's windows scored before the update on them: by the current
 * predictor and by the frozen network. */
static int score_step(run *r, const cl_batch *b, int t, long step)
{
    double bits, frozen;
    double f0 = r->frozen->flops;
    int rc = window_bits(r, NULL, b->x, b->n, t, 0, &bits);
    if (rc == 0) rc = window_bits(r, r->frozen, b->x, b->n, t, 0, &frozen);
    if (rc) return rc;
    r->res->eval_flops += r->frozen->flops - f0;
    cl_text_result *x = r->res->text;
    long n = (long)b->n * r->res->ctx;
    x->preq_bits[t] += bits;
    x->frozen_bits[t] += frozen;
    x->preq_bytes[t] += n;
    cl_preq_point p = {step, x->bytes_read + n, t, bits, frozen, n};
    return cl_text_add_point(x, &p);
}

/* Training of task t. Returns CL_EDIVERGED (message set) on a bad loss. */
static int train_task(run *r, int t, long *global_step)
{
    cl_run_result *res = r->res;
    const cl_task *k = &r->suite->tasks[t];
    int B = res->batch_size;
    long eval_every = cl_params_int(r->cfg->train, "eval_every");
    if (cl_params_bool(r->cfg->train, "reset_optim")) cl_net_reset_optim(r->net);
    for (int i = 0; i < k->n_train; i++) r->order[i] = i;
    r->order_pos = k->n_train; /* forces a shuffle before the first batch */

    int text = r->suite->text, rc = 0;
    cl_text_result *x = res->text;
    if (text) {
        r->task_byte0[t] = x->bytes_read;
        double e0 = now_s(), g0 = r->net->flops;
        rc = probe_due(r, t, 1);
        res->eval_s += now_s() - e0;
        res->eval_flops += r->net->flops - g0;
    }
    double t0 = now_s(), f0 = r->net->flops;
    r->train_t0 = t0;
    if (rc == 0 && r->ops->task_begin) rc = r->ops->task_begin(r->ctx, r->net, k);
    cl_batch b = {r->xb, text ? NULL : r->yb, B, r->suite->d, t, r->suite->n_classes,
                  task_mask(r, t), 0};
    long steps = r->task_steps[t];
    long every = steps / 100 > 0 ? steps / 100 : 1;
    for (long s = 0; rc == 0 && s < steps; s++) {
        if (text) {
            /* A stream is read in order, once: step s reads windows
             * [s B, s B + B), scored before the update on them. */
            cl_task_rows(k, 0, (int)(s * B), B, r->xb);
            double e0 = now_s(), g0 = r->net->flops;
            rc = score_step(r, &b, t, *global_step);
            res->eval_s += now_s() - e0;
            res->eval_flops += r->net->flops - g0;
            t0 += now_s() - e0;
            f0 += r->net->flops - g0;
            if (rc) break;
        } else {
            next_batch(r, k, B);
        }
        r->net->lr = cl_schedule_lr(&r->sched, *global_step);
        rc = r->ops->observe(r->ctx, r->net, &b);
        ++*global_step;
        if (rc == 0 && text) {
            x->bytes_read += (long)B * res->ctx;
            double e0 = now_s(), g0 = r->net->flops;
            rc = probe_due(r, t, 0);
            res->eval_s += now_s() - e0;
            res->eval_flops += r->net->flops - g0;
            t0 += now_s() - e0;
            f0 += r->net->flops - g0;
        }
        if (rc == 0 && eval_every > 0 && *global_step % eval_every == 0 && s + 1 < steps) {
            res->train_s += now_s() - t0;
            res->train_flops += r->net->flops - f0;
            rc = curve_point(r, *global_step, t);
            t0 = now_s();
            f0 = r->net->flops;
        }
        if (s % every == 0) report_progress(r, t, s, steps);
    }
    if (rc == 0 && r->ops->task_end) rc = r->ops->task_end(r->ctx, r->net, k);
    res->train_s += now_s() - t0;
    res->train_flops += r->net->flops - f0;
    return rc;
}

/* Pretraining of task 0 of a text suite: plain steps on shuffled windows
 * (warmup then cosine decay over the pretraining steps) from the
 * network's init, or the cached result of exactly that. Either way the
 * network, its FLOP counter and every RNG but rng_pre end as they were
 * plus the pretrained parameters, so a cached and a fresh run are the
 * same run. The strategy then sees the task's boundaries (task_begin,
 * task_end: EWC's Fisher at the pretrained weights, sleep's teacher) but
 * none of its steps; the optimiser starts the stream afresh. */
static int pretrain(run *r, int t)
{
    cl_run_result *res = r->res;
    const cl_task *k = &r->suite->tasks[t];
    cl_text_result *x = res->text;
    int B = res->batch_size;
    long steps = r->suite->pretrain_steps > 0 ? r->suite->pretrain_steps : k->n_train / B;
    if (steps < 1) steps = 1;
    x->pretrain_steps = steps;
    const char *dir = r->opts ? r->opts->cache_dir : NULL;
    uint64_t key = cl_pretrain_key(r->cfg, k, steps);
    double t0 = now_s(), f0 = r->net->flops, spent = 0;
    int rc = 0;
    if (dir && cl_pretrain_load(dir, key, r->net, &spent) == 0) {
        x->pretrain_cached = 1;
        cl_strbuf_printf(&res->log, "pretraining: %ld steps, from the cache (%016llx)\n", steps,
                         (unsigned long long)key);
    } else {
        cl_schedule sc = {CL_SCHEDULE_COSINE, (float)cl_params_float(r->cfg->train, "lr"),
                          steps / 10 < 100 ? steps / 10 : 100, 0.1, steps, 1};
        cl_batch b = {r->xb, NULL, B, r->suite->d, t, r->suite->n_classes, NULL, 0};
        for (int i = 0; i < k->n_train; i++) r->order[i] = i;
        r->order_pos = k->n_train;
        long every = steps / 100 > 0 ? steps / 100 : 1;
        for (long s = 0; rc == 0 && s < steps; s++) {
            for (int i = 0; i < B; i++) {
                if (r->order_pos == k->n_train) {
                    cl_rng_shuffle(r->rng_pre, r->order, k->n_train);
                    r->order_pos = 0;
                }
                cl_task_rows(k, 0, r->order[r->order_pos++], 1, r->xb + (size_t)i * r->suite->d);
            }
            r->net->lr = cl_schedule_lr(&sc, s);
            rc = cl_strategy_sgd_step(r->net, &b);
            if (s % every == 0) report_progress(r, t, s, steps);
        }
        spent = r->net->flops - f0;
        if (rc == 0 && dir) rc = cl_pretrain_save(dir, key, r->net, spent);
        cl_strbuf_printf(&res->log, "pretraining: %ld steps in %.2f s%s\n", steps, now_s() - t0,
                         dir ? ", cached" : "");
    }
    r->net->flops = f0;
    x->pretrain_flops = spent;
    cl_net_reset_optim(r->net);
    if (rc == 0 && r->ops->task_begin) rc = r->ops->task_begin(r->ctx, r->net, k);
    /* The pretraining windows in reading order, B at a time. */
    cl_batch b = {r->xb, NULL, B, r->suite->d, t, r->suite->n_classes, NULL, 0};
    for (int i0 = 0; rc == 0 && r->ops->absorb && i0 + B <= k->n_train; i0 += B) {
        cl_task_rows(k, 0, i0, B, r->xb);
        rc = r->ops->absorb(r->ctx, r->net, &b);
    }
    if (rc == 0 && r->ops->task_end) rc = r->ops->task_end(r->ctx, r->net, k);
    return rc;
}

/* Row t + 1 of R, then the task's last curve point: after task_end, so
 * consolidation at the boundary (sleep, Fisher) shows in the curve as in
 * R. Without a predict op the curve point on curve_samples covering every
 * test set is that same row, so it is copied rather than computed again. */
static int task_end_evals(run *r, int t, long global_step)
{
    int rc = eval_all(r, 0, t + 1);
    if (rc) return rc;
    long limit = cl_params_int(r->cfg->train, "curve_samples");
    int covers = 1;
    for (int j = 0; j < r->suite->n_tasks; j++)
        if (limit > 0 && r->suite->tasks[j].n_test > limit) covers = 0;
    if (r->ops->predict || !covers) return curve_point(r, global_step, t);
    return cl_curve_add(&r->res->curve, global_step, t, r->accs);
}

/* What a text run holds beyond a classifier run. The frozen network is
 * cloned after pretraining (restore_frozen, or when the stream begins). */
static int setup_text(run *r)
{
    const cl_suite *s = r->suite;
    cl_run_result *res = r->res;
    int T = s->n_tasks, rows = r->chunk * res->ctx, nf = s->n_facts ? s->n_facts : 1;
    int rc = cl_text_result_new(&res->text, T, s->probe_delays, s->n_delays);
    if (rc) return rc;
    res->pretrain = s->pretrain;
    res->names = calloc((size_t)T, sizeof *res->names);
    res->facts = malloc((size_t)nf * sizeof *res->facts);
    r->labels = malloc((size_t)rows * sizeof *r->labels);
    r->row_bits = malloc((size_t)rows * sizeof *r->row_bits);
    r->row_hit = malloc((size_t)rows);
    r->px = malloc((size_t)r->chunk * s->d * sizeof *r->px);
    r->task_byte0 = calloc((size_t)T, sizeof *r->task_byte0);
    r->probed = calloc((size_t)nf * (s->n_delays ? s->n_delays : 1), 1);
    if (!res->names || !res->facts || !r->labels || !r->row_bits || !r->row_hit || !r->px ||
        !r->task_byte0 || !r->probed)
        return cl_error_set(CL_ENOMEM, "out of memory setting up the text run");
    for (int t = 0; t < T; t++) snprintf(res->names[t], sizeof res->names[t], "%s", s->tasks[t].name);
    if (s->n_facts) memcpy(res->facts, s->facts, (size_t)s->n_facts * sizeof *s->facts);
    res->n_facts = s->n_facts;
    return 0;
}

static int setup(run *r)
{
    const cl_config *cfg = r->cfg;
    cl_run_result *res = r->res;
    int rc;
    if ((rc = cl_rng_new(&r->rng_suite, cfg->seed, CL_RNG_SUITE)) ||
        (rc = cl_rng_new(&r->rng_init, cfg->seed, CL_RNG_INIT)) ||
        (rc = cl_rng_new(&r->rng_data, cfg->seed, CL_RNG_DATA)) ||
        (rc = cl_rng_new(&r->rng_strat, cfg->seed, CL_RNG_STRATEGY)))
        return rc;
    rc = cfg->family->build(&r->suite, cfg->suite, cfg->suite_p, cfg->scenario,
                            cfg->data_dir[0] ? cfg->data_dir : NULL, r->rng_suite);
    if (rc == 0 && r->opts && r->opts->suite_built)
        rc = r->opts->suite_built(r->opts->user, r->suite);
    if (rc) return rc;
    cl_suite *s = r->suite;
    int tokens = cfg->net->input == CL_NET_TOKENS;
    if (s->text && !tokens)
        return cl_error_set(CL_EINVAL, "suite %s is a byte stream for a token network; the %s "
                            "network reads features (set model.net=gpt)", s->name, cfg->net->name);
    if (s->text) {
        /* Token networks name their context `ctx` (the window is ctx + 1). */
        res->ctx = (int)cl_params_int(cfg->model, "ctx");
        if ((rc = cl_suite_cut_windows(s, res->ctx))) return rc;
        if ((rc = cl_rng_new(&r->rng_pre, cfg->seed, CL_RNG_PRETRAIN))) return rc;
    }
    cl_optim_config opt;
    cl_config_optim(cfg, &opt);
    rc = cl_net_new(&r->net, cfg->net, cfg->model, s->d, s->n_classes, &opt, r->rng_init);
    if (rc) return rc;

    int T = s->n_tasks, max_train = 1;
    bool stale = false;
    for (int t = 0; t < T; t++) {
        if (s->tasks[t].n_train > max_train) max_train = s->tasks[t].n_train;
        stale = stale || s->tasks[t].test_stale_y;
        if (s->tasks[t].n_train < 1 || s->tasks[t].n_test < 1)
            return cl_error_set(CL_EINVAL, "suite %s: task %d has no training or test samples",
                                s->name, t + 1);
    }
    res->T = T;
    res->d = s->d;
    res->n_classes = s->n_classes;
    res->n_params = r->net->n_params;
    res->batch_size = (int)cl_params_int(cfg->train, "batch_size");
    long epochs = cl_params_int(cfg->train, "epochs");
    /* Epochs count passes over the first task's size; equal-size tasks are
     * the norm, and one length for every task keeps curves aligned. */
    res->steps_per_task = epochs > 0
        ? epochs * ((s->tasks[0].n_train + res->batch_size - 1) / res->batch_size)
        : cl_params_int(cfg->train, "steps");
    r->task_steps = malloc((size_t)T * sizeof *r->task_steps);
    if (!r->task_steps) return cl_error_set(CL_ENOMEM, "out of memory");
    if (s->text) res->steps_per_task = 1;
    for (int t = 0; t < T; t++) {
        /* A text stream is read once in B-window steps; the windows of
         * the last partial step are left unread. */
        r->task_steps[t] = s->text ? s->tasks[t].n_train / res->batch_size : res->steps_per_task;
        if (s->text && t >= s->pretrain && r->task_steps[t] < 1)
            return cl_error_set(CL_EINVAL, "suite %s: task %d (%s) has %d windows, fewer than a "
                                "batch of %d", s->name, t + 1, s->tasks[t].name,
                                s->tasks[t].n_train, res->batch_size);
        if (s->text && t >= s->pretrain && r->task_steps[t] > res->steps_per_task)
            res->steps_per_task = r->task_steps[t];
    }
    snprintf(res->recipe, sizeof res->recipe, "%s", s->recipe);
    res->R = malloc((size_t)(T + 1) * T * sizeof *res->R);
    res->stale = stale ? malloc((size_t)(T + 1) * T * sizeof *res->stale) : NULL;
    r->xb = malloc((size_t)res->batch_size * s->d * sizeof *r->xb);
    r->yb = malloc((size_t)res->batch_size * sizeof *r->yb);
    r->order = malloc((size_t)max_train * sizeof *r->order);
    r->chunk = s->text ? TEXT_CHUNK : EVAL_CHUNK;
    int rows = cl_net_rows(r->net, r->chunk) > EVAL_CHUNK ? cl_net_rows(r->net, r->chunk) : EVAL_CHUNK;
    r->xe = malloc((size_t)r->chunk * s->d * sizeof *r->xe);
    r->logits = malloc((size_t)rows * s->n_classes * sizeof *r->logits);
    r->accs = malloc((size_t)T * sizeof *r->accs);
    if (!res->R || (stale && !res->stale) || !r->xb || !r->yb || !r->order || !r->xe ||
        !r->logits || !r->accs)
        return cl_error_set(CL_ENOMEM, "out of memory setting up the run");
    for (size_t i = 0; i < (size_t)(T + 1) * T; i++) {
        res->R[i] = NAN;
        if (res->stale) res->stale[i] = NAN;
    }
    if ((rc = cl_curve_init(&res->curve, T))) return rc;
    if (s->text && (rc = setup_text(r))) return rc;
    cl_config_schedule(cfg, res->steps_per_task, T, &r->sched);
    cl_strategy_env env = {cfg->scenario, T, s->n_classes, s->d};
    res->assumes = r->ops->assumes;
    return r->ops->create(&r->ctx, cfg->strat, &env, r->net, r->rng_strat);
}

static void teardown(run *r)
{
    if (r->ctx) r->ops->destroy(r->ctx);
    cl_net_free(r->net);
    cl_net_free(r->frozen);
    cl_suite_free(r->suite);
    gsl_rng_free(r->rng_pre);
    free(r->task_steps);
    free(r->labels);
    free(r->row_bits);
    free(r->row_hit);
    free(r->px);
    free(r->task_byte0);
    free(r->probed);
    gsl_rng_free(r->rng_suite);
    gsl_rng_free(r->rng_init);
    gsl_rng_free(r->rng_data);
    gsl_rng_free(r->rng_strat);
    free(r->xb);
    free(r->yb);
    free(r->order);
    free(r->xe);
    free(r->logits);
    free(r->accs);
}

static void log_row(run *r, const char *head, int row)
{
    int T = r->res->T;
    cl_strbuf_printf(&r->res->log, "%s:", head);
    for (int j = 0; j < T; j++) cl_strbuf_printf(&r->res->log, " %.4f", r->res->R[(size_t)row * T + j]);
    cl_strbuf_puts(&r->res->log, "\n");
}

/* ---- checkpoints ---------------------------------------------------------
 * What a run holds at a task boundary, beyond what the config rebuilds
 * (suite, shapes, buffers sized from it): the results so far, the network
 * and optimiser, the four RNG states, and the strategy's own state. The
 * order array needs no saving: every task starts from the identity and a
 * shuffle drawn from rng_data. Timings are saved so totals stay roughly
 * right, but they are the one thing a resumed run does not reproduce. */

static void save_meta(const run *r, cl_ckpt_writer *w, int done, long step)
{
    char id[256];
    cl_config_run_id(r->cfg, id, sizeof id);
    cl_ckpt_section(w, "META");
    cl_ckpt_put_str(w, id);
    cl_ckpt_put_str(w, "clbench " CL_VERSION " (" CL_GIT_REV ")");
    cl_ckpt_put_i64(w, r->res->T);
    cl_ckpt_put_i64(w, (int64_t)r->net->n_params);
    cl_ckpt_put_i64(w, done);
    cl_ckpt_put_i64(w, step);
}

static void save_results(const run *r, cl_ckpt_writer *w, double now)
{
    const cl_run_result *res = r->res;
    size_t cells = (size_t)(res->T + 1) * res->T;
    const cl_curve *c = &res->curve;
    cl_ckpt_section(w, "RSLT");
    cl_ckpt_put_f64s(w, res->R, cells);
    cl_ckpt_put_i64(w, res->stale != NULL);
    if (res->stale) cl_ckpt_put_f64s(w, res->stale, cells);
    cl_ckpt_put_i64(w, c->n);
    cl_ckpt_put_longs(w, c->step, (size_t)c->n);
    cl_ckpt_put_i32s(w, c->stage, (size_t)c->n);
    cl_ckpt_put_f64s(w, c->acc, (size_t)c->n * c->T);
    cl_ckpt_put_f64(w, res->train_flops);
    cl_ckpt_put_f64(w, res->eval_flops);
    cl_ckpt_put_f64(w, res->train_s);
    cl_ckpt_put_f64(w, res->eval_s);
    cl_ckpt_put_f64(w, now - r->t0);
    cl_ckpt_put_str(w, res->log.s ? res->log.s : "");
}

/* Not the gradients: every observe zeroes them before use. */
static void save_model(const cl_net *m, cl_ckpt_writer *w)
{
    cl_ckpt_section(w, "MODL");
    cl_ckpt_put_f32s(w, m->params, m->n_params);
    cl_ckpt_put_f32s(w, m->opt_m, m->n_params);
    cl_ckpt_put_f32s(w, m->opt_v, m->n_params);
    cl_ckpt_put_i64(w, m->opt_t);
    cl_ckpt_put_f64(w, m->flops);
}

static void save_rngs(const run *r, cl_ckpt_writer *w)
{
    gsl_rng *const rngs[] = {r->rng_suite, r->rng_init, r->rng_data, r->rng_strat};
    cl_ckpt_section(w, "RNGS");
    for (size_t i = 0; i < sizeof rngs / sizeof rngs[0]; i++) {
        cl_ckpt_put_str(w, gsl_rng_name(rngs[i]));
        cl_ckpt_put_bytes(w, gsl_rng_state(rngs[i]), gsl_rng_size(rngs[i]));
    }
}

/* A text run's records, the frozen network (once the stream began), the
 * bytes read at each task start and which probes were taken. */
static void save_stream(const run *r, cl_ckpt_writer *w)
{
    const cl_suite *s = r->suite;
    cl_text_save(r->res->text, w);
    cl_ckpt_section(w, "STRM");
    cl_ckpt_put_i64(w, r->frozen != NULL);
    if (r->frozen) cl_ckpt_put_f32s(w, r->frozen->params, r->frozen->n_params);
    cl_ckpt_put_longs(w, r->task_byte0, (size_t)s->n_tasks);
    cl_ckpt_put_bytes(w, r->probed, (size_t)s->n_facts * s->n_delays);
}

static int load_stream(run *r, cl_ckpt_reader *rd)
{
    const cl_suite *s = r->suite;
    int rc = cl_text_load(r->res->text, rd, s->n_facts), has = 0;
    if (rc == 0) rc = cl_ckpt_open(rd, "STRM");
    if (rc == 0) rc = cl_ckpt_get_int(rd, "the frozen flag", &has, 0, 1);
    if (rc == 0 && has) {
        rc = cl_net_clone(&r->frozen, r->net);
        if (rc == 0) rc = cl_ckpt_get_f32s(rd, r->frozen->params, r->frozen->n_params);
    }
    if (rc == 0) rc = cl_ckpt_get_longs(rd, r->task_byte0, (size_t)s->n_tasks);
    if (rc == 0) rc = cl_ckpt_get_bytes(rd, r->probed, (size_t)s->n_facts * s->n_delays);
    return rc ? rc : cl_ckpt_close(rd);
}

typedef struct ckpt_job {
    const run *r;
    int done;
    long step;
} ckpt_job;

/* The run's state after job->done tasks, streamed into sink (a
 * cl_ckpt_source). */
static int write_checkpoint(void *ctx, cl_ckpt_sink sink, void *user)
{
    const ckpt_job *j = ctx;
    const run *r = j->r;
    cl_ckpt_writer *w;
    int rc = cl_ckpt_writer_to(&w, sink, user);
    if (rc) return rc;
    save_meta(r, w, j->done, j->step);
    save_results(r, w, now_s());
    save_model(r->net, w);
    save_rngs(r, w);
    if (r->res->text) save_stream(r, w);
    cl_ckpt_section(w, "STRT");
    rc = r->ops->save(r->ctx, w);
    int frc = cl_ckpt_writer_finish(w, NULL, NULL);
    cl_ckpt_writer_free(w);
    return rc ? rc : frc;
}

/* Hands opts->checkpoint the means to write the state after `done` tasks. */
static int checkpoint(run *r, int done, long step)
{
    if (!r->opts || !r->opts->checkpoint || !r->ops->save || !r->ops->load) return 0;
    ckpt_job j = {r, done, step};
    return r->opts->checkpoint(r->opts->user, done, write_checkpoint, &j);
}

static int load_meta(run *r, cl_ckpt_reader *rd, int *done, long *step)
{
    char id[256], want[256], build[256];
    long T, n_params;
    int rc = cl_ckpt_open(rd, "META");
    if (rc == 0) rc = cl_ckpt_get_str(rd, id, sizeof id);
    if (rc == 0) rc = cl_ckpt_get_str(rd, build, sizeof build);
    if (rc) return rc;
    cl_config_run_id(r->cfg, want, sizeof want);
    if (strcmp(id, want) != 0)
        return cl_ckpt_error(rd, "it is a checkpoint of run %s, not of %s", id, want);
    /* Bit-identical results need the same code: refuse another build. */
    if (strcmp(build, "clbench " CL_VERSION " (" CL_GIT_REV ")") != 0)
        return cl_ckpt_error(rd, "written by %s, this is clbench " CL_VERSION " (" CL_GIT_REV ")",
                             build);
    if ((rc = cl_ckpt_get_long(rd, "the task count", &T, r->res->T, r->res->T)) ||
        (rc = cl_ckpt_get_long(rd, "the parameter count", &n_params, (long)r->net->n_params,
                               (long)r->net->n_params)) ||
        (rc = cl_ckpt_get_int(rd, "tasks done", done, 0, r->res->T)) ||
        (rc = cl_ckpt_get_long(rd, "the global step", step, 0, (long)*done * r->res->steps_per_task)))
        return rc;
    return cl_ckpt_close(rd);
}

static int load_curve(cl_curve *c, cl_ckpt_reader *rd, long max_points)
{
    long n;
    int rc = cl_ckpt_get_long(rd, "the curve length", &n, 0, max_points);
    if (rc) return rc;
    long *step = malloc(((size_t)n + 1) * sizeof *step);
    int *stage = malloc(((size_t)n + 1) * sizeof *stage);
    double *acc = malloc(((size_t)n * c->T + 1) * sizeof *acc);
    if (!step || !stage || !acc) rc = cl_error_set(CL_ENOMEM, "out of memory");
    if (rc == 0) rc = cl_ckpt_get_longs(rd, step, (size_t)n);
    if (rc == 0) rc = cl_ckpt_get_i32s(rd, stage, (size_t)n);
    if (rc == 0) rc = cl_ckpt_get_f64s(rd, acc, (size_t)n * c->T);
    for (long i = 0; rc == 0 && i < n; i++)
        rc = cl_curve_add(c, step[i], stage[i], acc + (size_t)i * c->T);
    free(step);
    free(stage);
    free(acc);
    return rc;
}

static int load_results(run *r, cl_ckpt_reader *rd)
{
    cl_run_result *res = r->res;
    size_t cells = (size_t)(res->T + 1) * res->T;
    int stale;
    double wall;
    const char *log;
    size_t log_len;
    int rc = cl_ckpt_open(rd, "RSLT");
    if (rc == 0) rc = cl_ckpt_get_f64s(rd, res->R, cells);
    if (rc == 0) rc = cl_ckpt_get_int(rd, "the stale flag", &stale, res->stale != NULL,
                                      res->stale != NULL);
    if (rc == 0 && stale) rc = cl_ckpt_get_f64s(rd, res->stale, cells);
    /* At most one point per step plus one per task. */
    if (rc == 0) rc = load_curve(&res->curve, rd, (long)res->T * (res->steps_per_task + 1));
    if (rc == 0) rc = cl_ckpt_get_f64(rd, &res->train_flops);
    if (rc == 0) rc = cl_ckpt_get_f64(rd, &res->eval_flops);
    if (rc == 0) rc = cl_ckpt_get_f64(rd, &res->train_s);
    if (rc == 0) rc = cl_ckpt_get_f64(rd, &res->eval_s);
    if (rc == 0) rc = cl_ckpt_get_f64(rd, &wall);
    if (rc == 0) rc = cl_ckpt_get_text(rd, &log, &log_len);
    if (rc) return rc;
    if (log_len > (size_t)INT32_MAX) return cl_ckpt_error(rd, "log of %zu bytes", log_len);
    cl_strbuf_printf(&res->log, "%.*s", (int)log_len, log);
    r->t0 = now_s() - (isfinite(wall) && wall > 0 ? wall : 0);
    return cl_ckpt_close(rd);
}

static int load_model(cl_net *m, cl_ckpt_reader *rd)
{
    int rc = cl_ckpt_open(rd, "MODL");
    if (rc == 0) rc = cl_ckpt_get_f32s(rd, m->params, m->n_params);
    if (rc == 0) rc = cl_ckpt_get_f32s(rd, m->opt_m, m->n_params);
    if (rc == 0) rc = cl_ckpt_get_f32s(rd, m->opt_v, m->n_params);
    if (rc == 0) rc = cl_ckpt_get_long(rd, "the optimiser step", &m->opt_t, 0, LONG_MAX);
    if (rc == 0) rc = cl_ckpt_get_f64(rd, &m->flops);
    return rc ? rc : cl_ckpt_close(rd);
}

static int load_rngs(run *r, cl_ckpt_reader *rd)
{
    gsl_rng *const rngs[] = {r->rng_suite, r->rng_init, r->rng_data, r->rng_strat};
    int rc = cl_ckpt_open(rd, "RNGS");
    for (size_t i = 0; rc == 0 && i < sizeof rngs / sizeof rngs[0]; i++) {
        char name[64];
        if ((rc = cl_ckpt_get_str(rd, name, sizeof name))) break;
        if (strcmp(name, gsl_rng_name(rngs[i])) != 0)
            return cl_ckpt_error(rd, "generator %zu is %s, expected %s", i, name,
                                 gsl_rng_name(rngs[i]));
        rc = cl_ckpt_get_bytes(rd, gsl_rng_state(rngs[i]), gsl_rng_size(rngs[i]));
    }
    return rc ? rc : cl_ckpt_close(rd);
}

/* Replaces the freshly set-up state with the checkpoint's; *done gets the
 * tasks it had finished and *step the global step. */
static int restore(run *r, int *done, long *step)
{
    const cl_run_opts *o = r->opts;
    if (!r->ops->save || !r->ops->load)
        return cl_error_set(CL_EINVAL, "strategy %s cannot resume from a checkpoint "
                                       "(it implements no save/load)", r->ops->name);
    cl_ckpt_reader *rd;
    int rc = cl_ckpt_reader_new(&rd, o->resume, o->resume_len,
                                o->resume_name ? o->resume_name : "checkpoint");
    if (rc) return rc;
    if ((rc = load_meta(r, rd, done, step)) == 0 && (rc = load_results(r, rd)) == 0 &&
        (rc = load_model(r->net, rd)) == 0 && (rc = load_rngs(r, rd)) == 0 &&
        (!r->res->text || (rc = load_stream(r, rd)) == 0) &&
        (rc = cl_ckpt_open(rd, "STRT")) == 0 &&
        (rc = r->ops->load(r->ctx, rd, r->suite->tasks)) == 0)
        rc = cl_ckpt_close(rd);
    cl_ckpt_reader_free(rd);
    return rc;
}

int cl_run_execute(cl_run_result **out, const cl_config *cfg, const cl_run_opts *opts)
{
    *out = NULL;
    int rc = cl_config_validate(cfg);
    if (rc) return rc;
    cl_run_result *res = calloc(1, sizeof *res);
    if (!res) return cl_error_set(CL_ENOMEM, "out of memory");
    cl_strbuf_init(&res->log);
    run r = {.cfg = cfg, .opts = opts, .res = res, .ops = cfg->ops, .t0 = now_s()};
    openblas_set_num_threads(cfg->threads);

    rc = setup(&r);
    long global_step = 0;
    int first = 0;
    if (rc == 0 && opts && opts->resume) {
        rc = restore(&r, &first, &global_step);
        if (opts->resume_done) opts->resume_done(opts->user);
        res->resumed_after = first;
        if (rc == 0) cl_strbuf_printf(&res->log, "resumed after task %d\n", first);
    } else if (rc == 0) {
        cl_strbuf_printf(&res->log, "suite %s (%s): %s\n", cfg->suite,
                         cl_scenario_name(cfg->scenario), res->recipe);
        cl_strbuf_printf(&res->log, "strategy %s, seed %lu, %zu parameters, %ld steps/task, batch %d\n",
                         cfg->strategy, cfg->seed, res->n_params, res->steps_per_task, res->batch_size);
        rc = eval_all(&r, 0, 0);
        if (rc == 0) log_row(&r, "untrained", 0);
    }
    for (int t = first; rc == 0 && t < res->T; t++) {
        double t0 = now_s();
        if (t < r.suite->pretrain) {
            rc = pretrain(&r, t);
        } else {
            /* The stream's frozen reference: the network it starts from. */
            if (r.suite->text && !r.frozen) rc = cl_net_clone(&r.frozen, r.net);
            if (rc == 0) rc = train_task(&r, t, &global_step);
        }
        if (rc == 0) rc = task_end_evals(&r, t, global_step);
        if (rc == 0) {
            char head[64];
            snprintf(head, sizeof head, "after task %d (%.2f s)", t + 1, now_s() - t0);
            log_row(&r, head, t + 1);
        }
        if (rc == 0 && t + 1 < res->T) rc = checkpoint(&r, t + 1, global_step);
    }
    if (rc == CL_EDIVERGED) {
        res->status = CL_RUN_DIVERGED;
        snprintf(res->reason, sizeof res->reason, "%s", cl_error_last());
        cl_strbuf_printf(&res->log, "diverged: %s\n", res->reason);
        rc = 0;
    }
    if (rc == 0) {
        if (r.ops->ledger) r.ops->ledger(r.ctx, &res->ledger);
        if (res->status == CL_RUN_OK) {
            if (res->text) cl_metrics_compute_bits(&res->metrics, res->R, res->T, &res->curve);
            else cl_metrics_compute(&res->metrics, res->R, res->T, &res->curve);
        } else {
            cl_metrics nan = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
            res->metrics = nan;
        }
        res->metrics.intransigence = NAN;
        res->wall_s = now_s() - r.t0;
        res->peak_rss_bytes = cl_peak_rss_bytes();
        rc = cl_strbuf_status(&res->log);
    }
    teardown(&r);
    if (rc) {
        cl_run_result_free(res);
        return rc;
    }
    *out = res;
    return 0;
}

void cl_run_result_free(cl_run_result *r)
{
    if (!r) return;
    free(r->R);
    free(r->stale);
    cl_curve_release(&r->curve);
    cl_strbuf_release(&r->log);
    cl_text_result_free(r->text);
    free(r->names);
    free(r->facts);
    free(r);
}
