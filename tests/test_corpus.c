/* The corpus readers (harness/store/corpus.c) on hand-written text and
 * files written here, and the text-domains suite (tasks/text_domains.c)
 * on a fake data_dir tree, on the real Debian packages when installed, and
 * through the CLI when a package is missing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/store/corpus.h"
#include "support.h"

static char tmp[256]; /* this test's temporary folder */

static void make_tmp(void) { cl_test_tmpdir_new(tmp, sizeof tmp, "corpus"); }
static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(corpus, .init = make_tmp, .fini = remove_tmp, .timeout = 120);
TestSuite(text_domains, .init = make_tmp, .fini = remove_tmp, .timeout = 120);

/* <tmp>/<name>, into a static buffer per slot. */
static const char *at_tmp(const char *name)
{
    static char bufs[8][1024];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, 1024, "%s/%s", tmp, name);
    return b;
}

/* Document i of d must be exactly s. */
static void expect_doc(const cl_docs *d, int i, const char *s)
{
    cr_assert_lt(i, d->n);
    size_t n = cl_docs_size(d, i);
    cr_expect(n == strlen(s) && memcmp(d->bytes + d->start[i], s, n) == 0,
              "document %d is '%.*s', expected '%s'", i, (int)n, (const char *)d->bytes + d->start[i], s);
}

static void gzip_write(const char *path, const char *mode, const void *data, size_t len)
{
    gzFile f = gzopen(path, mode);
    cr_assert_not_null(f, "gzopen %s", path);
    cr_assert_eq(gzwrite(f, data, (unsigned)len), (int)len);
    cr_assert_eq(gzclose(f), Z_OK);
}

/* ---- fortunes ---- */

Test(corpus, fortunes_split_on_percent_lines_only)
{
    static const char text[] =
        "%\n"                     /* a separator first: no empty document */
        "A one\nA two\n%\n"
        "\n \t\n%\n"              /* blank entry: dropped */
        "B 100%\n%%\n% \n%\r\n"   /* "%%" and "% " are text; "%\r" separates */
        "C\r\nC2\r\n%\r\n"
        "%\n%\n"                  /* empty entries */
        "D no newline at the end\n%";
    cl_docs d = {0};
    cr_assert_eq(cl_corpus_fortunes(&d, (const unsigned char *)text, strlen(text)), 0);
    cr_assert_eq(d.n, 4, "%d documents", d.n);
    expect_doc(&d, 0, "A one\nA two\n");
    expect_doc(&d, 1, "B 100%\n%%\n% \n");
    expect_doc(&d, 2, "C\r\nC2\r\n");
    expect_doc(&d, 3, "D no newline at the end\n");
    cl_docs_release(&d);

    /* A last entry without a separator or a newline still counts. */
    cr_assert_eq(cl_corpus_fortunes(&d, (const unsigned char *)"x\n%\ny", 5), 0);
    cr_assert_eq(d.n, 2);
    expect_doc(&d, 1, "y");
    cl_docs_release(&d);
}

Test(corpus, fortunes_keep_bytes_that_are_not_utf8)
{
    /* ISO-8859-1 "caf\xe9", a stray 0xff and a NUL byte inside an entry. */
    static const unsigned char text[] = "caf\xe9 \xff\n%\nnul \0 byte\n";
    size_t n = sizeof text - 1;
    cl_docs d = {0};
    cr_assert_eq(cl_corpus_fortunes(&d, text, n), 0);
    cr_assert_eq(d.n, 2);
    cr_assert_eq(cl_docs_size(&d, 0), 7);
    cr_assert(memcmp(d.bytes, "caf\xe9 \xff\n", 7) == 0);
    cr_assert_eq(cl_docs_size(&d, 1), 11);
    cr_assert(memcmp(d.bytes + d.start[1], "nul \0 byte\n", 11) == 0);
    cl_docs_release(&d);
}

