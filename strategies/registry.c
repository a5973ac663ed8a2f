#include <string.h>
#include "clbench/error.h"
#include "clbench/strategy.h"

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

int cl_strategy_find(const cl_strategy_ops **out, const char *name)
{
    for (int i = 0; i < N_STRATEGIES; i++)
        if (strcmp(strategies[i]->name, name) == 0) {
            *out = strategies[i];
            return 0;
        }
    char list[512] = "";
    size_t off = 0;
    for (int i = 0; i < N_STRATEGIES && off < sizeof list; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "",
                                strategies[i]->name);
    return cl_error_set(CL_EINVAL, "unknown strategy '%s' (valid: %s, all)", name, list);
}
