/* Runs a list of validated cells for the run front ends (flags and
 * experiment files): skip finished runs, checkpoint and resume, write each
 * run's folder, fill intransigence from the joint run, then print the
 * tables or the JSON. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clbench/store/ckpt.h"
#include "clbench/cli/cli.h"
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/store/json.h"
#include "clbench/run/results.h"
#include "clbench/run/runner.h"
#include "clbench/base/strbuf.h"
#include "clbench/report/table.h"

typedef struct progress_ctx {
    const cl_config *cfg;
    int cell, cells;
    const char *dir, *ckpt; /* the run's folder and its checkpoint.bin */
    char *blob;             /* the checkpoint resumed from, until read */
} progress_ctx;

static void show_progress(void *user, const cl_progress *p)
{
    const progress_ctx *pc = user;
    double frac = (p->task + (double)p->step / p->steps_per_task) / p->n_tasks;
    if (p->bytes_total > 0) frac = (double)p->bytes / (double)p->bytes_total;
    double eta = frac > 0.01 ? p->elapsed_s * (1 - frac) / frac : 0;
    fprintf(stderr, "\r\033[K[%d/%d] %s %s s%lu: task %d/%d step %ld/%ld", pc->cell + 1, pc->cells,
            pc->cfg->strategy, pc->cfg->suite, pc->cfg->seed, p->task + 1, p->n_tasks, p->step,
            p->steps_per_task);
    if (p->bytes_total > 0)
        fprintf(stderr, "  %ld/%ld kB read, %.3f bpb, %.0f B/s", p->bytes / 1000,
                p->bytes_total / 1000, p->bpb, p->tokens_per_s);
    fprintf(stderr, "  %.1fs, eta %.0fs", p->elapsed_s, eta);
}

typedef struct ckpt_out {
    cl_ckpt_source write;
    void *ctx;
} ckpt_out;

static int fill_checkpoint(void *ctx, int fd, const char *tmp)
{
    const ckpt_out *o = ctx;
    cl_ckpt_fd f = {fd, tmp};
    return o->write(o->ctx, cl_ckpt_fd_sink, &f);
}

/* Streamed into a temporary, then renamed: a kill leaves the previous
 * checkpoint or the new one under the final name, never part of one. */
static int save_checkpoint(void *user, int tasks_done, cl_ckpt_source write, void *write_ctx)
{
    (void)tasks_done;
    const progress_ctx *pc = user;
    ckpt_out o = {write, write_ctx};
    int rc = cl_fs_mkdirs(pc->dir);
    return rc ? rc : cl_fs_write_atomic_with(pc->ckpt, fill_checkpoint, &o);
}

/* The checkpoint's bytes are not needed once the runner has read them. */
static void free_resume(void *user)
{
    progress_ctx *pc = user;
    free(pc->blob);
    pc->blob = NULL;
}

/* After metrics.json: the checkpoint and any temporary left by a run
 * killed while writing one (checkpoint.bin.tmp.<pid>). */
static void remove_checkpoint(const char *dir, const char *ckpt)
{
    unlink(ckpt);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, "checkpoint.bin.tmp.", 19)) {
            char p[4096];
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p) unlink(p);
        }
    closedir(d);
}

/* With --resume, the run's checkpoint when there is one: *blob (caller
 * frees) stays NULL otherwise. Returns an exit code. */
static int read_checkpoint(const cl_exec_opts *o, const progress_ctx *pc, char **blob, size_t *len)
{
    *blob = NULL;
    if (!cl_fs_exists(pc->ckpt)) {
        if (o->resume && !o->quiet)
            fprintf(stderr, "clbench: no checkpoint in %s, starting from the first task\n", pc->dir);
        return 0;
    }
    if (!o->resume) {
        if (!o->quiet)
            fprintf(stderr, "clbench: %s exists; starting over (--resume continues from it)\n",
                    pc->ckpt);
        return 0;
    }
    int rc = cl_fs_read_all(pc->ckpt, blob, len);
    if (rc) {
        fprintf(stderr, "clbench: %s\n", cl_error_last());
        return cl_error_exit_code(rc);
    }
    return 0;
}

