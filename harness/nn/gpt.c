/* The `gpt` network: a byte-level GPT-2 style decoder (pre-LayerNorm causal
 * transformer, learned positions, tanh-GELU MLP, untied output head) behind
 * the net interface. A sample is a window of ctx + 1 bytes held as floats;
 * the first ctx are read as tokens and row t of the sample's logits
 * predicts byte t + 1.
 *
 * Parameters, in block order (weights (out, in) as nn.Linear stores them,
 * f = mlp_ratio * d):
 *   wte (256, d), wpe (ctx, d),
 *   per layer: ln1_w, ln1_b (d), attn_w (3d, d), attn_b (3d), proj_w (d, d),
 *              proj_b (d), ln2_w, ln2_b (d), fc_w (f, d), fc_b (f),
 *              fcproj_w (d, f), fcproj_b (d),
 *   lnf_w, lnf_b (d), head_w (256, d), head_b (256).
 * The head comes last so that episodic memory can adapt the tail of the
 * block from head_w on.
 *
 * Every matmul is one cblas_sgemm on contiguous operands; attention runs
 * per sample and head straight on the strided q, k, v columns of the qkv
 * buffer. The forward keeps every activation the backward needs in one
 * arena grown to the largest batch seen, so steady-state training
 * allocates nothing.
 *
 * FLOPs: net->flops counts 2*m*n*k per sgemm as issued (attention's score
 * and value products over the full T x T, masked half included), and
 * nothing for the elementwise passes (LayerNorm, GELU, softmax, bias adds,
 * embeddings), as the MLP counts: the figure is the sgemm work, the part a
 * BLAS-bound rate compares against. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "clbench/base/error.h"
#include "clbench/base/floats.h"
#include "clbench/base/hot.h"
#include "clbench/nn/net.h"

/* GSL's own declaration: gsl_randist.h drags in GSL's CBLAS, which clashes
 * with OpenBLAS's cblas.h in one translation unit. */
double gsl_ran_gaussian(const gsl_rng *r, const double sigma);

#define GPT_VOCAB 256
#define GPT_MAX_LAYERS 16
#define LN_EPS 1e-5f

