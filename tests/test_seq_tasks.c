#include <math.h>
#include <string.h>
#include <criterion/criterion.h>
#include "clbench/base/error.h"
#include "clbench/base/params.h"
#include "clbench/base/rng.h"
#include "clbench/tasks/suite.h"

TestSuite(seq_tasks, .timeout = 30);

static cl_suite *build(cl_scenario sc, unsigned long seed, const char *set)
{
    const cl_suite_family *f;
    cr_assert_eq(cl_suite_family_find(&f, "seq-tasks"), 0);
    cl_params *p;
    cr_assert_eq(cl_params_new(&p, "suite", f->params), 0);
    cr_assert_eq(cl_params_set(p, "train_per_class", "50"), 0);
    cr_assert_eq(cl_params_set(p, "test_per_class", "20"), 0);
    if (set) {
        char key[64];
        const char *eq = strchr(set, '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - set), set);
        cr_assert_eq(cl_params_set(p, key, eq + 1), 0, "%s", cl_error_last());
    }
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_SUITE), 0);
    cl_suite *s = NULL;
    int rc = f->build(&s, "seq-tasks", p, sc, NULL, rng);
    cr_assert_eq(rc, 0, "%s", cl_error_last());
    gsl_rng_free(rng);
    cl_params_free(p);
    return s;
}

static int same_data(const cl_suite *a, const cl_suite *b)
{
    if (a->n_tasks != b->n_tasks || a->d != b->d) return 0;
    for (int t = 0; t < a->n_tasks; t++) {
        const cl_task *x = &a->tasks[t], *y = &b->tasks[t];
        if (x->n_train != y->n_train ||
            memcmp(x->train_x, y->train_x, sizeof(float) * x->n_train * a->d) ||
            memcmp(x->train_y, y->train_y, sizeof(int) * x->n_train) ||
            memcmp(x->test_x, y->test_x, sizeof(float) * x->n_test * a->d))
            return 0;
    }
    return 1;
}

Test(seq_tasks, deterministic_from_the_seed)
{
    cl_suite *a = build(CL_SCENARIO_CLASS, 7, NULL), *b = build(CL_SCENARIO_CLASS, 7, NULL);
    cl_suite *c = build(CL_SCENARIO_CLASS, 8, NULL);
    cr_assert(same_data(a, b), "same seed, different data");
    cr_assert(!same_data(a, c), "different seeds, same data");
    cl_suite_free(a);
    cl_suite_free(b);
    cl_suite_free(c);
}

/* Labels and class masks per scenario: class and task number classes
 * globally (task t owns 2t, 2t+1); domain reuses 0..K-1 every task. */
Test(seq_tasks, labels_per_scenario)
{
    for (int sc = 0; sc < 3; sc++) {
        cl_suite *s = build((cl_scenario)sc, 1, NULL);
        int K = 2, T = 5;
        cr_assert_eq(s->n_tasks, T);
        cr_assert_eq(s->n_classes, sc == CL_SCENARIO_DOMAIN ? K : T * K);
        for (int t = 0; t < T; t++) {
            const cl_task *k = &s->tasks[t];
            int lo = sc == CL_SCENARIO_DOMAIN ? 0 : t * K;
            int count[64] = {0};
            for (int i = 0; i < k->n_train; i++) {
                cr_assert(k->train_y[i] >= lo && k->train_y[i] < lo + K);
                count[k->train_y[i]]++;
            }
            for (int c = 0; c < s->n_classes; c++) {
                cr_assert_eq(k->classes[c], c >= lo && c < lo + K);
                if (k->classes[c]) cr_assert_eq(count[c], 50, "classes are balanced");
            }
            for (int i = 0; i < k->n_test; i++) cr_assert(k->test_y[i] >= lo && k->test_y[i] < lo + K);
            cr_assert_null(k->test_stale_y);
        }
        cl_suite_free(s);
    }
}

/* The scenarios differ only in labels: the inputs are the same draws. */
Test(seq_tasks, scenarios_share_inputs)
{
    cl_suite *a = build(CL_SCENARIO_CLASS, 4, NULL), *b = build(CL_SCENARIO_DOMAIN, 4, NULL);
    for (int t = 0; t < a->n_tasks; t++)
        cr_assert(memcmp(a->tasks[t].train_x, b->tasks[t].train_x,
                         sizeof(float) * a->tasks[t].n_train * a->d) == 0);
    cl_suite_free(a);
    cl_suite_free(b);
}

