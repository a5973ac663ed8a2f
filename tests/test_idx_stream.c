/* Suites built while streaming the IDX images (tasks/idx.c,
 * cl_idx_stream_*) are bit for bit those of the loader that held every
 * pixel in memory: same samples, order, values, labels, masks, recipe and
 * RNG state after. Checked three ways on a dataset written here: against a
 * copy of that loader's suite code kept below as the reference, against
 * checksums of its output frozen before the change, and for files with
 * several defects, against the message it reported first. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "clbench/base/error.h"
#include "clbench/tasks/idx.h"
#include "clbench/base/params.h"
#include "clbench/base/rng.h"
#include "clbench/store/task.h"
#include "support.h"

/* 500 training images cross several 64 KiB chunks (83 images each) and
 * end in a partial one; the classes are unbalanced. */
#define SIDE 28
#define D (SIDE * SIDE)
#define N_TRAIN 500
#define N_TEST 130

static char tmp[256];

static unsigned char label_of(int set, int i) { return (unsigned char)((7 * i + i / 13 + 3 * set) % 10); }

/* A hash: every image differs from every other and from its own
 * permutations and rotations. */
static unsigned char pixel_of(int set, int i, int p)
{
    uint32_t h = (uint32_t)set * 2654435761u ^ (uint32_t)i * 40503u ^ (uint32_t)p * 2246822519u;
    h ^= h >> 13;
    h *= 3266489917u;
    h ^= h >> 16;
    return (unsigned char)h;
}

/* How a written file departs from a valid one. */
typedef struct defect {
    int rows, cols;    /* image shape (0: SIDE) */
    int n;             /* items declared and written (0: the set's size) */
    size_t cut;        /* bytes dropped from the end */
    int extra;         /* bytes appended */
    int bad_magic;     /* magic 0x1f 0x8b ... */
    int bad_label;     /* label 10 at sample 3 */
    int corrupt;       /* gzip with bytes flipped mid-stream */
} defect;

/* <dir>/<name>: an IDX file of the set's images (rank 3) or labels. */
static void put_file(const char *dir, const char *name, int set, int rank, const defect *df)
{
    defect none = {0};
    if (!df) df = &none;
    int n = df->n ? df->n : set ? N_TEST : N_TRAIN;
    int rows = df->rows ? df->rows : SIDE, cols = df->cols ? df->cols : SIDE;
    size_t items = rank == 3 ? (size_t)n * rows * cols : (size_t)n;
    unsigned char *data = malloc(items + (size_t)df->extra + 1);
    cr_assert_not_null(data);
    for (int i = 0; i < n; i++)
        if (rank == 3)
            for (int p = 0; p < rows * cols; p++)
                data[(size_t)i * rows * cols + p] = pixel_of(set, i, p);
        else
            data[i] = label_of(set, i);
    if (df->bad_label) data[3] = 10;
    memset(data + items, 7, (size_t)df->extra);
    unsigned dims[3] = {(unsigned)n, (unsigned)rows, (unsigned)cols};
    size_t len;
    unsigned char *b = cl_test_idx_bytes(8, rank, dims, data, items + (size_t)df->extra, &len);
    free(data);
    if (df->bad_magic) b[0] = 0x1f;
    len -= df->cut;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t nl = strlen(name);
    if (nl > 3 && !strcmp(name + nl - 3, ".gz")) {
        gzFile f = gzopen(path, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(gzwrite(f, b, (unsigned)len), (int)len);
        cr_assert_eq(gzclose(f), Z_OK);
        if (df->corrupt) {
            size_t zl;
            unsigned char *z = (unsigned char *)cl_test_read(path, &zl);
            cr_assert_not_null(z);
            for (size_t k = zl / 2; k < zl / 2 + 8; k++) z[k] ^= 0xa5;
            cl_test_write(path, z, zl);
            free(z);
        }
    } else {
        cl_test_write(path, b, len);
    }
    free(b);
}

/* <tmp>/<sub>, a valid dataset: gzip training files, plain test files. */
static const char *put_dataset(const char *sub)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp, sub);
    cr_assert(mkdir(dir, 0755) == 0 || errno == EEXIST);
    put_file(dir, "train-images-idx3-ubyte.gz", 0, 3, NULL);
    put_file(dir, "train-labels-idx1-ubyte.gz", 0, 1, NULL);
    put_file(dir, "t10k-images-idx3-ubyte", 1, 3, NULL);
    put_file(dir, "t10k-labels-idx1-ubyte", 1, 1, NULL);
    return dir;
}

