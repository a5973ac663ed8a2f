/* clbench plot DIR_OR_FILE...: figures (gnuplot) regenerated from results
 * folders, metrics.json files or report bundles alone. Prints the path of
 * every figure written, one a line, on stdout. */
#include <stdio.h>
#include "clbench/cli/cli.h"
#include "clbench/cli/cliopt.h"
#include "clbench/base/error.h"
#include "clbench/report/plot.h"
#include "clbench/report/runset.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: clbench plot DIR_OR_FILE... [--format pdf|png|svg] [--out DIR] [--level 0.95]\n"
        "\n"
        "  DIR_OR_FILE  results folders (searched for metrics.json), metrics.json files\n"
        "               or bundles written by `clbench report --format json`\n"
        "  --format F   pdf (default), png (300 dpi) or svg\n"
        "  --out DIR    root of the figures (default results/plots); each suite and\n"
        "               scenario gets DIR/<suite>-<scenario>/ with heatmap-<cell>,\n"
        "               curves-<cell>, bars and acc-vs-bytes figures\n"
        "  --level L    confidence of the Student-t intervals, in (0, 1) (default 0.95)\n"
        "\n"
        "Every figure has its gnuplot script (.gp) and data (.dat) beside it: run\n"
        "`gnuplot NAME.gp` in that folder to redraw it after editing the style.\n"
        "Needs gnuplot on PATH (Debian: gnuplot-nox).\n"
        "\n"
        "exit codes: 0 ok, 1 runtime failure (gnuplot failed), 2 usage or input error\n");
}

int cl_cli_plot(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'},
        {"out", required_argument, 0, 'o'},
        {"level", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cl_plot_opts o = {CL_PLOT_PDF, "results/plots", NULL, 0.95};
    int c;
    cl_cliopt_start();
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'f': bad = cl_plot_format_parse(&o.format, optarg); break;
        case 'o': o.out_dir = optarg; break;
        case 'l': bad = cl_cliopt_level(&o.level, optarg, "--level"); break;
        case 'h': usage(stdout); return 0;
        default: bad = cl_cliopt_error(c, argv); break;
        }
        if (bad) {
            fprintf(stderr, "clbench plot: %s%s\n", cl_error_last(),
                    c == '?' ? " (see clbench plot --help)" : "");
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: clbench plot DIR_OR_FILE... [--format pdf|png|svg] [--out DIR] "
                        "[--level 0.95] (see --help)\n");
        return 2;
    }
    if (!*o.out_dir) {
        fprintf(stderr, "clbench plot: --out: empty folder name\n");
        return 2;
    }
    char gnuplot[4096];
    if (cl_plot_find_gnuplot(gnuplot, sizeof gnuplot)) {
        fprintf(stderr, "clbench plot: %s\n", cl_error_last());
        return 2;
    }
    o.gnuplot = gnuplot;
    cl_runset *set;
    int rc = cl_runset_load(&set, argv + optind, argc - optind);
    if (rc) {
        fprintf(stderr, "clbench plot: %s\n", cl_error_last());
        return rc == CL_ENOMEM ? 1 : 2;
    }
    cl_plot_result res;
    rc = cl_plot_all(&res, set, &o);
    for (int i = 0; i < res.n_figures; i++) printf("%s\n", res.figures[i]);
    if (res.n_no_curve)
        fprintf(stderr, "clbench plot: note: no curve.csv beside %d run%s (runs read from "
                        "bundles have none): left out of the anytime curves\n", res.n_no_curve,
                res.n_no_curve == 1 ? "" : "s");
    if (res.n_no_ok)
        fprintf(stderr, "clbench plot: note: %d cell%s without a finished run (all diverged): "
                        "not drawn\n", res.n_no_ok, res.n_no_ok == 1 ? "" : "s");
    if (rc) fprintf(stderr, "clbench plot: %s\n", cl_error_last());
    int code = rc ? cl_error_exit_code(rc) : 0;
    if (fflush(stdout) && !code) code = 1;
    cl_plot_result_release(&res);
    cl_runset_free(set);
    return code;
}
