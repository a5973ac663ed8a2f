/* The shared optimisers: one update over a parameter block from its
 * gradient block, in place, with the moment blocks of the same length.
 * Every network steps through here, so SGD, Adam and AdamW mean the same
 * thing (PyTorch's torch.optim semantics) whatever the architecture. */
#ifndef CLBENCH_OPTIM_H
#define CLBENCH_OPTIM_H

#include <stddef.h>

typedef enum cl_optim_kind { CL_OPTIM_SGD, CL_OPTIM_ADAM, CL_OPTIM_ADAMW } cl_optim_kind;

typedef struct cl_optim_config {
    cl_optim_kind kind;
    float lr;            /* base learning rate; schedules scale it (cl_schedule_lr) */
    float momentum;      /* SGD: PyTorch form buf = m*buf + g */
    float beta1, beta2;  /* Adam, AdamW */
    float eps;           /* Adam, AdamW */
    float weight_decay;  /* SGD/Adam: L2 added to the gradient of every parameter;
                          * AdamW: decoupled p -= lr*wd*p on decay blocks only */
} cl_optim_config;

/* One span of the parameter block and whether decoupled weight decay applies
 * to it (matrices yes; biases, gains and norms no, as in GPT-2 training). */
typedef struct cl_optim_span {
    size_t offset, size;
    int decay;
} cl_optim_span;

/* One step at learning rate lr over p, g, m, v (n each). t = steps taken
 * before this one (bias correction; SGD's first momentum step copies the
 * gradient). spans (n_spans) flag the decay blocks for AdamW; NULL decays
 * everything. */
void cl_optim_step(const cl_optim_config *o, float lr, float *p /* (n) */,
                   const float *g /* (n) */, float *m /* (n) */, float *v /* (n) */,
                   size_t n, long t, const cl_optim_span *spans, int n_spans);

/* Learning-rate schedules over the steps of a run.
 *   constant: base lr at every step (bit for bit o->lr).
 *   cosine:   linear warmup over `warmup` steps, then cosine decay to
 *             min_lr * base over the rest of the run.
 *   rewarm:   the same warmup + cosine at every task, restarting at the task's
 *             first step (Ibrahim et al. 2024, re-warming and re-decaying). */
typedef enum cl_schedule_kind {
    CL_SCHEDULE_CONSTANT,
    CL_SCHEDULE_COSINE,
    CL_SCHEDULE_REWARM
} cl_schedule_kind;

typedef struct cl_schedule {
    cl_schedule_kind kind;
    float base;      /* the optimiser's lr */
    long warmup;     /* steps of linear warmup from 0 */
    double min_frac; /* floor of the cosine as a fraction of base */
    long steps_per_task, n_tasks;
} cl_schedule;

/* The lr for global step `step` (0-based, counting every task's steps). */
float cl_schedule_lr(const cl_schedule *s, long step);

/* "constant|cosine|rewarm" -> kind; -1 if none. */
int cl_schedule_parse(const char *name);

#endif
