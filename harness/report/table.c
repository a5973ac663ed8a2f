#include <math.h>
#include <string.h>
#include "clbench/report/table.h"

static void num(FILE *f, double v, int width)
{
    if (isfinite(v)) fprintf(f, " %*.3f", width, v);
    else fprintf(f, " %*s", width, "-");
}

/* 1234567 -> "1.2 MB", for the ledger columns. */
static void human_bytes(char *buf, size_t n, double v)
{
    const char *u[] = {"B", "KB", "MB", "GB", "TB"};
    int i = 0;
    while (v >= 1000 && i < 4) v /= 1000, i++;
    if (i == 0) snprintf(buf, n, "%.0f %s", v, u[i]);
    else snprintf(buf, n, "%.1f %s", v, u[i]);
}

static const char *str_or(const cl_json *doc, const char *path, const char *dflt)
{
    const char *s = cl_json_str(cl_json_path(doc, path));
    return s ? s : dflt;
}

void cl_table_print_run(FILE *f, const cl_json *m)
{
    const cl_json *R = cl_json_get(m, "R");
    int T = (int)cl_json_num(cl_json_get(m, "tasks"));
    fprintf(f, "%s (%s scenario) | strategy %s | seed %.0f | %s\n",
            str_or(m, "suite", "?"), str_or(m, "scenario", "?"), str_or(m, "strategy", "?"),
            cl_json_num(cl_json_get(m, "seed")), str_or(m, "status", "?"));
    fprintf(f, "protocol: %.0f steps/task, batch %.0f, %.0f parameters; data: %s\n",
            cl_json_num(cl_json_path(m, "protocol.steps_per_task")),
            cl_json_num(cl_json_path(m, "protocol.batch_size")),
            cl_json_num(cl_json_path(m, "protocol.parameters")), str_or(m, "protocol.data", "?"));
    fprintf(f, "\nR: accuracy on task j (columns) after training task i (rows)\n%-9s", "");
    for (int j = 0; j < T; j++) fprintf(f, " %6s%-2d", "T", j + 1);
    fprintf(f, "\n");
    for (int i = 0; i <= T && i < (int)cl_json_len(R); i++) {
        char head[16];
        snprintf(head, sizeof head, i ? "task %d" : "init", i);
        fprintf(f, "%-9s", head);
        const cl_json *row = cl_json_at(R, (size_t)i);
        for (int j = 0; j < T; j++) num(f, cl_json_num(cl_json_at(row, (size_t)j)), 8);
        fprintf(f, "\n");
    }
    static const char *const keys[] = {"acc", "bwt", "bwt_gemcode", "fwt", "forgetting",
                                       "learning_accuracy", "a_diaz", "anytime_acc",
                                       "min_acc", "intransigence"};
    fprintf(f, "\nmetrics\n");
    const cl_json *mt = cl_json_get(m, "metrics");
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        fprintf(f, "  %-18s", keys[k]);
        num(f, cl_json_num(cl_json_get(mt, keys[k])), 7);
        fprintf(f, "\n");
    }
    char bytes[32];
    human_bytes(bytes, sizeof bytes, cl_json_num(cl_json_path(m, "ledger.extra_bytes")));
    fprintf(f, "\nledger: extra memory %s, training %.3g GFLOP, wall %.2f s, peak RSS %.0f MB\n",
            bytes, cl_json_num(cl_json_path(m, "ledger.train_flops")) / 1e9,
            cl_json_num(cl_json_path(m, "ledger.wall_s")),
            cl_json_num(cl_json_path(m, "ledger.peak_rss_bytes")) / 1e6);
    const char *reason = cl_json_str(cl_json_get(m, "reason"));
    if (reason) fprintf(f, "diverged: %s\n", reason);
}

typedef struct row {
    const char *strategy;
    int n;
    double sum[7]; /* acc bwt fwt forgetting la extra_bytes wall_s */
} row;

void cl_table_print_comparison(FILE *f, const cl_json *const *runs, int n)
{
    static const char *const paths[7] = {"metrics.acc", "metrics.bwt", "metrics.fwt",
                                         "metrics.forgetting", "metrics.learning_accuracy",
                                         "ledger.extra_bytes", "ledger.wall_s"};
    row rows[64];
    int nr = 0;
    for (int i = 0; i < n; i++) {
        const char *s = str_or(runs[i], "strategy", "?");
        int k = 0;
        while (k < nr && strcmp(rows[k].strategy, s) != 0) k++;
        if (k == nr) {
            if (nr == 64) continue;
            memset(&rows[nr], 0, sizeof rows[nr]);
            rows[nr++].strategy = s;
        }
        rows[k].n++;
        for (int c = 0; c < 7; c++) rows[k].sum[c] += cl_json_num(cl_json_path(runs[i], paths[c]));
    }
    if (n > 0)
        fprintf(f, "%s (%s scenario): %.0f tasks, %.0f steps/task, batch %.0f; mean over seeds\n",
                str_or(runs[0], "suite", "?"), str_or(runs[0], "scenario", "?"),
                cl_json_num(cl_json_get(runs[0], "tasks")),
                cl_json_num(cl_json_path(runs[0], "protocol.steps_per_task")),
                cl_json_num(cl_json_path(runs[0], "protocol.batch_size")));
    fprintf(f, "%-10s %5s %7s %7s %7s %10s %7s %11s %8s\n", "strategy", "seeds", "acc", "bwt",
            "fwt", "forgetting", "LA", "extra mem", "wall s");
    for (int k = 0; k < nr; k++) {
        double mean[7];
        for (int c = 0; c < 7; c++) mean[c] = rows[k].sum[c] / rows[k].n;
        char bytes[32];
        human_bytes(bytes, sizeof bytes, mean[5]);
        fprintf(f, "%-10s %5d", rows[k].strategy, rows[k].n);
        num(f, mean[0], 7);
        num(f, mean[1], 7);
        num(f, mean[2], 7);
        num(f, mean[3], 10);
        num(f, mean[4], 7);
        fprintf(f, " %11s %8.2f\n", bytes, mean[6]);
    }
}
