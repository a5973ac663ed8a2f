/* The byte-level GPT: its forward against a double-precision reference
 * written out in plain loops (no BLAS), every parameter block's gradient
 * against central differences of that reference, causal masking, the exact
 * squared (per-sample) backward, init, the block layout and head, shape
 * validation, workspace reuse, batch independence and the FLOP count. */
#include <criterion/criterion.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/rng.h"
#include "clbench/nn/loss.h"
#include "clbench/nn/net.h"

static void suite_init(void) { openblas_set_num_threads(1); }

TestSuite(gpt, .timeout = 60, .init = suite_init);

static const cl_optim_config SGD0 = {.kind = CL_OPTIM_SGD, .lr = 0.1f};

enum { V = 256 };

typedef struct shape {
    int layers, d, heads, ctx, ratio;
} shape;

static const shape TINY = {2, 8, 2, 5, 2};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    cr_assert_not_null(p);
    return p;
}

static void set_int(cl_params *p, const char *name, long v)
{
    char text[32];
    snprintf(text, sizeof text, "%ld", v);
    cr_assert_eq(cl_params_set(p, name, text), 0, "%s", cl_error_last());
}

static cl_params *gpt_table(const shape *s)
{
    cl_params *p;
    cr_assert_eq(cl_params_new(&p, "model", cl_net_gpt.params), 0, "%s", cl_error_last());
    set_int(p, "layers", s->layers);
    set_int(p, "d_model", s->d);
    set_int(p, "heads", s->heads);
    set_int(p, "ctx", s->ctx);
    set_int(p, "mlp_ratio", s->ratio);
    return p;
}

/* cl_net_new's code for shape s with d_in inputs and n_out outputs. */
static int try_new(cl_net **net, const shape *s, int d_in, int n_out, unsigned long seed)
{
    cl_params *p = gpt_table(s);
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_INIT), 0);
    int rc = cl_net_new(net, &cl_net_gpt, p, d_in, n_out, &SGD0, rng);
    gsl_rng_free(rng);
    cl_params_free(p);
    return rc;
}

static cl_net *make_gpt(const shape *s, unsigned long seed)
{
    cl_net *net;
    cr_assert_eq(try_new(&net, s, s->ctx + 1, V, seed), 0, "%s", cl_error_last());
    return net;
}

/* n windows of ctx + 1 random bytes. */
static float *random_windows(const shape *s, int n, unsigned long seed)
{
    float *x = xcalloc((size_t)n * (s->ctx + 1), sizeof *x); /* (n, ctx + 1) */
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_DATA), 0);
    for (int i = 0; i < n * (s->ctx + 1); i++) x[i] = (float)cl_rng_below(rng, V);
    gsl_rng_free(rng);
    return x;
}

static double max_abs(const float *a, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* max |a - b| / max |b| */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    double s = max_abs(b, n);
    return s > 0.0 ? m / s : m;
}

/* ---- the layout, written out independently of gpt.c ------------------ */

enum {
    LN1_W, LN1_B, ATTN_W, ATTN_B, PROJ_W, PROJ_B,
    LN2_W, LN2_B, FC_W, FC_B, FCPROJ_W, FCPROJ_B, N_PER_LAYER
};
static const char *const layer_names[N_PER_LAYER] = {
    "ln1_w", "ln1_b", "attn_w", "attn_b", "proj_w", "proj_b",
    "ln2_w", "ln2_b", "fc_w",   "fc_b",   "fcproj_w", "fcproj_b"};

#define MAX_L 4
#define MAX_BLOCKS (6 + N_PER_LAYER * MAX_L)

typedef struct layout {
    size_t wte, wpe, lay[MAX_L][N_PER_LAYER], lnf_w, lnf_b, head_w, head_b, total;
    int n_blocks;
    char name[MAX_BLOCKS][24];
    size_t off[MAX_BLOCKS], size[MAX_BLOCKS];
    int decay[MAX_BLOCKS];
} layout;

static size_t push(layout *lo, const char *name, size_t size, int decay)
{
    int b = lo->n_blocks++;
    snprintf(lo->name[b], sizeof lo->name[b], "%s", name);
    lo->off[b] = lo->total;
    lo->size[b] = size;
    lo->decay[b] = decay;
    lo->total += size;
    return lo->off[b];
}

