/* clbench report: statistics per cell (harness/report/report.c) checked against
 * values read straight from the fixture files, the four formats against
 * golden files, and the CLI's exit codes.
 *
 * Fixture: tests/fixtures/report/runs holds 16 frozen metrics.json files:
 * seq-tasks/class with naive, replay (buffer_size=500), joint x seeds 0-2
 * and replay (buffer_size=50) with seed 0 only; fact-stream/domain with
 * naive and ewc x seeds 0-2, ewc seed 2 diverged (metrics null).
 *
 * Golden files: tests/fixtures/report/golden.{md,csv,tex,json}. After an
 * intended change of the output, regenerate them with
 *     CL_UPDATE_GOLDEN=1 make check
 * (the golden tests then write instead of compare) and review the diff. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/store/json.h"
#include "clbench/report/report.h"
#include "clbench/report/runset.h"
#include "support.h"

#define FIX "tests/fixtures/report"
#define RUNS FIX "/runs"
#define N_RUNS 16
#define N_CSV_METRICS 14

static char tmp[256];

static void make_tmp(void) { cl_test_tmpdir_new(tmp, sizeof tmp, "report"); }
static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(report, .init = make_tmp, .fini = remove_tmp, .timeout = 60);

/* `CL_TEST_BIN report <args>`. */
static void run_cli(cl_test_result *r, const char *args)
{
    cl_test_run_cli(r, tmp, "report %s", args);
}

/* An input error: exit 2 and exactly one line on stderr containing want. */
static void expect_input_error(const char *args, const char *want)
{
    cl_test_result r;
    run_cli(&r, args);
    cr_assert_eq(r.code, 2, "'%s' exited %d, want 2; stderr: %s", args, r.code, r.err);
    cr_assert_eq(cl_test_count_char(r.err, '\n'), 1, "'%s': want one line, got:\n%s", args, r.err);
    cr_assert_not_null(strstr(r.err, want), "'%s': stderr lacks '%s':\n%s", args, want, r.err);
    cr_assert_str_empty(r.out, "'%s' printed on stdout:\n%s", args, r.out);
    cl_test_result_free(&r);
}

/* ---- statistics per cell, against the fixture files themselves ---------- */

typedef struct loaded {
    cl_runset *set;
    cl_report *rep;
} loaded;

static loaded load(char *const *paths, int n, double level)
{
    loaded L;
    cr_assert_eq(cl_runset_load(&L.set, paths, n), 0, "load: %s", cl_error_last());
    cr_assert_eq(cl_report_new(&L.rep, L.set, level), 0, "report: %s", cl_error_last());
    return L;
}

static void unload(loaded *L)
{
    cl_report_free(L->rep);
    cl_runset_free(L->set);
}

static const cl_report_row *row_of(const cl_report *r, const char *suite, const char *label)
{
    for (int k = 0; k < r->n_rows; k++) {
        const cl_cell *c = &r->set->cells[r->rows[k].cell];
        if (!strcmp(c->label, label) && !strcmp(r->set->runs[c->runs[0]].suite, suite))
            return &r->rows[k];
    }
    cr_assert_fail("no row %s / %s", suite, label);
    return NULL;
}

/* A number from one fixture run, read without the runset. */
static double fixture_num(const char *run_id, const char *path)
{
    char file[512];
    snprintf(file, sizeof file, RUNS "/%s/metrics.json", run_id);
    cl_json *doc;
    cr_assert_eq(cl_json_parse_file(&doc, file), 0, "%s", cl_error_last());
    double v = cl_json_num(cl_json_path(doc, path));
    cl_json_free(doc);
    return v;
}

