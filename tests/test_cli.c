/* End-to-end tests of the clbench binary (CL_TEST_BIN): it is spawned through
 * /bin/sh with stdout and stderr captured into a fresh temporary folder, and
 * every run writes its results under that folder (--out), never the repo. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "clbench/store/json.h"
#include "clbench/run/metrics.h"
#include "support.h"

/* Small settings: a run takes a few hundredths of a second. */
#define SMALL                                                                  \
    "--set train.steps=40 --set suite.train_per_class=100 "                    \
    "--set suite.test_per_class=50 --set model.hidden=64,64"

static char tmp[256]; /* this test's temporary folder */

static void make_tmp(void) { cl_test_tmpdir_new(tmp, sizeof tmp, "cli"); }
static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(cli, .init = make_tmp, .fini = remove_tmp, .timeout = 120);

/* Runs `CL_TEST_BIN args` exactly as given (no --out). */
static void run_raw(cl_test_result *r, const char *args) { cl_test_run_cli(r, tmp, "%s", args); }

/* Runs `CL_TEST_BIN args --out <tmp>/<out> --quiet`. */
static void run_in(cl_test_result *r, const char *out, const char *args)
{
    cl_test_run_cli(r, tmp, "%s --out '%s/%s' --quiet", args, tmp, out);
}

static void run(cl_test_result *r, const char *args) { run_in(r, "runs", args); }

static void expect_ok(const cl_test_result *r, const char *args)
{
    cr_assert_eq(r->code, 0, "'%s' exited %d; stderr:\n%s", args, r->code, r->err);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Entries of dir other than . and ..; names[0..max) get the first ones. */
static int list_dir(const char *dir, char names[][256], int max)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s: %s", dir, strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (n < max) snprintf(names[n], 256, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* <tmp>/<out>/<the single run folder>, into buf. */
static void only_run_dir(const char *out, char *buf, size_t n)
{
    char root[512], names[4][256];
    snprintf(root, sizeof root, "%s/%s", tmp, out);
    int k = list_dir(root, names, 4);
    cr_assert_eq(k, 1, "%s holds %d entries, want 1", root, k);
    snprintf(buf, n, "%s/%s", root, names[0]);
    cr_assert(is_dir(buf), "%s is not a folder", buf);
}

static cl_json *parse_text(const char *text, const char *what)
{
    cl_json *doc = NULL;
    int rc = cl_json_parse(&doc, text, strlen(text), what);
    cr_assert_eq(rc, 0, "%s does not parse; text:\n%s", what, text);
    cr_assert_not_null(doc);
    return doc;
}

static cl_json *parse_path(const char *path)
{
    char *text = cl_test_slurp(path);
    cl_json *doc = parse_text(text, path);
    free(text);
    return doc;
}

/* R from a metrics document: checks (T+1) x T numbers in [0, 1]; malloc'd. */
static double *read_R(const cl_json *doc, int T)
{
    const cl_json *R = cl_json_get(doc, "R");
    cr_assert_eq(cl_json_typeof(R), CL_JSON_ARR, "R is not an array");
    cr_assert_eq(cl_json_len(R), (size_t)(T + 1), "R has %zu rows, want %d", cl_json_len(R), T + 1);
    double *M = malloc(sizeof *M * (size_t)(T + 1) * (size_t)T);
    cr_assert_not_null(M);
    for (int i = 0; i <= T; i++) {
        const cl_json *row = cl_json_at(R, (size_t)i);
        cr_assert_eq(cl_json_typeof(row), CL_JSON_ARR, "R row %d is not an array", i);
        cr_assert_eq(cl_json_len(row), (size_t)T, "R row %d has %zu entries", i, cl_json_len(row));
        for (int j = 0; j < T; j++) {
            const cl_json *x = cl_json_at(row, (size_t)j);
            cr_assert_eq(cl_json_typeof(x), CL_JSON_NUM, "R[%d][%d] is not a number", i, j);
            double v = cl_json_num(x);
            cr_assert(v >= 0 && v <= 1, "R[%d][%d] = %g is outside [0, 1]", i, j, v);
            M[(size_t)i * T + j] = v;
        }
    }
    return M;
}

/* text without the lines that contain any of the timing keys; malloc'd. */
static char *strip_timing(const char *text)
{
    static const char *keys[] = {"\"wall_s\"", "\"train_s\"", "\"eval_s\"", "\"peak_rss_bytes\""};
    char *out = malloc(strlen(text) + 1);
    cr_assert_not_null(out);
    size_t o = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p + 1) : strlen(p);
        int timing = 0;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const char *hit = strstr(p, keys[k]);
            timing |= hit && hit < p + l;
        }
        if (!timing) {
            memcpy(out + o, p, l);
            o += l;
        }
        p += l;
    }
    out[o] = '\0';
    return out;
}

