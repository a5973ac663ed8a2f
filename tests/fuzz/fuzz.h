/* Shared by the fuzz targets tests/fuzz/fuzz_<name>.c. Each target is a
 * plain function
 *     int cl_fuzz_<name>(const uint8_t *data, size_t size);
 * that feeds one input through the library and checks what must hold for
 * any input: a rejection is a documented error code with a non-empty
 * one-line message naming the input, and an accepted input survives a
 * round trip (written back and read again, it means the same). It returns
 * 0 when the input was accepted, 1 when it was rejected, and -1 after
 * printing which invariant broke. Memory errors are left to the sanitizers.
 *
 * The same files are compiled twice:
 * - by `make fuzz` with clang -fsanitize=fuzzer and -DCL_FUZZ_LIBFUZZER,
 *   where CL_FUZZ_ENTRY wraps the function in LLVMFuzzerTestOneInput and
 *   turns -1 into abort() so libFuzzer records the input;
 * - by tests/test_fuzz_regressions.c (gcc, every `make check`), which
 *   #includes them all and runs every stored corpus and regression input
 *   through the plain functions. Static names therefore carry the target's
 *   name, since all targets share that one translation unit. */
#ifndef CL_FUZZ_H
#define CL_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clbench/base/error.h"

#ifdef CL_FUZZ_LIBFUZZER
#define CL_FUZZ_ENTRY(fn)                                              \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);      \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)       \
    {                                                                  \
        if (fn(data, size) < 0) abort();                               \
        return 0;                                                      \
    }
#else
#define CL_FUZZ_ENTRY(fn)
#endif

/* Prints why an invariant broke and makes the target return -1. */
#define CL_FUZZ_BROKEN(...)                                            \
    (fprintf(stderr, "fuzz invariant broken (%s:%d): ", __FILE__, __LINE__), \
     fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), -1)

/* A failure from the library: the code must be one of the allowed ones (or
 * CL_ENOMEM), and the message one non-empty line starting with `prefix`
 * (the input's name; NULL: any start). Returns 1 when all holds, else -1. */
static inline int cl_fuzz_rejected(int rc, const char *prefix, int ok1, int ok2)
{
    const char *msg = cl_error_last();
    if (rc != ok1 && rc != ok2 && rc != CL_ENOMEM)
        return CL_FUZZ_BROKEN("unexpected error code %d: %s", rc, msg);
    if (!msg[0]) return CL_FUZZ_BROKEN("error %d without a message", rc);
    for (const char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return CL_FUZZ_BROKEN("message has control byte 0x%02x: %s", (unsigned char)*c, msg);
    if (rc != CL_ENOMEM && prefix && strncmp(msg, prefix, strlen(prefix)) != 0)
        return CL_FUZZ_BROKEN("message does not start with '%s': %s", prefix, msg);
    return 1;
}

/* A private folder for the targets whose library entry takes file names:
 * created on first use, emptied of the files the targets write there
 * (CL_FUZZ_FILES) and removed when the process exits. */
#define CL_FUZZ_FILES {"images", "labels", "metrics.json"}

static char cl_fuzz_dir_[64];

static inline void cl_fuzz_tmpdir_remove(void)
{
    static const char *const names[] = CL_FUZZ_FILES;
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", cl_fuzz_dir_, names[i]);
        unlink(path);
    }
    rmdir(cl_fuzz_dir_);
}

static inline const char *cl_fuzz_tmpdir(void)
{
    if (!cl_fuzz_dir_[0]) {
        snprintf(cl_fuzz_dir_, sizeof cl_fuzz_dir_, "/tmp/clbench-fuzz-XXXXXX");
        if (!mkdtemp(cl_fuzz_dir_)) {
            perror("clbench fuzz: mkdtemp");
            abort();
        }
        atexit(cl_fuzz_tmpdir_remove);
    }
    return cl_fuzz_dir_;
}

/* Writes size bytes to path; aborts on failure (the harness, not the
 * library, is broken then). */
static inline void cl_fuzz_put(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

#endif
