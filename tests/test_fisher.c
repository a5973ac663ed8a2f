/* Diagonal Fisher estimation: each batched estimator against a brute-force
 * per-sample loop (one sample forward/backward at a time, gradient squared
 * and accumulated in double), with and without a class mask, across chunk
 * boundaries; the random subset; non-negativity; the FLOP count; and that
 * estimation leaves params and grads alone. */
#include <criterion/criterion.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/nn/fisher.h"
#include "clbench/nn/loss.h"
#include "clbench/nn/net.h"
#include "clbench/nn/mlp.h"
#include "clbench/base/rng.h"

static void suite_init(void) { openblas_set_num_threads(1); }

TestSuite(fisher, .timeout = 300, .init = suite_init);

static const cl_optim_config SGD0 = {.kind = CL_OPTIM_SGD, .lr = 0.1f};

enum { D = 10, C = 5 };
static const long HIDDEN[] = {12, 9};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    cr_assert_not_null(p);
    return p;
}

static cl_net *make_model(unsigned long seed)
{
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_INIT), 0);
    cl_net *m;
    cr_assert_eq(cl_net_mlp_new(&m, D, HIDDEN, 2, C, &SGD0, rng), 0);
    gsl_rng_free(rng);
    return m;
}

/* n inputs in [-2, 2] and labels drawn among the mask's classes. */
static void make_data(unsigned long seed, int n, const unsigned char *mask, float *x, int *y)
{
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_DATA), 0);
    for (int i = 0; i < n * D; i++) x[i] = (float)(4.0 * gsl_rng_uniform(rng) - 2.0);
    for (int i = 0; i < n; i++) {
        int c;
        do c = (int)cl_rng_below(rng, C);
        while (mask && !mask[c]);
        y[i] = c;
    }
    gsl_rng_free(rng);
}

/* Adds w * (gradient of -log p(label | x) of one sample)^2 into ref. */
static void add_sample(cl_net *m, const float *x, int label, const unsigned char *mask,
                       double w, float *one, double *ref)
{
    const float *logits;
    float dl[C];
    cr_assert_eq(cl_net_forward(m, x, 1, &logits), 0);
    cr_assert_eq(cl_loss_ce(logits, &label, 1, C, mask, 1.0f, dl, NULL), 0);
    memset(one, 0, m->n_params * sizeof *one);
    cr_assert_eq(cl_net_backward_into(m, dl, one, 0), 0);
    for (size_t k = 0; k < m->n_params; k++) ref[k] += w * (double)one[k] * one[k];
}

/* Softmax of one sample's logits in double, masked units 0. */
static void ref_probs(cl_net *m, const float *x, const unsigned char *mask, double *p)
{
    const float *z;
    cr_assert_eq(cl_net_forward(m, x, 1, &z), 0);
    double mx = -INFINITY, sum = 0.0;
    for (int j = 0; j < C; j++)
        if (!mask || mask[j]) mx = fmax(mx, z[j]);
    for (int j = 0; j < C; j++) {
        p[j] = (!mask || mask[j]) ? exp(z[j] - mx) : 0.0;
        sum += p[j];
    }
    for (int j = 0; j < C; j++) p[j] /= sum;
}

/* The brute-force Fisher: a loop over samples and, for "expected", over
 * classes weighted by p_c (the manual sum over classes). */
static void brute_force(cl_net *m, const float *x, const int *y, int n,
                        const unsigned char *mask, cl_fisher_kind kind, double *ref)
{
    float *one = xcalloc(m->n_params, sizeof *one);
    memset(ref, 0, m->n_params * sizeof *ref);
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * D;
        double p[C];
        ref_probs(m, xi, mask, p);
        if (kind == CL_FISHER_EMPIRICAL) {
            add_sample(m, xi, y[i], mask, 1.0, one, ref);
        } else if (kind == CL_FISHER_PREDICTED) {
            int best = -1;
            for (int j = 0; j < C; j++)
                if ((!mask || mask[j]) && (best < 0 || p[j] > p[best])) best = j;
            add_sample(m, xi, best, mask, 1.0, one, ref);
        } else {
            for (int c = 0; c < C; c++)
                if (!mask || mask[c]) add_sample(m, xi, c, mask, p[c], one, ref);
        }
    }
    for (size_t k = 0; k < m->n_params; k++) ref[k] /= n;
    free(one);
}

/* Relative 1e-5 per entry; entries below 1e-7 of the largest one (where
 * float rounding of a near-cancelled ReLU path dominates) get that as an
 * absolute floor. */
