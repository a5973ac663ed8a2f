/* clbench run FILE.yaml: expands an experiment file (or a run's effective
 * config.yaml) into runs, validates them all, then runs them through the
 * same path as the flag front end. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "clbench/cli/cli.h"
#include "clbench/cli/cliopt.h"
#include "clbench/base/error.h"
#include "clbench/run/experiment.h"

typedef struct exp_opts {
    const char *file, *out, *format;
    int threads; /* 0: the file's */
    int quiet, force, resume, dry_run;
} exp_opts;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "clbench run: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (usage: clbench run FILE.yaml [--out DIR] [--threads N] "
                    "[--format table|json] [--quiet] [--force] [--resume] [--dry-run])\n");
    return -1;
}

static int parse_args(exp_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"out", required_argument, 0, 'o'},    {"threads", required_argument, 0, 't'},
        {"format", required_argument, 0, 'f'}, {"quiet", no_argument, 0, 'q'},
        {"force", no_argument, 0, 'F'},        {"dry-run", no_argument, 0, 'n'},
        {"resume", no_argument, 0, 'R'},       {0, 0, 0, 0}};
    o->out = "results/runs";
    o->format = "table";
    cl_cliopt_start();
    int c;
    long long v;
    while ((c = cl_cliopt_next(argc, argv, ":", longs)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 't':
            if (cl_cliopt_whole(&v, optarg, "--threads", 1, 256))
                return usage_error("%s", cl_error_last());
            o->threads = (int)v;
            break;
        case 'f':
            if (strcmp(optarg, "table") && strcmp(optarg, "json"))
                return usage_error("--format: '%s' is not table or json", optarg);
            o->format = optarg;
            break;
        case 'q': o->quiet = 1; break;
        case 'F': o->force = 1; break;
        case 'n': o->dry_run = 1; break;
        case 'R': o->resume = 1; break;
        default:
            cl_cliopt_error(c, argv);
            return usage_error("%s", cl_error_last());
        }
    }
    if (optind == argc) return usage_error("%s", "no experiment file given");
    if (argc - optind > 1) return usage_error("unexpected argument '%s'", argv[optind + 1]);
    o->file = argv[optind];
    return 0;
}

int cl_cli_run(int argc, char **argv)
{
    exp_opts o = {0};
    if (parse_args(&o, argc, argv)) return 2;
    cl_experiment *e;
    int rc = cl_experiment_load(&e, o.file);
    if (rc) {
        /* The message starts with the file name and position. */
        fprintf(stderr, "%s\n", cl_error_last());
        return cl_error_exit_code(rc);
    }
    int n = cl_experiment_count(e);
    cl_config **cells = cl_experiment_cells(e);
    for (int i = 0; o.threads && i < n; i++) cells[i]->threads = o.threads;
    int code = 0;
    if (o.dry_run) {
        for (int i = 0; i < n; i++) {
            char id[256];
            cl_config_run_id(cells[i], id, sizeof id);
            printf("%s\n", id);
        }
    } else {
        cl_exec_opts eo = {o.out, o.format, o.quiet, o.force, o.resume};
        code = cl_cli_exec_cells(cells, n, &eo);
    }
    cl_experiment_free(e);
    return code;
}
