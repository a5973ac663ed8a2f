/* sleep: offline consolidation by distillation. The network learns each task
 * awake (plain CE steps, as naive) and then sleeps: for `sleep_steps` updates
 * it is distilled from a frozen teacher, a snapshot of itself taken when the
 * task began, which holds what the earlier tasks taught.
 *
 * A sleep update mixes two losses on one batch:
 *   (1 - a) * CE(current-task rows) + a * T^2 KL(teacher_T || student_T)(distilled rows)
 * The CE rows keep the sleeping network from unlearning the task it just
 * learned; the distilled rows carry the old tasks. With weighting=tasks,
 * a = 1 - 1/t (t = tasks seen including the current one), so every task
 * weighs the same (van de Ven, Siegelmann & Tolias 2020); weighting=fixed
 * uses `alpha`. Both terms are means over their own rows.
 *
 * Distilled rows (`source`):
 *   buffer  - a reservoir over the stream of `buffer_size` samples; rows of
 *             tasks the teacher learned. The teacher never changes within a
 *             task and a slot can only be overwritten by a current-task
 *             sample, so the teacher's probabilities of every slot are
 *             computed once when the task begins and stay valid.
 *   current - the current rows themselves. With every=1, sleep_steps=1,
 *             weighting=fixed, alpha=0.5 every training step is one update
 *             on 0.5 * (CE + T^2 KL) of its batch: LwF's loss (Li & Hoiem
 *             2017) with lambda_o = 1 at half scale, which Adam's update
 *             ignores (with SGD, double the lr). The teacher is frozen, so
 *             its outputs equal those LwF records before training the task.
 *             Not reproduced: LwF's warm-up of the new head alone.
 *   noise   - data-free: inputs drawn from a diagonal Gaussian with the
 *             running per-feature mean and std of every input observed.
 *   generate - data-free, token networks: windows the teacher writes
 *             itself (self-generated replay), `buffer_size` of them
 *             sampled at temperature 1 from a newline when the task begins;
 *             its probabilities on them are cached as for the buffer.
 *
 * Which units the teacher speaks for. Its softmax (at temperature T) covers
 * only the classes of the tasks it learned; elsewhere its probability is 0.
 * Class scenario: old inputs (buffer rows) are distilled over every unit
 * with those zeros kept ("padded"), so the student learns that old inputs
 * are not new classes; current/noise rows are distilled over the teacher's
 * classes only ("seen", LwF's old-head loss), because padding would tell the
 * student that the current task's inputs are not its own classes, against
 * their CE labels. `units` overrides this. Task scenario: a buffer row uses
 * its own task's mask; current/noise rows use the union of the teacher's
 * tasks' masks (matching softmax over the union matches every old head).
 * Domain scenario: all units.
 *
 * When: every=0 sleeps once at each task end, from the second task on (the
 * first has no teacher worth learning from); the current rows are drawn
 * uniformly from the task that just ended, which the harness still holds.
 * every=N > 0 sleeps every N-th wake step of a task instead; that step's
 * batch is the sleep's current rows, so the wake update it would follow is
 * folded into the sleep updates rather than done twice. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "clbench/nn/buffer.h"
#include "clbench/nn/generate.h"
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/base/rng.h"
#include "clbench/strategies/strategy.h"

static const cl_param_spec sleep_params[] = {
    {"source", CL_PARAM_CHOICE, "buffer", 0, 0, "buffer|current|noise|generate",
     "inputs distilled while sleeping: buffer (reservoir of old samples), current "
     "(the current task's inputs: LwF), noise (Gaussian with the inputs' running mean/std), "
     "generate (token networks: text the teacher writes itself)"},
    {"buffer_size", CL_PARAM_INT, "200", 1, 10000000, NULL,
     "samples the reservoir keeps (source=buffer); 200 is small on purpose: 20 per class on "
     "seq-tasks"},
    {"sleep_steps", CL_PARAM_INT, "300", 1, 10000000, NULL,
     "updates per sleep (300 = a default wake phase; seq-tasks class acc 0.79/0.94/0.97/0.97 "
     "at 50/100/300/600)"},
    {"sleep_batch", CL_PARAM_INT, "0", 0, 65536, NULL,
     "distilled rows and current rows per sleep update; 0 = the wake batch size"},
    {"temperature", CL_PARAM_FLOAT, "2", 0.01, 100, NULL,
     "softmax temperature T; the loss is scaled by T^2 (T=2: Hinton et al. 2015, LwF)"},
    {"every", CL_PARAM_INT, "0", 0, 100000000, NULL,
     "sleep every N wake steps of a task instead of at its end (0 = at task end only)"},
    {"weighting", CL_PARAM_CHOICE, "tasks", 0, 0, "tasks|fixed",
     "distillation weight a: tasks = 1 - 1/t, t tasks seen (van de Ven et al. 2020); "
     "fixed = alpha"},
    {"alpha", CL_PARAM_FLOAT, "0.5", 0, 1, NULL,
     "weighting=fixed: loss = (1 - alpha) CE + alpha distillation (0.5 = LwF's lambda_o = 1)"},
    {"units", CL_PARAM_CHOICE, "auto", 0, 0, "auto|padded|seen",
     "class scenario: distil over every unit with the teacher zero-padded (padded) or over "
     "the teacher's classes only (seen); auto = padded for buffer, seen for current/noise"},
    {"sleep_lr", CL_PARAM_FLOAT, "0", 0, 100, NULL,
     "learning rate of sleep updates (same optimiser and state); 0 = the model's"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

enum { SRC_BUFFER, SRC_CURRENT, SRC_NOISE, SRC_GENERATE };

/* Rows per teacher forward: caching a large buffer in chunks keeps the
 * teacher's workspace at batch size rather than buffer size. */
