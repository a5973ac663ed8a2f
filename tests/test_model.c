/* The MLP: gradients against finite differences of a double-precision
 * reference forward, the squared-gradient (Fisher) path against a per-sample
 * loop, optimiser steps against hand-computed PyTorch updates, init, clone,
 * workspace growth, the FLOP counter and a plain training step. */
#include <criterion/criterion.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/nn/net.h"
#include "clbench/nn/mlp.h"
#include "clbench/base/rng.h"
#include "clbench/strategies/strategy.h"

static void suite_init(void) { openblas_set_num_threads(1); }

TestSuite(model, .timeout = 30, .init = suite_init);

static const cl_optim_config SGD0 = {.kind = CL_OPTIM_SGD, .lr = 0.1f};

static cl_net *make_model(int n_in, const long *hidden, int n_hidden, int n_out,
                            const cl_optim_config *opt, unsigned long seed)
{
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_INIT), 0);
    cl_net *m;
    cr_assert_eq(cl_net_mlp_new(&m, n_in, hidden, n_hidden, n_out, opt, rng), 0);
    gsl_rng_free(rng);
    return m;
}

static void fill_uniform(gsl_rng *rng, float *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * gsl_rng_uniform(rng));
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    cr_assert_not_null(p);
    return p;
}

/* ---- double-precision reference forward -------------------------------- */

/* Mean masked softmax cross-entropy of the model's current (float) params,
 * evaluated entirely in double. Also reports the smallest |pre-activation| of
 * any hidden unit, writes the hidden units' sign pattern into `pattern`
 * (B * sum hidden, may be NULL) and the logits into `logits` (may be NULL). */
static double ref_loss(const cl_net *m, const float *x, int B, const int *y,
                       const unsigned char *mask, double *min_abs_pre,
                       unsigned char *pattern, double *logits)
{
    double a[1024], z[1024];
    double loss = 0.0, min_pre = INFINITY;
    size_t np = 0;
    int C = cl_net_mlp_of(m)->sizes[cl_net_mlp_of(m)->n_layers];
    for (int n = 0; n < B; n++) {
        int width = cl_net_mlp_of(m)->sizes[0];
        for (int i = 0; i < width; i++) a[i] = x[(size_t)n * width + i];
        for (int l = 0; l < cl_net_mlp_of(m)->n_layers; l++) {
            const cl_layer *L = &cl_net_mlp_of(m)->layers[l];
            cr_assert(L->n_out <= 1024 && L->n_in <= 1024);
            for (int j = 0; j < L->n_out; j++) {
                double s = L->b[j];
                for (int i = 0; i < L->n_in; i++)
                    s += (double)L->w[(size_t)j * L->n_in + i] * a[i];
                z[j] = s;
            }
            if (l + 1 < cl_net_mlp_of(m)->n_layers) {
                for (int j = 0; j < L->n_out; j++) {
                    if (fabs(z[j]) < min_pre) min_pre = fabs(z[j]);
                    if (pattern) pattern[np++] = z[j] > 0.0;
                    a[j] = z[j] > 0.0 ? z[j] : 0.0;
                }
            }
        }
        double mx = -INFINITY;
        for (int j = 0; j < C; j++)
            if ((!mask || mask[j]) && z[j] > mx) mx = z[j];
        double s = 0.0;
        for (int j = 0; j < C; j++)
            if (!mask || mask[j]) s += exp(z[j] - mx);
        if (y) loss += mx + log(s) - z[y[n]];
        if (logits)
            for (int j = 0; j < C; j++) logits[(size_t)n * C + j] = z[j];
    }
    if (min_abs_pre) *min_abs_pre = min_pre;
    return loss / B;
}

static int hidden_units(const cl_net *m)
{
    int s = 0;
    for (int l = 1; l < cl_net_mlp_of(m)->n_layers; l++) s += cl_net_mlp_of(m)->sizes[l];
    return s;
}

/* ---- 1. finite-difference gradient check ------------------------------- */

enum { GC_IN = 7, GC_OUT = 4, GC_B = 3 };
static const long GC_HIDDEN[] = {6, 5};
/* Perturbing one parameter by H moves a pre-activation by far less than
 * MARGIN (|inputs| <= 1, |weights| <= 1/sqrt(fan_in)), so no ReLU changes
 * side during the central difference; the sign pattern is checked anyway. */
#define GC_H 1e-3f
#define GC_MARGIN 0.02

typedef struct gc_case {
    cl_net *m;
    float x[GC_B * GC_IN];
    int y[GC_B];
    unsigned long seed;
} gc_case;

/* Deterministically regenerates (model, data) from seeds 1, 2, ... until no
 * hidden pre-activation lies within GC_MARGIN of the ReLU kink. */
