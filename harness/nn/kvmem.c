/* Key-value episodic memory (see kvmem.h): growable sample arrays, a
 * chained hash of the inputs for dedupe, reservoir sampling past cap, and
 * frozen random-projection keys searched with cl_knn. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "clbench/base/error.h"
#include "clbench/nn/kvmem.h"
#include "clbench/base/rng.h"

/* Box-Muller: gsl_randist.h drags in GSL's CBLAS, which clashes with
 * OpenBLAS's cblas.h in one translation unit. */
static double gaussian(gsl_rng *rng)
{
    return sqrt(-2.0 * log(gsl_rng_uniform_pos(rng))) * cos(6.283185307179586 * gsl_rng_uniform(rng));
}

/* proj (k, d), k <= d: Gaussian rows made orthonormal by Gram-Schmidt
 * (twice, for stability, in double) and scaled by sqrt(d / k), so that
 * E ||P x||^2 = ||x||^2 and P is a scaled rotation when k = d. */
static int draw_projection(float *proj, int k, int d, gsl_rng *rng)
{
    double *g = malloc((size_t)k * d * sizeof *g); /* (k, d) rows in double */
    if (!g) return cl_error_set(CL_ENOMEM, "out of memory");
    double scale = sqrt((double)d / k);
    for (int r = 0; r < k; r++) {
        double *row = g + (size_t)r * d, norm = 0.0;
        do {
            for (int j = 0; j < d; j++) row[j] = gaussian(rng);
            for (int pass = 0; pass < 2; pass++)
                for (int q = 0; q < r; q++) {
                    const double *prev = g + (size_t)q * d;
                    double dot = 0.0;
                    for (int j = 0; j < d; j++) dot += row[j] * prev[j];
                    for (int j = 0; j < d; j++) row[j] -= dot * prev[j];
                }
            norm = 0.0;
            for (int j = 0; j < d; j++) norm += row[j] * row[j];
            norm = sqrt(norm);
        } while (norm < 1e-6); /* a draw inside the span so far: redraw */
        for (int j = 0; j < d; j++) row[j] /= norm;
        for (int j = 0; j < d; j++) proj[(size_t)r * d + j] = (float)(row[j] * scale);
    }
    free(g);
    return 0;
}

int cl_kvmem_init(cl_kvmem *m, int cap, int d, int key_dim, float write_prob, int dedupe,
                  int pack, gsl_rng *rng)
{
    memset(m, 0, sizeof *m);
    cl_rowpack_init(&m->x, d, pack);
    m->cap = cap;
    m->d = d;
    m->key_dim = key_dim < d ? key_dim : d;
    m->write_prob = write_prob;
    m->dedupe = dedupe;
    m->proj = malloc((size_t)m->key_dim * d * sizeof *m->proj);
    int rc = m->proj ? 0 : cl_error_set(CL_ENOMEM, "out of memory");
    if (!rc) rc = draw_projection(m->proj, m->key_dim, d, rng);
    if (!rc) rc = cl_knn_new(&m->knn, m->key_dim, 0, 0);
    if (rc) cl_kvmem_release(m);
    return rc;
}

void cl_kvmem_release(cl_kvmem *m)
{
    void *bufs[] = {m->keys, m->y,    m->task,    m->knorm, m->proj, m->hash,
                    m->next, m->head, m->scratch, m->allow, m->qkeys};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    cl_knn_free(m->knn);
    cl_rowpack_release(&m->x);
    memset(m, 0, sizeof *m);
}

/* ---- dedupe index -------------------------------------------------------- */

/* FNV-1a over the inputs' 32-bit words (a multiply per value, not per
 * byte: writes hash every offered sample), folded so the bucket bits see
 * the high half. */
static uint64_t fnv1a(const float *x, int d)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < d; i++) {
        uint32_t w;
        memcpy(&w, &x[i], sizeof w);
        h = (h ^ w) * 1099511628211ULL;
    }
    return h ^ (h >> 32);
}

static int bucket_of(const cl_kvmem *m, uint64_t h) { return (int)(h & (uint64_t)(m->n_buckets - 1)); }

static void hash_link(cl_kvmem *m, int slot)
{
    int b = bucket_of(m, m->hash[slot]);
    m->next[slot] = m->head[b];
    m->head[b] = slot;
}

