/* seq-tasks: the embedded synthetic suite. Every task is a set of Gaussian
 * class clusters living in its own k-dimensional subspace of the d-dim input
 * space; the subspaces share a common component (`overlap`), so the hidden
 * features a later task trains are the ones earlier tasks read from, and
 * plain backprop overwrites them. Generated from the seed alone: no files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "clbench/base/error.h"
#include "clbench/tasks/suite.h"

static const cl_param_spec seq_params[] = {
    {"tasks", CL_PARAM_INT, "5", 1, 100, NULL, "number of tasks in the sequence"},
    {"classes_per_task", CL_PARAM_INT, "2", 2, 50, NULL, "new classes each task brings"},
    {"dim", CL_PARAM_INT, "64", 2, 4096, NULL, "input features"},
    {"latent", CL_PARAM_INT, "4", 1, 1024, NULL, "dimension of each task's subspace"},
    {"overlap", CL_PARAM_FLOAT, "0.9", 0, 1, NULL,
     "share of each task's subspace drawn from one common subspace"},
    {"modes", CL_PARAM_INT, "5", 1, 64, NULL,
     "clusters per class: above 1, classes are not linearly separable"},
    {"separation", CL_PARAM_FLOAT, "4", 0, 100, NULL, "std of cluster centres in the subspace"},
    {"noise", CL_PARAM_FLOAT, "1", 0, 100, NULL, "within-class std in the subspace"},
    {"input_noise", CL_PARAM_FLOAT, "0.1", 0, 100, NULL, "isotropic std added in input space"},
    {"train_per_class", CL_PARAM_INT, "500", 1, 1000000, NULL, "training samples per class"},
    {"test_per_class", CL_PARAM_INT, "200", 1, 1000000, NULL, "test samples per class"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* Gram-Schmidt on the k columns of q (d, k), in place. Random Gaussian
 * columns are linearly independent with probability one; a degenerate column
 * is replaced by a unit axis to stay total. */
static void orthonormalise(double *q, int d, int k)
{
    for (int c = 0; c < k; c++) {
        for (int p = 0; p < c; p++) {
            double dot = 0;
            for (int i = 0; i < d; i++) dot += q[i * k + c] * q[i * k + p];
            for (int i = 0; i < d; i++) q[i * k + c] -= dot * q[i * k + p];
        }
        double nrm = 0;
        for (int i = 0; i < d; i++) nrm += q[i * k + c] * q[i * k + c];
        nrm = sqrt(nrm);
        for (int i = 0; i < d; i++) q[i * k + c] = nrm > 1e-9 ? q[i * k + c] / nrm : (i == c % d);
    }
}

typedef struct gen {
    int d, k;
    double noise, input_noise;
    const double *basis;  /* (d, k) this task's orthonormal subspace */
    const double *centre; /* (k) this class's centre */
} gen;

/* x = Q (centre + noise * e_k) + input_noise * e_d */
static void sample(const gen *g, gsl_rng *rng, float *x /* (d) */, double *z /* (k) */)
{
    for (int j = 0; j < g->k; j++) z[j] = g->centre[j] + gsl_ran_gaussian(rng, g->noise);
    for (int i = 0; i < g->d; i++) {
        double v = g->input_noise > 0 ? gsl_ran_gaussian(rng, g->input_noise) : 0.0;
        for (int j = 0; j < g->k; j++) v += g->basis[i * g->k + j] * z[j];
        x[i] = (float)v;
    }
}

/* Fills per_class samples of each of K classes, interleaving classes and
 * cycling through each class's M clusters (centres (K*M, k), cluster m of
 * class c at row m*K + c). */
static void fill(float *x, int *y, int per_class, int K, int M, int label0,
                 gen *g, const double *centres, gsl_rng *rng, double *z)
{
    for (int i = 0; i < per_class * K; i++) {
        int c = i % K, mode = (i / K) % M;
        g->centre = centres + (size_t)(mode * K + c) * g->k;
        sample(g, rng, x + (size_t)i * g->d, z);
        y[i] = label0 + c;
    }
}

