#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/run/config.h"
#include "clbench/base/error.h"

const cl_param_spec cl_train_params[] = {
    {"optimizer", CL_PARAM_CHOICE, "adam", 0, 0, "adam|sgd|adamw",
     "optimiser (adamw: decoupled decay on weight matrices only)"},
    {"lr", CL_PARAM_FLOAT, "0.001", 1e-9, 100, NULL, "learning rate (the schedule's peak)"},
    {"schedule", CL_PARAM_CHOICE, "constant", 0, 0, "constant|cosine|rewarm",
     "lr schedule: constant; warmup + cosine over the run; rewarm = warmup + cosine "
     "restarted at every task (Ibrahim et al. 2024)"},
    {"warmup", CL_PARAM_INT, "0", 0, 100000000, NULL, "steps of linear lr warmup (cosine, rewarm)"},
    {"min_lr", CL_PARAM_FLOAT, "0.1", 0, 1, NULL,
     "where the cosine ends, as a fraction of lr (cosine, rewarm)"},
    {"momentum", CL_PARAM_FLOAT, "0.9", 0, 0.9999, NULL, "SGD momentum"},
    {"beta1", CL_PARAM_FLOAT, "0.9", 0, 0.9999, NULL, "Adam beta1"},
    {"beta2", CL_PARAM_FLOAT, "0.999", 0, 0.99999, NULL, "Adam beta2"},
    {"eps", CL_PARAM_FLOAT, "1e-08", 1e-12, 1, NULL, "Adam epsilon"},
    {"weight_decay", CL_PARAM_FLOAT, "0", 0, 1, NULL,
     "weight decay: L2 in the gradient (sgd, adam) or decoupled (adamw)"},
    {"batch_size", CL_PARAM_INT, "32", 1, 65536, NULL, "samples per training step"},
    {"steps", CL_PARAM_INT, "300", 1, 100000000, NULL, "training steps per task (unless epochs is set)"},
    {"epochs", CL_PARAM_INT, "0", 0, 100000, NULL, "passes over each task's data; 0 = use steps"},
    {"reset_optim", CL_PARAM_BOOL, "true", 0, 0, NULL, "clear optimiser state when a task begins"},
    {"eval_every", CL_PARAM_INT, "50", 0, 100000000, NULL,
     "steps between anytime evaluations of every task (0 = task ends only)"},
    {"curve_samples", CL_PARAM_INT, "1000", 0, 100000000, NULL,
     "test samples per task for anytime evaluations (0 = all)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

int cl_config_new(cl_config **out, const char *suite, cl_scenario sc,
                  const char *strategy, unsigned long seed)
{
    *out = NULL;
    const cl_suite_family *fam;
    const cl_strategy_ops *ops;
    int rc = cl_suite_family_find(&fam, suite);
    if (rc) return rc;
    rc = cl_strategy_find(&ops, strategy);
    if (rc) return rc;
    if (!(fam->scenarios & (1u << sc)))
        return cl_error_set(CL_EINVAL, "suite %s does not support the %s scenario", suite,
                            cl_scenario_name(sc));
    if (strlen(suite) >= sizeof((cl_config *)0)->suite)
        return cl_error_set(CL_EINVAL, "suite name too long: '%s'", suite);
    /* Families like split-* take any dataset name, and the suite name goes
     * into the run id (a folder name) and config.yaml unquoted. */
    if (suite[strspn(suite, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")])
        return cl_error_set(CL_EINVAL, "suite '%s': a suite name holds only letters, digits, "
                            "'.', '_' and '-'", suite);
    cl_config *c = calloc(1, sizeof *c);
    if (!c) return cl_error_set(CL_ENOMEM, "out of memory");
    snprintf(c->suite, sizeof c->suite, "%s", suite);
    snprintf(c->strategy, sizeof c->strategy, "%s", ops->name);
    c->scenario = sc;
    c->seed = seed;
    c->threads = 1;
    c->family = fam;
    c->ops = ops;
    c->net = &cl_net_mlp;
    rc = cl_params_new(&c->model, "model", c->net->params);
    if (!rc) rc = cl_params_new(&c->train, "train", cl_train_params);
    if (!rc) rc = cl_params_new(&c->suite_p, "suite", fam->params);
    if (!rc) rc = cl_params_new(&c->strat, ops->name, ops->params);
    if (rc) {
        cl_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void cl_config_free(cl_config *c)
{
    if (!c) return;
    cl_params_free(c->model);
    cl_params_free(c->train);
    cl_params_free(c->suite_p);
    cl_params_free(c->strat);
    free(c);
}

int cl_config_clone(cl_config **out, const cl_config *src)
{
    *out = NULL;
    cl_config *c = calloc(1, sizeof *c);
    if (!c) return cl_error_set(CL_ENOMEM, "out of memory");
    *c = *src;
    c->model = c->train = c->suite_p = c->strat = NULL;
    int rc = cl_params_clone(&c->model, src->model);
    if (!rc) rc = cl_params_clone(&c->train, src->train);
    if (!rc) rc = cl_params_clone(&c->suite_p, src->suite_p);
    if (!rc) rc = cl_params_clone(&c->strat, src->strat);
    if (rc) {
        cl_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int cl_config_for_strategy(cl_config **out, const cl_config *src, const char *strategy)
{
    const cl_strategy_ops *ops;
    int rc = cl_strategy_find(&ops, strategy);
    if (rc) return rc;
    cl_params *p;
    if ((rc = cl_params_new(&p, ops->name, ops->params))) return rc;
    if ((rc = cl_config_clone(out, src))) {
        cl_params_free(p);
        return rc;
    }
    cl_params_free((*out)->strat);
    (*out)->strat = p;
    (*out)->ops = ops;
    snprintf((*out)->strategy, sizeof (*out)->strategy, "%s", ops->name);
    return 0;
}

/* Switches the model table to another network's, carrying over the values
 * set explicitly (each must exist in the new table). */
static int set_net(cl_config *c, const char *name)
{
    const cl_net_ops *ops;
    int rc = cl_net_find(&ops, name);
    if (rc || ops == c->net) return rc;
    cl_params *p;
    if ((rc = cl_params_new(&p, "model", ops->params))) return rc;
    for (int i = 0; rc == 0 && i < cl_params_count(c->model); i++) {
        const char *pname = cl_params_spec_at(c->model, i)->name;
        if (!cl_params_is_set(c->model, pname)) continue;
        rc = cl_params_set(p, pname, cl_params_text_at(c->model, i));
        if (rc == CL_ENOTFOUND)
            rc = cl_error_set(CL_EINVAL, "model.%s is not a parameter of the %s network; set "
                              "model.net first", pname, ops->name);
    }
    if (rc) {
        cl_params_free(p);
        return rc;
    }
    cl_params_free(c->model);
    c->model = p;
    c->net = ops;
    return 0;
}

int cl_config_set(cl_config *c, const char *key, const char *value)
{
    const char *dot = strchr(key, '.');
    if (!dot || dot == key || !dot[1])
        return cl_error_set(CL_EINVAL,
                            "parameter '%s' needs a namespace: model.NAME, train.NAME, "
                            "suite.NAME or STRATEGY.NAME", key);
    char ns[64];
    size_t nl = (size_t)(dot - key);
    if (nl >= sizeof ns) return cl_error_set(CL_EINVAL, "unknown parameter namespace in '%s'", key);
    memcpy(ns, key, nl);
    ns[nl] = '\0';
    const char *name = dot + 1;
    cl_params *target = NULL;
    if (!strcmp(ns, "model") && !strcmp(name, "net")) return set_net(c, value);
    if (!strcmp(ns, "model")) target = c->model;
    else if (!strcmp(ns, "train")) target = c->train;
    else if (!strcmp(ns, "suite")) target = c->suite_p;
    else if (!strcmp(ns, c->strategy)) target = c->strat;
    if (target) {
        int rc = cl_params_set(target, name, value);
        return rc == CL_ENOTFOUND ? CL_EINVAL : rc;
    }
    /* Another strategy's parameter: validate it, then leave it for that run. */
    const cl_strategy_ops *other;
    if (cl_strategy_find(&other, ns) != 0)
        return cl_error_set(CL_EINVAL,
                            "unknown parameter namespace '%s' in '%s' (valid: model, train, "
                            "suite, or a strategy name)", ns, key);
    cl_params *tmp;
    int rc = cl_params_new(&tmp, other->name, other->params);
    if (!rc) rc = cl_params_set(tmp, name, value);
    cl_params_free(tmp);
    return rc == CL_ENOTFOUND ? CL_EINVAL : rc;
}

int cl_config_set_arg(cl_config *c, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return cl_error_set(CL_EINVAL, "--set '%s': expected NAMESPACE.NAME=VALUE", arg);
    char key[128];
    size_t kl = (size_t)(eq - arg);
    if (kl >= sizeof key) return cl_error_set(CL_EINVAL, "--set '%s': name too long", arg);
    memcpy(key, arg, kl);
    key[kl] = '\0';
    return cl_config_set(c, key, eq + 1);
}

int cl_config_validate(const cl_config *c)
{
    if (cl_params_is_set(c->train, "steps") && cl_params_is_set(c->train, "epochs") &&
        cl_params_int(c->train, "epochs") > 0)
        return cl_error_set(CL_EINVAL, "set train.steps or train.epochs, not both");
    if (c->threads < 1 || c->threads > 256)
        return cl_error_set(CL_EINVAL, "threads: %d is not in [1, 256]", c->threads);
    return 0;
}

static void yaml_section(cl_strbuf *b, const char *head, const char *name, const cl_params *p)
{
    if (head) cl_strbuf_printf(b, "%s:\n", head);
    if (name) cl_strbuf_printf(b, "  name: %s\n", name);
    for (int i = 0; i < cl_params_count(p); i++) {
        const cl_param_spec *s = cl_params_spec_at(p, i);
        const char *v = cl_params_text_at(p, i);
        if (s->type == CL_PARAM_INTS) cl_strbuf_printf(b, "  %s: [%s]\n", s->name, v);
        else cl_strbuf_printf(b, "  %s: %s\n", s->name, v);
    }
}

/* The code point of the UTF-8 sequence at s, its length in *len; 0 for an
 * invalid sequence. */
static unsigned long utf8_cp(const unsigned char *s, size_t *len)
{
    unsigned long cp;
    size_t n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || s[0] >= 0xF5) return 0;
    cp = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const unsigned long least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    *len = n;
    return cp;
}

/* What a YAML reader takes literally inside quotes: printable, and not one
 * of the line breaks (NEL, LS, PS) that it would fold into a space. */
static int yaml_literal_cp(unsigned long cp)
{
    return (cp >= 0x20 && cp < 0x7F) || (cp >= 0xA0 && cp <= 0xD7FF && cp != 0x2028 &&
                                         cp != 0x2029) ||
           (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* A path as a YAML scalar that reads back as the same bytes: single-quoted
 * (only the quote is doubled) when every character is literal there, else
 * double-quoted with escapes for control bytes and breaks. Bytes that are
 * not UTF-8 cannot be written in YAML; they are kept, and reading the file
 * back then fails with the reader's message. */
static void yaml_path(cl_strbuf *b, const char *path)
{
    const unsigned char *s = (const unsigned char *)path;
    int plain = 1;
    for (size_t i = 0, n = 1; plain && s[i]; i += n) {
        n = 1;
        plain = s[i] < 0x80 ? yaml_literal_cp(s[i]) : yaml_literal_cp(utf8_cp(s + i, &n));
    }
    if (plain) {
        cl_strbuf_puts(b, "'");
        for (const char *p = path; *p; p++) cl_strbuf_printf(b, *p == '\'' ? "''" : "%c", *p);
        cl_strbuf_puts(b, "'");
        return;
    }
    cl_strbuf_puts(b, "\"");
    for (size_t i = 0, n = 1; s[i]; i += n) {
        unsigned long cp = s[i];
        n = 1;
        if (cp >= 0x80 && !(cp = utf8_cp(s + i, &n))) cl_strbuf_printf(b, "%c", s[i]);
        else if (cp == '"' || cp == '\\') cl_strbuf_printf(b, "\\%c", (char)cp);
        else if (yaml_literal_cp(cp)) cl_strbuf_printf(b, "%.*s", (int)n, (const char *)s + i);
        else if (cp <= 0xFF) cl_strbuf_printf(b, "\\x%02lx", cp);
        else cl_strbuf_printf(b, "\\u%04lx", cp); /* none above 0xFF is past 0xFFFF */
    }
    cl_strbuf_puts(b, "\"");
}

void cl_config_yaml(const cl_config *c, cl_strbuf *b)
{
    cl_strbuf_puts(b, "# clbench effective config: `clbench run` on this file repeats the run\n");
    cl_strbuf_printf(b, "seed: %lu\n", c->seed);
    cl_strbuf_printf(b, "scenario: %s\n", cl_scenario_name(c->scenario));
    cl_strbuf_printf(b, "threads: %d\n", c->threads);
    if (c->data_dir[0]) {
        cl_strbuf_puts(b, "data_dir: ");
        yaml_path(b, c->data_dir);
        cl_strbuf_puts(b, "\n");
    }
    yaml_section(b, "suite", c->suite, c->suite_p);
    yaml_section(b, "strategy", c->strategy, c->strat);
    cl_strbuf_printf(b, "model:\n  net: %s\n", c->net->name);
    yaml_section(b, NULL, NULL, c->model);
    yaml_section(b, "train", NULL, c->train);
}

uint64_t cl_config_hash(const cl_config *c)
{
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_config_yaml(c, &b);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < b.len; i++) {
        h ^= (unsigned char)b.s[i];
        h *= 0x100000001b3ULL;
    }
    cl_strbuf_release(&b);
    return h;
}

void cl_config_run_id(const cl_config *c, char *buf, size_t n)
{
    snprintf(buf, n, "%s-%s-%s-s%lu-%08llx", c->suite, cl_scenario_name(c->scenario),
             c->strategy, c->seed, (unsigned long long)(cl_config_hash(c) & 0xffffffffULL));
}

void cl_config_optim(const cl_config *c, cl_optim_config *o)
{
    const cl_params *t = c->train;
    const char *kind = cl_params_choice(t, "optimizer");
    o->kind = !strcmp(kind, "sgd") ? CL_OPTIM_SGD : !strcmp(kind, "adamw") ? CL_OPTIM_ADAMW
                                                                           : CL_OPTIM_ADAM;
    o->lr = (float)cl_params_float(t, "lr");
    o->momentum = (float)cl_params_float(t, "momentum");
    o->beta1 = (float)cl_params_float(t, "beta1");
    o->beta2 = (float)cl_params_float(t, "beta2");
    o->eps = (float)cl_params_float(t, "eps");
    o->weight_decay = (float)cl_params_float(t, "weight_decay");
}

void cl_config_schedule(const cl_config *c, long steps_per_task, long n_tasks, cl_schedule *out)
{
    const cl_params *t = c->train;
    out->kind = (cl_schedule_kind)cl_schedule_parse(cl_params_choice(t, "schedule"));
    out->base = (float)cl_params_float(t, "lr");
    out->warmup = cl_params_int(t, "warmup");
    out->min_frac = cl_params_float(t, "min_lr");
    out->steps_per_task = steps_per_task;
    out->n_tasks = n_tasks;
}
