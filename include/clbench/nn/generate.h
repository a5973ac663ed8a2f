/* Text generation from a token network: continue a prompt byte by byte,
 * greedily or by sampling at a temperature, so a user can see what a
 * language model learned. */
#ifndef CLBENCH_GENERATE_H
#define CLBENCH_GENERATE_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "clbench/nn/net.h"

/* Appends n_new bytes after prompt (n_prompt >= 1 bytes) into out (n_new).
 * The network sees the last ctx bytes: causal attention makes the logits at
 * the window's last filled position independent of the padding after it.
 * temperature 0 takes the most likely byte (ties: the lowest), otherwise
 * samples softmax(logits / temperature) with rng (may be NULL when greedy).
 * CL_EINVAL for a features network or an empty prompt. */
int cl_generate(cl_net *net, const unsigned char *prompt, size_t n_prompt, size_t n_new,
                double temperature, gsl_rng *rng, unsigned char *out);

/* n windows of a token network written by the network itself, into x
 * (n, ctx + 1): each starts with a newline and continues with ctx bytes
 * sampled at `temperature` (<= 0: greedy), all n in one forward pass per
 * byte. */
int cl_generate_windows(cl_net *net, int n, double temperature, gsl_rng *rng, float *x);

#endif