static int seq_build(cl_suite **out, const char *suite_name, const cl_params *p,
                     cl_scenario sc, const char *data_dir, gsl_rng *rng)
{
    (void)data_dir;
    int T = (int)cl_params_int(p, "tasks");
    int K = (int)cl_params_int(p, "classes_per_task");
    int d = (int)cl_params_int(p, "dim");
    int k = (int)cl_params_int(p, "latent");
    int M = (int)cl_params_int(p, "modes");
    double overlap = cl_params_float(p, "overlap");
    double sep = cl_params_float(p, "separation");
    int ntr = (int)cl_params_int(p, "train_per_class");
    int nte = (int)cl_params_int(p, "test_per_class");
    if (k > d)
        return cl_error_set(CL_EINVAL, "parameter suite.latent: %d exceeds suite.dim %d", k, d);
    if ((double)ntr * K > 1e8 || (double)nte * K > 1e8 || (double)ntr * K * d * T > 2e9)
        return cl_error_set(CL_EINVAL, "suite seq-tasks: %d tasks of %d x %d samples is too large",
                            T, K, ntr);

    int n_classes = sc == CL_SCENARIO_DOMAIN ? K : T * K;
    int rc = cl_suite_alloc(out, suite_name, sc, T, d, n_classes);
    if (rc) return rc;
    cl_suite *s = *out;
    snprintf(s->recipe, sizeof s->recipe,
             "%d tasks x %d classes of %d Gaussian clusters in %d-dim subspaces "
             "(overlap %.2f) of R^%d; %d train / %d test per class",
             T, K, M, k, overlap, d, ntr, nte);

    double *shared = malloc((size_t)d * k * sizeof *shared);  /* (d, k) */
    double *basis = malloc((size_t)d * k * sizeof *basis);    /* (d, k) */
    double *centres = malloc((size_t)K * M * k * sizeof *centres); /* (K*M, k) */
    double *z = malloc((size_t)k * sizeof *z);                /* (k) */
    if (!shared || !basis || !centres || !z) {
        rc = cl_error_set(CL_ENOMEM, "out of memory generating seq-tasks");
        goto done;
    }
    for (int i = 0; i < d * k; i++) shared[i] = gsl_ran_gaussian(rng, 1.0);
    double a = sqrt(overlap), b = sqrt(1.0 - overlap);
    for (int t = 0; t < T && rc == 0; t++) {
        cl_task *task = &s->tasks[t];
        for (int i = 0; i < d * k; i++) basis[i] = a * shared[i] + b * gsl_ran_gaussian(rng, 1.0);
        orthonormalise(basis, d, k);
        for (int i = 0; i < K * M * k; i++) centres[i] = gsl_ran_gaussian(rng, sep);
        rc = cl_task_alloc(task, ntr * K, nte * K, d, false, CL_TASK_FLOATS);
        if (rc) break;
        int label0 = sc == CL_SCENARIO_DOMAIN ? 0 : t * K;
        for (int c = 0; c < K; c++) task->classes[label0 + c] = 1;
        gen g = {d, k, cl_params_float(p, "noise"), cl_params_float(p, "input_noise"), basis, NULL};
        fill(task->train_x, task->train_y, ntr, K, M, label0, &g, centres, rng, z);
        fill(task->test_x, task->test_y, nte, K, M, label0, &g, centres, rng, z);
    }
done:
    free(shared);
    free(basis);
    free(centres);
    free(z);
    if (rc) {
        cl_suite_free(*out);
        *out = NULL;
    }
    return rc;
}

const cl_suite_family cl_suite_seq_tasks = {
    .version = CL_SUITE_FAMILY_VERSION,
    .name = "seq-tasks",
    .summary = "embedded synthetic sequence: Gaussian classes in overlapping subspaces",
    .params = seq_params,
    .scenarios = 1u << CL_SCENARIO_CLASS | 1u << CL_SCENARIO_TASK | 1u << CL_SCENARIO_DOMAIN,
    .build = seq_build,
};
