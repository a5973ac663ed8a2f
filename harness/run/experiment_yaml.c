/* The parser of experiment files (see experiment.h for the schema): walks
 * the YAML document into a plan (lists of names and grid axes, each item
 * with its file position), checking every value against its declared spec
 * where the spec is known. harness/experiment.c expands the plan. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "clbench/base/error.h"
#include "clbench/run/experiment.h"
#include "experiment_yaml.h"

#define MAX_KEYS 1000 /* per mapping: keeps the duplicate-key check cheap */
#define MAX_SEED 4294967295UL

/* ---- messages ------------------------------------------------------------ */

int cl_exp_fail(const cl_exp_plan *p, cl_exp_loc at, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cl_error_set(CL_EINVAL, "%s:%zu:%zu: %s", p->file, at.line, at.col, msg);
}

int cl_exp_relocate(const cl_exp_plan *p, cl_exp_loc at, int rc)
{
    if (rc == CL_ENOMEM) return rc;
    char msg[900];
    snprintf(msg, sizeof msg, "%s", cl_error_last());
    return cl_exp_fail(p, at, "%s", msg);
}

static cl_exp_loc mark_of(const yaml_node_t *n)
{
    return (cl_exp_loc){n->start_mark.line + 1, n->start_mark.column + 1};
}

static const char *kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