static void make_tmp(void)
{
    cl_test_tmpdir_new(tmp, sizeof tmp, "idx-stream");
    put_dataset("toy");
}

static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(idx_stream, .init = make_tmp, .fini = remove_tmp, .timeout = 60);

#define SETS(...) ((const char *const[]){__VA_ARGS__, NULL})

static gsl_rng *suite_rng(unsigned long seed)
{
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_SUITE), 0);
    return rng;
}

/* Builds family suite `name` from <tmp>/<sub>; see cl_test_suite_build. */
static int build(cl_suite **s, const char *name, const char *sub, cl_scenario sc,
                 unsigned long seed, const char *const *sets, unsigned long *next)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp, sub);
    int rc = cl_test_suite_build(s, name, dir, sc, seed, sets, next);
    if (rc == 0) cr_assert_eq(cl_suite_to_floats(*s), 0);
    return rc;
}

static void same_suite(const cl_suite *a, const cl_suite *b, const char *what)
{
    cr_assert_eq(a->n_tasks, b->n_tasks, "%s", what);
    cr_assert_eq(a->d, b->d, "%s", what);
    cr_assert_eq(a->n_classes, b->n_classes, "%s", what);
    cr_assert_str_eq(a->recipe, b->recipe, "%s", what);
    size_t d = (size_t)a->d;
    for (int t = 0; t < a->n_tasks; t++) {
        const cl_task *x = &a->tasks[t], *y = &b->tasks[t];
        cr_assert_eq(x->n_train, y->n_train, "%s: task %d", what, t);
        cr_assert_eq(x->n_test, y->n_test, "%s: task %d", what, t);
        cr_assert(!memcmp(x->train_x, y->train_x, x->n_train * d * sizeof(float)),
                  "%s: task %d training images differ", what, t);
        cr_assert(!memcmp(x->train_y, y->train_y, x->n_train * sizeof(int)), "%s: task %d", what, t);
        cr_assert(!memcmp(x->test_x, y->test_x, x->n_test * d * sizeof(float)),
                  "%s: task %d test images differ", what, t);
        cr_assert(!memcmp(x->test_y, y->test_y, x->n_test * sizeof(int)), "%s: task %d", what, t);
        cr_assert(!memcmp(x->classes, y->classes, (size_t)a->n_classes), "%s: task %d", what, t);
    }
}

/* ---- the reference: suite code of the loader that held every pixel ---- */

static int ref_fill(const cl_idx_set *set, const int *cls, int K, int limit, int label0,
                    float *x, int *y, int *idx, gsl_rng *rng)
{
    int d = set->rows * set->cols, n = 0;
    for (int k = 0; k < K; k++) {
        int m = cl_idx_class_indices(set, cls[k], idx, rng);
        if (limit > 0 && limit < m) m = limit;
        for (int i = 0; i < m; i++, n++) {
            cl_task_decode(x + (size_t)n * d, set->pix + (size_t)idx[i] * d, (size_t)d);
            y[n] = label0 < 0 ? k : label0 + k;
        }
    }
    return n;
}

static int ref_count(const cl_idx_set *set, const int *cls, int K, int limit)
{
    int n = 0;
    for (int k = 0; k < K; k++) {
        int m = 0;
        for (int i = 0; i < set->n; i++) m += set->label[i] == cls[k];
        n += limit > 0 && limit < m ? limit : m;
    }
    return n;
}

