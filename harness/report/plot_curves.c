/* Anytime curves of one cell: every task's accuracy over training steps
 * (curve.csv beside each metrics.json), the mean over the finished seeds
 * with a Student-t band, and a dashed line at every task boundary. Runs
 * read from bundles have no curve.csv; they are counted and left out. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/report/plot_kit.h"
#include "clbench/base/stats.h"

typedef struct curve {
    int n;          /* points (step, task) */
    long *step;     /* (n) */
    int *trained;   /* (n) 1-based task being trained */
    int *task;      /* (n) 1-based task evaluated */
    double *acc;    /* (n) NaN when null */
} curve;

static void curve_free(curve *c)
{
    free(c->step);
    free(c->trained);
    free(c->task);
    free(c->acc);
    memset(c, 0, sizeof *c);
}

/* A standalone metrics.json is a parsed root of its own; a run from a
 * bundle is a member of one, with no folder (and no curve.csv) behind it. */
static int from_folder(const cl_runset *s, const cl_run_doc *r)
{
    for (int i = 0; i < s->n_roots; i++)
        if (s->roots[i] == r->doc) return 1;
    return 0;
}

static int curve_path(const cl_run_doc *r, char *buf, size_t size)
{
    const char *slash = strrchr(r->source, '/');
    int n = slash ? snprintf(buf, size, "%.*s/curve.csv", (int)(slash - r->source), r->source)
                  : snprintf(buf, size, "curve.csv");
    return n > 0 && (size_t)n < size;
}

static int parse_long(const char *s, const char *end, long *out)
{
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (e != end || s == end || errno || v < 0) return -1;
    *out = v;
    return 0;
}

static int parse_line(const char *p, const char *eol, long *v /* (3) */, double *acc)
{
    const char *f = p;
    for (int i = 0; i < 3; i++) {
        const char *comma = memchr(f, ',', (size_t)(eol - f));
        if (!comma || parse_long(f, comma, &v[i])) return -1;
        f = comma + 1;
    }
    size_t len = (size_t)(eol - f);
    if (len == 4 && !memcmp(f, "null", 4)) {
        *acc = NAN;
        return 0;
    }
    char *e;
    *acc = strtod(f, &e);
    return e == eol && len > 0 && isfinite(*acc) ? 0 : -1;
}

static int push(curve *c, int *cap, long step, int trained, int task, double acc)
{
    if (c->n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        long *st = realloc(c->step, (size_t)*cap * sizeof *st);
        if (st) c->step = st;
        int *tr = realloc(c->trained, (size_t)*cap * sizeof *tr);
        if (tr) c->trained = tr;
        int *tk = realloc(c->task, (size_t)*cap * sizeof *tk);
        if (tk) c->task = tk;
        double *ac = realloc(c->acc, (size_t)*cap * sizeof *ac);
        if (ac) c->acc = ac;
        if (!st || !tr || !tk || !ac) return cl_error_set(CL_ENOMEM, "out of memory");
    }
    c->step[c->n] = step;
    c->trained[c->n] = trained;
    c->task[c->n] = task;
    c->acc[c->n] = acc;
    c->n++;
    return 0;
}

/* Reads step,trained_task,task,accuracy rows with tasks in 1..T, after a
 * step 0 of the untrained network (row 0 of R: curve.csv starts after the
 * first training steps). A step 0 in the file would override it. */
