/* clbench sweep FILE.yaml: runs an experiment grid as independent cell
 * processes, so a failed, diverged or killed cell costs only itself. The
 * planner expands the grid, skips finished cells and either spawns at most
 * -j local workers (`clbench sweep FILE --cell K`, this same binary) or
 * writes (and with --submit, submits) a Slurm job array whose tasks run the
 * same command (the Slurm path is cli_sweep_slurm.c). Every cell writes its
 * results folder atomically, so a sweep killed at any moment is continued by
 * running it again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "clbench/cli/cli.h"
#include "clbench/cli/cliopt.h"
#include "clbench/base/error.h"
#include "clbench/run/experiment.h"
#include "clbench/base/fsutil.h"
#include "clbench/store/json.h"
#include "clbench/base/proc.h"
#include "clbench/run/sweep.h"
#include "cli_sweep.h"

extern char **environ;

#define USAGE                                                                              \
    "usage: clbench sweep FILE.yaml [--out DIR] [-j N] [--threads N] [--quiet] [--dry-run]\n"  \
    "                     [--force] [--resume]\n"                                          \
    "       clbench sweep FILE.yaml --slurm [--submit] [--partition P] [--time HH:MM:SS]\n" \
    "                     [--cpus-per-task C] [--mem MB] [--script PATH] [--out DIR]\n"    \
    "       clbench sweep FILE.yaml --cell K [--out DIR] [--threads N] [--grid HASH]\n"    \
    "                     [--quiet] [--force] [--resume]   (one cell: what workers and Slurm\n" \
    "                     tasks run)\n"

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "clbench sweep: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see clbench sweep --help)\n");
    return 2;
}

static int parse_long(const char *s, const char *flag, long lo, long hi, long *out)
{
    long long v;
    if (cl_cliopt_whole(&v, s, flag, lo, hi)) return usage_error("%s", cl_error_last());
    *out = (long)v;
    return 0;
}

/* Slurm time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
static int time_ok(const char *s)
{
    int digits = 0, colons = 0, dashes = 0;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') digits++;
        else if (*p == ':' && p != s && p[-1] != ':' && p[-1] != '-' && ++colons <= 2) continue;
        else if (*p == '-' && p != s && !colons && ++dashes == 1) continue;
        else return 0;
    }
    size_t n = strlen(s);
    return digits && s[n - 1] >= '0' && s[n - 1] <= '9';
}

static int parse_args(cl_cli_sweep_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"out", required_argument, 0, 'o'},   {"jobs", required_argument, 0, 'j'},
        {"threads", required_argument, 0, 't'}, {"quiet", no_argument, 0, 'q'},
        {"dry-run", no_argument, 0, 'n'},     {"force", no_argument, 0, 'F'},
        {"cell", required_argument, 0, 'k'},  {"grid", required_argument, 0, 'g'},
        {"slurm", no_argument, 0, 'S'},       {"submit", no_argument, 0, 's'},
        {"partition", required_argument, 0, 'p'}, {"time", required_argument, 0, 'T'},
        {"cpus-per-task", required_argument, 0, 'c'}, {"mem", required_argument, 0, 'm'},
        {"script", required_argument, 0, 'x'}, {"resume", no_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    o->out = "results/runs";
    o->cell = -1;
    int slurm_only = 0;
    long v = 0;
    cl_cliopt_start();
    int c;
    while ((c = cl_cliopt_next(argc, argv, ":j:h", longs)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'j':
            if (parse_long(optarg, "-j", 1, 1024, &v)) return 2;
            o->jobs = (int)v;
            break;
        case 't':
            if (parse_long(optarg, "--threads", 1, 256, &v)) return 2;
            o->threads = (int)v;
            break;
        case 'q': o->quiet = 1; break;
        case 'n': o->dry_run = 1; break;
        case 'F': o->force = 1; break;
        case 'r': o->resume = 1; break;
        case 'k':
            if (parse_long(optarg, "--cell", 0, CL_EXPERIMENT_MAX_CELLS - 1, &o->cell)) return 2;
            break;
        case 'g': {
            char *end;
            errno = 0;
            unsigned long long g = strtoull(optarg, &end, 16);
            if (!*optarg || *end || errno || strlen(optarg) != 16)
                return usage_error("--grid: '%s' is not 16 hex digits", optarg);
            o->grid = (uint64_t)g;
            o->has_grid = 1;
            break;
        }
        case 'S': o->slurm = 1; break;
        case 's': o->submit = 1, slurm_only = 1; break;
        case 'p': o->partition = optarg, slurm_only = 1; break;
        case 'T':
            if (!time_ok(optarg))
                return usage_error("--time: '%s' is not a Slurm time (MM, MM:SS, HH:MM:SS, "
                                   "D-HH, D-HH:MM or D-HH:MM:SS)", optarg);
            o->time = optarg, slurm_only = 1;
            break;
        case 'c':
            if (parse_long(optarg, "--cpus-per-task", 1, 256, &v)) return 2;
            o->cpus = (int)v, slurm_only = 1;
            break;
        case 'm':
            if (parse_long(optarg, "--mem", 1, 1L << 40, &o->mem_mb)) return 2;
            slurm_only = 1;
            break;
        case 'x': o->script = optarg, slurm_only = 1; break;
        case 'h': printf("%s", USAGE); return 1;
        default:
            cl_cliopt_error(c, argv);
            return usage_error("%s", cl_error_last());
        }
    }
    if (optind == argc) return usage_error("no experiment file given");
    if (argc - optind > 1) return usage_error("unexpected argument '%s'", argv[optind + 1]);
    o->file = argv[optind];
    if (slurm_only && !o->slurm)
        return usage_error("--submit, --partition, --time, --cpus-per-task, --mem and --script "
                           "go with --slurm");
    if (o->cell >= 0 && (o->slurm || o->jobs || o->dry_run))
        return usage_error("--cell runs one cell here; it does not combine with --slurm, -j or "
                           "--dry-run");
    if (o->has_grid && o->cell < 0) return usage_error("--grid goes with --cell");
    if (o->slurm && o->jobs) return usage_error("-j is for local sweeps; Slurm decides how many "
                                                "tasks run at once");
    if (o->slurm && o->threads && o->cpus && o->threads != o->cpus)
        return usage_error("--threads %d and --cpus-per-task %d disagree: each Slurm task runs "
                           "its cell with one OpenBLAS thread per CPU", o->threads, o->cpus);
    return 0;
}

/* ---- one cell (--cell K) ---------------------------------------------------------- */

