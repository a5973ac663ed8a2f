/* The effective run configuration (harness/run/config.c): construction and its
 * errors, namespaced sets, --set splitting, cross-parameter validation, the
 * YAML text, run ids and deep clones. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/run/config.h"
#include "clbench/base/error.h"
#include "clbench/base/strbuf.h"

TestSuite(config, .timeout = 10);

#define MSG_HAS(needle)                                                         \
    cr_assert_not_null(strstr(cl_error_last(), (needle)),                       \
                       "message '%s' lacks '%s'", cl_error_last(), (needle))

static cl_config *make(cl_scenario sc, unsigned long seed)
{
    cl_config *c = NULL;
    cr_assert_eq(cl_config_new(&c, "seq-tasks", sc, "naive", seed), 0, "%s", cl_error_last());
    cr_assert_not_null(c);
    return c;
}

/* The YAML text, malloc'd. */
static char *yaml(const cl_config *c)
{
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_config_yaml(c, &b);
    cr_assert_eq(cl_strbuf_status(&b), 0);
    char *s = strdup(b.s ? b.s : "");
    cl_strbuf_release(&b);
    cr_assert_not_null(s);
    return s;
}

static void yaml_has(const cl_config *c, const char *needle)
{
    char *y = yaml(c);
    int ok = strstr(y, needle) != NULL;
    if (!ok) cr_log_error("YAML:\n%s", y);
    free(y);
    cr_assert(ok, "YAML lacks '%s'", needle);
}

Test(config, defaults)
{
    cl_config *c = make(CL_SCENARIO_CLASS, 7);
    cr_assert_str_eq(c->suite, "seq-tasks");
    cr_assert_str_eq(c->strategy, "naive");
    cr_assert_eq(c->scenario, CL_SCENARIO_CLASS);
    cr_assert_eq(c->seed, 7);
    cr_assert_eq(c->threads, 1);
    cr_assert_str_eq(c->data_dir, "");
    cr_assert_not_null(c->family);
    cr_assert_str_eq(c->family->name, "seq-tasks");
    cr_assert_not_null(c->ops);
    cr_assert_str_eq(c->ops->name, "naive");
    cr_assert_str_eq(cl_params_ns(c->model), "model");
    cr_assert_str_eq(cl_params_ns(c->train), "train");
    cr_assert_str_eq(cl_params_ns(c->suite_p), "suite");
    cr_assert_str_eq(cl_params_ns(c->strat), "naive");

    const long *h;
    cr_assert_eq(cl_params_ints(c->model, "hidden", &h), 2);
    cr_assert_eq(h[0], 400);
    cr_assert_eq(h[1], 400);
    cr_assert_eq(cl_params_float(c->train, "lr"), 0.001);
    cr_assert_eq(cl_params_int(c->train, "steps"), 300);
    cr_assert_eq(cl_params_int(c->train, "epochs"), 0);
    cr_assert_str_eq(cl_params_choice(c->train, "optimizer"), "adam");
    cr_assert_eq(cl_params_int(c->suite_p, "tasks"), 5);
    cr_assert_not(cl_params_is_set(c->train, "steps"));
    cr_assert_eq(cl_config_validate(c), 0, "%s", cl_error_last());

    cl_optim_config o;
    cl_config_optim(c, &o);
    cr_assert_eq(o.kind, CL_OPTIM_ADAM);
    cr_assert_float_eq(o.lr, 0.001f, 1e-9);
    cr_assert_float_eq(o.beta2, 0.999f, 1e-9);
    cl_config_free(c);
    cl_config_free(NULL);
}

Test(config, every_scenario)
{
    for (int s = CL_SCENARIO_CLASS; s <= CL_SCENARIO_DOMAIN; s++) {
        cl_config *c = make((cl_scenario)s, 0);
        cr_assert_eq(c->scenario, (cl_scenario)s);
        cl_config_free(c);
    }
}