Test(corpus, empty_or_blank_text_has_no_documents)
{
    cl_docs d = {0};
    cr_assert_eq(cl_corpus_fortunes(&d, (const unsigned char *)"", 0), 0);
    cr_assert_eq(cl_corpus_dict(&d, (const unsigned char *)"", 0), 0);
    cr_assert_eq(cl_corpus_fortunes(&d, (const unsigned char *)"%\n\n%\n", 5), 0);
    cr_assert_eq(cl_corpus_dict(&d, (const unsigned char *)"\n\n  \n", 5), 0);
    cr_assert_eq(d.n, 0);
    cl_docs_release(&d);
}

/* ---- dictd ---- */

Test(corpus, dict_splits_one_document_per_headword)
{
    static const char text[] =
        "\n\n"
        "00-database-dictfmt-1.13.0\nhttp://example.org/src\n00-database-short\n     Tiny\n"
        "\n"
        "00-database-url\n     http://example.org\n"
        "\n"
        "alpha\n /al'fa/, n.\n\n    First letter.\n    Second line.\n"
        "\n"
        "beta%%%b\nsynonym of beta\n\n   <jargon> Second letter, see\n   \n"
        "(http://example.org/wrapped-url)}.\n"
        "\n"
        "gamma\n\n   Third.\r\n"
        "\r\n"
        "delta\n\n   Fourth, last.\n\n !\"#abc\n";
    cl_docs d = {0};
    cr_assert_eq(cl_corpus_dict(&d, (const unsigned char *)text, strlen(text)), 0);
    cr_assert_eq(d.n, 4, "%d documents", d.n);
    expect_doc(&d, 0, "alpha\n /al'fa/, n.\n\n    First letter.\n    Second line.\n\n");
    /* A URL after a line of spaces stays in its entry. */
    expect_doc(&d, 1, "beta%%%b\nsynonym of beta\n\n   <jargon> Second letter, see\n   \n"
                      "(http://example.org/wrapped-url)}.\n\n");
    expect_doc(&d, 2, "gamma\n\n   Third.\r\n\r\n");
    expect_doc(&d, 3, "delta\n\n   Fourth, last.\n\n !\"#abc\n");
    cl_docs_release(&d);

    /* Text before the first headword is a document too. */
    cr_assert_eq(cl_corpus_dict(&d, (const unsigned char *)"   intro\n\nword\n  def\n", 21), 0);
    cr_assert_eq(d.n, 2);
    expect_doc(&d, 0, "   intro\n\n");
    expect_doc(&d, 1, "word\n  def\n");
    cl_docs_release(&d);
}

/* ---- whole files ---- */

Test(corpus, slurp_reads_plain_and_multi_member_gzip)
{
    const char *plain = at_tmp("plain"), *gz = at_tmp("text.dict.dz");
    cl_test_write(plain, "\x1f plain", 7); /* one magic byte is not gzip */
    unsigned char *out;
    size_t len;
    cr_assert_eq(cl_corpus_slurp(&out, &len, plain), 0, "%s", cl_error_last());
    cr_assert(len == 7 && memcmp(out, "\x1f plain", 7) == 0);
    free(out);

    /* dictzip is gzip; members may follow one another. */
    gzip_write(gz, "wb", "first member\n", 13);
    gzip_write(gz, "ab", "second \xe9\n", 9);
    cr_assert_eq(cl_corpus_slurp(&out, &len, gz), 0, "%s", cl_error_last());
    cr_assert_eq(len, 22);
    cr_assert(memcmp(out, "first member\nsecond \xe9\n", 22) == 0);
    free(out);

    /* An empty file is zero bytes, not an error. */
    cl_test_write(at_tmp("empty"), "", 0);
    cr_assert_eq(cl_corpus_slurp(&out, &len, at_tmp("empty")), 0);
    cr_assert_eq(len, 0);
    free(out);
}

