#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/report/compare.h"
#include "clbench/base/error.h"
#include "clbench/base/stats.h"

static const char *const metric_names[CL_CMP_N_METRICS] = {
    "acc", "bwt", "fwt", "forgetting", "learning_accuracy", "a_diaz", "anytime_acc", "min_acc",
    "intransigence"};

const char *cl_compare_metric_name(int m)
{
    CL_ASSERT(m >= 0 && m < CL_CMP_N_METRICS);
    return metric_names[m];
}

int cl_compare_lower_is_better(int m) { return m == CL_CMP_FORGETTING || m == CL_CMP_INTRANSIGENCE; }

void cl_compare_opts_default(cl_compare_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_drop = 0.02;
    o->alpha = 0.05;
    o->gate = CL_CMP_ALL_METRICS;
}

int cl_compare_metrics_parse(unsigned *mask, const char *list)
{
    *mask = 0;
    if (!strcmp(list, "all")) {
        *mask = CL_CMP_ALL_METRICS;
        return 0;
    }
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int m = 0; m < CL_CMP_N_METRICS && found < 0; m++)
            if (strlen(metric_names[m]) == len && !strncmp(p, metric_names[m], len)) found = m;
        if (found < 0)
            return cl_error_set(CL_EINVAL, "--metrics: '%.*s' is not a metric (acc, bwt, fwt, "
                                "forgetting, learning_accuracy, a_diaz, anytime_acc, min_acc, "
                                "intransigence, or all)", (int)len, p);
        *mask |= 1u << found;
        if (!p[len]) return 0;
        p += len + 1;
    }
}

int cl_compare_format_parse(cl_compare_format *out, const char *name)
{
    if (!strcmp(name, "md")) *out = CL_COMPARE_MD;
    else if (!strcmp(name, "text")) *out = CL_COMPARE_TEXT;
    else return cl_error_set(CL_EINVAL, "--format: '%s' is not md or text", name);
    return 0;
}

static int is_ok(const cl_run_doc *r) { return r->status && !strcmp(r->status, "ok"); }

static const cl_run_doc *first_run(const cl_runset *s, int cell)
{
    return &s->runs[s->cells[cell].runs[0]];
}

static const cl_run_doc *rep_run(const cl_compare *c, const cl_compare_cell *e)
{
    return e->base >= 0 ? first_run(c->base, e->base) : first_run(c->cur, e->cur);
}

/* Finite values of metric m over the ok runs of a cell, into v (cell size). */
static int metric_values(double *v, const cl_runset *s, int cell, int m)
{
    char path[64];
    snprintf(path, sizeof path, "metrics.%s", metric_names[m]);
    const cl_cell *k = &s->cells[cell];
    int n = 0;
    for (int i = 0; i < k->n; i++) {
        const cl_run_doc *r = &s->runs[k->runs[i]];
        double x = cl_run_num(r, path);
        if (is_ok(r) && isfinite(x)) v[n++] = x;
    }
    return n;
}

static double mean(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return n ? s / n : NAN;
}

static void decide(cl_compare_metric *o, int m, const double *b, int nb, const double *cv, int nc,
                   const cl_compare_opts *opts)
{
    int lower = cl_compare_lower_is_better(m);
    o->nb = nb;
    o->nc = nc;
    o->base = mean(b, nb);
    o->cur = mean(cv, nc);
    o->delta = o->cur - o->base;
    o->drop = lower ? o->delta : -o->delta;
    o->p = NAN;
    /* Intransigence needs a joint reference that a set may lack; the rest
     * are always written, so a missing one is shown as n/a. */
    o->shown = m != CL_CMP_INTRANSIGENCE || (nb && nc);
    if (!nb || !nc) {
        o->verdict = CL_CMP_NA;
        return;
    }
    o->threshold_only = nb < 2 || nc < 2;
    /* welch_p_less(a, b) tests mean(b) < mean(a): for higher-is-better the
     * bad move is current below baseline; for lower-is-better it is the
     * baseline below current. */
    if (!o->threshold_only) o->p = lower ? cl_stats_welch_p_less(cv, nc, b, nb)
                                         : cl_stats_welch_p_less(b, nb, cv, nc);
    if (!(o->drop > opts->max_drop)) o->verdict = CL_CMP_PASS;
    else if (!(opts->gate & (1u << m))) o->verdict = CL_CMP_UNGATED;
    else if (o->threshold_only || o->p < opts->alpha) o->verdict = CL_CMP_REGRESSION;
    else o->verdict = CL_CMP_NOT_SIGNIFICANT;
}

