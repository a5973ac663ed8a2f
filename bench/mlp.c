/* MLP training-step throughput: clbench's step (forward, cross-entropy,
 * backward, Adam: cl_strategy_sgd_step, the step every strategy uses) on a
 * 784-400-400-10 network, against exactly the sgemm calls that step makes
 * (same shapes, same order, same buffers) timed alone: the rate OpenBLAS
 * reaches on this work, the practical limit of the step.
 *
 * usage: mlp BATCH THREADS [MIN_SECONDS REPS] */
#include <string.h>
#include <cblas.h>
#include "bench.h"
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/nn/net.h"
#include "clbench/nn/mlp.h"
#include "clbench/base/rng.h"
#include "clbench/strategies/strategy.h"

typedef struct ctx {
    cl_net *m;
    cl_batch b;
} ctx;

static void run_step(void *arg)
{
    ctx *c = arg;
    BENCH_CHECK(cl_strategy_sgd_step(c->m, &c->b));
}

/* The sgemm calls of one step, as harness/nn/model.c makes them: the forward
 * pass, then per layer (top down) the weight gradient and, below the first
 * layer, the input gradient. */
static void run_sgemm(void *arg)
{
    ctx *c = arg;
    cl_net *m = c->m;
    int B = c->b.n;
    const float *in = c->b.x;
    for (int l = 0; l < cl_net_mlp_of(m)->n_layers; l++) {
        const cl_layer *L = &cl_net_mlp_of(m)->layers[l];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, L->n_out, L->n_in, 1.0f, in,
                    L->n_in, L->w, L->n_in, 0.0f, cl_net_mlp_of(m)->acts[l + 1], L->n_out);
        in = cl_net_mlp_of(m)->acts[l + 1];
    }
    const float *d = m->dlogits;
    for (int l = cl_net_mlp_of(m)->n_layers - 1; l >= 0; l--) {
        const cl_layer *L = &cl_net_mlp_of(m)->layers[l];
        const float *a = l ? cl_net_mlp_of(m)->acts[l] : c->b.x;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->n_out, L->n_in, B, 1.0f, d,
                    L->n_out, a, L->n_in, 1.0f, L->dw, L->n_in);
        if (l == 0) break;
        float *dx = m->delta[l & 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, L->n_in, L->n_out, 1.0f, d,
                    L->n_out, L->w, L->n_in, 0.0f, dx, L->n_in);
        d = dx;
    }
}

/* Parts of the step, for finding where time goes. */
static void run_forward(void *arg)
{
    ctx *c = arg;
    const float *logits;
    BENCH_CHECK(cl_net_forward(c->m, c->b.x, c->b.n, &logits));
}

static void run_backward(void *arg)
{
    ctx *c = arg;
    BENCH_CHECK(cl_net_backward(c->m, c->m->dlogits));
}

static void run_adam(void *arg) { cl_net_step(((ctx *)arg)->m); }
static void run_zero(void *arg) { cl_net_zero_grad(((ctx *)arg)->m); }

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mlp BATCH THREADS [MIN_SECONDS REPS]\n");
        return 2;
    }
    int B = atoi(argv[1]), threads = atoi(argv[2]);
    double min_s = argc > 3 ? atof(argv[3]) : 0.3;
    int reps = argc > 4 ? atoi(argv[4]) : 5;
    openblas_set_num_threads(threads);

    gsl_rng *rng;
    BENCH_CHECK(cl_rng_new(&rng, 1, CL_RNG_INIT));
    long hidden[] = {400, 400};
    cl_optim_config adam = {.kind = CL_OPTIM_ADAM, .lr = 1e-3f, .beta1 = 0.9f,
                            .beta2 = 0.999f, .eps = 1e-8f};
    ctx c;
    BENCH_CHECK(cl_net_mlp_new(&c.m, 784, hidden, 2, 10, &adam, rng));
    float *x = malloc((size_t)B * 784 * sizeof *x); /* (B, 784) */
    int *y = malloc((size_t)B * sizeof *y);         /* (B) */
    for (int i = 0; i < B * 784; i++) x[i] = (float)gsl_rng_uniform(rng);
    for (int i = 0; i < B; i++) y[i] = (int)cl_rng_below(rng, 10);
    c.b = (cl_batch){x, y, B, 784, 0, 10, NULL, 0};

    double f0 = c.m->flops;
    run_step(&c);
    double flops = c.m->flops - f0; /* sgemm FLOPs of one step */

    double step = bench_best(run_step, &c, min_s, reps);
    double gemm = bench_best(run_sgemm, &c, min_s, reps);
    double fwd = bench_best(run_forward, &c, min_s / 3, reps);
    double bwd = bench_best(run_backward, &c, min_s / 3, reps);
    double adam_s = bench_best(run_adam, &c, min_s / 3, reps);
    double zero = bench_best(run_zero, &c, min_s / 3, reps);

    printf("batch %d\nthreads %d\n", B, threads);
    printf("step_s %.9g\nsamples_per_s %.6g\n", step, B / step);
    printf("flops_per_step %.9g\n", flops);
    printf("step_gflops %.6g\n", flops / step * 1e-9);
    printf("sgemm_s %.9g\nsgemm_gflops %.6g\n", gemm, flops / gemm * 1e-9);
    printf("step_vs_sgemm %.4f\n", gemm / step);
    printf("forward_s %.9g\nbackward_s %.9g\nadam_s %.9g\nzero_grad_s %.9g\n", fwd, bwd, adam_s,
           zero);
    cl_net_free(c.m);
    gsl_rng_free(rng);
    free(x);
    free(y);
    return 0;
}
