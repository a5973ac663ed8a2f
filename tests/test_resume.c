/* Checkpoints and --resume end to end through the clbench binary
 * (CL_TEST_BIN): a run killed with SIGKILL after a task leaves a complete
 * checkpoint.bin and no metrics.json; --resume finishes it with the
 * metrics.json (timing lines aside), curve.csv and matrix.csv of an
 * uninterrupted run and removes the checkpoint. A damaged or foreign
 * checkpoint is a one-line input error (exit 2); --resume without one
 * starts from the first task. The per-strategy state itself is checked for
 * every registered strategy in test_strategy_contract.c. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cblas.h>
#include "clbench/store/ckpt.h"
#include "clbench/run/config.h"
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/run/runner.h"
#include "support.h"

/* Long enough to kill between tasks (~0.15 s a task), short overall. */
#define KILLABLE "--set train.steps=100 --set model.hidden=256,256"
/* Tiny: a run takes a few hundredths of a second. */
#define SMALL                                                                  \
    "--set train.steps=40 --set suite.train_per_class=100 "                    \
    "--set suite.test_per_class=50 --set model.hidden=64,64"
static const char *const small_sets[] = {"train.steps=40", "suite.train_per_class=100",
                                         "suite.test_per_class=50", "model.hidden=64,64"};

static char tmp[256];

static void make_tmp(void)
{
    openblas_set_num_threads(1);
    cl_test_tmpdir_new(tmp, sizeof tmp, "resume");
}

static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(resume, .init = make_tmp, .fini = remove_tmp, .timeout = 240);

/* Runs `CL_TEST_BIN args --out <tmp>/<out> --quiet` in the foreground. */
static void run(cl_test_result *r, const char *out, const char *args)
{
    cl_test_run_cli(r, tmp, "%s --out '%s/%s' --quiet", args, tmp, out);
}

static void run_ok(const char *out, const char *args)
{
    cl_test_result r;
    run(&r, out, args);
    cr_assert_eq(r.code, 0, "'%s' exited %d: %s", args, r.code, r.err);
    cl_test_result_free(&r);
}

/* Starts the same in the background (its own process, exec'd by sh). */
static pid_t spawn(const char *out, const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s %s --out '%s/%s' --quiet >/dev/null 2>&1 </dev/null",
             CL_TEST_BIN, args, tmp, out);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* <tmp>/<out>/<its single run folder> into buf, or 0 if there is none yet. */
static int run_dir(const char *out, char *buf, size_t n)
{
    char root[512];
    snprintf(root, sizeof root, "%s/%s", tmp, out);
    DIR *d = opendir(root);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            cr_assert_eq(found, 0, "%s holds more than one run", root);
            snprintf(buf, n, "%s/%s", root, e->d_name);
            found = 1;
        }
    closedir(d);
    return found;
}

static int exists_in(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return cl_fs_exists(p);
}

/* No checkpoint.bin nor a temporary of one. */
static void assert_no_checkpoint(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        cr_assert(strncmp(e->d_name, "checkpoint", 10) != 0, "%s/%s was left behind", dir,
                  e->d_name);
    closedir(d);
}

static int is_timing_line(const char *line)
{
    return strstr(line, "\"wall_s\"") || strstr(line, "\"train_s\"") ||
           strstr(line, "\"eval_s\"") || strstr(line, "\"peak_rss_bytes\"");
}

/* name in both folders: equal line by line, timing lines aside. */
static void same_file(const char *dir_a, const char *dir_b, const char *name)
{
    char pa[4096], pb[4096];
    snprintf(pa, sizeof pa, "%s/%s", dir_a, name);
    snprintf(pb, sizeof pb, "%s/%s", dir_b, name);
    char *a = cl_test_slurp(pa), *b = cl_test_slurp(pb), *sa = a, *sb = b;
    for (int line = 1;; line++) {
        char *ea = strchr(sa, '\n'), *eb = strchr(sb, '\n');
        if (ea) *ea = '\0';
        if (eb) *eb = '\0';
        if (!(is_timing_line(sa) && is_timing_line(sb)))
            cr_assert_str_eq(sa, sb, "%s line %d differs from the uninterrupted run", name, line);
        if (!ea || !eb) {
            cr_assert(!ea && !eb, "%s: lengths differ", name);
            break;
        }
        sa = ea + 1;
        sb = eb + 1;
    }
    free(a);
    free(b);
}

static void same_results(const char *ref, const char *dir)
{
    same_file(ref, dir, "metrics.json");
    same_file(ref, dir, "curve.csv");
    same_file(ref, dir, "matrix.csv");
}

/* Tasks done per the checkpoint's META section; fails unless the file is
 * a complete checkpoint of the run named after its folder. */
