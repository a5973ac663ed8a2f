/* The regression gate: two sets of finished runs (a baseline and a current
 * one, each a runset) matched cell by cell (suite, scenario, strategy and
 * every setting; seeds are the replicates), every metric's means compared.
 *
 * A metric regresses when its mean moved in the bad direction by more than
 * max_drop (absolute) AND, when both sides have at least 2 seeds, Welch's
 * one-sided t-test finds the move significant at alpha; with a single seed
 * on either side the threshold alone decides. A run that is not "ok" in the
 * current set while its baseline counterpart was ok is a regression too.
 * Cells only in the baseline are "missing" (a failure only when strict);
 * cells only in the current set are "extra" (never a failure). Metrics are
 * averaged over the runs whose status is "ok". Output depends only on the
 * two runsets and the options, so it is golden-testable. */
#ifndef CLBENCH_COMPARE_H
#define CLBENCH_COMPARE_H

#include "clbench/report/runset.h"
#include "clbench/base/strbuf.h"

/* The compared metrics (metrics.json "metrics" members), in print order. */
enum { CL_CMP_ACC, CL_CMP_BWT, CL_CMP_FWT, CL_CMP_FORGETTING, CL_CMP_LA, CL_CMP_A_DIAZ,
       CL_CMP_ANYTIME, CL_CMP_MIN_ACC, CL_CMP_INTRANSIGENCE, CL_CMP_N_METRICS };

#define CL_CMP_ALL_METRICS ((1u << CL_CMP_N_METRICS) - 1)

typedef enum cl_compare_format { CL_COMPARE_MD, CL_COMPARE_TEXT } cl_compare_format;

typedef struct cl_compare_opts {
    double max_drop;        /* smallest bad move that can fail, >= 0 (default 0.02) */
    double alpha;           /* one-sided significance level, in (0, 1) (default 0.05) */
    unsigned gate;          /* bit m set: metric m can fail the gate (default all) */
    int strict;             /* missing cells fail the gate */
    const char *base_name;  /* how the inputs are named in the output (borrowed, may be NULL) */
    const char *cur_name;
} cl_compare_opts;

void cl_compare_opts_default(cl_compare_opts *o);

typedef enum cl_compare_verdict {
    CL_CMP_NA,              /* a side has no finite value: not compared */
    CL_CMP_PASS,            /* no bad move beyond max_drop */
    CL_CMP_NOT_SIGNIFICANT, /* a bad move beyond max_drop, but p >= alpha */
    CL_CMP_UNGATED,         /* a bad move beyond max_drop in a metric outside opts.gate */
    CL_CMP_REGRESSION
} cl_compare_verdict;

typedef struct cl_compare_metric {
    int shown;              /* printed: intransigence only when both sides have it */
    int nb, nc;             /* finite values over ok runs: baseline, current */
    double base, cur;       /* means; NaN when a side has none */
    double delta;           /* cur - base */
    double drop;            /* the move in the bad direction (> 0 is worse) */
    double p;               /* one-sided Welch p that current is worse; NaN below 2 seeds a side */
    int threshold_only;     /* a side has a single seed: no test was possible */
    cl_compare_verdict verdict;
} cl_compare_metric;

typedef struct cl_compare_cell {
    int base, cur;          /* cell indices in the baseline / current runset; -1 when absent */
    const char *suite, *scenario;
    char *label;            /* strategy plus the settings telling it from its siblings (owned) */
    int nb_runs, nc_runs;   /* runs per side */
    int nb_ok, nc_ok;       /* runs with status "ok" */
    int n_new_diverged;     /* current runs not ok whose baseline was ok */
    unsigned long *new_diverged; /* (n_new_diverged) their seeds, ascending */
    long steps_per_task, batch_size; /* protocol of the first run; -1 when absent */
    cl_compare_metric m[CL_CMP_N_METRICS]; /* matched cells only */
    int regression;         /* any metric regressed, or a run newly diverged */
} cl_compare_cell;

typedef struct cl_compare {
    const cl_runset *base, *cur;   /* borrowed: outlive the comparison */
    cl_compare_opts opts;
    int n_cells;
    cl_compare_cell *cells;        /* (n_cells) matched, missing and extra cells,
                                      by suite, scenario, then baseline order
                                      (extra cells after the baseline's) */
    int n_matched, n_missing, n_extra;
    int n_regressions;             /* matched cells that regressed */
    int n_threshold_only;          /* gated comparisons decided by max_drop alone */
    int failed;                    /* the gate's answer: regressions, or strict and missing */
} cl_compare;

/* CL_EINVAL naming the option when max_drop or alpha is out of range. */
int cl_compare_new(cl_compare **out, const cl_runset *base, const cl_runset *cur,
                   const cl_compare_opts *opts);
void cl_compare_free(cl_compare *c);

/* Metric names as in metrics.json ("acc", "forgetting", ...). */
const char *cl_compare_metric_name(int m);
/* 1 for forgetting and intransigence (lower is better), else 0. */
int cl_compare_lower_is_better(int m);

/* "acc,forgetting" or "all" -> a gate mask; CL_EINVAL naming an unknown name. */
int cl_compare_metrics_parse(unsigned *mask, const char *list);
/* "md" or "text" -> *out; CL_EINVAL naming the value otherwise. */
int cl_compare_format_parse(cl_compare_format *out, const char *name);

/* Appends the whole report to b; CL_ENOMEM if b failed. */
int cl_compare_write(cl_strbuf *b, const cl_compare *c, cl_compare_format f);

#endif
