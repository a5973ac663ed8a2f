/* Rows of d floats stored losslessly in a byte each while they can be.
 *
 * Why. The episodic memory keeps tens of thousands of raw inputs, and image
 * suites (split-fmnist and the other IDX suites) have inputs that take at
 * most 256 distinct values (b / 255). While every value stored so far is
 * one of at most 256 distinct float bit patterns, a row is held as 1-byte
 * indices into that palette: a quarter of the floats' bytes, and every
 * value read back is bit for bit the one written. The first value that
 * would be a 257th pattern switches the store to plain floats for good
 * (seq-tasks and other real-valued inputs do so on their first row).
 * Values are compared as bit patterns, so -0.0, 0.0 and NaN payloads stay
 * distinct.
 *
 * Ownership. The struct is embedded by its owner (cl_rowpack_init /
 * cl_rowpack_release) and owns its arrays. Rows are numbered by the owner,
 * which says how many leading rows are in use where the store has to
 * convert them. */
#ifndef CLBENCH_ROWPACK_H
#define CLBENCH_ROWPACK_H

#include <stddef.h>
#include <stdint.h>
#include "clbench/store/ckpt.h"

#define CL_ROWPACK_PALETTE 256
#define CL_ROWPACK_SLOTS 512 /* open-addressing table of the palette, half full at most */

typedef struct cl_rowpack {
    int d;               /* values per row */
    int rows;            /* allocated rows */
    int packed;          /* 1: code and pal hold the rows; 0: val does */
    unsigned char *code; /* (rows, d) palette indices, while packed */
    float *val;          /* (rows, d) the values, once unpacked */
    int n_pal;           /* distinct values so far, <= CL_ROWPACK_PALETTE */
    float pal[CL_ROWPACK_PALETTE];        /* value of each code */
    uint32_t slot_bits[CL_ROWPACK_SLOTS]; /* bit pattern in each table slot */
    int16_t slot_code[CL_ROWPACK_SLOTS];  /* its code, -1 for an empty slot */
} cl_rowpack;

/* An empty store of rows of d values; pack = 0 stores floats from the start. */
void cl_rowpack_init(cl_rowpack *p, int d, int pack);
/* Frees the arrays; safe on a zeroed or released struct. */
void cl_rowpack_release(cl_rowpack *p);

/* Sizes the store to `rows` rows, keeping the leading rows' contents. On
 * failure the store is unchanged. */
int cl_rowpack_resize(cl_rowpack *p, int rows);
/* Stores x (d) as row `row`, one of the `used` leading rows (<= rows)
 * that hold data once it is stored: switching to floats converts them. */
int cl_rowpack_put(cl_rowpack *p, int row, const float *x, int used);
/* Rows [row, row + n) into out (n, d). */
void cl_rowpack_get(const cl_rowpack *p, int row, int n, float *out);
/* 1 when row `row` holds exactly the bit patterns of x (d). */
int cl_rowpack_equal(const cl_rowpack *p, int row, const float *x);

/* Bytes that n rows take, with the palette while packed. */
size_t cl_rowpack_bytes(const cl_rowpack *p, int n);

/* Checkpoints: the mode, the palette and the first n rows, as held. load
 * needs a store made with the same d, sized to at least n rows; it keeps
 * the saved mode, so a resumed run reports the bytes the unbroken run
 * does. */
void cl_rowpack_save(const cl_rowpack *p, int n, cl_ckpt_writer *w);
int cl_rowpack_load(cl_rowpack *p, int n, cl_ckpt_reader *r);

#endif
