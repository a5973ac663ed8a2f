#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "clbench/base/error.h"
#include "clbench/base/params.h"

typedef struct cl_param_value {
    long i;                        /* INT, BOOL */
    double f;                      /* FLOAT */
    long ints[CL_PARAM_MAX_INTS];  /* INTS */
    int n_ints;
    char text[256];                /* canonical text; the value itself for CHOICE */
    bool set;
} cl_param_value;

struct cl_params {
    const char *ns;
    const cl_param_spec *specs; /* not owned */
    int n;
    cl_param_value *v;          /* (n) */
};

void cl_param_spec_describe(const cl_param_spec *s, char *buf, size_t n)
{
    switch (s->type) {
    case CL_PARAM_INT:
        snprintf(buf, n, "a whole number in [%.15g, %.15g]", s->min, s->max);
        break;
    case CL_PARAM_FLOAT:
        snprintf(buf, n, "a number in [%.15g, %.15g]", s->min, s->max);
        break;
    case CL_PARAM_BOOL: snprintf(buf, n, "true or false"); break;
    case CL_PARAM_CHOICE: snprintf(buf, n, "one of %s", s->choices); break;
    case CL_PARAM_INTS:
        snprintf(buf, n, "a comma list of 1-%d whole numbers in [%.15g, %.15g]",
                 CL_PARAM_MAX_INTS, s->min, s->max);
        break;
    }
}

void cl_param_specs_names(const cl_param_spec *specs, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; specs && specs[i].name; i++) {
        int w = snprintf(buf + off, n - off, "%s%s", i ? ", " : "", specs[i].name);
        if (w < 0 || (size_t)w >= n - off) {
            buf[off] = '\0'; /* whole names only */
            break;
        }
        off += (size_t)w;
    }
    if (off == 0) snprintf(buf, n, "(none)");
}

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || isspace((unsigned char)s[0]) || *end != '\0' || errno == ERANGE) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || isspace((unsigned char)s[0]) || *end != '\0' || errno == ERANGE || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* Whether `word` is one of the '|'-separated alternatives in `choices`. */
static bool choice_ok(const char *choices, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == wl && strncmp(p, word, l) == 0) return true;
        if (!bar) break;
        p = bar + 1;
    }
    return false;
}

static int bad(const cl_params *p, const cl_param_spec *s, const char *value)
{
    char want[160];
    cl_param_spec_describe(s, want, sizeof want);
    return cl_error_set(CL_EINVAL, "parameter %s.%s: '%s' is not %s", p->ns,
                        s->name, value, want);
}

static int in_range(const cl_param_spec *s, double v) { return v >= s->min && v <= s->max; }

static int parse_into(const cl_params *p, const cl_param_spec *s,
                      cl_param_value *v, const char *value)
{
    cl_param_value nv = {0};
    if (strlen(value) >= sizeof nv.text) return bad(p, s, value);
    switch (s->type) {
    case CL_PARAM_INT:
        if (parse_long(value, &nv.i) != 0 || !in_range(s, (double)nv.i)) return bad(p, s, value);
        snprintf(nv.text, sizeof nv.text, "%ld", nv.i);
        break;
    case CL_PARAM_FLOAT:
        if (parse_double(value, &nv.f) != 0 || !in_range(s, nv.f)) return bad(p, s, value);
        snprintf(nv.text, sizeof nv.text, "%.9g", nv.f);
        break;
    case CL_PARAM_BOOL:
        if (!strcasecmp(value, "true") || !strcmp(value, "1") || !strcasecmp(value, "yes")) nv.i = 1;
        else if (!strcasecmp(value, "false") || !strcmp(value, "0") || !strcasecmp(value, "no")) nv.i = 0;
        else return bad(p, s, value);
        snprintf(nv.text, sizeof nv.text, "%s", nv.i ? "true" : "false");
        break;
    case CL_PARAM_CHOICE:
        if (!choice_ok(s->choices, value)) return bad(p, s, value);
        snprintf(nv.text, sizeof nv.text, "%s", value);
        break;
    case CL_PARAM_INTS: {
        /* "8,8", "8, 8" or "[8, 8]": every comma-separated field one
         * whole number, none empty. */
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", value);
        char *list = tmp;
        size_t l = strlen(list);
        if (l >= 2 && list[0] == '[' && list[l - 1] == ']') {
            list[l - 1] = '\0';
            list++;
        }
        size_t off = 0;
        for (char *tok = list; tok;) {
            char *comma = strchr(tok, ',');
            if (comma) *comma = '\0';
            while (*tok == ' ') tok++;
            size_t tl = strlen(tok);
            while (tl && tok[tl - 1] == ' ') tok[--tl] = '\0';
            long x;
            if (nv.n_ints == CL_PARAM_MAX_INTS || parse_long(tok, &x) != 0 || !in_range(s, (double)x))
                return bad(p, s, value);
            nv.ints[nv.n_ints++] = x;
            off += (size_t)snprintf(nv.text + off, sizeof nv.text - off, "%s%ld",
                                    nv.n_ints > 1 ? "," : "", x);
            tok = comma ? comma + 1 : NULL;
        }
        if (nv.n_ints == 0) return bad(p, s, value);
        break;
    }
    }
    nv.set = v->set;
    *v = nv;
    return 0;
}

