/* The bad-input corpus (tests/bad_inputs/cases.txt; its header gives the
 * format): every case runs the CLI (CL_TEST_BIN) and must exit 2 with
 * exactly one line on stderr, the expected one, and leave nothing under
 * --out. IDX cases get a small valid dataset written here with the case's
 * defective files laid over it. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "support.h"

#define CORPUS "tests/bad_inputs/"

static char tmp[256]; /* this test's temporary folder */

static void make_tmp(void) { cl_test_tmpdir_new(tmp, sizeof tmp, "bad"); }
static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(bad_inputs, .init = make_tmp, .fini = remove_tmp, .timeout = 60);

/* An IDX file: unsigned bytes, rank 3 (n, side, side) or 1 (n). */
static void put_idx(const char *dir, const char *name, int rank, unsigned n, unsigned side)
{
    size_t items = rank == 3 ? (size_t)n * side * side : n, len;
    unsigned char *data = malloc(items);
    cr_assert_not_null(data);
    for (size_t i = 0; i < items; i++)
        data[i] = (unsigned char)(rank == 3 ? i * 7 : i % 10); /* labels 0..9 */
    unsigned dims[3] = {n, side, side};
    unsigned char *b = cl_test_idx_bytes(0x08, rank, dims, data, items, &len);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cl_test_write(path, b, len);
    free(b);
    free(data);
}

/* {data:NAME}: a fresh copy of the valid dataset with idx/NAME laid over. */
static void make_dataset(const char *name, char *dir, size_t n)
{
    snprintf(dir, n, "%s/data-%s", tmp, name);
    if (mkdir(dir, 0755) != 0) return; /* already made for an earlier case */
    put_idx(dir, "train-images-idx3-ubyte", 3, 30, 4);
    put_idx(dir, "train-labels-idx1-ubyte", 1, 30, 0);
    put_idx(dir, "t10k-images-idx3-ubyte", 3, 10, 4);
    put_idx(dir, "t10k-labels-idx1-ubyte", 1, 10, 0);
    char src[512];
    snprintf(src, sizeof src, CORPUS "idx/%s", name);
    DIR *d = opendir(src);
    cr_assert_not_null(d, "no folder %s", src);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char from[1024], to[1024], plain[1024];
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        size_t l = strlen(to);
        snprintf(plain, sizeof plain, "%s", to);
        if (l > 7 && !strcmp(to + l - 7, ".absent")) {
            plain[l - 7] = '\0';
            cr_assert_eq(remove(plain), 0, "%s: nothing to remove", from);
            continue;
        }
        if (l > 3 && !strcmp(to + l - 3, ".gz")) {
            plain[l - 3] = '\0';
            remove(plain);
        }
        size_t len;
        char *data = cl_test_read(from, &len);
        cr_assert_not_null(data, "cannot read %s", from);
        cl_test_write(to, data, len);
        free(data);
    }
    closedir(d);
}

/* Replaces every {data:NAME} in `in` with its dataset folder. */
static void expand(const char *in, char *out, size_t n)
{
    size_t o = 0;
    while (*in && o + 1 < n) {
        if (!strncmp(in, "{data:", 6)) {
            const char *end = strchr(in, '}');
            cr_assert_not_null(end, "unclosed {data: in %s", in);
            char name[128], dir[512];
            snprintf(name, sizeof name, "%.*s", (int)(end - in - 6), in + 6);
            make_dataset(name, dir, sizeof dir);
            o += (size_t)snprintf(out + o, n - o, "%s", dir);
            in = end + 1;
        } else {
            out[o++] = *in++;
        }
    }
    cr_assert_lt(o + 1, n, "expansion too long: %s", in);
    out[o] = '\0';
}

/* Runs case number k. */
static void run_case(int k, const char *args, const char *want, int exact)
{
    char xargs[4096], xwant[4096], out[512];
    expand(args, xargs, sizeof xargs);
    expand(want, xwant, sizeof xwant);
    snprintf(out, sizeof out, "%s/out-%d", tmp, k);
    cl_test_result r;
    cl_test_run_cli(&r, tmp, "%s --out '%s' --quiet", xargs, out);
    int code = r.code;
    char *err = r.err;
    size_t n = strlen(err);
    cr_expect_eq(code, 2, "case %d (%s): exit %d, want 2; stderr: %s", k, args, code, err);
    int one_line = n > 0 && err[n - 1] == '\n' && strchr(err, '\n') == err + n - 1;
    cr_expect(one_line, "case %d (%s): stderr is not one line: '%s'", k, args, err);
    if (n && err[n - 1] == '\n') err[--n] = '\0';
    int match = exact ? !strcmp(err, xwant) : !strncmp(err, xwant, strlen(xwant));
    cr_expect(match, "case %d (%s): stderr\n  is   '%s'\n  want '%s'%s", k, args, err, xwant,
              exact ? "" : "...");
    cr_expect(cl_test_dir_count(out) <= 0, "case %d (%s): wrote under --out", k, args);
    cl_test_result_free(&r);
}

/* Every case in cases.txt (each args: line followed by a want line);
 * returns how many ran. */
static int run_all(char *text)
{
    int n = 0;
    const char *args = NULL;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(l, "args: ", 6)) {
            cr_assert_null(args, "cases.txt: args without want before '%s'", l);
            args = l + 6;
        } else if (!strncmp(l, "want: ", 6) || !strncmp(l, "want~ ", 6)) {
            cr_assert_not_null(args, "cases.txt: want without args: '%s'", l);
            run_case(++n, args, l + 6, l[4] == ':');
            args = NULL;
        } else {
            cr_assert(l[0] == '#', "cases.txt: cannot read '%s'", l);
        }
    }
    cr_assert_null(args, "cases.txt ends with args and no want");
    return n;
}

Test(bad_inputs, every_case_exits_2_with_its_one_line)
{
    char *text = cl_test_slurp(CORPUS "cases.txt");
    int n = run_all(text);
    cr_assert_geq(n, 50, "only %d cases", n);
    free(text);
}

/* A corpus file that no case uses would silently test nothing. */
Test(bad_inputs, every_corpus_file_has_a_case)
{
    char *text = cl_test_slurp(CORPUS "cases.txt");
    static const char *const dirs[] = {"yaml", "idx"};
    for (int k = 0; k < 2; k++) {
        char path[256];
        snprintf(path, sizeof path, CORPUS "%s", dirs[k]);
        DIR *d = opendir(path);
        cr_assert_not_null(d, "no %s", path);
        struct dirent *e;
        int seen = 0;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char needle[512];
            /* a yaml case's args line ends with the file name */
            if (k == 0) snprintf(needle, sizeof needle, "yaml/%s\n", e->d_name);
            else snprintf(needle, sizeof needle, "{data:%s}", e->d_name);
            cr_expect_not_null(strstr(text, needle), "%s/%s is in no case of cases.txt", path,
                               e->d_name);
            seen++;
        }
        closedir(d);
        cr_assert_gt(seen, 0);
    }
    free(text);
}
