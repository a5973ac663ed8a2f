/* kNN-LM (Khandelwal et al. 2020, "Generalization through Memorization"):
 * the episodic strategy on a token network. Every position the network
 * reads is written into a datastore as (the features feeding its output
 * layer, the next byte); at prediction the K nearest stored features vote
 * for their next bytes, p_kNN(v) ∝ sum over neighbours with value v of
 * exp(-d / temperature) (d the squared L2 distance), and
 * p = lambda p_kNN + (1 - lambda) p_LM, returned as log p. Training is the
 * plain step (dynamic evaluation, Krause et al. 2018): the keys are those
 * of the network that predicted the window, before the update on it. Past
 * memory_size entries reservoir sampling keeps a uniform sample of the
 * positions read. */
#ifndef CLBENCH_KNNLM_H
#define CLBENCH_KNNLM_H

#include "clbench/strategies/strategy.h"

typedef struct cl_knnlm cl_knnlm;

/* p holds episodic's parameters (memory_size, k, lambda, knn_temperature). */
int cl_knnlm_new(cl_knnlm **out, const cl_params *p, const cl_net *net, gsl_rng *rng);
void cl_knnlm_free(cl_knnlm *m);
int cl_knnlm_observe(cl_knnlm *m, cl_net *net, const cl_batch *b);
/* Writes every position of b's windows without training on them. */
int cl_knnlm_absorb(cl_knnlm *m, cl_net *net, const cl_batch *b);
int cl_knnlm_predict(cl_knnlm *m, cl_net *net, const cl_batch *b, float *logits_out);
void cl_knnlm_ledger(const cl_knnlm *m, cl_ledger *out);
void cl_knnlm_save(const cl_knnlm *m, cl_ckpt_writer *w);
int cl_knnlm_load(cl_knnlm *m, cl_ckpt_reader *r);

#endif
