#include <stdint.h>
#include "clbench/base/error.h"
#include "clbench/base/rng.h"

/* splitmix64 finaliser: decorrelates (seed, stream) pairs so neighbouring
 * seeds do not give MT19937 related initial states. */
static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int cl_rng_new(gsl_rng **out, unsigned long seed, unsigned stream)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) return cl_error_set(CL_ENOMEM, "out of memory allocating a random generator");
    uint64_t s = mix(mix((uint64_t)seed) ^ ((uint64_t)stream * 0xd1b54a32d192ed03ULL));
    /* MT19937 in GSL uses 32 bits of the seed; 0 would select its default. */
    unsigned long s32 = (unsigned long)(s & 0xffffffffULL);
    gsl_rng_set(r, s32 ? s32 : 5489UL);
    *out = r;
    return 0;
}

unsigned long cl_rng_below(gsl_rng *rng, unsigned long n)
{
    CL_ASSERT(n >= 1);
    /* gsl_rng_uniform_int rejects to stay unbiased, but only up to the
     * generator's range (2^32 for MT19937). */
    return gsl_rng_uniform_int(rng, n);
}

void cl_rng_shuffle(gsl_rng *rng, int *idx, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)cl_rng_below(rng, (unsigned long)i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

int cl_rng_draw(gsl_rng *rng, int *idx, int n, int k)
{
    if (k > n) k = n;
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = 0; i < k; i++) {
        int j = i + (int)cl_rng_below(rng, (unsigned long)(n - i));
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    return k;
}