static cl_suite *ref_split(const char *dir, cl_scenario sc, int K, int T, int shuffled, int ntr,
                           int nte, gsl_rng *rng)
{
    if (T == 0) T = 10 / K;
    cl_idx_set *train, *test;
    cr_assert_eq(cl_idx_load_dataset(&train, &test, "toy", dir), 0, "%s", cl_error_last());
    int order[10];
    for (int c = 0; c < 10; c++) order[c] = c;
    if (shuffled) cl_rng_shuffle(rng, order, 10);
    int d = train->rows * train->cols;
    int *idx = malloc((size_t)(train->n > test->n ? train->n : test->n) * sizeof *idx);
    cl_suite *out;
    cr_assert_eq(cl_suite_alloc(&out, "split-toy", sc, T, d, sc == CL_SCENARIO_DOMAIN ? K : T * K), 0);
    for (int t = 0; t < T; t++) {
        cl_task *task = &out->tasks[t];
        const int *cls = order + t * K;
        cr_assert_eq(cl_task_alloc(task, ref_count(train, cls, K, ntr), ref_count(test, cls, K, nte),
                                   d, false, CL_TASK_FLOATS), 0);
        int label0 = sc == CL_SCENARIO_DOMAIN ? -1 : t * K;
        ref_fill(train, cls, K, ntr, label0, task->train_x, task->train_y, idx, rng);
        ref_fill(test, cls, K, nte, label0, task->test_x, task->test_y, idx, rng);
        for (int k = 0; k < K; k++) task->classes[label0 < 0 ? k : label0 + k] = 1;
    }
    char classes[64] = "";
    for (int c = 0, off = 0; c < T * K; c++)
        off += snprintf(classes + off, sizeof classes - (size_t)off, "%s%d",
                        c == 0 ? "" : c % K ? "," : " | ", order[c]);
    snprintf(out->recipe, sizeof out->recipe,
             "%s: %d tasks of %d classes (%s), pixels / 255, %s train / %s test per class", "toy",
             T, K, classes, ntr ? "subset" : "all", nte ? "subset" : "all");
    free(idx);
    cl_idx_free(train);
    cl_idx_free(test);
    return out;
}

static int ref_subset(const cl_idx_set *s, int n, int *idx, gsl_rng *rng)
{
    for (int i = 0; i < s->n; i++) idx[i] = i;
    cl_rng_shuffle(rng, idx, s->n);
    return n > 0 && n < s->n ? n : s->n;
}

static void ref_view(const cl_idx_set *s, const int *idx, int n, int t, int label0, float *x,
                     int *y, float *tmp1, cl_idx_transform fn, const void *ctx)
{
    int d = s->rows * s->cols;
    for (int i = 0; i < n; i++) {
        cl_task_decode(tmp1, s->pix + (size_t)idx[i] * d, (size_t)d);
        fn(ctx, t, s->rows, s->cols, tmp1, x + (size_t)i * d);
        y[i] = label0 + s->label[idx[i]];
    }
}

static cl_suite *ref_transformed(const char *dir, int T, int n_train, int n_test, cl_scenario sc,
                                 gsl_rng *rng, cl_idx_transform fn, const void *ctx)
{
    cl_idx_set *train, *test;
    cr_assert_eq(cl_idx_load_dataset(&train, &test, "toy", dir), 0, "%s", cl_error_last());
    int d = train->rows * train->cols;
    int *idx = malloc((size_t)(train->n > test->n ? train->n : test->n) * sizeof *idx);
    float *tmp1 = malloc((size_t)d * sizeof *tmp1);
    cl_suite *out;
    cr_assert_eq(cl_suite_alloc(&out, "shifted-toy", sc, T, d, sc == CL_SCENARIO_TASK ? 10 * T : 10), 0);
    for (int t = 0; t < T; t++) {
        cl_task *task = &out->tasks[t];
        int label0 = sc == CL_SCENARIO_TASK ? 10 * t : 0;
        int ntr = ref_subset(train, n_train, idx, rng);
        cr_assert_eq(cl_task_alloc(task, ntr, n_test > 0 && n_test < test->n ? n_test : test->n, d,
                                   false, CL_TASK_FLOATS), 0);
        ref_view(train, idx, ntr, t, label0, task->train_x, task->train_y, tmp1, fn, ctx);
        int nte = ref_subset(test, n_test, idx, rng);
        ref_view(test, idx, nte, t, label0, task->test_x, task->test_y, tmp1, fn, ctx);
        for (int c = 0; c < 10; c++) task->classes[label0 + c] = 1;
    }
    snprintf(out->recipe, sizeof out->recipe,
             "%s: %d tasks, %s; pixels / 255; %d train / %d test per task", "toy", T, "shifted",
             out->tasks[0].n_train, out->tasks[0].n_test);
    free(idx);
    free(tmp1);
    cl_idx_free(train);
    cl_idx_free(test);
    return out;
}

