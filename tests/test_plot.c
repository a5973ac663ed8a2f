/* clbench plot, end to end: runs of naive and joint x 2 seeds with tiny
 * settings are written by the CLI (CL_TEST_BIN) into a fresh temporary
 * folder, then plotted in every format. Checks: every figure exists with its
 * format's magic bytes beside its .gp and .dat, the data are the means of
 * the runs' numbers, a script redraws its figure from its folder, bundles
 * lose only their curves (with one note), and the exit codes when gnuplot
 * is missing (2, one line) or fails (1, its first error line). Tests that
 * need gnuplot skip when it is not installed. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "clbench/store/json.h"
#include "clbench/report/plot.h"
#include "support.h"

#define RUN_ARGS                                                                       \
    "--strategy naive,joint --seeds 2 --set train.steps=30 "                           \
    "--set suite.train_per_class=60 --set suite.test_per_class=30 "                    \
    "--set model.hidden=32,32 --set train.eval_every=10"
#define GROUP "seq-tasks-class"

static const char *const stems[] = {"heatmap-naive", "curves-naive", "heatmap-joint",
                                    "curves-joint",  "bars",         "acc-vs-bytes"};
#define N_STEMS 6

static char tmp[256];

static void make_tmp(void) { cl_test_tmpdir_new(tmp, sizeof tmp, "plot"); }
static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(plot, .init = make_tmp, .fini = remove_tmp, .timeout = 60);

/* The exit code of a shell command whose output is not checked. */
static int sh(const char *cmd)
{
    cl_test_result r;
    cl_test_sh(&r, tmp, "%s", cmd);
    cl_test_result_free(&r);
    return r.code;
}

static void need_gnuplot(void)
{
    char path[4096];
    if (cl_plot_find_gnuplot(path, sizeof path)) cr_skip_test("gnuplot is not installed");
}

static void make_runs(void)
{
    cl_test_result r;
    cl_test_run_cli(&r, tmp, RUN_ARGS " --out '%s/runs' --quiet", tmp);
    cr_assert_eq(r.code, 0, "making the runs failed (%d): %s", r.code, r.err);
    cl_test_result_free(&r);
}

/* plot of tmp/<what> into tmp/<out>. */
static void plot(cl_test_result *r, const char *what, const char *out, const char *more)
{
    cl_test_run_cli(r, tmp, "plot '%s/%s' --out '%s/%s' %s", tmp, what, tmp, out, more);
}

/* Its exit code alone. */
static int plot_code(const char *what, const char *out, const char *more)
{
    cl_test_result r;
    plot(&r, what, out, more);
    cl_test_result_free(&r);
    return r.code;
}

static void path_of(char *buf, size_t n, const char *out, const char *stem, const char *ext)
{
    snprintf(buf, n, "%s/%s/" GROUP "/%s.%s", tmp, out, stem, ext);
}

static void assert_magic(const char *path, const char *ext)
{
    size_t len;
    char *s = cl_test_read(path, &len);
    cr_assert_not_null(s, "missing figure %s", path);
    cr_assert_gt(len, 100, "%s is nearly empty (%zu bytes)", path, len);
    if (!strcmp(ext, "pdf")) cr_assert(!memcmp(s, "%PDF", 4), "%s: not a PDF", path);
    else if (!strcmp(ext, "png")) cr_assert(!memcmp(s, "\x89PNG", 4), "%s: not a PNG", path);
    else cr_assert(!strncmp(s, "<svg", 4) || !strncmp(s, "<?xml", 5), "%s: not an SVG", path);
    free(s);
}

static void assert_nonempty(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "missing %s", path);
    cr_assert_gt(st.st_size, 0, "%s is empty", path);
}

