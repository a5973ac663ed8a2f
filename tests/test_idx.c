/* The IDX loader (tasks/idx.c) on small files written here, plain and gzip,
 * every defect it must name, Fashion-MNIST when installed, and the CLI's
 * handling of bad data folders (CL_TEST_BIN, --out in the test's folder). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "clbench/base/error.h"
#include "clbench/tasks/idx.h"
#include "clbench/base/rng.h"
#include "support.h"

static char tmp[256]; /* this test's temporary folder */

static void make_tmp(void) { cl_test_tmpdir_new(tmp, sizeof tmp, "idx"); }
static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(idx, .init = make_tmp, .fini = remove_tmp, .timeout = 60);
TestSuite(idx_cli, .init = make_tmp, .fini = remove_tmp, .timeout = 60);

#define SIDE 28
#define D (SIDE * SIDE)
#define N_TRAIN 300 /* 30 per class */
#define N_TEST 100  /* 10 per class */

static unsigned char *images_bytes(int set, int n, int rows, int cols, size_t *len)
{
    unsigned char *pix = malloc((size_t)n * rows * cols);
    cr_assert_not_null(pix);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < rows * cols; p++)
            pix[(size_t)i * rows * cols + p] = cl_test_idx_pixel(set, i, p);
    unsigned dims[3] = {(unsigned)n, (unsigned)rows, (unsigned)cols};
    unsigned char *b = cl_test_idx_bytes(8, 3, dims, pix, (size_t)n * rows * cols, len);
    free(pix);
    return b;
}

static unsigned char *labels_bytes(int set, int n, size_t *len)
{
    unsigned char lab[1000];
    cr_assert(n <= 1000);
    for (int i = 0; i < n; i++) lab[i] = cl_test_idx_label(set, i);
    unsigned dims[1] = {(unsigned)n};
    return cl_test_idx_bytes(8, 1, dims, lab, (size_t)n, len);
}

/* <tmp>/<name>, into a static buffer per slot. */
static const char *at_tmp(const char *name)
{
    static char bufs[4][512];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, 512, "%s/%s", tmp, name);
    return b;
}

/* Writes bytes to <tmp>/<name>, through gzip when the name ends in .gz. */
static void put(const char *name, const unsigned char *b, size_t len)
{
    const char *path = at_tmp(name);
    size_t nl = strlen(name);
    if (nl > 3 && !strcmp(name + nl - 3, ".gz")) {
        gzFile f = gzopen(path, "wb");
        cr_assert_not_null(f, "gzopen %s", path);
        cr_assert_eq(gzwrite(f, b, (unsigned)len), (int)len);
        cr_assert_eq(gzclose(f), Z_OK);
    } else {
        cl_test_write(path, b, len);
    }
}

/* The whole file as stored (compressed bytes for .gz). */
static unsigned char *get_raw(const char *name, size_t *len)
{
    unsigned char *b = (unsigned char *)cl_test_read(at_tmp(name), len);
    cr_assert_not_null(b, "cannot read %s", at_tmp(name));
    return b;
}

static void put_images(const char *name, int set, int n, int rows, int cols)
{
    size_t len;
    unsigned char *b = images_bytes(set, n, rows, cols, &len);
    put(name, b, len);
    free(b);
}

static void put_labels(const char *name, int set, int n)
{
    size_t len;
    unsigned char *b = labels_bytes(set, n, &len);
    put(name, b, len);
    free(b);
}

/* The four files of a valid dataset in <tmp>/<sub>, with suffix "" or ".gz". */
static const char *put_dataset(const char *sub, const char *suffix)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp, sub);
    cr_assert(mkdir(dir, 0755) == 0 || errno == EEXIST);
    char name[512];
    snprintf(name, sizeof name, "%s/train-images-idx3-ubyte%s", sub, suffix);
    put_images(name, 0, N_TRAIN, SIDE, SIDE);
    snprintf(name, sizeof name, "%s/train-labels-idx1-ubyte%s", sub, suffix);
    put_labels(name, 0, N_TRAIN);
    snprintf(name, sizeof name, "%s/t10k-images-idx3-ubyte%s", sub, suffix);
    put_images(name, 1, N_TEST, SIDE, SIDE);
    snprintf(name, sizeof name, "%s/t10k-labels-idx1-ubyte%s", sub, suffix);
    put_labels(name, 1, N_TEST);
    return dir;
}

