/* Episodic inference: the episodic strategy's prediction (retrieve the
 * K = 32 nearest memory items by key, adapt the output layer for L = 30
 * SGD steps with the L2 pull to the base weights, predict; the defaults,
 * so the dual form) for the Fashion-MNIST test images, in chunks of 256 as
 * the runner evaluates. The memory holds the first MEM training images,
 * written by MEM / 128 training steps (observe) on them, which also train
 * the network; the feature cache is refilled in every timed repetition, as
 * in every prediction phase of a run.
 *
 * usage: episodic N_TEST THREADS [REPS [WEIGHTS_FILE [SUB]]]
 * WEIGHTS_FILE receives the trained network (each layer's (out, in) weights
 * then bias, float32), so the PyTorch peer predicts with the same network
 * and memory; accuracy_sub is the accuracy on the first SUB test images,
 * the ones the peer predicts. */
#include <string.h>
#include <cblas.h>
#include "bench.h"
#include "clbench/base/error.h"
#include "clbench/tasks/idx.h"
#include "clbench/nn/loss.h"
#include "clbench/nn/net.h"
#include "clbench/base/rng.h"
#include "clbench/strategies/strategy.h"

enum { MEM = 10000, TRAIN_B = 128, EVAL_CHUNK = 256, D = 784, C = 10 };

typedef struct ctx {
    const cl_strategy_ops *ops;
    void *st;
    cl_net *net;
    cl_task task;
    const float *x; /* (n, D) test inputs */
    const int *y;   /* (n) */
    int n;
    float *logits;  /* (EVAL_CHUNK, C) */
    long correct;
    int sub;          /* accuracy_sub counts the first sub queries */
    long correct_sub;
} ctx;

static void run_predict(void *arg)
{
    ctx *c = arg;
    /* task_end invalidates the feature cache: each repetition is a whole
     * prediction phase. */
    BENCH_CHECK(c->ops->task_end(c->st, c->net, &c->task));
    c->correct = c->correct_sub = 0;
    for (int i0 = 0; i0 < c->n; i0 += EVAL_CHUNK) {
        int m = c->n - i0 < EVAL_CHUNK ? c->n - i0 : EVAL_CHUNK;
        cl_batch b = {c->x + (size_t)i0 * D, c->y + i0, m, D, 0, C, NULL, 0};
        BENCH_CHECK(c->ops->predict(c->st, c->net, &b, c->logits));
        for (int i = 0; i < m; i++) {
            int hit = cl_argmax(c->logits + (size_t)i * C, C, NULL) == c->y[i0 + i];
            c->correct += hit;
            c->correct_sub += hit && i0 + i < c->sub;
        }
    }
}

static float *scaled(const cl_idx_set *s, int n)
{
    float *x = malloc((size_t)n * D * sizeof *x); /* (n, D) */
    if (!x) exit(1);
    cl_task_decode(x, s->pix, (size_t)n * D);
    return x;
}

static int *labels(const cl_idx_set *s, int n)
{
    int *y = malloc((size_t)n * sizeof *y);
    if (!y) exit(1);
    for (int i = 0; i < n; i++) y[i] = s->label[i];
    return y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: episodic N_TEST THREADS [REPS [WEIGHTS_FILE [SUB]]]\n");
        return 2;
    }
    int n_test = atoi(argv[1]), threads = atoi(argv[2]);
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    openblas_set_num_threads(threads);
    cl_idx_set *train, *test;
    BENCH_CHECK(cl_idx_load_dataset(&train, &test, "fmnist", NULL));
    if (n_test > test->n) n_test = test->n;
    float *mx = scaled(train, MEM), *tx = scaled(test, n_test);
    int *my = labels(train, MEM), *ty = labels(test, n_test);

    ctx c = {.x = tx, .y = ty, .n = n_test, .sub = argc > 5 ? atoi(argv[5]) : n_test};
    if (c.sub < 1 || c.sub > n_test) c.sub = n_test;
    gsl_rng *ri, *rs;
    BENCH_CHECK(cl_rng_new(&ri, 1, CL_RNG_INIT));
    BENCH_CHECK(cl_rng_new(&rs, 1, CL_RNG_STRATEGY));
    long hidden[] = {400, 400};
    cl_optim_config adam = {.kind = CL_OPTIM_ADAM, .lr = 1e-3f, .beta1 = 0.9f,
                            .beta2 = 0.999f, .eps = 1e-8f};
    BENCH_CHECK(cl_net_mlp_new(&c.net, D, hidden, 2, C, &adam, ri));
    BENCH_CHECK(cl_strategy_find(&c.ops, "episodic"));
    cl_params *p;
    BENCH_CHECK(cl_params_new(&p, "episodic", c.ops->params));
    cl_strategy_env env = {CL_SCENARIO_CLASS, 1, C, D, hidden, 2};
    BENCH_CHECK(c.ops->create(&c.st, p, &env, c.net, rs));
    unsigned char all[C];
    memset(all, 1, sizeof all);
    c.task = (cl_task){.id = 0, .n_train = MEM, .n_test = n_test, .d = D, .train_x = mx, .train_y = my,
                       .test_x = tx, .test_y = ty, .classes = all};
    BENCH_CHECK(c.ops->task_begin(c.st, c.net, &c.task));
    for (int i0 = 0; i0 < MEM; i0 += TRAIN_B) {
        int m = MEM - i0 < TRAIN_B ? MEM - i0 : TRAIN_B;
        cl_batch b = {mx + (size_t)i0 * D, my + i0, m, D, 0, C, NULL, 0};
        BENCH_CHECK(c.ops->observe(c.st, c.net, &b));
    }
    c.logits = malloc((size_t)EVAL_CHUNK * C * sizeof *c.logits);

    double s = bench_best(run_predict, &c, 0.0, reps);
    cl_ledger led = {0};
    c.ops->ledger(c.st, &led);
    printf("queries %d\nthreads %d\nmemory %d\n", n_test, threads, MEM);
    printf("predict_s %.9g\nqueries_per_s %.6g\naccuracy %.4f\n", s, n_test / s,
           (double)c.correct / n_test);
    printf("sub %d\naccuracy_sub %.4f\n", c.sub, (double)c.correct_sub / c.sub);
    printf("memory_bytes %zu\n", led.extra_bytes);
    if (argc > 4) {
        FILE *f = fopen(argv[4], "wb");
        if (!f || fwrite(c.net->params, sizeof(float), c.net->n_params, f) != c.net->n_params ||
            fclose(f) != 0) {
            fprintf(stderr, "bench: cannot write %s\n", argv[4]);
            return 1;
        }
    }
    c.ops->destroy(c.st);
    cl_params_free(p);
    cl_net_free(c.net);
    gsl_rng_free(ri);
    gsl_rng_free(rs);
    cl_idx_free(train);
    cl_idx_free(test);
    free(mx);
    free(tx);
    free(my);
    free(ty);
    free(c.logits);
    return 0;
}
