/* acc, bwt and forgetting of every cell of a suite + scenario as grouped
 * bars (one group per metric, one bar per cell) with Student-t error bars
 * over the finished seeds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/report/plot_kit.h"
#include "clbench/base/stats.h"

#define N_METRICS 3
static const char *const metric_path[N_METRICS] = {"metrics.acc", "metrics.bwt",
                                                   "metrics.forgetting"};
static const char *const metric_name[N_METRICS] = {"acc", "bwt", "forgetting"};
static const char *const metric_tic[N_METRICS] = {"ACC", "BWT", "forgetting"};

/* Longest key entry that fits the 3.5 in width (longer ones are cut). */
#define MAX_TITLE 44

static int summarise(cl_summary *m /* (N_METRICS) */, const cl_runset *s, const cl_cell *c,
                     double level)
{
    double *x = malloc((size_t)c->n * sizeof *x); /* (runs) */
    if (!x) return cl_error_set(CL_ENOMEM, "out of memory");
    for (int j = 0; j < N_METRICS; j++) {
        for (int i = 0; i < c->n; i++) {
            const cl_run_doc *r = &s->runs[c->runs[i]];
            x[i] = cl_plot_run_ok(r) ? cl_run_num(r, metric_path[j]) : NAN;
        }
        cl_stats_summary(&m[j], x, c->n, level);
    }
    free(x);
    return 0;
}

/* Rows the key below the plot needs: entries are about 0.55 em per
 * character plus the sample, over a 3.3 in wide line. */
static int key_rows(const cl_plot_group *g)
{
    size_t longest = 1;
    for (int k = 0; k < g->n; k++) {
        size_t l = strlen(g->set->cells[g->first + k].label);
        if (l > longest) longest = l > MAX_TITLE ? MAX_TITLE : l;
    }
    double entry_pt = (double)longest * 0.55 * 8 + 30;
    int cols = (int)(3.3 * 72 / entry_pt);
    if (cols < 1) cols = 1;
    return (g->n + cols - 1) / cols;
}

