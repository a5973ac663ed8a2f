/* The strategy interface: one versioned table of function pointers per
 * strategy (after SQLite's sqlite3_io_methods and libgit2's odb backends).
 * A strategy owns the whole training step: `observe` runs forward, losses,
 * backward and the update using the model and loss helpers. Optional members
 * may be NULL; the harness skips them. Strategies know nothing of the CLI,
 * YAML or files. */
#ifndef CLBENCH_STRATEGY_H
#define CLBENCH_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "clbench/store/ckpt.h"
#include "clbench/nn/net.h"
#include "clbench/base/params.h"
#include "clbench/store/task.h"

/* 2: save and load (checkpoints, --resume). 3: absorb. */
#define CL_STRATEGY_OPS_VERSION 3

/* What a strategy assumes about the protocol: printed beside every result so
 * that a comparison says what each row was allowed to use. */
typedef struct cl_assumptions {
    bool task_boundaries; /* needs to be told when a task ends */
    bool task_id_at_test; /* uses the task id at prediction beyond the scenario */
    bool stores_samples;  /* keeps raw training inputs */
} cl_assumptions;

/* Costs beyond plain training of the network. FLOPs the strategy spends
 * through the model (replayed samples, distillation, Fisher passes) are
 * counted by the model itself; these fields hold the breakdown and the
 * work done outside the model (retrieval sgemm, penalty terms). */
typedef struct cl_ledger {
    size_t extra_bytes;     /* memory kept beyond the network and optimiser */
    double replay_flops;    /* forward/backward on replayed samples */
    double distill_flops;   /* teacher and student passes while sleeping */
    double fisher_flops;    /* Fisher estimation */
    double penalty_flops;   /* regulariser gradients */
    double retrieval_flops; /* nearest-neighbour search */
    double adapt_flops;     /* local adaptation at prediction */
} cl_ledger;

/* Context a strategy gets once at creation. */
typedef struct cl_strategy_env {
    cl_scenario scenario;
    int n_tasks;           /* tasks in the suite */
    int n_classes;         /* output units */
    int d;                 /* input features (a token network: window bytes) */
} cl_strategy_env;

typedef struct cl_strategy_ops {
    int version;                 /* CL_STRATEGY_OPS_VERSION */
    const char *name;            /* CLI and YAML key: "ewc" */
    const char *summary;         /* one line for `clbench list` */
    const char *reference;       /* the paper it follows */
    const cl_param_spec *params; /* NULL-terminated; may be a lone NULL row */
    cl_assumptions assumes;

    /* ctx_out: strategy-owned state, freed by destroy. rng is not owned and
     * outlives the context. */
    int (*create)(void **ctx_out, const cl_params *p, const cl_strategy_env *env,
                  const cl_net *net, gsl_rng *rng);
    int (*task_begin)(void *ctx, cl_net *net, const cl_task *t); /* optional */
    /* One training step on batch b of the current task. */
    int (*observe)(void *ctx, cl_net *net, const cl_batch *b);
    int (*task_end)(void *ctx, cl_net *net, const cl_task *t); /* optional */
    /* Optional: samples of the current task read without a training step
     * (a text suite's pretraining data, after task_begin of that task):
     * a strategy that keeps samples may keep these. Must not change the
     * network's parameters. */
    int (*absorb)(void *ctx, cl_net *net, const cl_batch *b);
    /* Logits (b->n, n_classes) for b's samples; optional, default is the
     * network's forward pass. May use net's workspace but must leave its
     * parameters as they were. */
    int (*predict)(void *ctx, cl_net *net, const cl_batch *b,
                   float *logits_out);
    void (*ledger)(const void *ctx, cl_ledger *out); /* optional: zeros */

    /* Checkpoints (optional, but a run can only be resumed with both).
     * Called at a task boundary: after task_end and the evaluations that
     * follow it, before the next task_begin. save writes every piece of
     * state that later steps, predictions or the ledger read (buffers,
     * anchors, teachers, counters, FLOP tallies). load gets a context fresh
     * from create with the same params, env and network shape, and must
     * leave it exactly as save saw it, bit for bit; tasks (env->n_tasks) are
     * the suite's, to turn stored task ids back into cl_task pointers. The
     * runner restores the network, optimiser and every RNG (the strategy's
     * rng included): strategies never save those. */
    int (*save)(const void *ctx, cl_ckpt_writer *w);
    int (*load)(void *ctx, cl_ckpt_reader *r, const cl_task *tasks);

    void (*destroy)(void *ctx);
} cl_strategy_ops;

/* The registry: an explicit table in strategies/registry.c. */
int cl_strategy_count(void);
const cl_strategy_ops *cl_strategy_at(int i);
/* CL_EINVAL naming `name` and listing the valid ones. */
int cl_strategy_find(const cl_strategy_ops **out, const char *name);

/* One plain supervised step shared by strategies: zero grads, forward,
 * cross-entropy (masked as b says), backward, optimiser update.
 * CL_EDIVERGED on a non-finite loss. */
int cl_strategy_sgd_step(cl_net *net, const cl_batch *b);

/* Forward + cross-entropy + backward, adding weight * dL/dθ into net->grads
 * without stepping; for strategies that mix several losses in one update. */
int cl_strategy_add_ce_grad(cl_net *net, const cl_batch *b, float weight,
                            double *loss_out);

/* Forward + cross-entropy over every row + backward for `samples` inputs x
 * (samples, d), adding scale * dL/dθ into net->grads: y (samples) are the
 * labels of a feature network, ignored (may be NULL) for a token network,
 * whose labels are the windows' next bytes; masks (samples, n_out) per
 * sample or NULL, and NULL for a token network. */
int cl_strategy_ce_rows(cl_net *net, const float *x, const int *y, int samples,
                        const unsigned char *masks, float scale, double *loss_out);

#endif