static int checkpoint_tasks(const char *dir)
{
    char path[4096], id[256];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    char *data;
    size_t len;
    cr_assert_eq(cl_fs_read_all(path, &data, &len), 0, "%s", cl_error_last());
    cl_ckpt_reader *r;
    cr_assert_eq(cl_ckpt_reader_new(&r, data, len, path), 0, "incomplete: %s", cl_error_last());
    int64_t done;
    cr_assert_eq(cl_ckpt_open(r, "META"), 0);
    cr_assert_eq(cl_ckpt_get_str(r, id, sizeof id), 0);
    cr_assert_str_eq(id, strrchr(dir, '/') + 1);
    char build[256];
    int64_t T, n_params;
    cr_assert_eq(cl_ckpt_get_str(r, build, sizeof build), 0);
    cr_assert_eq(cl_ckpt_get_i64(r, &T), 0);
    cr_assert_eq(cl_ckpt_get_i64(r, &n_params), 0);
    cr_assert_eq(cl_ckpt_get_i64(r, &done), 0);
    cl_ckpt_reader_free(r);
    free(data);
    return (int)done;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts `args` under "run", SIGKILLs it as soon as its first checkpoint
 * is in place, and checks what the kill left; dir gets the run folder. */
static int start_and_kill(const char *args, char *dir, size_t n)
{
    pid_t pid = spawn("run", args);
    int st, waited = 0;
    for (;;) {
        if (run_dir("run", dir, n) && exists_in(dir, "checkpoint.bin")) break;
        cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "the run ended before its first checkpoint");
        cr_assert(waited < 60000, "no checkpoint after 60 s");
        sleep_ms(2);
        waited += 2;
    }
    kill(pid, SIGKILL);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
              "the run finished before it could be killed");
    cr_assert(!exists_in(dir, "metrics.json"), "a killed run left metrics.json");
    int done = checkpoint_tasks(dir);
    cr_assert(done >= 1 && done <= 4, "checkpoint after %d tasks", done);
    return done;
}

/* Kill after a task, resume, compare with an uninterrupted run. `resume`
 * is the command line that finishes the run (`args` plus --resume). */
static void kill_and_resume(const char *args, const char *resume)
{
    char ref[1024], dir[1024];
    run_ok("ref", args);
    cr_assert(run_dir("ref", ref, sizeof ref));
    assert_no_checkpoint(ref);
    int done = start_and_kill(args, dir, sizeof dir);
    cl_test_result r;
    run(&r, "run", resume);
    cr_assert_eq(r.code, 0, "'%s' exited %d: %s", resume, r.code, r.err);
    cr_assert_eq(r.err[0], '\0', "--quiet run printed: %s", r.err);
    cl_test_result_free(&r);
    same_results(ref, dir);
    assert_no_checkpoint(dir);
    /* It did go on from the checkpoint rather than start over. */
    char path[1100], want[64];
    snprintf(path, sizeof path, "%s/log.txt", dir);
    snprintf(want, sizeof want, "resumed after task %d\n", done);
    char *log = cl_test_slurp(path);
    cr_assert(strstr(log, want), "'%s' not in log.txt:\n%s", want, log);
    free(log);
}

Test(resume, naive_killed_and_resumed_via_flags)
{
    kill_and_resume("--strategy naive " KILLABLE, "--strategy naive --resume " KILLABLE);
}

Test(resume, ewc_killed_and_resumed)
{
    /* A Fisher subset smaller than the task: drawn from the strategy's
     * stream, so the restored RNG state matters. */
    kill_and_resume("--strategy ewc --set ewc.samples=256 " KILLABLE,
                    "--strategy ewc --set ewc.samples=256 " KILLABLE " --resume");
}

Test(resume, replay_killed_and_resumed_via_experiment_file)
{
    char file[512], args[1024], resume[1100];
    snprintf(file, sizeof file, "%s/exp.yaml", tmp);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fprintf(f, "suite: seq-tasks\nstrategy: replay\nseed: 2\ntrain: {steps: 100}\nmodel: {hidden: [256, 256]}\n");
    fclose(f);
    snprintf(args, sizeof args, "run '%s'", file);
    snprintf(resume, sizeof resume, "run '%s' --resume", file);
    kill_and_resume(args, resume);
}

/* ---- checkpoints made through the library, no race ------------------------ */

typedef struct grab {
    int at;
    char *blob;
    size_t len;
} grab;

static int grab_at(void *user, int done, cl_ckpt_source write, void *write_ctx)
{
    grab *g = user;
    if (done == g->at) {
        cl_ckpt_mem m = {0};
        cr_assert_eq(write(write_ctx, cl_ckpt_mem_sink, &m), 0, "%s", cl_error_last());
        g->blob = (char *)m.data;
        g->len = m.len;
    }
    return 0;
}

/* The checkpoint after `at` tasks of naive, seed `seed`, SMALL settings,
 * as the CLI would write it; id gets the run id. */