static void assert_close(const float *got, const double *ref, size_t P, const char *what)
{
    double refmax = 0.0;
    for (size_t k = 0; k < P; k++) refmax = fmax(refmax, ref[k]);
    cr_assert(refmax > 1e-4, "%s: reference Fisher is ~0 (%g)", what, refmax);
    double floor = 1e-7 * refmax;
    size_t nonzero = 0;
    for (size_t k = 0; k < P; k++) {
        double rel = fabs(got[k] - ref[k]) / fmax(ref[k], floor);
        cr_assert(rel <= 1e-5, "%s: entry %zu batched %.9g vs per-sample %.9g (rel %.3g)", what,
                  k, got[k], ref[k], rel);
        nonzero += ref[k] > 0.0;
    }
    cr_assert(nonzero > P / 3, "%s: only %zu of %zu entries are non-zero", what, nonzero, P);
}

/* n = 300 spans two chunks (256 + 44), so the chunk loop is covered. */
static void check_estimator(cl_fisher_kind kind, int masked)
{
    enum { N = 300 };
    static const unsigned char MASK[C] = {0, 1, 0, 1, 1};
    const unsigned char *mask = masked ? MASK : NULL;
    cl_net *m = make_model(5);
    float *x = xcalloc((size_t)N * D, sizeof *x);
    int y[N];
    make_data(5, N, mask, x, y);
    size_t P = m->n_params;
    float *got = xcalloc(P, sizeof *got);
    double *ref = xcalloc(P, sizeof *ref);

    double flops = -1.0;
    cr_assert_eq(cl_fisher_estimate(m, x, y, N, D, mask, kind, got, &flops), 0, "%s",
                 cl_error_last());
    cr_assert(flops > 0.0);
    brute_force(m, x, y, N, mask, kind, ref);
    char what[64];
    snprintf(what, sizeof what, "%s%s", cl_fisher_kind_name(kind), masked ? " masked" : "");
    assert_close(got, ref, P, what);

    free(x);
    free(got);
    free(ref);
    cl_net_free(m);
}

Test(fisher, empirical_matches_per_sample) { check_estimator(CL_FISHER_EMPIRICAL, 0); }
Test(fisher, empirical_masked_matches_per_sample) { check_estimator(CL_FISHER_EMPIRICAL, 1); }
Test(fisher, predicted_matches_per_sample) { check_estimator(CL_FISHER_PREDICTED, 0); }
Test(fisher, predicted_masked_matches_per_sample) { check_estimator(CL_FISHER_PREDICTED, 1); }
Test(fisher, expected_matches_sum_over_classes) { check_estimator(CL_FISHER_EXPECTED, 0); }
Test(fisher, expected_masked_matches_sum_over_classes) { check_estimator(CL_FISHER_EXPECTED, 1); }

/* Without a mask, the expected Fisher of a sample whose one class has all
 * the mass is ~0: a confident model carries little Fisher information,
 * unlike the empirical Fisher at a wrong label. Checked on one sample with
 * the output bias pushed far towards class 0. */
Test(fisher, expected_vanishes_for_a_confident_model)
{
    cl_net *m = make_model(9);
    float x[D];
    int y = 2;
    make_data(9, 1, NULL, x, &y);
    y = 2;
    cl_net_mlp_of(m)->layers[cl_net_mlp_of(m)->n_layers - 1].b[0] = 60.0f;
    size_t P = m->n_params;
    float *fe = xcalloc(P, sizeof *fe), *fx = xcalloc(P, sizeof *fx);
    cr_assert_eq(cl_fisher_estimate(m, x, &y, 1, D, NULL, CL_FISHER_EMPIRICAL, fe, NULL), 0);
    cr_assert_eq(cl_fisher_estimate(m, x, &y, 1, D, NULL, CL_FISHER_EXPECTED, fx, NULL), 0);
    double se = 0.0, sx = 0.0;
    for (size_t k = 0; k < P; k++) {
        se += fe[k];
        sx += fx[k];
    }
    cr_assert(se > 1e-3, "empirical Fisher at a wrong label should be large (%g)", se);
    cr_assert(sx < 1e-12 * se + 1e-20, "expected Fisher %g is not ~0 (empirical %g)", sx, se);
    free(fe);
    free(fx);
    cl_net_free(m);
}

/* Every estimator is non-negative and finite on a wider network with
 * large inputs, and writes neither params nor grads. */
