/* Exact kNN: the sgemm search returns the neighbours of a double-precision
 * brute force, ties by lower index, whatever the blocking, and handles the
 * edge cases (K > N, Q = 1, K = 1, a filter, no keys). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include <criterion/criterion.h>
#include "clbench/base/error.h"
#include "clbench/nn/knn.h"
#include "clbench/base/rng.h"

static void init(void) { openblas_set_num_threads(1); }

TestSuite(knn, .init = init, .timeout = 120);

typedef struct ref {
    double d;
    int i;
} ref;

static int ref_cmp(const void *a, const void *b)
{
    const ref *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return x->i - y->i;
}

/* All n keys of query q sorted by (double distance, index) into out (n). */
static void brute(const float *q, const float *keys, int n, int dim,
                  const unsigned char *allow, ref *out, int *m)
{
    *m = 0;
    for (int j = 0; j < n; j++) {
        if (allow && !allow[j]) continue;
        double acc = 0.0;
        for (int k = 0; k < dim; k++) {
            double t = (double)q[k] - keys[(size_t)j * dim + k];
            acc += t * t;
        }
        out[(*m)++] = (ref){acc, j};
    }
    qsort(out, (size_t)*m, sizeof *out, ref_cmp);
}

/* Box-Muller: gsl_randist.h pulls in GSL's CBLAS, which clashes with
 * OpenBLAS's cblas.h. */
static float *gaussian(gsl_rng *rng, int n, int dim)
{
    float *x = malloc((size_t)n * dim * sizeof *x);
    for (int i = 0; i < n * dim; i++)
        x[i] = (float)(sqrt(-2.0 * log(gsl_rng_uniform_pos(rng))) *
                       cos(6.283185307179586 * gsl_rng_uniform(rng)));
    return x;
}

/* Small integers: every product and sum is exact in float, so the sgemm
 * distances equal the double ones exactly, and ties are common, which
 * pins the lower-index rule. */
static float *integers(gsl_rng *rng, int n, int dim)
{
    float *x = malloc((size_t)n * dim * sizeof *x);
    for (int i = 0; i < n * dim; i++) x[i] = (float)((int)cl_rng_below(rng, 5) - 2);
    return x;
}

typedef struct result {
    int *idx;
    float *dist;
    int found;
} result;

static result search(const float *q, int nq, const float *keys, int n, int dim, int K,
                     const unsigned char *allow, int bq, int bk)
{
    cl_knn *s;
    cr_assert_eq(cl_knn_new(&s, dim, bq, bk), 0, "%s", cl_error_last());
    float *norms = malloc((size_t)(n ? n : 1) * sizeof *norms);
    cl_knn_norms(keys, n, dim, norms);
    result r = {malloc((size_t)nq * K * sizeof(int)), malloc((size_t)nq * K * sizeof(float)), 0};
    r.found = cl_knn_search(s, q, nq, keys, norms, n, allow, K, r.idx, r.dist);
    cr_assert_geq(r.found, 0, "%s", cl_error_last());
    cr_assert(s->flops >= 2.0 * nq * n * dim, "flops %g", s->flops);
    free(norms);
    cl_knn_free(s);
    return r;
}

static void result_free(result *r)
{
    free(r->idx);
    free(r->dist);
}

/* Exact data: the result must be the brute force's first K, element for
 * element (indices and distances). */
static void check_exact(int nq, int n, int dim, int K, int bq, int bk, int filtered)
{
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, (unsigned long)(n * 31 + K), CL_RNG_SUITE), 0);
    float *keys = integers(rng, n, dim), *q = integers(rng, nq, dim);
    unsigned char *allow = NULL;
    if (filtered) {
        allow = malloc((size_t)n);
        for (int j = 0; j < n; j++) allow[j] = cl_rng_below(rng, 3) != 0;
    }
    result r = search(q, nq, keys, n, dim, K, allow, bq, bk);
    ref *all = malloc((size_t)n * sizeof *all);
    for (int i = 0; i < nq; i++) {
        int m;
        brute(q + (size_t)i * dim, keys, n, dim, allow, all, &m);
        int want = m < K ? m : K;
        cr_assert_eq(r.found, want);
        for (int k = 0; k < K; k++) {
            int got = r.idx[(size_t)i * K + k];
            float gd = r.dist[(size_t)i * K + k];
            if (k < want) {
                cr_assert_eq(got, all[k].i, "query %d rank %d: index %d, want %d (d %g vs %g)",
                             i, k, got, all[k].i, gd, all[k].d);
                cr_assert_eq((double)gd, all[k].d);
            } else {
                cr_assert_eq(got, -1);
                cr_assert(isinf(gd));
            }
        }
    }
    free(all);
    free(allow);
    result_free(&r);
    free(keys);
    free(q);
    gsl_rng_free(rng);
}

