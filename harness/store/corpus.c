/* Text corpora read into documents (clbench/store/corpus.h): whole files,
 * gunzipped when they are gzip, split into fortunes, dictionary entries or
 * one document a file. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "clbench/base/error.h"
#include "clbench/store/corpus.h"

/* Largest file accepted, as stored and once decompressed: far above any
 * packaged corpus (FOLDOC is 5.6 MB), low enough that a gzip bomb or a
 * wrong path cannot take the machine's memory. */
#define CORPUS_MAX ((size_t)256 << 20)

/* Folder depth cl_corpus_tree descends to; symlinks are not followed, so
 * only a pathological tree reaches it. */
#define TREE_MAX_DEPTH 64

/* ---- reading files -------------------------------------------------------- */

static int too_large(const char *path, const char *what)
{
    return cl_error_set(CL_EDATA, "%s: %s more than the %zu MiB a corpus file may hold", path, what,
                        CORPUS_MAX >> 20);
}

/* The file's bytes as stored, at most CORPUS_MAX. */
static int read_raw(unsigned char **out, size_t *len, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return cl_error_set(CL_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    /* The size is a first guess only: the file may change while read. */
    size_t cap = fstat(fileno(f), &st) == 0 && st.st_size > 0 && (size_t)st.st_size < CORPUS_MAX
                     ? (size_t)st.st_size + 1 : 4096;
    size_t n = 0;
    unsigned char *buf = malloc(cap);
    int rc = buf ? 0 : cl_error_set(CL_ENOMEM, "%s: out of memory for %zu bytes", path, cap);
    while (rc == 0) {
        if (n == cap) {
            if (cap > CORPUS_MAX) {
                rc = too_large(path, "holds");
                break;
            }
            size_t grown = cap * 2 > CORPUS_MAX + 1 ? CORPUS_MAX + 1 : cap * 2;
            unsigned char *b = realloc(buf, grown);
            if (!b) {
                rc = cl_error_set(CL_ENOMEM, "%s: out of memory for %zu bytes", path, grown);
                break;
            }
            buf = b;
            cap = grown;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) rc = cl_error_set(CL_EIO, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Inflates every gzip member of in (n) back to back: dictzip files are
 * gzip, and gzip allows members to be concatenated. */
static int gunzip(unsigned char **out, size_t *len, const unsigned char *in, size_t n,
                  const char *path)
{
    *out = NULL;
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 16 + MAX_WBITS: a gzip header and trailer (CRC, length) are required. */
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return cl_error_set(CL_ENOMEM, "%s: cannot start zlib: %s", path, z.msg ? z.msg : "no memory");
    size_t cap = n < CORPUS_MAX / 4 ? 4 * n + 65536 : CORPUS_MAX, got = 0;
    if (cap > CORPUS_MAX) cap = CORPUS_MAX;
    unsigned char *buf = malloc(cap);
    int rc = buf ? 0 : cl_error_set(CL_ENOMEM, "%s: out of memory for %zu bytes", path, cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n; /* n <= CORPUS_MAX fits */
    int member = 1;
    while (rc == 0) {
        if (got == cap) {
            if (cap == CORPUS_MAX) {
                rc = too_large(path, "decompresses to");
                break;
            }
            size_t grown = cap * 2 > CORPUS_MAX ? CORPUS_MAX : cap * 2;
            unsigned char *b = realloc(buf, grown);
            if (!b) {
                rc = cl_error_set(CL_ENOMEM, "%s: out of memory for %zu bytes", path, grown);
                break;
            }
            buf = b;
            cap = grown;
        }
        z.next_out = buf + got;
        z.avail_out = (uInt)(cap - got);
        int zr = inflate(&z, Z_NO_FLUSH);
        got = (size_t)(z.next_out - buf);
        if (zr == Z_STREAM_END) {
            if (z.avail_in == 0) break;
            member++;
            inflateReset(&z);
        } else if (zr == Z_BUF_ERROR && z.avail_out > 0) {
            /* No progress with room to write: the input ended mid-member. */
            rc = cl_error_set(CL_EDATA, "%s: truncated gzip data (member %d ends early)", path, member);
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = cl_error_set(zr == Z_MEM_ERROR ? CL_ENOMEM : CL_EDATA,
                              "%s: corrupt gzip data in member %d (%s)", path, member,
                              z.msg ? z.msg : zError(zr));
        }
    }
    inflateEnd(&z);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = got;
    return 0;
}

int cl_corpus_slurp(unsigned char **out, size_t *len, const char *path)
{
    *out = NULL;
    *len = 0;
    unsigned char *raw;
    size_t n = 0;
    int rc = read_raw(&raw, &n, path);
    if (rc) return rc;
    if (n < 2 || raw[0] != 0x1f || raw[1] != 0x8b) {
        *out = raw;
        *len = n;
        return 0;
    }
    rc = gunzip(out, len, raw, n, path);
    free(raw);
    return rc;
}

/* ---- splitting ------------------------------------------------------------ */

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int all_blank(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_space(p[i])) return 0;
    return 1;
}

/* End of the line starting at i: the index after its '\n', or len. */
static size_t line_end(const unsigned char *p, size_t len, size_t i)
{
    const unsigned char *nl = memchr(p + i, '\n', len - i);
    return nl ? (size_t)(nl - p) + 1 : len;
}

/* Adds p[from, to) unless it is only blank space. */
static int add_text(cl_docs *out, const unsigned char *p, size_t from, size_t to)
{
    return all_blank(p + from, to - from) ? 0 : cl_docs_add(out, p + from, to - from);
}

int cl_corpus_fortunes(cl_docs *out, const unsigned char *p, size_t len)
{
    size_t from = 0;
    for (size_t i = 0; i < len;) {
        size_t e = line_end(p, len, i), body = e - i - (e > i && p[e - 1] == '\n');
        /* Files edited on Windows end the separator with "\r". */
        if (body > 1 && p[i + body - 1] == '\r') body--;
        if (body == 1 && p[i] == '%') {
            int rc = add_text(out, p, from, i);
            if (rc) return rc;
            from = e;
        }
        i = e;
    }
    return add_text(out, p, from, len);
}

/* dictfmt's own entries (00-database-info, -short, -url, ...) describe
 * the database, not a headword. */
static int is_header_entry(const unsigned char *p, size_t n)
{
    static const char tag[] = "00-database-";
    return n >= sizeof tag - 1 && memcmp(p, tag, sizeof tag - 1) == 0;
}

static int add_entry(cl_docs *out, const unsigned char *p, size_t from, size_t to)
{
    return is_header_entry(p + from, to - from) ? 0 : add_text(out, p, from, to);
}

/* Headwords start in the first column and definitions are indented, with
 * an empty line between entries (jargon, FOLDOC): a line starting with a
 * non-blank byte right after an empty line ("" or "\r") starts an entry.
 * Lines of only spaces do not count: FOLDOC has them inside entries, before
 * URLs wrapped to the first column. FOLDOC lists synonyms as further
 * unindented lines after the headword, which this keeps in their entry.
 * Text before the first headword is a document of its own unless blank;
 * dictfmt's closing 00-database-alphabet line, which has no headword,
 * stays at the end of the last entry. */
int cl_corpus_dict(cl_docs *out, const unsigned char *p, size_t len)
{
    size_t from = 0;
    int prev_empty = 1;
    for (size_t i = 0; i < len;) {
        size_t e = line_end(p, len, i), body = e - i - (p[e - 1] == '\n');
        if (prev_empty && !is_space(p[i]) && i > from) {
            int rc = add_entry(out, p, from, i);
            if (rc) return rc;
            from = i;
        }
        prev_empty = body == 0 || (body == 1 && p[i] == '\r');
        i = e;
    }
    return add_entry(out, p, from, len);
}

/* ---- folder trees --------------------------------------------------------- */

/* strcmp, not the locale's collation: the same order on every machine. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dot(const struct dirent *e)
{
    return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

typedef struct tree_walk {
    cl_docs *out;
    const char *suffix;
    size_t max_bytes;
    size_t used; /* bytes this walk added */
    int full;    /* a file did not fit under max_bytes: nothing more is added */
} tree_walk;

static int walk(tree_walk *w, const char *dir, int depth);

/* One entry of a folder: a subfolder is walked, a file with the suffix
 * read; symlinks and other kinds are skipped, so no loop is possible. */
static int visit(tree_walk *w, const char *dir, const char *name, int depth)
{
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return cl_error_set(CL_EIO, "%s/%s: path too long", dir, name);
    if (lstat(path, &st) != 0) return cl_error_set(CL_EIO, "%s: cannot stat: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return walk(w, path, depth + 1);
    if (!S_ISREG(st.st_mode) || !ends_with(name, w->suffix)) return 0;
    unsigned char *text;
    size_t len;
    int rc = cl_corpus_slurp(&text, &len, path);
    if (rc) return rc;
    /* The first file that does not fit ends the walk, so the set read
     * depends on the tree alone, not on which later files happen to fit. */
    if (w->max_bytes && w->used + len > w->max_bytes)
        w->full = 1;
    else if ((rc = cl_docs_add(w->out, text, len)) == 0)
        w->used += len;
    free(text);
    return rc;
}

static int walk(tree_walk *w, const char *dir, int depth)
{
    if (depth > TREE_MAX_DEPTH)
        return cl_error_set(CL_EDATA, "%s: folders nested deeper than %d", dir, TREE_MAX_DEPTH);
    struct dirent **ents;
    int n = scandir(dir, &ents, not_dot, by_name);
    if (n < 0) return cl_error_set(CL_EIO, "%s: cannot read folder: %s", dir, strerror(errno));
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && !w->full) rc = visit(w, dir, ents[i]->d_name, depth);
        free(ents[i]);
    }
    free(ents);
    return rc;
}

int cl_corpus_tree(cl_docs *out, const char *dir, const char *suffix, size_t max_bytes)
{
    tree_walk w = {out, suffix, max_bytes, 0, 0};
    return walk(&w, dir, 0);
}