static void check_set(const cl_idx_set *s, int set, int n)
{
    cr_assert_not_null(s);
    cr_assert_eq(s->n, n);
    cr_assert_eq(s->rows, SIDE);
    cr_assert_eq(s->cols, SIDE);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(s->label[i], cl_test_idx_label(set, i), "label %d", i);
        for (int p = 0; p < D; p++)
            cr_assert_eq(s->pix[(size_t)i * D + p], cl_test_idx_pixel(set, i, p),
                         "image %d pixel %d", i, p);
    }
}

Test(idx, plain_and_gzip_files_load)
{
    for (int gz = 0; gz < 2; gz++) {
        const char *sfx = gz ? ".gz" : "";
        char im[64], lb[64];
        snprintf(im, sizeof im, "im%s", sfx);
        snprintf(lb, sizeof lb, "lb%s", sfx);
        put_images(im, 0, N_TRAIN, SIDE, SIDE);
        put_labels(lb, 0, N_TRAIN);
        cl_idx_set *s = NULL;
        int rc = cl_idx_load(&s, at_tmp(im), at_tmp(lb), 10);
        cr_assert_eq(rc, 0, "%s", cl_error_last());
        check_set(s, 0, N_TRAIN);
        cl_idx_free(s);
    }
    cl_idx_free(NULL);
}

/* A non-square shape keeps rows and cols apart. */
Test(idx, rows_and_cols_in_header_order)
{
    put_images("im", 0, 5, 3, 7);
    put_labels("lb", 0, 5);
    cl_idx_set *s;
    cr_assert_eq(cl_idx_load(&s, at_tmp("im"), at_tmp("lb"), 10), 0, "%s", cl_error_last());
    cr_assert_eq(s->rows, 3);
    cr_assert_eq(s->cols, 7);
    cr_assert_eq(s->pix[4 * 21 + 20], cl_test_idx_pixel(0, 4, 20));
    cl_idx_free(s);
}

/* Loads im/lb and expects CL_EDATA with a one-line message naming `file`
 * and containing `what`. */
static void expect_defect(const char *im, const char *lb, const char *file, const char *what)
{
    cl_idx_set *s = (cl_idx_set *)1;
    int rc = cl_idx_load(&s, at_tmp(im), at_tmp(lb), 10);
    const char *m = cl_error_last();
    cr_assert_eq(rc, CL_EDATA, "%s/%s: rc %d, message '%s'", im, lb, rc, m);
    cr_assert_null(s, "no set on failure");
    cr_assert(strstr(m, at_tmp(file)), "message '%s' does not name %s", m, file);
    cr_assert(strstr(m, what), "message '%s' does not say '%s'", m, what);
    cr_assert_null(strchr(m, '\n'), "message '%s' is not one line", m);
}

/* Images file bytes with byte k replaced by v. */
static void put_images_patched(const char *name, int k, unsigned char v)
{
    size_t len;
    unsigned char *b = images_bytes(0, 10, SIDE, SIDE, &len);
    b[k] = v;
    put(name, b, len);
    free(b);
}

Test(idx, wrong_magic)
{
    put_labels("lb", 0, 10);
    put_images_patched("im", 0, 0x1f);
    expect_defect("im", "lb", "im", "bad magic number 0x1f000803");
    put_images_patched("im.gz", 1, 0x08);
    expect_defect("im.gz", "lb", "im.gz", "bad magic");
}