static const char *text(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static int is_null(const yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE) return !n;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = text(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* ---- YAML shapes ----------------------------------------------------------- */

typedef struct walk {
    cl_exp_plan *p;
    yaml_document_t *doc;
} walk;

static yaml_node_t *node(const walk *w, int i) { return yaml_document_get_node(w->doc, i); }

/* A scalar with a value; `what` names the slot in the message. */
static int want_scalar(const walk *w, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE)
        return cl_exp_fail(w->p, mark_of(n), "%s: expected a value, found %s", what, kind(n));
    if (is_null(n))
        return cl_exp_fail(w->p, mark_of(n), "%s: expected a value, found nothing", what);
    if (strlen(text(n)) != n->data.scalar.length)
        return cl_exp_fail(w->p, mark_of(n), "%s: the value contains a NUL character", what);
    return 0;
}

/* Keys must be distinct scalars; so few that the quadratic check is cheap. */
static int check_keys(const walk *w, const yaml_node_t *map, const char *what)
{
    const yaml_node_pair_t *a = map->data.mapping.pairs.start, *end = map->data.mapping.pairs.top;
    if (end - a > MAX_KEYS)
        return cl_exp_fail(w->p, mark_of(map), "%s: more than %d keys", what, MAX_KEYS);
    for (; a < end; a++) {
        const yaml_node_t *k = node(w, a->key);
        if (k->type != YAML_SCALAR_NODE || is_null(k))
            return cl_exp_fail(w->p, mark_of(k), "%s: expected a name as key, found %s", what,
                               is_null(k) ? "nothing" : kind(k));
        int rc = want_scalar(w, k, what);
        if (rc) return rc;
        for (const yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++) {
            const yaml_node_t *kb = node(w, b->key);
            if (!strcmp(text(kb), text(k))) {
                cl_exp_loc first = mark_of(kb);
                return cl_exp_fail(w->p, mark_of(k),
                                   "%s: duplicate key '%s' (first at line %zu, column %zu)", what,
                                   text(k), first.line, first.col);
            }
        }
    }
    return 0;
}

/* The mapping's value for `key`, or NULL. */
static const yaml_node_pair_t *pair_of(const walk *w, const yaml_node_t *map, const char *key)
{
    const yaml_node_pair_t *a = map->data.mapping.pairs.start, *end = map->data.mapping.pairs.top;
    for (; a < end; a++)
        if (!strcmp(text(node(w, a->key)), key)) return a;
    return NULL;
}

/* Calls fn on every item of a scalar-or-list node; items must be scalars. */
typedef int (*item_fn)(walk *w, const char *item, cl_exp_loc at, void *user);

static int each_item(walk *w, const yaml_node_t *n, const char *what, item_fn fn, void *user)
{
    if (n->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *i = n->data.sequence.items.start, *end = n->data.sequence.items.top;
        if (i == end) return cl_exp_fail(w->p, mark_of(n), "%s: empty list", what);
        if (end - i > CL_EXPERIMENT_MAX_CELLS)
            return cl_exp_fail(w->p, mark_of(n), "%s: more than %d items", what,
                               CL_EXPERIMENT_MAX_CELLS);
        for (; i < end; i++) {
            const yaml_node_t *item = node(w, *i);
            int rc = want_scalar(w, item, what);
            if (!rc) rc = fn(w, text(item), mark_of(item), user);
            if (rc) return rc;
        }
        return 0;
    }
    int rc = want_scalar(w, n, what);
    return rc ? rc : fn(w, text(n), mark_of(n), user);
}

/* ---- axes ------------------------------------------------------------------ */

static void axis_release(cl_exp_axis *a)
{
    for (int i = 0; i < a->n; i++) free(a->vals[i]);
    free(a->vals);
    free(a->at);
}

static int axis_push(cl_exp_axis *a, const char *val, cl_exp_loc at)
{
    char **v = realloc(a->vals, (size_t)(a->n + 1) * sizeof *v);
    if (v) a->vals = v;
    cl_exp_loc *l = realloc(a->at, (size_t)(a->n + 1) * sizeof *l);
    if (l) a->at = l;
    char *dup = v && l ? strdup(val) : NULL;
    if (!dup) return cl_error_set(CL_ENOMEM, "out of memory");
    a->vals[a->n] = dup;
    a->at[a->n++] = at;
    return 0;
}

/* "400,400" from a flat list of scalars (one INTS value). */
static int join_ints(walk *w, const yaml_node_t *seq, const char *what, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    yaml_node_item_t *i = seq->data.sequence.items.start, *end = seq->data.sequence.items.top;
    if (i == end) return cl_exp_fail(w->p, mark_of(seq), "%s: empty list", what);
    for (; i < end; i++) {
        const yaml_node_t *item = node(w, *i);
        if (item->type != YAML_SCALAR_NODE)
            return cl_exp_fail(w->p, mark_of(item), "%s: expected a whole number, found %s",
                               what, kind(item));
        int rc = want_scalar(w, item, what);
        if (rc) return rc;
        int k = snprintf(buf + off, n - off, "%s%s", off ? "," : "", text(item));
        if (k < 0 || (size_t)k >= n - off)
            return cl_exp_fail(w->p, mark_of(item), "%s: list too long", what);
        off += (size_t)k;
    }
    return 0;
}

static int push_scalar(walk *w, const char *item, cl_exp_loc at, void *user)
{
    (void)w;
    return axis_push(user, item, at);
}

/* Reads one parameter's value node into a new axis. `ints`: the parameter
 * takes a list of numbers, so a flat list is one value. */
static int add_axis(walk *w, const char *ns, const yaml_node_t *key, const yaml_node_t *val,
                    int ints)
{
    cl_exp_plan *p = w->p;
    cl_exp_axis a = {0};
    snprintf(a.ns, sizeof a.ns, "%s", ns);
    if (strlen(text(key)) >= sizeof a.name)
        return cl_exp_fail(p, mark_of(key), "parameter name too long: '%.40s...'", text(key));
    snprintf(a.name, sizeof a.name, "%s", text(key));
    a.key = mark_of(key);
    char what[160];
    snprintf(what, sizeof what, "%s.%s", ns[0] ? ns : "strategy", a.name);
    int rc = 0;
    if (val->type == YAML_MAPPING_NODE) {
        rc = cl_exp_fail(p, mark_of(val),
                         "%s: expected a value or a list of values, found a mapping", what);
    } else if (ints && val->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *i = val->data.sequence.items.start, *end = val->data.sequence.items.top;
        int nested = 0;
        for (yaml_node_item_t *j = i; j < end; j++)
            nested |= node(w, *j)->type == YAML_SEQUENCE_NODE;
        char buf[256];
        if (!nested) {
            rc = join_ints(w, val, what, buf, sizeof buf);
            if (!rc) rc = axis_push(&a, buf, mark_of(val));
        } else if (end - i > CL_EXPERIMENT_MAX_CELLS) {
            rc = cl_exp_fail(p, mark_of(val), "%s: more than %d items", what,
                             CL_EXPERIMENT_MAX_CELLS);
        }
        for (; nested && !rc && i < end; i++) {
            const yaml_node_t *item = node(w, *i);
            if (item->type == YAML_SEQUENCE_NODE) rc = join_ints(w, item, what, buf, sizeof buf);
            else if (!(rc = want_scalar(w, item, what)))
                snprintf(buf, sizeof buf, "%s", text(item));
            if (!rc) rc = axis_push(&a, buf, mark_of(item));
        }
    } else {
        rc = each_item(w, val, what, push_scalar, &a);
    }
    cl_exp_axis *grown = rc ? NULL : realloc(p->axes, (size_t)(p->n_axes + 1) * sizeof *grown);
    if (!rc && !grown) rc = cl_error_set(CL_ENOMEM, "out of memory");
    if (rc) {
        axis_release(&a);
        return rc;
    }
    p->axes = grown;
    p->axes[p->n_axes++] = a;
    return 0;
}

static const cl_param_spec *spec_find(const cl_param_spec *specs, const char *name)
{
    for (int i = 0; specs && specs[i].name; i++)
        if (!strcmp(specs[i].name, name)) return &specs[i];
    return NULL;
}

/* Checks every value of an axis against one spec table (namespace `ns`):
 * an unknown name is reported at the key, a bad value at the value. */
static int check_axis(const cl_exp_plan *p, const cl_exp_axis *a, const char *ns,
                      const cl_param_spec *specs)
{
    cl_params *t;
    int rc = cl_params_new(&t, ns, specs);
    for (int i = 0; !rc && i < a->n; i++) {
        rc = cl_params_set(t, a->name, a->vals[i]);
        if (rc) rc = cl_exp_relocate(p, rc == CL_ENOTFOUND ? a->key : a->at[i], rc);
    }
    cl_params_free(t);
    return rc;
}

/* Fails at the key unless the table declares it (checked before the
 * value, so a misspelt name is reported as such whatever follows it). */
static int check_name(const cl_exp_plan *p, const yaml_node_t *key, const char *ns,
                      const cl_param_spec *specs)
{
    if (spec_find(specs, text(key))) return 0;
    cl_params *t;
    int rc = cl_params_new(&t, ns, specs);
    if (!rc) rc = cl_params_set(t, text(key), ""); /* for its message */
    cl_params_free(t);
    return cl_exp_relocate(p, mark_of(key), rc);
}

/* A mapping of parameters for one fixed spec table (model, train, or one
 * strategy's section), but the key `skip` (may be NULL). An empty `train:`
 * is allowed. */
static int parse_section(walk *w, const char *ns, const cl_param_spec *specs,
                         const yaml_node_t *val, const char *skip)
{
    if (is_null(val)) return 0;
    if (val->type != YAML_MAPPING_NODE) {
        char names[512];
        cl_param_specs_names(specs, names, sizeof names);
        return cl_exp_fail(w->p, mark_of(val),
                           "%s: expected a mapping of parameters (%s), found %s", ns, names,
                           kind(val));
    }
    int rc = check_keys(w, val, ns);
    for (const yaml_node_pair_t *a = val->data.mapping.pairs.start;
         !rc && a < val->data.mapping.pairs.top; a++) {
        const yaml_node_t *k = node(w, a->key), *v = node(w, a->value);
        if (skip && !strcmp(text(k), skip)) continue;
        const cl_param_spec *s = spec_find(specs, text(k));
        rc = check_name(w->p, k, ns, specs);
        if (!rc) rc = add_axis(w, ns, k, v, s && s->type == CL_PARAM_INTS);
        if (!rc) rc = check_axis(w->p, &w->p->axes[w->p->n_axes - 1], ns, specs);
    }
    return rc;
}

/* model: {net: NAME, PARAM: VALUE, ...}: the net picks the table the other
 * keys are checked against and, first among the axes, switches it. One net
 * per experiment: tables differ between nets. */
static int parse_model(walk *w, const yaml_node_t *val)
{
    const cl_net_ops *ops = &cl_net_mlp;
    const yaml_node_pair_t *np = val && val->type == YAML_MAPPING_NODE ? pair_of(w, val, "net")
                                                                       : NULL;
    if (np) {
        const yaml_node_t *k = node(w, np->key), *v = node(w, np->value);
        int rc = want_scalar(w, v, "model.net");
        if (!rc && cl_net_find(&ops, text(v))) rc = cl_exp_relocate(w->p, mark_of(v), CL_EINVAL);
        if (!rc) rc = add_axis(w, "model", k, v, 0);
        if (rc) return rc;
    }
    return parse_section(w, "model", ops->params, val, "net");
}

/* ---- suite, strategy, scenario, seeds ---------------------------------------- */

static int push_suite(walk *w, const char *item, cl_exp_loc at, void *user)
{
    (void)user;
    cl_exp_plan *p = w->p;
    const cl_suite_family *fam;
    int rc = cl_suite_family_find(&fam, item);
    if (rc) return cl_exp_relocate(p, at, rc);
    if (strlen(item) >= sizeof p->suites[0]) return cl_exp_fail(p, at, "suite name too long");
    for (int i = 0; i < p->n_suites; i++)
        if (!strcmp(p->suites[i], item)) return 0;
    if (p->n_suites == CL_EXP_MAX_SUITES)
        return cl_exp_fail(p, at, "more than %d suites", CL_EXP_MAX_SUITES);
    snprintf(p->suites[p->n_suites], sizeof p->suites[0], "%s", item);
    p->suite_at[p->n_suites++] = at;
    return 0;
}

static int add_strategy(cl_exp_plan *p, const cl_strategy_ops *ops, cl_exp_loc at)
{
    for (int i = 0; i < p->n_strats; i++)
        if (p->strats[i] == ops) return 0;
    const cl_strategy_ops **s = realloc(p->strats, (size_t)(p->n_strats + 1) * sizeof *s);
    if (s) p->strats = s;
    cl_exp_loc *l = realloc(p->strat_at, (size_t)(p->n_strats + 1) * sizeof *l);
    if (l) p->strat_at = l;
    if (!s || !l) return cl_error_set(CL_ENOMEM, "out of memory");
    p->strats[p->n_strats] = ops;
    p->strat_at[p->n_strats++] = at;
    return 0;
}

static int push_strategy(walk *w, const char *item, cl_exp_loc at, void *user)
{
    (void)user;
    cl_exp_plan *p = w->p;
    int rc = 0;
    if (!strcmp(item, "all")) {
        for (int i = 0; !rc && i < cl_strategy_count(); i++)
            rc = add_strategy(p, cl_strategy_at(i), at);
        return rc;
    }
    const cl_strategy_ops *ops;
    if ((rc = cl_strategy_find(&ops, item))) return cl_exp_relocate(p, at, rc);
    return add_strategy(p, ops, at);
}

static int push_scenario(walk *w, const char *item, cl_exp_loc at, void *user)
{
    (void)user;
    cl_exp_plan *p = w->p;
    cl_scenario sc;
    int rc = cl_scenario_parse(&sc, item);
    if (rc) return cl_exp_relocate(p, at, rc);
    for (int i = 0; i < p->n_scen; i++)
        if (p->scen[i] == sc) return 0;
    p->scen[p->n_scen] = sc;
    p->scen_at[p->n_scen++] = at;
    return 0;
}

/* The spec tables the names of namespace `ns` stand for: each suite's
 * family ("suite"), or each strategy (""); *tns gets the table's namespace. */
static int n_tables(const cl_exp_plan *p, const char *ns)
{
    return ns[0] ? p->n_suites : p->n_strats;
}

static const cl_param_spec *table_at(const cl_exp_plan *p, const char *ns, int i, const char **tns)
{
    if (!ns[0]) {
        if (tns) *tns = p->strats[i]->name;
        return p->strats[i]->params;
    }
    const cl_suite_family *fam;
    CL_ASSERT(cl_suite_family_find(&fam, p->suites[i]) == 0);
    if (tns) *tns = "suite";
    return fam->params;
}

/* NAME | [NAME, ...] | {name: NAME | [..], PARAM: VALUE, ...}: the names go
 * through push_name; the other keys become axes in namespace `ns` ("suite",
 * or "" for the running strategy). */
static int parse_named(walk *w, const char *what, const yaml_node_t *val, item_fn push_name,
                       const char *def, const char *ns)
{
    cl_exp_plan *p = w->p;
    if (val->type != YAML_MAPPING_NODE) {
        if (is_null(val) && val->type == YAML_SCALAR_NODE)
            return cl_exp_fail(p, mark_of(val),
                               "%s: expected a name, a list of names or a mapping with "
                               "name, found nothing", what);
        return each_item(w, val, what, push_name, NULL);
    }
    int rc = check_keys(w, val, what);
    if (rc) return rc;
    const yaml_node_pair_t *np = pair_of(w, val, "name");
    if (np) rc = each_item(w, node(w, np->value), what, push_name, NULL);
    else rc = push_name(w, def, mark_of(val), NULL);
    if (rc) return rc;
    int first = p->n_axes;
    const yaml_node_pair_t *a = val->data.mapping.pairs.start, *end = val->data.mapping.pairs.top;
    for (; a < end; a++) {
        if (a == np) continue;
        const yaml_node_t *k = node(w, a->key);
        /* A list of numbers is one value if any named table says INTS. */
        int ints = 0;
        for (int i = 0; i < n_tables(p, ns); i++) {
            const char *tns;
            const cl_param_spec *specs = table_at(p, ns, i, &tns);
            const cl_param_spec *s = spec_find(specs, text(k));
            if ((rc = check_name(p, k, tns, specs))) return rc;
            ints |= s->type == CL_PARAM_INTS;
        }
        if ((rc = add_axis(w, ns, k, node(w, a->value), ints))) return rc;
    }
    /* Every named table must declare every parameter given beside them. */
    for (int x = first; x < p->n_axes; x++)
        for (int i = 0; i < n_tables(p, ns); i++) {
            const char *tns;
            const cl_param_spec *specs = table_at(p, ns, i, &tns);
            if ((rc = check_axis(p, &p->axes[x], tns, specs))) return rc;
        }
    return 0;
}

static int parse_ulong(const cl_exp_plan *p, const char *s, cl_exp_loc at, const char *what,
                       unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || s[0] == '+' || s[0] == ' ' || v < lo || v > hi)
        return cl_exp_fail(p, at, "%s: '%s' is not a whole number in [%lu, %lu]", what, s, lo, hi);
    *out = v;
    return 0;
}

