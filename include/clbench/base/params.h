/* Declared parameters. Every tunable knob (model, training, suite, strategy)
 * is a row in a spec table; the CLI's --set, experiment YAML, `clbench list`,
 * validation and the effective config all come from these tables. */
#ifndef CLBENCH_PARAMS_H
#define CLBENCH_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum cl_param_type {
    CL_PARAM_INT,    /* whole number within [min, max] */
    CL_PARAM_FLOAT,  /* finite real within [min, max] */
    CL_PARAM_BOOL,   /* true|false (also 1|0, yes|no) */
    CL_PARAM_CHOICE, /* one of `choices`, "a|b|c" */
    CL_PARAM_INTS    /* comma list of whole numbers, each within [min, max] */
} cl_param_type;

typedef struct cl_param_spec {
    const char *name;    /* "lambda": the key after the namespace dot */
    cl_param_type type;
    const char *def;     /* default, written as a user would write it */
    double min, max;     /* inclusive range (INT, FLOAT, each INTS element) */
    const char *choices; /* CHOICE only: "empirical|predicted|expected" */
    const char *help;    /* one line for `clbench list` */
} cl_param_spec;
/* Spec tables end with a row whose name is NULL. */

#define CL_PARAM_MAX_INTS 16

/* Values for one spec table, starting at the defaults. Opaque. */
typedef struct cl_params cl_params;

/* `ns` names the table in messages ("train", "ewc"); specs must outlive p. */
int cl_params_new(cl_params **out, const char *ns, const cl_param_spec *specs);
void cl_params_free(cl_params *p);
int cl_params_clone(cl_params **out, const cl_params *src);

/* Parses and validates `value` for `name`; on failure the message names
 * ns.name, the bad value and what was expected. CL_ENOTFOUND if no such name
 * (message lists the valid names). */
int cl_params_set(cl_params *p, const char *name, const char *value);

/* Typed reads. Asking for an undeclared name or the wrong type is a broken
 * internal contract and aborts. */
long cl_params_int(const cl_params *p, const char *name);
double cl_params_float(const cl_params *p, const char *name);
bool cl_params_bool(const cl_params *p, const char *name);
const char *cl_params_choice(const cl_params *p, const char *name);
int cl_params_ints(const cl_params *p, const char *name, const long **vals);
/* True if the value was set explicitly rather than left at its default. */
bool cl_params_is_set(const cl_params *p, const char *name);

/* Iteration, for writers: the i-th spec and its canonical value text
 * (floats as %.9g, ints lists as "400,400"). */
int cl_params_count(const cl_params *p);
const cl_param_spec *cl_params_spec_at(const cl_params *p, int i);
const char *cl_params_text_at(const cl_params *p, int i);
const char *cl_params_ns(const cl_params *p);

/* "expects a whole number in [1, 100000]" etc., into buf. */
void cl_param_spec_describe(const cl_param_spec *s, char *buf, size_t n);

/* Names in a spec table joined with ", " into buf (for error messages). */
void cl_param_specs_names(const cl_param_spec *specs, char *buf, size_t n);

#endif
