/* clbench report DIR_OR_FILE...: comparison tables over seeds, regenerated
 * from results folders, metrics.json files or report bundles alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/cli/cli.h"
#include "clbench/cli/cliopt.h"
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/report/report.h"
#include "clbench/report/runset.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: clbench report DIR_OR_FILE... [--format md|csv|tex|json] [--level 0.95] [--out FILE]\n"
        "\n"
        "  DIR_OR_FILE  results folders (searched for metrics.json), metrics.json files\n"
        "               or bundles written by --format json\n"
        "  --format F   md (GitHub Markdown, default), csv (tidy: one row per run and\n"
        "               metric), tex (booktabs tables), json (summary + runs bundle)\n"
        "  --level L    confidence of the Student-t intervals, in (0, 1) (default 0.95)\n"
        "  --out FILE   write there (atomically) instead of stdout\n"
        "\n"
        "exit codes: 0 ok, 1 runtime failure, 2 usage or input error\n");
}

static int emit(const cl_strbuf *b, const char *out)
{
    if (out) {
        int rc = cl_fs_write_atomic(out, b->s ? b->s : "", b->len);
        if (rc) fprintf(stderr, "clbench report: %s\n", cl_error_last());
        return rc ? 1 : 0;
    }
    if (b->len && fwrite(b->s, 1, b->len, stdout) != b->len) {
        fprintf(stderr, "clbench report: writing stdout: %s\n", strerror(errno));
        return 1;
    }
    return fflush(stdout) ? 1 : 0;
}

int cl_cli_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'},
        {"level", required_argument, 0, 'l'},
        {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cl_report_format fmt = CL_REPORT_MD;
    double level = 0.95;
    const char *out = NULL;
    int c;
    cl_cliopt_start();
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'f': bad = cl_report_format_parse(&fmt, optarg); break;
        case 'l': bad = cl_cliopt_level(&level, optarg, "--level"); break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: bad = cl_cliopt_error(c, argv); break;
        }
        if (bad) {
            fprintf(stderr, "clbench report: %s%s\n", cl_error_last(),
                    c == '?' ? " (see clbench report --help)" : "");
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: clbench report DIR_OR_FILE... [--format md|csv|tex|json] "
                        "[--level 0.95] [--out FILE] (see --help)\n");
        return 2;
    }
    cl_runset *set;
    int rc = cl_runset_load(&set, argv + optind, argc - optind);
    if (rc) {
        fprintf(stderr, "clbench report: %s\n", cl_error_last());
        /* A file named on the command line that cannot be read is bad input. */
        return rc == CL_ENOMEM ? 1 : 2;
    }
    cl_report *rep;
    if ((rc = cl_report_new(&rep, set, level))) {
        fprintf(stderr, "clbench report: %s\n", cl_error_last());
        cl_runset_free(set);
        return cl_error_exit_code(rc);
    }
    cl_strbuf b;
    cl_strbuf_init(&b);
    rc = cl_report_write(&b, rep, fmt);
    if (rc) fprintf(stderr, "clbench report: %s\n", cl_error_last());
    int code = rc ? 1 : emit(&b, out);
    cl_strbuf_release(&b);
    cl_report_free(rep);
    cl_runset_free(set);
    return code;
}
