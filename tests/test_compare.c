/* The regression gate (compare.h and `clbench compare`). Baseline and
 * current runs are minimal metrics.json files written into a fresh
 * temporary folder per test (<tmp>/base, <tmp>/cur), so every case states
 * its numbers next to its assertions; the library is checked for verdicts
 * and the binary (CL_TEST_BIN) for exit codes and what the report names. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/report/compare.h"
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/report/runset.h"
#include "support.h"

#define FIXTURE "tests/fixtures/compare/bundle.json"

static char tmp[256];

static void make_tmp(void) { cl_test_tmpdir_new(tmp, sizeof tmp, "compare"); }
static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(compare, .init = make_tmp, .fini = remove_tmp, .timeout = 30);

/* One cell's runs: seeds 0..n-1 with these metric values; the metrics not
 * listed are the same constants on every run, so they never move. */
typedef struct cellspec {
    const char *set;        /* "base" or "cur": the folder under tmp */
    const char *strategy;   /* default naive */
    const char *params;     /* strategy params as JSON, default {} */
    int steps;              /* train.steps, default 300 */
    int n;
    double acc[4], forgetting[4];
    const char *status[4];  /* default "ok" */
    const char *intrans;    /* intransigence as JSON, default null */
    int same_seed;          /* every run has seed 0, as in a merged folder */
} cellspec;

static unsigned hash(const char *s, unsigned h)
{
    for (; *s; s++) h = h * 33u + (unsigned char)*s;
    return h;
}

static void write_cell(const cellspec *c)
{
    const char *strategy = c->strategy ? c->strategy : "naive";
    const char *params = c->params ? c->params : "{}";
    int steps = c->steps ? c->steps : 300;
    char steps_s[16];
    snprintf(steps_s, sizeof steps_s, "%d", steps);
    unsigned h = hash(steps_s, hash(params, 5381u));
    for (int i = 0; i < c->n; i++) {
        char id[128], dir[512], path[640], text[2048];
        snprintf(id, sizeof id, "seq-tasks-class-%s-s%d-%08x", strategy, i, h);
        snprintf(dir, sizeof dir, "%s/%s/%s", tmp, c->set, id);
        cr_assert_eq(cl_fs_mkdirs(dir), 0, "cannot create %s", dir);
        const char *status = c->status[i] ? c->status[i] : "ok";
        int ok = !strcmp(status, "ok");
        char metrics[512];
        if (ok)
            snprintf(metrics, sizeof metrics,
                     "{\"acc\": %.17g, \"bwt\": -0.2, \"bwt_gemcode\": -0.1, \"fwt\": 0.01, "
                     "\"forgetting\": %.17g, \"learning_accuracy\": 0.9, \"a_diaz\": 0.7, "
                     "\"anytime_acc\": 0.6, \"min_acc\": 0.2, \"intransigence\": %s}",
                     c->acc[i], c->forgetting[i], c->intrans ? c->intrans : "null");
        else
            snprintf(metrics, sizeof metrics,
                     "{\"acc\": null, \"bwt\": null, \"fwt\": null, \"forgetting\": null, "
                     "\"learning_accuracy\": null, \"a_diaz\": null, \"anytime_acc\": null, "
                     "\"min_acc\": null, \"intransigence\": null}");
        int len = snprintf(text, sizeof text,
                           "{\"schema_version\": 1, \"run_id\": \"%s\", \"suite\": \"seq-tasks\", "
                           "\"scenario\": \"class\", \"strategy\": \"%s\", \"seed\": %d, "
                           "\"params\": %s, \"suite_params\": {\"tasks\": 3}, "
                           "\"model\": {\"hidden\": [32]}, "
                           "\"train\": {\"steps\": %d, \"batch_size\": 32}, \"tasks\": 3, "
                           "\"protocol\": {\"steps_per_task\": %d, \"batch_size\": 32}, "
                           "\"metrics\": %s, \"status\": \"%s\"}\n",
                           id, strategy, c->same_seed ? 0 : i, params, steps, steps, metrics,
                           status);
        snprintf(path, sizeof path, "%s/metrics.json", dir);
        cr_assert_eq(cl_fs_write_atomic(path, text, (size_t)len), 0, "cannot write %s", path);
    }
}

