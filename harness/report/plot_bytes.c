/* Accuracy against the extra bytes a strategy keeps (log x), one point per
 * cell with its Student-t interval, each labelled with the cell. Labels are
 * placed here, not by gnuplot: the axes are fixed in the script, so each
 * label takes the first spot around its point that overlaps nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/report/plot_kit.h"
#include "clbench/base/stats.h"

/* Figure and plot area (screen fractions), fixed so placement can reckon
 * in points. */
#define FIG_W 3.5
#define FIG_H 2.4
#define AREA_L 0.16
#define AREA_R 0.97
#define AREA_B 0.18
#define AREA_T 0.96
#define LABEL_PT 7.0
#define MAX_LABEL 28 /* longer labels are cut */

typedef struct point {
    int cell;               /* index in the group */
    double bytes, x;        /* x: bytes, or the "0" position on the log axis */
    cl_summary acc;
} point;

typedef struct box { double x0, y0, x1, y1; } box;

static double overlap(box a, box b)
{
    double w = fmin(a.x1, b.x1) - fmax(a.x0, b.x0), h = fmin(a.y1, b.y1) - fmax(a.y0, b.y0);
    return w > 0 && h > 0 ? w * h : 0;
}

static double outside(box a, double W, double H)
{
    box in = {0, 0, W, H};
    return (a.x1 - a.x0) * (a.y1 - a.y0) - overlap(a, in);
}

/* "1 kB", "10 MB": decimal units, as extra bytes are counted. */
static void decade_label(char *buf, size_t n, int e)
{
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    if (e < 0) snprintf(buf, n, "1e%d B", e);
    else if (e / 3 < 6) snprintf(buf, n, "%.0f %s", pow(10, e % 3), unit[e / 3]);
    else snprintf(buf, n, "1e%d B", e);
}

typedef struct axes { double lx0, lx1, y0, y1, W, H; } axes;

static double px_of(const axes *a, double x) { return (log10(x) - a->lx0) / (a->lx1 - a->lx0) * a->W; }
static double py_of(const axes *a, double y) { return (y - a->y0) / (a->y1 - a->y0) * a->H; }

/* Candidate spots: anchor offset in points and justification. */
static const struct { double dx, dy; int just; /* -1 right, 0 centre, 1 left */ } spot[] = {
    {5, 0, 1}, {-5, 0, -1}, {4, 7, 1}, {4, -7, 1}, {-4, 7, -1}, {-4, -7, -1}, {0, 9, 0}, {0, -9, 0}};
#define N_SPOTS ((int)(sizeof spot / sizeof spot[0]))

static box label_box(double px, double py, int s, double w)
{
    double ax = px + spot[s].dx, ay = py + spot[s].dy, h = LABEL_PT * 1.2;
    double x0 = spot[s].just > 0 ? ax : spot[s].just < 0 ? ax - w : ax - w / 2;
    return (box){x0, ay - h / 2, x0 + w, ay + h / 2};
}

/* Appends `set label` lines, placing each label greedily. */
static int place_labels(cl_strbuf *gp, const cl_plot_group *g, const point *p, int n,
                        const axes *a)
{
    box *taken = malloc((size_t)(3 * n + 1) * sizeof *taken); /* markers, bars, labels */
    if (!taken) return cl_error_set(CL_ENOMEM, "out of memory");
    int nt = 0;
    for (int i = 0; i < n; i++) {
        double px = px_of(a, p[i].x), py = py_of(a, p[i].acc.mean);
        taken[nt++] = (box){px - 2.5, py - 2.5, px + 2.5, py + 2.5};
        if (isfinite(p[i].acc.half))
            taken[nt++] = (box){px - 2, py_of(a, p[i].acc.lo), px + 2, py_of(a, p[i].acc.hi)};
    }
    cl_strbuf_puts(gp, "# point labels, placed by clbench so they do not overlap\n");
    for (int i = 0; i < n; i++) {
        char label[MAX_LABEL + 1];
        cl_plot_short(label, sizeof label, g->set->cells[g->first + p[i].cell].label, MAX_LABEL);
        double w = (double)strlen(label) * 0.55 * LABEL_PT;
        double px = px_of(a, p[i].x), py = py_of(a, p[i].acc.mean);
        int best = 0;
        double best_cost = INFINITY;
        for (int s = 0; s < N_SPOTS; s++) {
            box b = label_box(px, py, s, w);
            double cost = 50 * outside(b, a->W, a->H) + s * 0.5; /* prefer earlier spots */
            for (int t = 0; t < nt; t++) cost += overlap(b, taken[t]);
            if (cost < best_cost) best_cost = cost, best = s;
        }
        taken[nt++] = label_box(px, py, best, w);
        double ax = pow(10, a->lx0 + (px + spot[best].dx) / a->W * (a->lx1 - a->lx0));
        double ay = a->y0 + (py + spot[best].dy) / a->H * (a->y1 - a->y0);
        cl_strbuf_printf(gp, "set label %d ", i + 1);
        cl_plot_str(gp, label);
        cl_strbuf_printf(gp, " at %.6g,%.6g %s font ',%.0f' tc rgb '%s' front\n", ax, ay,
                         spot[best].just > 0 ? "left" : spot[best].just < 0 ? "right" : "center",
                         LABEL_PT, cl_plot_colour(p[i].cell));
    }
    free(taken);
    return 0;
}

