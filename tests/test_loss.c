/* Cross-entropy, distillation, softmax and argmax on hand-computed values,
 * finite differences and masks. */
#include <criterion/criterion.h>
#include <cblas.h>
#include <math.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/base/rng.h"

static void suite_init(void) { openblas_set_num_threads(1); }

TestSuite(loss, .timeout = 30, .init = suite_init);

#define CLOSE(a, b, tol)                                                         \
    cr_assert(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.10g, want %.10g", \
              #a, (double)(a), (double)(b))

/* Softmax of z/T over the units in mask, in double. */
static void ref_softmax(const float *z, int C, const unsigned char *mask, double T,
                        double *p)
{
    double mx = -INFINITY, s = 0.0;
    for (int j = 0; j < C; j++)
        if ((!mask || mask[j]) && z[j] / T > mx) mx = z[j] / T;
    for (int j = 0; j < C; j++) {
        p[j] = (!mask || mask[j]) ? exp(z[j] / T - mx) : 0.0;
        s += p[j];
    }
    for (int j = 0; j < C; j++) p[j] /= s;
}

/* ---- cross-entropy ------------------------------------------------------- */

/* Row 0: z = (1, 2, 3), y = 2. S = e + e^2 + e^3 = e^3 (1 + e^-1 + e^-2);
 *   loss0 = log S - 3 = log(1 + e^-1 + e^-2) = log(1.50321472440806) = 0.407605964
 *   p = (e^-2, e^-1, 1) / 1.50321472440806 = (0.0900305732, 0.2447284711, 0.6652409558)
 * Row 1: z = (0, 0, 0), y = 0: p = 1/3 each, loss1 = log 3 = 1.098612289.
 * Mean loss = (0.407605964 + 1.098612289) / 2 = 0.753109127.
 * dlogits = (p - onehot(y)) / B:
 *   row 0: (0.0450152866, 0.1223642355, -0.1673795221)
 *   row 1: (-1/3, 1/6, 1/6). */
static const float Z[2 * 3] = {1, 2, 3, 0, 0, 0};
static const int Y[2] = {2, 0};

Test(loss, ce_hand_computed)
{
    float d[6];
    double loss;
    cr_assert_eq(cl_loss_ce(Z, Y, 2, 3, NULL, 1.0f, d, &loss), 0);
    CLOSE(loss, 0.753109126556245, 1e-6);
    CLOSE(loss, (log(1 + exp(-1.0) + exp(-2.0)) + log(3.0)) / 2, 1e-6);
    const double want[6] = {0.0450152866, 0.1223642355, -0.1673795221,
                            -1.0 / 3, 1.0 / 6, 1.0 / 6};
    for (int i = 0; i < 6; i++) CLOSE(d[i], want[i], 1e-6);
    /* NULL loss_out is allowed. */
    cr_assert_eq(cl_loss_ce(Z, Y, 2, 3, NULL, 1.0f, d, NULL), 0);
}

Test(loss, ce_mask_is_softmax_over_subset)
{
    /* Mask out class 1. Row 0 over {1, 3}: loss = log(1 + e^-2) = 0.126928011,
     * row 1 over {0, 0}: log 2 = 0.693147181; mean 0.410037596. */
    const unsigned char mask[3] = {1, 0, 1};
    float d[6];
    double loss;
    cr_assert_eq(cl_loss_ce(Z, Y, 2, 3, mask, 1.0f, d, &loss), 0);
    CLOSE(loss, (log(1 + exp(-2.0)) + log(2.0)) / 2, 1e-6);
    cr_assert(d[1] == 0.0f && d[4] == 0.0f, "masked grads %g %g", d[1], d[4]);

    /* Same as the unmasked loss on the two-column subset. */
    const float sub[2 * 2] = {1, 3, 0, 0};
    const int ysub[2] = {1, 0};
    float ds[4];
    double ls;
    cr_assert_eq(cl_loss_ce(sub, ysub, 2, 2, NULL, 1.0f, ds, &ls), 0);
    CLOSE(loss, ls, 1e-12);
    CLOSE(d[0], ds[0], 1e-7);
    CLOSE(d[2], ds[1], 1e-7);
    CLOSE(d[3], ds[2], 1e-7);
    CLOSE(d[5], ds[3], 1e-7);

    /* A masked unit gets probability 0 even when its logit is by far the
     * largest (so large that it must not enter the max either). */
    const float big[3] = {0, 1000, 1};
    const int y0 = 2;
    float db[3];
    cr_assert_eq(cl_loss_ce(big, &y0, 1, 3, mask, 1.0f, db, &loss), 0);
    CLOSE(loss, log(1 + exp(-1.0)), 1e-6);
    cr_assert(db[1] == 0.0f);
}

Test(loss, ce_scale_multiplies_gradient_only)
{
    float d1[6], d5[6];
    double l1, l5;
    cr_assert_eq(cl_loss_ce(Z, Y, 2, 3, NULL, 1.0f, d1, &l1), 0);
    cr_assert_eq(cl_loss_ce(Z, Y, 2, 3, NULL, 5.0f, d5, &l5), 0);
    cr_assert(l1 == l5, "scale changed the reported loss: %g vs %g", l1, l5);
    for (int i = 0; i < 6; i++) CLOSE(d5[i], 5.0 * d1[i], 1e-6 * fabs(d5[i]));
    /* scale = B gives per-sample gradients p - onehot(y). */
    float d2[6];
    cr_assert_eq(cl_loss_ce(Z, Y, 2, 3, NULL, 2.0f, d2, NULL), 0);
    CLOSE(d2[3], -2.0 / 3, 1e-6);
    CLOSE(d2[4], 1.0 / 3, 1e-6);
}

Test(loss, ce_non_finite_diverges)
{
    float d[6];
    double loss = 0.0;
    const float nan_z[6] = {1, NAN, 3, 0, 0, 0};
    cr_assert_eq(cl_loss_ce(nan_z, Y, 2, 3, NULL, 1.0f, d, &loss), CL_EDIVERGED);
    cr_assert(!isfinite(loss));
    cr_assert(strstr(cl_error_last(), "cross-entropy") != NULL, "message: %s", cl_error_last());
    /* All-NaN row. */
    const float all_nan[3] = {NAN, NAN, NAN};
    const int y0 = 0;
    cr_assert_eq(cl_loss_ce(all_nan, &y0, 1, 3, NULL, 1.0f, d, NULL), CL_EDIVERGED);
    /* The target's logit at -inf: infinite loss. */
    const float ninf[3] = {-INFINITY, 0, 1};
    cr_assert_eq(cl_loss_ce(ninf, &y0, 1, 3, NULL, 1.0f, d, &loss), CL_EDIVERGED);
    /* Large but finite logits are fine (the max is subtracted). */
    const float large[3] = {1000, 999, 998};
    cr_assert_eq(cl_loss_ce(large, &y0, 1, 3, NULL, 1.0f, d, &loss), 0);
    CLOSE(loss, log(1 + exp(-1.0) + exp(-2.0)), 1e-6);
}

/* ---- distillation -------------------------------------------------------- */

enum { DB = 3, DC = 5 };

static void random_logits(unsigned long seed, float *z, int n)
{
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_DATA), 0);
    for (int i = 0; i < n; i++) z[i] = (float)(4.0 * gsl_rng_uniform(rng) - 2.0);
    gsl_rng_free(rng);
}

