/* Lossless byte-per-value row store (see rowpack.h). */
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/store/rowpack.h"

static uint32_t bits_of(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static int slot_of(uint32_t bits) { return (int)((bits * 2654435761u) >> 23); /* 9 bits */ }

void cl_rowpack_init(cl_rowpack *p, int d, int pack)
{
    memset(p, 0, sizeof *p);
    p->d = d;
    p->packed = pack != 0;
    for (int s = 0; s < CL_ROWPACK_SLOTS; s++) p->slot_code[s] = -1;
}

void cl_rowpack_release(cl_rowpack *p)
{
    free(p->code);
    free(p->val);
    p->code = NULL;
    p->val = NULL;
    p->rows = 0;
}

int cl_rowpack_resize(cl_rowpack *p, int rows)
{
    size_t n = (size_t)rows * p->d;
    void *q = p->packed ? realloc(p->code, n ? n : 1) : realloc(p->val, (n ? n : 1) * sizeof(float));
    if (!q) return cl_error_set(CL_ENOMEM, "out of memory for %d stored rows of %d values", rows, p->d);
    if (p->packed)
        p->code = q;
    else
        p->val = q;
    p->rows = rows;
    return 0;
}

/* The code of bit pattern b, adding it to the palette when there is room;
 * -1 when the palette is full without it. */
static int code_of(cl_rowpack *p, uint32_t b)
{
    int s = slot_of(b);
    while (p->slot_code[s] >= 0) {
        if (p->slot_bits[s] == b) return p->slot_code[s];
        s = (s + 1) & (CL_ROWPACK_SLOTS - 1);
    }
    if (p->n_pal == CL_ROWPACK_PALETTE) return -1;
    int c = p->n_pal++;
    memcpy(&p->pal[c], &b, sizeof b);
    p->slot_bits[s] = b;
    p->slot_code[s] = (int16_t)c;
    return c;
}

/* Converts the `used` leading rows to floats; from now on val holds them. */
static int unpack(cl_rowpack *p, int used)
{
    size_t cells = (size_t)p->rows * p->d;
    float *val = malloc((cells > 0 ? cells : 1) * sizeof *val); /* (rows, d) */
    if (!val) return cl_error_set(CL_ENOMEM, "out of memory for %d stored rows of %d values",
                                  p->rows, p->d);
    p->val = val;
    cl_rowpack_get(p, 0, used, val);
    free(p->code);
    p->code = NULL;
    p->packed = 0;
    return 0;
}

int cl_rowpack_put(cl_rowpack *p, int row, const float *x, int used)
{
    CL_ASSERT(row >= 0 && row < used && used <= p->rows);
    size_t d = (size_t)p->d;
    if (p->packed) {
        unsigned char *dst = p->code + (size_t)row * d; /* (d) */
        /* Runs of equal values (an image's background) skip the table. */
        uint32_t last = 0;
        int last_code = -1;
        size_t j = 0;
        for (; j < d; j++) {
            uint32_t b = bits_of(x[j]);
            int c = last_code >= 0 && b == last ? last_code : code_of(p, b);
            if (c < 0) break;
            dst[j] = (unsigned char)c;
            last = b;
            last_code = c;
        }
        if (j == d) return 0;
        /* A 257th value: convert every row that holds data. Row `row` is
         * written in full below; its codes past j may never have been set
         * (a fresh row), so they are made valid first. */
        memset(dst + j, 0, d - j);
        int rc = unpack(p, used);
        if (rc) return rc;
    }
    memcpy(p->val + (size_t)row * d, x, d * sizeof *x);
    return 0;
}

void cl_rowpack_get(const cl_rowpack *p, int row, int n, float *out)
{
    size_t d = (size_t)p->d, count = (size_t)n * d;
    if (!p->packed) {
        memcpy(out, p->val + (size_t)row * d, count * sizeof *out);
        return;
    }
    const unsigned char *src = p->code + (size_t)row * d; /* (n, d) */
    for (size_t i = 0; i < count; i++) out[i] = p->pal[src[i]];
}

int cl_rowpack_equal(const cl_rowpack *p, int row, const float *x)
{
    size_t d = (size_t)p->d;
    if (!p->packed) return memcmp(p->val + row * d, x, d * sizeof *x) == 0;
    const unsigned char *src = p->code + (size_t)row * d; /* (d) */
    for (size_t j = 0; j < d; j++)
        if (bits_of(p->pal[src[j]]) != bits_of(x[j])) return 0;
    return 1;
}

size_t cl_rowpack_bytes(const cl_rowpack *p, int n)
{
    size_t cells = (size_t)n * p->d;
    return p->packed ? cells + sizeof p->pal : cells * sizeof(float);
}

/* ---- checkpoints ---------------------------------------------------------- */

void cl_rowpack_save(const cl_rowpack *p, int n, cl_ckpt_writer *w)
{
    size_t cells = (size_t)n * p->d;
    cl_ckpt_put_i64(w, p->packed);
    if (p->packed) {
        cl_ckpt_put_i64(w, p->n_pal);
        cl_ckpt_put_f32s(w, p->pal, (size_t)p->n_pal);
        cl_ckpt_put_bytes(w, p->code, cells);
    } else {
        cl_ckpt_put_f32s(w, p->val, cells);
    }
}

int cl_rowpack_load(cl_rowpack *p, int n, cl_ckpt_reader *r)
{
    CL_ASSERT(n <= p->rows);
    size_t cells = (size_t)n * p->d;
    int packed, n_pal, rc;
    if ((rc = cl_ckpt_get_int(r, "row store packing", &packed, 0, p->packed))) return rc;
    if (!packed) {
        if (p->packed && (rc = unpack(p, 0))) return rc;
        return cl_ckpt_get_f32s(r, p->val, cells);
    }
    float pal[CL_ROWPACK_PALETTE];
    p->n_pal = 0;
    for (int s = 0; s < CL_ROWPACK_SLOTS; s++) p->slot_code[s] = -1;
    if ((rc = cl_ckpt_get_int(r, "palette size", &n_pal, 0, CL_ROWPACK_PALETTE)) ||
        (rc = cl_ckpt_get_f32s(r, pal, (size_t)n_pal)) ||
        (rc = cl_ckpt_get_bytes(r, p->code, cells)))
        return rc;
    for (int c = 0; c < n_pal; c++)
        if (code_of(p, bits_of(pal[c])) != c)
            return cl_ckpt_error(r, "the row store's palette repeats a value");
    for (size_t i = 0; i < cells; i++)
        if (p->code[i] >= n_pal)
            return cl_ckpt_error(r, "a stored row uses code %d of a %d-value palette",
                                 p->code[i], n_pal);
    return 0;
}