static int add_seed(cl_exp_plan *p, unsigned long v, cl_exp_loc at)
{
    unsigned long *s = realloc(p->seeds, (size_t)(p->n_seeds + 1) * sizeof *s);
    if (s) p->seeds = s;
    cl_exp_loc *l = realloc(p->seed_at, (size_t)(p->n_seeds + 1) * sizeof *l);
    if (l) p->seed_at = l;
    if (!s || !l) return cl_error_set(CL_ENOMEM, "out of memory");
    p->seeds[p->n_seeds] = v;
    p->seed_at[p->n_seeds++] = at;
    return 0;
}

static int push_seed(walk *w, const char *item, cl_exp_loc at, void *user)
{
    unsigned long v;
    int rc = parse_ulong(w->p, item, at, (const char *)user, 0, MAX_SEED, &v);
    return rc ? rc : add_seed(w->p, v, at);
}

/* seed: N | [..]; seeds: K (seed..seed+K-1) | [..]. */
static int parse_seeds(walk *w, const yaml_node_pair_t *seed, const yaml_node_pair_t *seeds)
{
    cl_exp_plan *p = w->p;
    const yaml_node_t *sv = seed ? node(w, seed->value) : NULL;
    const yaml_node_t *kv = seeds ? node(w, seeds->value) : NULL;
    if (sv && kv && (sv->type == YAML_SEQUENCE_NODE || kv->type == YAML_SEQUENCE_NODE))
        return cl_exp_fail(p, mark_of(node(w, seeds->key)),
                           "seeds: give a list in seed or in seeds, or a first seed and a count, "
                           "not both lists");
    if (!kv) return sv ? each_item(w, sv, "seed", push_seed, "seed") : add_seed(p, 0, p->root);
    if (kv->type == YAML_SEQUENCE_NODE) return each_item(w, kv, "seeds", push_seed, "seeds");
    unsigned long first = 0, k = 0;
    int rc = want_scalar(w, kv, "seeds");
    if (!rc) rc = parse_ulong(p, text(kv), mark_of(kv), "seeds", 1, CL_EXPERIMENT_MAX_CELLS, &k);
    if (!rc && sv && !(rc = want_scalar(w, sv, "seed")))
        rc = parse_ulong(p, text(sv), mark_of(sv), "seed", 0, MAX_SEED, &first);
    if (rc) return rc;
    if (first > MAX_SEED - (k - 1))
        return cl_exp_fail(p, mark_of(kv), "seeds: %lu seeds from %lu go past %lu", k, first,
                           MAX_SEED);
    p->seeds = malloc((size_t)k * sizeof *p->seeds);
    p->seed_at = malloc((size_t)k * sizeof *p->seed_at);
    if (!p->seeds || !p->seed_at) return cl_error_set(CL_ENOMEM, "out of memory");
    for (unsigned long i = 0; i < k; i++) {
        p->seeds[i] = first + i;
        p->seed_at[i] = mark_of(kv);
    }
    p->n_seeds = (int)k;
    return 0;
}

