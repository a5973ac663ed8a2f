/* Local adaptation on retrieved neighbours (see adapt.h): the exact dual
 * form for the output layer and the literal primal form on a copy of the
 * adapted layers. The Makefile builds this file at -O3 so the per-step
 * loops vectorise (see HOT_OBJ there). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "clbench/nn/adapt.h"
#include "clbench/nn/mlp.h"
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/base/rng.h"
#include "clbench/base/hot.h"

struct cl_adapt {
    int fl;            /* first adapted layer of the net's top chain */
    size_t base_off;   /* where the adapted layers' parameters start in the net's block */
    int h;             /* width of that feature */
    int C;             /* network outputs */
    int K;             /* most neighbours per query */
    int steps;
    int primal;
    float lr, lambda;

    /* Per-query scratch; the (C, K) buffers hold (C, m) matrices, rows of
     * m contiguous floats, for the query's m <= K neighbours. */
    float *F;               /* (K, h) the neighbours' features */
    float *G;               /* (K, K) their Gram matrix F F^T, (m, m) */
    float *gq;              /* (K) F f_q */
    float *colmax, *colsum; /* (K) softmax scratch */
    float *z0t, *zt, *pt;   /* (C, K) base logits, logits, transposed; pt: dZ scratch */
    float *A;               /* (C, K) W - W_base = A F */
    float *db;              /* (C) b - b_base */
    int *ny;                /* (K) the neighbours' labels */
    cl_mlp *head;      /* primal: the adapted layers, reset per query */
};

/* The adapted layers as a model of their own: same shapes, so its
 * parameter block is the tail of net's block from layer fl on. Its initial
 * weights are overwritten per query, so they come from a throw-away
 * generator rather than a caller's stream (which would make the primal
 * form consume that stream differently from the dual one). */
static int make_head(cl_adapt *a, const cl_net_dense *top, int n_top, const cl_net *net)
{
    long hidden[CL_NET_MAX_TOP];
    int nh = 0;
    for (int l = a->fl + 1; l < n_top; l++) hidden[nh++] = top[l].n_in;
    gsl_rng *tmp;
    int rc = cl_rng_new(&tmp, 0, CL_RNG_INIT);
    if (rc) return rc;
    rc = cl_mlp_new(&a->head, top[a->fl].n_in, hidden, nh, a->C, tmp);
    gsl_rng_free(tmp);
    if (rc) return rc;
    /* The chain from fl on must be laid out as an MLP's tail: w, b per
     * layer, up to the end of the block (both built-in networks are). */
    CL_ASSERT(a->head->n_params == net->n_params - a->base_off);
    return 0;
}

