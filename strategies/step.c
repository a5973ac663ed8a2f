/* Training-step helpers the strategies compose. They live in the harness so
 * that every strategy's plain step is the same code. */
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/strategies/strategy.h"

int cl_strategy_ce_rows(cl_net *net, const float *x, const int *y, int samples,
                        const unsigned char *masks, float scale, double *loss_out)
{
    const float *logits;
    const int *labels;
    /* A token network's rows are positions: their labels are the next
     * bytes of the windows, and no class mask applies. */
    CL_ASSERT(!masks || net->ops->input == CL_NET_FEATURES);
    int rc = cl_net_forward(net, x, samples, &logits);
    if (rc == 0) rc = cl_net_labels(net, x, y, samples, &labels);
    if (rc == 0)
        rc = cl_loss_ce_rows(logits, labels, cl_net_rows(net, samples), net->n_out, masks, scale,
                             net->dlogits, loss_out);
    return rc ? rc : cl_net_backward(net, net->dlogits);
}

int cl_strategy_add_ce_grad(cl_net *net, const cl_batch *b, float weight,
                            double *loss_out)
{
    if (net->ops->input == CL_NET_FEATURES) {
        const float *logits;
        int rc = cl_net_forward(net, b->x, b->n, &logits);
        if (rc) return rc;
        rc = cl_loss_ce(logits, b->y, b->n, b->n_classes, b->mask, weight, net->dlogits, loss_out);
        return rc ? rc : cl_net_backward(net, net->dlogits);
    }
    return cl_strategy_ce_rows(net, b->x, NULL, b->n, NULL, weight, loss_out);
}

int cl_strategy_sgd_step(cl_net *net, const cl_batch *b)
{
    cl_net_zero_grad(net);
    int rc = cl_strategy_add_ce_grad(net, b, 1.0f, NULL);
    if (rc) return rc;
    cl_net_step(net);
    return 0;
}