static void hash_unlink(cl_kvmem *m, int slot)
{
    int *p = &m->head[bucket_of(m, m->hash[slot])];
    while (*p != slot) {
        CL_ASSERT(*p >= 0);
        p = &m->next[*p];
    }
    *p = m->next[slot];
}

/* The slot holding input x (hash h), or -1. */
static int hash_find(const cl_kvmem *m, const float *x, uint64_t h)
{
    for (int s = m->head[bucket_of(m, h)]; s >= 0; s = m->next[s])
        if (m->hash[s] == h && cl_rowpack_equal(&m->x, s, x))
            return s;
    return -1;
}

/* ---- storage ------------------------------------------------------------- */

/* Sizes the per-sample arrays to `rows` (>= n) and rebuilds the hash
 * buckets for the new size. An array that fails to grow keeps its old
 * size and contents, and so does rows. */
static int resize(cl_kvmem *m, int rows)
{
    size_t r = (size_t)rows;
    int nb = 1;
    while (nb < rows) nb *= 2;
    struct {
        void **p;
        size_t bytes;
    } arrays[] = {
        {(void **)&m->keys, r * m->key_dim * sizeof(float)},
        {(void **)&m->y, r * sizeof(int)},
        {(void **)&m->task, r * sizeof(int)},
        {(void **)&m->knorm, r * sizeof(float)},
        {(void **)&m->hash, r * sizeof(uint64_t)},
        {(void **)&m->next, r * sizeof(int)},
        {(void **)&m->scratch, r * sizeof(int)},
        {(void **)&m->allow, r},
        {(void **)&m->head, (size_t)nb * sizeof(int)},
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        void *q = realloc(*arrays[i].p, arrays[i].bytes);
        if (!q) return cl_error_set(CL_ENOMEM, "out of memory growing the episodic memory");
        *arrays[i].p = q;
    }
    int rc = cl_rowpack_resize(&m->x, rows);
    if (rc) return rc;
    m->rows = rows;
    m->n_buckets = nb;
    for (int b = 0; b < nb; b++) m->head[b] = -1;
    for (int s = 0; s < m->n; s++) hash_link(m, s);
    return 0;
}

/* Doubles the arrays (up to cap); rare, so steady-state writes allocate
 * nothing. */
static int grow(cl_kvmem *m)
{
    long want = m->rows ? 2L * m->rows : 1024;
    return resize(m, want < m->cap ? (int)want : m->cap);
}

/* Stores (x, y, task) in slot, with its key; fails only when the inputs
 * stop fitting a byte and there is no memory to convert them. */
static int put(cl_kvmem *m, int slot, const float *x, int y, int task, uint64_t h, double *flops)
{
    int rc = cl_rowpack_put(&m->x, slot, x, m->n);
    if (rc) return rc;
    m->y[slot] = y;
    m->task[slot] = task;
    float *key = m->keys + (size_t)slot * m->key_dim; /* (key_dim) */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, m->key_dim, m->d, 1.0f, m->proj, m->d, x, 1,
                0.0f, key, 1);
    cl_knn_norms(key, 1, m->key_dim, &m->knorm[slot]);
    *flops += 2.0 * m->key_dim * m->d + 2.0 * m->key_dim;
    m->hash[slot] = h;
    hash_link(m, slot);
    return 0;
}

int cl_kvmem_write(cl_kvmem *m, const float *x, int y, int task, gsl_rng *rng, double *flops)
{
    if (m->write_prob < 1.0f && gsl_rng_uniform(rng) >= m->write_prob) return 0;
    uint64_t h = fnv1a(x, m->d);
    if (m->dedupe && m->n > 0) {
        int s = hash_find(m, x, h);
        if (s >= 0) {
            m->y[s] = y;
            m->task[s] = task;
            return 0;
        }
    }
    int slot;
    if (m->n < m->cap) {
        if (m->n == m->rows) {
            int rc = grow(m);
            if (rc) return rc;
        }
        slot = m->n++;
    } else {
        unsigned long j = cl_rng_below(rng, (unsigned long)m->seen + 1);
        m->seen++;
        if (j >= (unsigned long)m->cap) return 0;
        slot = (int)j;
        hash_unlink(m, slot);
        return put(m, slot, x, y, task, h, flops);
    }
    m->seen++;
    return put(m, slot, x, y, task, h, flops);
}

/* ---- reading -------------------------------------------------------------- */

