/* Declared parameters (harness/base/params.c): defaults, parsing and validation
 * of every type, error messages, explicit-set tracking, canonical text and
 * deep clones. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/params.h"

TestSuite(params, .timeout = 10);

/* One row of every type; "wide" has an infinite range so only the finiteness
 * check can reject NaN and Inf. */
static const cl_param_spec specs[] = {
    {"n", CL_PARAM_INT, "5", 1, 100, NULL, "an int"},
    {"f", CL_PARAM_FLOAT, "0.25", 0, 1, NULL, "a float"},
    {"wide", CL_PARAM_FLOAT, "-2.5", -INFINITY, INFINITY, NULL, "an unbounded float"},
    {"flag", CL_PARAM_BOOL, "false", 0, 0, NULL, "a bool"},
    {"mode", CL_PARAM_CHOICE, "fast", 0, 0, "fast|slow|exact", "a choice"},
    {"sizes", CL_PARAM_INTS, "400,400", 1, 1000, NULL, "an ints list"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static cl_params *make(void)
{
    cl_params *p = NULL;
    cr_assert_eq(cl_params_new(&p, "t", specs), 0, "%s", cl_error_last());
    cr_assert_not_null(p);
    return p;
}

/* The text of the parameter called name. */
static const char *text_of(const cl_params *p, const char *name)
{
    for (int i = 0; i < cl_params_count(p); i++)
        if (!strcmp(cl_params_spec_at(p, i)->name, name)) return cl_params_text_at(p, i);
    cr_assert_fail("no parameter %s", name);
    return NULL;
}

#define MSG_HAS(needle)                                                         \
    cr_assert_not_null(strstr(cl_error_last(), (needle)),                       \
                       "message '%s' lacks '%s'", cl_error_last(), (needle))

/* set must fail with CL_EINVAL, name t.<name> and the bad value, and say what
 * was expected; the old value and is_set must be untouched. */
static void reject(cl_params *p, const char *name, const char *value, const char *want)
{
    char before[256];
    snprintf(before, sizeof before, "%s", text_of(p, name));
    bool was_set = cl_params_is_set(p, name);
    int rc = cl_params_set(p, name, value);
    cr_assert_eq(rc, CL_EINVAL, "set %s='%s' gave %d, want CL_EINVAL", name, value, rc);
    char qn[64], qv[300];
    snprintf(qn, sizeof qn, "t.%s", name);
    snprintf(qv, sizeof qv, "'%s'", value);
    MSG_HAS(qn);
    MSG_HAS(qv);
    MSG_HAS(want);
    cr_assert_str_eq(text_of(p, name), before, "failed set of %s changed its value", name);
    cr_assert_eq(cl_params_is_set(p, name), was_set, "failed set of %s changed is_set", name);
}

static void accept(cl_params *p, const char *name, const char *value, const char *canon)
{
    int rc = cl_params_set(p, name, value);
    cr_assert_eq(rc, 0, "set %s='%s' gave %d: %s", name, value, rc, cl_error_last());
    cr_assert_str_eq(text_of(p, name), canon, "set %s='%s'", name, value);
    cr_assert(cl_params_is_set(p, name));
}

Test(params, defaults)
{
    cl_params *p = make();
    cr_assert_eq(cl_params_count(p), 6);
    cr_assert_str_eq(cl_params_ns(p), "t");
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(cl_params_spec_at(p, i), &specs[i]);
        cr_assert_not(cl_params_is_set(p, specs[i].name), "%s is_set by default", specs[i].name);
    }
    cr_assert_eq(cl_params_int(p, "n"), 5);
    cr_assert_eq(cl_params_float(p, "f"), 0.25);
    cr_assert_eq(cl_params_float(p, "wide"), -2.5);
    cr_assert_eq(cl_params_bool(p, "flag"), false);
    cr_assert_str_eq(cl_params_choice(p, "mode"), "fast");
    const long *v;
    cr_assert_eq(cl_params_ints(p, "sizes", &v), 2);
    cr_assert_eq(v[0], 400);
    cr_assert_eq(v[1], 400);
    cr_assert_str_eq(text_of(p, "n"), "5");
    cr_assert_str_eq(text_of(p, "f"), "0.25");
    cr_assert_str_eq(text_of(p, "flag"), "false");
    cr_assert_str_eq(text_of(p, "sizes"), "400,400");
    cl_params_free(p);
}

Test(params, empty_table)
{
    static const cl_param_spec none[] = {{NULL, 0, NULL, 0, 0, NULL, NULL}};
    cl_params *p;
    cr_assert_eq(cl_params_new(&p, "e", none), 0);
    cr_assert_eq(cl_params_count(p), 0);
    cr_assert_eq(cl_params_set(p, "x", "1"), CL_ENOTFOUND);
    MSG_HAS("e.x");
    MSG_HAS("(none)");
    cl_params_free(p);
    cl_params_free(NULL);
}

Test(params, parses_int)
{
    cl_params *p = make();
    accept(p, "n", "42", "42");
    cr_assert_eq(cl_params_int(p, "n"), 42);
    accept(p, "n", "1", "1");
    accept(p, "n", "100", "100");
    accept(p, "n", "007", "7");
    cr_assert_eq(cl_params_int(p, "n"), 7);
    cl_params_free(p);
}

Test(params, rejects_bad_int)
{
    cl_params *p = make();
    const char *want = "a whole number in [1, 100]";
    reject(p, "n", "0", want);
    reject(p, "n", "101", want);
    reject(p, "n", "-5", want);
    reject(p, "n", "3x", want);
    reject(p, "n", "1.5", want);
    reject(p, "n", "abc", want);
    reject(p, "n", "", want);
    reject(p, "n", " 5", want);
    reject(p, "n", "0x10", want);
    reject(p, "n", "99999999999999999999999", want);
    cr_assert_eq(cl_params_int(p, "n"), 5);
    cl_params_free(p);
}

Test(params, parses_float)
{
    cl_params *p = make();
    accept(p, "f", "0.1", "0.1");
    cr_assert_eq(cl_params_float(p, "f"), 0.1);
    accept(p, "f", "1e-3", "0.001");
    accept(p, "f", "0", "0");
    accept(p, "f", "1", "1");
    accept(p, "f", ".5", "0.5");
    accept(p, "wide", "-1e300", "-1e+300");
    cr_assert_eq(cl_params_float(p, "wide"), -1e300);
    cl_params_free(p);
}

Test(params, rejects_bad_float)
{
    cl_params *p = make();
    const char *want = "a number in [0, 1]";
    reject(p, "f", "1.5", want);
    reject(p, "f", "-0.1", want);
    reject(p, "f", "0.5x", want);
    reject(p, "f", " 0.5", want);
    reject(p, "f", "abc", want);
    reject(p, "f", "", want);
    /* An infinite range: only the finiteness check stands in the way. */
    reject(p, "wide", "nan", "a number");
    reject(p, "wide", "NaN", "a number");
    reject(p, "wide", "inf", "a number");
    reject(p, "wide", "-inf", "a number");
    reject(p, "wide", "infinity", "a number");
    reject(p, "wide", "1e400", "a number");
    cr_assert_eq(cl_params_float(p, "f"), 0.25);
    cr_assert_eq(cl_params_float(p, "wide"), -2.5);
    cl_params_free(p);
}

Test(params, parses_bool)
{
    cl_params *p = make();
    accept(p, "flag", "yes", "true");
    cr_assert(cl_params_bool(p, "flag"));
    accept(p, "flag", "false", "false");
    cr_assert_not(cl_params_bool(p, "flag"));
    accept(p, "flag", "1", "true");
    accept(p, "flag", "no", "false");
    accept(p, "flag", "TRUE", "true");
    accept(p, "flag", "0", "false");
    reject(p, "flag", "maybe", "true or false");
    reject(p, "flag", "2", "true or false");
    reject(p, "flag", "", "true or false");
    cl_params_free(p);
}

Test(params, parses_choice)
{
    cl_params *p = make();
    accept(p, "mode", "slow", "slow");
    cr_assert_str_eq(cl_params_choice(p, "mode"), "slow");
    accept(p, "mode", "exact", "exact");
    const char *want = "one of fast|slow|exact";
    reject(p, "mode", "medium", want);
    reject(p, "mode", "sl", want);        /* a prefix is not a choice */
    reject(p, "mode", "slower", want);
    reject(p, "mode", "fast|slow", want); /* nor are two of them */
    reject(p, "mode", "", want);
    cr_assert_str_eq(cl_params_choice(p, "mode"), "exact");
    cl_params_free(p);
}

Test(params, parses_ints)
{
    cl_params *p = make();
    accept(p, "sizes", " 400, 400 ", "400,400");
    accept(p, "sizes", "[8, 16, 32]", "8,16,32");
    const long *v;
    cr_assert_eq(cl_params_ints(p, "sizes", &v), 3);
    cr_assert_eq(v[0], 8);
    cr_assert_eq(v[1], 16);
    cr_assert_eq(v[2], 32);
    accept(p, "sizes", "7", "7");
    cr_assert_eq(cl_params_ints(p, "sizes", &v), 1);
    cr_assert_eq(v[0], 7);

    /* Exactly CL_PARAM_MAX_INTS is fine, one more is not. */
    char list[256] = "", canon[256] = "";
    for (int i = 0; i < CL_PARAM_MAX_INTS; i++) {
        char one[16];
        snprintf(one, sizeof one, "%s%d", i ? ", " : "", i + 1);
        strcat(list, one);
        snprintf(one, sizeof one, "%s%d", i ? "," : "", i + 1);
        strcat(canon, one);
    }
    accept(p, "sizes", list, canon);
    cr_assert_eq(cl_params_ints(p, "sizes", &v), CL_PARAM_MAX_INTS);
    cr_assert_eq(v[CL_PARAM_MAX_INTS - 1], CL_PARAM_MAX_INTS);
    strcat(list, ",1");
    reject(p, "sizes", list, "whole numbers in [1, 1000]");
    cr_assert_eq(cl_params_ints(p, "sizes", &v), CL_PARAM_MAX_INTS);
    cl_params_free(p);
}

Test(params, rejects_bad_ints)
{
    cl_params *p = make();
    const char *want = "a comma list of 1-16 whole numbers in [1, 1000]";
    reject(p, "sizes", "", want);
    reject(p, "sizes", ",", want);
    reject(p, "sizes", " ", want);
    reject(p, "sizes", "[]", want);
    reject(p, "sizes", "400,abc", want);
    reject(p, "sizes", "3x", want);
    reject(p, "sizes", "400,0", want);
    reject(p, "sizes", "1001", want);
    reject(p, "sizes", "1.5,2", want);
    reject(p, "sizes", "8,,8", want);
    reject(p, "sizes", "8,", want);
    reject(p, "sizes", ",8", want);
    reject(p, "sizes", "[8,8", want);
    const long *v;
    cr_assert_eq(cl_params_ints(p, "sizes", &v), 2);
    cr_assert_eq(v[0], 400);
    cl_params_free(p);
}

Test(params, rejects_overlong_value)
{
    cl_params *p = make();
    char big[400];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(cl_params_set(p, "n", big), CL_EINVAL);
    MSG_HAS("t.n");
    cr_assert_eq(cl_params_int(p, "n"), 5);
    cl_params_free(p);
}

Test(params, unknown_name)
{
    cl_params *p = make();
    cr_assert_eq(cl_params_set(p, "nope", "1"), CL_ENOTFOUND);
    MSG_HAS("t.nope");
    MSG_HAS("n, f, wide, flag, mode, sizes");
    /* Names are exact: no prefix or case folding. */
    cr_assert_eq(cl_params_set(p, "N", "1"), CL_ENOTFOUND);
    cr_assert_eq(cl_params_set(p, "size", "1"), CL_ENOTFOUND);
    cl_params_free(p);
}

Test(params, is_set_tracks_explicit_sets)
{
    cl_params *p = make();
    cr_assert_not(cl_params_is_set(p, "n"));
    /* Setting the default value explicitly still counts. */
    cr_assert_eq(cl_params_set(p, "n", "5"), 0);
    cr_assert(cl_params_is_set(p, "n"));
    cr_assert_not(cl_params_is_set(p, "f"));
    cr_assert_not(cl_params_is_set(p, "sizes"));
    /* A failed set does not mark it. */
    cr_assert_eq(cl_params_set(p, "f", "2"), CL_EINVAL);
    cr_assert_not(cl_params_is_set(p, "f"));
    cr_assert_eq(cl_params_set(p, "sizes", "1,2"), 0);
    cr_assert(cl_params_is_set(p, "sizes"));
    /* and a later failed set does not unmark it. */
    cr_assert_eq(cl_params_set(p, "sizes", "0"), CL_EINVAL);
    cr_assert(cl_params_is_set(p, "sizes"));
    cl_params_free(p);
}

Test(params, clone_is_deep)
{
    cl_params *p = make();
    cr_assert_eq(cl_params_set(p, "n", "9"), 0);
    cr_assert_eq(cl_params_set(p, "sizes", "1,2,3"), 0);
    cl_params *q = NULL;
    cr_assert_eq(cl_params_clone(&q, p), 0, "%s", cl_error_last());
    cr_assert_not_null(q);
    cr_assert_neq(q, p);
    cr_assert_str_eq(cl_params_ns(q), "t");
    cr_assert_eq(cl_params_int(q, "n"), 9);
    cr_assert(cl_params_is_set(q, "n"));
    cr_assert_not(cl_params_is_set(q, "f"));
    cr_assert_str_eq(text_of(q, "sizes"), "1,2,3");

    cr_assert_eq(cl_params_set(q, "n", "11"), 0);
    cr_assert_eq(cl_params_set(q, "f", "0.75"), 0);
    cr_assert_eq(cl_params_set(q, "sizes", "4"), 0);
    cr_assert_eq(cl_params_set(q, "mode", "slow"), 0);
    cr_assert_eq(cl_params_int(p, "n"), 9);
    cr_assert_eq(cl_params_float(p, "f"), 0.25);
    cr_assert_not(cl_params_is_set(p, "f"));
    cr_assert_str_eq(cl_params_choice(p, "mode"), "fast");
    const long *v;
    cr_assert_eq(cl_params_ints(p, "sizes", &v), 3);
    cr_assert_eq(v[2], 3);
    cr_assert_str_eq(text_of(p, "sizes"), "1,2,3");

    /* And the other way round. */
    cr_assert_eq(cl_params_set(p, "n", "1"), 0);
    cr_assert_eq(cl_params_int(q, "n"), 11);
    cl_params_free(p);
    cr_assert_eq(cl_params_int(q, "n"), 11); /* q survives p */
    cl_params_free(q);
}

Test(params, describe_and_names)
{
    char buf[160];
    cl_param_spec_describe(&specs[0], buf, sizeof buf);
    cr_assert_str_eq(buf, "a whole number in [1, 100]");
    cl_param_spec_describe(&specs[1], buf, sizeof buf);
    cr_assert_str_eq(buf, "a number in [0, 1]");
    cl_param_spec_describe(&specs[3], buf, sizeof buf);
    cr_assert_str_eq(buf, "true or false");
    cl_param_spec_describe(&specs[4], buf, sizeof buf);
    cr_assert_str_eq(buf, "one of fast|slow|exact");
    cl_param_spec_describe(&specs[5], buf, sizeof buf);
    cr_assert_str_eq(buf, "a comma list of 1-16 whole numbers in [1, 1000]");

    char names[128];
    cl_param_specs_names(specs, names, sizeof names);
    cr_assert_str_eq(names, "n, f, wide, flag, mode, sizes");
    cl_param_specs_names(NULL, names, sizeof names);
    cr_assert_str_eq(names, "(none)");
    /* A short buffer gives a terminated prefix of the full list. */
    memset(names, 'x', sizeof names);
    cl_param_specs_names(specs, names, 10);
    cr_assert_lt(strlen(names), 10);
    cr_assert_eq(strncmp(names, "n, f, wide, flag, mode, sizes", strlen(names)), 0, "%s", names);
    cr_assert_geq(strlen(names), 4, "%s", names);
}