static void gc_make(gc_case *c, const unsigned char *mask)
{
    for (unsigned long seed = 1; seed < 1000; seed++) {
        c->m = make_model(GC_IN, GC_HIDDEN, 2, GC_OUT, &SGD0, seed);
        gsl_rng *rng;
        cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_DATA), 0);
        fill_uniform(rng, c->x, GC_B * GC_IN, -1.0, 1.0);
        for (int n = 0; n < GC_B; n++) {
            do c->y[n] = (int)cl_rng_below(rng, GC_OUT);
            while (mask && !mask[c->y[n]]);
        }
        gsl_rng_free(rng);
        double min_pre;
        ref_loss(c->m, c->x, GC_B, c->y, mask, &min_pre, NULL, NULL);
        if (min_pre > GC_MARGIN) {
            c->seed = seed;
            return;
        }
        cl_net_free(c->m);
    }
    cr_assert_fail("no seed below 1000 keeps pre-activations off the kink");
}

/* Compares every analytic gradient with a central difference of the double
 * reference loss; returns the largest relative error. */
static double gc_check(gc_case *c, const unsigned char *mask)
{
    cl_net *m = c->m;
    const float *logits;
    float dl[GC_B * GC_OUT];
    double loss;
    cr_assert_eq(cl_net_forward(m, c->x, GC_B, &logits), 0);

    /* The model's forward agrees with the reference forward. */
    double ref_logits[GC_B * GC_OUT];
    double ref = ref_loss(m, c->x, GC_B, c->y, mask, NULL, NULL, ref_logits);
    for (int i = 0; i < GC_B * GC_OUT; i++)
        cr_assert(fabs(logits[i] - ref_logits[i]) <= 1e-5,
                  "logit %d: %.9g vs reference %.9g", i, logits[i], ref_logits[i]);

    cr_assert_eq(cl_loss_ce(logits, c->y, GC_B, GC_OUT, mask, 1.0f, dl, &loss), 0);
    cr_assert(fabs(loss - ref) <= 1e-6, "loss %.9g vs reference %.9g", loss, ref);
    cl_net_zero_grad(m);
    cr_assert_eq(cl_net_backward(m, dl), 0);

    int nh = hidden_units(m);
    unsigned char *pat0 = xcalloc((size_t)GC_B * nh, 1);
    unsigned char *pat = xcalloc((size_t)GC_B * nh, 1);
    ref_loss(m, c->x, GC_B, c->y, mask, NULL, pat0, NULL);

    double worst = 0.0;
    size_t worst_k = 0;
    for (size_t k = 0; k < m->n_params; k++) {
        float p = m->params[k];
        m->params[k] = p + GC_H;
        double hp = (double)m->params[k] - p; /* the step float could take */
        double lp = ref_loss(m, c->x, GC_B, c->y, mask, NULL, pat, NULL);
        cr_assert(memcmp(pat, pat0, (size_t)GC_B * nh) == 0,
                  "param %zu: +h flips a ReLU", k);
        m->params[k] = p - GC_H;
        double hm = p - (double)m->params[k];
        double lm = ref_loss(m, c->x, GC_B, c->y, mask, NULL, pat, NULL);
        cr_assert(memcmp(pat, pat0, (size_t)GC_B * nh) == 0,
                  "param %zu: -h flips a ReLU", k);
        m->params[k] = p;
        double num = (lp - lm) / (hp + hm);
        double ana = m->grads[k];
        double rel = fabs(ana - num) / fmax(1e-3, fabs(ana) + fabs(num));
        if (rel > worst) {
            worst = rel;
            worst_k = k;
        }
    }
    cr_assert(worst <= 1e-3, "seed %lu: max relative error %.3g at param %zu "
              "(analytic %.9g)", c->seed, worst, worst_k, m->grads[worst_k]);
    cr_log_info("seed %lu: max relative error %.3g", c->seed, worst);
    free(pat0);
    free(pat);
    return worst;
}

Test(model, gradient_matches_finite_differences)
{
    gc_case c;
    gc_make(&c, NULL);
    gc_check(&c, NULL);
    /* The check is not vacuous: the gradient is far from zero. */
    double norm = 0.0;
    for (size_t k = 0; k < c.m->n_params; k++) norm += fabs(c.m->grads[k]);
    cr_assert(norm > 0.1, "gradient L1 norm %g", norm);
    cl_net_free(c.m);
}

Test(model, gradient_with_class_mask)
{
    const unsigned char mask[GC_OUT] = {1, 0, 1, 0};
    gc_case c;
    gc_make(&c, mask);
    gc_check(&c, mask);
    /* Masked output units get exactly zero weight and bias gradients. */
    const cl_layer *L = &cl_net_mlp_of(c.m)->layers[cl_net_mlp_of(c.m)->n_layers - 1];
    for (int j = 0; j < GC_OUT; j++) {
        if (mask[j]) continue;
        for (int i = 0; i < L->n_in; i++)
            cr_assert(L->dw[(size_t)j * L->n_in + i] == 0.0f,
                      "masked unit %d: dW[%d] = %g", j, i, L->dw[(size_t)j * L->n_in + i]);
        cr_assert(L->db[j] == 0.0f, "masked unit %d: db = %g", j, L->db[j]);
    }
    /* ...while unmasked ones do not. */
    double live = 0.0;
    for (int i = 0; i < L->n_in; i++) live += fabs(L->dw[i]) + fabs(L->dw[2 * L->n_in + i]);
    cr_assert(live > 0.0);
    cl_net_free(c.m);
}

/* ---- 2. squared-gradient (Fisher) path --------------------------------- */

