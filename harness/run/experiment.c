/* Experiment files (see experiment.h for the schema). Two phases: the
 * parser (harness/experiment_yaml.c) walks the YAML document into a plan,
 * then this file expands the plan into configs, locating any error a config
 * function reports at the node that caused it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "clbench/base/error.h"
#include "clbench/run/experiment.h"
#include "clbench/base/fsutil.h"
#include "experiment_yaml.h"

struct cl_experiment {
    int n;
    cl_config **cells; /* (n) owned */
};

/* ---- expansion -------------------------------------------------------------- */

static int applies(const cl_exp_axis *a, const cl_strategy_ops *ops)
{
    return !a->ns[0] || !strcmp(a->ns, "model") || !strcmp(a->ns, "train") ||
           !strcmp(a->ns, "suite") || !strcmp(a->ns, ops->name);
}

/* Sets one value, unless it equals the default: an effective config lists
 * every parameter, and a default written out must not count as set (it
 * would trip cl_config_validate's train.steps-or-epochs rule). */
static int apply(cl_config *c, const cl_exp_axis *a, int i)
{
    if (!strcmp(a->ns, "model") && !strcmp(a->name, "net"))
        return cl_config_set(c, "model.net", a->vals[i]);
    cl_params *t = !strcmp(a->ns, "model") ? c->model
                 : !strcmp(a->ns, "train") ? c->train
                 : !strcmp(a->ns, "suite") ? c->suite_p
                                           : c->strat;
    cl_params *probe;
    int rc = cl_params_clone(&probe, t);
    if (rc) return rc;
    rc = cl_params_set(probe, a->name, a->vals[i]);
    for (int k = 0; !rc && k < cl_params_count(t); k++)
        if (!strcmp(cl_params_spec_at(t, k)->name, a->name) &&
            strcmp(cl_params_text_at(t, k), cl_params_text_at(probe, k)) != 0)
            rc = cl_params_set(t, a->name, a->vals[i]);
    cl_params_free(probe);
    return rc;
}

/* The suite's default scenario: class when it has one, as the CLI does. */
static cl_scenario default_scenario(const char *suite)
{
    const cl_suite_family *fam;
    cl_scenario sc = CL_SCENARIO_CLASS;
    if (cl_suite_family_find(&fam, suite) == 0)
        sc = cl_suite_family_default_scenario(fam);
    return sc;
}

typedef struct builder {
    const cl_exp_plan *p;
    cl_experiment *e;
    int cap;
} builder;

/* Every grid point of one (seed, suite, scenario, strategy). */
static int build_grid(builder *b, int si, int ui, cl_scenario sc, cl_exp_loc sc_at, int ki)
{
    const cl_exp_plan *p = b->p;
    const cl_strategy_ops *ops = p->strats[ki];
    int ax[64], n_ax = 0, idx[64] = {0};
    for (int a = 0; a < p->n_axes; a++)
        if (applies(&p->axes[a], ops)) {
            if (n_ax == 64) return cl_exp_fail(p, p->axes[a].key, "more than 64 parameters");
            ax[n_ax++] = a;
        }
    for (;;) {
        cl_config *c;
        int rc = cl_config_new(&c, p->suites[ui], sc, ops->name, p->seeds[si]);
        if (rc) return cl_exp_relocate(p, sc_at, rc);
        c->threads = p->threads;
        memcpy(c->data_dir, p->data_dir, sizeof c->data_dir); /* same size, NUL-terminated */
        for (int k = 0; !rc && k < n_ax; k++) {
            const cl_exp_axis *a = &p->axes[ax[k]];
            rc = apply(c, a, idx[k]);
            if (rc) rc = cl_exp_relocate(p, rc == CL_ENOTFOUND ? a->key : a->at[idx[k]], rc);
        }
        if (!rc && (rc = cl_config_validate(c)))
            rc = cl_exp_relocate(p, p->train_at.line ? p->train_at : p->root, rc);
        if (!rc && b->e->n == b->cap) /* counted before */
            rc = cl_exp_fail(p, p->root, "too many runs");
        if (rc) {
            cl_config_free(c);
            return rc;
        }
        b->e->cells[b->e->n++] = c;
        int k = n_ax - 1;
        while (k >= 0 && ++idx[k] == p->axes[ax[k]].n) idx[k--] = 0;
        if (k < 0) return 0;
    }
}

