#include <float.h>
#include <math.h>
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"

#define ON(mask, j) (!(mask) || (mask)[j])
#define LN2 0.69314718055994530942

int cl_argmax(const float *row, int C, const unsigned char *mask)
{
    int best = -1;
    for (int j = 0; j < C; j++)
        if (ON(mask, j) && (best < 0 || row[j] > row[best])) best = j;
    return best;
}

/* Softmax of one row at temperature T; returns log of the normaliser
 * (log sum exp((z - max)/T)) so callers can form log-probabilities. */
static double softmax_row(const float *z, int C, const unsigned char *mask,
                          float T, float *p)
{
    float mx = -FLT_MAX;
    for (int j = 0; j < C; j++)
        if (ON(mask, j) && z[j] > mx) mx = z[j];
    double sum = 0.0;
    for (int j = 0; j < C; j++) {
        double e = ON(mask, j) ? exp(((double)z[j] - mx) / T) : 0.0;
        p[j] = (float)e;
        sum += e;
    }
    for (int j = 0; j < C; j++) p[j] = (float)(p[j] / sum);
    return log(sum) + (double)mx / T;
}

void cl_softmax(const float *logits, int B, int C, const unsigned char *mask,
                float T, float *probs)
{
    for (int i = 0; i < B; i++)
        softmax_row(logits + (size_t)i * C, C, mask, T, probs + (size_t)i * C);
}

/* Row i's mask is mask + i * stride: stride 0 shares one mask, C gives
 * each row its own. */
static int ce(const float *logits, const int *y, int B, int C,
              const unsigned char *masks, size_t stride, float scale,
              float *dlogits, double *loss_out)
{
    double loss = 0.0;
    float g = scale / (float)B;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * C;
        float *d = dlogits + (size_t)i * C;
        const unsigned char *mask = masks ? masks + i * stride : NULL;
        CL_ASSERT(y[i] >= 0 && y[i] < C && ON(mask, y[i]));
        double lse = softmax_row(z, C, mask, 1.0f, d);
        loss += lse - z[y[i]];
        d[y[i]] -= 1.0f;
        for (int j = 0; j < C; j++) d[j] *= g;
    }
    loss /= B;
    if (loss_out) *loss_out = loss;
    if (!isfinite(loss)) return cl_error_set(CL_EDIVERGED, "cross-entropy loss is %g", loss);
    return 0;
}

static int distill(const float *student_logits, const float *teacher_probs,
                   int B, int C, const unsigned char *masks, size_t stride, float T,
                   float scale, float *dlogits, double *loss_out)
{
    double loss = 0.0;
    /* d/ds of T^2 * KL(q || softmax(s/T)) = T * (p - q); averaged over B. */
    float g = scale * T / (float)B;
    for (int i = 0; i < B; i++) {
        const float *z = student_logits + (size_t)i * C;
        const float *q = teacher_probs + (size_t)i * C;
        float *d = dlogits + (size_t)i * C;
        const unsigned char *mask = masks ? masks + i * stride : NULL;
        double lse = softmax_row(z, C, mask, T, d);
        for (int j = 0; j < C; j++) {
            if (ON(mask, j) && q[j] > 0.0f)
                loss += q[j] * (log(q[j]) - ((double)z[j] / T - lse));
            d[j] = ON(mask, j) ? g * (d[j] - q[j]) : 0.0f;
        }
    }
    loss = loss * T * T / B;
    if (loss_out) *loss_out = loss;
    if (!isfinite(loss)) return cl_error_set(CL_EDIVERGED, "distillation loss is %g", loss);
    return 0;
}

int cl_loss_ce(const float *logits, const int *y, int B, int C,
               const unsigned char *mask, float scale, float *dlogits,
               double *loss_out)
{
    return ce(logits, y, B, C, mask, 0, scale, dlogits, loss_out);
}

int cl_loss_ce_rows(const float *logits, const int *y, int B, int C,
                    const unsigned char *masks, float scale, float *dlogits,
                    double *loss_out)
{
    return ce(logits, y, B, C, masks, (size_t)C, scale, dlogits, loss_out);
}

int cl_loss_distill(const float *student_logits, const float *teacher_probs,
                    int B, int C, const unsigned char *mask, float T,
                    float scale, float *dlogits, double *loss_out)
{
    return distill(student_logits, teacher_probs, B, C, mask, 0, T, scale, dlogits, loss_out);
}

int cl_loss_distill_rows(const float *student_logits, const float *teacher_probs,
                         int B, int C, const unsigned char *masks, float T,
                         float scale, float *dlogits, double *loss_out)
{
    return distill(student_logits, teacher_probs, B, C, masks, (size_t)C, T, scale,
                   dlogits, loss_out);
}

double cl_loss_bits(const float *logits, const int *y, int rows, int C, double *row_bits,
                    unsigned char *row_hit)
{
    double total = 0;
    for (int i = 0; i < rows; i++) {
        const float *z = logits + (size_t)i * C;
        float mx = z[0];
        int best = 0;
        for (int j = 1; j < C; j++)
            if (z[j] > mx) mx = z[j], best = j;
        double sum = 0;
        for (int j = 0; j < C; j++) sum += exp((double)z[j] - mx);
        /* -log2 softmax(z)[y] = (log sum exp(z - max) - (z_y - max)) / ln 2 */
        double b = (log(sum) - ((double)z[y[i]] - mx)) / LN2;
        total += b;
        if (row_bits) row_bits[i] = b;
        if (row_hit) row_hit[i] = best == y[i];
    }
    return total;
}
