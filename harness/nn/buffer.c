#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/nn/buffer.h"
#include "clbench/base/error.h"
#include "clbench/base/rng.h"

int cl_buffer_new(cl_buffer **out, int cap, int d, int n_classes, cl_buffer_policy policy)
{
    *out = NULL;
    if (cap < 1 || d < 1 || n_classes < 1)
        return cl_error_set(CL_EINVAL, "buffer of %d samples of %d features", cap, d);
    cl_buffer *b = calloc(1, sizeof *b);
    if (!b) return cl_error_set(CL_ENOMEM, "out of memory");
    b->cap = cap;
    b->d = d;
    b->n_classes = n_classes;
    b->policy = policy;
    b->x = malloc((size_t)cap * d * sizeof *b->x);
    b->y = malloc((size_t)cap * sizeof *b->y);
    b->task = malloc((size_t)cap * sizeof *b->task);
    b->scratch = malloc((size_t)cap * sizeof *b->scratch);
    b->class_seen = calloc((size_t)n_classes, sizeof *b->class_seen);
    b->class_n = calloc((size_t)n_classes, sizeof *b->class_n);
    if (!b->x || !b->y || !b->task || !b->scratch || !b->class_seen || !b->class_n) {
        cl_buffer_free(b);
        return cl_error_set(CL_ENOMEM, "out of memory for a buffer of %d samples", cap);
    }
    *out = b;
    return 0;
}

void cl_buffer_free(cl_buffer *b)
{
    if (!b) return;
    free(b->x);
    free(b->y);
    free(b->task);
    free(b->scratch);
    free(b->class_seen);
    free(b->class_n);
    free(b);
}

int cl_buffer_policy_parse(cl_buffer_policy *out, const char *name)
{
    if (!strcmp(name, "reservoir")) *out = CL_BUFFER_RESERVOIR;
    else if (!strcmp(name, "balanced")) *out = CL_BUFFER_BALANCED;
    else return cl_error_set(CL_EINVAL, "unknown buffer selection '%s' (reservoir, balanced)", name);
    return 0;
}

static void put(cl_buffer *b, int slot, const float *x, int y, int task)
{
    if (slot < b->n) b->class_n[b->y[slot]]--;
    memcpy(b->x + (size_t)slot * b->d, x, (size_t)b->d * sizeof(float));
    b->y[slot] = y;
    b->task[slot] = task;
    b->class_n[y]++;
}

/* A uniformly chosen stored slot holding class c (c has >= 1 member). */
static int random_slot_of(const cl_buffer *b, int c, gsl_rng *rng)
{
    long k = (long)cl_rng_below(rng, (unsigned long)b->class_n[c]);
    for (int i = 0; i < b->n; i++)
        if (b->y[i] == c && k-- == 0) return i;
    CL_ASSERT(0);
    return -1;
}

static void offer_balanced(cl_buffer *b, const float *x, int y, int task, gsl_rng *rng)
{
    int largest = 0;
    for (int c = 0; c < b->n_classes; c++)
        if (b->class_n[c] > largest) largest = b->class_n[c];
    if (b->class_n[y] < largest) {
        /* Evict from one of the largest classes, chosen uniformly. */
        int ties = 0;
        for (int c = 0; c < b->n_classes; c++) ties += b->class_n[c] == largest;
        long pick = (long)cl_rng_below(rng, (unsigned long)ties);
        int victim = 0;
        for (int c = 0; c < b->n_classes; c++)
            if (b->class_n[c] == largest && pick-- == 0) {
                victim = c;
                break;
            }
        put(b, random_slot_of(b, victim, rng), x, y, task);
    } else if (cl_rng_below(rng, (unsigned long)b->class_seen[y]) < (unsigned long)b->class_n[y]) {
        put(b, random_slot_of(b, y, rng), x, y, task);
    }
}

