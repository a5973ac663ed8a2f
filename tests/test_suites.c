/* The suite families built on IDX data (split, permuted, rotated) on a small
 * dataset written here, and the embedded fact-stream suite. Every sample is
 * traced back to the source image it came from, so labels, subsets and the
 * per-task transforms are checked exactly. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "clbench/base/error.h"
#include "clbench/base/params.h"
#include "clbench/base/rng.h"
#include "clbench/tasks/suite.h"
#include "support.h"

#define SIDE 28
#define D (SIDE * SIDE)
#define N_TRAIN 300 /* 30 per class */
#define N_TEST 100  /* 10 per class */

static char tmp[256]; /* this test's folder, holding the dataset */

/* <tmp>/<sub>; valid until the next call. */
static const char *sub_dir(const char *sub)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp, sub);
    return dir;
}

static float src_x[2][N_TRAIN][D]; /* the dataset as the suites should scale it */

static void setup(void)
{
    cl_test_tmpdir_new(tmp, sizeof tmp, "suites");
    cl_test_put_dataset(sub_dir("toy"), N_TRAIN, N_TEST, SIDE);
    for (int set = 0; set < 2; set++)
        for (int i = 0; i < (set ? N_TEST : N_TRAIN); i++)
            for (int p = 0; p < D; p++)
                src_x[set][i][p] = (float)cl_test_idx_pixel(set, i, p) / 255.0f;
}

static void teardown(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(suites, .init = setup, .fini = teardown, .timeout = 60);

/* Builds `suite_name` from <tmp>/<sub> (sub NULL: the family's default
 * folder) with the "key=value" settings in sets (NULL-terminated, may be
 * NULL), its features decoded for indexing (cl_suite_to_floats); returns
 * the family's code. */
static int build_from(cl_suite **s, const char *suite_name, const char *sub, cl_scenario sc,
                      unsigned long seed, const char *const *sets)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp, sub ? sub : "");
    int rc = cl_test_suite_build(s, suite_name, sub ? dir : NULL, sc, seed, sets, NULL);
    if (rc == 0) cr_assert_eq(cl_suite_to_floats(*s), 0);
    return rc;
}

static cl_suite *build(const char *suite_name, cl_scenario sc, unsigned long seed,
                       const char *const *sets)
{
    cl_suite *s;
    int rc = build_from(&s, suite_name, "toy", sc, seed, sets);
    cr_assert_eq(rc, 0, "%s: %s", suite_name, cl_error_last());
    return s;
}

#define SETS(...) ((const char *const[]){__VA_ARGS__, NULL})

static int same_data(const cl_suite *a, const cl_suite *b)
{
    if (a->n_tasks != b->n_tasks || a->d != b->d || a->n_classes != b->n_classes) return 0;
    for (int t = 0; t < a->n_tasks; t++) {
        const cl_task *x = &a->tasks[t], *y = &b->tasks[t];
        if (x->n_train != y->n_train || x->n_test != y->n_test ||
            memcmp(x->train_x, y->train_x, sizeof(float) * x->n_train * a->d) ||
            memcmp(x->train_y, y->train_y, sizeof(int) * x->n_train) ||
            memcmp(x->test_x, y->test_x, sizeof(float) * x->n_test * a->d) ||
            memcmp(x->test_y, y->test_y, sizeof(int) * x->n_test))
            return 0;
    }
    return 1;
}

/* Index of the source image of `set` equal to x, or -1. */
static int find_exact(int set, const float *x)
{
    for (int i = 0; i < (set ? N_TEST : N_TRAIN); i++)
        if (!memcmp(src_x[set][i], x, sizeof(float) * D)) return i;
    return -1;
}

/* ---- split ---- */

/* Checks one task of split-toy: every sample is a distinct source image of
 * the task's classes (cls, K of them) with the scenario's label; returns
 * per-class counts in count[K]. */
static void check_split_samples(const cl_task *k, int set, const int *cls, int K, int lo,
                                int *count)
{
    int n = set ? k->n_test : k->n_train;
    const float *x = set ? k->test_x : k->train_x;
    const int *y = set ? k->test_y : k->train_y;
    int used[N_TRAIN] = {0};
    for (int c = 0; c < K; c++) count[c] = 0;
    for (int i = 0; i < n; i++) {
        int s = find_exact(set, x + (size_t)i * D);
        cr_assert(s >= 0, "task %d set %d sample %d is no source image", k->id, set, i);
        cr_assert_eq(used[s]++, 0, "task %d uses source %d twice", k->id, s);
        int c = y[i] - lo;
        cr_assert(c >= 0 && c < K, "task %d label %d outside [%d, %d)", k->id, y[i], lo, lo + K);
        cr_assert_eq(cl_test_idx_label(set, s), cls[c], "label %d is class %d, source is class %d", y[i],
                     cls[c], cl_test_idx_label(set, s));
        count[c]++;
    }
}

