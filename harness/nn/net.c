#include <stdlib.h>
#include <string.h>
#include "clbench/nn/net.h"
#include "clbench/base/error.h"
#include "clbench/base/floats.h"
#include "clbench/base/fsutil.h"
#include "clbench/store/ckpt.h"

static const cl_net_ops *const registry[] = {&cl_net_mlp, &cl_net_gpt};
#define N_NETS ((int)(sizeof registry / sizeof registry[0]))

int cl_net_count(void) { return N_NETS; }

const cl_net_ops *cl_net_at(int i) { return i >= 0 && i < N_NETS ? registry[i] : NULL; }

int cl_net_find(const cl_net_ops **out, const char *name)
{
    for (int i = 0; i < N_NETS; i++)
        if (!strcmp(registry[i]->name, name)) {
            *out = registry[i];
            return 0;
        }
    return cl_error_set(CL_EINVAL, "model.net: unknown network '%s' (valid: mlp, gpt)", name);
}

void cl_net_free(cl_net *n)
{
    if (!n) return;
    if (n->impl) n->ops->destroy(n->impl);
    cl_params_free(n->p);
    free(n->params);
    free(n->grads);
    free(n->opt_m);
    free(n->opt_v);
    free(n->spans);
    free(n->dlogits);
    free(n->labels);
    free(n);
}

/* The network of `ops` with its blocks allocated and bound, uninitialised. */
static int build(cl_net **out, const cl_net_ops *ops, const cl_params *p, int d_in, int n_out,
                 const cl_optim_config *opt)
{
    *out = NULL;
    CL_ASSERT(ops->version == CL_NET_OPS_VERSION);
    cl_net *n = calloc(1, sizeof *n);
    if (!n) return cl_error_set(CL_ENOMEM, "out of memory allocating the network");
    n->ops = ops;
    n->d_in = d_in;
    n->n_out = n_out;
    n->rows_per_sample = 1;
    n->opt = *opt;
    n->lr = opt->lr;
    int rc = cl_params_clone(&n->p, p);
    if (rc == 0) rc = ops->create(&n->impl, n, n->p, d_in, n_out);
    if (rc) {
        cl_net_free(n);
        return rc;
    }
    n->params = cl_floats_new(n->n_params);
    n->grads = cl_floats_new(n->n_params);
    n->opt_m = cl_floats_new(n->n_params);
    n->opt_v = cl_floats_new(n->n_params);
    n->n_spans = ops->blocks(n->impl, NULL, 0);
    n->spans = calloc((size_t)n->n_spans + 1, sizeof *n->spans);
    cl_net_block *blocks = calloc((size_t)n->n_spans + 1, sizeof *blocks);
    if (!n->params || !n->grads || !n->opt_m || !n->opt_v || !n->spans || !blocks) {
        free(blocks);
        cl_net_free(n);
        return cl_error_set(CL_ENOMEM, "out of memory allocating the network's blocks");
    }
    ops->blocks(n->impl, blocks, n->n_spans);
    for (int i = 0; i < n->n_spans; i++)
        n->spans[i] = (cl_optim_span){blocks[i].offset, blocks[i].size, blocks[i].decay};
    free(blocks);
    ops->bind(n->impl, n->params, n->grads);
    *out = n;
    return 0;
}

int cl_net_new(cl_net **out, const cl_net_ops *ops, const cl_params *p, int d_in, int n_out,
               const cl_optim_config *opt, gsl_rng *rng)
{
    int rc = build(out, ops, p, d_in, n_out, opt);
    if (rc == 0) ops->init((*out)->impl, rng);
    return rc;
}

int cl_net_clone(cl_net **out, const cl_net *src)
{
    int rc = build(out, src->ops, src->p, src->d_in, src->n_out, &src->opt);
    if (rc) return rc;
    cl_net *n = *out;
    size_t bytes = src->n_params * sizeof(float);
    memcpy(n->params, src->params, bytes);
    memcpy(n->grads, src->grads, bytes);
    memcpy(n->opt_m, src->opt_m, bytes);
    memcpy(n->opt_v, src->opt_v, bytes);
    n->opt_t = src->opt_t;
    n->lr = src->lr;
    return 0;
}

/* Grows dlogits and labels to `rows`, doubling from 16. */
static int reserve_rows(cl_net *n, int rows)
{
    if (rows <= n->cap) return 0;
    int c = n->cap ? n->cap : 16;
    while (c < rows) c *= 2;
    free(n->dlogits);
    free(n->labels);
    n->dlogits = cl_floats_new((size_t)c * n->n_out);
    n->labels = malloc((size_t)c * sizeof *n->labels);
    if (!n->dlogits || !n->labels) {
        n->cap = 0;
        return cl_error_set(CL_ENOMEM, "out of memory for a batch of %d rows", rows);
    }
    n->cap = c;
    return 0;
}

int cl_net_forward(cl_net *n, const float *x, int samples, const float **logits)
{
    CL_ASSERT(samples >= 1);
    int rc = reserve_rows(n, cl_net_rows(n, samples));
    if (rc) return rc;
    n->batch = samples;
    return n->ops->forward(n->impl, x, samples, logits);
}

int cl_net_backward_into(cl_net *n, const float *dlogits, float *target, int squared)
{
    return n->ops->backward(n->impl, dlogits, target, squared);
}

int cl_net_backward(cl_net *n, const float *dlogits)
{
    return n->ops->backward(n->impl, dlogits, n->grads, 0);
}

void cl_net_zero_grad(cl_net *n) { memset(n->grads, 0, n->n_params * sizeof(float)); }