static layout make_layout(const shape *s)
{
    layout lo;
    memset(&lo, 0, sizeof lo);
    cr_assert(s->layers <= MAX_L);
    size_t d = (size_t)s->d, f = (size_t)s->ratio * s->d;
    const size_t sizes[N_PER_LAYER] = {d, d, 3 * d * d, 3 * d, d * d, d,
                                       d, d, f * d,     f,     d * f, d};
    const int decays[N_PER_LAYER] = {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0};
    lo.wte = push(&lo, "wte", V * d, 1);
    lo.wpe = push(&lo, "wpe", (size_t)s->ctx * d, 1);
    for (int l = 0; l < s->layers; l++)
        for (int k = 0; k < N_PER_LAYER; k++) {
            char name[24];
            snprintf(name, sizeof name, "h%d.%s", l, layer_names[k]);
            lo.lay[l][k] = push(&lo, name, sizes[k], decays[k]);
        }
    lo.lnf_w = push(&lo, "lnf_w", d, 0);
    lo.lnf_b = push(&lo, "lnf_b", d, 0);
    lo.head_w = push(&lo, "head_w", V * d, 1);
    lo.head_b = push(&lo, "head_b", V, 0);
    return lo;
}

/* ---- double-precision reference forward ------------------------------- */

/* out (rows, d) = LN(in) with gains w and biases b. */
static void ref_ln(double *out, const double *in, int rows, int d, const double *w,
                   const double *b)
{
    for (int i = 0; i < rows; i++) {
        const double *x = in + (size_t)i * d;
        double m = 0.0, v = 0.0;
        for (int j = 0; j < d; j++) m += x[j];
        m /= d;
        for (int j = 0; j < d; j++) v += (x[j] - m) * (x[j] - m);
        v /= d;
        for (int j = 0; j < d; j++)
            out[(size_t)i * d + j] = (x[j] - m) / sqrt(v + 1e-5) * w[j] + b[j];
    }
}

/* out (rows, n_out) = in (rows, n_in) W^T + b, W (n_out, n_in). */
static void ref_linear(double *out, const double *in, int rows, int n_in, int n_out,
                       const double *W, const double *b)
{
    for (int i = 0; i < rows; i++)
        for (int o = 0; o < n_out; o++) {
            double s = b[o];
            for (int j = 0; j < n_in; j++) s += W[(size_t)o * n_in + j] * in[(size_t)i * n_in + j];
            out[(size_t)i * n_out + o] = s;
        }
}

static double ref_gelu(double x)
{
    return 0.5 * x * (1.0 + tanh(0.79788456080286535588 /* sqrt(2 / pi) */ * (x + 0.044715 * x * x * x)));
}

/* y (T, d) = causal attention of qkv (T, 3d), heads side by side. */
static void ref_attention(double *y, const double *qkv, int T, int d, int heads)
{
    int hd = d / heads;
    double w[4096];
    cr_assert(T <= 4096);
    for (int h = 0; h < heads; h++)
        for (int t = 0; t < T; t++) {
            const double *q = qkv + (size_t)t * 3 * d + h * hd;
            double mx = -INFINITY, sum = 0.0;
            for (int s = 0; s <= t; s++) {
                const double *k = qkv + (size_t)s * 3 * d + d + h * hd;
                double dot = 0.0;
                for (int e = 0; e < hd; e++) dot += q[e] * k[e];
                w[s] = dot / sqrt((double)hd);
                mx = fmax(mx, w[s]);
            }
            for (int s = 0; s <= t; s++) sum += (w[s] = exp(w[s] - mx));
            for (int e = 0; e < hd; e++) {
                double acc = 0.0;
                for (int s = 0; s <= t; s++) acc += w[s] / sum * qkv[(size_t)s * 3 * d + 2 * d + h * hd + e];
                y[(size_t)t * d + h * hd + e] = acc;
            }
        }
}

/* Logits (n * ctx, 256) of windows x (n, ctx + 1) under params P (double,
 * the layout lo) into logits (may be NULL); returns the summed next-byte
 * cross-entropy over all rows. */
