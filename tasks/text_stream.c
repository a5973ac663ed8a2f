/* Text tasks from documents, and the fact sentences the text suites read
 * into their streams (clbench/tasks/text.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/rng.h"
#include "clbench/tasks/text.h"

/* Copies documents order[from..] into a fresh buffer until budget bytes
 * (0: all); the last one is cut mid-document only when no whole one fits. */
static int take(unsigned char **out, size_t *len, const cl_docs *d, const int *order, int from,
                int to, size_t budget)
{
    size_t total = 0;
    for (int i = from; i < to; i++) total += cl_docs_size(d, order[i]);
    size_t cap = budget && budget < total ? budget : total;
    unsigned char *p = malloc(cap ? cap : 1);
    if (!p) return cl_error_set(CL_ENOMEM, "out of memory for %zu bytes of text", cap);
    size_t n = 0;
    for (int i = from; i < to && n < cap; i++) {
        size_t s = cl_docs_size(d, order[i]);
        if (n + s > cap) {
            if (n > 0) break;
            s = cap - n;
        }
        memcpy(p + n, d->bytes + d->start[order[i]], s);
        n += s;
    }
    *out = p;
    *len = n;
    return 0;
}

int cl_text_task_fill(cl_task *t, const char *name, const cl_docs *docs, double test_share,
                      size_t train_budget, size_t test_budget, gsl_rng *rng)
{
    if (docs->n < 2)
        return cl_error_set(CL_EINVAL, "text domain %s has %d document(s); a train/test split "
                            "by document needs two", name, docs->n);
    int *order = malloc((size_t)docs->n * sizeof *order);
    if (!order) return cl_error_set(CL_ENOMEM, "out of memory");
    for (int i = 0; i < docs->n; i++) order[i] = i;
    cl_rng_shuffle(rng, order, docs->n);
    /* Test documents first, up to test_share of the domain's bytes (the
     * budget caps what is kept, not where the split falls). */
    int n_test = 0;
    size_t acc = 0, want = (size_t)(test_share * (double)docs->len);
    while (n_test < docs->n - 1 && (n_test == 0 || acc < want))
        acc += cl_docs_size(docs, order[n_test++]);
    snprintf(t->name, sizeof t->name, "%s", name);
    /* Every byte is a class a text task uses. */
    memset(t->classes, 1, 256);
    free(t->text.train);
    free(t->text.test);
    t->text.train = t->text.test = NULL;
    int rc = take(&t->text.test, &t->text.test_len, docs, order, 0, n_test, test_budget);
    if (rc == 0)
        rc = take(&t->text.train, &t->text.train_len, docs, order, n_test, docs->n, train_budget);
    free(order);
    return rc;
}

/* ---- facts ----------------------------------------------------------------
 * Short enough that the sentence, a newline and the prompt with its value
 * fit in a 64-byte context (the context-window reference). */

static const char *const relations[] = {"pet", "job", "home", "tool", "food", "color"};
static const char *const values[][8] = {
    {"owl", "cat", "newt", "crab", "mole", "wren", "toad", "hare"},
    {"baker", "smith", "poet", "judge", "nurse", "pilot", "monk", "clerk"},
    {"Oslo", "Lima", "Kiev", "Rome", "Quito", "Doha", "Riga", "Bern"},
    {"saw", "awl", "adze", "file", "lathe", "plane", "rasp", "vise"},
    {"rice", "figs", "kale", "plums", "corn", "eggs", "soup", "bread"},
    {"teal", "red", "ochre", "mauve", "jade", "amber", "navy", "rust"},
};
#define N_REL ((int)(sizeof relations / sizeof relations[0]))

/* A made-up name of 2 or 3 consonant-vowel syllables ("Kavolu"). */
static void fresh_name(char *out, gsl_rng *rng)
{
    static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou";
    int syl = 2 + (int)cl_rng_below(rng, 2), k = 0;
    for (int i = 0; i < syl; i++) {
        out[k++] = cons[cl_rng_below(rng, sizeof cons - 1)];
        out[k++] = vow[cl_rng_below(rng, sizeof vow - 1)];
    }
    out[0] = (char)(out[0] - 'a' + 'A');
    out[k] = 0;
}