int cl_kvmem_sample(cl_kvmem *m, int want, gsl_rng *rng, float *x, int *y, int *task)
{
    int k = cl_rng_draw(rng, m->scratch, m->n, want);
    for (int i = 0; i < k; i++) {
        int s = m->scratch[i];
        cl_rowpack_get(&m->x, s, 1, x + (size_t)i * m->d);
        y[i] = m->y[s];
        task[i] = m->task[s];
    }
    return k;
}

int cl_kvmem_search(cl_kvmem *m, const float *x, int nq, const unsigned char *class_mask, int K,
                    int *nbr, float *dist, double *flops)
{
    if (nq > m->qcap) {
        float *q = realloc(m->qkeys, (size_t)nq * m->key_dim * sizeof *q);
        if (!q) return cl_error_set(CL_ENOMEM, "out of memory growing the episodic memory");
        m->qkeys = q;
        m->qcap = nq;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, m->key_dim, m->d, 1.0f, x, m->d,
                m->proj, m->d, 0.0f, m->qkeys, m->key_dim);
    const unsigned char *allow = NULL;
    if (class_mask) {
        for (int i = 0; i < m->n; i++) m->allow[i] = class_mask[m->y[i]];
        allow = m->allow;
    }
    double f0 = m->knn->flops;
    int found = cl_knn_search(m->knn, m->qkeys, nq, m->keys, m->knorm, m->n, allow, K, nbr, dist);
    *flops += 2.0 * nq * m->key_dim * m->d + (m->knn->flops - f0);
    return found;
}

size_t cl_kvmem_bytes(const cl_kvmem *m)
{
    size_t per = 2 * sizeof(int) +
                 (size_t)m->key_dim * sizeof(float) + sizeof(float) + sizeof(uint64_t) +
                 sizeof(int);
    return cl_rowpack_bytes(&m->x, m->n) + (size_t)m->n * per + (size_t)m->n_buckets * sizeof(int) +
           (size_t)m->key_dim * m->d * sizeof(float);
}

/* ---- checkpoints ---------------------------------------------------------- */

void cl_kvmem_save(const cl_kvmem *m, cl_ckpt_writer *w)
{
    size_t n = (size_t)m->n;
    cl_ckpt_put_i64(w, m->n);
    cl_ckpt_put_i64(w, m->rows);
    cl_ckpt_put_i64(w, m->seen);
    cl_rowpack_save(&m->x, m->n, w);
    cl_ckpt_put_f32s(w, m->keys, n * m->key_dim);
    cl_ckpt_put_i32s(w, m->y, n);
    cl_ckpt_put_i32s(w, m->task, n);
    cl_ckpt_put_f32s(w, m->knorm, n);
    cl_ckpt_put_f32s(w, m->proj, (size_t)m->key_dim * m->d);
}

int cl_kvmem_load(cl_kvmem *m, cl_ckpt_reader *r)
{
    int n, rows, rc;
    if ((rc = cl_ckpt_get_int(r, "stored samples", &n, 0, m->cap)) ||
        (rc = cl_ckpt_get_int(r, "memory rows", &rows, n, m->cap)) ||
        (rc = cl_ckpt_get_long(r, "samples offered", &m->seen, n, LONG_MAX)))
        return rc;
    if (rows > 0 && (rc = resize(m, rows))) return rc;
    size_t k = (size_t)n;
    if ((rc = cl_rowpack_load(&m->x, n, r)) ||
        (rc = cl_ckpt_get_f32s(r, m->keys, k * m->key_dim)) ||
        (rc = cl_ckpt_get_i32s(r, m->y, k)) || (rc = cl_ckpt_get_i32s(r, m->task, k)) ||
        (rc = cl_ckpt_get_f32s(r, m->knorm, k)) ||
        (rc = cl_ckpt_get_f32s(r, m->proj, (size_t)m->key_dim * m->d)))
        return rc;
    float *row = malloc((size_t)m->d * sizeof *row); /* (d) one decoded input */
    if (!row) return cl_error_set(CL_ENOMEM, "out of memory");
    m->n = n;
    for (int s = 0; s < n; s++) {
        cl_rowpack_get(&m->x, s, 1, row);
        m->hash[s] = fnv1a(row, m->d);
        hash_link(m, s);
    }
    free(row);
    return 0;
}
