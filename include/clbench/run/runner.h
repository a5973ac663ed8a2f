/* The runner: one (suite, scenario, strategy, seed) cell from config to
 * R matrix, anytime curve, metrics and ledger. Writes nothing to disk; see
 * results.h for that. */
#ifndef CLBENCH_RUNNER_H
#define CLBENCH_RUNNER_H

#include "clbench/store/ckpt.h"
#include "clbench/run/config.h"
#include "clbench/run/metrics.h"
#include "clbench/run/stream.h"
#include "clbench/strategies/strategy.h"
#include "clbench/base/strbuf.h"

typedef enum cl_run_status { CL_RUN_OK = 0, CL_RUN_DIVERGED = 1 } cl_run_status;

typedef struct cl_progress {
    int task, n_tasks;           /* 0-based task being trained */
    long step, steps_per_task;   /* step within the task */
    double elapsed_s;            /* since the run started */
    long bytes, bytes_total;     /* text runs: stream bytes read, of all; 0 else */
    double bpb;                  /* text runs: prequential bits/byte so far */
    double tokens_per_s;         /* text runs: bytes trained on per second */
} cl_progress;

typedef struct cl_run_opts {
    /* Called now and then during training; may be NULL. */
    void (*progress)(void *user, const cl_progress *p);
    void *user;
    /* Called after every task but the last with the tasks finished, to
     * store a checkpoint of the whole run: during the call it may call
     * write(write_ctx, sink, sink_user) once, which streams the checkpoint
     * (ckpt.h) into a sink of its choosing and returns 0 or a negative
     * CL_E*. May be NULL, and is not called for a strategy without
     * save/load. A negative CL_E* return stops the run, which fails with
     * that code. */
    int (*checkpoint)(void *user, int tasks_done, cl_ckpt_source write, void *write_ctx);
    /* A checkpoint of this same config to go on from (NULL: start afresh).
     * The run then ends exactly as an uninterrupted one would, timings
     * aside. resume_name (a file name) starts error messages about it. */
    const void *resume;
    size_t resume_len;
    const char *resume_name;
    /* Called once the runner is done reading `resume` (applied or refused),
     * before training: the caller may free it then. May be NULL. */
    void (*resume_done)(void *user);
    /* Called with the suite once it is built, before anything reads it;
     * may be NULL. It may change how the suite holds its samples, not
     * their values (tests run a byte-held suite again as floats with
     * cl_suite_to_floats). A negative CL_E* return stops the run, which
     * fails with that code. */
    int (*suite_built)(void *user, cl_suite *s);
    /* Folder of the pretraining cache (text suites with a pretraining
     * task); NULL: pretrain every time. */
    const char *cache_dir;
} cl_run_opts;

typedef struct cl_run_result {
    int T;                    /* tasks */
    cl_run_status status;
    char reason[256];         /* why it diverged */
    double *R;                /* (T+1, T) accuracies, or bits per byte of a text
                                 suite; NaN where never reached */
    double *stale;            /* (T+1, T) stale-answer rates, or NULL */
    cl_curve curve;
    cl_metrics metrics;
    cl_ledger ledger;         /* the strategy's own account */
    cl_assumptions assumes;
    double train_flops;       /* model FLOPs spent training (all losses) */
    double eval_flops;        /* model FLOPs spent evaluating */
    double wall_s, train_s, eval_s;
    long peak_rss_bytes;
    long steps_per_task;
    int batch_size;
    int d, n_classes;         /* network inputs and outputs */
    size_t n_params;
    char recipe[256];         /* the suite's data recipe */
    cl_strbuf log;            /* human-readable log.txt */
    int resumed_after;        /* tasks the resumed checkpoint had finished; 0 if fresh */
    cl_text_result *text;     /* text suites: prequential scores and probes; NULL else */
    char (*names)[32];        /* (T) text suites: each task's domain; NULL else */
    cl_fact *facts;           /* (n_facts) text suites: the facts probed */
    int n_facts;
    int pretrain;             /* leading tasks that were pretraining */
    int ctx;                  /* text suites: bytes each window predicts */
} cl_run_result;

/* Runs the cell. A diverged run is not an error: it returns 0 with status
 * CL_RUN_DIVERGED and NaN metrics. A checkpoint that is corrupt or of
 * another config or build is CL_EDATA; resuming a strategy without
 * save/load is CL_EINVAL. */
int cl_run_execute(cl_run_result **out, const cl_config *cfg, const cl_run_opts *opts);
void cl_run_result_free(cl_run_result *r);

/* Current peak resident set size of this process in bytes. */
long cl_peak_rss_bytes(void);

#endif