/* A well-formed gzip whose content is not IDX at all. */
Test(idx, gzip_of_random_bytes)
{
    unsigned char junk[4000];
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, 3, CL_RNG_SUITE), 0);
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)cl_rng_below(rng, 256);
    gsl_rng_free(rng);
    junk[0] |= 0x80; /* not the 0 an IDX file starts with */
    put("im.gz", junk, sizeof junk);
    put_labels("lb", 0, 10);
    expect_defect("im.gz", "lb", "im.gz", "bad magic");
}

Test(idx, wrong_data_type)
{
    put_labels("lb", 0, 10);
    put_images_patched("im", 2, 0x0d); /* float */
    expect_defect("im", "lb", "im", "data type 0x0d");
}

Test(idx, wrong_rank)
{
    put_labels("lb", 0, 10);
    put_images("im", 0, 10, SIDE, SIDE);
    /* the label file given as images and the other way round */
    expect_defect("lb", "lb", "lb", "has 1 dimensions, expected 3");
    expect_defect("im", "im", "im", "has 3 dimensions, expected 1");
}

Test(idx, zero_and_absurd_dimensions)
{
    put_labels("lb", 0, 10);
    unsigned char px[16] = {0};
    size_t len;
    unsigned dims[3] = {0, SIDE, SIDE};
    unsigned char *b = cl_test_idx_bytes(8, 3, dims, px, 0, &len);
    put("im", b, len);
    free(b);
    expect_defect("im", "lb", "im", "dimension 1 is 0");
    unsigned big[3] = {10, 100000, SIDE};
    b = cl_test_idx_bytes(8, 3, big, px, sizeof px, &len);
    put("im", b, len);
    free(b);
    expect_defect("im", "lb", "im", "dimension 2 is 100000");
    unsigned huge_n[1] = {0xffffffffu};
    b = cl_test_idx_bytes(8, 1, huge_n, px, sizeof px, &len);
    put("lb2", b, len);
    free(b);
    put_images("im", 0, 10, SIDE, SIDE);
    expect_defect("im", "lb2", "lb2", "dimension 1 is 4294967295");
}

/* Dimensions each within their limits whose product is absurd: the loader
 * must report the truncation, not try to allocate petabytes first. */
Test(idx, huge_declared_size_is_truncation)
{
    put_labels("lb", 0, 10);
    unsigned char px[64] = {0};
    size_t len;
    unsigned dims[3] = {99999999u, 4096, 4096};
    unsigned char *b = cl_test_idx_bytes(8, 3, dims, px, sizeof px, &len);
    put("im", b, len);
    expect_defect("im", "lb", "im", "file has 64");
    put("im.gz", b, len);
    expect_defect("im.gz", "lb", "im.gz", "file has 64");
    free(b);
}

Test(idx, truncated_header)
{
    put_labels("lb", 0, 10);
    size_t len;
    unsigned char *b = images_bytes(0, 10, SIDE, SIDE, &len);
    put("im", b, 10); /* magic and half the dimensions */
    expect_defect("im", "lb", "im", "truncated: the dimension sizes needs 12 bytes, file has 6");
    put("im.gz", b, 2);
    expect_defect("im.gz", "lb", "im.gz", "truncated: the IDX header needs 4 bytes, file has 2");
    put("im", b, 0);
    expect_defect("im", "lb", "im", "file has 0");
    free(b);
}

Test(idx, truncated_data_says_needed_and_found)
{
    put_labels("lb", 0, 10);
    size_t len;
    unsigned char *b = images_bytes(0, 10, SIDE, SIDE, &len);
    put("im", b, len - 100);
    expect_defect("im", "lb", "im", "the pixel data needs 7840 bytes, file has 7740");
    put("im.gz", b, len - 1);
    expect_defect("im.gz", "lb", "im.gz", "the pixel data needs 7840 bytes, file has 7839");
    free(b);
    b = labels_bytes(0, 10, &len);
    put("lb", b, len - 3);
    put_images("im", 0, 10, SIDE, SIDE);
    expect_defect("im", "lb", "lb", "the labels needs 10 bytes, file has 7");
    free(b);
}