#define NAIVE_FS0 "fact-stream-domain-naive-s0-c3b08b1f"
#define NAIVE_FS1 "fact-stream-domain-naive-s1-be9f3316"
#define NAIVE_FS2 "fact-stream-domain-naive-s2-ee5e0f09"
#define EWC_FS0 "fact-stream-domain-ewc-s0-f137f0d8"
#define EWC_FS1 "fact-stream-domain-ewc-s1-bb693053"
#define EWC_FS2 "fact-stream-domain-ewc-s2-c11658fe"
#define NAIVE_SQ0 "seq-tasks-class-naive-s0-4ac04526"
#define NAIVE_SQ1 "seq-tasks-class-naive-s1-585a50c9"
#define NAIVE_SQ2 "seq-tasks-class-naive-s2-f1f0cf24"
#define JOINT_SQ0 "seq-tasks-class-joint-s0-a1f17895"
#define JOINT_SQ1 "seq-tasks-class-joint-s1-1d249c96"
#define JOINT_SQ2 "seq-tasks-class-joint-s2-4d0c3437"
#define REPLAY50_SQ0 "seq-tasks-class-replay-s0-052a25c6"

#define near(got, want) \
    cr_assert(fabs((got) - (want)) <= 1e-12, "%s = %.17g, want %.17g", #got, (got), (want))

Test(report, cells_groups_and_means_follow_the_fixture)
{
    char *p[] = {RUNS};
    loaded L = load(p, 1, 0.95);
    cr_assert_eq(L.set->n, N_RUNS);
    cr_assert_eq(L.rep->n_rows, 6);
    cr_assert_eq(L.rep->n_groups, 2);
    const cl_report_group *g = &L.rep->groups[1];
    cr_assert_str_eq(g->suite, "seq-tasks");
    cr_assert_str_eq(g->scenario, "class");
    cr_assert_eq(g->steps_per_task, 60);
    cr_assert_eq(g->batch_size, 32);
    cr_assert_eq(g->n_rows, 4);
    cr_assert_not_null(strstr(g->data, "Gaussian"));

    const cl_report_row *n = row_of(L.rep, "seq-tasks", "naive");
    cr_assert_eq(n->n_runs, 3);
    cr_assert_eq(n->n_ok, 3);
    double a0 = fixture_num(NAIVE_SQ0, "metrics.acc"), a1 = fixture_num(NAIVE_SQ1, "metrics.acc"),
           a2 = fixture_num(NAIVE_SQ2, "metrics.acc");
    double mean = (a0 + a1 + a2) / 3;
    double sd = sqrt(((a0 - mean) * (a0 - mean) + (a1 - mean) * (a1 - mean) +
                      (a2 - mean) * (a2 - mean)) / 2);
    near(n->m[CL_REPORT_ACC].mean, mean);
    /* t_{0.975,2} = 4.302652729749464 */
    cr_assert(fabs(n->m[CL_REPORT_ACC].half - 4.302652729749464 * sd / sqrt(3)) < 1e-9);
    near(n->m[CL_REPORT_FORGETTING].mean,
         (fixture_num(NAIVE_SQ0, "metrics.forgetting") + fixture_num(NAIVE_SQ1, "metrics.forgetting") +
          fixture_num(NAIVE_SQ2, "metrics.forgetting")) / 3);
    cr_assert_eq(n->task_id, 0);
    cr_assert_eq(n->boundaries, 0);
    cr_assert_eq(n->stores, 0);
    cr_assert_eq(n->vs_naive, -1, "naive is the reference, not compared");

    const cl_report_row *j = row_of(L.rep, "seq-tasks", "joint");
    cr_assert_eq(j->boundaries, 1);
    cr_assert_eq(j->stores, 1);
    cr_assert_eq(j->n_pairs, 3);
    near(j->diff_acc, (fixture_num(JOINT_SQ0, "metrics.acc") - a0 +
                       fixture_num(JOINT_SQ1, "metrics.acc") - a1 +
                       fixture_num(JOINT_SQ2, "metrics.acc") - a2) / 3);
    cr_assert(j->p_acc > 0 && j->p_acc < 1);

    /* best mean acc per group */
    cr_assert(row_of(L.rep, "seq-tasks", "replay (buffer_size=500)")->best);
    cr_assert(!j->best && !n->best);
    cr_assert(row_of(L.rep, "fact-stream", "naive")->best);
    unload(&L);
}

Test(report, one_seed_cell_has_a_mean_but_no_interval)
{
    char *p[] = {RUNS};
    loaded L = load(p, 1, 0.95);
    const cl_report_row *r = row_of(L.rep, "seq-tasks", "replay (buffer_size=50)");
    cr_assert_eq(r->n_runs, 1);
    cr_assert_eq(r->m[CL_REPORT_ACC].n, 1);
    near(r->m[CL_REPORT_ACC].mean, fixture_num(REPLAY50_SQ0, "metrics.acc"));
    cr_assert(isnan(r->m[CL_REPORT_ACC].half));
    /* paired with naive's seed 0 alone: a difference, no test */
    cr_assert_eq(r->n_pairs, 1);
    near(r->diff_acc, fixture_num(REPLAY50_SQ0, "metrics.acc") - fixture_num(NAIVE_SQ0, "metrics.acc"));
    cr_assert(isnan(r->p_acc));
    unload(&L);
}

Test(report, diverged_runs_are_counted_but_not_averaged)
{
    char *p[] = {RUNS};
    loaded L = load(p, 1, 0.95);
    const cl_report_row *e = row_of(L.rep, "fact-stream", "ewc");
    cr_assert_eq(e->n_runs, 3);
    cr_assert_eq(e->n_ok, 2);
    cr_assert_eq(e->m[CL_REPORT_ACC].n, 2);
    near(e->m[CL_REPORT_ACC].mean,
         (fixture_num(EWC_FS0, "metrics.acc") + fixture_num(EWC_FS1, "metrics.acc")) / 2);
    /* the diverged run still has a wall time: it must not enter the mean */
    cr_assert(isfinite(fixture_num(EWC_FS2, "ledger.wall_s")));
    near(e->wall_s, (fixture_num(EWC_FS0, "ledger.wall_s") + fixture_num(EWC_FS1, "ledger.wall_s")) / 2);
    /* pairs: seeds 0 and 1 only */
    cr_assert_eq(e->n_pairs, 2);
    near(e->diff_acc, (fixture_num(EWC_FS0, "metrics.acc") - fixture_num(NAIVE_FS0, "metrics.acc") +
                       fixture_num(EWC_FS1, "metrics.acc") - fixture_num(NAIVE_FS1, "metrics.acc")) / 2);
    unload(&L);
}

Test(report, seeds_pair_by_value_not_by_position)
{
    /* naive without seed 0: joint's seed 1 must meet naive's seed 1 */
    char *p[] = {RUNS "/" NAIVE_SQ1, RUNS "/" NAIVE_SQ2, RUNS "/" JOINT_SQ0, RUNS "/" JOINT_SQ1,
                 RUNS "/" JOINT_SQ2};
    loaded L = load(p, 5, 0.95);
    const cl_report_row *j = row_of(L.rep, "seq-tasks", "joint");
    cr_assert_eq(j->n_pairs, 2);
    near(j->diff_acc, (fixture_num(JOINT_SQ1, "metrics.acc") - fixture_num(NAIVE_SQ1, "metrics.acc") +
                       fixture_num(JOINT_SQ2, "metrics.acc") - fixture_num(NAIVE_SQ2, "metrics.acc")) / 2);
    unload(&L);
    /* no naive at all: no comparison */
    char *q[] = {RUNS "/" JOINT_SQ0, RUNS "/" JOINT_SQ1};
    L = load(q, 2, 0.95);
    cr_assert_eq(L.rep->rows[0].vs_naive, -1);
    cr_assert(isnan(L.rep->rows[0].diff_acc));
    unload(&L);
}

Test(report, level_sets_the_interval)
{
    char *p[] = {RUNS};
    loaded a = load(p, 1, 0.95), b = load(p, 1, 0.99);
    const cl_report_row *ra = row_of(a.rep, "seq-tasks", "naive"), *rb = row_of(b.rep, "seq-tasks", "naive");
    /* t_{0.995,2} / t_{0.975,2} = 9.924843200918 / 4.302652729749 */
    cr_assert(fabs(rb->m[CL_REPORT_ACC].half / ra->m[CL_REPORT_ACC].half -
                   9.924843200918276 / 4.302652729749464) < 1e-9);
    near(rb->m[CL_REPORT_ACC].mean, ra->m[CL_REPORT_ACC].mean);
    unload(&a);
    unload(&b);
    cl_report *r;
    cl_runset *s;
    cr_assert_eq(cl_runset_load(&s, p, 1), 0);
    cr_assert_eq(cl_report_new(&r, s, 1.0), CL_EINVAL);
    cr_assert_eq(cl_report_new(&r, s, 0.0), CL_EINVAL);
    cr_assert_eq(cl_report_new(&r, s, NAN), CL_EINVAL);
    cl_runset_free(s);
}

/* A fixture run with its training length changed, saved under tmp/runs as
 * a new run (new_id has run_id's length). */
static void write_variant(const char *run_id, long steps, const char *new_id)
{
    char src[512], dir[512], dst[600], from[2][64], to[2][64];
    snprintf(src, sizeof src, RUNS "/%s/metrics.json", run_id);
    char *text = cl_test_slurp(src);
    snprintf(from[0], sizeof from[0], "\"steps\": 60,");
    snprintf(to[0], sizeof to[0], "\"steps\": %ld,", steps);
    snprintf(from[1], sizeof from[1], "\"steps_per_task\": 60,");
    snprintf(to[1], sizeof to[1], "\"steps_per_task\": %ld,", steps);
    for (int k = 0; k < 2; k++) {
        char *hit = strstr(text, from[k]);
        cr_assert_not_null(hit, "%s lacks %s", src, from[k]);
        cl_strbuf b;
        cl_strbuf_init(&b);
        cl_strbuf_printf(&b, "%.*s%s%s", (int)(hit - text), text, to[k], hit + strlen(from[k]));
        free(text);
        text = b.s;
    }
    char *id = strstr(text, run_id);
    cr_assert_not_null(id);
    cr_assert_eq(strlen(new_id), strlen(run_id));
    memcpy(id, new_id, strlen(new_id));
    snprintf(dir, sizeof dir, "%s/runs/%s", tmp, new_id);
    cr_assert_eq(cl_fs_mkdirs(dir), 0);
    snprintf(dst, sizeof dst, "%s/metrics.json", dir);
    cl_test_spit(dst, text);
    free(text);
}

Test(report, a_different_protocol_gets_its_own_table)
{
    /* the same naive run trained 30 steps per task instead of 60 */
    write_variant(NAIVE_SQ0, 30, "seq-tasks-class-naive-s0-00000030");
    char extra[512];
    snprintf(extra, sizeof extra, "%s/runs", tmp);
    char *p[] = {RUNS, extra};
    loaded L = load(p, 2, 0.95);
    cr_assert_eq(L.set->n, N_RUNS + 1);
    cr_assert_eq(L.rep->n_groups, 3);
    int found = 0;
    for (int g = 0; g < L.rep->n_groups; g++)
        if (L.rep->groups[g].steps_per_task == 30) {
            found = 1;
            cr_assert_eq(L.rep->groups[g].n_rows, 1);
        }
    cr_assert(found, "no group with 30 steps per task");
    /* the 60-step cells still compare to the 60-step naive */
    cr_assert_eq(row_of(L.rep, "seq-tasks", "joint")->n_pairs, 3);
    unload(&L);
}

/* ---- escaping ------------------------------------------------------------ */

static void expect_escape(void (*fn)(cl_strbuf *, const char *), const char *in, const char *want)
{
    cl_strbuf b;
    cl_strbuf_init(&b);
    fn(&b, in);
    cr_assert_str_eq(b.s ? b.s : "", want);
    cl_strbuf_release(&b);
}

Test(report, escaping_for_each_format)
{
    expect_escape(cl_report_tex_str, "buffer_size 5% & #1 $x {y} a~b c^d e\\f <g> |",
                  "buffer\\_size 5\\% \\& \\#1 \\$x \\{y\\} a\\textasciitilde{}b "
                  "c\\textasciicircum{}d e\\textbackslash{}f \\textless{}g\\textgreater{} \\textbar{}");
    expect_escape(cl_report_md_str, "a|b_c*d [e] <f>", "a\\|b\\_c\\*d \\[e\\] \\<f\\>");
    expect_escape(cl_report_csv_str, "ewc (lambda=10)", "ewc (lambda=10)");
    expect_escape(cl_report_csv_str, "ewc (lambda=10, online=true)",
                  "\"ewc (lambda=10, online=true)\"");
    expect_escape(cl_report_csv_str, "say \"hi\"", "\"say \"\"hi\"\"\"");
}

Test(report, format_names)
{
    cl_report_format f;
    cr_assert_eq(cl_report_format_parse(&f, "tex"), 0);
    cr_assert_eq(f, CL_REPORT_TEX);
    cr_assert_eq(cl_report_format_parse(&f, "csv"), 0);
    cr_assert_eq(f, CL_REPORT_CSV);
    cr_assert_eq(cl_report_format_parse(&f, "html"), CL_EINVAL);
}

/* ---- golden files, through the CLI ----------------------------------------- */

static void golden(const char *fmt)
{
    char out[512], gold[256], args[1024];
    snprintf(out, sizeof out, "%s/report.%s", tmp, fmt);
    snprintf(gold, sizeof gold, FIX "/golden.%s", fmt);
    snprintf(args, sizeof args, RUNS " --format %s --out '%s'", fmt, out);
    cl_test_result r;
    run_cli(&r, args);
    cr_assert_eq(r.code, 0, "report --format %s exited %d: %s", fmt, r.code, r.err);
    cr_assert_str_empty(r.out, "--out given, yet stdout has text");
    char *got = cl_test_slurp(out);
    const char *upd = getenv("CL_UPDATE_GOLDEN");
    if (upd && !strcmp(upd, "1")) {
        cl_test_spit(gold, got);
        cr_log_warn("rewrote %s", gold);
    } else {
        char *want = cl_test_slurp(gold);
        /* Whole-file equality; on failure name the first differing line. */
        if (strcmp(got, want)) {
            int line = 1;
            size_t i = 0;
            while (got[i] && got[i] == want[i]) line += got[i++] == '\n';
            cr_assert_fail("%s differs from %s at line %d (regenerate with CL_UPDATE_GOLDEN=1 "
                           "if intended)", out, gold, line);
        }
        free(want);
    }
    free(got);
    cl_test_result_free(&r);
}

Test(report, golden_md) { golden("md"); }
Test(report, golden_csv) { golden("csv"); }
Test(report, golden_tex) { golden("tex"); }
Test(report, golden_json) { golden("json"); }

Test(report, stdout_is_the_same_text_as_out)
{
    cl_test_result r;
    run_cli(&r, RUNS);
    cr_assert_eq(r.code, 0, "%s", r.err);
    char *want = cl_test_slurp(FIX "/golden.md");
    cr_assert_str_eq(r.out, want);
    cr_assert_str_empty(r.err);
    free(want);
    cl_test_result_free(&r);
}

Test(report, csv_is_tidy)
{
    cl_test_result r;
    run_cli(&r, RUNS " --format csv");
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_assert_eq(cl_test_count_char(r.out, '\n'), 1 + N_RUNS * N_CSV_METRICS,
                 "rows != runs x metrics");
    int rows = 0, diverged_acc = 0;
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n"), rows++) {
        if (rows == 0) {
            cr_assert_str_eq(line, "suite,scenario,strategy,label,seed,status,metric,value");
            continue;
        }
        /* labels here hold no comma: seven separators per row */
        cr_assert_eq(cl_test_count_char(line, ','), 7, "row %d: %s", rows, line);
        if (strstr(line, ",2,diverged,acc,")) {
            diverged_acc++;
            cr_assert(line[strlen(line) - 1] == ',', "a null metric is an empty field: %s", line);
        }
    }
    cr_assert_eq(diverged_acc, 1);
    cl_test_result_free(&r);
}