/* split-* holds the images' bytes as they are in the file; rows read back
 * are their exact features (b / 255). Families that transform images hold
 * floats, read without a copy. cl_suite_to_floats keeps every value. */
Test(suites, split_holds_bytes_and_reads_features)
{
    cl_suite *s;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/toy", tmp);
    cr_assert_eq(cl_test_suite_build(&s, "split-toy", dir, CL_SCENARIO_CLASS, 1, NULL, NULL), 0,
                 "%s", cl_error_last());
    float *rows = malloc(sizeof(float) * N_TRAIN * D), buf[2 * D]; /* (n, D), (2, D) */
    cr_assert_not_null(rows);
    for (int t = 0; t < s->n_tasks; t++) {
        const cl_task *k = &s->tasks[t];
        cr_assert(!k->train_x && !k->test_x && k->train_u8 && k->test_u8 && k->d == D);
        for (int set = 0; set < 2; set++) {
            int n = set ? k->n_test : k->n_train;
            const unsigned char *b = set ? k->test_u8 : k->train_u8;
            cl_task_rows(k, set, 0, n, rows);
            for (int i = 0; i < n; i++) {
                int src = find_exact(set, rows + (size_t)i * D);
                cr_assert(src >= 0, "task %d set %d row %d is no source image", t, set, i);
                for (int p = 0; p < D; p++)
                    cr_assert_eq(b[(size_t)i * D + p], cl_test_idx_pixel(set, src, p));
            }
            cr_assert_eq(cl_task_view(k, set, 1, 2, buf), buf);
            cr_assert(!memcmp(buf, rows + D, sizeof buf), "task %d set %d: view", t, set);
        }
    }
    cl_task_rows(&s->tasks[1], 0, 0, s->tasks[1].n_train, rows);
    cr_assert_eq(cl_suite_to_floats(s), 0);
    const cl_task *k = &s->tasks[1];
    cr_assert(k->train_x && k->test_x && !k->train_u8 && !k->test_u8);
    cr_assert(!memcmp(k->train_x, rows, sizeof(float) * k->n_train * D));
    cr_assert_eq(cl_task_view(k, 0, 3, 2, buf), k->train_x + 3 * D, "floats are read in place");
    cl_suite_free(s);
    free(rows);
}

/* Class and task scenarios number classes globally (task t owns 2t, 2t+1);
 * domain reuses 0, 1. Every image of each class is used once. */
Test(suites, split_labels_masks_and_samples)
{
    for (int sc = 0; sc < 3; sc++) {
        cl_suite *s = build("split-toy", (cl_scenario)sc, 1, NULL);
        cr_assert_str_eq(s->name, "split-toy");
        cr_assert_eq(s->n_tasks, 5);
        cr_assert_eq(s->d, D);
        cr_assert_eq(s->n_classes, sc == CL_SCENARIO_DOMAIN ? 2 : 10);
        for (int t = 0; t < 5; t++) {
            const cl_task *k = &s->tasks[t];
            int lo = sc == CL_SCENARIO_DOMAIN ? 0 : 2 * t, cls[2] = {2 * t, 2 * t + 1}, count[2];
            cr_assert_eq(k->n_train, 60);
            cr_assert_eq(k->n_test, 20);
            check_split_samples(k, 0, cls, 2, lo, count);
            cr_assert(count[0] == 30 && count[1] == 30);
            check_split_samples(k, 1, cls, 2, lo, count);
            cr_assert(count[0] == 10 && count[1] == 10);
            for (int c = 0; c < s->n_classes; c++)
                cr_assert_eq(k->classes[c], c == lo || c == lo + 1, "task %d mask[%d]", t, c);
            cr_assert_null(k->test_stale_y);
        }
        cl_suite_free(s);
    }
}

/* Subsets: the requested number per class, drawn at random (not the first
 * images of each class), the same for the same seed. */