Test(loss, distill_zero_when_teacher_matches)
{
    float s[DB * DC], q[DB * DC], d[DB * DC];
    random_logits(1, s, DB * DC);
    const float T = 2.0f;
    cl_softmax(s, DB, DC, NULL, T, q);
    double loss = -1.0;
    cr_assert_eq(cl_loss_distill(s, q, DB, DC, NULL, T, 1.0f, d, &loss), 0);
    CLOSE(loss, 0.0, 1e-6);
    for (int i = 0; i < DB * DC; i++) CLOSE(d[i], 0.0, 1e-7);

    /* And it is positive when they differ. */
    float t[DB * DC];
    random_logits(2, t, DB * DC);
    cl_softmax(t, DB, DC, NULL, T, q);
    cr_assert_eq(cl_loss_distill(s, q, DB, DC, NULL, T, 1.0f, d, &loss), 0);
    cr_assert(loss > 0.01, "KL of different distributions is %g", loss);
}

/* Central differences of the (double) loss w.r.t. each student logit. */
static void distill_fd(const float *q, const unsigned char *mask, float T)
{
    float s[DB * DC], d[DB * DC], scratch[DB * DC];
    random_logits(3, s, DB * DC);
    double loss;
    cr_assert_eq(cl_loss_distill(s, q, DB, DC, mask, T, 1.0f, d, &loss), 0);
    double worst = 0.0, norm = 0.0;
    for (int k = 0; k < DB * DC; k++) {
        float v = s[k];
        double lp, lm;
        s[k] = v + 1e-3f;
        double hp = (double)s[k] - v;
        cr_assert_eq(cl_loss_distill(s, q, DB, DC, mask, T, 1.0f, scratch, &lp), 0);
        s[k] = v - 1e-3f;
        double hm = v - (double)s[k];
        cr_assert_eq(cl_loss_distill(s, q, DB, DC, mask, T, 1.0f, scratch, &lm), 0);
        s[k] = v;
        double num = (lp - lm) / (hp + hm);
        double rel = fabs(d[k] - num) / fmax(1e-3, fabs(d[k]) + fabs(num));
        cr_assert(rel <= 1e-3, "logit %d: analytic %.9g, numeric %.9g", k, d[k], num);
        worst = fmax(worst, rel);
        norm += fabs(d[k]);
    }
    cr_assert(norm > 0.05, "gradient L1 norm %g", norm);
    cr_log_info("distill max relative error %.3g", worst);
}

