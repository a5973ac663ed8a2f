/* Experiment files: error positions, grid expansion, the effective config
 * read back, and `clbench run FILE.yaml` end to end (CL_TEST_BIN). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "clbench/run/config.h"
#include "clbench/base/error.h"
#include "clbench/run/experiment.h"
#include "clbench/base/fsutil.h"
#include "clbench/base/strbuf.h"
#include "support.h"

#define FIXTURES "tests/fixtures/experiment/"

TestSuite(experiment, .timeout = 60);

static cl_experiment *parse_ok(const char *text)
{
    cl_experiment *e = NULL;
    int rc = cl_experiment_parse(&e, "t.yaml", text, strlen(text));
    cr_assert_eq(rc, 0, "parse failed: %s\ntext:\n%s", cl_error_last(), text);
    cr_assert_not_null(e);
    return e;
}

/* text must fail with one line "t.yaml:LINE:COL: ..." holding every needle
 * (NULL-terminated). */
static void expect_error(const char *text, int line, int col, ...)
{
    cl_experiment *e = (cl_experiment *)&e;
    int rc = cl_experiment_parse(&e, "t.yaml", text, strlen(text));
    cr_assert_eq(rc, CL_EINVAL, "rc %d, want CL_EINVAL; text:\n%s", rc, text);
    cr_assert_null(e, "*out is not NULL after a failure");
    const char *msg = cl_error_last();
    char prefix[64];
    snprintf(prefix, sizeof prefix, "t.yaml:%d:%d: ", line, col);
    cr_assert_eq(strncmp(msg, prefix, strlen(prefix)), 0, "want '%s...', got '%s'; text:\n%s",
                 prefix, msg, text);
    cr_assert_null(strchr(msg, '\n'), "message is not one line: %s", msg);
    va_list ap;
    va_start(ap, col);
    for (const char *needle; (needle = va_arg(ap, const char *));)
        cr_assert_not_null(strstr(msg, needle), "'%s' lacks '%s'", msg, needle);
    va_end(ap);
}

/* ---- error positions ------------------------------------------------------ */

Test(experiment, unknown_top_level_key)
{
    expect_error("seed: 0\nstrategy: naive\nbogus: 1\n", 3, 1, "unknown key 'bogus'", "seeds",
                 "scenario", "train", "model", "naive", NULL);
    expect_error("seed: 0\n  # indented comment\n\"trian\": {lr: 1}\n", 3, 1, "'trian'", NULL);
}

Test(experiment, unknown_parameter)
{
    expect_error("train:\n  steps: 30\n  nosuch: 3\n", 3, 3, "train.nosuch", "lr", "batch_size",
                 NULL);
    expect_error("model: {hidden: [8], width: 3}\n", 1, 22, "model.width", "hidden", NULL);
    expect_error("suite:\n  name: seq-tasks\n  classes: 3\n", 3, 3, "suite.classes",
                 "classes_per_task", NULL);
    /* A parameter beside several strategies must be declared by each. */
    expect_error("strategy:\n  name: [naive, joint]\n  lambda: 3\n", 3, 3, "naive.lambda", NULL);
    expect_error("joint: {x: 1}\n", 1, 9, "joint.x", NULL);
    /* The name is checked before its value. */
    expect_error("train: {nosuch: {a: 1}}\n", 1, 9, "unknown parameter train.nosuch", NULL);
}

Test(experiment, wrong_type)
{
    expect_error("train:\n  lr: {a: 1}\n", 2, 7, "train.lr", "found a mapping", NULL);
    expect_error("train: 3\n", 1, 8, "train", "expected a mapping", "lr", NULL);
    expect_error("seed: [0, [1]]\n", 1, 11, "seed", "found a list", NULL);
    expect_error("seed: {a: 1}\n", 1, 7, "seed", "found a mapping", NULL);
    expect_error("threads: [1, 2]\n", 1, 10, "threads", "found a list", NULL);
    expect_error("model:\n  hidden: [[8, 8], [4, {a: 1}]]\n", 2, 24, "model.hidden",
                 "found a mapping", NULL);
    expect_error("- naive\n", 1, 1, "expected a mapping", NULL);
    expect_error("train:\n  lr:\n", 2, 6, "train.lr", "found nothing", NULL);
}

