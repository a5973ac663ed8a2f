#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/tasks/idx.h"
#include "clbench/base/rng.h"

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

/* An image file open past its header, its pixels not read yet. */
typedef struct img_file {
    gzFile f;         /* NULL once read or closed */
    const char *path;
    unsigned dims[3]; /* n, rows, cols */
} img_file;

static void img_close(img_file *im)
{
    if (im->f) gzclose(im->f);
    im->f = NULL;
}

/* Called with `count` whole images from image `first` on: pix is
 * (count, rows * cols). */
typedef int (*img_each)(void *ctx, size_t first, size_t count, const unsigned char *pix);

/* Reads the pixel data in 64 KiB of whole images at a time, handing each
 * chunk to each (NULL: only check the file), then the end of the file, and
 * closes it. The same errors as reading it whole (read_file). */
static int img_stream(img_file *im, img_each each, void *ctx)
{
    size_t d = (size_t)im->dims[1] * im->dims[2], n = im->dims[0];
    size_t per = 65536 / d ? 65536 / d : 1, done = 0, got_all = 0;
    unsigned char *buf = malloc(per * d); /* (per, d) */
    int rc = buf ? 0 : cl_error_set(CL_ENOMEM, "%s: out of memory", im->path);
    while (rc == 0 && done < n) {
        size_t k = n - done < per ? n - done : per, got;
        rc = read_upto(im->f, im->path, buf, k * d, &got);
        got_all += got;
        if (rc == 0 && got < k * d) rc = truncated(im->path, "the pixel data", n * d, got_all);
        if (rc == 0 && each) rc = each(ctx, done, k, buf);
        done += k;
    }
    if (rc == 0) rc = expect_end(im->f, im->path);
    free(buf);
    img_close(im);
    return rc;
}

/* Error `rc` was found after the image files im[0..n) were opened but
 * before their pixels were read. Defects are reported in file order (train
 * images, train labels, test images, test labels, then the shapes), as
 * when each file was read whole in turn: the still-open files are read
 * first and their first defect wins. */
static int fail_after(int rc, img_file *im, int n)
{
    for (int i = 0; i < n; i++) {
        if (!im[i].f) continue;
        int e = img_stream(&im[i], NULL, NULL);
        if (e) {
            for (int j = i + 1; j < n; j++) img_close(&im[j]);
            return e;
        }
    }
    return rc;
}

/* Opens an image file past its header and reads its labels, with
 * cl_idx_load's checks and messages, in its order. */
static int open_set(img_file *im, unsigned char **label, const char *images_path,
                    const char *labels_path, int n_classes)
{
    *label = NULL;
    im->path = images_path;
    im->f = NULL;
    int rc = open_idx(&im->f, images_path, 3, im->dims);
    if (rc) return rc;
    unsigned dl[3];
    rc = read_file(labels_path, 1, dl, label);
    if (rc == 0 && im->dims[0] != dl[0])
        rc = cl_error_set(CL_EDATA, "%s: %u labels for %u images in %s", labels_path, dl[0],
                          im->dims[0], images_path);
    for (unsigned i = 0; rc == 0 && i < dl[0]; i++)
        if ((*label)[i] >= n_classes)
            rc = cl_error_set(CL_EDATA, "%s: label %u of sample %u is outside 0..%d", labels_path,
                              (*label)[i], i, n_classes - 1);
    if (rc) {
        rc = fail_after(rc, im, 1);
        free(*label);
        *label = NULL;
    }
    return rc;
}

static void set_shape(cl_idx_set *s, const img_file *im)
{
    s->n = (int)im->dims[0];
    s->rows = (int)im->dims[1];
    s->cols = (int)im->dims[2];
}

