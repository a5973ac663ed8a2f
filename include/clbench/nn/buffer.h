/* A bounded store of training samples (x, y, task), shared by the
 * strategies that keep raw inputs (replay, sleep's input buffer, episodic
 * memory). Its budget is in samples and its cost is reported in bytes. */
#ifndef CLBENCH_BUFFER_H
#define CLBENCH_BUFFER_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "clbench/store/ckpt.h"
#include "clbench/store/task.h"

typedef enum cl_buffer_policy {
    /* Vitter's algorithm R: the n-th offered sample (0-based) takes slot
     * j ~ U{0..n} (inclusive) when j < cap: a uniform sample of the stream. */
    CL_BUFFER_RESERVOIR = 0,
    /* Class-balanced reservoir (Chrysakis & Moens 2020, CBRS): when full, a
     * sample of a class that is not among the largest evicts a random member
     * of a largest class; otherwise it replaces a random member of its own
     * class with probability stored/seen of that class. */
    CL_BUFFER_BALANCED = 1
} cl_buffer_policy;

typedef struct cl_buffer {
    int cap, n, d, n_classes;
    cl_buffer_policy policy;
    long seen;         /* samples offered so far */
    float *x;          /* (cap, d) */
    int *y;            /* (cap) */
    int *task;         /* (cap) 0-based task each sample came from */
    long *class_seen;  /* (n_classes) offered per class */
    int *class_n;      /* (n_classes) stored per class */
    int *scratch;      /* (cap) index scratch for sampling */
} cl_buffer;

int cl_buffer_new(cl_buffer **out, int cap, int d, int n_classes, cl_buffer_policy policy);
void cl_buffer_free(cl_buffer *b);
/* "reservoir" | "balanced" -> policy; CL_EINVAL otherwise. */
int cl_buffer_policy_parse(cl_buffer_policy *out, const char *name);

/* Offers one sample; the policy decides whether and where it is kept. */
void cl_buffer_offer(cl_buffer *b, const float *x /* (d) */, int y, int task, gsl_rng *rng);
/* Offers every sample of a batch, in order. */
void cl_buffer_offer_batch(cl_buffer *b, const cl_batch *batch, gsl_rng *rng);

/* Draws min(n, b->n) distinct stored samples uniformly into x (n, d), y (n)
 * and task (n) (task may be NULL); returns how many were drawn. */
int cl_buffer_sample(cl_buffer *b, int n, gsl_rng *rng, float *x, int *y, int *task);

/* Bytes the buffer holds at capacity: cap * (d floats + label + task id). */
size_t cl_buffer_bytes(const cl_buffer *b);

/* Checkpoints: the stored samples and the selection counters (not the
 * scratch). load needs a buffer made with the same cap, d, n_classes and
 * policy; task ids are checked against [0, n_tasks). */
void cl_buffer_save(const cl_buffer *b, cl_ckpt_writer *w);
int cl_buffer_load(cl_buffer *b, cl_ckpt_reader *r, int n_tasks);

#endif
