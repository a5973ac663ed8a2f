/* text-synth: generated languages, seconds to run. Each task is a language
 * of its own: a vocabulary of made-up words over its own letters, and a
 * word bigram chain (every word a few likely successors) that writes
 * sentences, sentences into paragraphs, paragraphs as documents. A small
 * gpt learns one in a few hundred steps and a new one interferes with it,
 * which is what the tests and the quick README example need; facts are
 * read into every stream as in text-domains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/rng.h"
#include "clbench/tasks/suite.h"
#include "clbench/tasks/text.h"

static const cl_param_spec synth_params[] = {
    {"tasks", CL_PARAM_INT, "3", 1, 26, NULL, "languages, one task each"},
    {"words", CL_PARAM_INT, "32", 4, 1000, NULL, "vocabulary size of each language"},
    {"successors", CL_PARAM_INT, "3", 1, 16, NULL, "likely next words of each word"},
    {"train_bytes", CL_PARAM_INT, "12288", 256, 100000000, NULL, "training stream per task (bytes)"},
    {"test_bytes", CL_PARAM_INT, "3072", 256, 100000000, NULL, "test text per task (bytes)"},
    {"pretrain", CL_PARAM_BOOL, "false", 0, 0, NULL,
     "task 0 is a pretraining language, trained by plain steps and cached"},
    {"facts_per_task", CL_PARAM_INT, "8", 0, 100000, NULL, "facts read in each streamed task"},
    {"fact_copies", CL_PARAM_INT, "3", 1, 100, NULL, "times each fact is read, back to back"},
    CL_TEXT_PROTOCOL_PARAMS,
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

#define MAX_WORD 10

typedef struct language {
    int W, S;
    char (*word)[MAX_WORD + 1]; /* (W) */
    int *next;                  /* (W, S) successor word ids */
} language;

/* Letters: six consonants and three vowels of the language's own. */
static void make_words(language *L, gsl_rng *rng)
{
    char cons[7] = {0}, vow[4] = {0};
    static const char all_c[] = "bcdfghjklmnpqrstvwxz", all_v[] = "aeiouy";
    int pc[20], pv[6];
    for (int i = 0; i < 20; i++) pc[i] = i;
    for (int i = 0; i < 6; i++) pv[i] = i;
    cl_rng_shuffle(rng, pc, 20);
    cl_rng_shuffle(rng, pv, 6);
    for (int i = 0; i < 6; i++) cons[i] = all_c[pc[i]];
    for (int i = 0; i < 3; i++) vow[i] = all_v[pv[i]];
    for (int w = 0; w < L->W; w++) {
        int syl = 1 + (int)cl_rng_below(rng, 3), k = 0;
        for (int s = 0; s < syl; s++) {
            L->word[w][k++] = cons[cl_rng_below(rng, 6)];
            L->word[w][k++] = vow[cl_rng_below(rng, 3)];
            if (cl_rng_below(rng, 3) == 0) L->word[w][k++] = cons[cl_rng_below(rng, 6)];
        }
        L->word[w][k] = 0;
    }
}

/* One sentence of 3 to 9 words along the chain, capitalised, ". " after. */
static size_t sentence(char *out, const language *L, gsl_rng *rng)
{
    int n = 3 + (int)cl_rng_below(rng, 7), w = (int)cl_rng_below(rng, (unsigned long)L->W);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        k += (size_t)sprintf(out + k, "%s%s", i ? " " : "", L->word[w]);
        /* The first successor twice as likely as each other one. */
        int pick = (int)cl_rng_below(rng, (unsigned long)L->S + 1);
        w = L->next[(size_t)w * L->S + (pick > 0 ? pick - 1 : 0)];
    }
    out[0] = (char)(out[0] - 'a' + 'A');
    out[k++] = '.';
    out[k++] = ' ';
    return k;
}

/* Documents (paragraphs of 2 to 6 sentences) until `bytes` in all. */
static int write_docs(cl_docs *d, const language *L, size_t bytes, gsl_rng *rng)
{
    char para[6 * (9 * (MAX_WORD + 1) + 2) + 2];
    while (d->len < bytes) {
        int n = 2 + (int)cl_rng_below(rng, 5);
        size_t k = 0;
        for (int i = 0; i < n; i++) k += sentence(para + k, L, rng);
        para[k - 1] = '\n';
        int rc = cl_docs_add(d, para, k);
        if (rc) return rc;
    }
    return 0;
}

static int build_task(cl_task *t, int id, const cl_params *p, gsl_rng *rng)
{
    language L = {(int)cl_params_int(p, "words"), (int)cl_params_int(p, "successors"), NULL, NULL};
    L.word = malloc((size_t)L.W * sizeof *L.word);
    L.next = malloc((size_t)L.W * L.S * sizeof *L.next);
    cl_docs docs = {0};
    int rc = L.word && L.next ? 0 : cl_error_set(CL_ENOMEM, "out of memory");
    if (rc == 0) {
        make_words(&L, rng);
        for (size_t i = 0; i < (size_t)L.W * L.S; i++)
            L.next[i] = (int)cl_rng_below(rng, (unsigned long)L.W);
        size_t tr = (size_t)cl_params_int(p, "train_bytes"), te = (size_t)cl_params_int(p, "test_bytes");
        /* The test share of the bytes is te / (tr + te); a little more is
         * written so that both budgets fill. */
        rc = write_docs(&docs, &L, (tr + te) + (tr + te) / 8, rng);
        char name[32];
        snprintf(name, sizeof name, "lang-%c", 'a' + id);
        if (rc == 0)
            rc = cl_text_task_fill(t, name, &docs, (double)te / (double)(tr + te) * 1.05, tr, te, rng);
    }
    cl_docs_release(&docs);
    free(L.word);
    free(L.next);
    return rc;
}

static int synth_build(cl_suite **out, const char *suite_name, const cl_params *p,
                       cl_scenario sc, const char *data_dir, gsl_rng *rng)
{
    (void)data_dir;
    *out = NULL;
    int pre = cl_params_bool(p, "pretrain"), T = (int)cl_params_int(p, "tasks") + pre;
    int F = (int)cl_params_int(p, "facts_per_task"), k = (int)cl_params_int(p, "fact_copies");
    cl_suite *s;
    int rc = cl_suite_alloc(&s, suite_name, sc, T, 0, 256);
    if (rc) return rc;
    s->text = 1;
    s->pretrain = pre;
    for (int t = 0; rc == 0 && t < T; t++) rc = build_task(&s->tasks[t], t, p, rng);
    if (rc == 0) rc = cl_text_facts_insert(s, pre, F, k, rng);
    if (rc == 0) rc = cl_text_protocol(s, p);
    if (rc) {
        cl_suite_free(s);
        return rc;
    }
    char facts[128];
    cl_text_facts_recipe(facts, sizeof facts, F, k);
    snprintf(s->recipe, sizeof s->recipe, "%d generated languages (%ld words, bigram chains), "
             "%ld+%ld bytes each%s; %s", T, cl_params_int(p, "words"), cl_params_int(p, "train_bytes"),
             cl_params_int(p, "test_bytes"), pre ? ", the first pretraining" : "", facts);
    *out = s;
    return 0;
}

const cl_suite_family cl_suite_text_synth = {
    .version = CL_SUITE_FAMILY_VERSION,
    .name = "text-synth",
    .summary = "generated languages (word bigram chains) with facts read once; a byte-level LM stream",
    .params = synth_params,
    .scenarios = 1u << CL_SCENARIO_DOMAIN,
    .build = synth_build,
};
