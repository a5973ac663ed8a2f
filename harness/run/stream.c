/* The text run's records (clbench/run/stream.h). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/run/stream.h"

int cl_text_result_new(cl_text_result **out, int T, const long *delays, int n_delays)
{
    *out = NULL;
    cl_text_result *t = calloc(1, sizeof *t);
    if (!t) return cl_error_set(CL_ENOMEM, "out of memory");
    t->T = T;
    t->n_delays = n_delays;
    memcpy(t->delays, delays, (size_t)n_delays * sizeof *delays);
    t->preq_bits = calloc((size_t)T, sizeof *t->preq_bits);
    t->frozen_bits = calloc((size_t)T, sizeof *t->frozen_bits);
    t->preq_bytes = calloc((size_t)T, sizeof *t->preq_bytes);
    if (!t->preq_bits || !t->frozen_bits || !t->preq_bytes) {
        cl_text_result_free(t);
        return cl_error_set(CL_ENOMEM, "out of memory");
    }
    *out = t;
    return 0;
}

void cl_text_result_free(cl_text_result *t)
{
    if (!t) return;
    free(t->preq_bits);
    free(t->frozen_bits);
    free(t->preq_bytes);
    free(t->points);
    free(t->probes);
    free(t);
}

/* Makes room for one more element of `size` bytes in *p (n used, *cap). */
static int room(void **p, int n, int *cap, size_t size)
{
    if (n < *cap) return 0;
    if (*cap > INT_MAX / 2) return cl_error_set(CL_ENOMEM, "too many records");
    int c = *cap ? 2 * *cap : 64;
    void *q = realloc(*p, (size_t)c * size);
    if (!q) return cl_error_set(CL_ENOMEM, "out of memory for %d records", c);
    *p = q;
    *cap = c;
    return 0;
}

int cl_text_add_point(cl_text_result *t, const cl_preq_point *p)
{
    int rc = room((void **)&t->points, t->n_points, &t->cap_points, sizeof *p);
    if (rc) return rc;
    t->points[t->n_points++] = *p;
    return 0;
}

int cl_text_add_probe(cl_text_result *t, const cl_probe *p)
{
    int rc = room((void **)&t->probes, t->n_probes, &t->cap_probes, sizeof *p);
    if (rc) return rc;
    t->probes[t->n_probes++] = *p;
    return 0;
}

int cl_text_probe_means(const cl_text_result *t, int d, double *bits, double *exact,
                        double *ctx_bits, double *ctx_exact)
{
    double s[4] = {0, 0, 0, 0};
    int n = 0, nc = 0;
    for (int i = 0; i < t->n_probes; i++) {
        const cl_probe *p = &t->probes[i];
        /* A prompt longer than the context cannot be probed: not a miss. */
        if (p->delay != d || !isfinite(p->bits)) continue;
        n++;
        s[0] += p->bits;
        s[1] += p->exact;
        if (isfinite(p->ctx_bits)) {
            nc++;
            s[2] += p->ctx_bits;
            s[3] += p->ctx_exact;
        }
    }
    *bits = n ? s[0] / n : NAN;
    *exact = n ? s[1] / n : NAN;
    *ctx_bits = nc ? s[2] / nc : NAN;
    *ctx_exact = nc ? s[3] / nc : NAN;
    return n;
}

int cl_text_probe_window(float *w, int ctx, const cl_fact *f, int with_sentence)
{
    char buf[256];
    int k = with_sentence ? snprintf(buf, sizeof buf, "\n%s%s.\n%s", f->prompt, f->value, f->prompt)
                          : snprintf(buf, sizeof buf, "\n%s", f->prompt);
    int len = (int)strlen(f->value);
    if (k < 0 || k + len > ctx + 1 || k + len >= (int)sizeof buf) return -1;
    memcpy(buf + k, f->value, (size_t)len);
    for (int i = 0; i <= ctx; i++) w[i] = (float)(unsigned char)(i < k + len ? buf[i] : '\n');
    return k;
}

void cl_text_value_score(const double *row_bits, const unsigned char *row_hit, int off, int len,
                         double *bits, int *exact)
{
    *bits = 0;
    *exact = 1;
    for (int j = 0; j < len; j++) {
        *bits += row_bits[off - 1 + j];
        *exact &= row_hit[off - 1 + j];
    }
}

