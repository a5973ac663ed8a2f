/* Test helpers (see support.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/base/params.h"
#include "clbench/base/rng.h"
#include "support.h"

#define TMP_PREFIX "/tmp/clbench-"

/* ---- temporary folders ---- */

void cl_test_tmpdir_new(char *dir, size_t n, const char *tag)
{
    int k = snprintf(dir, n, TMP_PREFIX "%s-XXXXXX", tag);
    cr_assert(k > 0 && (size_t)k < n, "temporary folder name too long for tag '%s'", tag);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    if (remove(path) != 0) fprintf(stderr, "could not remove %s: %s\n", path, strerror(errno));
    return 0; /* go on: remove what can be removed */
}

void cl_test_tmpdir_remove(const char *dir)
{
    /* mkdtemp's six characters follow the tag: never "/tmp" itself or an
     * unset name. */
    size_t n = strlen(dir);
    if (strncmp(dir, TMP_PREFIX, strlen(TMP_PREFIX)) != 0 || n < strlen(TMP_PREFIX) + 8 ||
        strchr(dir + strlen(TMP_PREFIX), '/'))
        return;
    /* Depth first, links not followed: a link inside goes, not its target. */
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- files ---- */

char *cl_test_read(const char *path, size_t *len)
{
    char *s;
    return cl_fs_read_all(path, &s, len) == 0 ? s : NULL;
}

char *cl_test_slurp(const char *path)
{
    char *s = cl_test_read(path, NULL);
    cr_assert_not_null(s, "cannot read %s: %s", path, cl_error_last());
    return s;
}

void cl_test_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len, "cannot write %s", path);
    cr_assert_eq(fclose(f), 0, "cannot write %s", path);
}

void cl_test_spit(const char *path, const char *text) { cl_test_write(path, text, strlen(text)); }

int cl_test_dir_count(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* ---- processes ---- */

static void vsh(cl_test_result *r, const char *dir, const char *prefix, const char *fmt,
                va_list ap)
{
    char cmd[8192], tail[1024], path[1024];
    int k = snprintf(cmd, sizeof cmd, "%s", prefix);
    k += vsnprintf(cmd + k, sizeof cmd - (size_t)k, fmt, ap);
    int t = snprintf(tail, sizeof tail, " >'%s/stdout' 2>'%s/stderr' </dev/null", dir, dir);
    cr_assert(k + t < (int)sizeof cmd, "command too long: %s", cmd);
    memcpy(cmd + k, tail, (size_t)t + 1);
    fflush(NULL); /* the child must not repeat our buffered output */
    int st = system(cmd);
    cr_assert_neq(st, -1, "system failed: %s", strerror(errno));
    r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    snprintf(path, sizeof path, "%s/stdout", dir);
    r->out = cl_test_slurp(path);
    snprintf(path, sizeof path, "%s/stderr", dir);
    r->err = cl_test_slurp(path);
}

void cl_test_sh(cl_test_result *r, const char *dir, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsh(r, dir, "", fmt, ap);
    va_end(ap);
}

void cl_test_run_cli(cl_test_result *r, const char *dir, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsh(r, dir, CL_TEST_BIN " ", fmt, ap);
    va_end(ap);
}

void cl_test_result_free(cl_test_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* ---- text ---- */

int cl_test_count_char(const char *s, char c)
{
    int n = 0;
    for (; *s; s++) n += *s == c;
    return n;
}

int cl_test_count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t k = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, k) == 0;
    return n;
}

/* ---- IDX files ---- */

unsigned char cl_test_idx_pixel(int set, int i, int p)
{
    unsigned h = (unsigned)i * 2654435761u ^ (unsigned)p * 40503u ^ (unsigned)set * 97u;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    return (unsigned char)h;
}

unsigned char *cl_test_idx_bytes(int type, int rank, const unsigned *dims,
                                 const unsigned char *data, size_t n_data, size_t *len)
{
    *len = 4 + 4 * (size_t)rank + n_data;
    unsigned char *b = malloc(*len + 1);
    cr_assert_not_null(b);
    b[0] = 0, b[1] = 0, b[2] = (unsigned char)type, b[3] = (unsigned char)rank;
    for (int i = 0; i < rank; i++)
        for (int k = 0; k < 4; k++) b[4 + 4 * i + k] = (unsigned char)(dims[i] >> (24 - 8 * k));
    if (n_data) memcpy(b + 4 + 4 * rank, data, n_data);
    return b;
}

unsigned char cl_test_idx_label(int set, int i) { return (unsigned char)((3 * i + set) % 10); }

/* <dir>/<name>: an IDX file of unsigned bytes. */
static void put_idx(const char *dir, const char *name, int rank, const unsigned *dims,
                    const unsigned char *data, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    unsigned char *b = cl_test_idx_bytes(8, rank, dims, data, n, &len);
    cl_test_write(path, b, len);
    free(b);
}

void cl_test_put_dataset(const char *dir, int n_train, int n_test, int side)
{
    cr_assert_eq(mkdir(dir, 0755), 0, "%s", dir);
    const char *im[2] = {"train-images-idx3-ubyte", "t10k-images-idx3-ubyte"};
    const char *lb[2] = {"train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"};
    for (int set = 0; set < 2; set++) {
        int n = set ? n_test : n_train, d = side * side;
        unsigned char *pix = malloc((size_t)n * d), *lab = malloc((size_t)n);
        cr_assert(pix && lab);
        for (int i = 0; i < n; i++) {
            lab[i] = cl_test_idx_label(set, i);
            for (int p = 0; p < d; p++) pix[(size_t)i * d + p] = cl_test_idx_pixel(set, i, p);
        }
        unsigned di[3] = {(unsigned)n, (unsigned)side, (unsigned)side}, dl[1] = {(unsigned)n};
        put_idx(dir, im[set], 3, di, pix, (size_t)n * d);
        put_idx(dir, lb[set], 1, dl, lab, (size_t)n);
        free(pix);
        free(lab);
    }
}

/* ---- suites ---- */

int cl_test_suite_build(cl_suite **s, const char *name, const char *dir, cl_scenario sc,
                        unsigned long seed, const char *const *sets, unsigned long *next)
{
    const cl_suite_family *f;
    cr_assert_eq(cl_suite_family_find(&f, name), 0, "%s", cl_error_last());
    cl_params *p;
    cr_assert_eq(cl_params_new(&p, "suite", f->params), 0);
    for (int i = 0; sets && sets[i]; i++) {
        char key[64];
        const char *eq = strchr(sets[i], '=');
        cr_assert_not_null(eq, "setting '%s' has no '='", sets[i]);
        snprintf(key, sizeof key, "%.*s", (int)(eq - sets[i]), sets[i]);
        cr_assert_eq(cl_params_set(p, key, eq + 1), 0, "%s", cl_error_last());
    }
    gsl_rng *rng;
    cr_assert_eq(cl_rng_new(&rng, seed, CL_RNG_SUITE), 0);
    *s = (cl_suite *)1;
    int rc = f->build(s, name, p, sc, dir, rng);
    if (rc) cr_assert_null(*s, "no suite on failure");
    if (next) *next = gsl_rng_get(rng);
    gsl_rng_free(rng);
    cl_params_free(p);
    return rc;
}
