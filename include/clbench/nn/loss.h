/* Losses on logits with their gradients. Masks restrict the softmax to a
 * subset of output units (the task's classes in the task-incremental
 * scenario); masked units get probability 0 and gradient 0. */
#ifndef CLBENCH_LOSS_H
#define CLBENCH_LOSS_H

/* Mean softmax cross-entropy over B rows. Writes into dlogits (B, C) the
 * gradient of scale * loss, i.e. scale * (p - onehot(y)) / B (pass scale = B
 * for per-sample gradients). *loss_out gets the unscaled mean loss.
 * Returns CL_EDIVERGED if the loss is not finite. */
int cl_loss_ce(const float *logits /* (B, C) */, const int *y /* (B) */, int B,
               int C, const unsigned char *mask /* (C) or NULL */, float scale,
               float *dlogits /* (B, C) */, double *loss_out);

/* Knowledge distillation (Hinton et al. 2015): T^2 * mean over rows of
 * KL(softmax(t/T) || softmax(s/T)), restricted to the units where mask is set.
 * teacher_probs (B, C) are already softened probabilities (zero where the
 * teacher knew nothing) and must sum to 1 over the unmasked units, else the
 * gradient scale * T * (p - q) / B is not the exact gradient of the loss. */
int cl_loss_distill(const float *student_logits /* (B, C) */,
                    const float *teacher_probs /* (B, C) */, int B, int C,
                    const unsigned char *mask /* (C) or NULL */, float T,
                    float scale, float *dlogits /* (B, C) */, double *loss_out);

/* The same two losses with one mask per row: masks (B, C), or NULL for
 * none. Mixed batches need this in the task scenario, where a replayed
 * sample is scored by its own task's classes. */
int cl_loss_ce_rows(const float *logits /* (B, C) */, const int *y /* (B) */,
                    int B, int C, const unsigned char *masks /* (B, C) or NULL */,
                    float scale, float *dlogits /* (B, C) */, double *loss_out);
int cl_loss_distill_rows(const float *student_logits /* (B, C) */,
                         const float *teacher_probs /* (B, C) */, int B, int C,
                         const unsigned char *masks /* (B, C) or NULL */, float T,
                         float scale, float *dlogits /* (B, C) */, double *loss_out);

/* Row-wise softmax at temperature T into probs (B, C), masked units 0.
 * Every row needs at least one unmasked unit (else the row is NaN). */
void cl_softmax(const float *logits /* (B, C) */, int B, int C,
                const unsigned char *mask /* (C) or NULL */, float T,
                float *probs /* (B, C) */);

/* Index of the largest unmasked logit of one row (ties: lowest index);
 * -1 when every unit is masked. */
int cl_argmax(const float *row /* (C) */, int C, const unsigned char *mask);

/* Bits of the labels under the softmax of the logits: the sum over rows of
 * -log2 p(y_i), in double; per row into row_bits (rows) and whether the
 * argmax is y_i into row_hit (rows) when those are not NULL. Ties go to
 * the lowest unit, as in cl_argmax. */
double cl_loss_bits(const float *logits /* (rows, C) */, const int *y /* (rows) */, int rows,
                    int C, double *row_bits, unsigned char *row_hit);

#endif