Test(knn, exact_with_ties) { check_exact(37, 500, 8, 10, 0, 0, 0); }
Test(knn, exact_blocked_odd_sizes) { check_exact(37, 500, 8, 10, 5, 7, 0); }
Test(knn, exact_filtered) { check_exact(20, 300, 6, 16, 3, 64, 1); }
Test(knn, k_larger_than_n) { check_exact(4, 9, 5, 32, 0, 0, 0); }
Test(knn, k_larger_than_n_blocked) { check_exact(4, 9, 5, 32, 1, 2, 0); }
Test(knn, single_query) { check_exact(1, 200, 8, 5, 0, 0, 0); }
Test(knn, single_neighbour) { check_exact(50, 200, 8, 1, 0, 0, 0); }
Test(knn, single_neighbour_blocked) { check_exact(50, 200, 8, 1, 7, 3, 0); }

/* Gaussian data in 32 dims: float cancellation can reorder near-ties, so a
 * query counts only where its K-th and (K+1)-th true distances differ by
 * more than 1e-3 relative (float error here is ~1e-6 relative); there the
 * index sets of the unblocked and a blocked search must both match. Every
 * returned distance must be within 1e-4 relative of the true one, and the
 * order ascending. */
Test(knn, gaussian_matches_double_bruteforce)
{
    int nq = 64, n = 3000, dim = 32, K = 20;
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 7, CL_RNG_SUITE), 0);
    float *keys = gaussian(rng, n, dim), *q = gaussian(rng, nq, dim);
    result r = search(q, nq, keys, n, dim, K, NULL, 0, 0);
    result rb = search(q, nq, keys, n, dim, K, NULL, 9, 100);
    cr_assert_eq(r.found, K);
    ref *all = malloc((size_t)n * sizeof *all);
    int checked = 0;
    for (int i = 0; i < nq; i++) {
        int m;
        brute(q + (size_t)i * dim, keys, n, dim, NULL, all, &m);
        for (int k = 0; k < K; k++) {
            size_t o = (size_t)i * K + k;
            /* OpenBLAS sums a small tile in another order than a large
             * one, so blocking may move the last bits of a distance
             * (seen: ~2e-7 relative), never more. */
            cr_assert(fabsf(r.dist[o] - rb.dist[o]) <= 1e-5f * r.dist[o]);
            if (k) cr_assert(r.dist[o] >= r.dist[o - 1]);
            int j = r.idx[o];
            double truth = 0.0;
            for (int c = 0; c < dim; c++) {
                double t = (double)q[(size_t)i * dim + c] - keys[(size_t)j * dim + c];
                truth += t * t;
            }
            cr_assert(fabs(r.dist[o] - truth) <= 1e-4 * truth, "%g vs %g", r.dist[o], truth);
        }
        if (all[K].d - all[K - 1].d <= 1e-3 * all[K].d) continue;
        checked++;
        int *want = calloc((size_t)n, sizeof *want);
        for (int k = 0; k < K; k++) want[all[k].i] = 1;
        for (int k = 0; k < K; k++) {
            cr_assert(want[r.idx[(size_t)i * K + k]], "query %d", i);
            cr_assert(want[rb.idx[(size_t)i * K + k]], "query %d (blocked)", i);
        }
        free(want);
    }
    /* Nearly every query has a clear K-th gap; otherwise the test says little. */
    cr_assert_geq(checked, nq * 3 / 4, "only %d of %d queries checked", checked, nq);
    free(all);
    result_free(&r);
    result_free(&rb);
    free(keys);
    free(q);
    gsl_rng_free(rng);
}

Test(knn, no_keys_and_bad_k)
{
    cl_knn *s;
    cr_assert_eq(cl_knn_new(&s, 4, 0, 0), 0);
    float q[4] = {1, 2, 3, 4}, d[3];
    int idx[3];
    cr_assert_eq(cl_knn_search(s, q, 1, NULL, NULL, 0, NULL, 3, idx, d), 0);
    for (int k = 0; k < 3; k++) cr_assert(idx[k] == -1 && isinf(d[k]));
    cr_assert_eq(cl_knn_search(s, q, 1, q, q, 1, NULL, 0, idx, d), CL_EINVAL);
    cl_knn_free(s);
    cr_assert_eq(cl_knn_new(&s, 0, 0, 0), CL_EINVAL);
}