/* ---- the binary ---- */

/* `CL_TEST_BIN compare <args>`; %B and %C in args stand for the base and
 * current folders (printf-style formatting first). */
static void run_compare(cl_test_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void run_compare(cl_test_result *r, const char *fmt, ...)
{
    char args[1024], expanded[3072];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    size_t k = 0;
    for (const char *p = args; *p && k < sizeof expanded - 600; p++) {
        if (p[0] == '%' && (p[1] == 'B' || p[1] == 'C')) {
            k += (size_t)snprintf(expanded + k, sizeof expanded - k, "'%s/%s'", tmp,
                                  p[1] == 'B' ? "base" : "cur");
            p++;
        } else {
            expanded[k++] = *p;
        }
    }
    expanded[k] = '\0';
    cl_test_run_cli(r, tmp, "compare %s", expanded);
}

static void expect_code(const cl_test_result *r, int code)
{
    cr_assert_eq(r->code, code, "exit %d, want %d; stdout:\n%s\nstderr:\n%s", r->code, code,
                 r->out, r->err);
}

/* The line of text holding needle, into buf ("" when absent). */
/* compare ARGS exits 0 and its output never mentions `absent`. */
static void expect_pass_without(const char *args, const char *absent)
{
    cl_test_result r;
    run_compare(&r, "%s", args);
    expect_code(&r, 0);
    cr_assert_null(strstr(r.out, absent), "%s", r.out);
    cl_test_result_free(&r);
}

static const char *line_with(char *buf, size_t n, const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    buf[0] = '\0';
    if (!p) return buf;
    const char *a = p, *b = p;
    while (a > text && a[-1] != '\n') a--;
    while (*b && *b != '\n') b++;
    snprintf(buf, n, "%.*s", (int)(b - a), a);
    return buf;
}

/* The section of a Markdown report that starts at heading (to the next
 * "### " heading), into buf. */
static const char *section(char *buf, size_t n, const char *text, const char *heading)
{
    const char *p = strstr(text, heading);
    buf[0] = '\0';
    if (!p) return buf;
    const char *end = strstr(p + 1, "\n### ");
    snprintf(buf, n, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
    return buf;
}

/* ---- the library ---- */

typedef struct loaded {
    cl_runset *base, *cur;
    cl_compare *cmp;
} loaded;

static void load(loaded *L, const char *base, const char *cur, const cl_compare_opts *opts)
{
    char b[512], c[512];
    snprintf(b, sizeof b, "%s", base);
    snprintf(c, sizeof c, "%s", cur);
    char *pb = b, *pc = c;
    cr_assert_eq(cl_runset_load(&L->base, &pb, 1), 0, "load %s: %s", b, cl_error_last());
    cr_assert_eq(cl_runset_load(&L->cur, &pc, 1), 0, "load %s: %s", c, cl_error_last());
    cl_compare_opts d;
    cl_compare_opts_default(&d);
    cr_assert_eq(cl_compare_new(&L->cmp, L->base, L->cur, opts ? opts : &d), 0, "%s",
                 cl_error_last());
}

static void load_tmp(loaded *L, const cl_compare_opts *opts)
{
    char b[512], c[512];
    snprintf(b, sizeof b, "%s/base", tmp);
    snprintf(c, sizeof c, "%s/cur", tmp);
    load(L, b, c, opts);
}

static void unload(loaded *L)
{
    cl_compare_free(L->cmp);
    cl_runset_free(L->base);
    cl_runset_free(L->cur);
}

/* ---- cases ---- */

Test(compare, clear_regression_fails_and_names_cell_and_metric)
{
    write_cell(&(cellspec){.set = "base", .n = 3, .acc = {0.80, 0.81, 0.79}});
    write_cell(&(cellspec){.set = "cur", .n = 3, .acc = {0.70, 0.71, 0.69}});

    loaded L = {0};
    load_tmp(&L, NULL);
    cr_assert_eq(L.cmp->n_matched, 1);
    const cl_compare_cell *e = &L.cmp->cells[0];
    cr_assert_eq(e->m[CL_CMP_ACC].verdict, CL_CMP_REGRESSION);
    cr_assert_float_eq(e->m[CL_CMP_ACC].delta, -0.10, 1e-12);
    cr_assert_lt(e->m[CL_CMP_ACC].p, 0.001, "p = %g", e->m[CL_CMP_ACC].p);
    for (int m = 0; m < CL_CMP_N_METRICS; m++)
        if (m != CL_CMP_ACC && e->m[m].shown)
            cr_assert_eq(e->m[m].verdict, CL_CMP_PASS, "%s: verdict %d",
                         cl_compare_metric_name(m), e->m[m].verdict);
    cr_assert(L.cmp->failed);
    unload(&L);

    cl_test_result r;
    run_compare(&r, "%%B %%C");
    expect_code(&r, 3);
    cr_assert(strstr(r.out, "## clbench compare: \xE2\x9D\x8C REGRESSION"), "%s", r.out);
    char sec[4096], line[512];
    section(sec, sizeof sec, r.out, "### Regressions");
    line_with(line, sizeof line, sec, "seq-tasks / class / naive");
    cr_assert(strstr(line, "`acc` 0.8000 -> 0.7000 (delta -0.1000"), "regression line: '%s'", line);
    cr_assert_null(strstr(sec, "forgetting"), "only acc regressed:\n%s", sec);
    /* The detail table marks the row too. */
    line_with(line, sizeof line, r.out, "| acc |");
    cr_assert(strstr(line, "REGRESSION"), "table row: '%s'", line);
    cl_test_result_free(&r);

    run_compare(&r, "--format text %%B %%C");
    expect_code(&r, 3);
    cr_assert_eq(strncmp(r.out, "clbench compare: REGRESSION\n", 28), 0, "%s", r.out);
    cr_assert_null(strchr(r.out, '|'), "text output has no Markdown table:\n%s", r.out);
    line_with(line, sizeof line, r.out, "  naive ");
    cr_assert(strstr(line, "acc") && strstr(line, "REGRESSION"), "text row: '%s'", line);
    cl_test_result_free(&r);
}

Test(compare, noise_within_the_interval_passes)
{
    write_cell(&(cellspec){.set = "base", .n = 3, .acc = {0.800, 0.810, 0.790},
                           .forgetting = {0.300, 0.310, 0.290}});
    write_cell(&(cellspec){.set = "cur", .n = 3, .acc = {0.805, 0.795, 0.812},
                           .forgetting = {0.305, 0.295, 0.308}});
    loaded L = {0};
    load_tmp(&L, NULL);
    cr_assert_eq(L.cmp->cells[0].m[CL_CMP_ACC].verdict, CL_CMP_PASS);
    cr_assert_eq(L.cmp->cells[0].m[CL_CMP_FORGETTING].verdict, CL_CMP_PASS);
    cr_assert_not(L.cmp->failed);
    unload(&L);

    cl_test_result r;
    run_compare(&r, "%%B %%C");
    expect_code(&r, 0);
    cr_assert(strstr(r.out, "## clbench compare: \xE2\x9C\x85 PASS"), "%s", r.out);
    cr_assert_null(strstr(r.out, "### Regressions"), "%s", r.out);
    cl_test_result_free(&r);
}

Test(compare, large_drop_with_huge_variance_is_not_significant)
{
    /* Means 0.75 -> 0.6833: a drop of 0.067 > 0.02, but the seeds scatter
     * over half the scale. */
    write_cell(&(cellspec){.set = "base", .n = 3, .acc = {0.95, 0.40, 0.90}});
    write_cell(&(cellspec){.set = "cur", .n = 3, .acc = {0.30, 0.95, 0.80}});
    loaded L = {0};
    load_tmp(&L, NULL);
    const cl_compare_metric *m = &L.cmp->cells[0].m[CL_CMP_ACC];
    cr_assert_gt(m->drop, 0.02);
    cr_assert_gt(m->p, 0.05, "p = %g", m->p);
    cr_assert_eq(m->verdict, CL_CMP_NOT_SIGNIFICANT);
    unload(&L);

    cl_test_result r;
    run_compare(&r, "%%B %%C");
    expect_code(&r, 0);
    char line[512];
    line_with(line, sizeof line, r.out, "| acc |");
    cr_assert(strstr(line, "drop, not significant"), "row: '%s'", line);
    cl_test_result_free(&r);

    /* A looser alpha makes the same drop a regression: the test decides. */
    run_compare(&r, "--alpha 0.45 %%B %%C");
    expect_code(&r, 3);
    cl_test_result_free(&r);
}

Test(compare, single_seed_is_judged_by_the_threshold_alone)
{
    write_cell(&(cellspec){.set = "base", .n = 1, .acc = {0.80}});
    write_cell(&(cellspec){.set = "cur", .n = 1, .acc = {0.77}});
    loaded L = {0};
    load_tmp(&L, NULL);
    const cl_compare_metric *m = &L.cmp->cells[0].m[CL_CMP_ACC];
    cr_assert(m->threshold_only);
    cr_assert(isnan(m->p));
    cr_assert_eq(m->verdict, CL_CMP_REGRESSION);
    unload(&L);

    cl_test_result r;
    run_compare(&r, "%%B %%C");
    expect_code(&r, 3);
    cr_assert(strstr(r.out, "the threshold alone decides"), "%s", r.out);
    char line[512];
    line_with(line, sizeof line, r.out, "| acc |");
    cr_assert(strstr(line, "| 1 seed |"), "row: '%s'", line);
    cl_test_result_free(&r);

    /* 0.03 is within a --max-drop of 0.05. */
    run_compare(&r, "--max-drop 0.05 %%B %%C");
    expect_code(&r, 0);
    cl_test_result_free(&r);
}

Test(compare, single_seed_small_drop_passes)
{
    write_cell(&(cellspec){.set = "base", .n = 1, .acc = {0.80}});
    write_cell(&(cellspec){.set = "cur", .n = 3, .acc = {0.79, 0.79, 0.79}});
    cl_test_result r;
    run_compare(&r, "%%B %%C");
    expect_code(&r, 0);
    cl_test_result_free(&r);
}

Test(compare, forgetting_is_lower_is_better)
{
    /* Forgetting up by 0.10: a regression. */
    write_cell(&(cellspec){.set = "base", .n = 3, .acc = {0.5, 0.5, 0.5},
                           .forgetting = {0.30, 0.31, 0.29}});
    write_cell(&(cellspec){.set = "cur", .n = 3, .acc = {0.5, 0.5, 0.5},
                           .forgetting = {0.40, 0.41, 0.39}});
    loaded L = {0};
    load_tmp(&L, NULL);
    const cl_compare_metric *m = &L.cmp->cells[0].m[CL_CMP_FORGETTING];
    cr_assert_float_eq(m->drop, 0.10, 1e-12);
    cr_assert_lt(m->p, 0.001, "p = %g", m->p);
    cr_assert_eq(m->verdict, CL_CMP_REGRESSION);
    unload(&L);
    cl_test_result r;
    run_compare(&r, "%%B %%C");
    expect_code(&r, 3);
    char sec[4096];
    section(sec, sizeof sec, r.out, "### Regressions");
    cr_assert(strstr(sec, "`forgetting` 0.3000 -> 0.4000"), "%s", sec);
    cl_test_result_free(&r);

    /* The same sets the other way round: forgetting fell, an improvement,
     * and the test must see it as one (p near 1, not near 0). */
    run_compare(&r, "%%C %%B");
    expect_code(&r, 0);
    cl_test_result_free(&r);
    char b[512], c[512];
    snprintf(b, sizeof b, "%s/cur", tmp);
    snprintf(c, sizeof c, "%s/base", tmp);
    load(&L, b, c, NULL);
    m = &L.cmp->cells[0].m[CL_CMP_FORGETTING];
    cr_assert_float_eq(m->drop, -0.10, 1e-12);
    cr_assert_gt(m->p, 0.999, "p = %g", m->p);
    cr_assert_eq(m->verdict, CL_CMP_PASS);
    unload(&L);
}

Test(compare, missing_and_extra_cells_are_listed)
{
    write_cell(&(cellspec){.set = "base", .n = 2, .acc = {0.5, 0.5}});
    write_cell(&(cellspec){.set = "cur", .n = 2, .acc = {0.5, 0.5}});
    write_cell(&(cellspec){.set = "base", .strategy = "ewc", .params = "{\"lambda\": 10}", .n = 2,
                           .acc = {0.6, 0.6}});
    write_cell(&(cellspec){.set = "cur", .strategy = "ewc", .params = "{\"lambda\": 100}", .n = 3,
                           .acc = {0.6, 0.6, 0.6}});
    loaded L = {0};
    load_tmp(&L, NULL);
    cr_assert_eq(L.cmp->n_matched, 1);
    cr_assert_eq(L.cmp->n_missing, 1);
    cr_assert_eq(L.cmp->n_extra, 1);
    cr_assert_not(L.cmp->failed);
    unload(&L);

    cl_test_result r;
    run_compare(&r, "%%B %%C");
    expect_code(&r, 0);
    char sec[2048];
    section(sec, sizeof sec, r.out, "### Missing cells");
    cr_assert(strstr(sec, "- seq-tasks / class / ewc (lambda=10): 2 seeds"), "%s", r.out);
    cr_assert_null(strstr(sec, "lambda=100"), "%s", sec);
    section(sec, sizeof sec, r.out, "### Extra cells");
    cr_assert(strstr(sec, "- seq-tasks / class / ewc (lambda=100): 3 seeds"), "%s", r.out);
    cl_test_result_free(&r);

    run_compare(&r, "--strict %%B %%C");
    expect_code(&r, 3);
    section(sec, sizeof sec, r.out, "### Regressions");
    cr_assert(strstr(sec, "ewc (lambda=10)**: missing from the current runs"),
              "%s", sec);
    cl_test_result_free(&r);
}

Test(compare, identical_inputs_have_zero_deltas)
{
    loaded L = {0};
    load(&L, FIXTURE, FIXTURE, NULL);
    cr_assert_eq(L.cmp->n_matched, 2);
    int compared = 0;
    for (int i = 0; i < L.cmp->n_cells; i++) {
        const cl_compare_cell *e = &L.cmp->cells[i];
        cr_assert_eq(e->n_new_diverged, 0, "a run diverged on both sides is not new");
        for (int m = 0; m < CL_CMP_N_METRICS; m++) {
            if (e->m[m].verdict == CL_CMP_NA) continue;
            cr_assert_eq(e->m[m].delta, 0.0, "%s %s: delta %g", e->label,
                         cl_compare_metric_name(m), e->m[m].delta);
            cr_assert_eq(e->m[m].verdict, CL_CMP_PASS);
            compared++;
        }
    }
    /* naive: 9 metrics over 2 seeds; replay: 8 over its one ok seed. */
    cr_assert_eq(compared, 17);
    cr_assert_not(L.cmp->failed);
    unload(&L);

    cl_test_result r;
    run_compare(&r, FIXTURE " " FIXTURE);
    expect_code(&r, 0);
    cr_assert(strstr(r.out, "Protocol: 60 steps per task, batch 32, seeds 2 (baseline) / 2 (current)."),
              "%s", r.out);
    cr_assert_null(strstr(r.out, "| -0.0"), "%s", r.out);
    cr_assert_null(strstr(r.out, "| +0.0001"), "%s", r.out);
    cl_test_result_free(&r);
}

Test(compare, run_diverging_where_baseline_was_ok_is_a_regression)
{
    write_cell(&(cellspec){.set = "base", .n = 3, .acc = {0.5, 0.5, 0.5}});
    write_cell(&(cellspec){.set = "cur", .n = 3, .acc = {0.5, 0.5, 0.5},
                           .status = {NULL, "diverged", NULL}});
    cl_test_result r;
    run_compare(&r, "%%B %%C");
    expect_code(&r, 3);
    char sec[2048];
    section(sec, sizeof sec, r.out, "### Regressions");
    cr_assert(strstr(sec, "naive**: seed 1 diverged (ok in the baseline)"), "%s", r.out);
    cl_test_result_free(&r);

    /* Diverged in the baseline as well: not new, not a failure. */
    write_cell(&(cellspec){.set = "base", .n = 3, .acc = {0.5, 0.5, 0.5},
                           .status = {NULL, "diverged", NULL}});
    run_compare(&r, "%%B %%C");
    expect_code(&r, 0);
    cl_test_result_free(&r);
}

/* A merged folder can hold one seed twice. A divergence of that seed is
 * new only if every baseline run of it was ok, so such a folder compared
 * with itself passes (found by fuzz_runset). */
Test(compare, a_seed_held_twice_diverged_is_new_only_if_never_in_the_baseline)
{
    write_cell(&(cellspec){.set = "base", .n = 2, .same_seed = 1, .acc = {0.5, 0.5},
                           .status = {"diverged", NULL}});
    cl_test_result r;
    run_compare(&r, "%%B %%B");
    expect_code(&r, 0);
    cl_test_result_free(&r);
    write_cell(&(cellspec){.set = "cur", .n = 1, .status = {"diverged"}});
    run_compare(&r, "%%B %%C");
    expect_code(&r, 0);
    cl_test_result_free(&r);
    write_cell(&(cellspec){.set = "base", .n = 2, .same_seed = 1, .acc = {0.5, 0.5}});
    run_compare(&r, "%%B %%C");
    expect_code(&r, 3);
    cr_assert(strstr(r.out, "naive**: seed 0 diverged (ok in the baseline)"), "%s", r.out);
    cl_test_result_free(&r);
}

Test(compare, metrics_option_restricts_the_gate_not_the_table)
{
    write_cell(&(cellspec){.set = "base", .n = 3, .acc = {0.80, 0.81, 0.79}});
    write_cell(&(cellspec){.set = "cur", .n = 3, .acc = {0.70, 0.71, 0.69}});
    cl_test_result r;
    run_compare(&r, "--metrics forgetting,min_acc %%B %%C");
    expect_code(&r, 0);
    char line[512];
    line_with(line, sizeof line, r.out, "| acc |");
    cr_assert(strstr(line, "| -0.1000 |") && strstr(line, "drop, not gated"), "row: '%s'", line);
    cl_test_result_free(&r);

    run_compare(&r, "--metrics forgetting,acc %%B %%C");
    expect_code(&r, 3);
    cl_test_result_free(&r);

    run_compare(&r, "--metrics acc,bogus %%B %%C");
    expect_code(&r, 2);
    cr_assert(strstr(r.err, "'bogus'"), "%s", r.err);
    cl_test_result_free(&r);
}

Test(compare, intransigence_only_when_both_sides_have_it)
{
    write_cell(&(cellspec){.set = "base", .n = 2, .acc = {0.5, 0.5}, .intrans = "0.1"});
    write_cell(&(cellspec){.set = "cur", .n = 2, .acc = {0.5, 0.5}});
    loaded L = {0};
    load_tmp(&L, NULL);
    cr_assert_not(L.cmp->cells[0].m[CL_CMP_INTRANSIGENCE].shown);
    cr_assert(L.cmp->cells[0].m[CL_CMP_MIN_ACC].shown);
    unload(&L);
    expect_pass_without("%B %C", "| intransigence |");

    /* Both have it, and it grew by 0.2: lower is better, so a regression. */
    write_cell(&(cellspec){.set = "cur", .n = 2, .acc = {0.5, 0.5}, .intrans = "0.3"});
    cl_test_result r;
    run_compare(&r, "%%B %%C");
    expect_code(&r, 3);
    cr_assert(strstr(r.out, "`intransigence` 0.1000 -> 0.3000"), "%s", r.out);
    cl_test_result_free(&r);
}

Test(compare, cells_differing_only_in_training_stay_apart)
{
    write_cell(&(cellspec){.set = "base", .steps = 100, .n = 2, .acc = {0.4, 0.4}});
    write_cell(&(cellspec){.set = "base", .steps = 300, .n = 2, .acc = {0.6, 0.6}});
    write_cell(&(cellspec){.set = "cur", .steps = 100, .n = 2, .acc = {0.4, 0.4}});
    write_cell(&(cellspec){.set = "cur", .steps = 300, .n = 2, .acc = {0.5, 0.5}});
    cl_test_result r;
    run_compare(&r, "%%B %%C");
    expect_code(&r, 3);
    cr_assert(strstr(r.out, "Protocol: 100, 300 steps per task, batch 32"), "%s", r.out);
    char sec[2048];
    section(sec, sizeof sec, r.out, "### Regressions");
    cr_assert(strstr(sec, "naive (train.steps=300)**: `acc`"), "%s", r.out);
    cr_assert_null(strstr(sec, "train.steps=100"), "%s", sec);
    cl_test_result_free(&r);
}

/* An ewc cell of two seeds at acc 0.6 with these params. */
static void ewc_cell(const char *set, const char *params)
{
    write_cell(&(cellspec){.set = set, .strategy = "ewc", .params = params, .n = 2,
                           .acc = {0.6, 0.6}});
}

static void expect_cells(int matched, int missing, int extra)
{
    loaded L = {0};
    load_tmp(&L, NULL);
    cr_assert_eq(L.cmp->n_matched, matched);
    cr_assert_eq(L.cmp->n_missing, missing);
    cr_assert_eq(L.cmp->n_extra, extra);
    unload(&L);
}

/* A parameter added after the baseline was made: the baseline's runs do
 * not record it, the current ones do. The cells still match and the label
 * does not name it; a setting both record with different values, or two
 * current cells that would both match, still keep cells apart. */
Test(compare, a_setting_only_one_side_records_does_not_split_cells)
{
    ewc_cell("base", "{\"lambda\": 10}");
    ewc_cell("cur", "{\"lambda\": 10, \"online\": false}");
    expect_cells(1, 0, 0);
    expect_pass_without("--strict %B %C", "online");

    /* A second current cell that also agrees wherever the baseline records
     * a setting: ambiguous, so neither is matched. */
    ewc_cell("cur", "{\"lambda\": 10, \"online\": true}");
    expect_cells(0, 1, 2);
}

/* The other way round: two baseline cells that differ in a setting the
 * current runs do not record would both match the one current cell, so
 * neither does. */
Test(compare, two_baseline_cells_never_share_one_current_cell)
{
    ewc_cell("base", "{\"lambda\": 10, \"online\": false}");
    ewc_cell("base", "{\"lambda\": 10, \"online\": true}");
    ewc_cell("cur", "{\"lambda\": 10}");
    expect_cells(0, 2, 1);
}

Test(compare, bad_inputs_exit_2_naming_the_file)
{
    write_cell(&(cellspec){.set = "base", .n = 1, .acc = {0.5}});
    cl_test_result r;
    run_compare(&r, "%%B /nonexistent/clbench-cur");
    expect_code(&r, 2);
    cr_assert(strstr(r.err, "/nonexistent/clbench-cur"), "%s", r.err);
    cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    cr_assert_str_empty(r.out);
    cl_test_result_free(&r);

    char bad[512];
    snprintf(bad, sizeof bad, "%s/broken.json", tmp);
    cr_assert_eq(cl_fs_write_atomic(bad, "{\"schema_version\": 1,", 21), 0);
    run_compare(&r, "'%s' %%B", bad);
    expect_code(&r, 2);
    cr_assert(strstr(r.err, "broken.json"), "%s", r.err);
    cl_test_result_free(&r);

    run_compare(&r, "%%B");
    expect_code(&r, 2);
    cl_test_result_free(&r);
    run_compare(&r, "--alpha 1.5 %%B %%B");
    expect_code(&r, 2);
    cr_assert(strstr(r.err, "--alpha"), "%s", r.err);
    cl_test_result_free(&r);
    run_compare(&r, "--max-drop -0.1 %%B %%B");
    expect_code(&r, 2);
    cl_test_result_free(&r);
    run_compare(&r, "--format html %%B %%B");
    expect_code(&r, 2);
    cl_test_result_free(&r);
}