Test(corpus, slurp_names_the_file_it_cannot_read)
{
    unsigned char *out = (unsigned char *)&out;
    size_t len;
    const char *path = at_tmp("no-such-file");
    cr_assert_eq(cl_corpus_slurp(&out, &len, path), CL_EIO);
    cr_assert_null(out);
    cr_assert(strstr(cl_error_last(), path), "%s", cl_error_last());
    /* A folder is not a file. */
    cr_assert_eq(cl_corpus_slurp(&out, &len, tmp), CL_EIO);
    cr_assert(strstr(cl_error_last(), tmp), "%s", cl_error_last());
}

Test(corpus, slurp_rejects_truncated_and_corrupt_gzip)
{
    const char *gz = at_tmp("full.gz"), *cut = at_tmp("cut.gz"), *bad = at_tmp("bad.gz");
    char text[4096];
    for (size_t i = 0; i < sizeof text; i++) text[i] = (char)('a' + (i * 7 + i / 13) % 26);
    gzip_write(gz, "wb", text, sizeof text);
    size_t n;
    char *raw = cl_test_read(gz, &n);
    cr_assert_not_null(raw);
    unsigned char *out = (unsigned char *)&out;
    size_t len;
    /* Cut anywhere: inside the header, the data or the trailer. */
    const size_t cuts[] = {2, 5, 10, n / 2, n - 4, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        cl_test_write(cut, raw, cuts[i]);
        cr_assert_eq(cl_corpus_slurp(&out, &len, cut), CL_EDATA, "cut at %zu of %zu", cuts[i], n);
        cr_assert_null(out);
        cr_assert(strncmp(cl_error_last(), cut, strlen(cut)) == 0, "%s", cl_error_last());
        cr_assert_null(strchr(cl_error_last(), '\n'));
    }
    /* A flipped byte in the data or the CRC; trailing bytes after a member. */
    const size_t flips[] = {n / 2, n - 6};
    for (size_t i = 0; i < 2; i++) {
        raw[flips[i]] ^= 0x55;
        cl_test_write(bad, raw, n);
        raw[flips[i]] ^= 0x55;
        cr_assert_eq(cl_corpus_slurp(&out, &len, bad), CL_EDATA, "flip at %zu", flips[i]);
        cr_assert(strstr(cl_error_last(), bad), "%s", cl_error_last());
    }
    char *tail = malloc(n + 3);
    cr_assert_not_null(tail);
    memcpy(tail, raw, n);
    memcpy(tail + n, "xyz", 3);
    cl_test_write(bad, tail, n + 3);
    cr_assert_eq(cl_corpus_slurp(&out, &len, bad), CL_EDATA);
    cr_assert(strstr(cl_error_last(), bad), "%s", cl_error_last());
    free(tail);
    free(raw);
}

/* A gzip bomb stops at the cap (256 MiB) instead of taking the memory. */
Test(corpus, slurp_caps_what_a_file_decompresses_to)
{
    const char *bomb = at_tmp("bomb.gz");
    size_t chunk = (size_t)1 << 20;
    char *zeros = calloc(chunk, 1);
    cr_assert_not_null(zeros);
    gzFile f = gzopen(bomb, "wb1");
    cr_assert_not_null(f);
    for (int i = 0; i < 257; i++) cr_assert_eq(gzwrite(f, zeros, (unsigned)chunk), (int)chunk);
    cr_assert_eq(gzclose(f), Z_OK);
    free(zeros);
    unsigned char *out;
    size_t len;
    cr_assert_eq(cl_corpus_slurp(&out, &len, bomb), CL_EDATA);
    cr_assert(strstr(cl_error_last(), "256 MiB"), "%s", cl_error_last());
}

/* ---- folder trees ---- */

static void mkdirs(const char *path) { cr_assert_eq(cl_fs_mkdirs(path), 0, "%s", cl_error_last()); }

