/* Streaming checkpoint writers (ckpt.h sinks): the bytes are those of the
 * format as it was (frozen checksum), they reach the sink as they are put
 * instead of piling up in the writer, a failing sink stops the writer with
 * its message, and a file written through cl_ckpt_fd_sink under
 * cl_fs_write_atomic_with appears whole or not at all. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clbench/store/ckpt.h"
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "support.h"

static char tmp[256];

static void make_tmp(void) { cl_test_tmpdir_new(tmp, sizeof tmp, "ckpt-stream"); }
static void remove_tmp(void) { cl_test_tmpdir_remove(tmp); }

TestSuite(ckpt_stream, .init = make_tmp, .fini = remove_tmp, .timeout = 60);

#define N_BIG 300000 /* floats: 1.2 MB, far past the writer's 64 KiB stage */

/* What the sink saw: the bytes (in mem) and how far the writer had got. */
typedef struct probe {
    cl_ckpt_mem mem;
    uint64_t end;    /* one past the highest byte received */
    int calls;
    int fail_at;     /* call number that fails (0: none) */
    int after_fail;  /* calls after the failing one */
} probe;

static int probe_sink(void *user, uint64_t at, const void *p, size_t n)
{
    probe *s = user;
    s->calls++;
    if (s->fail_at && s->calls > s->fail_at) s->after_fail++;
    if (s->calls == s->fail_at) return cl_error_set(CL_EIO, "probe: disk full");
    if (at + n > s->end) s->end = at + n;
    return cl_ckpt_mem_sink(&s->mem, at, p, n);
}

/* Bytes put so far, counted independently of the writer. */
static size_t put_bytes;

/* The checkpoint the writer built in memory before it streamed (its
 * checksum is frozen below): sections of small values, arrays larger than
 * the stage, many small puts, longs, an empty section. After every put,
 * check(w) may look at what reached the sink. */
static void fill(cl_ckpt_writer *w, void (*check)(void))
{
    static float x[N_BIG];
    static long l[1000];
    for (size_t i = 0; i < N_BIG; i++) x[i] = (float)i * 0.37f;
    for (int i = 0; i < 1000; i++) l[i] = (long)i * -77777777L;
    put_bytes = CL_CKPT_HEADER_BYTES;
    cl_ckpt_section(w, "AAAA");
    cl_ckpt_put_i64(w, -5);
    cl_ckpt_put_str(w, "hello");
    cl_ckpt_put_f32s(w, x, 10);
    put_bytes += 16 + 9 + 9 + 5 + 9 + 40;
    cl_ckpt_section(w, "BIG!");
    cl_ckpt_put_f32s(w, x, N_BIG);
    put_bytes += 16 + 9 + 4 * (size_t)N_BIG;
    if (check) check();
    cl_ckpt_put_longs(w, l, 1000);
    cl_ckpt_put_f64(w, 3.5);
    put_bytes += 9 + 8000 + 9;
    cl_ckpt_section(w, "SMAL");
    put_bytes += 16;
    for (int i = 0; i < 20000; i++) {
        cl_ckpt_put_u64(w, (uint64_t)i * 31);
        put_bytes += 9;
        if (check && i % 997 == 0) check();
    }
    cl_ckpt_section(w, "EMPT");
    put_bytes += 16;
}

