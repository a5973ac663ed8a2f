/* EWC Fisher estimation: cl_fisher_estimate (batched squared backward, the
 * estimator ewc.c calls) over the first N Fashion-MNIST training images on a
 * 784-400-400-10 network, for the empirical (true label) and expected (all
 * classes) estimators.
 *
 * usage: fisher N THREADS [REPS] */
#include <string.h>
#include <cblas.h>
#include "bench.h"
#include "clbench/base/error.h"
#include "clbench/nn/fisher.h"
#include "clbench/tasks/idx.h"
#include "clbench/nn/net.h"
#include "clbench/base/rng.h"

typedef struct ctx {
    cl_net *m;
    const float *x;
    const int *y;
    int n;
    cl_fisher_kind kind;
    float *out;
} ctx;

static void run_fisher(void *arg)
{
    ctx *c = arg;
    BENCH_CHECK(cl_fisher_estimate(c->m, c->x, c->y, c->n, 784, NULL, c->kind, c->out, NULL));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fisher N THREADS [REPS]\n");
        return 2;
    }
    int n = atoi(argv[1]), threads = atoi(argv[2]);
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    openblas_set_num_threads(threads);
    cl_idx_set *train, *test;
    BENCH_CHECK(cl_idx_load_dataset(&train, &test, "fmnist", NULL));
    if (n > train->n) n = train->n;
    float *x = malloc((size_t)n * 784 * sizeof *x); /* (n, 784) */
    int *y = malloc((size_t)n * sizeof *y);         /* (n) */
    cl_task_decode(x, train->pix, (size_t)n * 784);
    for (int i = 0; i < n; i++) y[i] = train->label[i];

    gsl_rng *rng;
    BENCH_CHECK(cl_rng_new(&rng, 1, CL_RNG_INIT));
    long hidden[] = {400, 400};
    cl_optim_config adam = {.kind = CL_OPTIM_ADAM, .lr = 1e-3f, .beta1 = 0.9f,
                            .beta2 = 0.999f, .eps = 1e-8f};
    ctx c = {.x = x, .y = y, .n = n};
    BENCH_CHECK(cl_net_mlp_new(&c.m, 784, hidden, 2, 10, &adam, rng));
    c.out = malloc(c.m->n_params * sizeof *c.out); /* (n_params) */
    printf("samples %d\nthreads %d\n", n, threads);
    const cl_fisher_kind kinds[] = {CL_FISHER_EMPIRICAL, CL_FISHER_EXPECTED};
    for (int k = 0; k < 2; k++) {
        c.kind = kinds[k];
        double s = bench_best(run_fisher, &c, 0.0, reps);
        double sum = 0.0;
        for (size_t i = 0; i < c.m->n_params; i++) sum += c.out[i];
        printf("%s_s %.9g\n%s_sum %.9g\n", cl_fisher_kind_name(c.kind), s,
               cl_fisher_kind_name(c.kind), sum);
    }
    cl_net_free(c.m);
    gsl_rng_free(rng);
    cl_idx_free(train);
    cl_idx_free(test);
    free(x);
    free(y);
    free(c.out);
    return 0;
}