static int draw_bars(cl_plot_group *g, int k)
{
    (void)k;
    const cl_runset *s = g->set;
    cl_summary *m = malloc((size_t)g->n * N_METRICS * sizeof *m); /* (cells, metrics) */
    if (!m) return cl_error_set(CL_ENOMEM, "out of memory");
    int rc = 0, any = 0;
    double lo = 0, hi = 0;
    for (int k = 0; rc == 0 && k < g->n; k++) {
        rc = summarise(&m[k * N_METRICS], s, &s->cells[g->first + k], g->o->level);
        for (int j = 0; rc == 0 && j < N_METRICS; j++) {
            const cl_summary *v = &m[k * N_METRICS + j];
            double a = isfinite(v->lo) ? v->lo : v->mean, b = isfinite(v->hi) ? v->hi : v->mean;
            if (!isfinite(v->mean)) continue;
            any = 1;
            if (a < lo) lo = a;
            if (b > hi) hi = b;
        }
    }
    if (rc || !any) { /* no finished run: nothing to draw */
        free(m);
        return rc;
    }
    cl_strbuf dat, gp;
    cl_strbuf_init(&dat);
    cl_strbuf_init(&gp);
    cl_strbuf_printf(&dat, "# acc, bwt, forgetting per cell: mean over finished seeds, %g%% "
                           "Student-t interval (NaN below 2 seeds)\n", 100 * g->o->level);
    for (int k = 0; k < g->n; k++) {
        cl_strbuf_printf(&dat, "%s# cell %d: ", k ? "\n\n" : "", k + 1);
        cl_strbuf_puts(&dat, s->cells[g->first + k].label);
        cl_strbuf_puts(&dat, "\n# x metric mean lo hi n\n");
        for (int j = 0; j < N_METRICS; j++) {
            const cl_summary *v = &m[k * N_METRICS + j];
            cl_strbuf_printf(&dat, "%d %s ", j + 1, metric_name[j]);
            cl_plot_num(&dat, v->mean);
            cl_strbuf_puts(&dat, " ");
            cl_plot_num(&dat, v->lo);
            cl_strbuf_puts(&dat, " ");
            cl_plot_num(&dat, v->hi);
            cl_strbuf_printf(&dat, " %d\n", v->n);
        }
    }
    const cl_run_doc *r0 = &s->runs[s->cells[g->first].runs[0]];
    cl_strbuf what;
    cl_strbuf_init(&what);
    cl_strbuf_printf(&what, "acc, bwt and forgetting per cell (%s, %s), mean and %g%% "
                            "Student-t interval over finished seeds",
                     r0->suite, r0->scenario, 100 * g->o->level);
    int rows = key_rows(g);
    cl_plot_preamble(&gp, g, "bars", what.s ? what.s : "bars", 3.5, 2.0 + 0.15 * rows);
    cl_strbuf_release(&what);
    double pad = 0.06 * (hi - lo > 0 ? hi - lo : 1);
    cl_strbuf_printf(&gp, "set xrange [0.5:%d.5]\nset yrange [%.3f:%.3f]\n", N_METRICS,
                     lo < 0 ? lo - pad : 0.0, hi + pad);
    cl_strbuf_puts(&gp, "set xtics (");
    for (int j = 0; j < N_METRICS; j++)
        cl_strbuf_printf(&gp, "%s'%s' %d", j ? ", " : "", metric_tic[j], j + 1);
    cl_strbuf_puts(&gp, ") scale 0 nomirror\n");
    cl_strbuf_puts(&gp, "set ytics nomirror out scale 0.5\nset border 3 lw 0.5\n"
                        "set grid ytics lc rgb '#dddddd' lw 0.5\nset xzeroaxis lt -1 lw 0.5\n"
                        "set ylabel 'mean over seeds'\n");
    cl_strbuf_puts(&gp, "set key outside below center horizontal Left reverse samplen 1.2 "
                        "spacing 1.0 width -1\n");
    double w = 0.8 / g->n;
    cl_strbuf_printf(&gp, "w = %.4f  # bar width\nset boxwidth w absolute\n", w);
    cl_strbuf_puts(&gp, "set style fill solid 0.85 border lc rgb '#333333'\n");
    cl_strbuf_puts(&gp, "plot");
    int first = 1;
    for (int k = 0; k < g->n; k++) {
        int has = 0;
        for (int j = 0; j < N_METRICS; j++) has |= isfinite(m[k * N_METRICS + j].mean) != 0;
        if (!has) continue; /* no finished run: gnuplot would warn of an empty block */
        double off = ((double)k - (g->n - 1) / 2.0);
        /* Past eight cells the colours repeat, with a hatch to tell them apart. */
        char fill[48] = "";
        if (k >= CL_PLOT_N_COLOURS)
            snprintf(fill, sizeof fill, " fs pattern %d", k / CL_PLOT_N_COLOURS + 3);
        cl_strbuf_printf(&gp, "%s 'bars.dat' index %d using ($1%+.1f*w):3 with boxes lt %d "
                              "lw 0.5%s title ",
                         first ? "" : ", \\\n    ", k, off, k + 1, fill);
        char title[MAX_TITLE + 1];
        cl_plot_short(title, sizeof title, s->cells[g->first + k].label, MAX_TITLE);
        cl_plot_str(&gp, title);
        int ci = 0;
        for (int j = 0; j < N_METRICS; j++) ci |= isfinite(m[k * N_METRICS + j].half) != 0;
        if (ci)
            /* Vectors with flat heads: yerrorbars would leave a gap at the mean. */
            cl_strbuf_printf(&gp, ", \\\n     '' index %d using ($1%+.1f*w):4:(0):($5-$4) with vectors "
                                  "heads size screen 0.008,90 lc rgb '#000000' lw 1 notitle",
                             k, off);
        first = 0;
    }
    cl_strbuf_puts(&gp, "\n");
    rc = cl_plot_emit(g, "bars", &gp, &dat);
    cl_strbuf_release(&dat);
    cl_strbuf_release(&gp);
    free(m);
    return rc;
}

const cl_plot_figure cl_plot_figure_bars = {"bars", 0, draw_bars};
