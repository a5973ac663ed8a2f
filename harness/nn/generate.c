#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/nn/generate.h"
#include "clbench/base/error.h"

/* The next byte from one row of logits (n_out). */
static int pick(const float *z, int n, double temperature, gsl_rng *rng)
{
    int best = 0;
    for (int j = 1; j < n; j++)
        if (z[j] > z[best]) best = j;
    if (temperature <= 0.0) return best;
    double total = 0.0, w[256];
    for (int j = 0; j < n; j++) total += w[j] = exp(((double)z[j] - z[best]) / temperature);
    double u = gsl_rng_uniform(rng) * total;
    for (int j = 0; j < n; j++)
        if ((u -= w[j]) < 0.0) return j;
    return best;
}

int cl_generate(cl_net *net, const unsigned char *prompt, size_t n_prompt, size_t n_new,
                double temperature, gsl_rng *rng, unsigned char *out)
{
    if (net->ops->input != CL_NET_TOKENS || net->n_out > 256)
        return cl_error_set(CL_EINVAL, "sampling needs a byte-level network, not %s",
                            net->ops->name);
    if (n_prompt < 1) return cl_error_set(CL_EINVAL, "sampling needs a prompt of at least a byte");
    CL_ASSERT(temperature <= 0.0 || rng);
    size_t T = (size_t)net->rows_per_sample, total = n_prompt + n_new;
    unsigned char *text = malloc(total);         /* (n_prompt + n_new) */
    float *x = calloc((size_t)net->d_in, sizeof *x); /* (1, ctx + 1) one window */
    if (!text || !x) {
        free(text);
        free(x);
        return cl_error_set(CL_ENOMEM, "out of memory for sampling");
    }
    memcpy(text, prompt, n_prompt);
    int rc = 0;
    for (size_t len = n_prompt; rc == 0 && len < total; len++) {
        size_t start = len > T ? len - T : 0, fill = len - start;
        for (size_t t = 0; t < (size_t)net->d_in; t++) x[t] = t < fill ? text[start + t] : 0.0f;
        const float *logits;
        rc = cl_net_forward(net, x, 1, &logits);
        if (rc == 0)
            text[len] = (unsigned char)pick(logits + (fill - 1) * (size_t)net->n_out, net->n_out,
                                            temperature, rng);
    }
    if (rc == 0) memcpy(out, text + n_prompt, n_new);
    free(text);
    free(x);
    return rc;
}

int cl_generate_windows(cl_net *net, int n, double temperature, gsl_rng *rng, float *x)
{
    if (net->ops->input != CL_NET_TOKENS || net->n_out > 256)
        return cl_error_set(CL_EINVAL, "sampling needs a byte-level network, not %s",
                            net->ops->name);
    CL_ASSERT(n >= 1 && (temperature <= 0.0 || rng));
    int d = net->d_in, C = net->n_out;
    memset(x, 0, (size_t)n * d * sizeof *x);
    for (int i = 0; i < n; i++) x[(size_t)i * d] = '\n';
    /* All n windows advance together: one forward per byte. Row t - 1 of
     * a window predicts its byte t; later bytes are still 0 and, attention
     * being causal, never read. */
    for (int t = 1; t < d; t++) {
        const float *logits;
        int rc = cl_net_forward(net, x, n, &logits);
        if (rc) return rc;
        for (int i = 0; i < n; i++)
            x[(size_t)i * d + t] =
                (float)pick(logits + ((size_t)i * (d - 1) + (size_t)(t - 1)) * C, C, temperature, rng);
    }
    return 0;
}