static double ref_forward(const shape *sh, const layout *lo, const double *P, const float *x,
                          int n, double *logits)
{
    int T = sh->ctx, d = sh->d, f = sh->ratio * sh->d;
    double *h = xcalloc((size_t)T * d, sizeof *h);       /* (T, d) */
    double *a = xcalloc((size_t)T * d, sizeof *a);       /* (T, d) */
    double *qkv = xcalloc((size_t)T * 3 * d, sizeof *qkv); /* (T, 3d) */
    double *y = xcalloc((size_t)T * d, sizeof *y);       /* (T, d) */
    double *u = xcalloc((size_t)T * f, sizeof *u);       /* (T, f) */
    double *z = xcalloc((size_t)T * V, sizeof *z);       /* (T, 256) */
    double loss = 0.0;
    for (int s = 0; s < n; s++) {
        const float *w = x + (size_t)s * (T + 1);
        for (int t = 0; t < T; t++)
            for (int j = 0; j < d; j++)
                h[t * d + j] = P[lo->wte + (size_t)w[t] * d + j] + P[lo->wpe + (size_t)t * d + j];
        for (int l = 0; l < sh->layers; l++) {
            const size_t *o = lo->lay[l];
            ref_ln(a, h, T, d, P + o[LN1_W], P + o[LN1_B]);
            ref_linear(qkv, a, T, d, 3 * d, P + o[ATTN_W], P + o[ATTN_B]);
            ref_attention(y, qkv, T, d, sh->heads);
            ref_linear(a, y, T, d, d, P + o[PROJ_W], P + o[PROJ_B]);
            for (int i = 0; i < T * d; i++) h[i] += a[i];
            ref_ln(a, h, T, d, P + o[LN2_W], P + o[LN2_B]);
            ref_linear(u, a, T, d, f, P + o[FC_W], P + o[FC_B]);
            for (int i = 0; i < T * f; i++) u[i] = ref_gelu(u[i]);
            ref_linear(a, u, T, f, d, P + o[FCPROJ_W], P + o[FCPROJ_B]);
            for (int i = 0; i < T * d; i++) h[i] += a[i];
        }
        ref_ln(a, h, T, d, P + lo->lnf_w, P + lo->lnf_b);
        ref_linear(z, a, T, d, V, P + lo->head_w, P + lo->head_b);
        for (int t = 0; t < T; t++) {
            const double *zr = z + (size_t)t * V;
            double mx = -INFINITY, sum = 0.0;
            for (int c = 0; c < V; c++) mx = fmax(mx, zr[c]);
            for (int c = 0; c < V; c++) sum += exp(zr[c] - mx);
            loss += mx + log(sum) - zr[(int)w[t + 1]];
        }
        if (logits) memcpy(logits + (size_t)s * T * V, z, (size_t)T * V * sizeof *z);
    }
    free(h), free(a), free(qkv), free(y), free(u), free(z);
    return loss;
}

/* Overwrites the net's params with values of order one, so that attention
 * is far from uniform, GELU far from linear and LayerNorm gains and
 * biases matter: the init's 0.02 would hide mistakes in all three. */
static void scramble(cl_net *net, const layout *lo, unsigned long seed)
{
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_STRATEGY), 0);
    for (int b = 0; b < lo->n_blocks; b++) {
        int gain = strstr(lo->name[b], "ln") && strstr(lo->name[b], "_w");
        double span = lo->decay[b] ? 0.6 : 0.3;
        for (size_t i = 0; i < lo->size[b]; i++) {
            double r = (gsl_rng_uniform(rng) - 0.5) * 2.0 * span;
            net->params[lo->off[b] + i] = (float)(gain ? 1.0 + r : r);
        }
    }
    gsl_rng_free(rng);
}

/* dL/dlogits of the summed cross-entropy of the last forward (n samples
 * of x) into net->dlogits. */
static const float *sum_ce_grad(cl_net *net, const float *x, int n, const float *logits,
                                double *loss)
{
    const int *labels;
    int rows = cl_net_rows(net, n);
    cr_assert_eq(cl_net_labels(net, x, NULL, n, &labels), 0);
    cr_assert_eq(cl_loss_ce(logits, labels, rows, V, NULL, (float)rows, net->dlogits, loss), 0);
    return net->dlogits;
}

/* ---- 1. forward and gradients against the reference -------------------- */

/* Entries of block b worth a difference: every one, except that wte only
 * gets gradient on the rows of tokens present; two absent rows (bytes 0 and
 * 255) are differenced too, and must come out zero. */
static int checked(const layout *lo, int b, size_t i, const unsigned char *present, int d)
{
    if (lo->off[b] != lo->wte) return 1;
    int tok = (int)(i / (size_t)d);
    return present[tok] || tok == 255 || tok == 0;
}