Test(loss, distill_gradient_matches_finite_differences)
{
    float t[DB * DC], q[DB * DC];
    random_logits(4, t, DB * DC);
    cl_softmax(t, DB, DC, NULL, 2.0f, q);
    distill_fd(q, NULL, 2.0f);
    cl_softmax(t, DB, DC, NULL, 1.0f, q);
    distill_fd(q, NULL, 1.0f);
}

Test(loss, distill_gradient_with_mask)
{
    const unsigned char mask[DC] = {1, 1, 0, 1, 0};
    float t[DB * DC], q[DB * DC], s[DB * DC], d[DB * DC];
    random_logits(4, t, DB * DC);
    /* Teacher distribution over the same subset. */
    cl_softmax(t, DB, DC, mask, 2.0f, q);
    distill_fd(q, mask, 2.0f);
    random_logits(3, s, DB * DC);
    cr_assert_eq(cl_loss_distill(s, q, DB, DC, mask, 2.0f, 1.0f, d, NULL), 0);
    for (int n = 0; n < DB; n++) {
        cr_assert(d[n * DC + 2] == 0.0f && d[n * DC + 4] == 0.0f);
        cr_assert(d[n * DC + 0] != 0.0f);
    }
    /* Masked units get 0 gradient even where the teacher puts mass on them,
     * and that mass does not enter the loss. */
    float q2[DB * DC];
    cl_softmax(t, DB, DC, NULL, 2.0f, q2);
    double loss;
    cr_assert_eq(cl_loss_distill(s, q2, DB, DC, mask, 2.0f, 1.0f, d, &loss), 0);
    double want = 0.0, p[DC];
    for (int n = 0; n < DB; n++) {
        cr_assert(d[n * DC + 2] == 0.0f && d[n * DC + 4] == 0.0f);
        ref_softmax(s + n * DC, DC, mask, 2.0, p);
        for (int j = 0; j < DC; j++)
            if (mask[j]) want += q2[n * DC + j] * (log(q2[n * DC + j]) - log(p[j]));
    }
    want *= 4.0 / DB;
    CLOSE(loss, want, 1e-6);
}