void cl_text_save(const cl_text_result *t, cl_ckpt_writer *w)
{
    cl_ckpt_section(w, "TEXT");
    cl_ckpt_put_f64s(w, t->preq_bits, (size_t)t->T);
    cl_ckpt_put_f64s(w, t->frozen_bits, (size_t)t->T);
    cl_ckpt_put_longs(w, t->preq_bytes, (size_t)t->T);
    cl_ckpt_put_i64(w, t->n_points);
    for (int i = 0; i < t->n_points; i++) {
        const cl_preq_point *p = &t->points[i];
        cl_ckpt_put_i64(w, p->step);
        cl_ckpt_put_i64(w, p->bytes);
        cl_ckpt_put_i64(w, p->task);
        cl_ckpt_put_f64(w, p->bits);
        cl_ckpt_put_f64(w, p->frozen_bits);
        cl_ckpt_put_i64(w, p->n);
    }
    cl_ckpt_put_i64(w, t->n_probes);
    for (int i = 0; i < t->n_probes; i++) {
        const cl_probe *p = &t->probes[i];
        cl_ckpt_put_i64(w, p->fact);
        cl_ckpt_put_i64(w, p->delay);
        cl_ckpt_put_i64(w, p->delay_bytes);
        cl_ckpt_put_f64(w, p->bits);
        cl_ckpt_put_i64(w, p->exact);
        cl_ckpt_put_f64(w, p->ctx_bits);
        cl_ckpt_put_i64(w, p->ctx_exact);
    }
    cl_ckpt_put_i64(w, t->bytes_read);
    cl_ckpt_put_f64(w, t->pretrain_flops);
    cl_ckpt_put_i64(w, t->pretrain_steps);
    cl_ckpt_put_i64(w, t->pretrain_cached);
}

int cl_text_load(cl_text_result *t, cl_ckpt_reader *r, int n_facts)
{
    int rc = cl_ckpt_open(r, "TEXT"), n;
    if (rc == 0) rc = cl_ckpt_get_f64s(r, t->preq_bits, (size_t)t->T);
    if (rc == 0) rc = cl_ckpt_get_f64s(r, t->frozen_bits, (size_t)t->T);
    if (rc == 0) rc = cl_ckpt_get_longs(r, t->preq_bytes, (size_t)t->T);
    if (rc == 0) rc = cl_ckpt_get_int(r, "the prequential points", &n, 0, INT_MAX / 2);
    for (int i = 0; rc == 0 && i < n; i++) {
        cl_preq_point p;
        if ((rc = cl_ckpt_get_long(r, "a step", &p.step, 0, LONG_MAX)) ||
            (rc = cl_ckpt_get_long(r, "bytes read", &p.bytes, 0, LONG_MAX)) ||
            (rc = cl_ckpt_get_int(r, "a task", &p.task, 0, t->T - 1)) ||
            (rc = cl_ckpt_get_f64(r, &p.bits)) || (rc = cl_ckpt_get_f64(r, &p.frozen_bits)) ||
            (rc = cl_ckpt_get_long(r, "scored bytes", &p.n, 0, LONG_MAX)))
            break;
        rc = cl_text_add_point(t, &p);
    }
    if (rc == 0) rc = cl_ckpt_get_int(r, "the probes", &n, 0, INT_MAX / 2);
    for (int i = 0; rc == 0 && i < n; i++) {
        cl_probe p;
        if ((rc = cl_ckpt_get_int(r, "a fact", &p.fact, 0, n_facts - 1)) ||
            (rc = cl_ckpt_get_int(r, "a delay", &p.delay, -1, t->n_delays - 1)) ||
            (rc = cl_ckpt_get_long(r, "a delay in bytes", &p.delay_bytes, 0, LONG_MAX)) ||
            (rc = cl_ckpt_get_f64(r, &p.bits)) ||
            (rc = cl_ckpt_get_int(r, "a match", &p.exact, 0, 1)) ||
            (rc = cl_ckpt_get_f64(r, &p.ctx_bits)) ||
            (rc = cl_ckpt_get_int(r, "a match", &p.ctx_exact, 0, 1)))
            break;
        rc = cl_text_add_probe(t, &p);
    }
    if (rc == 0) rc = cl_ckpt_get_long(r, "bytes read", &t->bytes_read, 0, LONG_MAX);
    if (rc == 0) rc = cl_ckpt_get_f64(r, &t->pretrain_flops);
    if (rc == 0) rc = cl_ckpt_get_long(r, "pretraining steps", &t->pretrain_steps, 0, LONG_MAX);
    if (rc == 0) rc = cl_ckpt_get_int(r, "the cache flag", &t->pretrain_cached, 0, 1);
    return rc ? rc : cl_ckpt_close(r);
}