Test(corpus, tree_reads_matching_files_in_name_order)
{
    mkdirs(at_tmp("t/b/deep"));
    mkdirs(at_tmp("t/a"));
    cl_test_spit(at_tmp("t/z.h"), "z\n");
    cl_test_spit(at_tmp("t/B.h"), "B\n"); /* 'B' sorts before 'a' in byte order */
    cl_test_spit(at_tmp("t/a/one.h"), "a/one\n");
    cl_test_spit(at_tmp("t/a/one.c"), "not a header\n");
    cl_test_spit(at_tmp("t/b/deep/two.h"), "b/deep/two\n");
    cl_test_write(at_tmp("t/b/empty.h"), "", 0);
    gzip_write(at_tmp("t/b/packed.h"), "wb", "b/packed\n", 9);
    cr_assert_eq(symlink("../z.h", at_tmp("t/a/link.h")), 0);
    cl_docs d = {0};
    cr_assert_eq(cl_corpus_tree(&d, at_tmp("t"), ".h", 0), 0, "%s", cl_error_last());
    cr_assert_eq(d.n, 5, "%d documents", d.n);
    expect_doc(&d, 0, "B\n");
    expect_doc(&d, 1, "a/one\n");
    expect_doc(&d, 2, "b/deep/two\n");
    expect_doc(&d, 3, "b/packed\n");
    expect_doc(&d, 4, "z\n");
    cl_docs_release(&d);

    /* The cap stops at the first file that does not fit, even when a later
     * one would. */
    cr_assert_eq(cl_corpus_tree(&d, at_tmp("t"), ".h", 10), 0);
    cr_assert_eq(d.n, 2);
    expect_doc(&d, 1, "a/one\n");
    cl_docs_release(&d);

    cr_assert_eq(cl_corpus_tree(&d, at_tmp("none"), ".h", 0), CL_EIO);
    cr_assert(strstr(cl_error_last(), at_tmp("none")), "%s", cl_error_last());
    cl_docs_release(&d);
}

/* ---- text-domains on a fake tree ---- */

/* The file names of Debian's fortunes package, which the en domain reads. */
static const char *const en_files[] = {
    "art", "ascii-art", "computers", "cookie", "debian", "definitions", "disclaimer", "drugs",
    "education", "ethnic", "food", "goedel", "humorists", "kids", "knghtbrd", "law", "linux",
    "linuxcookie", "love", "magic", "medicine", "men-women", "miscellaneous", "news",
    "paradoxum", "people", "perl", "pets", "platitudes", "politics", "pratchett", "science",
    "songs-poems", "sports", "startrek", "tao", "translate-me", "wisdom", "work", "zippy",
};
#define N_EN ((int)(sizeof en_files / sizeof en_files[0]))

#define FORTUNE "%s fortune %d says something.\n"

/* n fortunes, one unique line each. */
static void put_fortunes(const char *path, const char *tag, int n)
{
    char buf[8192];
    size_t k = 0;
    for (int i = 0; i < n; i++) k += (size_t)snprintf(buf + k, sizeof buf - k, FORTUNE "%%\n", tag, i);
    cl_test_write(path, buf, k);
}

/* Bytes of put_fortunes' entries, without the "%" lines. */
static size_t fortune_bytes(const char *tag, int n)
{
    size_t k = 0;
    char line[256];
    for (int i = 0; i < n; i++) k += (size_t)snprintf(line, sizeof line, FORTUNE, tag, i);
    return k;
}

/* n dict entries, each line unique, after a dictfmt header. */
static void put_dict(const char *path, const char *tag, int n)
{
    char buf[16384];
    size_t k = (size_t)snprintf(buf, sizeof buf, "\n\n00-database-short\n     %s header\n\n", tag);
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k,
                              "%s-word-%d\n\n   %s definition %d, one line.\n\n", tag, i, tag, i);
    gzip_write(path, "wb", buf, k);
}

#define ZETA_H "/* zeta header */\nint zeta(void);\n"
#define ALPHA_H "/* alpha header */\nint alpha(void);\n"
#define MID_H "/* mid header */\nint mid(void);\n"

