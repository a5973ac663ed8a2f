/* Comparison tables over seeds, regenerated from results alone (a runset):
 * one row per cell (strategy + distinguishing parameters), grouped by suite,
 * scenario and training protocol, with Student-t intervals over the seeds
 * that finished, the paired difference to naive, the fairness manifest
 * (what each strategy assumes) and the protocol beside every table.
 * Writers: GitHub Markdown, tidy CSV, LaTeX (booktabs), JSON bundle. Output
 * depends only on the runs and the level, so it is golden-file testable. */
#ifndef CLBENCH_REPORT_H
#define CLBENCH_REPORT_H

#include "clbench/report/runset.h"
#include "clbench/base/stats.h"
#include "clbench/base/strbuf.h"

typedef enum cl_report_format {
    CL_REPORT_MD,
    CL_REPORT_CSV,
    CL_REPORT_TEX,
    CL_REPORT_JSON
} cl_report_format;

/* The table's metrics, in column order. */
enum { CL_REPORT_ACC, CL_REPORT_BWT, CL_REPORT_FWT, CL_REPORT_FORGETTING, CL_REPORT_LA,
       CL_REPORT_N_METRICS };

typedef struct cl_report_row {
    int cell;                             /* index into the runset's cells */
    int n_runs, n_ok;                     /* runs; runs with status "ok" */
    cl_summary m[CL_REPORT_N_METRICS];    /* over ok runs only */
    double extra_bytes, wall_s;           /* means over ok runs; NaN when none */
    int task_id, boundaries, stores;      /* the fairness manifest (first run's) */
    int vs_naive;                         /* row index of its naive reference, or -1 */
    int n_pairs;                          /* seeds ok in both this cell and naive */
    double diff_acc;                      /* mean over pairs of acc - naive acc */
    double p_acc;                         /* paired t-test p (NaN below 2 pairs) */
    int best;                             /* highest mean acc of its group */
} cl_report_row;

typedef struct cl_report_group {
    const char *suite, *scenario;
    long steps_per_task, batch_size;      /* -1 when absent */
    const char *data;                     /* the suite's data recipe ("?" when absent) */
    int n_rows;
    int *rows;                            /* (n_rows) indices into the report's rows */
} cl_report_group;

typedef struct cl_report {
    const cl_runset *set;                 /* borrowed: outlive the report */
    double level;
    int n_rows;
    cl_report_row *rows;                  /* (n_rows) one per cell, runset order */
    int n_groups;
    cl_report_group *groups;              /* (n_groups) by suite, scenario, first cell */
} cl_report;

/* Builds the statistics for every cell of set. level is the two-sided
 * confidence of the intervals, in (0, 1): CL_EINVAL otherwise. */
int cl_report_new(cl_report **out, const cl_runset *set, double level);
void cl_report_free(cl_report *r);

/* "md", "csv", "tex", "json" -> *out; CL_EINVAL naming the value otherwise. */
int cl_report_format_parse(cl_report_format *out, const char *name);

/* Appends the whole document in format f to b; CL_ENOMEM if b failed. */
int cl_report_write(cl_strbuf *b, const cl_report *r, cl_report_format f);

/* Text escaped for a Markdown table cell / LaTeX text / a CSV field. */
void cl_report_md_str(cl_strbuf *b, const char *s);
void cl_report_tex_str(cl_strbuf *b, const char *s);
void cl_report_csv_str(cl_strbuf *b, const char *s);

#endif
