/* What a text run records beyond the R matrix (DESIGN.md section 10): the
 * prequential score of every training window (test, then train) beside the
 * frozen network's score of the same window, and fact probes. Filled by the
 * runner, written by results.c, carried through checkpoints. */
#ifndef CLBENCH_STREAM_H
#define CLBENCH_STREAM_H

#include "clbench/base/params.h"
#include "clbench/store/ckpt.h"
#include "clbench/store/task.h"

/* One training step's windows, scored before the update on them. */
typedef struct cl_preq_point {
    long step;          /* global step of the update that followed */
    long bytes;         /* stream bytes read after this step (pretraining excluded) */
    int task;
    double bits;        /* bits of the step's predicted bytes, current predictor */
    double frozen_bits; /* the same bytes through the frozen network */
    long n;             /* predicted bytes */
} cl_preq_point;

/* One probe of one fact. */
typedef struct cl_probe {
    int fact;           /* index into the suite's facts */
    int delay;          /* index into the delays; -1: before its task began */
    long delay_bytes;   /* stream bytes read since its last copy ended */
    double bits;        /* bits of the value after "\n" + prompt */
    int exact;          /* greedy decoding from the prompt gives the value */
    double ctx_bits;    /* the same with the fact's sentence just before the
                           prompt, inside the context; NaN when it does not fit */
    int ctx_exact;
} cl_probe;

typedef struct cl_text_result {
    int T;
    int n_delays;
    long delays[CL_PARAM_MAX_INTS]; /* bytes, ascending */
    double *preq_bits, *frozen_bits; /* (T) sums over each task's training windows */
    long *preq_bytes;                /* (T) bytes those sums cover */
    cl_preq_point *points;           /* (n_points) */
    int n_points, cap_points;
    cl_probe *probes;                /* (n_probes) */
    int n_probes, cap_probes;
    long bytes_read;                 /* stream bytes trained on so far */
    double pretrain_flops;           /* model FLOPs of pretraining (cached or not) */
    long pretrain_steps;
    int pretrain_cached;             /* 1: the pretrained network came from the cache */
} cl_text_result;

int cl_text_result_new(cl_text_result **out, int T, const long *delays, int n_delays);
void cl_text_result_free(cl_text_result *t);
int cl_text_add_point(cl_text_result *t, const cl_preq_point *p);
int cl_text_add_probe(cl_text_result *t, const cl_probe *p);

/* Means over the probes at delay index d (-1: before reading) of bits,
 * exact, ctx_bits and ctx_exact (NaN without probes); returns their count. */
int cl_text_probe_means(const cl_text_result *t, int d, double *bits, double *exact,
                        double *ctx_bits, double *ctx_exact);

/* A probe window for fact f into w (ctx + 1): "\n" + prompt + value, or
 * with_sentence: "\n" + prompt + value + ".\n" + prompt + value (the fact
 * inside the context: the reference), padded with newlines; bytes after
 * the value are never scored (attention is causal). Returns the value's
 * offset in the window, -1 (w untouched) when it does not fit. */
int cl_text_probe_window(float *w, int ctx, const cl_fact *f, int with_sentence);
/* The score of a value of len bytes at offset off of a window from its
 * per-row bits and argmax hits (row q predicts byte q + 1): the bits of its
 * bytes, and 1 when each is the argmax (greedy decoding after the prompt
 * then writes exactly the value). */
void cl_text_value_score(const double *row_bits, const unsigned char *row_hit, int off, int len,
                         double *bits, int *exact);

/* Checkpoint section "TEXT": everything above but the delays and T, which
 * the config rebuilds; load checks counts against n_facts. */
void cl_text_save(const cl_text_result *t, cl_ckpt_writer *w);
int cl_text_load(cl_text_result *t, cl_ckpt_reader *r, int n_facts);

#endif