/* A data_dir tree with every domain, a few documents each, and files the
 * suite must not read (indexes, links, the Spanish offensive folder, a
 * non-header in the libc6-dev list), all holding the word EXCLUDED. */
static const char *fake_tree(void)
{
    static char root[512]; /* at_tmp's slots are reused below */
    snprintf(root, sizeof root, "%s", at_tmp("data"));
    mkdirs(at_tmp("data/games/fortunes/de"));
    mkdirs(at_tmp("data/games/fortunes/it"));
    mkdirs(at_tmp("data/games/fortunes/es/off"));
    mkdirs(at_tmp("data/dictd"));
    mkdirs(at_tmp("data/dpkg"));
    mkdirs(at_tmp("data/usr/include/sys"));
    char path[1024], tag[64];
    for (int i = 0; i < N_EN; i++) {
        snprintf(path, sizeof path, "%s/games/fortunes/%s", root, en_files[i]);
        snprintf(tag, sizeof tag, "en-%s", en_files[i]);
        put_fortunes(path, tag, 3);
    }
    put_fortunes(at_tmp("data/games/fortunes/de/zitate"), "de-zitate", 12);
    put_fortunes(at_tmp("data/games/fortunes/de/witze"), "de-witze", 12);
    cl_test_spit(at_tmp("data/games/fortunes/de/witze.dat"), "EXCLUDED index\n");
    cr_assert_eq(symlink("witze", at_tmp("data/games/fortunes/de/witze.u8")), 0);
    cr_assert_eq(symlink("zitate", at_tmp("data/games/fortunes/de/link")), 0);
    put_fortunes(at_tmp("data/games/fortunes/it/italia"), "it-italia", 20);
    put_fortunes(at_tmp("data/games/fortunes/es/vida.fortunes"), "es-vida", 20);
    cl_test_spit(at_tmp("data/games/fortunes/es/vida.fortunes.dat"), "EXCLUDED index\n");
    cl_test_spit(at_tmp("data/games/fortunes/es/off/malo.fortunes"), "EXCLUDED offensive\n%\n");
    put_dict(at_tmp("data/dictd/jargon.dict.dz"), "jargon", 20);
    put_dict(at_tmp("data/dictd/foldoc.dict.dz"), "foldoc", 20);
    cl_test_spit(at_tmp("data/dpkg/libc6-dev.list"),
                 "/.\n/usr\n/usr/include\n/usr/include/zeta.h\n/usr/include/sys\n"
                 "/usr/include/sys/alpha.h\n/usr/include/mid.h\n/usr/lib/libc.a\n");
    cl_test_spit(at_tmp("data/usr/include/zeta.h"), ZETA_H);
    cl_test_spit(at_tmp("data/usr/include/sys/alpha.h"), ALPHA_H);
    cl_test_spit(at_tmp("data/usr/include/mid.h"), MID_H);
    cl_test_spit(at_tmp("data/usr/include/other.h"), "EXCLUDED: not in the list\n");
    return root;
}

static const char *const no_budgets[] = {"train_bytes=0", "test_bytes=0", "pretrain_bytes=0",
                                         "facts_per_task=0", NULL};

/* Every line of the test text is absent from the training stream (every
 * line of the fake tree is unique, so a shared line is a shared document). */
static void expect_split_by_document(const cl_task *t)
{
    cr_assert_gt(t->text.test_len, 0, "%s has no test text", t->name);
    cr_assert_gt(t->text.train_len, 0, "%s has no training text", t->name);
    /* "\n" + train + "\n", so a whole line is found as "\n<line>\n". */
    char *train = malloc(t->text.train_len + 3);
    cr_assert_not_null(train);
    train[0] = '\n';
    memcpy(train + 1, t->text.train, t->text.train_len);
    memcpy(train + 1 + t->text.train_len, "\n", 2);
    const char *p = (const char *)t->text.test, *end = p + t->text.test_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char line[256];
        if (n > 4 && n + 2 < sizeof line) {
            snprintf(line, sizeof line, "\n%.*s\n", (int)n, p);
            cr_expect_null(strstr(train, line), "%s: test line '%.*s' is in the training stream",
                           t->name, (int)n, p);
        }
        p += n + 1;
    }
    free(train);
}

