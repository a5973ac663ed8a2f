/* Child processes for the front ends that drive other programs (sbatch,
 * scontrol, clbench workers): PATH lookup, running a program for its
 * output, and telling whether a process id still names a live process. */
#ifndef CLBENCH_PROC_H
#define CLBENCH_PROC_H

#include <stddef.h>

/* The executable `name` on PATH into path (a name holding '/' is taken as
 * given). An empty PATH entry is the current folder (POSIX). CL_ENOTFOUND
 * when there is none. */
int cl_proc_find(char *path, size_t size, const char *name);

/* Runs argv[0] (a path) with argv, stdin from /dev/null and stderr passed
 * through (or to /dev/null with mute_stderr), and waits for it. *out gets
 * its stdout, NUL-terminated (caller frees), *status its wait status.
 * CL_EIO when it cannot be started (*out NULL), CL_ENOMEM. */
int cl_proc_capture(char **out, int *status, char *const argv[], int mute_stderr);

/* "exit 3", "killed by signal 9 (Killed)": a wait status in words. */
void cl_proc_status_text(char *buf, size_t n, int status);

/* 1 while pid names a running process; 0 once it is gone or a zombie (a
 * killed process stays one until its parent, often init, reaps it). */
int cl_proc_alive(long pid);

#endif