/* Current runs that are not ok while the baseline's run of the same seed
 * was ok (or, for a seed the baseline lacks, every baseline run was ok). */
static int find_new_diverged(cl_compare_cell *e, const cl_runset *bs, const cl_runset *cs)
{
    const cl_cell *kb = &bs->cells[e->base], *kc = &cs->cells[e->cur];
    e->new_diverged = malloc((size_t)kc->n * sizeof *e->new_diverged);
    if (!e->new_diverged) return cl_error_set(CL_ENOMEM, "out of memory");
    for (int i = 0; i < kc->n; i++) {
        const cl_run_doc *r = &cs->runs[kc->runs[i]];
        if (is_ok(r)) continue;
        /* The baseline's runs of this seed (a merged results folder can
         * hold more than one): new only if every one of them was ok; a
         * seed the baseline lacks is new if all its runs were ok. */
        int has_seed = 0, seed_ok = 1;
        for (int j = 0; j < kb->n; j++) {
            const cl_run_doc *q = &bs->runs[kb->runs[j]];
            if (q->seed != r->seed) continue;
            has_seed = 1;
            seed_ok &= is_ok(q);
        }
        if (has_seed ? seed_ok : e->nb_ok == e->nb_runs)
            e->new_diverged[e->n_new_diverged++] = r->seed;
    }
    return 0;
}

static int count_ok(const cl_runset *s, int cell)
{
    int n = 0;
    for (int i = 0; i < s->cells[cell].n; i++) n += is_ok(&s->runs[s->cells[cell].runs[i]]);
    return n;
}

static int compare_cell(cl_compare *c, cl_compare_cell *e)
{
    const cl_run_doc *r = rep_run(c, e);
    e->suite = r->suite;
    e->scenario = r->scenario;
    double steps = cl_run_num(r, "protocol.steps_per_task");
    double batch = cl_run_num(r, "protocol.batch_size");
    e->steps_per_task = isfinite(steps) ? (long)steps : -1;
    e->batch_size = isfinite(batch) ? (long)batch : -1;
    if (e->base >= 0) {
        e->nb_runs = c->base->cells[e->base].n;
        e->nb_ok = count_ok(c->base, e->base);
    }
    if (e->cur >= 0) {
        e->nc_runs = c->cur->cells[e->cur].n;
        e->nc_ok = count_ok(c->cur, e->cur);
    }
    if (e->base < 0 || e->cur < 0) return 0;
    int rc = find_new_diverged(e, c->base, c->cur);
    if (rc) return rc;
    double *b = malloc((size_t)(e->nb_runs + e->nc_runs) * sizeof *b); /* (nb_runs + nc_runs) */
    if (!b) return cl_error_set(CL_ENOMEM, "out of memory");
    double *cv = b + e->nb_runs;
    for (int m = 0; m < CL_CMP_N_METRICS; m++) {
        int nb = metric_values(b, c->base, e->base, m);
        int nc = metric_values(cv, c->cur, e->cur, m);
        cl_compare_metric *o = &e->m[m];
        decide(o, m, b, nb, cv, nc, &c->opts);
        if (o->verdict == CL_CMP_REGRESSION) e->regression = 1;
        if (o->shown && o->verdict != CL_CMP_NA && o->threshold_only &&
            (c->opts.gate & (1u << m)))
            c->n_threshold_only++;
    }
    free(b);
    if (e->n_new_diverged) e->regression = 1;
    return 0;
}

static const char *const label_parts[] = {"params", "suite_params", "model", "train"};
static const char *const label_prefix[] = {"", "suite.", "model.", "train."};