enum { TEACHER_CHUNK = 256 };

typedef struct sleeper {
    gsl_rng *rng;              /* not owned */
    cl_strategy_env env;
    int source;                /* SRC_* */
    int pad;                   /* class scenario: distil over every unit */
    int by_tasks;              /* weighting=tasks */
    float alpha, T, sleep_lr;
    long every;
    int sleep_steps, sleep_batch;
    size_t teacher_bytes;      /* one parameter block */
    int rps;                   /* rows (predictions) per sample: 1, or a token
                                  network's window positions */

    cl_net *teacher;         /* frozen snapshot of net at task_begin */
    int has_teacher;           /* the snapshot learned at least one task */
    cl_buffer *buf;            /* source=buffer only */
    float *slot_probs;         /* (buffer cap, rps, C) teacher's probabilities per slot
                                  (source=generate: per pool window) */
    float *pool;               /* (pool_n, d) source=generate: the teacher's windows */
    int pool_n;
    int *old_slots;            /* (buffer cap) slots holding rows the teacher knows */

    unsigned char *task_masks; /* (n_tasks, C) classes of each task seen */
    unsigned char *task_seen;  /* (n_tasks) 1 once task_begin saw it */
    unsigned char *taught;     /* (n_tasks) 1 for tasks the teacher learned */
    unsigned char *seen_mask;  /* (C) union of the taught tasks' classes */
    unsigned char *all_units;  /* (C) all ones */
    int n_seen;                /* distinct tasks begun, current included */
    const cl_task *cur;        /* task being learned, not owned */
    long wake_steps;           /* observe calls in the current task */
    int batch;                 /* last wake batch size */

    double *in_mean, *in_m2;   /* (d) Welford running input moments, source=noise */
    long in_n;

    int cap;                   /* rows of the batch buffers below */
    float *x;                  /* (cap, d) current rows, then distilled rows */
    int *y;                    /* (cap) labels of the current rows */
    unsigned char *masks;      /* (cap, C) student's distillation mask per distilled
                                  sample; unused by a token network (all units) */
    float *probs;              /* (cap, rps, C) teacher's probabilities per distilled row */
    float *dkd;                /* (cap, rps, C) distillation gradient when rows are shared */

    double distill_flops;      /* model FLOPs of sleep updates, teacher included */
} sleeper;