Test(idx, trailing_bytes)
{
    put_labels("lb", 0, 10);
    size_t len;
    unsigned char *b = images_bytes(0, 10, SIDE, SIDE, &len);
    b[len] = 0;
    put("im", b, len + 1);
    expect_defect("im", "lb", "im", "trailing bytes");
    put("im.gz", b, len + 1);
    expect_defect("im.gz", "lb", "im.gz", "trailing bytes");
    free(b);
}

/* Bytes flipped in the middle of the compressed stream. */
Test(idx, corrupt_gzip_stream)
{
    put_labels("lb", 0, N_TRAIN);
    put_images("im.gz", 0, N_TRAIN, SIDE, SIDE);
    size_t len;
    unsigned char *z = get_raw("im.gz", &len);
    for (size_t k = len / 2; k < len / 2 + 8; k++) z[k] ^= 0xa5;
    cl_test_write(at_tmp("im.gz"), z, len);
    expect_defect("im.gz", "lb", "im.gz", "corrupt gzip data");
    /* a damaged trailer (CRC) alone, the data themselves intact */
    put_images("im.gz", 0, N_TRAIN, SIDE, SIDE);
    free(z);
    z = get_raw("im.gz", &len);
    z[len - 6] ^= 0xff;
    cl_test_write(at_tmp("im.gz"), z, len);
    expect_defect("im.gz", "lb", "im.gz", "corrupt gzip data");
    /* a .gz cut short */
    put_images("im.gz", 0, N_TRAIN, SIDE, SIDE);
    free(z);
    z = get_raw("im.gz", &len);
    cl_test_write(at_tmp("im.gz"), z, len / 2);
    expect_defect("im.gz", "lb", "im.gz", "truncated");
    free(z);
}

Test(idx, label_out_of_range)
{
    put_images("im", 0, 10, SIDE, SIDE);
    size_t len;
    unsigned char *b = labels_bytes(0, 10, &len);
    b[8 + 5] = 10;
    put("lb", b, len);
    free(b);
    expect_defect("im", "lb", "lb", "label 10 of sample 5 is outside 0..9");
    cl_idx_set *s;
    cr_assert_eq(cl_idx_load(&s, at_tmp("im"), at_tmp("lb"), 11), 0, "11 classes admit label 10");
    cl_idx_free(s);
}

Test(idx, count_mismatch)
{
    put_images("im", 0, 10, SIDE, SIDE);
    put_labels("lb", 0, 9);
    expect_defect("im", "lb", "lb", "9 labels for 10 images");
}

Test(idx, missing_file)
{
    put_labels("lb", 0, 10);
    expect_defect("nope", "lb", "nope", "cannot open");
    put_images("im", 0, 10, SIDE, SIDE);
    expect_defect("im", "nope.gz", "nope.gz", "cannot open");
}

