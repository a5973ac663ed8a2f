#include <stdio.h>
#include <string.h>
#include <cblas.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/store/json.h"
#include "clbench/run/metrics.h"
#include "clbench/run/results.h"

static void json_matrix(cl_strbuf *b, const double *M, int rows, int cols)
{
    cl_strbuf_puts(b, "[");
    for (int i = 0; i < rows; i++) {
        cl_strbuf_puts(b, i ? ",\n    [" : "\n    [");
        for (int j = 0; j < cols; j++) {
            if (j) cl_strbuf_puts(b, ", ");
            cl_strbuf_json_num(b, M[(size_t)i * cols + j]);
        }
        cl_strbuf_puts(b, "]");
    }
    cl_strbuf_puts(b, "\n  ]");
}

/* Parameter values typed as JSON: numbers and booleans bare, lists as arrays. */
static void json_params(cl_strbuf *b, const cl_params *p)
{
    cl_strbuf_puts(b, "{");
    for (int i = 0; i < cl_params_count(p); i++) {
        const cl_param_spec *s = cl_params_spec_at(p, i);
        const char *v = cl_params_text_at(p, i);
        cl_strbuf_puts(b, i ? ", " : "");
        cl_strbuf_json_str(b, s->name);
        cl_strbuf_puts(b, ": ");
        if (s->type == CL_PARAM_CHOICE) cl_strbuf_json_str(b, v);
        else if (s->type == CL_PARAM_INTS) cl_strbuf_printf(b, "[%s]", v);
        else cl_strbuf_puts(b, v);
    }
    cl_strbuf_puts(b, "}");
}

static void kv_num(cl_strbuf *b, const char *k, double v, int last)
{
    cl_strbuf_printf(b, "    \"%s\": ", k);
    cl_strbuf_json_num(b, v);
    cl_strbuf_puts(b, last ? "\n" : ",\n");
}