Test(config, unknown_suite)
{
    cl_config *c = (cl_config *)&c; /* must be overwritten with NULL */
    cr_assert_eq(cl_config_new(&c, "nosuch-suite", CL_SCENARIO_CLASS, "naive", 0), CL_EINVAL);
    cr_assert_null(c);
    MSG_HAS("nosuch-suite");
    MSG_HAS("seq-tasks");
}

Test(config, unknown_strategy)
{
    cl_config *c = (cl_config *)&c;
    cr_assert_eq(cl_config_new(&c, "seq-tasks", CL_SCENARIO_CLASS, "nope", 0), CL_EINVAL);
    cr_assert_null(c);
    MSG_HAS("'nope'");
    MSG_HAS("naive");
    /* Strategy names are exact. */
    cr_assert_eq(cl_config_new(&c, "seq-tasks", CL_SCENARIO_CLASS, "Naive", 0), CL_EINVAL);
    cr_assert_eq(cl_config_new(&c, "seq-tasks", CL_SCENARIO_CLASS, "", 0), CL_EINVAL);
}

Test(config, set_each_namespace)
{
    cl_config *c = make(CL_SCENARIO_CLASS, 0);
    const long *h;
    cr_assert_eq(cl_config_set(c, "model.hidden", "100, 50"), 0, "%s", cl_error_last());
    cr_assert_eq(cl_params_ints(c->model, "hidden", &h), 2);
    cr_assert_eq(h[0], 100);
    cr_assert_eq(h[1], 50);

    cr_assert_eq(cl_config_set(c, "train.lr", "0.01"), 0, "%s", cl_error_last());
    cr_assert_eq(cl_params_float(c->train, "lr"), 0.01);
    cr_assert(cl_params_is_set(c->train, "lr"));
    cr_assert_eq(cl_config_set(c, "train.optimizer", "sgd"), 0, "%s", cl_error_last());
    cl_optim_config o;
    cl_config_optim(c, &o);
    cr_assert_eq(o.kind, CL_OPTIM_SGD);
    cr_assert_float_eq(o.lr, 0.01f, 1e-9);

    cr_assert_eq(cl_config_set(c, "suite.tasks", "3"), 0, "%s", cl_error_last());
    cr_assert_eq(cl_params_int(c->suite_p, "tasks"), 3);

    /* naive declares no parameters: its namespace exists but has no names. */
    cr_assert_eq(cl_config_set(c, "naive.lambda", "1"), CL_EINVAL);
    MSG_HAS("naive.lambda");

    /* Unknown names are input errors (CL_EINVAL, not CL_ENOTFOUND). */
    cr_assert_eq(cl_config_set(c, "train.nosuch", "1"), CL_EINVAL);
    MSG_HAS("train.nosuch");
    MSG_HAS("lr");
    cr_assert_eq(cl_config_set(c, "model.nosuch", "1"), CL_EINVAL);
    cr_assert_eq(cl_config_set(c, "suite.nosuch", "1"), CL_EINVAL);
    MSG_HAS("suite.nosuch");
    MSG_HAS("tasks");

    /* Bad values leave the old one. */
    cr_assert_eq(cl_config_set(c, "train.lr", "abc"), CL_EINVAL);
    MSG_HAS("train.lr");
    MSG_HAS("'abc'");
    cr_assert_eq(cl_params_float(c->train, "lr"), 0.01);
    cr_assert_eq(cl_config_set(c, "suite.tasks", "0"), CL_EINVAL);
    MSG_HAS("suite.tasks");
    cr_assert_eq(cl_params_int(c->suite_p, "tasks"), 3);

    /* Unknown namespace. */
    cr_assert_eq(cl_config_set(c, "nosuch.x", "1"), CL_EINVAL);
    MSG_HAS("'nosuch'");
    MSG_HAS("model, train");
    cl_config_free(c);
}

