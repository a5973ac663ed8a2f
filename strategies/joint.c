/* joint: the reference upper bound. Every step trains on a batch drawn
 * uniformly from the union of all tasks seen so far, as if the data had
 * never stopped being available. Intransigence is measured against it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/base/rng.h"
#include "clbench/strategies/strategy.h"

static const cl_param_spec joint_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct joint {
    gsl_rng *rng;               /* not owned */
    cl_strategy_env env;
    const cl_task **seen;       /* (n_tasks) tasks seen so far, not owned */
    int n_seen;
    long total;                 /* training samples in seen tasks */
    size_t bytes;               /* what keeping them costs */
    int cap;                    /* rows of the buffers below */
    float *x;                   /* (cap, d) the drawn batch */
    int *y;                     /* (cap) */
    unsigned char *masks;       /* (cap, n_classes) per-row masks, task scenario */
} joint;

static int joint_create(void **out, const cl_params *p, const cl_strategy_env *env,
                        const cl_net *net, gsl_rng *rng)
{
    (void)p, (void)net;
    joint *j = calloc(1, sizeof *j);
    if (!j) return cl_error_set(CL_ENOMEM, "out of memory");
    j->rng = rng;
    j->env = *env;
    j->seen = calloc((size_t)env->n_tasks, sizeof *j->seen);
    if (!j->seen) {
        free(j);
        return cl_error_set(CL_ENOMEM, "out of memory");
    }
    *out = j;
    return 0;
}

static int joint_task_begin(void *ctx, cl_net *net, const cl_task *t)
{
    (void)net;
    joint *j = ctx;
    for (int i = 0; i < j->n_seen; i++)
        if (j->seen[i] == t) return 0;
    CL_ASSERT(j->n_seen < j->env.n_tasks);
    j->seen[j->n_seen++] = t;
    j->total += t->n_train;
    j->bytes += cl_task_train_bytes(t);
    return 0;
}

static int reserve(joint *j, int n)
{
    if (n <= j->cap) return 0;
    free(j->x);
    free(j->y);
    free(j->masks);
    j->x = malloc((size_t)n * j->env.d * sizeof *j->x);
    j->y = malloc((size_t)n * sizeof *j->y);
    j->masks = malloc((size_t)n * j->env.n_classes);
    if (!j->x || !j->y || !j->masks) {
        j->cap = 0;
        return cl_error_set(CL_ENOMEM, "out of memory for a joint batch of %d", n);
    }
    j->cap = n;
    return 0;
}

static int joint_observe(void *ctx, cl_net *net, const cl_batch *b)
{
    joint *j = ctx;
    if (j->n_seen == 0) return cl_strategy_sgd_step(net, b);
    int rc = reserve(j, b->n);
    if (rc) return rc;
    int d = j->env.d, C = j->env.n_classes;
    for (int i = 0; i < b->n; i++) {
        long s = (long)cl_rng_below(j->rng, (unsigned long)j->total);
        int t = 0;
        while (s >= j->seen[t]->n_train) s -= j->seen[t++]->n_train;
        cl_task_rows(j->seen[t], 0, (int)s, 1, j->x + (size_t)i * d);
        j->y[i] = j->seen[t]->train_y ? j->seen[t]->train_y[s] : 0; /* windows: no labels */
        memcpy(j->masks + (size_t)i * C, j->seen[t]->classes, (size_t)C);
    }
    const unsigned char *masks = j->env.scenario == CL_SCENARIO_TASK ? j->masks : NULL;
    cl_net_zero_grad(net);
    if ((rc = cl_strategy_ce_rows(net, j->x, j->y, b->n, masks, 1.0f, NULL))) return rc;
    cl_net_step(net);
    return 0;
}

static void joint_ledger(const void *ctx, cl_ledger *out)
{
    const joint *j = ctx;
    out->extra_bytes = j->bytes;
}

/* The seen tasks by id; the batch buffers are scratch. */
static int joint_save(const void *ctx, cl_ckpt_writer *w)
{
    const joint *j = ctx;
    cl_ckpt_put_i64(w, j->n_seen);
    for (int i = 0; i < j->n_seen; i++) cl_ckpt_put_i64(w, j->seen[i]->id);
    cl_ckpt_put_i64(w, j->total);
    cl_ckpt_put_u64(w, j->bytes);
    return 0;
}

static int joint_load(void *ctx, cl_ckpt_reader *r, const cl_task *tasks)
{
    joint *j = ctx;
    int n, id, rc = cl_ckpt_get_int(r, "tasks seen", &n, 0, j->env.n_tasks);
    for (int i = 0; rc == 0 && i < n; i++) {
        if ((rc = cl_ckpt_get_int(r, "a seen task", &id, 0, j->env.n_tasks - 1))) break;
        joint_task_begin(j, NULL, &tasks[id]);
    }
    long total;
    uint64_t bytes;
    if (rc == 0) rc = cl_ckpt_get_long(r, "samples seen", &total, j->total, j->total);
    if (rc == 0) rc = cl_ckpt_get_u64(r, &bytes);
    if (rc == 0 && (j->n_seen != n || bytes != j->bytes))
        rc = cl_ckpt_error(r, "seen tasks do not match this suite");
    return rc;
}

static void joint_destroy(void *ctx)
{
    joint *j = ctx;
    if (!j) return;
    free(j->seen);
    free(j->x);
    free(j->y);
    free(j->masks);
    free(j);
}

const cl_strategy_ops cl_strategy_joint = {
    .version = CL_STRATEGY_OPS_VERSION,
    .name = "joint",
    .summary = "reference upper bound: trains on the union of all tasks seen so far",
    .reference = "joint training / multi-task upper bound (e.g. Lopez-Paz & Ranzato 2017)",
    .params = joint_params,
    .assumes = {.task_boundaries = true, .task_id_at_test = false, .stores_samples = true},
    .create = joint_create,
    .task_begin = joint_task_begin,
    .observe = joint_observe,
    .ledger = joint_ledger,
    .save = joint_save,
    .load = joint_load,
    .destroy = joint_destroy,
};
