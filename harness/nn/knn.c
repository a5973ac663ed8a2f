#include <math.h>
#include <stdlib.h>
#include <cblas.h>
#include "clbench/base/error.h"
#include "clbench/nn/knn.h"

#define DEFAULT_BLOCK_QUERIES 256
#define DEFAULT_BLOCK_KEYS 1024

int cl_knn_new(cl_knn **out, int dim, int block_queries, int block_keys)
{
    *out = NULL;
    if (dim < 1) return cl_error_set(CL_EINVAL, "knn: %d features per key", dim);
    cl_knn *s = calloc(1, sizeof *s);
    if (!s) return cl_error_set(CL_ENOMEM, "out of memory");
    s->dim = dim;
    s->block_queries = block_queries > 0 ? block_queries : DEFAULT_BLOCK_QUERIES;
    s->block_keys = block_keys > 0 ? block_keys : DEFAULT_BLOCK_KEYS;
    s->tile = malloc((size_t)s->block_queries * s->block_keys * sizeof *s->tile);
    s->qnorm = malloc((size_t)s->block_queries * sizeof *s->qnorm);
    if (!s->tile || !s->qnorm) {
        cl_knn_free(s);
        return cl_error_set(CL_ENOMEM, "out of memory for a %d x %d knn tile",
                            block_queries, block_keys);
    }
    *out = s;
    return 0;
}

void cl_knn_free(cl_knn *s)
{
    if (!s) return;
    free(s->tile);
    free(s->qnorm);
    free(s);
}

void cl_knn_norms(const float *x, int n, int dim, float *norms)
{
    for (int i = 0; i < n; i++) {
        const float *row = x + (size_t)i * dim;
        double acc = 0.0;
        for (int j = 0; j < dim; j++) acc += (double)row[j] * row[j];
        norms[i] = (float)acc;
    }
}

/* The heap order: (d, i) is "larger" than (e, j) when d > e, or d == e and
 * i > j, so the root is the candidate to evict and an equal-distance key
 * with a higher index never displaces a lower one. */
static int worse(float d, int i, float e, int j) { return d > e || (d == e && i > j); }

static void sift_down(float *dist, int *idx, int h, int pos)
{
    for (;;) {
        int l = 2 * pos + 1, r = l + 1, top = pos;
        if (l < h && worse(dist[l], idx[l], dist[top], idx[top])) top = l;
        if (r < h && worse(dist[r], idx[r], dist[top], idx[top])) top = r;
        if (top == pos) return;
        float td = dist[pos];
        int ti = idx[pos];
        dist[pos] = dist[top];
        idx[pos] = idx[top];
        dist[top] = td;
        idx[top] = ti;
        pos = top;
    }
}

static void sift_up(float *dist, int *idx, int pos)
{
    while (pos > 0) {
        int parent = (pos - 1) / 2;
        if (!worse(dist[pos], idx[pos], dist[parent], idx[parent])) return;
        float td = dist[pos];
        int ti = idx[pos];
        dist[pos] = dist[parent];
        idx[pos] = idx[parent];
        dist[parent] = td;
        idx[parent] = ti;
        pos = parent;
    }
}

/* Offers keys [k0, k0 + kb) with distances row (kb) to one query's heap of
 * size h (capacity K); returns the new size. Keys arrive in increasing
 * index order, so a candidate only enters a full heap when strictly
 * closer than its root. Once the heap is full, almost every key loses to
 * the root, so keys are first tested eight at a time against it (a
 * comparison the compiler vectorises) and only a group with a winner is
 * walked one key at a time. */
static int offer_row(const float *row, int k0, int kb, const unsigned char *allow, int K,
                     float *dist, int *idx, int h)
{
    int j = 0;
    for (; j < kb && h < K; j++) {
        if (allow && !allow[k0 + j]) continue;
        dist[h] = row[j];
        idx[h] = k0 + j;
        sift_up(dist, idx, h++);
    }
    for (; j < kb; j += 8) {
        int n = kb - j < 8 ? kb - j : 8;
        if (n == 8) {
            float root = dist[0];
            int any = 0;
            for (int l = 0; l < 8; l++) any |= row[j + l] < root;
            if (!any) continue;
        }
        for (int l = 0; l < n; l++) {
            float d = row[j + l];
            if (d < dist[0] && (!allow || allow[k0 + j + l])) {
                dist[0] = d;
                idx[0] = k0 + j + l;
                sift_down(dist, idx, K, 0);
            }
        }
    }
    return h;
}

