#include <math.h>
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

const char *const cl_results_acc_names[10] = {
    "acc", "bwt", "bwt_gemcode", "fwt", "forgetting", "learning_accuracy", "a_diaz",
    "anytime_acc", "min_acc", "intransigence"};
const char *const cl_results_bits_names[10] = {
    "bpb", "bwt_bits", "bwt_gemcode_bits", "fwt_bits", "forgetting_bits", "learning_bpb",
    "a_diaz_bpb", "anytime_bpb", "max_bpb", "intransigence_bits"};

/* Bytes of the stream trained on per second of training. */
static double tokens_per_s(const cl_run_result *r)
{
    return r->train_s > 0 ? (double)r->text->bytes_read / r->train_s : NAN;
}

/* Prequential sums over the streamed tasks (pretraining has none). */
static void preq_totals(const cl_run_result *r, double *bits, double *frozen, double *n)
{
    *bits = *frozen = *n = 0;
    for (int j = 0; j < r->T; j++) {
        *bits += r->text->preq_bits[j];
        *frozen += r->text->frozen_bits[j];
        *n += (double)r->text->preq_bytes[j];
    }
}

static void text_metrics(cl_strbuf *b, const cl_run_result *r)
{
    const cl_text_result *x = r->text;
    double bits, frozen, n;
    preq_totals(r, &bits, &frozen, &n);
    kv_num(b, "preq_bpb", n ? bits / n : NAN, 0);
    kv_num(b, "frozen_bpb", n ? frozen / n : NAN, 0);
    for (int d = 0; d < x->n_delays; d++) {
        double fb, fe, cb, ce;
        cl_text_probe_means(x, d, &fb, &fe, &cb, &ce);
        char key[64];
        snprintf(key, sizeof key, "fact_exact_%ld", x->delays[d]);
        kv_num(b, key, fe, 0);
        snprintf(key, sizeof key, "fact_bits_%ld", x->delays[d]);
        kv_num(b, key, fb, 0);
    }
    /* frozen - prequential: > 0 when switching backprop on paid off. */
    kv_num(b, "preq_gain_bits", n ? (frozen - bits) / n : NAN, 1);
}

/* Per task bits per byte: which = 0 prequential, 1 frozen, 2 the gain. */
static void json_preq(cl_strbuf *b, const cl_text_result *x, int which)
{
    cl_strbuf_puts(b, "[");
    for (int j = 0; j < x->T; j++) {
        double n = (double)x->preq_bytes[j];
        double v = which == 0 ? x->preq_bits[j] : which == 1 ? x->frozen_bits[j]
                                                              : x->frozen_bits[j] - x->preq_bits[j];
        if (j) cl_strbuf_puts(b, ", ");
        cl_strbuf_json_num(b, n ? v / n : NAN);
    }
    cl_strbuf_puts(b, "]");
}

static void probe_obj(cl_strbuf *b, const cl_text_result *x, int d)
{
    double fb, fe, cb, ce;
    int n = cl_text_probe_means(x, d, &fb, &fe, &cb, &ce);
    cl_strbuf_printf(b, "{\"delay\": %ld, \"n\": %d, \"bits\": ", d < 0 ? 0 : x->delays[d], n);
    cl_strbuf_json_num(b, fb);
    cl_strbuf_puts(b, ", \"exact\": ");
    cl_strbuf_json_num(b, fe);
    cl_strbuf_puts(b, ", \"ctx_bits\": ");
    cl_strbuf_json_num(b, cb);
    cl_strbuf_puts(b, ", \"ctx_exact\": ");
    cl_strbuf_json_num(b, ce);
    cl_strbuf_puts(b, "}");
}

/* Per domain prequential scores and the fact probes by delay. */
static void text_section(cl_strbuf *b, const cl_run_result *r)
{
    const cl_text_result *x = r->text;
    int T = r->T;
    cl_strbuf_printf(b, "  \"text\": {\n    \"ctx\": %d,\n    \"pretrain_tasks\": %d,\n"
                        "    \"domains\": [", r->ctx, r->pretrain);
    for (int j = 0; j < T; j++) {
        if (j) cl_strbuf_puts(b, ", ");
        cl_strbuf_json_str(b, r->names[j]);
    }
    cl_strbuf_puts(b, "],\n    \"preq_bpb\": ");
    json_preq(b, x, 0);
    cl_strbuf_puts(b, ",\n    \"frozen_bpb\": ");
    json_preq(b, x, 1);
    cl_strbuf_puts(b, ",\n    \"preq_gain_bits\": ");
    json_preq(b, x, 2);
    cl_strbuf_printf(b, ",\n    \"bytes_read\": %ld,\n    \"pretraining\": {\"steps\": %ld, "
                        "\"flops\": ", x->bytes_read, x->pretrain_steps);
    cl_strbuf_json_num(b, x->pretrain_flops);
    cl_strbuf_printf(b, "},\n    \"facts\": {\"n\": %d, \"copies\": %d, \"before\": ", r->n_facts,
                     r->n_facts ? r->facts[0].copies : 0);
    probe_obj(b, x, -1);
    cl_strbuf_puts(b, ",\n      \"at\": [");
    for (int d = 0; d < x->n_delays; d++) {
        cl_strbuf_puts(b, d ? ",\n        " : "");
        probe_obj(b, x, d);
    }
    cl_strbuf_puts(b, "]}\n  },\n");
}

