/* Checkpoints: a small binary container for a run's state at a task
 * boundary, so a killed run can go on from its last finished task.
 *
 * Layout, in host byte order (a marker in the header rejects a file from a
 * machine of the other order):
 *   header, 32 bytes: magic "CLBCKPT\n", u32 format version, u32 byte-order
 *     marker 0x01020304, u64 payload bytes, u32 CRC-32 (zlib) of the
 *     payload, u32 zero
 *   payload: sections, each a 4-character tag, u32 zero, u64 length, then
 *     `length` bytes of values
 *   value: a one-byte type code, then a fixed-width scalar, or a u64 count
 *     and the elements
 * Every value carries its type and every array its length, so a reader that
 * asks for something other than what was written fails with a message
 * instead of reading garbage. Sections are found by tag, in any order.
 *
 * Writers stream: bytes reach a sink (a file, or memory) as they are put,
 * through a 64 KiB stage, the CRC computed along the way; only the header
 * and each section's length are written again once known. No copy of the
 * whole checkpoint is held (a 100 MB one costs 64 KiB, not 100 MB, with a
 * file sink). The first failure (of the sink, or running out of memory) is
 * sticky and reported by cl_ckpt_writer_finish. Readers check every length
 * against the data: a corrupt, truncated or mismatched checkpoint is a
 * one-line CL_EDATA error naming the file, never a crash. After the first
 * error every further read fails too, without replacing the message. */
#ifndef CLBENCH_CKPT_H
#define CLBENCH_CKPT_H

#include <stddef.h>
#include <stdint.h>

#define CL_CKPT_VERSION 2
#define CL_CKPT_HEADER_BYTES 32

typedef struct cl_ckpt_writer cl_ckpt_writer;
typedef struct cl_ckpt_reader cl_ckpt_reader;

/* ---- writing ------------------------------------------------------------ */

/* Receives n bytes for file offset `at`. Offsets grow from 0 without gaps,
 * except that the header (offset 0) and section lengths are rewritten once
 * known. Returns 0 or a negative CL_E* with its message set. */
typedef int (*cl_ckpt_sink)(void *user, uint64_t at, const void *p, size_t n);

/* A sink into memory that grows as needed (tests, small checkpoints):
 * start from {0}, free data. */
typedef struct cl_ckpt_mem {
    unsigned char *data;
    size_t len, cap;
} cl_ckpt_mem;
int cl_ckpt_mem_sink(void *mem /* cl_ckpt_mem */, uint64_t at, const void *p, size_t n);

/* A sink into an open file (pwrite); `name` starts error messages. */
typedef struct cl_ckpt_fd {
    int fd;
    const char *name;
} cl_ckpt_fd;
int cl_ckpt_fd_sink(void *fd /* cl_ckpt_fd */, uint64_t at, const void *p, size_t n);

/* Something that writes one whole checkpoint into (sink, user), through
 * cl_ckpt_writer_to: 0 or a negative CL_E*. */
typedef int (*cl_ckpt_source)(void *ctx, cl_ckpt_sink sink, void *user);

/* A writer into its own memory (see cl_ckpt_writer_finish). */
int cl_ckpt_writer_new(cl_ckpt_writer **out);
/* A writer into sink(user, ...). */
int cl_ckpt_writer_to(cl_ckpt_writer **out, cl_ckpt_sink sink, void *user);
void cl_ckpt_writer_free(cl_ckpt_writer *w);

/* Starts a section (closing the previous one); tag is 4 characters. */
void cl_ckpt_section(cl_ckpt_writer *w, const char *tag);

void cl_ckpt_put_i64(cl_ckpt_writer *w, int64_t v);
void cl_ckpt_put_u64(cl_ckpt_writer *w, uint64_t v);
void cl_ckpt_put_f64(cl_ckpt_writer *w, double v); /* bit for bit, NaN included */
void cl_ckpt_put_str(cl_ckpt_writer *w, const char *s);
void cl_ckpt_put_bytes(cl_ckpt_writer *w, const void *p, size_t n);
void cl_ckpt_put_f32s(cl_ckpt_writer *w, const float *p, size_t n);
void cl_ckpt_put_f64s(cl_ckpt_writer *w, const double *p, size_t n);
void cl_ckpt_put_i32s(cl_ckpt_writer *w, const int *p, size_t n);
void cl_ckpt_put_longs(cl_ckpt_writer *w, const long *p, size_t n);
void cl_ckpt_put_u64s(cl_ckpt_writer *w, const uint64_t *p, size_t n);

/* Closes the last section, writes the header and hands the sink what is
 * left. For a writer from cl_ckpt_writer_new, *data (len bytes) is owned by
 * w and valid until it is freed; for one into a sink, *data is NULL and
 * *len the bytes written. data and len may be NULL. The first failure's
 * code (CL_ENOMEM, or the sink's) if anything failed. */
int cl_ckpt_writer_finish(cl_ckpt_writer *w, const void **data, size_t *len);
/* Finishes w into the file at path, written atomically (temporary, then
 * rename), and frees w whatever happens. */
int cl_ckpt_writer_save(cl_ckpt_writer *w, const char *path);

/* ---- reading ------------------------------------------------------------ */

/* Checks magic, version, byte order, length and checksum of data (len
 * bytes), which must outlive the reader. `name` (a file name) starts every
 * error message. */
int cl_ckpt_reader_new(cl_ckpt_reader **out, const void *data, size_t len, const char *name);
void cl_ckpt_reader_free(cl_ckpt_reader *r);

/* Positions the reader at the start of section tag; CL_EDATA if absent. */
int cl_ckpt_open(cl_ckpt_reader *r, const char *tag);
/* CL_EDATA unless the open section was read to its end. */
int cl_ckpt_close(cl_ckpt_reader *r);

int cl_ckpt_get_i64(cl_ckpt_reader *r, int64_t *v);
int cl_ckpt_get_u64(cl_ckpt_reader *r, uint64_t *v);
int cl_ckpt_get_f64(cl_ckpt_reader *r, double *v);
/* An integer that must lie in [min, max] ("what" names it in the error). */
int cl_ckpt_get_int(cl_ckpt_reader *r, const char *what, int *v, int min, int max);
int cl_ckpt_get_long(cl_ckpt_reader *r, const char *what, long *v, long min, long max);
/* A string into buf (n bytes, NUL-terminated); CL_EDATA if it does not fit. */
int cl_ckpt_get_str(cl_ckpt_reader *r, char *buf, size_t n);
/* A string of any length, pointing into the data (not NUL-terminated). */
int cl_ckpt_get_text(cl_ckpt_reader *r, const char **s, size_t *len);

/* Arrays: the stored count must be exactly n. */
int cl_ckpt_get_bytes(cl_ckpt_reader *r, void *p, size_t n);
int cl_ckpt_get_f32s(cl_ckpt_reader *r, float *p, size_t n);
int cl_ckpt_get_f64s(cl_ckpt_reader *r, double *p, size_t n);
int cl_ckpt_get_i32s(cl_ckpt_reader *r, int *p, size_t n);
int cl_ckpt_get_longs(cl_ckpt_reader *r, long *p, size_t n);
int cl_ckpt_get_u64s(cl_ckpt_reader *r, uint64_t *p, size_t n);

/* Records "<name>: section <tag>: <message>" as CL_EDATA and returns it,
 * for loaders that find a value out of range. */
int cl_ckpt_error(cl_ckpt_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