/* ---- the comparisons ---- */

Test(idx_stream, split_matches_the_reference)
{
    struct { const char *const *sets; int K, T, shuffled, ntr, nte; } cases[] = {
        {NULL, 2, 0, 0, 0, 0},
        {SETS("class_order=shuffled", "train_per_class=17", "test_per_class=5"), 2, 0, 1, 17, 5},
        {SETS("classes_per_task=3", "tasks=3", "class_order=shuffled", "train_per_class=1000"),
         3, 3, 1, 1000, 0},
        {SETS("classes_per_task=1", "tasks=4", "test_per_class=1"), 1, 4, 0, 0, 1},
    };
    char dir[512];
    snprintf(dir, sizeof dir, "%s/toy", tmp);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int sc = 0; sc < 3; sc++)
            for (unsigned long seed = 1; seed <= 2; seed++) {
                char what[96];
                snprintf(what, sizeof what, "case %zu, %s, seed %lu", c,
                         cl_scenario_name((cl_scenario)sc), seed);
                cl_suite *s;
                unsigned long next;
                cr_assert_eq(build(&s, "split-toy", "toy", (cl_scenario)sc, seed, cases[c].sets,
                                   &next), 0, "%s: %s", what, cl_error_last());
                gsl_rng *rng = suite_rng(seed);
                cl_suite *ref = ref_split(dir, (cl_scenario)sc, cases[c].K, cases[c].T,
                                          cases[c].shuffled, cases[c].ntr, cases[c].nte, rng);
                same_suite(s, ref, what);
                cr_assert_eq(next, gsl_rng_get(rng), "%s: RNG state after the build", what);
                gsl_rng_free(rng);
                cl_suite_free(s);
                cl_suite_free(ref);
            }
}

/* Depends on the task, the position and the value, so a sample in the
 * wrong task or slot, or transformed twice, shows. */
static void shift(const void *ctx, int t, int rows, int cols, const float *src, float *dst)
{
    int k = *(const int *)ctx * (t + 1);
    for (int i = 0; i < rows * cols; i++) dst[i] = src[(i + k) % (rows * cols)] * (float)(t + 1) - 0.25f * t;
}

Test(idx_stream, transformed_matches_the_reference)
{
    /* n_train, n_test: a subset, all (0), more than there are. */
    int sizes[][2] = {{50, 7}, {0, 0}, {100000, 1}};
    int step = 5;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/toy", tmp);
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++)
        for (int sc = 1; sc <= 2; sc++) {
            char what[96];
            snprintf(what, sizeof what, "sizes %d/%d, %s", sizes[c][0], sizes[c][1],
                     cl_scenario_name((cl_scenario)sc));
            gsl_rng *rng = suite_rng(3 + c);
            cl_suite *s;
            cr_assert_eq(cl_idx_build_transformed(&s, "shifted-toy", "toy", 3, sizes[c][0],
                                                  sizes[c][1], (cl_scenario)sc, dir, rng,
                                                  &(cl_idx_view){.floats = shift, .ctx = &step},
                                                  "shifted"), 0, "%s", cl_error_last());
            gsl_rng *rrng = suite_rng(3 + c);
            cl_suite *ref = ref_transformed(dir, 3, sizes[c][0], sizes[c][1], (cl_scenario)sc, rrng,
                                            shift, &step);
            same_suite(s, ref, what);
            cr_assert_eq(gsl_rng_get(rng), gsl_rng_get(rrng), "%s: RNG state after", what);
            gsl_rng_free(rng);
            gsl_rng_free(rrng);
            cl_suite_free(s);
            cl_suite_free(ref);
        }
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* Everything a suite holds, and the RNG's next draw. */
static uint64_t checksum(const cl_suite *s, unsigned long next)
{
    uint64_t h = 1469598103934665603ULL;
    size_t d = (size_t)s->d;
    for (int t = 0; t < s->n_tasks; t++) {
        const cl_task *k = &s->tasks[t];
        h = fnv(h, &k->n_train, sizeof k->n_train);
        h = fnv(h, &k->n_test, sizeof k->n_test);
        h = fnv(h, k->train_x, k->n_train * d * sizeof(float));
        h = fnv(h, k->train_y, k->n_train * sizeof(int));
        h = fnv(h, k->test_x, k->n_test * d * sizeof(float));
        h = fnv(h, k->test_y, k->n_test * sizeof(int));
        h = fnv(h, k->classes, (size_t)s->n_classes);
    }
    h = fnv(h, s->recipe, strlen(s->recipe));
    return fnv(h, &next, sizeof next);
}