Test(experiment, out_of_range)
{
    /* The message is cl_params' own, behind the position. */
    cl_params *t;
    cr_assert_eq(cl_params_new(&t, "train", cl_train_params), 0);
    cr_assert_neq(cl_params_set(t, "steps", "0"), 0);
    char want[512];
    snprintf(want, sizeof want, "t.yaml:3:10: %s", cl_error_last());
    cl_params_free(t);
    const char *text = "seed: 0\ntrain:\n  steps: 0\n";
    cl_experiment *e = NULL;
    cr_assert_eq(cl_experiment_parse(&e, "t.yaml", text, strlen(text)), CL_EINVAL);
    cr_assert_str_eq(cl_error_last(), want);

    expect_error("train:\n  lr: [0.1, 0.01, -1]\n", 2, 19, "train.lr", "'-1'", NULL);
    expect_error("model:\n  hidden: [[8, 8], [0]]\n", 2, 20, "model.hidden", "'0'", NULL);
    expect_error("suite: {name: seq-tasks, tasks: 0}\n", 1, 33, "suite.tasks", NULL);
    expect_error("ewc: {lambda: -5}\n", 1, 15, "ewc.lambda", "'-5'", NULL);
    expect_error("threads: 0\n", 1, 10, "threads", "[1, 256]", NULL);
    expect_error("seeds: 0\n", 1, 8, "seeds", NULL);
    expect_error("seed: -1\n", 1, 7, "seed", NULL);
    expect_error("train: {optimizer: rmsprop}\n", 1, 20, "train.optimizer", "adam|sgd", NULL);
}

Test(experiment, unknown_names)
{
    expect_error("strategy:\n  name: [naive, nope]\n", 2, 17, "unknown strategy 'nope'", "naive",
                 NULL);
    expect_error("strategy: [naive, nope]\n", 1, 19, "'nope'", NULL);
    expect_error("strategy: nope\n", 1, 11, "'nope'", NULL);
    expect_error("suite: [seq-tasks, nosuch]\n", 1, 20, "unknown suite 'nosuch'", "seq-tasks",
                 NULL);
    expect_error("scenario: [class, bogus]\n", 1, 19, "unknown scenario 'bogus'", "domain", NULL);
}

Test(experiment, yaml_syntax)
{
    expect_error("train:\n  lr: 0.1\n lr: 3\n", 3, 2, "YAML syntax error", "block mapping", NULL);
    expect_error("seed: [1, 2\n", 2, 1, "YAML syntax error", "flow sequence", NULL);
    expect_error("seed: 1\nx: *nosuch\n", 2, 4, "YAML syntax error", "alias", NULL);
    expect_error("seed: \"a\xff\"\n", 1, 9, "YAML syntax error", "UTF-8", NULL);
    expect_error("", 1, 1, "empty", NULL);
    expect_error("seed: 1\n---\nseed: 2\n", 3, 1, "one YAML document", NULL);
}

Test(experiment, duplicate_key)
{
    expect_error("train:\n  lr: 0.1\n  steps: 5\n  lr: 3\n", 4, 3, "duplicate key 'lr'",
                 "line 2, column 3", NULL);
    expect_error("seed: 0\nstrategy: naive\nseed: 1\n", 3, 1, "duplicate key 'seed'", NULL);
}

Test(experiment, relations)
{
    expect_error("seed: 1\nseeds: [1, 2]\n", 2, 1, "seeds", NULL);
    expect_error("train: {steps: 10, epochs: 2}\n", 1, 1, "train.steps", "train.epochs", NULL);
    expect_error("suite: fact-stream\nscenario: class\n", 2, 11, "does not support", NULL);
}

/* ---- expansion -------------------------------------------------------------- */

