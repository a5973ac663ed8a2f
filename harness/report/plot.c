/* clbench plot, the driver: groups cells by suite and scenario, names the
 * output files and draws every registered figure kind for each group. The
 * kinds (plot_{heatmap,curves,bars,bytes}.c) plug in through one
 * cl_plot_figure each, listed below; they and this file share the kit
 * (plot_kit.c), which knows neither. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/base/proc.h"
#include "clbench/report/plot.h"

int cl_plot_find_gnuplot(char *path, size_t size)
{
    if (cl_proc_find(path, size, "gnuplot") == 0) return 0;
    return cl_error_set(CL_ENOTFOUND, "gnuplot not found; install gnuplot-nox (make deps does)");
}

/* Every figure kind, one file each, in drawing order: the per-cell kinds
 * for each cell in turn, then the per-group ones. */
extern const cl_plot_figure cl_plot_figure_heatmap;
extern const cl_plot_figure cl_plot_figure_curves;
extern const cl_plot_figure cl_plot_figure_bars;
extern const cl_plot_figure cl_plot_figure_bytes;

static const cl_plot_figure *const figures[] = {
    &cl_plot_figure_heatmap,
    &cl_plot_figure_curves,
    &cl_plot_figure_bars,
    &cl_plot_figure_bytes,
};

#define N_FIGURES ((int)(sizeof figures / sizeof figures[0]))

/* Lower-case letters and digits; every other run of bytes becomes one '-'. */
static void slugify(char *out, size_t size, const char *s)
{
    size_t n = 0;
    int dash = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 2 < size; p++) {
        if (isalnum(*p) && *p < 0x80) {
            if (dash && n) out[n++] = '-';
            out[n++] = (char)tolower(*p);
            dash = 0;
        } else {
            dash = 1;
        }
    }
    out[n] = '\0';
    if (!n) snprintf(out, size, "x");
}

static int make_slugs(cl_plot_group *g)
{
    g->slugs = calloc((size_t)g->n, sizeof *g->slugs);
    if (!g->slugs) return cl_error_set(CL_ENOMEM, "out of memory");
    for (int k = 0; k < g->n; k++) {
        char base[200], s[220];
        slugify(base, sizeof base, g->set->cells[g->first + k].label);
        snprintf(s, sizeof s, "%s", base);
        /* Labels differ, slugs may not ("lr=0.1" vs "lr 0.1"): number repeats. */
        for (int dup = 2;; dup++) {
            int taken = 0;
            for (int i = 0; i < k && !taken; i++) taken = !strcmp(g->slugs[i], s);
            if (!taken) break;
            snprintf(s, sizeof s, "%s-%d", base, dup);
        }
        if (!(g->slugs[k] = strdup(s))) return cl_error_set(CL_ENOMEM, "out of memory");
    }
    return 0;
}

static void free_slugs(cl_plot_group *g)
{
    if (!g->slugs) return;
    for (int k = 0; k < g->n; k++) free(g->slugs[k]);
    free(g->slugs);
    g->slugs = NULL;
}

static const cl_run_doc *cell_run0(const cl_runset *s, int cell)
{
    return &s->runs[s->cells[cell].runs[0]];
}

static int plot_group(cl_plot_group *g)
{
    const cl_run_doc *r = cell_run0(g->set, g->first);
    char suite[200], scenario[200];
    slugify(suite, sizeof suite, r->suite);
    slugify(scenario, sizeof scenario, r->scenario);
    if (snprintf(g->dir, sizeof g->dir, "%s/%s-%s", g->o->out_dir, suite, scenario) >=
        (int)sizeof g->dir)
        return cl_error_set(CL_EINVAL, "--out: path too long");
    int rc = cl_fs_mkdirs(g->dir);
    if (rc == 0) rc = make_slugs(g);
    for (int k = 0; k < g->n; k++)
        for (int f = 0; rc == 0 && f < N_FIGURES; f++)
            if (figures[f]->per_cell) rc = figures[f]->draw(g, k);
    for (int f = 0; rc == 0 && f < N_FIGURES; f++)
        if (!figures[f]->per_cell) rc = figures[f]->draw(g, -1);
    free_slugs(g);
    return rc;
}

int cl_plot_all(cl_plot_result *out, const cl_runset *set, const cl_plot_opts *o)
{
    memset(out, 0, sizeof *out);
    if (!o->out_dir || !*o->out_dir) return cl_error_set(CL_EINVAL, "--out: empty folder name");
    if (!(o->level > 0 && o->level < 1))
        return cl_error_set(CL_EINVAL, "--level: %g is not a confidence in (0, 1)", o->level);
    int rc = 0;
    for (int c = 0; rc == 0 && c < set->n_cells;) {
        const cl_run_doc *r = cell_run0(set, c);
        int e = c + 1;
        while (e < set->n_cells && !strcmp(cell_run0(set, e)->suite, r->suite) &&
               !strcmp(cell_run0(set, e)->scenario, r->scenario))
            e++;
        cl_plot_group g = {set, o, out, c, e - c, NULL, {0}};
        rc = plot_group(&g);
        c = e;
    }
    return rc;
}
