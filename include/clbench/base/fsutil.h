/* File helpers: atomic writes (temporary name, fsync, rename) so a killed
 * run never leaves a half-written result file, and directory creation. */
#ifndef CLBENCH_FSUTIL_H
#define CLBENCH_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Writes len bytes to path via path.tmp.<pid> and rename(2). */
int cl_fs_write_atomic(const char *path, const char *data, size_t len);
/* The same for content written by fill(ctx, fd, tmp) into the temporary
 * (fd open for writing, tmp its name for messages), which returns 0 or a
 * negative CL_E*; on failure the temporary is removed and path untouched. */
int cl_fs_write_atomic_with(const char *path, int (*fill)(void *ctx, int fd, const char *tmp),
                            void *ctx);
/* mkdir -p. */
int cl_fs_mkdirs(const char *path);
bool cl_fs_exists(const char *path);
/* Reads a whole file into *out (NUL-terminated, caller frees). */
int cl_fs_read_all(const char *path, char **out, size_t *len);

#endif