Test(experiment, grid_counts_and_order)
{
    cl_experiment *e =
        parse_ok("seeds: 3\nstrategy: [naive, joint]\ntrain:\n  lr: [0.01, 0.001]\n");
    cr_assert_eq(cl_experiment_count(e), 12);
    cl_config **c = cl_experiment_cells(e);
    for (int i = 0; i < 12; i++) {
        /* seed-major; joint first; the lr axis varies fastest */
        cr_assert_eq(c[i]->seed, (unsigned long)(i / 4), "cell %d seed %lu", i, c[i]->seed);
        cr_assert_str_eq(c[i]->strategy, i % 4 < 2 ? "joint" : "naive", "cell %d", i);
        cr_assert_eq(cl_params_float(c[i]->train, "lr"), i % 2 ? 0.001 : 0.01, "cell %d", i);
        cr_assert_str_eq(c[i]->suite, "seq-tasks");
        cr_assert_eq(c[i]->scenario, CL_SCENARIO_CLASS);
        cr_assert_eq(c[i]->threads, 1);
        cr_assert_eq(cl_params_int(c[i]->train, "steps"), 300, "other parameters at defaults");
    }
    cl_experiment_free(e);

    /* Several axes: the first in the file varies slowest. */
    e = parse_ok("train: {lr: [0.1, 0.2], batch_size: [8, 16, 32]}\nmodel: {hidden: [[4], [8]]}\n");
    cr_assert_eq(cl_experiment_count(e), 12);
    c = cl_experiment_cells(e);
    const long *h;
    for (int i = 0; i < 12; i++) {
        cr_assert_eq(cl_params_float(c[i]->train, "lr"), i < 6 ? 0.1 : 0.2, "cell %d", i);
        cr_assert_eq(cl_params_int(c[i]->train, "batch_size"), 8L << (i / 2 % 3), "cell %d", i);
        cr_assert_eq(cl_params_ints(c[i]->model, "hidden", &h), 1);
        cr_assert_eq(h[0], i % 2 ? 8 : 4, "cell %d", i);
    }
    cl_experiment_free(e);
}

Test(experiment, per_strategy_sections)
{
    const cl_strategy_ops *ops;
    cr_assert_eq(cl_strategy_find(&ops, "ewc"), 0, "ewc is registered");
    cl_experiment *e = parse_ok("seeds: 2\nstrategy: [naive, ewc]\newc: {lambda: [10, 100]}\n");
    cr_assert_eq(cl_experiment_count(e), 6, "naive is not multiplied by ewc's grid");
    cl_config **c = cl_experiment_cells(e);
    static const char *const want[3] = {"naive", "ewc", "ewc"};
    for (int i = 0; i < 6; i++) {
        cr_assert_str_eq(c[i]->strategy, want[i % 3], "cell %d", i);
        cr_assert_eq(c[i]->seed, (unsigned long)(i / 3));
    }
    cr_assert_eq(cl_params_float(c[1]->strat, "lambda"), 10);
    cr_assert_eq(cl_params_float(c[2]->strat, "lambda"), 100);
    cl_experiment_free(e);

    /* Parameters beside the name apply to that strategy; a section for a
     * strategy that does not run is validated but makes no cells. */
    e = parse_ok("strategy: {name: ewc, lambda: [1, 2, 3], online: true}\njoint: {}\n");
    cr_assert_eq(cl_experiment_count(e), 3);
    c = cl_experiment_cells(e);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(cl_params_float(c[i]->strat, "lambda"), i + 1);
        cr_assert(cl_params_bool(c[i]->strat, "online"));
    }
    cl_experiment_free(e);
    expect_error("strategy: {name: ewc, lambda: 10}\newc: {lambda: 3}\n", 2, 7,
                 "ewc.lambda is given twice", "line 1, column 23", NULL);
}

Test(experiment, hidden_lists)
{
    const long *h;
    cl_experiment *e = parse_ok("model: {hidden: [64, 32, 16]}\n");
    cr_assert_eq(cl_experiment_count(e), 1, "a flat list is one value");
    cr_assert_eq(cl_params_ints(cl_experiment_cells(e)[0]->model, "hidden", &h), 3);
    cr_assert(h[0] == 64 && h[1] == 32 && h[2] == 16);
    cl_experiment_free(e);

    e = parse_ok("model:\n  hidden:\n    - [64, 64]\n    - [32]\n    - 7\n");
    cr_assert_eq(cl_experiment_count(e), 3, "a list of lists is a grid");
    cl_config **c = cl_experiment_cells(e);
    cr_assert_eq(cl_params_ints(c[0]->model, "hidden", &h), 2);
    cr_assert(h[0] == 64 && h[1] == 64);
    cr_assert_eq(cl_params_ints(c[1]->model, "hidden", &h), 1);
    cr_assert_eq(h[0], 32);
    cr_assert_eq(cl_params_ints(c[2]->model, "hidden", &h), 1);
    cr_assert_eq(h[0], 7);
    cl_experiment_free(e);

    e = parse_ok("model: {hidden: 128}\n");
    cr_assert_eq(cl_params_ints(cl_experiment_cells(e)[0]->model, "hidden", &h), 1);
    cr_assert_eq(h[0], 128);
    cl_experiment_free(e);
}

