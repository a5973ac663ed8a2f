/* clbench --strategy S --suite X ...: runs strategies x seeds on one suite
 * and scenario, writes each run's folder, prints a table. */
#include <stdio.h>
#include <string.h>
#include "clbench/cli/cli.h"
#include "clbench/cli/cliopt.h"
#include "clbench/run/config.h"
#include "clbench/base/error.h"

#define MAX_SETS 128
#define MAX_CELLS 4096

void cl_cli_usage(FILE *f)
{
    fprintf(f,
        "usage: clbench --strategy NAME[,NAME...]|all --suite NAME [options]\n"
        "       clbench run FILE.yaml [--out DIR] [--threads N] [--format table|json] [--quiet]\n"
        "                         [--force] [--resume] [--dry-run]   (an experiment file or a run's config.yaml)\n"
        "       clbench sweep FILE.yaml [--out DIR] [-j N] [--threads N] [--dry-run] [--force] [--quiet]\n"
        "                           [--slurm [--submit] [--partition P] [--time T] [--cpus-per-task C]\n"
        "                           [--mem MB] [--script PATH]]   (cells as separate processes)\n"
        "       clbench list\n"
        "       clbench report DIR_OR_FILE... [--format md|csv|tex|json] [--level 0.95] [--out FILE]\n"
        "       clbench plot DIR_OR_FILE... [--format pdf|png|svg] [--out DIR] [--level 0.95]\n"
        "       clbench compare BASELINE CURRENT [--max-drop 0.02] [--alpha 0.05] [--metrics M,...]\n"
        "                       [--strict] [--format md|text]   (exit 3 on a regression)\n"
        "       clbench sample NET_FILE [--prompt TEXT] [--bytes N] [--temperature T] [--seed S]\n"
        "       clbench --help | --version\n"
        "\n"
        "options:\n"
        "  --strategy S    strategy name, comma list or 'all' (default naive)\n"
        "  --suite X       task suite (default seq-tasks)\n"
        "  --scenario S    class | task | domain (default: class, or the suite's first)\n"
        "  --seed N        first seed (default 0)\n"
        "  --seeds K       run seeds N..N+K-1 (default 1)\n"
        "  --set NS.K=V    set a parameter (model., train., suite., or STRATEGY.); repeatable\n"
        "  --out DIR       results root (default results/runs)\n"
        "  --data-dir DIR  folder of the suite's data files\n"
        "  --threads N     OpenBLAS threads per run (default 1)\n"
        "  --format F      table | json (default table)\n"
        "  --force         re-run even when the run's metrics.json exists\n"
        "  --resume        go on from each unfinished run's checkpoint.bin (written after every task)\n"
        "  --quiet         no progress on stderr\n"
        "\n"
        "exit codes: 0 ok, 1 runtime failure or diverged run, 2 usage or input error\n");
}

typedef struct run_opts {
    char strategies[512];
    const char *suite, *scenario, *out, *format, *data_dir;
    unsigned long seed;
    long seeds;
    int threads, quiet, force, resume;
    const char *sets[MAX_SETS];
    int n_sets;
} run_opts;

/* A count of at least 1 and at most max: one message for a value that is
 * no whole number in [0, max], another for 0. */
static int parse_count(const char *s, const char *flag, long long max, long long *out)
{
    if (cl_cliopt_whole(out, s, flag, 0, max)) {
        fprintf(stderr, "clbench: %s\n", cl_error_last());
        return -1;
    }
    if (*out < 1) {
        fprintf(stderr, "clbench: %s: must be at least 1\n", flag);
        return -1;
    }
    return 0;
}

