/* Sweep planning (see sweep.h): finished cells, joint references, job
 * arrays and the batch script. Nothing here runs or prints anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/run/results.h"
#include "clbench/run/sweep.h"

/* ---- cells --------------------------------------------------------------- */

typedef struct id_ref {
    const char *id;
    int i;
} id_ref;

static int by_id(const void *a, const void *b)
{
    return strcmp(((const id_ref *)a)->id, ((const id_ref *)b)->id);
}

/* The cell whose run is c's joint reference, or -1: the run
 * cl_results_fill_intransigence reads. */
static int joint_of(const cl_config *c, const id_ref *sorted, int n, int *idx)
{
    *idx = -1;
    if (!strcmp(c->strategy, "joint")) return 0;
    cl_config *jc;
    int rc = cl_config_for_strategy(&jc, c, "joint");
    if (rc) return rc;
    char id[256];
    cl_config_run_id(jc, id, sizeof id);
    cl_config_free(jc);
    id_ref key = {id, 0};
    const id_ref *hit = bsearch(&key, sorted, (size_t)n, sizeof *sorted, by_id);
    if (hit) *idx = hit->i;
    return 0;
}

int cl_sweep_cells_new(cl_sweep_cell **out, cl_config *const *cells, int n, const char *root)
{
    *out = NULL;
    cl_sweep_cell *c = calloc((size_t)(n > 0 ? n : 1), sizeof *c);
    id_ref *sorted = malloc((size_t)(n > 0 ? n : 1) * sizeof *sorted);
    if (!c || !sorted) {
        free(c);
        free(sorted);
        return cl_error_set(CL_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        cl_config_run_id(cells[i], c[i].run_id, sizeof c[i].run_id);
        cl_results_metrics_path(root, cells[i], path, sizeof path);
        c[i].done = cl_fs_exists(path);
        sorted[i] = (id_ref){c[i].run_id, i};
    }
    qsort(sorted, (size_t)n, sizeof *sorted, by_id);
    int rc = 0;
    for (int i = 0; !rc && i < n; i++) rc = joint_of(cells[i], sorted, n, &c[i].joint);
    free(sorted);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void cl_sweep_cells_free(cl_sweep_cell *c) { free(c); }

uint64_t cl_sweep_grid_hash(cl_config *const *cells, int n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < n; i++) {
        char id[256];
        cl_config_run_id(cells[i], id, sizeof id);
        /* The NUL separates ids, so "ab","c" and "a","bc" differ. */
        for (const char *p = id;; p++) {
            h ^= (unsigned char)*p;
            h *= 0x100000001b3ULL;
            if (!*p) break;
        }
    }
    return h;
}

/* ---- job arrays ------------------------------------------------------------ */

void cl_sweep_array_spec(cl_strbuf *out, const int *idx, int n)
{
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && idx[j + 1] == idx[j] + 1) j++;
        cl_strbuf_printf(out, "%s%d", i ? "," : "", idx[i]);
        if (j > i) cl_strbuf_printf(out, "-%d", idx[j]);
        i = j + 1;
    }
}

/* Text length the next run of consecutive ids adds to a spec. */
static size_t run_len(int first, int last, int empty)
{
    char buf[48];
    int k = first == last ? snprintf(buf, sizeof buf, "%d", first)
                          : snprintf(buf, sizeof buf, "%d-%d", first, last);
    return (size_t)k + (empty ? 0 : 1);
}

static int push_array(cl_sweep_array **a, int *n, int *cap, int offset, int phase,
                      const int *ids, int k)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 4;
        cl_sweep_array *g = realloc(*a, (size_t)nc * sizeof *g);
        if (!g) return cl_error_set(CL_ENOMEM, "out of memory");
        *a = g;
        *cap = nc;
    }
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_sweep_array_spec(&b, ids, k);
    if (cl_strbuf_status(&b)) {
        cl_strbuf_release(&b);
        return cl_error_set(CL_ENOMEM, "out of memory");
    }
    (*a)[(*n)++] = (cl_sweep_array){offset, phase, k, b.s};
    return 0;
}