Test(report, json_bundle_reads_back_as_the_same_runs)
{
    char bundle[512], args[1200];
    snprintf(bundle, sizeof bundle, "%s/bundle.json", tmp);
    snprintf(args, sizeof args, RUNS " --format json --out '%s'", bundle);
    cl_test_result r;
    run_cli(&r, args);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cl_test_result_free(&r);
    /* the Markdown of the bundle is the Markdown of the folders */
    snprintf(args, sizeof args, "'%s'", bundle);
    run_cli(&r, args);
    cr_assert_eq(r.code, 0, "%s", r.err);
    char *want = cl_test_slurp(FIX "/golden.md");
    cr_assert_str_eq(r.out, want);
    free(want);
    cl_test_result_free(&r);
    /* and a bundle of the bundle is the bundle */
    snprintf(args, sizeof args, "'%s' --format json", bundle);
    run_cli(&r, args);
    char *first = cl_test_slurp(bundle);
    cr_assert_str_eq(r.out, first);
    free(first);
    cl_test_result_free(&r);
}

Test(report, level_flag_reaches_the_tables)
{
    cl_test_result r;
    run_cli(&r, RUNS " --level 0.99");
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "mean ± 99% confidence"));
    char *g = cl_test_slurp(FIX "/golden.md");
    cr_assert(strcmp(r.out, g) != 0);
    free(g);
    cl_test_result_free(&r);
}