static const cl_param_spec gpt_params[] = {
    {"layers", CL_PARAM_INT, "2", 1, GPT_MAX_LAYERS, NULL, "transformer blocks"},
    {"d_model", CL_PARAM_INT, "64", 8, 4096, NULL, "width of the residual stream"},
    {"heads", CL_PARAM_INT, "4", 1, 64, NULL, "attention heads (must divide d_model)"},
    {"ctx", CL_PARAM_INT, "64", 2, 4096, NULL,
     "context length T in bytes (a sample is a window of T + 1 bytes)"},
    {"mlp_ratio", CL_PARAM_INT, "4", 1, 16, NULL, "MLP hidden width as a multiple of d_model"},
    {"dropout", CL_PARAM_FLOAT, "0", 0, 0, NULL, "dropout rate (only 0 is supported)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* ---- shapes and blocks --------------------------------------------------- */

enum {
    LN1_W, LN1_B, ATTN_W, ATTN_B, PROJ_W, PROJ_B,
    LN2_W, LN2_B, FC_W, FC_B, FCPROJ_W, FCPROJ_B,
    N_LAYER_TENSORS
};

#define GPT_MAX_BLOCKS (6 + N_LAYER_TENSORS * GPT_MAX_LAYERS)

typedef enum init_kind { INIT_ZERO, INIT_ONE, INIT_NORMAL, INIT_RESIDUAL } init_kind;

typedef struct tensor_spec {
    const char *name;
    init_kind init;
    int decay;
} tensor_spec;

static const tensor_spec layer_tensors[N_LAYER_TENSORS] = {
    {"ln1_w", INIT_ONE, 0},     {"ln1_b", INIT_ZERO, 0},   {"attn_w", INIT_NORMAL, 1},
    {"attn_b", INIT_ZERO, 0},   {"proj_w", INIT_RESIDUAL, 1}, {"proj_b", INIT_ZERO, 0},
    {"ln2_w", INIT_ONE, 0},     {"ln2_b", INIT_ZERO, 0},   {"fc_w", INIT_NORMAL, 1},
    {"fc_b", INIT_ZERO, 0},     {"fcproj_w", INIT_RESIDUAL, 1}, {"fcproj_b", INIT_ZERO, 0},
};

/* One layer's activations of the last forward: views into the arena, R =
 * cap * ctx rows. */
typedef struct layer_acts {
    float *ln1;          /* (R, d) LN1 output, the attention's input */
    float *mean1, *rstd1; /* (R) LN1 row statistics */
    float *qkv;          /* (R, 3d) q | k | v */
    float *probs;        /* (n * heads, T, T) causal softmax, zero above the diagonal */
    float *att;          /* (R, d) heads' outputs side by side */
    float *ln2;          /* (R, d) LN2 output, the MLP's input */
    float *mean2, *rstd2; /* (R) LN2 row statistics */
    float *pre;          /* (R, f) fc output before GELU (its derivative needs it) */
    float *act;          /* (R, f) GELU output, fcproj's input */
} layer_acts;

typedef struct gpt {
    double *flops; /* the net's counter */
    int n_layers, d, heads, hd, ctx, f;
    size_t n_params;

    cl_net_block blocks[GPT_MAX_BLOCKS];
    init_kind init[GPT_MAX_BLOCKS];
    int n_blocks;
    char names[N_LAYER_TENSORS * GPT_MAX_LAYERS][16]; /* "h<l>.<tensor>": block names live here */
    size_t wte, wpe, lnf_w, lnf_b, head_w, head_b;
    size_t lay[GPT_MAX_LAYERS][N_LAYER_TENSORS]; /* offsets of each layer's tensors */

    float *params, *grads; /* (n_params) the net's bound blocks */

    /* Forward workspace, grown to the largest batch seen (cap samples). */
    int cap, n;    /* capacity; samples of the last forward (0: none usable) */
    float *fwd;    /* the arena the views below point into */
    int *tok;      /* (cap * T) token ids of the last forward */
    float *res[2 * GPT_MAX_LAYERS + 1]; /* (R, d) residual stream: res[2l] enters layer l's
                                         * attention, res[2l+1] its MLP, res[2L] the final LN */
    layer_acts acts[GPT_MAX_LAYERS];
    float *lnf;            /* (R, d) final LN output: the features and the head's input */
    float *meanf, *rstdf;  /* (R) its row statistics */
    float *logits;         /* (R, 256) */

    /* Backward workspace, grown to the largest row count backpropagated
     * at once (the squared path goes one sample at a time). */
    int bcap;     /* rows */
    float *bwd;   /* the arena */
    float *dres;  /* (rows, d) gradient at the residual stream */
    float *dln;   /* (rows, d) gradient at a LayerNorm output */
    float *datt;  /* (rows, d) gradient at the heads' outputs */
    float *dqkv;  /* (rows, 3d) */
    float *dfc;   /* (rows, f) gradient at the GELU output, then in place at its input */
    float *dscore; /* (T, T) one head's score gradient */
    float *scratch; /* (n_params) one sample's gradient on the squared path, made on first use */
} gpt;

static size_t layer_tensor_size(const gpt *g, int k)
{
    size_t d = (size_t)g->d, f = (size_t)g->f;
    switch (k) {
    case ATTN_W: return 3 * d * d;
    case ATTN_B: return 3 * d;
    case PROJ_W: return d * d;
    case FC_W:
    case FCPROJ_W: return f * d;
    case FC_B: return f;
    default: return d;
    }
}

/* Appends the next block; returns its offset. */
static size_t add_block(gpt *g, const char *name, size_t size, int decay, init_kind init)
{
    CL_ASSERT(g->n_blocks < GPT_MAX_BLOCKS);
    size_t off = g->n_params;
    g->blocks[g->n_blocks] = (cl_net_block){name, off, size, decay};
    g->init[g->n_blocks++] = init;
    g->n_params += size;
    return off;
}

static void lay_out_blocks(gpt *g)
{
    size_t d = (size_t)g->d;
    g->wte = add_block(g, "wte", GPT_VOCAB * d, 1, INIT_NORMAL);
    g->wpe = add_block(g, "wpe", (size_t)g->ctx * d, 1, INIT_NORMAL);
    for (int l = 0; l < g->n_layers; l++)
        for (int k = 0; k < N_LAYER_TENSORS; k++) {
            char *name = g->names[l * N_LAYER_TENSORS + k];
            snprintf(name, sizeof g->names[0], "h%d.%s", l, layer_tensors[k].name);
            g->lay[l][k] = add_block(g, name, layer_tensor_size(g, k), layer_tensors[k].decay,
                                     layer_tensors[k].init);
        }
    g->lnf_w = add_block(g, "lnf_w", d, 0, INIT_ONE);
    g->lnf_b = add_block(g, "lnf_b", d, 0, INIT_ZERO);
    g->head_w = add_block(g, "head_w", GPT_VOCAB * d, 1, INIT_NORMAL);
    g->head_b = add_block(g, "head_b", GPT_VOCAB, 0, INIT_ZERO);
}

static int check_shape(const cl_params *p, int d_in, int n_out)
{
    long d = cl_params_int(p, "d_model"), heads = cl_params_int(p, "heads");
    long ctx = cl_params_int(p, "ctx");
    if (d % heads)
        return cl_error_set(CL_EINVAL, "model.heads: %ld heads do not divide model.d_model = %ld",
                            heads, d);
    if (n_out != GPT_VOCAB)
        return cl_error_set(CL_EINVAL, "gpt: predicts bytes, so needs %d outputs, not %d",
                            GPT_VOCAB, n_out);
    if (d_in != ctx + 1)
        return cl_error_set(CL_EINVAL,
                            "gpt: a sample is a window of model.ctx + 1 = %ld bytes, "
                            "but the inputs are %d wide",
                            ctx + 1, d_in);
    return 0;
}

static int gpt_create(void **impl, cl_net *net, const cl_params *p, int d_in, int n_out)
{
    *impl = NULL;
    int rc = check_shape(p, d_in, n_out);
    if (rc) return rc;
    gpt *g = calloc(1, sizeof *g);
    if (!g) return cl_error_set(CL_ENOMEM, "out of memory allocating the gpt");
    g->flops = &net->flops;
    g->n_layers = (int)cl_params_int(p, "layers");
    g->d = (int)cl_params_int(p, "d_model");
    g->heads = (int)cl_params_int(p, "heads");
    g->hd = g->d / g->heads;
    g->ctx = (int)cl_params_int(p, "ctx");
    g->f = (int)cl_params_int(p, "mlp_ratio") * g->d;
    lay_out_blocks(g);
    net->n_params = g->n_params;
    net->rows_per_sample = g->ctx;
    net->d_feat = g->d;
    *impl = g;
    return 0;
}

static void gpt_bind(void *impl, float *params, float *grads)
{
    gpt *g = impl;
    g->params = params;
    g->grads = grads;
}

/* GPT-2's init: N(0, 0.02) matrices and embeddings, the two projections
 * into the residual stream scaled down by sqrt(2 * layers) so its variance
 * does not grow with depth, zero biases, unit LayerNorm gains. Drawn in
 * block order, so the weights follow from the rng alone. */
static void gpt_init(void *impl, gsl_rng *rng)
{
    gpt *g = impl;
    double sd = 0.02, sd_res = 0.02 / sqrt(2.0 * g->n_layers);
    for (int b = 0; b < g->n_blocks; b++) {
        float *w = g->params + g->blocks[b].offset; /* (size) */
        size_t n = g->blocks[b].size;
        for (size_t i = 0; i < n; i++) {
            switch (g->init[b]) {
            case INIT_ZERO: w[i] = 0.0f; break;
            case INIT_ONE: w[i] = 1.0f; break;
            case INIT_NORMAL: w[i] = (float)gsl_ran_gaussian(rng, sd); break;
            case INIT_RESIDUAL: w[i] = (float)gsl_ran_gaussian(rng, sd_res); break;
            }
        }
    }
}

/* ---- workspace ----------------------------------------------------------- */

/* Hands out n floats at *at of base, rounded up to 16 floats so every view
 * starts on a 64-byte line; with a NULL base it only counts. */
static float *take(float *base, size_t *at, size_t n)
{
    float *p = base ? base + *at : NULL;
    *at += (n + 15) & ~(size_t)15;
    return p;
}

/* Points the forward views into base for n samples; returns the floats
 * they need. */
static size_t forward_layout(gpt *g, float *base, int n)
{
    size_t at = 0, R = (size_t)n * g->ctx, d = (size_t)g->d, f = (size_t)g->f;
    size_t P = (size_t)n * g->heads * g->ctx * g->ctx;
    for (int k = 0; k <= 2 * g->n_layers; k++) g->res[k] = take(base, &at, R * d);
    for (int l = 0; l < g->n_layers; l++) {
        layer_acts *a = &g->acts[l];
        a->ln1 = take(base, &at, R * d);
        a->mean1 = take(base, &at, R);
        a->rstd1 = take(base, &at, R);
        a->qkv = take(base, &at, 3 * R * d);
        a->probs = take(base, &at, P);
        a->att = take(base, &at, R * d);
        a->ln2 = take(base, &at, R * d);
        a->mean2 = take(base, &at, R);
        a->rstd2 = take(base, &at, R);
        a->pre = take(base, &at, R * f);
        a->act = take(base, &at, R * f);
    }
    g->lnf = take(base, &at, R * d);
    g->meanf = take(base, &at, R);
    g->rstdf = take(base, &at, R);
    g->logits = take(base, &at, R * GPT_VOCAB);
    return at;
}

/* Grows *arena, laid out by `layout` for *cap units, to hold `want` units
 * (doubling from `first`), dropping its contents; on failure the views are
 * laid out for 0 units and *cap is 0. */
static int grow_arena(gpt *g, float **arena, int *cap, int want, int first,
                      size_t (*layout)(gpt *g, float *base, int units))
{
    if (want <= *cap) return 0;
    int c = *cap ? *cap : first;
    while (c < want) c = c > INT_MAX / 2 ? want : 2 * c;
    free(*arena);
    *arena = cl_floats_new(layout(g, NULL, c));
    if (!*arena) {
        *cap = 0;
        layout(g, NULL, 0);
        return CL_ENOMEM;
    }
    layout(g, *arena, c);
    *cap = c;
    return 0;
}

/* Grows the forward arena and the token ids to n samples, dropping their
 * contents. */
static int reserve_forward(gpt *g, int n)
{
    if (n <= g->cap) return 0;
    g->n = 0;
    int rc = grow_arena(g, &g->fwd, &g->cap, n, 1, forward_layout);
    free(g->tok);
    g->tok = rc ? NULL : malloc((size_t)g->cap * g->ctx * sizeof *g->tok);
    if (!rc && !g->tok) {
        free(g->fwd);
        g->fwd = NULL;
        g->cap = 0;
        forward_layout(g, NULL, 0);
        rc = CL_ENOMEM;
    }
    return rc ? cl_error_set(CL_ENOMEM, "out of memory for the gpt's activations of %d samples", n)
              : 0;
}

static size_t backward_layout(gpt *g, float *base, int rows)
{
    size_t at = 0, r = (size_t)rows, d = (size_t)g->d;
    g->dres = take(base, &at, r * d);
    g->dln = take(base, &at, r * d);
    g->datt = take(base, &at, r * d);
    g->dqkv = take(base, &at, 3 * r * d);
    g->dfc = take(base, &at, r * (size_t)g->f);
    g->dscore = take(base, &at, (size_t)g->ctx * g->ctx);
    return at;
}

static int reserve_backward(gpt *g, int rows)
{
    if (grow_arena(g, &g->bwd, &g->bcap, rows, g->ctx, backward_layout))
        return cl_error_set(CL_ENOMEM, "out of memory for the gpt's gradients of %d rows", rows);
    return 0;
}

static void gpt_destroy(void *impl)
{
    gpt *g = impl;
    if (!g) return;
    free(g->fwd);
    free(g->tok);
    free(g->bwd);
    free(g->scratch);
    free(g);
}

/* ---- elementwise passes -------------------------------------------------- */

/* Row-major C (m, n) = alpha op(A) op(B) + beta C, counted into the FLOPs. */
static void gemm(gpt *g, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
                 float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                 float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    *g->flops += 2.0 * m * n * k;
}

/* y (rows, n) += b (n). */
CL_HOT static void add_bias(float *restrict y, const float *restrict b, int rows, int n)
{
    for (int i = 0; i < rows; i++) {
        float *yr = y + (size_t)i * n;
        for (int j = 0; j < n; j++) yr[j] += b[j];
    }
}

/* y (rows, n) = skip (rows, n) + (y + b (n)): a residual connection's sum
 * in the one pass over the sgemm output, added in PyTorch's order. */
CL_HOT static void add_bias_skip(float *restrict y, const float *restrict b,
                                 const float *restrict skip, int rows, int n)
{
    for (size_t i = 0; i < (size_t)rows; i++) {
        float *yr = y + i * n;
        const float *sr = skip + i * n;
        for (int j = 0; j < n; j++) yr[j] = sr[j] + (yr[j] + b[j]);
    }
}

/* e^x for the hot loops, inline so that they vectorise (a call to libm's
 * expf stops that): x = k ln2 + r with |r| <= ln2 / 2, e^r by its Taylor
 * series to r^7 (remainder below 1e-8 relative), 2^k built in the exponent
 * bits. Within 1.3 ulp of e^x (checked over every float of the range).
 * x is clamped to [-87, 88] so 2^k stays a
 * normal float: e^x saturates near 1.6e38 and bottoms out near 1.6e-38
 * instead of reaching inf and 0, which the callers (a softmax, a sigmoid)
 * do not distinguish. NaN passes through; no float-to-int conversion, so
 * none is undefined. */
static inline float exp_fast(float x)
{
    x = x > 88.0f ? 88.0f : x;
    x = x < -87.0f ? -87.0f : x;
    /* Adding 1.5 * 2^23 rounds x / ln2 to the integer k held in the low
     * mantissa bits of t. */
    const float shift = 12582912.0f;
    float t = x * 1.44269504088896341f + shift;
    float k = t - shift;
    float r = x - k * 0.693145751953125f; /* ln2 split in two: the high */
    r = r - k * 1.428606765330187e-06f;    /* part's products are exact */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23; /* (k + 127) << 23: 2^k */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#define GELU_C 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_A 0.044715f

/* GELU_tanh(x) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), is
 * x sigmoid(2u) exactly: one exp instead of tanhf, which glibc builds on
 * expm1f at several times the cost; nor does tanh's cancellation near
 * u = 0 arise. For very negative x the sigmoid bottoms out near 6e-39
 * (exp_fast saturates) where the exact value underflows to 0. */
static inline float gelu_sigmoid(float x)
{
    return 1.0f / (1.0f + exp_fast(-2.0f * GELU_C * (x + GELU_A * x * x * x)));
}

/* pre (rows, n) += b, then act (rows, n) = GELU_tanh(pre), in one pass;
 * pre keeps the pre-activation for the derivative. */
CL_HOT static void bias_gelu(float *restrict pre, float *restrict act, const float *restrict b,
                             int rows, int n)
{
    for (size_t i = 0; i < (size_t)rows; i++) {
        float *pr = pre + i * n, *ar = act + i * n;
        for (int j = 0; j < n; j++) {
            float x = pr[j] + b[j];
            pr[j] = x;
            ar[j] = x * gelu_sigmoid(x);
        }
    }
}

/* dy (rows, n) *= GELU_tanh'(pre), and db (n) += its column sums. With
 * s = sigmoid(2u): d/dx [x s] = s + 2 x s (1 - s) u'(x). */
CL_HOT static void gelu_backward(float *restrict dy, float *restrict db,
                                 const float *restrict pre, int rows, int n)
{
    for (size_t i = 0; i < (size_t)rows; i++) {
        float *dr = dy + i * n;
        const float *pr = pre + i * n;
        for (int j = 0; j < n; j++) {
            float x = pr[j], s = gelu_sigmoid(x);
            float du = GELU_C * (1.0f + 3.0f * GELU_A * x * x);
            float v = dr[j] * (s + 2.0f * x * s * (1.0f - s) * du);
            dr[j] = v;
            db[j] += v;
        }
    }
}

/* db (n) += the column sums of dy (rows, n). */
CL_HOT static void add_colsums(float *restrict db, const float *restrict dy, int rows, int n)
{
    for (size_t i = 0; i < (size_t)rows; i++) {
        const float *dr = dy + i * n;
        for (int j = 0; j < n; j++) db[j] += dr[j];
    }
}

/* y = (x - mean) / sqrt(var + eps) * w + b over each row of x (rows, d),
 * biased variance; mean and rstd (rows) kept for the backward. */
CL_HOT static void layernorm_forward(float *restrict y, float *restrict mean, float *restrict rstd,
                                     const float *restrict x, const float *restrict w,
                                     const float *restrict b, int rows, int d)
{
    for (size_t i = 0; i < (size_t)rows; i++) {
        const float *xr = x + i * d;
        float *yr = y + i * d;
        float m = 0.0f, v = 0.0f;
        for (int j = 0; j < d; j++) m += xr[j];
        m /= (float)d;
        /* Two passes: the residual stream's mean can dwarf its spread. */
        for (int j = 0; j < d; j++) v += (xr[j] - m) * (xr[j] - m);
        v /= (float)d;
        float rs = 1.0f / sqrtf(v + LN_EPS);
        mean[i] = m;
        rstd[i] = rs;
        for (int j = 0; j < d; j++) yr[j] = (xr[j] - m) * rs * w[j] + b[j];
    }
}

/* Through y = LN(x): dx (rows, d) += rstd (g - mean(g) - xhat mean(g xhat))
 * with g = dy w and xhat recomputed from x and the saved statistics;
 * dw, db (d) += the column sums of dy xhat and dy. */
CL_HOT static void layernorm_backward(float *restrict dx, float *restrict dw, float *restrict db,
                                      const float *restrict dy, const float *restrict x,
                                      const float *restrict mean, const float *restrict rstd,
                                      const float *restrict w, int rows, int d)
{
    for (size_t i = 0; i < (size_t)rows; i++) {
        const float *dyr = dy + i * d, *xr = x + i * d;
        float *dxr = dx + i * d;
        float m = mean[i], rs = rstd[i], sg = 0.0f, sgx = 0.0f;
        for (int j = 0; j < d; j++) {
            float xh = (xr[j] - m) * rs, gj = dyr[j] * w[j];
            sg += gj;
            sgx += gj * xh;
            dw[j] += dyr[j] * xh;
            db[j] += dyr[j];
        }
        sg /= (float)d;
        sgx /= (float)d;
        for (int j = 0; j < d; j++) {
            float xh = (xr[j] - m) * rs;
            dxr[j] += rs * (dyr[j] * w[j] - sg - xh * sgx);
        }
    }
}

/* Row t of the scores s (T, T) becomes the softmax over columns 0..t, the
 * masked columns exact zeros, so P v needs no mask. */
CL_HOT static void causal_softmax(float *restrict s, int T)
{
    for (int t = 0; t < T; t++) {
        float *row = s + (size_t)t * T;
        float mx = row[0], sum = 0.0f;
        for (int j = 1; j <= t; j++) mx = row[j] > mx ? row[j] : mx;
        for (int j = 0; j <= t; j++) {
            row[j] = exp_fast(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j <= t; j++) row[j] *= inv;
        for (int j = t + 1; j < T; j++) row[j] = 0.0f;
    }
}

/* ds (T, T) holds dL/dP on entry and dL/dscores on return:
 * p (dp - sum_j p dp) over the unmasked columns, 0 above the diagonal. */
CL_HOT static void softmax_backward(float *restrict ds, const float *restrict p, int T)
{
    for (int t = 0; t < T; t++) {
        float *dr = ds + (size_t)t * T;
        const float *pr = p + (size_t)t * T;
        float dot = 0.0f;
        for (int j = 0; j <= t; j++) dot += pr[j] * dr[j];
        for (int j = 0; j <= t; j++) dr[j] = pr[j] * (dr[j] - dot);
        for (int j = t + 1; j < T; j++) dr[j] = 0.0f;
    }
}

/* ---- forward ------------------------------------------------------------- */

/* Token ids of the first ctx bytes of each window; a value that is no byte
 * is a caller's bug that would otherwise read outside wte. */
static int read_tokens(gpt *g, const float *x, int n)
{
    int T = g->ctx;
    for (int s = 0; s < n; s++) {
        const float *w = x + (size_t)s * (T + 1); /* (T + 1) */
        for (int t = 0; t < T; t++) {
            float v = w[t];
            if (!(v >= 0.0f && v < (float)GPT_VOCAB))
                return cl_error_set(CL_EINVAL,
                                    "gpt: sample %d position %d holds %g, not a byte 0..255", s,
                                    t, (double)v);
            g->tok[(size_t)s * T + t] = (int)v;
        }
    }
    return 0;
}

/* res[0] (R, d) = wte[tok] + wpe[t]. */
static void embed(gpt *g, int n)
{
    int T = g->ctx, d = g->d;
    const float *wte = g->params + g->wte, *wpe = g->params + g->wpe;
    for (size_t i = 0; i < (size_t)n * T; i++) {
        const float *e = wte + (size_t)g->tok[i] * d, *p = wpe + (i % (size_t)T) * d;
        float *h = g->res[0] + i * d;
        for (int j = 0; j < d; j++) h[j] = e[j] + p[j];
    }
}

/* Causal self-attention of the qkv of layer a into a->att, per sample and
 * head; probabilities kept in a->probs. */
static void attention_forward(gpt *g, const layer_acts *a, int n)
{
    int T = g->ctx, d = g->d, hd = g->hd, ld = 3 * d;
    float scale = 1.0f / sqrtf((float)hd);
    for (int s = 0; s < n; s++)
        for (int h = 0; h < g->heads; h++) {
            const float *q = a->qkv + (size_t)s * T * ld + (size_t)h * hd; /* (T, hd), ld 3d */
            const float *k = q + d, *v = q + 2 * d;
            float *p = a->probs + ((size_t)s * g->heads + h) * T * T; /* (T, T) */
            float *y = a->att + (size_t)s * T * d + (size_t)h * hd;   /* (T, hd), ld d */
            gemm(g, CblasNoTrans, CblasTrans, T, T, hd, scale, q, ld, k, ld, 0.0f, p, T);
            causal_softmax(p, T);
            gemm(g, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, v, ld, 0.0f, y, d);
        }
}

static void layer_forward(gpt *g, int l, int n)
{
    const size_t *o = g->lay[l];
    const float *P = g->params;
    layer_acts *a = &g->acts[l];
    int R = n * g->ctx, d = g->d, f = g->f;
    const float *h0 = g->res[2 * l]; /* (R, d) */
    float *h1 = g->res[2 * l + 1], *h2 = g->res[2 * l + 2]; /* (R, d) */

    layernorm_forward(a->ln1, a->mean1, a->rstd1, h0, P + o[LN1_W], P + o[LN1_B], R, d);
    gemm(g, CblasNoTrans, CblasTrans, R, 3 * d, d, 1.0f, a->ln1, d, P + o[ATTN_W], d, 0.0f,
         a->qkv, 3 * d);
    add_bias(a->qkv, P + o[ATTN_B], R, 3 * d);
    attention_forward(g, a, n);
    gemm(g, CblasNoTrans, CblasTrans, R, d, d, 1.0f, a->att, d, P + o[PROJ_W], d, 0.0f, h1, d);
    add_bias_skip(h1, P + o[PROJ_B], h0, R, d);

    layernorm_forward(a->ln2, a->mean2, a->rstd2, h1, P + o[LN2_W], P + o[LN2_B], R, d);
    gemm(g, CblasNoTrans, CblasTrans, R, f, d, 1.0f, a->ln2, d, P + o[FC_W], d, 0.0f, a->pre, f);
    bias_gelu(a->pre, a->act, P + o[FC_B], R, f);
    gemm(g, CblasNoTrans, CblasTrans, R, d, f, 1.0f, a->act, f, P + o[FCPROJ_W], f, 0.0f, h2, d);
    add_bias_skip(h2, P + o[FCPROJ_B], h1, R, d);
}

static int gpt_forward(void *impl, const float *x, int n, const float **logits)
{
    gpt *g = impl;
    if (n < 1 || n > INT_MAX / g->ctx)
        return cl_error_set(CL_EINVAL, "gpt: a batch of %d samples", n);
    int rc = reserve_forward(g, n);
    if (rc) return rc;
    g->n = 0; /* no backward from a failed forward */
    if ((rc = read_tokens(g, x, n))) return rc;
    int R = n * g->ctx, d = g->d;
    const float *P = g->params;
    embed(g, n);
    for (int l = 0; l < g->n_layers; l++) layer_forward(g, l, n);
    layernorm_forward(g->lnf, g->meanf, g->rstdf, g->res[2 * g->n_layers], P + g->lnf_w,
                      P + g->lnf_b, R, d);
    gemm(g, CblasNoTrans, CblasTrans, R, GPT_VOCAB, d, 1.0f, g->lnf, d, P + g->head_w, d, 0.0f,
         g->logits, GPT_VOCAB);
    add_bias(g->logits, P + g->head_b, R, GPT_VOCAB);
    g->n = n;
    *logits = g->logits;
    return 0;
}

/* ---- backward ------------------------------------------------------------ */

/* The samples of the last forward one backward covers: all of them, or
 * one at a time on the squared path, which is why every backward pass
 * reads the activations through rows_of. */
typedef struct sample_range {
    int s0, n, rows; /* first sample, samples, rows */
    size_t row0;     /* first row */
} sample_range;

static const float *rows_of(const float *buf, const sample_range *r, size_t width)
{
    return buf + r->row0 * width;
}

/* Gradient at the heads' outputs g->datt -> g->dqkv for the samples of r. */
static void attention_backward(gpt *g, const layer_acts *a, const sample_range *r)
{
    int T = g->ctx, d = g->d, hd = g->hd, ld = 3 * d;
    float scale = 1.0f / sqrtf((float)hd);
    float *ds = g->dscore; /* (T, T) */
    for (int s = 0; s < r->n; s++)
        for (int h = 0; h < g->heads; h++) {
            size_t col = (size_t)h * hd;
            const float *q = rows_of(a->qkv, r, ld) + (size_t)s * T * ld + col; /* (T, hd) */
            const float *k = q + d, *v = q + 2 * d;
            const float *p = a->probs + ((size_t)(r->s0 + s) * g->heads + h) * T * T; /* (T, T) */
            const float *dy = g->datt + (size_t)s * T * d + col; /* (T, hd), ld d */
            float *dq = g->dqkv + (size_t)s * T * ld + col, *dk = dq + d, *dv = dq + 2 * d;
            gemm(g, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, dy, d, v, ld, 0.0f, ds, T);
            gemm(g, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, dy, d, 0.0f, dv, ld);
            softmax_backward(ds, p, T);
            gemm(g, CblasNoTrans, CblasNoTrans, T, hd, T, scale, ds, T, k, ld, 0.0f, dq, ld);
            gemm(g, CblasTrans, CblasNoTrans, T, hd, T, scale, ds, T, q, ld, 0.0f, dk, ld);
        }
}

/* Layer l from the gradient at its output (g->dres) to the gradient at its
 * input (g->dres again: the residual path carries it through), adding the
 * layer's parameter gradients into tg. */
static void layer_backward(gpt *g, int l, const sample_range *r, float *tg)
{
    const size_t *o = g->lay[l];
    const float *P = g->params;
    const layer_acts *a = &g->acts[l];
    int n = r->rows, d = g->d, f = g->f;
    const float *h0 = rows_of(g->res[2 * l], r, d), *h1 = rows_of(g->res[2 * l + 1], r, d);
    const float *ln1 = rows_of(a->ln1, r, d), *ln2 = rows_of(a->ln2, r, d); /* (rows, d) */
    const float *act = rows_of(a->act, r, f), *pre = rows_of(a->pre, r, f); /* (rows, f) */

    /* h2 = h1 + GELU(LN2(h1) fc_w^T + fc_b) fcproj_w^T + fcproj_b */
    add_colsums(tg + o[FCPROJ_B], g->dres, n, d);
    gemm(g, CblasTrans, CblasNoTrans, d, f, n, 1.0f, g->dres, d, act, f, 1.0f, tg + o[FCPROJ_W], f);
    gemm(g, CblasNoTrans, CblasNoTrans, n, f, d, 1.0f, g->dres, d, P + o[FCPROJ_W], f, 0.0f,
         g->dfc, f);
    gelu_backward(g->dfc, tg + o[FC_B], pre, n, f);
    gemm(g, CblasTrans, CblasNoTrans, f, d, n, 1.0f, g->dfc, f, ln2, d, 1.0f, tg + o[FC_W], d);
    gemm(g, CblasNoTrans, CblasNoTrans, n, d, f, 1.0f, g->dfc, f, P + o[FC_W], d, 0.0f, g->dln, d);
    layernorm_backward(g->dres, tg + o[LN2_W], tg + o[LN2_B], g->dln, h1,
                       rows_of(a->mean2, r, 1), rows_of(a->rstd2, r, 1), P + o[LN2_W], n, d);

    /* h1 = h0 + attention(LN1(h0) attn_w^T + attn_b) proj_w^T + proj_b */
    add_colsums(tg + o[PROJ_B], g->dres, n, d);
    gemm(g, CblasTrans, CblasNoTrans, d, d, n, 1.0f, g->dres, d, rows_of(a->att, r, d), d, 1.0f,
         tg + o[PROJ_W], d);
    gemm(g, CblasNoTrans, CblasNoTrans, n, d, d, 1.0f, g->dres, d, P + o[PROJ_W], d, 0.0f,
         g->datt, d);
    attention_backward(g, a, r);
    add_colsums(tg + o[ATTN_B], g->dqkv, n, 3 * d);
    gemm(g, CblasTrans, CblasNoTrans, 3 * d, d, n, 1.0f, g->dqkv, 3 * d, ln1, d, 1.0f,
         tg + o[ATTN_W], d);
    gemm(g, CblasNoTrans, CblasNoTrans, n, d, 3 * d, 1.0f, g->dqkv, 3 * d, P + o[ATTN_W], d, 0.0f,
         g->dln, d);
    layernorm_backward(g->dres, tg + o[LN1_W], tg + o[LN1_B], g->dln, h0,
                       rows_of(a->mean1, r, 1), rows_of(a->rstd1, r, 1), P + o[LN1_W], n, d);
}

/* Scatters the gradient at the embeddings' sum into wte and wpe. */
static void embed_backward(gpt *g, const sample_range *r, float *tg)
{
    int T = g->ctx, d = g->d;
    for (size_t i = 0; i < (size_t)r->rows; i++) {
        const float *dh = g->dres + i * d;
        size_t row = r->row0 + i;
        float *de = tg + g->wte + (size_t)g->tok[row] * d, *dp = tg + g->wpe + (row % T) * d;
        for (int j = 0; j < d; j++) {
            de[j] += dh[j];
            dp[j] += dh[j];
        }
    }
}

/* The backward of samples [s0, s1) of the last forward, from their rows of
 * dlogits (the whole (R, 256) block), added into tg (n_params). The
 * backward workspace must hold (s1 - s0) * T rows. */
static void backward_range(gpt *g, const float *dlogits, float *tg, int s0, int s1)
{
    int T = g->ctx, d = g->d;
    sample_range r = {s0, s1 - s0, (s1 - s0) * T, (size_t)s0 * T};
    const float *dz = rows_of(dlogits, &r, GPT_VOCAB); /* (rows, 256) */
    const float *P = g->params;

    add_colsums(tg + g->head_b, dz, r.rows, GPT_VOCAB);
    gemm(g, CblasTrans, CblasNoTrans, GPT_VOCAB, d, r.rows, 1.0f, dz, GPT_VOCAB,
         rows_of(g->lnf, &r, d), d, 1.0f, tg + g->head_w, d);
    gemm(g, CblasNoTrans, CblasNoTrans, r.rows, d, GPT_VOCAB, 1.0f, dz, GPT_VOCAB, P + g->head_w,
         d, 0.0f, g->dln, d);
    memset(g->dres, 0, (size_t)r.rows * d * sizeof *g->dres);
    layernorm_backward(g->dres, tg + g->lnf_w, tg + g->lnf_b, g->dln,
                       rows_of(g->res[2 * g->n_layers], &r, d), rows_of(g->meanf, &r, 1),
                       rows_of(g->rstdf, &r, 1), P + g->lnf_w, r.rows, d);
    for (int l = g->n_layers - 1; l >= 0; l--) layer_backward(g, l, &r, tg);
    embed_backward(g, &r, tg);
}

/* t (n) += s (n) squared. */
CL_HOT static void add_squares(float *restrict t, const float *restrict s, size_t n)
{
    for (size_t i = 0; i < n; i++) t[i] += s[i] * s[i];
}

/* Samples do not interact (attention stays within a window), so one
 * sample's gradient is exactly the backward of its own rows: the squared
 * path runs the backward sample by sample into the scratch block, the
 * same sgemm work as one batched backward in smaller pieces. */
static int backward_squared(gpt *g, const float *dlogits, float *target)
{
    if (!g->scratch && !(g->scratch = cl_floats_new(g->n_params)))
        return cl_error_set(CL_ENOMEM, "out of memory for the gpt's per-sample gradient");
    for (int s = 0; s < g->n; s++) {
        memset(g->scratch, 0, g->n_params * sizeof *g->scratch);
        backward_range(g, dlogits, g->scratch, s, s + 1);
        add_squares(target, g->scratch, g->n_params);
    }
    return 0;
}

static int gpt_backward(void *impl, const float *dlogits, float *target, int squared)
{
    gpt *g = impl;
    CL_ASSERT(g->n >= 1);
    int rc = reserve_backward(g, squared ? g->ctx : g->n * g->ctx);
    if (rc) return rc;
    if (squared) return backward_squared(g, dlogits, target);
    backward_range(g, dlogits, target, 0, g->n);
    return 0;
}

/* ---- the rest of the interface ------------------------------------------- */

/* The head alone: below it sit LayerNorms and attention, not ReLUs. */
static int gpt_top(const void *impl, cl_net_dense *out, int max)
{
    const gpt *g = impl;
    CL_ASSERT(max >= 1);
    out[0] = (cl_net_dense){g->d, GPT_VOCAB, g->head_w, g->head_b, g->lnf};
    return 1;
}

static int gpt_blocks(const void *impl, cl_net_block *out, int max)
{
    const gpt *g = impl;
    if (!out) return g->n_blocks;
    int k = g->n_blocks < max ? g->n_blocks : max;
    memcpy(out, g->blocks, (size_t)k * sizeof *out);
    return k;
}

const cl_net_ops cl_net_gpt = {
    .version = CL_NET_OPS_VERSION,
    .name = "gpt",
    .summary = "byte-level GPT: pre-LN causal transformer, learned positions, GELU MLP",
    .params = gpt_params,
    .input = CL_NET_TOKENS,
    .exact_squares = 1,
    .create = gpt_create,
    .bind = gpt_bind,
    .init = gpt_init,
    .forward = gpt_forward,
    .backward = gpt_backward,
    .top = gpt_top,
    .blocks = gpt_blocks,
    .destroy = gpt_destroy,
};