static void preq_csv(cl_strbuf *b, const cl_run_result *r)
{
    cl_strbuf_puts(b, "step,bytes,task,bpb,frozen_bpb\n");
    for (int i = 0; i < r->text->n_points; i++) {
        const cl_preq_point *p = &r->text->points[i];
        cl_strbuf_printf(b, "%ld,%ld,%d,", p->step, p->bytes, p->task + 1);
        cl_strbuf_json_num(b, p->bits / (double)p->n);
        cl_strbuf_puts(b, ",");
        cl_strbuf_json_num(b, p->frozen_bits / (double)p->n);
        cl_strbuf_puts(b, "\n");
    }
}

static void probes_csv(cl_strbuf *b, const cl_run_result *r)
{
    const cl_text_result *x = r->text;
    cl_strbuf_puts(b, "fact,task,delay,delay_bytes,bits,exact,ctx_bits,ctx_exact\n");
    for (int i = 0; i < x->n_probes; i++) {
        const cl_probe *p = &x->probes[i];
        cl_strbuf_printf(b, "%d,%d,%ld,%ld,", p->fact + 1, r->facts[p->fact].task + 1,
                         p->delay < 0 ? -1L : x->delays[p->delay], p->delay_bytes);
        cl_strbuf_json_num(b, p->bits);
        cl_strbuf_printf(b, ",%d,", p->exact);
        cl_strbuf_json_num(b, p->ctx_bits);
        cl_strbuf_printf(b, ",%d\n", p->ctx_exact);
    }
}

void cl_results_metrics_json(cl_strbuf *b, const cl_config *cfg, const cl_run_result *r)
{
    char run_id[256];
    cl_config_run_id(cfg, run_id, sizeof run_id);
    const cl_metrics *m = &r->metrics;
    const cl_ledger *l = &r->ledger;
    cl_strbuf_printf(b, "{\n  \"schema_version\": %d,\n  \"metrics_version\": %d,\n"
                        "  \"units\": \"%s\",\n",
                     CL_SCHEMA_VERSION, CL_METRICS_VERSION, r->text ? "bpb" : "accuracy");
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
    /* Text runs: the same formulas on bits (metrics.h), named for it. */
    const char *const *k = r->text ? cl_results_bits_names : cl_results_acc_names;
    const double v[] = {m->acc, m->bwt, m->bwt_gemcode, m->fwt, m->forgetting,
                        m->learning_accuracy, m->a_diaz, m->anytime_acc, m->min_acc,
                        m->intransigence};
    for (int i = 0; i < 10; i++) kv_num(b, k[i], v[i], i == 9 && !r->text);
    if (r->text) text_metrics(b, r);
    cl_strbuf_puts(b, "  },\n");
    if (r->text) text_section(b, r);
    cl_strbuf_puts(b, "  \"ledger\": {\n");
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
    if (r->text) kv_num(b, "tokens_per_s", tokens_per_s(r), 0);
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
    const char *unit = r->text ? "bpb" : "accuracy";
    cl_strbuf_printf(b, r->stale ? "stage,task,%s,stale\n" : "stage,task,%s\n", unit);
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
    cl_strbuf_printf(b, "step,trained_task,task,%s\n", r->text ? "bpb" : "accuracy");
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
    if (r->text) {
        cl_strbuf_init(&b);
        preq_csv(&b, r);
        if ((rc = write_buf(dir_out, "preq.csv", &b))) return rc;
        cl_strbuf_init(&b);
        probes_csv(&b, r);
        if ((rc = write_buf(dir_out, "probes.csv", &b))) return rc;
    }
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
        /* In bits larger is worse: R - Rjoint rather than Rjoint - R. */
        if (Rj) r->metrics.intransigence = r->text ? cl_metrics_intransigence(Rj, r->R, T)
                                                   : cl_metrics_intransigence(r->R, Rj, T);
        free(Rj);
    }
    cl_json_free(doc);
    return rc;
}