Test(report, latex_compiles, .timeout = 120)
{
    if (system("{ command -v pdflatex && kpsewhich booktabs.sty graphicx.sty; } >/dev/null 2>&1") != 0)
        cr_skip_test("pdflatex with booktabs is not installed "
                     "(Debian: texlive-latex-base texlive-latex-recommended)");
    char path[512], cmd[1024];
    snprintf(path, sizeof path, "%s/doc.tex", tmp);
    cl_test_spit(path, "\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{graphicx}\n"
                       "\\begin{document}\n\\input{report.tex}\n\\end{document}\n");
    snprintf(path, sizeof path, "%s/report.tex", tmp);
    char *tex = cl_test_slurp(FIX "/golden.tex");
    cl_test_spit(path, tex);
    free(tex);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && pdflatex -interaction=nonstopmode -halt-on-error doc.tex >pdflatex.out 2>&1",
             tmp);
    int st = system(cmd);
    if (st != 0) {
        snprintf(path, sizeof path, "%s/pdflatex.out", tmp);
        char *log = cl_test_slurp(path);
        cr_assert_fail("pdflatex failed on golden.tex:\n%s", log);
    }
    snprintf(path, sizeof path, "%s/doc.pdf", tmp);
    struct stat sb;
    cr_assert(stat(path, &sb) == 0 && sb.st_size > 1000, "no PDF written");
}