static const char *const NAMES[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* Plain files take precedence over .gz; each file is found on its own. */
Test(idx, find_files_prefers_plain)
{
    const char *dir = put_dataset("d", ".gz");
    cl_idx_files f;
    cr_assert_eq(cl_idx_find_files(&f, dir), 0, "%s", cl_error_last());
    char want[600];
    snprintf(want, sizeof want, "%s/%s.gz", dir, NAMES[0]);
    cr_assert_str_eq(f.train_images, want);
    put_images("d/train-images-idx3-ubyte", 0, N_TRAIN, SIDE, SIDE);
    cr_assert_eq(cl_idx_find_files(&f, dir), 0);
    snprintf(want, sizeof want, "%s/%s", dir, NAMES[0]);
    cr_assert_str_eq(f.train_images, want);
    snprintf(want, sizeof want, "%s/%s.gz", dir, NAMES[3]);
    cr_assert_str_eq(f.test_labels, want);
}

/* Each missing file is named with where it goes and what the four are. */
Test(idx, find_files_says_what_to_put_where)
{
    for (int k = 0; k < 4; k++) {
        char sub[16], name[600];
        snprintf(sub, sizeof sub, "d%d", k);
        const char *dir = put_dataset(sub, "");
        snprintf(name, sizeof name, "%s/%s", dir, NAMES[k]);
        cr_assert_eq(remove(name), 0);
        cl_idx_files f;
        cr_assert_eq(cl_idx_find_files(&f, dir), CL_EINVAL);
        const char *m = cl_error_last();
        snprintf(name, sizeof name, "%s: missing %s[.gz]", dir, NAMES[k]);
        cr_assert(strstr(m, name), "'%s' lacks '%s'", m, name);
        for (int j = 0; j < 4; j++) cr_assert(strstr(m, NAMES[j]), "'%s' lacks %s", m, NAMES[j]);
        cr_assert(strstr(m, "--data-dir"), "%s", m);
        cr_assert_null(strchr(m, '\n'));
    }
}

Test(idx, load_dataset_plain_and_gz)
{
    char dirs[2][512];
    snprintf(dirs[0], sizeof dirs[0], "%s", put_dataset("p", ""));
    snprintf(dirs[1], sizeof dirs[1], "%s", put_dataset("z", ".gz"));
    for (int k = 0; k < 2; k++) {
        cl_idx_set *tr = NULL, *te = NULL;
        cr_assert_eq(cl_idx_load_dataset(&tr, &te, "mytoy", dirs[k]), 0, "%s", cl_error_last());
        check_set(tr, 0, N_TRAIN);
        check_set(te, 1, N_TEST);
        cl_idx_free(tr);
        cl_idx_free(te);
    }
}

Test(idx, load_dataset_needs_data_dir)
{
    cl_idx_set *tr = (cl_idx_set *)1, *te = (cl_idx_set *)1;
    cr_assert_eq(cl_idx_load_dataset(&tr, &te, "mnist", NULL), CL_EINVAL);
    cr_assert_null(tr);
    cr_assert_null(te);
    const char *m = cl_error_last();
    cr_assert(strstr(m, "'mnist'") && strstr(m, "--data-dir"), "%s", m);
    for (int j = 0; j < 4; j++) cr_assert(strstr(m, NAMES[j]), "'%s' lacks %s", m, NAMES[j]);
}

Test(idx, test_images_of_another_size)
{
    const char *dir = put_dataset("d", "");
    put_images("d/t10k-images-idx3-ubyte", 1, N_TEST, SIDE - 1, SIDE);
    cl_idx_set *tr = (cl_idx_set *)1, *te = (cl_idx_set *)1;
    cr_assert_eq(cl_idx_load_dataset(&tr, &te, "mytoy", dir), CL_EDATA);
    cr_assert_null(tr);
    cr_assert_null(te);
    const char *m = cl_error_last();
    cr_assert(strstr(m, "d/t10k-images-idx3-ubyte") && strstr(m, "27x28") && strstr(m, "28x28"),
              "%s", m);
}

/* A defect in the test files after the training files loaded. */
Test(idx, load_dataset_test_file_defect)
{
    const char *dir = put_dataset("d", "");
    put_labels("d/t10k-labels-idx1-ubyte", 1, N_TEST - 1);
    cl_idx_set *tr = (cl_idx_set *)1, *te = (cl_idx_set *)1;
    cr_assert_eq(cl_idx_load_dataset(&tr, &te, "mytoy", dir), CL_EDATA);
    cr_assert_null(tr);
    cr_assert_null(te);
    cr_assert(strstr(cl_error_last(), "t10k-labels-idx1-ubyte: 99 labels for 100 images"), "%s",
              cl_error_last());
}

Test(idx, class_indices_are_a_seeded_shuffle)
{
    put_images("im", 0, N_TRAIN, SIDE, SIDE);
    put_labels("lb", 0, N_TRAIN);
    cl_idx_set *s;
    cr_assert_eq(cl_idx_load(&s, at_tmp("im"), at_tmp("lb"), 10), 0);
    int a[N_TRAIN], b[N_TRAIN], c[N_TRAIN];
    gsl_rng *r1, *r2, *r3;
    cl_rng_new(&r1, 5, CL_RNG_SUITE);
    cl_rng_new(&r2, 5, CL_RNG_SUITE);
    cl_rng_new(&r3, 6, CL_RNG_SUITE);
    cr_assert_eq(cl_idx_class_indices(s, 4, a, r1), 30);
    cr_assert_eq(cl_idx_class_indices(s, 4, b, r2), 30);
    cr_assert_eq(cl_idx_class_indices(s, 4, c, r3), 30);
    int seen[N_TRAIN] = {0}, same_bc = 1, sorted = 1;
    for (int i = 0; i < 30; i++) {
        cr_assert_eq(s->label[a[i]], 4);
        cr_assert_eq(seen[a[i]]++, 0, "index %d twice", a[i]);
        cr_assert_eq(a[i], b[i], "same seed, same order");
        same_bc &= a[i] == c[i];
        sorted &= i == 0 || a[i] > a[i - 1];
    }
    cr_assert(!same_bc && !sorted, "the order is a seeded shuffle");
    gsl_rng_free(r1);
    gsl_rng_free(r2);
    gsl_rng_free(r3);
    cl_idx_free(s);
}

/* Exact, not 1/255 multiplied: byte b gives the float nearest b / 255. */
Test(idx, scale_is_exact_division)
{
    unsigned char b[256];
    float x[256];
    for (int i = 0; i < 256; i++) b[i] = (unsigned char)i;
    cl_task_decode(x, b, 256);
    for (int i = 0; i < 256; i++) cr_assert_eq(x[i], (float)i / 255.0f, "byte %d gives %.9g", i, x[i]);
    cr_assert_eq(x[0], 0.0f);
    cr_assert_eq(x[255], 1.0f);
}

Test(idx, fashion_mnist, .timeout = 60)
{
    struct stat st;
    if (stat(CL_IDX_FMNIST_DIR, &st) != 0) cr_skip_test("%s is not installed", CL_IDX_FMNIST_DIR);
    cl_idx_set *tr, *te;
    cr_assert_eq(cl_idx_load_dataset(&tr, &te, "fmnist", NULL), 0, "%s", cl_error_last());
    cr_assert_eq(tr->n, 60000);
    cr_assert_eq(te->n, 10000);
    cr_assert(tr->rows == 28 && tr->cols == 28 && te->rows == 28 && te->cols == 28);
    int ctr[10] = {0}, cte[10] = {0};
    for (int i = 0; i < tr->n; i++) ctr[tr->label[i]]++;
    for (int i = 0; i < te->n; i++) cte[te->label[i]]++;
    for (int c = 0; c < 10; c++) {
        cr_assert_eq(ctr[c], 6000, "class %d has %d training images", c, ctr[c]);
        cr_assert_eq(cte[c], 1000, "class %d has %d test images", c, cte[c]);
    }
    cl_idx_free(tr);
    cl_idx_free(te);
}

/* ---- the CLI on data folders ---- */

/* Runs CL_TEST_BIN with args and --out <tmp>/runs. */
static void run_cli(cl_test_result *r, const char *args)
{
    cl_test_run_cli(r, tmp, "%s --out '%s/runs' --quiet", args, tmp);
}

/* Nothing under --out: the folder is absent or empty. */
static int out_is_empty(void) { return cl_test_dir_count(at_tmp("runs")) <= 0; }

#define FAST "--strategy naive --set train.steps=10 --set model.hidden=8"

/* Exit 2, one stderr line naming the file and the defect, no run written. */
static void expect_cli_defect(const char *dir, const char *file, const char *what)
{
    char args[1024];
    snprintf(args, sizeof args, "--suite split-mnist --data-dir '%s' " FAST, dir);
    cl_test_result r;
    run_cli(&r, args);
    cr_assert_eq(r.code, 2, "exit %d; stderr: %s", r.code, r.err);
    size_t n = strlen(r.err);
    cr_assert(n > 0 && r.err[n - 1] == '\n' && strchr(r.err, '\n') == r.err + n - 1,
              "stderr is not one line: '%s'", r.err);
    char path[600];
    snprintf(path, sizeof path, "%s%s%s", dir, *file ? "/" : "", file);
    cr_assert(strstr(r.err, path), "stderr '%s' does not name %s", r.err, path);
    cr_assert(strstr(r.err, what), "stderr '%s' does not say '%s'", r.err, what);
    cr_assert(out_is_empty(), "a failed run wrote under --out");
    cl_test_result_free(&r);
}

Test(idx_cli, corrupt_gzip_file)
{
    const char *dir = put_dataset("d", ".gz");
    size_t len;
    unsigned char *z = get_raw("d/train-images-idx3-ubyte.gz", &len);
    for (size_t k = len / 2; k < len / 2 + 8; k++) z[k] ^= 0xa5;
    cl_test_write(at_tmp("d/train-images-idx3-ubyte.gz"), z, len);
    free(z);
    expect_cli_defect(dir, "train-images-idx3-ubyte.gz", "corrupt gzip data");
}

Test(idx_cli, truncated_file)
{
    const char *dir = put_dataset("d", "");
    size_t len;
    unsigned char *b = images_bytes(1, N_TEST, SIDE, SIDE, &len);
    put("d/t10k-images-idx3-ubyte", b, len - 1);
    free(b);
    expect_cli_defect(dir, "t10k-images-idx3-ubyte", "needs 78400 bytes, file has 78399");
}

Test(idx_cli, mismatched_counts)
{
    const char *dir = put_dataset("d", "");
    put_labels("d/train-labels-idx1-ubyte", 0, N_TRAIN - 1);
    expect_cli_defect(dir, "train-labels-idx1-ubyte", "299 labels for 300 images");
}

Test(idx_cli, wrong_magic)
{
    const char *dir = put_dataset("d", "");
    size_t len;
    unsigned char *b = labels_bytes(1, N_TEST, &len);
    b[1] = 0x42;
    put("d/t10k-labels-idx1-ubyte", b, len);
    free(b);
    expect_cli_defect(dir, "t10k-labels-idx1-ubyte", "bad magic");
}

Test(idx_cli, missing_file)
{
    const char *dir = put_dataset("d", "");
    char path[600];
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    cr_assert_eq(remove(path), 0);
    expect_cli_defect(dir, "", "missing t10k-labels-idx1-ubyte[.gz]");
}

Test(idx_cli, no_data_dir_says_where_to_put_what)
{
    cl_test_result r;
    run_cli(&r, "--suite split-mnist " FAST);
    cr_assert_eq(r.code, 2, "exit %d; stderr: %s", r.code, r.err);
    cr_assert(strstr(r.err, "--data-dir"), "%s", r.err);
    for (int j = 0; j < 4; j++) cr_assert(strstr(r.err, NAMES[j]), "'%s' lacks %s", r.err, NAMES[j]);
    cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    cr_assert(out_is_empty());
    cl_test_result_free(&r);
}

/* Any dataset name works once --data-dir holds the files. */
Test(idx_cli, any_name_runs_with_data_dir)
{
    const char *dir = put_dataset("d", ".gz");
    char args[1024], metrics[4096];
    snprintf(args, sizeof args, "--suite split-mytoy --data-dir '%s' " FAST, dir);
    cl_test_result r;
    run_cli(&r, args);
    cr_assert_eq(r.code, 0, "exit %d; stderr: %s", r.code, r.err);
    cl_test_result_free(&r);
    snprintf(metrics, sizeof metrics, "find '%s/runs' -name metrics.json | grep -q split-mytoy", tmp);
    cr_assert_eq(system(metrics), 0, "no split-mytoy metrics.json under --out");
}