static int curve_read(curve *c, const char *path, const cl_json *R, int T)
{
    memset(c, 0, sizeof *c);
    char *text;
    size_t len;
    int rc = cl_fs_read_all(path, &text, &len);
    if (rc) return rc;
    int cap = 0, line = 1;
    for (int j = 0; rc == 0 && j < T; j++)
        rc = push(c, &cap, 0, 1, j + 1, cl_json_num(cl_json_at(cl_json_at(R, 0), (size_t)j)));
    if (rc) {
        free(text);
        curve_free(c);
        return rc;
    }
    const char *p = text, *end = text + len;
    const char *eol = memchr(p, '\n', len);
    if (!eol) eol = end;
    size_t hl = (size_t)(eol - p);
    if (hl && p[hl - 1] == '\r') hl--;
    if (hl != 31 || memcmp(p, "step,trained_task,task,accuracy", 31)) {
        free(text);
        return cl_error_set(CL_EDATA, "%s:1: expected the header step,trained_task,task,accuracy",
                            path);
    }
    for (p = eol < end ? eol + 1 : end; rc == 0 && p < end; p = eol < end ? eol + 1 : end) {
        line++;
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        const char *e = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (e == p) continue;
        long v[3];
        double acc;
        if (parse_line(p, e, v, &acc) || v[1] < 1 || v[1] > T || v[2] < 1 || v[2] > T) {
            rc = cl_error_set(CL_EDATA, "%s:%d: expected step,trained_task,task,accuracy with "
                                        "tasks in 1..%d", path, line, T);
            break;
        }
        rc = push(c, &cap, v[0], (int)v[1], (int)v[2], acc);
    }
    free(text);
    if (rc == 0 && c->n == T) rc = cl_error_set(CL_EDATA, "%s: no curve points", path);
    if (rc) curve_free(c);
    return rc;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static int step_index(const long *u, int n, long step)
{
    const long *p = bsearch(&step, u, (size_t)n, sizeof *u, cmp_long);
    return p ? (int)(p - u) : -1;
}

typedef struct grid {
    int T, n_runs, n_steps;
    long *steps;        /* (n_steps) sorted union of the runs' steps */
    int *trained;       /* (n_steps) task trained at that step (first run's) */
    double *acc;        /* (n_runs, n_steps, T) NaN where a run has no point */
} grid;

static int grid_build(grid *g, const curve *cs, int n_runs, int T)
{
    memset(g, 0, sizeof *g);
    g->T = T;
    g->n_runs = n_runs;
    size_t total = 0;
    for (int r = 0; r < n_runs; r++) total += (size_t)cs[r].n;
    g->steps = malloc(total * sizeof *g->steps);
    if (!g->steps) return cl_error_set(CL_ENOMEM, "out of memory");
    size_t n = 0;
    for (int r = 0; r < n_runs; r++)
        for (int i = 0; i < cs[r].n; i++) g->steps[n++] = cs[r].step[i];
    qsort(g->steps, n, sizeof *g->steps, cmp_long);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || g->steps[i] != g->steps[u - 1]) g->steps[u++] = g->steps[i];
    g->n_steps = (int)u;
    g->trained = calloc(u, sizeof *g->trained);
    g->acc = malloc((size_t)n_runs * u * (size_t)T * sizeof *g->acc);
    if (!g->trained || !g->acc) return cl_error_set(CL_ENOMEM, "out of memory");
    for (size_t i = 0; i < (size_t)n_runs * u * (size_t)T; i++) g->acc[i] = NAN;
    for (int r = 0; r < n_runs; r++)
        for (int i = 0; i < cs[r].n; i++) {
            int s = step_index(g->steps, g->n_steps, cs[r].step[i]);
            if (!g->trained[s]) g->trained[s] = cs[r].trained[i];
            g->acc[((size_t)r * u + (size_t)s) * (size_t)T + (size_t)(cs[r].task[i] - 1)] =
                cs[r].acc[i];
        }
    return 0;
}

static void grid_free(grid *g)
{
    free(g->steps);
    free(g->trained);
    free(g->acc);
}

/* One block per task (gnuplot index t - 1): step mean lo hi n. Sets
 * has[t] when the task has at least one point. */
