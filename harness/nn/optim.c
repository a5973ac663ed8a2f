#include <math.h>
#include <string.h>
#include "clbench/nn/optim.h"
#include "clbench/base/hot.h"

/* The optimiser passes stream every parameter once per step and are the
 * largest cost beside sgemm: hot loops (clbench/hot.h). */

CL_HOT static void step_sgd(const cl_optim_config *o, float lr, float *restrict p,
                            const float *restrict g, float *restrict buf, size_t n, long t)
{
    float mu = o->momentum, wd = o->weight_decay;
    /* PyTorch's first momentum step copies the gradient into the buffer. */
    float keep = t == 0 ? 0.0f : mu;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        if (mu != 0.0f) {
            buf[i] = keep * buf[i] + gi;
            gi = buf[i];
        }
        p[i] -= lr * gi;
    }
}

/* PyTorch's Adam: step = lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps). `wd` is the
 * L2 coupled into the gradient (Adam) or 0 (AdamW, decayed beforehand). */
CL_HOT static void step_adam(const cl_optim_config *o, float lr, float wd, float *restrict p,
                             const float *restrict g, float *restrict mm, float *restrict vv,
                             size_t n, long t)
{
    double tt = (double)(t + 1);
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    float step = (float)(lr / (1.0 - pow(b1, tt)));
    float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(b2, tt)));
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        mm[i] = b1 * mm[i] + (1.0f - b1) * gi;
        vv[i] = b2 * vv[i] + (1.0f - b2) * gi * gi;
        p[i] -= step * mm[i] / (sqrtf(vv[i]) * inv_sqrt_bc2 + eps);
    }
}

/* torch.optim.AdamW: p *= 1 - lr*wd before the Adam update. */
CL_HOT static void decay(float *restrict p, size_t n, float keep)
{
    for (size_t i = 0; i < n; i++) p[i] *= keep;
}

void cl_optim_step(const cl_optim_config *o, float lr, float *p, const float *g, float *m,
                   float *v, size_t n, long t, const cl_optim_span *spans, int n_spans)
{
    switch (o->kind) {
    case CL_OPTIM_SGD:
        step_sgd(o, lr, p, g, m, n, t);
        break;
    case CL_OPTIM_ADAM:
        step_adam(o, lr, o->weight_decay, p, g, m, v, n, t);
        break;
    case CL_OPTIM_ADAMW:
        if (o->weight_decay != 0.0f) {
            float keep = 1.0f - lr * o->weight_decay;
            if (!spans) decay(p, n, keep);
            for (int s = 0; spans && s < n_spans; s++)
                if (spans[s].decay) decay(p + spans[s].offset, spans[s].size, keep);
        }
        step_adam(o, lr, 0.0f, p, g, m, v, n, t);
        break;
    }
}

int cl_schedule_parse(const char *name)
{
    static const char *const names[] = {"constant", "cosine", "rewarm"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

/* Warmup then cosine over `len` steps, at step k of them. */
static double warm_cosine(const cl_schedule *s, long k, long len)
{
    if (k < s->warmup) return (double)(k + 1) / (double)s->warmup;
    long span = len - s->warmup;
    double frac = span > 1 ? (double)(k - s->warmup) / (double)(span - 1) : 1.0;
    if (frac > 1.0) frac = 1.0;
    return s->min_frac + (1.0 - s->min_frac) * 0.5 * (1.0 + cos(3.14159265358979323846 * frac));
}

float cl_schedule_lr(const cl_schedule *s, long step)
{
    switch (s->kind) {
    case CL_SCHEDULE_COSINE:
        return (float)(s->base * warm_cosine(s, step, s->steps_per_task * s->n_tasks));
    case CL_SCHEDULE_REWARM:
        return (float)(s->base * warm_cosine(s, step % s->steps_per_task, s->steps_per_task));
    case CL_SCHEDULE_CONSTANT:
    default:
        return s->base;
    }
}
