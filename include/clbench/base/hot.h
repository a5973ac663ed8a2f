/* Hot loops: compiled for AVX2 as well as the baseline, the loader picking
 * one at start-up. The files holding them are listed in the Makefile's
 * HOT_OBJ and compiled at -O3 without errno or trapping math, so that
 * sqrtf and divides vectorise. AVX2 does not bring FMA, and the loops
 * accumulate in explicit lanes rather than letting the compiler reassociate:
 * every element gets the same IEEE operations in either clone, so results
 * do not depend on the CPU. */
#ifndef CLBENCH_HOT_H
#define CLBENCH_HOT_H

#define CL_HOT __attribute__((target_clones("avx2", "default")))

#endif
