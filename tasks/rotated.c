/* rotated-<dataset>: every task is the dataset rotated by a fixed angle
 * (task t at t * angle_step degrees, counter-clockwise as displayed with row
 * 0 at the top: at 90 degrees the top-right corner moves to the top-left),
 * bilinear interpolation about the image centre, zero outside (Lopez-Paz &
 * Ranzato 2017 use rotated MNIST). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "clbench/tasks/idx.h"
#include "clbench/tasks/suite.h"

static const cl_param_spec rotated_params[] = {
    {"tasks", CL_PARAM_INT, "5", 1, 360, NULL, "number of angles"},
    {"angle_step", CL_PARAM_FLOAT, "30", 0, 360, NULL, "degrees between consecutive tasks"},
    {"train_per_task", CL_PARAM_INT, "10000", 0, 100000000, NULL,
     "training samples per task, a seeded random subset (0 = all)"},
    {"test_per_task", CL_PARAM_INT, "2000", 0, 100000000, NULL, "test samples per task (0 = all)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static float at(const float *img, int rows, int cols, int r, int c)
{
    return r >= 0 && r < rows && c >= 0 && c < cols ? img[r * cols + c] : 0.0f;
}

/* Within 1e-9 of a grid line counts as on it: cos(pi / 2) is 6e-17, not 0,
 * and without this a quarter turn would blend in a neighbour at weight 1e-17
 * instead of moving pixels exactly. */
static double snap(double v)
{
    double k = round(v);
    return fabs(v - k) < 1e-9 ? k : v;
}

/* dst(r, c) = src at the point that rotates onto (r, c), bilinearly: with
 * a = -angle, dst(r, c) = src(c, cols - 1 - r) at 90 degrees on a square. */
static void rotate(const void *ctx, int t, int rows, int cols, const float *src, float *dst)
{
    double a = -(*(const double *)ctx) * t * (3.14159265358979323846 / 180.0);
    double ca = cos(a), sa = sin(a), cy = (rows - 1) / 2.0, cx = (cols - 1) / 2.0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double y = snap(ca * (r - cy) - sa * (c - cx) + cy);
            double x = snap(sa * (r - cy) + ca * (c - cx) + cx);
            int r0 = (int)floor(y), c0 = (int)floor(x);
            float fy = (float)(y - r0), fx = (float)(x - c0);
            float top = at(src, rows, cols, r0, c0) * (1 - fx) + at(src, rows, cols, r0, c0 + 1) * fx;
            float bot = at(src, rows, cols, r0 + 1, c0) * (1 - fx) + at(src, rows, cols, r0 + 1, c0 + 1) * fx;
            dst[r * cols + c] = top * (1 - fy) + bot * fy;
        }
}

static int rotated_build(cl_suite **out, const char *suite_name, const cl_params *p,
                         cl_scenario sc, const char *data_dir, gsl_rng *rng)
{
    double step = cl_params_float(p, "angle_step");
    char what[96];
    snprintf(what, sizeof what, "rotated by t x %.4g degrees (bilinear)", step);
    return cl_idx_build_transformed(out, suite_name, suite_name + strlen("rotated-"),
                                    (int)cl_params_int(p, "tasks"),
                                    (int)cl_params_int(p, "train_per_task"),
                                    (int)cl_params_int(p, "test_per_task"), sc, data_dir, rng,
                                    &(cl_idx_view){.floats = rotate, .ctx = &step}, what);
}

const cl_suite_family cl_suite_rotated = {
    .version = CL_SUITE_FAMILY_VERSION,
    .name = "rotated-*",
    .summary = "rotated-fmnist, rotated-mnist, ...: one fixed rotation angle per task",
    .params = rotated_params,
    .scenarios = 1u << CL_SCENARIO_DOMAIN | 1u << CL_SCENARIO_TASK,
    .build = rotated_build,
};