static int find(const cl_params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->specs[i].name, name) == 0) return i;
    return -1;
}

int cl_params_new(cl_params **out, const char *ns, const cl_param_spec *specs)
{
    *out = NULL;
    cl_params *p = calloc(1, sizeof *p);
    if (!p) return cl_error_set(CL_ENOMEM, "out of memory");
    p->ns = ns;
    p->specs = specs;
    while (specs && specs[p->n].name) p->n++;
    p->v = calloc((size_t)(p->n ? p->n : 1), sizeof *p->v);
    if (!p->v) {
        free(p);
        return cl_error_set(CL_ENOMEM, "out of memory");
    }
    for (int i = 0; i < p->n; i++) {
        /* A default that fails its own spec is a bug in the spec table. */
        int rc = parse_into(p, &specs[i], &p->v[i], specs[i].def);
        CL_ASSERT(rc == 0);
    }
    *out = p;
    return 0;
}

void cl_params_free(cl_params *p)
{
    if (!p) return;
    free(p->v);
    free(p);
}

int cl_params_clone(cl_params **out, const cl_params *src)
{
    int rc = cl_params_new(out, src->ns, src->specs);
    if (rc) return rc;
    memcpy((*out)->v, src->v, (size_t)src->n * sizeof *src->v);
    return 0;
}

int cl_params_set(cl_params *p, const char *name, const char *value)
{
    int i = find(p, name);
    if (i < 0) {
        char names[512];
        cl_param_specs_names(p->specs, names, sizeof names);
        return cl_error_set(CL_ENOTFOUND, "unknown parameter %s.%s (%s parameters: %s)",
                            p->ns, name, p->ns, names);
    }
    int rc = parse_into(p, &p->specs[i], &p->v[i], value);
    if (rc) return rc;
    p->v[i].set = true;
    return 0;
}

static const cl_param_value *get(const cl_params *p, const char *name, cl_param_type t)
{
    int i = find(p, name);
    CL_ASSERT(i >= 0 && p->specs[i].type == t);
    return &p->v[i];
}

long cl_params_int(const cl_params *p, const char *name) { return get(p, name, CL_PARAM_INT)->i; }
double cl_params_float(const cl_params *p, const char *name) { return get(p, name, CL_PARAM_FLOAT)->f; }
bool cl_params_bool(const cl_params *p, const char *name) { return get(p, name, CL_PARAM_BOOL)->i != 0; }
const char *cl_params_choice(const cl_params *p, const char *name) { return get(p, name, CL_PARAM_CHOICE)->text; }

int cl_params_ints(const cl_params *p, const char *name, const long **vals)
{
    const cl_param_value *v = get(p, name, CL_PARAM_INTS);
    *vals = v->ints;
    return v->n_ints;
}

bool cl_params_is_set(const cl_params *p, const char *name)
{
    int i = find(p, name);
    CL_ASSERT(i >= 0);
    return p->v[i].set;
}

int cl_params_count(const cl_params *p) { return p->n; }
const cl_param_spec *cl_params_spec_at(const cl_params *p, int i) { return &p->specs[i]; }
const char *cl_params_text_at(const cl_params *p, int i) { return p->v[i].text; }
const char *cl_params_ns(const cl_params *p) { return p->ns; }
