/* A multilayer perceptron with ReLU hidden layers, trained on cblas_sgemm.
 * Parameters, gradients and optimiser state are each one contiguous block
 * (llm.c style) with per-layer views, so anchoring, snapshots and teacher
 * copies are one memcpy and every sgemm operand is contiguous. */
#ifndef CLBENCH_MODEL_H
#define CLBENCH_MODEL_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

#define CL_MODEL_MAX_LAYERS 9

typedef enum cl_optim_kind { CL_OPTIM_SGD, CL_OPTIM_ADAM } cl_optim_kind;

typedef struct cl_optim_config {
    cl_optim_kind kind;
    float lr;
    float momentum;      /* SGD: PyTorch form buf = m*buf + g */
    float beta1, beta2;  /* Adam */
    float eps;           /* Adam */
    float weight_decay;  /* L2 added to the gradient (PyTorch semantics) */
} cl_optim_config;

/* One dense layer y = x W^T + b, as views into the model's blocks. */
typedef struct cl_layer {
    int n_in, n_out;
    float *w;  /* (n_out, n_in) view into params */
    float *b;  /* (n_out) view into params */
    float *dw; /* (n_out, n_in) view into grads */
    float *db; /* (n_out) view into grads */
    size_t offset; /* index of w in the params block; b follows w */
} cl_layer;

typedef struct cl_model {
    int n_layers;                        /* dense layers: hidden + output */
    int sizes[CL_MODEL_MAX_LAYERS + 1];  /* sizes[0] = inputs, [n_layers] = outputs */
    cl_layer layers[CL_MODEL_MAX_LAYERS];
    size_t n_params;
    float *params; /* (n_params) all weights then bias, layer by layer */
    float *grads;  /* (n_params) same layout; backward accumulates here */
    float *opt_m;  /* (n_params) SGD momentum buffer or Adam first moment */
    float *opt_v;  /* (n_params) Adam second moment */
    long opt_t;    /* optimiser steps since the last reset */
    cl_optim_config opt;

    /* Workspace, grown to the largest batch seen, so steady-state training
     * allocates nothing: the forward's to the largest forward, the
     * backward's to the largest backward (evaluation chunks never reach
     * it), the squares only once the Fisher path runs. */
    int cap;                              /* rows of acts and dlogits */
    int bcap, scap;                       /* rows of delta; of sq_a and sq_d */
    const float *x;                       /* (B, sizes[0]) last forward input, not owned */
    int batch;                            /* B of the last forward */
    float *acts[CL_MODEL_MAX_LAYERS + 1]; /* acts[l]: (cap, sizes[l]) output of layer l, l>=1 */
    float *delta[2];                      /* (bcap, max width) ping-pong backward buffers */
    float *sq_a, *sq_d;                   /* (scap, max width) squares for the Fisher path */
    float *dlogits;                       /* (cap, n_out) scratch for loss gradients */

    double flops; /* floating-point operations spent in forward/backward/step */
} cl_model;

/* Builds an MLP n_in -> hidden[0] -> ... -> n_out with PyTorch's default
 * nn.Linear init (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and bias). */
int cl_model_new(cl_model **out, int n_in, const long *hidden, int n_hidden,
                 int n_out, const cl_optim_config *opt, gsl_rng *rng);
void cl_model_free(cl_model *m);

/* Deep copy of parameters, optimiser state and shape; fresh workspace. */
int cl_model_clone(cl_model **out, const cl_model *src);

/* Grows the workspace to hold `rows` samples (no-op when large enough). */
int cl_model_reserve(cl_model *m, int rows);

/* Forward pass of B samples. x must stay valid until backward. Returns the
 * logits (B, n_out), owned by the model, valid until the next forward. */
int cl_model_forward(cl_model *m, const float *x, int B, const float **logits);

/* Backward of the last forward given dL/dlogits (B, n_out). Adds the
 * gradients into `target` (n_params; normally m->grads). With `squared`,
 * adds the per-sample squared gradients summed over the batch instead:
 * sum_n (d_n a_n^T)^2 = (d*d)^T (a*a), one sgemm per layer: the diagonal
 * empirical Fisher without a per-sample loop. CL_ENOMEM when its buffers
 * cannot grow to the batch. */
int cl_model_backward_into(cl_model *m, const float *dlogits, float *target,
                           int squared);

/* Shorthand for cl_model_backward_into(m, dlogits, m->grads, 0). */
int cl_model_backward(cl_model *m, const float *dlogits);

void cl_model_zero_grad(cl_model *m);

/* One optimiser update from m->grads (with weight decay). */
void cl_model_step(cl_model *m);

/* Clears the optimiser state (momentum / moments and step count). */
void cl_model_reset_optim(cl_model *m);

/* Bytes of one parameter block (what a snapshot of the weights costs). */
size_t cl_model_param_bytes(const cl_model *m);

#endif
