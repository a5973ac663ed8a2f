/* naive: plain continual backprop. Keeps training on whatever arrives and
 * nothing else: the lower bound every memory strategy must beat. */
#include <stdlib.h>
#include "clbench/base/error.h"
#include "clbench/strategies/strategy.h"

static const cl_param_spec naive_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL}};

/* No state; a non-NULL context keeps the harness contract uniform. */
static int naive_create(void **ctx, const cl_params *p, const cl_strategy_env *env,
                        const cl_net *net, gsl_rng *rng)
{
    (void)p, (void)env, (void)net, (void)rng;
    *ctx = calloc(1, 1);
    return *ctx ? 0 : cl_error_set(CL_ENOMEM, "out of memory");
}

static int naive_observe(void *ctx, cl_net *net, const cl_batch *b)
{
    (void)ctx;
    return cl_strategy_sgd_step(net, b);
}

/* Nothing to keep: the network and optimiser are checkpointed by the runner. */
static int naive_save(const void *ctx, cl_ckpt_writer *w)
{
    (void)ctx, (void)w;
    return 0;
}

static int naive_load(void *ctx, cl_ckpt_reader *r, const cl_task *tasks)
{
    (void)ctx, (void)r, (void)tasks;
    return 0;
}

static void naive_destroy(void *ctx) { free(ctx); }

const cl_strategy_ops cl_strategy_naive = {
    .version = CL_STRATEGY_OPS_VERSION,
    .name = "naive",
    .summary = "plain continual backprop: keep training, nothing else",
    .reference = "fine-tuning baseline (e.g. van de Ven & Tolias 2019)",
    .params = naive_params,
    .assumes = {.task_boundaries = false, .task_id_at_test = false, .stores_samples = false},
    .create = naive_create,
    .observe = naive_observe,
    .save = naive_save,
    .load = naive_load,
    .destroy = naive_destroy,
};
