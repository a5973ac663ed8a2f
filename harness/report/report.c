#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/report/report.h"

static const char *const metric_path[CL_REPORT_N_METRICS] = {
    "metrics.acc", "metrics.bwt", "metrics.fwt", "metrics.forgetting",
    "metrics.learning_accuracy"};
static const char *const metric_key[CL_REPORT_N_METRICS] = {
    "acc", "bwt", "fwt", "forgetting", "learning_accuracy"};
static const char *const metric_head[CL_REPORT_N_METRICS] = {
    "acc", "bwt", "fwt", "forgetting", "LA"};

/* What the tidy CSV holds per run: every metric plus the main ledger entries. */
static const char *const csv_paths[] = {
    "metrics.acc", "metrics.bwt", "metrics.bwt_gemcode", "metrics.fwt", "metrics.forgetting",
    "metrics.learning_accuracy", "metrics.a_diaz", "metrics.anytime_acc", "metrics.min_acc",
    "metrics.intransigence", "ledger.extra_bytes", "ledger.train_flops", "ledger.wall_s",
    "ledger.peak_rss_bytes"};
#define N_CSV ((int)(sizeof csv_paths / sizeof csv_paths[0]))

/* ---- building ---------------------------------------------------------- */

static const cl_run_doc *first_run(const cl_runset *s, const cl_cell *c)
{
    return &s->runs[c->runs[0]];
}

static const cl_run_doc *row_run(const cl_report *r, int row, int i)
{
    const cl_cell *c = &r->set->cells[r->rows[row].cell];
    return &r->set->runs[c->runs[i]];
}

static int is_ok(const cl_run_doc *d) { return d->status && !strcmp(d->status, "ok"); }

static int is_naive(const cl_report *r, int row)
{
    return !strcmp(row_run(r, row, 0)->strategy, "naive");
}

static long num_or(const cl_json *doc, const char *path)
{
    double v = cl_json_num(cl_json_path(doc, path));
    return isfinite(v) ? (long)v : -1;
}

static const char *data_of(const cl_json *doc)
{
    const char *s = cl_json_str(cl_json_path(doc, "protocol.data"));
    return s ? s : "?";
}

static int flag(const cl_json *doc, const char *path)
{
    const cl_json *v = cl_json_path(doc, path);
    return cl_json_typeof(v) == CL_JSON_BOOL ? cl_json_bool(v) : -1;
}

static double mean_ok(const cl_runset *s, const cl_cell *c, const char *path)
{
    double sum = 0;
    int n = 0;
    for (int i = 0; i < c->n; i++) {
        const cl_run_doc *d = &s->runs[c->runs[i]];
        double v = cl_run_num(d, path);
        if (is_ok(d) && isfinite(v)) sum += v, n++;
    }
    return n ? sum / n : NAN;
}

static int fill_row(cl_report_row *row, const cl_runset *s, int cell, double level)
{
    const cl_cell *c = &s->cells[cell];
    double *x = malloc((size_t)c->n * sizeof *x); /* (n runs) one metric */
    if (!x) return cl_error_set(CL_ENOMEM, "out of memory");
    row->cell = cell;
    row->n_runs = c->n;
    for (int i = 0; i < c->n; i++) row->n_ok += is_ok(&s->runs[c->runs[i]]);
    for (int m = 0; m < CL_REPORT_N_METRICS; m++) {
        /* A diverged run counts in n_runs but never in the statistics. */
        for (int i = 0; i < c->n; i++) {
            const cl_run_doc *d = &s->runs[c->runs[i]];
            x[i] = is_ok(d) ? cl_run_num(d, metric_path[m]) : NAN;
        }
        cl_stats_summary(&row->m[m], x, c->n, level);
    }
    free(x);
    row->extra_bytes = mean_ok(s, c, "ledger.extra_bytes");
    row->wall_s = mean_ok(s, c, "ledger.wall_s");
    const cl_json *doc = first_run(s, c)->doc;
    row->task_id = flag(doc, "assumptions.task_id_at_test");
    row->boundaries = flag(doc, "assumptions.task_boundaries");
    row->stores = flag(doc, "assumptions.stores_samples");
    row->vs_naive = -1;
    row->diff_acc = row->p_acc = NAN;
    return 0;
}

