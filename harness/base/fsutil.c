#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"

int cl_fs_write_atomic_with(const char *path, int (*fill)(void *ctx, int fd, const char *tmp),
                            void *ctx)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return cl_error_set(CL_EINVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return cl_error_set(CL_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    int rc = fill(ctx, fd, tmp);
    if (rc) {
        close(fd);
        unlink(tmp);
        return rc;
    }
    /* fsync before rename so a crash cannot expose an empty file under the
     * final name. */
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return cl_error_set(CL_EIO, "%s: cannot flush: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return cl_error_set(CL_EIO, "%s: cannot rename into place: %s", path, strerror(e));
    }
    return 0;
}

typedef struct bytes {
    const char *data;
    size_t len;
} bytes;

static int write_bytes(void *ctx, int fd, const char *tmp)
{
    const bytes *b = ctx;
    size_t off = 0;
    while (off < b->len) {
        ssize_t w = write(fd, b->data + off, b->len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return cl_error_set(CL_EIO, "%s: write failed: %s", tmp, strerror(errno));
        }
        off += (size_t)w;
    }
    return 0;
}

int cl_fs_write_atomic(const char *path, const char *data, size_t len)
{
    bytes b = {data, len};
    return cl_fs_write_atomic_with(path, write_bytes, &b);
}

int cl_fs_mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return cl_error_set(CL_EINVAL, "bad directory path '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return cl_error_set(CL_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return cl_error_set(CL_EIO, "%s: not a directory", path);
    return 0;
}

bool cl_fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int cl_fs_read_all(const char *path, char **out, size_t *len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return cl_error_set(CL_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) return cl_error_set(CL_ENOMEM, "%s: out of memory reading file", path);
    if (err) {
        free(buf);
        return cl_error_set(CL_EIO, "%s: read error", path);
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return 0;
}