Test(model, squared_backward_is_sum_of_per_sample_squares)
{
    enum { D = 10, C = 5, B = 17 };
    const long hidden[] = {12, 9};
    cl_net *m = make_model(D, hidden, 2, C, &SGD0, 11);
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 11, CL_RNG_DATA), 0);
    float x[B * D];
    int y[B];
    fill_uniform(rng, x, B * D, -1.0, 1.0);
    for (int n = 0; n < B; n++) y[n] = (int)cl_rng_below(rng, C);
    gsl_rng_free(rng);

    size_t P = m->n_params;
    double *ref = xcalloc(P, sizeof *ref);
    float *one = xcalloc(P, sizeof *one);
    float *fisher = xcalloc(P, sizeof *fisher);
    float dl[B * C];
    const float *logits;

    /* Brute force: one sample at a time, gradient of its own loss. */
    for (int n = 0; n < B; n++) {
        cr_assert_eq(cl_net_forward(m, x + n * D, 1, &logits), 0);
        cr_assert_eq(cl_loss_ce(logits, &y[n], 1, C, NULL, 1.0f, dl, NULL), 0);
        memset(one, 0, P * sizeof *one);
        cr_assert_eq(cl_net_backward_into(m, dl, one, 0), 0);
        for (size_t k = 0; k < P; k++) ref[k] += (double)one[k] * one[k];
    }

    /* One batched pass with per-sample dlogits (scale = B). */
    cl_net_zero_grad(m);
    cr_assert_eq(cl_net_forward(m, x, B, &logits), 0);
    cr_assert_eq(cl_loss_ce(logits, y, B, C, NULL, (float)B, dl, NULL), 0);
    cr_assert_eq(cl_net_backward_into(m, dl, fisher, 1), 0);

    double refmax = 0.0;
    for (size_t k = 0; k < P; k++) refmax = fmax(refmax, ref[k]);
    cr_assert(refmax > 1e-3, "reference Fisher is ~0 (%g)", refmax);
    const double floor = 1e-12;
    size_t nonzero = 0;
    for (size_t k = 0; k < P; k++) {
        double rel = fabs(fisher[k] - ref[k]) / fmax(fabs(ref[k]), floor);
        cr_assert(rel <= 1e-5, "entry %zu: batched %.9g vs per-sample %.9g (rel %.3g)",
                  k, fisher[k], ref[k], rel);
        nonzero += ref[k] > 0.0;
    }
    cr_assert(nonzero > P / 2, "only %zu of %zu Fisher entries are non-zero", nonzero, P);
    /* It wrote into target only. */
    for (size_t k = 0; k < P; k++) cr_assert(m->grads[k] == 0.0f);

    /* A second call adds on top. */
    cr_assert_eq(cl_net_backward_into(m, dl, fisher, 1), 0);
    for (size_t k = 0; k < P; k++)
        cr_assert(fabs(fisher[k] - 2.0 * ref[k]) <= 1e-5 * fmax(2.0 * ref[k], floor),
                  "entry %zu after two calls: %.9g vs %.9g", k, fisher[k], 2.0 * ref[k]);

    free(ref);
    free(one);
    free(fisher);
    cl_net_free(m);
}

/* ---- 3. accumulation ---------------------------------------------------- */

Test(model, backward_accumulates)
{
    enum { D = 8, C = 3, B = 6 };
    const long hidden[] = {7};
    cl_net *m = make_model(D, hidden, 1, C, &SGD0, 3);
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 3, CL_RNG_DATA), 0);
    float x[B * D], dl[B * C];
    int y[B];
    fill_uniform(rng, x, B * D, -1.0, 1.0);
    for (int n = 0; n < B; n++) y[n] = (int)cl_rng_below(rng, C);
    gsl_rng_free(rng);

    const float *logits;
    cr_assert_eq(cl_net_forward(m, x, B, &logits), 0);
    cr_assert_eq(cl_loss_ce(logits, y, B, C, NULL, 1.0f, dl, NULL), 0);
    for (size_t k = 0; k < m->n_params; k++) m->grads[k] = 123.0f; /* stale */
    cl_net_zero_grad(m);
    for (size_t k = 0; k < m->n_params; k++) cr_assert(m->grads[k] == 0.0f);
    cr_assert_eq(cl_net_backward(m, dl), 0);
    float *g1 = xcalloc(m->n_params, sizeof *g1);
    memcpy(g1, m->grads, m->n_params * sizeof *g1);
    cr_assert_eq(cl_net_backward(m, dl), 0);
    double norm = 0.0;
    for (size_t k = 0; k < m->n_params; k++) {
        norm += fabs(g1[k]);
        cr_assert(fabs(m->grads[k] - 2.0 * g1[k]) <= 1e-6 * fabs(g1[k]) + 1e-12,
                  "param %zu: %.9g after two passes, %.9g after one", k,
                  m->grads[k], g1[k]);
    }
    cr_assert(norm > 0.01);
    free(g1);
    cl_net_free(m);
}

/* ---- 4. optimiser steps -------------------------------------------------- */