static void sleep_destroy(void *ctx)
{
    sleeper *s = ctx;
    if (!s) return;
    cl_net_free(s->teacher);
    cl_buffer_free(s->buf);
    free(s->slot_probs);
    free(s->pool);
    free(s->old_slots);
    free(s->task_masks);
    free(s->task_seen);
    free(s->taught);
    free(s->seen_mask);
    free(s->all_units);
    free(s->in_mean);
    free(s->in_m2);
    free(s->x);
    free(s->y);
    free(s->masks);
    free(s->probs);
    free(s->dkd);
    free(s);
}

static int parse_source(const char *name)
{
    if (!strcmp(name, "current")) return SRC_CURRENT;
    if (!strcmp(name, "noise")) return SRC_NOISE;
    if (!strcmp(name, "generate")) return SRC_GENERATE;
    return SRC_BUFFER;
}

static int alloc_state(sleeper *s, const cl_net *net, int buffer_size)
{
    int C = s->env.n_classes, d = s->env.d;
    int rc = cl_net_clone(&s->teacher, net);
    if (rc) return rc;
    if (s->source == SRC_BUFFER) {
        if ((rc = cl_buffer_new(&s->buf, buffer_size, d, C, CL_BUFFER_RESERVOIR))) return rc;
        s->slot_probs = malloc((size_t)buffer_size * s->rps * C * sizeof *s->slot_probs);
        s->old_slots = malloc((size_t)buffer_size * sizeof *s->old_slots);
        if (!s->slot_probs || !s->old_slots) return cl_error_set(CL_ENOMEM, "out of memory");
    }
    if (s->source == SRC_GENERATE) {
        s->pool_n = buffer_size;
        s->pool = malloc((size_t)buffer_size * d * sizeof *s->pool);
        s->slot_probs = malloc((size_t)buffer_size * s->rps * C * sizeof *s->slot_probs);
        s->old_slots = malloc((size_t)buffer_size * sizeof *s->old_slots);
        if (!s->pool || !s->slot_probs || !s->old_slots) return cl_error_set(CL_ENOMEM, "out of memory");
    }
    if (s->source == SRC_NOISE) {
        s->in_mean = calloc((size_t)d, sizeof *s->in_mean);
        s->in_m2 = calloc((size_t)d, sizeof *s->in_m2);
        if (!s->in_mean || !s->in_m2) return cl_error_set(CL_ENOMEM, "out of memory");
    }
    s->task_masks = calloc((size_t)s->env.n_tasks * C, 1);
    s->task_seen = calloc((size_t)s->env.n_tasks, 1);
    s->taught = calloc((size_t)s->env.n_tasks, 1);
    s->seen_mask = calloc((size_t)C, 1);
    s->all_units = malloc((size_t)C);
    if (!s->task_masks || !s->task_seen || !s->taught || !s->seen_mask || !s->all_units)
        return cl_error_set(CL_ENOMEM, "out of memory");
    memset(s->all_units, 1, (size_t)C);
    return 0;
}

