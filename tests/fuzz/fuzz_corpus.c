/* Fuzz target: the corpus readers (clbench/store/corpus.h). Input: byte 0
 * picks the reader (mod 3): 0 splits the rest as a fortune file, 1 as a
 * dictd database, 2 writes the rest to a file and reads it back with
 * cl_corpus_slurp (gunzipping it when it is gzip) and then splits what came
 * out both ways. Splitting never fails but for memory; its documents must be
 * non-blank, in the input in order without overlap, and (fortunes) hold
 * every non-blank byte that is not a "%" separator. A slurp rejection must
 * be CL_EDATA or CL_EIO naming the file in one line; a plain file must come
 * back byte for byte. */
#include <stdint.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/store/corpus.h"
#include "fuzz.h"

static int corpus_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Where needle (k bytes) first occurs in hay[from, n), or -1. */
static long corpus_find(const uint8_t *hay, size_t n, size_t from, const uint8_t *needle, size_t k)
{
    for (size_t i = from; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0) return (long)i;
    return -1;
}

/* Non-blank bytes of p (n) outside lines that are exactly "%" or "%\r". */
static size_t corpus_fortune_ink(const uint8_t *p, size_t n)
{
    size_t ink = 0;
    for (size_t i = 0; i < n;) {
        const uint8_t *nl = memchr(p + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - p) : n, len = e - i;
        int sep = (len == 1 && p[i] == '%') || (len == 2 && p[i] == '%' && p[i + 1] == '\r');
        for (size_t j = i; j < e && !sep; j++) ink += !corpus_space(p[j]);
        i = e + 1;
    }
    return ink;
}

/* The documents against the text they were split from. */
static int corpus_check(const cl_docs *d, const uint8_t *in, size_t n, int fortunes)
{
    if (d->n == 0) {
        if (d->len != 0) return CL_FUZZ_BROKEN("no documents but %zu bytes", d->len);
        return fortunes && corpus_fortune_ink(in, n) ? CL_FUZZ_BROKEN("fortunes lost text") : 0;
    }
    if (d->start[0] != 0 || d->start[d->n] != d->len || d->len > n)
        return CL_FUZZ_BROKEN("bad document bounds (%zu..%zu of %zu, input %zu)", d->start[0],
                              d->start[d->n], d->len, n);
    size_t at = 0, ink = 0;
    for (int i = 0; i < d->n; i++) {
        const uint8_t *p = d->bytes + d->start[i];
        size_t k = cl_docs_size(d, i), dark = 0;
        for (size_t j = 0; j < k; j++) dark += !corpus_space(p[j]);
        if (dark == 0) return CL_FUZZ_BROKEN("document %d of %zu bytes is blank", i, k);
        ink += dark;
        long pos = corpus_find(in, n, at, p, k);
        if (pos < 0) return CL_FUZZ_BROKEN("document %d is not in the input after byte %zu", i, at);
        at = (size_t)pos + k;
        if (!fortunes && k >= 12 && memcmp(p, "00-database-", 12) == 0)
            return CL_FUZZ_BROKEN("dict kept header entry %d", i);
        if (fortunes && corpus_fortune_ink(p, k) != dark)
            return CL_FUZZ_BROKEN("fortune %d holds a separator line", i);
    }
    if (fortunes && ink != corpus_fortune_ink(in, n))
        return CL_FUZZ_BROKEN("fortunes keep %zu non-blank bytes of %zu", ink, corpus_fortune_ink(in, n));
    return 0;
}

/* Splits p (n) one way and checks the documents. */
static int corpus_split(const uint8_t *p, size_t n, int fortunes)
{
    cl_docs d = {0};
    int rc = fortunes ? cl_corpus_fortunes(&d, p, n) : cl_corpus_dict(&d, p, n);
    int r = rc ? cl_fuzz_rejected(rc, NULL, CL_ENOMEM, CL_ENOMEM) : corpus_check(&d, p, n, fortunes);
    cl_docs_release(&d);
    return r;
}

static int corpus_slurp(const uint8_t *data, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "%s/corpus", cl_fuzz_tmpdir());
    cl_fuzz_put(path, data, size);
    unsigned char *out = (unsigned char *)&out;
    size_t len = 1;
    int rc = cl_corpus_slurp(&out, &len, path);
    unlink(path); /* not among CL_FUZZ_FILES: leave the folder empty */
    if (rc) {
        if (out) return CL_FUZZ_BROKEN("*out not NULL after error %d", rc);
        return cl_fuzz_rejected(rc, path, CL_EDATA, CL_EIO);
    }
    int gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b, r = 0;
    if (!gzip && (len != size || memcmp(out, data, size) != 0))
        r = CL_FUZZ_BROKEN("a plain file of %zu bytes came back as %zu others", size, len);
    if (r == 0) r = corpus_split(out, len, 1);
    if (r == 0) r = corpus_split(out, len, 0);
    free(out);
    return r;
}

int cl_fuzz_corpus(const uint8_t *data, size_t size)
{
    if (size < 1) return 1;
    switch (data[0] % 3) {
    case 0: return corpus_split(data + 1, size - 1, 1);
    case 1: return corpus_split(data + 1, size - 1, 0);
    default: return corpus_slurp(data + 1, size - 1);
    }
}

CL_FUZZ_ENTRY(cl_fuzz_corpus)
