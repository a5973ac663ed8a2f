/* Replays every stored fuzz input without libFuzzer: the seed corpora
 * (tests/fuzz/corpus/<target>/) and the inputs that once broke a target
 * (tests/fuzz/regressions/<target>/) go through the same entry functions
 * that `make fuzz` runs, with the same invariants. The target sources are
 * included here, not compiled on their own, because the Makefile links
 * every tests/NAME.c into the unit binary and they must not define
 * LLVMFuzzerTestOneInput there. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_corpus.c"
#include "fuzz/fuzz_idx.c"
#include "fuzz/fuzz_json.c"
#include "fuzz/fuzz_runset.c"
#include "fuzz/fuzz_set.c"
#include "fuzz/fuzz_yaml.c"

TestSuite(fuzz_regressions, .timeout = 60);

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_hidden(const struct dirent *e) { return e->d_name[0] != '.'; }

/* Runs fn on every file of dir; returns how many there were (0 if the
 * folder does not exist). Each input must keep the target's invariants
 * (the fuzz function prints which one broke). */
static int replay_dir(const char *dir, fuzz_fn fn, int *accepted)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, not_hidden, by_name);
    if (n < 0) return 0;
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
        free(ents[i]);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "cannot open %s", path);
        uint8_t *buf = malloc(1 << 20);
        cr_assert_not_null(buf);
        size_t len = fread(buf, 1, 1 << 20, f);
        cr_assert(feof(f), "%s is larger than 1 MiB", path);
        fclose(f);
        /* An exact-size copy, so ASan builds catch a read past the input. */
        uint8_t *data = malloc(len ? len : 1);
        cr_assert_not_null(data);
        memcpy(data, buf, len);
        free(buf);
        int rc = fn(data, len);
        free(data);
        cr_expect_geq(rc, 0, "%s breaks an invariant (see stderr)", path);
        *accepted += rc == 0;
    }
    free(ents);
    return n;
}

/* The seed corpus must exist and hold inputs the target accepts (else it
 * would not steer the fuzzer anywhere useful); regressions are optional. */
static void replay(const char *name, fuzz_fn fn)
{
    char dir[256];
    int accepted = 0;
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", name);
    int seeds = replay_dir(dir, fn, &accepted);
    cr_assert_gt(seeds, 0, "%s is missing or empty", dir);
    cr_expect_gt(accepted, 0, "no input in %s is accepted", dir);
    snprintf(dir, sizeof dir, "tests/fuzz/regressions/%s", name);
    replay_dir(dir, fn, &accepted);
}

Test(fuzz_regressions, yaml) { replay("yaml", cl_fuzz_yaml); }
Test(fuzz_regressions, set) { replay("set", cl_fuzz_set); }
Test(fuzz_regressions, idx) { replay("idx", cl_fuzz_idx); }
Test(fuzz_regressions, corpus) { replay("corpus", cl_fuzz_corpus); }
Test(fuzz_regressions, json) { replay("json", cl_fuzz_json); }
Test(fuzz_regressions, runset) { replay("runset", cl_fuzz_runset); }

/* The checks themselves must be able to fail: a message with a newline, a
 * wrong code or a wrong prefix is reported, not accepted. */
Test(fuzz_regressions, invariant_checks_can_fail)
{
    cr_assert_not_null(freopen("/dev/null", "w", stderr)); /* the checks' own complaints */
    cl_error_set(CL_EINVAL, "x.yaml:1:1: fine");
    cr_assert_eq(cl_fuzz_rejected(CL_EINVAL, "x.yaml:", CL_EINVAL, CL_EINVAL), 1);
    cr_assert_eq(cl_fuzz_rejected(CL_EINVAL, "y.yaml:", CL_EINVAL, CL_EINVAL), -1);
    cr_assert_eq(cl_fuzz_rejected(CL_EIO, NULL, CL_EINVAL, CL_EDATA), -1);
    cl_error_set(CL_EINVAL, "%s", "");
    cr_assert_eq(cl_fuzz_rejected(CL_EINVAL, NULL, CL_EINVAL, CL_EINVAL), -1);
}