Test(gpt, forward_and_gradient_match_double_reference)
{
    enum { N = 2 };
    const shape *sh = &TINY;
    layout lo = make_layout(sh);
    cl_net *net = make_gpt(sh, 3);
    cr_assert_eq(net->n_params, lo.total);
    scramble(net, &lo, 3);
    float *x = random_windows(sh, N, 3);
    unsigned char present[V] = {0};
    for (int s = 0; s < N; s++)
        for (int t = 0; t < sh->ctx; t++) present[(int)x[s * (sh->ctx + 1) + t]] = 1;
    cr_assert(!present[0] && !present[255], "pick a seed whose windows miss bytes 0 and 255");

    double *P = xcalloc(lo.total, sizeof *P);
    for (size_t i = 0; i < lo.total; i++) P[i] = net->params[i];
    int rows = N * sh->ctx;
    double *ref_logits = xcalloc((size_t)rows * V, sizeof *ref_logits);
    double ref_loss = ref_forward(sh, &lo, P, x, N, ref_logits);

    /* (a) the float forward */
    const float *logits;
    cr_assert_eq(cl_net_forward(net, x, N, &logits), 0, "%s", cl_error_last());
    double worst = 0.0, scale = 0.0;
    for (int i = 0; i < rows * V; i++) {
        worst = fmax(worst, fabs(logits[i] - ref_logits[i]));
        scale = fmax(scale, fabs(ref_logits[i]));
    }
    cr_assert(scale > 0.5, "logits too small to test: %g", scale);
    cr_assert(worst <= 1e-5 * scale, "logits: max error %.3g of max %.3g", worst, scale);
    double loss;
    const float *dl = sum_ce_grad(net, x, N, logits, &loss);
    cr_assert(fabs(loss * rows - ref_loss) <= 1e-5 * ref_loss, "loss %.9g vs %.9g", loss * rows,
              ref_loss);

    /* (b) analytic against central differences, block by block */
    cl_net_zero_grad(net);
    cr_assert_eq(cl_net_backward(net, dl), 0);
    const double h = 1e-5;
    for (int b = 0; b < lo.n_blocks; b++) {
        double bworst = 0.0, bnorm = 0.0;
        size_t at = 0;
        for (size_t i = 0; i < lo.size[b]; i++) {
            if (!checked(&lo, b, i, present, sh->d)) continue;
            size_t k = lo.off[b] + i;
            double p = P[k];
            P[k] = p + h;
            double lp = ref_forward(sh, &lo, P, x, N, NULL);
            P[k] = p - h;
            double lm = ref_forward(sh, &lo, P, x, N, NULL);
            P[k] = p;
            double num = (lp - lm) / (2 * h), ana = net->grads[k];
            double rel = fabs(ana - num) / fmax(fabs(ana) + fabs(num), 1e-4);
            bnorm += fabs(num);
            if (rel > bworst) bworst = rel, at = i;
        }
        cr_assert(bworst < 1e-3, "block %s: relative error %.3g at entry %zu (analytic %.9g)",
                  lo.name[b], bworst, at, net->grads[lo.off[b] + at]);
        /* No block passes by having no gradient. (Within attn_b the k third's
         * gradient is exactly 0, a constant added to a row of scores leaving
         * its softmax alone; the floor above makes that a check of |g| small.) */
        cr_assert(bnorm > 1e-3, "block %s: gradient L1 %.3g, too small to test", lo.name[b],
                  bnorm);
        cr_log_info("block %-12s max relative error %.3g at entry %zu (analytic %.6g)", lo.name[b],
                    bworst, at, net->grads[lo.off[b] + at]);
    }
    /* Absent tokens' rows of wte get exactly nothing. */
    for (int j = 0; j < sh->d; j++)
        cr_assert(net->grads[lo.wte + (size_t)255 * sh->d + j] == 0.0f);
    free(ref_logits);
    free(P);
    free(x);
    cl_net_free(net);
}

/* ---- 2. layout ---------------------------------------------------------- */

