/* Float blocks for the numerical core: 64-byte aligned (an AVX load never
 * straddles a cache line) and zeroed. Free with free(). */
#ifndef CLBENCH_FLOATS_H
#define CLBENCH_FLOATS_H

#include <stddef.h>

/* n floats (at least one), zeroed; NULL when out of memory. */
float *cl_floats_new(size_t n);

#endif
