#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "clbench/error.h"
#include "clbench/fsutil.h"
#include "clbench/idx.h"
#include "clbench/rng.h"

/* Largest sample count and image side accepted: far above any IDX dataset,
 * low enough that n * rows * cols cannot overflow. */
#define IDX_MAX_N 100000000
#define IDX_MAX_SIDE 4096

/* zlib's message for f, without the "PATH: " it puts in front (ours
 * already names the file). */
static const char *gz_message(gzFile f, const char *path)
{
    int zerr;
    const char *msg = gzerror(f, &zerr);
    size_t n = strlen(path);
    return strncmp(msg, path, n) == 0 && strncmp(msg + n, ": ", 2) == 0 ? msg + n + 2 : msg;
}

/* Reads up to n bytes, stopping short only at the end of the file; *got says
 * how many arrived. CL_EDATA naming the file on a gzip error. gzread also
 * reads plain (non-gzip) files transparently. */
static int read_upto(gzFile f, const char *path, void *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        unsigned chunk = n - *got > (1u << 30) ? 1u << 30 : (unsigned)(n - *got);
        int r = gzread(f, (char *)buf + *got, chunk);
        if (r < 0)
            return cl_error_set(CL_EDATA, "%s: corrupt gzip data (%s)", path, gz_message(f, path));
        if (r == 0) break;
        *got += (size_t)r;
    }
    return 0;
}

static int truncated(const char *path, const char *what, size_t n, size_t got)
{
    return cl_error_set(CL_EDATA, "%s: truncated: %s needs %zu bytes, file has %zu", path, what,
                        n, got);
}

static int read_exact(gzFile f, const char *path, void *buf, size_t n, const char *what)
{
    size_t got;
    int rc = read_upto(f, path, buf, n, &got);
    return rc ? rc : got < n ? truncated(path, what, n, got) : 0;
}

/* The n payload bytes, in a buffer grown as they arrive: a header declaring
 * far more than the file holds (within the limits, up to 1.6e15 bytes) then
 * costs a truncation message, not an allocation of the declared size. */
static int read_payload(gzFile f, const char *path, size_t n, const char *what,
                        unsigned char **out)
{
    size_t cap = n < (1u << 20) ? n : 1u << 20, got = 0;
    unsigned char *buf = malloc(cap);
    int rc = buf ? 0 : cl_error_set(CL_ENOMEM, "%s: out of memory for %zu bytes", path, cap);
    while (rc == 0) {
        size_t more;
        rc = read_upto(f, path, buf + got, cap - got, &more);
        got += more;
        if (rc || got < cap || cap == n) break;
        size_t grown = cap > n / 2 ? n : 2 * cap;
        unsigned char *b = realloc(buf, grown);
        if (!b) {
            rc = cl_error_set(CL_ENOMEM, "%s: out of memory for %zu bytes", path, grown);
            break;
        }
        buf = b;
        cap = grown;
    }
    if (rc == 0 && got < n) rc = truncated(path, what, n, got);
    if (rc) {
        free(buf);
        buf = NULL;
    }
    *out = buf;
    return rc;
}