/* Heap sort in place: repeatedly moving the root (the worst) to the end
 * leaves the h entries nearest first. */
static void sort_heap(float *dist, int *idx, int h)
{
    for (int end = h - 1; end > 0; end--) {
        float td = dist[0];
        int ti = idx[0];
        dist[0] = dist[end];
        idx[0] = idx[end];
        dist[end] = td;
        idx[end] = ti;
        sift_down(dist, idx, end, 0);
    }
}

/* tile (qb, kb) holds q.x; turns each entry into ||q||^2 + ||x||^2 - 2 q.x.
 * Cancellation can push a tiny distance below zero: clamp it at 0 (as
 * FAISS does); a NaN (from a non-finite input) becomes +inf so it sorts
 * last instead of poisoning the heap order. */
static void to_distances(float *tile, int qb, int kb, const float *qnorm, const float *knorm)
{
    for (int i = 0; i < qb; i++) {
        float *row = tile + (size_t)i * kb;
        float qn = qnorm[i];
        for (int j = 0; j < kb; j++) {
            float d = qn + knorm[j] - 2.0f * row[j];
            row[j] = d >= 0.0f ? d : (d < 0.0f ? 0.0f : INFINITY);
        }
    }
}

/* The nq queries of one query block against every key block. */
static void search_block(cl_knn *s, const float *q, int qb, const float *keys,
                         const float *key_norms, int n, const unsigned char *allow, int K,
                         int *idx, float *dist)
{
    int dim = s->dim, h = 0;
    cl_knn_norms(q, qb, dim, s->qnorm);
    s->flops += 2.0 * qb * dim;
    for (int k0 = 0; k0 < n; k0 += s->block_keys) {
        int kb = n - k0 < s->block_keys ? n - k0 : s->block_keys;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, qb, kb, dim, 1.0f, q, dim,
                    keys + (size_t)k0 * dim, dim, 0.0f, s->tile, kb);
        to_distances(s->tile, qb, kb, s->qnorm, key_norms + k0);
        s->flops += 2.0 * qb * kb * dim + 3.0 * qb * kb;
        /* Every query of the block sees the same keys, so all heaps have
         * the same size after each key block. */
        int h_next = h;
        for (int i = 0; i < qb; i++)
            h_next = offer_row(s->tile + (size_t)i * kb, k0, kb, allow, K,
                               dist + (size_t)i * K, idx + (size_t)i * K, h);
        h = h_next;
    }
    for (int i = 0; i < qb; i++) {
        float *di = dist + (size_t)i * K;
        int *ii = idx + (size_t)i * K;
        sort_heap(di, ii, h);
        for (int k = h; k < K; k++) {
            di[k] = INFINITY;
            ii[k] = -1;
        }
    }
}

int cl_knn_search(cl_knn *s, const float *queries, int nq, const float *keys,
                  const float *key_norms, int n, const unsigned char *allow, int K,
                  int *idx, float *dist)
{
    if (K < 1 || nq < 0 || n < 0)
        return cl_error_set(CL_EINVAL, "knn: %d neighbours of %d queries among %d keys", K, nq, n);
    int allowed = n;
    if (allow) {
        allowed = 0;
        for (int j = 0; j < n; j++) allowed += allow[j] != 0;
    }
    for (int q0 = 0; q0 < nq; q0 += s->block_queries) {
        int qb = nq - q0 < s->block_queries ? nq - q0 : s->block_queries;
        search_block(s, queries + (size_t)q0 * s->dim, qb, keys, key_norms, n, allow, K,
                     idx + (size_t)q0 * K, dist + (size_t)q0 * K);
    }
    return allowed < K ? allowed : K;
}
