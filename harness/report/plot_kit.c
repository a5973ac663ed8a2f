/* The plot kit: what every figure kind needs (formats, the palette, the
 * script preamble, quoting, running gnuplot and emitting a figure
 * atomically). It knows no figure kind; the kinds (plot_*.c) use it and
 * the driver (plot.c) lists them. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/report/plot_kit.h"

static const char *const format_ext[] = {"pdf", "png", "svg"};

int cl_plot_format_parse(cl_plot_format *out, const char *name)
{
    for (int f = 0; f < 3; f++)
        if (!strcmp(name, format_ext[f])) {
            *out = (cl_plot_format)f;
            return 0;
        }
    return cl_error_set(CL_EINVAL, "--format: '%s' is not one of pdf, png, svg", name);
}

const char *cl_plot_format_ext(cl_plot_format f) { return format_ext[f]; }

/* Okabe & Ito 2008, reordered so the first colours are the darkest (thin
 * lines on white) and yellow, weak on white, comes last. */
static const char *const okabe_ito[CL_PLOT_N_COLOURS] = {
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"};

const char *cl_plot_colour(int k)
{
    return okabe_ito[((k % CL_PLOT_N_COLOURS) + CL_PLOT_N_COLOURS) % CL_PLOT_N_COLOURS];
}

void cl_plot_str(cl_strbuf *b, const char *s)
{
    cl_strbuf_puts(b, "'");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\'') cl_strbuf_puts(b, "''");
        else if (*p < 0x20 || *p == 0x7f) cl_strbuf_puts(b, " ");
        else cl_strbuf_printf(b, "%c", *p);
    }
    cl_strbuf_puts(b, "'");
}

void cl_plot_short(char *buf, size_t size, const char *label, size_t max)
{
    size_t len = strlen(label);
    if (max >= size) max = size - 1;
    if (len <= max) {
        snprintf(buf, size, "%s", label);
        return;
    }
    size_t keep = max > 3 ? max - 3 : 0;
    while (keep && ((unsigned char)label[keep] & 0xC0) == 0x80) keep--;
    snprintf(buf, size, "%.*s...", (int)keep, label);
}

void cl_plot_num(cl_strbuf *b, double v)
{
    if (isfinite(v)) cl_strbuf_printf(b, "%.6g", v == 0 ? 0.0 : v); /* no "-0" */
    else cl_strbuf_puts(b, "NaN");
}

int cl_plot_run_ok(const cl_run_doc *r) { return r->status && !strcmp(r->status, "ok"); }

/* One look in every format: 8 pt Helvetica, lw 1 = 0.5 pt. The cairo
 * terminals size fonts for 96 dpi, so pdfcairo needs fontscale 0.75 for
 * true points, and pngcairo at 300 dpi fontscale 300/96, twice its lines
 * and 3.9 times its points; the svg is laid out at 96 px per inch (fonts
 * and lines scaled by 96/72 and 2/3). Measured against a 300 dpi rendering
 * of the pdf (gnuplot 5.4). */
void cl_plot_preamble(cl_strbuf *gp, const cl_plot_group *g, const char *stem,
                      const char *what, double w_in, double h_in)
{
    cl_strbuf_printf(gp, "# clbench plot: %s\n", what);
    cl_strbuf_printf(gp, "# Redraw from this folder:  gnuplot %s.gp\n", stem);
    cl_strbuf_printf(gp, "# In another format:        gnuplot -e \"fmt='png'\" %s.gp"
                         "   (pdf, png or svg)\n", stem);
    cl_strbuf_printf(gp, "if (!exists(\"fmt\")) fmt = '%s'\n", cl_plot_format_ext(g->o->format));
    cl_strbuf_printf(gp, "if (!exists(\"outfile\")) outfile = '%s.'.fmt\n", stem);
    cl_strbuf_printf(gp, "if (fmt eq 'pdf') { set terminal pdfcairo size %.2fin,%.2fin "
                         "font 'Helvetica,8' fontscale 0.75 noenhanced }\n", w_in, h_in);
    cl_strbuf_printf(gp, "if (fmt eq 'png') { set terminal pngcairo size %d,%d "
                         "font 'Helvetica,8' fontscale 3.125 linewidth 2 pointscale 3.9 "
                         "noenhanced }\n",
                     (int)lround(w_in * 300), (int)lround(h_in * 300));
    cl_strbuf_printf(gp, "if (fmt eq 'svg') { set terminal svg size %d,%d "
                         "font 'Helvetica,8' fontscale 1.333 linewidth 0.667 noenhanced "
                         "background '#ffffff' }\n",
                     (int)lround(w_in * 96), (int)lround(h_in * 96));
    cl_strbuf_puts(gp, "if (fmt ne 'pdf' && fmt ne 'png' && fmt ne 'svg') "
                       "{ exit error \"fmt must be pdf, png or svg\" }\n");
    cl_strbuf_puts(gp, "set output outfile\nset encoding utf8\n");
    cl_strbuf_puts(gp, "# Okabe-Ito palette (colour-blind safe)\n");
    for (int k = 0; k < CL_PLOT_N_COLOURS; k++)
        cl_strbuf_printf(gp, "set linetype %d lc rgb '%s' lw 2 pt 7 ps 0.6 dt solid\n", k + 1,
                         cl_plot_colour(k));
    cl_strbuf_printf(gp, "set linetype cycle %d\n", CL_PLOT_N_COLOURS);
}

/* First line of gnuplot's complaint: the `"file" line N: message` line when
 * there is one (gnuplot first echoes the offending command and a caret),
 * else the first non-blank line. */
