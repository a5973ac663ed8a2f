/* MNIST-format (IDX) files, plain or gzip: unsigned-byte images (n, rows,
 * cols) and labels (n). Every defect (bad magic, wrong type or rank, absurd
 * dimensions, truncation, trailing bytes, corrupt gzip, labels out of range,
 * image/label count mismatch) is a CL_EDATA error whose one-line message
 * names the file and what is wrong. */
#ifndef CLBENCH_IDX_H
#define CLBENCH_IDX_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "clbench/store/task.h"

typedef struct cl_idx_set {
    int n;                /* samples */
    int rows, cols;       /* image shape; d = rows * cols */
    unsigned char *pix;   /* (n, rows * cols) raw pixels; NULL in a stream's sets */
    unsigned char *label; /* (n) */
} cl_idx_set;

/* Reads an image file and its label file; labels must be < n_classes. */
int cl_idx_load(cl_idx_set **out, const char *images_path, const char *labels_path,
                int n_classes);
void cl_idx_free(cl_idx_set *s);

/* The train and test files of a dataset folder: for each of
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
 * t10k-labels-idx1-ubyte, the plain file if it exists, else the same name
 * with .gz. */
typedef struct cl_idx_files {
    char train_images[4096], train_labels[4096];
    char test_images[4096], test_labels[4096];
} cl_idx_files;

/* Finds the four files in dir; CL_EINVAL with a message saying which files
 * to put where when one is missing. */
int cl_idx_find_files(cl_idx_files *out, const char *dir);

/* Where `fmnist` lives when no --data-dir is given (Debian's
 * dataset-fashion-mnist package). */
#define CL_IDX_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

/* Loads the train and test sets of dataset `name` (the part of a suite name
 * after "split-", "permuted-", ...): from data_dir when given, else from the
 * dataset's default folder (fmnist only); other names need data_dir and the
 * message says so. Labels must be in 0..9. Holds every pixel in memory
 * (benches, tests); suites stream them instead (cl_idx_stream_open). */
int cl_idx_load_dataset(cl_idx_set **train, cl_idx_set **test, const char *name,
                        const char *data_dir);

/* Per-task input transform for suites that reuse one dataset under T
 * different views (permuted, rotated): src and dst are (rows * cols). */
typedef void (*cl_idx_transform)(const void *ctx, int task, int rows, int cols,
                                 const float *src, float *dst);
/* The same over the image's bytes, for transforms that only move pixels
 * (permutations): the tasks then keep bytes, a quarter of the floats. */
typedef void (*cl_idx_transform_u8)(const void *ctx, int task, int rows, int cols,
                                    const unsigned char *src, unsigned char *dst);

/* How a family shows an image to task t: through exactly one of bytes or
 * floats, with ctx handed to it. */
typedef struct cl_idx_view {
    cl_idx_transform_u8 bytes;
    cl_idx_transform floats;
    const void *ctx;
} cl_idx_view;

/* A dataset opened for building suites without holding its pixels: the
 * labels are in memory, the images are read once, by cl_idx_stream_fill,
 * straight into their destinations. Errors and their order of reports are
 * those of cl_idx_load_dataset. */
typedef struct cl_idx_stream cl_idx_stream;

/* Finds the files as cl_idx_load_dataset does, reads and checks both label
 * files and both image headers. */
int cl_idx_stream_open(cl_idx_stream **out, const char *name, const char *data_dir);
void cl_idx_stream_free(cl_idx_stream *s);

/* The train (test = 0) or test set: n, rows, cols and labels; pix is NULL. */
const cl_idx_set *cl_idx_stream_set(const cl_idx_stream *s, int test);

/* Where one image goes; an image may have any number of destinations. */
typedef struct cl_idx_dest {
    float *x;          /* (rows * cols) receives the image as features, or */
    unsigned char *u8; /* (rows * cols) receives its bytes (x NULL) */
    int set;    /* 0 train, 1 test */
    int sample; /* image index in that set */
    int task;   /* handed to the transform */
} cl_idx_dest;

/* Reads the train then the test images once, in 64 KiB chunks, into every
 * destination naming each: byte destinations get the bytes, through
 * view->bytes when there is a view; float destinations get the features
 * (cl_task_decode), through view->floats when there is a view. view may be
 * NULL (images as they are). Call it at most once. CL_EDATA on a defect of
 * the pixel data (truncation, corrupt gzip, trailing bytes). */
int cl_idx_stream_fill(cl_idx_stream *s, const cl_idx_dest *dests, size_t n,
                       const cl_idx_view *view);

/* Indices of the samples of `s` with label c, in a seeded random order:
 * idx (s->n) receives them, the count is returned. */
int cl_idx_class_indices(const cl_idx_set *s, int c, int *idx, gsl_rng *rng);

/* Builds T tasks over dataset `name`, each a seeded random subset of the
 * train and test sets (n_train / n_test samples; 0 = all) seen through
 * view (task t's images through view->bytes(ctx, t, ...), held as bytes, or
 * view->floats, held as floats). Labels: the digit in the domain scenario;
 * 10 t + digit with the task's mask in the task scenario. `what` describes
 * the transform in the recipe. */
int cl_idx_build_transformed(cl_suite **out, const char *suite_name, const char *name,
                             int T, int n_train, int n_test, cl_scenario sc,
                             const char *data_dir, gsl_rng *rng, const cl_idx_view *view,
                             const char *what);


#endif