void cl_results_metrics_json(cl_strbuf *b, const cl_config *cfg, const cl_run_result *r)
{
    char run_id[256];
    cl_config_run_id(cfg, run_id, sizeof run_id);
    const cl_metrics *m = &r->metrics;
    const cl_ledger *l = &r->ledger;
    cl_strbuf_printf(b, "{\n  \"schema_version\": %d,\n  \"metrics_version\": %d,\n",
                     CL_SCHEMA_VERSION, CL_METRICS_VERSION);
    cl_strbuf_puts(b, "  \"run_id\": ");
    cl_strbuf_json_str(b, run_id);
    cl_strbuf_puts(b, ",\n  \"suite\": ");
    cl_strbuf_json_str(b, cfg->suite);
    cl_strbuf_printf(b, ",\n  \"scenario\": \"%s\",\n  \"strategy\": ", cl_scenario_name(cfg->scenario));
    cl_strbuf_json_str(b, cfg->strategy);
    cl_strbuf_printf(b, ",\n  \"seed\": %lu,\n  \"params\": ", cfg->seed);
    json_params(b, cfg->strat);
    cl_strbuf_puts(b, ",\n  \"suite_params\": ");
    json_params(b, cfg->suite_p);
    cl_strbuf_puts(b, ",\n  \"model\": ");
    json_params(b, cfg->model);
    cl_strbuf_puts(b, ",\n  \"train\": ");
    json_params(b, cfg->train);
    cl_strbuf_printf(b, ",\n  \"tasks\": %d,\n", r->T);
    cl_strbuf_printf(b, "  \"assumptions\": {\"task_boundaries\": %s, \"task_id_at_test\": %s, "
                        "\"stores_samples\": %s},\n",
                     r->assumes.task_boundaries ? "true" : "false",
                     r->assumes.task_id_at_test || cfg->scenario == CL_SCENARIO_TASK ? "true" : "false",
                     r->assumes.stores_samples ? "true" : "false");
    cl_strbuf_printf(b, "  \"protocol\": {\"steps_per_task\": %ld, \"batch_size\": %d, "
                        "\"inputs\": %d, \"outputs\": %d, \"parameters\": %zu, \"data\": ",
                     r->steps_per_task, r->batch_size, r->d, r->n_classes, r->n_params);
    cl_strbuf_json_str(b, r->recipe);
    cl_strbuf_puts(b, "},\n  \"R\": ");
    json_matrix(b, r->R, r->T + 1, r->T);
    if (r->stale) {
        cl_strbuf_puts(b, ",\n  \"stale\": ");
        json_matrix(b, r->stale, r->T + 1, r->T);
    }
    cl_strbuf_puts(b, ",\n  \"metrics\": {\n");
    kv_num(b, "acc", m->acc, 0);
    kv_num(b, "bwt", m->bwt, 0);
    kv_num(b, "bwt_gemcode", m->bwt_gemcode, 0);
    kv_num(b, "fwt", m->fwt, 0);
    kv_num(b, "forgetting", m->forgetting, 0);
    kv_num(b, "learning_accuracy", m->learning_accuracy, 0);
    kv_num(b, "a_diaz", m->a_diaz, 0);
    kv_num(b, "anytime_acc", m->anytime_acc, 0);
    kv_num(b, "min_acc", m->min_acc, 0);
    kv_num(b, "intransigence", m->intransigence, 1);
    cl_strbuf_puts(b, "  },\n  \"ledger\": {\n");
    /* Timing fields sit on lines of their own: everything else is
     * byte-identical across reruns. */
    kv_num(b, "extra_bytes", (double)l->extra_bytes, 0);
    kv_num(b, "train_flops", r->train_flops, 0);
    kv_num(b, "eval_flops", r->eval_flops, 0);
    kv_num(b, "replay_flops", l->replay_flops, 0);
    kv_num(b, "distill_flops", l->distill_flops, 0);
    kv_num(b, "fisher_flops", l->fisher_flops, 0);
    kv_num(b, "penalty_flops", l->penalty_flops, 0);
    kv_num(b, "retrieval_flops", l->retrieval_flops, 0);
    kv_num(b, "adapt_flops", l->adapt_flops, 0);
    kv_num(b, "wall_s", r->wall_s, 0);
    kv_num(b, "train_s", r->train_s, 0);
    kv_num(b, "eval_s", r->eval_s, 0);
    kv_num(b, "peak_rss_bytes", (double)r->peak_rss_bytes, 1);
    cl_strbuf_puts(b, "  },\n  \"build\": {\"version\": \"" CL_VERSION "\", \"git\": \"" CL_GIT_REV
                      "\", \"compiler\": \"gcc " __VERSION__ "\", \"blas\": ");
    cl_strbuf_json_str(b, openblas_get_config());
    cl_strbuf_printf(b, ", \"threads\": %d},\n", cfg->threads);
    cl_strbuf_printf(b, "  \"status\": \"%s\",\n  \"reason\": ",
                     r->status == CL_RUN_OK ? "ok" : "diverged");
    if (r->status == CL_RUN_OK) cl_strbuf_puts(b, "null");
    else cl_strbuf_json_str(b, r->reason);
    cl_strbuf_puts(b, "\n}\n");
}

static void matrix_csv(cl_strbuf *b, const cl_run_result *r)
{
    cl_strbuf_puts(b, r->stale ? "stage,task,accuracy,stale\n" : "stage,task,accuracy\n");
    for (int i = 0; i <= r->T; i++)
        for (int j = 0; j < r->T; j++) {
            cl_strbuf_printf(b, "%d,%d,", i, j + 1);
            cl_strbuf_json_num(b, r->R[(size_t)i * r->T + j]);
            if (r->stale) {
                cl_strbuf_puts(b, ",");
                cl_strbuf_json_num(b, r->stale[(size_t)i * r->T + j]);
            }
            cl_strbuf_puts(b, "\n");
        }
}

