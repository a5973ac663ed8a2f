/* Results on disk (DESIGN section 6): results/<run-id>/ with config.yaml,
 * metrics.json, matrix.csv, curve.csv and log.txt, each written atomically;
 * metrics.json is written last, so its presence marks a finished run. */
#ifndef CLBENCH_RESULTS_H
#define CLBENCH_RESULTS_H

#include "clbench/run/config.h"
#include "clbench/run/runner.h"
#include "clbench/base/strbuf.h"

#define CL_SCHEMA_VERSION 1

/* The metrics.json text of a finished run. */
void cl_results_metrics_json(cl_strbuf *out, const cl_config *cfg, const cl_run_result *r);

/* Writes the run's folder under `root` (created as needed); dir_out gets
 * root/<run-id>. */
int cl_results_write(const char *root, const cl_config *cfg, const cl_run_result *r,
                     char *dir_out, size_t n);

/* root/<run-id>/metrics.json for cfg, into buf. */
void cl_results_metrics_path(const char *root, const cl_config *cfg, char *buf, size_t n);

/* Intransigence against the joint run with the same suite, scenario, seed
 * and settings under `root`, if that run exists and finished: fills
 * r->metrics.intransigence and returns 0; CL_ENOTFOUND (no message needed)
 * when there is no such run. */
int cl_results_fill_intransigence(const char *root, const cl_config *cfg, cl_run_result *r);

/* The ten metric names of metrics.json, in cl_metrics order: a
 * classifier run's, and a text run's (bits; metrics.h). */
extern const char *const cl_results_acc_names[10];
extern const char *const cl_results_bits_names[10];

#endif