static int parse_args(run_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"strategy", required_argument, 0, 's'}, {"suite", required_argument, 0, 'u'},
        {"scenario", required_argument, 0, 'c'}, {"seed", required_argument, 0, 'e'},
        {"seeds", required_argument, 0, 'n'},    {"set", required_argument, 0, 'S'},
        {"out", required_argument, 0, 'o'},      {"threads", required_argument, 0, 't'},
        {"format", required_argument, 0, 'f'},   {"quiet", no_argument, 0, 'q'},
        {"force", no_argument, 0, 'F'},          {"data-dir", required_argument, 0, 'd'},
        {"resume", no_argument, 0, 'R'},         {0, 0, 0, 0}};
    snprintf(o->strategies, sizeof o->strategies, "naive");
    o->suite = "seq-tasks";
    o->scenario = NULL; /* the suite's first: class when it has one */
    o->out = "results/runs";
    o->format = "table";
    o->seeds = 1;
    o->threads = 1;
    cl_cliopt_start();
    int c;
    long long v;
    while ((c = cl_cliopt_next(argc, argv, ":", longs)) != -1) {
        switch (c) {
        case 's':
            if (strlen(optarg) >= sizeof o->strategies) {
                fprintf(stderr, "clbench: --strategy: list too long\n");
                return -1;
            }
            snprintf(o->strategies, sizeof o->strategies, "%s", optarg);
            break;
        case 'u': o->suite = optarg; break;
        case 'c': o->scenario = optarg; break;
        case 'e':
            if (cl_cliopt_whole(&v, optarg, "--seed", 0, 4294967295LL)) {
                fprintf(stderr, "clbench: %s\n", cl_error_last());
                return -1;
            }
            o->seed = (unsigned long)v;
            break;
        case 'n':
            if (parse_count(optarg, "--seeds", 1000, &v)) return -1;
            o->seeds = (long)v;
            break;
        case 'S':
            if (o->n_sets == MAX_SETS) {
                fprintf(stderr, "clbench: too many --set options (max %d)\n", MAX_SETS);
                return -1;
            }
            o->sets[o->n_sets++] = optarg;
            break;
        case 'o': o->out = optarg; break;
        case 'd': o->data_dir = optarg; break;
        case 't':
            if (parse_count(optarg, "--threads", 256, &v)) return -1;
            o->threads = (int)v;
            break;
        case 'f':
            if (strcmp(optarg, "table") && strcmp(optarg, "json")) {
                fprintf(stderr, "clbench: --format: '%s' is not table or json\n", optarg);
                return -1;
            }
            o->format = optarg;
            break;
        case 'q': o->quiet = 1; break;
        case 'F': o->force = 1; break;
        case 'R': o->resume = 1; break;
        default:
            cl_cliopt_error(c, argv);
            fprintf(stderr, "clbench: %s%s\n", cl_error_last(), c == '?' ? " (see --help)" : "");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "clbench: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Expands "all" or "a,b,c" into registry names; prints and fails on an
 * unknown one. */
static int expand_strategies(const char *spec, const char **names, int *n)
{
    *n = 0;
    char buf[512] = "";
    if (!strcmp(spec, "all"))
        for (int i = 0; i < cl_strategy_count(); i++) names[(*n)++] = cl_strategy_at(i)->name;
    else
        snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const cl_strategy_ops *ops;
        if (cl_strategy_find(&ops, tok) != 0) {
            fprintf(stderr, "clbench: --strategy: %s\n", cl_error_last());
            return -1;
        }
        int dup = 0;
        for (int i = 0; i < *n; i++) dup |= names[i] == ops->name;
        if (!dup) names[(*n)++] = ops->name;
    }
    /* joint runs first so the others can measure intransigence against it. */
    for (int i = 1; i < *n; i++)
        if (!strcmp(names[i], "joint")) {
            memmove(names + 1, names, (size_t)i * sizeof *names);
            names[0] = "joint";
        }
    if (*n == 0) {
        fprintf(stderr, "clbench: --strategy: empty list\n");
        return -1;
    }
    return 0;
}

/* Builds and validates every cell before anything runs, so bad input exits
 * 2 with no result written. */
static int build_cells(const run_opts *o, cl_config **cells, int *n)
{
    const char *names[64];
    int n_names;
    if (expand_strategies(o->strategies, names, &n_names)) return -1;
    cl_scenario sc = CL_SCENARIO_CLASS;
    const cl_suite_family *fam;
    if (!o->scenario && cl_suite_family_find(&fam, o->suite) == 0)
        sc = cl_suite_family_default_scenario(fam);
    if (o->scenario && cl_scenario_parse(&sc, o->scenario)) {
        fprintf(stderr, "clbench: --scenario: %s\n", cl_error_last());
        return -1;
    }
    *n = 0;
    for (long s = 0; s < o->seeds; s++)
        for (int k = 0; k < n_names; k++) {
            if (*n == MAX_CELLS) {
                fprintf(stderr, "clbench: more than %d runs requested\n", MAX_CELLS);
                return -1;
            }
            cl_config *c;
            int rc = cl_config_new(&c, o->suite, sc, names[k], o->seed + (unsigned long)s);
            for (int i = 0; rc == 0 && i < o->n_sets; i++) rc = cl_config_set_arg(c, o->sets[i]);
            if (rc == 0) {
                c->threads = o->threads;
                if (o->data_dir) snprintf(c->data_dir, sizeof c->data_dir, "%s", o->data_dir);
                rc = cl_config_validate(c);
            }
            if (rc) {
                fprintf(stderr, "clbench: %s\n", cl_error_last());
                cl_config_free(c);
                return -1;
            }
            cells[(*n)++] = c;
        }
    return 0;
}

int cl_cli_run_flags(int argc, char **argv)
{
    run_opts o = {0};
    if (parse_args(&o, argc, argv)) return 2;
    static cl_config *cells[MAX_CELLS];
    int n = 0;
    if (build_cells(&o, cells, &n)) {
        for (int i = 0; i < n; i++) cl_config_free(cells[i]);
        return 2;
    }
    cl_exec_opts eo = {o.out, o.format, o.quiet, o.force, o.resume};
    int code = cl_cli_exec_cells(cells, n, &eo);
    for (int i = 0; i < n; i++) cl_config_free(cells[i]);
    return code;
}