static int contains(const unsigned char *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0) return 1;
    return 0;
}

Test(text_domains, builds_every_domain_of_a_fake_tree)
{
    const char *root = fake_tree();
    cl_suite *s;
    cr_assert_eq(cl_test_suite_build(&s, "text-domains", root, CL_SCENARIO_DOMAIN, 3, no_budgets,
                                      NULL), 0, "%s", cl_error_last());
    static const char *const names[] = {"en", "de", "it", "es", "jargon", "foldoc", "c"};
    cr_assert_eq(s->n_tasks, 7);
    cr_assert_eq(s->text, 1);
    cr_assert_eq(s->pretrain, 1);
    cr_assert_eq(s->n_classes, 256);
    cr_assert_eq(s->scenario, CL_SCENARIO_DOMAIN);
    cr_assert_eq(s->n_facts, 0);
    cr_assert(strstr(s->recipe, "pretrain en") && strstr(s->recipe, "de,it,es,jargon,foldoc"),
              "%s", s->recipe);
    for (int t = 0; t < 7; t++) {
        const cl_task *k = &s->tasks[t];
        cr_assert_str_eq(k->name, names[t]);
        expect_split_by_document(k);
        cr_expect(!contains(k->text.train, k->text.train_len, "EXCLUDED") &&
                  !contains(k->text.test, k->text.test_len, "EXCLUDED"), "%s read a file it must not",
                  k->name);
        cr_expect(!contains(k->text.train, k->text.train_len, "00-database") &&
                  !contains(k->text.test, k->text.test_len, "header\n\n"), "%s kept the dict header",
                  k->name);
    }
    /* Budgets 0: every document of a domain is in its train or test text. */
    const cl_task *de = &s->tasks[1], *c = &s->tasks[6];
    cr_assert_eq(de->text.train_len + de->text.test_len,
                 fortune_bytes("de-zitate", 12) + fortune_bytes("de-witze", 12));
    cr_assert_eq(c->text.train_len + c->text.test_len,
                 strlen(ZETA_H) + strlen(ALPHA_H) + strlen(MID_H));
    cl_suite_free(s);
}

/* Two builds of one seed are byte for byte the same suite; another seed
 * draws another split. */
Test(text_domains, a_seed_gives_the_same_suite)
{
    const char *root = fake_tree();
    static const char *const sets[] = {"train_bytes=300", "test_bytes=200", "pretrain_bytes=500",
                                       "facts_per_task=2", "fact_copies=2", NULL};
    cl_suite *a, *b, *c;
    unsigned long na, nb;
    cr_assert_eq(cl_test_suite_build(&a, "text-domains", root, CL_SCENARIO_DOMAIN, 7, sets, &na), 0,
                 "%s", cl_error_last());
    cr_assert_eq(cl_test_suite_build(&b, "text-domains", root, CL_SCENARIO_DOMAIN, 7, sets, &nb), 0);
    cr_assert_eq(cl_test_suite_build(&c, "text-domains", root, CL_SCENARIO_DOMAIN, 8, sets, NULL), 0);
    cr_assert_eq(na, nb, "the builds drew different amounts");
    cr_assert_eq(a->n_tasks, b->n_tasks);
    cr_assert_eq(a->n_facts, 6 * 2, "facts go into the streamed tasks only");
    cr_assert_eq(a->facts[0].task, 1);
    int differs = 0;
    for (int t = 0; t < a->n_tasks; t++) {
        const cl_text *x = &a->tasks[t].text, *y = &b->tasks[t].text, *z = &c->tasks[t].text;
        cr_assert(x->train_len == y->train_len && memcmp(x->train, y->train, x->train_len) == 0,
                  "task %d: training streams differ", t);
        cr_assert(x->test_len == y->test_len && memcmp(x->test, y->test, x->test_len) == 0,
                  "task %d: test texts differ", t);
        differs |= x->test_len != z->test_len || memcmp(x->test, z->test, x->test_len) != 0;
        cr_assert_leq(x->test_len, 200);
    }
    cr_assert(differs, "seeds 7 and 8 drew the same test documents everywhere");
    for (int i = 0; i < a->n_facts; i++) cr_assert_str_eq(a->facts[i].prompt, b->facts[i].prompt);
    cl_suite_free(a);
    cl_suite_free(b);
    cl_suite_free(c);
}

