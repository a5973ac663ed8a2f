/* Diagonal Fisher estimation. The per-sample gradient of log p(c | x_n)
 * with respect to the logits is e_c - p_n; cl_loss_ce with scale = B writes
 * exactly p_n - e_y per row (its 1/B mean is cancelled), the sign of which
 * the squares discard. The squared backward then sums the per-sample
 * squared parameter gradients of a whole chunk in one sgemm per layer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/nn/fisher.h"
#include "clbench/nn/loss.h"
#include "clbench/base/rng.h"

static const char *const kind_names[] = {"empirical", "predicted", "expected"};

int cl_fisher_kind_parse(cl_fisher_kind *out, const char *name)
{
    for (int k = 0; k < 3; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (cl_fisher_kind)k;
            return 0;
        }
    return cl_error_set(CL_EINVAL, "unknown Fisher estimator '%s' (valid: %s)", name,
                        CL_FISHER_CHOICES);
}

const char *cl_fisher_kind_name(cl_fisher_kind k)
{
    CL_ASSERT(k >= CL_FISHER_EMPIRICAL && k <= CL_FISHER_EXPECTED);
    return kind_names[k];
}

/* Scratch for one chunk, allocated per estimate (estimation runs once per
 * task, never in the training step). */
typedef struct workspace {
    float *probs; /* (rows, n_out) softmax of the chunk's rows */
    int *labels;  /* (rows) predicted labels */
    float *x;     /* (CL_FISHER_CHUNK, d) gathered inputs of a random subset */
    int *y;       /* (CL_FISHER_CHUNK) their labels */
} workspace;

static void ws_free(workspace *w)
{
    free(w->probs);
    free(w->labels);
    free(w->x);
    free(w->y);
}

/* rows: of a whole chunk (CL_FISHER_CHUNK samples). */
static int ws_alloc(workspace *w, const cl_net *m, int gather)
{
    memset(w, 0, sizeof *w);
    size_t rows = (size_t)cl_net_rows(m, CL_FISHER_CHUNK);
    int d = m->d_in;
    w->probs = malloc(rows * m->n_out * sizeof *w->probs);
    w->labels = malloc(rows * sizeof *w->labels);
    if (gather) {
        w->x = malloc((size_t)CL_FISHER_CHUNK * d * sizeof *w->x);
        w->y = malloc((size_t)CL_FISHER_CHUNK * sizeof *w->y);
    }
    if (!w->probs || !w->labels || (gather && (!w->x || !w->y))) {
        ws_free(w);
        return cl_error_set(CL_ENOMEM, "out of memory for the Fisher workspace");
    }
    return 0;
}

static int check_finite(const float *logits, int B, int C, const unsigned char *mask)
{
    for (int i = 0; i < B; i++)
        for (int j = 0; j < C; j++)
            if ((!mask || mask[j]) && !isfinite(logits[(size_t)i * C + j]))
                return cl_error_set(CL_EDIVERGED, "Fisher estimation: logit %d of sample %d is %g",
                                    j, i, logits[(size_t)i * C + j]);
    return 0;
}

/* E_{c ~ p} (grad log p_c)^2: for each unmasked class, rows scaled by
 * sqrt(p_nc) so that the squared backward weighs sample n by p_nc. */
static int add_expected(cl_net *m, const float *logits, int B, int C,
                        const unsigned char *mask, float *probs, float *out)
{
    cl_softmax(logits, B, C, mask, 1.0f, probs);
    float *dl = m->dlogits; /* (B, C) */
    for (int c = 0; c < C; c++) {
        if (mask && !mask[c]) continue;
        for (int i = 0; i < B; i++) {
            const float *p = probs + (size_t)i * C;
            float *d = dl + (size_t)i * C;
            float s = sqrtf(p[c]);
            for (int j = 0; j < C; j++) d[j] = s * p[j];
            d[c] -= s;
        }
        int rc = cl_net_backward_into(m, dl, out, 1);
        if (rc) return rc;
    }
    return 0;
}

/* Adds the per-sample squared gradients of B samples (B <= chunk) into out.
 * A sample of a token network is a window of rows whose loss is their
 * mean; scale = B makes each sample's gradient that of its own loss. */