/* Runs one cell, checkpointing after each task and with o->resume going on
 * from its checkpoint; writes its folder. Returns an exit code. */
static int execute_cell(const cl_exec_opts *o, const cl_config *c, int idx, int n)
{
    char id[256], dir[4096], ckpt[4096], out_dir[4096], cache[4096];
    cl_config_run_id(c, id, sizeof id);
    if (snprintf(dir, sizeof dir, "%s/%s", o->out, id) >= (int)sizeof dir ||
        snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", dir) >= (int)sizeof ckpt) {
        fprintf(stderr, "clbench: results path too long under '%s'\n", o->out);
        return 2;
    }
    progress_ctx pc = {c, idx, n, dir, ckpt, NULL};
    /* Pretrained networks are shared by every run under o->out. */
    snprintf(cache, sizeof cache, "%s/pretrain", o->out);
    cl_run_opts ro = {.user = &pc, .checkpoint = save_checkpoint, .resume_done = free_resume,
                      .cache_dir = cache};
    int code = read_checkpoint(o, &pc, &pc.blob, &ro.resume_len);
    if (code) return code;
    int resuming = pc.blob != NULL;
    ro.resume = pc.blob;
    ro.resume_name = ckpt;
    if (!o->quiet && isatty(STDERR_FILENO)) ro.progress = show_progress;
    cl_run_result *r = NULL;
    int rc = cl_run_execute(&r, c, &ro);
    free(pc.blob);
    if (ro.progress) fprintf(stderr, "\r\033[K");
    if (rc == 0 && r->resumed_after > 0 && !o->quiet)
        fprintf(stderr, "clbench: %s resumed after task %d of %d\n", id, r->resumed_after, r->T);
    if (rc == 0) {
        int jr = cl_results_fill_intransigence(o->out, c, r);
        if (jr != 0 && jr != CL_ENOTFOUND) rc = jr;
    }
    if (rc == 0) rc = cl_results_write(o->out, c, r, out_dir, sizeof out_dir);
    cl_run_result_free(r);
    if (rc == 0) remove_checkpoint(dir, ckpt);
    if (rc == CL_EDATA && resuming && !strncmp(cl_error_last(), ckpt, strlen(ckpt))) {
        fprintf(stderr, "clbench: %s; delete it or run without --resume\n", cl_error_last());
        return cl_error_exit_code(rc);
    }
    if (rc) {
        fprintf(stderr, "clbench: %s\n", cl_error_last());
        return cl_error_exit_code(rc);
    }
    return 0;
}

/* Runs one cell unless its metrics.json exists; leaves the parsed
 * metrics.json in *doc. Returns an exit code. */
static int run_cell(const cl_exec_opts *o, const cl_config *c, int idx, int n, cl_json **doc)
{
    char path[4096];
    cl_results_metrics_path(o->out, c, path, sizeof path);
    if (!o->force && cl_fs_exists(path)) {
        if (!o->quiet) fprintf(stderr, "clbench: %s exists, not re-running (--force to)\n", path);
    } else {
        int code = execute_cell(o, c, idx, n);
        if (code) return code;
    }
    if (cl_json_parse_file(doc, path) != 0) {
        fprintf(stderr, "clbench: %s\n", cl_error_last());
        return 1;
    }
    return 0;
}

static int registry_index(const cl_json *doc)
{
    const char *name = cl_json_str(cl_json_get(doc, "strategy"));
    for (int i = 0; name && i < cl_strategy_count(); i++)
        if (!strcmp(cl_strategy_at(i)->name, name)) return i;
    return cl_strategy_count();
}

/* ---- tables ------------------------------------------------------------------
 * A comparison table averages over seeds per strategy, so it must only hold
 * runs that agree on everything else: one table per (suite, scenario, shared
 * settings), and a strategy that ran with several parameter variants there
 * gets one table per variant. */

