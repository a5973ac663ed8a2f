/* The packed row store (rowpack.h) and the episodic memory on top of it:
 * every value reads back bit for bit in either mode, the 257th distinct
 * value converts every stored row, checkpoints keep the mode, and a memory
 * of 8-bit inputs behaves identically packed and unpacked. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>
#include "clbench/store/ckpt.h"
#include "clbench/base/error.h"
#include "clbench/nn/kvmem.h"
#include "clbench/store/rowpack.h"

TestSuite(rowpack, .timeout = 60);

#define D 50

static uint32_t bits(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Row r of an 8-bit image set: values b / 255 for b = (r * 7 + j * 13) % 256. */
static void byte_row(int r, float *x)
{
    for (int j = 0; j < D; j++) x[j] = (float)((r * 7 + j * 13) % 256) / 255.0f;
}

static void assert_row(const cl_rowpack *p, int r, const float *want)
{
    float got[D];
    cl_rowpack_get(p, r, 1, got);
    for (int j = 0; j < D; j++)
        cr_assert_eq(bits(got[j]), bits(want[j]), "row %d value %d: %08x, want %08x", r, j,
                     bits(got[j]), bits(want[j]));
    cr_assert(cl_rowpack_equal(p, r, want), "row %d", r);
}

static cl_rowpack store(int pack, int rows)
{
    cl_rowpack p;
    cl_rowpack_init(&p, D, pack);
    cr_assert_eq(cl_rowpack_resize(&p, rows), 0);
    return p;
}

/* Rows [0, n) hold byte_row(0) .. byte_row(n - 1). */
static void assert_byte_rows(const cl_rowpack *p, int n)
{
    float x[D];
    for (int r = 0; r < n; r++) {
        byte_row(r, x);
        assert_row(p, r, x);
    }
}

Test(rowpack, byte_images_pack_to_a_byte_per_value_and_read_back_exactly)
{
    cl_rowpack p = store(1, 40);
    float x[D];
    for (int r = 0; r < 40; r++) {
        byte_row(r, x);
        cr_assert_eq(cl_rowpack_put(&p, r, x, r + 1), 0);
    }
    cr_assert(p.packed);
    cr_assert_eq(p.n_pal, 256, "40 rows of 50 values use every byte");
    cr_assert_eq(cl_rowpack_bytes(&p, 40), (size_t)40 * D + 256 * sizeof(float));
    assert_byte_rows(&p, 40);
    /* Overwriting a row in place and growing keep the others. */
    byte_row(99, x);
    cr_assert_eq(cl_rowpack_put(&p, 5, x, 40), 0);
    cr_assert_eq(cl_rowpack_resize(&p, 80), 0);
    assert_row(&p, 5, x);
    byte_row(6, x);
    assert_row(&p, 6, x);
    cl_rowpack_release(&p);
}

Test(rowpack, a_257th_value_converts_every_stored_row_to_floats)
{
    cl_rowpack p = store(1, 40);
    float x[D];
    int n = 0;
    for (; p.n_pal < 256; n++) {
        cr_assert(n < 39);
        byte_row(n, x);
        cr_assert_eq(cl_rowpack_put(&p, n, x, n + 1), 0);
    }
    /* Half of the row is in the palette, the middle value is new. */
    byte_row(n, x);
    x[D / 2] = 0.5f;
    cr_assert_eq(cl_rowpack_put(&p, n, x, n + 1), 0);
    cr_assert_not(p.packed);
    cr_assert_eq(cl_rowpack_bytes(&p, n + 1), (size_t)(n + 1) * D * sizeof(float));
    assert_row(&p, n, x);
    assert_byte_rows(&p, n);
    cl_rowpack_release(&p);
}

Test(rowpack, values_compare_as_bit_patterns)
{
    cl_rowpack p = store(1, 2);
    float a[D] = {0}, b[D] = {0};
    a[3] = -0.0f;
    a[4] = NAN;
    cr_assert_eq(cl_rowpack_put(&p, 0, a, 1), 0);
    cr_assert(p.packed && p.n_pal == 3, "0, -0 and NaN are three values (%d)", p.n_pal);
    assert_row(&p, 0, a);
    b[4] = NAN;
    cr_assert_not(cl_rowpack_equal(&p, 0, b), "0.0 is not -0.0");
    cl_rowpack_release(&p);
}

