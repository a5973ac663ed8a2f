/* split-<dataset>: the dataset's classes in groups (pairs by default), one
 * group per task: split-MNIST / split-Fashion-MNIST (Zenke et al. 2017,
 * van de Ven & Tolias 2019). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/tasks/idx.h"
#include "clbench/base/rng.h"
#include "clbench/tasks/suite.h"

static const cl_param_spec split_params[] = {
    {"classes_per_task", CL_PARAM_INT, "2", 1, 10, NULL, "classes each task brings"},
    {"tasks", CL_PARAM_INT, "0", 0, 10, NULL, "tasks (0 = as many as the classes fill)"},
    {"class_order", CL_PARAM_CHOICE, "fixed", 0, 0, "fixed|shuffled",
     "fixed: 0,1 | 2,3 | ...; shuffled: a seeded permutation of the classes"},
    {"train_per_class", CL_PARAM_INT, "0", 0, 100000000, NULL,
     "training samples per class, a seeded random subset (0 = all)"},
    {"test_per_class", CL_PARAM_INT, "0", 0, 100000000, NULL,
     "test samples per class (0 = all)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* Plans up to `limit` samples of each class in `cls` (K) of `set` into
 * x/y: the labels each scenario asks for now, the images as destinations
 * filled later (cl_idx_stream_fill). */
static int plan(const cl_idx_set *s, int set, const int *cls, int K, int limit, int label0, int t,
                unsigned char *x, int *y, int *idx, cl_idx_dest *dest, gsl_rng *rng)
{
    size_t d = (size_t)s->rows * s->cols;
    int n = 0;
    for (int k = 0; k < K; k++) {
        int m = cl_idx_class_indices(s, cls[k], idx, rng);
        if (limit > 0 && limit < m) m = limit;
        for (int i = 0; i < m; i++, n++) {
            dest[n] = (cl_idx_dest){NULL, x + (size_t)n * d, set, idx[i], t};
            y[n] = label0 < 0 ? k : label0 + k;
        }
    }
    return n;
}

static int count(const cl_idx_set *set, const int *cls, int K, int limit)
{
    int n = 0;
    for (int k = 0; k < K; k++) {
        int m = 0;
        for (int i = 0; i < set->n; i++) m += set->label[i] == cls[k];
        n += limit > 0 && limit < m ? limit : m;
    }
    return n;
}

static int split_build(cl_suite **out, const char *suite_name, const cl_params *p,
                       cl_scenario sc, const char *data_dir, gsl_rng *rng)
{
    *out = NULL;
    int K = (int)cl_params_int(p, "classes_per_task");
    int T = (int)cl_params_int(p, "tasks");
    if (T == 0) T = 10 / K;
    if (T * K > 10)
        return cl_error_set(CL_EINVAL, "parameter suite.tasks: %d tasks of %d classes need %d "
                            "classes; the dataset has 10", T, K, T * K);
    int ntr = (int)cl_params_int(p, "train_per_class"), nte = (int)cl_params_int(p, "test_per_class");
    cl_idx_stream *src;
    int rc = cl_idx_stream_open(&src, suite_name + strlen("split-"), data_dir);
    if (rc) return rc;
    const cl_idx_set *train = cl_idx_stream_set(src, 0), *test = cl_idx_stream_set(src, 1);
    int order[10];
    for (int c = 0; c < 10; c++) order[c] = c;
    if (!strcmp(cl_params_choice(p, "class_order"), "shuffled")) cl_rng_shuffle(rng, order, 10);
    int d = train->rows * train->cols;
    int *idx = malloc((size_t)(train->n > test->n ? train->n : test->n) * sizeof *idx);
    /* Each class is in one task: at most every sample once. */
    cl_idx_dest *dest = malloc(((size_t)train->n + (size_t)test->n) * sizeof *dest);
    rc = idx && dest ? cl_suite_alloc(out, suite_name, sc, T, d, sc == CL_SCENARIO_DOMAIN ? K : T * K)
                     : cl_error_set(CL_ENOMEM, "out of memory");
    size_t nd = 0;
    for (int t = 0; rc == 0 && t < T; t++) {
        cl_task *task = &(*out)->tasks[t];
        const int *cls = order + t * K;
        /* The images as they are, bytes: a quarter of the floats. */
        rc = cl_task_alloc(task, count(train, cls, K, ntr), count(test, cls, K, nte), d, false,
                           CL_TASK_BYTES);
        if (rc) break;
        int label0 = sc == CL_SCENARIO_DOMAIN ? -1 : t * K;
        nd += (size_t)plan(train, 0, cls, K, ntr, label0, t, task->train_u8, task->train_y, idx,
                           dest + nd, rng);
        nd += (size_t)plan(test, 1, cls, K, nte, label0, t, task->test_u8, task->test_y, idx,
                           dest + nd, rng);
        for (int k = 0; k < K; k++) task->classes[label0 < 0 ? k : label0 + k] = 1;
    }
    free(idx);
    if (rc == 0) rc = cl_idx_stream_fill(src, dest, nd, NULL);
    if (rc == 0) {
        char classes[64] = "";
        for (int c = 0, off = 0; c < T * K; c++)
            off += snprintf(classes + off, sizeof classes - (size_t)off, "%s%d",
                            c == 0 ? "" : c % K ? "," : " | ", order[c]);
        snprintf((*out)->recipe, sizeof (*out)->recipe,
                 "%s: %d tasks of %d classes (%s), pixels / 255, %s train / %s test per class",
                 suite_name + strlen("split-"), T, K, classes, ntr ? "subset" : "all",
                 nte ? "subset" : "all");
    }
    free(dest);
    cl_idx_stream_free(src);
    if (rc) {
        cl_suite_free(*out);
        *out = NULL;
    }
    return rc;
}

const cl_suite_family cl_suite_split = {
    .version = CL_SUITE_FAMILY_VERSION,
    .name = "split-*",
    .summary = "split-fmnist, split-mnist, split-<any IDX set>: classes in groups, one group per task",
    .params = split_params,
    .scenarios = 1u << CL_SCENARIO_CLASS | 1u << CL_SCENARIO_TASK | 1u << CL_SCENARIO_DOMAIN,
    .build = split_build,
};