static void params_text(cl_strbuf *b, const cl_params *p)
{
    cl_strbuf_printf(b, "%s:", cl_params_ns(p)); /* never empty: b->s is set */
    for (int i = 0; i < cl_params_count(p); i++)
        cl_strbuf_printf(b, "%s\x1f", cl_params_text_at(p, i));
}

static void shared_key(cl_strbuf *b, const cl_config *c)
{
    cl_strbuf_printf(b, "%s\x1e%s\x1e%s\x1e", c->suite, cl_scenario_name(c->scenario), c->data_dir);
    params_text(b, c->model);
    params_text(b, c->train);
    params_text(b, c->suite_p);
}

/* Which parameters differ between runs that use the same spec table:
 * one entry per table (model, train, each suite family, each strategy). */
#define VARY_TABLES 128
#define VARY_PARAMS 64

typedef struct vary {
    const cl_params *ref;           /* the first run's values */
    unsigned char flag[VARY_PARAMS];
} vary;

static const cl_params *table_of(const cl_config *c, int s)
{
    return s == 0 ? c->model : s == 1 ? c->train : s == 2 ? c->suite_p : c->strat;
}

static vary *vary_find(vary *v, int nv, const cl_params *p)
{
    for (int i = 0; i < nv; i++)
        if (cl_params_spec_at(v[i].ref, 0) == cl_params_spec_at(p, 0)) return &v[i];
    return NULL;
}

static int vary_scan(vary *v, cl_config *const *cells, int n)
{
    int nv = 0;
    for (int i = 0; i < n; i++)
        for (int s = 0; s < 4; s++) {
            const cl_params *p = table_of(cells[i], s);
            vary *e = vary_find(v, nv, p);
            if (!e && nv < VARY_TABLES) {
                v[nv] = (vary){.ref = p};
                nv++;
                continue;
            }
            for (int k = 0; e && k < cl_params_count(p) && k < VARY_PARAMS; k++)
                e->flag[k] |= strcmp(cl_params_text_at(p, k), cl_params_text_at(e->ref, k)) != 0;
        }
    return nv;
}

/* "train.lr=0.001, ewc.lambda=10": the settings that tell this table's runs
 * from the other tables' (suite and scenario are in the table's header). */
static void caption(FILE *f, vary *v, int nv, const cl_config *c, int variant)
{
    int any = 0;
    for (int s = 0; s < (variant ? 4 : 3); s++) {
        const cl_params *p = table_of(c, s);
        const vary *e = vary_find(v, nv, p);
        for (int k = 0; e && k < cl_params_count(p) && k < VARY_PARAMS; k++)
            if (e->flag[k]) {
                fprintf(f, "%s%s.%s=%s", any ? ", " : "", cl_params_ns(p),
                        cl_params_spec_at(p, k)->name, cl_params_text_at(p, k));
                any = 1;
            }
    }
    if (any) fprintf(f, "\n");
}

/* Rows in registry order (naive first, joint last) whatever ran first. */
static void print_comparison(cl_json **docs, int n)
{
    const cl_json **sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted) return;
    for (int i = 0; i < n; i++) {
        int k = i;
        while (k > 0 && registry_index(sorted[k - 1]) > registry_index(docs[i])) {
            sorted[k] = sorted[k - 1];
            k--;
        }
        sorted[k] = docs[i];
    }
    cl_table_print_comparison(stdout, sorted, n);
    free(sorted);
}

