/* Local adaptation at prediction (MbPA, Sprechmann et al. 2018; MbPA++,
 * de Masson d'Autume et al. 2019): for one query, a throw-away copy of the
 * network's top layers is trained for `steps` steps of SGD on the mean
 * cross-entropy of the query's m retrieved neighbours
 * + lambda * ||theta - theta_base||^2 (the pull back to the base weights),
 * and the query's logits come from the adapted copy.
 *
 * Two forms of the same gradient descent. Primal: literally, on a copy of
 * the adapted layers (any number of them). Dual, for the output layer
 * alone: every step's update is dZ^T F (F the neighbours' features), and so
 * is the penalty's pull back, so W - W_base stays A F for a (C, m) matrix A
 * and the steps need only the Gram matrix F F^T: O(C m^2) per step instead
 * of O(C m h). The two agree in exact arithmetic (tests/test_episodic.c
 * checks they agree in floats). The dual form's loops are compiled for AVX2
 * as well as the baseline and give the same bits on either.
 *
 * Ownership. cl_adapt_new returns a context the caller owns and frees with
 * the NULL-safe cl_adapt_free; it holds per-query scratch sized for k
 * neighbours and, for the primal form, the copy of the adapted layers. It
 * borrows nothing between calls: the network and the memory items are
 * passed to each query. */
#ifndef CLBENCH_ADAPT_H
#define CLBENCH_ADAPT_H

#include <stddef.h>
#include "clbench/nn/net.h"

typedef struct cl_adapt cl_adapt;

/* The memory items that neighbour indices refer to (borrowed for one call;
 * row i is item i). h = the input width of top-chain layer `first`
 * (cl_net_top), C = the network's outputs. */
typedef struct cl_adapt_items {
    const float *feat; /* (rows, h) each item's input to the adapted layers */
    const float *z;    /* (rows, C) each item's logits under the base network;
                          read by the dual form only */
    const int *y;      /* (rows) labels */
} cl_adapt_items;

/* Adapts the layers first .. L - 1 (0-based) of net's top chain of L dense
 * layers (cl_net_top; an MLP's every layer, a GPT's head), whose input has
 * top[first].n_in features (the network's input when first = 0 on an MLP),
 * on at most k neighbours per query, with `steps` SGD steps of rate lr and
 * pull weight lambda. dual != 0 picks the dual form where it applies
 * (first = L - 1: the output layer alone); otherwise the primal runs. */
int cl_adapt_new(cl_adapt **out, const cl_net *net, int first, int k, int steps, float lr,
                 float lambda, int dual);
void cl_adapt_free(cl_adapt *a);

/* One query: adapts to its m <= k neighbours, items' rows nb (m), and
 * replaces zq (C), on entry the query's logits under net (the base
 * network), with its logits under the adapted layers. fq (h): the query's
 * input to the adapted layers. mask (C) or NULL: the classes the
 * neighbours' softmax ranges over. net must be the network given to
 * cl_adapt_new (same shapes), unchanged since the items' z were computed.
 * Adds the FLOPs spent to *flops. */
int cl_adapt_query(cl_adapt *a, const cl_net *net, const cl_adapt_items *items, const int *nb,
                   int m, const float *fq, const unsigned char *mask, float *zq, double *flops);

/* Bytes held between queries that a ledger counts: the primal form's copy
 * of the adapted layers' parameters (per-query scratch is not counted). */
size_t cl_adapt_bytes(const cl_adapt *a);

#endif