Test(text_domains, pretraining_and_domains_pick_the_tasks)
{
    const char *root = fake_tree();
    static const char *const jargon_first[] = {"pretrain=jargon", "domains=3", NULL};
    static const char *const none[] = {"pretrain=none", "domains=7", NULL};
    static const char *const too_many[] = {"domains=7", NULL};
    cl_suite *s;
    cr_assert_eq(cl_test_suite_build(&s, "text-domains", root, CL_SCENARIO_DOMAIN, 1, jargon_first,
                                      NULL), 0, "%s", cl_error_last());
    cr_assert_eq(s->n_tasks, 4);
    cr_assert_eq(s->pretrain, 1);
    cr_assert_str_eq(s->tasks[0].name, "jargon");
    cr_assert_str_eq(s->tasks[1].name, "en");
    cr_assert_str_eq(s->tasks[3].name, "it");
    cl_suite_free(s);
    cr_assert_eq(cl_test_suite_build(&s, "text-domains", root, CL_SCENARIO_DOMAIN, 1, none, NULL), 0);
    cr_assert_eq(s->n_tasks, 7);
    cr_assert_eq(s->pretrain, 0);
    cr_assert_str_eq(s->tasks[0].name, "en");
    cr_assert_eq(s->facts[0].task, 0);
    cl_suite_free(s);
    cr_assert_eq(cl_test_suite_build(&s, "text-domains", root, CL_SCENARIO_DOMAIN, 1, too_many, NULL),
                 CL_EINVAL);
    cr_assert(strstr(cl_error_last(), "suite.domains"), "%s", cl_error_last());
}

/* The one line a missing package gives: the path and the package. */
static void expect_missing(const char *root, const char *path, const char *package)
{
    cl_suite *s;
    cr_assert_eq(cl_test_suite_build(&s, "text-domains", root, CL_SCENARIO_DOMAIN, 1, NULL, NULL),
                 CL_EINVAL);
    char want[2048];
    snprintf(want, sizeof want, "suite text-domains: %s is missing; install the Debian package %s "
             "(make deps does)", path, package);
    cr_assert_str_eq(cl_error_last(), want);
}

Test(text_domains, a_missing_package_is_one_line_naming_it)
{
    const char *root = fake_tree();
    cr_assert_eq(unlink(at_tmp("data/dictd/jargon.dict.dz")), 0);
    expect_missing(root, at_tmp("data/dictd/jargon.dict.dz"), "dict-jargon");
    cr_assert_eq(unlink(at_tmp("data/usr/include/mid.h")), 0);
    cr_assert_eq(unlink(at_tmp("data/games/fortunes/zippy")), 0);
    expect_missing(root, at_tmp("data/games/fortunes/zippy"), "fortunes");
    cl_test_tmpdir_remove(tmp);
    make_tmp();
    root = fake_tree();
    cr_assert_eq(unlink(at_tmp("data/usr/include/mid.h")), 0);
    expect_missing(root, at_tmp("data/usr/include/mid.h"), "libc6-dev");
    cr_assert_eq(unlink(at_tmp("data/dpkg/libc6-dev.list")), 0);
    expect_missing(root, at_tmp("data/dpkg/libc6-dev.list"), "libc6-dev");
}

