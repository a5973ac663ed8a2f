/* Helpers shared by the Criterion tests: a temporary folder per test, whole
 * files in and out, the clbench binary (CL_TEST_BIN) run through /bin/sh
 * with its exit code and output captured, and small IDX files. A helper
 * that cannot do its job fails the calling test (cr_assert), so callers
 * check only what they test. */
#ifndef CL_TEST_SUPPORT_H
#define CL_TEST_SUPPORT_H

#include <stddef.h>
#include "clbench/tasks/suite.h"

/* The binary under test, a path relative to the repository root. */
#ifndef CL_TEST_BIN
#error "the Makefile defines CL_TEST_BIN for test objects"
#endif

/* ---- temporary folders ---- */

/* Makes a fresh /tmp/clbench-<tag>-XXXXXX into dir (n bytes). */
void cl_test_tmpdir_new(char *dir, size_t n, const char *tag);
/* Removes dir and everything below it; does nothing unless dir is a folder
 * cl_test_tmpdir_new made (so an unset or clobbered name removes nothing). */
void cl_test_tmpdir_remove(const char *dir);

/* ---- files ---- */

/* The whole file, NUL-terminated, its size in *len (len may be NULL); NULL
 * when it cannot be read. Caller frees. */
char *cl_test_read(const char *path, size_t *len);
/* The same, failing the test when the file cannot be read. */
char *cl_test_slurp(const char *path);
/* Writes len bytes (atomically), failing the test when it cannot. */
void cl_test_write(const char *path, const void *data, size_t len);
/* Writes a string. */
void cl_test_spit(const char *path, const char *text);
/* Entries of dir other than . and ..; -1 when dir cannot be opened. */
int cl_test_dir_count(const char *dir);

/* ---- processes ---- */

typedef struct cl_test_result {
    int code;  /* exit code; 128 + signal if killed */
    char *out; /* captured stdout */
    char *err; /* captured stderr */
} cl_test_result;

/* Runs the shell command (printf-style) with stdin from /dev/null and its
 * stdout and stderr captured through the files <dir>/stdout and
 * <dir>/stderr, which stay there until the next run. The redirections are
 * appended to the command, so in a pipeline or list they bind to its last
 * command. */
void cl_test_sh(cl_test_result *r, const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* cl_test_sh of `CL_TEST_BIN <args>`, args printf-style. */
void cl_test_run_cli(cl_test_result *r, const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cl_test_result_free(cl_test_result *r);

/* ---- text ---- */

/* How many times c occurs in s. */
int cl_test_count_char(const char *s, char c);
/* How many lines of text start with prefix ("" counts every line; a last
 * line without its newline counts too). */
int cl_test_count_lines(const char *text, const char *prefix);

/* ---- IDX files (the MNIST format) ---- */

/* Pixel p of image i of set (0 train, 1 test): a hash, so every image
 * differs from every other and from its own rotations and permutations,
 * every byte value occurs and a misplaced byte shows. */
unsigned char cl_test_idx_pixel(int set, int i, int p);
/* A whole IDX file in memory: magic 0 0 type rank, big-endian dims, then
 * the n_data bytes of data (may be NULL when n_data is 0); malloc'd, its
 * length in *len. */
unsigned char *cl_test_idx_bytes(int type, int rank, const unsigned *dims,
                                 const unsigned char *data, size_t n_data, size_t *len);

/* Label of image i of set: (3 i + set) mod 10, cycling through all ten
 * classes (3 is coprime with 10). */
unsigned char cl_test_idx_label(int set, int i);
/* Makes folder dir holding the four plain IDX files of a dataset of
 * n_train and n_test side x side images (cl_test_idx_pixel) and labels
 * (cl_test_idx_label). */
void cl_test_put_dataset(const char *dir, int n_train, int n_test, int side);

/* ---- suites ---- */

/* Builds family suite `name` from data folder dir (NULL: the family's own
 * default) with "key=value" settings (NULL-terminated, may be NULL) and the
 * suite RNG of `seed`; returns the family's code, and on failure checks no
 * suite was left. next (may be NULL) gets the RNG's next draw, which shows
 * what the build consumed. */
int cl_test_suite_build(cl_suite **s, const char *name, const char *dir, cl_scenario sc,
                        unsigned long seed, const char *const *sets, unsigned long *next);

#endif