/* A 2 -> 1 linear model: params w0, w1, b. */
static cl_net *tiny(const cl_optim_config *opt)
{
    cl_net *m = make_model(2, NULL, 0, 1, opt, 1);
    cr_assert_eq(m->n_params, 3);
    return m;
}

static const float P0[3] = {0.5f, -1.25f, 0.75f};
static const float G1[3] = {0.2f, -0.4f, 1.5f};
static const float G2[3] = {-0.3f, 0.1f, 0.05f};

/* PyTorch torch.optim.Adam (amsgrad off) in double. */
static void adam_ref(const cl_optim_config *o, double *p, double *mm, double *vv,
                     const float *g, int t)
{
    double b1 = o->beta1, b2 = o->beta2;
    for (int i = 0; i < 3; i++) {
        double gi = (double)g[i] + (double)o->weight_decay * p[i];
        mm[i] = b1 * mm[i] + (1.0 - b1) * gi;
        vv[i] = b2 * vv[i] + (1.0 - b2) * gi * gi;
        double mhat = mm[i] / (1.0 - pow(b1, t));
        double denom = sqrt(vv[i]) / sqrt(1.0 - pow(b2, t)) + (double)o->eps;
        p[i] -= (double)o->lr * mhat / denom;
    }
}

/* PyTorch torch.optim.SGD with momentum (dampening 0, no Nesterov). */
static void sgd_ref(const cl_optim_config *o, double *p, double *buf,
                    const float *g, int t)
{
    for (int i = 0; i < 3; i++) {
        double gi = (double)g[i] + (double)o->weight_decay * p[i];
        if (o->momentum != 0.0f) {
            buf[i] = t == 1 ? gi : (double)o->momentum * buf[i] + gi;
            gi = buf[i];
        }
        p[i] -= (double)o->lr * gi;
    }
}

#define CLOSE(a, b, tol, ...) cr_assert(fabs((double)(a) - (double)(b)) <= (tol), __VA_ARGS__)

Test(model, adam_two_steps_match_pytorch)
{
    const cl_optim_config o = {.kind = CL_OPTIM_ADAM, .lr = 0.01f, .beta1 = 0.9f,
                               .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f};
    cl_net *m = tiny(&o);
    memcpy(m->params, P0, sizeof P0);
    double p[3], mm[3] = {0}, vv[3] = {0};
    for (int i = 0; i < 3; i++) p[i] = P0[i];

    memcpy(m->grads, G1, sizeof G1);
    cl_net_step(m);
    adam_ref(&o, p, mm, vv, G1, 1);
    cr_assert_eq(m->opt_t, 1);
    for (int i = 0; i < 3; i++) {
        CLOSE(m->params[i], p[i], 1e-6, "step 1 p[%d] = %.9g, want %.9g", i, m->params[i], p[i]);
        /* The first Adam step moves every parameter by about lr. */
        CLOSE(fabs(m->params[i] - P0[i]), o.lr, 1e-4, "step 1 |dp[%d]|", i);
    }

    memcpy(m->grads, G2, sizeof G2);
    cl_net_step(m);
    adam_ref(&o, p, mm, vv, G2, 2);
    cr_assert_eq(m->opt_t, 2);
    for (int i = 0; i < 3; i++) {
        CLOSE(m->params[i], p[i], 1e-6, "step 2 p[%d] = %.9g, want %.9g", i, m->params[i], p[i]);
        CLOSE(m->opt_m[i], mm[i], 1e-6 * fabs(mm[i]) + 1e-9, "m[%d] = %.9g, want %.9g", i, m->opt_m[i], mm[i]);
        CLOSE(m->opt_v[i], vv[i], 1e-5 * fabs(vv[i]) + 1e-12, "v[%d] = %.9g, want %.9g", i, m->opt_v[i], vv[i]);
    }

    /* Reset: state cleared, the next step is a first step from here. */
    cl_net_reset_optim(m);
    cr_assert_eq(m->opt_t, 0);
    for (int i = 0; i < 3; i++) cr_assert(m->opt_m[i] == 0.0f && m->opt_v[i] == 0.0f);
    cl_net *fresh = tiny(&o);
    memcpy(fresh->params, m->params, sizeof P0);
    memcpy(fresh->grads, G2, sizeof G2);
    memcpy(m->grads, G2, sizeof G2);
    double q[3], qm[3] = {0}, qv[3] = {0};
    for (int i = 0; i < 3; i++) q[i] = m->params[i];
    cl_net_step(m);
    cl_net_step(fresh);
    adam_ref(&o, q, qm, qv, G2, 1);
    cr_assert(memcmp(m->params, fresh->params, sizeof P0) == 0);
    for (int i = 0; i < 3; i++)
        CLOSE(m->params[i], q[i], 1e-6, "after reset p[%d] = %.9g, want %.9g", i, m->params[i], q[i]);
    cl_net_free(fresh);
    cl_net_free(m);
}