Test(config, key_needs_namespace)
{
    cl_config *c = make(CL_SCENARIO_CLASS, 0);
    const char *bad[] = {"lr", ".lr", "train.", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(cl_config_set(c, bad[i], "0.5"), CL_EINVAL, "key '%s' accepted", bad[i]);
        MSG_HAS("namespace");
    }
    cr_assert_eq(cl_params_float(c->train, "lr"), 0.001);
    cr_assert_not(cl_params_is_set(c->train, "lr"));
    cl_config_free(c);
}

Test(config, set_arg_splits_at_first_equals)
{
    cl_config *c = make(CL_SCENARIO_CLASS, 0);
    cr_assert_eq(cl_config_set_arg(c, "train.lr=0.5"), 0, "%s", cl_error_last());
    cr_assert_eq(cl_params_float(c->train, "lr"), 0.5);
    cr_assert_eq(cl_config_set_arg(c, "model.hidden=8,8,8"), 0, "%s", cl_error_last());
    const long *h;
    cr_assert_eq(cl_params_ints(c->model, "hidden", &h), 3);

    /* The key ends at the first '=', the rest (with '=') is the value. */
    cr_assert_eq(cl_config_set_arg(c, "train.lr==0.25"), CL_EINVAL);
    MSG_HAS("train.lr");
    MSG_HAS("'=0.25'");
    cr_assert_eq(cl_config_set_arg(c, "train.lr=0.25=1"), CL_EINVAL);
    MSG_HAS("'0.25=1'");
    cr_assert_eq(cl_params_float(c->train, "lr"), 0.5);

    cr_assert_eq(cl_config_set_arg(c, "=x"), CL_EINVAL);
    MSG_HAS("NAMESPACE.NAME=VALUE");
    cr_assert_eq(cl_config_set_arg(c, "noequals"), CL_EINVAL);
    MSG_HAS("noequals");
    MSG_HAS("NAMESPACE.NAME=VALUE");
    cr_assert_eq(cl_config_set_arg(c, ""), CL_EINVAL);
    cr_assert_eq(cl_config_set_arg(c, "lr=0.1"), CL_EINVAL);
    MSG_HAS("namespace");
    cr_assert_eq(cl_config_set_arg(c, "train.lr="), CL_EINVAL);
    MSG_HAS("train.lr");
    cr_assert_eq(cl_params_float(c->train, "lr"), 0.5);

    char longkey[300];
    memset(longkey, 'k', sizeof longkey);
    memcpy(longkey, "train.", 6);
    snprintf(longkey + 250, 50, "=1");
    cr_assert_eq(cl_config_set_arg(c, longkey), CL_EINVAL);
    cl_config_free(c);
}

Test(config, validate_steps_and_epochs)
{
    cl_config *c = make(CL_SCENARIO_CLASS, 0);
    cr_assert_eq(cl_config_validate(c), 0);
    cr_assert_eq(cl_config_set(c, "train.steps", "10"), 0);
    cr_assert_eq(cl_config_validate(c), 0, "%s", cl_error_last());
    cr_assert_eq(cl_config_set(c, "train.epochs", "2"), 0);
    cr_assert_eq(cl_config_validate(c), CL_EINVAL);
    MSG_HAS("train.steps");
    MSG_HAS("train.epochs");
    /* epochs 0 means "use steps", so it does not conflict. */
    cr_assert_eq(cl_config_set(c, "train.epochs", "0"), 0);
    cr_assert_eq(cl_config_validate(c), 0, "%s", cl_error_last());
    cl_config_free(c);

    c = make(CL_SCENARIO_CLASS, 0);
    cr_assert_eq(cl_config_set(c, "train.epochs", "3"), 0);
    cr_assert_eq(cl_config_validate(c), 0, "%s", cl_error_last());
    /* Setting steps to its default value explicitly still conflicts. */
    cr_assert_eq(cl_config_set(c, "train.steps", "300"), 0);
    cr_assert_eq(cl_config_validate(c), CL_EINVAL);
    cl_config_free(c);
}

