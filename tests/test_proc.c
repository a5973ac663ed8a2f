/* Child-process helpers: PATH lookup, captured output and wait statuses,
 * and liveness of a process that became a zombie. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "clbench/base/error.h"
#include "clbench/base/proc.h"

TestSuite(proc, .timeout = 20);

Test(proc, find_on_path)
{
    char path[4096];
    const char *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    setenv("PATH", "/nonexistent:/bin:/usr/bin", 1);
    cr_assert_eq(cl_proc_find(path, sizeof path, "sh"), 0, "%s", cl_error_last());
    cr_assert_str_eq(path, "/bin/sh");
    cr_assert_eq(cl_proc_find(path, sizeof path, "no-such-program-xyz"), CL_ENOTFOUND);
    cr_assert_str_eq(path, "");
    cr_assert_not_null(strstr(cl_error_last(), "no-such-program-xyz"));
    /* A name with a slash is taken as given. */
    cr_assert_eq(cl_proc_find(path, sizeof path, "/bin/sh"), 0);
    cr_assert_eq(cl_proc_find(path, sizeof path, "/nonexistent/sh"), CL_ENOTFOUND);
    /* Too small a buffer is not a match. */
    char tiny[4];
    cr_assert_eq(cl_proc_find(tiny, sizeof tiny, "sh"), CL_ENOTFOUND);
    if (saved) setenv("PATH", saved, 1);
    free(saved);
}

Test(proc, capture_output_and_status)
{
    char *out;
    int st;
    char *echo[] = {"/bin/sh", "-c", "echo 'Submitted batch job 42'; echo noise >&2; exit 3", NULL};
    cr_assert_eq(cl_proc_capture(&out, &st, echo, 1), 0, "%s", cl_error_last());
    cr_assert_str_eq(out, "Submitted batch job 42\n");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    free(out);
    char *quiet[] = {"/bin/sh", "-c", "true", NULL};
    cr_assert_eq(cl_proc_capture(&out, &st, quiet, 0), 0);
    cr_assert_str_eq(out, "");
    cr_assert_eq(st, 0);
    free(out);
    char *missing[] = {"/nonexistent/prog", NULL};
    cr_assert_eq(cl_proc_capture(&out, &st, missing, 0), CL_EIO);
    cr_assert_null(out);
}

Test(proc, status_text)
{
    char buf[96];
    char *killed[] = {"/bin/sh", "-c", "kill -9 $$", NULL}, *out;
    int st;
    cr_assert_eq(cl_proc_capture(&out, &st, killed, 0), 0);
    free(out);
    cl_proc_status_text(buf, sizeof buf, st);
    cr_assert_eq(strncmp(buf, "killed by signal 9 (", 20), 0, "%s", buf);
    cl_proc_status_text(buf, sizeof buf, 2 << 8);
    cr_assert_str_eq(buf, "exit 2");
}

Test(proc, alive_sees_through_zombies)
{
    cr_assert_eq(cl_proc_alive((long)getpid()), 1);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    cr_assert_eq(cl_proc_alive((long)pid), 1);
    kill(pid, SIGKILL);
    /* Not reaped yet: a zombie, which kill(pid, 0) would still find. */
    struct timespec nap = {0, 5000000};
    for (int i = 0; i < 200 && cl_proc_alive((long)pid); i++) nanosleep(&nap, NULL);
    cr_assert_eq(cl_proc_alive((long)pid), 0);
    cr_assert_eq(kill(pid, 0), 0, "the child should still be an unreaped zombie");
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    cr_assert_eq(cl_proc_alive((long)pid), 0);
    cr_assert_eq(cl_proc_alive(0), 0);
}
