/* Documents back to back (cl_docs): the growable arrays the corpus readers
 * fill. */
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/store/corpus.h"

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return cl_error_set(CL_ENOMEM, "out of memory holding %zu bytes of text", need * elem);
    *p = q;
    *cap = c;
    return 0;
}

int cl_docs_add(cl_docs *d, const void *p, size_t len)
{
    if (len == 0) return 0;
    size_t n_cap = (size_t)d->n_cap;
    int rc = grow((void **)&d->bytes, &d->cap, d->len + len, 1);
    if (rc == 0) rc = grow((void **)&d->start, &n_cap, (size_t)d->n + 2, sizeof *d->start);
    if (rc) return rc;
    if (n_cap > (size_t)1 << 30) return cl_error_set(CL_EINVAL, "more than 2^30 documents");
    d->n_cap = (int)n_cap;
    if (d->n == 0) d->start[0] = 0;
    memcpy(d->bytes + d->len, p, len);
    d->len += len;
    d->start[++d->n] = d->len;
    return 0;
}

int cl_docs_append(cl_docs *d, const cl_docs *src)
{
    for (int i = 0; i < src->n; i++) {
        int rc = cl_docs_add(d, src->bytes + src->start[i], cl_docs_size(src, i));
        if (rc) return rc;
    }
    return 0;
}

void cl_docs_release(cl_docs *d)
{
    if (!d) return;
    free(d->bytes);
    free(d->start);
    memset(d, 0, sizeof *d);
}
