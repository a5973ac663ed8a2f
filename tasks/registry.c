#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/strbuf.h"
#include "clbench/tasks/suite.h"

/* Suite families, one file each in tasks/. Explicit, in listing order. */
extern const cl_suite_family cl_suite_seq_tasks;
extern const cl_suite_family cl_suite_split;
extern const cl_suite_family cl_suite_permuted;
extern const cl_suite_family cl_suite_rotated;
extern const cl_suite_family cl_suite_fact_stream;
extern const cl_suite_family cl_suite_text_domains;
extern const cl_suite_family cl_suite_text_synth;

static const cl_suite_family *const families[] = {
    &cl_suite_seq_tasks,
    &cl_suite_split,
    &cl_suite_permuted,
    &cl_suite_rotated,
    &cl_suite_fact_stream,
    &cl_suite_text_domains,
    &cl_suite_text_synth,
};

#define N_FAMILIES ((int)(sizeof families / sizeof families[0]))

int cl_suite_family_count(void) { return N_FAMILIES; }

const cl_suite_family *cl_suite_family_at(int i)
{
    CL_ASSERT(i >= 0 && i < N_FAMILIES);
    return families[i];
}

/* A family name ending in '*' serves every suite name with that prefix. */
static int serves(const cl_suite_family *f, const char *name)
{
    size_t n = strlen(f->name);
    if (n && f->name[n - 1] == '*')
        return strncmp(f->name, name, n - 1) == 0 && name[n - 1] != '\0';
    return strcmp(f->name, name) == 0;
}

static const char *name_at(int i) { return families[i]->name; }

int cl_suite_family_find(const cl_suite_family **out, const char *suite_name)
{
    for (int i = 0; i < N_FAMILIES; i++)
        if (serves(families[i], suite_name)) {
            *out = families[i];
            return 0;
        }
    cl_strbuf valid;
    cl_strbuf_init(&valid);
    cl_strbuf_join(&valid, N_FAMILIES, name_at, ", ");
    int rc = cl_error_set(CL_EINVAL, "unknown suite '%s' (valid: %s)", suite_name,
                          valid.s ? valid.s : "");
    cl_strbuf_release(&valid);
    return rc;
}

cl_scenario cl_suite_family_default_scenario(const cl_suite_family *f)
{
    static const cl_scenario preference[] = {CL_SCENARIO_CLASS, CL_SCENARIO_DOMAIN, CL_SCENARIO_TASK};
    for (int i = 0; i < 3; i++)
        if (f->scenarios & (1u << preference[i])) return preference[i];
    CL_ASSERT(0 && "a suite family supports no scenario");
    return CL_SCENARIO_CLASS;
}
