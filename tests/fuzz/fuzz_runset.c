/* Fuzz target: results read back (cl_runset_load on one metrics.json or
 * bundle file), then everything that reads a runset without re-running:
 * the report in every format and a comparison of the set with itself.
 * A rejected file must fail with CL_EDATA or CL_EINVAL in one line naming
 * the file; an accepted one must give every run to exactly one cell, and
 * the self-comparison must find no regression. */
#include <stdint.h>
#include <string.h>
#include "clbench/report/compare.h"
#include "clbench/base/error.h"
#include "clbench/report/report.h"
#include "clbench/report/runset.h"
#include "clbench/base/strbuf.h"
#include "fuzz.h"

static int runset_cells_ok(const cl_runset *s)
{
    int seen = 0;
    for (int k = 0; k < s->n_cells; k++) {
        const cl_cell *c = &s->cells[k];
        if (c->n < 1 || !c->label)
            return CL_FUZZ_BROKEN("cell %d: %d runs, label %p", k, c->n, (const void *)c->label);
        for (int i = 0; i < c->n; i++)
            if (c->runs[i] < 0 || c->runs[i] >= s->n)
                return CL_FUZZ_BROKEN("cell %d: run %d", k, c->runs[i]);
        seen += c->n;
    }
    if (seen != s->n) return CL_FUZZ_BROKEN("%d runs in cells, %d loaded", seen, s->n);
    return 0;
}

/* Report (all formats) and self-comparison; allocation failures aside,
 * neither may fail on a set that loaded. */
static int runset_readers(const cl_runset *s)
{
    int bad = 0;
    cl_report *r = NULL;
    int rc = cl_report_new(&r, s, 0.95);
    if (rc && rc != CL_ENOMEM) bad = CL_FUZZ_BROKEN("report: %s", cl_error_last());
    for (int f = CL_REPORT_MD; !bad && r && f <= CL_REPORT_JSON; f++) {
        cl_strbuf b;
        cl_strbuf_init(&b);
        rc = cl_report_write(&b, r, (cl_report_format)f);
        if (rc && rc != CL_ENOMEM) bad = CL_FUZZ_BROKEN("report format %d: %s", f, cl_error_last());
        cl_strbuf_release(&b);
    }
    cl_report_free(r);
    cl_compare_opts o;
    cl_compare_opts_default(&o);
    cl_compare *c = NULL;
    rc = bad ? 0 : cl_compare_new(&c, s, s, &o);
    if (rc && rc != CL_ENOMEM) bad = CL_FUZZ_BROKEN("compare: %s", cl_error_last());
    if (c && c->failed) bad = CL_FUZZ_BROKEN("a set compared with itself regressed");
    for (int f = CL_COMPARE_MD; !bad && c && f <= CL_COMPARE_TEXT; f++) {
        cl_strbuf b;
        cl_strbuf_init(&b);
        rc = cl_compare_write(&b, c, (cl_compare_format)f);
        if (rc && rc != CL_ENOMEM)
            bad = CL_FUZZ_BROKEN("compare format %d: %s", f, cl_error_last());
        cl_strbuf_release(&b);
    }
    cl_compare_free(c);
    return bad;
}

int cl_fuzz_runset(const uint8_t *data, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "%s/metrics.json", cl_fuzz_tmpdir());
    cl_fuzz_put(path, data, size);
    char *paths[] = {path};
    cl_runset *s = (cl_runset *)&s;
    int rc = cl_runset_load(&s, paths, 1);
    if (rc) {
        if (s) return CL_FUZZ_BROKEN("*out not NULL after error %d", rc);
        return cl_fuzz_rejected(rc, path, CL_EDATA, CL_EINVAL);
    }
    int bad = runset_cells_ok(s);
    if (!bad) bad = runset_readers(s);
    cl_runset_free(s);
    return bad;
}

CL_FUZZ_ENTRY(cl_fuzz_runset)