Test(gpt, blocks_cover_the_layout_in_order_with_the_head_last)
{
    const shape sh = {3, 16, 4, 7, 3};
    layout lo = make_layout(&sh);
    cl_net *net = make_gpt(&sh, 1);
    cr_assert_eq(net->n_params, lo.total);
    cr_assert_eq(net->rows_per_sample, sh.ctx);
    cr_assert_eq(net->d_feat, sh.d);
    int n = cl_net_gpt.blocks(net->impl, NULL, 0);
    cr_assert_eq(n, lo.n_blocks);
    cl_net_block bl[MAX_BLOCKS];
    cr_assert_eq(cl_net_gpt.blocks(net->impl, bl, MAX_BLOCKS), n);
    for (int b = 0; b < n; b++) {
        cr_assert_str_eq(bl[b].name, lo.name[b]);
        cr_assert_eq(bl[b].offset, lo.off[b], "%s", lo.name[b]);
        cr_assert_eq(bl[b].size, lo.size[b], "%s", lo.name[b]);
        cr_assert_eq(bl[b].decay, lo.decay[b], "%s", lo.name[b]);
    }
    cr_assert_str_eq(bl[n - 2].name, "head_w");
    cr_assert_eq(bl[n - 1].offset + bl[n - 1].size, net->n_params);

    float *x = random_windows(&sh, 2, 1);
    const float *logits;
    cr_assert_eq(cl_net_forward(net, x, 2, &logits), 0);
    cl_net_dense top[CL_NET_MAX_TOP];
    cr_assert_eq(cl_net_top(net, top, CL_NET_MAX_TOP), 1);
    cr_assert_eq(top[0].n_in, sh.d);
    cr_assert_eq(top[0].n_out, V);
    cr_assert_eq(top[0].w_off, lo.head_w);
    cr_assert_eq(top[0].b_off, lo.head_b);
    cr_assert_eq(top[0].input, cl_net_features(net));
    /* The features are the final LayerNorm's output: logits = z W^T + b. */
    const float *z = top[0].input, *W = net->params + lo.head_w, *bias = net->params + lo.head_b;
    for (int i = 0; i < 2 * sh.ctx; i += 5)
        for (int c = 0; c < V; c += 37) {
            double s = bias[c];
            for (int j = 0; j < sh.d; j++) s += (double)z[i * sh.d + j] * W[c * sh.d + j];
            cr_assert(fabs(s - logits[i * V + c]) <= 1e-5, "row %d class %d", i, c);
        }
    /* ...and at init (unit gains, zero biases) each row has mean 0 and
     * variance var / (var + eps) of the small residual stream: just under 1. */
    for (int i = 0; i < 2 * sh.ctx; i++) {
        double m = 0.0, v = 0.0;
        for (int j = 0; j < sh.d; j++) m += z[i * sh.d + j];
        m /= sh.d;
        for (int j = 0; j < sh.d; j++) v += (z[i * sh.d + j] - m) * (z[i * sh.d + j] - m);
        v /= sh.d;
        cr_assert(fabs(m) < 1e-5 && v > 0.9 && v <= 1.0 + 1e-5, "row %d: mean %g var %g", i, m, v);
    }
    free(x);
    cl_net_free(net);
}

/* ---- 3. causal masking ---------------------------------------------------- */

Test(gpt, position_t_sees_no_later_byte)
{
    const shape sh = {2, 16, 4, 9, 2};
    layout lo = make_layout(&sh);
    cl_net *net = make_gpt(&sh, 5);
    scramble(net, &lo, 5);
    int T = sh.ctx;
    float *x = random_windows(&sh, 1, 5);
    float *base = xcalloc((size_t)T * V, sizeof *base); /* (T, 256) */
    const float *logits;
    cr_assert_eq(cl_net_forward(net, x, 1, &logits), 0);
    memcpy(base, logits, (size_t)T * V * sizeof *base);
    for (int t = 0; t <= T; t++) {
        float keep = x[t];
        x[t] = (float)(((int)keep + 101) % V);
        cr_assert_eq(cl_net_forward(net, x, 1, &logits), 0);
        x[t] = keep;
        cr_assert(memcmp(logits, base, (size_t)t * V * sizeof *base) == 0,
                  "byte %d changed an earlier position's logits", t);
        if (t < T)
            cr_assert(memcmp(logits + (size_t)t * V, base + (size_t)t * V, V * sizeof *base),
                      "byte %d did not change its own position's logits", t);
    }
    free(base);
    free(x);
    cl_net_free(net);
}

/* ---- 4. the squared backward ---------------------------------------------- */