Test(config, validate_threads)
{
    cl_config *c = make(CL_SCENARIO_CLASS, 0);
    c->threads = 0;
    cr_assert_eq(cl_config_validate(c), CL_EINVAL);
    MSG_HAS("threads");
    c->threads = 257;
    cr_assert_eq(cl_config_validate(c), CL_EINVAL);
    c->threads = 256;
    cr_assert_eq(cl_config_validate(c), 0);
    cl_config_free(c);
}

Test(config, yaml_text)
{
    cl_config *c = make(CL_SCENARIO_TASK, 42);
    cr_assert_eq(cl_config_set(c, "train.lr", "0.01"), 0);
    cr_assert_eq(cl_config_set(c, "model.hidden", " 64, 32 "), 0);
    cr_assert_eq(cl_config_set(c, "suite.tasks", "3"), 0);
    cr_assert_eq(cl_config_set(c, "train.reset_optim", "no"), 0);
    char *y = yaml(c);
    cr_assert_eq(strncmp(y, "# ", 2), 0, "%s", y);
    cr_assert_eq(y[strlen(y) - 1], '\n');
    free(y);
    yaml_has(c, "\nseed: 42\n");
    yaml_has(c, "\nscenario: task\n");
    yaml_has(c, "\nthreads: 1\n");
    yaml_has(c, "\nsuite:\n  name: seq-tasks\n");
    yaml_has(c, "\n  tasks: 3\n");
    yaml_has(c, "\nstrategy:\n  name: naive\n");
    yaml_has(c, "\nmodel:\n  net: mlp\n  hidden: [64,32]\n");
    yaml_has(c, "\ntrain:\n  optimizer: adam\n  lr: 0.01\n");
    yaml_has(c, "\n  reset_optim: false\n");
    yaml_has(c, "\n  steps: 300\n");
    /* Without a data dir there is no data_dir key; with one it is quoted. */
    y = yaml(c);
    cr_assert_null(strstr(y, "data_dir"));
    free(y);
    snprintf(c->data_dir, sizeof c->data_dir, "/tmp/data");
    yaml_has(c, "\ndata_dir: '/tmp/data'\n");
    cl_config_free(c);
}

/* Checks suite-scenario-strategy-s<seed>-<8 lowercase hex>. */
static void check_id_format(const char *id, const char *prefix)
{
    size_t pl = strlen(prefix);
    cr_assert_eq(strncmp(id, prefix, pl), 0, "id '%s' does not start with '%s'", id, prefix);
    cr_assert_eq(strlen(id), pl + 8, "id '%s'", id);
    for (size_t i = pl; i < pl + 8; i++)
        cr_assert(isxdigit((unsigned char)id[i]) && !isupper((unsigned char)id[i]), "id '%s'", id);
}

