#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "clbench/base/error.h"
#include "clbench/nn/mlp.h"
#include "clbench/base/floats.h"

static int max_width(const cl_mlp *m)
{
    int w = 0;
    for (int l = 0; l <= m->n_layers; l++)
        if (m->sizes[l] > w) w = m->sizes[l];
    return w;
}

static void bind_views(cl_mlp *m)
{
    for (int l = 0; l < m->n_layers; l++) {
        cl_layer *L = &m->layers[l];
        L->w = m->params + L->offset;
        L->b = L->w + (size_t)L->n_in * L->n_out;
        L->dw = m->grads + L->offset;
        L->db = L->dw + (size_t)L->n_in * L->n_out;
    }
}

int cl_mlp_shape(cl_mlp **out, int n_in, const long *hidden, int n_hidden, int n_out)
{
    *out = NULL;
    if (n_hidden < 0 || n_hidden + 1 > CL_MLP_MAX_LAYERS)
        return cl_error_set(CL_EINVAL, "model.hidden: at most %d hidden layers",
                            CL_MLP_MAX_LAYERS - 1);
    if (n_in < 1 || n_out < 1)
        return cl_error_set(CL_EINVAL, "model: %d inputs and %d outputs", n_in, n_out);
    cl_mlp *m = calloc(1, sizeof *m);
    if (!m) return cl_error_set(CL_ENOMEM, "out of memory allocating the model");
    m->flops = &m->own_flops;
    m->n_layers = n_hidden + 1;
    m->sizes[0] = n_in;
    for (int i = 0; i < n_hidden; i++) {
        if (hidden[i] < 1 || hidden[i] > 1 << 20) {
            free(m);
            return cl_error_set(CL_EINVAL, "model.hidden: bad layer size %ld", hidden[i]);
        }
        m->sizes[i + 1] = (int)hidden[i];
    }
    m->sizes[m->n_layers] = n_out;
    size_t off = 0;
    for (int l = 0; l < m->n_layers; l++) {
        cl_layer *L = &m->layers[l];
        L->n_in = m->sizes[l];
        L->n_out = m->sizes[l + 1];
        L->offset = off;
        off += (size_t)L->n_in * L->n_out + (size_t)L->n_out;
    }
    m->n_params = off;
    *out = m;
    return 0;
}

void cl_mlp_bind(cl_mlp *m, float *params, float *grads)
{
    m->params = params;
    m->grads = grads;
    bind_views(m);
}

void cl_mlp_init(cl_mlp *m, gsl_rng *rng)
{
    /* PyTorch nn.Linear: kaiming_uniform(a=sqrt(5)) on W reduces to
     * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias uses the same bound. */
    for (int l = 0; l < m->n_layers; l++) {
        cl_layer *L = &m->layers[l];
        double bound = 1.0 / sqrt((double)L->n_in);
        size_t n = (size_t)L->n_in * L->n_out + (size_t)L->n_out;
        for (size_t i = 0; i < n; i++)
            L->w[i] = (float)((2.0 * gsl_rng_uniform(rng) - 1.0) * bound);
    }
}

int cl_mlp_new(cl_mlp **out, int n_in, const long *hidden, int n_hidden, int n_out,
               gsl_rng *rng)
{
    int rc = cl_mlp_shape(out, n_in, hidden, n_hidden, n_out);
    if (rc) return rc;
    cl_mlp *m = *out;
    m->owns = 1;
    float *p = cl_floats_new(m->n_params), *g = cl_floats_new(m->n_params);
    if (!p || !g) {
        size_t n = m->n_params;
        free(p);
        free(g);
        free(m);
        *out = NULL;
        return cl_error_set(CL_ENOMEM, "out of memory allocating %zu parameters", n);
    }
    cl_mlp_bind(m, p, g);
    cl_mlp_init(m, rng);
    return 0;
}

void cl_mlp_free(cl_mlp *m)
{
    if (!m) return;
    if (m->owns) {
        free(m->params);
        free(m->grads);
    }
    for (int l = 0; l <= CL_MLP_MAX_LAYERS; l++) free(m->acts[l]);
    free(m->delta[0]);
    free(m->delta[1]);
    free(m->sq_a);
    free(m->sq_d);
    free(m->dlogits);
    free(m);
}

/* Grows the n buffers, w[i] floats a row, to hold `rows` rows (doubling
 * from 16), without keeping their contents; *cap tracks the rows. */
static int grow_rows(float **const bufs[], const size_t *w, size_t n, int *cap, int rows)
{
    if (rows <= *cap) return 0;
    int c = *cap ? *cap : 16;
    while (c < rows) c *= 2;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        free(*bufs[i]);
        *bufs[i] = cl_floats_new((size_t)c * w[i]);
        ok = ok && *bufs[i];
    }
    if (!ok) {
        *cap = 0;
        return cl_error_set(CL_ENOMEM, "out of memory for a batch of %d", rows);
    }
    *cap = c;
    return 0;
}

int cl_mlp_reserve(cl_mlp *m, int rows)
{
    float **bufs[CL_MLP_MAX_LAYERS + 1];
    size_t w[CL_MLP_MAX_LAYERS + 1], n = 0;
    for (int l = 1; l <= m->n_layers; l++, n++) {
        bufs[n] = &m->acts[l];
        w[n] = (size_t)m->sizes[l];
    }
    bufs[n] = &m->dlogits;
    w[n++] = (size_t)m->sizes[m->n_layers];
    return grow_rows(bufs, w, n, &m->cap, rows);
}

/* The backward buffers, grown apart from the forward ones: evaluation
 * runs forwards of many more rows than any training step backpropagates,
 * and the squares are for the Fisher path only. */