/* Rows of one group share suite, scenario and the protocol a reader needs
 * to judge the comparison: steps per task, batch size and the data. */
static int same_group(const cl_report_group *g, const cl_run_doc *d)
{
    return !strcmp(g->suite, d->suite) && !strcmp(g->scenario, d->scenario) &&
           g->steps_per_task == num_or(d->doc, "protocol.steps_per_task") &&
           g->batch_size == num_or(d->doc, "protocol.batch_size") &&
           !strcmp(g->data, data_of(d->doc));
}

static int build_groups(cl_report *r)
{
    r->groups = calloc((size_t)(r->n_rows ? r->n_rows : 1), sizeof *r->groups);
    if (!r->groups) return cl_error_set(CL_ENOMEM, "out of memory");
    for (int k = 0; k < r->n_rows; k++) {
        const cl_run_doc *d = first_run(r->set, &r->set->cells[r->rows[k].cell]);
        int g = 0;
        while (g < r->n_groups && !same_group(&r->groups[g], d)) g++;
        cl_report_group *G = &r->groups[g];
        if (g == r->n_groups) {
            r->n_groups++;
            G->suite = d->suite;
            G->scenario = d->scenario;
            G->steps_per_task = num_or(d->doc, "protocol.steps_per_task");
            G->batch_size = num_or(d->doc, "protocol.batch_size");
            G->data = data_of(d->doc);
            G->rows = malloc((size_t)r->n_rows * sizeof *G->rows);
            if (!G->rows) return cl_error_set(CL_ENOMEM, "out of memory");
        }
        G->rows[G->n_rows++] = k;
    }
    return 0;
}

static int same_json(const cl_json *a, const cl_json *b)
{
    cl_strbuf x, y;
    cl_strbuf_init(&x);
    cl_strbuf_init(&y);
    cl_json_dump(&x, a);
    cl_json_dump(&y, b);
    int same = x.s && y.s && !strcmp(x.s, y.s);
    cl_strbuf_release(&x);
    cl_strbuf_release(&y);
    return same;
}

/* naive is the reference only when it ran the same data, network and
 * training settings: otherwise the difference would measure those too. */
static int find_naive(const cl_report *r, const cl_report_group *g, int row)
{
    const cl_json *mine = first_run(r->set, &r->set->cells[r->rows[row].cell])->doc;
    static const char *const same[] = {"suite_params", "model", "train"};
    for (int i = 0; i < g->n_rows; i++) {
        const cl_run_doc *o = first_run(r->set, &r->set->cells[r->rows[g->rows[i]].cell]);
        if (strcmp(o->strategy, "naive")) continue;
        int ok = 1;
        for (size_t k = 0; k < sizeof same / sizeof same[0] && ok; k++)
            ok = same_json(cl_json_get(mine, same[k]), cl_json_get(o->doc, same[k]));
        if (ok) return g->rows[i];
    }
    return -1;
}

/* Seeds are paired (same seed: same task order, data order and initial
 * weights), so the difference is tested on the seeds both cells finished. */
static int compare_to_naive(cl_report *r, int row, int ref)
{
    cl_report_row *R = &r->rows[row];
    const cl_cell *c = &r->set->cells[R->cell];
    const cl_cell *n = &r->set->cells[r->rows[ref].cell];
    double *a = malloc((size_t)c->n * 2 * sizeof *a); /* (2, c->n): cell acc, naive acc */
    if (!a) return cl_error_set(CL_ENOMEM, "out of memory");
    double *b = a + c->n;
    int m = 0;
    for (int i = 0; i < c->n; i++) {
        const cl_run_doc *d = row_run(r, row, i);
        double va = cl_run_num(d, "metrics.acc");
        if (!is_ok(d) || !isfinite(va)) continue;
        for (int j = 0; j < n->n; j++) {
            const cl_run_doc *e = row_run(r, ref, j);
            double vb = cl_run_num(e, "metrics.acc");
            if (e->seed == d->seed && is_ok(e) && isfinite(vb)) {
                a[m] = va;
                b[m++] = vb;
                break;
            }
        }
    }
    R->vs_naive = ref;
    R->n_pairs = m;
    R->p_acc = cl_stats_paired_p(a, b, m, &R->diff_acc);
    free(a);
    return 0;
}