static int write_dat(cl_strbuf *dat, const grid *g, const char *label, double level, int *has)
{
    double *x = malloc((size_t)g->n_runs * sizeof *x); /* (runs) */
    if (!x) return cl_error_set(CL_ENOMEM, "out of memory");
    cl_strbuf_printf(dat, "# anytime accuracy of %s: mean over %d seeds, %g%% Student-t interval"
                          " (lo = hi = mean below 2 seeds); step 0 is the untrained network "
                          "(row 0 of R)\n", label, g->n_runs, 100 * level);
    for (int t = 0; t < g->T; t++) {
        cl_strbuf_printf(dat, "%s# task %d\n# step mean lo hi n\n", t ? "\n\n" : "", t + 1);
        has[t] = 0;
        for (int s = 0; s < g->n_steps; s++) {
            for (int r = 0; r < g->n_runs; r++)
                x[r] = g->acc[((size_t)r * (size_t)g->n_steps + (size_t)s) * (size_t)g->T +
                              (size_t)t];
            cl_summary m;
            cl_stats_summary(&m, x, g->n_runs, level);
            if (m.n == 0) continue;
            double lo = m.n > 1 ? m.lo : m.mean, hi = m.n > 1 ? m.hi : m.mean;
            cl_strbuf_printf(dat, "%ld ", g->steps[s]);
            cl_plot_num(dat, m.mean);
            cl_strbuf_puts(dat, " ");
            cl_plot_num(dat, lo);
            cl_strbuf_puts(dat, " ");
            cl_plot_num(dat, hi);
            cl_strbuf_printf(dat, " %d\n", m.n);
            has[t] = 1;
        }
    }
    free(x);
    return 0;
}

static void script(cl_strbuf *gp, cl_plot_group *g, const char *stem, const char *label,
                   const grid *gr, const int *has)
{
    const cl_run_doc *r0 = &g->set->runs[g->set->cells[g->first].runs[0]];
    cl_strbuf what;
    cl_strbuf_init(&what);
    cl_strbuf_printf(&what, "anytime accuracy of %s (%s, %s), mean over %d seed%s", label,
                     r0->suite, r0->scenario, gr->n_runs, gr->n_runs == 1 ? "" : "s");
    cl_plot_preamble(gp, g, stem, what.s ? what.s : "anytime curves", 3.5, 2.4);
    cl_strbuf_release(&what);
    long last = gr->steps[gr->n_steps - 1];
    cl_strbuf_printf(gp, "set xrange [0:%ld]\nset yrange [0:1]\n", last);
    cl_strbuf_puts(gp, "set xlabel 'training step'\nset ylabel 'accuracy'\n"
                       "set border 3 lw 0.5\nset tics nomirror out scale 0.5\nset ytics 0.2\n");
    cl_strbuf_printf(gp, "set key outside right top vertical Left reverse title 'task' "
                         "samplen 1.5 spacing 1.0%s\n",
                     gr->T > 12 ? " maxrows 12" : "");
    /* Many tasks: lighter bands, or they bury each other. */
    cl_strbuf_printf(gp, "set style fill transparent solid %s noborder\n",
                     gr->T <= 5 ? "0.2" : "0.1");
    /* Boundaries: the last step of every task but the final one; the top
     * axis names the task trained in each stretch. */
    cl_strbuf_puts(gp, "# task boundaries (dashed) and the task trained between them (top)\n");
    long start = 0;
    int label_every = gr->T <= 12 ? 1 : (gr->T + 11) / 12;
    cl_strbuf_puts(gp, "set x2tics scale 0 (");
    int first_tic = 1;
    for (int s = 0; s < gr->n_steps; s++) {
        int end_of_task = s + 1 == gr->n_steps || gr->trained[s + 1] != gr->trained[s];
        if (!end_of_task) continue;
        int t = gr->trained[s];
        if ((t - 1) % label_every == 0) {
            cl_strbuf_printf(gp, "%s'%d' %.1f", first_tic ? "" : ", ", t,
                             0.5 * (double)(start + gr->steps[s]));
            first_tic = 0;
        }
        start = gr->steps[s];
    }
    cl_strbuf_puts(gp, ")\nset x2range [0:");
    cl_strbuf_printf(gp, "%ld]\nset x2label 'training task' offset 0,-0.6\n", last);
    for (int s = 0; s + 1 < gr->n_steps; s++)
        if (gr->trained[s + 1] != gr->trained[s])
            cl_strbuf_printf(gp, "set arrow from %ld, graph 0 to %ld, graph 1 nohead back "
                                 "dt 2 lw 1 lc rgb '#555555'\n",
                             gr->steps[s], gr->steps[s]);
    /* Few points (eval_every 0): mark them, lines alone could hide them. */
    const char *with = gr->n_steps <= 2 * gr->T ? "linespoints pt 7 ps 0.4" : "lines";
    cl_strbuf_puts(gp, "plot");
    int first = 1;
    for (int t = 0; t < gr->T; t++) {
        if (!has[t]) continue;
        /* Past eight tasks the colours repeat, with another dash pattern. */
        int dt = t / CL_PLOT_N_COLOURS + 1;
        cl_strbuf_printf(gp, "%s '%s.dat' index %d using 1:3:4 with filledcurves lt %d notitle",
                         first ? "" : ", \\\n    ", stem, t, t + 1);
        cl_strbuf_printf(gp, ", \\\n     '' index %d using 1:2 with %s lt %d dt %d title '%d'", t,
                         with, t + 1, dt, t + 1);
        first = 0;
    }
    cl_strbuf_puts(gp, "\n");
}