void cl_buffer_offer(cl_buffer *b, const float *x, int y, int task, gsl_rng *rng)
{
    CL_ASSERT(y >= 0 && y < b->n_classes);
    b->class_seen[y]++;
    if (b->n < b->cap) {
        put(b, b->n, x, y, task);
        b->n++;
    } else if (b->policy == CL_BUFFER_RESERVOIR) {
        unsigned long j = cl_rng_below(rng, (unsigned long)b->seen + 1);
        if (j < (unsigned long)b->cap) put(b, (int)j, x, y, task);
    } else {
        offer_balanced(b, x, y, task, rng);
    }
    b->seen++;
}

void cl_buffer_offer_batch(cl_buffer *b, const cl_batch *batch, gsl_rng *rng)
{
    for (int i = 0; i < batch->n; i++)
        /* A window of a token network carries its labels: y is 0. */
        cl_buffer_offer(b, batch->x + (size_t)i * batch->d, batch->y ? batch->y[i] : 0,
                        batch->task, rng);
}

int cl_buffer_sample(cl_buffer *b, int n, gsl_rng *rng, float *x, int *y, int *task)
{
    n = cl_rng_draw(rng, b->scratch, b->n, n);
    for (int i = 0; i < n; i++) {
        int s = b->scratch[i];
        memcpy(x + (size_t)i * b->d, b->x + (size_t)s * b->d, (size_t)b->d * sizeof(float));
        y[i] = b->y[s];
        if (task) task[i] = b->task[s];
    }
    return n;
}

size_t cl_buffer_bytes(const cl_buffer *b)
{
    return (size_t)b->cap * ((size_t)b->d * sizeof(float) + 2 * sizeof(int));
}

void cl_buffer_save(const cl_buffer *b, cl_ckpt_writer *w)
{
    cl_ckpt_put_i64(w, b->cap);
    cl_ckpt_put_i64(w, b->d);
    cl_ckpt_put_i64(w, b->n_classes);
    cl_ckpt_put_i64(w, b->policy);
    cl_ckpt_put_i64(w, b->n);
    cl_ckpt_put_i64(w, b->seen);
    cl_ckpt_put_f32s(w, b->x, (size_t)b->n * b->d);
    cl_ckpt_put_i32s(w, b->y, (size_t)b->n);
    cl_ckpt_put_i32s(w, b->task, (size_t)b->n);
    cl_ckpt_put_longs(w, b->class_seen, (size_t)b->n_classes);
    cl_ckpt_put_i32s(w, b->class_n, (size_t)b->n_classes);
}

int cl_buffer_load(cl_buffer *b, cl_ckpt_reader *r, int n_tasks)
{
    int cap, d, C, policy, n;
    int rc;
    if ((rc = cl_ckpt_get_int(r, "the buffer size", &cap, b->cap, b->cap)) ||
        (rc = cl_ckpt_get_int(r, "the buffer's features", &d, b->d, b->d)) ||
        (rc = cl_ckpt_get_int(r, "the buffer's classes", &C, b->n_classes, b->n_classes)) ||
        (rc = cl_ckpt_get_int(r, "the buffer policy", &policy, (int)b->policy, (int)b->policy)) ||
        (rc = cl_ckpt_get_int(r, "the buffered samples", &n, 0, b->cap)) ||
        (rc = cl_ckpt_get_long(r, "the samples offered", &b->seen, n, LONG_MAX)) ||
        (rc = cl_ckpt_get_f32s(r, b->x, (size_t)n * b->d)) ||
        (rc = cl_ckpt_get_i32s(r, b->y, (size_t)n)) ||
        (rc = cl_ckpt_get_i32s(r, b->task, (size_t)n)) ||
        (rc = cl_ckpt_get_longs(r, b->class_seen, (size_t)b->n_classes)) ||
        (rc = cl_ckpt_get_i32s(r, b->class_n, (size_t)b->n_classes)))
        return rc;
    b->n = n;
    /* Labels index the class counts and task ids the callers' tables. */
    for (int i = 0; i < n; i++)
        if (b->y[i] < 0 || b->y[i] >= b->n_classes || b->task[i] < 0 || b->task[i] >= n_tasks)
            return cl_ckpt_error(r, "buffered sample %d has label %d, task %d", i, b->y[i],
                                 b->task[i]);
    return 0;
}