static int add_chunk(cl_net *m, const float *x, const int *y, int B,
                     const unsigned char *mask, cl_fisher_kind kind,
                     workspace *w, float *out)
{
    int C = m->n_out, rows = cl_net_rows(m, B);
    const float *logits;
    int rc = cl_net_forward(m, x, B, &logits);
    if (rc) return rc;
    if ((rc = check_finite(logits, rows, C, mask))) return rc;
    if (kind == CL_FISHER_EXPECTED) {
        /* The expectation over a window's labels ranges over 256^ctx
         * continuations: not something to approximate silently. */
        if (m->rows_per_sample > 1)
            return cl_error_set(CL_EINVAL, "the expected Fisher is for classifiers; a %s network "
                                "takes fisher=empirical or predicted", m->ops->name);
        return add_expected(m, logits, rows, C, mask, w->probs, out);
    }
    if (kind == CL_FISHER_PREDICTED) {
        for (int i = 0; i < rows; i++) w->labels[i] = cl_argmax(logits + (size_t)i * C, C, mask);
        y = w->labels;
    } else if ((rc = cl_net_labels(m, x, y, B, &y))) {
        return rc;
    }
    rc = cl_loss_ce(logits, y, rows, C, mask, (float)B, m->dlogits, NULL);
    if (rc) return rc;
    return cl_net_backward_into(m, m->dlogits, out, 1);
}

static void scale(float *out, size_t n, int samples)
{
    float inv = 1.0f / (float)samples;
    for (size_t i = 0; i < n; i++) out[i] *= inv;
}

static int check_args(int n, cl_fisher_kind kind, const int *y)
{
    if (n < 1) return cl_error_set(CL_EINVAL, "Fisher estimation needs at least one sample");
    CL_ASSERT(kind >= CL_FISHER_EMPIRICAL && kind <= CL_FISHER_EXPECTED);
    CL_ASSERT(kind != CL_FISHER_EMPIRICAL || y);
    return 0;
}

int cl_fisher_estimate(cl_net *m, const float *x, const int *y, int n, int d,
                       const unsigned char *mask, cl_fisher_kind kind, float *out,
                       double *flops_out)
{
    int rc = check_args(n, kind, y);
    if (rc) return rc;
    CL_ASSERT(d == m->d_in);
    workspace w;
    if ((rc = ws_alloc(&w, m, 0))) return rc;
    double f0 = m->flops;
    memset(out, 0, m->n_params * sizeof *out);
    for (int i0 = 0; rc == 0 && i0 < n; i0 += CL_FISHER_CHUNK) {
        int B = n - i0 < CL_FISHER_CHUNK ? n - i0 : CL_FISHER_CHUNK;
        rc = add_chunk(m, x + (size_t)i0 * d, y ? y + i0 : NULL, B, mask, kind, &w, out);
    }
    ws_free(&w);
    if (rc) return rc;
    scale(out, m->n_params, n);
    if (flops_out) *flops_out = m->flops - f0;
    return 0;
}

/* A uniform k-subset of [0, N) in increasing order by selection sampling
 * (Knuth's Algorithm S), or the first k samples when rng is NULL, gathered
 * and estimated chunk by chunk, so neither an index array nor a copy of the
 * subset is kept. The chunks are cl_fisher_estimate's, so the first k give
 * its numbers bit for bit. */
static int estimate_subset(cl_net *m, const cl_task *t, int d, const unsigned char *mask,
                           cl_fisher_kind kind, int k, gsl_rng *rng, float *out)
{
    workspace w;
    int rc = ws_alloc(&w, m, 1);
    if (rc) return rc;
    memset(out, 0, m->n_params * sizeof *out);
    int need = k, B = 0;
    for (int i = 0; rc == 0 && i < t->n_train && need > 0; i++) {
        if (rng && (int)cl_rng_below(rng, (unsigned long)(t->n_train - i)) >= need) continue;
        need--;
        cl_task_rows(t, 0, i, 1, w.x + (size_t)B * d);
        w.y[B++] = t->train_y ? t->train_y[i] : 0; /* windows carry their labels */
        if (B == CL_FISHER_CHUNK || need == 0) {
            rc = add_chunk(m, w.x, w.y, B, mask, kind, &w, out);
            B = 0;
        }
    }
    ws_free(&w);
    if (rc) return rc;
    scale(out, m->n_params, k);
    return 0;
}

int cl_fisher_task(cl_net *m, const cl_task *t, int d, const unsigned char *mask,
                   cl_fisher_kind kind, int n_samples, gsl_rng *rng, float *out,
                   double *flops_out)
{
    int k = n_samples > 0 && n_samples < t->n_train ? n_samples : t->n_train;
    /* A token network's labels are in its windows. */
    static const int in_windows = 0;
    int rc = check_args(k, kind, t->train_y ? t->train_y : m->ops->input == CL_NET_TOKENS ? &in_windows : NULL);
    if (rc) return rc;
    CL_ASSERT(d == m->d_in && d == t->d);
    double f0 = m->flops;
    rc = estimate_subset(m, t, d, mask, kind, k, k < t->n_train ? rng : NULL, out);
    if (rc) return rc;
    if (flops_out) *flops_out = m->flops - f0;
    return 0;
}