Test(fisher, nonnegative_finite_and_side_effect_free)
{
    enum { N = 200, W = 64 };
    const long hidden[] = {W, W};
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 3, CL_RNG_INIT), 0);
    cl_net *m;
    cr_assert_eq(cl_net_mlp_new(&m, D, hidden, 2, C, &SGD0, rng), 0);
    gsl_rng_free(rng);
    float *x = xcalloc((size_t)N * D, sizeof *x);
    int y[N];
    make_data(3, N, NULL, x, y);
    for (int i = 0; i < N * D; i++) x[i] *= 25.0f;
    size_t P = m->n_params;
    float *params = xcalloc(P, sizeof *params), *f = xcalloc(P, sizeof *f);
    memcpy(params, m->params, P * sizeof *params);
    for (size_t k = 0; k < P; k++) m->grads[k] = 0.5f;
    for (int kind = CL_FISHER_EMPIRICAL; kind <= CL_FISHER_EXPECTED; kind++) {
        cr_assert_eq(cl_fisher_estimate(m, x, y, N, D, NULL, kind, f, NULL), 0);
        double sum = 0.0;
        for (size_t k = 0; k < P; k++) {
            cr_assert(isfinite(f[k]) && f[k] >= 0.0f, "%s: entry %zu is %g",
                      cl_fisher_kind_name(kind), k, f[k]);
            sum += f[k];
        }
        cr_assert(sum > 0.0);
    }
    cr_assert(memcmp(params, m->params, P * sizeof *params) == 0, "estimation changed params");
    for (size_t k = 0; k < P; k++) cr_assert(m->grads[k] == 0.5f, "estimation touched grads");
    free(x);
    free(params);
    free(f);
    cl_net_free(m);
}

/* FLOPs: one forward, then one backward (empirical, predicted) or one per
 * unmasked class (expected); a backward is the weight-gradient sgemm of
 * every layer plus the input-gradient sgemm of every layer but the first. */
Test(fisher, flops_are_the_model_passes)
{
    enum { N = 40 };
    static const unsigned char MASK[C] = {1, 0, 1, 0, 0};
    cl_net *m = make_model(4);
    float x[N * D];
    int y[N];
    make_data(4, N, MASK, x, y);
    double fwd = 0.0, bwd = 0.0;
    for (int l = 0; l < cl_net_mlp_of(m)->n_layers; l++) {
        double mn = 2.0 * N * cl_net_mlp_of(m)->layers[l].n_in * cl_net_mlp_of(m)->layers[l].n_out;
        fwd += mn;
        bwd += l ? 2.0 * mn : mn;
    }
    float *f = xcalloc(m->n_params, sizeof *f);
    const int passes[] = {1, 1, 2};
    for (int kind = CL_FISHER_EMPIRICAL; kind <= CL_FISHER_EXPECTED; kind++) {
        double before = m->flops, flops = 0.0;
        cr_assert_eq(cl_fisher_estimate(m, x, y, N, D, MASK, kind, f, &flops), 0);
        cr_assert(flops == m->flops - before);
        cr_assert(flops == fwd + passes[kind] * bwd, "%s: %g flops, expected %g",
                  cl_fisher_kind_name(kind), flops, fwd + passes[kind] * bwd);
    }
    free(f);
    cl_net_free(m);
}

/* A task of n samples with random inputs and labels. */
static void make_task(cl_task *t, int n, unsigned long seed)
{
    memset(t, 0, sizeof *t);
    t->n_train = n;
    t->d = D;
    t->train_x = xcalloc((size_t)n * D, sizeof *t->train_x);
    t->train_y = xcalloc((size_t)n, sizeof *t->train_y);
    make_data(seed, n, NULL, t->train_x, t->train_y);
}

static void free_task(cl_task *t)
{
    free(t->train_x);
    free(t->train_y);
}

/* n_samples <= 0, >= n_train, or no rng: the first samples in order, the
 * same numbers as cl_fisher_estimate on them. */
Test(fisher, task_first_n_and_all)
{
    enum { N = 50 };
    cl_net *m = make_model(6);
    cl_task t;
    make_task(&t, N, 6);
    size_t P = m->n_params;
    float *a = xcalloc(P, sizeof *a), *b = xcalloc(P, sizeof *b);
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 1, CL_RNG_STRATEGY), 0);
    cr_assert_eq(cl_fisher_estimate(m, t.train_x, t.train_y, N, D, NULL, CL_FISHER_EMPIRICAL, a, NULL), 0);
    const int all[] = {0, -3, N, N + 100};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(cl_fisher_task(m, &t, D, NULL, CL_FISHER_EMPIRICAL, all[i], rng, b, NULL), 0);
        cr_assert(memcmp(a, b, P * sizeof *a) == 0, "n_samples %d is not the whole task", all[i]);
    }
    cr_assert_eq(cl_fisher_estimate(m, t.train_x, t.train_y, 17, D, NULL, CL_FISHER_EMPIRICAL, a, NULL), 0);
    cr_assert_eq(cl_fisher_task(m, &t, D, NULL, CL_FISHER_EMPIRICAL, 17, NULL, b, NULL), 0);
    cr_assert(memcmp(a, b, P * sizeof *a) == 0, "no rng: not the first 17 samples");
    gsl_rng_free(rng);
    free(a);
    free(b);
    free_task(&t);
    cl_net_free(m);
}