/* Share of later tasks' input energy outside the span of task 1's inputs,
 * with no input-space noise: the subspaces are then exactly visible. */
static double outside_share(const char *overlap)
{
    const cl_suite_family *f;
    cr_assert_eq(cl_suite_family_find(&f, "seq-tasks"), 0);
    cl_params *p;
    cr_assert_eq(cl_params_new(&p, "suite", f->params), 0);
    cr_assert_eq(cl_params_set(p, "train_per_class", "20"), 0);
    cr_assert_eq(cl_params_set(p, "input_noise", "0"), 0);
    cr_assert_eq(cl_params_set(p, "overlap", overlap), 0);
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 5, CL_RNG_SUITE), 0);
    cl_suite *s;
    cr_assert_eq(f->build(&s, "seq-tasks", p, CL_SCENARIO_CLASS, NULL, rng), 0);
    int d = s->d, nb = 0;
    double basis[64][64]; /* rows: orthonormal span of task 1's inputs */
    for (int i = 0; i < s->tasks[0].n_train && nb < d; i++) {
        double v[64];
        for (int j = 0; j < d; j++) v[j] = s->tasks[0].train_x[i * d + j];
        for (int b = 0; b < nb; b++) {
            double dot = 0;
            for (int j = 0; j < d; j++) dot += v[j] * basis[b][j];
            for (int j = 0; j < d; j++) v[j] -= dot * basis[b][j];
        }
        double n = 0;
        for (int j = 0; j < d; j++) n += v[j] * v[j];
        if (n < 1e-6) continue;
        for (int j = 0; j < d; j++) basis[nb][j] = v[j] / sqrt(n);
        nb++;
    }
    cr_assert_eq(nb, 4, "task 1 spans its latent dimension (4), got %d", nb);
    double out = 0, all = 0;
    for (int t = 1; t < s->n_tasks; t++)
        for (int i = 0; i < s->tasks[t].n_train; i++) {
            double v[64];
            for (int j = 0; j < d; j++) v[j] = s->tasks[t].train_x[i * d + j];
            for (int j = 0; j < d; j++) all += v[j] * v[j];
            for (int b = 0; b < nb; b++) {
                double dot = 0;
                for (int j = 0; j < d; j++) dot += v[j] * basis[b][j];
                for (int j = 0; j < d; j++) v[j] -= dot * basis[b][j];
            }
            for (int j = 0; j < d; j++) out += v[j] * v[j];
        }
    cl_suite_free(s);
    gsl_rng_free(rng);
    cl_params_free(p);
    return out / all;
}

/* overlap 1: every task lives in one shared subspace; overlap 0: random
 * 4-dim subspaces of R^64 are nearly orthogonal; the default lies between. */
Test(seq_tasks, overlap_controls_shared_subspace)
{
    cr_assert(outside_share("1") < 1e-9);
    cr_assert(outside_share("0") > 0.8);
    double mid = outside_share("0.9");
    cr_assert(mid > 0.01 && mid < 0.5, "overlap 0.9 leaves %g outside", mid);
}

Test(seq_tasks, rejects_latent_above_dim)
{
    const cl_suite_family *f;
    cr_assert_eq(cl_suite_family_find(&f, "seq-tasks"), 0);
    cl_params *p;
    cr_assert_eq(cl_params_new(&p, "suite", f->params), 0);
    cr_assert_eq(cl_params_set(p, "dim", "4"), 0);
    cr_assert_eq(cl_params_set(p, "latent", "8"), 0);
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 0, CL_RNG_SUITE), 0);
    cl_suite *s = NULL;
    cr_assert_eq(f->build(&s, "seq-tasks", p, CL_SCENARIO_CLASS, NULL, rng), CL_EINVAL);
    cr_assert_null(s);
    cr_assert(strstr(cl_error_last(), "suite.latent"));
    gsl_rng_free(rng);
    cl_params_free(p);
}

Test(seq_tasks, unknown_suite_lists_valid_names)
{
    const cl_suite_family *f;
    cr_assert_eq(cl_suite_family_find(&f, "nope"), CL_EINVAL);
    cr_assert(strstr(cl_error_last(), "nope") && strstr(cl_error_last(), "seq-tasks"));
}