static int collect(point *p, int *n_out, const cl_plot_group *g)
{
    const cl_runset *s = g->set;
    int n = 0;
    for (int k = 0; k < g->n; k++) {
        const cl_cell *c = &s->cells[g->first + k];
        double *acc = malloc((size_t)c->n * sizeof *acc), bytes = 0; /* (runs) */
        if (!acc) return cl_error_set(CL_ENOMEM, "out of memory");
        int nb = 0;
        for (int i = 0; i < c->n; i++) {
            const cl_run_doc *r = &s->runs[c->runs[i]];
            int ok = cl_plot_run_ok(r);
            acc[i] = ok ? cl_run_num(r, "metrics.acc") : NAN;
            double b = ok ? cl_run_num(r, "ledger.extra_bytes") : NAN;
            if (isfinite(b) && b >= 0) bytes += b, nb++;
        }
        cl_stats_summary(&p[n].acc, acc, c->n, g->o->level);
        free(acc);
        if (nb == 0 || p[n].acc.n == 0) continue;
        p[n].cell = k;
        p[n].bytes = bytes / nb;
        n++;
    }
    *n_out = n;
    return 0;
}

static int draw_bytes(cl_plot_group *g, int k)
{
    (void)k;
    point *p = malloc((size_t)g->n * sizeof *p);
    if (!p) return cl_error_set(CL_ENOMEM, "out of memory");
    int n = 0, rc = collect(p, &n, g);
    if (rc || n == 0) {
        free(p);
        return rc;
    }
    /* A log axis has no 0: cells that keep nothing sit one decade left of
     * the smallest positive value, at a tic labelled "0". */
    double min_pos = INFINITY, max_x = 0, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < n; i++)
        if (p[i].bytes > 0 && p[i].bytes < min_pos) min_pos = p[i].bytes;
    int zero_e = isfinite(min_pos) ? (int)floor(log10(min_pos)) - 1 : 0;
    for (int i = 0; i < n; i++) {
        p[i].x = p[i].bytes > 0 ? p[i].bytes : pow(10, zero_e);
        if (p[i].x > max_x) max_x = p[i].x;
        double lo = isfinite(p[i].acc.lo) ? p[i].acc.lo : p[i].acc.mean;
        double hi = isfinite(p[i].acc.hi) ? p[i].acc.hi : p[i].acc.mean;
        y0 = fmin(y0, lo);
        y1 = fmax(y1, hi);
    }
    /* Intervals may pass 0 or 1; accuracy cannot, so the axis stops there. */
    y0 = fmax(y0, 0);
    y1 = fmax(fmin(y1, 1), y0);
    double span = fmax(y1 - y0, 0.05);
    axes a = {zero_e - 0.4, fmax(log10(max_x), zero_e + 1) + 0.4, y0 - 0.12 * span,
              y1 + 0.12 * span, (AREA_R - AREA_L) * FIG_W * 72, (AREA_T - AREA_B) * FIG_H * 72};

    cl_strbuf dat, gp;
    cl_strbuf_init(&dat);
    cl_strbuf_init(&gp);
    cl_strbuf_printf(&dat, "# acc against extra bytes per cell: mean over finished seeds, %g%% "
                           "Student-t interval (NaN below 2 seeds); x is the plotted position "
                           "(cells keeping 0 bytes sit at 1e%d, the tic labelled 0)\n",
                     100 * g->o->level, zero_e);
    for (int i = 0; i < n; i++) {
        cl_strbuf_printf(&dat, "%s# cell %d: ", i ? "\n\n" : "", p[i].cell + 1);
        cl_strbuf_puts(&dat, g->set->cells[g->first + p[i].cell].label);
        cl_strbuf_puts(&dat, "\n# x bytes acc lo hi n\n");
        cl_plot_num(&dat, p[i].x);
        cl_strbuf_puts(&dat, " ");
        cl_plot_num(&dat, p[i].bytes);
        cl_strbuf_puts(&dat, " ");
        cl_plot_num(&dat, p[i].acc.mean);
        cl_strbuf_puts(&dat, " ");
        cl_plot_num(&dat, p[i].acc.lo);
        cl_strbuf_puts(&dat, " ");
        cl_plot_num(&dat, p[i].acc.hi);
        cl_strbuf_printf(&dat, " %d\n", p[i].acc.n);
    }

    const cl_run_doc *r0 = &g->set->runs[g->set->cells[g->first].runs[0]];
    cl_strbuf what;
    cl_strbuf_init(&what);
    cl_strbuf_printf(&what, "accuracy against extra bytes (%s, %s), mean and %g%% Student-t "
                            "interval over finished seeds", r0->suite, r0->scenario,
                     100 * g->o->level);
    cl_plot_preamble(&gp, g, "acc-vs-bytes", what.s ? what.s : "acc-vs-bytes", FIG_W, FIG_H);
    cl_strbuf_release(&what);
    cl_strbuf_printf(&gp, "set lmargin at screen %.2f\nset rmargin at screen %.2f\n"
                          "set bmargin at screen %.2f\nset tmargin at screen %.2f\n",
                     AREA_L, AREA_R, AREA_B, AREA_T);
    cl_strbuf_printf(&gp, "set logscale x\nset xrange [%.6g:%.6g]\nset yrange [%.4f:%.4f]\n",
                     pow(10, a.lx0), pow(10, a.lx1), a.y0, a.y1);
    int e0 = zero_e + 1, e1 = (int)floor(a.lx1), step = (e1 - e0) / 6 + 1;
    cl_strbuf_printf(&gp, "set xtics ('0' 1e%d", zero_e);
    for (int e = e0; e <= e1; e += step) {
        char lab[32];
        decade_label(lab, sizeof lab, e);
        cl_strbuf_printf(&gp, ", '%s' 1e%d", lab, e);
    }
    cl_strbuf_puts(&gp, ") nomirror out scale 0.5\nset mxtics 10\n");
    cl_strbuf_puts(&gp, "set ytics nomirror out scale 0.5\nset border 3 lw 0.5\nunset key\n"
                        "set grid xtics ytics lc rgb '#e5e5e5' lw 0.5\n"
                        "set xlabel 'extra bytes kept'\nset ylabel 'accuracy (ACC)'\n");
    rc = place_labels(&gp, g, p, n, &a);
    cl_strbuf_puts(&gp, "plot");
    for (int i = 0; rc == 0 && i < n; i++) {
        int pt = (int[]){7, 5, 9, 11}[(p[i].cell / CL_PLOT_N_COLOURS) % 4];
        if (isfinite(p[i].acc.half))
            cl_strbuf_printf(&gp, "%s 'acc-vs-bytes.dat' index %d using 1:3:4:5 with yerrorbars "
                                  "lt %d pt %d ps 0.7 notitle",
                             i ? ", \\\n    " : "", i, p[i].cell + 1, pt);
        else
            cl_strbuf_printf(&gp, "%s 'acc-vs-bytes.dat' index %d using 1:3 with points "
                                  "lt %d pt %d ps 0.7 notitle",
                             i ? ", \\\n    " : "", i, p[i].cell + 1, pt);
    }
    cl_strbuf_puts(&gp, "\n");
    if (rc == 0) rc = cl_plot_emit(g, "acc-vs-bytes", &gp, &dat);
    cl_strbuf_release(&dat);
    cl_strbuf_release(&gp);
    free(p);
    return rc;
}

const cl_plot_figure cl_plot_figure_bytes = {"bytes", 0, draw_bytes};
