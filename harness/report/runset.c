#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "clbench/base/error.h"
#include "clbench/report/runset.h"
#include "clbench/strategies/strategy.h"

/* The sections of metrics.json that hold a run's settings. */
static const char *const setting_sections[] = {"params", "suite_params", "model", "train"};

#define MAX_DEPTH 16

void cl_json_dump(cl_strbuf *b, const cl_json *v)
{
    switch (cl_json_typeof(v)) {
    case CL_JSON_NULL: cl_strbuf_puts(b, "null"); break;
    case CL_JSON_BOOL: cl_strbuf_puts(b, cl_json_bool(v) ? "true" : "false"); break;
    case CL_JSON_NUM: cl_strbuf_json_num(b, cl_json_num(v)); break;
    case CL_JSON_STR: cl_strbuf_json_str(b, cl_json_str(v)); break;
    case CL_JSON_ARR:
        cl_strbuf_puts(b, "[");
        for (size_t i = 0; i < cl_json_len(v); i++) {
            if (i) cl_strbuf_puts(b, ",");
            cl_json_dump(b, cl_json_at(v, i));
        }
        cl_strbuf_puts(b, "]");
        break;
    case CL_JSON_OBJ:
        cl_strbuf_puts(b, "{");
        for (size_t i = 0; i < cl_json_len(v); i++) {
            if (i) cl_strbuf_puts(b, ",");
            cl_strbuf_json_str(b, cl_json_key_at(v, i));
            cl_strbuf_puts(b, ":");
            cl_json_dump(b, cl_json_at(v, i));
        }
        cl_strbuf_puts(b, "}");
        break;
    }
}

double cl_run_num(const cl_run_doc *r, const char *path)
{
    return cl_json_num(cl_json_path(r->doc, path));
}

typedef struct loader {
    cl_runset *s;
    int cap_runs, cap_roots;
} loader;

static int add_run(loader *L, const cl_json *doc, const char *source)
{
    cl_runset *s = L->s;
    const char *id = cl_json_str(cl_json_get(doc, "run_id"));
    const char *suite = cl_json_str(cl_json_get(doc, "suite"));
    const char *sc = cl_json_str(cl_json_get(doc, "scenario"));
    const char *strat = cl_json_str(cl_json_get(doc, "strategy"));
    double seed = cl_json_num(cl_json_get(doc, "seed")); /* cast below: a whole number in range */
    if (!id || !suite || !sc || !strat || !(seed >= 0 && seed < 18446744073709551616.0) ||
        seed != floor(seed) ||
        cl_json_num(cl_json_get(doc, "schema_version")) != 1)
        return cl_error_set(CL_EDATA, "%s: not a clbench metrics.json (schema_version 1 with "
                            "run_id, suite, scenario, strategy, seed)", source);
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->runs[i].run_id, id)) return 0;
    if (s->n == L->cap_runs) {
        int cap = L->cap_runs ? 2 * L->cap_runs : 64;
        cl_run_doc *r = realloc(s->runs, (size_t)cap * sizeof *r);
        if (!r) return cl_error_set(CL_ENOMEM, "out of memory");
        s->runs = r;
        L->cap_runs = cap;
    }
    cl_run_doc *r = &s->runs[s->n];
    memset(r, 0, sizeof *r);
    r->doc = doc;
    snprintf(r->source, sizeof r->source, "%s", source);
    r->run_id = id;
    r->suite = suite;
    r->scenario = sc;
    r->strategy = strat;
    r->status = cl_json_str(cl_json_get(doc, "status"));
    r->seed = (unsigned long)seed;
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_strbuf_printf(&b, "%s|%s|%s|", suite, sc, strat);
    for (size_t i = 0; i < sizeof setting_sections / sizeof *setting_sections; i++) {
        cl_json_dump(&b, cl_json_get(doc, setting_sections[i]));
        cl_strbuf_puts(&b, "|");
    }
    if (cl_strbuf_status(&b)) {
        cl_strbuf_release(&b);
        return CL_ENOMEM;
    }
    r->cell = b.s;
    s->n++;
    return 0;
}