static void first_error_line(const char *err, char *out, size_t size)
{
    const char *pick = NULL, *first = NULL;
    for (const char *p = err; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *q = p;
        while (q < p + len && isspace((unsigned char)*q)) q++;
        if (q < p + len) {
            if (!first) first = q;
            if (!pick && (*q == '"' || !strncmp(q, "line ", 5)) && memchr(q, ':', len)) pick = q;
        }
        p = e ? e + 1 : p + len;
    }
    if (!pick) pick = first;
    if (!pick) {
        snprintf(out, size, "(no message)");
        return;
    }
    size_t len = strcspn(pick, "\n");
    while (len && isspace((unsigned char)pick[len - 1])) len--;
    snprintf(out, size, "%.*s", (int)(len < 400 ? len : 400), pick);
}

int cl_plot_run_gnuplot(const char *gnuplot, const char *dir, const char *script,
                        const char *outfile)
{
    char set_out[1200];
    /* outfile is one of our own names (a slug plus a suffix): no quote. */
    CL_ASSERT(!strchr(outfile, '\''));
    snprintf(set_out, sizeof set_out, "outfile='%s'", outfile);
    int pipefd[2];
    if (pipe(pipefd) != 0) return cl_error_set(CL_EIO, "cannot create a pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return cl_error_set(CL_EIO, "cannot start gnuplot: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. */
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(pipefd[1], 2) < 0)
            _exit(127);
        close(pipefd[0]);
        if (chdir(dir) != 0) {
            static const char m[] = "clbench: cannot enter the figure folder\n";
            if (write(2, m, sizeof m - 1) < 0) _exit(127);
            _exit(127);
        }
        char *const argv[] = {(char *)"gnuplot", (char *)"-e", set_out, (char *)script, NULL};
        execv(gnuplot, argv);
        static const char m[] = "clbench: cannot execute gnuplot\n";
        if (write(2, m, sizeof m - 1) < 0) _exit(127);
        _exit(127);
    }
    close(pipefd[1]);
    cl_strbuf err;
    cl_strbuf_init(&err);
    char buf[4096];
    for (;;) {
        ssize_t n = read(pipefd[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        /* Keep the start: the first error is what we report. */
        if (err.len < 65536) cl_strbuf_printf(&err, "%.*s", (int)n, buf);
    }
    close(pipefd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            cl_strbuf_release(&err);
            return cl_error_set(CL_EIO, "waiting for gnuplot: %s", strerror(errno));
        }
    int rc = 0;
    if (WIFSIGNALED(status)) {
        rc = cl_error_set(CL_EIO, "gnuplot was killed by signal %d on %s/%s", WTERMSIG(status),
                          dir, script);
    } else if (WEXITSTATUS(status) != 0) {
        char line[512];
        first_error_line(err.s ? err.s : "", line, sizeof line);
        rc = cl_error_set(CL_EIO, "gnuplot failed on %s/%s: %s", dir, script, line);
    }
    cl_strbuf_release(&err);
    return rc;
}

static int add_figure(cl_plot_result *res, const char *path)
{
    char **f = realloc(res->figures, (size_t)(res->n_figures + 1) * sizeof *f);
    if (!f) return cl_error_set(CL_ENOMEM, "out of memory");
    res->figures = f;
    if (!(f[res->n_figures] = strdup(path))) return cl_error_set(CL_ENOMEM, "out of memory");
    res->n_figures++;
    return 0;
}

static int write_buf(const char *dir, const char *stem, const char *ext, const cl_strbuf *b)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.%s", dir, stem, ext);
    if (cl_strbuf_status(b)) return cl_error_set(CL_ENOMEM, "out of memory building %s", path);
    return cl_fs_write_atomic(path, b->s ? b->s : "", b->len);
}

int cl_plot_emit(cl_plot_group *g, const char *stem, const cl_strbuf *gp, const cl_strbuf *dat)
{
    int rc;
    if ((rc = write_buf(g->dir, stem, "dat", dat)) || (rc = write_buf(g->dir, stem, "gp", gp)))
        return rc;
    const char *ext = cl_plot_format_ext(g->o->format);
    char script[300], tmp[340], tmp_path[4500], final[4500];
    snprintf(script, sizeof script, "%s.gp", stem);
    /* gnuplot writes the figure under a temporary name; a failed or killed
     * run never leaves a half-drawn figure under the real one. */
    snprintf(tmp, sizeof tmp, "%s.%s.tmp.%ld", stem, ext, (long)getpid());
    snprintf(tmp_path, sizeof tmp_path, "%s/%s", g->dir, tmp);
    snprintf(final, sizeof final, "%s/%s.%s", g->dir, stem, ext);
    rc = cl_plot_run_gnuplot(g->o->gnuplot, g->dir, script, tmp);
    struct stat st;
    if (rc == 0 && (stat(tmp_path, &st) != 0 || st.st_size == 0))
        rc = cl_error_set(CL_EIO, "gnuplot wrote no figure for %s/%s", g->dir, script);
    if (rc == 0 && rename(tmp_path, final) != 0)
        rc = cl_error_set(CL_EIO, "%s: cannot rename into place: %s", final, strerror(errno));
    if (rc) {
        unlink(tmp_path);
        return rc;
    }
    return add_figure(g->res, final);
}

void cl_plot_result_release(cl_plot_result *r)
{
    if (!r) return;
    for (int i = 0; i < r->n_figures; i++) free(r->figures[i]);
    free(r->figures);
    memset(r, 0, sizeof *r);
}