Test(rowpack, pack_off_holds_floats_from_the_start)
{
    cl_rowpack p = store(0, 3);
    float x[D];
    byte_row(1, x);
    cr_assert_eq(cl_rowpack_put(&p, 0, x, 1), 0);
    cr_assert_not(p.packed);
    cr_assert_eq(cl_rowpack_bytes(&p, 1), (size_t)D * sizeof(float));
    assert_row(&p, 0, x);
    cl_rowpack_release(&p);
}

/* Saves n rows of p, loads them into a fresh store made with `pack`. */
static int round_trip(const cl_rowpack *p, int n, int pack, cl_rowpack *q)
{
    cl_ckpt_writer *w;
    cr_assert_eq(cl_ckpt_writer_new(&w), 0);
    cl_ckpt_section(w, "ROWS");
    cl_rowpack_save(p, n, w);
    const void *data;
    size_t len;
    cr_assert_eq(cl_ckpt_writer_finish(w, &data, &len), 0);
    cl_ckpt_reader *r;
    cr_assert_eq(cl_ckpt_reader_new(&r, data, len, "c.bin"), 0, "%s", cl_error_last());
    cl_rowpack_init(q, D, pack);
    cr_assert_eq(cl_rowpack_resize(q, n), 0);
    cr_assert_eq(cl_ckpt_open(r, "ROWS"), 0);
    int rc = cl_rowpack_load(q, n, r);
    if (rc == 0) rc = cl_ckpt_close(r);
    cl_ckpt_reader_free(r);
    cl_ckpt_writer_free(w);
    return rc;
}

Test(rowpack, checkpoints_keep_the_rows_and_the_mode)
{
    cl_rowpack p = store(1, 8), q;
    float x[D];
    for (int r = 0; r < 8; r++) {
        byte_row(r, x);
        cr_assert_eq(cl_rowpack_put(&p, r, x, r + 1), 0);
    }
    cr_assert_eq(round_trip(&p, 8, 1, &q), 0, "%s", cl_error_last());
    cr_assert(q.packed);
    assert_byte_rows(&q, 8);
    cl_rowpack_release(&q);

    /* Unpacked by a row since overwritten: the rows left would fit a
     * palette, yet the loaded store stays unpacked, as the saved one is. */
    x[0] = 0.25f;
    cr_assert_eq(cl_rowpack_put(&p, 7, x, 8), 0);
    cr_assert_not(p.packed);
    byte_row(7, x);
    cr_assert_eq(cl_rowpack_put(&p, 7, x, 8), 0);
    cr_assert_eq(round_trip(&p, 8, 1, &q), 0, "%s", cl_error_last());
    cr_assert_not(q.packed);
    cr_assert_eq(cl_rowpack_bytes(&q, 8), cl_rowpack_bytes(&p, 8));
    assert_byte_rows(&q, 8);
    cl_rowpack_release(&q);
    cl_rowpack_release(&p);
}

Test(rowpack, a_code_past_the_palette_is_a_data_error)
{
    cl_rowpack p = store(1, 1), q;
    float x[D] = {0};
    x[1] = 1.0f;
    cr_assert_eq(cl_rowpack_put(&p, 0, x, 1), 0);
    p.code[7] = 9; /* a 2-value palette */
    cr_assert_eq(round_trip(&p, 1, 1, &q), CL_EDATA);
    cr_assert(strstr(cl_error_last(), "c.bin") && strstr(cl_error_last(), "code 9"), "%s",
              cl_error_last());
    cl_rowpack_release(&q);
    cl_rowpack_release(&p);
}

/* Two memories fed the same 8-bit stream from equal generators, one packed:
 * the same samples drawn, the same neighbours at the same distances, and a
 * quarter of the input bytes. */
