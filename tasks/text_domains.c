/* text-domains: real text from Debian packages, one domain a task: English,
 * German, Italian and Spanish fortunes, the Jargon File, FOLDOC and the C
 * headers of libc6-dev. Optionally one domain is a pretraining task 0; the
 * others follow in a fixed order, and facts are read into those streamed
 * tasks. Each domain is read from files its package installs and nothing
 * else (fixed file lists, dpkg's own list for the headers), so a seed gives
 * the same suite on every machine with the same package versions.
 *
 * data_dir D stands in for both roots, for tests and odd installs:
 * /usr/share/X is read as D/X (D/games/fortunes/..., D/dictd/...), dpkg's
 * list of libc6-dev's files as D/dpkg/libc6-dev.list, and each header it
 * lists (/usr/include/...) below D. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "clbench/base/error.h"
#include "clbench/tasks/suite.h"
#include "clbench/tasks/text.h"

static const cl_param_spec domains_params[] = {
    {"pretrain", CL_PARAM_CHOICE, "en", 0, 0, "none|en|de|it|es|jargon|foldoc|c",
     "domain read as pretraining task 0 (none: every task is streamed)"},
    {"domains", CL_PARAM_INT, "6", 1, 7, NULL,
     "domains streamed after pretraining, in the order en de it es jargon foldoc c"},
    {"train_bytes", CL_PARAM_INT, "65536", 0, 1000000000, NULL,
     "training stream of each streamed domain (bytes; 0: all)"},
    {"test_bytes", CL_PARAM_INT, "16384", 0, 1000000000, NULL,
     "test text of every domain, the pretraining one too (bytes; 0: all)"},
    {"pretrain_bytes", CL_PARAM_INT, "262144", 0, 1000000000, NULL,
     "training stream of the pretraining domain (bytes; 0: all)"},
    {"test_share", CL_PARAM_FLOAT, "0.2", 0, 0.9, NULL,
     "share of a domain's document bytes held out for test, before the budgets"},
    {"facts_per_task", CL_PARAM_INT, "16", 0, 100000, NULL, "facts read in each streamed task"},
    {"fact_copies", CL_PARAM_INT, "3", 1, 100, NULL, "times each fact is read, back to back"},
    CL_TEXT_PROTOCOL_PARAMS,
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* Where the packages' files are: the system's, or a data_dir tree. */
typedef struct roots {
    const char *suite;
    char share[2048];  /* "/usr/share" */
    char dpkg[2048];   /* "/var/lib/dpkg/info" */
    const char *sys;   /* prefix of the absolute paths dpkg lists ("") */
    int fake;          /* data_dir given: the list is dpkg/libc6-dev.list */
} roots;

/* The one error a missing package gives, whatever file shows it. */
static int missing(const roots *r, const char *path, const char *what, const char *package)
{
    return cl_error_set(CL_EINVAL, "suite %s: %s %s; install the Debian package %s (make deps does)",
                        r->suite, path, what, package);
}

/* CL_EINVAL naming the package when path does not exist; other failures
 * (a file that exists but cannot be read) are left to the reader. */
static int present(const roots *r, const char *path, const char *package)
{
    struct stat st;
    if (stat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR)) return 0;
    return missing(r, path, "is missing", package);
}

/* printf into path (n bytes); CL_EINVAL when it does not fit. */
static int pathf(char *out, size_t n, const roots *r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int pathf(char *out, size_t n, const roots *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k < n) return 0;
    return cl_error_set(CL_EINVAL, "suite %s: a corpus path is longer than %zu bytes (data_dir too long?)",
                        r->suite, n - 1);
}

/* Reads one file (gunzipped when gzip) and splits it with split. */
static int read_split(cl_docs *d, const char *path,
                      int (*split)(cl_docs *, const unsigned char *, size_t))
{
    unsigned char *text;
    size_t len;
    int rc = cl_corpus_slurp(&text, &len, path);
    if (rc) return rc;
    rc = split ? split(d, text, len) : cl_docs_add(d, text, len);
    free(text);
    return rc;
}

/* ---- the domains ---------------------------------------------------------- */

/* The fortune files of Debian's `fortunes` (not -min, -off or a language's),
 * as its file list names them, minus the .dat indexes and .u8 links. */
static const char *const en_files[] = {
    "art", "ascii-art", "computers", "cookie", "debian", "definitions", "disclaimer", "drugs",
    "education", "ethnic", "food", "goedel", "humorists", "kids", "knghtbrd", "law", "linux",
    "linuxcookie", "love", "magic", "medicine", "men-women", "miscellaneous", "news",
    "paradoxum", "people", "perl", "pets", "platitudes", "politics", "pratchett", "science",
    "songs-poems", "sports", "startrek", "tao", "translate-me", "wisdom", "work", "zippy",
};