/* Cuts one phase's cells (ascending) into arrays. A chunk keeps offset 0
 * while its cells fit below max_array, so task ids read as cell indices in
 * the common case; past that it starts at its first cell. */
static int split_phase(cl_sweep_array **a, int *na, int *cap, const int *cells, int m,
                       int max_array, int phase, int *ids)
{
    for (int i = 0; i < m;) {
        int offset = cells[i] < max_array ? 0 : cells[i];
        int k = 0;
        size_t len = 0;
        while (i < m && cells[i] - offset < max_array) {
            int j = i;
            while (j + 1 < m && cells[j + 1] == cells[j] + 1 && cells[j + 1] - offset < max_array)
                j++;
            size_t add = run_len(cells[i] - offset, cells[j] - offset, k == 0);
            if (k && len + add > CL_SWEEP_MAX_SPEC) break;
            len += add;
            for (; i <= j; i++) ids[k++] = cells[i] - offset;
        }
        int rc = push_array(a, na, cap, offset, phase, ids, k);
        if (rc) return rc;
    }
    return 0;
}

void cl_sweep_arrays_free(cl_sweep_array *a, int n)
{
    for (int i = 0; a && i < n; i++) free(a[i].spec);
    free(a);
}

int cl_sweep_arrays_new(cl_sweep_array **out, int *n_out, const cl_sweep_cell *cells,
                        const unsigned char *todo, int n, int max_array, int phased)
{
    *out = NULL;
    *n_out = 0;
    if (max_array < 1) return cl_error_set(CL_EINVAL, "MaxArraySize %d: job arrays are disabled", max_array);
    int *phase[2], m[2] = {0, 0};
    phase[0] = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    phase[1] = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    int *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    int rc = phase[0] && phase[1] && ids ? 0 : cl_error_set(CL_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        if (!todo[i]) continue;
        int j = cells[i].joint;
        int p = phased && j >= 0 && todo[j];
        phase[p][m[p]++] = i;
    }
    cl_sweep_array *a = NULL;
    int na = 0, cap = 0;
    for (int p = 0; !rc && p < 2; p++)
        rc = split_phase(&a, &na, &cap, phase[p], m[p], max_array, p, ids);
    free(phase[0]);
    free(phase[1]);
    free(ids);
    if (rc) {
        cl_sweep_arrays_free(a, na);
        return rc;
    }
    *out = a;
    *n_out = na;
    return 0;
}

void cl_sweep_sbatch_args(cl_strbuf *b, const cl_sweep_array *a, int n, int i,
                          const long *jobids)
{
    if (n > 1) cl_strbuf_printf(b, " --array=%s", a[i].spec);
    if (a[i].offset) cl_strbuf_printf(b, " --export=ALL,CLBENCH_CELL_OFFSET=%d", a[i].offset);
    if (a[i].phase != 1) return;
    cl_strbuf_puts(b, " --dependency=afterany");
    for (int j = 0; j < n; j++) {
        if (a[j].phase != 0) continue;
        if (jobids) cl_strbuf_printf(b, ":%ld", jobids[j]);
        else cl_strbuf_printf(b, ":${j%d%%%%;*}", j); /* --parsable prints id[;cluster] */
    }
}

/* ---- the batch script --------------------------------------------------------- */

void cl_sweep_shell_quote(cl_strbuf *out, const char *s)
{
    cl_strbuf_puts(out, "'");
    for (; *s; s++) {
        if (*s == '\'') cl_strbuf_puts(out, "'\\''");
        else cl_strbuf_printf(out, "%c", *s);
    }
    cl_strbuf_puts(out, "'");
}

/* sbatch splits #SBATCH lines at whitespace and expands '%' in --output,
 * so values with those (or quotes, or control characters) are refused
 * rather than written into a script that would do something else. */