static uint64_t fnv(const unsigned char *b, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

Test(ckpt_stream, same_bytes_as_before_in_memory_and_through_a_sink)
{
    cl_ckpt_writer *w;
    const void *data;
    size_t len;
    cr_assert_eq(cl_ckpt_writer_new(&w), 0);
    fill(w, NULL);
    cr_assert_eq(cl_ckpt_writer_finish(w, &data, &len), 0, "%s", cl_error_last());
    /* Computed from the writer that built the whole file in memory (format
     * version 2 in the header). */
    cr_assert_eq(len, 1388195);
    cr_assert_eq(fnv(data, len), 0xb0973b681de9955aULL, "checksum %016llx",
                 (unsigned long long)fnv(data, len));

    probe s = {0};
    cl_ckpt_writer *ws;
    cr_assert_eq(cl_ckpt_writer_to(&ws, probe_sink, &s), 0);
    fill(ws, NULL);
    const void *none = (const void *)1;
    size_t slen = 0;
    cr_assert_eq(cl_ckpt_writer_finish(ws, &none, &slen), 0, "%s", cl_error_last());
    cr_assert_null(none, "a sink writer has no bytes of its own");
    cr_assert_eq(slen, len);
    cr_assert_eq(s.mem.len, len);
    cr_assert(memcmp(s.mem.data, data, len) == 0, "streamed bytes differ");

    cl_ckpt_reader *r;
    cr_assert_eq(cl_ckpt_reader_new(&r, s.mem.data, s.mem.len, "x"), 0, "%s", cl_error_last());
    float *x = malloc(N_BIG * sizeof *x);
    cr_assert_eq(cl_ckpt_open(r, "BIG!"), 0);
    cr_assert_eq(cl_ckpt_get_f32s(r, x, N_BIG), 0);
    cr_assert(x[N_BIG - 1] == (float)(N_BIG - 1) * 0.37f);
    free(x);
    cl_ckpt_reader_free(r);
    cl_ckpt_writer_free(ws);
    cl_ckpt_writer_free(w);
    free(s.mem.data);
}

static probe live;

/* Everything put, but for at most the 64 KiB stage, has reached the sink. */
static void check_streamed(void)
{
    cr_assert(put_bytes - live.end <= 65536, "%zu bytes put, only %llu reached the sink",
              put_bytes, (unsigned long long)live.end);
}

Test(ckpt_stream, bytes_reach_the_sink_as_they_are_put)
{
    cl_ckpt_writer *w;
    memset(&live, 0, sizeof live);
    cr_assert_eq(cl_ckpt_writer_to(&w, probe_sink, &live), 0);
    fill(w, check_streamed);
    size_t len;
    cr_assert_eq(cl_ckpt_writer_finish(w, NULL, &len), 0, "%s", cl_error_last());
    cr_assert_eq(len, put_bytes);
    cr_assert_eq(live.end, put_bytes);
    cl_ckpt_reader *r;
    cr_assert_eq(cl_ckpt_reader_new(&r, live.mem.data, live.mem.len, "x"), 0, "%s", cl_error_last());
    cl_ckpt_reader_free(r);
    cl_ckpt_writer_free(w);
    free(live.mem.data);
}

Test(ckpt_stream, a_failing_sink_stops_the_writer_with_its_message)
{
    for (int at = 1; at <= 4; at++) {
        probe s = {.fail_at = at};
        cl_ckpt_writer *w;
        cr_assert_eq(cl_ckpt_writer_to(&w, probe_sink, &s), 0);
        fill(w, NULL);
        cr_assert_eq(cl_ckpt_writer_finish(w, NULL, NULL), CL_EIO, "failing call %d", at);
        cr_assert_str_eq(cl_error_last(), "probe: disk full");
        cr_assert_eq(s.after_fail, 0, "failing call %d: %d calls after it", at, s.after_fail);
        cl_ckpt_writer_free(w);
        free(s.mem.data);
    }
}

typedef struct fd_job {
    int fail;
} fd_job;

static int write_sample(void *ctx, int fd, const char *tmp_name)
{
    const fd_job *j = ctx;
    cl_ckpt_fd f = {fd, tmp_name};
    cl_ckpt_writer *w;
    int rc = cl_ckpt_writer_to(&w, cl_ckpt_fd_sink, &f);
    if (rc) return rc;
    fill(w, NULL);
    rc = cl_ckpt_writer_finish(w, NULL, NULL);
    cl_ckpt_writer_free(w);
    return rc ? rc : j->fail ? cl_error_set(CL_EIO, "stopped on purpose") : 0;
}

Test(ckpt_stream, a_file_appears_whole_or_not_at_all)
{
    char path[512];
    snprintf(path, sizeof path, "%s/checkpoint.bin", tmp);
    fd_job ok = {0}, bad = {1};
    cr_assert_eq(cl_fs_write_atomic_with(path, write_sample, &ok), 0, "%s", cl_error_last());
    size_t len;
    char *b = cl_test_read(path, &len);
    cr_assert_not_null(b);
    cr_assert_eq(len, 1388195);
    cr_assert_eq(fnv((unsigned char *)b, len), 0xb0973b681de9955aULL);
    free(b);

    /* A failure keeps the previous file and leaves no temporary. */
    cl_test_spit(path, "previous");
    cr_assert_eq(cl_fs_write_atomic_with(path, write_sample, &bad), CL_EIO);
    cr_assert_str_eq(cl_error_last(), "stopped on purpose");
    b = cl_test_read(path, &len);
    cr_assert_str_eq(b, "previous");
    free(b);
    cr_assert_eq(cl_test_dir_count(tmp), 1, "a temporary was left behind");

    /* A write error names the file. */
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0);
    cl_ckpt_fd f = {fd, "ro.bin"};
    cr_assert_eq(cl_ckpt_fd_sink(&f, 0, "x", 1), CL_EIO);
    cr_assert(strncmp(cl_error_last(), "ro.bin: write failed: ", 22) == 0, "%s", cl_error_last());
    close(fd);
}
