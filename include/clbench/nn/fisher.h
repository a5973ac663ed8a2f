/* Diagonal Fisher information of the network's parameters, for the
 * consolidation strategies (EWC, online EWC). Every estimator is batched:
 * the per-sample squared gradients of a chunk come from one squared backward
 * pass, sum_n (d_n a_n^T)^2 = (d*d)^T (a*a) (cl_net_backward_into with
 * squared = 1), never from a per-sample loop. The result has the layout of
 * net->params and is the mean over the samples used. */
#ifndef CLBENCH_FISHER_H
#define CLBENCH_FISHER_H

#include <gsl/gsl_rng.h>
#include "clbench/nn/net.h"
#include "clbench/store/task.h"

typedef enum cl_fisher_kind {
    /* Gradients of log p(y | x) at the true labels: the "empirical Fisher"
     * (Martens 2020; what many EWC codes compute). */
    CL_FISHER_EMPIRICAL = 0,
    /* The same at the model's own argmax label (van de Ven & Tolias 2019). */
    CL_FISHER_PREDICTED = 1,
    /* The exact Fisher: sum over the unmasked classes c of
     * p_c * (grad log p_c)^2, one squared backward per class with dlogits
     * scaled by sqrt(p_c) (Kirkpatrick et al. 2017's definition). */
    CL_FISHER_EXPECTED = 2
} cl_fisher_kind;

/* "empirical|predicted|expected", the choices text for a param spec. */
#define CL_FISHER_CHOICES "empirical|predicted|expected"

/* Name -> kind; CL_EINVAL naming the valid ones. */
int cl_fisher_kind_parse(cl_fisher_kind *out, const char *name);
const char *cl_fisher_kind_name(cl_fisher_kind k);

/* Samples per forward/backward pass: the runner evaluates in chunks of the
 * same size, so estimation does not grow the model's workspace further. */
#define CL_FISHER_CHUNK 256

/* Mean diagonal Fisher over the n samples x (n, d), y (n) into out
 * (m->n_params), overwritten. mask (n_out) restricts the softmax to a task's
 * classes (task scenario) or is NULL. y is read by the empirical estimator
 * only (may be NULL otherwise); true labels must be unmasked. Writes nothing
 * to m->params or m->grads; uses the model's workspace. *flops_out (may be
 * NULL) gets the model FLOPs spent (net->flops delta). CL_EDIVERGED when the
 * logits are not finite. */
int cl_fisher_estimate(cl_net *m, const float *x, const int *y, int n, int d,
                       const unsigned char *mask, cl_fisher_kind kind,
                       float *out /* (n_params) */, double *flops_out);

/* The same over a task's training set. n_samples <= 0 or >= t->n_train uses
 * every sample, in order. Otherwise: the first n_samples samples when rng is
 * NULL, or a uniform random subset without replacement drawn from rng (so a
 * seeded generator gives a reproducible subset). */
int cl_fisher_task(cl_net *m, const cl_task *t, int d, const unsigned char *mask,
                   cl_fisher_kind kind, int n_samples, gsl_rng *rng,
                   float *out /* (n_params) */, double *flops_out);

#endif