static int print_tables(cl_config *const *cells, cl_json **docs, int n)
{
    cl_strbuf *keys = calloc((size_t)n, sizeof *keys), *strat = calloc((size_t)n, sizeof *strat);
    int *table = malloc((size_t)n * sizeof *table), *variant = calloc((size_t)n, sizeof *variant);
    cl_json **group = malloc((size_t)n * sizeof *group);
    vary *v = malloc(VARY_TABLES * sizeof *v);
    int rc = keys && strat && table && variant && group && v ? 0 : CL_ENOMEM;
    int nv = rc ? 0 : vary_scan(v, cells, n);
    for (int i = 0; !rc && i < n; i++) {
        cl_strbuf_init(&keys[i]);
        shared_key(&keys[i], cells[i]);
        rc = cl_strbuf_status(&keys[i]);
    }
    /* A strategy with several variants under one shared key: key each of
     * its runs by its variant too. */
    for (int i = 0; !rc && i < n; i++) {
        cl_strbuf_init(&strat[i]);
        params_text(&strat[i], cells[i]->strat);
        rc = cl_strbuf_status(&strat[i]);
    }
    for (int i = 0; !rc && i < n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(cells[i]->strategy, cells[j]->strategy) && !strcmp(keys[i].s, keys[j].s) &&
                strcmp(strat[i].s, strat[j].s) != 0)
                variant[i] = variant[j] = 1;
    for (int i = 0; !rc && i < n; i++)
        if (variant[i]) {
            cl_strbuf_printf(&keys[i], "\x1d%s\x1d%s", cells[i]->strategy, strat[i].s);
            rc = cl_strbuf_status(&keys[i]);
        }
    int n_tables = 0;
    for (int i = 0; !rc && i < n; i++) {
        table[i] = -1;
        for (int j = 0; j < i && table[i] < 0; j++)
            if (!strcmp(keys[i].s, keys[j].s)) table[i] = table[j];
        if (table[i] < 0) table[i] = n_tables++;
    }
    for (int t = 0, first = 0; !rc && t < n_tables; t++) {
        int m = 0;
        while (table[first] != t) first++;
        for (int i = first; i < n; i++)
            if (table[i] == t) group[m++] = docs[i];
        if (t) printf("\n");
        if (n_tables > 1) caption(stdout, v, nv, cells[first], variant[first]);
        print_comparison(group, m);
    }
    for (int i = 0; keys && strat && i < n; i++) {
        cl_strbuf_release(&keys[i]);
        cl_strbuf_release(&strat[i]);
    }
    free(keys);
    free(strat);
    free(v);
    free(table);
    free(variant);
    free(group);
    if (rc) fprintf(stderr, "clbench: out of memory\n");
    return rc ? 1 : 0;
}

static void print_json(const cl_exec_opts *o, cl_config *const *cells, int done)
{
    for (int i = 0; i < done; i++) {
        char path[4096];
        char *text;
        cl_results_metrics_path(o->out, cells[i], path, sizeof path);
        if (cl_fs_read_all(path, &text, NULL) == 0) {
            printf("%s%s", done > 1 ? (i ? ",\n" : "[\n") : "", text);
            free(text);
        }
    }
    if (done > 1) printf("]\n");
}

int cl_cli_exec_cells(cl_config *const *cells, int n, const cl_exec_opts *o)
{
    int code = 0;
    cl_json **docs = calloc((size_t)(n > 0 ? n : 1), sizeof *docs);
    if (!docs) {
        fprintf(stderr, "clbench: out of memory\n");
        return 1;
    }
    int done = 0;
    for (int i = 0; i < n && code == 0; i++) {
        code = run_cell(o, cells[i], i, n, &docs[i]);
        if (code == 0) done++;
    }
    int diverged = 0;
    for (int i = 0; i < done; i++) {
        const char *status = cl_json_str(cl_json_get(docs[i], "status"));
        diverged |= status && strcmp(status, "ok") != 0;
    }
    if (code == 0 && done > 0) {
        if (!strcmp(o->format, "json")) print_json(o, cells, done);
        else if (done == 1) cl_table_print_run(stdout, docs[0]);
        else code = print_tables(cells, docs, done);
    }
    for (int i = 0; i < n; i++) cl_json_free(docs[i]);
    free(docs);
    return code ? code : diverged ? 1 : 0;
}