/* The bugs the fuzzers found, pinned by behaviour as well as by input. */
Test(fuzz_regressions, messages_stay_one_line)
{
    cl_error_set(CL_EINVAL, "value '%s' and '%s'", "a\nb", "\x1b[31m\x7f");
    cr_assert_str_eq(cl_error_last(), "value 'a\\nb' and '\\x1b[31m\\x7f'");
    /* Re-wrapping a message (as callers that add a position do) keeps it. */
    char prev[1024];
    snprintf(prev, sizeof prev, "%s", cl_error_last());
    cl_error_set(CL_EINVAL, "f:1:1: %s", prev);
    cr_assert_str_eq(cl_error_last(), "f:1:1: value 'a\\nb' and '\\x1b[31m\\x7f'");
}

/* A seed outside unsigned long (or not whole) was cast anyway: undefined
 * behaviour, silently a garbage seed without a sanitizer. */
Test(fuzz_regressions, runset_rejects_seeds_it_cannot_hold)
{
    static const char *const files[] = {"tests/fuzz/regressions/runset/seed-1e300-cast.json",
                                        "tests/fuzz/regressions/runset/seed-fraction.json"};
    for (int i = 0; i < 2; i++) {
        cl_runset *s = NULL;
        char *paths[] = {(char *)files[i]};
        cr_assert_eq(cl_runset_load(&s, paths, 1), CL_EDATA, "%s loaded", files[i]);
        cr_assert_null(s);
        cr_assert_not_null(strstr(cl_error_last(), "seed"), "%s", cl_error_last());
    }
}

/* A dataset name is free text after "split-" etc., and went unquoted into
 * config.yaml and into the run id, which names a folder. */
Test(fuzz_regressions, suite_names_are_folder_and_yaml_safe)
{
    static const char *const bad[] = {"split-a: b", "split-../../x", "permuted-x y", "rotated-#"};
    for (int i = 0; i < 4; i++) {
        cl_config *c = (cl_config *)&c;
        cr_assert_eq(cl_config_new(&c, bad[i], CL_SCENARIO_TASK, "naive", 0), CL_EINVAL, "%s",
                     bad[i]);
        cr_assert_null(c);
        cr_assert_not_null(strstr(cl_error_last(), "letters, digits"), "%s", cl_error_last());
    }
    cl_config *c;
    cr_assert_eq(cl_config_new(&c, "split-my_data.v2", CL_SCENARIO_TASK, "naive", 0), 0, "%s",
                 cl_error_last());
    cl_config_free(c);
}

/* config.yaml wrote data_dir single-quoted, where a newline folds into a
 * space and control bytes are not allowed: the file did not repeat the run. */
Test(fuzz_regressions, effective_config_keeps_any_data_dir)
{
    static const char *const dirs[] = {"/tmp/a\nb", "/x/\x01\t\x1b", "it's \"q\" \\",
                                       "caf\xc3\xa9 \xe2\x80\xa8 \xc2\x85", "/plain/dir"};
    for (int i = 0; i < 5; i++) {
        cl_config *c;
        cr_assert_eq(cl_config_new(&c, "seq-tasks", CL_SCENARIO_CLASS, "naive", 0), 0);
        snprintf(c->data_dir, sizeof c->data_dir, "%s", dirs[i]);
        cl_strbuf b;
        cl_strbuf_init(&b);
        cl_config_yaml(c, &b);
        cl_experiment *e;
        cr_assert_eq(cl_experiment_parse(&e, "config.yaml", b.s, b.len), 0, "%s\n%s",
                     cl_error_last(), b.s);
        cr_assert_str_eq(cl_experiment_cells(e)[0]->data_dir, dirs[i]);
        cl_experiment_free(e);
        cl_strbuf_release(&b);
        cl_config_free(c);
    }
}