Test(suites, split_per_class_subsets)
{
    const char *const *sets = SETS("train_per_class=7", "test_per_class=3");
    cl_suite *a = build("split-toy", CL_SCENARIO_CLASS, 2, sets);
    cl_suite *b = build("split-toy", CL_SCENARIO_CLASS, 2, sets);
    cl_suite *c = build("split-toy", CL_SCENARIO_CLASS, 3, sets);
    cr_assert(same_data(a, b), "same seed, different subsets");
    cr_assert(!same_data(a, c), "different seeds, same subsets");
    int first_only = 1;
    for (int t = 0; t < 5; t++) {
        const cl_task *k = &a->tasks[t];
        int cls[2] = {2 * t, 2 * t + 1}, count[2];
        cr_assert_eq(k->n_train, 14);
        cr_assert_eq(k->n_test, 6);
        check_split_samples(k, 0, cls, 2, 2 * t, count);
        cr_assert(count[0] == 7 && count[1] == 7);
        check_split_samples(k, 1, cls, 2, 2 * t, count);
        cr_assert(count[0] == 3 && count[1] == 3);
        /* class c's images are c', c' + 10, ... with 3 c' = c (mod 10) */
        for (int i = 0; i < k->n_train; i++) first_only &= find_exact(0, k->train_x + (size_t)i * D) < 70;
    }
    cr_assert(!first_only, "subsets are random, not the first images");
    /* more than a class has: all of them */
    cl_suite *all = build("split-toy", CL_SCENARIO_CLASS, 2, SETS("train_per_class=1000"));
    cr_assert_eq(all->tasks[0].n_train, 60);
    cl_suite_free(all);
    cl_suite_free(a);
    cl_suite_free(b);
    cl_suite_free(c);
}

/* Pixels are byte / 255 exactly: 0 and 255 map to 0 and 1. */
Test(suites, split_scales_pixels_exactly)
{
    cl_suite *s = build("split-toy", CL_SCENARIO_CLASS, 1, NULL);
    float lo = 1, hi = 0;
    for (int t = 0; t < s->n_tasks; t++)
        for (size_t i = 0; i < (size_t)s->tasks[t].n_train * D; i++) {
            float v = s->tasks[t].train_x[i];
            long b = lroundf(v * 255.0f);
            cr_assert(b >= 0 && b <= 255 && v == (float)b / 255.0f, "pixel %.9g is no byte / 255", v);
            lo = fminf(lo, v);
            hi = fmaxf(hi, v);
        }
    cr_assert_eq(lo, 0.0f);
    cr_assert_eq(hi, 1.0f);
    cl_suite_free(s);
}

/* The class behind each label of a shuffled order, read off the sources. */
static void read_order(const cl_suite *s, int *order)
{
    for (int c = 0; c < 10; c++) order[c] = -1;
    for (int t = 0; t < s->n_tasks; t++)
        for (int i = 0; i < s->tasks[t].n_train; i++) {
            int src = find_exact(0, s->tasks[t].train_x + (size_t)i * D), y = s->tasks[t].train_y[i];
            cr_assert(order[y] == -1 || order[y] == cl_test_idx_label(0, src), "label %d mixes classes", y);
            order[y] = cl_test_idx_label(0, src);
        }
}

Test(suites, split_shuffled_order_is_a_seeded_permutation)
{
    const char *const *sets = SETS("class_order=shuffled");
    int first[10], seen_other = 0, moved = 0;
    for (unsigned long seed = 1; seed <= 4; seed++) {
        cl_suite *s = build("split-toy", CL_SCENARIO_CLASS, seed, sets);
        cl_suite *again = build("split-toy", CL_SCENARIO_CLASS, seed, sets);
        cr_assert(same_data(s, again), "seed %lu: not deterministic", seed);
        int order[10], hit[10] = {0};
        read_order(s, order);
        char want[64] = "";
        for (int c = 0, off = 0; c < 10; c++) {
            cr_assert(order[c] >= 0 && hit[order[c]]++ == 0, "seed %lu: not a permutation", seed);
            moved |= order[c] != c;
            off += snprintf(want + off, sizeof want - (size_t)off, "%s%d",
                            c == 0 ? "" : c % 2 ? "," : " | ", order[c]);
        }
        cr_assert(strstr(s->recipe, want), "recipe '%s' lacks the order '%s'", s->recipe, want);
        if (seed == 1) memcpy(first, order, sizeof first);
        else seen_other |= memcmp(first, order, sizeof first) != 0;
        cl_suite_free(s);
        cl_suite_free(again);
    }
    cr_assert(moved, "shuffled order never moved a class");
    cr_assert(seen_other, "every seed gave the same order");
}

static int split_rc(const char *const *sets, cl_suite **s)
{
    return build_from(s, "split-toy", "toy", CL_SCENARIO_CLASS, 1, sets);
}