static void expect_seeds(const char *text, int n, const unsigned long *want)
{
    cl_experiment *e = parse_ok(text);
    cr_assert_eq(cl_experiment_count(e), n, "'%s': %d cells", text, cl_experiment_count(e));
    for (int i = 0; i < n; i++)
        cr_assert_eq(cl_experiment_cells(e)[i]->seed, want[i], "'%s' cell %d", text, i);
    cl_experiment_free(e);
}

Test(experiment, seeds)
{
    expect_seeds("seeds: 3\n", 3, (const unsigned long[]){0, 1, 2});
    expect_seeds("seed: 5\nseeds: 2\n", 2, (const unsigned long[]){5, 6});
    expect_seeds("seeds: [4, 9]\n", 2, (const unsigned long[]){4, 9});
    expect_seeds("seed: [2, 1]\n", 2, (const unsigned long[]){2, 1});
    expect_seeds("seed: 4294967295\n", 1, (const unsigned long[]){4294967295UL});
    expect_seeds("strategy: naive\n", 1, (const unsigned long[]){0});
    expect_error("seed: 4294967295\nseeds: 2\n", 2, 8, "seeds", NULL);
}

Test(experiment, names_and_defaults)
{
    cl_experiment *e = parse_ok("strategy: all\n");
    int n = cl_experiment_count(e);
    cr_assert_eq(n, cl_strategy_count());
    cl_config **c = cl_experiment_cells(e);
    cr_assert_str_eq(c[0]->strategy, "joint", "joint runs first (intransigence)");
    for (int i = 1; i < n; i++)
        cr_assert_str_eq(c[i]->strategy, cl_strategy_at(i - 1)->name, "cell %d", i);
    cl_experiment_free(e);

    /* An empty mapping is the CLI's defaults; empty sections are allowed. */
    e = parse_ok("{}\n");
    cr_assert_eq(cl_experiment_count(e), 1);
    c = cl_experiment_cells(e);
    cr_assert_str_eq(c[0]->suite, "seq-tasks");
    cr_assert_str_eq(c[0]->strategy, "naive");
    cr_assert_eq(c[0]->scenario, CL_SCENARIO_CLASS);
    cl_experiment_free(e);
    e = parse_ok("train:\nmodel: ~\nsuite: {tasks: 3}\nstrategy: {name: joint}\nthreads: 4\n"
                 "data_dir: /data/x\nscenario: domain\n");
    c = cl_experiment_cells(e);
    cr_assert_eq(cl_experiment_count(e), 1);
    cr_assert_eq(cl_params_int(c[0]->suite_p, "tasks"), 3);
    cr_assert_str_eq(c[0]->strategy, "joint");
    cr_assert_eq(c[0]->threads, 4);
    cr_assert_str_eq(c[0]->data_dir, "/data/x");
    cr_assert_eq(c[0]->scenario, CL_SCENARIO_DOMAIN);
    cl_experiment_free(e);
}

Test(experiment, duplicates_and_defaults)
{
    /* The same value twice is one run. */
    cl_experiment *e = parse_ok("train: {lr: [0.001, 1e-3, 0.01]}\nseed: [1, 1]\n");
    cr_assert_eq(cl_experiment_count(e), 2);
    cl_experiment_free(e);
    /* A value at its default counts as unset: an effective config lists
     * steps beside epochs. */
    e = parse_ok("train: {steps: 300, epochs: 2}\n");
    cr_assert_eq(cl_params_int(cl_experiment_cells(e)[0]->train, "epochs"), 2);
    cr_assert_not(cl_params_is_set(cl_experiment_cells(e)[0]->train, "steps"));
    cl_experiment_free(e);
}

Test(experiment, grid_limit)
{
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_strbuf_puts(&b, "seeds: 101\ntrain:\n  steps: [");
    for (int i = 1; i <= 100; i++) cl_strbuf_printf(&b, "%s%d", i > 1 ? ", " : "", i);
    cl_strbuf_puts(&b, "]\n");
    expect_error(b.s, 1, 1, "10100 runs", "10000", NULL);
    cl_strbuf_release(&b);
}

/* ---- the effective config read back ------------------------------------------ */

