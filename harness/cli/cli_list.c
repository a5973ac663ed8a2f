#include <stdio.h>
#include "clbench/cli/cli.h"
#include "clbench/run/config.h"
#include "clbench/strategies/strategy.h"
#include "clbench/tasks/suite.h"

static void print_specs(const char *ns, const cl_param_spec *specs)
{
    for (int i = 0; specs && specs[i].name; i++) {
        char want[160], key[96];
        cl_param_spec_describe(&specs[i], want, sizeof want);
        snprintf(key, sizeof key, "%s.%s=%s", ns, specs[i].name, specs[i].def);
        printf("    %-34s %s (%s)\n", key, specs[i].help, want);
    }
}

int cl_cli_list(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "clbench list: takes no arguments\n");
        return 2;
    }
    printf("strategies (--strategy NAME, a comma list, or all):\n");
    for (int i = 0; i < cl_strategy_count(); i++) {
        const cl_strategy_ops *s = cl_strategy_at(i);
        printf("  %-10s %s\n", s->name, s->summary);
        printf("    follows: %s\n", s->reference);
        printf("    assumes: task boundaries %s, task id at test %s, stores samples %s\n",
               s->assumes.task_boundaries ? "yes" : "no", s->assumes.task_id_at_test ? "yes" : "no",
               s->assumes.stores_samples ? "yes" : "no");
        print_specs(s->name, s->params);
    }
    printf("\nsuites (--suite NAME):\n");
    for (int i = 0; i < cl_suite_family_count(); i++) {
        const cl_suite_family *f = cl_suite_family_at(i);
        printf("  %-16s %s\n    scenarios:", f->name, f->summary);
        for (int s = 0; s < 3; s++)
            if (f->scenarios & (1u << s)) printf(" %s", cl_scenario_name((cl_scenario)s));
        printf("\n");
        print_specs("suite", f->params);
    }
    printf("\nnetworks (--set model.net=NAME, then model.PARAM=VALUE):\n");
    for (int i = 0; i < cl_net_count(); i++) {
        const cl_net_ops *n = cl_net_at(i);
        printf("  %-10s %s%s\n", n->name, n->summary, i == 0 ? " (default)" : "");
        print_specs("model", n->params);
    }
    printf("\ntraining (--set train.NAME=VALUE):\n");
    print_specs("train", cl_train_params);
    return 0;
}