static void check_format(const char *ext)
{
    need_gnuplot();
    make_runs();
    char more[64];
    snprintf(more, sizeof more, "--format %s", ext);
    cl_test_result r;
    plot(&r, "runs", "plots", more);
    cr_assert_eq(r.code, 0, "plot --format %s failed (%d): %s", ext, r.code, r.err);
    cr_assert_str_empty(r.err, "unexpected stderr: %s", r.err);
    int lines = cl_test_count_char(r.out, '\n');
    cr_assert_eq(lines, N_STEMS, "stdout should list %d figures:\n%s", N_STEMS, r.out);
    for (int i = 0; i < N_STEMS; i++) {
        char path[600];
        path_of(path, sizeof path, "plots", stems[i], ext);
        assert_magic(path, ext);
        cr_assert(strstr(r.out, path), "stdout does not list %s", path);
        path_of(path, sizeof path, "plots", stems[i], "gp");
        assert_nonempty(path);
        path_of(path, sizeof path, "plots", stems[i], "dat");
        assert_nonempty(path);
    }
    /* No temporary figure or data file is left behind. */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "ls '%s/plots/" GROUP "' | grep -c tmp", tmp);
    cr_assert_neq(sh(cmd), 0, "a temporary file was left in the figure folder");
    cl_test_result_free(&r);
}

Test(plot, pdf) { check_format("pdf"); }
Test(plot, png) { check_format("png"); }
Test(plot, svg) { check_format("svg"); }

Test(plot, scripts_redraw_from_their_folder)
{
    need_gnuplot();
    make_runs();
    cr_assert_eq(plot_code("runs", "plots", "--format pdf"), 0);
    char dir[400], cmd[2048], path[600];
    snprintf(dir, sizeof dir, "%s/plots/" GROUP, tmp);
    for (int i = 0; i < N_STEMS; i++) {
        path_of(path, sizeof path, "plots", stems[i], "pdf");
        cr_assert_eq(unlink(path), 0);
        /* Relative paths only: run from the folder, as a user would. */
        cl_test_result r;
        cl_test_sh(&r, tmp, "cd '%s' && gnuplot %s.gp", dir, stems[i]);
        cr_assert_eq(r.code, 0, "gnuplot %s.gp failed: %s", stems[i], r.err);
        cl_test_result_free(&r);
        assert_magic(path, "pdf");
    }
    /* Another format through the fmt variable. */
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot -e \"fmt='svg'\" bars.gp", dir);
    cr_assert_eq(sh(cmd), 0);
    path_of(path, sizeof path, "plots", "bars", "svg");
    assert_magic(path, "svg");
}

/* R[i][j] of a run read back from its metrics.json. */
static double r_entry(const char *run_glob_dir, int i, int j)
{
    cl_json *doc;
    char path[600];
    snprintf(path, sizeof path, "%s/metrics.json", run_glob_dir);
    cr_assert_eq(cl_json_parse_file(&doc, path), 0, "cannot read %s", path);
    double v = cl_json_num(cl_json_at(cl_json_at(cl_json_get(doc, "R"), (size_t)i), (size_t)j));
    cl_json_free(doc);
    return v;
}