/* With an rng, the estimate is the mean of the per-sample Fishers of a
 * k-subset: on 6 samples and k = 3, exactly one of the 20 subsets matches,
 * every subset turns up over 300 seeds (a missing one has probability
 * ~20 * (19/20)^300 < 1e-5), and each sample is chosen about half the time. */
Test(fisher, task_random_subset_is_uniform)
{
    enum { N = 6, K = 3, SEEDS = 300 };
    cl_net *m = make_model(8);
    cl_task t;
    make_task(&t, N, 8);
    size_t P = m->n_params;
    float *per = xcalloc(N * P, sizeof *per); /* (N, P) per-sample Fishers */
    for (int i = 0; i < N; i++)
        cr_assert_eq(cl_fisher_estimate(m, t.train_x + i * D, t.train_y + i, 1, D, NULL,
                                        CL_FISHER_EMPIRICAL, per + i * P, NULL), 0);
    float *f = xcalloc(P, sizeof *f);
    int hits[1 << N] = {0}, chosen[N] = {0};
    for (int s = 0; s < SEEDS; s++) {
        gsl_rng *rng;
        cr_assert_eq(cl_rng_new(&rng, (unsigned long)s, CL_RNG_STRATEGY), 0);
        cr_assert_eq(cl_fisher_task(m, &t, D, NULL, CL_FISHER_EMPIRICAL, K, rng, f, NULL), 0);
        gsl_rng_free(rng);
        int match = -1, n_match = 0;
        for (int set = 0; set < 1 << N; set++) {
            if (__builtin_popcount(set) != K) continue;
            double worst = 0.0, scale = 0.0;
            for (size_t k = 0; k < P; k++) {
                double mean = 0.0;
                for (int i = 0; i < N; i++)
                    if (set >> i & 1) mean += per[i * P + k];
                mean /= K;
                worst = fmax(worst, fabs(mean - f[k]));
                scale = fmax(scale, mean);
            }
            if (worst <= 1e-5 * scale) {
                match = set;
                n_match++;
            }
        }
        cr_assert_eq(n_match, 1, "seed %d: %d subsets match the estimate", s, n_match);
        hits[match]++;
        for (int i = 0; i < N; i++) chosen[i] += match >> i & 1;
    }
    for (int set = 0; set < 1 << N; set++)
        if (__builtin_popcount(set) == K) cr_assert(hits[set] > 0, "subset %#x never drawn", set);
    /* Each sample: Binomial(300, 1/2), sd ~8.7; 0.35-0.65 is > 5 sd. */
    for (int i = 0; i < N; i++)
        cr_assert(chosen[i] > 0.35 * SEEDS && chosen[i] < 0.65 * SEEDS, "sample %d chosen %d times",
                  i, chosen[i]);
    free(per);
    free(f);
    free_task(&t);
    cl_net_free(m);
}

Test(fisher, nonfinite_logits_diverge)
{
    cl_net *m = make_model(2);
    float x[4 * D];
    int y[4];
    make_data(2, 4, NULL, x, y);
    cl_net_mlp_of(m)->layers[0].w[0] = NAN;
    float *f = xcalloc(m->n_params, sizeof *f);
    for (int kind = CL_FISHER_EMPIRICAL; kind <= CL_FISHER_EXPECTED; kind++)
        cr_assert_eq(cl_fisher_estimate(m, x, y, 4, D, NULL, kind, f, NULL), CL_EDIVERGED);
    cr_assert_eq(cl_fisher_estimate(m, x, y, 0, D, NULL, CL_FISHER_EMPIRICAL, f, NULL), CL_EINVAL);
    free(f);
    cl_net_free(m);
}

Test(fisher, kind_names_round_trip)
{
    cl_fisher_kind k;
    for (int i = CL_FISHER_EMPIRICAL; i <= CL_FISHER_EXPECTED; i++) {
        cr_assert_eq(cl_fisher_kind_parse(&k, cl_fisher_kind_name(i)), 0);
        cr_assert_eq((int)k, i);
    }
    cr_assert_eq(cl_fisher_kind_parse(&k, "sampled"), CL_EINVAL);
    cr_assert(strstr(cl_error_last(), "expected") != NULL);
}
