/* The layer check (tests/layers.sh): the tree as committed passes, and a
 * copy with one upward include, one flat clbench header or one .c file
 * left directly in harness/ fails, naming the file, line and layers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "support.h"

TestSuite(layers, .timeout = 60);

Test(layers, the_tree_keeps_to_its_layers)
{
    char dir[256];
    cl_test_tmpdir_new(dir, sizeof dir, "layers");
    cl_test_result r;
    cl_test_sh(&r, dir, "sh tests/layers.sh .");
    cr_assert_eq(r.code, 0, "layer violations:\n%s%s", r.out, r.err);
    cl_test_result_free(&r);
    cl_test_tmpdir_remove(dir);
}

/* Copies the sources into dir/tree, applies `edit` (a shell command run in
 * the copy) and returns the check's result there. */
static void check_edited(cl_test_result *r, const char *dir, const char *edit)
{
    cl_test_result cp;
    cl_test_sh(&cp, dir, "mkdir %s/tree && cp -r harness strategies tasks include %s/tree/ && "
                         "(cd %s/tree && %s)", dir, dir, dir, edit);
    cr_assert_eq(cp.code, 0, "%s", cp.err);
    cl_test_result_free(&cp);
    cl_test_sh(r, dir, "sh tests/layers.sh %s/tree", dir);
}

Test(layers, an_include_from_a_layer_above_fails)
{
    char dir[256];
    cl_test_tmpdir_new(dir, sizeof dir, "layers");
    cl_test_result r;
    /* The numerical core reaching up into the runner. */
    check_edited(&r, dir, "sed -i '1i #include \"clbench/run/runner.h\"' harness/nn/loss.c");
    cr_assert_eq(r.code, 1, "%s%s", r.out, r.err);
    cr_assert_not_null(strstr(r.out, "harness/nn/loss.c:1: layer nn includes clbench/run/runner.h "
                                     "from layer run above it"), "%s", r.out);
    cr_assert_eq(cl_test_count_char(r.out, '\n'), 1, "%s", r.out);
    cl_test_result_free(&r);
    cl_test_tmpdir_remove(dir);
}

Test(layers, a_suite_family_including_a_strategy_fails)
{
    char dir[256];
    cl_test_tmpdir_new(dir, sizeof dir, "layers");
    cl_test_result r;
    check_edited(&r, dir, "echo '#include \"clbench/strategies/strategy.h\"' >> tasks/split.c");
    cr_assert_eq(r.code, 1);
    cr_assert_not_null(strstr(r.out, "layer tasks includes clbench/strategies/strategy.h"), "%s", r.out);
    cl_test_result_free(&r);
    cl_test_tmpdir_remove(dir);
}

Test(layers, a_flat_header_and_a_loose_file_fail)
{
    char dir[256];
    cl_test_tmpdir_new(dir, sizeof dir, "layers");
    cl_test_result r;
    check_edited(&r, dir, "echo '#include \"clbench/error.h\"' >> strategies/naive.c && "
                          "touch harness/loose.c");
    cr_assert_eq(r.code, 1);
    cr_assert_not_null(strstr(r.out, "clbench/error.h is not in a layer folder"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "harness/loose.c: not in a layer folder"), "%s", r.out);
    cl_test_result_free(&r);
    cl_test_tmpdir_remove(dir);
}