static void round_trip(cl_config *c)
{
    cl_strbuf y;
    cl_strbuf_init(&y);
    cl_config_yaml(c, &y);
    char id[256], id2[256];
    cl_config_run_id(c, id, sizeof id);
    cl_experiment *e = NULL;
    int rc = cl_experiment_parse(&e, "config.yaml", y.s, y.len);
    cr_assert_eq(rc, 0, "%s does not read back: %s\n%s", id, cl_error_last(), y.s);
    cr_assert_eq(cl_experiment_count(e), 1);
    cl_config *back = cl_experiment_cells(e)[0];
    cl_config_run_id(back, id2, sizeof id2);
    cr_assert_str_eq(id2, id);
    cl_strbuf y2;
    cl_strbuf_init(&y2);
    cl_config_yaml(back, &y2);
    cr_assert_str_eq(y2.s, y.s);
    cl_strbuf_release(&y2);
    cl_strbuf_release(&y);
    cl_experiment_free(e);
    cl_config_free(c);
}

static cl_config *make(const char *suite, cl_scenario sc, const char *strategy, unsigned long seed,
                       const char *const *sets)
{
    cl_config *c;
    cr_assert_eq(cl_config_new(&c, suite, sc, strategy, seed), 0, "%s", cl_error_last());
    for (int i = 0; sets && sets[i]; i++)
        cr_assert_eq(cl_config_set_arg(c, sets[i]), 0, "%s", cl_error_last());
    cr_assert_eq(cl_config_validate(c), 0, "%s", cl_error_last());
    return c;
}

Test(experiment, effective_config_round_trip)
{
    cl_config *c =
        make("seq-tasks", CL_SCENARIO_TASK, "naive", 7,
             (const char *const[]){"model.hidden=16,8,4", "train.optimizer=sgd", "train.lr=0.05",
                                   "train.epochs=2", "suite.tasks=3", "train.reset_optim=false",
                                   "suite.overlap=0.25", NULL});
    c->threads = 2;
    snprintf(c->data_dir, sizeof c->data_dir, "/tmp/some dir/x");
    round_trip(c);
    round_trip(make("split-fmnist", CL_SCENARIO_CLASS, "joint", 3,
                    (const char *const[]){"suite.class_order=shuffled", "train.eps=1e-06", NULL}));
    /* Every registered strategy at non-default shared settings. */
    for (int i = 0; i < cl_strategy_count(); i++)
        round_trip(make("seq-tasks", CL_SCENARIO_DOMAIN, cl_strategy_at(i)->name, 11,
                        (const char *const[]){"train.steps=77", "train.batch_size=5",
                                              "train.weight_decay=0.0001", NULL}));
    const cl_strategy_ops *ops;
    if (cl_strategy_find(&ops, "ewc") == 0)
        round_trip(make("seq-tasks", CL_SCENARIO_CLASS, "ewc", 0,
                        (const char *const[]){"ewc.lambda=12.5", "ewc.online=true", NULL}));
}

/* ---- clbench run, end to end ------------------------------------------------ */

static char tmp[256];

static void make_tmp(void) { cl_test_tmpdir_new(tmp, sizeof tmp, "exp"); }
static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

static void run_bin(cl_test_result *r, const char *args) { cl_test_run_cli(r, tmp, "%s", args); }

