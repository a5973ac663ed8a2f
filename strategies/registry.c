#include <string.h>
#include "clbench/base/error.h"
#include "clbench/strategies/strategy.h"
#include "clbench/base/strbuf.h"

/* Every strategy, one file each in strategies/. Explicit, in listing order:
 * the order `--strategy all` runs and tables print. */
extern const cl_strategy_ops cl_strategy_naive;
extern const cl_strategy_ops cl_strategy_joint;
extern const cl_strategy_ops cl_strategy_replay;
extern const cl_strategy_ops cl_strategy_ewc;
extern const cl_strategy_ops cl_strategy_sleep;
extern const cl_strategy_ops cl_strategy_episodic;

static const cl_strategy_ops *const strategies[] = {
    &cl_strategy_naive,
    /* memory strategies are listed here, between the two bounds */
    &cl_strategy_ewc,
    &cl_strategy_replay,
    &cl_strategy_sleep,
    &cl_strategy_episodic,
    &cl_strategy_joint,
};

#define N_STRATEGIES ((int)(sizeof strategies / sizeof strategies[0]))

int cl_strategy_count(void) { return N_STRATEGIES; }

const cl_strategy_ops *cl_strategy_at(int i)
{
    CL_ASSERT(i >= 0 && i < N_STRATEGIES);
    return strategies[i];
}

static const char *name_at(int i) { return strategies[i]->name; }

int cl_strategy_find(const cl_strategy_ops **out, const char *name)
{
    for (int i = 0; i < N_STRATEGIES; i++)
        if (strcmp(strategies[i]->name, name) == 0) {
            *out = strategies[i];
            return 0;
        }
    cl_strbuf valid;
    cl_strbuf_init(&valid);
    cl_strbuf_join(&valid, N_STRATEGIES, name_at, ", ");
    int rc = cl_error_set(CL_EINVAL, "unknown strategy '%s' (valid: %s, all)", name,
                          valid.s ? valid.s : "");
    cl_strbuf_release(&valid);
    return rc;
}
