/* Independent random streams from one seed. A run draws the suite, the initial
 * weights, the data order and the strategy's own choices from separate
 * streams, so seed k gives every strategy the same tasks, data order and
 * initial weights however many numbers the strategy itself consumes. */
#ifndef CLBENCH_RNG_H
#define CLBENCH_RNG_H

#include <gsl/gsl_rng.h>

enum cl_rng_stream {
    CL_RNG_SUITE = 1,
    CL_RNG_INIT = 2,
    CL_RNG_DATA = 3,
    CL_RNG_STRATEGY = 4,
    CL_RNG_PRETRAIN = 5
};

/* New MT19937 generator for (seed, stream). Caller frees with gsl_rng_free. */
int cl_rng_new(gsl_rng **out, unsigned long seed, unsigned stream);

/* Uniform integer in [0, n) (n >= 1), unbiased. */
unsigned long cl_rng_below(gsl_rng *rng, unsigned long n);

/* In-place Fisher-Yates shuffle of idx (n). */
void cl_rng_shuffle(gsl_rng *rng, int *idx, int n);

/* min(k, n) distinct indices of [0, n) drawn uniformly without
 * replacement, in draw order, into idx[0 ..) (idx has room for n: a
 * partial Fisher-Yates over 0..n-1); returns how many. */
int cl_rng_draw(gsl_rng *rng, int *idx, int n, int k);

#endif
