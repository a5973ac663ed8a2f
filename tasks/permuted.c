/* permuted-<dataset>: every task is the whole dataset seen through its own
 * fixed random pixel permutation (Goodfellow et al. 2013; Kirkpatrick et al.
 * 2017). The same digits, new inputs: a domain-incremental benchmark. */
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/tasks/idx.h"
#include "clbench/base/rng.h"
#include "clbench/tasks/suite.h"

static const cl_param_spec permuted_params[] = {
    {"tasks", CL_PARAM_INT, "5", 1, 100, NULL, "number of permutations"},
    {"first_unpermuted", CL_PARAM_BOOL, "true", 0, 0, NULL, "task 1 sees the original images"},
    {"train_per_task", CL_PARAM_INT, "10000", 0, 100000000, NULL,
     "training samples per task, a seeded random subset (0 = all)"},
    {"test_per_task", CL_PARAM_INT, "2000", 0, 100000000, NULL, "test samples per task (0 = all)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct perms {
    int d;
    int *perm; /* (T, d) pixel source index of each output pixel */
} perms;

/* Moves bytes: the tasks keep the images as bytes. */
static void permute(const void *ctx, int t, int rows, int cols, const unsigned char *src,
                    unsigned char *dst)
{
    const perms *p = ctx;
    if (rows * cols != p->d) {
        /* Refused once built (permuted_build); until then never index
         * outside an image of another size. */
        memcpy(dst, src, (size_t)rows * cols);
        return;
    }
    const int *pt = p->perm + (size_t)t * p->d;
    for (int i = 0; i < p->d; i++) dst[i] = src[pt[i]];
}

static int permuted_build(cl_suite **out, const char *suite_name, const cl_params *p,
                          cl_scenario sc, const char *data_dir, gsl_rng *rng)
{
    int T = (int)cl_params_int(p, "tasks");
    /* The permutations depend only on the seed and the image size; MNIST
     * format is 28 x 28, and other sizes are checked after loading. */
    perms ps = {28 * 28, malloc((size_t)T * 28 * 28 * sizeof(int))};
    if (!ps.perm) return cl_error_set(CL_ENOMEM, "out of memory");
    for (int t = 0; t < T; t++) {
        int *pt = ps.perm + (size_t)t * ps.d;
        for (int i = 0; i < ps.d; i++) pt[i] = i;
        if (t > 0 || !cl_params_bool(p, "first_unpermuted")) cl_rng_shuffle(rng, pt, ps.d);
    }
    int rc = cl_idx_build_transformed(out, suite_name, suite_name + strlen("permuted-"), T,
                                      (int)cl_params_int(p, "train_per_task"),
                                      (int)cl_params_int(p, "test_per_task"), sc, data_dir, rng,
                                      &(cl_idx_view){.bytes = permute, .ctx = &ps},
                                      "fixed random pixel permutations");
    if (rc == 0 && (*out)->d != ps.d) {
        rc = cl_error_set(CL_EDATA, "suite %s: images have %d pixels; permuted suites need 28x28",
                          suite_name, (*out)->d);
        cl_suite_free(*out);
        *out = NULL;
    }
    free(ps.perm);
    return rc;
}

const cl_suite_family cl_suite_permuted = {
    .version = CL_SUITE_FAMILY_VERSION,
    .name = "permuted-*",
    .summary = "permuted-fmnist, permuted-mnist, ...: one fixed pixel permutation per task",
    .params = permuted_params,
    .scenarios = 1u << CL_SCENARIO_DOMAIN | 1u << CL_SCENARIO_TASK,
    .build = permuted_build,
};