static int read_en(cl_docs *d, const roots *r, const char *package)
{
    for (size_t i = 0; i < sizeof en_files / sizeof en_files[0]; i++) {
        char path[4096];
        int rc = pathf(path, sizeof path, r, "%s/games/fortunes/%s", r->share, en_files[i]);
        if (rc == 0) rc = present(r, path, package);
        if (rc == 0) rc = read_split(d, path, cl_corpus_fortunes);
        if (rc) return rc;
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A language's folder holds its package's fortune files and their
 * strfile indexes (.dat), .u8 links to them and, for Spanish, the
 * offensive ones in a subfolder: regular files not ending .dat or .u8. */
static int fortune_file(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    if (name[0] == '.' || ends_with(name, ".dat") || ends_with(name, ".u8")) return 0;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return 0;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* strcmp, not the locale's collation: the same order on every machine. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int read_fortune_dir(cl_docs *d, const roots *r, const char *lang, const char *package)
{
    char dir[4096];
    int rc = pathf(dir, sizeof dir, r, "%s/games/fortunes/%s", r->share, lang);
    if (rc == 0) rc = present(r, dir, package);
    if (rc) return rc;
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, by_name), files = 0;
    if (n < 0) return cl_error_set(CL_EIO, "%s: cannot read folder: %s", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        char path[4096];
        if (rc == 0 && fortune_file(dir, ents[i]->d_name)) {
            rc = pathf(path, sizeof path, r, "%s/%s", dir, ents[i]->d_name);
            if (rc == 0) rc = read_split(d, path, cl_corpus_fortunes);
            files++;
        }
        free(ents[i]);
    }
    free(ents);
    if (rc == 0 && files == 0) return missing(r, dir, "holds no fortune files", package);
    return rc;
}

static int read_dict(cl_docs *d, const roots *r, const char *file, const char *package)
{
    char path[4096];
    int rc = pathf(path, sizeof path, r, "%s/dictd/%s", r->share, file);
    if (rc == 0) rc = present(r, path, package);
    return rc ? rc : read_split(d, path, cl_corpus_dict);
}

static int is_list_name(const struct dirent *e)
{
    return strcmp(e->d_name, "libc6-dev.list") == 0 ||
           (strncmp(e->d_name, "libc6-dev:", 10) == 0 && ends_with(e->d_name, ".list"));
}

/* dpkg's list of libc6-dev's files: libc6-dev:<arch>.list on a multiarch
 * system, the first by name when several architectures are installed. */
static int find_list(char *path, size_t n, const roots *r, const char *package)
{
    if (r->fake) {
        int rc = pathf(path, n, r, "%s/libc6-dev.list", r->dpkg);
        return rc ? rc : present(r, path, package);
    }
    struct dirent **ents;
    int k = scandir(r->dpkg, &ents, is_list_name, by_name), rc;
    if (k <= 0) {
        char pattern[4096];
        snprintf(pattern, sizeof pattern, "%s/libc6-dev:*.list", r->dpkg);
        rc = missing(r, pattern, "is missing", package);
    } else {
        rc = pathf(path, n, r, "%s/%s", r->dpkg, ents[0]->d_name);
    }
    for (int i = 0; i < k; i++) free(ents[i]);
    if (k >= 0) free(ents);
    return rc;
}

/* Every header the list names, one document each, in the list's order. */
static int read_c(cl_docs *d, const roots *r, const char *package)
{
    char list[4096];
    int rc = find_list(list, sizeof list, r, package);
    unsigned char *text = NULL;
    size_t len = 0;
    if (rc == 0) rc = cl_corpus_slurp(&text, &len, list);
    static const char dir[] = "/usr/include/";
    for (size_t i = 0; rc == 0 && i < len;) {
        const unsigned char *nl = memchr(text + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - text) : len;
        char line[2048], path[4096];
        if (e - i < sizeof line) {
            memcpy(line, text + i, e - i);
            line[e - i] = 0;
            if (strncmp(line, dir, sizeof dir - 1) == 0 && ends_with(line, ".h")) {
                rc = pathf(path, sizeof path, r, "%s%s", r->sys, line);
                if (rc == 0) rc = present(r, path, package);
                if (rc == 0) rc = read_split(d, path, NULL);
            }
        }
        i = e + 1;
    }
    free(text);
    if (rc == 0 && d->n == 0) return missing(r, list, "lists no headers", package);
    return rc;
}

typedef enum { EN, DE, IT, ES, JARGON, FOLDOC, C, N_DOMAINS } domain_id;

static const char *const domain_name[N_DOMAINS] = {"en", "de", "it", "es", "jargon", "foldoc", "c"};
static const char *const domain_package[N_DOMAINS] = {
    "fortunes", "fortunes-de", "fortunes-it", "fortunes-es", "dict-jargon", "dict-foldoc", "libc6-dev"};

static int read_domain(cl_docs *d, const roots *r, int id)
{
    const char *pkg = domain_package[id];
    switch (id) {
    case EN: return read_en(d, r, pkg);
    case DE: return read_fortune_dir(d, r, "de", pkg);
    case IT: return read_fortune_dir(d, r, "it", pkg);
    case ES: return read_fortune_dir(d, r, "es", pkg);
    case JARGON: return read_dict(d, r, "jargon.dict.dz", pkg);
    case FOLDOC: return read_dict(d, r, "foldoc.dict.dz", pkg);
    default: return read_c(d, r, pkg);
    }
}

/* ---- the suite ------------------------------------------------------------ */

static int set_roots(roots *r, const char *suite, const char *data_dir)
{
    r->suite = suite;
    r->fake = data_dir != NULL;
    r->sys = data_dir ? data_dir : "";
    int rc = pathf(r->share, sizeof r->share, r, "%s", data_dir ? data_dir : "/usr/share");
    if (rc == 0 && data_dir) rc = pathf(r->dpkg, sizeof r->dpkg, r, "%s/dpkg", data_dir);
    if (rc == 0 && !data_dir) rc = pathf(r->dpkg, sizeof r->dpkg, r, "/var/lib/dpkg/info");
    return rc;
}

/* The task order: the pretraining domain, then the first `want` of the
 * others in the fixed order. Returns the task count. */
static int task_order(int *order, int pre, int want)
{
    int n = 0;
    if (pre >= 0) order[n++] = pre;
    for (int i = 0; i < N_DOMAINS && n < want + (pre >= 0); i++)
        if (i != pre) order[n++] = i;
    return n;
}

static void write_recipe(cl_suite *s, const int *order, const cl_params *p)
{
    char streamed[64] = "", facts[128];
    for (int t = s->pretrain; t < s->n_tasks; t++) {
        size_t k = strlen(streamed);
        snprintf(streamed + k, sizeof streamed - k, "%s%s", t > s->pretrain ? "," : "",
                 domain_name[order[t]]);
    }
    char pre[64] = "";
    if (s->pretrain)
        snprintf(pre, sizeof pre, "pretrain %s %ld B, then ", domain_name[order[0]],
                 cl_params_int(p, "pretrain_bytes"));
    cl_text_facts_recipe(facts, sizeof facts, (int)cl_params_int(p, "facts_per_task"),
                         (int)cl_params_int(p, "fact_copies"));
    snprintf(s->recipe, sizeof s->recipe, "Debian text, %s%s %ld B each; %ld B test a domain "
             "(%.2g of its document bytes held out); %s", pre, streamed,
             cl_params_int(p, "train_bytes"), cl_params_int(p, "test_bytes"),
             cl_params_float(p, "test_share"), facts);
}

static int domains_build(cl_suite **out, const char *suite_name, const cl_params *p,
                         cl_scenario sc, const char *data_dir, gsl_rng *rng)
{
    *out = NULL;
    const char *pre_name = cl_params_choice(p, "pretrain");
    int pre = -1, want = (int)cl_params_int(p, "domains"), order[N_DOMAINS];
    for (int i = 0; i < N_DOMAINS; i++)
        if (strcmp(pre_name, domain_name[i]) == 0) pre = i;
    if (want > N_DOMAINS - (pre >= 0))
        return cl_error_set(CL_EINVAL, "parameter suite.domains: %d, but pretraining on %s leaves "
                            "%d domains to stream", want, pre_name, N_DOMAINS - 1);
    roots r;
    int rc = set_roots(&r, suite_name, data_dir);
    if (rc) return rc;
    int T = task_order(order, pre, want);
    cl_suite *s;
    if ((rc = cl_suite_alloc(&s, suite_name, sc, T, 0, 256))) return rc;
    s->text = 1;
    s->pretrain = pre >= 0;
    size_t train = (size_t)cl_params_int(p, "train_bytes"), test = (size_t)cl_params_int(p, "test_bytes");
    size_t pre_train = (size_t)cl_params_int(p, "pretrain_bytes");
    double share = cl_params_float(p, "test_share");
    for (int t = 0; rc == 0 && t < T; t++) {
        cl_docs docs = {0};
        rc = read_domain(&docs, &r, order[t]);
        if (rc == 0)
            rc = cl_text_task_fill(&s->tasks[t], domain_name[order[t]], &docs, share,
                                   t < s->pretrain ? pre_train : train, test, rng);
        cl_docs_release(&docs);
    }
    if (rc == 0)
        rc = cl_text_facts_insert(s, s->pretrain, (int)cl_params_int(p, "facts_per_task"),
                                  (int)cl_params_int(p, "fact_copies"), rng);
    if (rc == 0) rc = cl_text_protocol(s, p);
    if (rc) {
        cl_suite_free(s);
        return rc;
    }
    write_recipe(s, order, p);
    *out = s;
    return 0;
}

const cl_suite_family cl_suite_text_domains = {
    .version = CL_SUITE_FAMILY_VERSION,
    .name = "text-domains",
    .summary = "Debian-packaged text, a domain a task: fortunes (en de it es), Jargon File, "
               "FOLDOC, libc headers",
    .params = domains_params,
    .scenarios = 1u << CL_SCENARIO_DOMAIN,
    .build = domains_build,
};
