/* The `mlp` network: the MLP arithmetic (mlp.c) behind the net interface. */
#include <stdio.h>
#include <stdlib.h>
#include "clbench/nn/net.h"
#include "clbench/nn/mlp.h"
#include "clbench/base/error.h"

static const cl_param_spec mlp_params[] = {
    {"hidden", CL_PARAM_INTS, "400,400", 1, 65536, NULL, "hidden layer widths (ReLU MLP)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* The same table where a lone 0 stands for no hidden layer: a linear model,
 * which code can build (cl_net_mlp_new) and users have no use for. */
static const cl_param_spec linear_params[] = {
    {"hidden", CL_PARAM_INTS, "0", 0, 65536, NULL, "hidden layer widths; 0 = none"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int mlp_create(void **impl, cl_net *net, const cl_params *p, int d_in, int n_out)
{
    const long *hidden;
    int n_hidden = cl_params_ints(p, "hidden", &hidden);
    if (n_hidden == 1 && hidden[0] == 0) n_hidden = 0;
    cl_mlp *m;
    int rc = cl_mlp_shape(&m, d_in, hidden, n_hidden, n_out);
    if (rc) return rc;
    m->flops = &net->flops;
    net->n_params = m->n_params;
    net->rows_per_sample = 1;
    net->d_feat = m->sizes[m->n_layers - 1];
    *impl = m;
    return 0;
}

static void mlp_bind(void *impl, float *params, float *grads) { cl_mlp_bind(impl, params, grads); }

static void mlp_init(void *impl, gsl_rng *rng) { cl_mlp_init(impl, rng); }

static int mlp_forward(void *impl, const float *x, int n, const float **logits)
{
    return cl_mlp_forward(impl, x, n, logits);
}

static int mlp_backward(void *impl, const float *dlogits, float *target, int squared)
{
    return cl_mlp_backward_into(impl, dlogits, target, squared);
}

/* Every layer is on the top chain: ReLUs only between dense layers. */
static int mlp_top(const void *impl, cl_net_dense *out, int max)
{
    const cl_mlp *m = impl;
    CL_ASSERT(m->n_layers <= max);
    for (int l = 0; l < m->n_layers; l++) {
        const cl_layer *L = &m->layers[l];
        out[l] = (cl_net_dense){L->n_in, L->n_out, L->offset,
                                L->offset + (size_t)L->n_in * L->n_out,
                                l ? m->acts[l] : m->x};
    }
    return m->n_layers;
}

/* Names of the blocks, "l<k>.w" / "l<k>.b". */
static const char *const block_names[2 * CL_MLP_MAX_LAYERS] = {
    "l0.w", "l0.b", "l1.w", "l1.b", "l2.w", "l2.b", "l3.w", "l3.b", "l4.w",
    "l4.b", "l5.w", "l5.b", "l6.w", "l6.b", "l7.w", "l7.b", "l8.w", "l8.b"};

static int mlp_blocks(const void *impl, cl_net_block *out, int max)
{
    const cl_mlp *m = impl;
    if (!out) return 2 * m->n_layers;
    int k = 0;
    for (int l = 0; l < m->n_layers; l++) {
        const cl_layer *L = &m->layers[l];
        size_t nw = (size_t)L->n_in * L->n_out;
        if (k < max) out[k++] = (cl_net_block){block_names[2 * l], L->offset, nw, 1};
        if (k < max) out[k++] = (cl_net_block){block_names[2 * l + 1], L->offset + nw,
                                                (size_t)L->n_out, 0};
    }
    return k;
}

static void mlp_destroy(void *impl) { cl_mlp_free(impl); }

const cl_net_ops cl_net_mlp = {
    .version = CL_NET_OPS_VERSION,
    .name = "mlp",
    .summary = "multilayer perceptron: dense layers with ReLU between them",
    .params = mlp_params,
    .input = CL_NET_FEATURES,
    .exact_squares = 1,
    .create = mlp_create,
    .bind = mlp_bind,
    .init = mlp_init,
    .forward = mlp_forward,
    .backward = mlp_backward,
    .top = mlp_top,
    .blocks = mlp_blocks,
    .destroy = mlp_destroy,
};

int cl_net_mlp_new(cl_net **out, int n_in, const long *hidden, int n_hidden, int n_out,
                   const cl_optim_config *opt, gsl_rng *rng)
{
    *out = NULL;
    if (n_hidden < 0 || n_hidden > CL_PARAM_MAX_INTS)
        return cl_error_set(CL_EINVAL, "model.hidden: at most %d hidden layers",
                            CL_MLP_MAX_LAYERS - 1);
    char text[CL_PARAM_MAX_INTS * 24] = "";
    size_t len = 0;
    for (int i = 0; i < n_hidden; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%ld", i ? "," : "", hidden[i]);
    cl_params *p;
    int rc = cl_params_new(&p, "model", n_hidden ? mlp_params : linear_params);
    if (rc) return rc;
    if (n_hidden) rc = cl_params_set(p, "hidden", text);
    if (rc == 0) rc = cl_net_new(out, &cl_net_mlp, p, n_in, n_out, opt, rng);
    cl_params_free(p);
    return rc;
}

cl_mlp *cl_net_mlp_of(const cl_net *net)
{
    CL_ASSERT(net->ops == &cl_net_mlp);
    return net->impl;
}
