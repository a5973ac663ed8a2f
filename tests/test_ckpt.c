/* The checkpoint container (ckpt.h): values round-trip bit for bit, and
 * every corrupt, truncated or mismatched input is a one-line CL_EDATA
 * naming the file, never a crash. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <criterion/criterion.h>
#include "clbench/store/ckpt.h"
#include "clbench/base/error.h"

TestSuite(ckpt, .timeout = 60);

#define NAME "runs/x/checkpoint.bin"

/* A checkpoint with two sections holding one value of every type. */
static unsigned char *sample(size_t *len)
{
    cl_ckpt_writer *w;
    cr_assert_eq(cl_ckpt_writer_new(&w), 0);
    float f[3] = {1.5f, -0.0f, NAN};
    double d[2] = {-INFINITY, 1e-300};
    int i32[3] = {-7, 0, 2147483647};
    long l[2] = {-5000000000L, 42};
    uint64_t u[1] = {UINT64_MAX};
    unsigned char bytes[4] = {0, 1, 254, 255};
    cl_ckpt_section(w, "AAAA");
    cl_ckpt_put_i64(w, -123456789012345LL);
    cl_ckpt_put_u64(w, 0x8000000000000001ULL);
    cl_ckpt_put_f64(w, NAN);
    cl_ckpt_put_str(w, "hello");
    cl_ckpt_put_f32s(w, f, 3);
    cl_ckpt_section(w, "BBBB");
    cl_ckpt_put_f64s(w, d, 2);
    cl_ckpt_put_i32s(w, i32, 3);
    cl_ckpt_put_longs(w, l, 2);
    cl_ckpt_put_u64s(w, u, 1);
    cl_ckpt_put_bytes(w, bytes, 4);
    cl_ckpt_put_i64(w, 7);
    cl_ckpt_put_str(w, "");
    const void *data;
    cr_assert_eq(cl_ckpt_writer_finish(w, &data, len), 0);
    unsigned char *copy = malloc(*len);
    memcpy(copy, data, *len);
    cl_ckpt_writer_free(w);
    return copy;
}

static cl_ckpt_reader *open_ok(const unsigned char *data, size_t len)
{
    cl_ckpt_reader *r;
    cr_assert_eq(cl_ckpt_reader_new(&r, data, len, NAME), 0, "%s", cl_error_last());
    return r;
}

/* The message is one line, starts with the file name and mentions `what`. */
static void assert_edata(int rc, const char *what)
{
    const char *m = cl_error_last();
    cr_assert_eq(rc, CL_EDATA, "rc %d: %s", rc, m);
    cr_assert(strncmp(m, NAME ": ", strlen(NAME) + 2) == 0, "message does not name the file: %s", m);
    cr_assert(strchr(m, '\n') == NULL, "message is not one line: %s", m);
    cr_assert(strstr(m, what) != NULL, "'%s' not in: %s", what, m);
}

Test(ckpt, round_trip_bit_for_bit)
{
    size_t len;
    unsigned char *data = sample(&len);
    cl_ckpt_reader *r = open_ok(data, len);
    /* Sections are found by tag, in any order. */
    cr_assert_eq(cl_ckpt_open(r, "BBBB"), 0);
    double d[2];
    int i32[3];
    long l[2];
    uint64_t u;
    unsigned char bytes[4];
    int64_t i;
    char s[8];
    cr_assert_eq(cl_ckpt_get_f64s(r, d, 2), 0);
    cr_assert(d[0] == -INFINITY && d[1] == 1e-300);
    cr_assert_eq(cl_ckpt_get_i32s(r, i32, 3), 0);
    cr_assert(i32[0] == -7 && i32[1] == 0 && i32[2] == 2147483647);
    cr_assert_eq(cl_ckpt_get_longs(r, l, 2), 0);
    cr_assert(l[0] == -5000000000L && l[1] == 42);
    cr_assert_eq(cl_ckpt_get_u64s(r, &u, 1), 0);
    cr_assert_eq(u, UINT64_MAX);
    cr_assert_eq(cl_ckpt_get_bytes(r, bytes, 4), 0);
    cr_assert(bytes[0] == 0 && bytes[2] == 254 && bytes[3] == 255);
    cr_assert_eq(cl_ckpt_get_i64(r, &i), 0);
    cr_assert_eq(i, 7);
    cr_assert_eq(cl_ckpt_get_str(r, s, sizeof s), 0);
    cr_assert_str_eq(s, "");
    cr_assert_eq(cl_ckpt_close(r), 0);

    cr_assert_eq(cl_ckpt_open(r, "AAAA"), 0);
    uint64_t uu;
    double nan_back;
    float f[3];
    cr_assert_eq(cl_ckpt_get_i64(r, &i), 0);
    cr_assert_eq(i, -123456789012345LL);
    cr_assert_eq(cl_ckpt_get_u64(r, &uu), 0);
    cr_assert_eq(uu, 0x8000000000000001ULL);
    cr_assert_eq(cl_ckpt_get_f64(r, &nan_back), 0);
    double nan_ref = NAN;
    cr_assert(memcmp(&nan_back, &nan_ref, sizeof nan_ref) == 0, "NaN bits changed");
    const char *text;
    size_t tlen;
    cr_assert_eq(cl_ckpt_get_text(r, &text, &tlen), 0);
    cr_assert(tlen == 5 && memcmp(text, "hello", 5) == 0);
    cr_assert_eq(cl_ckpt_get_f32s(r, f, 3), 0);
    float fref[3] = {1.5f, -0.0f, NAN};
    cr_assert(memcmp(f, fref, sizeof f) == 0, "float bits changed (signed zero, NaN)");
    cr_assert_eq(cl_ckpt_close(r), 0);
    cl_ckpt_reader_free(r);
    free(data);
}