Test(gpt, squared_backward_is_sum_of_per_sample_squares)
{
    enum { N = 3 };
    const shape sh = {2, 16, 2, 6, 2};
    layout lo = make_layout(&sh);
    cl_net *net = make_gpt(&sh, 7);
    /* At the init's scale: with the larger scrambled weights float rounding
     * alone (alone vs batched sgemm blocking) comes near the tolerance. */
    int T = sh.ctx, D = T + 1;
    size_t np = net->n_params;
    float *x = random_windows(&sh, N, 7);
    float *dl = xcalloc((size_t)N * T * V, sizeof *dl); /* (N*T, 256) */
    float *fisher = xcalloc(np, sizeof *fisher), *one = xcalloc(np, sizeof *one);
    double *ref = xcalloc(np, sizeof *ref);
    const float *logits;
    double loss;

    cr_assert_eq(cl_net_forward(net, x, N, &logits), 0);
    memcpy(dl, sum_ce_grad(net, x, N, logits, &loss), (size_t)N * T * V * sizeof *dl);
    cr_assert_eq(cl_net_backward_into(net, dl, fisher, 1), 0);

    for (int s = 0; s < N; s++) {
        cr_assert_eq(cl_net_forward(net, x + s * D, 1, &logits), 0);
        memset(one, 0, np * sizeof *one);
        cr_assert_eq(cl_net_backward_into(net, dl + (size_t)s * T * V, one, 0), 0);
        for (size_t i = 0; i < np; i++) ref[i] += (double)one[i] * one[i];
    }
    for (int b = 0; b < lo.n_blocks; b++) {
        double worst = 0.0, mx = 0.0;
        for (size_t i = lo.off[b]; i < lo.off[b] + lo.size[b]; i++) {
            worst = fmax(worst, fabs(fisher[i] - ref[i]));
            mx = fmax(mx, ref[i]);
        }
        if (strstr(lo.name[b], "attn_b")) mx = fmax(mx, 1e-12);
        cr_assert(mx > 0.0, "block %s: no squared gradient", lo.name[b]);
        cr_assert(worst <= 1e-6 * mx, "block %s: max error %.3g of max %.3g", lo.name[b],
                  worst, mx);
    }
    /* Squares, not squared sums: the batch gradient squared differs. */
    memset(one, 0, np * sizeof *one);
    cr_assert_eq(cl_net_forward(net, x, N, &logits), 0);
    cr_assert_eq(cl_net_backward_into(net, dl, one, 0), 0);
    double diff = 0.0;
    for (size_t i = 0; i < np; i++) diff = fmax(diff, fabs((double)one[i] * one[i] - fisher[i]));
    cr_assert(diff > 1e-3, "squared backward looks like the squared batch gradient");
    free(x), free(dl), free(fisher), free(one), free(ref);
    cl_net_free(net);
}

/* ---- 5. init ---------------------------------------------------------------- */

static double block_sd(const cl_net *net, const layout *lo, const char *name)
{
    for (int b = 0; b < lo->n_blocks; b++)
        if (!strcmp(lo->name[b], name)) {
            double s = 0.0;
            for (size_t i = 0; i < lo->size[b]; i++) {
                double v = net->params[lo->off[b] + i];
                s += v * v;
            }
            return sqrt(s / (double)lo->size[b]);
        }
    cr_assert_fail("no block %s", name);
    return 0.0;
}

Test(gpt, init_is_deterministic_and_gpt2_shaped)
{
    const shape sh = {3, 64, 4, 16, 4};
    layout lo = make_layout(&sh);
    cl_net *a = make_gpt(&sh, 9), *b = make_gpt(&sh, 9), *c = make_gpt(&sh, 10);
    size_t bytes = a->n_params * sizeof(float);
    cr_assert(memcmp(a->params, b->params, bytes) == 0, "same seed, different weights");
    cr_assert(memcmp(a->params, c->params, bytes) != 0, "different seeds, same weights");
    for (int k = 0; k < lo.n_blocks; k++) {
        const char *name = lo.name[k];
        const float *w = a->params + lo.off[k];
        int gain = strstr(name, "ln") && strstr(name, "_w");
        if (gain || strstr(name, "_b"))
            for (size_t i = 0; i < lo.size[k]; i++)
                cr_assert_eq(w[i], gain ? 1.0f : 0.0f, "%s[%zu] = %g", name, i, w[i]);
    }
    double res = 0.02 / sqrt(2.0 * sh.layers);
    const struct { const char *name; double sd; } want[] = {
        {"wte", 0.02}, {"wpe", 0.02}, {"h0.attn_w", 0.02}, {"h2.fc_w", 0.02},
        {"head_w", 0.02}, {"h1.proj_w", res}, {"h2.fcproj_w", res}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double sd = block_sd(a, &lo, want[i].name);
        cr_assert(fabs(sd / want[i].sd - 1.0) < 0.1, "%s: sd %.4g, want %.4g", want[i].name, sd,
                  want[i].sd);
    }
    cl_net_free(a);
    cl_net_free(b);
    cl_net_free(c);
}