Test(experiment, cli_run_end_to_end, .init = make_tmp, .fini = remove_tmp)
{
    cl_test_result r;
    char args[1024], path[2048];
    snprintf(args, sizeof args, "run " FIXTURES "tiny.yaml --dry-run --out '%s/runs'", tmp);
    run_bin(&r, args);
    cr_assert_eq(r.code, 0, "dry run exited %d: %s", r.code, r.err);
    char ids[4][128];
    int n = 0;
    for (char *line = strtok(r.out, "\n"); line && n < 5; line = strtok(NULL, "\n"), n++)
        if (n < 4) snprintf(ids[n], sizeof ids[n], "%s", line);
    cr_assert_eq(n, 4, "dry run listed %d runs:\n%s", n, r.out);
    cr_assert_eq(strncmp(ids[0], "seq-tasks-class-joint-s3-", 25), 0, "%s", ids[0]);
    cr_assert_eq(strncmp(ids[1], "seq-tasks-class-naive-s3-", 25), 0, "%s", ids[1]);
    cr_assert_eq(strncmp(ids[2], "seq-tasks-task-joint-s3-", 24), 0, "%s", ids[2]);
    cr_assert_eq(strncmp(ids[3], "seq-tasks-task-naive-s3-", 24), 0, "%s", ids[3]);
    snprintf(path, sizeof path, "%s/runs", tmp);
    cr_assert_not(cl_fs_exists(path), "--dry-run wrote %s", path);
    cl_test_result_free(&r);

    snprintf(args, sizeof args, "run " FIXTURES "tiny.yaml --out '%s/runs' --quiet", tmp);
    run_bin(&r, args);
    cr_assert_eq(r.code, 0, "run exited %d: %s", r.code, r.err);
    cr_assert_str_eq(r.err, "");
    /* One comparison table per scenario. */
    cr_assert_not_null(strstr(r.out, "seq-tasks (class scenario)"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "seq-tasks (task scenario)"), "%s", r.out);
    cl_test_result_free(&r);
    snprintf(path, sizeof path, "%s/runs", tmp);
    cr_assert_eq(cl_test_dir_count(path), 4);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/runs/%s/metrics.json", tmp, ids[i]);
        cr_assert(cl_fs_exists(path), "%s is missing", path);
    }

    /* A run's config.yaml names that run again: the same id, not re-run. */
    snprintf(path, sizeof path, "%s/runs/%s/metrics.json", tmp, ids[3]);
    struct stat st1, st2;
    cr_assert_eq(stat(path, &st1), 0);
    snprintf(args, sizeof args, "run '%s/runs/%s/config.yaml' --dry-run", tmp, ids[3]);
    run_bin(&r, args);
    cr_assert_eq(r.code, 0, "%s", r.err);
    char want[160];
    snprintf(want, sizeof want, "%s\n", ids[3]);
    cr_assert_str_eq(r.out, want);
    cl_test_result_free(&r);
    snprintf(args, sizeof args, "run '%s/runs/%s/config.yaml' --out '%s/runs' --format json", tmp,
             ids[3], tmp);
    run_bin(&r, args);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "not re-running"), "%s", r.err);
    cr_assert_not_null(strstr(r.out, ids[3]), "%s", r.out);
    cl_test_result_free(&r);
    cr_assert_eq(stat(path, &st2), 0);
    cr_assert_eq(st1.st_ino, st2.st_ino, "the repeated run rewrote metrics.json");
    snprintf(path, sizeof path, "%s/runs", tmp);
    cr_assert_eq(cl_test_dir_count(path), 4);
}

Test(experiment, cli_run_bad_file, .init = make_tmp, .fini = remove_tmp)
{
    cl_test_result r;
    char args[1024], path[512];
    snprintf(args, sizeof args, "run " FIXTURES "bad-value.yaml --out '%s/runs' --quiet", tmp);
    run_bin(&r, args);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    const char *want = FIXTURES "bad-value.yaml:6:7: parameter train.lr: '-1'";
    cr_assert_eq(strncmp(r.err, want, strlen(want)), 0, "stderr: %s", r.err);
    cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "not one line: %s", r.err);
    cr_assert_str_eq(r.out, "");
    snprintf(path, sizeof path, "%s/runs", tmp);
    cr_assert_not(cl_fs_exists(path), "a bad file created %s", path);
    cl_test_result_free(&r);

    snprintf(args, sizeof args, "run %s/missing.yaml --out '%s/runs'", tmp, tmp);
    run_bin(&r, args);
    cr_assert_eq(r.code, 2);
    cr_assert_not_null(strstr(r.err, "missing.yaml"), "%s", r.err);
    cl_test_result_free(&r);
    snprintf(args, sizeof args, "run " FIXTURES "tiny.yaml --threads 0 --out '%s/runs'", tmp);
    run_bin(&r, args);
    cr_assert_eq(r.code, 2);
    cr_assert_not_null(strstr(r.err, "--threads"), "%s", r.err);
    cl_test_result_free(&r);
    cr_assert_not(cl_fs_exists(path));
}

/* model: {net: gpt, ...}: the net picks the table the other keys are checked
 * against, whatever their order, and switches every cell to it. */
Test(experiment, model_net_selects_the_table)
{
    cl_experiment *e = parse_ok("model:\n  layers: 3\n  net: gpt\n  d_model: 32\n");
    cr_assert_eq(cl_experiment_count(e), 1);
    cl_config *c = cl_experiment_cells(e)[0];
    cr_assert_eq(c->net, &cl_net_gpt);
    cr_assert_eq(cl_params_int(c->model, "layers"), 3);
    cr_assert_eq(cl_params_int(c->model, "d_model"), 32);
    cl_experiment_free(e);
    expect_error("model:\n  net: gpt\n  hidden: [8]\n", 3, 3, "model.hidden", NULL);
    expect_error("model:\n  net: rnn\n", 2, 8, "rnn", NULL);
    expect_error("model:\n  net: [mlp, gpt]\n", 2, 8, "model.net", NULL);
}