int cl_adapt_new(cl_adapt **out, const cl_net *net, int first, int k, int steps, float lr,
                 float lambda, int dual)
{
    *out = NULL;
    cl_net_dense top[CL_NET_MAX_TOP];
    int n_top = cl_net_top(net, top, CL_NET_MAX_TOP);
    CL_ASSERT(first >= 0 && first < n_top && k >= 1);
    cl_adapt *a = calloc(1, sizeof *a);
    if (!a) return cl_error_set(CL_ENOMEM, "out of memory");
    a->fl = first;
    a->base_off = top[first].w_off;
    a->h = top[first].n_in;
    a->C = net->n_out;
    a->K = k;
    a->steps = steps;
    a->lr = lr;
    a->lambda = lambda;
    a->primal = !dual || first < n_top - 1;
    int K = k, C = a->C;
    a->F = malloc((size_t)K * a->h * sizeof *a->F);
    a->G = malloc((size_t)K * K * sizeof *a->G);
    a->gq = malloc((size_t)K * sizeof *a->gq);
    a->colmax = malloc((size_t)K * sizeof *a->colmax);
    a->colsum = malloc((size_t)K * sizeof *a->colsum);
    a->z0t = malloc((size_t)C * K * sizeof *a->z0t);
    a->zt = malloc((size_t)C * K * sizeof *a->zt);
    a->pt = malloc((size_t)C * K * sizeof *a->pt);
    a->A = malloc((size_t)C * K * sizeof *a->A);
    a->db = malloc((size_t)C * sizeof *a->db);
    a->ny = malloc((size_t)K * sizeof *a->ny);
    int rc = 0;
    if (!a->F || !a->G || !a->gq || !a->colmax || !a->colsum || !a->z0t || !a->zt || !a->pt ||
        !a->A || !a->db || !a->ny)
        rc = cl_error_set(CL_ENOMEM, "out of memory");
    if (!rc && a->primal) rc = make_head(a, top, n_top, net);
    if (rc) {
        cl_adapt_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void cl_adapt_free(cl_adapt *a)
{
    if (!a) return;
    void *bufs[] = {a->F, a->G, a->gq, a->colmax, a->colsum, a->z0t,
                    a->zt, a->pt, a->A, a->db, a->ny};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    cl_mlp_free(a->head);
    free(a);
}

size_t cl_adapt_bytes(const cl_adapt *a) { return a->head ? a->head->n_params * sizeof(float) : 0; }

/* ---- dual form ----------------------------------------------------------- */

/* The adaptation loops run once per query and step: hot loops
 * (clbench/hot.h), so predictions do not depend on the CPU. */

/* exp(x) for x <= 0, branch-free so that the softmax loop vectorises
 * (libm's expf does not): Cephes's expf, a reduction by ln 2 (split in two
 * parts) and a degree-6 polynomial, within 1 ulp of exp on [-87, 0]
 * (checked against exp in double on every 7th float there);
 * below -87, where exp(x) < FLT_MIN, it returns exp(-87). A NaN stays NaN
 * (the clamp's comparison is false and NaN propagates through the
 * polynomial). The 2^n scale is built from the bits of the rounding sum
 * t = x log2(e) + 1.5 * 2^23, whose low mantissa bits hold n: integer
 * operations only, in unsigned arithmetic, so no input is undefined. */
static inline float exp_nonpos(float x)
{
    x = x < -87.0f ? -87.0f : x;
    float t = x * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* One SGD step of the dual adaptation (see adapt_dual), every loop along
 * contiguous rows of the (C, m) matrices:
 *   zt (C, m)  = z0t + db + A G      the neighbours' logits, transposed
 *   then, per column k, the softmax over the unmasked classes, and
 *   dZ^T = (P - Y) / m, applied at once:
 *   A <- decay A - lr dZ^T,  db <- decay db - lr sum_k dZ^T.
 * `first` skips A G (A = 0 on the first step). zt, colmax, colsum and dz
 * (m) are scratch. */
CL_HOT static void dual_step(float *restrict zt, const float *restrict z0t,
                             const float *restrict G, float *restrict A, float *restrict db,
                             const int *restrict y, const unsigned char *mask, int C, int m,
                             float decay, float lr, int first, float *restrict colmax,
                             float *restrict colsum, float *restrict dz)
{
    for (int c = 0; c < C; c++) {
        float *z = zt + (size_t)c * m, b = db[c];
        const float *z0 = z0t + (size_t)c * m, *a = A + (size_t)c * m;
        for (int k = 0; k < m; k++) z[k] = z0[k] + b;
        if (first) continue;
        /* Four terms of the sum over j per pass, added as a tree: a quarter
         * of the loads and stores of z and short dependency chains. The
         * expression of each z[k] is fixed, so every clone computes it the
         * same way. */
        int j = 0;
        for (; j + 4 <= m; j += 4) {
            const float *g0 = G + (size_t)j * m, *g1 = g0 + m, *g2 = g1 + m, *g3 = g2 + m;
            float w0 = a[j], w1 = a[j + 1], w2 = a[j + 2], w3 = a[j + 3];
            for (int k = 0; k < m; k++)
                z[k] += (w0 * g0[k] + w1 * g1[k]) + (w2 * g2[k] + w3 * g3[k]);
        }
        for (; j < m; j++) {
            const float *g = G + (size_t)j * m;
            for (int k = 0; k < m; k++) z[k] += a[j] * g[k];
        }
    }
    for (int k = 0; k < m; k++) {
        colmax[k] = -INFINITY;
        colsum[k] = 0.0f;
    }
    for (int c = 0; c < C; c++) {
        if (mask && !mask[c]) continue;
        const float *z = zt + (size_t)c * m;
        for (int k = 0; k < m; k++) colmax[k] = z[k] > colmax[k] ? z[k] : colmax[k];
    }
    for (int c = 0; c < C; c++) {
        if (mask && !mask[c]) continue;
        float *z = zt + (size_t)c * m; /* becomes exp(z - max) */
        for (int k = 0; k < m; k++) {
            z[k] = exp_nonpos(z[k] - colmax[k]);
            colsum[k] += z[k];
        }
    }
    float inv_m = 1.0f / (float)m;
    for (int k = 0; k < m; k++) colsum[k] = inv_m / colsum[k];
    for (int c = 0; c < C; c++) {
        float *a = A + (size_t)c * m;
        if (mask && !mask[c]) { /* dZ = 0 there */
            for (int k = 0; k < m; k++) a[k] = decay * a[k];
            db[c] = decay * db[c];
            continue;
        }
        const float *p = zt + (size_t)c * m;
        for (int k = 0; k < m; k++) {
            dz[k] = p[k] * colsum[k] - (y[k] == c ? inv_m : 0.0f);
            a[k] = decay * a[k] - lr * dz[k];
        }
        float sum = 0.0f;
        for (int k = 0; k < m; k++) sum += dz[k];
        db[c] = decay * db[c] - lr * sum;
    }
}

/* Output-layer adaptation in the dual form (see adapt.h): with
 * W = W_base + A F and b = b_base + db, the neighbour logits are
 * Z^T = Z_base^T + A G + db and an SGD step on
 * mean CE + lambda ||(W, b) - (W_base, b_base)||^2 is
 * A <- (1 - 2 lr lambda) A - lr dZ^T, db <- (1 - 2 lr lambda) db - lr sum_k dZ^T.
 * Adds A (F f_q) + db to the query's base logits zq (C). F, ny and z0t hold
 * the m neighbours (gather). */
static void adapt_dual(cl_adapt *a, int m, const float *fq, const unsigned char *mask, float *zq,
                       double *flops)
{
    int C = a->C, h = a->h;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, m, h, 1.0f, a->F, h, a->F, h, 0.0f,
                a->G, m);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, m, h, 1.0f, a->F, h, fq, 1, 0.0f, a->gq, 1);
    memset(a->A, 0, (size_t)C * m * sizeof(float));
    memset(a->db, 0, (size_t)C * sizeof(float));
    float decay = 1.0f - 2.0f * a->lr * a->lambda, lr = a->lr;
    for (int s = 0; s < a->steps; s++)
        dual_step(a->zt, a->z0t, a->G, a->A, a->db, a->ny, mask, C, m, decay, lr, s == 0,
                  a->colmax, a->colsum, a->pt);
    for (int c = 0; c < C; c++) {
        float acc = a->db[c];
        const float *row = a->A + (size_t)c * m;
        for (int k = 0; k < m; k++) acc += row[k] * a->gq[k];
        zq[c] += acc;
    }
    *flops += 2.0 * m * m * h + 2.0 * m * h + a->steps * (2.0 * C * m * m + 8.0 * C * m) +
              2.0 * C * m;
}

/* ---- primal form --------------------------------------------------------- */

/* The literal form: the adapted layers copied into head, `steps` SGD steps
 * with the pull back to the base, then the query through the copy. Writes
 * the query's logits into zq (C). F and ny hold the m neighbours. */
static int adapt_primal(cl_adapt *a, const cl_net *net, int m, const float *fq,
                        const unsigned char *mask, float *zq, double *flops)
{
    cl_mlp *hn = a->head;
    int C = a->C, rc;
    const float *base = net->params + a->base_off; /* (n_params of head) */
    size_t np = hn->n_params;
    memcpy(hn->params, base, np * sizeof(float));
    double f0 = hn->own_flops;
    float lr = a->lr, two_lambda = 2.0f * a->lambda;
    const float *logits;
    for (int s = 0; s < a->steps; s++) {
        cl_mlp_zero_grad(hn);
        if ((rc = cl_mlp_forward(hn, a->F, m, &logits))) return rc;
        if ((rc = cl_loss_ce(logits, a->ny, m, C, mask, 1.0f, hn->dlogits, NULL))) return rc;
        if ((rc = cl_mlp_backward(hn, hn->dlogits))) return rc;
        for (size_t i = 0; i < np; i++)
            hn->params[i] -= lr * (hn->grads[i] + two_lambda * (hn->params[i] - base[i]));
    }
    if ((rc = cl_mlp_forward(hn, fq, 1, &logits))) return rc;
    memcpy(zq, logits, (size_t)C * sizeof(float));
    *flops += hn->own_flops - f0 + 5.0 * a->steps * (double)np;
    return 0;
}

/* ---- queries ------------------------------------------------------------- */

/* The m neighbours' features into F, labels into ny and, for the dual
 * form, base logits into z0t (C, m), transposed. */
static void gather(cl_adapt *a, const cl_adapt_items *items, const int *nb, int m)
{
    int C = a->C, h = a->h;
    for (int k = 0; k < m; k++) {
        memcpy(a->F + (size_t)k * h, items->feat + (size_t)nb[k] * h, (size_t)h * sizeof(float));
        a->ny[k] = items->y[nb[k]];
        if (a->primal) continue;
        for (int c = 0; c < C; c++) a->z0t[(size_t)c * m + k] = items->z[(size_t)nb[k] * C + c];
    }
}

int cl_adapt_query(cl_adapt *a, const cl_net *net, const cl_adapt_items *items, const int *nb,
                   int m, const float *fq, const unsigned char *mask, float *zq, double *flops)
{
    CL_ASSERT(m >= 1 && m <= a->K);
    gather(a, items, nb, m);
    if (a->primal) return adapt_primal(a, net, m, fq, mask, zq, flops);
    adapt_dual(a, m, fq, mask, zq, flops);
    return 0;
}
