#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/strbuf.h"

void cl_strbuf_init(cl_strbuf *b) { memset(b, 0, sizeof *b); }

void cl_strbuf_release(cl_strbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

static int grow(cl_strbuf *b, size_t extra)
{
    if (b->failed) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->failed = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void cl_strbuf_printf(cl_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(b, (size_t)n) != 0) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void cl_strbuf_puts(cl_strbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (grow(b, n) != 0) return;
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

void cl_strbuf_join(cl_strbuf *b, int n, const char *(*item)(int i), const char *sep)
{
    for (int i = 0; i < n; i++) {
        if (i) cl_strbuf_puts(b, sep);
        cl_strbuf_puts(b, item(i));
    }
}

void cl_strbuf_json_str(cl_strbuf *b, const char *s)
{
    cl_strbuf_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') cl_strbuf_printf(b, "\\%c", c);
        else if (c == '\n') cl_strbuf_puts(b, "\\n");
        else if (c == '\t') cl_strbuf_puts(b, "\\t");
        else if (c < 0x20) cl_strbuf_printf(b, "\\u%04x", c);
        else cl_strbuf_printf(b, "%c", c);
    }
    cl_strbuf_puts(b, "\"");
}

void cl_strbuf_json_num(cl_strbuf *b, double v)
{
    if (!isfinite(v)) cl_strbuf_puts(b, "null");
    else if (v == 0) cl_strbuf_puts(b, "0"); /* no "-0" */
    else cl_strbuf_printf(b, "%.17g", v);
}

int cl_strbuf_status(const cl_strbuf *b)
{
    return b->failed ? cl_error_set(CL_ENOMEM, "out of memory building text") : 0;
}