static int finish_group(cl_report *r, const cl_report_group *g)
{
    double best = -INFINITY;
    int finite = 0;
    for (int i = 0; i < g->n_rows; i++) {
        double v = r->rows[g->rows[i]].m[CL_REPORT_ACC].mean;
        if (isfinite(v)) finite++, best = v > best ? v : best;
    }
    for (int i = 0; i < g->n_rows; i++) {
        cl_report_row *R = &r->rows[g->rows[i]];
        R->best = finite > 1 && R->m[CL_REPORT_ACC].mean == best;
        if (is_naive(r, g->rows[i])) continue;
        int ref = find_naive(r, g, g->rows[i]);
        int rc = ref >= 0 ? compare_to_naive(r, g->rows[i], ref) : 0;
        if (rc) return rc;
    }
    return 0;
}

int cl_report_new(cl_report **out, const cl_runset *set, double level)
{
    *out = NULL;
    if (!(level > 0 && level < 1))
        return cl_error_set(CL_EINVAL, "--level: %g is not a confidence in (0, 1)", level);
    cl_report *r = calloc(1, sizeof *r);
    if (!r) return cl_error_set(CL_ENOMEM, "out of memory");
    r->set = set;
    r->level = level;
    r->rows = calloc((size_t)(set->n_cells ? set->n_cells : 1), sizeof *r->rows);
    int rc = r->rows ? 0 : cl_error_set(CL_ENOMEM, "out of memory");
    for (int k = 0; rc == 0 && k < set->n_cells; k++, r->n_rows++)
        rc = fill_row(&r->rows[k], set, k, level);
    if (rc == 0) rc = build_groups(r);
    for (int g = 0; rc == 0 && g < r->n_groups; g++) rc = finish_group(r, &r->groups[g]);
    if (rc) {
        cl_report_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void cl_report_free(cl_report *r)
{
    if (!r) return;
    for (int g = 0; g < r->n_groups; g++) free(r->groups[g].rows);
    free(r->groups);
    free(r->rows);
    free(r);
}

int cl_report_format_parse(cl_report_format *out, const char *name)
{
    static const char *const names[] = {"md", "csv", "tex", "json"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i])) {
            *out = (cl_report_format)i;
            return 0;
        }
    return cl_error_set(CL_EINVAL, "--format: '%s' is not md, csv, tex or json", name);
}

/* ---- shared formatting --------------------------------------------------- */

static const char *label_of(const cl_report *r, int row)
{
    return r->set->cells[r->rows[row].cell].label;
}

/* 1000-based units, as the run table prints them. */
static void human_bytes(char *buf, size_t n, double v)
{
    static const char *const u[] = {"B", "KB", "MB", "GB", "TB"};
    int i = 0;
    if (!isfinite(v)) {
        snprintf(buf, n, "-");
        return;
    }
    while (v >= 1000 && i < 4) v /= 1000, i++;
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void fmt_p(char *buf, size_t n, double p)
{
    if (p < 0.001) snprintf(buf, n, "p<0.001");
    else snprintf(buf, n, "p=%.3f", p);
}

static void level_text(char *buf, size_t n, double level)
{
    snprintf(buf, n, "%g%%", level * 100);
}

/* "B, S": what the strategy relies on beyond the plain stream. */
static void assumes_text(char *buf, size_t n, const cl_report_row *R)
{
    const int v[3] = {R->task_id, R->boundaries, R->stores};
    static const char *const code[3] = {"ID", "B", "S"};
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < 3; i++) {
        if (v[i] == 0) continue;
        len += (size_t)snprintf(buf + len, n - len, "%s%s%s", len ? ", " : "", code[i],
                                v[i] < 0 ? "?" : "");
        if (len >= n) return;
    }
    if (!len) snprintf(buf, n, "none");
}

