/* Figures regenerated from finished runs (a runset), drawn by gnuplot at run
 * time. Per suite and scenario, in <out>/<suite>-<scenario>/:
 *   heatmap-<cell>.EXT   the R matrix, mean over seeds, values printed
 *   curves-<cell>.EXT    anytime accuracy of every task (curve.csv), mean over
 *                        seeds with a Student-t band, task boundaries marked
 *   bars.EXT             acc, bwt and forgetting per cell with CI error bars
 *   acc-vs-bytes.EXT     acc against extra bytes (log x), one labelled point
 *                        per cell
 * Beside every figure lie its gnuplot script (.gp) and data (.dat), with
 * relative paths only: `gnuplot NAME.gp` in that folder redraws it, and
 * `gnuplot -e 'fmt="png"' NAME.gp` in another format. Only runs with status
 * "ok" enter the statistics, as in the report.
 *
 * The driver (harness/report/plot.c) draws every figure kind it lists; each
 * kind is one file, harness/report/plot_<kind>.c, exporting one
 * cl_plot_figure built on the kit (clbench/report/plot_kit.h). */
#ifndef CLBENCH_PLOT_H
#define CLBENCH_PLOT_H

#include <stddef.h>
#include "clbench/report/plot_kit.h"
#include "clbench/report/runset.h"

/* The first executable "gnuplot" on PATH into path (size bytes);
 * CL_ENOTFOUND with the message the CLI prints when there is none. */
int cl_plot_find_gnuplot(char *path, size_t size);

/* Writes every figure of set under o->out_dir. *out is filled even on
 * failure (the figures finished so far); release it with
 * cl_plot_result_release. Errors: CL_EINVAL for bad options, CL_EDATA naming
 * the file for a malformed R or curve.csv, CL_EIO when gnuplot fails (the
 * message is the first line of its error) or a file cannot be written. */
int cl_plot_all(cl_plot_result *out, const cl_runset *set, const cl_plot_opts *o);

#endif
