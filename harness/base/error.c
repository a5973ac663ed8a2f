#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "clbench/base/error.h"

/* Per-thread, like errno: the only state outside the objects callers own. */
static _Thread_local char last_msg[1024];

/* Messages quote user input (a --set value, a YAML key, a file name), which
 * may hold newlines or terminal escapes; they are written as \n, \xHH so the
 * message stays one printable line. */
int cl_error_set(int code, const char *fmt, ...)
{
    char raw[sizeof last_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)raw; *c; c++) {
        char esc[5] = {(char)*c, '\0'};
        if (*c == '\n') snprintf(esc, sizeof esc, "\\n");
        else if (*c == '\t') snprintf(esc, sizeof esc, "\\t");
        else if (*c < 0x20 || *c == 0x7f) snprintf(esc, sizeof esc, "\\x%02x", *c);
        size_t k = strlen(esc);
        if (o + k >= sizeof last_msg) break; /* whole escapes only */
        memcpy(last_msg + o, esc, k);
        o += k;
    }
    last_msg[o] = '\0';
    return code;
}

const char *cl_error_last(void) { return last_msg; }

int cl_error_exit_code(int code)
{
    return (code == CL_EINVAL || code == CL_EDATA || code == CL_ENOTFOUND) ? 2 : 1;
}
