/* Fuzz target: experiment files (cl_experiment_parse). Any bytes either
 * fail with one line "fuzz.yaml:LINE:COL: ..." or expand into cells whose
 * effective config.yaml, parsed again, is exactly one cell with the same
 * YAML text (so the same run id): `clbench run <run>/config.yaml` must
 * repeat the run it came from. */
#include <stdint.h>
#include <string.h>
#include "clbench/run/config.h"
#include "clbench/base/error.h"
#include "clbench/run/experiment.h"
#include "clbench/base/strbuf.h"
#include "fuzz.h"

/* The effective config of c, parsed back: one cell, the same text. */
static int yaml_round_trip(const cl_config *c)
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
        bad = CL_FUZZ_BROKEN("effective config expands to %d cells:\n%s", cl_experiment_count(e),
                             a.s);
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

int cl_fuzz_yaml(const uint8_t *data, size_t size)
{
    cl_experiment *e = (cl_experiment *)&e; /* must be reset, whatever happens */
    int rc = cl_experiment_parse(&e, "fuzz.yaml", (const char *)data, size);
    if (rc) {
        if (e) return CL_FUZZ_BROKEN("*out not NULL after error %d", rc);
        return cl_fuzz_rejected(rc, "fuzz.yaml:", CL_EINVAL, CL_EINVAL);
    }
    int n = cl_experiment_count(e), bad = 0;
    if (n < 1 || n > CL_EXPERIMENT_MAX_CELLS) bad = CL_FUZZ_BROKEN("%d cells", n);
    /* The first few and the last: every cell is built the same way. */
    for (int i = 0; !bad && i < n; i = i < 3 ? i + 1 : (i < n - 1 ? n - 1 : n))
        bad = yaml_round_trip(cl_experiment_cells(e)[i]);
    cl_experiment_free(e);
    return bad ? bad : 0;
}

CL_FUZZ_ENTRY(cl_fuzz_yaml)
