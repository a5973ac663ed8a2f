/* A growable text buffer, for writers that build a whole file in memory and
 * then write it atomically. */
#ifndef CLBENCH_STRBUF_H
#define CLBENCH_STRBUF_H

#include <stddef.h>

typedef struct cl_strbuf {
    char *s;    /* NUL-terminated text, owned */
    size_t len; /* bytes before the NUL */
    size_t cap;
    int failed; /* set when an allocation failed; later appends are ignored */
} cl_strbuf;

void cl_strbuf_init(cl_strbuf *b);
void cl_strbuf_release(cl_strbuf *b);
void cl_strbuf_printf(cl_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cl_strbuf_puts(cl_strbuf *b, const char *s);
/* item(0), item(1), ..., item(n - 1) with sep between them: the names of a
 * registry, for listing the valid ones. */
void cl_strbuf_join(cl_strbuf *b, int n, const char *(*item)(int i), const char *sep);
/* A JSON string literal, quoted and escaped. */
void cl_strbuf_json_str(cl_strbuf *b, const char *s);
/* A JSON number, or null when v is not finite. %.17g round-trips a double;
 * the writers use %.6f-free formatting so reruns are byte-identical. */
void cl_strbuf_json_num(cl_strbuf *b, double v);
/* CL_ENOMEM if any append failed, else 0. */
int cl_strbuf_status(const cl_strbuf *b);

#endif
