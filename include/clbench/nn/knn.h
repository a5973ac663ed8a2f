/* Exact K-nearest-neighbour search by squared L2 distance, the retrieval
 * of episodic memory. Distances come from one cblas_sgemm per block,
 * ||q||^2 + ||x||^2 - 2 q.x with precomputed key norms (as FAISS's
 * IndexFlatL2 does on its BLAS path), clamped at 0 against cancellation.
 * Each query keeps a bounded max-heap of its K best, so selection costs
 * O(N log K) and never a full sort. Ties go to the lower key index, so
 * results are deterministic. */
#ifndef CLBENCH_KNN_H
#define CLBENCH_KNN_H

/* Search workspace: a (block_queries, block_keys) tile of inner products,
 * so Q x N distances never have to be held at once. */
typedef struct cl_knn {
    int dim;            /* features per key and query */
    int block_queries;  /* queries per sgemm tile */
    int block_keys;     /* keys per sgemm tile */
    float *tile;        /* (block_queries, block_keys) q.x, then distances */
    float *qnorm;       /* (block_queries) squared query norms */
    double flops;       /* floating-point operations of every search so far */
} cl_knn;

/* block_queries / block_keys <= 0 pick the defaults (256 x 1024, a 1 MiB
 * tile). The block sizes change speed, and possibly the last bits of a
 * distance (OpenBLAS sums small tiles in another order), so only neighbours
 * tied to float rounding can swap; exact data give identical results. */
int cl_knn_new(cl_knn **out, int dim, int block_queries, int block_keys);
void cl_knn_free(cl_knn *s);

/* norms (n) = squared L2 norm of each row of x (n, dim), accumulated in
 * double; the precomputed key norms cl_knn_search expects. */
void cl_knn_norms(const float *x, int n, int dim, float *norms);

/* For each of nq queries (nq, dim), the K nearest of n keys (n, dim) with
 * squared norms key_norms (n). allow (n), if not NULL, restricts the search
 * to keys j with allow[j] != 0 (the rest are never returned). Writes each
 * query's neighbours into row i of idx (nq, K) and dist (nq, K) (squared
 * L2), nearest first, ties by lower index; slots past the number found get
 * index -1 and distance INFINITY. Returns the neighbours found per query,
 * min(K, allowed keys), or a negative CL_E* code. */
int cl_knn_search(cl_knn *s, const float *queries, int nq, const float *keys,
                  const float *key_norms, int n, const unsigned char *allow, int K,
                  int *idx, float *dist);

#endif
