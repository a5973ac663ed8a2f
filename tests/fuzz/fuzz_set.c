/* Fuzz target: --set arguments (cl_config_set_arg -> cl_config_set ->
 * cl_params_set). Input: byte 0 picks the strategy, byte 1 the suite family
 * and a scenario it supports (from the registries); the rest is a list of
 * --set arguments separated by NUL bytes (so an argument may hold newlines,
 * as a shell can pass them). Each is applied in turn; the first rejected
 * one must fail with CL_EINVAL and one line. When all are accepted and the
 * config validates, its effective config.yaml must read back as the same
 * config. */
#include <stdint.h>
#include <string.h>
#include "clbench/run/config.h"
#include "clbench/base/error.h"
#include "clbench/run/experiment.h"
#include "clbench/base/strbuf.h"
#include "clbench/strategies/strategy.h"
#include "clbench/tasks/suite.h"
#include "fuzz.h"

/* A suite name the family serves: "split-*" becomes "split-mnist". */
static void set_suite_name(const cl_suite_family *f, char *buf, size_t n)
{
    size_t l = strlen(f->name);
    if (l && f->name[l - 1] == '*') snprintf(buf, n, "%.*smnist", (int)(l - 1), f->name);
    else snprintf(buf, n, "%s", f->name);
}

static int set_round_trip(const cl_config *c)
{
    cl_strbuf a, b;
    cl_strbuf_init(&a);
    cl_strbuf_init(&b);
    cl_config_yaml(c, &a);
    cl_experiment *e = NULL;
    int bad = 0;
    int rc = cl_strbuf_status(&a);
    if (!rc) rc = cl_experiment_parse(&e, "config.yaml", a.s, a.len);
    if (rc == CL_ENOMEM) {
        /* nothing to compare */
    } else if (rc) {
        bad = CL_FUZZ_BROKEN("effective config does not parse: %s\n%s", cl_error_last(), a.s);
    } else if (cl_experiment_count(e) != 1) {
        bad = CL_FUZZ_BROKEN("effective config expands to %d cells", cl_experiment_count(e));
    } else {
        cl_config_yaml(cl_experiment_cells(e)[0], &b);
        if (!cl_strbuf_status(&b) && strcmp(a.s, b.s) != 0)
            bad = CL_FUZZ_BROKEN("effective config changes when read back:\n%s---\n%s", a.s, b.s);
    }
    cl_experiment_free(e);
    cl_strbuf_release(&a);
    cl_strbuf_release(&b);
    return bad;
}

int cl_fuzz_set(const uint8_t *data, size_t size)
{
    if (size < 2) return 1;
    const cl_strategy_ops *ops = cl_strategy_at(data[0] % cl_strategy_count());
    const cl_suite_family *fam = cl_suite_family_at(data[1] % cl_suite_family_count());
    char suite[64];
    set_suite_name(fam, suite, sizeof suite);
    cl_config *c;
    cl_scenario sc = (cl_scenario)(data[1] / cl_suite_family_count() % 3);
    while (!(fam->scenarios & (1u << sc))) sc = (cl_scenario)((sc + 1) % 3);
    int rc = cl_config_new(&c, suite, sc, ops->name, 0);
    if (rc) return CL_FUZZ_BROKEN("cl_config_new(%s, %s): %s", suite, ops->name, cl_error_last());
    /* NUL-separated arguments in a terminated copy. */
    char *args = malloc(size - 1);
    if (!args) abort();
    memcpy(args, data + 2, size - 2);
    args[size - 2] = '\0';
    int result = 0;
    for (const char *a = args; a < args + (size - 2); a += strlen(a) + 1) {
        rc = cl_config_set_arg(c, a);
        if (rc) {
            result = cl_fuzz_rejected(rc, NULL, CL_EINVAL, CL_EINVAL);
            break;
        }
    }
    if (!result) {
        rc = cl_config_validate(c);
        result = rc ? cl_fuzz_rejected(rc, NULL, CL_EINVAL, CL_EINVAL) : set_round_trip(c);
    }
    free(args);
    cl_config_free(c);
    return result;
}

CL_FUZZ_ENTRY(cl_fuzz_set)