Test(model, sgd_momentum_two_steps_match_pytorch)
{
    const cl_optim_config o = {.kind = CL_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f,
                               .weight_decay = 0.05f};
    cl_net *m = tiny(&o);
    memcpy(m->params, P0, sizeof P0);
    double p[3], buf[3] = {0};
    for (int i = 0; i < 3; i++) p[i] = P0[i];

    /* Step 1 by hand for p[0]: g = 0.2 + 0.05*0.5 = 0.225; buf = 0.225;
     * p = 0.5 - 0.1*0.225 = 0.4775. */
    memcpy(m->grads, G1, sizeof G1);
    cl_net_step(m);
    sgd_ref(&o, p, buf, G1, 1);
    CLOSE(m->params[0], 0.4775, 1e-6, "p[0] = %.9g", m->params[0]);
    for (int i = 0; i < 3; i++)
        CLOSE(m->params[i], p[i], 1e-6, "step 1 p[%d] = %.9g, want %.9g", i, m->params[i], p[i]);

    /* Step 2 for p[0]: g = -0.3 + 0.05*0.4775 = -0.276125;
     * buf = 0.9*0.225 - 0.276125 = -0.073625; p = 0.4775 + 0.0073625 = 0.4848625. */
    memcpy(m->grads, G2, sizeof G2);
    cl_net_step(m);
    sgd_ref(&o, p, buf, G2, 2);
    CLOSE(m->params[0], 0.4848625, 1e-6, "p[0] = %.9g", m->params[0]);
    for (int i = 0; i < 3; i++) {
        CLOSE(m->params[i], p[i], 1e-6, "step 2 p[%d] = %.9g, want %.9g", i, m->params[i], p[i]);
        CLOSE(m->opt_m[i], buf[i], 1e-6, "buf[%d] = %.9g, want %.9g", i, m->opt_m[i], buf[i]);
    }

    /* Reset: the next step copies the gradient into the buffer again. */
    cl_net_reset_optim(m);
    cr_assert_eq(m->opt_t, 0);
    for (int i = 0; i < 3; i++) cr_assert(m->opt_m[i] == 0.0f);
    memcpy(m->grads, G1, sizeof G1);
    double q[3], qb[3] = {0};
    for (int i = 0; i < 3; i++) q[i] = m->params[i];
    cl_net_step(m);
    sgd_ref(&o, q, qb, G1, 1);
    for (int i = 0; i < 3; i++) {
        CLOSE(m->params[i], q[i], 1e-6, "after reset p[%d] = %.9g, want %.9g", i, m->params[i], q[i]);
        CLOSE(m->opt_m[i], qb[i], 1e-6, "after reset buf[%d]", i);
    }
    cl_net_free(m);
}

Test(model, sgd_without_momentum)
{
    const cl_optim_config o = {.kind = CL_OPTIM_SGD, .lr = 0.5f, .weight_decay = 0.0f};
    cl_net *m = tiny(&o);
    memcpy(m->params, P0, sizeof P0);
    memcpy(m->grads, G1, sizeof G1);
    cl_net_step(m);
    cl_net_step(m);
    /* p - 2 * lr * g: 0.5 - 0.2 = 0.3, -1.25 + 0.4 = -0.85, 0.75 - 1.5 = -0.75 */
    CLOSE(m->params[0], 0.3, 1e-6, "p[0] = %.9g", m->params[0]);
    CLOSE(m->params[1], -0.85, 1e-6, "p[1] = %.9g", m->params[1]);
    CLOSE(m->params[2], -0.75, 1e-6, "p[2] = %.9g", m->params[2]);
    cl_net_free(m);
}

/* The optimiser loops are vectorised (-O3, an AVX2 clone): on 994
 * parameters, which run their vector bodies and remainders, three steps
 * give every parameter and moment bit for bit what the scalar float
 * formulas below give (this file is compiled at -O2), so vectorisation
 * changed no arithmetic. */
static void optim_ref(const cl_optim_config *o, long t0, float *p, float *mm, float *vv,
                      const float *g, size_t n)
{
    if (o->kind == CL_OPTIM_ADAM) {
        double t = (double)(t0 + 1);
        float step = (float)(o->lr / (1.0 - pow(o->beta1, t)));
        float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(o->beta2, t)));
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + o->weight_decay * p[i];
            mm[i] = o->beta1 * mm[i] + (1.0f - o->beta1) * gi;
            vv[i] = o->beta2 * vv[i] + (1.0f - o->beta2) * gi * gi;
            p[i] -= step * mm[i] / (sqrtf(vv[i]) * inv_sqrt_bc2 + o->eps);
        }
        return;
    }
    float keep = t0 == 0 ? 0.0f : o->momentum;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + o->weight_decay * p[i];
        mm[i] = keep * mm[i] + gi;
        p[i] -= o->lr * mm[i];
    }
}