Test(ckpt, header_holds_zlib_crc32_of_the_payload)
{
    size_t len;
    unsigned char *data = sample(&len);
    cr_assert(memcmp(data, "CLBCKPT\n", 8) == 0);
    uint32_t version, crc;
    uint64_t payload;
    memcpy(&version, data + 8, 4);
    memcpy(&payload, data + 16, 8);
    memcpy(&crc, data + 24, 4);
    cr_assert_eq(version, CL_CKPT_VERSION);
    cr_assert_eq(payload, len - CL_CKPT_HEADER_BYTES);
    uLong want = crc32(crc32(0L, Z_NULL, 0), data + CL_CKPT_HEADER_BYTES,
                       (uInt)(len - CL_CKPT_HEADER_BYTES));
    cr_assert_eq(crc, (uint32_t)want);
    free(data);
}

Test(ckpt, every_truncation_is_an_error)
{
    size_t len;
    unsigned char *data = sample(&len);
    for (size_t n = 0; n < len; n++) {
        unsigned char *cut = malloc(n + 1); /* exact size, so ASan sees overreads */
        memcpy(cut, data, n);
        cl_ckpt_reader *r = NULL;
        int rc = cl_ckpt_reader_new(&r, cut, n, NAME);
        cr_assert_eq(rc, CL_EDATA, "a %zu-byte prefix of %zu was accepted", n, len);
        cr_assert_null(r);
        assert_edata(rc, n < CL_CKPT_HEADER_BYTES ? "too short" : "truncated");
        free(cut);
    }
    free(data);
}

Test(ckpt, every_flipped_payload_byte_fails_the_checksum)
{
    size_t len;
    unsigned char *data = sample(&len);
    for (size_t i = CL_CKPT_HEADER_BYTES; i < len; i++) {
        data[i] ^= 0x10;
        cl_ckpt_reader *r = NULL;
        assert_edata(cl_ckpt_reader_new(&r, data, len, NAME), "checksum mismatch");
        data[i] ^= 0x10;
    }
    free(data);
}

Test(ckpt, header_errors_say_what_is_wrong)
{
    size_t len;
    unsigned char *data = sample(&len);
    cl_ckpt_reader *r;
    data[0] = 'X';
    assert_edata(cl_ckpt_reader_new(&r, data, len, NAME), "not a clbench checkpoint");
    data[0] = 'C';
    uint32_t v = CL_CKPT_VERSION + 1;
    memcpy(data + 8, &v, 4);
    assert_edata(cl_ckpt_reader_new(&r, data, len, NAME), "format version");
    v = CL_CKPT_VERSION;
    memcpy(data + 8, &v, 4);
    uint32_t swapped = 0x04030201u;
    memcpy(data + 12, &swapped, 4);
    assert_edata(cl_ckpt_reader_new(&r, data, len, NAME), "byte order");
    free(data);
    const char junk[] = "this is not a checkpoint but it is long enough";
    assert_edata(cl_ckpt_reader_new(&r, junk, sizeof junk, NAME), "bad magic");
}

/* Sections must tile the payload even when the checksum matches (a file
 * written by a broken writer). */
Test(ckpt, a_section_running_past_the_end_is_an_error)
{
    size_t len;
    unsigned char *data = sample(&len);
    uint64_t huge = UINT64_MAX / 2;
    memcpy(data + CL_CKPT_HEADER_BYTES + 8, &huge, 8);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data + CL_CKPT_HEADER_BYTES,
                                   (uInt)(len - CL_CKPT_HEADER_BYTES));
    memcpy(data + 24, &crc, 4);
    cl_ckpt_reader *r;
    assert_edata(cl_ckpt_reader_new(&r, data, len, NAME), "runs past the end");
    free(data);
}

