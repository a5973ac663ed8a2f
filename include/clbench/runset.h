/* A set of finished runs read back from disk, for report, plot and compare:
 * every metrics.json under the given folders (recursively, in sorted order),
 * single metrics.json files, or bundle files ({"clbench_bundle": 1, "runs":
 * [...]}, what `clbench report --format json` writes). Runs are grouped into
 * cells: the same suite, scenario, strategy and settings, seeds apart. */
#ifndef CLBENCH_RUNSET_H
#define CLBENCH_RUNSET_H

#include "clbench/json.h"
#include "clbench/strbuf.h"

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

/* Compact JSON text of v (object members in document order). */
void cl_json_dump(cl_strbuf *b, const cl_json *v);

/* Index of the cell holding a run with this identity string, or -1. */
int cl_runset_find_cell(const cl_runset *s, const char *cell);

#endif