Test(model, optimiser_vector_path_is_exact)
{
    const cl_optim_config cfgs[2] = {
        {.kind = CL_OPTIM_ADAM, .lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
         .weight_decay = 0.1f},
        {.kind = CL_OPTIM_SGD, .lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f}};
    const long hidden[] = {23};
    for (int c = 0; c < 2; c++) {
        cl_net *m = make_model(37, hidden, 1, 5, &cfgs[c], 3);
        size_t n = m->n_params;
        cr_assert_eq(n, 994);
        float *p = xcalloc(n, sizeof *p), *mm = xcalloc(n, sizeof *mm);
        float *vv = xcalloc(n, sizeof *vv);
        memcpy(p, m->params, n * sizeof *p);
        gsl_rng *rng;
        cr_assert_eq(cl_rng_new(&rng, 5, CL_RNG_DATA), 0);
        for (int t = 0; t < 3; t++) {
            fill_uniform(rng, m->grads, n, -1.0, 1.0);
            optim_ref(&cfgs[c], m->opt_t, p, mm, vv, m->grads, n);
            cl_net_step(m);
            cr_assert(memcmp(m->params, p, n * sizeof *p) == 0, "%s step %d: params differ",
                      c ? "sgd" : "adam", t + 1);
            cr_assert(memcmp(m->opt_m, mm, n * sizeof *mm) == 0, "step %d: first moment", t + 1);
            if (c == 0)
                cr_assert(memcmp(m->opt_v, vv, n * sizeof *vv) == 0, "step %d: second moment",
                          t + 1);
        }
        gsl_rng_free(rng);
        free(p);
        free(mm);
        free(vv);
        cl_net_free(m);
    }
}

/* ---- 5. init ------------------------------------------------------------- */

Test(model, init_is_pytorch_linear_default)
{
    const long hidden[] = {400};
    cl_net *m = make_model(784, hidden, 1, 10, &SGD0, 42);
    for (int l = 0; l < cl_net_mlp_of(m)->n_layers; l++) {
        const cl_layer *L = &cl_net_mlp_of(m)->layers[l];
        float bound = (float)(1.0 / sqrt((double)L->n_in));
        size_t nw = (size_t)L->n_in * L->n_out;
        double s = 0.0, s2 = 0.0, mx = 0.0;
        for (size_t i = 0; i < nw; i++) {
            cr_assert(fabsf(L->w[i]) <= bound, "layer %d w[%zu] = %g beyond %g",
                      l, i, L->w[i], bound);
            s += L->w[i];
            s2 += (double)L->w[i] * L->w[i];
            mx = fmax(mx, fabsf(L->w[i]));
        }
        int bias_nonzero = 0;
        for (int j = 0; j < L->n_out; j++) {
            cr_assert(fabsf(L->b[j]) <= bound, "layer %d b[%d] = %g beyond %g",
                      l, j, L->b[j], bound);
            bias_nonzero += L->b[j] != 0.0f;
        }
        cr_assert(bias_nonzero > L->n_out / 2, "layer %d: biases are not drawn", l);
        /* The range is used up to its edge, not a narrower one. */
        cr_assert(mx > 0.95 * bound, "layer %d: max |w| %g vs bound %g", l, mx, bound);
        if (l == 0) {
            double mean = s / nw;
            double sd = sqrt(s2 / nw - mean * mean);
            double want = bound / sqrt(3.0);
            cr_assert(fabs(sd - want) <= 0.02 * want, "std %g, want %g", sd, want);
            cr_assert(fabs(mean) <= 0.01 * bound, "mean %g", mean);
        }
    }

    cl_net *same = make_model(784, hidden, 1, 10, &SGD0, 42);
    cl_net *other = make_model(784, hidden, 1, 10, &SGD0, 43);
    cr_assert_eq(same->n_params, m->n_params);
    cr_assert(memcmp(same->params, m->params, cl_net_param_bytes(m)) == 0,
              "same seed gave different weights");
    size_t equal = 0;
    for (size_t k = 0; k < m->n_params; k++) equal += other->params[k] == m->params[k];
    cr_assert(equal < m->n_params / 100, "seeds 42 and 43 share %zu of %zu weights",
              equal, m->n_params);
    /* Grads and optimiser state start at zero. */
    for (size_t k = 0; k < m->n_params; k++)
        cr_assert(m->grads[k] == 0.0f && m->opt_m[k] == 0.0f && m->opt_v[k] == 0.0f);
    cr_assert_eq(m->opt_t, 0);
    cl_net_free(other);
    cl_net_free(same);
    cl_net_free(m);
}

/* ---- 6. clone ------------------------------------------------------------ */

