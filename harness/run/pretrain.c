/* The pretraining cache (clbench/run/pretrain.h): one checkpoint-container
 * file per key, <dir>/pretrain-<key>.bin, section "PRET": the key, the
 * FLOPs, the parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/run/pretrain.h"
#include "clbench/store/ckpt.h"

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s) { return fnv(h, s, strlen(s) + 1); }

static uint64_t fnv_table(uint64_t h, const cl_params *p)
{
    for (int i = 0; i < cl_params_count(p); i++) {
        h = fnv_str(h, cl_params_spec_at(p, i)->name);
        h = fnv_str(h, cl_params_text_at(p, i));
    }
    return h;
}

uint64_t cl_pretrain_key(const cl_config *cfg, const cl_task *t0, long steps)
{
    char num[64];
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv_str(h, "clbench " CL_VERSION " (" CL_GIT_REV ")");
    h = fnv_str(h, cfg->net->name);
    h = fnv_table(h, cfg->model);
    h = fnv_table(h, cfg->train);
    snprintf(num, sizeof num, "seed %lu steps %ld bytes %zu", cfg->seed, steps, t0->text.train_len);
    h = fnv_str(h, num);
    return fnv(h, t0->text.train, t0->text.train_len);
}

static void path_of(char *buf, size_t n, const char *dir, uint64_t key)
{
    snprintf(buf, n, "%s/pretrain-%016llx.bin", dir, (unsigned long long)key);
}

int cl_pretrain_load(const char *dir, uint64_t key, cl_net *net, double *flops)
{
    char path[4096];
    path_of(path, sizeof path, dir, key);
    if (!cl_fs_exists(path)) return CL_ENOTFOUND;
    char *data;
    size_t len;
    if (cl_fs_read_all(path, &data, &len)) return CL_ENOTFOUND;
    cl_ckpt_reader *r;
    int rc = cl_ckpt_reader_new(&r, data, len, path);
    uint64_t k = 0;
    long n = 0;
    if (rc == 0) {
        if ((rc = cl_ckpt_open(r, "PRET")) == 0 && (rc = cl_ckpt_get_u64(r, &k)) == 0 &&
            (rc = cl_ckpt_get_long(r, "the parameter count", &n, 0, (long)net->n_params)) == 0 &&
            (rc = k == key && n == (long)net->n_params ? 0 : CL_EDATA) == 0 &&
            (rc = cl_ckpt_get_f64(r, flops)) == 0)
            rc = cl_ckpt_get_f32s(r, net->params, net->n_params);
        if (rc == 0) rc = cl_ckpt_close(r);
        cl_ckpt_reader_free(r);
    }
    free(data);
    return rc ? CL_ENOTFOUND : 0;
}

int cl_pretrain_save(const char *dir, uint64_t key, const cl_net *net, double flops)
{
    char path[4096];
    path_of(path, sizeof path, dir, key);
    int rc = cl_fs_mkdirs(dir);
    if (rc) return rc;
    cl_ckpt_writer *w;
    if ((rc = cl_ckpt_writer_new(&w))) return rc;
    cl_ckpt_section(w, "PRET");
    cl_ckpt_put_u64(w, key);
    cl_ckpt_put_i64(w, (int64_t)net->n_params);
    cl_ckpt_put_f64(w, flops);
    cl_ckpt_put_f32s(w, net->params, net->n_params);
    return cl_ckpt_writer_save(w, path);
}