/* ---- 1. the default experiment as JSON ---------------------------------- */

Test(cli, default_run_json)
{
    const char *args = "--strategy naive --suite seq-tasks --format json";
    cl_test_result r;
    run(&r, args);
    expect_ok(&r, args);
    cl_json *doc = parse_text(r.out, "stdout");

    cr_assert_eq(cl_json_num(cl_json_get(doc, "schema_version")), 1);
    cr_assert_str_eq(cl_json_str(cl_json_get(doc, "suite")), "seq-tasks");
    cr_assert_str_eq(cl_json_str(cl_json_get(doc, "scenario")), "class");
    cr_assert_str_eq(cl_json_str(cl_json_get(doc, "strategy")), "naive");
    cr_assert_eq(cl_json_typeof(cl_json_get(doc, "seed")), CL_JSON_NUM);
    cr_assert_eq(cl_json_num(cl_json_get(doc, "seed")), 0);
    cr_assert_eq(cl_json_typeof(cl_json_get(doc, "params")), CL_JSON_OBJ);
    cr_assert_eq(cl_json_num(cl_json_get(doc, "tasks")), 5);
    cr_assert_str_eq(cl_json_str(cl_json_get(doc, "status")), "ok");
    /* Defaults really were used. */
    cr_assert_eq(cl_json_num(cl_json_path(doc, "train.steps")), 300);
    cr_assert_eq(cl_json_num(cl_json_path(doc, "suite_params.train_per_class")), 500);

    const int T = 5;
    double *R = read_R(doc, T);

    static const char *mkeys[] = {"acc", "bwt", "bwt_gemcode", "fwt", "forgetting",
                                  "learning_accuracy", "a_diaz", "anytime_acc", "min_acc",
                                  "intransigence"};
    const cl_json *metrics = cl_json_get(doc, "metrics");
    cr_assert_eq(cl_json_typeof(metrics), CL_JSON_OBJ, "no metrics object");
    for (size_t k = 0; k < sizeof mkeys / sizeof mkeys[0]; k++) {
        const cl_json *v = cl_json_get(metrics, mkeys[k]);
        cr_assert_not_null(v, "metrics.%s is missing", mkeys[k]);
        if (!strcmp(mkeys[k], "intransigence"))
            cr_assert(cl_json_typeof(v) == CL_JSON_NUM || cl_json_typeof(v) == CL_JSON_NULL,
                      "metrics.intransigence is neither a number nor null");
        else
            cr_assert_eq(cl_json_typeof(v), CL_JSON_NUM, "metrics.%s is not a number", mkeys[k]);
    }
    static const char *lkeys[] = {"extra_bytes", "train_flops", "wall_s", "peak_rss_bytes"};
    const cl_json *ledger = cl_json_get(doc, "ledger");
    cr_assert_eq(cl_json_typeof(ledger), CL_JSON_OBJ, "no ledger object");
    for (size_t k = 0; k < sizeof lkeys / sizeof lkeys[0]; k++) {
        const cl_json *v = cl_json_get(ledger, lkeys[k]);
        cr_assert_eq(cl_json_typeof(v), CL_JSON_NUM, "ledger.%s is missing or not a number",
                     lkeys[k]);
        cr_assert_geq(cl_json_num(v), 0, "ledger.%s is negative", lkeys[k]);
    }
    cr_assert_gt(cl_json_num(cl_json_get(ledger, "train_flops")), 0);
    cr_assert_gt(cl_json_num(cl_json_get(ledger, "peak_rss_bytes")), 0);

    /* Naive training in the class scenario forgets. */
    double bwt = cl_json_num(cl_json_get(metrics, "bwt"));
    cr_assert_leq(bwt, -0.3, "naive class-scenario bwt = %g, want <= -0.3", bwt);

    /* The written metrics are exactly those of the written R. */
    cl_metrics m;
    cl_metrics_compute(&m, R, T, NULL);
#define SAME(field)                                                                      \
    cr_assert_eq(cl_json_num(cl_json_get(metrics, #field)), m.field,                     \
                 "metrics." #field " = %.17g, recomputed from R %.17g",                  \
                 cl_json_num(cl_json_get(metrics, #field)), m.field)
    SAME(acc);
    SAME(bwt);
    SAME(bwt_gemcode);
    SAME(fwt);
    SAME(forgetting);
    SAME(learning_accuracy);
    SAME(a_diaz);
#undef SAME

    free(R);
    cl_json_free(doc);
    cl_test_result_free(&r);
}

/* ---- 2. the results folder ----------------------------------------------- */

static int count_lines(const char *s) { return cl_test_count_char(s, '\n'); }

Test(cli, results_folder)
{
    cl_test_result r;
    run(&r, SMALL);
    expect_ok(&r, SMALL);
    char dir[1024], path[4096];
    only_run_dir("runs", dir, sizeof dir);

    static const char *files[] = {"config.yaml", "metrics.json", "matrix.csv", "curve.csv",
                                  "log.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        cr_assert(is_file(path), "%s is missing", path);
    }
    char names[16][256];
    int n = list_dir(dir, names, 16);
    for (int i = 0; i < n && i < 16; i++)
        cr_assert_null(strstr(names[i], ".tmp."), "leftover temporary file %s", names[i]);
    cr_assert_eq(n, 5, "%s holds %d files, want 5", dir, n);

    /* The folder is named by the run id. */
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    cl_json *doc = parse_path(path);
    const char *id = cl_json_str(cl_json_get(doc, "run_id"));
    cr_assert_not_null(id);
    cr_assert_str_eq(strrchr(dir, '/') + 1, id);
    cr_assert_eq(strncmp(id, "seq-tasks-class-naive-s0-", 25), 0, "run id %s", id);
    int T = (int)cl_json_num(cl_json_get(doc, "tasks"));
    cr_assert_eq(T, 5);
    double *R = read_R(doc, T);

    /* matrix.csv holds R, one row per (stage, task). */
    snprintf(path, sizeof path, "%s/matrix.csv", dir);
    char *csv = cl_test_slurp(path);
    cr_assert_eq(strncmp(csv, "stage,task,accuracy\n", 20), 0, "matrix.csv header: %.40s", csv);
    cr_assert_eq(count_lines(csv), 1 + (T + 1) * T, "matrix.csv has %d lines", count_lines(csv));
    const char *p = strchr(csv, '\n') + 1;
    for (int i = 0; i <= T; i++)
        for (int j = 1; j <= T; j++) {
            int st, tk, used = 0;
            double acc;
            cr_assert_eq(sscanf(p, "%d,%d,%lf%n", &st, &tk, &acc, &used), 3, "row: %.40s", p);
            cr_assert_eq(st, i);
            cr_assert_eq(tk, j);
            cr_assert_eq(acc, R[(size_t)i * T + j - 1], "matrix.csv %d,%d = %.17g, R has %.17g",
                         i, j, acc, R[(size_t)i * T + j - 1]);
            cr_assert_eq(p[used], '\n');
            p += used + 1;
        }
    free(csv);

    snprintf(path, sizeof path, "%s/curve.csv", dir);
    csv = cl_test_slurp(path);
    cr_assert_eq(strncmp(csv, "step,trained_task,task,accuracy\n", 32), 0,
                 "curve.csv header: %.40s", csv);
    int rows = count_lines(csv) - 1;
    cr_assert_gt(rows, 0, "curve.csv has no points");
    cr_assert_eq(rows % T, 0, "curve.csv: %d rows is not a multiple of %d tasks", rows, T);
    free(csv);

    snprintf(path, sizeof path, "%s/config.yaml", dir);
    char *y = cl_test_slurp(path);
    cr_assert_not_null(strstr(y, "suite:\n  name: seq-tasks\n"), "%s", y);
    cr_assert_not_null(strstr(y, "\n  steps: 40\n"), "%s", y);
    cr_assert_not_null(strstr(y, "\n  hidden: [64,64]\n"), "%s", y);
    free(y);

    snprintf(path, sizeof path, "%s/log.txt", dir);
    char *log = cl_test_slurp(path);
    cr_assert_gt(strlen(log), 0, "log.txt is empty");
    free(log);

    /* Nothing else under the results root. */
    snprintf(path, sizeof path, "%s/runs", tmp);
    n = list_dir(path, names, 16);
    cr_assert_eq(n, 1);
    free(R);
    cl_json_free(doc);
    cl_test_result_free(&r);
}

/* ---- 3. determinism ------------------------------------------------------ */

static char *metrics_text(const char *out)
{
    char dir[1024], path[4096];
    only_run_dir(out, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    return cl_test_slurp(path);
}

Test(cli, deterministic)
{
    cl_test_result r;
    run_in(&r, "runs_a", SMALL);
    expect_ok(&r, SMALL);
    cl_test_result_free(&r);
    run_in(&r, "runs_b", SMALL);
    expect_ok(&r, SMALL);
    cl_test_result_free(&r);
    run_in(&r, "runs_c", SMALL " --seed 1");
    expect_ok(&r, SMALL " --seed 1");
    cl_test_result_free(&r);

    char *a = metrics_text("runs_a"), *b = metrics_text("runs_b"), *c = metrics_text("runs_c");
    char *sa = strip_timing(a), *sb = strip_timing(b);
    /* Stripping removed exactly the four timing lines. */
    cr_assert_eq(count_lines(a) - count_lines(sa), 4);
    cr_assert_str_eq(sa, sb, "metrics.json differs between identical runs");

    cl_json *ja = parse_text(a, "runs_a metrics.json"), *jc = parse_text(c, "runs_c metrics.json");
    cr_assert_eq(cl_json_num(cl_json_get(jc, "seed")), 1);
    double *Ra = read_R(ja, 5), *Rc = read_R(jc, 5);
    int differ = 0;
    for (int i = 0; i < 6 * 5; i++) differ |= Ra[i] != Rc[i];
    cr_assert(differ, "seed 0 and seed 1 gave the same R");
    free(Ra);
    free(Rc);
    cl_json_free(ja);
    cl_json_free(jc);
    free(sa);
    free(sb);
    free(a);
    free(b);
    free(c);
}

/* ---- 4, 5. input errors --------------------------------------------------- */

/* args must exit 2, print exactly one stderr line containing every needle
 * (NULL-terminated) and write nothing under --out. */
static void expect_input_error(const char *args, ...)
{
    cl_test_result r;
    char out[32], root[512], err[2048], sout[2048];
    static int k;
    snprintf(out, sizeof out, "bad%d", k++);
    snprintf(root, sizeof root, "%s/%s", tmp, out);
    run_in(&r, out, args);
    /* Copies, so that a failed assertion leaks nothing. */
    snprintf(err, sizeof err, "%s", r.err);
    snprintf(sout, sizeof sout, "%s", r.out);
    int code = r.code;
    cl_test_result_free(&r);
    cr_assert_eq(code, 2, "'%s' exited %d, want 2; stderr:\n%s", args, code, err);
    cr_assert_eq(cl_test_count_char(err, '\n'), 1, "'%s': stderr is not one line:\n%s", args, err);
    cr_assert_eq(err[strlen(err) - 1], '\n', "'%s': stderr: %s", args, err);
    va_list ap;
    va_start(ap, args);
    for (const char *needle; (needle = va_arg(ap, const char *));)
        cr_assert_not_null(strstr(err, needle), "'%s': stderr lacks '%s': %s", args, needle, err);
    va_end(ap);
    cr_assert_str_eq(sout, "", "'%s' printed on stdout: %s", args, sout);
    cr_assert_not(exists(root), "'%s' created %s", args, root);
}

Test(cli, unknown_strategy)
{
    expect_input_error("--strategy nope", "'nope'", "naive", NULL);
    expect_input_error("--strategy naive,nope " SMALL, "'nope'", "naive", NULL);
    expect_input_error("--strategy , " SMALL, "--strategy", NULL);
}

Test(cli, bad_input)
{
    expect_input_error(SMALL " --set train.lr=abc", "train.lr", "abc", NULL);
    expect_input_error(SMALL " --set train.nosuch=1", "train.nosuch", NULL);
    expect_input_error(SMALL " --set suite.tasks=0", "suite.tasks", NULL);
    expect_input_error(SMALL " --set nosuch.x=1", "nosuch", NULL);
    expect_input_error(SMALL " --set noequals", "noequals", NULL);
    expect_input_error(SMALL " --scenario bogus", "scenario", "bogus", NULL);
    expect_input_error(SMALL " --suite nosuch", "suite", "nosuch", NULL);
    expect_input_error(SMALL " --threads 0", "--threads", NULL);
    expect_input_error(SMALL " --seeds 0", "--seeds", NULL);
    expect_input_error(SMALL " --seed -1", "--seed", NULL);
    expect_input_error(SMALL " --format xml", "--format", "xml", NULL);
    expect_input_error(SMALL " --bogus-flag", "--bogus-flag", NULL);
    expect_input_error(SMALL " stray", "stray", NULL);
    expect_input_error("--set train.steps=10 --set train.epochs=2", "train.steps",
                       "train.epochs", NULL);
}

/* A value that fails to parse or is above the maximum: one message, not a
 * second "must be at least 1" read from an unset variable. */
Test(cli, bad_counts)
{
    expect_input_error(SMALL " --threads 257", "--threads", "257", NULL);
    expect_input_error(SMALL " --seeds 1001", "--seeds", "1001", NULL);
    expect_input_error(SMALL " --threads abc", "--threads", "abc", NULL);
    expect_input_error(SMALL " --seeds abc", "--seeds", "abc", NULL);
    expect_input_error(SMALL " --seeds -1", "--seeds", "-1", NULL);
}

/* An unknown short option is unknown, not one that "needs a value". */
Test(cli, unknown_short_option)
{
    expect_input_error(SMALL " -x", "-x", "unknown", NULL);
    expect_input_error(SMALL " --seed", "--seed", "needs a value", NULL);
}

/* ---- 6. list, help, version ------------------------------------------------ */

Test(cli, list_help_version)
{
    cl_test_result r;
    run_raw(&r, "list");
    cr_assert_eq(r.code, 0, "list exited %d: %s", r.code, r.err);
    cr_assert_not_null(strstr(r.out, "naive"));
    cr_assert_not_null(strstr(r.out, "seq-tasks"));
    cr_assert_not_null(strstr(r.out, "train.lr"));
    cr_assert_not_null(strstr(r.out, "model.hidden"));
    cr_assert_not_null(strstr(r.out, "suite.tasks"));
    cl_test_result_free(&r);

    run_raw(&r, "list extra");
    cr_assert_eq(r.code, 2);
    cr_assert_str_eq(r.out, "");
    cl_test_result_free(&r);

    run_raw(&r, "--help");
    cr_assert_eq(r.code, 0);
    cr_assert_eq(strncmp(r.out, "usage: clbench", 14), 0, "--help stdout: %s", r.out);
    cr_assert_not_null(strstr(r.out, "--strategy"));
    cr_assert_str_eq(r.err, "");
    cl_test_result_free(&r);

    run_raw(&r, "--version");
    cr_assert_eq(r.code, 0);
    cr_assert_eq(strncmp(r.out, "clbench ", 8), 0, "--version stdout: %s", r.out);
    cr_assert_eq(cl_test_count_char(r.out, '\n'), 1);
    cl_test_result_free(&r);

    /* No arguments: usage on stderr, exit 2. */
    run_raw(&r, "");
    cr_assert_eq(r.code, 2);
    cr_assert_not_null(strstr(r.err, "usage: clbench"));
    cl_test_result_free(&r);

    run_raw(&r, "frobnicate");
    cr_assert_eq(r.code, 2);
    cr_assert_not_null(strstr(r.err, "frobnicate"));
    cl_test_result_free(&r);
}

/* ---- 7. skipping finished runs, --force ----------------------------------- */

Test(cli, skip_and_force)
{
    cl_test_result r;
    run(&r, SMALL);
    expect_ok(&r, SMALL);
    char *table1 = r.out;
    r.out = NULL;
    cl_test_result_free(&r);
    char dir[1024], path[4096];
    only_run_dir("runs", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    char *before = cl_test_slurp(path);
    struct stat st1, st2, st3;
    cr_assert_eq(stat(path, &st1), 0);

    run(&r, SMALL);
    expect_ok(&r, SMALL);
    cr_assert_not_null(strstr(r.out, "naive"), "no table on a skipped run: %s", r.out);
    cr_assert_str_eq(r.out, table1, "a skipped run prints another table");
    cl_test_result_free(&r);
    char *after = cl_test_slurp(path);
    cr_assert_str_eq(after, before, "a skipped run changed metrics.json");
    cr_assert_eq(stat(path, &st2), 0);
    cr_assert_eq(st2.st_ino, st1.st_ino, "a skipped run rewrote metrics.json");
    free(after);

    run(&r, SMALL " --force");
    expect_ok(&r, SMALL " --force");
    cr_assert_not_null(strstr(r.out, "naive"));
    cl_test_result_free(&r);
    only_run_dir("runs", dir, sizeof dir);
    cr_assert_eq(stat(path, &st3), 0);
    cr_assert_neq(st3.st_ino, st1.st_ino, "--force did not rewrite metrics.json");
    after = cl_test_slurp(path);
    char *sb = strip_timing(before), *sa = strip_timing(after);
    cr_assert_str_eq(sa, sb, "a forced re-run gave different results");
    free(sa);
    free(sb);
    free(after);
    free(before);
    free(table1);
}

/* ---- 8. several seeds ------------------------------------------------------ */

Test(cli, seeds_comparison)
{
    const char *args = "--strategy naive --seeds 2 " SMALL;
    cl_test_result r;
    run(&r, args);
    expect_ok(&r, args);
    cr_assert_not_null(strstr(r.out, "strategy"), "no header: %s", r.out);
    int naive_row = 0;
    for (const char *p = r.out; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        naive_row |= strncmp(p, "naive", 5) == 0;
    cr_assert(naive_row, "no naive row: %s", r.out);
    cl_test_result_free(&r);

    char root[512], names[8][256];
    snprintf(root, sizeof root, "%s/runs", tmp);
    int n = list_dir(root, names, 8);
    cr_assert_eq(n, 2, "%d run folders, want 2", n);
    int s0 = 0, s1 = 0;
    for (int i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/metrics.json", root, names[i]);
        cr_assert(is_file(path), "%s is missing", path);
        s0 += strstr(names[i], "-naive-s0-") != NULL;
        s1 += strstr(names[i], "-naive-s1-") != NULL;
    }
    cr_assert(s0 == 1 && s1 == 1, "run folders %s, %s", names[0], names[1]);
}

Test(cli, seeds_json_array)
{
    const char *args = "--seeds 2 --seed 4 --format json " SMALL;
    cl_test_result r;
    run(&r, args);
    expect_ok(&r, args);
    cl_json *doc = parse_text(r.out, "stdout");
    cr_assert_eq(cl_json_typeof(doc), CL_JSON_ARR);
    cr_assert_eq(cl_json_len(doc), 2);
    cr_assert_eq(cl_json_num(cl_json_get(cl_json_at(doc, 0), "seed")), 4);
    cr_assert_eq(cl_json_num(cl_json_get(cl_json_at(doc, 1), "seed")), 5);
    cl_json_free(doc);
    cl_test_result_free(&r);
}

/* ---- 9. task and domain scenarios ----------------------------------------- */

Test(cli, task_scenario)
{
    const char *args = "--scenario task --format json " SMALL;
    cl_test_result r;
    run(&r, args);
    expect_ok(&r, args);
    cl_json *doc = parse_text(r.out, "stdout");
    cr_assert_str_eq(cl_json_str(cl_json_get(doc, "scenario")), "task");
    cr_assert_str_eq(cl_json_str(cl_json_get(doc, "status")), "ok");
    cr_assert(cl_json_bool(cl_json_path(doc, "assumptions.task_id_at_test")));
    double *R = read_R(doc, 5); /* every row, the untrained one included, in [0, 1] */
    /* With the task id two-way choices are easy: each task is learnt. */
    for (int j = 0; j < 5; j++)
        cr_assert_gt(R[(size_t)(j + 1) * 5 + j], 0.5, "task %d after training it: %g", j + 1,
                     R[(size_t)(j + 1) * 5 + j]);
    free(R);
    cl_json_free(doc);
    cl_test_result_free(&r);
}

Test(cli, domain_scenario)
{
    const char *args = "--scenario domain --format json " SMALL;
    cl_test_result r;
    run(&r, args);
    expect_ok(&r, args);
    cl_json *doc = parse_text(r.out, "stdout");
    cr_assert_str_eq(cl_json_str(cl_json_get(doc, "scenario")), "domain");
    cr_assert_str_eq(cl_json_str(cl_json_get(doc, "status")), "ok");
    double *R = read_R(doc, 5);
    free(R);
    char dir[1024];
    only_run_dir("runs", dir, sizeof dir);
    cr_assert_not_null(strstr(dir, "seq-tasks-domain-naive-s0-"), "%s", dir);
    cl_json_free(doc);
    cl_test_result_free(&r);
}