/* ---- 6. bad shapes and inputs ----------------------------------------------- */

Test(gpt, rejects_bad_shapes)
{
    cl_net *net = (cl_net *)1;
    const shape odd = {2, 8, 3, 5, 2};
    cr_assert_eq(try_new(&net, &odd, odd.ctx + 1, V, 1), CL_EINVAL);
    cr_assert_null(net);
    cr_assert(strstr(cl_error_last(), "model.heads"), "%s", cl_error_last());
    cr_assert_eq(try_new(&net, &TINY, TINY.ctx, V, 1), CL_EINVAL);
    cr_assert(strstr(cl_error_last(), "model.ctx"), "%s", cl_error_last());
    cr_assert_eq(try_new(&net, &TINY, TINY.ctx + 2, V, 1), CL_EINVAL);
    cr_assert_eq(try_new(&net, &TINY, TINY.ctx + 1, 10, 1), CL_EINVAL);
    cr_assert(strstr(cl_error_last(), "256"), "%s", cl_error_last());
    /* dropout is declared but only 0 is accepted */
    cl_params *p;
    cr_assert_eq(cl_params_new(&p, "model", cl_net_gpt.params), 0);
    cr_assert_eq(cl_params_set(p, "dropout", "0"), 0);
    cr_assert_eq(cl_params_set(p, "dropout", "0.1"), CL_EINVAL);
    cl_params_free(p);
}

Test(gpt, rejects_inputs_that_are_not_bytes)
{
    cl_net *net = make_gpt(&TINY, 1);
    float *x = random_windows(&TINY, 2, 1);
    const float *logits;
    const float bad[] = {-1.0f, 256.0f, NAN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        x[TINY.ctx + 1 + 2] = bad[i];
        cr_assert_eq(cl_net_forward(net, x, 2, &logits), CL_EINVAL);
        cr_assert(strstr(cl_error_last(), "not a byte"), "%s", cl_error_last());
    }
    /* The label byte is the net's business only through cl_net_labels. */
    x[TINY.ctx + 1 + 2] = 255.0f;
    x[TINY.ctx] = 300.0f;
    cr_assert_eq(cl_net_forward(net, x, 2, &logits), 0, "%s", cl_error_last());
    free(x);
    cl_net_free(net);
}

/* ---- 7. workspace, batches, params block ------------------------------------- */

static void train_pass(cl_net *net, const float *x, int n, const float **logits)
{
    double loss;
    cr_assert_eq(cl_net_forward(net, x, n, logits), 0);
    const float *dl = sum_ce_grad(net, x, n, *logits, &loss);
    cr_assert_eq(cl_net_backward(net, dl), 0);
    cr_assert_eq(cl_net_backward_into(net, dl, net->grads, 1), 0);
}

Test(gpt, steady_state_reuses_the_workspace)
{
    enum { B = 4 };
    const shape sh = {2, 16, 2, 8, 2};
    cl_net *net = make_gpt(&sh, 2);
    float *x = random_windows(&sh, B, 2);
    const float *first, *again;
    train_pass(net, x, B, &first);
    const float *feat = cl_net_features(net);
    float *copy = xcalloc((size_t)B * sh.ctx * V, sizeof *copy);
    memcpy(copy, first, (size_t)B * sh.ctx * V * sizeof *copy);
    train_pass(net, x, B, &again);
    cr_assert_eq(again, first, "a second batch of %d moved the logits", B);
    cr_assert_eq(cl_net_features(net), feat, "a second batch of %d moved the features", B);
    cr_assert(memcmp(again, copy, (size_t)B * sh.ctx * V * sizeof *copy) == 0);
    /* A fresh or smaller arena would lose the last sample's rows, which a
     * smaller batch leaves alone: mark them (the buffer is the net's, but
     * this is the only way to see a reallocation to the same address). */
    size_t last = (size_t)(B - 1) * sh.ctx * V;
    for (size_t i = last; i < last + (size_t)sh.ctx * V; i++) ((float *)again)[i] = -1234.5f;
    train_pass(net, x, B - 1, &again);
    cr_assert_eq(again, first, "a smaller batch moved the logits");
    for (size_t i = last; i < last + (size_t)sh.ctx * V; i++)
        cr_assert_eq(again[i], -1234.5f, "a smaller batch reallocated the logits (row %zu)",
                     i / V);
    free(copy);
    free(x);
    cl_net_free(net);
}