/* A run killed while writing leaves NAME.tmp.<pid> files that nothing will
 * rename; drop those whose writer is gone before the cell runs again. */
static void tidy_tmp(const char *out, const char *run_id)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", out, run_id);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t) continue;
        char *end;
        long pid = strtol(t + 5, &end, 10);
        if (t[5] < '0' || t[5] > '9' || *end || pid <= 0) continue;
        if (cl_proc_alive(pid)) continue;
        char path[4096 + 256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static int run_cell(const cl_cli_sweep_opts *o, cl_config **cells, int n)
{
    if (o->cell >= n) {
        fprintf(stderr, "clbench sweep: --cell %ld: %s expands to %d cells (0 to %d)\n", o->cell,
                o->file, n, n - 1);
        return 2;
    }
    uint64_t grid = cl_sweep_grid_hash(cells, n);
    if (o->has_grid && grid != o->grid) {
        fprintf(stderr, "clbench sweep: %s: the grid changed since the sweep was planned (hash "
                "%016llx, planned %016llx); plan the sweep again\n", o->file,
                (unsigned long long)grid, (unsigned long long)o->grid);
        return 2;
    }
    char id[256];
    cl_config_run_id(cells[o->cell], id, sizeof id);
    tidy_tmp(o->out, id);
    cl_exec_opts eo = {.out = o->out, .format = "table", .quiet = o->quiet, .force = o->force,
                       .resume = o->resume};
    return cl_cli_exec_cells(&cells[o->cell], 1, &eo);
}

/* ---- local workers ---------------------------------------------------------------- */

typedef enum cell_state { ST_PENDING, ST_RUNNING, ST_OK, ST_DIVERGED, ST_FAILED } cell_state;

typedef struct cell_run {
    cell_state state;
    int ran;        /* run by this sweep (not found finished) */
    pid_t pid;
    char note[512]; /* why it diverged or failed */
} cell_run;

typedef struct local {
    const cl_cli_sweep_opts *o;
    const cl_sweep_cell *sc;
    cell_run *cr;
    int n, threads, jobs;
    char exe[4096], grid[17], logs[4096];
    char **envp;
    int running, pending, finished, failed, diverged, to_run;
    struct timespec t0;
} local;

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void show_progress(const local *L)
{
    int done = 0;
    for (int i = 0; i < L->n; i++) done += L->cr[i].state != ST_PENDING && L->cr[i].state != ST_RUNNING;
    double el = since(&L->t0);
    fprintf(stderr, "\r\033[Ksweep: %d/%d cells done, %d running, %d failed, %d diverged, %.0fs",
            done, L->n, L->running, L->failed, L->diverged, el);
    if (L->finished > 0)
        fprintf(stderr, ", eta %.0fs", el * (L->to_run - L->finished) / L->finished);
}

/* environ with OPENBLAS_NUM_THREADS set, so a worker's OpenBLAS starts with
 * its own thread count instead of one thread per CPU. */
static char **worker_env(int threads)
{
    int n = 0;
    while (environ[n]) n++;
    char **env = calloc((size_t)n + 2, sizeof *env);
    char *mine = malloc(48);
    if (!env || !mine) {
        free(env);
        free(mine);
        return NULL;
    }
    snprintf(mine, 48, "OPENBLAS_NUM_THREADS=%d", threads);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (strncmp(environ[i], "OPENBLAS_NUM_THREADS=", 21) != 0) env[k++] = environ[i];
    env[k++] = mine;
    env[k] = NULL;
    return env;
}

static void log_path(const local *L, int k, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s.log", L->logs, L->sc[k].run_id);
}

static int spawn_worker(local *L, int k)
{
    const cl_cli_sweep_opts *o = L->o;
    char cell[24], threads[24], logp[4096 + 300];
    snprintf(cell, sizeof cell, "%d", k);
    snprintf(threads, sizeof threads, "%d", L->threads);
    log_path(L, k, logp, sizeof logp);
    char *argv[16];
    int a = 0;
    argv[a++] = L->exe;
    argv[a++] = "sweep";
    argv[a++] = (char *)o->file;
    argv[a++] = "--cell";
    argv[a++] = cell;
    argv[a++] = "--out";
    argv[a++] = (char *)o->out;
    argv[a++] = "--threads";
    argv[a++] = threads;
    argv[a++] = "--grid";
    argv[a++] = L->grid;
    argv[a++] = "--quiet";
    if (o->force) argv[a++] = "--force";
    if (o->resume) argv[a++] = "--resume";
    argv[a] = NULL;
    /* The worker's table and any error go to its log: kept when it fails. */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none); /* we block SIGCHLD; the worker must not */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
    int err = posix_spawn(&L->cr[k].pid, L->exe, &fa, &at, argv, L->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    L->pending--;
    L->cr[k].ran = 1;
    if (err) {
        L->cr[k].state = ST_FAILED;
        snprintf(L->cr[k].note, sizeof L->cr[k].note, "cannot start %.300s: %s", L->exe,
                 strerror(err));
        L->failed++;
        L->finished++;
        return -1;
    }
    L->cr[k].state = ST_RUNNING;
    L->running++;
    return 0;
}

/* The last non-empty line of a worker's log: its error message. */
static void last_line(const char *path, char *buf, size_t n)
{
    buf[0] = '\0';
    char *text;
    if (cl_fs_read_all(path, &text, NULL) != 0) return;
    char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ')) *--end = '\0';
    char *start = end;
    while (start > text && start[-1] != '\n') start--;
    snprintf(buf, n, "%s", start);
    free(text);
}

/* status and reason from the cell's metrics.json; 0 when it reads. */
static int read_status(const cl_cli_sweep_opts *o, const cl_sweep_cell *c, char *status, size_t ns,
                       char *reason, size_t nr)
{
    char path[4096 + 300];
    snprintf(path, sizeof path, "%s/%s/metrics.json", o->out, c->run_id);
    cl_json *doc;
    if (cl_json_parse_file(&doc, path) != 0) {
        snprintf(reason, nr, "%s", cl_error_last());
        return -1;
    }
    const char *s = cl_json_str(cl_json_get(doc, "status"));
    const char *r = cl_json_str(cl_json_get(doc, "reason"));
    snprintf(status, ns, "%s", s ? s : "");
    snprintf(reason, nr, "%s", r ? r : "");
    cl_json_free(doc);
    return 0;
}

static void set_outcome(local *L, int k, int ok, int diverged, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void set_outcome(local *L, int k, int ok, int diverged, const char *fmt, ...)
{
    cell_run *r = &L->cr[k];
    r->state = ok ? ST_OK : diverged ? ST_DIVERGED : ST_FAILED;
    L->failed += !ok && !diverged;
    L->diverged += diverged;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note, sizeof r->note, fmt, ap);
    va_end(ap);
}

/* A worker exited: 0 ok; 1 diverged (its metrics.json says so) or failed;
 * 2 bad input (cannot happen after the planner's validation unless the file
 * changed); a signal: failed. */
static void worker_done(local *L, int k, int st)
{
    char logp[4096 + 300], line[300], how[96], status[32], reason[300];
    log_path(L, k, logp, sizeof logp);
    L->running--;
    L->finished++;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        set_outcome(L, k, 1, 0, "%s", "");
        unlink(logp);
        return;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
        read_status(L->o, &L->sc[k], status, sizeof status, reason, sizeof reason) == 0 &&
        !strcmp(status, "diverged")) {
        set_outcome(L, k, 0, 1, "%s", reason[0] ? reason : "diverged");
        unlink(logp); /* the run's own log.txt tells the story */
        return;
    }
    cl_proc_status_text(how, sizeof how, st);
    last_line(logp, line, sizeof line);
    set_outcome(L, k, 0, 0, "%s%s%s%s (log: %s)", how,
                WIFEXITED(st) && WEXITSTATUS(st) == 2 ? ", bad input" : "", line[0] ? ": " : "",
                line, logp);
}