Test(plot, data_files_hold_the_means_and_boundaries)
{
    need_gnuplot();
    make_runs();
    cr_assert_eq(plot_code("runs", "plots", ""), 0);
    /* The two naive seeds' folders. */
    cl_test_result ls;
    cl_test_sh(&ls, tmp, "ls -d '%s'/runs/seq-tasks-class-naive-s*", tmp);
    cr_assert_eq(ls.code, 0);
    char d0[400], d1[400];
    cr_assert_eq(sscanf(ls.out, "%399s %399s", d0, d1), 2, "two naive runs expected: %s", ls.out);
    cl_test_result_free(&ls);

    char path[600];
    path_of(path, sizeof path, "plots", "heatmap-naive", "dat");
    char *dat = cl_test_slurp(path);
    /* Every (task, after) entry is the mean of the seeds' R entries. */
    int rows = 0;
    for (char *line = strtok(dat, "\n"); line; line = strtok(NULL, "\n")) {
        int task, after, n;
        double mean, sd;
        if (line[0] == '#' || sscanf(line, "%d %d %lf %lf %d", &task, &after, &mean, &sd, &n) != 5)
            continue;
        double want = 0.5 * (r_entry(d0, after, task - 1) + r_entry(d1, after, task - 1));
        cr_assert_float_eq(mean, want, 1e-5, "R[%d][%d]: %g, want %g", after, task, mean, want);
        cr_assert_eq(n, 2);
        rows++;
    }
    cr_assert_eq(rows, 6 * 5, "a 6 x 5 matrix expected, got %d entries", rows);
    free(dat);

    /* 30 steps per task: boundaries after steps 30, 60, 90 and 120 only. */
    path_of(path, sizeof path, "plots", "curves-naive", "gp");
    char *gp = cl_test_slurp(path);
    int arrows = 0;
    for (const char *p = gp; (p = strstr(p, "set arrow from ")); p++) {
        long step = strtol(p + 15, NULL, 10);
        cr_assert(step == 30 || step == 60 || step == 90 || step == 120, "boundary at %ld", step);
        arrows++;
    }
    cr_assert_eq(arrows, 4, "4 task boundaries expected, got %d", arrows);
    cr_assert(strstr(gp, "'curves-naive.dat'"), "the script must name its data relatively");
    cr_assert_null(strstr(gp, tmp), "the script must not hold absolute paths");
    free(gp);

    /* The curves start at step 0 with the untrained network (R row 0). */
    path_of(path, sizeof path, "plots", "curves-naive", "dat");
    dat = cl_test_slurp(path);
    const char *t1 = strstr(dat, "# step mean lo hi n\n");
    cr_assert_not_null(t1);
    long step;
    double mean0;
    cr_assert_eq(sscanf(t1 + strlen("# step mean lo hi n\n"), "%ld %lf", &step, &mean0), 2);
    cr_assert_eq(step, 0);
    cr_assert_float_eq(mean0, 0.5 * (r_entry(d0, 0, 0) + r_entry(d1, 0, 0)), 1e-5);
    free(dat);

    /* naive keeps nothing: it sits at the "0" tic of the log axis. */
    path_of(path, sizeof path, "plots", "acc-vs-bytes", "dat");
    dat = cl_test_slurp(path);
    const char *cell = strstr(dat, "# cell 1: naive\n");
    cr_assert_not_null(cell, "%s", dat);
    double x, bytes;
    cr_assert_eq(sscanf(strchr(strchr(cell, '\n') + 1, '\n') + 1, "%lf %lf", &x, &bytes), 2);
    cr_assert_eq(bytes, 0);
    cr_assert_gt(x, 0, "a zero must be moved onto the log axis");
    free(dat);
}

Test(plot, bundles_have_no_curves_and_one_note)
{
    need_gnuplot();
    make_runs();
    cl_test_result r;
    cl_test_run_cli(&r, tmp, "report '%s/runs' --format json --out '%s/bundle.json'", tmp, tmp);
    cr_assert_eq(r.code, 0);
    cl_test_result_free(&r);
    plot(&r, "bundle.json", "plots", "--format svg");
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "curve.csv"), "a note about curves expected: %s", r.err);
    cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one note line expected: %s",
                 r.err);
    cl_test_result_free(&r);
    char path[600];
    path_of(path, sizeof path, "plots", "heatmap-joint", "svg");
    assert_magic(path, "svg");
    path_of(path, sizeof path, "plots", "bars", "svg");
    assert_magic(path, "svg");
    path_of(path, sizeof path, "plots", "curves-naive", "svg");
    cr_assert_neq(access(path, F_OK), 0, "no curves can be drawn from a bundle");
}

Test(plot, missing_gnuplot_is_one_line_and_exit_2)
{
    make_runs();
    /* An empty folder as PATH: no gnuplot anywhere. */
    cl_test_result r;
    cl_test_sh(&r, tmp, "mkdir '%s/empty' && PATH='%s/empty' " CL_TEST_BIN " plot '%s/runs' "
               "--out '%s/p'", tmp, tmp, tmp, tmp);
    cr_assert_eq(r.code, 2, "exit 2 expected, got %d: %s", r.code, r.err);
    cr_assert_str_eq(r.err, "clbench plot: gnuplot not found; install gnuplot-nox "
                            "(make deps does)\n");
    cl_test_result_free(&r);
    char p[400];
    snprintf(p, sizeof p, "%s/p", tmp);
    cr_assert_neq(access(p, F_OK), 0, "nothing is written without gnuplot");
}

