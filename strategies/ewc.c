/* ewc: elastic weight consolidation (Kirkpatrick et al. 2017). At the end of
 * every task the diagonal Fisher F of that task's training data and the
 * weights theta* are stored; later steps add the quadratic penalty
 * lambda/2 sum_i F_i (theta_i - theta*_i)^2 to the cross-entropy, pulling
 * the weights that mattered for old tasks back towards their old values.
 *
 * Standard EWC keeps one (F, theta*) pair per task and sums one penalty per
 * pair, so its memory grows with the number of tasks. Online EWC (Schwarz
 * et al. 2018, "Progress & Compress") keeps a single running Fisher
 * F <- gamma F + F_new and only the latest anchor: constant memory.
 *
 * The Fisher comes from harness/nn/fisher.c (batched squared backward, no
 * per-sample loop); in the task scenario it uses the task's class mask, as
 * the task's softmax does. With more training samples than `samples`, the
 * subset is drawn from the strategy's own random stream. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/nn/fisher.h"
#include "clbench/strategies/strategy.h"
#include "clbench/base/hot.h"

static const cl_param_spec ewc_params[] = {
    /* Tuned on seq-tasks (3-5 seeds): task-scenario forgetting is ~0 for
     * any lambda >= 1e3; the domain scenario needs 2e4-3e4 to halve naive's
     * forgetting, beyond which learning accuracy drops with no gain. */
    {"lambda", CL_PARAM_FLOAT, "20000", 0, 1e12, NULL,
     "penalty strength (Fisher is a mean over samples); 2e4 tuned on seq-tasks"},
    {"online", CL_PARAM_BOOL, "false", 0, 0, NULL,
     "online EWC (Schwarz et al. 2018): one running Fisher and the latest anchor"},
    {"gamma", CL_PARAM_FLOAT, "1", 0, 1, NULL,
     "online only: decay of the old Fisher, F <- gamma F + F_new (1: no decay)"},
    {"fisher", CL_PARAM_CHOICE, "expected", 0, 0, CL_FISHER_CHOICES,
     "estimator: true labels (empirical), argmax labels (predicted) or the exact "
     "expectation over classes (expected)"},
    {"samples", CL_PARAM_INT, "1024", 0, 100000000, NULL,
     "training samples per Fisher estimate (0 or more than the task has: all of them, "
     "in order; fewer: a random subset from the strategy's stream)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* Tests read the stored pairs through this prefix without an accessor (as
 * replay's tests read its buffer): keep n_pairs, fisher and anchor first
 * and in this order. */
typedef struct ewc {
    int n_pairs;       /* (F, theta*) pairs held: tasks ended, or 1 online */
    float **fisher;    /* (n_pairs) each (n_params): F_t, or the running F */
    float **anchor;    /* (n_pairs) each (n_params): theta* after task t */
    int cap_pairs;     /* slots in fisher/anchor */
    gsl_rng *rng;      /* not owned */
    cl_scenario scenario;
    int d;
    size_t n_params;
    float lambda, gamma;
    bool online;
    cl_fisher_kind kind;
    int samples;
    double fisher_flops, penalty_flops;
} ewc;

static void ewc_destroy(void *ctx)
{
    ewc *e = ctx;
    if (!e) return;
    for (int i = 0; i < e->n_pairs; i++) {
        free(e->fisher[i]);
        free(e->anchor[i]);
    }
    free(e->fisher);
    free(e->anchor);
    free(e);
}

static int ewc_create(void **out, const cl_params *p, const cl_strategy_env *env,
                      const cl_net *net, gsl_rng *rng)
{
    *out = NULL;
    cl_fisher_kind kind;
    int rc = cl_fisher_kind_parse(&kind, cl_params_choice(p, "fisher"));
    if (rc) return rc;
    ewc *e = calloc(1, sizeof *e);
    if (!e) return cl_error_set(CL_ENOMEM, "out of memory");
    e->rng = rng;
    e->scenario = env->scenario;
    e->d = env->d;
    e->n_params = net->n_params;
    e->lambda = (float)cl_params_float(p, "lambda");
    e->gamma = (float)cl_params_float(p, "gamma");
    e->online = cl_params_bool(p, "online");
    e->kind = kind;
    e->samples = (int)cl_params_int(p, "samples");
    *out = e;
    return 0;
}

#define LANES 8
/* The penalty passes run every step over every weight: hot loops
 * (clbench/hot.h). */

/* grads += lambda F (theta - theta*) for one pair; returns
 * sum F (theta - theta*)^2. LANES independent partial sums let the
 * compiler vectorise the reduction without reassociating floats itself. */
CL_HOT static double penalty_pair(const float *restrict f, const float *restrict a,
                           const float *restrict p, float *restrict g, size_t n, float lam)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            float diff = p[i + k] - a[i + k];
            float fd = f[i + k] * diff;
            g[i + k] += lam * fd;
            acc[k] += fd * diff;
        }
    double sum = 0.0;
    for (; i < n; i++) {
        float diff = p[i] - a[i];
        float fd = f[i] * diff;
        g[i] += lam * fd;
        sum += fd * diff;
    }
    for (int k = 0; k < LANES; k++) sum += acc[k];
    return sum;
}

