#include <stdlib.h>
#include <string.h>
#include "clbench/base/floats.h"

float *cl_floats_new(size_t n)
{
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}
