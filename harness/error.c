#include <stdarg.h>
#include <stdio.h>
#include "clbench/error.h"

/* Per-thread, like errno: the only state outside the objects callers own. */
static _Thread_local char last_msg[1024];

int cl_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    return code;
}

const char *cl_error_last(void) { return last_msg; }

int cl_error_exit_code(int code)
{
    return (code == CL_EINVAL || code == CL_EDATA || code == CL_ENOTFOUND) ? 2 : 1;
}
