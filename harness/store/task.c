#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/hot.h"
#include "clbench/store/task.h"

static const char *const scenario_names[] = {"class", "task", "domain"};

const char *cl_scenario_name(cl_scenario s)
{
    CL_ASSERT((unsigned)s < 3);
    return scenario_names[s];
}

int cl_scenario_parse(cl_scenario *out, const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, scenario_names[i]) == 0) {
            *out = (cl_scenario)i;
            return 0;
        }
    return cl_error_set(CL_EINVAL, "unknown scenario '%s' (valid: class, task, domain)", name);
}

int cl_suite_alloc(cl_suite **out, const char *name, cl_scenario sc,
                   int n_tasks, int d, int n_classes)
{
    *out = NULL;
    cl_suite *s = calloc(1, sizeof *s);
    if (!s) return cl_error_set(CL_ENOMEM, "out of memory allocating suite");
    snprintf(s->name, sizeof s->name, "%s", name);
    s->scenario = sc;
    s->n_tasks = n_tasks;
    s->d = d;
    s->n_classes = n_classes;
    s->tasks = calloc((size_t)n_tasks, sizeof *s->tasks);
    if (!s->tasks) {
        free(s);
        return cl_error_set(CL_ENOMEM, "out of memory allocating %d tasks", n_tasks);
    }
    for (int t = 0; t < n_tasks; t++) {
        s->tasks[t].id = t;
        s->tasks[t].classes = calloc((size_t)n_classes, 1);
        if (!s->tasks[t].classes) {
            cl_suite_free(s);
            return cl_error_set(CL_ENOMEM, "out of memory allocating class masks");
        }
    }
    *out = s;
    return 0;
}

int cl_task_alloc(cl_task *t, int n_train, int n_test, int d, bool stale,
                  cl_task_storage storage)
{
    t->n_train = n_train;
    t->n_test = n_test;
    t->d = d;
    t->storage = storage;
    /* At least one row each, so an empty set is not a NULL array. */
    size_t ntr = (size_t)(n_train ? n_train : 1), nte = (size_t)(n_test ? n_test : 1);
    int ok;
    if (storage == CL_TASK_TOKENS) {
        t->train_u8 = malloc(ntr * (size_t)d);
        t->test_u8 = malloc(nte * (size_t)d);
        if (!t->train_u8 || !t->test_u8 || stale)
            return cl_error_set(stale ? CL_EINVAL : CL_ENOMEM,
                                "task %d: cannot hold %d + %d windows", t->id + 1, n_train, n_test);
        return 0;
    }
    if (storage == CL_TASK_BYTES) {
        t->train_u8 = malloc(ntr * (size_t)d);
        t->test_u8 = malloc(nte * (size_t)d);
        ok = t->train_u8 && t->test_u8;
    } else {
        t->train_x = malloc(ntr * (size_t)d * sizeof(float));
        t->test_x = malloc(nte * (size_t)d * sizeof(float));
        ok = t->train_x && t->test_x;
    }
    t->train_y = malloc(ntr * sizeof(int));
    t->test_y = malloc(nte * sizeof(int));
    t->test_stale_y = stale ? malloc(nte * sizeof(int)) : NULL;
    if (!ok || !t->train_y || !t->test_y || (stale && !t->test_stale_y))
        return cl_error_set(CL_ENOMEM, "out of memory allocating task %d (%d + %d samples)",
                            t->id + 1, n_train, n_test);
    return 0;
}

void cl_suite_free(cl_suite *s)
{
    if (!s) return;
    for (int t = 0; s->tasks && t < s->n_tasks; t++) {
        cl_task *k = &s->tasks[t];
        free(k->train_x);
        free(k->train_u8);
        free(k->train_y);
        free(k->test_x);
        free(k->test_u8);
        free(k->test_y);
        free(k->test_stale_y);
        free(k->classes);
        free(k->text.train);
        free(k->text.test);
    }
    free(s->tasks);
    free(s->facts);
    free(s);
}

/* Static: clang emits no dispatcher for an exported target_clones function. */
CL_HOT static void decode(float *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i] / 255.0f;
}

void cl_task_decode(float *dst, const unsigned char *src, size_t n) { decode(dst, src, n); }

