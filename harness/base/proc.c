/* Child processes (see proc.h). posix_spawn rather than fork: the callers
 * may be large processes, and spawn reports exec failures to the parent. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "clbench/base/error.h"
#include "clbench/base/proc.h"
#include "clbench/base/strbuf.h"

extern char **environ;

static int executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int cl_proc_find(char *path, size_t size, const char *name)
{
    if (size) path[0] = '\0';
    if (strchr(name, '/')) {
        int n = snprintf(path, size, "%s", name);
        if (n > 0 && (size_t)n < size && executable(path)) return 0;
        return cl_error_set(CL_ENOTFOUND, "%s: no such executable", name);
    }
    const char *p = getenv("PATH");
    while (p && *p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int n = len ? snprintf(path, size, "%.*s/%s", (int)len, p, name)
                    : snprintf(path, size, "./%s", name);
        if (n > 0 && (size_t)n < size && executable(path)) return 0;
        p = end ? end + 1 : NULL;
    }
    if (size) path[0] = '\0';
    return cl_error_set(CL_ENOTFOUND, "%s not found on PATH", name);
}

int cl_proc_capture(char **out, int *status, char *const argv[], int mute_stderr)
{
    *out = NULL;
    *status = -1;
    int fd[2];
    if (pipe(fd) != 0) return cl_error_set(CL_EIO, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (mute_stderr) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    posix_spawn_file_actions_addclose(&fa, fd[1]);
    pid_t pid;
    int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (err) {
        close(fd[0]);
        return cl_error_set(CL_EIO, "cannot run %s: %s", argv[0], strerror(err));
    }
    cl_strbuf b;
    cl_strbuf_init(&b);
    cl_strbuf_puts(&b, ""); /* *out is a string even when the child says nothing */
    char chunk[4096];
    for (;;) {
        ssize_t r = read(fd[0], chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        cl_strbuf_printf(&b, "%.*s", (int)r, chunk);
    }
    close(fd[0]);
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR) {
            *status = -1;
            break;
        }
    if (cl_strbuf_status(&b)) {
        cl_strbuf_release(&b);
        return cl_error_set(CL_ENOMEM, "out of memory");
    }
    *out = b.s;
    return 0;
}

void cl_proc_status_text(char *buf, size_t n, int st)
{
    if (st == -1) snprintf(buf, n, "status unknown");
    else if (WIFEXITED(st)) snprintf(buf, n, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else snprintf(buf, n, "wait status %d", st);
}

int cl_proc_alive(long pid)
{
    if (pid <= 0) return 0;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1; /* no /proc: trust kill */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) S ...": comm may hold anything, so the state follows the
     * last ')'. */
    const char *p = strrchr(buf, ')');
    return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}