/* The next pending cell that can start: one whose joint reference is not
 * still to run, so its intransigence can be measured. */
static int next_ready(const local *L)
{
    for (int i = 0; i < L->n; i++) {
        if (L->cr[i].state != ST_PENDING) continue;
        int j = L->sc[i].joint;
        if (j >= 0 && (L->cr[j].state == ST_PENDING || L->cr[j].state == ST_RUNNING)) continue;
        return i;
    }
    return -1;
}

static void reap(local *L)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        for (int i = 0; i < L->n; i++)
            if (L->cr[i].state == ST_RUNNING && L->cr[i].pid == pid) {
                worker_done(L, i, st);
                break;
            }
}

static int schedule(local *L)
{
    int tty = !L->o->quiet && isatty(STDERR_FILENO);
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    /* Blocked, SIGCHLD stays pending until sigtimedwait takes it: no child
     * exit is missed between the reap and the wait. */
    sigprocmask(SIG_BLOCK, &chld, &old);
    clock_gettime(CLOCK_MONOTONIC, &L->t0);
    while (L->pending > 0 || L->running > 0) {
        int k = -1;
        while (L->running < L->jobs && (k = next_ready(L)) >= 0) spawn_worker(L, k);
        if (L->running == 0) {
            if (k < 0) break; /* cannot happen: a joint cell waits for nothing */
            continue;         /* spawns failed: try the next cells */
        }
        if (tty) show_progress(L);
        struct timespec tick = {1, 0};
        sigtimedwait(&chld, NULL, &tick);
        reap(L);
    }
    if (tty) fprintf(stderr, "\r\033[K");
    sigprocmask(SIG_SETMASK, &old, NULL);
    rmdir(L->logs); /* only succeeds when no worker failed */
    return 0;
}