Test(plot, gnuplot_failure_is_exit_1_with_its_first_error_line)
{
    make_runs();
    /* A stand-in gnuplot that fails the way gnuplot reports errors: the
     * offending command echoed, then the located message. */
    char bin[300], fake[320];
    snprintf(bin, sizeof bin, "%s/bin", tmp);
    cr_assert_eq(mkdir(bin, 0755), 0);
    snprintf(fake, sizeof fake, "%s/gnuplot", bin);
    FILE *f = fopen(fake, "w");
    cr_assert_not_null(f);
    fputs("#!/bin/sh\n"
          "echo '         plot x' >&2\n"
          "echo '\"heatmap.gp\" line 9: undefined variable: x' >&2\n"
          "echo 'second line' >&2\n"
          "exit 1\n", f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(fake, 0755), 0);
    cl_test_result r;
    cl_test_sh(&r, tmp, "PATH='%s' " CL_TEST_BIN " plot '%s/runs' --out '%s/p'", bin, tmp, tmp);
    cr_assert_eq(r.code, 1, "exit 1 expected, got %d: %s", r.code, r.err);
    cr_assert_not_null(strstr(r.err, "\"heatmap.gp\" line 9: undefined variable: x"), "%s", r.err);
    cr_assert_null(strstr(r.err, "second line"), "only the first error line: %s", r.err);
    cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line expected: %s", r.err);
    cl_test_result_free(&r);
    /* No figure under its final name. */
    char p[400];
    snprintf(p, sizeof p, "%s/p/" GROUP "/heatmap-naive.pdf", tmp);
    cr_assert_neq(access(p, F_OK), 0);
}

Test(plot, bad_input_is_exit_2)
{
    cl_test_result r;
    cl_test_run_cli(&r, tmp, "plot '%s/nothing-here'", tmp);
    cr_assert_eq(r.code, 2);
    cl_test_result_free(&r);
    cl_test_run_cli(&r, tmp, "plot '%s' --format gif", tmp);
    cr_assert_eq(r.code, 2);
    cr_assert_not_null(strstr(r.err, "gif"), "%s", r.err);
    cl_test_result_free(&r);
    cl_test_run_cli(&r, tmp, "plot");
    cr_assert_eq(r.code, 2);
    cl_test_result_free(&r);
}

Test(plot, diverged_runs_stay_out_of_the_statistics)
{
    need_gnuplot();
    make_runs();
    /* Seed 1 of naive diverged (as the runner marks it). */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "sed -i 's/\"status\": \"ok\"/\"status\": \"diverged\"/' "
             "'%s'/runs/seq-tasks-class-naive-s1-*/metrics.json", tmp);
    cr_assert_eq(sh(cmd), 0);
    cr_assert_eq(plot_code("runs", "plots", ""), 0);
    char path[600];
    path_of(path, sizeof path, "plots", "heatmap-naive", "dat");
    char *dat = cl_test_slurp(path);
    int rows = 0;
    for (char *line = strtok(dat, "\n"); line; line = strtok(NULL, "\n")) {
        int task, after, n;
        double mean;
        char sd[32];
        if (line[0] == '#' || sscanf(line, "%d %d %lf %31s %d", &task, &after, &mean, sd, &n) != 5)
            continue;
        cr_assert_eq(n, 1, "only the finished seed counts: %s", line);
        cr_assert_str_eq(sd, "NaN", "no spread from one seed: %s", line);
        rows++;
    }
    cr_assert_eq(rows, 30);
    free(dat);
    path_of(path, sizeof path, "plots", "curves-naive", "dat");
    dat = cl_test_slurp(path);
    cr_assert_not_null(strstr(dat, "mean over 1 seeds"), "%.200s", dat);
    free(dat);

    /* Both naive seeds diverged: naive is not drawn, joint still is. */
    snprintf(cmd, sizeof cmd,
             "sed -i 's/\"status\": \"ok\"/\"status\": \"diverged\"/' "
             "'%s'/runs/seq-tasks-class-naive-s0-*/metrics.json", tmp);
    cr_assert_eq(sh(cmd), 0);
    cl_test_result r;
    plot(&r, "runs", "plots2", "");
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "1 cell without a finished run"), "%s", r.err);
    cl_test_result_free(&r);
    path_of(path, sizeof path, "plots2", "heatmap-naive", "pdf");
    cr_assert_neq(access(path, F_OK), 0, "naive has nothing to draw");
    path_of(path, sizeof path, "plots2", "heatmap-joint", "pdf");
    assert_magic(path, "pdf");
    path_of(path, sizeof path, "plots2", "bars", "pdf");
    assert_magic(path, "pdf");
}
