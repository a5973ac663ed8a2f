/* A set of finished runs read back from disk, for report, plot and compare:
 * every metrics.json under the given folders (recursively, in sorted order),
 * single metrics.json files, or bundle files ({"clbench_bundle": 1, "runs":
 * [...]}, what `clbench report --format json` writes). Runs are grouped into
 * cells: the same suite, scenario, strategy and settings, seeds apart. */
#ifndef CLBENCH_RUNSET_H
#define CLBENCH_RUNSET_H

#include "clbench/store/json.h"
#include "clbench/base/strbuf.h"

typedef struct cl_run_doc {
    const cl_json *doc;     /* the metrics.json object; owned by the set */
    char source[1024];      /* the file it came from */
    const char *run_id, *suite, *scenario, *strategy, *status;
    unsigned long seed;
    char *cell;             /* identity without seed and threads (owned) */
} cl_run_doc;

typedef struct cl_cell {
    int n;                  /* runs in the cell */
    int *runs;              /* (n) indices into the set's runs, by seed */
    const char *label;      /* strategy, plus the parameters that tell this
                               cell from others of its strategy: "ewc (lambda=10)" */
    char *label_buf;        /* owns label */
} cl_cell;

typedef struct cl_runset {
    int n;
    cl_run_doc *runs;       /* (n) unique run ids, first occurrence kept */
    int n_cells;
    cl_cell *cells;         /* (n_cells) by suite, scenario, strategy registry
                               order, then identity */
    int n_roots;
    cl_json **roots;        /* parsed files */
} cl_runset;

/* CL_EINVAL when a path does not exist or holds no run; CL_EDATA naming the
 * file when one does not parse or lacks the identity fields. */
int cl_runset_load(cl_runset **out, char *const *paths, int n_paths);
void cl_runset_free(cl_runset *s);

/* A metric by dotted path ("metrics.acc", "ledger.wall_s"); NaN if absent. */
double cl_run_num(const cl_run_doc *r, const char *path);
/* 1 when run o records setting `key` of section `sec` ("params",
 * "suite_params", "model", "train") with a value whose JSON text is not
 * `mine`. A setting o does not record, a parameter added after o ran,
 * does not differ: old runs and baselines keep matching new ones. */
int cl_run_setting_differs(const cl_run_doc *o, const char *sec, const char *key,
                           const char *mine);

/* Compact JSON text of v (object members in document order). */
void cl_json_dump(cl_strbuf *b, const cl_json *v);

/* Index of s's cell that run r (of another set) belongs to, or -1: the
 * cell with r's exact settings, else the one cell of r's suite, scenario
 * and strategy whose settings agree with r's wherever both record them
 * (a baseline made before a parameter existed still matches); none when
 * two or more such cells would. */
int cl_runset_find_cell(const cl_runset *s, const cl_run_doc *r);

#endif