static int draw_curves(cl_plot_group *g, int k)
{
    const cl_runset *s = g->set;
    const cl_cell *c = &s->cells[g->first + k];
    curve *cs = calloc((size_t)c->n, sizeof *cs);
    if (!cs) return cl_error_set(CL_ENOMEM, "out of memory");
    int n = 0, T = 0, rc = 0;
    for (int i = 0; rc == 0 && i < c->n; i++) {
        const cl_run_doc *r = &s->runs[c->runs[i]];
        if (!cl_plot_run_ok(r)) continue;
        char path[1100];
        if (!from_folder(s, r) || !curve_path(r, path, sizeof path) || !cl_fs_exists(path)) {
            g->res->n_no_curve++;
            continue;
        }
        /* T comes from R, checked by the heatmap: (T+1) x T. */
        const cl_json *R = cl_json_get(r->doc, "R");
        T = (int)cl_json_len(cl_json_at(R, 0));
        rc = curve_read(&cs[n], path, R, T);
        if (rc == 0) n++;
    }
    grid gr = {0};
    if (rc == 0 && n > 0) rc = grid_build(&gr, cs, n, T);
    int *has = rc == 0 && n > 0 ? calloc((size_t)T, sizeof *has) : NULL;
    if (rc == 0 && n > 0 && !has) rc = cl_error_set(CL_ENOMEM, "out of memory");
    if (rc == 0 && n > 0) {
        cl_strbuf dat, gp;
        cl_strbuf_init(&dat);
        cl_strbuf_init(&gp);
        char stem[260];
        snprintf(stem, sizeof stem, "curves-%s", g->slugs[k]);
        rc = write_dat(&dat, &gr, c->label, g->o->level, has);
        int any = 0;
        for (int t = 0; t < T; t++) any |= has[t];
        /* Every point null: nothing to draw (gnuplot would refuse). */
        if (rc == 0 && any) {
            script(&gp, g, stem, c->label, &gr, has);
            rc = cl_plot_emit(g, stem, &gp, &dat);
        }
        cl_strbuf_release(&dat);
        cl_strbuf_release(&gp);
    }
    free(has);
    if (n > 0) grid_free(&gr);
    for (int i = 0; i < c->n; i++) curve_free(&cs[i]);
    free(cs);
    return rc;
}

const cl_plot_figure cl_plot_figure_curves = {"curves", 1, draw_curves};
