/* Human-readable tables on stdout, built from metrics.json documents so that
 * a fresh run and one read back from disk print the same way. */
#ifndef CLBENCH_TABLE_H
#define CLBENCH_TABLE_H

#include <stdio.h>
#include "clbench/store/json.h"

/* One run: identity, protocol, the R matrix and every metric, aligned. */
void cl_table_print_run(FILE *f, const cl_json *metrics);

/* Several runs (strategies x seeds of one suite and scenario): one row per
 * strategy, means over seeds (n shown), columns acc, bwt, fwt, forgetting,
 * learning accuracy, extra bytes, wall time. */
void cl_table_print_comparison(FILE *f, const cl_json *const *runs, int n);

#endif
