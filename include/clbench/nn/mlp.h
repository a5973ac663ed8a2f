/* The arithmetic of a multilayer perceptron with ReLU hidden layers on
 * cblas_sgemm: shapes, forward, backward, workspace. The `mlp` network
 * (clbench/nn/net.h) is this with the net's blocks bound in; episodic
 * adaptation builds bare ones for its local heads. Parameters and gradients
 * are each one contiguous block with per-layer views, so every sgemm operand
 * is contiguous. */
#ifndef CLBENCH_MLP_H
#define CLBENCH_MLP_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

#define CL_MLP_MAX_LAYERS 9

/* One dense layer y = x W^T + b, as views into the model's blocks. */
typedef struct cl_layer {
    int n_in, n_out;
    float *w;  /* (n_out, n_in) view into params */
    float *b;  /* (n_out) view into params */
    float *dw; /* (n_out, n_in) view into grads */
    float *db; /* (n_out) view into grads */
    size_t offset; /* index of w in the params block; b follows w */
} cl_layer;

typedef struct cl_mlp {
    int n_layers;                        /* dense layers: hidden + output */
    int sizes[CL_MLP_MAX_LAYERS + 1];  /* sizes[0] = inputs, [n_layers] = outputs */
    cl_layer layers[CL_MLP_MAX_LAYERS];
    size_t n_params;
    float *params; /* (n_params) all weights then bias, layer by layer */
    float *grads;  /* (n_params) same layout; backward accumulates here */
    int owns;      /* params and grads are this model's (else bound views) */

    /* Workspace, grown to the largest batch seen, so steady-state training
     * allocates nothing: the forward's to the largest forward, the
     * backward's to the largest backward (evaluation chunks never reach
     * it), the squares only once the Fisher path runs. */
    int cap;                              /* rows of acts and dlogits */
    int bcap, scap;                       /* rows of delta; of sq_a and sq_d */
    const float *x;                       /* (B, sizes[0]) last forward input, not owned */
    int batch;                            /* B of the last forward */
    float *acts[CL_MLP_MAX_LAYERS + 1]; /* acts[l]: (cap, sizes[l]) output of layer l, l>=1 */
    float *delta[2];                      /* (bcap, max width) ping-pong backward buffers */
    float *sq_a, *sq_d;                   /* (scap, max width) squares for the Fisher path */
    float *dlogits;                       /* (cap, n_out) scratch for loss gradients */

    double own_flops;
    double *flops; /* where forward/backward count their FLOPs (own_flops or a net's) */
} cl_mlp;

/* Builds an MLP n_in -> hidden[0] -> ... -> n_out owning its blocks, with
 * PyTorch's default nn.Linear init (cl_mlp_init). */
int cl_mlp_new(cl_mlp **out, int n_in, const long *hidden, int n_hidden, int n_out,
               gsl_rng *rng);
/* The shape alone: n_params set, no blocks; cl_mlp_bind gives it views. */
int cl_mlp_shape(cl_mlp **out, int n_in, const long *hidden, int n_hidden, int n_out);
void cl_mlp_bind(cl_mlp *m, float *params, float *grads);
/* PyTorch nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and bias. */
void cl_mlp_init(cl_mlp *m, gsl_rng *rng);
void cl_mlp_free(cl_mlp *m);

/* Grows the workspace to hold `rows` samples (no-op when large enough). */
int cl_mlp_reserve(cl_mlp *m, int rows);

/* Forward pass of B samples. x must stay valid until backward. Returns the
 * logits (B, n_out), owned by the model, valid until the next forward. */
int cl_mlp_forward(cl_mlp *m, const float *x, int B, const float **logits);

/* Backward of the last forward given dL/dlogits (B, n_out). Adds the
 * gradients into `target` (n_params; normally m->grads). With `squared`,
 * adds the per-sample squared gradients summed over the batch instead:
 * sum_n (d_n a_n^T)^2 = (d*d)^T (a*a), one sgemm per layer: the diagonal
 * empirical Fisher without a per-sample loop. CL_ENOMEM when its buffers
 * cannot grow to the batch. */
int cl_mlp_backward_into(cl_mlp *m, const float *dlogits, float *target, int squared);

/* Shorthand for cl_mlp_backward_into(m, dlogits, m->grads, 0). */
int cl_mlp_backward(cl_mlp *m, const float *dlogits);

void cl_mlp_zero_grad(cl_mlp *m);

/* The MLP behind an `mlp` network (aborts for another network): for code
 * that needs its layers, such as the gradient tests. */
struct cl_net;
cl_mlp *cl_net_mlp_of(const struct cl_net *net);

#endif