static int add_file(loader *L, const char *path)
{
    cl_json *root;
    int rc = cl_json_parse_file(&root, path);
    if (rc) return rc;
    cl_runset *s = L->s;
    if (s->n_roots == L->cap_roots) {
        int cap = L->cap_roots ? 2 * L->cap_roots : 64;
        cl_json **r = realloc(s->roots, (size_t)cap * sizeof *r);
        if (!r) {
            cl_json_free(root);
            return cl_error_set(CL_ENOMEM, "out of memory");
        }
        s->roots = r;
        L->cap_roots = cap;
    }
    s->roots[s->n_roots++] = root;
    const cl_json *runs = cl_json_get(root, "runs");
    if (cl_json_get(root, "clbench_bundle")) {
        if (cl_json_typeof(runs) != CL_JSON_ARR)
            return cl_error_set(CL_EDATA, "%s: bundle without a \"runs\" array", path);
        for (size_t i = 0; i < cl_json_len(runs); i++)
            if ((rc = add_run(L, cl_json_at(runs, i), path))) return rc;
        return 0;
    }
    return add_run(L, root, path);
}

static int only_dirs_and_json(const struct dirent *e) { return e->d_name[0] != '.'; }

static int add_path(loader *L, const char *path, int depth, int *found)
{
    struct stat st;
    if (stat(path, &st) != 0) return cl_error_set(CL_EINVAL, "%s: no such file or folder", path);
    if (!S_ISDIR(st.st_mode)) {
        (*found)++;
        return add_file(L, path);
    }
    if (depth > MAX_DEPTH) return 0;
    struct dirent **ents;
    int n = scandir(path, &ents, only_dirs_and_json, alphasort);
    if (n < 0) return cl_error_set(CL_EIO, "%s: cannot list folder", path);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, ents[i]->d_name);
        struct stat cs;
        if (rc == 0 && stat(child, &cs) == 0) {
            if (S_ISDIR(cs.st_mode)) rc = add_path(L, child, depth + 1, found);
            else if (!strcmp(ents[i]->d_name, "metrics.json")) {
                (*found)++;
                rc = add_file(L, child);
            }
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

static int registry_rank(const char *name)
{
    for (int i = 0; i < cl_strategy_count(); i++)
        if (!strcmp(cl_strategy_at(i)->name, name)) return i;
    return cl_strategy_count();
}

static int cmp_runs(const cl_run_doc *a, const cl_run_doc *b)
{
    int c = strcmp(a->suite, b->suite);
    if (!c) c = strcmp(a->scenario, b->scenario);
    if (!c) c = registry_rank(a->strategy) - registry_rank(b->strategy);
    if (!c) c = strcmp(a->strategy, b->strategy);
    if (!c) c = strcmp(a->cell, b->cell);
    if (!c) c = a->seed < b->seed ? -1 : a->seed > b->seed;
    return c;
}

static int cmp_runs_q(const void *a, const void *b) { return cmp_runs(a, b); }

int cl_run_setting_differs(const cl_run_doc *o, const char *sec, const char *key,
                           const char *mine)
{
    const cl_json *v = cl_json_get(cl_json_get(o->doc, sec), key);
    if (!v) return 0;
    cl_strbuf theirs;
    cl_strbuf_init(&theirs);
    cl_json_dump(&theirs, v);
    int differs = strcmp(mine, theirs.s ? theirs.s : "") != 0;
    cl_strbuf_release(&theirs);
    return differs;
}

/* Appends "key=value" for every member of section `sec` whose value differs
 * in some other cell of the same suite, scenario and strategy. */
static void label_section(const cl_runset *s, const cl_run_doc *r, const char *sec,
                          const char *prefix, cl_strbuf *b, int *shown)
{
    const cl_json *p = cl_json_get(r->doc, sec);
    for (size_t k = 0; k < cl_json_len(p); k++) {
        const char *key = cl_json_key_at(p, k);
        cl_strbuf mine;
        cl_strbuf_init(&mine);
        cl_json_dump(&mine, cl_json_at(p, k));
        int differs = 0;
        for (int i = 0; i < s->n && !differs; i++) {
            const cl_run_doc *o = &s->runs[i];
            if (strcmp(o->suite, r->suite) || strcmp(o->scenario, r->scenario) ||
                strcmp(o->strategy, r->strategy))
                continue;
            differs = cl_run_setting_differs(o, sec, key, mine.s ? mine.s : "");
        }
        if (differs)
            cl_strbuf_printf(b, "%s%s%s=%s", (*shown)++ ? ", " : " (", prefix, key,
                             mine.s ? mine.s : "");
        cl_strbuf_release(&mine);
    }
}

/* "ewc (lambda=10, train.lr=0.001)": the settings in which this cell differs
 * from another cell of the same suite, scenario and strategy. */
static void label_cell(const cl_runset *s, cl_cell *c)
{
    const cl_run_doc *r = &s->runs[c->runs[0]];
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_strbuf_puts(&b, r->strategy);
    int shown = 0;
    label_section(s, r, "params", "", &b, &shown);
    label_section(s, r, "suite_params", "suite.", &b, &shown);
    label_section(s, r, "model", "model.", &b, &shown);
    label_section(s, r, "train", "train.", &b, &shown);
    if (shown) cl_strbuf_puts(&b, ")");
    c->label_buf = b.s;
    c->label = b.s ? b.s : r->strategy;
}

static int build_cells(cl_runset *s)
{
    if (s->n) qsort(s->runs, (size_t)s->n, sizeof *s->runs, cmp_runs_q); /* runs may be NULL */
    s->cells = calloc((size_t)(s->n ? s->n : 1), sizeof *s->cells);
    if (!s->cells) return cl_error_set(CL_ENOMEM, "out of memory");
    for (int i = 0; i < s->n; i++) {
        if (i == 0 || strcmp(s->runs[i].cell, s->runs[i - 1].cell)) {
            cl_cell *c = &s->cells[s->n_cells++];
            c->runs = malloc((size_t)s->n * sizeof *c->runs);
            if (!c->runs) return cl_error_set(CL_ENOMEM, "out of memory");
        }
        cl_cell *c = &s->cells[s->n_cells - 1];
        c->runs[c->n++] = i;
    }
    for (int k = 0; k < s->n_cells; k++) label_cell(s, &s->cells[k]);
    return 0;
}

int cl_runset_load(cl_runset **out, char *const *paths, int n_paths)
{
    *out = NULL;
    cl_runset *s = calloc(1, sizeof *s);
    if (!s) return cl_error_set(CL_ENOMEM, "out of memory");
    loader L = {s, 0, 0};
    int rc = 0;
    for (int i = 0; rc == 0 && i < n_paths; i++) {
        int found = 0;
        rc = add_path(&L, paths[i], 0, &found);
        if (rc == 0 && found == 0)
            rc = cl_error_set(CL_EINVAL, "%s: no metrics.json found", paths[i]);
    }
    if (rc == 0) rc = build_cells(s);
    if (rc) {
        cl_runset_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void cl_runset_free(cl_runset *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->runs[i].cell);
    for (int k = 0; k < s->n_cells; k++) {
        free(s->cells[k].runs);
        free(s->cells[k].label_buf);
    }
    for (int i = 0; i < s->n_roots; i++) cl_json_free(s->roots[i]);
    free(s->runs);
    free(s->cells);
    free(s->roots);
    free(s);
}

/* 1 when some setting r records differs in o (settings o lacks aside). */
static int settings_differ_one_way(const cl_run_doc *r, const cl_run_doc *o)
{
    int differs = 0;
    for (size_t p = 0; p < sizeof setting_sections / sizeof *setting_sections && !differs; p++) {
        const cl_json *obj = cl_json_get(r->doc, setting_sections[p]);
        for (size_t k = 0; k < cl_json_len(obj) && !differs; k++) {
            cl_strbuf mine;
            cl_strbuf_init(&mine);
            cl_json_dump(&mine, cl_json_at(obj, k));
            differs = cl_run_setting_differs(o, setting_sections[p], cl_json_key_at(obj, k),
                                             mine.s ? mine.s : "");
            cl_strbuf_release(&mine);
        }
    }
    return differs;
}

int cl_runset_find_cell(const cl_runset *s, const cl_run_doc *r)
{
    int found = -1, n_like = 0;
    for (int k = 0; k < s->n_cells; k++) {
        const cl_run_doc *o = &s->runs[s->cells[k].runs[0]];
        if (!strcmp(o->cell, r->cell)) return k;
        if (strcmp(o->suite, r->suite) || strcmp(o->scenario, r->scenario) ||
            strcmp(o->strategy, r->strategy))
            continue;
        if (!settings_differ_one_way(r, o) && !settings_differ_one_way(o, r)) {
            found = k;
            n_like++;
        }
    }
    return n_like == 1 ? found : -1;
}
