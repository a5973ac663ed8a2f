/* clbench sweep --slurm: the batch script for the cells still to run and,
 * with --submit, its submission as job arrays (split at the cluster's
 * MaxArraySize, joint reference runs first). The tasks run `clbench sweep
 * FILE --cell K`, as local workers do. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/base/proc.h"
#include "clbench/base/strbuf.h"
#include "clbench/run/sweep.h"
#include "cli_sweep.h"

/* MaxArraySize from `scontrol show config`, or Slurm's default when there
 * is no scontrol or no answer. */
static int max_array_size(void)
{
    char path[4096], *out;
    int st, v = CL_SWEEP_MAX_ARRAY_DEFAULT;
    if (cl_proc_find(path, sizeof path, "scontrol") != 0) return v;
    char *argv[] = {path, "show", "config", NULL};
    /* Without a reachable cluster scontrol complains; that is not ours to show. */
    if (cl_proc_capture(&out, &st, argv, 1) != 0) return v;
    const char *p = st == 0 ? strstr(out, "MaxArraySize") : NULL;
    if (p) {
        p += strlen("MaxArraySize");
        while (*p == ' ' || *p == '=') p++;
        long m = strtol(p, NULL, 10);
        if (m > 0 && m <= 4000001) v = (int)m;
    }
    free(out);
    return v;
}

static int submit(const char *sbatch, const char *script, const cl_sweep_array *a, int na)
{
    long *ids = calloc((size_t)na, sizeof *ids);
    if (!ids) {
        fprintf(stderr, "clbench sweep: out of memory\n");
        return 1;
    }
    int code = 0;
    for (int i = 0; !code && i < na; i++) {
        cl_strbuf b;
        cl_strbuf_init(&b);
        cl_sweep_sbatch_args(&b, a, na, i, ids);
        /* Split at the spaces sbatch_args put between arguments (none of
         * its values hold a space). */
        char *argv[8], *save = NULL;
        int k = 0;
        argv[k++] = (char *)sbatch;
        for (char *t = b.s ? strtok_r(b.s, " ", &save) : NULL; t && k < 6; t = strtok_r(NULL, " ", &save))
            argv[k++] = t;
        argv[k++] = (char *)script;
        argv[k] = NULL;
        char *out, how[96];
        int st;
        if (cl_proc_capture(&out, &st, argv, 0) != 0) {
            fprintf(stderr, "clbench sweep: %s\n", cl_error_last());
            code = 1;
            cl_strbuf_release(&b);
            break;
        }
        const char *p = strstr(out, "Submitted batch job ");
        long id = p ? strtol(p + strlen("Submitted batch job "), NULL, 10) : 0;
        cl_proc_status_text(how, sizeof how, st);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            fprintf(stderr, "clbench sweep: sbatch %s failed (%s)\n", script, how);
            code = 1;
        } else if (id <= 0) {
            fprintf(stderr, "clbench sweep: sbatch %s printed no \"Submitted batch job N\": %s\n",
                    script, out);
            code = 1;
        } else {
            ids[i] = id;
            printf("submitted job %ld: array %s, %d cell%s", id, a[i].spec, a[i].n_tasks,
                   a[i].n_tasks == 1 ? "" : "s");
            if (a[i].offset) printf(" (cell = task id + %d)", a[i].offset);
            printf("%s\n", a[i].phase ? ", after the joint reference runs" : "");
        }
        free(out);
        cl_strbuf_release(&b);
    }
    free(ids);
    return code;
}

static void print_commands(const char *script, const cl_sweep_array *a, int na)
{
    cl_strbuf q;
    cl_strbuf_init(&q);
    cl_sweep_shell_quote(&q, script);
    if (na == 1) printf("submit with: sbatch %s\n", q.s);
    else printf("submit with:\n");
    for (int i = 0; na > 1 && i < na; i++) {
        cl_strbuf b;
        cl_strbuf_init(&b);
        cl_sweep_sbatch_args(&b, a, na, i, NULL);
        if (a[i].phase == 0) printf("  j%d=$(sbatch --parsable%s %s)\n", i, b.s ? b.s : "", q.s);
        else printf("  sbatch%s %s\n", b.s ? b.s : "", q.s);
        cl_strbuf_release(&b);
    }
    cl_strbuf_release(&q);
}

/* path made absolute against the working directory (tasks start wherever
 * Slurm puts them); "./" prefixes and trailing slashes dropped. */