Test(suites, split_task_count_and_validation)
{
    cl_suite *s;
    cr_assert_eq(split_rc(SETS("classes_per_task=3", "tasks=4"), &s), CL_EINVAL);
    cr_assert(strstr(cl_error_last(), "suite.tasks") && strstr(cl_error_last(), "12 classes"), "%s",
              cl_error_last());
    /* tasks=0: as many whole tasks as ten classes fill; class 9 is left out */
    cr_assert_eq(split_rc(SETS("classes_per_task=3"), &s), 0, "%s", cl_error_last());
    cr_assert_eq(s->n_tasks, 3);
    cr_assert_eq(s->n_classes, 9);
    int cls[3] = {6, 7, 8}, count[3];
    check_split_samples(&s->tasks[2], 0, cls, 3, 6, count);
    cl_suite_free(s);
    cr_assert_eq(split_rc(SETS("classes_per_task=10"), &s), 0);
    cr_assert_eq(s->n_tasks, 1);
    cr_assert_eq(s->tasks[0].n_train, N_TRAIN);
    cl_suite_free(s);
    cr_assert_eq(split_rc(SETS("classes_per_task=2", "tasks=3"), &s), 0);
    cr_assert_eq(s->n_tasks, 3);
    cr_assert_eq(s->n_classes, 6);
    cl_suite_free(s);
    const cl_suite_family *f;
    cl_params *p;
    cr_assert_eq(cl_suite_family_find(&f, "split-toy"), 0);
    cr_assert_eq(cl_params_new(&p, "suite", f->params), 0);
    cr_assert_eq(cl_params_set(p, "classes_per_task", "11"), CL_EINVAL);
    cr_assert_eq(cl_params_set(p, "classes_per_task", "0"), CL_EINVAL);
    cr_assert_eq(cl_params_set(p, "tasks", "11"), CL_EINVAL);
    cl_params_free(p);
}

Test(suites, idx_families_need_a_data_dir)
{
    const char *names[3] = {"split-mnist", "permuted-mnist", "rotated-mnist"};
    for (int i = 0; i < 3; i++) {
        cl_suite *s;
        cr_assert_eq(build_from(&s, names[i], NULL, CL_SCENARIO_DOMAIN, 1, NULL), CL_EINVAL);
        cr_assert(strstr(cl_error_last(), "'mnist'") && strstr(cl_error_last(), "--data-dir"),
                  "%s", cl_error_last());
    }
    const cl_suite_family *f;
    cr_assert_eq(cl_suite_family_find(&f, "split-"), CL_EINVAL, "a dataset name is needed");
}

/* ---- permuted ---- */

/* Byte histogram of a scaled image: what a pixel permutation keeps. */
static void histogram(const float *x, int *h)
{
    memset(h, 0, 256 * sizeof *h);
    for (int p = 0; p < D; p++) h[lroundf(x[p] * 255.0f)]++;
}

static int hist[2][N_TRAIN][256];

static void fill_hist(void)
{
    for (int set = 0; set < 2; set++)
        for (int i = 0; i < (set ? N_TEST : N_TRAIN); i++) histogram(src_x[set][i], hist[set][i]);
}

/* The source image with the same pixel multiset as x (unique for this data). */
static int find_by_hist(int set, const float *x)
{
    int h[256], found = -1;
    histogram(x, h);
    for (int i = 0; i < (set ? N_TEST : N_TRAIN); i++)
        if (!memcmp(h, hist[set][i], sizeof h)) {
            cr_assert_eq(found, -1, "two sources share a histogram");
            found = i;
        }
    return found;
}

#define MAXC 64

/* The one permutation perm (D) with x[p] == source[perm[p]] for every image
 * of the task (train and test): candidates narrowed image by image. Checks
 * the labels on the way: label0 + the source's class. */