static void curve_csv(cl_strbuf *b, const cl_run_result *r)
{
    const cl_curve *c = &r->curve;
    cl_strbuf_puts(b, "step,trained_task,task,accuracy\n");
    for (int e = 0; e < c->n; e++)
        for (int j = 0; j < c->T; j++) {
            cl_strbuf_printf(b, "%ld,%d,%d,", c->step[e], c->stage[e] + 1, j + 1);
            cl_strbuf_json_num(b, c->acc[(size_t)e * c->T + j]);
            cl_strbuf_puts(b, "\n");
        }
}

void cl_results_metrics_path(const char *root, const cl_config *cfg, char *buf, size_t n)
{
    char id[256];
    cl_config_run_id(cfg, id, sizeof id);
    snprintf(buf, n, "%s/%s/metrics.json", root, id);
}

static int write_buf(const char *dir, const char *name, cl_strbuf *b)
{
    int rc = cl_strbuf_status(b);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (rc == 0) rc = cl_fs_write_atomic(path, b->s ? b->s : "", b->len);
    cl_strbuf_release(b);
    return rc;
}

int cl_results_write(const char *root, const cl_config *cfg, const cl_run_result *r,
                     char *dir_out, size_t n)
{
    char id[256];
    cl_config_run_id(cfg, id, sizeof id);
    if (snprintf(dir_out, n, "%s/%s", root, id) >= (int)n)
        return cl_error_set(CL_EINVAL, "results path too long under '%s'", root);
    int rc = cl_fs_mkdirs(dir_out);
    if (rc) return rc;
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_config_yaml(cfg, &b);
    if ((rc = write_buf(dir_out, "config.yaml", &b))) return rc;
    cl_strbuf_init(&b);
    cl_strbuf_puts(&b, r->log.s ? r->log.s : "");
    if ((rc = write_buf(dir_out, "log.txt", &b))) return rc;
    cl_strbuf_init(&b);
    matrix_csv(&b, r);
    if ((rc = write_buf(dir_out, "matrix.csv", &b))) return rc;
    cl_strbuf_init(&b);
    curve_csv(&b, r);
    if ((rc = write_buf(dir_out, "curve.csv", &b))) return rc;
    cl_strbuf_init(&b);
    cl_results_metrics_json(&b, cfg, r);
    return write_buf(dir_out, "metrics.json", &b);
}

int cl_results_fill_intransigence(const char *root, const cl_config *cfg, cl_run_result *r)
{
    if (!strcmp(cfg->strategy, "joint") || r->status != CL_RUN_OK) return CL_ENOTFOUND;
    cl_config *jc;
    int rc = cl_config_for_strategy(&jc, cfg, "joint");
    if (rc) return rc;
    char path[4096];
    cl_results_metrics_path(root, jc, path, sizeof path);
    cl_config_free(jc);
    if (!cl_fs_exists(path)) return CL_ENOTFOUND;
    cl_json *doc;
    if ((rc = cl_json_parse_file(&doc, path))) return rc;
    const cl_json *R = cl_json_get(doc, "R");
    int T = r->T;
    rc = CL_ENOTFOUND;
    const char *status = cl_json_str(cl_json_get(doc, "status"));
    if (status && !strcmp(status, "ok") && cl_json_len(R) == (size_t)T + 1) {
        double *Rj = malloc((size_t)(T + 1) * T * sizeof *Rj);
        rc = Rj ? 0 : cl_error_set(CL_ENOMEM, "out of memory");
        for (int i = 0; Rj && i <= T; i++)
            for (int j = 0; j < T; j++)
                Rj[(size_t)i * T + j] = cl_json_num(cl_json_at(cl_json_at(R, (size_t)i), (size_t)j));
        if (Rj) r->metrics.intransigence = cl_metrics_intransigence(r->R, Rj, T);
        free(Rj);
    }
    cl_json_free(doc);
    return rc;
}