Test(gpt, a_sample_is_the_same_alone_or_in_a_batch)
{
    const shape sh = {2, 32, 4, 12, 4};
    layout lo = make_layout(&sh);
    cl_net *net = make_gpt(&sh, 4);
    scramble(net, &lo, 4);
    int T = sh.ctx;
    size_t n = (size_t)T * V;
    float *x = random_windows(&sh, 3, 4);
    float *batch = xcalloc(3 * n, sizeof *batch);
    const float *logits;
    cr_assert_eq(cl_net_forward(net, x, 3, &logits), 0);
    memcpy(batch, logits, 3 * n * sizeof *batch);
    cr_assert_eq(cl_net_forward(net, x + T + 1, 1, &logits), 0);
    double r = rel_diff(batch + n, logits, n);
    cr_assert(r <= 1e-6, "sample 1: batch vs alone relative %.3g", r);
    cr_assert(rel_diff(batch, logits, n) > 1e-3, "samples 0 and 1 give the same logits");
    free(batch);
    free(x);
    cl_net_free(net);
}

Test(gpt, forward_reads_only_the_bound_params)
{
    const shape sh = {1, 8, 2, 4, 1};
    cl_net *a = make_gpt(&sh, 1), *b = make_gpt(&sh, 2);
    float *x = random_windows(&sh, 2, 1);
    size_t n = (size_t)2 * sh.ctx * V;
    float *want = xcalloc(n, sizeof *want);
    const float *logits;
    cr_assert_eq(cl_net_forward(b, x, 2, &logits), 0);
    memcpy(want, logits, n * sizeof *want);
    cr_assert_eq(cl_net_forward(a, x, 2, &logits), 0);
    cr_assert(memcmp(logits, want, n * sizeof *want) != 0);
    memcpy(a->params, b->params, a->n_params * sizeof(float));
    cr_assert_eq(cl_net_forward(a, x, 2, &logits), 0);
    cr_assert(memcmp(logits, want, n * sizeof *want) == 0, "a copied block gives other logits");
    free(want);
    free(x);
    cl_net_free(a);
    cl_net_free(b);
}

/* ---- 8. FLOPs --------------------------------------------------------------- */

Test(gpt, counts_the_sgemm_flops)
{
    enum { N = 3 };
    const shape sh = {2, 16, 4, 8, 3};
    cl_net *net = make_gpt(&sh, 1);
    float *x = random_windows(&sh, N, 1);
    double R = N * sh.ctx, d = sh.d, f = sh.ratio * sh.d, T = sh.ctx, hd = d / sh.heads;
    double per_layer = 2 * R * (3 * d * d + d * d + 2 * f * d) + N * sh.heads * 2 * (2 * T * T * hd);
    double fwd = sh.layers * per_layer + 2 * R * V * d;
    const float *logits;
    double f0 = net->flops;
    cr_assert_eq(cl_net_forward(net, x, N, &logits), 0);
    cr_assert_eq(net->flops - f0, fwd, "forward: %.0f, want %.0f", net->flops - f0, fwd);
    double loss;
    const float *dl = sum_ce_grad(net, x, N, logits, &loss);
    f0 = net->flops;
    cr_assert_eq(cl_net_backward(net, dl), 0);
    cr_assert_eq(net->flops - f0, 2 * fwd, "backward: %.0f, want %.0f", net->flops - f0, 2 * fwd);
    f0 = net->flops;
    cr_assert_eq(cl_net_backward_into(net, dl, net->grads, 1), 0);
    cr_assert_eq(net->flops - f0, 2 * fwd, "squared backward: %.0f", net->flops - f0);
    free(x);
    cl_net_free(net);
}
