/* Shared helpers of the bench drivers: a monotonic clock, best-of timing
 * and the key/value output that bench/run.py reads. Drivers print only
 * "key value" lines on stdout. */
#ifndef CLBENCH_BENCH_H
#define CLBENCH_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds per call of fn(arg): `reps` repetitions of as many calls as fill
 * `min_s`, the fastest repetition kept (a shared machine only ever slows a
 * repetition down). */
static inline double bench_best(void (*fn)(void *), void *arg, double min_s, int reps)
{
    fn(arg); /* warm-up: workspaces, caches, thread pool */
    long n = 1;
    double t0 = bench_now();
    fn(arg);
    double one = bench_now() - t0;
    if (one > 0.0) n = (long)(min_s / one) + 1;
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        t0 = bench_now();
        for (long i = 0; i < n; i++) fn(arg);
        double per = (bench_now() - t0) / (double)n;
        if (per < best) best = per;
    }
    return best;
}

/* Aborts the driver with a message on a clbench error code. */
#define BENCH_CHECK(expr)                                                         \
    do {                                                                          \
        int rc_ = (expr);                                                         \
        if (rc_) {                                                                \
            fprintf(stderr, "bench: %s failed: %s\n", #expr, cl_error_last());    \
            exit(1);                                                              \
        }                                                                         \
    } while (0)

#endif