Test(model, clone_is_exact_and_independent)
{
    enum { D = 6, C = 3, B = 5 };
    const long hidden[] = {8, 5};
    const cl_optim_config o = {.kind = CL_OPTIM_ADAM, .lr = 0.01f, .beta1 = 0.9f,
                               .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};
    cl_net *src = make_model(D, hidden, 2, C, &o, 5);
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 5, CL_RNG_DATA), 0);
    float x[B * D], dl[B * C];
    int y[B];
    fill_uniform(rng, x, B * D, -1.0, 1.0);
    for (int n = 0; n < B; n++) y[n] = (int)cl_rng_below(rng, C);
    gsl_rng_free(rng);
    const float *logits;
    for (int s = 0; s < 2; s++) {
        cl_net_zero_grad(src);
        cr_assert_eq(cl_net_forward(src, x, B, &logits), 0);
        cr_assert_eq(cl_loss_ce(logits, y, B, C, NULL, 1.0f, dl, NULL), 0);
        cr_assert_eq(cl_net_backward(src, dl), 0);
        cl_net_step(src);
    }

    cl_net *cl;
    cr_assert_eq(cl_net_clone(&cl, src), 0);
    size_t bytes = cl_net_param_bytes(src);
    cr_assert_eq(cl->n_params, src->n_params);
    cr_assert_eq(cl_net_mlp_of(cl)->n_layers, cl_net_mlp_of(src)->n_layers);
    cr_assert(memcmp(cl_net_mlp_of(cl)->sizes, cl_net_mlp_of(src)->sizes, sizeof cl_net_mlp_of(src)->sizes) == 0);
    cr_assert(memcmp(&cl->opt, &src->opt, sizeof src->opt) == 0);
    cr_assert(cl->params != src->params && cl->opt_m != src->opt_m);
    cr_assert(memcmp(cl->params, src->params, bytes) == 0);
    cr_assert(memcmp(cl->grads, src->grads, bytes) == 0);
    cr_assert(memcmp(cl->opt_m, src->opt_m, bytes) == 0);
    cr_assert(memcmp(cl->opt_v, src->opt_v, bytes) == 0);
    cr_assert_eq(cl->opt_t, 2);
    for (int l = 0; l < cl_net_mlp_of(cl)->n_layers; l++) {
        cr_assert(cl_net_mlp_of(cl)->layers[l].w == cl->params + cl_net_mlp_of(cl)->layers[l].offset);
        cr_assert(cl_net_mlp_of(cl)->layers[l].dw == cl->grads + cl_net_mlp_of(cl)->layers[l].offset);
        cr_assert_eq(cl_net_mlp_of(cl)->layers[l].offset, cl_net_mlp_of(src)->layers[l].offset);
    }

    /* Same forward, bit for bit. */
    const float *lc;
    cr_assert_eq(cl_net_forward(src, x, B, &logits), 0);
    cr_assert_eq(cl_net_forward(cl, x, B, &lc), 0);
    cr_assert(logits != lc);
    cr_assert(memcmp(logits, lc, sizeof(float) * B * C) == 0);

    /* The clone's next step matches what the source's would be. */
    float *src_params = xcalloc(src->n_params, sizeof(float));
    float *src_m = xcalloc(src->n_params, sizeof(float));
    memcpy(src_params, src->params, bytes);
    memcpy(src_m, src->opt_m, bytes);
    cl_net_step(cl);
    cr_assert(memcmp(cl->params, src_params, bytes) != 0, "the clone's step did nothing");
    cr_assert(memcmp(src->params, src_params, bytes) == 0, "stepping the clone changed the source");
    cr_assert(memcmp(src->opt_m, src_m, bytes) == 0, "stepping the clone changed the source's state");
    cr_assert_eq(src->opt_t, 2);
    /* And the other way. */
    float before = cl->params[0];
    src->params[0] += 1.0f;
    cr_assert(cl->params[0] == before);
    free(src_params);
    free(src_m);
    cl_net_free(cl);
    cl_net_free(src);
}

/* ---- 7. workspace growth ------------------------------------------------- */

Test(model, workspace_growth_keeps_results)
{
    enum { D = 20, C = 7, BIG = 100 };
    const long hidden[] = {30, 16};
    cl_net *m = make_model(D, hidden, 2, C, &SGD0, 9);
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 9, CL_RNG_DATA), 0);
    float *x = xcalloc((size_t)BIG * D, sizeof *x);
    fill_uniform(rng, x, (size_t)BIG * D, -1.0, 1.0);
    gsl_rng_free(rng);

    const float *lg;
    float first[3 * C];
    cr_assert_eq(cl_net_forward(m, x, 3, &lg), 0);
    memcpy(first, lg, sizeof first);
    int cap_small = m->cap;
    cr_assert(cap_small >= 3);

    cr_assert_eq(cl_net_forward(m, x, BIG, &lg), 0);
    cr_assert(m->cap >= BIG && m->cap > cap_small);
    /* OpenBLAS may block and vectorise an M=3 and an M=100 sgemm differently,
     * so the same row may differ in the last bits between the two; 1e-6
     * relative bounds that and still catches any wrong or stale row. */
    for (int i = 0; i < 3 * C; i++)
        cr_assert(fabs(lg[i] - first[i]) <= 1e-6 * fmax(1.0, fabs(first[i])),
                  "logit %d: %.9g at B=%d, %.9g at B=3", i, lg[i], BIG, first[i]);
    /* Every row of the big batch is right, not only the first three. */
    double *ref = xcalloc((size_t)BIG * C, sizeof *ref);
    ref_loss(m, x, BIG, NULL, NULL, NULL, NULL, ref);
    for (int i = 0; i < BIG * C; i++)
        cr_assert(fabs(lg[i] - ref[i]) <= 1e-5, "row %d: %.9g vs reference %.9g",
                  i / C, lg[i], ref[i]);

    /* Back to B=3 in the grown workspace: the same sgemm shapes, so the
     * same bits as the first call. */
    cr_assert_eq(cl_net_forward(m, x, 3, &lg), 0);
    cr_assert(memcmp(lg, first, sizeof first) == 0);
    cr_assert_eq(m->batch, 3);

    free(ref);
    free(x);
    cl_net_free(m);
}

