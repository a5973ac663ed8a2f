/* Tasks and suites in memory: the samples of every task, how they are held
 * (floats or bytes) and read back as rows, and the batch view a strategy
 * gets. Suite families (tasks/, interface in clbench/tasks/suite.h) fill
 * them; nothing here knows of families or strategies. */
#ifndef CLBENCH_TASK_H
#define CLBENCH_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "clbench/base/params.h"

/* van de Ven & Tolias (2019). */
typedef enum cl_scenario {
    CL_SCENARIO_CLASS = 0, /* one head over all classes, no task id */
    CL_SCENARIO_TASK = 1,  /* task id at test: softmax over the task's classes */
    CL_SCENARIO_DOMAIN = 2 /* same label set every task, no task id */
} cl_scenario;

const char *cl_scenario_name(cl_scenario s);
int cl_scenario_parse(cl_scenario *out, const char *name);

/* A view of n samples handed to a strategy. */
typedef struct cl_batch {
    const float *x;            /* (n, d) */
    const int *y;              /* (n) labels in [0, n_classes) */
    int n, d;
    int task;                  /* 0-based id of the task the samples belong to */
    int n_classes;             /* output units of the network */
    const unsigned char *mask; /* (n_classes) units the loss and prediction may
                                  use (task scenario), or NULL for all */
    int anytime;               /* prediction only: 1 during anytime (curve)
                                  evaluations, where a strategy with costly
                                  prediction may use a cheaper path it
                                  declares; 0 for the R matrix */
} cl_batch;

/* How a task holds its inputs. Suites whose features are 8-bit intensities
 * (split-* and permuted-* over IDX images) keep the bytes, a quarter of the
 * floats' memory, and decode rows as they are read (cl_task_rows); every
 * feature read back is the float the suite defines (cl_task_decode). */
typedef enum cl_task_storage {
    CL_TASK_FLOATS = 0, /* train_x, test_x */
    CL_TASK_BYTES = 1,  /* train_u8, test_u8, intensities: b / 255 */
    CL_TASK_TOKENS = 2  /* train_u8, test_u8, windows of byte tokens read
                           back as the byte values 0..255; no labels (the
                           next byte is the label, cl_net_labels) */
} cl_task_storage;

/* A text task's text: the training stream in reading order and the test
 * text (held-out documents), both as bytes. Windows of a token network's
 * context are cut from them once the network is known
 * (cl_suite_cut_windows). */
typedef struct cl_text {
    unsigned char *train; /* (train_len) */
    size_t train_len;
    unsigned char *test;  /* (test_len) */
    size_t test_len;
} cl_text;

/* A fact read in a text stream: the sentence prompt + value + "." is in
 * task `task`'s training stream, `copies` times back to back, the last copy
 * ending at byte `end` of that stream. It is probed by the bits of `value`
 * after `prompt` (cl_probe). */
typedef struct cl_fact {
    int task;
    size_t end;
    int copies;
    char prompt[40];  /* "the pet of Kavolu is " */
    char value[16];   /* "owl" */
} cl_fact;

typedef struct cl_task {
    int id;                     /* 0-based position in the sequence */
    int n_train, n_test;
    int d;                      /* features per sample */
    float *train_x;             /* (n_train, d), or NULL when held as bytes */
    unsigned char *train_u8;    /* (n_train, d) bytes, or NULL when held as floats */
    int *train_y;               /* (n_train) */
    float *test_x;              /* (n_test, d), or NULL when held as bytes */
    unsigned char *test_u8;     /* (n_test, d) bytes, or NULL when held as floats */
    int *test_y;                /* (n_test) */
    int *test_stale_y;          /* (n_test) outdated label per test sample, -1
                                   if none; NULL when the suite has no notion */
    unsigned char *classes;     /* (n_classes) 1 for labels this task uses */
    char name[32];              /* the domain of a text task ("de"); "" else */
    cl_text text;               /* a text task's bytes; all NULL else */
    cl_task_storage storage;
} cl_task;

typedef struct cl_suite {
    char name[64];         /* "seq-tasks", "split-fmnist" */
    cl_scenario scenario;
    int n_tasks;
    int d;                 /* input features */
    int n_classes;         /* output units (all tasks' labels in class and
                              task scenarios, classes per task in domain) */
    cl_task *tasks;        /* (n_tasks) */
    char recipe[256];      /* one line saying how the data were made */
    int text;              /* 1: tasks are text streams scored in bits per
                              byte by a token network (d is set by
                              cl_suite_cut_windows) */
    int pretrain;          /* leading tasks that are pretraining (0 or 1):
                              trained by plain steps before the strategy
                              runs, the network cached by content hash */
    cl_fact *facts;        /* (n_facts) facts read in the streams, or NULL */
    int n_facts;
    long probe_delays[CL_PARAM_MAX_INTS]; /* bytes read after a fact at which
                                             it is probed, ascending */
    int n_delays;
    long pretrain_steps;   /* steps of pretraining; 0: one pass over task 0 */
} cl_suite;

/* Allocates a suite with n_tasks zeroed tasks and n_classes-wide class masks;
 * the family fills in the samples. */
int cl_suite_alloc(cl_suite **out, const char *name, cl_scenario sc,
                   int n_tasks, int d, int n_classes);
/* Allocates the sample arrays of one task, its inputs held as `storage`
 * says; stale adds test_stale_y. */
int cl_task_alloc(cl_task *t, int n_train, int n_test, int d, bool stale,
                  cl_task_storage storage);
void cl_suite_free(cl_suite *s);

/* Cuts every text task of s into windows of ctx + 1 bytes, one every ctx
 * bytes (each predicts ctx bytes; the last byte of one window is the first
 * of the next), held as CL_TASK_TOKENS with d = ctx + 1. Training windows
 * are in reading order: window i covers stream bytes [i ctx, i ctx + ctx].
 * CL_EINVAL naming the task when a text is shorter than one window. */
int cl_suite_cut_windows(cl_suite *s, int ctx);

/* Rows [row, row + n) of task t's training (test = 0) or test (test = 1)
 * inputs, as floats, into out (n, d). */
void cl_task_rows(const cl_task *t, int test, int row, int n, float *out);
/* The same rows without a copy where the task holds floats: a pointer into
 * the task, else `buf` (n, d) filled by cl_task_rows. */
const float *cl_task_view(const cl_task *t, int test, int row, int n, float *buf);
/* Bytes task t's training samples take as held: inputs and labels. */
size_t cl_task_train_bytes(const cl_task *t);
/* Makes every task of s hold its inputs as floats, the same values. */
int cl_suite_to_floats(cl_suite *s);
/* The feature an 8-bit intensity b stands for: (float)b / 255.0f, a
 * division (b * (1.0f / 255) is one ulp off for half the values). */
void cl_task_decode(float *dst /* (n) */, const unsigned char *src /* (n) */, size_t n);

#endif
