/* replay: experience replay from a bounded sample buffer (ER; Chaudhry et
 * al. 2019, "On Tiny Episodic Memories in Continual Learning"). Every step
 * trains on the stream batch together with a batch drawn uniformly from the
 * buffer; the stream batch is offered to the buffer only after the step, so
 * a sample is never replayed in the step that brought it (the stream rows
 * already carry it) and the replay share of every step is old data.
 *
 * mix=concat: one forward/backward over stream rows + replay rows, mean CE
 * over all rows (ER as in Chaudhry et al. 2019 / Buzzega et al. 2020).
 * mix=weighted: two CE terms, (1/t) CE(stream) + (1 - 1/t) CE(replay), t the
 * number of tasks seen including the current one (van de Ven, Siegelmann &
 * Tolias 2020). Only this mode needs task boundaries (to count tasks).
 *
 * In the task scenario every replayed row is scored under its own task's
 * class mask, kept from the cl_task masks seen in task_begin. */
#include <stdlib.h>
#include <string.h>
#include "clbench/nn/buffer.h"
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/strategies/strategy.h"

static const cl_param_spec replay_params[] = {
    {"buffer_size", CL_PARAM_INT, "500", 1, 10000000, NULL,
     "samples the buffer holds (500: Buzzega et al. 2020's middle budget)"},
    {"replay_batch", CL_PARAM_INT, "0", 0, 65536, NULL,
     "replayed samples per step; 0 = as many as the stream batch (Chaudhry et al. 2019)"},
    {"ratio", CL_PARAM_FLOAT, "0", 0, 0.95, NULL,
     "replayed share of each step's samples (Ibrahim et al. 2024 use 0.01-0.5); 0 = use replay_batch"},
    {"selection", CL_PARAM_CHOICE, "reservoir", 0, 0, "reservoir|balanced",
     "which samples stay: reservoir (uniform over the stream) or class-balanced (CBRS)"},
    {"mix", CL_PARAM_CHOICE, "concat", 0, 0, "concat|weighted",
     "concat: one CE over stream+replay rows; weighted: (1/t) CE(stream) + (1-1/t) CE(replay), "
     "t = tasks seen (needs task boundaries)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* The buffer is the first member on purpose: tests inspect it through
 * *(const cl_buffer *const *)ctx without a dedicated accessor. */
typedef struct replay {
    cl_buffer *buf;
    gsl_rng *rng;               /* not owned */
    cl_strategy_env env;
    int replay_batch;           /* 0 = match the stream batch */
    double ratio;               /* > 0: replayed share of a step's rows */
    int weighted;               /* mix=weighted */
    unsigned char *task_masks;  /* (n_tasks, n_classes) classes of each task seen */
    unsigned char *task_seen;   /* (n_tasks) 1 once task_begin saw it */
    int n_seen;                 /* distinct tasks begun: t of the weighted mix */
    int cap;                    /* rows of the batch buffers below */
    float *x;                   /* (cap, d) stream rows then replay rows */
    int *y;                     /* (cap) */
    int *task;                  /* (cap) task id of each row */
    unsigned char *masks;       /* (cap, n_classes) per-row masks, task scenario */
    double replay_flops;        /* model FLOPs spent on replayed rows */
} replay;

static void replay_destroy(void *ctx)
{
    replay *r = ctx;
    if (!r) return;
    cl_buffer_free(r->buf);
    free(r->task_masks);
    free(r->task_seen);
    free(r->x);
    free(r->y);
    free(r->task);
    free(r->masks);
    free(r);
}

static int replay_create(void **out, const cl_params *p, const cl_strategy_env *env,
                         const cl_net *net, gsl_rng *rng)
{
    *out = NULL;
    cl_buffer_policy policy;
    int rc = cl_buffer_policy_parse(&policy, cl_params_choice(p, "selection"));
    if (rc) return rc;
    replay *r = calloc(1, sizeof *r);
    if (!r) return cl_error_set(CL_ENOMEM, "out of memory");
    r->rng = rng;
    r->env = *env;
    r->replay_batch = (int)cl_params_int(p, "replay_batch");
    r->ratio = cl_params_float(p, "ratio");
    if (policy == CL_BUFFER_BALANCED && net->ops->input == CL_NET_TOKENS) {
        free(r);
        return cl_error_set(CL_EINVAL, "strategy replay: selection=balanced needs class labels; "
                                       "a token network's windows have none (use reservoir)");
    }
    r->weighted = strcmp(cl_params_choice(p, "mix"), "weighted") == 0;
    rc = cl_buffer_new(&r->buf, (int)cl_params_int(p, "buffer_size"), env->d,
                       env->n_classes, policy);
    if (rc) {
        replay_destroy(r);
        return rc;
    }
    r->task_masks = calloc((size_t)env->n_tasks * env->n_classes, 1);
    r->task_seen = calloc((size_t)env->n_tasks, 1);
    if (!r->task_masks || !r->task_seen) {
        replay_destroy(r);
        return cl_error_set(CL_ENOMEM, "out of memory");
    }
    *out = r;
    return 0;
}

static int replay_task_begin(void *ctx, cl_net *net, const cl_task *t)
{
    (void)net;
    replay *r = ctx;
    CL_ASSERT(t->id >= 0 && t->id < r->env.n_tasks);
    if (r->task_seen[t->id]) return 0;
    r->task_seen[t->id] = 1;
    r->n_seen++;
    memcpy(r->task_masks + (size_t)t->id * r->env.n_classes, t->classes,
           (size_t)r->env.n_classes);
    return 0;
}

/* Grows the batch buffers; after the first step this is a no-op. */
static int reserve(replay *r, int rows)
{
    if (rows <= r->cap) return 0;
    free(r->x);
    free(r->y);
    free(r->task);
    free(r->masks);
    r->x = malloc((size_t)rows * r->env.d * sizeof *r->x);
    r->y = malloc((size_t)rows * sizeof *r->y);
    r->task = malloc((size_t)rows * sizeof *r->task);
    r->masks = malloc((size_t)rows * r->env.n_classes);
    if (!r->x || !r->y || !r->task || !r->masks) {
        r->cap = 0;
        return cl_error_set(CL_ENOMEM, "out of memory for a replay batch of %d", rows);
    }
    r->cap = rows;
    return 0;
}

/* Per-row masks for rows [from, to) from their stored task ids; NULL
 * outside the task scenario, where every row sees every unit. */
static const unsigned char *row_masks(replay *r, int from, int to)
{
    if (r->env.scenario != CL_SCENARIO_TASK) return NULL;
    int C = r->env.n_classes;
    for (int i = from; i < to; i++) {
        CL_ASSERT(r->task[i] >= 0 && r->task[i] < r->env.n_tasks && r->task_seen[r->task[i]]);
        memcpy(r->masks + (size_t)i * C, r->task_masks + (size_t)r->task[i] * C, (size_t)C);
    }
    return r->masks + (size_t)from * C;
}

/* One CE forward/backward over rows [from, to) of the batch buffers, adding
 * scale * gradient into net->grads. */
static int ce_rows(replay *r, cl_net *net, int from, int to, float scale)
{
    return cl_strategy_ce_rows(net, r->x + (size_t)from * r->env.d, r->y + from, to - from,
                               row_masks(r, from, to), scale, NULL);
}

/* concat: one pass over B stream rows and m replay rows (rows [0, B+m)).
 * The replay share of the pass's FLOPs is m / (B + m): every row costs the
 * same through an MLP. */
static int step_concat(replay *r, cl_net *net, const cl_batch *b, int m)
{
    int B = b->n;
    if (r->env.scenario == CL_SCENARIO_TASK)
        for (int i = 0; i < B; i++) r->task[i] = b->task;
    double f0 = net->flops;
    int rc = ce_rows(r, net, 0, B + m, 1.0f);
    if (rc) return rc;
    r->replay_flops += (net->flops - f0) * m / (B + m);
    return 0;
}

/* weighted: (1/t) CE(stream) + (1 - 1/t) CE(replay), two passes. With
 * t = 1 the replay term has weight 0 and is skipped. */
static int step_weighted(replay *r, cl_net *net, const cl_batch *b, int m)
{
    int t = r->n_seen > 1 ? r->n_seen : 1;
    float w = 1.0f / (float)t;
    int rc = cl_strategy_add_ce_grad(net, b, w, NULL);
    if (rc || t == 1) return rc;
    double f0 = net->flops;
    rc = ce_rows(r, net, b->n, b->n + m, 1.0f - w);
    r->replay_flops += net->flops - f0;
    return rc;
}

static int replay_observe(void *ctx, cl_net *net, const cl_batch *b)
{
    replay *r = ctx;
    int B = b->n, d = r->env.d;
    int want = r->replay_batch > 0 ? r->replay_batch : B;
    /* ratio = m / (B + m), rounded, at least one row. */
    if (r->ratio > 0) want = (int)(r->ratio / (1 - r->ratio) * B + 0.5) > 0 ? (int)(r->ratio / (1 - r->ratio) * B + 0.5) : 1;
    int rc = reserve(r, B + want);
    if (rc) return rc;
    /* Rows [0, B) hold the stream batch for concat; replay rows follow. */
    int m = cl_buffer_sample(r->buf, want, r->rng, r->x + (size_t)B * d, r->y + B, r->task + B);
    cl_net_zero_grad(net);
    if (m == 0) {
        rc = cl_strategy_add_ce_grad(net, b, 1.0f, NULL);
    } else if (r->weighted) {
        rc = step_weighted(r, net, b, m);
    } else {
        memcpy(r->x, b->x, (size_t)B * d * sizeof *r->x);
        if (b->y) memcpy(r->y, b->y, (size_t)B * sizeof *r->y);
        rc = step_concat(r, net, b, m);
    }
    if (rc) return rc;
    cl_net_step(net);
    cl_buffer_offer_batch(r->buf, b, r->rng);
    return 0;
}

static int replay_absorb(void *ctx, cl_net *net, const cl_batch *b)
{
    (void)net;
    replay *r = ctx;
    cl_buffer_offer_batch(r->buf, b, r->rng);
    return 0;
}

static void replay_ledger(const void *ctx, cl_ledger *out)
{
    const replay *r = ctx;
    out->extra_bytes = cl_buffer_bytes(r->buf);
    out->replay_flops = r->replay_flops;
}

/* The buffer, the tasks seen with their masks, and the FLOP tally; the
 * batch buffers are scratch. */
static int replay_save(const void *ctx, cl_ckpt_writer *w)
{
    const replay *r = ctx;
    int T = r->env.n_tasks, C = r->env.n_classes;
    cl_buffer_save(r->buf, w);
    cl_ckpt_put_bytes(w, r->task_seen, (size_t)T);
    cl_ckpt_put_bytes(w, r->task_masks, (size_t)T * C);
    cl_ckpt_put_i64(w, r->n_seen);
    cl_ckpt_put_f64(w, r->replay_flops);
    return 0;
}

static int replay_load(void *ctx, cl_ckpt_reader *rd, const cl_task *tasks)
{
    (void)tasks;
    replay *r = ctx;
    int T = r->env.n_tasks, C = r->env.n_classes;
    int rc = cl_buffer_load(r->buf, rd, T);
    if (rc == 0) rc = cl_ckpt_get_bytes(rd, r->task_seen, (size_t)T);
    if (rc == 0) rc = cl_ckpt_get_bytes(rd, r->task_masks, (size_t)T * C);
    if (rc == 0) rc = cl_ckpt_get_int(rd, "tasks seen", &r->n_seen, 0, T);
    if (rc == 0) rc = cl_ckpt_get_f64(rd, &r->replay_flops);
    /* row_masks asserts that every buffered row's task was seen. */
    for (int i = 0; rc == 0 && i < r->buf->n; i++)
        if (!r->task_seen[r->buf->task[i]])
            rc = cl_ckpt_error(rd, "buffered sample %d is of unseen task %d", i, r->buf->task[i]);
    return rc;
}

const cl_strategy_ops cl_strategy_replay = {
    .version = CL_STRATEGY_OPS_VERSION,
    .name = "replay",
    .summary = "experience replay: each step also trains on samples drawn from a bounded buffer",
    .reference = "Chaudhry et al. 2019, On Tiny Episodic Memories in Continual Learning (ER); "
                 "weighted mix: van de Ven, Siegelmann & Tolias 2020",
    .params = replay_params,
    /* The default (reservoir, concat) needs neither boundaries nor task ids;
     * mix=weighted counts tasks and so needs boundaries. */
    .assumes = {.task_boundaries = false, .task_id_at_test = false, .stores_samples = true},
    .create = replay_create,
    .task_begin = replay_task_begin,
    .observe = replay_observe,
    .absorb = replay_absorb,
    .ledger = replay_ledger,
    .save = replay_save,
    .load = replay_load,
    .destroy = replay_destroy,
};
