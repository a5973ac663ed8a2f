/* Networks as an interface. A cl_net owns the parts every network shares:
 * one contiguous block each of parameters, gradients and optimiser moments,
 * the optimiser and its learning rate, the loss-gradient scratch and the
 * FLOP count. An implementation (cl_net_ops) owns the architecture: shapes,
 * initialisation, forward, backward and its workspace, all through views
 * into the net's blocks (llm.c style), so anchoring, snapshots and teacher
 * copies stay one memcpy whatever the network.
 *
 * Inputs come in two kinds:
 *   CL_NET_FEATURES: a sample is d_in floats, one row of logits (the MLP).
 *   CL_NET_TOKENS:   a sample is a window of d_in = ctx + 1 bytes stored as
 *                    floats 0..255; the network reads the first ctx and
 *                    predicts each next byte, so one sample gives ctx rows of
 *                    logits and its own labels (cl_net_labels).
 * A row is one prediction: rows = samples * rows_per_sample. */
#ifndef CLBENCH_NET_H
#define CLBENCH_NET_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "clbench/base/params.h"
#include "clbench/nn/optim.h"

#define CL_NET_OPS_VERSION 1
#define CL_NET_MAX_TOP 16

typedef enum cl_net_input { CL_NET_FEATURES, CL_NET_TOKENS } cl_net_input;

typedef struct cl_net cl_net;

/* One dense layer y = x W^T + b of the network's top chain: the layers that
 * end in the logits, with nothing between them but a ReLU. Its weights sit
 * at params + w_off as (n_out, n_in), its bias at params + b_off (n_out).
 * `input` is its input rows (rows of the last forward, n_in) after a
 * forward: the last entry's input is the network's features (the output
 * layer's input), the key of episodic memories and kNN-LM. */
typedef struct cl_net_dense {
    int n_in, n_out;
    size_t w_off, b_off;
    const float *input; /* (rows, n_in), valid until the next forward */
} cl_net_dense;

/* A named span of the parameter block (for AdamW's decay, reports and the
 * gradient tests). */
typedef struct cl_net_block {
    const char *name;
    size_t offset, size;
    int decay; /* decoupled weight decay applies (AdamW) */
} cl_net_block;

typedef struct cl_net_ops {
    int version; /* CL_NET_OPS_VERSION */
    const char *name;
    const char *summary; /* one line for `clbench list` */
    const cl_param_spec *params;
    cl_net_input input;
    /* 1 when the squared backward is the exact per-sample squared gradient
     * summed over the samples (both built-in networks are exact). */
    int exact_squares;

    /* Validates p for d_in inputs and n_out outputs and builds the impl:
     * sets net->n_params, net->rows_per_sample and net->d_feat. Keeps
     * `net` to count FLOPs into net->flops. Allocates no parameters. */
    int (*create)(void **impl, cl_net *net, const cl_params *p, int d_in, int n_out);
    /* Points the impl's views at the net's blocks (called once, after create). */
    void (*bind)(void *impl, float *params, float *grads);
    /* Fresh initial weights into the bound params. */
    void (*init)(void *impl, gsl_rng *rng);
    /* n samples x (n, d_in) -> logits (n * rows_per_sample, n_out), owned by
     * the impl and valid until the next forward. x stays valid until the
     * backward. Grows its workspace; steady-state calls allocate nothing. */
    int (*forward)(void *impl, const float *x, int n, const float **logits);
    /* Backward of the last forward from dL/dlogits (rows, n_out), added into
     * target (n_params). With `squared`, adds instead sum over samples of the
     * squared per-sample gradient (the diagonal empirical Fisher's sum). */
    int (*backward)(void *impl, const float *dlogits, float *target, int squared);
    /* The top chain, bottom to top, into out (at most max); returns its
     * length (>= 1). */
    int (*top)(const void *impl, cl_net_dense *out, int max);
    /* The named parameter spans, into out (at most max, NULL to count). */
    int (*blocks)(const void *impl, cl_net_block *out, int max);
    void (*destroy)(void *impl);
} cl_net_ops;

