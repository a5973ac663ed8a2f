/* clbench compare BASELINE CURRENT: the regression gate. Prints the report
 * (Markdown for a CI job summary, or text) and exits 3 on a regression. */
#include <stdio.h>
#include "clbench/cli/cli.h"
#include "clbench/cli/cliopt.h"
#include "clbench/report/compare.h"
#include "clbench/base/error.h"
#include "clbench/report/runset.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: clbench compare [--max-drop X] [--alpha A] [--metrics M,...] [--strict]\n"
               "                       [--format md|text] BASELINE CURRENT\n"
               "BASELINE and CURRENT: a results folder, a metrics.json or a bundle file.\n"
               "exit codes: 0 no regression, 3 regression, 2 usage or input error\n");
}

static int parse_args(cl_compare_opts *o, cl_compare_format *fmt, int argc, char **argv)
{
    static const struct option longs[] = {
        {"max-drop", required_argument, 0, 'd'}, {"alpha", required_argument, 0, 'a'},
        {"metrics", required_argument, 0, 'm'},  {"strict", no_argument, 0, 's'},
        {"format", required_argument, 0, 'f'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cl_compare_opts_default(o);
    *fmt = CL_COMPARE_MD;
    cl_cliopt_start();
    int c;
    while ((c = cl_cliopt_next(argc, argv, ":", longs)) != -1) {
        int bad = 0;
        switch (c) {
        case 'd': bad = cl_cliopt_number(&o->max_drop, optarg, "--max-drop"); break;
        case 'a': bad = cl_cliopt_number(&o->alpha, optarg, "--alpha"); break;
        case 'm': bad = cl_compare_metrics_parse(&o->gate, optarg); break;
        case 'f': bad = cl_compare_format_parse(fmt, optarg); break;
        case 's': o->strict = 1; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "clbench compare: %s needs a value\n", argv[optind - 1]);
            return 2;
        default: bad = cl_cliopt_error(c, argv); break;
        }
        if (bad) {
            fprintf(stderr, "clbench compare: %s\n", cl_error_last());
            return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "clbench compare: want BASELINE and CURRENT, got %d path%s "
                        "(see clbench compare --help)\n", argc - optind, argc - optind == 1 ? "" : "s");
        return 2;
    }
    return -1;
}

int cl_cli_compare(int argc, char **argv)
{
    cl_compare_opts o;
    cl_compare_format fmt;
    int rc = parse_args(&o, &fmt, argc, argv);
    if (rc >= 0) return rc;
    char *base_path = argv[optind], *cur_path = argv[optind + 1];
    o.base_name = base_path;
    o.cur_name = cur_path;
    cl_runset *base = NULL, *cur = NULL;
    cl_compare *cmp = NULL;
    cl_strbuf b;
    cl_strbuf_init(&b);
    if ((rc = cl_runset_load(&base, &base_path, 1)) == 0 &&
        (rc = cl_runset_load(&cur, &cur_path, 1)) == 0 &&
        (rc = cl_compare_new(&cmp, base, cur, &o)) == 0)
        rc = cl_compare_write(&b, cmp, fmt);
    int code;
    if (rc) {
        fprintf(stderr, "clbench compare: %s\n", cl_error_last());
        code = cl_error_exit_code(rc);
    } else {
        fwrite(b.s, 1, b.len, stdout);
        code = fflush(stdout) || ferror(stdout) ? 1 : cmp->failed ? 3 : 0;
        if (code == 1) fprintf(stderr, "clbench compare: cannot write the report to stdout\n");
    }
    cl_strbuf_release(&b);
    cl_compare_free(cmp);
    cl_runset_free(cur);
    cl_runset_free(base);
    return code;
}