/* The set's floats, or NULL when it holds bytes. */
static const float *floats_of(const cl_task *t, int test) { return test ? t->test_x : t->train_x; }

void cl_task_rows(const cl_task *t, int test, int row, int n, float *out)
{
    CL_ASSERT(row >= 0 && n >= 0 && row + n <= (test ? t->n_test : t->n_train));
    size_t off = (size_t)row * (size_t)t->d, len = (size_t)n * (size_t)t->d;
    const float *x = floats_of(t, test);
    const unsigned char *u = (test ? t->test_u8 : t->train_u8);
    if (x)
        memcpy(out, x + off, len * sizeof *out);
    else if (t->storage == CL_TASK_TOKENS)
        for (size_t i = 0; i < len; i++) out[i] = (float)u[off + i];
    else
        cl_task_decode(out, u + off, len);
}

size_t cl_task_train_bytes(const cl_task *t)
{
    size_t per = (size_t)t->d * (t->train_x ? sizeof(float) : 1) + (t->train_y ? sizeof(int) : 0);
    return (size_t)t->n_train * per;
}

const float *cl_task_view(const cl_task *t, int test, int row, int n, float *buf)
{
    const float *x = floats_of(t, test);
    if (x) return x + (size_t)row * (size_t)t->d;
    cl_task_rows(t, test, row, n, buf);
    return buf;
}

static float *decoded(const cl_task *t, int test)
{
    int n = test ? t->n_test : t->n_train;
    float *x = malloc((size_t)(n ? n : 1) * (size_t)t->d * sizeof *x); /* (n, d) */
    if (x) cl_task_rows(t, test, 0, n, x);
    return x;
}

int cl_suite_to_floats(cl_suite *s)
{
    for (int i = 0; i < s->n_tasks; i++) {
        cl_task *t = &s->tasks[i];
        if (t->train_x) continue;
        float *tr = decoded(t, 0), *te = decoded(t, 1);
        if (!tr || !te) {
            free(tr);
            free(te);
            return cl_error_set(CL_ENOMEM, "out of memory decoding task %d", i + 1);
        }
        free(t->train_u8);
        free(t->test_u8);
        t->train_u8 = t->test_u8 = NULL;
        t->train_x = tr;
        t->test_x = te;
    }
    return 0;
}

/* Windows of ctx + 1 bytes every ctx bytes of text (len), into u8 (n, ctx + 1). */
static void cut(unsigned char *u8, const unsigned char *text, int n, int ctx)
{
    for (int i = 0; i < n; i++) memcpy(u8 + (size_t)i * (ctx + 1), text + (size_t)i * ctx, (size_t)ctx + 1);
}

int cl_suite_cut_windows(cl_suite *s, int ctx)
{
    CL_ASSERT(s->text && ctx >= 1);
    for (int i = 0; i < s->n_tasks; i++) {
        cl_task *t = &s->tasks[i];
        const cl_text *x = &t->text;
        if (x->train_len < (size_t)ctx + 1 || x->test_len < (size_t)ctx + 1)
            return cl_error_set(CL_EINVAL, "suite %s: task %d (%s) has %zu training and %zu test "
                                "bytes, fewer than one window of %d", s->name, i + 1, t->name,
                                x->train_len, x->test_len, ctx + 1);
        if ((x->train_len - 1) / (size_t)ctx > (size_t)INT_MAX / 2 ||
            (x->test_len - 1) / (size_t)ctx > (size_t)INT_MAX / 2)
            return cl_error_set(CL_EINVAL, "suite %s: task %d is too long", s->name, i + 1);
        free(t->train_u8);
        free(t->test_u8);
        t->train_u8 = t->test_u8 = NULL;
        int rc = cl_task_alloc(t, (int)((x->train_len - 1) / (size_t)ctx),
                               (int)((x->test_len - 1) / (size_t)ctx), ctx + 1, false, CL_TASK_TOKENS);
        if (rc) return rc;
        cut(t->train_u8, x->train, t->n_train, ctx);
        cut(t->test_u8, x->test, t->n_test, ctx);
    }
    s->d = ctx + 1;
    return 0;
}