/* ---- 8. FLOP counter ----------------------------------------------------- */

Test(model, forward_flops)
{
    const long hidden[] = {6, 5};
    cl_net *m = make_model(7, hidden, 2, 4, &SGD0, 1);
    float x[9 * 7] = {0};
    const float *lg;
    /* sum(in * out) = 7*6 + 6*5 + 5*4 = 42 + 30 + 20 = 92 */
    const int Bs[] = {1, 9, 3};
    for (size_t i = 0; i < sizeof Bs / sizeof Bs[0]; i++) {
        double before = m->flops;
        cr_assert_eq(cl_net_forward(m, x, Bs[i], &lg), 0);
        cr_assert(m->flops - before == 2.0 * Bs[i] * 92,
                  "B=%d: %.17g flops, want %d", Bs[i], m->flops - before, 2 * Bs[i] * 92);
    }
    cl_net_free(m);
}

/* ---- 9. a plain training step ------------------------------------------- */

enum { TOY_N = 40, TOY_D = 2, TOY_C = 4 };

static void toy_data(float *x, int *y)
{
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 17, CL_RNG_DATA), 0);
    /* Two well-separated blobs at (-1.5, -1.5) (class 0) and (1.5, 1.5) (class 1). */
    for (int n = 0; n < TOY_N; n++) {
        y[n] = n & 1;
        double c = y[n] ? 1.5 : -1.5;
        x[n * 2] = (float)(c + gsl_rng_uniform(rng) - 0.5);
        x[n * 2 + 1] = (float)(c + gsl_rng_uniform(rng) - 0.5);
    }
    gsl_rng_free(rng);
}

static double toy_loss(cl_net *m, const cl_batch *b, int *correct)
{
    const float *lg;
    float dl[TOY_N * TOY_C];
    double loss;
    cr_assert_eq(cl_net_forward(m, b->x, b->n, &lg), 0);
    cr_assert_eq(cl_loss_ce(lg, b->y, b->n, TOY_C, b->mask, 1.0f, dl, &loss), 0);
    *correct = 0;
    for (int n = 0; n < b->n; n++)
        *correct += cl_argmax(lg + n * TOY_C, TOY_C, b->mask) == b->y[n];
    return loss;
}

Test(model, sgd_step_reduces_loss)
{
    float x[TOY_N * TOY_D];
    int y[TOY_N];
    toy_data(x, y);
    const unsigned char mask[TOY_C] = {1, 1, 0, 0};
    const cl_optim_config o = {.kind = CL_OPTIM_SGD, .lr = 0.05f, .momentum = 0.9f};
    const long hidden[] = {8};
    for (int masked = 0; masked <= 1; masked++) {
        cl_net *m = make_model(TOY_D, hidden, 1, TOY_C, &o, 17);
        cl_batch b = {.x = x, .y = y, .n = TOY_N, .d = TOY_D, .task = 0,
                      .n_classes = TOY_C, .mask = masked ? mask : NULL};
        const cl_layer *out = &cl_net_mlp_of(m)->layers[cl_net_mlp_of(m)->n_layers - 1];
        float frozen[2 * 8 + 2];
        memcpy(frozen, out->w + 2 * 8, 2 * 8 * sizeof(float));
        memcpy(frozen + 16, out->b + 2, 2 * sizeof(float));

        int correct;
        double l0 = toy_loss(m, &b, &correct);
        for (int s = 0; s < 50; s++) cr_assert_eq(cl_strategy_sgd_step(m, &b), 0);
        double l1 = toy_loss(m, &b, &correct);
        cr_assert(l1 < 0.25 * l0, "masked=%d: loss %.4g -> %.4g", masked, l0, l1);
        cr_assert_eq(correct, TOY_N, "masked=%d: %d of %d right", masked, correct, TOY_N);
        cr_assert_eq(m->opt_t, 50);
        if (masked) {
            /* Units outside the mask get no gradient, so SGD never moves them. */
            cr_assert(memcmp(frozen, out->w + 2 * 8, 2 * 8 * sizeof(float)) == 0);
            cr_assert(memcmp(frozen + 16, out->b + 2, 2 * sizeof(float)) == 0);
        }
        cl_net_free(m);
    }
}

Test(model, sgd_step_reports_divergence_without_stepping)
{
    const long hidden[] = {4};
    cl_net *m = make_model(2, hidden, 1, 2, &SGD0, 2);
    /* A NaN output bias makes that logit, hence the loss, NaN. */
    cl_net_mlp_of(m)->layers[1].b[0] = NAN;
    float x[2 * 2] = {0.5f, -0.5f, 0.25f, 1.0f};
    int y[2] = {0, 1};
    cl_batch b = {.x = x, .y = y, .n = 2, .d = 2, .n_classes = 2};
    float *before = xcalloc(m->n_params, sizeof(float));
    memcpy(before, m->params, cl_net_param_bytes(m));
    cr_assert_eq(cl_strategy_sgd_step(m, &b), CL_EDIVERGED);
    cr_assert(memcmp(before, m->params, cl_net_param_bytes(m)) == 0);
    cr_assert_eq(m->opt_t, 0);
    free(before);
    cl_net_free(m);
}