static int group_has_diverged(const cl_report *r, const cl_report_group *g)
{
    for (int i = 0; i < g->n_rows; i++)
        if (r->rows[g->rows[i]].n_ok < r->rows[g->rows[i]].n_runs) return 1;
    return 0;
}

/* What a row's difference to naive can say. */
typedef enum diff_kind {
    DIFF_REFERENCE, /* the row is naive itself */
    DIFF_NONE,      /* no naive to compare with, or no seed both finished */
    DIFF_ONE_PAIR,  /* one paired seed: a difference, no test */
    DIFF_TESTED     /* two or more: the difference and its p */
} diff_kind;

static diff_kind diff_of(const cl_report *r, int row)
{
    const cl_report_row *R = &r->rows[row];
    if (is_naive(r, row)) return DIFF_REFERENCE;
    if (R->vs_naive < 0 || R->n_pairs == 0) return DIFF_NONE;
    return R->n_pairs < 2 ? DIFF_ONE_PAIR : DIFF_TESTED;
}

typedef void (*escape_fn)(cl_strbuf *b, const char *s);

/* How one output format spells a row of the per-group table; the cells
 * whose content differs by format come from stat and diff. */
typedef struct table_style {
    escape_fn esc;
    void (*stat)(cl_strbuf *b, const cl_summary *s, int bold);
    void (*diff)(cl_strbuf *b, const cl_report *r, int row);
    const char *row_open, *label_close; /* around the label, the first cell */
    const char *cell_open, *cell_close; /* around every later cell */
    const char *none;                   /* the content of an empty cell */
    const char *row_close;
} table_style;

static void cell(cl_strbuf *b, const table_style *t, const char *text)
{
    cl_strbuf_printf(b, "%s%s%s", t->cell_open, text, t->cell_close);
}

/* label | metrics | difference to naive | seeds ok | memory | time | assumes */
static void table_row(cl_strbuf *b, const cl_report *r, int row, const table_style *t)
{
    const cl_report_row *R = &r->rows[row];
    char text[32];
    cl_strbuf_puts(b, t->row_open);
    t->esc(b, label_of(r, row));
    cl_strbuf_puts(b, t->label_close);
    for (int m = 0; m < CL_REPORT_N_METRICS; m++)
        t->stat(b, &R->m[m], m == CL_REPORT_ACC && R->best);
    t->diff(b, r, row);
    snprintf(text, sizeof text, "%d/%d", R->n_ok, R->n_runs);
    cell(b, t, text);
    human_bytes(text, sizeof text, R->extra_bytes);
    cell(b, t, text);
    snprintf(text, sizeof text, "%.2f", R->wall_s);
    cell(b, t, isfinite(R->wall_s) ? text : t->none);
    assumes_text(text, sizeof text, R);
    cell(b, t, text);
    cl_strbuf_puts(b, t->row_close);
}

/* "ewc (lambda=10) seed 2: loss is NaN; ..." for a group's footnote. */
static void diverged_list(cl_strbuf *b, const cl_report *r, const cl_report_group *g,
                          escape_fn esc)
{
    int first = 1;
    for (int i = 0; i < g->n_rows; i++) {
        const cl_report_row *R = &r->rows[g->rows[i]];
        for (int k = 0; k < R->n_runs; k++) {
            const cl_run_doc *d = row_run(r, g->rows[i], k);
            if (is_ok(d)) continue;
            const char *why = cl_json_str(cl_json_get(d->doc, "reason"));
            cl_strbuf_puts(b, first ? "" : "; ");
            esc(b, label_of(r, g->rows[i]));
            cl_strbuf_printf(b, " seed %lu (", d->seed);
            esc(b, why ? why : d->status ? d->status : "no status");
            cl_strbuf_puts(b, ")");
            first = 0;
        }
    }
}

/* ---- Markdown ---------------------------------------------------------- */

void cl_report_md_str(cl_strbuf *b, const char *s)
{
    for (; *s; s++) {
        if (strchr("\\`*_[]<>|#", *s)) cl_strbuf_printf(b, "\\%c", *s);
        else if (*s == '\n') cl_strbuf_puts(b, " ");
        else cl_strbuf_printf(b, "%c", *s);
    }
}

