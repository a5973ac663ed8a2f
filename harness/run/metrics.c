#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/run/metrics.h"

int cl_curve_init(cl_curve *c, int T)
{
    memset(c, 0, sizeof *c);
    if (T < 1) return cl_error_set(CL_EINVAL, "curve: need at least one task (T = %d)", T);
    c->T = T;
    return 0;
}

/* Grows all three arrays to `cap` points; on failure the ones already grown
 * stay valid (realloc keeps the old block), so the curve is still usable. */
static int curve_grow(cl_curve *c, int cap)
{
    long *step = realloc(c->step, (size_t)cap * sizeof *step);
    if (step) c->step = step;
    int *stage = step ? realloc(c->stage, (size_t)cap * sizeof *stage) : NULL;
    if (stage) c->stage = stage;
    double *acc = stage ? realloc(c->acc, (size_t)cap * (size_t)c->T * sizeof *acc) : NULL;
    if (!acc) return cl_error_set(CL_ENOMEM, "curve: out of memory for %d points", cap);
    c->acc = acc;
    c->cap = cap;
    return 0;
}

int cl_curve_add(cl_curve *c, long step, int stage, const double *acc /* (T) */)
{
    if (stage < 0 || stage >= c->T)
        return cl_error_set(CL_EINVAL, "curve: stage %d outside [0, %d)", stage, c->T);
    if (c->n == c->cap) {
        if (c->cap > INT_MAX / 2) return cl_error_set(CL_ENOMEM, "curve: too many points");
        int rc = curve_grow(c, c->cap ? 2 * c->cap : 16);
        if (rc) return rc;
    }
    c->step[c->n] = step;
    c->stage[c->n] = stage;
    memcpy(c->acc + (size_t)c->n * (size_t)c->T, acc, (size_t)c->T * sizeof *acc);
    c->n++;
    return 0;
}

void cl_curve_release(cl_curve *c)
{
    free(c->step);
    free(c->stage);
    free(c->acc);
    memset(c, 0, sizeof *c);
}

/* Indices below are 0-based: R(i, j) is row i (0 = untrained), task j. */
#define R_(i, j) R[(size_t)(i) * (size_t)T + (size_t)(j)]

static void anytime(cl_metrics *out, const cl_curve *c, int T)
{
    out->anytime_acc = NAN;
    out->min_acc = NAN;
    if (!c || c->n == 0) return;
    CL_ASSERT(c->T == T);

    double sum = 0;
    for (int e = 0; e < c->n; e++) {
        const double *a = c->acc + (size_t)e * (size_t)T;
        double seen = 0;
        /* Tasks not yet trained would only measure chance, not retention. */
        for (int j = 0; j <= c->stage[e]; j++) seen += a[j];
        sum += seen / (c->stage[e] + 1);
    }
    out->anytime_acc = sum / c->n;

    if (T == 1) return;
    sum = 0;
    for (int j = 0; j < T - 1; j++) {
        double lo = INFINITY;
        int found = 0;
        for (int e = 0; e < c->n; e++) {
            double a = c->acc[(size_t)e * (size_t)T + (size_t)j];
            if (c->stage[e] > j && (!found || a < lo)) {
                lo = a;
                found = 1;
            }
        }
        /* A task never evaluated after its own stage has no gap to measure;
         * a partial mean would silently mix different task sets. */
        if (!found) return;
        sum += lo;
    }
    out->min_acc = sum / (T - 1);
}

void cl_metrics_compute(cl_metrics *out, const double *R /* (T+1, T) */, int T,
                        const cl_curve *curve)
{
    CL_ASSERT(T >= 1);
    double acc = 0, la = 0, diaz = 0, bwt = 0, fwt = 0, forg = 0;
    for (int j = 0; j < T; j++) {
        acc += R_(T, j);
        la += R_(j + 1, j);
        for (int i = j + 1; i <= T; i++) diaz += R_(i, j);
    }
    /* Task j (0-based) is trained at row j+1; the last task is excluded from
     * BWT and forgetting because it has had no chance to be forgotten. */
    for (int j = 0; j < T - 1; j++) {
        bwt += R_(T, j) - R_(j + 1, j);
        double best = R_(j + 1, j);
        for (int l = j + 2; l < T; l++)
            if (R_(l, j) > best) best = R_(l, j);
        forg += best - R_(T, j);
    }
    /* Zero-shot transfer: accuracy on task j just before training it, against
     * the untrained network; task 0 has no earlier row to compare. */
    for (int j = 1; j < T; j++) fwt += R_(j, j) - R_(0, j);

    out->acc = acc / T;
    out->learning_accuracy = la / T;
    out->a_diaz = diaz / ((double)T * (T + 1) / 2);
    out->bwt = T > 1 ? bwt / (T - 1) : NAN;
    out->bwt_gemcode = T > 1 ? bwt / T : NAN;
    out->fwt = T > 1 ? fwt / (T - 1) : NAN;
    out->forgetting = T > 1 ? forg / (T - 1) : NAN;
    out->intransigence = NAN;
    anytime(out, curve, T);
}

double cl_metrics_intransigence(const double *R /* (T+1, T) */,
                                const double *R_joint /* (T+1, T) */, int T)
{
    CL_ASSERT(T >= 1);
    double sum = 0;
    for (int j = 0; j < T; j++)
        sum += R_joint[(size_t)(j + 1) * (size_t)T + (size_t)j] - R_(j + 1, j);
    return sum / T;
}

void cl_metrics_compute_bits(cl_metrics *out, const double *R /* (T+1, T) */, int T,
                             const cl_curve *curve)
{
    size_t cells = (size_t)(T + 1) * (size_t)T;
    double *neg = malloc(cells * sizeof *neg);                 /* (T+1, T) */
    cl_curve c = curve ? *curve : (cl_curve){0};
    double *acc = curve && curve->n ? malloc((size_t)curve->n * T * sizeof *acc) : NULL;
    if (!neg || (curve && curve->n && !acc)) {
        free(neg);
        free(acc);
        cl_metrics nan = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
        *out = nan;
        return;
    }
    for (size_t i = 0; i < cells; i++) neg[i] = -R[i];
    for (size_t i = 0; acc && i < (size_t)curve->n * T; i++) acc[i] = -curve->acc[i];
    c.acc = acc;
    cl_metrics_compute(out, neg, T, curve ? &c : NULL);
    /* forgetting is max(-R) - (-R[T]) = R[T] - min R already; the rest flip. */
    out->acc = -out->acc;
    out->bwt = -out->bwt;
    out->bwt_gemcode = -out->bwt_gemcode;
    out->fwt = -out->fwt;
    out->learning_accuracy = -out->learning_accuracy;
    out->a_diaz = -out->a_diaz;
    out->anytime_acc = -out->anytime_acc;
    out->min_acc = -out->min_acc;
    free(neg);
    free(acc);
}