Test(ckpt, mismatched_reads_are_errors_and_the_first_message_stays)
{
    size_t len;
    unsigned char *data = sample(&len);
    cl_ckpt_reader *r = open_ok(data, len);
    assert_edata(cl_ckpt_open(r, "CCCC"), "no 'CCCC' section");
    cl_ckpt_reader_free(r);

    r = open_ok(data, len);
    cr_assert_eq(cl_ckpt_open(r, "BBBB"), 0);
    int wrong[2];
    /* A double array read as ints: the type is checked before anything. */
    assert_edata(cl_ckpt_get_i32s(r, wrong, 2), "expected an int array, found a double array");
    /* Sticky: later reads fail and keep the first message. */
    double d[2];
    cr_assert_eq(cl_ckpt_get_f64s(r, d, 2), CL_EDATA);
    cr_assert(strstr(cl_error_last(), "expected an int array") != NULL);
    cl_ckpt_reader_free(r);

    r = open_ok(data, len);
    cr_assert_eq(cl_ckpt_open(r, "BBBB"), 0);
    double three[3];
    assert_edata(cl_ckpt_get_f64s(r, three, 3), "of 3 elements, found 2");
    cl_ckpt_reader_free(r);

    r = open_ok(data, len);
    cr_assert_eq(cl_ckpt_open(r, "AAAA"), 0);
    int x;
    assert_edata(cl_ckpt_get_int(r, "the answer", &x, 0, 10), "the answer is -123456789012345");
    cl_ckpt_reader_free(r);

    r = open_ok(data, len);
    cr_assert_eq(cl_ckpt_open(r, "AAAA"), 0);
    int64_t i;
    uint64_t u;
    double f;
    char small[4];
    cr_assert_eq(cl_ckpt_get_i64(r, &i), 0);
    cr_assert_eq(cl_ckpt_get_u64(r, &u), 0);
    cr_assert_eq(cl_ckpt_get_f64(r, &f), 0);
    assert_edata(cl_ckpt_get_str(r, small, sizeof small), "too long");
    cl_ckpt_reader_free(r);

    /* Closing with values left over: a reader out of step with the writer. */
    r = open_ok(data, len);
    cr_assert_eq(cl_ckpt_open(r, "AAAA"), 0);
    cr_assert_eq(cl_ckpt_get_i64(r, &i), 0);
    assert_edata(cl_ckpt_close(r), "left unread");
    cl_ckpt_reader_free(r);

    /* Reading past a section's last value. */
    r = open_ok(data, len);
    cr_assert_eq(cl_ckpt_open(r, "BBBB"), 0);
    long l[2];
    unsigned char b[4];
    char s[4];
    cr_assert_eq(cl_ckpt_get_f64s(r, d, 2), 0);
    cr_assert_eq(cl_ckpt_get_i32s(r, (int[3]){0}, 3), 0);
    cr_assert_eq(cl_ckpt_get_longs(r, l, 2), 0);
    cr_assert_eq(cl_ckpt_get_u64s(r, &u, 1), 0);
    cr_assert_eq(cl_ckpt_get_bytes(r, b, 4), 0);
    cr_assert_eq(cl_ckpt_get_i64(r, &i), 0);
    cr_assert_eq(cl_ckpt_get_str(r, s, sizeof s), 0);
    assert_edata(cl_ckpt_get_i64(r, &i), "truncated: expected an integer");
    cl_ckpt_reader_free(r);
    free(data);
}

Test(ckpt, empty_checkpoint_and_large_arrays)
{
    cl_ckpt_writer *w;
    const void *data;
    size_t len;
    cr_assert_eq(cl_ckpt_writer_new(&w), 0);
    cr_assert_eq(cl_ckpt_writer_finish(w, &data, &len), 0);
    cr_assert_eq(len, CL_CKPT_HEADER_BYTES);
    cl_ckpt_reader *r = open_ok(data, len);
    assert_edata(cl_ckpt_open(r, "AAAA"), "no 'AAAA' section");
    cl_ckpt_reader_free(r);
    cl_ckpt_writer_free(w);

    /* Past the writer's first block: growth keeps earlier bytes. */
    size_t n = 300000;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) x[i] = (float)i * 0.5f;
    cr_assert_eq(cl_ckpt_writer_new(&w), 0);
    cl_ckpt_section(w, "BIG!");
    cl_ckpt_put_f32s(w, x, n);
    cl_ckpt_put_f32s(w, x, 0);
    cr_assert_eq(cl_ckpt_writer_finish(w, &data, &len), 0);
    r = open_ok(data, len);
    cr_assert_eq(cl_ckpt_open(r, "BIG!"), 0);
    cr_assert_eq(cl_ckpt_get_f32s(r, y, n), 0);
    cr_assert_eq(cl_ckpt_get_f32s(r, y, 0), 0);
    cr_assert_eq(cl_ckpt_close(r), 0);
    cr_assert(memcmp(x, y, n * sizeof *x) == 0);
    cl_ckpt_reader_free(r);
    cl_ckpt_writer_free(w);
    free(x);
    free(y);
}