static void md_stat(cl_strbuf *b, const cl_summary *s, int bold)
{
    const char *em = bold ? "**" : "";
    if (s->n == 0) cl_strbuf_puts(b, " - |");
    else if (isfinite(s->half)) cl_strbuf_printf(b, " %s%.3f ± %.3f%s |", em, s->mean, s->half, em);
    else cl_strbuf_printf(b, " %s%.3f%s |", em, s->mean, em);
}

static void md_diff(cl_strbuf *b, const cl_report *r, int row)
{
    const cl_report_row *R = &r->rows[row];
    char p[32];
    switch (diff_of(r, row)) {
    case DIFF_REFERENCE: cl_strbuf_puts(b, " reference |"); break;
    case DIFF_NONE: cl_strbuf_puts(b, " - |"); break;
    case DIFF_ONE_PAIR: cl_strbuf_printf(b, " %+.3f (n=1) |", R->diff_acc); break;
    case DIFF_TESTED:
        fmt_p(p, sizeof p, R->p_acc);
        cl_strbuf_printf(b, " %+.3f (%s, n=%d) |", R->diff_acc, p, R->n_pairs);
        break;
    }
}

static const table_style md_table = {cl_report_md_str, md_stat, md_diff, "| ", " |", " ", " |",
                                     "-", "\n"};

static void write_md(cl_strbuf *b, const cl_report *r)
{
    char lv[32];
    level_text(lv, sizeof lv, r->level);
    cl_strbuf_printf(b, "# clbench report\n\n%d runs in %d cells. Each cell: mean ± %s "
                        "confidence half-width (Student t) over the seeds that finished; "
                        "diverged runs are counted in *seeds ok* and left out of every mean. "
                        "*Δacc*: mean paired difference in acc to naive over the seeds both "
                        "finished (one seed = the same task order, data order and initial "
                        "weights), with the paired t-test's p. **Bold**: best mean acc of "
                        "its table. *assumes*: ID = task identity given at test, B = task "
                        "boundaries known in training, S = stores raw samples.\n",
                     r->set->n, r->set->n_cells, lv);
    for (int gi = 0; gi < r->n_groups; gi++) {
        const cl_report_group *g = &r->groups[gi];
        cl_strbuf_puts(b, "\n## ");
        cl_report_md_str(b, g->suite);
        cl_strbuf_puts(b, ", ");
        cl_report_md_str(b, g->scenario);
        cl_strbuf_puts(b, " scenario\n\nProtocol: ");
        cl_report_md_str(b, g->scenario);
        cl_strbuf_printf(b, " scenario, %ld steps per task, batch %ld; data: ", g->steps_per_task,
                         g->batch_size);
        cl_report_md_str(b, g->data);
        cl_strbuf_puts(b, "\n\n| strategy |");
        for (int m = 0; m < CL_REPORT_N_METRICS; m++) cl_strbuf_printf(b, " %s |", metric_head[m]);
        cl_strbuf_puts(b, " Δacc vs naive | seeds ok | extra memory | wall s | assumes |\n|:--|");
        for (int m = 0; m < CL_REPORT_N_METRICS; m++) cl_strbuf_puts(b, "--:|");
        cl_strbuf_puts(b, "--:|--:|--:|--:|:--|\n");
        for (int i = 0; i < g->n_rows; i++) table_row(b, r, g->rows[i], &md_table);
        if (group_has_diverged(r, g)) {
            cl_strbuf_puts(b, "\nDiverged, left out of the means: ");
            diverged_list(b, r, g, cl_report_md_str);
            cl_strbuf_puts(b, ".\n");
        }
    }
}

/* ---- LaTeX ------------------------------------------------------------- */