static void task_permutation(const cl_task *k, int label0, int *perm)
{
    static int cand[D][MAXC];
    static int ncand[D];
    int started = 0;
    for (int set = 0; set < 2; set++) {
        int n = set ? k->n_test : k->n_train;
        for (int i = 0; i < n; i++) {
            const float *x = (set ? k->test_x : k->train_x) + (size_t)i * D;
            int s = find_by_hist(set, x);
            cr_assert(s >= 0, "task %d: sample %d is no permutation of a source", k->id, i);
            cr_assert_eq((set ? k->test_y : k->train_y)[i], label0 + cl_test_idx_label(set, s));
            const float *src = src_x[set][s];
            for (int p = 0; p < D; p++) {
                if (!started) {
                    ncand[p] = 0;
                    for (int q = 0; q < D; q++)
                        if (src[q] == x[p]) {
                            cr_assert(ncand[p] < MAXC);
                            cand[p][ncand[p]++] = q;
                        }
                } else {
                    int m = 0;
                    for (int j = 0; j < ncand[p]; j++)
                        if (src[cand[p][j]] == x[p]) cand[p][m++] = cand[p][j];
                    ncand[p] = m;
                }
                cr_assert(ncand[p] > 0, "task %d: no single permutation maps the sources", k->id);
            }
            started = 1;
        }
    }
    int hit[D] = {0};
    for (int p = 0; p < D; p++) {
        cr_assert_eq(ncand[p], 1, "task %d: pixel %d is ambiguous", k->id, p);
        perm[p] = cand[p][0];
        cr_assert_eq(hit[perm[p]]++, 0, "task %d: not a permutation", k->id);
    }
}

static int is_identity(const int *perm)
{
    for (int p = 0; p < D; p++)
        if (perm[p] != p) return 0;
    return 1;
}

Test(suites, permuted_views_and_labels)
{
    fill_hist();
    for (int sc = CL_SCENARIO_TASK; sc <= CL_SCENARIO_DOMAIN; sc++) {
        int T = 3;
        cl_suite *s = build("permuted-toy", (cl_scenario)sc, 5, SETS("tasks=3"));
        cr_assert_eq(s->n_tasks, T);
        cr_assert_eq(s->n_classes, sc == CL_SCENARIO_TASK ? 10 * T : 10);
        static int perms[3][D];
        for (int t = 0; t < T; t++) {
            const cl_task *k = &s->tasks[t];
            int label0 = sc == CL_SCENARIO_TASK ? 10 * t : 0;
            cr_assert_eq(k->n_train, N_TRAIN, "the default 10000 is more than the set: all");
            cr_assert_eq(k->n_test, N_TEST);
            for (int c = 0; c < s->n_classes; c++)
                cr_assert_eq(k->classes[c], c >= label0 && c < label0 + 10);
            task_permutation(k, label0, perms[t]);
            if (t == 0) {
                cr_assert(is_identity(perms[0]), "task 1 is unpermuted");
                for (int i = 0; i < k->n_train; i++)
                    cr_assert(find_exact(0, k->train_x + (size_t)i * D) >= 0);
            } else {
                cr_assert(!is_identity(perms[t]), "task %d is not permuted", t + 1);
                for (int u = 0; u < t; u++)
                    cr_assert(memcmp(perms[u], perms[t], sizeof perms[t]), "tasks %d and %d share "
                              "a permutation", u + 1, t + 1);
            }
        }
        cl_suite_free(s);
    }
}

Test(suites, permuted_first_task_permuted_on_request)
{
    fill_hist();
    cl_suite *s = build("permuted-toy", CL_SCENARIO_DOMAIN, 5,
                        SETS("tasks=1", "first_unpermuted=false"));
    int perm[D];
    task_permutation(&s->tasks[0], 0, perm);
    cr_assert(!is_identity(perm));
    cl_suite_free(s);
}

Test(suites, permuted_deterministic_and_subsets)
{
    const char *const *sets = SETS("tasks=2", "train_per_task=50", "test_per_task=20");
    cl_suite *a = build("permuted-toy", CL_SCENARIO_DOMAIN, 9, sets);
    cl_suite *b = build("permuted-toy", CL_SCENARIO_DOMAIN, 9, sets);
    cl_suite *c = build("permuted-toy", CL_SCENARIO_DOMAIN, 10, sets);
    cr_assert(same_data(a, b), "same seed, different data");
    cr_assert(!same_data(a, c), "different seeds, same data");
    fill_hist();
    for (int t = 0; t < 2; t++) {
        cr_assert_eq(a->tasks[t].n_train, 50);
        cr_assert_eq(a->tasks[t].n_test, 20);
        int used[N_TRAIN] = {0};
        for (int i = 0; i < 50; i++) {
            int src = find_by_hist(0, a->tasks[t].train_x + (size_t)i * D);
            cr_assert(src >= 0 && used[src]++ == 0, "a subset draws distinct images");
        }
    }
    cl_suite_free(a);
    cl_suite_free(b);
    cl_suite_free(c);
}