static double count_cells(const cl_exp_plan *p)
{
    double per_suite = 0;
    for (int k = 0; k < p->n_strats; k++) {
        double g = 1;
        for (int a = 0; a < p->n_axes; a++)
            if (applies(&p->axes[a], p->strats[k])) g *= p->axes[a].n;
        per_suite += g;
    }
    return per_suite * p->n_seeds * p->n_suites * (p->n_scen ? p->n_scen : 1);
}

typedef struct id_entry {
    char id[256];
    int i;
} id_entry;

static int by_id(const void *a, const void *b)
{
    const id_entry *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Keeps the first cell of each run id, in expansion order. */
static int dedupe(cl_experiment *e)
{
    id_entry *ids = malloc((size_t)(e->n ? e->n : 1) * sizeof *ids);
    if (!ids) return cl_error_set(CL_ENOMEM, "out of memory");
    for (int i = 0; i < e->n; i++) {
        cl_config_run_id(e->cells[i], ids[i].id, sizeof ids[i].id);
        ids[i].i = i;
    }
    qsort(ids, (size_t)e->n, sizeof *ids, by_id);
    for (int i = 1; i < e->n; i++)
        if (!strcmp(ids[i].id, ids[i - 1].id)) {
            cl_config_free(e->cells[ids[i].i]);
            e->cells[ids[i].i] = NULL;
        }
    free(ids);
    int n = 0;
    for (int i = 0; i < e->n; i++)
        if (e->cells[i]) e->cells[n++] = e->cells[i];
    e->n = n;
    return 0;
}

static int expand(const cl_exp_plan *p, cl_experiment *e)
{
    double total = count_cells(p);
    if (total > CL_EXPERIMENT_MAX_CELLS)
        return cl_exp_fail(p, p->root,
                           "the experiment expands to %.0f runs, more than the limit of %d", total,
                           CL_EXPERIMENT_MAX_CELLS);
    builder b = {p, e, (int)total};
    e->cells = calloc((size_t)(total > 0 ? total : 1), sizeof *e->cells);
    if (!e->cells) return cl_error_set(CL_ENOMEM, "out of memory");
    int rc = 0;
    for (int si = 0; !rc && si < p->n_seeds; si++)
        for (int ui = 0; !rc && ui < p->n_suites; ui++)
            for (int ci = 0; !rc && ci < (p->n_scen ? p->n_scen : 1); ci++) {
                cl_scenario sc = p->n_scen ? p->scen[ci] : default_scenario(p->suites[ui]);
                cl_exp_loc at = p->n_scen ? p->scen_at[ci] : p->suite_at[ui];
                for (int ki = 0; !rc && ki < p->n_strats; ki++)
                    rc = build_grid(&b, si, ui, sc, at, ki);
            }
    return rc ? rc : dedupe(e);
}

/* ---- entry points -------------------------------------------------------------- */

int cl_experiment_parse(cl_experiment **out, const char *name, const char *text, size_t len)
{
    *out = NULL;
    cl_exp_plan p;
    int rc = cl_exp_plan_parse(&p, name, text, len);
    if (rc) return rc;
    cl_experiment *e = calloc(1, sizeof *e);
    if (!e) rc = cl_error_set(CL_ENOMEM, "out of memory");
    if (!rc) rc = expand(&p, e);
    cl_exp_plan_release(&p);
    if (rc) {
        cl_experiment_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

int cl_experiment_load(cl_experiment **out, const char *path)
{
    *out = NULL;
    struct stat st; /* a folder opens, then fails to read with a vague message */
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cl_error_set(CL_EINVAL, "%s: is a folder, not an experiment file", path);
    char *text;
    size_t len;
    int rc = cl_fs_read_all(path, &text, &len);
    if (rc == CL_ENOMEM) return rc;
    /* A missing or unreadable experiment file is bad input, not a failed run. */
    if (rc) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", cl_error_last());
        return cl_error_set(CL_EINVAL, "%s", msg);
    }
    rc = cl_experiment_parse(out, path, text, len);
    free(text);
    return rc;
}

void cl_experiment_free(cl_experiment *e)
{
    if (!e) return;
    for (int i = 0; i < e->n; i++) cl_config_free(e->cells[i]);
    free(e->cells);
    free(e);
}

int cl_experiment_count(const cl_experiment *e) { return e->n; }

cl_config **cl_experiment_cells(cl_experiment *e) { return e->cells; }