void cl_report_tex_str(cl_strbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\': cl_strbuf_puts(b, "\\textbackslash{}"); break;
        case '^': cl_strbuf_puts(b, "\\textasciicircum{}"); break;
        case '~': cl_strbuf_puts(b, "\\textasciitilde{}"); break;
        /* OT1 fonts print < > | as other glyphs outside math. */
        case '<': cl_strbuf_puts(b, "\\textless{}"); break;
        case '>': cl_strbuf_puts(b, "\\textgreater{}"); break;
        case '|': cl_strbuf_puts(b, "\\textbar{}"); break;
        case '\n': cl_strbuf_puts(b, " "); break;
        default:
            if (strchr("#$%&_{}", *s)) cl_strbuf_printf(b, "\\%c", *s);
            else cl_strbuf_printf(b, "%c", *s);
        }
    }
}

static void tex_stat(cl_strbuf *b, const cl_summary *s, int bold)
{
    if (s->n == 0) cl_strbuf_puts(b, " & --");
    /* the interval as a subscript, as ML papers print it: narrower columns */
    else if (bold && isfinite(s->half))
        cl_strbuf_printf(b, " & $\\mathbf{%.3f}_{\\pm %.3f}$", s->mean, s->half);
    else if (isfinite(s->half)) cl_strbuf_printf(b, " & $%.3f_{\\pm %.3f}$", s->mean, s->half);
    else cl_strbuf_printf(b, bold ? " & $\\mathbf{%.3f}$" : " & $%.3f$", s->mean);
}

/* Two columns: the difference, then "p (pairs)". */
static void tex_diff(cl_strbuf *b, const cl_report *r, int row)
{
    const cl_report_row *R = &r->rows[row];
    switch (diff_of(r, row)) {
    case DIFF_REFERENCE: cl_strbuf_puts(b, " & ref. & --"); break;
    case DIFF_NONE: cl_strbuf_puts(b, " & -- & --"); break;
    case DIFF_ONE_PAIR: cl_strbuf_printf(b, " & $%+.3f$ & -- (1)", R->diff_acc); break;
    case DIFF_TESTED:
        if (R->p_acc < 0.001)
            cl_strbuf_printf(b, " & $%+.3f$ & $<$0.001 (%d)", R->diff_acc, R->n_pairs);
        else cl_strbuf_printf(b, " & $%+.3f$ & %.3f (%d)", R->diff_acc, R->p_acc, R->n_pairs);
        break;
    }
}

static const table_style tex_table = {cl_report_tex_str, tex_stat, tex_diff, "", "", " & ", "",
                                      "--", " \\\\\n"};

static void write_tex(cl_strbuf *b, const cl_report *r)
{
    char lv[32];
    level_text(lv, sizeof lv, r->level);
    cl_strbuf_printf(b, "%% clbench report: %d runs in %d cells.\n"
                        "%% Needs \\usepackage{booktabs} and \\usepackage{graphicx}.\n",
                     r->set->n, r->set->n_cells);
    for (int gi = 0; gi < r->n_groups; gi++) {
        const cl_report_group *g = &r->groups[gi];
        cl_strbuf_puts(b, "\n\\begin{table}[htbp]\n\\centering\n\\footnotesize\n"
                          "\\setlength{\\tabcolsep}{3pt}\n\\caption{");
        cl_report_tex_str(b, g->suite);
        cl_strbuf_puts(b, ", ");
        cl_report_tex_str(b, g->scenario);
        cl_strbuf_printf(b, " scenario: %ld steps per task, batch %ld; data: ", g->steps_per_task,
                         g->batch_size);
        cl_report_tex_str(b, g->data);
        /* lv ends in '%', a comment in LaTeX */
        cl_strbuf_printf(b, ". Mean$_{\\pm\\mathrm{%.*s\\%%\\ CI}}$ over the seeds that finished.}\n",
                         (int)strlen(lv) - 1, lv);
        /* Eleven columns rarely fit a text column: shrink only when wider. */
        cl_strbuf_puts(b, "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n"
                          "\\begin{tabular}{lrrrrrrrrrrl}\n\\toprule\nStrategy");
        for (int m = 0; m < CL_REPORT_N_METRICS; m++) cl_strbuf_printf(b, " & %s", metric_head[m]);
        cl_strbuf_puts(b, " & $\\Delta$acc & $p$ (pairs) & Seeds ok & Memory & Time (s) & Assumes \\\\\n"
                          "\\midrule\n");
        for (int i = 0; i < g->n_rows; i++) table_row(b, r, g->rows[i], &tex_table);
        cl_strbuf_puts(b, "\\bottomrule\n\\end{tabular}}\n\n\\smallskip\n"
                          "\\begin{minipage}{\\linewidth}\\raggedright\n"
                          "$\\Delta$acc: mean paired difference in acc to naive (ref.) over the "
                          "seeds both finished; $p$: paired $t$-test. Bold: best mean acc. "
                          "Memory: bytes kept beyond the network. Assumes: ID task identity at "
                          "test, B task boundaries, S stores raw samples.");
        if (group_has_diverged(r, g)) {
            cl_strbuf_puts(b, " Diverged, left out of the means: ");
            diverged_list(b, r, g, cl_report_tex_str);
            cl_strbuf_puts(b, ".");
        }
        cl_strbuf_puts(b, "\n\\end{minipage}\n\\end{table}\n");
    }
}