/* Permutations are drawn for 28 x 28; other sizes are refused cleanly. */
Test(suites, permuted_needs_28x28)
{
    cl_test_put_dataset(sub_dir("small"), 20, 10, 10);
    cl_test_put_dataset(sub_dir("large"), 20, 10, 30);
    cl_suite *s;
    cr_assert_eq(build_from(&s, "permuted-x", "small", CL_SCENARIO_DOMAIN, 1, NULL), CL_EDATA);
    cr_assert(strstr(cl_error_last(), "28x28"), "%s", cl_error_last());
    cr_assert_eq(build_from(&s, "permuted-x", "large", CL_SCENARIO_DOMAIN, 1, NULL), CL_EDATA);
    cr_assert(strstr(cl_error_last(), "28x28"), "%s", cl_error_last());
}

/* ---- rotated ---- */

/* k quarter turns counter-clockwise as displayed (row 0 at the top): a
 * pixel's column becomes its row, so the top-right corner moves to the
 * top-left. */
static void quarter_turns(const float *src, float *dst, int k)
{
    float a[D], b[D];
    memcpy(a, src, sizeof a);
    for (int j = 0; j < ((k % 4) + 4) % 4; j++) {
        for (int r = 0; r < SIDE; r++)
            for (int c = 0; c < SIDE; c++) b[r * SIDE + c] = a[c * SIDE + (SIDE - 1 - r)];
        memcpy(a, b, sizeof a);
    }
    memcpy(dst, a, sizeof a);
}

/* Every sample of task k is exactly its source turned by `turns` quarter
 * turns, with the scenario's label. */
static void check_turned(const cl_task *k, int turns, int label0)
{
    for (int set = 0; set < 2; set++) {
        int n = set ? k->n_test : k->n_train;
        for (int i = 0; i < n; i++) {
            const float *x = (set ? k->test_x : k->train_x) + (size_t)i * D;
            float back[D];
            quarter_turns(x, back, -turns);
            int s = find_exact(set, back);
            cr_assert(s >= 0, "task %d set %d sample %d is not its source turned %d quarter(s)",
                      k->id, set, i, turns);
            cr_assert_eq((set ? k->test_y : k->train_y)[i], label0 + cl_test_idx_label(set, s));
        }
    }
}

/* The direction: angle_step=90 turns task 2 a quarter counter-clockwise. */
Test(suites, rotated_quarter_turns_are_exact)
{
    cl_suite *s = build("rotated-toy", CL_SCENARIO_TASK, 3,
                        SETS("tasks=5", "angle_step=90", "train_per_task=40", "test_per_task=15"));
    cr_assert_eq(s->n_classes, 50);
    for (int t = 0; t < 5; t++) {
        cr_assert_eq(s->tasks[t].n_train, 40);
        cr_assert_eq(s->tasks[t].n_test, 15);
        check_turned(&s->tasks[t], t, 10 * t);
        for (int c = 0; c < 50; c++) cr_assert_eq(s->tasks[t].classes[c], c / 10 == t);
    }
    cl_suite_free(s);
}

/* 180 degrees twice is the identity; 0 degrees leaves every task alone. */
Test(suites, rotated_half_turns_and_zero_step)
{
    cl_suite *s = build("rotated-toy", CL_SCENARIO_DOMAIN, 4,
                        SETS("tasks=3", "angle_step=180", "train_per_task=30", "test_per_task=10"));
    cr_assert_eq(s->n_classes, 10);
    for (int t = 0; t < 3; t++) check_turned(&s->tasks[t], 2 * t, 0);
    cl_suite_free(s);
    s = build("rotated-toy", CL_SCENARIO_DOMAIN, 4, SETS("tasks=3", "angle_step=0"));
    for (int t = 0; t < 3; t++) check_turned(&s->tasks[t], 0, 0);
    cl_suite_free(s);
}

/* Between grid angles: values stay in [0, 1] (bilinear weights are convex)
 * and the corners, whose sources lie outside the image, are zero; a second
 * 45-degree step lands on the grid again and is exact. */
Test(suites, rotated_off_grid_angles)
{
    cl_suite *s = build("rotated-toy", CL_SCENARIO_DOMAIN, 6,
                        SETS("tasks=3", "angle_step=45", "train_per_task=20", "test_per_task=5"));
    const cl_task *k = &s->tasks[1];
    int corners[4] = {0, SIDE - 1, (SIDE - 1) * SIDE, D - 1};
    for (int i = 0; i < k->n_train; i++) {
        const float *x = k->train_x + (size_t)i * D;
        for (int p = 0; p < D; p++) cr_assert(x[p] >= 0 && x[p] <= 1, "pixel %d = %g", p, x[p]);
        for (int j = 0; j < 4; j++) cr_assert_eq(x[corners[j]], 0.0f, "corner %d is not empty", j);
        cr_assert_eq(find_exact(0, x), -1, "45 degrees changed the image");
    }
    check_turned(&s->tasks[2], 1, 0);
    cl_suite_free(s);
}