Test(loss, distill_teacher_zeros_contribute_nothing)
{
    /* The teacher never saw classes 3 and 4: its probabilities there are 0. */
    float s[DB * DC], q[DB * DC], d[DB * DC], t[DB * DC];
    const unsigned char seen[DC] = {1, 1, 1, 0, 0};
    random_logits(5, t, DB * DC);
    random_logits(6, s, DB * DC);
    const float T = 2.0f;
    cl_softmax(t, DB, DC, seen, T, q);
    for (int n = 0; n < DB; n++) cr_assert(q[n * DC + 3] == 0.0f && q[n * DC + 4] == 0.0f);
    double loss;
    cr_assert_eq(cl_loss_distill(s, q, DB, DC, NULL, T, 1.0f, d, &loss), 0);
    cr_assert(isfinite(loss));
    /* T^2 / B * sum over q > 0 of q (log q - log p), p over all 5 units. */
    double want = 0.0, p[DC];
    for (int n = 0; n < DB; n++) {
        ref_softmax(s + n * DC, DC, NULL, T, p);
        for (int j = 0; j < 3; j++)
            want += q[n * DC + j] * (log(q[n * DC + j]) - log(p[j]));
    }
    want *= (double)T * T / DB;
    CLOSE(loss, want, 1e-6);
    /* An unseen class's logit still matters through the normaliser: its
     * gradient is T * (p - 0) / B, which the finite differences confirm. */
    distill_fd(q, NULL, T);
    for (int n = 0; n < DB; n++) {
        ref_softmax(s + n * DC, DC, NULL, T, p);
        CLOSE(d[n * DC + 3], T * p[3] / DB, 1e-6);
        CLOSE(d[n * DC + 4], T * p[4] / DB, 1e-6);
    }
}

Test(loss, distill_gradient_is_T_times_p_minus_q_over_B)
{
    float s[DB * DC], t[DB * DC], q[DB * DC], d[DB * DC], d3[DB * DC];
    random_logits(7, s, DB * DC);
    random_logits(8, t, DB * DC);
    const float T = 2.0f;
    cl_softmax(t, DB, DC, NULL, T, q);
    double loss;
    cr_assert_eq(cl_loss_distill(s, q, DB, DC, NULL, T, 1.0f, d, &loss), 0);
    double p[DC], kl = 0.0, gmax = 0.0;
    for (int n = 0; n < DB; n++) {
        ref_softmax(s + n * DC, DC, NULL, T, p);
        for (int j = 0; j < DC; j++) {
            double qj = q[n * DC + j];
            double want = T * (p[j] - qj) / DB;
            CLOSE(d[n * DC + j], want, 1e-6);
            gmax = fmax(gmax, fabs(want));
            kl += qj * (log(qj) - log(p[j]));
        }
    }
    cr_assert(gmax > 0.01, "largest gradient %g: test is vacuous", gmax);
    /* Loss: T^2 * mean KL. */
    CLOSE(loss, (double)T * T * kl / DB, 1e-6);
    /* scale multiplies the gradient. */
    cr_assert_eq(cl_loss_distill(s, q, DB, DC, NULL, T, 3.0f, d3, NULL), 0);
    for (int i = 0; i < DB * DC; i++) CLOSE(d3[i], 3.0 * d[i], 1e-6 * fabs(d3[i]) + 1e-9);
}

Test(loss, distill_non_finite_diverges)
{
    float s[DB * DC], q[DB * DC], d[DB * DC];
    random_logits(9, s, DB * DC);
    cl_softmax(s, DB, DC, NULL, 2.0f, q);
    s[7] = NAN;
    double loss;
    cr_assert_eq(cl_loss_distill(s, q, DB, DC, NULL, 2.0f, 1.0f, d, &loss), CL_EDIVERGED);
    cr_assert(!isfinite(loss));
}

/* ---- softmax and argmax -------------------------------------------------- */

Test(loss, softmax_rows_and_mask)
{
    enum { B = 4, C = 6 };
    float z[B * C], p[B * C];
    random_logits(10, z, B * C);
    z[5] = 80.0f; /* large logits stay finite */
    const unsigned char mask[C] = {1, 0, 1, 1, 0, 1};
    const float Ts[] = {1.0f, 3.0f};
    for (int ti = 0; ti < 2; ti++) {
        for (int mi = 0; mi < 2; mi++) {
            const unsigned char *mk = mi ? mask : NULL;
            cl_softmax(z, B, C, mk, Ts[ti], p);
            for (int n = 0; n < B; n++) {
                double sum = 0.0, ref[C];
                ref_softmax(z + n * C, C, mk, Ts[ti], ref);
                for (int j = 0; j < C; j++) {
                    float v = p[n * C + j];
                    if (mk && !mk[j]) cr_assert(v == 0.0f, "masked p[%d][%d] = %g", n, j, v);
                    else cr_assert(v > 0.0f || ref[j] < 1e-30);
                    CLOSE(v, ref[j], 1e-6);
                    sum += v;
                }
                CLOSE(sum, 1.0, 1e-6);
            }
        }
    }
    /* Hand value: softmax(0, ln 3) = (1/4, 3/4); at T = 2, (0, 2 ln 3) gives the same. */
    const float two[2] = {0.0f, (float)(2 * log(3.0))};
    float p2[2];
    cl_softmax(two, 1, 2, NULL, 2.0f, p2);
    CLOSE(p2[0], 0.25, 1e-6);
    CLOSE(p2[1], 0.75, 1e-6);
}