/* Checksums of the suites the loader that held every pixel built from this
 * dataset (computed before streaming replaced it): the permuted and rotated
 * families' own transforms included. Rotation goes through libm's cos and
 * sin: these values are glibc's on x86-64. */
Test(idx_stream, suites_match_frozen_checksums)
{
    const struct {
        const char *name;
        cl_scenario sc;
        unsigned long seed;
        const char *const *sets;
        uint64_t sum;
    } cases[] = {
        {"split-toy", CL_SCENARIO_CLASS, 1, NULL, 0x6c4b0409e68c1990ULL},
        {"split-toy", CL_SCENARIO_TASK, 2,
         SETS("class_order=shuffled", "train_per_class=17", "test_per_class=5"), 0x79c92fff27e2da60ULL},
        {"split-toy", CL_SCENARIO_DOMAIN, 3, SETS("classes_per_task=3", "tasks=3"), 0xa45e1c0ce3468929ULL},
        {"permuted-toy", CL_SCENARIO_DOMAIN, 4,
         SETS("tasks=3", "train_per_task=0", "test_per_task=0"), 0xba95c5206a24bd30ULL},
        {"permuted-toy", CL_SCENARIO_TASK, 5,
         SETS("tasks=2", "train_per_task=200", "test_per_task=50", "first_unpermuted=false"),
         0x6035f5effe86aec4ULL},
        {"rotated-toy", CL_SCENARIO_DOMAIN, 6,
         SETS("tasks=3", "angle_step=45", "train_per_task=0", "test_per_task=0"), 0x2dfe02d229778ae4ULL},
        {"rotated-toy", CL_SCENARIO_TASK, 7, SETS("train_per_task=300", "test_per_task=20"),
         0x00c471b4fe159063ULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cl_suite *s;
        unsigned long next;
        cr_assert_eq(build(&s, cases[c].name, "toy", cases[c].sc, cases[c].seed, cases[c].sets,
                           &next), 0, "%s", cl_error_last());
        uint64_t sum = checksum(s, next);
        cr_assert_eq(sum, cases[c].sum, "case %zu (%s): checksum 0x%016llxULL", c, cases[c].name,
                     (unsigned long long)sum);
        cl_suite_free(s);
    }
}

/* One image into several destinations, none at all for others, and an
 * empty plan still reads (and checks) both files. */
Test(idx_stream, fill_any_number_of_destinations)
{
    cl_idx_stream *src;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/toy", tmp);
    cr_assert_eq(cl_idx_stream_open(&src, "toy", dir), 0, "%s", cl_error_last());
    const cl_idx_set *tr = cl_idx_stream_set(src, 0), *te = cl_idx_stream_set(src, 1);
    cr_assert(tr->n == N_TRAIN && te->n == N_TEST && tr->rows == SIDE && tr->cols == SIDE);
    cr_assert(tr->pix == NULL && te->pix == NULL);
    for (int i = 0; i < N_TEST; i++) cr_assert_eq(te->label[i], label_of(1, i));
    float *x = malloc(5 * D * sizeof *x);
    cl_idx_dest dest[5] = {{x, NULL, 1, N_TEST - 1, 0}, {x + D, NULL, 0, 499, 0},
                           {x + 2 * D, NULL, 0, 83, 0}, {x + 3 * D, NULL, 0, 499, 0},
                           {x + 4 * D, NULL, 1, 0, 0}};
    cr_assert_eq(cl_idx_stream_fill(src, dest, 5, NULL), 0, "%s", cl_error_last());
    for (int k = 0; k < 5; k++)
        for (int p = 0; p < D; p++)
            cr_assert_eq(x[k * D + p], (float)pixel_of(dest[k].set, dest[k].sample, p) / 255.0f,
                         "destination %d pixel %d", k, p);
    free(x);
    cl_idx_stream_free(src);

    const char *bad = put_dataset("cut");
    put_file(bad, "t10k-images-idx3-ubyte", 1, 3, &(defect){.cut = 1});
    cr_assert_eq(cl_idx_stream_open(&src, "toy", bad), 0, "%s", cl_error_last());
    cr_assert_eq(cl_idx_stream_fill(src, NULL, 0, NULL), CL_EDATA);
    cr_assert(strstr(cl_error_last(), "needs 101920 bytes, file has 101919"), "%s", cl_error_last());
    cl_idx_stream_free(src);
    cl_idx_stream_free(NULL);
}

/* Files with two defects: the one reported is the one the loader that read
 * each file whole, train images, train labels, test images, test labels,
 * then compared shapes, met first. */
Test(idx_stream, several_defects_report_the_first_in_file_order)
{
    struct {
        const char *file;  /* file the first defect is in, and what it says */
        const char *what;
        const char *f1;    /* the defects */
        defect d1;
        const char *f2;
        defect d2;
    } cases[] = {
        {"train-images-idx3-ubyte.gz", "pixel data needs 392000 bytes, file has 391990",
         "train-images-idx3-ubyte.gz", {.cut = 10}, "train-labels-idx1-ubyte.gz", {.bad_magic = 1}},
        {"train-images-idx3-ubyte.gz", "corrupt gzip data",
         "train-images-idx3-ubyte.gz", {.corrupt = 1}, "t10k-labels-idx1-ubyte", {.bad_label = 1}},
        {"train-images-idx3-ubyte.gz", "trailing bytes",
         "train-images-idx3-ubyte.gz", {.extra = 3}, "t10k-images-idx3-ubyte", {.bad_magic = 1}},
        {"train-labels-idx1-ubyte.gz", "label 10 of sample 3 is outside 0..9",
         "train-labels-idx1-ubyte.gz", {.bad_label = 1}, "t10k-images-idx3-ubyte", {.cut = 1}},
        {"train-images-idx3-ubyte.gz", "pixel data needs 392000 bytes, file has 391999",
         "train-images-idx3-ubyte.gz", {.cut = 1}, "t10k-images-idx3-ubyte", {.rows = 27}},
        {"t10k-images-idx3-ubyte", "pixel data needs 98280 bytes, file has 98279",
         "t10k-images-idx3-ubyte", {.cols = 27, .cut = 1}, "t10k-labels-idx1-ubyte", {.n = 129}},
        {"t10k-images-idx3-ubyte", "test images are 28x27 but training images 28x28",
         "t10k-images-idx3-ubyte", {.cols = 27}, "t10k-labels-idx1-ubyte", {0}},
        {"t10k-labels-idx1-ubyte", "129 labels for 130 images",
         "t10k-labels-idx1-ubyte", {.n = 129}, "t10k-labels-idx1-ubyte", {.n = 129}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char sub[32];
        snprintf(sub, sizeof sub, "bad%zu", c);
        const char *dir = put_dataset(sub);
        put_file(dir, cases[c].f2, strstr(cases[c].f2, "t10k") != NULL,
                 strstr(cases[c].f2, "images") ? 3 : 1, &cases[c].d2);
        put_file(dir, cases[c].f1, strstr(cases[c].f1, "t10k") != NULL,
                 strstr(cases[c].f1, "images") ? 3 : 1, &cases[c].d1);
        char path[600];
        snprintf(path, sizeof path, "%s/%s: ", dir, cases[c].file);
        for (int fam = 0; fam < 3; fam++) {
            const char *name = fam == 0 ? "split-toy" : fam == 1 ? "permuted-toy" : "rotated-toy";
            cl_suite *s;
            int rc = build(&s, name, sub, fam ? CL_SCENARIO_DOMAIN : CL_SCENARIO_CLASS, 1, NULL, NULL);
            const char *m = cl_error_last();
            cr_assert_eq(rc, CL_EDATA, "case %zu, %s: rc %d, %s", c, name, rc, m);
            cr_assert(strncmp(m, path, strlen(path)) == 0 && strstr(m, cases[c].what),
                      "case %zu, %s: '%s' is not '%s...%s'", c, name, m, path, cases[c].what);
            cr_assert_null(strchr(m, '\n'));
        }
    }
}