/* ---- CSV (tidy: one row per run and metric) ------------------------------ */

void cl_report_csv_str(cl_strbuf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        cl_strbuf_puts(b, s);
        return;
    }
    cl_strbuf_puts(b, "\"");
    for (; *s; s++) cl_strbuf_puts(b, *s == '"' ? "\"\"" : (char[2]){*s, 0});
    cl_strbuf_puts(b, "\"");
}

static void write_csv(cl_strbuf *b, const cl_report *r)
{
    cl_strbuf_puts(b, "suite,scenario,strategy,label,seed,status,metric,value\n");
    for (int k = 0; k < r->n_rows; k++)
        for (int i = 0; i < r->rows[k].n_runs; i++) {
            const cl_run_doc *d = row_run(r, k, i);
            for (int m = 0; m < N_CSV; m++) {
                cl_report_csv_str(b, d->suite);
                cl_strbuf_puts(b, ",");
                cl_report_csv_str(b, d->scenario);
                cl_strbuf_puts(b, ",");
                cl_report_csv_str(b, d->strategy);
                cl_strbuf_puts(b, ",");
                cl_report_csv_str(b, label_of(r, k));
                cl_strbuf_printf(b, ",%lu,", d->seed);
                cl_report_csv_str(b, d->status ? d->status : "");
                /* the key after the namespace: metric names are unique */
                cl_strbuf_printf(b, ",%s,", strchr(csv_paths[m], '.') + 1);
                double v = cl_run_num(d, csv_paths[m]);
                if (isfinite(v)) cl_strbuf_json_num(b, v); /* empty: NA in pandas and R */
                cl_strbuf_puts(b, "\n");
            }
        }
}

/* ---- JSON bundle --------------------------------------------------------- */

static void json_flag(cl_strbuf *b, int v)
{
    cl_strbuf_puts(b, v < 0 ? "null" : v ? "true" : "false");
}