/* ---- CLI errors ------------------------------------------------------------ */

Test(report, input_errors_exit_2_naming_the_file)
{
    char dir[512], file[600], args[1400];
    expect_input_error("/nonexistent/clbench-runs", "/nonexistent/clbench-runs");
    /* a folder with no run */
    snprintf(dir, sizeof dir, "%s/empty", tmp);
    cr_assert_eq(cl_fs_mkdirs(dir), 0);
    snprintf(args, sizeof args, "'%s'", dir);
    expect_input_error(args, dir);
    /* a truncated metrics.json among good runs */
    snprintf(dir, sizeof dir, "%s/bad/run-x", tmp);
    cr_assert_eq(cl_fs_mkdirs(dir), 0);
    snprintf(file, sizeof file, "%s/metrics.json", dir);
    cl_test_spit(file, "{\"schema_version\": 1, \"run_id\": \"x\", \"suite\": ");
    snprintf(args, sizeof args, RUNS " '%s/bad'", tmp);
    expect_input_error(args, file);
    /* valid JSON that is not a run */
    cl_test_spit(file, "{\"hello\": 1}\n");
    expect_input_error(args, file);
}

Test(report, usage_errors_exit_2)
{
    expect_input_error("", "usage: clbench report");
    expect_input_error(RUNS " --format html", "html");
    expect_input_error(RUNS " --level 1", "--level");
    expect_input_error(RUNS " --level abc", "--level");
    expect_input_error(RUNS " --bogus", "--bogus");
    expect_input_error(RUNS " --format", "--format");
    cl_test_result r;
    run_cli(&r, "--help");
    cr_assert_eq(r.code, 0);
    cr_assert_not_null(strstr(r.out, "--format"));
    cl_test_result_free(&r);
}

Test(report, unwritable_out_is_a_runtime_failure)
{
    cl_test_result r;
    run_cli(&r, RUNS " --out /nonexistent/dir/report.md");
    cr_assert_eq(r.code, 1, "exit %d: %s", r.code, r.err);
    cr_assert_not_null(strstr(r.err, "/nonexistent/dir/report.md"), "%s", r.err);
    cl_test_result_free(&r);
}
