/* The R matrix of one cell as an annotated heatmap: rows are training
 * stages (the untrained network first), columns the tasks evaluated, the
 * colour and the printed value the mean over the cell's finished seeds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/report/plot_kit.h"
#include "clbench/base/stats.h"

/* Matrices larger than this are drawn without values: they would not fit. */
#define MAX_ANNOTATED 12

/* T from a run's R, checking it is (T + 1) x T; 0 when it is not. */
static int r_tasks(const cl_json *R)
{
    size_t rows = cl_json_len(R);
    if (cl_json_typeof(R) != CL_JSON_ARR || rows < 2) return 0;
    size_t T = rows - 1;
    for (size_t i = 0; i < rows; i++)
        if (cl_json_typeof(cl_json_at(R, i)) != CL_JSON_ARR || cl_json_len(cl_json_at(R, i)) != T)
            return 0;
    return (int)T;
}

/* Tic labels every `step` so that at most ~12 show. */
static int tic_step(int T) { return T <= 12 ? 1 : (T + 11) / 12; }

static void script(cl_strbuf *gp, const cl_plot_group *g, const char *stem, const char *label,
                   int T, int n_ok)
{
    const cl_run_doc *r0 = &g->set->runs[g->set->cells[g->first].runs[0]];
    cl_strbuf what;
    cl_strbuf_init(&what);
    cl_strbuf_printf(&what, "R matrix of %s (%s, %s), mean over %d finished seed%s", label,
                     r0->suite, r0->scenario, n_ok, n_ok == 1 ? "" : "s");
    cl_plot_preamble(gp, g, stem, what.s ? what.s : "R matrix", 3.5, 2.4);
    cl_strbuf_release(&what);
    cl_strbuf_puts(gp, "unset key\nset tics scale 0 out nomirror\nset border lw 0.5\n");
    cl_strbuf_printf(gp, "set xrange [0.5:%d.5]\nset yrange [%d.5:-0.5]\n", T, T);
    int st = tic_step(T);
    cl_strbuf_printf(gp, "set xtics %d,%d,%d\n", st, st, T);
    cl_strbuf_puts(gp, "set ytics ('init' 0");
    for (int i = st; i <= T; i += st) cl_strbuf_printf(gp, ", '%d' %d", i, i);
    cl_strbuf_puts(gp, ")\n");
    cl_strbuf_puts(gp, "set xlabel 'task evaluated'\nset ylabel 'after training task'\n");
    /* Fixed margins: room on the right for the colour box and its label. */
    cl_strbuf_puts(gp, "set lmargin at screen 0.15\nset rmargin at screen 0.80\n"
                       "set bmargin at screen 0.17\nset tmargin at screen 0.97\n");
    cl_strbuf_puts(gp, "set cbrange [0:1]\nset cbtics 0.2 scale 0.5\nset cblabel 'accuracy'\n"
                       "set colorbox user origin screen 0.83, screen 0.17 size screen 0.035, "
                       "screen 0.80\n");
    cl_strbuf_puts(gp, "# viridis, sequential and colour-blind safe\n"
                       "set palette defined (0 '#440154', 0.125 '#472d7b', 0.25 '#3b528b', "
                       "0.375 '#2c728e', 0.5 '#21918c', 0.625 '#28ae80', 0.75 '#5ec962', "
                       "0.875 '#addc30', 1 '#fde725')\n");
    cl_strbuf_puts(gp, "# the untrained row apart from the training stages\n");
    cl_strbuf_printf(gp, "set arrow from 0.5,0.5 to %d.5,0.5 nohead front lc rgb '#ffffff' lw 2\n",
                     T);
    /* pixels: one rectangle per cell; an embedded bitmap gets smoothed into
     * a blur by svg viewers. */
    cl_strbuf_printf(gp, "plot '%s.dat' using 1:2:3 with image pixels", stem);
    if (T <= MAX_ANNOTATED) {
        const char *font = T <= 6 ? ",7" : T <= 9 ? ",6" : ",5";
        /* Dark text on the light (high) end of viridis, white on the dark. */
        cl_strbuf_printf(gp, ", \\\n     '' using 1:2:($3 < 0.6 ? sprintf('%%.2f', $3) : '') "
                             "with labels font '%s' tc rgb '#ffffff'", font);
        cl_strbuf_printf(gp, ", \\\n     '' using 1:2:($3 >= 0.6 ? sprintf('%%.2f', $3) : '') "
                             "with labels font '%s' tc rgb '#000000'", font);
    }
    cl_strbuf_puts(gp, "\n");
}

static int draw_heatmap(cl_plot_group *g, int k)
{
    const cl_runset *s = g->set;
    const cl_cell *c = &s->cells[g->first + k];
    int T = 0, n_ok = 0;
    for (int i = 0; i < c->n; i++) {
        const cl_run_doc *r = &s->runs[c->runs[i]];
        if (!cl_plot_run_ok(r)) continue;
        int t = r_tasks(cl_json_get(r->doc, "R"));
        if (t == 0 || (T && t != T))
            return cl_error_set(CL_EDATA, "%s: run %s: R is not a (T+1) x T matrix%s", r->source,
                                r->run_id, T ? " like the other seeds'" : "");
        T = t;
        n_ok++;
    }
    if (n_ok == 0) {
        g->res->n_no_ok++;
        return 0;
    }
    double *x = malloc((size_t)c->n * sizeof *x); /* (runs) one entry of R */
    if (!x) return cl_error_set(CL_ENOMEM, "out of memory");
    cl_strbuf dat, gp;
    cl_strbuf_init(&dat);
    cl_strbuf_init(&gp);
    cl_strbuf_puts(&dat, "# R matrix of ");
    cl_strbuf_puts(&dat, c->label);
    cl_strbuf_printf(&dat, ": mean over %d finished seeds (after 0 = untrained network)\n"
                           "# task after mean sd n\n", n_ok);
    for (int i = 0; i <= T; i++) {
        for (int j = 0; j < T; j++) {
            for (int r = 0; r < c->n; r++) {
                const cl_run_doc *d = &s->runs[c->runs[r]];
                x[r] = cl_plot_run_ok(d)
                    ? cl_json_num(cl_json_at(cl_json_at(cl_json_get(d->doc, "R"), (size_t)i),
                                             (size_t)j))
                    : NAN;
            }
            cl_summary m;
            cl_stats_summary(&m, x, c->n, g->o->level);
            cl_strbuf_printf(&dat, "%d %d ", j + 1, i);
            cl_plot_num(&dat, m.mean);
            cl_strbuf_puts(&dat, " ");
            cl_plot_num(&dat, m.sd);
            cl_strbuf_printf(&dat, " %d\n", m.n);
        }
        cl_strbuf_puts(&dat, "\n");
    }
    free(x);
    char stem[260];
    snprintf(stem, sizeof stem, "heatmap-%s", g->slugs[k]);
    script(&gp, g, stem, c->label, T, n_ok);
    int rc = cl_plot_emit(g, stem, &gp, &dat);
    cl_strbuf_release(&dat);
    cl_strbuf_release(&gp);
    return rc;
}

const cl_plot_figure cl_plot_figure_heatmap = {"heatmap", 1, draw_heatmap};
