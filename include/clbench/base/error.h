/* Error reporting: fallible functions return 0 or a negative CL_E* code and
 * leave a one-line message in a per-thread slot (as libgit2 does), so callers
 * can pass failures up without formatting anything; only main prints. */
#ifndef CLBENCH_ERROR_H
#define CLBENCH_ERROR_H

#include <stdio.h>
#include <stdlib.h>

enum {
    CL_OK = 0,
    CL_EINVAL = -1,    /* bad user input: unknown name, bad value, bad file (exit 2) */
    CL_ENOMEM = -2,    /* allocation failed (exit 1) */
    CL_EIO = -3,       /* a file could not be read or written (exit 1) */
    CL_EDIVERGED = -4, /* a loss became NaN or Inf: the run is marked diverged */
    CL_ENOTFOUND = -5, /* a looked-up item does not exist (callers may recover) */
    CL_EDATA = -6      /* a data file is corrupt or truncated (exit 2) */
};

/* Records a printf-style message for the calling thread and returns `code`,
 * so a failure site reads `return cl_error_set(CL_EINVAL, "...", ...);`. */
int cl_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The last message set on this thread ("" if none). */
const char *cl_error_last(void);

/* Process exit code for an error code: 2 for input errors, 1 otherwise. */
int cl_error_exit_code(int code);

/* Broken internal contracts (not user errors) abort with a location. */
#define CL_ASSERT(cond)                                                     \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "clbench: internal error: %s (%s:%d)\n", #cond, \
                    __FILE__, __LINE__);                                    \
            abort();                                                        \
        }                                                                   \
    } while (0)

#endif
