/* kNN-LM datastore and interpolation (clbench/strategies/knnlm.h); the
 * episodic strategy's path for token networks. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/rng.h"
#include "clbench/nn/knn.h"
#include "clbench/nn/loss.h"
#include "clbench/strategies/knnlm.h"

struct cl_knnlm {
    gsl_rng *rng;          /* not owned */
    int h, C, K, cap;      /* feature width, units, neighbours, entries */
    float lambda, temp;
    int n;                 /* entries held */
    long seen;             /* positions offered */
    float *keys;           /* (cap, h) */
    float *norms;          /* (cap) squared key norms */
    unsigned char *vals;   /* (cap) next byte of each key */
    cl_knn *knn;
    int qcap;
    int *idx;              /* (qcap, K) */
    float *dist;           /* (qcap, K) */
    float *feat;           /* (qcap, h) query features, copied before the net is reused */
    double retrieval_flops;
};

int cl_knnlm_new(cl_knnlm **out, const cl_params *p, const cl_net *net, gsl_rng *rng)
{
    *out = NULL;
    cl_knnlm *m = calloc(1, sizeof *m);
    if (!m) return cl_error_set(CL_ENOMEM, "out of memory");
    m->rng = rng;
    m->h = net->d_feat;
    m->C = net->n_out;
    m->K = (int)cl_params_int(p, "k");
    m->cap = (int)cl_params_int(p, "memory_size");
    m->lambda = (float)cl_params_float(p, "lambda");
    m->temp = (float)cl_params_float(p, "knn_temperature");
    m->keys = malloc((size_t)m->cap * m->h * sizeof *m->keys);
    m->norms = malloc((size_t)m->cap * sizeof *m->norms);
    m->vals = malloc((size_t)m->cap);
    int rc = cl_knn_new(&m->knn, m->h, 0, 0);
    if (rc == 0 && (!m->keys || !m->norms || !m->vals))
        rc = cl_error_set(CL_ENOMEM, "out of memory for a kNN-LM datastore of %d entries", m->cap);
    if (rc) {
        cl_knnlm_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void cl_knnlm_free(cl_knnlm *m)
{
    if (!m) return;
    free(m->keys);
    free(m->norms);
    free(m->vals);
    cl_knn_free(m->knn);
    free(m->idx);
    free(m->dist);
    free(m->feat);
    free(m);
}

/* Reservoir write of rows features (rows, h) with next bytes from x. */
static void write_rows(cl_knnlm *m, const cl_net *net, const float *feat, const float *x,
                       int samples)
{
    int T = net->rows_per_sample;
    for (int s = 0; s < samples; s++)
        for (int t = 0; t < T; t++) {
            long slot = m->n < m->cap ? m->n : (long)cl_rng_below(m->rng, (unsigned long)m->seen + 1);
            m->seen++;
            if (slot >= m->cap) continue;
            if (m->n < m->cap) m->n++;
            const float *f = feat + ((size_t)s * T + t) * m->h;
            memcpy(m->keys + (size_t)slot * m->h, f, (size_t)m->h * sizeof *f);
            cl_knn_norms(f, 1, m->h, m->norms + slot);
            m->vals[slot] = (unsigned char)x[(size_t)s * net->d_in + t + 1];
        }
}

int cl_knnlm_observe(cl_knnlm *m, cl_net *net, const cl_batch *b)
{
    const float *logits;
    const int *labels;
    cl_net_zero_grad(net);
    int rc = cl_net_forward(net, b->x, b->n, &logits);
    if (rc) return rc;
    write_rows(m, net, cl_net_features(net), b->x, b->n);
    if ((rc = cl_net_labels(net, b->x, NULL, b->n, &labels))) return rc;
    rc = cl_loss_ce(logits, labels, cl_net_rows(net, b->n), m->C, NULL, 1.0f, net->dlogits, NULL);
    if (rc == 0) rc = cl_net_backward(net, net->dlogits);
    if (rc == 0) cl_net_step(net);
    return rc;
}

int cl_knnlm_absorb(cl_knnlm *m, cl_net *net, const cl_batch *b)
{
    const float *logits;
    int rc = cl_net_forward(net, b->x, b->n, &logits);
    if (rc == 0) write_rows(m, net, cl_net_features(net), b->x, b->n);
    return rc;
}

static int reserve(cl_knnlm *m, int rows)
{
    if (rows <= m->qcap) return 0;
    free(m->idx);
    free(m->dist);
    free(m->feat);
    m->idx = malloc((size_t)rows * m->K * sizeof *m->idx);
    m->dist = malloc((size_t)rows * m->K * sizeof *m->dist);
    m->feat = malloc((size_t)rows * m->h * sizeof *m->feat);
    if (!m->idx || !m->dist || !m->feat) {
        m->qcap = 0;
        return cl_error_set(CL_ENOMEM, "out of memory for %d kNN-LM queries", rows);
    }
    m->qcap = rows;
    return 0;
}

/* log(lambda p_kNN + (1 - lambda) p_LM) of one row, in place of its logits
 * z (C); p_kNN from the K neighbours idx/dist (found of them valid). */
static void mix_row(const cl_knnlm *m, float *z, const int *idx, const float *dist, int found)
{
    int C = m->C;
    double mx = z[0], sum = 0, w[256] = {0}, wsum = 0;
    for (int j = 1; j < C; j++) mx = z[j] > mx ? z[j] : mx;
    for (int j = 0; j < C; j++) sum += exp((double)z[j] - mx);
    /* Weights relative to the nearest neighbour: exp(-(d - d0)/temp) keeps
     * the largest at 1 whatever the scale of the distances. */
    for (int k = 0; k < found; k++) {
        double e = exp(-((double)dist[k] - dist[0]) / m->temp);
        w[m->vals[idx[k]]] += e;
        wsum += e;
    }
    double lam = found > 0 ? m->lambda : 0;
    for (int j = 0; j < C; j++) {
        double p = (1 - lam) * exp((double)z[j] - mx) / sum + (wsum > 0 ? lam * w[j] / wsum : 0);
        /* A byte no neighbour names keeps (1 - lambda) p_LM > 0; the floor
         * only guards a p_LM that underflowed. */
        z[j] = (float)log(p > 1e-300 ? p : 1e-300);
    }
}

int cl_knnlm_predict(cl_knnlm *m, cl_net *net, const cl_batch *b, float *logits_out)
{
    const float *logits;
    int rows = cl_net_rows(net, b->n), rc = cl_net_forward(net, b->x, b->n, &logits);
    if (rc == 0) rc = reserve(m, rows);
    if (rc) return rc;
    memcpy(logits_out, logits, (size_t)rows * m->C * sizeof *logits_out);
    if (m->n == 0) return 0;
    memcpy(m->feat, cl_net_features(net), (size_t)rows * m->h * sizeof *m->feat);
    double f0 = m->knn->flops;
    int found = cl_knn_search(m->knn, m->feat, rows, m->keys, m->norms, m->n, NULL, m->K, m->idx,
                              m->dist);
    if (found < 0) return found;
    m->retrieval_flops += m->knn->flops - f0;
    for (int i = 0; i < rows; i++)
        mix_row(m, logits_out + (size_t)i * m->C, m->idx + (size_t)i * m->K,
                m->dist + (size_t)i * m->K, found);
    return 0;
}

void cl_knnlm_ledger(const cl_knnlm *m, cl_ledger *out)
{
    /* The datastore as allocated: keys, their norms and the byte values. */
    out->extra_bytes = (size_t)m->cap * (m->h * sizeof(float) + sizeof(float) + 1);
    out->retrieval_flops = m->retrieval_flops;
}

void cl_knnlm_save(const cl_knnlm *m, cl_ckpt_writer *w)
{
    cl_ckpt_put_i64(w, m->n);
    cl_ckpt_put_i64(w, m->seen);
    cl_ckpt_put_f32s(w, m->keys, (size_t)m->n * m->h);
    cl_ckpt_put_f32s(w, m->norms, (size_t)m->n);
    cl_ckpt_put_bytes(w, m->vals, (size_t)m->n);
    cl_ckpt_put_f64(w, m->retrieval_flops);
}

int cl_knnlm_load(cl_knnlm *m, cl_ckpt_reader *r)
{
    int rc = cl_ckpt_get_int(r, "the datastore size", &m->n, 0, m->cap);
    if (rc == 0) rc = cl_ckpt_get_long(r, "positions seen", &m->seen, m->n, LONG_MAX);
    if (rc == 0) rc = cl_ckpt_get_f32s(r, m->keys, (size_t)m->n * m->h);
    if (rc == 0) rc = cl_ckpt_get_f32s(r, m->norms, (size_t)m->n);
    if (rc == 0) rc = cl_ckpt_get_bytes(r, m->vals, (size_t)m->n);
    if (rc == 0) rc = cl_ckpt_get_f64(r, &m->retrieval_flops);
    return rc;
}