static int reserve_backward(cl_mlp *m, int rows, int squared)
{
    size_t w[2] = {(size_t)max_width(m), (size_t)max_width(m)};
    float **delta[2] = {&m->delta[0], &m->delta[1]}, **sq[2] = {&m->sq_a, &m->sq_d};
    int rc = grow_rows(delta, w, 2, &m->bcap, rows);
    if (rc == 0 && squared) rc = grow_rows(sq, w, 2, &m->scap, rows);
    return rc;
}

/* y (B, n) += bias, then ReLU when `relu`: one pass over the sgemm output. */
static void bias_act(float *restrict y, const float *restrict b, int B, int n, int relu)
{
    for (int i = 0; i < B; i++) {
        float *row = y + (size_t)i * n;
        if (relu)
            for (int j = 0; j < n; j++) {
                float v = row[j] + b[j];
                /* v < 0 ? 0 : v keeps NaN (as PyTorch does), so a broken
                 * network cannot turn into a silent constant predictor. */
                row[j] = v < 0.0f ? 0.0f : v;
            }
        else
            for (int j = 0; j < n; j++) row[j] += b[j];
    }
}

int cl_mlp_forward(cl_mlp *m, const float *x, int B, const float **logits)
{
    CL_ASSERT(B >= 1);
    int rc = cl_mlp_reserve(m, B);
    if (rc) return rc;
    m->x = x;
    m->batch = B;
    const float *in = x;
    for (int l = 0; l < m->n_layers; l++) {
        const cl_layer *L = &m->layers[l];
        float *y = m->acts[l + 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, L->n_out, L->n_in,
                    1.0f, in, L->n_in, L->w, L->n_in, 0.0f, y, L->n_out);
        bias_act(y, L->b, B, L->n_out, l + 1 < m->n_layers);
        *m->flops += 2.0 * B * L->n_in * L->n_out;
        in = y;
    }
    *logits = m->acts[m->n_layers];
    return 0;
}

static void square(float *restrict dst, const float *restrict src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[i] * src[i];
}

/* tb (n) += the column sums of d (B, n), row by row. */
static void add_rows(float *restrict tb, const float *restrict d, int B, int n)
{
    for (int i = 0; i < B; i++) {
        const float *row = d + (size_t)i * n;
        for (int j = 0; j < n; j++) tb[j] += row[j];
    }
}

/* One pass over dx (B, n), the gradient at the output of a ReLU layer with
 * output a (B, n): gates it (a > 0 iff active) and adds its column sums,
 * the layer's bias gradient, into tb (n). With sq (B, n) non-NULL the
 * squares go to sq and their sums to tb (the squared backward). Each tb[j]
 * sums the rows in the same order as add_rows. */
static void gate_rows(float *restrict dx, const float *restrict a, float *restrict tb,
                      float *restrict sq, int B, int n)
{
    for (int i = 0; i < B; i++) {
        float *row = dx + (size_t)i * n;
        const float *ar = a + (size_t)i * n;
        if (sq) {
            float *sr = sq + (size_t)i * n;
            for (int j = 0; j < n; j++) {
                float v = ar[j] <= 0.0f ? 0.0f : row[j];
                row[j] = v;
                sr[j] = v * v;
                tb[j] += v * v;
            }
        } else {
            for (int j = 0; j < n; j++) {
                float v = ar[j] <= 0.0f ? 0.0f : row[j];
                row[j] = v;
                tb[j] += v;
            }
        }
    }
}

/* Per layer, top down: the weight gradient (one sgemm), then the gradient
 * at the layer's input (one sgemm), gated and summed into the lower layer's
 * bias gradient in one pass. The top layer's bias gradient comes straight
 * from dlogits. */
int cl_mlp_backward_into(cl_mlp *m, const float *dlogits, float *target, int squared)
{
    int B = m->batch;
    CL_ASSERT(B >= 1 && m->x);
    int rc = reserve_backward(m, B, squared);
    if (rc) return rc;
    int top = m->n_layers - 1;
    const float *d = dlogits; /* (B, n_out of layer l) */
    const float *dd = d;      /* d, or its square */
    if (squared) {
        square(m->sq_d, d, (size_t)B * m->layers[top].n_out);
        dd = m->sq_d;
    }
    {
        const cl_layer *L = &m->layers[top];
        add_rows(target + L->offset + (size_t)L->n_in * L->n_out, dd, B, L->n_out);
    }
    for (int l = top; l >= 0; l--) {
        const cl_layer *L = &m->layers[l];
        const float *a = l ? m->acts[l] : m->x; /* (B, n_in) layer input */
        const float *aa = a;
        if (squared) {
            square(m->sq_a, a, (size_t)B * L->n_in);
            aa = m->sq_a;
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->n_out, L->n_in, B,
                    1.0f, dd, L->n_out, aa, L->n_in, 1.0f, target + L->offset, L->n_in);
        *m->flops += 2.0 * B * L->n_in * L->n_out;
        if (l == 0) break;
        float *dx = m->delta[l & 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, L->n_in, L->n_out,
                    1.0f, d, L->n_out, L->w, L->n_in, 0.0f, dx, L->n_in);
        *m->flops += 2.0 * B * L->n_in * L->n_out;
        const cl_layer *below = &m->layers[l - 1];
        float *tb = target + below->offset + (size_t)below->n_in * below->n_out;
        gate_rows(dx, a, tb, squared ? m->sq_d : NULL, B, L->n_in);
        d = dx;
        dd = squared ? m->sq_d : dx;
    }
    return 0;
}

int cl_mlp_backward(cl_mlp *m, const float *dlogits)
{
    return cl_mlp_backward_into(m, dlogits, m->grads, 0);
}

void cl_mlp_zero_grad(cl_mlp *m)
{
    memset(m->grads, 0, m->n_params * sizeof(float));
}