struct cl_net {
    const cl_net_ops *ops;
    void *impl;
    cl_params *p; /* the model table it was built from (owned) */
    int d_in, n_out;
    int rows_per_sample; /* 1 (features) or ctx (tokens) */
    int d_feat;          /* width of the features (the output layer's input) */

    size_t n_params;
    float *params; /* (n_params) */
    float *grads;  /* (n_params) backward accumulates here */
    float *opt_m;  /* (n_params) SGD momentum or Adam first moment */
    float *opt_v;  /* (n_params) Adam second moment */
    long opt_t;    /* optimiser steps since the last reset */
    cl_optim_config opt;
    float lr;      /* lr of the next step: opt.lr unless a schedule or sleep moves it */
    cl_optim_span *spans; /* (n_spans) decay flags of the blocks */
    int n_spans;

    int cap;        /* rows of dlogits / labels */
    float *dlogits; /* (cap, n_out) scratch for loss gradients */
    int *labels;    /* (cap) scratch for token nets' next-byte labels */
    int batch;      /* samples of the last forward */

    double flops;   /* floating-point operations of forward/backward/step */
};

/* The registry: "mlp" and "gpt". */
int cl_net_find(const cl_net_ops **out, const char *name);
int cl_net_count(void);
const cl_net_ops *cl_net_at(int i);
extern const cl_net_ops cl_net_mlp;
extern const cl_net_ops cl_net_gpt;

/* An `mlp` of the given widths (n_hidden 0: a linear model), for code that
 * builds networks without a model table: tests, benchmarks. */
int cl_net_mlp_new(cl_net **out, int n_in, const long *hidden, int n_hidden, int n_out,
                   const cl_optim_config *opt, gsl_rng *rng);

/* Builds and initialises (from rng) a network of `ops` from its params. */
int cl_net_new(cl_net **out, const cl_net_ops *ops, const cl_params *p, int d_in, int n_out,
               const cl_optim_config *opt, gsl_rng *rng);
void cl_net_free(cl_net *n);
/* Deep copy of parameters, optimiser state and shape; fresh workspace. */
int cl_net_clone(cl_net **out, const cl_net *src);

/* Rows of logits for n samples. */
static inline int cl_net_rows(const cl_net *n, int samples) { return samples * n->rows_per_sample; }

/* Forward of n samples; see cl_net_ops.forward. Grows dlogits to the rows. */
int cl_net_forward(cl_net *n, const float *x, int samples, const float **logits);
int cl_net_backward_into(cl_net *n, const float *dlogits, float *target, int squared);
/* Backward into n->grads. */
int cl_net_backward(cl_net *n, const float *dlogits);
void cl_net_zero_grad(cl_net *n);
/* One optimiser step at n->lr from n->grads. */
void cl_net_step(cl_net *n);
void cl_net_reset_optim(cl_net *n);
size_t cl_net_param_bytes(const cl_net *n);

/* The labels of the rows of x (samples, d_in): y itself for a features net,
 * the next bytes of each window for a token net (into n->labels, grown;
 * CL_ENOMEM). */
int cl_net_labels(cl_net *n, const float *x, const int *y, int samples, const int **labels);

/* The features of the last forward (rows, d_feat). */
const float *cl_net_features(const cl_net *n);

/* The top chain (see cl_net_dense); returns its length. */
int cl_net_top(const cl_net *n, cl_net_dense *out, int max);

/* Net files: the network's name, its model table and its parameters, so a
 * trained network can be loaded without the run that made it (clbench
 * sample). The optimiser state is not kept (checkpoints keep it). */
int cl_net_save(const cl_net *n, const char *path);
/* Loads a net file; the optimiser starts from `opt` (NULL: SGD lr 0). A
 * file that is not a net file, truncated or of another shape is one
 * CL_EDATA line naming the file. */
int cl_net_load(cl_net **out, const char *path, const cl_optim_config *opt);

#endif
