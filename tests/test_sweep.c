/* Sweeps: the planning library (array lists, job-array splits, joint
 * references, the batch script) and `clbench sweep` end to end
 * (CL_TEST_BIN): dry runs, one cell, local workers, Slurm scripts with a
 * missing or fake sbatch, divergence, and a sweep killed mid-way. The real
 * Slurm test is tests/slurm/run.sh (make test-slurm). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "clbench/base/error.h"
#include "clbench/run/experiment.h"
#include "clbench/base/fsutil.h"
#include "clbench/store/json.h"
#include "clbench/base/strbuf.h"
#include "clbench/run/sweep.h"
#include "support.h"

#define FIX "tests/fixtures/sweep/"

TestSuite(sweep, .timeout = 60);

/* ---- helpers ------------------------------------------------------------------ */

static char tmp[256];

static void make_tmp(void) { cl_test_tmpdir_new(tmp, sizeof tmp, "sweep"); }
static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

/* Runs `[env] CL_TEST_BIN sweep args` with the output in files under tmp. */
static void sweep_env(cl_test_result *r, const char *env, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sweep_env(cl_test_result *r, const char *env, const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    cl_test_sh(r, tmp, "%s " CL_TEST_BIN " sweep %s", env, args);
}

#define sweep(r, ...) sweep_env(r, "", __VA_ARGS__)

/* The run ids of a grid run with `threads` OpenBLAS threads (part of a
 * run's identity), from the experiment module itself. */
static int grid_ids_threads(const char *file, char ids[][256], int max, int threads)
{
    cl_experiment *e;
    cr_assert_eq(cl_experiment_load(&e, file), 0, "%s", cl_error_last());
    int n = cl_experiment_count(e);
    cr_assert_leq(n, max);
    for (int i = 0; i < n; i++) {
        cl_experiment_cells(e)[i]->threads = threads;
        cl_config_run_id(cl_experiment_cells(e)[i], ids[i], 256);
    }
    cl_experiment_free(e);
    return n;
}

static int grid_ids(const char *file, char ids[][256], int max)
{
    return grid_ids_threads(file, ids, max, 1);
}

static void metrics_path(char *buf, size_t n, const char *id)
{
    snprintf(buf, n, "%s/out/%.255s/metrics.json", tmp, id);
}

/* A finished-looking cell: the sweep only asks whether metrics.json exists. */
static void fake_done(const char *id)
{
    char dir[512], path[768];
    snprintf(dir, sizeof dir, "%s/out/%s", tmp, id);
    cr_assert_eq(cl_fs_mkdirs(dir), 0);
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    const char *doc = "{\"status\": \"ok\"}\n";
    cr_assert_eq(cl_fs_write_atomic(path, doc, strlen(doc)), 0);
}

static const char *status_of(cl_json **doc, const char *id)
{
    char path[768];
    metrics_path(path, sizeof path, id);
    cr_assert_eq(cl_json_parse_file(doc, path), 0, "%s", cl_error_last());
    return cl_json_str(cl_json_get(*doc, "status"));
}

/* ---- library: array lists and splits ------------------------------------------- */

static void expect_spec(const int *idx, int n, const char *want)
{
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_sweep_array_spec(&b, idx, n);
    cr_assert_str_eq(b.s ? b.s : "", want);
    cl_strbuf_release(&b);
}

Test(sweep, array_spec_compresses_runs)
{
    expect_spec((int[]){0, 3, 5, 6, 7, 8, 9}, 7, "0,3,5-9");
    expect_spec((int[]){4}, 1, "4");
    expect_spec((int[]){0, 1}, 2, "0-1");
    expect_spec((int[]){1, 2, 3, 10, 12, 13}, 6, "1-3,10,12-13");
    expect_spec(NULL, 0, "");
}

/* n cells, `joint` of each given, all to do unless listed in `done`. */
static cl_sweep_cell *cells_of(int n, const int *joint)
{
    cl_sweep_cell *c = calloc((size_t)n, sizeof *c);
    for (int i = 0; i < n; i++) c[i].joint = joint ? joint[i] : -1;
    return c;
}

Test(sweep, arrays_split_at_max_array_with_offsets)
{
    cl_sweep_cell *c = cells_of(10, NULL);
    unsigned char todo[10] = {1, 0, 1, 1, 1, 1, 1, 1, 0, 1};
    cl_sweep_array *a;
    int na;
    /* Ids must stay below 4: 0,2,3 | then 4.. from offset 4: 0-3 (cells 4-7) | cell 9. */
    cr_assert_eq(cl_sweep_arrays_new(&a, &na, c, todo, 10, 4, 1), 0);
    cr_assert_eq(na, 3);
    cr_assert_eq(a[0].offset, 0);
    cr_assert_str_eq(a[0].spec, "0,2-3");
    cr_assert_eq(a[0].n_tasks, 3);
    cr_assert_eq(a[1].offset, 4);
    cr_assert_str_eq(a[1].spec, "0-3");
    cr_assert_eq(a[2].offset, 9);
    cr_assert_str_eq(a[2].spec, "0");
    for (int i = 0; i < na; i++) cr_assert_eq(a[i].phase, 0);
    cl_sweep_arrays_free(a, na);
    /* Nothing to do: no arrays. */
    memset(todo, 0, sizeof todo);
    cr_assert_eq(cl_sweep_arrays_new(&a, &na, c, todo, 10, 1001, 1), 0);
    cr_assert_eq(na, 0);
    cl_sweep_arrays_free(a, na);
    free(c);
}

Test(sweep, arrays_put_waiting_cells_in_phase_one)
{
    /* Cells 0 and 3 are joint runs; 1, 2 wait for 0 and 4, 5 for 3. */
    cl_sweep_cell *c = cells_of(6, (int[]){-1, 0, 0, -1, 3, 3});
    unsigned char todo[6] = {1, 1, 1, 0, 1, 1}; /* cell 3 finished */
    cl_sweep_array *a;
    int na;
    cr_assert_eq(cl_sweep_arrays_new(&a, &na, c, todo, 6, 1001, 1), 0);
    cr_assert_eq(na, 2);
    cr_assert_eq(a[0].phase, 0);
    cr_assert_str_eq(a[0].spec, "0,4-5"); /* 4 and 5's joint run is done */
    cr_assert_eq(a[1].phase, 1);
    cr_assert_str_eq(a[1].spec, "1-2");
    cl_sweep_arrays_free(a, na);
    /* Unphased: one array of every cell to run. */
    cr_assert_eq(cl_sweep_arrays_new(&a, &na, c, todo, 6, 1001, 0), 0);
    cr_assert_eq(na, 1);
    cr_assert_str_eq(a[0].spec, "0-2,4-5");
    cl_sweep_arrays_free(a, na);
    free(c);
}

Test(sweep, arrays_keep_lists_short)
{
    enum { N = 3000 };
    cl_sweep_cell *c = cells_of(N, NULL);
    unsigned char *todo = calloc(N, 1);
    for (int i = 0; i < N; i += 2) todo[i] = 1; /* no runs to compress */
    cl_sweep_array *a;
    int na, total = 0;
    cr_assert_eq(cl_sweep_arrays_new(&a, &na, c, todo, N, 100000, 0), 0);
    cr_assert_gt(na, 1);
    for (int i = 0; i < na; i++) {
        cr_assert_leq(strlen(a[i].spec), CL_SWEEP_MAX_SPEC);
        total += a[i].n_tasks;
    }
    cr_assert_eq(total, N / 2);
    cl_sweep_arrays_free(a, na);
    free(todo);
    free(c);
}

Test(sweep, sbatch_args_chain_phases)
{
    cl_sweep_array a[3] = {{0, 0, 2, "0,2"}, {3, 0, 1, "0"}, {0, 1, 2, "1-2"}};
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_sweep_sbatch_args(&b, a, 3, 1, NULL);
    cr_assert_str_eq(b.s, " --array=0 --export=ALL,CLBENCH_CELL_OFFSET=3");
    cl_strbuf_release(&b);
    cl_sweep_sbatch_args(&b, a, 3, 2, (long[]){17, 18, 0});
    cr_assert_str_eq(b.s, " --array=1-2 --dependency=afterany:17:18");
    cl_strbuf_release(&b);
    cl_sweep_sbatch_args(&b, a, 3, 2, NULL);
    cr_assert_str_eq(b.s, " --array=1-2 --dependency=afterany:${j0%%;*}:${j1%%;*}");
    cl_strbuf_release(&b);
    /* One array: the script's own #SBATCH --array, nothing to add. */
    cl_sweep_sbatch_args(&b, a, 1, 0, NULL);
    cr_assert_null(b.s);
}

/* ---- library: cells, grid hash, script ------------------------------------------ */

static cl_experiment *parse(const char *text)
{
    cl_experiment *e;
    cr_assert_eq(cl_experiment_parse(&e, "t.yaml", text, strlen(text)), 0, "%s", cl_error_last());
    return e;
}

Test(sweep, cells_find_joint_references_and_finished_runs, .init = make_tmp, .fini = remove_tmp)
{
    cl_experiment *e = parse("seeds: 2\nstrategy: [naive, joint, replay]\ntrain: {steps: 30}\n");
    int n = cl_experiment_count(e);
    cl_config **cfg = cl_experiment_cells(e);
    cr_assert_eq(n, 6);
    char id[256];
    cl_config_run_id(cfg[4], id, sizeof id);
    fake_done(id);
    char root[512];
    snprintf(root, sizeof root, "%s/out", tmp);
    cl_sweep_cell *c;
    cr_assert_eq(cl_sweep_cells_new(&c, cfg, n, root), 0, "%s", cl_error_last());
    for (int i = 0; i < n; i++) {
        cl_config_run_id(cfg[i], id, sizeof id);
        cr_assert_str_eq(c[i].run_id, id);
        cr_assert_eq(c[i].done, i == 4);
        /* Expansion puts joint first in each seed: cells 0 and 3. */
        int want = !strcmp(cfg[i]->strategy, "joint") ? -1 : i < 3 ? 0 : 3;
        cr_assert_eq(c[i].joint, want, "cell %d (%s): joint %d, want %d", i, cfg[i]->strategy,
                     c[i].joint, want);
        cr_assert_eq(cfg[i]->seed, cfg[i < 3 ? 0 : 3]->seed);
    }
    cl_sweep_cells_free(c);
    cl_experiment_free(e);
}

Test(sweep, grid_hash_follows_the_cells)
{
    cl_experiment *a = parse("seeds: 2\ntrain: {steps: 30}\n");
    cl_experiment *b = parse("seeds: 2\ntrain: {steps: 30}\n");
    cl_experiment *c = parse("seeds: 2\ntrain: {steps: 31}\n");
    cl_experiment *d = parse("seeds: 3\ntrain: {steps: 30}\n");
    uint64_t ha = cl_sweep_grid_hash(cl_experiment_cells(a), 2);
    cr_assert_eq(ha, cl_sweep_grid_hash(cl_experiment_cells(b), 2));
    cr_assert_neq(ha, cl_sweep_grid_hash(cl_experiment_cells(c), 2));
    cr_assert_neq(ha, cl_sweep_grid_hash(cl_experiment_cells(d), 3));
    cl_experiment_cells(b)[0]->threads = 2; /* threads are part of a run's id */
    cr_assert_neq(ha, cl_sweep_grid_hash(cl_experiment_cells(b), 2));
    cl_experiment_free(a);
    cl_experiment_free(b);
    cl_experiment_free(c);
    cl_experiment_free(d);
}

static cl_sweep_slurm slurm_opts(void)
{
    return (cl_sweep_slurm){.bin = "/opt/cl/bin/clbench", .file = "/home/u/exp.yaml",
                            .out = "/scratch/u/runs", .partition = "short", .time = "01:30:00",
                            .mem_mb = 2000, .cpus = 2, .grid = 0x0123456789abcdefULL,
                            .array = "0,3,5-9"};
}

Test(sweep, slurm_script_text)
{
    cl_sweep_slurm s = slurm_opts();
    cl_strbuf b;
    cl_strbuf_init(&b);
    cr_assert_eq(cl_sweep_slurm_script(&b, &s), 0, "%s", cl_error_last());
    const char *want[] = {
        "#!/bin/bash\n",
        "\n#SBATCH --array=0,3,5-9\n",
        "\n#SBATCH --cpus-per-task=2\n",
        "\n#SBATCH --mem=2000\n",
        "\n#SBATCH --time=01:30:00\n",
        "\n#SBATCH --partition=short\n",
        "\n#SBATCH --output=/scratch/u/runs/slurm-logs/%A_%a.out\n",
        "\n#SBATCH --job-name=clbench-sweep-89abcdef\n",
        "\ncell=$(( SLURM_ARRAY_TASK_ID + ${CLBENCH_CELL_OFFSET:-0} ))\n",
        "\nexport OPENBLAS_NUM_THREADS=2\n",
        "\nexec '/opt/cl/bin/clbench' sweep '/home/u/exp.yaml' --cell \"$cell\" --out "
        "'/scratch/u/runs' --threads 2 --grid 0123456789abcdef --quiet\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_assert_not_null(strstr(b.s, want[i]), "script lacks %s\n%s", want[i], b.s);
    cr_assert_eq(strncmp(b.s, "#!/bin/bash\n", 12), 0);
    /* sbatch stops reading #SBATCH lines at the first command. */
    const char *first_cmd = strstr(b.s, "\nset -eu\n");
    cr_assert_not_null(first_cmd);
    const char *last_sbatch = b.s;
    for (const char *p = b.s; (p = strstr(p, "#SBATCH")); p++) last_sbatch = p;
    cr_assert_lt(last_sbatch, first_cmd);
    cl_strbuf_release(&b);
    /* Optional lines stay out when unset. */
    s.partition = s.time = NULL;
    s.mem_mb = 0;
    s.force = s.resume = 1;
    cl_strbuf_init(&b);
    cr_assert_eq(cl_sweep_slurm_script(&b, &s), 0);
    cr_assert_null(strstr(b.s, "--partition"));
    cr_assert_null(strstr(b.s, "--time"));
    cr_assert_null(strstr(b.s, "--mem"));
    cr_assert_not_null(strstr(b.s, "--quiet --force --resume\n"));
    cl_strbuf_release(&b);
}

Test(sweep, slurm_script_refuses_unsafe_values)
{
    struct {
        const char **field;
        const char *value, *needle;
    } bad[] = {
        {NULL, "runs", "not an absolute path"},
        {NULL, "/scratch/my runs", "whitespace"},
        {NULL, "/scratch/100%", "%"},
        {NULL, "/scratch/it's", "quote"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cl_sweep_slurm s = slurm_opts();
        s.out = bad[i].value;
        cl_strbuf b;
        cl_strbuf_init(&b);
        cr_assert_eq(cl_sweep_slurm_script(&b, &s), CL_EINVAL, "out '%s' accepted", bad[i].value);
        cr_assert_not_null(strstr(cl_error_last(), "--out"), "%s", cl_error_last());
        cr_assert_not_null(strstr(cl_error_last(), bad[i].needle), "%s", cl_error_last());
        cl_strbuf_release(&b);
    }
    cl_sweep_slurm s = slurm_opts();
    s.partition = "short\n#SBATCH --x";
    cl_strbuf b;
    cl_strbuf_init(&b);
    cr_assert_eq(cl_sweep_slurm_script(&b, &s), CL_EINVAL);
    cl_strbuf_release(&b);
}

Test(sweep, shell_quote)
{
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_sweep_shell_quote(&b, "a b'c");
    cr_assert_str_eq(b.s, "'a b'\\''c'");
    cl_strbuf_release(&b);
}

/* ---- CLI: dry run, one cell, local workers ---------------------------------------- */

Test(sweep, dry_run_lists_cells_with_status, .init = make_tmp, .fini = remove_tmp)
{
    char ids[8][256];
    int n = grid_ids(FIX "small.yaml", ids, 8);
    cr_assert_eq(n, 4);
    fake_done(ids[1]);
    cl_test_result r;
    sweep(&r, FIX "small.yaml --out '%s/out' --dry-run", tmp);
    cr_assert_eq(r.code, 0, "stderr: %s", r.err);
    cl_strbuf want;
    cl_strbuf_init(&want);
    for (int i = 0; i < n; i++) cl_strbuf_printf(&want, "%s %d %s\n", i == 1 ? "skip" : "run", i, ids[i]);
    cr_assert_str_eq(r.out, want.s);
    cl_strbuf_release(&want);
    cl_test_result_free(&r);
    /* --force runs everything. */
    sweep(&r, FIX "small.yaml --out '%s/out' --dry-run --force", tmp);
    cr_assert_eq(cl_test_count_lines(r.out, "run "), 4, "%s", r.out);
    cl_test_result_free(&r);
    /* Nothing ran. */
    char path[768];
    metrics_path(path, sizeof path, ids[0]);
    cr_assert(!cl_fs_exists(path));
}

Test(sweep, cell_runs_exactly_that_cell, .init = make_tmp, .fini = remove_tmp)
{
    char ids[8][256];
    grid_ids(FIX "small.yaml", ids, 8);
    cl_test_result r;
    sweep(&r, FIX "small.yaml --cell 2 --out '%s/out' --quiet", tmp);
    cr_assert_eq(r.code, 0, "stderr: %s", r.err);
    cl_test_result_free(&r);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/out", tmp);
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        entries++;
        cr_assert_str_eq(e->d_name, ids[2]);
    }
    closedir(d);
    cr_assert_eq(entries, 1);
    cl_json *doc;
    cr_assert_str_eq(status_of(&doc, ids[2]), "ok");
    cr_assert_str_eq(cl_json_str(cl_json_get(doc, "run_id")), ids[2]);
    cl_json_free(doc);
    /* Out of range and a stale grid hash are input errors. */
    sweep(&r, FIX "small.yaml --cell 4 --out '%s/out'", tmp);
    cr_assert_eq(r.code, 2);
    cr_assert_not_null(strstr(r.err, "4 cells"), "%s", r.err);
    cl_test_result_free(&r);
    sweep(&r, FIX "small.yaml --cell 0 --grid 0000000000000000 --out '%s/out'", tmp);
    cr_assert_eq(r.code, 2);
    cr_assert_not_null(strstr(r.err, "grid changed"), "%s", r.err);
    cl_test_result_free(&r);
}

Test(sweep, local_parallel_runs_every_cell, .init = make_tmp, .fini = remove_tmp)
{
    char ids[8][256];
    int n = grid_ids(FIX "small.yaml", ids, 8);
    cl_test_result r;
    sweep(&r, FIX "small.yaml --out '%s/out' -j 2", tmp);
    cr_assert_eq(r.code, 0, "stdout: %s\nstderr: %s", r.out, r.err);
    cr_assert_str_eq(r.err, ""); /* not a terminal: no progress */
    cr_assert_not_null(strstr(r.out, "4 ok (4 ran, 0 already done), 0 diverged, 0 failed"), "%s",
                       r.out);
    cl_test_result_free(&r);
    for (int i = 0; i < n; i++) {
        cl_json *doc;
        cr_assert_str_eq(status_of(&doc, ids[i]), "ok");
        /* Each naive run waited for its joint reference. */
        if (strstr(ids[i], "-naive-"))
            cr_assert(cl_json_typeof(cl_json_path(doc, "metrics.intransigence")) == CL_JSON_NUM,
                      "%s has no intransigence", ids[i]);
        cl_json_free(doc);
    }
    char logs[512];
    snprintf(logs, sizeof logs, "%s/out/sweep-logs", tmp);
    cr_assert(!cl_fs_exists(logs), "sweep-logs left behind though nothing failed");
    /* Again: all skipped. */
    sweep(&r, FIX "small.yaml --out '%s/out' -j 2", tmp);
    cr_assert_eq(r.code, 0);
    cr_assert_not_null(strstr(r.out, "4 ok (0 ran, 4 already done)"), "%s", r.out);
    cl_test_result_free(&r);
}

Test(sweep, usage_errors, .init = make_tmp, .fini = remove_tmp)
{
    const char *bad[] = {
        FIX "small.yaml --submit",
        FIX "small.yaml --cell 0 -j 2",
        FIX "small.yaml -j 0",
        FIX "small.yaml --slurm --time 1:2:3:4",
        FIX "small.yaml --slurm --threads 2 --cpus-per-task 3",
        FIX "small.yaml --grid 00",
        "tests/fixtures/experiment/bad-value.yaml --dry-run",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cl_test_result r;
        sweep(&r, "%s --out '%s/out'", bad[i], tmp);
        cr_assert_eq(r.code, 2, "'%s': exit %d", bad[i], r.code);
        cr_assert_eq(cl_test_count_lines(r.err, ""), 1, "'%s': not one line: %s", bad[i], r.err);
        cl_test_result_free(&r);
    }
    char out[512];
    snprintf(out, sizeof out, "%s/out", tmp);
    cr_assert(!cl_fs_exists(out), "a usage error wrote results");
}

/* ---- CLI: Slurm ------------------------------------------------------------------------ */

Test(sweep, slurm_script_lists_missing_cells_only, .init = make_tmp, .fini = remove_tmp)
{
    char ids[8][256];
    grid_ids_threads(FIX "small.yaml", ids, 8, 2); /* tasks run with --threads 2 */
    fake_done(ids[0]); /* cells 0 and 2 are the joint runs */
    fake_done(ids[2]);
    fake_done(ids[3]);
    cl_test_result r;
    sweep_env(&r, "PATH=/nonexistent", FIX "small.yaml --slurm --out '%s/out' --cpus-per-task 2 "
              "--time 00:10:00 --mem 1000 --partition debug --script '%s/s.sbatch'", tmp, tmp);
    cr_assert_eq(r.code, 0, "stderr: %s", r.err);
    char script[512], *text;
    snprintf(script, sizeof script, "%s/s.sbatch", tmp);
    text = cl_test_slurp(script);
    char cwd[1024], want[4096];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    cr_assert_not_null(strstr(text, "\n#SBATCH --array=1\n"), "%s", text);
    snprintf(want, sizeof want, "\n#SBATCH --output=%s/out/slurm-logs/%%A_%%a.out\n", tmp);
    cr_assert_not_null(strstr(text, want), "%s", text);
    cr_assert_not_null(strstr(text, "\n#SBATCH --cpus-per-task=2\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\n#SBATCH --time=00:10:00\n"), "%s", text);
    snprintf(want, sizeof want,
             "\nexec '%s/%s' sweep '%s/" FIX "small.yaml' --cell \"$cell\" --out '%s/out' "
             "--threads 2 --grid ",
             cwd, CL_TEST_BIN, cwd, tmp);
    cr_assert_not_null(strstr(text, want), "want %s in\n%s", want, text);
    free(text);
    snprintf(want, sizeof want, "submit with: sbatch '%s'\n", script);
    cr_assert_not_null(strstr(r.out, want), "%s", r.out);
    snprintf(want, sizeof want, "%s/out/slurm-logs", tmp);
    cr_assert(cl_fs_exists(want));
    cl_test_result_free(&r);
}

Test(sweep, slurm_submit_without_sbatch, .init = make_tmp, .fini = remove_tmp)
{
    cl_test_result r;
    sweep_env(&r, "PATH=/nonexistent", FIX "small.yaml --slurm --submit --out '%s/out'", tmp);
    cr_assert_eq(r.code, 2);
    cr_assert_eq(cl_test_count_lines(r.err, ""), 1, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "sbatch not found"), "%s", r.err);
    cr_assert_str_eq(r.out, "");
    cl_test_result_free(&r);
    /* A results folder a #SBATCH line cannot carry: input error, nothing made. */
    sweep(&r, FIX "small.yaml --slurm --out '%s/my runs'", tmp);
    cr_assert_eq(r.code, 2);
    cr_assert_not_null(strstr(r.err, "my runs"), "%s", r.err);
    cl_test_result_free(&r);
    char path[512];
    snprintf(path, sizeof path, "%s/my runs", tmp);
    cr_assert(!cl_fs_exists(path));
}

/* A fake sbatch that logs its arguments and answers like the real one, and
 * a fake scontrol reporting MaxArraySize = 3. */
static void fake_slurm(void)
{
    char dir[512], path[768], text[1024];
    snprintf(dir, sizeof dir, "%s/bin", tmp);
    cr_assert_eq(cl_fs_mkdirs(dir), 0);
    snprintf(path, sizeof path, "%s/sbatch", dir);
    snprintf(text, sizeof text,
             "#!/bin/sh\necho \"$*\" >>'%s/sbatch.log'\nn=$(wc -l <'%s/sbatch.log')\n"
             "echo \"Submitted batch job $((n + 40))\"\n", tmp, tmp);
    cr_assert_eq(cl_fs_write_atomic(path, text, strlen(text)), 0);
    cr_assert_eq(chmod(path, 0755), 0);
    snprintf(path, sizeof path, "%s/scontrol", dir);
    snprintf(text, sizeof text, "#!/bin/sh\necho 'MaxArraySize            = 3'\n");
    cr_assert_eq(cl_fs_write_atomic(path, text, strlen(text)), 0);
    cr_assert_eq(chmod(path, 0755), 0);
}

Test(sweep, slurm_submit_splits_and_chains_arrays, .init = make_tmp, .fini = remove_tmp)
{
    fake_slurm();
    char env[600];
    snprintf(env, sizeof env, "PATH='%s/bin':/usr/bin:/bin", tmp);
    cl_test_result r;
    sweep_env(&r, env, FIX "small.yaml --slurm --submit --out '%s/out' --script '%s/s.sbatch'",
              tmp, tmp);
    cr_assert_eq(r.code, 0, "stdout: %s\nstderr: %s", r.out, r.err);
    /* Joint cells 0 and 2 first; then 1, and 3 past MaxArraySize as task 0
     * + 3; both after job 41. */
    char logp[512], *log;
    snprintf(logp, sizeof logp, "%s/sbatch.log", tmp);
    log = cl_test_slurp(logp);
    char want[2048];
    snprintf(want, sizeof want,
             "--array=0,2 %s/s.sbatch\n"
             "--array=1 --dependency=afterany:41 %s/s.sbatch\n"
             "--array=0 --export=ALL,CLBENCH_CELL_OFFSET=3 --dependency=afterany:41 %s/s.sbatch\n",
             tmp, tmp, tmp);
    cr_assert_str_eq(log, want);
    free(log);
    cr_assert_not_null(strstr(r.out, "submitted job 41: array 0,2, 2 cells\n"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "submitted job 43: array 0, 1 cell (cell = task id + 3), "
                                     "after the joint reference runs\n"), "%s", r.out);
    cl_test_result_free(&r);
}

/* ---- CLI: divergence ------------------------------------------------------------------- */

Test(sweep, diverged_cell_is_recorded_and_exits_1, .init = make_tmp, .fini = remove_tmp)
{
    char ids[8][256];
    int n = grid_ids(FIX "diverge.yaml", ids, 8);
    cr_assert_eq(n, 3);
    cl_test_result r;
    sweep(&r, FIX "diverge.yaml --cell 1 --out '%s/out' --quiet", tmp);
    cr_assert_eq(r.code, 1, "stderr: %s", r.err);
    cl_test_result_free(&r);
    cl_json *doc;
    cr_assert_str_eq(status_of(&doc, ids[1]), "diverged");
    const char *reason = cl_json_str(cl_json_get(doc, "reason"));
    cr_assert(reason && strstr(reason, "nan"), "reason: %s", reason ? reason : "(none)");
    const cl_json *m = cl_json_get(doc, "metrics");
    cr_assert_gt(cl_json_len(m), 5);
    for (size_t i = 0; i < cl_json_len(m); i++)
        cr_assert_eq(cl_json_typeof(cl_json_at(m, i)), CL_JSON_NULL, "metrics.%s is not null",
                     cl_json_key_at(m, i));
    cl_json_free(doc);
}

Test(sweep, sweep_with_a_diverging_cell_finishes_the_rest, .init = make_tmp, .fini = remove_tmp)
{
    char ids[8][256];
    grid_ids(FIX "diverge.yaml", ids, 8);
    cl_test_result r;
    sweep(&r, FIX "diverge.yaml --out '%s/out' -j 2", tmp);
    cr_assert_eq(r.code, 1, "stdout: %s\nstderr: %s", r.out, r.err);
    cr_assert_not_null(strstr(r.out, "2 ok (2 ran, 0 already done), 1 diverged, 0 failed"), "%s",
                       r.out);
    char want[512];
    snprintf(want, sizeof want, "  diverged %s (cell 1): cross-entropy loss is", ids[1]);
    cr_assert_not_null(strstr(r.out, want), "%s", r.out);
    cl_test_result_free(&r);
    for (int i = 0; i < 3; i++) {
        cl_json *doc;
        cr_assert_str_eq(status_of(&doc, ids[i]), i == 1 ? "diverged" : "ok");
        cl_json_free(doc);
    }
    /* A re-run skips all three and still reports the diverged cell. */
    sweep(&r, FIX "diverge.yaml --out '%s/out'", tmp);
    cr_assert_eq(r.code, 1);
    cr_assert_not_null(strstr(r.out, "2 ok (0 ran, 2 already done), 1 diverged"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, ids[1]), "%s", r.out);
    cl_test_result_free(&r);
}

/* ---- CLI: a sweep killed mid-way ------------------------------------------------------- */

typedef struct file_scan {
    int metrics, json, tmp_files, bad;
    char first_bad[1024], first_tmp[2048];
} file_scan;

/* Every *.json under dir must parse; counts metrics.json and leftovers of
 * interrupted atomic writes (NAME.tmp.PID). While the sweep runs, an entry
 * can vanish between readdir and stat (a temporary file renamed into
 * place): it is skipped; once the sweep is dead nothing moves. */
static void scan(const char *dir, file_scan *s)
{
    DIR *d = opendir(dir);
    if (!d && errno == ENOENT) return;
    cr_assert_not_null(d, "cannot open %s", dir);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) {
            cr_assert_eq(errno, ENOENT, "%s: %s", path, strerror(errno));
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            scan(path, s);
            continue;
        }
        size_t n = strlen(e->d_name);
        if (strstr(e->d_name, ".tmp.") && !s->tmp_files++)
            snprintf(s->first_tmp, sizeof s->first_tmp, "%s", path);
        if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
        s->json++;
        s->metrics += !strcmp(e->d_name, "metrics.json");
        cl_json *doc;
        if (cl_json_parse_file(&doc, path) != 0 && !s->bad++)
            snprintf(s->first_bad, sizeof s->first_bad, "%s", cl_error_last());
        cl_json_free(doc);
    }
    closedir(d);
}