/* A language folder left with no fortune file says so, naming the package. */
Test(text_domains, an_empty_domain_names_its_package)
{
    const char *root = fake_tree();
    cr_assert_eq(unlink(at_tmp("data/games/fortunes/it/italia")), 0);
    cl_suite *s;
    cr_assert_eq(cl_test_suite_build(&s, "text-domains", root, CL_SCENARIO_DOMAIN, 1, NULL, NULL),
                 CL_EINVAL);
    cr_assert(strstr(cl_error_last(), "holds no fortune files") &&
              strstr(cl_error_last(), "fortunes-it"), "%s", cl_error_last());
    /* An empty fortune file leaves the domain without documents. */
    cl_test_write(at_tmp("data/games/fortunes/it/italia"), "", 0);
    cr_assert_eq(cl_test_suite_build(&s, "text-domains", root, CL_SCENARIO_DOMAIN, 1, NULL, NULL),
                 CL_EINVAL);
    cr_assert(strstr(cl_error_last(), "it has 0 document"), "%s", cl_error_last());
    /* A corrupt dictionary is a data error naming the file. */
    cl_test_tmpdir_remove(tmp);
    make_tmp();
    root = fake_tree();
    cl_test_write(at_tmp("data/dictd/foldoc.dict.dz"), "\x1f\x8b\x08\0\0", 5);
    cr_assert_eq(cl_test_suite_build(&s, "text-domains", root, CL_SCENARIO_DOMAIN, 1, NULL, NULL),
                 CL_EDATA);
    cr_assert(strstr(cl_error_last(), "foldoc.dict.dz"), "%s", cl_error_last());
}

/* The CLI prints the one line and exits 2, as for any bad input. */
Test(text_domains, cli_exits_2_on_a_missing_package)
{
    const char *root = fake_tree();
    cr_assert_eq(unlink(at_tmp("data/dictd/jargon.dict.dz")), 0);
    cl_test_result r;
    cl_test_run_cli(&r, tmp, "--strategy naive --suite text-domains --data-dir '%s' "
                    "--set model.net=gpt --out '%s/out' --quiet", root, tmp);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert(strstr(r.err, "jargon.dict.dz is missing; install the Debian package dict-jargon"),
              "%s", r.err);
    cr_assert_eq(cl_test_count_lines(r.err, ""), 1, "%s", r.err);
    cl_test_result_free(&r);
}

/* The real packages, when installed: the suite builds with small budgets. */
Test(text_domains, builds_from_the_installed_packages)
{
    static const char *const files[] = {
        "/usr/share/dictd/jargon.dict.dz", "/usr/share/dictd/foldoc.dict.dz",
        "/usr/share/games/fortunes/zippy", "/usr/share/games/fortunes/de",
        "/usr/share/games/fortunes/it", "/usr/share/games/fortunes/es", "/usr/include/stdio.h"};
    struct stat st;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (stat(files[i], &st) != 0) cr_skip_test("%s is not installed (make deps)", files[i]);
    static const char *const sets[] = {"train_bytes=4096", "test_bytes=2048", "pretrain_bytes=8192",
                                       NULL};
    cl_suite *s;
    cr_assert_eq(cl_test_suite_build(&s, "text-domains", NULL, CL_SCENARIO_DOMAIN, 1, sets, NULL), 0,
                 "%s", cl_error_last());
    cr_assert_eq(s->n_tasks, 7);
    for (int t = 0; t < s->n_tasks; t++) {
        cr_assert_gt(s->tasks[t].text.train_len, 1024, "%s", s->tasks[t].name);
        cr_assert_gt(s->tasks[t].text.test_len, 512, "%s", s->tasks[t].name);
        cr_assert_leq(s->tasks[t].text.test_len, 2048, "%s", s->tasks[t].name);
    }
    cr_assert_eq(s->n_facts, 6 * 16);
    cl_suite_free(s);
}
