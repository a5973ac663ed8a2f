/* Statistics over seeds (GSL): mean, standard deviation, Student-t
 * confidence intervals, and t-tests for paired and unpaired comparisons.
 * Non-finite inputs (a metric that was null) are skipped. */
#ifndef CLBENCH_STATS_H
#define CLBENCH_STATS_H

typedef struct cl_summary {
    int n;              /* finite values used */
    double mean;        /* NaN when n == 0 */
    double sd;          /* sample standard deviation (n - 1); NaN when n < 2 */
    double half;        /* CI half-width t_{(1+level)/2, n-1} * sd / sqrt(n); NaN when n < 2 */
    double lo, hi;      /* mean -/+ half */
} cl_summary;

void cl_stats_summary(cl_summary *out, const double *x /* (n) */, int n, double level);

/* Two-sided p-value of the paired t-test of a - b (pairs where both are
 * finite). n < 2 pairs: NaN. All differences equal: 1 if they are zero,
 * else 0 (no variance, a certain difference). *mean_diff gets mean(a - b). */
double cl_stats_paired_p(const double *a, const double *b, int n, double *mean_diff);

/* Welch's unequal-variance t-test: one-sided p-value for mean(b) < mean(a)
 * (b dropped below a). NaN when either side has fewer than 2 values; with
 * zero variance on both sides: 0 if mean(b) < mean(a), else 1. */
double cl_stats_welch_p_less(const double *a, int na, const double *b, int nb);

#endif