static pid_t start_sweep_group(const char *out)
{
    char log[512];
    snprintf(log, sizeof log, "%s/killed.log", tmp);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        setpgid(0, 0); /* its own group, so the test can kill it whole */
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0) _exit(127);
        execl(CL_TEST_BIN, CL_TEST_BIN, "sweep", FIX "kill.yaml", "--out", out, "-j", "2",
              "--quiet", (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    return pid;
}

Test(sweep, killed_sweep_leaves_valid_files_and_resumes, .init = make_tmp, .fini = remove_tmp,
     .timeout = 90)
{
    char ids[8][256], out[512];
    int n = grid_ids(FIX "kill.yaml", ids, 8);
    cr_assert_eq(n, 6);
    snprintf(out, sizeof out, "%s/out", tmp);
    pid_t pid = start_sweep_group(out);
    /* Kill the whole group as soon as a cell has finished. */
    file_scan s = {0};
    struct timespec nap = {0, 5 * 1000 * 1000};
    for (int i = 0; i < 6000 && s.metrics == 0; i++) {
        nanosleep(&nap, NULL);
        memset(&s, 0, sizeof s);
        if (cl_fs_exists(out)) scan(out, &s);
    }
    cr_assert_gt(s.metrics, 0, "no cell finished within 30 s");
    cr_assert_eq(kill(-pid, SIGKILL), 0);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the sweep ended before the kill");
    nanosleep(&nap, NULL); /* the workers die with their group */

    memset(&s, 0, sizeof s);
    scan(out, &s);
    cr_assert_eq(s.bad, 0, "%d unreadable JSON files, first: %s", s.bad, s.first_bad);
    int done = s.metrics;
    cr_assert(done >= 1 && done < n, "%d of %d cells finished at the kill", done, n);

    /* A finished cell has all its files (metrics.json is written last);
     * remember when each was written. */
    struct stat before[8];
    int finished[8] = {0};
    for (int i = 0; i < n; i++) {
        char path[768];
        metrics_path(path, sizeof path, ids[i]);
        finished[i] = stat(path, &before[i]) == 0;
        if (!finished[i]) continue;
        const char *files[] = {"config.yaml", "log.txt", "matrix.csv", "curve.csv"};
        for (int f = 0; f < 4; f++) {
            snprintf(path, sizeof path, "%s/%s/%s", out, ids[i], files[f]);
            cr_assert(cl_fs_exists(path), "%s missing beside a metrics.json", path);
        }
    }

    /* The plan: exactly the unfinished cells run. */
    cl_test_result r;
    sweep(&r, FIX "kill.yaml --out '%s' --dry-run", out);
    cr_assert_eq(r.code, 0);
    cr_assert_eq(cl_test_count_lines(r.out, "skip "), done, "%s", r.out);
    cr_assert_eq(cl_test_count_lines(r.out, "run "), n - done, "%s", r.out);
    for (int i = 0; i < n; i++) {
        char line[320];
        snprintf(line, sizeof line, "%s %d %.255s\n", finished[i] ? "skip" : "run", i, ids[i]);
        cr_assert_not_null(strstr(r.out, line), "want '%s' in\n%s", line, r.out);
    }
    cl_test_result_free(&r);

    sweep(&r, FIX "kill.yaml --out '%s' -j 2 --quiet", out);
    cr_assert_eq(r.code, 0, "stdout: %s\nstderr: %s", r.out, r.err);
    char want[256];
    snprintf(want, sizeof want, "%d ok (%d ran, %d already done)", n, n - done, done);
    cr_assert_not_null(strstr(r.out, want), "want '%s' in %s", want, r.out);
    cl_test_result_free(&r);

    /* Finished cells were not touched; every cell exists; no leftovers. */
    for (int i = 0; i < n; i++) {
        char path[768];
        struct stat now;
        metrics_path(path, sizeof path, ids[i]);
        cr_assert_eq(stat(path, &now), 0, "%s missing after the re-run", path);
        if (finished[i]) {
            cr_assert_eq(now.st_ino, before[i].st_ino, "%s was rewritten", path);
            cr_assert_eq(now.st_mtim.tv_sec, before[i].st_mtim.tv_sec);
            cr_assert_eq(now.st_mtim.tv_nsec, before[i].st_mtim.tv_nsec);
        }
    }
    memset(&s, 0, sizeof s);
    scan(out, &s);
    cr_assert_eq(s.bad, 0, "%s", s.first_bad);
    cr_assert_eq(s.metrics, n);
    cr_assert_eq(s.tmp_files, 0, "%d leftover .tmp. files after the re-run, first: %s",
                 s.tmp_files, s.first_tmp);
}