Test(config, run_id)
{
    cl_config *a = make(CL_SCENARIO_CLASS, 3), *b = make(CL_SCENARIO_CLASS, 3);
    char ida[256], idb[256];
    cl_config_run_id(a, ida, sizeof ida);
    cl_config_run_id(b, idb, sizeof idb);
    check_id_format(ida, "seq-tasks-class-naive-s3-");
    cr_assert_str_eq(ida, idb, "identical configs differ");
    cr_assert_eq(cl_config_hash(a), cl_config_hash(b));
    /* The hex is the low 32 bits of the hash. */
    char hex[16];
    snprintf(hex, sizeof hex, "%08llx", (unsigned long long)(cl_config_hash(a) & 0xffffffffULL));
    cr_assert_str_eq(ida + strlen(ida) - 8, hex);

    /* Same settings reached in another order: still the same id. */
    cr_assert_eq(cl_config_set(a, "train.lr", "0.01"), 0);
    cr_assert_eq(cl_config_set(a, "suite.tasks", "4"), 0);
    cr_assert_eq(cl_config_set(b, "suite.tasks", "4"), 0);
    cr_assert_eq(cl_config_set(b, "train.lr", "1e-2"), 0);
    cl_config_run_id(a, ida, sizeof ida);
    cl_config_run_id(b, idb, sizeof idb);
    cr_assert_str_eq(ida, idb);

    /* One parameter changes it. */
    cr_assert_eq(cl_config_set(b, "train.lr", "0.02"), 0);
    cl_config_run_id(b, idb, sizeof idb);
    check_id_format(idb, "seq-tasks-class-naive-s3-");
    cr_assert_str_neq(ida, idb, "changing train.lr kept id %s", ida);
    cr_assert_neq(cl_config_hash(a), cl_config_hash(b));
    cr_assert_eq(cl_config_set(b, "train.lr", "0.01"), 0);
    cl_config_run_id(b, idb, sizeof idb);
    cr_assert_str_eq(ida, idb);
    cr_assert_eq(cl_config_set(b, "model.hidden", "400,401"), 0);
    cl_config_run_id(b, idb, sizeof idb);
    cr_assert_str_neq(ida, idb);
    cl_config_free(a);
    cl_config_free(b);

    /* Seed and scenario appear in the id. */
    cl_config *d = make(CL_SCENARIO_DOMAIN, 12345);
    char idd[256];
    cl_config_run_id(d, idd, sizeof idd);
    check_id_format(idd, "seq-tasks-domain-naive-s12345-");
    cl_config_free(d);
}

Test(config, clone_is_deep)
{
    cl_config *a = make(CL_SCENARIO_TASK, 5);
    cr_assert_eq(cl_config_set(a, "suite.tasks", "4"), 0);
    cr_assert_eq(cl_config_set(a, "model.hidden", "16,16"), 0);
    a->threads = 3;
    cl_config *b = NULL;
    cr_assert_eq(cl_config_clone(&b, a), 0, "%s", cl_error_last());
    cr_assert_not_null(b);
    cr_assert_neq(b->train, a->train);
    cr_assert_neq(b->model, a->model);
    cr_assert_neq(b->suite_p, a->suite_p);
    cr_assert_neq(b->strat, a->strat);
    cr_assert_str_eq(b->suite, "seq-tasks");
    cr_assert_str_eq(b->strategy, "naive");
    cr_assert_eq(b->scenario, CL_SCENARIO_TASK);
    cr_assert_eq(b->seed, 5);
    cr_assert_eq(b->threads, 3);
    cr_assert_eq(b->ops, a->ops);
    cr_assert_eq(b->family, a->family);
    cr_assert_eq(cl_params_int(b->suite_p, "tasks"), 4);
    cr_assert(cl_params_is_set(b->suite_p, "tasks"));
    char *ya = yaml(a), *yb = yaml(b);
    cr_assert_str_eq(ya, yb);
    free(ya);
    free(yb);
    char ida[256], idb[256];
    cl_config_run_id(a, ida, sizeof ida);
    cl_config_run_id(b, idb, sizeof idb);
    cr_assert_str_eq(ida, idb);

    cr_assert_eq(cl_config_set(b, "train.lr", "0.5"), 0);
    cr_assert_eq(cl_config_set(b, "suite.tasks", "2"), 0);
    cr_assert_eq(cl_config_set(b, "model.hidden", "8"), 0);
    b->seed = 6;
    cr_assert_eq(cl_params_float(a->train, "lr"), 0.001);
    cr_assert_not(cl_params_is_set(a->train, "lr"));
    cr_assert_eq(cl_params_int(a->suite_p, "tasks"), 4);
    const long *h;
    cr_assert_eq(cl_params_ints(a->model, "hidden", &h), 2);
    cr_assert_eq(h[0], 16);
    cr_assert_eq(a->seed, 5);
    cl_config_run_id(a, idb, sizeof idb);
    cr_assert_str_eq(ida, idb, "setting the clone changed the source's id");

    cl_config_free(a);
    cr_assert_eq(cl_params_int(b->suite_p, "tasks"), 2); /* b survives a */
    cl_config_free(b);
}