Test(suites, rotated_deterministic)
{
    const char *const *sets = SETS("tasks=2", "train_per_task=30", "test_per_task=10");
    cl_suite *a = build("rotated-toy", CL_SCENARIO_DOMAIN, 1, sets);
    cl_suite *b = build("rotated-toy", CL_SCENARIO_DOMAIN, 1, sets);
    cl_suite *c = build("rotated-toy", CL_SCENARIO_DOMAIN, 2, sets);
    cr_assert(same_data(a, b));
    cr_assert(!same_data(a, c));
    cl_suite_free(a);
    cl_suite_free(b);
    cl_suite_free(c);
}

/* ---- fact-stream ---- */

static cl_suite *facts(cl_scenario sc, unsigned long seed, const char *const *sets)
{
    cl_suite *s;
    int rc = build_from(&s, "fact-stream", NULL, sc, seed, sets);
    cr_assert_eq(rc, 0, "%s", cl_error_last());
    return s;
}

#define MAX_KEYS 512

typedef struct stream_view {
    int n_keys;
    const float *code[MAX_KEYS]; /* (d) each */
    int last[MAX_KEYS];          /* task that wrote the key last */
    int value[MAX_KEYS];         /* its value then */
    int before[MAX_KEYS];        /* the value it replaced, -1 if none */
} stream_view;

static int key_of(stream_view *v, const float *x, int d)
{
    for (int k = 0; k < v->n_keys; k++)
        if (!memcmp(v->code[k], x, sizeof(float) * d)) return k;
    return -1;
}

/* Reads the stream back from the training sets: checks codes, repeats,
 * distinct keys per task and n_upd updates per later task, each to a new
 * value. */
static void read_stream(const cl_suite *s, int F, int R, int V, int n_upd, stream_view *v)
{
    int d = s->d;
    v->n_keys = 0;
    for (int t = 0; t < s->n_tasks; t++) {
        const cl_task *k = &s->tasks[t];
        int label0 = s->n_classes == V ? 0 : V * t, updates = 0, in_task[MAX_KEYS] = {0};
        cr_assert_eq(k->n_train, F * R);
        for (int i = 0; i < F * R; i++) {
            const float *x = k->train_x + (size_t)i * d;
            for (int j = 0; j < d; j++) cr_assert(x[j] == 1.0f || x[j] == -1.0f, "code entry %g", x[j]);
            int y = k->train_y[i] - label0;
            cr_assert(y >= 0 && y < V);
            if (i >= F) { /* repeats: copies of the first F rows */
                cr_assert(!memcmp(x, k->train_x + (size_t)(i % F) * d, sizeof(float) * d));
                cr_assert_eq(k->train_y[i], k->train_y[i % F]);
                continue;
            }
            int key = key_of(v, x, d);
            if (key < 0) {
                cr_assert(v->n_keys < MAX_KEYS);
                key = v->n_keys++;
                v->code[key] = x;
                v->before[key] = -1;
            } else {
                cr_assert_eq(in_task[key], 0, "task %d writes key %d twice", t + 1, key);
                cr_assert_lt(v->last[key], t);
                cr_assert_neq(y, v->value[key], "an update keeps the old value");
                v->before[key] = v->value[key];
                updates++;
            }
            in_task[key] = 1;
            v->last[key] = t;
            v->value[key] = y;
        }
        cr_assert_eq(updates, t == 0 ? 0 : n_upd, "task %d has %d updates", t + 1, updates);
    }
}

/* Each key is tested once, in the task that wrote it last, against its
 * final value, with the replaced value as the stale label. */