void cl_net_step(cl_net *n)
{
    cl_optim_step(&n->opt, n->lr, n->params, n->grads, n->opt_m, n->opt_v, n->n_params,
                  n->opt_t, n->spans, n->n_spans);
    n->opt_t++;
}

void cl_net_reset_optim(cl_net *n)
{
    memset(n->opt_m, 0, n->n_params * sizeof(float));
    memset(n->opt_v, 0, n->n_params * sizeof(float));
    n->opt_t = 0;
}

size_t cl_net_param_bytes(const cl_net *n) { return n->n_params * sizeof(float); }

int cl_net_labels(cl_net *n, const float *x, const int *y, int samples, const int **labels)
{
    if (n->ops->input == CL_NET_FEATURES) {
        *labels = y;
        return 0;
    }
    int T = n->rows_per_sample, rc = reserve_rows(n, samples * T);
    if (rc) return rc;
    for (int s = 0; s < samples; s++) {
        const float *w = x + (size_t)s * n->d_in; /* (T + 1) bytes as floats */
        for (int t = 0; t < T; t++) n->labels[(size_t)s * T + t] = (int)w[t + 1];
    }
    *labels = n->labels;
    return 0;
}

int cl_net_top(const cl_net *n, cl_net_dense *out, int max)
{
    return n->ops->top(n->impl, out, max);
}

const float *cl_net_features(const cl_net *n)
{
    cl_net_dense top[CL_NET_MAX_TOP];
    int k = n->ops->top(n->impl, top, CL_NET_MAX_TOP);
    return top[k - 1].input;
}

/* ---- net files ----------------------------------------------------------- */

#define NET_MAGIC "clbench-net 1"

int cl_net_save(const cl_net *n, const char *path)
{
    cl_ckpt_writer *w;
    int rc = cl_ckpt_writer_new(&w);
    if (rc) return rc;
    cl_ckpt_section(w, "NET ");
    cl_ckpt_put_str(w, NET_MAGIC);
    cl_ckpt_put_str(w, n->ops->name);
    cl_ckpt_put_i64(w, n->d_in);
    cl_ckpt_put_i64(w, n->n_out);
    int k = cl_params_count(n->p);
    cl_ckpt_put_i64(w, k);
    for (int i = 0; i < k; i++) {
        cl_ckpt_put_str(w, cl_params_spec_at(n->p, i)->name);
        cl_ckpt_put_str(w, cl_params_text_at(n->p, i));
    }
    cl_ckpt_put_f32s(w, n->params, n->n_params);
    return cl_ckpt_writer_save(w, path);
}

/* The model table stored in a net file, validated against ops' specs. */
static int read_table(cl_ckpt_reader *r, const char *path, const cl_net_ops *ops,
                      cl_params **out)
{
    int k, rc = cl_ckpt_get_int(r, "the parameter count", &k, 0, 256);
    if (rc == 0) rc = cl_params_new(out, "model", ops->params);
    for (int i = 0; rc == 0 && i < k; i++) {
        char name[64], value[256];
        if ((rc = cl_ckpt_get_str(r, name, sizeof name)) ||
            (rc = cl_ckpt_get_str(r, value, sizeof value)))
            break;
        if ((rc = cl_params_set(*out, name, value)))
            rc = cl_error_set(CL_EDATA, "%s: model.%s = '%s' does not fit the %s network",
                              path, name, value, ops->name);
    }
    return rc;
}

static int read_net(cl_ckpt_reader *r, const char *path, const cl_optim_config *opt,
                    cl_net **out)
{
    char magic[32], name[32];
    int rc = cl_ckpt_open(r, "NET ");
    if (rc == 0) rc = cl_ckpt_get_str(r, magic, sizeof magic);
    if (rc == 0 && strcmp(magic, NET_MAGIC))
        return cl_error_set(CL_EDATA, "%s: not a clbench net file", path);
    if (rc == 0) rc = cl_ckpt_get_str(r, name, sizeof name);
    const cl_net_ops *ops = NULL;
    if (rc == 0 && cl_net_find(&ops, name))
        return cl_error_set(CL_EDATA, "%s: unknown network '%s'", path, name);
    int d_in = 0, n_out = 0;
    if (rc == 0) rc = cl_ckpt_get_int(r, "the input width", &d_in, 1, 1 << 24);
    if (rc == 0) rc = cl_ckpt_get_int(r, "the output width", &n_out, 1, 1 << 24);
    cl_params *p = NULL;
    if (rc == 0) rc = read_table(r, path, ops, &p);
    if (rc == 0) rc = build(out, ops, p, d_in, n_out, opt);
    cl_params_free(p);
    if (rc == 0) rc = cl_ckpt_get_f32s(r, (*out)->params, (*out)->n_params);
    if (rc == 0) rc = cl_ckpt_close(r);
    return rc;
}

int cl_net_load(cl_net **out, const char *path, const cl_optim_config *opt)
{
    *out = NULL;
    static const cl_optim_config frozen = {CL_OPTIM_SGD, 0.0f, 0.0f, 0.9f, 0.999f, 1e-8f, 0.0f};
    char *data;
    size_t len;
    int rc = cl_fs_read_all(path, &data, &len);
    if (rc) return rc;
    cl_ckpt_reader *r;
    rc = cl_ckpt_reader_new(&r, data, len, path);
    if (rc == 0) {
        rc = read_net(r, path, opt ? opt : &frozen, out);
        cl_ckpt_reader_free(r);
    }
    free(data);
    if (rc) {
        cl_net_free(*out);
        *out = NULL;
        if (rc != CL_ENOMEM) rc = CL_EDATA;
    }
    return rc;
}
