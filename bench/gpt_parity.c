/* GPT parity, the C half: builds the `gpt` network (layers 2, d_model 32,
 * heads 4, ctx 16, mlp_ratio 4, init seed 1) with AdamW (lr 1e-3, betas
 * 0.9/0.999, eps 1e-8, weight_decay 0.1), draws a batch of 4 windows of 17
 * random bytes and writes into DIR, all raw little-endian float32:
 *   params.f32   the initial parameters (the layout of harness/nn/gpt.c)
 *   x.f32        the windows (4, 17)
 *   logits.f32   the forward's logits (64, 256)
 *   grads.f32    the gradient of the mean cross-entropy over the 64 rows
 *   params1.f32  the parameters after one step: zero_grad, forward, mean
 *                cross-entropy, backward, AdamW step.
 * bench/gpt_parity.py loads them into a PyTorch module of the same
 * architecture and checks the logits and the step against PyTorch's.
 *
 * usage: gpt_parity DIR */
#include <stdio.h>
#include <string.h>
#include <cblas.h>
#include "clbench/base/error.h"
#include "clbench/base/rng.h"
#include "clbench/nn/loss.h"
#include "clbench/nn/net.h"

enum { LAYERS = 2, D_MODEL = 32, HEADS = 4, CTX = 16, MLP_RATIO = 4, BATCH = 4, VOCAB = 256 };

#define CHECK(expr)                                                          \
    do {                                                                     \
        int rc_ = (expr);                                                    \
        if (rc_) {                                                           \
            fprintf(stderr, "gpt_parity: %s: %s\n", #expr, cl_error_last()); \
            return 1;                                                        \
        }                                                                    \
    } while (0)

static int put(const char *dir, const char *name, const float *v, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(v, sizeof *v, n, f) == n;
    if (f && fclose(f)) ok = 0;
    if (!ok) return cl_error_set(CL_EIO, "cannot write %s", path);
    return 0;
}

static int set_int(cl_params *p, const char *name, int v)
{
    char text[32];
    snprintf(text, sizeof text, "%d", v);
    return cl_params_set(p, name, text);
}

static int build(cl_net **net)
{
    const cl_optim_config adamw = {.kind = CL_OPTIM_ADAMW, .lr = 1e-3f, .beta1 = 0.9f,
                                   .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f};
    cl_params *p;
    gsl_rng *rng;
    int rc = cl_params_new(&p, "model", cl_net_gpt.params);
    if (rc) return rc;
    if ((rc = set_int(p, "layers", LAYERS)) || (rc = set_int(p, "d_model", D_MODEL)) ||
        (rc = set_int(p, "heads", HEADS)) || (rc = set_int(p, "ctx", CTX)) ||
        (rc = set_int(p, "mlp_ratio", MLP_RATIO)) || (rc = cl_rng_new(&rng, 1, CL_RNG_INIT))) {
        cl_params_free(p);
        return rc;
    }
    rc = cl_net_new(net, &cl_net_gpt, p, CTX + 1, VOCAB, &adamw, rng);
    gsl_rng_free(rng);
    cl_params_free(p);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gpt_parity DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    openblas_set_num_threads(1);
    cl_net *net;
    CHECK(build(&net));

    float x[BATCH * (CTX + 1)]; /* (4, 17) */
    gsl_rng *rng;
    CHECK(cl_rng_new(&rng, 1, CL_RNG_DATA));
    for (int i = 0; i < BATCH * (CTX + 1); i++) x[i] = (float)cl_rng_below(rng, VOCAB);
    gsl_rng_free(rng);

    CHECK(put(dir, "params.f32", net->params, net->n_params));
    CHECK(put(dir, "x.f32", x, BATCH * (CTX + 1)));

    const float *logits; /* (64, 256) */
    const int *labels;   /* (64) */
    double loss;
    int rows = cl_net_rows(net, BATCH);
    cl_net_zero_grad(net);
    CHECK(cl_net_forward(net, x, BATCH, &logits));
    CHECK(put(dir, "logits.f32", logits, (size_t)rows * VOCAB));
    CHECK(cl_net_labels(net, x, NULL, BATCH, &labels));
    CHECK(cl_loss_ce(logits, labels, rows, VOCAB, NULL, 1.0f, net->dlogits, &loss));
    CHECK(cl_net_backward(net, net->dlogits));
    CHECK(put(dir, "grads.f32", net->grads, net->n_params));
    cl_net_step(net);
    CHECK(put(dir, "params1.f32", net->params, net->n_params));
    printf("loss %.9g\nparams %zu\n", loss, net->n_params);
    cl_net_free(net);
    return 0;
}
