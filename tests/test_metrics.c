#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/run/metrics.h"

TestSuite(metrics, .timeout = 10);

/* Expected values are exact decimals, so the tolerance only absorbs rounding. */
#define EQ(actual, expected) \
    cr_assert_float_eq((actual), (expected), 1e-12, "%s = %.17g, want %.17g", \
                       #actual, (double)(actual), (double)(expected))
#define IS_NAN(x) cr_assert(isnan(x), "%s = %.17g, want NaN", #x, (double)(x))

/* Rows: untrained b, then after training tasks 1, 2, 3. */
static const double R3[4 * 3] = {
    0.10, 0.20, 0.30,
    0.90, 0.25, 0.35,
    0.70, 0.80, 0.40,
    0.65, 0.50, 0.95,
};

Test(metrics, three_tasks)
{
    cl_metrics m;
    cl_metrics_compute(&m, R3, 3, NULL);
    /* ACC  = (0.65 + 0.50 + 0.95) / 3 = 2.10 / 3 = 0.70 */
    EQ(m.acc, 0.70);
    /* BWT sum = (0.65 - 0.90) + (0.50 - 0.80) = -0.25 - 0.30 = -0.55
     * BWT = -0.55 / 2 = -0.275; GEM code form = -0.55 / 3 */
    EQ(m.bwt, -0.275);
    EQ(m.bwt_gemcode, -0.55 / 3);
    /* FWT = ((R[1][2] - b2) + (R[2][3] - b3)) / 2
     *     = ((0.25 - 0.20) + (0.40 - 0.30)) / 2 = 0.15 / 2 = 0.075 */
    EQ(m.fwt, 0.075);
    /* F: task 1 max(0.90, 0.70) - 0.65 = 0.25; task 2 max(0.80) - 0.50 = 0.30
     * F = 0.55 / 2 = 0.275 */
    EQ(m.forgetting, 0.275);
    /* LA = (0.90 + 0.80 + 0.95) / 3 = 2.65 / 3 */
    EQ(m.learning_accuracy, 2.65 / 3);
    /* a_diaz = (0.90 + 0.70 + 0.80 + 0.65 + 0.50 + 0.95) / 6 = 4.50 / 6 = 0.75 */
    EQ(m.a_diaz, 0.75);
    IS_NAN(m.anytime_acc);
    IS_NAN(m.min_acc);
    IS_NAN(m.intransigence);
}

Test(metrics, single_task)
{
    const double R[2 * 1] = {0.20, 0.80};
    cl_curve c;
    cr_assert_eq(cl_curve_init(&c, 1), 0);
    cr_assert_eq(cl_curve_add(&c, 0, 0, (double[]){0.30}), 0);
    cr_assert_eq(cl_curve_add(&c, 5, 0, (double[]){0.60}), 0);
    cr_assert_eq(cl_curve_add(&c, 9, 0, (double[]){0.80}), 0);

    cl_metrics m;
    cl_metrics_compute(&m, R, 1, &c);
    EQ(m.acc, 0.80);
    EQ(m.learning_accuracy, 0.80);
    EQ(m.a_diaz, 0.80);
    IS_NAN(m.bwt);
    IS_NAN(m.bwt_gemcode);
    IS_NAN(m.fwt);
    IS_NAN(m.forgetting);
    /* anytime = (0.30 + 0.60 + 0.80) / 3 = 1.70 / 3 */
    EQ(m.anytime_acc, 1.70 / 3);
    IS_NAN(m.min_acc);
    IS_NAN(m.intransigence);
    cl_curve_release(&c);
}

Test(metrics, all_zero)
{
    const double R[4 * 3] = {0};
    cl_metrics m;
    cl_metrics_compute(&m, R, 3, NULL);
    EQ(m.acc, 0);
    EQ(m.bwt, 0);
    EQ(m.bwt_gemcode, 0);
    EQ(m.fwt, 0);
    EQ(m.forgetting, 0);
    EQ(m.learning_accuracy, 0);
    EQ(m.a_diaz, 0);
}

Test(metrics, perfect)
{
    const double R[4 * 3] = {
        0.10, 0.20, 0.30,
        1, 1, 1,
        1, 1, 1,
        1, 1, 1,
    };
    cl_metrics m;
    cl_metrics_compute(&m, R, 3, NULL);
    EQ(m.acc, 1);
    EQ(m.bwt, 0);
    EQ(m.bwt_gemcode, 0);
    EQ(m.forgetting, 0);
    EQ(m.learning_accuracy, 1);
    EQ(m.a_diaz, 1);
    /* FWT = ((1 - 0.20) + (1 - 0.30)) / 2 = 1.50 / 2 = 0.75; b1 is unused */
    EQ(m.fwt, 0.75);
}

Test(metrics, forgetting_peak_after_diagonal)
{
    /* Task 1 improves while task 2 trains (0.50 -> 0.80), then drops to 0.40.
     * Rows before a task's own stage (b2 = 0.95, R[1][2] = 0.99) must not
     * count as its peak. */
    const double R[4 * 3] = {
        0.00, 0.95, 0.00,
        0.50, 0.99, 0.10,
        0.80, 0.70, 0.20,
        0.40, 0.60, 0.90,
    };
    cl_metrics m;
    cl_metrics_compute(&m, R, 3, NULL);
    /* F: task 1 max(0.50, 0.80) - 0.40 = 0.40; task 2 max(0.70) - 0.60 = 0.10
     * F = 0.50 / 2 = 0.25 (a diagonal-only peak would give 0.10) */
    EQ(m.forgetting, 0.25);
    /* BWT = ((0.40 - 0.50) + (0.60 - 0.70)) / 2 = -0.10 */
    EQ(m.bwt, -0.10);
}

Test(metrics, forgetting_excludes_final_row)
{
    /* The peak range stops at T-1, so a task that ends higher than it ever was
     * has negative forgetting: F = 0.50 - 0.70 = -0.20. */
    const double R[3 * 2] = {
        0.00, 0.00,
        0.50, 0.10,
        0.70, 0.90,
    };
    cl_metrics m;
    cl_metrics_compute(&m, R, 2, NULL);
    EQ(m.forgetting, -0.20);
    /* BWT = 0.70 - 0.50 = 0.20 over T-1 = 1; GEM code divides by T = 2 */
    EQ(m.bwt, 0.20);
    EQ(m.bwt_gemcode, 0.10);
    /* FWT = R[1][2] - b2 = 0.10; a_diaz = (0.50 + 0.70 + 0.90) / 3 = 0.70 */
    EQ(m.fwt, 0.10);
    EQ(m.a_diaz, 0.70);
}

Test(metrics, curve_anytime_and_min)
{
    cl_curve c;
    cr_assert_eq(cl_curve_init(&c, 3), 0);
    /* step, stage, accuracy on tasks 0..2 */
    cr_assert_eq(cl_curve_add(&c, 0, 0, (double[]){0.20, 0.05, 0.90}), 0);
    cr_assert_eq(cl_curve_add(&c, 10, 0, (double[]){0.60, 0.10, 0.90}), 0);
    cr_assert_eq(cl_curve_add(&c, 20, 1, (double[]){0.30, 0.40, 0.90}), 0);
    cr_assert_eq(cl_curve_add(&c, 30, 1, (double[]){0.50, 0.70, 0.90}), 0);
    cr_assert_eq(cl_curve_add(&c, 40, 2, (double[]){0.40, 0.20, 0.60}), 0);
    cr_assert_eq(cl_curve_add(&c, 50, 2, (double[]){0.45, 0.50, 0.80}), 0);
    cr_assert_eq(c.n, 6);
    cr_assert_eq(c.step[4], 40);
    cr_assert_eq(c.stage[4], 2);
    EQ(c.acc[4 * 3 + 2], 0.60);

    cl_metrics m;
    cl_metrics_compute(&m, R3, 3, &c);
    /* Per-point mean over seen tasks only (the 0.90 on unseen task 2 is out):
     *   0.20, 0.60, (0.30+0.40)/2 = 0.35, (0.50+0.70)/2 = 0.60,
     *   (0.40+0.20+0.60)/3 = 0.40, (0.45+0.50+0.80)/3 = 1.75/3
     * anytime = (2.15 + 1.75/3) / 6 = (8.20/3) / 6 = 8.20 / 18 */
    EQ(m.anytime_acc, 8.20 / 18);
    /* min_acc: task 0 over stages > 0: min(0.30, 0.50, 0.40, 0.45) = 0.30
     * (0.20 at stage 0 is excluded); task 1 over stage 2: min(0.20, 0.50) =
     * 0.20 (0.05 and 0.10 before it was trained are excluded).
     * min_acc = (0.30 + 0.20) / 2 = 0.25 */
    EQ(m.min_acc, 0.25);
    /* The R-based metrics do not depend on the curve. */
    EQ(m.acc, 0.70);
    cl_curve_release(&c);
}

Test(metrics, min_acc_nan_without_later_point)
{
    /* Training stopped during task 1 (0-based), so task 1 is never evaluated
     * while a later task trains. */
    cl_curve c;
    cr_assert_eq(cl_curve_init(&c, 3), 0);
    cr_assert_eq(cl_curve_add(&c, 0, 0, (double[]){0.50, 0.10, 0.20}), 0);
    cr_assert_eq(cl_curve_add(&c, 10, 1, (double[]){0.30, 0.90, 0.00}), 0);
    cl_metrics m;
    cl_metrics_compute(&m, R3, 3, &c);
    IS_NAN(m.min_acc);
    /* anytime = (0.50 + (0.30 + 0.90)/2) / 2 = (0.50 + 0.60) / 2 = 0.55 */
    EQ(m.anytime_acc, 0.55);
    cl_curve_release(&c);
}

Test(metrics, empty_curve_is_nan)
{
    cl_curve c;
    cr_assert_eq(cl_curve_init(&c, 3), 0);
    cl_metrics m;
    cl_metrics_compute(&m, R3, 3, &c);
    IS_NAN(m.anytime_acc);
    IS_NAN(m.min_acc);
    cl_curve_release(&c);
}

Test(metrics, intransigence)
{
    /* Only the joint diagonal matters; off-diagonal entries are decoys. */
    const double joint[4 * 3] = {
        0.33, 0.33, 0.33,
        0.95, 0.11, 0.12,
        0.13, 0.90, 0.14,
        0.15, 0.16, 0.97,
    };
    /* ((0.95 - 0.90) + (0.90 - 0.80) + (0.97 - 0.95)) / 3 = 0.17 / 3 */
    EQ(cl_metrics_intransigence(R3, joint, 3), 0.17 / 3);
    EQ(cl_metrics_intransigence(R3, R3, 3), 0);
}

Test(metrics, curve_grows_and_copies)
{
    cl_curve c;
    cr_assert_eq(cl_curve_init(&c, 2), 0);
    double a[2];
    for (int e = 0; e < 100; e++) {
        a[0] = e;
        a[1] = -e;
        cr_assert_eq(cl_curve_add(&c, 1000L + e, e % 2, a), 0);
    }
    a[0] = a[1] = 99999; /* the curve must own its copy */
    cr_assert_eq(c.n, 100);
    cr_assert_geq(c.cap, 100);
    for (int e = 0; e < 100; e++) {
        cr_assert_eq(c.step[e], 1000L + e);
        cr_assert_eq(c.stage[e], e % 2);
        cr_assert_eq(c.acc[2 * e], e);
        cr_assert_eq(c.acc[2 * e + 1], -e);
    }
    cl_curve_release(&c);
    cr_assert_eq(c.n, 0);
    cr_assert_null(c.acc);
}

Test(metrics, curve_rejects_bad_input)
{
    cl_curve c;
    cr_assert_eq(cl_curve_init(&c, 0), CL_EINVAL);
    cr_assert_neq(strlen(cl_error_last()), 0);
    cl_curve_release(&c);

    cr_assert_eq(cl_curve_init(&c, 2), 0);
    cr_assert_eq(cl_curve_add(&c, 0, 2, (double[]){0, 0}), CL_EINVAL);
    cr_assert_eq(cl_curve_add(&c, 0, -1, (double[]){0, 0}), CL_EINVAL);
    cr_assert_eq(c.n, 0);
    cl_curve_release(&c);
}

Test(metrics, release_zeroed_and_twice)
{
    cl_curve c;
    memset(&c, 0, sizeof c);
    cl_curve_release(&c);
    cr_assert_eq(cl_curve_init(&c, 1), 0);
    cr_assert_eq(cl_curve_add(&c, 0, 0, (double[]){0.5}), 0);
    cl_curve_release(&c);
    cl_curve_release(&c);
    cr_assert_eq(c.cap, 0);
}
