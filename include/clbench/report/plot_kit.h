/* The plot kit: the options and result types of `clbench plot` and what
 * every figure kind shares (the group being drawn, the palette, the script
 * preamble, quoting, emitting a figure through gnuplot). A figure kind is
 * one file, harness/report/plot_<kind>.c, exporting one cl_plot_figure; the
 * driver (clbench/report/plot.h) lists the kinds. The kit knows none of
 * them. */
#ifndef CLBENCH_PLOT_KIT_H
#define CLBENCH_PLOT_KIT_H

#include <stddef.h>
#include "clbench/base/strbuf.h"
#include "clbench/report/runset.h"

typedef enum cl_plot_format { CL_PLOT_PDF, CL_PLOT_PNG, CL_PLOT_SVG } cl_plot_format;

typedef struct cl_plot_opts {
    cl_plot_format format;
    const char *out_dir;    /* results/plots by default (the CLI's choice) */
    const char *gnuplot;    /* the executable, e.g. from cl_plot_find_gnuplot */
    double level;           /* two-sided confidence of the intervals, in (0, 1) */
} cl_plot_opts;

typedef struct cl_plot_result {
    int n_figures;
    char **figures;         /* (n_figures) paths of the figures written; owned */
    int n_no_curve;         /* ok runs with no curve.csv beside them (runs read
                               from bundles): left out of the anytime curves */
    int n_no_ok;            /* cells without a finished run (all diverged):
                               no heatmap, curves, bar or point */
} cl_plot_result;

/* Frees what a result holds (cl_plot_all fills it) and zeroes it. */
void cl_plot_result_release(cl_plot_result *r);

/* "pdf", "png", "svg" -> *out; CL_EINVAL naming the value otherwise. */
int cl_plot_format_parse(cl_plot_format *out, const char *name);
const char *cl_plot_format_ext(cl_plot_format f);

/* One suite + scenario: a run of consecutive cells of the set. */
typedef struct cl_plot_group {
    const cl_runset *set;
    const cl_plot_opts *o;
    cl_plot_result *res;
    int first, n;           /* cells first .. first + n - 1 */
    char **slugs;           /* (n) file-name-safe, unique cell labels */
    char dir[4096];         /* the group's output folder */
} cl_plot_group;

/* Okabe-Ito colours ("#rrggbb"), ordered for lines on white; k wraps. */
const char *cl_plot_colour(int k);
#define CL_PLOT_N_COLOURS 8

/* The script's opening: what it draws, how to redraw it, the terminal for
 * each format (default: the one requested), the output name and the
 * line types in the Okabe-Ito palette. Size in inches (the pdf size). */
void cl_plot_preamble(cl_strbuf *gp, const cl_plot_group *g, const char *stem,
                      const char *what, double w_in, double h_in);

/* A gnuplot single-quoted string literal (no escapes are processed inside;
 * control characters become spaces). */
void cl_plot_str(cl_strbuf *b, const char *s);

/* label cut to at most max bytes with "..." (at a UTF-8 boundary), for keys
 * and point labels; the data files and script comments keep it whole. */
void cl_plot_short(char *buf, size_t size, const char *label, size_t max);

/* A number for a data file: %.6g, or NaN (gnuplot's missing value). */
void cl_plot_num(cl_strbuf *b, double v);

/* 1 when the run finished ("ok"): only those enter the statistics. */
int cl_plot_run_ok(const cl_run_doc *r);

/* Writes stem.gp and stem.dat into the group folder (atomically), runs
 * gnuplot on the script with the output to a temporary name, renames it to
 * stem.EXT and records it in the result. */
int cl_plot_emit(cl_plot_group *g, const char *stem, const cl_strbuf *gp,
                 const cl_strbuf *dat);

/* Runs `gnuplot -e 'outfile=...' script` with dir as working folder, stdin
 * from /dev/null; CL_EIO with gnuplot's first error line when it fails. */
int cl_plot_run_gnuplot(const char *gnuplot, const char *dir, const char *script,
                        const char *outfile);

/* A figure kind. draw returns 0 or a negative CL_E* code with a message. */
typedef struct cl_plot_figure {
    const char *name;  /* "heatmap": the stem of its files */
    int per_cell;      /* 1: drawn once per cell, k its index in the group;
                          0: once per group, k = -1 */
    int (*draw)(cl_plot_group *g, int k);
} cl_plot_figure;

#endif