static unsigned be32(const unsigned char *p)
{
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

/* Opens an IDX file, checks its header and returns its dimensions. */
static int open_idx(gzFile *out, const char *path, int rank, unsigned dims[3])
{
    gzFile f = gzopen(path, "rb");
    if (!f) return cl_error_set(CL_EDATA, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    unsigned char head[4 + 12];
    int rc = read_exact(f, path, head, 4, "the IDX header");
    if (rc == 0 && (head[0] != 0 || head[1] != 0))
        rc = cl_error_set(CL_EDATA, "%s: bad magic number 0x%02x%02x%02x%02x (not an IDX file)",
                          path, head[0], head[1], head[2], head[3]);
    if (rc == 0 && head[2] != 0x08)
        rc = cl_error_set(CL_EDATA, "%s: IDX data type 0x%02x is not supported (need 0x08, "
                                    "unsigned byte)", path, head[2]);
    if (rc == 0 && head[3] != rank)
        rc = cl_error_set(CL_EDATA, "%s: has %d dimensions, expected %d (%s)", path, head[3], rank,
                          rank == 3 ? "an image file" : "a label file");
    if (rc == 0) rc = read_exact(f, path, head + 4, (size_t)rank * 4, "the dimension sizes");
    for (int i = 0; rc == 0 && i < rank; i++) {
        dims[i] = be32(head + 4 + 4 * i);
        unsigned max = i == 0 ? IDX_MAX_N : IDX_MAX_SIDE;
        if (dims[i] == 0 || dims[i] > max)
            rc = cl_error_set(CL_EDATA, "%s: dimension %d is %u (must be 1..%u)", path, i + 1,
                              dims[i], max);
    }
    if (rc) {
        gzclose(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* After the payload the file must end: trailing bytes mean a wrong header. */
static int expect_end(gzFile f, const char *path)
{
    unsigned char extra;
    int r = gzread(f, &extra, 1);
    if (r < 0)
        return cl_error_set(CL_EDATA, "%s: corrupt gzip data (%s)", path, gz_message(f, path));
    if (r > 0) return cl_error_set(CL_EDATA, "%s: trailing bytes after the data the header declares", path);
    return 0;
}

static int read_file(const char *path, int rank, unsigned dims[3], unsigned char **data)
{
    gzFile f = NULL;
    int rc = open_idx(&f, path, rank, dims);
    if (rc) return rc;
    size_t n = dims[0];
    for (int i = 1; i < rank; i++) n *= dims[i];
    rc = read_payload(f, path, n, rank == 3 ? "the pixel data" : "the labels", data);
    if (rc == 0) rc = expect_end(f, path);
    gzclose(f);
    if (rc) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

int cl_idx_load(cl_idx_set **out, const char *images_path, const char *labels_path, int n_classes)
{
    *out = NULL;
    cl_idx_set *s = calloc(1, sizeof *s);
    if (!s) return cl_error_set(CL_ENOMEM, "out of memory");
    unsigned di[3], dl[3];
    int rc = read_file(images_path, 3, di, &s->pix);
    if (rc == 0) rc = read_file(labels_path, 1, dl, &s->label);
    if (rc == 0 && di[0] != dl[0])
        rc = cl_error_set(CL_EDATA, "%s: %u labels for %u images in %s", labels_path, dl[0], di[0],
                          images_path);
    for (unsigned i = 0; rc == 0 && i < dl[0]; i++)
        if (s->label[i] >= n_classes)
            rc = cl_error_set(CL_EDATA, "%s: label %u of sample %u is outside 0..%d", labels_path,
                              s->label[i], i, n_classes - 1);
    if (rc) {
        cl_idx_free(s);
        return rc;
    }
    s->n = (int)di[0];
    s->rows = (int)di[1];
    s->cols = (int)di[2];
    *out = s;
    return 0;
}

void cl_idx_free(cl_idx_set *s)
{
    if (!s) return;
    free(s->pix);
    free(s->label);
    free(s);
}

static int find_one(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
    if (cl_fs_exists(out)) return 0;
    snprintf(out, n, "%s/%s.gz", dir, name);
    if (cl_fs_exists(out)) return 0;
    return cl_error_set(CL_EINVAL, "%s: missing %s[.gz]; put the four MNIST-format files "
                        "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
                        "and t10k-labels-idx1-ubyte (plain or .gz) in that folder (--data-dir DIR)",
                        dir, name);
}

int cl_idx_find_files(cl_idx_files *o, const char *dir)
{
    int rc = find_one(o->train_images, sizeof o->train_images, dir, "train-images-idx3-ubyte");
    if (!rc) rc = find_one(o->train_labels, sizeof o->train_labels, dir, "train-labels-idx1-ubyte");
    if (!rc) rc = find_one(o->test_images, sizeof o->test_images, dir, "t10k-images-idx3-ubyte");
    if (!rc) rc = find_one(o->test_labels, sizeof o->test_labels, dir, "t10k-labels-idx1-ubyte");
    return rc;
}

int cl_idx_load_dataset(cl_idx_set **train, cl_idx_set **test, const char *name,
                        const char *data_dir)
{
    *train = *test = NULL;
    const char *dir = data_dir;
    if (!dir && !strcmp(name, "fmnist")) dir = CL_IDX_FMNIST_DIR;
    if (!dir)
        return cl_error_set(CL_EINVAL, "dataset '%s' needs --data-dir DIR holding "
                            "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
                            "and t10k-labels-idx1-ubyte (plain or .gz); clbench downloads nothing",
                            name);
    cl_idx_files f;
    int rc = cl_idx_find_files(&f, dir);
    if (rc == CL_EINVAL && !data_dir)
        return cl_error_set(CL_EINVAL, "%s: Fashion-MNIST not found; install the Debian package "
                            "dataset-fashion-mnist (make deps does) or pass --data-dir DIR", dir);
    if (rc) return rc;
    if ((rc = cl_idx_load(train, f.train_images, f.train_labels, 10))) return rc;
    if ((rc = cl_idx_load(test, f.test_images, f.test_labels, 10))) {
        cl_idx_free(*train);
        *train = NULL;
        return rc;
    }
    if ((*train)->rows != (*test)->rows || (*train)->cols != (*test)->cols) {
        rc = cl_error_set(CL_EDATA, "%s: test images are %dx%d but training images %dx%d",
                          f.test_images, (*test)->rows, (*test)->cols, (*train)->rows,
                          (*train)->cols);
        cl_idx_free(*train);
        cl_idx_free(*test);
        *train = *test = NULL;
    }
    return rc;
}

int cl_idx_class_indices(const cl_idx_set *s, int c, int *idx, gsl_rng *rng)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        if (s->label[i] == c) idx[n++] = i;
    cl_rng_shuffle(rng, idx, n);
    return n;
}

/* A division, as the recipe says: b * (1.0f / 255) is one ulp off b / 255 for
 * half the byte values. */
void cl_idx_scale(float *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i] / 255.0f;
}

/* n of the set's samples in seeded random order (all when n is 0). */
static int subset(const cl_idx_set *s, int n, int *idx, gsl_rng *rng)
{
    for (int i = 0; i < s->n; i++) idx[i] = i;
    cl_rng_shuffle(rng, idx, s->n);
    return n > 0 && n < s->n ? n : s->n;
}

static void fill_view(const cl_idx_set *s, const int *idx, int n, int t, int label0,
                      float *x, int *y, float *tmp, cl_idx_transform fn, const void *ctx)
{
    int d = s->rows * s->cols;
    for (int i = 0; i < n; i++) {
        cl_idx_scale(tmp, s->pix + (size_t)idx[i] * d, (size_t)d);
        fn(ctx, t, s->rows, s->cols, tmp, x + (size_t)i * d);
        y[i] = label0 + s->label[idx[i]];
    }
}

int cl_idx_build_transformed(cl_suite **out, const char *suite_name, const char *name,
                             int T, int n_train, int n_test, cl_scenario sc,
                             const char *data_dir, gsl_rng *rng, cl_idx_transform fn,
                             const void *ctx, const char *what)
{
    *out = NULL;
    cl_idx_set *train, *test;
    int rc = cl_idx_load_dataset(&train, &test, name, data_dir);
    if (rc) return rc;
    int d = train->rows * train->cols;
    int *idx = malloc((size_t)(train->n > test->n ? train->n : test->n) * sizeof *idx);
    float *tmp = malloc((size_t)d * sizeof *tmp); /* (d) one scaled image */
    rc = idx && tmp ? cl_suite_alloc(out, suite_name, sc, T, d, sc == CL_SCENARIO_TASK ? 10 * T : 10)
                    : cl_error_set(CL_ENOMEM, "out of memory");
    for (int t = 0; rc == 0 && t < T; t++) {
        cl_task *task = &(*out)->tasks[t];
        int label0 = sc == CL_SCENARIO_TASK ? 10 * t : 0;
        int ntr = subset(train, n_train, idx, rng);
        rc = cl_task_alloc(task, ntr, n_test > 0 && n_test < test->n ? n_test : test->n, d,
                           (*out)->n_classes, false);
        if (rc) break;
        fill_view(train, idx, ntr, t, label0, task->train_x, task->train_y, tmp, fn, ctx);
        int nte = subset(test, n_test, idx, rng);
        fill_view(test, idx, nte, t, label0, task->test_x, task->test_y, tmp, fn, ctx);
        for (int c = 0; c < 10; c++) task->classes[label0 + c] = 1;
    }
    if (rc == 0)
        snprintf((*out)->recipe, sizeof (*out)->recipe,
                 "%s: %d tasks, %s; pixels / 255; %d train / %d test per task", name, T, what,
                 (*out)->tasks[0].n_train, (*out)->tasks[0].n_test);
    free(idx);
    free(tmp);
    cl_idx_free(train);
    cl_idx_free(test);
    if (rc) {
        cl_suite_free(*out);
        *out = NULL;
    }
    return rc;
}