static int sbatch_safe(const char *what, const char *v, int absolute)
{
    if (!v || !*v) return cl_error_set(CL_EINVAL, "%s: empty", what);
    if (absolute && v[0] != '/') return cl_error_set(CL_EINVAL, "%s: '%s' is not an absolute path", what, v);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '\'' || *p == '"' || *p == '\\' || *p == '%')
            return cl_error_set(CL_EINVAL,
                                "%s: '%s' holds a character a Slurm script cannot carry safely "
                                "(whitespace, quote, backslash, %% or a control character)",
                                what, v);
    return 0;
}

int cl_sweep_slurm_script(cl_strbuf *b, const cl_sweep_slurm *s)
{
    int rc = sbatch_safe("clbench binary", s->bin, 1);
    if (!rc) rc = sbatch_safe("experiment file", s->file, 1);
    if (!rc) rc = sbatch_safe("--out", s->out, 1);
    if (!rc && s->partition) rc = sbatch_safe("--partition", s->partition, 0);
    if (!rc && s->time) rc = sbatch_safe("--time", s->time, 0);
    if (!rc) rc = sbatch_safe("--array", s->array, 0);
    if (!rc && (s->cpus < 1 || s->cpus > 256))
        rc = cl_error_set(CL_EINVAL, "--cpus-per-task: %d is not in [1, 256]", s->cpus);
    if (!rc && s->mem_mb < 0) rc = cl_error_set(CL_EINVAL, "--mem: %ld is negative", s->mem_mb);
    if (rc) return rc;
    unsigned long long g = (unsigned long long)s->grid;
    cl_strbuf_puts(b, "#!/bin/bash\n");
    cl_strbuf_printf(b, "#SBATCH --job-name=clbench-sweep-%08llx\n", g & 0xffffffffULL);
    cl_strbuf_printf(b, "#SBATCH --array=%s\n", s->array);
    cl_strbuf_puts(b, "#SBATCH --ntasks=1\n");
    cl_strbuf_printf(b, "#SBATCH --cpus-per-task=%d\n", s->cpus);
    if (s->mem_mb) cl_strbuf_printf(b, "#SBATCH --mem=%ld\n", s->mem_mb);
    if (s->time) cl_strbuf_printf(b, "#SBATCH --time=%s\n", s->time);
    if (s->partition) cl_strbuf_printf(b, "#SBATCH --partition=%s\n", s->partition);
    /* %A: the array's job id, %a: the task id. */
    cl_strbuf_printf(b, "#SBATCH --output=%s/slurm-logs/%%A_%%a.out\n", s->out);
    cl_strbuf_puts(b,
        "#\n"
        "# Written by `clbench sweep --slurm`: each array task runs one cell of the\n"
        "# experiment below and writes <out>/<run id>/. Cell = task id +\n"
        "# CLBENCH_CELL_OFFSET, which clbench sets when it submits the cells as\n"
        "# several arrays (past MaxArraySize; or joint reference runs first, so the\n"
        "# other runs can measure intransigence against them). A task whose cell\n"
        "# diverged or failed exits 1; `clbench sweep FILE --out DIR` run again\n"
        "# (locally, or with --slurm) runs only the cells still missing.\n"
        "set -eu\n"
        "cell=$(( SLURM_ARRAY_TASK_ID + ${CLBENCH_CELL_OFFSET:-0} ))\n");
    cl_strbuf_printf(b, "export OPENBLAS_NUM_THREADS=%d\n", s->cpus);
    cl_strbuf_puts(b, "exec ");
    cl_sweep_shell_quote(b, s->bin);
    cl_strbuf_puts(b, " sweep ");
    cl_sweep_shell_quote(b, s->file);
    cl_strbuf_puts(b, " --cell \"$cell\" --out ");
    cl_sweep_shell_quote(b, s->out);
    cl_strbuf_printf(b, " --threads %d --grid %016llx --quiet%s%s\n", s->cpus, g,
                     s->force ? " --force" : "", s->resume ? " --resume" : "");
    return cl_strbuf_status(b) ? cl_error_set(CL_ENOMEM, "out of memory") : 0;
}