/* The strategy plus every setting in which this cell differs from another
 * cell of its suite, scenario and strategy, over both sets: the runset's
 * own labels look at strategy parameters in one set only, and two cells
 * may differ in train.steps alone. */
static int label_cell(cl_compare *c, cl_compare_cell *e)
{
    const cl_run_doc *r = rep_run(c, e);
    cl_strbuf b, mine;
    cl_strbuf_init(&b);
    cl_strbuf_puts(&b, r->strategy);
    int shown = 0;
    for (size_t p = 0; p < sizeof label_parts / sizeof label_parts[0]; p++) {
        const cl_json *obj = cl_json_get(r->doc, label_parts[p]);
        for (size_t k = 0; k < cl_json_len(obj); k++) {
            const char *key = cl_json_key_at(obj, k);
            cl_strbuf_init(&mine);
            cl_json_dump(&mine, cl_json_at(obj, k));
            int differs = 0;
            for (int j = 0; j < c->n_cells && !differs; j++) {
                const cl_run_doc *o = rep_run(c, &c->cells[j]);
                if (strcmp(o->suite, r->suite) || strcmp(o->scenario, r->scenario) ||
                    strcmp(o->strategy, r->strategy))
                    continue;
                differs = cl_run_setting_differs(o, label_parts[p], key, mine.s ? mine.s : "");
            }
            if (differs)
                cl_strbuf_printf(&b, "%s%s%s=%s", shown++ ? ", " : " (", label_prefix[p], key,
                                 mine.s ? mine.s : "");
            cl_strbuf_release(&mine);
        }
    }
    if (shown) cl_strbuf_puts(&b, ")");
    if (cl_strbuf_status(&b)) {
        cl_strbuf_release(&b);
        return cl_error_set(CL_ENOMEM, "out of memory");
    }
    e->label = b.s;
    return 0;
}

typedef struct order_key {
    const char *suite, *scenario;
    int seq;
    cl_compare_cell cell;
} order_key;

static int cmp_order(const void *pa, const void *pb)
{
    const order_key *a = pa, *b = pb;
    int k = strcmp(a->suite, b->suite);
    if (!k) k = strcmp(a->scenario, b->scenario);
    if (!k) k = (a->seq > b->seq) - (a->seq < b->seq);
    return k;
}

/* Baseline cells (matched or missing) in the baseline's order, then extra
 * cells, regrouped by suite and scenario. */
