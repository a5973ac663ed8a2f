/* Text corpora read into documents: fortune files (entries split on "%"
 * lines), dictd databases (.dict.dz, gzip; one document per headword
 * entry), and trees of C headers (one document per file). Bytes are kept
 * as read: no decoding, so non-UTF-8 text is text like any other. */
#ifndef CLBENCH_CORPUS_H
#define CLBENCH_CORPUS_H

#include <stddef.h>

/* Documents back to back: document i is bytes[start[i], start[i + 1]). */
typedef struct cl_docs {
    unsigned char *bytes; /* (len) */
    size_t len, cap;
    size_t *start;        /* (n + 1) */
    int n, n_cap;
} cl_docs;

/* Appends one document of len bytes (len 0 adds nothing). */
int cl_docs_add(cl_docs *d, const void *p, size_t len);
/* Appends every document of src. */
int cl_docs_append(cl_docs *d, const cl_docs *src);
void cl_docs_release(cl_docs *d);
static inline size_t cl_docs_size(const cl_docs *d, int i) { return d->start[i + 1] - d->start[i]; }

/* Splits a fortune file's bytes into entries: a line holding only "%" ends
 * one; entries of only blank space are dropped. */
int cl_corpus_fortunes(cl_docs *out, const unsigned char *p, size_t len);
/* Splits a dictd database's (decompressed) bytes into entries: a line
 * starting with a non-blank byte after a blank line starts one. */
int cl_corpus_dict(cl_docs *out, const unsigned char *p, size_t len);
/* Reads a whole file, gunzipping it when it starts with the gzip magic;
 * CL_EIO naming the path (missing, unreadable), CL_EDATA for a truncated or
 * corrupt gzip stream. Caller frees *out. */
int cl_corpus_slurp(unsigned char **out, size_t *len, const char *path);
/* Reads every regular file of `dir` whose name ends in suffix (".h"),
 * recursing into subfolders in name order, each file one document; at
 * most max_bytes in all (0: no limit). */
int cl_corpus_tree(cl_docs *out, const char *dir, const char *suffix, size_t max_bytes);

#endif