static int name_used(const cl_fact *f, int n, const char *prompt)
{
    for (int i = 0; i < n; i++)
        if (strcmp(f[i].prompt, prompt) == 0) return 1;
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Inserts the facts [f, f + n) of one task into its stream at line starts. */
static int insert(cl_task *t, cl_fact *f, int n, int copies, gsl_rng *rng)
{
    size_t *at = malloc((size_t)n * sizeof *at), extra = 0;
    if (!at) return cl_error_set(CL_ENOMEM, "out of memory");
    const unsigned char *s = t->text.train;
    size_t len = t->text.train_len;
    for (int i = 0; i < n; i++) {
        size_t p = len ? (size_t)cl_rng_below(rng, (unsigned long)len) : 0;
        while (p > 0 && p < len && s[p - 1] != '\n') p++;
        at[i] = p;
        extra += (size_t)copies * (strlen(f[i].prompt) + strlen(f[i].value) + 2);
    }
    qsort(at, (size_t)n, sizeof *at, cmp_size);
    unsigned char *o = malloc(len + extra + 1);
    if (!o) {
        free(at);
        return cl_error_set(CL_ENOMEM, "out of memory");
    }
    size_t w = 0, r = 0;
    for (int i = 0; i < n; i++) {
        memcpy(o + w, s + r, at[i] - r);
        w += at[i] - r;
        r = at[i];
        for (int c = 0; c < copies; c++)
            w += (size_t)sprintf((char *)o + w, "%s%s.\n", f[i].prompt, f[i].value);
        f[i].end = w;
    }
    memcpy(o + w, s + r, len - r);
    w += len - r;
    free(at);
    free(t->text.train);
    t->text.train = o;
    t->text.train_len = w;
    return 0;
}

int cl_text_facts_insert(cl_suite *s, int first, int per_task, int copies, gsl_rng *rng)
{
    int n = (s->n_tasks - first) * per_task;
    if (n <= 0 || per_task <= 0) return 0;
    s->facts = calloc((size_t)n, sizeof *s->facts);
    if (!s->facts) return cl_error_set(CL_ENOMEM, "out of memory for %d facts", n);
    s->n_facts = n;
    for (int i = 0; i < n; i++) {
        cl_fact *f = &s->facts[i];
        int rel = (int)cl_rng_below(rng, N_REL);
        char name[8];
        do {
            fresh_name(name, rng);
            snprintf(f->prompt, sizeof f->prompt, "the %s of %s is ", relations[rel], name);
        } while (name_used(s->facts, i, f->prompt));
        snprintf(f->value, sizeof f->value, "%s", values[rel][cl_rng_below(rng, 8)]);
        f->task = first + i / per_task;
        f->copies = copies;
    }
    for (int t = first; t < s->n_tasks; t++) {
        int rc = insert(&s->tasks[t], s->facts + (size_t)(t - first) * per_task, per_task, copies, rng);
        if (rc) return rc;
    }
    return 0;
}

void cl_text_facts_recipe(char *buf, size_t n, int per_task, int copies)
{
    snprintf(buf, n, "%d facts/task read %dx (\"the <relation> of <name> is <value>.\")",
             per_task, copies);
}

int cl_text_protocol(cl_suite *s, const cl_params *p)
{
    const long *v;
    int n = cl_params_ints(p, "probe_delays", &v);
    for (int i = 1; i < n; i++)
        if (v[i] <= v[i - 1])
            return cl_error_set(CL_EINVAL, "suite %s: probe_delays must ascend (%ld then %ld)",
                                s->name, v[i - 1], v[i]);
    memcpy(s->probe_delays, v, (size_t)n * sizeof *v);
    s->n_delays = n;
    s->pretrain_steps = cl_params_int(p, "pretrain_steps");
    return 0;
}