Test(loss, argmax_mask_and_ties)
{
    const float r[5] = {0.5f, 2.0f, -1.0f, 2.0f, 1.5f};
    cr_assert_eq(cl_argmax(r, 5, NULL), 1);             /* tie 1 vs 3: lowest */
    const unsigned char no1[5] = {1, 0, 1, 1, 1};
    cr_assert_eq(cl_argmax(r, 5, no1), 3);              /* 1 masked: 3 wins */
    const unsigned char no13[5] = {1, 0, 1, 0, 1};
    cr_assert_eq(cl_argmax(r, 5, no13), 4);
    const unsigned char only2[5] = {0, 0, 1, 0, 0};
    cr_assert_eq(cl_argmax(r, 5, only2), 2);            /* sole unmasked, negative */
    const float neg[3] = {-3.0f, -1.0f, -1.0f};
    cr_assert_eq(cl_argmax(neg, 3, NULL), 1);
    const float eq[4] = {7.0f, 7.0f, 7.0f, 7.0f};
    cr_assert_eq(cl_argmax(eq, 4, NULL), 0);
    const unsigned char from2[4] = {0, 0, 1, 1};
    cr_assert_eq(cl_argmax(eq, 4, from2), 2);
}

/* ---- per-row masks ------------------------------------------------------- */

Test(loss, row_masks_match_single_row_calls)
{
    enum { B = 3, C = 4 };
    float z[B * C], q[B * C], d[B * C], d1[C];
    random_logits(11, z, B * C);
    random_logits(12, q, B * C);
    const unsigned char masks[B * C] = {1, 1, 0, 0, /* row 0: task 0 */
                                        0, 0, 1, 1, /* row 1: task 1 */
                                        1, 1, 1, 1};
    const int y[B] = {1, 2, 0};
    double loss, l1, sum = 0.0;
    cr_assert_eq(cl_loss_ce_rows(z, y, B, C, masks, 1.0f, d, &loss), 0);
    for (int n = 0; n < B; n++) {
        /* Row n alone with scale 1/B: same gradient as inside the mean of B. */
        cr_assert_eq(cl_loss_ce(z + n * C, &y[n], 1, C, masks + n * C, 1.0f / B, d1, &l1), 0);
        sum += l1;
        for (int j = 0; j < C; j++) CLOSE(d[n * C + j], d1[j], 1e-7);
    }
    CLOSE(loss, sum / B, 1e-12);
    cr_assert(d[2] == 0.0f && d[4] == 0.0f && d[5] == 0.0f);

    /* Distillation: teacher probs over each row's own classes. */
    for (int n = 0; n < B; n++) cl_softmax(q + n * C, 1, C, masks + n * C, 2.0f, q + n * C);
    cr_assert_eq(cl_loss_distill_rows(z, q, B, C, masks, 2.0f, 1.0f, d, &loss), 0);
    sum = 0.0;
    for (int n = 0; n < B; n++) {
        cr_assert_eq(cl_loss_distill(z + n * C, q + n * C, 1, C, masks + n * C, 2.0f,
                                     1.0f / B, d1, &l1), 0);
        sum += l1;
        for (int j = 0; j < C; j++) CLOSE(d[n * C + j], d1[j], 1e-7);
    }
    CLOSE(loss, sum / B, 1e-12);

    /* NULL masks: same as the shared-mask call with NULL. */
    float d2[B * C];
    double l2;
    cr_assert_eq(cl_loss_ce_rows(z, y, B, C, NULL, 1.0f, d, &loss), 0);
    cr_assert_eq(cl_loss_ce(z, y, B, C, NULL, 1.0f, d2, &l2), 0);
    cr_assert(loss == l2);
    cr_assert(memcmp(d, d2, sizeof d) == 0);
}