static void json_row(cl_strbuf *b, const cl_report *r, const cl_report_group *g, int row)
{
    const cl_report_row *R = &r->rows[row];
    const cl_run_doc *d = row_run(r, row, 0);
    cl_strbuf_puts(b, "{\"suite\":");
    cl_strbuf_json_str(b, d->suite);
    cl_strbuf_puts(b, ",\"scenario\":");
    cl_strbuf_json_str(b, d->scenario);
    cl_strbuf_puts(b, ",\"strategy\":");
    cl_strbuf_json_str(b, d->strategy);
    cl_strbuf_puts(b, ",\"label\":");
    cl_strbuf_json_str(b, label_of(r, row));
    cl_strbuf_printf(b, ",\"protocol\":{\"steps_per_task\":%ld,\"batch_size\":%ld,\"data\":",
                     g->steps_per_task, g->batch_size);
    cl_strbuf_json_str(b, g->data);
    cl_strbuf_puts(b, "},\"assumptions\":{\"task_boundaries\":");
    json_flag(b, R->boundaries);
    cl_strbuf_puts(b, ",\"task_id_at_test\":");
    json_flag(b, R->task_id);
    cl_strbuf_puts(b, ",\"stores_samples\":");
    json_flag(b, R->stores);
    cl_strbuf_printf(b, "},\"runs\":%d,\"ok\":%d,\"seeds\":[", R->n_runs, R->n_ok);
    for (int i = 0; i < R->n_runs; i++) cl_strbuf_printf(b, "%s%lu", i ? "," : "", row_run(r, row, i)->seed);
    cl_strbuf_puts(b, "],\"diverged_seeds\":[");
    for (int i = 0, k = 0; i < R->n_runs; i++)
        if (!is_ok(row_run(r, row, i)))
            cl_strbuf_printf(b, "%s%lu", k++ ? "," : "", row_run(r, row, i)->seed);
    cl_strbuf_puts(b, "]");
    for (int m = 0; m < CL_REPORT_N_METRICS; m++) {
        const cl_summary *s = &R->m[m];
        cl_strbuf_printf(b, ",\"%s\":{\"n\":%d,\"mean\":", metric_key[m], s->n);
        cl_strbuf_json_num(b, s->mean);
        cl_strbuf_puts(b, ",\"sd\":");
        cl_strbuf_json_num(b, s->sd);
        cl_strbuf_puts(b, ",\"half\":");
        cl_strbuf_json_num(b, s->half);
        cl_strbuf_puts(b, ",\"lo\":");
        cl_strbuf_json_num(b, s->lo);
        cl_strbuf_puts(b, ",\"hi\":");
        cl_strbuf_json_num(b, s->hi);
        cl_strbuf_puts(b, "}");
    }
    cl_strbuf_puts(b, ",\"extra_bytes\":");
    cl_strbuf_json_num(b, R->extra_bytes);
    cl_strbuf_puts(b, ",\"wall_s\":");
    cl_strbuf_json_num(b, R->wall_s);
    cl_strbuf_puts(b, ",\"vs_naive\":");
    if (R->vs_naive < 0) cl_strbuf_puts(b, "null");
    else {
        cl_strbuf_puts(b, "{\"label\":");
        cl_strbuf_json_str(b, label_of(r, R->vs_naive));
        cl_strbuf_printf(b, ",\"pairs\":%d,\"diff_acc\":", R->n_pairs);
        cl_strbuf_json_num(b, R->diff_acc);
        cl_strbuf_puts(b, ",\"p\":");
        cl_strbuf_json_num(b, R->p_acc);
        cl_strbuf_puts(b, "}");
    }
    cl_strbuf_printf(b, ",\"best\":%s}", R->best ? "true" : "false");
}

/* The runs go in whole, so a bundle is itself a results set: `clbench
 * report` and `clbench compare` read it back like the folders it came from. */
static void write_json(cl_strbuf *b, const cl_report *r)
{
    /* %.15g: "0.95", which is how the user wrote it */
    cl_strbuf_printf(b, "{\"clbench_bundle\": 1,\n\"level\": %.15g,\n\"summary\": [", r->level);
    int first = 1;
    for (int gi = 0; gi < r->n_groups; gi++)
        for (int i = 0; i < r->groups[gi].n_rows; i++) {
            cl_strbuf_puts(b, first ? "\n" : ",\n");
            json_row(b, r, &r->groups[gi], r->groups[gi].rows[i]);
            first = 0;
        }
    cl_strbuf_puts(b, "\n],\n\"runs\": [");
    first = 1;
    for (int k = 0; k < r->n_rows; k++)
        for (int i = 0; i < r->rows[k].n_runs; i++) {
            cl_strbuf_puts(b, first ? "\n" : ",\n");
            cl_json_dump(b, row_run(r, k, i)->doc);
            first = 0;
        }
    cl_strbuf_puts(b, "\n]}\n");
}

int cl_report_write(cl_strbuf *b, const cl_report *r, cl_report_format f)
{
    switch (f) {
    case CL_REPORT_MD: write_md(b, r); break;
    case CL_REPORT_CSV: write_csv(b, r); break;
    case CL_REPORT_TEX: write_tex(b, r); break;
    case CL_REPORT_JSON: write_json(b, r); break;
    }
    return cl_strbuf_status(b);
}