static void check_tests(const cl_suite *s, int V, stream_view *v)
{
    int d = s->d, tested[MAX_KEYS] = {0};
    for (int t = 0; t < s->n_tasks; t++) {
        const cl_task *k = &s->tasks[t];
        int label0 = s->n_classes == V ? 0 : V * t, final_here = 0;
        cr_assert_not_null(k->test_stale_y);
        for (int key = 0; key < v->n_keys; key++) final_here += v->last[key] == t;
        cr_assert_eq(k->n_test, final_here, "task %d tests %d facts, wrote %d final ones", t + 1,
                     k->n_test, final_here);
        for (int i = 0; i < k->n_test; i++) {
            int key = key_of(v, k->test_x + (size_t)i * d, d);
            cr_assert(key >= 0, "a test code that no task trained");
            cr_assert_eq(tested[key]++, 0, "key %d tested twice", key);
            cr_assert_eq(v->last[key], t, "key %d tested in task %d, written last in %d", key,
                         t + 1, v->last[key] + 1);
            cr_assert_eq(k->test_y[i], label0 + v->value[key]);
            cr_assert_eq(k->test_stale_y[i], v->before[key] < 0 ? -1 : label0 + v->before[key]);
        }
        for (int c = 0; c < s->n_classes; c++)
            cr_assert_eq(k->classes[c], c >= label0 && c < label0 + V);
    }
    for (int key = 0; key < v->n_keys; key++) cr_assert_eq(tested[key], 1, "key %d untested", key);
}

Test(suites, fact_stream_final_values_and_stale_labels)
{
    static stream_view v;
    for (int sc = CL_SCENARIO_TASK; sc <= CL_SCENARIO_DOMAIN; sc++) {
        cl_suite *s = facts((cl_scenario)sc, 11,
                            SETS("tasks=6", "facts_per_task=20", "values=5", "key_dim=32",
                                 "update_fraction=0.3", "repeats=3"));
        cr_assert_eq(s->n_tasks, 6);
        cr_assert_eq(s->d, 32);
        cr_assert_eq(s->n_classes, sc == CL_SCENARIO_TASK ? 30 : 5);
        read_stream(s, 20, 3, 5, 6, &v);
        cr_assert_eq(v.n_keys, 20 + 5 * 14);
        check_tests(s, 5, &v);
        int stale = 0;
        for (int key = 0; key < v.n_keys; key++) stale += v.before[key] >= 0;
        cr_assert(stale > 0, "some tested facts were overwritten");
        cl_suite_free(s);
    }
}

/* round(update_fraction * facts_per_task) updates in every later task. */
Test(suites, fact_stream_update_counts_round)
{
    static stream_view v;
    const char *fr[5] = {"update_fraction=0", "update_fraction=0.34", "update_fraction=0.36",
                         "update_fraction=0.25", "update_fraction=0.5"};
    int want[5] = {0, 3, 4, 3, 5};
    for (int i = 0; i < 5; i++) {
        cl_suite *s = facts(CL_SCENARIO_DOMAIN, 2,
                            SETS("tasks=4", "facts_per_task=10", "key_dim=16", fr[i]));
        read_stream(s, 10, 1, 10, want[i], &v);
        check_tests(s, 10, &v);
        cl_suite_free(s);
    }
}

Test(suites, fact_stream_deterministic)
{
    const char *const *sets = SETS("tasks=3", "facts_per_task=15");
    cl_suite *a = facts(CL_SCENARIO_DOMAIN, 7, sets), *b = facts(CL_SCENARIO_DOMAIN, 7, sets);
    cl_suite *c = facts(CL_SCENARIO_DOMAIN, 8, sets);
    cr_assert(same_data(a, b));
    cr_assert(!same_data(a, c));
    for (int t = 0; t < 3; t++)
        cr_assert(!memcmp(a->tasks[t].test_stale_y, b->tasks[t].test_stale_y,
                          sizeof(int) * a->tasks[t].n_test));
    cl_suite_free(a);
    cl_suite_free(b);
    cl_suite_free(c);
}

/* One fact per task and an update fraction that rounds to one: task 2 can
 * only overwrite task 1's single key, leaving task 1 nothing to test. */
Test(suites, fact_stream_task_losing_every_fact)
{
    cl_suite *s;
    int rc = build_from(&s, "fact-stream", NULL, CL_SCENARIO_DOMAIN, 1,
                        SETS("tasks=2", "facts_per_task=1", "update_fraction=0.5"));
    cr_assert_eq(rc, CL_EINVAL);
    const char *m = cl_error_last();
    cr_assert(strstr(m, "suite.update_fraction") && strstr(m, "every fact of task 1"), "%s", m);
    /* 0.4 rounds to no updates: the same stream is fine */
    rc = build_from(&s, "fact-stream", NULL, CL_SCENARIO_DOMAIN, 1,
                    SETS("tasks=2", "facts_per_task=1", "update_fraction=0.4"));
    cr_assert_eq(rc, 0, "%s", cl_error_last());
    cl_suite_free(s);
}