int cl_idx_load(cl_idx_set **out, const char *images_path, const char *labels_path, int n_classes)
{
    *out = NULL;
    cl_idx_set *s = calloc(1, sizeof *s);
    if (!s) return cl_error_set(CL_ENOMEM, "out of memory");
    img_file im;
    int rc = open_set(&im, &s->label, images_path, labels_path, n_classes);
    if (rc == 0) {
        rc = read_payload(im.f, images_path, (size_t)im.dims[0] * im.dims[1] * im.dims[2],
                          "the pixel data", &s->pix);
        if (rc == 0) rc = expect_end(im.f, images_path);
        img_close(&im);
    }
    if (rc) {
        cl_idx_free(s);
        return rc;
    }
    set_shape(s, &im);
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

/* The four files of dataset `name` (see cl_idx_load_dataset). */
static int dataset_files(cl_idx_files *f, const char *name, const char *data_dir)
{
    const char *dir = data_dir;
    if (!dir && !strcmp(name, "fmnist")) dir = CL_IDX_FMNIST_DIR;
    if (!dir)
        return cl_error_set(CL_EINVAL, "dataset '%s' needs --data-dir DIR holding "
                            "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
                            "and t10k-labels-idx1-ubyte (plain or .gz); clbench downloads nothing",
                            name);
    int rc = cl_idx_find_files(f, dir);
    if (rc == CL_EINVAL && !data_dir)
        return cl_error_set(CL_EINVAL, "%s: Fashion-MNIST not found; install the Debian package "
                            "dataset-fashion-mnist (make deps does) or pass --data-dir DIR", dir);
    return rc;
}

static int shape_mismatch(const char *test_images, const cl_idx_set *tr, const cl_idx_set *te)
{
    return cl_error_set(CL_EDATA, "%s: test images are %dx%d but training images %dx%d",
                        test_images, te->rows, te->cols, tr->rows, tr->cols);
}

int cl_idx_load_dataset(cl_idx_set **train, cl_idx_set **test, const char *name,
                        const char *data_dir)
{
    *train = *test = NULL;
    cl_idx_files f;
    int rc = dataset_files(&f, name, data_dir);
    if (rc) return rc;
    if ((rc = cl_idx_load(train, f.train_images, f.train_labels, 10))) return rc;
    if ((rc = cl_idx_load(test, f.test_images, f.test_labels, 10))) {
        cl_idx_free(*train);
        *train = NULL;
        return rc;
    }
    if ((*train)->rows != (*test)->rows || (*train)->cols != (*test)->cols) {
        rc = shape_mismatch(f.test_images, *train, *test);
        cl_idx_free(*train);
        cl_idx_free(*test);
        *train = *test = NULL;
    }
    return rc;
}

struct cl_idx_stream {
    cl_idx_files files;
    img_file im[2];    /* train, test */
    cl_idx_set set[2]; /* their labels and shapes; pix NULL */
};

/* Every check of cl_idx_load_dataset, in its order of reports, reading
 * only the labels and the image headers now. */
int cl_idx_stream_open(cl_idx_stream **out, const char *name, const char *data_dir)
{
    *out = NULL;
    cl_idx_stream *s = calloc(1, sizeof *s);
    if (!s) return cl_error_set(CL_ENOMEM, "out of memory");
    cl_idx_files *f = &s->files;
    int rc = dataset_files(f, name, data_dir);
    if (rc == 0) rc = open_set(&s->im[0], &s->set[0].label, f->train_images, f->train_labels, 10);
    if (rc == 0) {
        rc = open_set(&s->im[1], &s->set[1].label, f->test_images, f->test_labels, 10);
        if (rc) rc = fail_after(rc, s->im, 1);
    }
    if (rc == 0) {
        set_shape(&s->set[0], &s->im[0]);
        set_shape(&s->set[1], &s->im[1]);
        if (s->set[0].rows != s->set[1].rows || s->set[0].cols != s->set[1].cols)
            rc = fail_after(shape_mismatch(f->test_images, &s->set[0], &s->set[1]), s->im, 2);
    }
    if (rc) {
        cl_idx_stream_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

const cl_idx_set *cl_idx_stream_set(const cl_idx_stream *s, int test) { return &s->set[test != 0]; }

void cl_idx_stream_free(cl_idx_stream *s)
{
    if (!s) return;
    for (int i = 0; i < 2; i++) {
        img_close(&s->im[i]);
        free(s->set[i].label);
    }
    free(s);
}

/* The destinations of one set's images, grouped by image. */
typedef struct fill_ctx {
    const cl_idx_dest *dests;
    const size_t *order; /* dest indices, image by image */
    const size_t *start; /* (n + 1) image i's run in order */
    size_t d;
    int rows, cols;
    float *tmp;          /* (d) one scaled image */
    const cl_idx_view *view;
} fill_ctx;

static int fill_chunk(void *ctx, size_t first, size_t count, const unsigned char *pix)
{
    const fill_ctx *c = ctx;
    const cl_idx_view *v = c->view;
    for (size_t i = 0; i < count; i++) {
        const unsigned char *img = pix + i * c->d;
        size_t a = c->start[first + i], b = c->start[first + i + 1];
        if (a < b && v && v->floats) cl_task_decode(c->tmp, img, c->d);
        for (size_t k = a; k < b; k++) {
            const cl_idx_dest *e = &c->dests[c->order[k]];
            if (e->u8 && v && v->bytes)
                v->bytes(v->ctx, e->task, c->rows, c->cols, img, e->u8);
            else if (e->u8)
                memcpy(e->u8, img, c->d);
            else if (v && v->floats)
                v->floats(v->ctx, e->task, c->rows, c->cols, c->tmp, e->x);
            else
                cl_task_decode(e->x, img, c->d);
        }
    }
    return 0;
}

int cl_idx_stream_fill(cl_idx_stream *s, const cl_idx_dest *dests, size_t n,
                       const cl_idx_view *view)
{
    CL_ASSERT(!view || !view->bytes != !view->floats);
    CL_ASSERT(s->im[0].f && s->im[1].f);
    size_t nimg = (size_t)s->set[0].n + (size_t)s->set[1].n;
    size_t d = (size_t)s->set[0].rows * s->set[0].cols;
    /* Counting sort by (set, image): start over both sets, train first. */
    size_t *start = calloc(nimg + 1, sizeof *start);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    float *tmp = malloc(d * sizeof *tmp);
    int rc = start && order && tmp ? 0 : cl_error_set(CL_ENOMEM, "out of memory");
    for (size_t k = 0; rc == 0 && k < n; k++) {
        CL_ASSERT(dests[k].sample >= 0 && dests[k].sample < s->set[dests[k].set != 0].n);
        CL_ASSERT(!dests[k].u8 != !dests[k].x);
        start[(dests[k].set ? (size_t)s->set[0].n : 0) + (size_t)dests[k].sample + 1]++;
    }
    for (size_t i = 0; rc == 0 && i < nimg; i++) start[i + 1] += start[i];
    for (size_t k = 0; rc == 0 && k < n; k++) {
        size_t img = (dests[k].set ? (size_t)s->set[0].n : 0) + (size_t)dests[k].sample;
        order[start[img]++] = k;
    }
    /* start[i] has moved on to the end of image i's run, which is where
     * image i + 1's begins. */
    if (rc == 0) {
        memmove(start + 1, start, nimg * sizeof *start);
        start[0] = 0;
    }
    for (int set = 0; rc == 0 && set < 2; set++) {
        fill_ctx c = {dests, order, start + (set ? s->set[0].n : 0), d, s->set[set].rows,
                      s->set[set].cols, tmp, view};
        rc = img_stream(&s->im[set], fill_chunk, &c);
    }
    free(start);
    free(order);
    free(tmp);
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

/* n of the set's samples in seeded random order (all when n is 0). */
static int subset(const cl_idx_set *s, int n, int *idx, gsl_rng *rng)
{
    for (int i = 0; i < s->n; i++) idx[i] = i;
    cl_rng_shuffle(rng, idx, s->n);
    return n > 0 && n < s->n ? n : s->n;
}

/* Where samples idx[0..n) of `set` go in task t (x, y), with their labels. */
static void plan_view(const cl_idx_set *s, int set, const int *idx, int n, int t, int label0,
                      float *x, unsigned char *u8, int *y, cl_idx_dest *dest)
{
    size_t d = (size_t)s->rows * s->cols;
    for (int i = 0; i < n; i++) {
        dest[i] = (cl_idx_dest){x ? x + (size_t)i * d : NULL, u8 ? u8 + (size_t)i * d : NULL,
                                set, idx[i], t};
        y[i] = label0 + s->label[idx[i]];
    }
}

/* The samples are drawn from the labels alone, as they always were; then
 * the images are read once, each scaled and transformed into the tasks that
 * drew it. */
int cl_idx_build_transformed(cl_suite **out, const char *suite_name, const char *name,
                             int T, int n_train, int n_test, cl_scenario sc,
                             const char *data_dir, gsl_rng *rng, const cl_idx_view *view,
                             const char *what)
{
    *out = NULL;
    cl_idx_stream *src;
    int rc = cl_idx_stream_open(&src, name, data_dir);
    if (rc) return rc;
    const cl_idx_set *train = cl_idx_stream_set(src, 0), *test = cl_idx_stream_set(src, 1);
    int d = train->rows * train->cols;
    int ntr = n_train > 0 && n_train < train->n ? n_train : train->n;
    int nte = n_test > 0 && n_test < test->n ? n_test : test->n;
    int *idx = malloc((size_t)(train->n > test->n ? train->n : test->n) * sizeof *idx);
    cl_idx_dest *dest = malloc((size_t)T * (size_t)(ntr + nte) * sizeof *dest);
    rc = idx && dest ? cl_suite_alloc(out, suite_name, sc, T, d, sc == CL_SCENARIO_TASK ? 10 * T : 10)
                     : cl_error_set(CL_ENOMEM, "out of memory");
    size_t nd = 0;
    for (int t = 0; rc == 0 && t < T; t++) {
        cl_task *task = &(*out)->tasks[t];
        int label0 = sc == CL_SCENARIO_TASK ? 10 * t : 0;
        rc = cl_task_alloc(task, ntr, nte, d, false, view->bytes ? CL_TASK_BYTES : CL_TASK_FLOATS);
        if (rc) break;
        subset(train, n_train, idx, rng);
        plan_view(train, 0, idx, ntr, t, label0, task->train_x, task->train_u8, task->train_y,
                  dest + nd);
        nd += (size_t)ntr;
        subset(test, n_test, idx, rng);
        plan_view(test, 1, idx, nte, t, label0, task->test_x, task->test_u8, task->test_y,
                  dest + nd);
        nd += (size_t)nte;
        for (int c = 0; c < 10; c++) task->classes[label0 + c] = 1;
    }
    free(idx);
    if (rc == 0) rc = cl_idx_stream_fill(src, dest, nd, view);
    if (rc == 0)
        snprintf((*out)->recipe, sizeof (*out)->recipe,
                 "%s: %d tasks, %s; pixels / 255; %d train / %d test per task", name, T, what,
                 (*out)->tasks[0].n_train, (*out)->tasks[0].n_test);
    free(dest);
    cl_idx_stream_free(src);
    if (rc) {
        cl_suite_free(*out);
        *out = NULL;
    }
    return rc;
}