static int absolute(const char *path, char *buf, size_t n)
{
    char cwd[4096] = "";
    while (path[0] == '.' && path[1] == '/') path += 2;
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) return -1;
    int k = snprintf(buf, n, "%s%s%s", cwd, cwd[0] && strcmp(path, ".") ? "/" : "",
                     strcmp(path, ".") || !cwd[0] ? path : "");
    if (k < 0 || (size_t)k >= n) {
        errno = ENAMETOOLONG;
        return -1;
    }
    while (k > 1 && buf[k - 1] == '/') buf[--k] = '\0';
    return 0;
}

int cl_cli_sweep_slurm(const cl_cli_sweep_opts *o, const cl_sweep_cell *sc, int n, int cpus,
                       uint64_t grid)
{
    char sbatch[4096];
    if (o->submit && cl_proc_find(sbatch, sizeof sbatch, "sbatch") != 0) {
        fprintf(stderr, "clbench sweep: --submit: sbatch not found on PATH (install Slurm's "
                        "client commands, or drop --submit to only write the script)\n");
        return 2;
    }
    unsigned char *todo = malloc((size_t)(n > 0 ? n : 1));
    if (!todo) {
        fprintf(stderr, "clbench sweep: out of memory\n");
        return 1;
    }
    int m = 0;
    for (int i = 0; i < n; i++) m += todo[i] = o->force || !sc[i].done;
    if (m == 0) {
        printf("sweep: all %d cells are finished in %s; nothing to submit\n", n, o->out);
        free(todo);
        return 0;
    }
    char logs[4096 + 16], bin[4096], file[4096], out[4096], script[4096 + 64];
    int code = 0;
    ssize_t k = readlink("/proc/self/exe", bin, sizeof bin - 1);
    if (k <= 0 || (size_t)k >= sizeof bin - 1 || absolute(o->file, file, sizeof file) ||
        absolute(o->out, out, sizeof out)) {
        fprintf(stderr, "clbench sweep: cannot resolve absolute paths: %s\n", strerror(errno));
        code = 1;
    } else {
        bin[k] = '\0';
    }
    /* Submitted by clbench, joint reference runs go first (phase 0) so the
     * others can read them; the script's own #SBATCH --array lists every
     * cell when one array can, so a plain `sbatch SCRIPT` runs them all. */
    cl_sweep_array *a = NULL, *whole = NULL;
    int na = 0, nw = 0, max_array = code ? 0 : max_array_size();
    if (!code && (cl_sweep_arrays_new(&a, &na, sc, todo, n, max_array, 1) != 0 ||
                  cl_sweep_arrays_new(&whole, &nw, sc, todo, n, max_array, 0) != 0)) {
        fprintf(stderr, "clbench sweep: %s\n", cl_error_last());
        code = 1;
    }
    cl_strbuf text;
    cl_strbuf_init(&text);
    if (!code) {
        cl_sweep_slurm s = {.bin = bin, .file = file, .out = out, .partition = o->partition,
                            .time = o->time, .mem_mb = o->mem_mb, .cpus = cpus,
                            .force = o->force, .resume = o->resume, .grid = grid,
                            .array = nw == 1 ? whole[0].spec : a[0].spec};
        if (o->script) snprintf(script, sizeof script, "%s", o->script);
        else snprintf(script, sizeof script, "%s/sweep-%08llx.sbatch", out,
                      (unsigned long long)(grid & 0xffffffffULL));
        snprintf(logs, sizeof logs, "%s/slurm-logs", out);
        /* The script first: it refuses paths Slurm cannot carry before
         * anything is created. Slurm does not create the log folder. */
        int rc = cl_sweep_slurm_script(&text, &s);
        if (!rc) rc = cl_fs_mkdirs(logs);
        if (!rc) rc = cl_fs_write_atomic(script, text.s, text.len);
        if (rc) {
            fprintf(stderr, "clbench sweep: %s\n", cl_error_last());
            code = cl_error_exit_code(rc);
        }
    }
    if (!code) {
        printf("wrote %s: %d of %d cells to run", script, m, n);
        if (na > 1) printf(" as %d job arrays (%s)", na, nw == 1 ? "joint reference runs first"
                                                       : "past MaxArraySize or list length");
        printf("\n");
        if (o->submit) code = submit(sbatch, script, a, na);
        else print_commands(script, a, na);
    }
    cl_strbuf_release(&text);
    cl_sweep_arrays_free(a, na);
    cl_sweep_arrays_free(whole, nw);
    free(todo);
    return code;
}
