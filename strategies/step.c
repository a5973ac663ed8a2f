/* Training-step helpers the strategies compose. They live in the harness so
 * that every strategy's plain step is the same code. */
#include "clbench/base/error.h"
#include "clbench/nn/loss.h"
#include "clbench/strategies/strategy.h"

int cl_strategy_add_ce_grad(cl_net *net, const cl_batch *b, float weight,
                            double *loss_out)
{
    const float *logits;
    int rc = cl_net_forward(net, b->x, b->n, &logits);
    if (rc) return rc;
    rc = cl_loss_ce(logits, b->y, b->n, b->n_classes, b->mask, weight,
                    net->dlogits, loss_out);
    if (rc) return rc;
    return cl_net_backward(net, net->dlogits);
}

int cl_strategy_sgd_step(cl_net *net, const cl_batch *b)
{
    cl_net_zero_grad(net);
    int rc = cl_strategy_add_ce_grad(net, b, 1.0f, NULL);
    if (rc) return rc;
    cl_net_step(net);
    return 0;
}