static int sleep_create(void **out, const cl_params *p, const cl_strategy_env *env,
                        const cl_net *net, gsl_rng *rng)
{
    *out = NULL;
    sleeper *s = calloc(1, sizeof *s);
    if (!s) return cl_error_set(CL_ENOMEM, "out of memory");
    s->rng = rng;
    s->env = *env;
    s->source = parse_source(cl_params_choice(p, "source"));
    s->rps = net->rows_per_sample;
    if (s->source == SRC_NOISE && net->ops->input == CL_NET_TOKENS) {
        free(s);
        return cl_error_set(CL_EINVAL, "strategy sleep: source=noise draws real-valued inputs; a "
                                       "%s network reads bytes (use buffer, current or generate)",
                            net->ops->name);
    }
    if (s->source == SRC_GENERATE && net->ops->input != CL_NET_TOKENS) {
        free(s);
        return cl_error_set(CL_EINVAL, "strategy sleep: source=generate needs a token network "
                                       "that writes text; %s is a classifier", net->ops->name);
    }
    const char *units = cl_params_choice(p, "units");
    s->pad = !strcmp(units, "auto") ? s->source == SRC_BUFFER : !strcmp(units, "padded");
    s->by_tasks = !strcmp(cl_params_choice(p, "weighting"), "tasks");
    s->alpha = (float)cl_params_float(p, "alpha");
    s->T = (float)cl_params_float(p, "temperature");
    s->sleep_lr = (float)cl_params_float(p, "sleep_lr");
    s->every = cl_params_int(p, "every");
    s->sleep_steps = (int)cl_params_int(p, "sleep_steps");
    s->sleep_batch = (int)cl_params_int(p, "sleep_batch");
    s->teacher_bytes = cl_net_param_bytes(net);
    int rc = alloc_state(s, net, (int)cl_params_int(p, "buffer_size"));
    if (rc) {
        sleep_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Units the student's distillation softmax covers for a distilled row;
 * `task` is the row's task for buffer rows, -1 for current/noise rows. */
static const unsigned char *student_mask(const sleeper *s, int task)
{
    if (s->env.scenario == CL_SCENARIO_TASK)
        return task >= 0 ? s->task_masks + (size_t)task * s->env.n_classes : s->seen_mask;
    return s->pad ? s->all_units : s->seen_mask;
}

/* Units the teacher speaks for on that row: its own classes, never more. */
static const unsigned char *teacher_mask(const sleeper *s, int task)
{
    return s->env.scenario == CL_SCENARIO_TASK ? student_mask(s, task) : s->seen_mask;
}

/* Teacher's softened probabilities of n samples x (n, d) into probs (n, rps, C),
 * zero outside each row's teacher mask; tasks (n) or NULL (all rows -1).
 * The teacher's FLOPs are model FLOPs spent training, so they are added to
 * the student's counter (train_flops) as well as to distill_flops. */
static int teacher_probs(sleeper *s, cl_net *net, const float *x, int n, const int *tasks,
                         float *probs)
{
    int C = s->env.n_classes;
    double f0 = s->teacher->flops;
    for (int i0 = 0; i0 < n; i0 += TEACHER_CHUNK) {
        int m = n - i0 < TEACHER_CHUNK ? n - i0 : TEACHER_CHUNK;
        const float *logits;
        int rc = cl_net_forward(s->teacher, x + (size_t)i0 * s->env.d, m, &logits);
        if (rc) return rc;
        for (int i = 0; i < m * s->rps; i++)
            cl_softmax(logits + (size_t)i * C, 1, C,
                       teacher_mask(s, tasks ? tasks[i0 + i / s->rps] : -1), s->T,
                       probs + ((size_t)i0 * s->rps + i) * C);
    }
    double spent = s->teacher->flops - f0;
    s->distill_flops += spent;
    net->flops += spent;
    return 0;
}

/* Snapshots the teacher and caches its view of every buffer slot. */
static int sleep_task_begin(void *ctx, cl_net *net, const cl_task *t)
{
    sleeper *s = ctx;
    int C = s->env.n_classes;
    CL_ASSERT(t->id >= 0 && t->id < s->env.n_tasks);
    s->cur = t;
    s->wake_steps = 0;
    s->has_teacher = s->n_seen > 0;
    memcpy(s->teacher->params, net->params, s->teacher_bytes);
    /* The teacher knows exactly the tasks begun before this call. */
    memcpy(s->taught, s->task_seen, (size_t)s->env.n_tasks);
    memset(s->seen_mask, 0, (size_t)C);
    for (int k = 0; k < s->env.n_tasks; k++)
        if (s->taught[k])
            for (int j = 0; j < C; j++) s->seen_mask[j] |= s->task_masks[(size_t)k * C + j];
    if (!s->task_seen[t->id]) {
        s->task_seen[t->id] = 1;
        s->n_seen++;
        memcpy(s->task_masks + (size_t)t->id * C, t->classes, (size_t)C);
    }
    if (s->buf && s->has_teacher && s->buf->n > 0)
        return teacher_probs(s, net, s->buf->x, s->buf->n, s->buf->task, s->slot_probs);
    if (s->pool && s->has_teacher) {
        double f0 = s->teacher->flops;
        int rc = cl_generate_windows(s->teacher, s->pool_n, 1.0, s->rng, s->pool);
        double spent = s->teacher->flops - f0;
        s->distill_flops += spent;
        net->flops += spent;
        return rc ? rc : teacher_probs(s, net, s->pool, s->pool_n, NULL, s->slot_probs);
    }
    return 0;
}

/* Grows the batch buffers; after the first sleep this is a no-op. */
static int reserve(sleeper *s, int rows)
{
    if (rows <= s->cap) return 0;
    size_t C = (size_t)s->env.n_classes;
    free(s->x);
    free(s->y);
    free(s->masks);
    free(s->probs);
    free(s->dkd);
    s->x = malloc((size_t)rows * s->env.d * sizeof *s->x);
    s->y = malloc((size_t)rows * sizeof *s->y);
    s->masks = malloc((size_t)rows * C);
    s->probs = malloc((size_t)rows * s->rps * C * sizeof *s->probs);
    s->dkd = malloc((size_t)rows * s->rps * C * sizeof *s->dkd);
    if (!s->x || !s->y || !s->masks || !s->probs || !s->dkd) {
        s->cap = 0;
        return cl_error_set(CL_ENOMEM, "out of memory for a sleep batch of %d", rows);
    }
    s->cap = rows;
    return 0;
}

/* Running per-feature mean and M2 (Welford) of every wake input. */
static void track_inputs(sleeper *s, const cl_batch *b)
{
    for (int i = 0; i < b->n; i++) {
        const float *x = b->x + (size_t)i * b->d;
        s->in_n++;
        for (int j = 0; j < b->d; j++) {
            double delta = x[j] - s->in_mean[j];
            s->in_mean[j] += delta / (double)s->in_n;
            s->in_m2[j] += delta * (x[j] - s->in_mean[j]);
        }
    }
}

/* n buffer rows the teacher knows, without replacement, into x (n, d) with
 * their cached probabilities and masks starting at distilled row 0.
 * Returns how many were drawn (fewer if the buffer holds fewer). */
static int draw_buffer(sleeper *s, int n, float *x)
{
    const cl_buffer *b = s->buf;
    int C = s->env.n_classes, n_old = 0;
    for (int i = 0; i < b->n; i++)
        if (s->taught[b->task[i]] && b->task[i] != s->cur->id) s->old_slots[n_old++] = i;
    if (n > n_old) n = n_old;
    for (int i = 0; i < n; i++) {
        int j = i + (int)cl_rng_below(s->rng, (unsigned long)(n_old - i));
        int slot = s->old_slots[j];
        s->old_slots[j] = s->old_slots[i];
        s->old_slots[i] = slot;
        memcpy(x + (size_t)i * b->d, b->x + (size_t)slot * b->d, (size_t)b->d * sizeof *x);
        size_t per = (size_t)s->rps * C;
        memcpy(s->probs + i * per, s->slot_probs + (size_t)slot * per, per * sizeof *s->probs);
        memcpy(s->masks + (size_t)i * C, student_mask(s, b->task[slot]), (size_t)C);
    }
    return n;
}

/* n of the teacher's own windows, without replacement, into x (n, d)
 * with their cached probabilities. */
static int draw_pool(sleeper *s, int n, float *x)
{
    int d = s->env.d;
    size_t per = (size_t)s->rps * s->env.n_classes;
    if (n > s->pool_n) n = s->pool_n;
    for (int i = 0; i < s->pool_n; i++) s->old_slots[i] = i;
    for (int i = 0; i < n; i++) {
        int j = i + (int)cl_rng_below(s->rng, (unsigned long)(s->pool_n - i));
        int slot = s->old_slots[j];
        s->old_slots[j] = s->old_slots[i];
        s->old_slots[i] = slot;
        memcpy(x + (size_t)i * d, s->pool + (size_t)slot * d, (size_t)d * sizeof *x);
        memcpy(s->probs + i * per, s->slot_probs + (size_t)slot * per, per * sizeof *s->probs);
    }
    return n;
}

/* n Gaussian inputs with the running mean and std into x (n, d), then the
 * teacher's probabilities of them. */
static int draw_noise(sleeper *s, cl_net *net, int n, float *x)
{
    int d = s->env.d, C = s->env.n_classes;
    double cnt = s->in_n > 1 ? (double)s->in_n : 1.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            x[(size_t)i * d + j] =
                (float)(s->in_mean[j] + gsl_ran_gaussian_ziggurat(s->rng, sqrt(s->in_m2[j] / cnt)));
    for (int i = 0; i < n; i++) memcpy(s->masks + (size_t)i * C, student_mask(s, -1), (size_t)C);
    return teacher_probs(s, net, x, n, NULL, s->probs);
}

static float distill_weight(const sleeper *s)
{
    return s->by_tasks ? 1.0f - 1.0f / (float)s->n_seen : s->alpha;
}

/* One sleep update. Rows [0, n_cur) of s->x / s->y hold current-task
 * samples. source=current distils those same rows; the other sources draw
 * n_old distilled rows into rows [n_cur, n_cur + n_old). */
static int sleep_update(sleeper *s, cl_net *net, int n_cur, int n_old)
{
    int C = s->env.n_classes, d = s->env.d, rc = 0;
    const unsigned char *ce_mask =
        s->env.scenario == CL_SCENARIO_TASK ? s->task_masks + (size_t)s->cur->id * C : NULL;
    float *xo = s->x + (size_t)n_cur * d;
    if (s->source == SRC_CURRENT) {
        for (int i = 0; i < n_cur; i++) memcpy(s->masks + (size_t)i * C, student_mask(s, -1), (size_t)C);
        rc = teacher_probs(s, net, s->x, n_cur, NULL, s->probs);
        n_old = n_cur;
    } else if (s->source == SRC_NOISE) {
        rc = draw_noise(s, net, n_old, xo);
    } else if (s->source == SRC_GENERATE) {
        n_old = draw_pool(s, n_old, xo);
    } else {
        n_old = draw_buffer(s, n_old, xo);
    }
    if (rc) return rc;
    float a = n_old > 0 ? distill_weight(s) : 0.0f;
    int rows = s->source == SRC_CURRENT ? n_cur : n_cur + n_old, R = s->rps;
    const float *logits;
    const int *labels;
    double f0 = net->flops; /* after the teacher, which teacher_probs counted */
    cl_net_zero_grad(net);
    if ((rc = cl_net_forward(net, s->x, rows, &logits))) return rc;
    if ((rc = cl_net_labels(net, s->x, s->y, n_cur, &labels))) return rc;
    if ((rc = cl_loss_ce(logits, labels, n_cur * R, C, ce_mask, 1.0f - a, net->dlogits, NULL)))
        return rc;
    if (n_old > 0) {
        /* Shared rows need the two gradients summed; disjoint rows write
         * their own slice of dlogits. A token network's rows distil over
         * every unit (its suites are domain-scenario byte streams). */
        int shared = s->source == SRC_CURRENT;
        size_t off = shared ? 0 : (size_t)n_cur * R * C;
        float *dst = shared ? s->dkd : net->dlogits + off;
        if ((rc = cl_loss_distill_rows(logits + off, s->probs, n_old * R, C,
                                       R > 1 ? NULL : s->masks, s->T, a, dst, NULL)))
            return rc;
        if (shared)
            for (size_t k = 0; k < (size_t)n_cur * R * C; k++) net->dlogits[k] += s->dkd[k];
    }
    if ((rc = cl_net_backward(net, net->dlogits))) return rc;
    float lr = net->lr;
    if (s->sleep_lr > 0) net->lr = s->sleep_lr;
    cl_net_step(net);
    net->lr = lr;
    s->distill_flops += net->flops - f0;
    return 0;
}

static int sleep_rows(const sleeper *s)
{
    return s->sleep_batch > 0 ? s->sleep_batch : s->batch;
}

/* A sleep during a task: the wake batch b is the current rows of every
 * update (it replaces the wake step it came with). */
static int sleep_on_batch(sleeper *s, cl_net *net, const cl_batch *b)
{
    int n_old = sleep_rows(s);
    int rc = reserve(s, b->n + n_old);
    if (rc) return rc;
    for (int k = 0; rc == 0 && k < s->sleep_steps; k++) {
        memcpy(s->x, b->x, (size_t)b->n * b->d * sizeof *s->x);
        if (b->y) memcpy(s->y, b->y, (size_t)b->n * sizeof *s->y);
        rc = sleep_update(s, net, b->n, n_old);
    }
    return rc;
}

static int sleep_observe(void *ctx, cl_net *net, const cl_batch *b)
{
    sleeper *s = ctx;
    s->batch = b->n;
    if (s->in_mean) track_inputs(s, b);
    s->wake_steps++;
    int rc;
    if (s->every > 0 && s->has_teacher && s->wake_steps % s->every == 0)
        rc = sleep_on_batch(s, net, b);
    else
        rc = cl_strategy_sgd_step(net, b);
    if (rc) return rc;
    /* After the step, as replay does: a sample is never distilled in the
     * step that brought it (and never from this task's teacher anyway). */
    if (s->buf) cl_buffer_offer_batch(s->buf, b, s->rng);
    return 0;
}

static int sleep_absorb(void *ctx, cl_net *net, const cl_batch *b)
{
    (void)net;
    sleeper *s = ctx;
    if (s->buf) cl_buffer_offer_batch(s->buf, b, s->rng);
    return 0;
}

/* The sleep at a task's end: current rows drawn uniformly, with
 * replacement, from the task that just ended. */
static int sleep_task_end(void *ctx, cl_net *net, const cl_task *t)
{
    sleeper *s = ctx;
    int n = sleep_rows(s);
    if (s->every > 0 || !s->has_teacher || n < 1) return 0;
    int rc = reserve(s, 2 * n);
    if (rc) return rc;
    int d = s->env.d;
    for (int k = 0; rc == 0 && k < s->sleep_steps; k++) {
        for (int i = 0; i < n; i++) {
            long j = (long)cl_rng_below(s->rng, (unsigned long)t->n_train);
            cl_task_rows(t, 0, (int)j, 1, s->x + (size_t)i * d);
            s->y[i] = t->train_y ? t->train_y[j] : 0; /* windows carry their labels */
        }
        rc = sleep_update(s, net, n, n);
    }
    return rc;
}

/* Bytes kept beyond the network: the teacher's parameters (the clone also
 * carries unused optimiser blocks and a workspace; those are an artefact of
 * reusing cl_net, not of the method), the buffer and its cached teacher
 * probabilities, or the input moments. */
static void sleep_ledger(const void *ctx, cl_ledger *out)
{
    const sleeper *s = ctx;
    out->extra_bytes = s->teacher_bytes;
    if (s->buf)
        out->extra_bytes += cl_buffer_bytes(s->buf) +
                            (size_t)s->buf->cap * s->rps * s->env.n_classes * sizeof *s->slot_probs;
    if (s->in_mean) out->extra_bytes += 2 * (size_t)s->env.d * sizeof *s->in_mean;
    if (s->pool)
        out->extra_bytes += (size_t)s->pool_n * ((size_t)s->env.d * sizeof *s->pool +
                                                 (size_t)s->rps * s->env.n_classes * sizeof *s->slot_probs);
    out->distill_flops = s->distill_flops;
}

/* Everything but the batch scratch and slot_probs, which the next
 * task_begin recomputes from the new teacher before any use (a checkpoint
 * is always taken between tasks). The teacher is saved anyway, so a
 * resumed context is the saved one whatever the next call is. */
static int sleep_save(const void *ctx, cl_ckpt_writer *w)
{
    const sleeper *s = ctx;
    int T = s->env.n_tasks, C = s->env.n_classes;
    cl_ckpt_put_f32s(w, s->teacher->params, s->teacher->n_params);
    cl_ckpt_put_i64(w, s->has_teacher);
    cl_ckpt_put_i64(w, s->buf != NULL);
    if (s->buf) cl_buffer_save(s->buf, w);
    cl_ckpt_put_bytes(w, s->task_masks, (size_t)T * C);
    cl_ckpt_put_bytes(w, s->task_seen, (size_t)T);
    cl_ckpt_put_bytes(w, s->taught, (size_t)T);
    cl_ckpt_put_bytes(w, s->seen_mask, (size_t)C);
    cl_ckpt_put_i64(w, s->n_seen);
    cl_ckpt_put_i64(w, s->cur ? s->cur->id : -1);
    cl_ckpt_put_i64(w, s->wake_steps);
    cl_ckpt_put_i64(w, s->batch);
    cl_ckpt_put_i64(w, s->in_mean != NULL);
    if (s->in_mean) {
        cl_ckpt_put_f64s(w, s->in_mean, (size_t)s->env.d);
        cl_ckpt_put_f64s(w, s->in_m2, (size_t)s->env.d);
        cl_ckpt_put_i64(w, s->in_n);
    }
    cl_ckpt_put_f64(w, s->distill_flops);
    return 0;
}

static int sleep_load(void *ctx, cl_ckpt_reader *r, const cl_task *tasks)
{
    sleeper *s = ctx;
    int T = s->env.n_tasks, C = s->env.n_classes, flag, cur;
    int rc = cl_ckpt_get_f32s(r, s->teacher->params, s->teacher->n_params);
    if (rc == 0) rc = cl_ckpt_get_int(r, "the teacher flag", &s->has_teacher, 0, 1);
    if (rc == 0) rc = cl_ckpt_get_int(r, "the buffer flag", &flag, s->buf != NULL, s->buf != NULL);
    if (rc == 0 && s->buf) rc = cl_buffer_load(s->buf, r, T);
    if (rc == 0) rc = cl_ckpt_get_bytes(r, s->task_masks, (size_t)T * C);
    if (rc == 0) rc = cl_ckpt_get_bytes(r, s->task_seen, (size_t)T);
    if (rc == 0) rc = cl_ckpt_get_bytes(r, s->taught, (size_t)T);
    if (rc == 0) rc = cl_ckpt_get_bytes(r, s->seen_mask, (size_t)C);
    if (rc == 0) rc = cl_ckpt_get_int(r, "tasks seen", &s->n_seen, 0, T);
    if (rc == 0) rc = cl_ckpt_get_int(r, "the current task", &cur, -1, T - 1);
    if (rc == 0) rc = cl_ckpt_get_long(r, "wake steps", &s->wake_steps, 0, LONG_MAX);
    if (rc == 0) rc = cl_ckpt_get_int(r, "the wake batch", &s->batch, 0, INT_MAX);
    if (rc == 0)
        rc = cl_ckpt_get_int(r, "the noise flag", &flag, s->in_mean != NULL, s->in_mean != NULL);
    if (rc == 0 && s->in_mean) {
        rc = cl_ckpt_get_f64s(r, s->in_mean, (size_t)s->env.d);
        if (rc == 0) rc = cl_ckpt_get_f64s(r, s->in_m2, (size_t)s->env.d);
        if (rc == 0) rc = cl_ckpt_get_long(r, "inputs seen", &s->in_n, 0, LONG_MAX);
    }
    if (rc == 0) rc = cl_ckpt_get_f64(r, &s->distill_flops);
    if (rc == 0) s->cur = cur >= 0 ? &tasks[cur] : NULL;
    return rc;
}

const cl_strategy_ops cl_strategy_sleep = {
    .version = CL_STRATEGY_OPS_VERSION,
    .name = "sleep",
    .summary = "wake on CE, then sleep: distil a frozen snapshot (old tasks) into the network "
               "on buffered, current or noise inputs",
    .reference = "Hinton et al. 2015 (distillation); Li & Hoiem 2017 (LwF = source=current "
                 "every=1 sleep_steps=1 weighting=fixed alpha=0.5); van de Ven et al. 2020 "
                 "(1/t weighting)",
    .params = sleep_params,
    /* The teacher is snapshotted and sleep runs at task boundaries. Only
     * source=buffer (the default) keeps raw inputs. */
    .assumes = {.task_boundaries = true, .task_id_at_test = false, .stores_samples = true},
    .create = sleep_create,
    .task_begin = sleep_task_begin,
    .observe = sleep_observe,
    .task_end = sleep_task_end,
    .absorb = sleep_absorb,
    .ledger = sleep_ledger,
    .save = sleep_save,
    .load = sleep_load,
    .destroy = sleep_destroy,
};