/* ---- the top level --------------------------------------------------------- */

static const char *const top_keys[] = {"seed", "seeds", "scenario", "threads", "data_dir",
                                       "suite", "strategy", "model", "train"};
#define N_TOP ((int)(sizeof top_keys / sizeof top_keys[0]))

static int unknown_key(const cl_exp_plan *p, const yaml_node_t *k)
{
    char list[700];
    size_t off = 0;
    for (int i = 0; i < N_TOP; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s, ", top_keys[i]);
    off += (size_t)snprintf(list + off, sizeof list - off, "or a strategy name:");
    for (int i = 0; i < cl_strategy_count() && off < sizeof list; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s %s", i ? "," : "",
                                cl_strategy_at(i)->name);
    return cl_exp_fail(p, mark_of(k), "unknown key '%s' (valid: %s)", text(k), list);
}

/* A parameter given both in `strategy:` and in that strategy's own section
 * would be set twice with no rule for which wins. */
static int check_overlap(const cl_exp_plan *p)
{
    for (int a = 0; a < p->n_axes; a++) {
        if (p->axes[a].ns[0]) continue;
        for (int b = 0; b < p->n_axes; b++)
            for (int s = 0; s < p->n_strats; s++)
                if (!strcmp(p->axes[b].ns, p->strats[s]->name) &&
                    !strcmp(p->axes[b].name, p->axes[a].name)) {
                    const cl_exp_axis *later = a > b ? &p->axes[a] : &p->axes[b];
                    const cl_exp_axis *first = a > b ? &p->axes[b] : &p->axes[a];
                    return cl_exp_fail(p, later->key,
                                       "%s.%s is given twice (also at line %zu, column %zu)",
                                       p->strats[s]->name, later->name, first->key.line,
                                       first->key.col);
                }
    }
    return 0;
}

static int parse_root(walk *w, const yaml_node_t *root)
{
    cl_exp_plan *p = w->p;
    if (root->type != YAML_MAPPING_NODE)
        return cl_exp_fail(p, mark_of(root),
                           "expected a mapping of experiment settings (suite, "
                           "strategy, seed, ...), found %s", kind(root));
    int rc = check_keys(w, root, "experiment");
    if (rc) return rc;
    const yaml_node_pair_t *seed = pair_of(w, root, "seed"), *seeds = pair_of(w, root, "seeds");
    for (const yaml_node_pair_t *a = root->data.mapping.pairs.start;
         !rc && a < root->data.mapping.pairs.top; a++) {
        const yaml_node_t *k = node(w, a->key), *v = node(w, a->value);
        const char *key = text(k);
        const cl_strategy_ops *ops;
        if (!strcmp(key, "seed") || !strcmp(key, "seeds")) {
            if (a == (seed ? seed : seeds)) rc = parse_seeds(w, seed, seeds);
        } else if (!strcmp(key, "scenario")) {
            rc = each_item(w, v, "scenario", push_scenario, NULL);
        } else if (!strcmp(key, "threads")) {
            unsigned long t = 0;
            rc = want_scalar(w, v, "threads");
            if (!rc) rc = parse_ulong(p, text(v), mark_of(v), "threads", 1, 256, &t);
            p->threads = (int)t;
        } else if (!strcmp(key, "data_dir")) {
            rc = want_scalar(w, v, "data_dir");
            if (!rc && strlen(text(v)) >= sizeof p->data_dir)
                rc = cl_exp_fail(p, mark_of(v), "data_dir: path too long");
            if (!rc) snprintf(p->data_dir, sizeof p->data_dir, "%s", text(v));
        } else if (!strcmp(key, "suite")) {
            rc = parse_named(w, "suite", v, push_suite, "seq-tasks", "suite");
        } else if (!strcmp(key, "strategy")) {
            rc = parse_named(w, "strategy", v, push_strategy, "naive", "");
        } else if (!strcmp(key, "model")) {
            rc = parse_model(w, v);
        } else if (!strcmp(key, "train")) {
            p->train_at = mark_of(k);
            rc = parse_section(w, "train", cl_train_params, v, NULL);
        } else if (cl_strategy_find(&ops, key) == 0) {
            rc = parse_section(w, ops->name, ops->params, v, NULL);
        } else {
            rc = unknown_key(p, k);
        }
    }
    if (!rc && !seed && !seeds) rc = parse_seeds(w, NULL, NULL);
    if (!rc && p->n_suites == 0) rc = push_suite(w, "seq-tasks", p->root, NULL);
    if (!rc && p->n_strats == 0) rc = push_strategy(w, "naive", p->root, NULL);
    if (rc) return rc;
    /* joint first: the others read its R for intransigence. */
    for (int i = 1; i < p->n_strats; i++)
        if (!strcmp(p->strats[i]->name, "joint")) {
            const cl_strategy_ops *j = p->strats[i];
            cl_exp_loc at = p->strat_at[i];
            memmove(p->strats + 1, p->strats, (size_t)i * sizeof *p->strats);
            memmove(p->strat_at + 1, p->strat_at, (size_t)i * sizeof *p->strat_at);
            p->strats[0] = j;
            p->strat_at[0] = at;
        }
    return check_overlap(p);
}

/* ---- the document ---------------------------------------------------------- */

void cl_exp_plan_release(cl_exp_plan *p)
{
    free(p->seeds);
    free(p->seed_at);
    free(p->strats);
    free(p->strat_at);
    for (int i = 0; i < p->n_axes; i++) axis_release(&p->axes[i]);
    free(p->axes);
    memset(p, 0, sizeof *p);
}

/* libyaml's own message at its own position; reader errors carry a byte
 * offset instead of a mark. */
static int syntax_error(const cl_exp_plan *p, const yaml_parser_t *ps, const char *text, size_t len)
{
    if (ps->error == YAML_MEMORY_ERROR) return cl_error_set(CL_ENOMEM, "out of memory");
    cl_exp_loc at = {ps->problem_mark.line + 1, ps->problem_mark.column + 1};
    if (ps->error == YAML_READER_ERROR) {
        at = (cl_exp_loc){1, 1};
        for (size_t i = 0; i < ps->problem_offset && i < len; i++) {
            if (text[i] == '\n') at.line++, at.col = 1;
            else at.col++;
        }
    }
    const char *problem = ps->problem ? ps->problem : "malformed YAML";
    if (ps->context)
        return cl_exp_fail(p, at, "YAML syntax error: %s (%s at line %zu, column %zu)", problem,
                           ps->context, ps->context_mark.line + 1, ps->context_mark.column + 1);
    return cl_exp_fail(p, at, "YAML syntax error: %s", problem);
}

static int load_doc(const cl_exp_plan *p, yaml_document_t *doc, const char *text, size_t len)
{
    yaml_parser_t ps;
    if (!yaml_parser_initialize(&ps)) return cl_error_set(CL_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
    int rc = 0;
    if (!yaml_parser_load(&ps, doc)) {
        rc = syntax_error(p, &ps, text, len);
    } else if (!yaml_document_get_root_node(doc)) {
        rc = cl_exp_fail(p, (cl_exp_loc){1, 1},
                         "empty experiment file: expected a mapping of settings "
                         "(suite, strategy, seed, ...)");
        yaml_document_delete(doc);
    } else {
        yaml_document_t next;
        if (!yaml_parser_load(&ps, &next)) {
            rc = syntax_error(p, &ps, text, len);
        } else {
            const yaml_node_t *r = yaml_document_get_root_node(&next);
            if (r) rc = cl_exp_fail(p, mark_of(r), "expected one YAML document, found a second");
            yaml_document_delete(&next);
        }
        if (rc) yaml_document_delete(doc);
    }
    yaml_parser_delete(&ps);
    return rc;
}

int cl_exp_plan_parse(cl_exp_plan *p, const char *name, const char *text, size_t len)
{
    *p = (cl_exp_plan){.file = name ? name : "<experiment>", .root = {1, 1}, .threads = 1};
    yaml_document_t doc;
    int rc = load_doc(p, &doc, text, len);
    if (rc) return rc;
    walk w = {p, &doc};
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    p->root = mark_of(root);
    rc = parse_root(&w, root);
    yaml_document_delete(&doc);
    if (rc) cl_exp_plan_release(p);
    return rc;
}