static grab small_checkpoint(unsigned long seed, int at, char *id, size_t n)
{
    cl_config *c;
    cr_assert_eq(cl_config_new(&c, "seq-tasks", CL_SCENARIO_CLASS, "naive", seed), 0);
    for (size_t i = 0; i < sizeof small_sets / sizeof small_sets[0]; i++)
        cr_assert_eq(cl_config_set_arg(c, small_sets[i]), 0, "%s", cl_error_last());
    cl_config_run_id(c, id, n);
    grab g = {.at = at};
    cl_run_opts o = {.user = &g, .checkpoint = grab_at};
    cl_run_result *r;
    cr_assert_eq(cl_run_execute(&r, c, &o), 0, "%s", cl_error_last());
    cr_assert_not_null(g.blob);
    cl_run_result_free(r);
    cl_config_free(c);
    return g;
}

static void put_checkpoint(const char *out, const char *id, const void *data, size_t len)
{
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/%s/%s", tmp, out, id);
    cr_assert_eq(cl_fs_mkdirs(dir), 0);
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    cr_assert_eq(cl_fs_write_atomic(path, data, len), 0);
}

/* A one-line error naming the checkpoint that says `what`, exit 2, and
 * nothing written. */
static void expect_refused(const char *out, const char *id, const char *what)
{
    cl_test_result r;
    run(&r, out, "--strategy naive --resume " SMALL);
    const char *err = r.err;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s/%s", tmp, out, id);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, err);
    cr_assert(strstr(err, dir) && strstr(err, "checkpoint.bin"), "does not name the file: %s", err);
    cr_assert(strstr(err, what), "'%s' not in: %s", what, err);
    cr_assert(strchr(err, '\n') == err + strlen(err) - 1, "not one line: %s", err);
    cr_assert(!exists_in(dir, "metrics.json"));
    cr_assert(exists_in(dir, "checkpoint.bin"), "a refused checkpoint must stay for inspection");
    cl_test_result_free(&r);
}

Test(resume, resumes_from_a_library_checkpoint_and_refuses_bad_ones)
{
    char id[256], ref[1024], dir[1024];
    run_ok("ref", "--strategy naive " SMALL);
    cr_assert(run_dir("ref", ref, sizeof ref));
    grab g = small_checkpoint(0, 3, id, sizeof id);
    cr_assert_str_eq(strrchr(ref, '/') + 1, id, "library and CLI configs differ");

    /* Damaged: truncated, one flipped byte, not a checkpoint at all. */
    put_checkpoint("bad", id, g.blob, g.len / 2);
    expect_refused("bad", id, "truncated");
    g.blob[g.len - 9] ^= 4;
    put_checkpoint("bad", id, g.blob, g.len);
    expect_refused("bad", id, "checksum mismatch");
    g.blob[g.len - 9] ^= 4;
    put_checkpoint("bad", id, "garbage, not a checkpoint at all", 32);
    expect_refused("bad", id, "not a clbench checkpoint");
    /* Foreign: seed 1's checkpoint in seed 0's folder. */
    char other_id[256];
    grab other = small_checkpoint(1, 2, other_id, sizeof other_id);
    put_checkpoint("bad", id, other.blob, other.len);
    expect_refused("bad", id, "not of");
    free(other.blob);

    /* Without --resume a checkpoint is ignored: a fresh run replaces it. */
    run_ok("bad", "--strategy naive " SMALL);
    snprintf(dir, sizeof dir, "%s/bad/%s", tmp, id);
    same_results(ref, dir);
    assert_no_checkpoint(dir);

    /* The good one resumes and ends as the uninterrupted run. */
    put_checkpoint("good", id, g.blob, g.len);
    run_ok("good", "--strategy naive --resume " SMALL);
    snprintf(dir, sizeof dir, "%s/good/%s", tmp, id);
    same_results(ref, dir);
    assert_no_checkpoint(dir);
    char *log = cl_test_slurp(strcat(dir, "/log.txt"));
    cr_assert(strstr(log, "resumed after task 3"), "log: %s", log);
    free(log);
    free(g.blob);
}

Test(resume, without_a_checkpoint_starts_from_the_first_task)
{
    char ref[1024], dir[1024];
    run_ok("ref", "--strategy naive " SMALL);
    cr_assert(run_dir("ref", ref, sizeof ref));
    /* Not quiet here: the run says it starts over. */
    cl_test_result r;
    cl_test_run_cli(&r, tmp, "--strategy naive --resume " SMALL " --out '%s/run'", tmp);
    cr_assert_eq(r.code, 0);
    cr_assert(strstr(r.err, "no checkpoint"), "stderr: %s", r.err);
    cl_test_result_free(&r);
    cr_assert(run_dir("run", dir, sizeof dir));
    same_results(ref, dir);
    assert_no_checkpoint(dir);
    /* A finished run is not re-run by --resume. */
    run_ok("run", "--strategy naive --resume " SMALL);
}
