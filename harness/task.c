#include <stdlib.h>
#include <string.h>
#include "clbench/error.h"
#include "clbench/task.h"

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

int cl_task_alloc(cl_task *t, int n_train, int n_test, int d, int n_classes, bool stale)
{
    (void)n_classes;
    t->n_train = n_train;
    t->n_test = n_test;
    t->train_x = malloc((size_t)(n_train ? n_train : 1) * d * sizeof(float));
    t->train_y = malloc((size_t)(n_train ? n_train : 1) * sizeof(int));
    t->test_x = malloc((size_t)(n_test ? n_test : 1) * d * sizeof(float));
    t->test_y = malloc((size_t)(n_test ? n_test : 1) * sizeof(int));
    t->test_stale_y = stale ? malloc((size_t)(n_test ? n_test : 1) * sizeof(int)) : NULL;
    if (!t->train_x || !t->train_y || !t->test_x || !t->test_y || (stale && !t->test_stale_y))
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
        free(k->train_y);
        free(k->test_x);
        free(k->test_y);
        free(k->test_stale_y);
        free(k->classes);
    }
    free(s->tasks);
    free(s);
}

size_t cl_suite_bytes(const cl_suite *s, int upto)
{
    size_t bytes = 0;
    for (int t = 0; t < upto && t < s->n_tasks; t++) {
        const cl_task *k = &s->tasks[t];
        bytes += (size_t)(k->n_train + k->n_test) * ((size_t)s->d * sizeof(float) + sizeof(int));
    }
    return bytes;
}