static int match_cells(cl_compare *c)
{
    const cl_runset *bs = c->base, *cs = c->cur;
    int cap = bs->n_cells + cs->n_cells;
    order_key *keys = calloc((size_t)(cap ? cap : 1), sizeof *keys);
    if (!keys) return cl_error_set(CL_ENOMEM, "out of memory");
    int n = 0;
    for (int k = 0; k < bs->n_cells; k++) {
        const cl_run_doc *r = first_run(bs, k);
        keys[n] = (order_key){r->suite, r->scenario, n, {0}};
        keys[n].cell.base = k;
        keys[n].cell.cur = cl_runset_find_cell(cs, r);
        n++;
    }
    int n_base = n;
    /* Two baseline cells agreeing with one current cell (the current runs
     * lack a setting that tells them apart): neither is matched. */
    unsigned char *shared = calloc((size_t)(n_base ? n_base : 1), 1);
    if (!shared) {
        free(keys);
        return cl_error_set(CL_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n_base; i++)
        for (int j = 0; j < n_base; j++)
            if (j != i && keys[i].cell.cur >= 0 && keys[j].cell.cur == keys[i].cell.cur) shared[i] = 1;
    for (int i = 0; i < n_base; i++)
        if (shared[i]) keys[i].cell.cur = -1;
    free(shared);
    for (int k = 0; k < cs->n_cells; k++) {
        const cl_run_doc *r = first_run(cs, k);
        int taken = 0;
        for (int i = 0; i < n_base && !taken; i++) taken = keys[i].cell.cur == k;
        if (taken) continue;
        keys[n] = (order_key){r->suite, r->scenario, n, {0}};
        keys[n].cell.base = -1;
        keys[n].cell.cur = k;
        n++;
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_order);
    c->cells = calloc((size_t)(n ? n : 1), sizeof *c->cells);
    if (!c->cells) {
        free(keys);
        return cl_error_set(CL_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) c->cells[i] = keys[i].cell;
    c->n_cells = n;
    free(keys);
    return 0;
}

int cl_compare_new(cl_compare **out, const cl_runset *base, const cl_runset *cur,
                   const cl_compare_opts *opts)
{
    *out = NULL;
    if (!(opts->max_drop >= 0) || !isfinite(opts->max_drop))
        return cl_error_set(CL_EINVAL, "--max-drop: %g is not a finite number >= 0", opts->max_drop);
    if (!(opts->alpha > 0 && opts->alpha < 1))
        return cl_error_set(CL_EINVAL, "--alpha: %g is not in (0, 1)", opts->alpha);
    cl_compare *c = calloc(1, sizeof *c);
    if (!c) return cl_error_set(CL_ENOMEM, "out of memory");
    c->base = base;
    c->cur = cur;
    c->opts = *opts;
    int rc = match_cells(c);
    for (int i = 0; rc == 0 && i < c->n_cells; i++) rc = label_cell(c, &c->cells[i]);
    for (int i = 0; rc == 0 && i < c->n_cells; i++) {
        cl_compare_cell *e = &c->cells[i];
        rc = compare_cell(c, e);
        if (e->base >= 0 && e->cur >= 0) c->n_matched++;
        else if (e->base >= 0) c->n_missing++;
        else c->n_extra++;
        c->n_regressions += e->regression;
    }
    if (rc) {
        cl_compare_free(c);
        return rc;
    }
    c->failed = c->n_regressions > 0 || (opts->strict && c->n_missing > 0);
    *out = c;
    return 0;
}

void cl_compare_free(cl_compare *c)
{
    if (!c) return;
    for (int i = 0; i < c->n_cells; i++) {
        free(c->cells[i].label);
        free(c->cells[i].new_diverged);
    }
    free(c->cells);
    free(c);
}

/* ---- writing ---- */

typedef struct writer {
    cl_strbuf *b;
    const cl_compare *c;
    int md;
} writer;

static const char *fmt_mean(char *buf, size_t n, double v)
{
    if (!isfinite(v)) return "n/a";
    snprintf(buf, n, "%.4f", v);
    return buf;
}

static const char *fmt_delta(char *buf, size_t n, double v)
{
    if (!isfinite(v)) return "n/a";
    /* A rounding residue must not print as "-0.0000". */
    snprintf(buf, n, "%+.4f", fabs(v) < 5e-5 ? 0.0 : v);
    return buf;
}

static const char *fmt_p(char *buf, size_t n, const cl_compare_metric *m)
{
    if (m->verdict == CL_CMP_NA) return "n/a";
    if (m->threshold_only) return "1 seed";
    if (!isfinite(m->p)) return "n/a";
    if (m->p < 1e-4) return "<0.0001";
    snprintf(buf, n, "%.4f", m->p);
    return buf;
}

static const char *verdict_text(int md, cl_compare_verdict v)
{
    switch (v) {
    case CL_CMP_NA: return "n/a";
    case CL_CMP_PASS: return "ok";
    case CL_CMP_NOT_SIGNIFICANT: return "drop, not significant";
    case CL_CMP_UNGATED: return "drop, not gated";
    case CL_CMP_REGRESSION: return md ? "\xE2\x9D\x8C **REGRESSION**" : "REGRESSION";
    }
    return "?";
}

/* Text for a Markdown table cell: '|' would end the cell. */
static void put_cell_text(writer *w, const char *s)
{
    if (!w->md) {
        cl_strbuf_puts(w->b, s);
        return;
    }
    for (; *s; s++) {
        if (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '`') cl_strbuf_puts(w->b, "\\");
        cl_strbuf_printf(w->b, "%c", *s);
    }
}

static void put_cell_name(writer *w, const cl_compare_cell *e)
{
    put_cell_text(w, e->suite);
    cl_strbuf_puts(w->b, " / ");
    put_cell_text(w, e->scenario);
    cl_strbuf_puts(w->b, " / ");
    put_cell_text(w, e->label);
}

static void put_seeds(writer *w, const unsigned long *seeds, int n)
{
    cl_strbuf_printf(w->b, "seed%s ", n > 1 ? "s" : "");
    for (int i = 0; i < n; i++) cl_strbuf_printf(w->b, "%s%lu", i ? ", " : "", seeds[i]);
}

static void write_header(writer *w)
{
    const cl_compare *c = w->c;
    const cl_compare_opts *o = &c->opts;
    const char *verdict = c->failed ? "REGRESSION" : "PASS";
    if (w->md)
        cl_strbuf_printf(w->b, "## clbench compare: %s %s\n\n",
                         c->failed ? "\xE2\x9D\x8C" : "\xE2\x9C\x85", verdict);
    else
        cl_strbuf_printf(w->b, "clbench compare: %s\n\n", verdict);
    const char *q = w->md ? "`" : "'";
    cl_strbuf_printf(w->b, "Baseline %s%s%s (%d runs), current %s%s%s (%d runs): %d cells matched, "
                     "%d regressed, %d missing, %d extra.\n\n",
                     q, o->base_name ? o->base_name : "baseline", q, c->base->n,
                     q, o->cur_name ? o->cur_name : "current", q, c->cur->n,
                     c->n_matched, c->n_regressions, c->n_missing, c->n_extra);
    if (!c->n_matched)
        cl_strbuf_printf(w->b, "%sNo cell matched: this comparison checked nothing.%s\n\n",
                         w->md ? "**" : "", w->md ? "**" : "");
    cl_strbuf_printf(w->b, "Gate: a metric regresses when its mean over the ok seeds moves the bad "
                     "way by more than %g and Welch's one-sided t-test gives p < %g; where a side "
                     "has a single seed (p shows \"1 seed\") the threshold alone decides",
                     o->max_drop, o->alpha);
    if (c->n_threshold_only)
        cl_strbuf_printf(w->b, " (%d comparison%s here)", c->n_threshold_only,
                         c->n_threshold_only > 1 ? "s" : "");
    cl_strbuf_puts(w->b, ". Lower is better for forgetting and intransigence, higher for the "
                         "rest. A run that diverged where the baseline's run was ok is a "
                         "regression. Gated metrics: ");
    if ((o->gate & CL_CMP_ALL_METRICS) == CL_CMP_ALL_METRICS) cl_strbuf_puts(w->b, "all");
    else
        for (int m = 0, k = 0; m < CL_CMP_N_METRICS; m++)
            if (o->gate & (1u << m)) cl_strbuf_printf(w->b, "%s%s", k++ ? ", " : "", metric_names[m]);
    cl_strbuf_printf(w->b, ". Missing cells %s.\n\n",
                     o->strict ? "fail the gate (--strict)" : "are listed but do not fail the "
                                                              "gate (--strict makes them fail)");
}

static void write_regressions(writer *w)
{
    const cl_compare *c = w->c;
    if (!c->failed) return;
    cl_strbuf_puts(w->b, w->md ? "### Regressions\n\n" : "Regressions:\n");
    const char *item = w->md ? "- " : "  ";
    char b1[32], b2[32], b3[32], b4[32];
    for (int i = 0; i < c->n_cells; i++) {
        const cl_compare_cell *e = &c->cells[i];
        if (e->base >= 0 && e->cur < 0 && c->opts.strict) {
            cl_strbuf_printf(w->b, "%s%s", item, w->md ? "**" : "");
            put_cell_name(w, e);
            cl_strbuf_printf(w->b, "%s: missing from the current runs\n", w->md ? "**" : "");
        }
        if (!e->regression) continue;
        for (int m = 0; m < CL_CMP_N_METRICS; m++) {
            const cl_compare_metric *x = &e->m[m];
            if (x->verdict != CL_CMP_REGRESSION) continue;
            cl_strbuf_printf(w->b, "%s%s", item, w->md ? "**" : "");
            put_cell_name(w, e);
            cl_strbuf_printf(w->b, "%s: %s%s%s %s -> %s (delta %s, p %s, seeds %d/%d)\n",
                             w->md ? "**" : "", w->md ? "`" : "", metric_names[m],
                             w->md ? "`" : "", fmt_mean(b1, sizeof b1, x->base),
                             fmt_mean(b2, sizeof b2, x->cur), fmt_delta(b3, sizeof b3, x->delta),
                             fmt_p(b4, sizeof b4, x), x->nb, x->nc);
        }
        if (e->n_new_diverged) {
            cl_strbuf_printf(w->b, "%s%s", item, w->md ? "**" : "");
            put_cell_name(w, e);
            cl_strbuf_printf(w->b, "%s: ", w->md ? "**" : "");
            put_seeds(w, e->new_diverged, e->n_new_diverged);
            cl_strbuf_puts(w->b, " diverged (ok in the baseline)\n");
        }
    }
    cl_strbuf_puts(w->b, "\n");
}

/* "300" or "100, 300": the distinct values of a protocol field in a group. */
static void put_distinct(writer *w, const cl_compare *c, int from, int to, int batch)
{
    long seen[16];
    int n = 0;
    for (int i = from; i < to; i++) {
        const cl_compare_cell *e = &c->cells[i];
        if (e->base < 0 || e->cur < 0) continue;
        long v = batch ? e->batch_size : e->steps_per_task;
        int dup = 0;
        for (int k = 0; k < n; k++) dup |= seen[k] == v;
        if (!dup && n < 16) seen[n++] = v;
    }
    for (int k = 0; k < n; k++) {
        if (seen[k] < 0) cl_strbuf_printf(w->b, "%s?", k ? ", " : "");
        else cl_strbuf_printf(w->b, "%s%ld", k ? ", " : "", seen[k]);
    }
}

static void put_seed_range(writer *w, const cl_compare *c, int from, int to, int cur)
{
    int lo = -1, hi = -1;
    for (int i = from; i < to; i++) {
        const cl_compare_cell *e = &c->cells[i];
        if (e->base < 0 || e->cur < 0) continue;
        int n = cur ? e->nc_runs : e->nb_runs;
        if (lo < 0 || n < lo) lo = n;
        if (n > hi) hi = n;
    }
    if (lo == hi) cl_strbuf_printf(w->b, "%d", lo);
    else cl_strbuf_printf(w->b, "%d-%d", lo, hi);
}

/* One table row; the text form pads to the widths the md form ignores. */
static void put_row(writer *w, int label_w, const char *cell, const char *seeds, const char *metric,
                    const char *base, const char *cur, const char *delta, const char *p,
                    const char *verdict)
{
    if (w->md) {
        cl_strbuf_puts(w->b, "| ");
        put_cell_text(w, cell);
        cl_strbuf_printf(w->b, " | %s | %s | %s | %s | %s | %s | %s |\n", seeds, metric, base, cur,
                         delta, p, verdict);
    } else {
        cl_strbuf_printf(w->b, "  %-*s  %-5s  %-17s  %8s  %8s  %8s  %8s  %s\n", label_w, cell,
                         seeds, metric, base, cur, delta, p, verdict);
    }
}

static void write_group(writer *w, int from, int to)
{
    const cl_compare *c = w->c;
    int label_w = 4;
    int matched = 0;
    for (int i = from; i < to; i++) {
        const cl_compare_cell *e = &c->cells[i];
        if (e->base < 0 || e->cur < 0) continue;
        matched++;
        int len = (int)strlen(e->label);
        if (len > label_w) label_w = len;
    }
    if (!matched) return;
    const cl_compare_cell *first = &c->cells[from];
    cl_strbuf_printf(w->b, w->md ? "### %s / %s\n\n" : "%s / %s: ", first->suite, first->scenario);
    cl_strbuf_puts(w->b, w->md ? "Protocol: " : "");
    put_distinct(w, c, from, to, 0);
    cl_strbuf_puts(w->b, " steps per task, batch ");
    put_distinct(w, c, from, to, 1);
    cl_strbuf_puts(w->b, ", seeds ");
    put_seed_range(w, c, from, to, 0);
    cl_strbuf_puts(w->b, " (baseline) / ");
    put_seed_range(w, c, from, to, 1);
    cl_strbuf_puts(w->b, w->md ? " (current).\n\n" : " (current)\n");
    if (w->md)
        cl_strbuf_puts(w->b, "| cell | ok seeds | metric | baseline | current | delta | p | verdict |\n"
                             "|---|---|---|---:|---:|---:|---:|---|\n");
    else
        put_row(w, label_w, "cell", "seeds", "metric", "baseline", "current", "delta", "p",
                "verdict");
    char b1[32], b2[32], b3[32], b4[32], seeds[32];
    for (int i = from; i < to; i++) {
        const cl_compare_cell *e = &c->cells[i];
        if (e->base < 0 || e->cur < 0) continue;
        snprintf(seeds, sizeof seeds, "%d/%d", e->nb_ok, e->nc_ok);
        int first_row = 1;
        for (int m = 0; m < CL_CMP_N_METRICS; m++) {
            const cl_compare_metric *x = &e->m[m];
            if (!x->shown) continue;
            put_row(w, label_w, first_row ? e->label : "", first_row ? seeds : "", metric_names[m],
                    fmt_mean(b1, sizeof b1, x->base), fmt_mean(b2, sizeof b2, x->cur),
                    fmt_delta(b3, sizeof b3, x->delta), fmt_p(b4, sizeof b4, x),
                    verdict_text(w->md, x->verdict));
            first_row = 0;
        }
        if (e->nb_ok < e->nb_runs || e->nc_ok < e->nc_runs) {
            snprintf(b1, sizeof b1, "%d/%d ok", e->nb_ok, e->nb_runs);
            snprintf(b2, sizeof b2, "%d/%d ok", e->nc_ok, e->nc_runs);
            put_row(w, label_w, first_row ? e->label : "", first_row ? seeds : "", "status", b1,
                    b2, "", "", e->n_new_diverged ? verdict_text(w->md, CL_CMP_REGRESSION) : "ok");
        }
    }
    cl_strbuf_puts(w->b, "\n");
}

static void write_unmatched(writer *w, int missing)
{
    const cl_compare *c = w->c;
    if (!(missing ? c->n_missing : c->n_extra)) return;
    if (missing)
        cl_strbuf_printf(w->b, "%sMissing cells (in the baseline, not in the current runs%s)%s\n",
                         w->md ? "### " : "", c->opts.strict ? "; failing with --strict" : "",
                         w->md ? "\n" : ":");
    else
        cl_strbuf_printf(w->b, "%sExtra cells (only in the current runs)%s\n", w->md ? "### " : "",
                         w->md ? "\n" : ":");
    for (int i = 0; i < c->n_cells; i++) {
        const cl_compare_cell *e = &c->cells[i];
        if (missing ? !(e->base >= 0 && e->cur < 0) : e->base >= 0) continue;
        cl_strbuf_puts(w->b, w->md ? "- " : "  ");
        put_cell_name(w, e);
        int n = missing ? e->nb_runs : e->nc_runs, ok = missing ? e->nb_ok : e->nc_ok;
        cl_strbuf_printf(w->b, ": %d seed%s", n, n > 1 ? "s" : "");
        if (ok < n) cl_strbuf_printf(w->b, ", %d not ok", n - ok);
        cl_strbuf_puts(w->b, "\n");
    }
    cl_strbuf_puts(w->b, "\n");
}

int cl_compare_write(cl_strbuf *b, const cl_compare *c, cl_compare_format f)
{
    writer w = {b, c, f == CL_COMPARE_MD};
    write_header(&w);
    write_regressions(&w);
    for (int i = 0; i < c->n_cells;) {
        int j = i + 1;
        while (j < c->n_cells && !strcmp(c->cells[j].suite, c->cells[i].suite) &&
               !strcmp(c->cells[j].scenario, c->cells[i].scenario))
            j++;
        write_group(&w, i, j);
        i = j;
    }
    write_unmatched(&w, 1);
    write_unmatched(&w, 0);
    return cl_strbuf_status(b) ? cl_error_set(CL_ENOMEM, "out of memory") : 0;
}