/* The same for two pairs in one pass over theta and the gradient (each
 * entry gets pair j's term, then pair k's, as two passes would add them:
 * the same bits), so standard EWC streams the weights and gradients once
 * per two tasks instead of once per task. */
CL_HOT static double penalty_two(const float *restrict fj, const float *restrict aj,
                          const float *restrict fk, const float *restrict ak,
                          const float *restrict p, float *restrict g, size_t n, float lam)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            float dj = p[i + l] - aj[i + l], dk = p[i + l] - ak[i + l];
            float fdj = fj[i + l] * dj, fdk = fk[i + l] * dk;
            float gi = g[i + l] + lam * fdj;
            g[i + l] = gi + lam * fdk;
            acc[l] += fdj * dj + fdk * dk;
        }
    double sum = 0.0;
    for (; i < n; i++) {
        float dj = p[i] - aj[i], dk = p[i] - ak[i];
        float fdj = fj[i] * dj, fdk = fk[i] * dk;
        float gi = g[i] + lam * fdj;
        g[i] = gi + lam * fdk;
        sum += fdj * dj + fdk * dk;
    }
    for (int l = 0; l < LANES; l++) sum += acc[l];
    return sum;
}

/* Adds the gradient of every pair's penalty, pairs in task order; returns
 * the penalty lambda/2 sum F (theta - theta*)^2 so a blow-up is caught as
 * divergence. */
static double add_penalty(ewc *e, cl_net *net)
{
    double pen = 0.0;
    int k = 0;
    for (; k + 1 < e->n_pairs; k += 2)
        pen += penalty_two(e->fisher[k], e->anchor[k], e->fisher[k + 1], e->anchor[k + 1],
                           net->params, net->grads, e->n_params, e->lambda);
    if (k < e->n_pairs)
        pen += penalty_pair(e->fisher[k], e->anchor[k], net->params, net->grads, e->n_params,
                            e->lambda);
    /* per entry: subtract, 3 multiplies, 2 adds */
    e->penalty_flops += 6.0 * (double)e->n_pairs * (double)e->n_params;
    return 0.5 * e->lambda * pen;
}

static int ewc_observe(void *ctx, cl_net *net, const cl_batch *b)
{
    ewc *e = ctx;
    cl_net_zero_grad(net);
    int rc = cl_strategy_add_ce_grad(net, b, 1.0f, NULL);
    if (rc) return rc;
    if (e->n_pairs > 0) {
        double pen = add_penalty(e, net);
        if (!isfinite(pen)) return cl_error_set(CL_EDIVERGED, "EWC penalty is %g", pen);
    }
    cl_net_step(net);
    return 0;
}

static int grow_pairs(ewc *e)
{
    if (e->n_pairs < e->cap_pairs) return 0;
    int cap = e->cap_pairs ? 2 * e->cap_pairs : 4;
    float **f = realloc(e->fisher, (size_t)cap * sizeof *f);
    if (!f) return cl_error_set(CL_ENOMEM, "out of memory");
    e->fisher = f;
    float **a = realloc(e->anchor, (size_t)cap * sizeof *a);
    if (!a) return cl_error_set(CL_ENOMEM, "out of memory");
    e->anchor = a;
    e->cap_pairs = cap;
    return 0;
}

/* Appends an uninitialised pair. */
static int new_pair(ewc *e)
{
    int rc = grow_pairs(e);
    if (rc) return rc;
    float *f = malloc(e->n_params * sizeof *f);
    float *a = malloc(e->n_params * sizeof *a);
    if (!f || !a) {
        free(f);
        free(a);
        return cl_error_set(CL_ENOMEM, "out of memory for an EWC Fisher and anchor");
    }
    e->fisher[e->n_pairs] = f;
    e->anchor[e->n_pairs] = a;
    e->n_pairs++;
    return 0;
}

