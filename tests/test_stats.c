/* Statistics over seeds (harness/base/stats.c) against values computed apart
 * from GSL: t quantiles and tail probabilities from mpmath's regularised
 * incomplete beta at 30 digits, and the textbook sleep data (Student 1908;
 * R's `t.test(extra ~ group, sleep, paired = TRUE)`: t = -4.0621, df = 9,
 * p = 0.002833; Welch: t = -1.8608, df = 17.776, two-sided p = 0.07939). */
#include <criterion/criterion.h>
#include <math.h>
#include "clbench/base/stats.h"

TestSuite(stats, .timeout = 10);

#define TOL 1e-9
#define near(got, want)                                                            \
    cr_assert(fabs((got) - (want)) <= TOL * (1 + fabs(want)), "%s = %.12g, want %.12g", \
              #got, (double)(got), (double)(want))

/* Cushny & Peebles' sleep data as Student printed it: extra hours of sleep
 * under two drugs, the same ten patients. */
static const double drug1[10] = {0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0};
static const double drug2[10] = {1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4};

Test(stats, summary_matches_hand_computed_t_interval)
{
    /* mean 2.5, sd sqrt(5/3), t_{0.975,3} = 3.18244630528371, half = t sd / 2 */
    const double x[4] = {1, 2, 3, 4};
    cl_summary s;
    cl_stats_summary(&s, x, 4, 0.95);
    cr_assert_eq(s.n, 4);
    near(s.mean, 2.5);
    near(s.sd, 1.29099444873580563);
    near(s.half, 2.05426025676052203);
    near(s.lo, 2.5 - 2.05426025676052203);
    near(s.hi, 2.5 + 2.05426025676052203);
}

Test(stats, summary_level_changes_the_quantile)
{
    const double x[4] = {1, 2, 3, 4};
    cl_summary s;
    cl_stats_summary(&s, x, 4, 0.99); /* t_{0.995,3} = 5.84090929975 */
    near(s.half, 3.77029074721752526);
    const double y[2] = {1, 3}; /* sd sqrt(2), so half = t_{0.975,1} */
    cl_stats_summary(&s, y, 2, 0.95);
    near(s.half, 12.7062047361747046);
}

Test(stats, summary_skips_non_finite_values)
{
    const double x[7] = {NAN, 1, 2, INFINITY, 3, -INFINITY, 4};
    cl_summary s;
    cl_stats_summary(&s, x, 7, 0.95);
    cr_assert_eq(s.n, 4);
    near(s.mean, 2.5);
    near(s.half, 2.05426025676052203);
}

Test(stats, summary_of_no_value_is_all_nan)
{
    cl_summary s;
    cl_stats_summary(&s, NULL, 0, 0.95);
    cr_assert_eq(s.n, 0);
    cr_assert(isnan(s.mean) && isnan(s.sd) && isnan(s.half) && isnan(s.lo) && isnan(s.hi));
    const double x[2] = {NAN, NAN};
    cl_stats_summary(&s, x, 2, 0.95);
    cr_assert_eq(s.n, 0);
    cr_assert(isnan(s.mean));
}

Test(stats, summary_of_one_value_has_a_mean_but_no_interval)
{
    const double x[1] = {0.42};
    cl_summary s;
    cl_stats_summary(&s, x, 1, 0.95);
    cr_assert_eq(s.n, 1);
    near(s.mean, 0.42);
    cr_assert(isnan(s.sd) && isnan(s.half) && isnan(s.lo) && isnan(s.hi));
}

Test(stats, summary_of_equal_values_has_zero_width)
{
    const double x[3] = {0.25, 0.25, 0.25};
    cl_summary s;
    cl_stats_summary(&s, x, 3, 0.95);
    cr_assert_eq(s.n, 3);
    cr_assert_eq(s.sd, 0.0);
    cr_assert_eq(s.half, 0.0);
    cr_assert_eq(s.lo, 0.25);
    cr_assert_eq(s.hi, 0.25);
}

/* 0.8 + 0.8 + 0.8 = 2.4000000000000004: a plain sum / n misses the value
 * by an ulp and leaves a variance of 1e-32 instead of none. */
Test(stats, equal_values_that_do_not_sum_exactly_have_no_variance)
{
    const double a[3] = {0.8, 0.8, 0.8}, b[3] = {0.7, 0.7, 0.7};
    cl_summary s;
    cl_stats_summary(&s, a, 3, 0.95);
    cr_assert_eq(s.mean, 0.8);
    cr_assert_eq(s.sd, 0.0);
    cr_assert_eq(s.half, 0.0);
    cr_assert_eq(cl_stats_welch_p_less(a, 3, a, 3), 1.0, "equal constants: no drop");
    cr_assert_eq(cl_stats_welch_p_less(a, 3, b, 3), 0.0, "constant drop: certain");
    const double c[3] = {0.1, 0.1, 0.1}, z[3] = {0, 0, 0};
    double md;
    cr_assert_eq(cl_stats_paired_p(c, z, 3, &md), 0.0, "constant difference: certain");
    cr_assert_eq(md, 0.1);
}

Test(stats, paired_test_matches_student_sleep_data)
{
    double md = 0;
    double p = cl_stats_paired_p(drug1, drug2, 10, &md);
    near(md, -1.58);
    near(p, 0.00283289019738427274);
    /* Symmetric: swapping the sides flips the difference, not p. */
    double p2 = cl_stats_paired_p(drug2, drug1, 10, &md);
    near(md, 1.58);
    near(p2, p);
    /* mean_diff may be NULL */
    near(cl_stats_paired_p(drug1, drug2, 10, NULL), p);
}

Test(stats, paired_test_skips_pairs_with_a_missing_side)
{
    double a[10], b[10];
    for (int i = 0; i < 10; i++) a[i] = drug1[i], b[i] = drug2[i];
    a[2] = NAN; /* patient 3 drops out of both sides */
    double md;
    double p = cl_stats_paired_p(a, b, 10, &md);
    near(md, -1.61111111111111111);
    near(p, 0.00589905898553909143);
    a[2] = drug1[2];
    b[2] = INFINITY;
    near(cl_stats_paired_p(a, b, 10, &md), 0.00589905898553909143);
}

Test(stats, paired_test_edge_cases)
{
    double md = 0;
    cr_assert(isnan(cl_stats_paired_p(NULL, NULL, 0, &md)));
    cr_assert(isnan(md), "no pair: no mean difference");
    const double a1[1] = {0.9}, b1[1] = {0.5};
    cr_assert(isnan(cl_stats_paired_p(a1, b1, 1, &md)), "one pair: no test");
    near(md, 0.4);
    const double a[3] = {0.5, 0.75, 1.0}, same[3] = {0.5, 0.75, 1.0};
    cr_assert_eq(cl_stats_paired_p(a, same, 3, &md), 1.0, "no difference at all");
    cr_assert_eq(md, 0.0);
    const double shifted[3] = {0.25, 0.5, 0.75};
    cr_assert_eq(cl_stats_paired_p(a, shifted, 3, &md), 0.0, "a constant difference is certain");
    near(md, 0.25);
}

Test(stats, welch_matches_sleep_data_one_sided)
{
    /* H1: drug 1 (b) gives less sleep than drug 2 (a): half the two-sided p. */
    near(cl_stats_welch_p_less(drug2, 10, drug1, 10), 0.0396970700936790692);
    /* The other direction: 1 - p. */
    near(cl_stats_welch_p_less(drug1, 10, drug2, 10), 0.960302929906320931);
}

Test(stats, welch_with_unequal_sizes_and_variances)
{
    /* t = -2.92663152006, Welch-Satterthwaite df = 2.81833873319 */
    const double a[5] = {0.80, 0.82, 0.79, 0.85, 0.81};
    const double b[3] = {0.70, 0.78, 0.74};
    near(cl_stats_welch_p_less(a, 5, b, 3), 0.0330126711673943525);
    /* NaN entries are skipped, as if absent. */
    const double bn[5] = {0.70, NAN, 0.78, 0.74, NAN};
    near(cl_stats_welch_p_less(a, 5, bn, 5), 0.0330126711673943525);
}

Test(stats, welch_edge_cases)
{
    const double a[3] = {0.8, 0.8, 0.8}, lower[3] = {0.7, 0.7, 0.7}, one[1] = {0.1};
    cr_assert(isnan(cl_stats_welch_p_less(a, 3, one, 1)), "one value on a side: no test");
    cr_assert(isnan(cl_stats_welch_p_less(one, 1, a, 3)));
    cr_assert(isnan(cl_stats_welch_p_less(a, 0, a, 3)));
    cr_assert_eq(cl_stats_welch_p_less(a, 3, lower, 3), 0.0, "no variance, b lower: certain");
    cr_assert_eq(cl_stats_welch_p_less(lower, 3, a, 3), 1.0, "no variance, b higher");
    cr_assert_eq(cl_stats_welch_p_less(a, 3, a, 3), 1.0, "no variance, equal: not lower");
}