Test(rowpack, episodic_memory_is_the_same_packed_or_not)
{
    gsl_rng *g[2] = {gsl_rng_alloc(gsl_rng_mt19937), gsl_rng_alloc(gsl_rng_mt19937)};
    cl_kvmem m[2];
    double flops = 0.0;
    for (int k = 0; k < 2; k++) {
        gsl_rng_set(g[k], 11);
        cr_assert_eq(cl_kvmem_init(&m[k], 300, D, 16, 1.0f, 1, k == 0, g[k]), 0);
    }
    float x[D];
    for (int r = 0; r < 1000; r++) {
        byte_row(r % 700, x); /* repeats exercise dedupe */
        for (int k = 0; k < 2; k++)
            cr_assert_eq(cl_kvmem_write(&m[k], x, r % 10, r / 100, g[k], &flops), 0);
    }
    cr_assert(m[0].x.packed && !m[1].x.packed);
    cr_assert_eq(m[0].n, m[1].n);
    float xs[2][20 * D];
    int ys[2][20], ts[2][20];
    for (int k = 0; k < 2; k++) cr_assert_eq(cl_kvmem_sample(&m[k], 20, g[k], xs[k], ys[k], ts[k]), 20);
    cr_assert(memcmp(xs[0], xs[1], sizeof xs[0]) == 0 && memcmp(ys[0], ys[1], sizeof ys[0]) == 0);
    float q[5 * D], dist[2][5 * 8];
    int nbr[2][5 * 8];
    for (int i = 0; i < 5; i++) byte_row(3 * i + 1, q + i * D);
    for (int k = 0; k < 2; k++)
        cr_assert_eq(cl_kvmem_search(&m[k], q, 5, NULL, 8, nbr[k], dist[k], &flops), 8);
    cr_assert(memcmp(nbr[0], nbr[1], sizeof nbr[0]) == 0);
    cr_assert(memcmp(dist[0], dist[1], sizeof dist[0]) == 0);
    size_t n = (size_t)m[0].n;
    cr_assert_eq(cl_kvmem_bytes(&m[1]) - cl_kvmem_bytes(&m[0]), n * D * 3 - 256 * sizeof(float));
    for (int k = 0; k < 2; k++) {
        cl_kvmem_release(&m[k]);
        gsl_rng_free(g[k]);
    }
}

/* A packed memory saved and loaded into a fresh one (same seed: the same
 * projection) holds the same samples, bytes and dedupe index. */
Test(rowpack, episodic_memory_checkpoint_keeps_it_packed)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    cl_kvmem m, l;
    double flops = 0.0;
    cr_assert_eq(cl_kvmem_init(&m, 64, D, 16, 1.0f, 1, 1, g), 0);
    float x[D];
    for (int r = 0; r < 100; r++) {
        byte_row(r, x);
        cr_assert_eq(cl_kvmem_write(&m, x, r % 10, 0, g, &flops), 0);
    }
    cl_ckpt_writer *w;
    cr_assert_eq(cl_ckpt_writer_new(&w), 0);
    cl_ckpt_section(w, "KVME");
    cl_kvmem_save(&m, w);
    const void *data;
    size_t len;
    cr_assert_eq(cl_ckpt_writer_finish(w, &data, &len), 0);
    cl_ckpt_reader *r;
    cr_assert_eq(cl_ckpt_reader_new(&r, data, len, "c.bin"), 0, "%s", cl_error_last());
    cr_assert_eq(cl_kvmem_init(&l, 64, D, 16, 1.0f, 1, 1, g), 0);
    cr_assert_eq(cl_ckpt_open(r, "KVME"), 0);
    cr_assert_eq(cl_kvmem_load(&l, r), 0, "%s", cl_error_last());
    cr_assert_eq(cl_ckpt_close(r), 0, "%s", cl_error_last());
    cr_assert(l.x.packed);
    cr_assert_eq(l.n, m.n);
    cr_assert_eq(cl_kvmem_bytes(&l), cl_kvmem_bytes(&m));
    for (int s = 0; s < m.n; s++) {
        float a[D];
        cl_rowpack_get(&m.x, s, 1, a);
        cr_assert(cl_rowpack_equal(&l.x, s, a), "slot %d", s);
    }
    /* A repeat of a stored input relabels it instead of adding a sample. */
    cl_rowpack_get(&m.x, 3, 1, x);
    cr_assert_eq(cl_kvmem_write(&l, x, 7, 1, g, &flops), 0);
    cr_assert_eq(l.n, m.n);
    cr_assert_eq(l.y[3], 7);
    cl_ckpt_reader_free(r);
    cl_ckpt_writer_free(w);
    cl_kvmem_release(&l);
    cl_kvmem_release(&m);
    gsl_rng_free(g);
}