static int summary(const local *L)
{
    int ok = 0, ran_ok = 0, div = 0, failed = 0;
    for (int i = 0; i < L->n; i++) {
        ok += L->cr[i].state == ST_OK;
        ran_ok += L->cr[i].state == ST_OK && L->cr[i].ran;
        div += L->cr[i].state == ST_DIVERGED;
        failed += L->cr[i].state == ST_FAILED;
    }
    printf("sweep: %d cells in %s: %d ok (%d ran, %d already done), %d diverged, %d failed\n",
           L->n, L->o->out, ok, ran_ok, ok - ran_ok, div, failed);
    for (int i = 0; i < L->n; i++) {
        const cell_run *r = &L->cr[i];
        if (r->state == ST_DIVERGED || r->state == ST_FAILED)
            printf("  %-8s %s (cell %d%s): %s\n", r->state == ST_DIVERGED ? "diverged" : "failed",
                   L->sc[i].run_id, i, r->ran ? "" : ", already done", r->note);
    }
    return div + failed ? 1 : 0;
}

static int sweep_local(const cl_cli_sweep_opts *o, const cl_sweep_cell *sc, int n, int threads,
                       uint64_t grid)
{
    local L = {.o = o, .sc = sc, .n = n, .threads = threads};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    L.jobs = o->jobs ? o->jobs : (int)(cpus / threads > 1 ? cpus / threads : 1);
    snprintf(L.grid, sizeof L.grid, "%016llx", (unsigned long long)grid);
    snprintf(L.logs, sizeof L.logs, "%s/sweep-logs", o->out);
    L.cr = calloc((size_t)(n > 0 ? n : 1), sizeof *L.cr);
    if (!L.cr) {
        fprintf(stderr, "clbench sweep: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char status[32], reason[300];
        cell_run *r = &L.cr[i];
        if (o->force || !sc[i].done) {
            r->state = ST_PENDING;
            L.pending++;
        } else if (read_status(o, &sc[i], status, sizeof status, reason, sizeof reason) != 0) {
            r->state = ST_FAILED, L.failed++;
            snprintf(r->note, sizeof r->note, "%s", reason);
        } else if (strcmp(status, "ok") != 0) {
            r->state = ST_DIVERGED, L.diverged++;
            snprintf(r->note, sizeof r->note, "%s", reason[0] ? reason : status);
        } else {
            r->state = ST_OK;
        }
    }
    L.to_run = L.pending;
    int code = 0;
    if (L.pending > 0) {
        ssize_t k = readlink("/proc/self/exe", L.exe, sizeof L.exe - 1);
        L.envp = worker_env(threads);
        if (k <= 0 || (size_t)k >= sizeof L.exe - 1) {
            fprintf(stderr, "clbench sweep: cannot find this program's path: %s\n", strerror(errno));
            code = 1;
        } else if (!L.envp) {
            fprintf(stderr, "clbench sweep: out of memory\n");
            code = 1;
        } else if (cl_fs_mkdirs(L.logs) != 0) {
            fprintf(stderr, "clbench sweep: %s\n", cl_error_last());
            code = 1;
        } else {
            L.exe[k] = '\0';
            schedule(&L);
        }
    }
    if (!code) code = summary(&L);
    if (L.envp) {
        for (int i = 0; L.envp[i]; i++)
            if (!strncmp(L.envp[i], "OPENBLAS_NUM_THREADS=", 21)) free(L.envp[i]);
        free(L.envp);
    }
    free(L.cr);
    return code;
}

/* ---- entry ----------------------------------------------------------------------------- */

int cl_cli_sweep(int argc, char **argv)
{
    cl_cli_sweep_opts o = {0};
    int rc = parse_args(&o, argc, argv);
    if (rc) return rc == 1 ? 0 : rc; /* 1: --help printed */
    cl_experiment *e;
    rc = cl_experiment_load(&e, o.file);
    if (rc) {
        fprintf(stderr, "%s\n", cl_error_last()); /* starts with the file and position */
        return cl_error_exit_code(rc);
    }
    int n = cl_experiment_count(e);
    cl_config **cells = cl_experiment_cells(e);
    /* Threads are part of a run's identity (its config hash). */
    int threads = o.threads ? o.threads : n > 0 ? cells[0]->threads : 1;
    if (o.slurm) threads = o.cpus ? o.cpus : threads;
    for (int i = 0; i < n; i++) cells[i]->threads = threads;
    int code = 0;
    cl_sweep_cell *sc = NULL;
    if (o.cell >= 0) {
        code = run_cell(&o, cells, n);
    } else if ((rc = cl_sweep_cells_new(&sc, cells, n, o.out)) != 0) {
        fprintf(stderr, "clbench sweep: %s\n", cl_error_last());
        code = cl_error_exit_code(rc);
    } else if (o.dry_run) {
        /* One line per cell: what a sweep would do with it. */
        for (int i = 0; i < n; i++)
            printf("%s %d %s\n", o.force || !sc[i].done ? "run" : "skip", i, sc[i].run_id);
    } else if (o.slurm) {
        code = cl_cli_sweep_slurm(&o, sc, n, threads, cl_sweep_grid_hash(cells, n));
    } else {
        code = sweep_local(&o, sc, n, threads, cl_sweep_grid_hash(cells, n));
    }
    cl_sweep_cells_free(sc);
    cl_experiment_free(e);
    return code;
}