static int estimate(ewc *e, cl_net *net, const cl_task *t, float *out)
{
    const unsigned char *mask = e->scenario == CL_SCENARIO_TASK ? t->classes : NULL;
    double flops = 0.0;
    int rc = cl_fisher_task(net, t, e->d, mask, e->kind, e->samples, e->rng, out, &flops);
    e->fisher_flops += flops;
    return rc;
}

/* Online: F <- gamma F + F_new. F_new lives only for the fold, so the held
 * memory stays one Fisher and one anchor. */
static int fold_online(ewc *e, cl_net *net, const cl_task *t)
{
    float *fnew = malloc(e->n_params * sizeof *fnew); /* (n_params) */
    if (!fnew) return cl_error_set(CL_ENOMEM, "out of memory for a Fisher estimate");
    int rc = estimate(e, net, t, fnew);
    if (rc == 0) {
        float *f = e->fisher[0], g = e->gamma;
        for (size_t i = 0; i < e->n_params; i++) f[i] = g * f[i] + fnew[i];
        e->fisher_flops += 2.0 * (double)e->n_params;
    }
    free(fnew);
    return rc;
}

static int ewc_task_end(void *ctx, cl_net *net, const cl_task *t)
{
    ewc *e = ctx;
    int rc;
    if (e->online && e->n_pairs == 1) {
        rc = fold_online(e, net, t);
    } else {
        if ((rc = new_pair(e))) return rc;
        rc = estimate(e, net, t, e->fisher[e->n_pairs - 1]);
    }
    if (rc) return rc;
    memcpy(e->anchor[e->n_pairs - 1], net->params, e->n_params * sizeof(float));
    return 0;
}

static void ewc_ledger(const void *ctx, cl_ledger *out)
{
    const ewc *e = ctx;
    out->extra_bytes = (size_t)e->n_pairs * 2 * e->n_params * sizeof(float);
    out->fisher_flops = e->fisher_flops;
    out->penalty_flops = e->penalty_flops;
}

/* Every (F, theta*) pair and the FLOP tallies; the rest is config. */
static int ewc_save(const void *ctx, cl_ckpt_writer *w)
{
    const ewc *e = ctx;
    cl_ckpt_put_i64(w, e->n_pairs);
    for (int k = 0; k < e->n_pairs; k++) {
        cl_ckpt_put_f32s(w, e->fisher[k], e->n_params);
        cl_ckpt_put_f32s(w, e->anchor[k], e->n_params);
    }
    cl_ckpt_put_f64(w, e->fisher_flops);
    cl_ckpt_put_f64(w, e->penalty_flops);
    return 0;
}

static int ewc_load(void *ctx, cl_ckpt_reader *r, const cl_task *tasks)
{
    (void)tasks;
    ewc *e = ctx;
    int n;
    int rc = cl_ckpt_get_int(r, "EWC pairs", &n, 0, e->online ? 1 : 1 << 20);
    for (int k = 0; rc == 0 && k < n; k++) {
        if ((rc = new_pair(e))) break;
        rc = cl_ckpt_get_f32s(r, e->fisher[k], e->n_params);
        if (rc == 0) rc = cl_ckpt_get_f32s(r, e->anchor[k], e->n_params);
    }
    if (rc == 0) rc = cl_ckpt_get_f64(r, &e->fisher_flops);
    if (rc == 0) rc = cl_ckpt_get_f64(r, &e->penalty_flops);
    return rc;
}

const cl_strategy_ops cl_strategy_ewc = {
    .version = CL_STRATEGY_OPS_VERSION,
    .name = "ewc",
    .summary = "elastic weight consolidation: Fisher-weighted quadratic pull to old weights "
               "(online: one running Fisher)",
    .reference = "Kirkpatrick et al. 2017, PNAS (EWC); Schwarz et al. 2018, ICML "
                 "(online EWC, Progress & Compress)",
    .params = ewc_params,
    .assumes = {.task_boundaries = true, .task_id_at_test = false, .stores_samples = false},
    .create = ewc_create,
    .observe = ewc_observe,
    .task_end = ewc_task_end,
    .ledger = ewc_ledger,
    .save = ewc_save,
    .load = ewc_load,
    .destroy = ewc_destroy,
};
