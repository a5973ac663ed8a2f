#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "clbench/store/ckpt.h"
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"

_Static_assert(sizeof(int) == 4, "checkpoints store int arrays as 32-bit");
_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE 754 floats expected");

static const char MAGIC[8] = {'C', 'L', 'B', 'C', 'K', 'P', 'T', '\n'};
#define ORDER_MARK 0x01020304u
#define SECTION_HEAD 16 /* tag, u32 zero, u64 length */

enum {
    T_I64 = 'i', T_U64 = 'u', T_F64 = 'd', T_STR = 's', T_BYTES = 'b',
    T_F32S = 'f', T_F64S = 'D', T_I32S = 'I', T_I64S = 'L', T_U64S = 'U'
};

static const char *type_name(int t)
{
    switch (t) {
    case T_I64: return "an integer";
    case T_U64: return "an unsigned integer";
    case T_F64: return "a double";
    case T_STR: return "a string";
    case T_BYTES: return "a byte array";
    case T_F32S: return "a float array";
    case T_F64S: return "a double array";
    case T_I32S: return "an int array";
    case T_I64S: return "a long array";
    case T_U64S: return "a u64 array";
    default: return "an unknown value";
    }
}

/* ---- sinks ------------------------------------------------------------ */

int cl_ckpt_mem_sink(void *user, uint64_t at, const void *p, size_t n)
{
    cl_ckpt_mem *m = user;
    if (at > SIZE_MAX - n) return cl_error_set(CL_ENOMEM, "out of memory building a checkpoint");
    size_t end = (size_t)at + n;
    if (end > m->cap) {
        size_t cap = m->cap ? m->cap : 1 << 16;
        while (cap < end) cap = cap > SIZE_MAX / 2 ? end : 2 * cap;
        unsigned char *b = realloc(m->data, cap);
        if (!b) return cl_error_set(CL_ENOMEM, "out of memory building a checkpoint");
        m->data = b;
        m->cap = cap;
    }
    if (n) memcpy(m->data + at, p, n);
    if (end > m->len) m->len = end;
    return 0;
}

int cl_ckpt_fd_sink(void *user, uint64_t at, const void *p, size_t n)
{
    const cl_ckpt_fd *f = user;
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t w = pwrite(f->fd, b, n, (off_t)at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return cl_error_set(CL_EIO, "%s: write failed: %s", f->name,
                                        w < 0 ? strerror(errno) : "nothing written");
        b += w;
        at += (uint64_t)w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- writer ----------------------------------------------------------- */

/* Bytes go to the sink as they are put, staged in a small buffer; only the
 * header and each section's length are written again once known. The CRC
 * runs along: each section's is its head's (length known at its close)
 * combined with its body's, so nothing is read back. */
struct cl_ckpt_writer {
    cl_ckpt_sink sink;
    void *user;
    cl_ckpt_mem mem;      /* the bytes, for a writer from cl_ckpt_writer_new */
    unsigned char buf[1 << 16];
    size_t used;          /* staged bytes, for file offsets off.. */
    uint64_t off;
    uint64_t section;     /* offset of the open section's head; 0: none (the header is there) */
    unsigned char head[SECTION_HEAD];
    uLong crc;            /* of the payload before the open section */
    uLong crc_body;       /* of the open section's body, body bytes long */
    uint64_t body;
    int rc;               /* first failure, sticky */
};

static void fail(cl_ckpt_writer *w, int rc)
{
    if (!w->rc) w->rc = rc;
}

static void flush(cl_ckpt_writer *w)
{
    if (w->rc || !w->used) return;
    fail(w, w->sink(w->user, w->off, w->buf, w->used));
    w->off += w->used;
    w->used = 0;
}

/* n bytes at the end of the file. */
static void emit(cl_ckpt_writer *w, const void *p, size_t n)
{
    if (w->rc || !n) return;
    if (n > sizeof w->buf - w->used) flush(w);
    if (n >= sizeof w->buf) {
        /* Large arrays go straight from the caller's memory. */
        if (!w->rc) fail(w, w->sink(w->user, w->off, p, n));
        w->off += n;
        return;
    }
    memcpy(w->buf + w->used, p, n);
    w->used += n;
}

/* n bytes at file offset at, already emitted. */
static void patch(cl_ckpt_writer *w, uint64_t at, const void *p, size_t n)
{
    if (w->rc) return;
    if (at >= w->off)
        memcpy(w->buf + (at - w->off), p, n);
    else
        fail(w, w->sink(w->user, at, p, n));
}

/* zlib's crc32 takes 32-bit lengths. */
static uLong crc_more(uLong c, const unsigned char *p, size_t n)
{
    while (n > 0) {
        uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return c;
}

static uint32_t crc_of(const unsigned char *p, size_t n)
{
    return (uint32_t)crc_more(crc32(0L, Z_NULL, 0), p, n);
}

static int writer_init(cl_ckpt_writer **out, cl_ckpt_sink sink, void *user)
{
    cl_ckpt_writer *w = calloc(1, sizeof *w);
    if (!w) return cl_error_set(CL_ENOMEM, "out of memory");
    w->sink = sink ? sink : cl_ckpt_mem_sink;
    w->user = sink ? user : &w->mem;
    w->crc = crc32(0L, Z_NULL, 0);
    w->used = CL_CKPT_HEADER_BYTES; /* zeros, filled in by finish */
    *out = w;
    return 0;
}

int cl_ckpt_writer_new(cl_ckpt_writer **out) { return writer_init(out, NULL, NULL); }

int cl_ckpt_writer_to(cl_ckpt_writer **out, cl_ckpt_sink sink, void *user)
{
    CL_ASSERT(sink);
    return writer_init(out, sink, user);
}

void cl_ckpt_writer_free(cl_ckpt_writer *w)
{
    if (!w) return;
    free(w->mem.data);
    free(w);
}

static void put_raw(cl_ckpt_writer *w, const void *p, size_t n)
{
    if (w->rc) return;
    w->crc_body = crc_more(w->crc_body, p, n);
    w->body += n;
    emit(w, p, n);
}

static void put_u8(cl_ckpt_writer *w, unsigned char v) { put_raw(w, &v, 1); }
static void put_u64_raw(cl_ckpt_writer *w, uint64_t v) { put_raw(w, &v, 8); }

static void close_section(cl_ckpt_writer *w)
{
    if (!w->section || w->rc) return;
    memcpy(w->head + 8, &w->body, 8);
    patch(w, w->section + 8, &w->body, 8);
    uLong c = crc32_combine(crc32(crc32(0L, Z_NULL, 0), w->head, SECTION_HEAD), w->crc_body,
                            (z_off_t)w->body);
    w->crc = crc32_combine(w->crc, c, (z_off_t)(SECTION_HEAD + w->body));
    w->section = 0;
}

void cl_ckpt_section(cl_ckpt_writer *w, const char *tag)
{
    CL_ASSERT(strlen(tag) == 4);
    close_section(w);
    if (w->rc) return;
    memset(w->head, 0, sizeof w->head); /* u32 zero, and the length patched by close_section */
    memcpy(w->head, tag, 4);
    w->section = w->off + w->used;
    emit(w, w->head, sizeof w->head);
    w->crc_body = crc32(0L, Z_NULL, 0);
    w->body = 0;
}

static void put_scalar(cl_ckpt_writer *w, int type, const void *v)
{
    CL_ASSERT(w->section || w->rc);
    put_u8(w, (unsigned char)type);
    put_raw(w, v, 8);
}

void cl_ckpt_put_i64(cl_ckpt_writer *w, int64_t v) { put_scalar(w, T_I64, &v); }
void cl_ckpt_put_u64(cl_ckpt_writer *w, uint64_t v) { put_scalar(w, T_U64, &v); }
void cl_ckpt_put_f64(cl_ckpt_writer *w, double v) { put_scalar(w, T_F64, &v); }

static void put_array(cl_ckpt_writer *w, int type, const void *p, size_t n, size_t elem)
{
    CL_ASSERT(w->section || w->rc);
    if (n > SIZE_MAX / elem) {
        fail(w, cl_error_set(CL_ENOMEM, "out of memory building a checkpoint"));
        return;
    }
    put_u8(w, (unsigned char)type);
    put_u64_raw(w, (uint64_t)n);
    put_raw(w, p, n * elem);
}

void cl_ckpt_put_str(cl_ckpt_writer *w, const char *s) { put_array(w, T_STR, s, strlen(s), 1); }
void cl_ckpt_put_bytes(cl_ckpt_writer *w, const void *p, size_t n) { put_array(w, T_BYTES, p, n, 1); }
void cl_ckpt_put_f32s(cl_ckpt_writer *w, const float *p, size_t n) { put_array(w, T_F32S, p, n, 4); }
void cl_ckpt_put_f64s(cl_ckpt_writer *w, const double *p, size_t n) { put_array(w, T_F64S, p, n, 8); }
void cl_ckpt_put_i32s(cl_ckpt_writer *w, const int *p, size_t n) { put_array(w, T_I32S, p, n, 4); }
void cl_ckpt_put_u64s(cl_ckpt_writer *w, const uint64_t *p, size_t n) { put_array(w, T_U64S, p, n, 8); }

void cl_ckpt_put_longs(cl_ckpt_writer *w, const long *p, size_t n)
{
    CL_ASSERT(w->section || w->rc);
    put_u8(w, T_I64S);
    put_u64_raw(w, (uint64_t)n);
    int64_t v[256];
    for (size_t i = 0; i < n; i += 256) {
        size_t k = n - i < 256 ? n - i : 256;
        for (size_t j = 0; j < k; j++) v[j] = p[i + j];
        put_raw(w, v, k * 8);
    }
}

int cl_ckpt_writer_finish(cl_ckpt_writer *w, const void **data, size_t *len)
{
    close_section(w);
    unsigned char h[CL_CKPT_HEADER_BYTES];
    uint32_t version = CL_CKPT_VERSION, mark = ORDER_MARK, zero = 0, crc = (uint32_t)w->crc;
    uint64_t payload = w->off + w->used - CL_CKPT_HEADER_BYTES;
    memcpy(h, MAGIC, 8);
    memcpy(h + 8, &version, 4);
    memcpy(h + 12, &mark, 4);
    memcpy(h + 16, &payload, 8);
    memcpy(h + 24, &crc, 4);
    memcpy(h + 28, &zero, 4);
    patch(w, 0, h, sizeof h);
    flush(w);
    if (w->rc) return w->rc;
    if (data) *data = w->user == &w->mem ? w->mem.data : NULL; /* NULL: in the sink */
    if (len) *len = (size_t)(w->off);
    return 0;
}

/* ---- reader ----------------------------------------------------------- */

struct cl_ckpt_reader {
    const unsigned char *data;
    size_t len;
    char name[1024];
    char tag[5];      /* open section, "" if none */
    size_t pos, end;  /* cursor and end of the open section */
    int failed;
};

static int header_error(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int header_error(const char *name, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cl_error_set(CL_EDATA, "%s: %s", name, msg);
}

static uint32_t rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The sections must tile the payload exactly. */
static int check_sections(const unsigned char *p, size_t n, const char *name)
{
    size_t pos = CL_CKPT_HEADER_BYTES;
    while (pos < n) {
        if (n - pos < SECTION_HEAD)
            return header_error(name, "corrupt checkpoint: truncated section header at byte %zu",
                                pos);
        uint64_t len = rd64(p + pos + 8);
        if (len > n - pos - SECTION_HEAD)
            return header_error(name, "corrupt checkpoint: section '%.4s' runs past the end",
                                (const char *)p + pos);
        pos += SECTION_HEAD + (size_t)len;
    }
    return 0;
}

int cl_ckpt_reader_new(cl_ckpt_reader **out, const void *data, size_t len, const char *name)
{
    *out = NULL;
    const unsigned char *p = data;
    if (len < CL_CKPT_HEADER_BYTES || memcmp(p, MAGIC, 8) != 0)
        return header_error(name, "not a clbench checkpoint%s",
                            len < CL_CKPT_HEADER_BYTES ? " (too short)" : " (bad magic)");
    if (rd32(p + 12) != ORDER_MARK)
        return header_error(name, "checkpoint written on a machine of another byte order");
    if (rd32(p + 8) != CL_CKPT_VERSION)
        return header_error(name, "checkpoint format version %u, this build reads version %d",
                            (unsigned)rd32(p + 8), CL_CKPT_VERSION);
    uint64_t payload = rd64(p + 16);
    if (payload != len - CL_CKPT_HEADER_BYTES)
        return header_error(name, "truncated or padded checkpoint: %zu payload bytes, header says %llu",
                            len - CL_CKPT_HEADER_BYTES, (unsigned long long)payload);
    if (crc_of(p + CL_CKPT_HEADER_BYTES, len - CL_CKPT_HEADER_BYTES) != rd32(p + 24))
        return header_error(name, "corrupt checkpoint: checksum mismatch");
    int rc = check_sections(p, len, name);
    if (rc) return rc;
    cl_ckpt_reader *r = calloc(1, sizeof *r);
    if (!r) return cl_error_set(CL_ENOMEM, "out of memory");
    r->data = p;
    r->len = len;
    snprintf(r->name, sizeof r->name, "%s", name);
    *out = r;
    return 0;
}

void cl_ckpt_reader_free(cl_ckpt_reader *r) { free(r); }

int cl_ckpt_error(cl_ckpt_reader *r, const char *fmt, ...)
{
    if (r->failed) return CL_EDATA; /* keep the first message */
    r->failed = 1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cl_error_set(CL_EDATA, "%s: checkpoint section '%s': %s", r->name,
                        r->tag[0] ? r->tag : "-", msg);
}

int cl_ckpt_open(cl_ckpt_reader *r, const char *tag)
{
    CL_ASSERT(strlen(tag) == 4);
    if (r->failed) return CL_EDATA;
    size_t pos = CL_CKPT_HEADER_BYTES;
    while (pos < r->len) { /* bounds checked by check_sections */
        size_t n = (size_t)rd64(r->data + pos + 8);
        if (memcmp(r->data + pos, tag, 4) == 0) {
            memcpy(r->tag, tag, 5);
            r->pos = pos + SECTION_HEAD;
            r->end = r->pos + n;
            return 0;
        }
        pos += SECTION_HEAD + n;
    }
    r->failed = 1;
    return cl_error_set(CL_EDATA, "%s: checkpoint has no '%s' section", r->name, tag);
}

int cl_ckpt_close(cl_ckpt_reader *r)
{
    if (r->failed) return CL_EDATA;
    if (r->pos != r->end)
        return cl_ckpt_error(r, "%zu bytes left unread (written by another version?)",
                             r->end - r->pos);
    r->tag[0] = '\0';
    return 0;
}

/* Consumes the type byte of the next value; CL_EDATA unless it is `type`. */
static int expect(cl_ckpt_reader *r, int type)
{
    if (r->failed) return CL_EDATA;
    if (!r->tag[0]) return cl_ckpt_error(r, "read outside a section");
    if (r->pos >= r->end) return cl_ckpt_error(r, "truncated: expected %s", type_name(type));
    int got = r->data[r->pos];
    if (got != type)
        return cl_ckpt_error(r, "expected %s, found %s", type_name(type), type_name(got));
    r->pos++;
    return 0;
}

static int get_scalar(cl_ckpt_reader *r, int type, void *v)
{
    int rc = expect(r, type);
    if (rc) return rc;
    if (r->end - r->pos < 8) return cl_ckpt_error(r, "truncated %s", type_name(type));
    memcpy(v, r->data + r->pos, 8);
    r->pos += 8;
    return 0;
}

int cl_ckpt_get_i64(cl_ckpt_reader *r, int64_t *v) { return get_scalar(r, T_I64, v); }
int cl_ckpt_get_u64(cl_ckpt_reader *r, uint64_t *v) { return get_scalar(r, T_U64, v); }
int cl_ckpt_get_f64(cl_ckpt_reader *r, double *v) { return get_scalar(r, T_F64, v); }

int cl_ckpt_get_long(cl_ckpt_reader *r, const char *what, long *v, long min, long max)
{
    int64_t x = 0;
    int rc = cl_ckpt_get_i64(r, &x);
    if (rc) return rc;
    if (x < min || x > max)
        return cl_ckpt_error(r, "%s is %lld, outside [%ld, %ld]", what, (long long)x, min, max);
    *v = (long)x;
    return 0;
}

int cl_ckpt_get_int(cl_ckpt_reader *r, const char *what, int *v, int min, int max)
{
    long x = 0;
    int rc = cl_ckpt_get_long(r, what, &x, min, max);
    if (rc == 0) *v = (int)x;
    return rc;
}

/* The element count of the next array of `type`; the elements follow at
 * r->pos and are known to fit in the section. */
static int array_head(cl_ckpt_reader *r, int type, size_t elem, size_t *count)
{
    int rc = expect(r, type);
    if (rc) return rc;
    if (r->end - r->pos < 8) return cl_ckpt_error(r, "truncated length of %s", type_name(type));
    uint64_t n = rd64(r->data + r->pos);
    r->pos += 8;
    if (n > (r->end - r->pos) / elem)
        return cl_ckpt_error(r, "%s of %llu elements runs past the section's end",
                             type_name(type), (unsigned long long)n);
    *count = (size_t)n;
    return 0;
}

static int get_array(cl_ckpt_reader *r, int type, void *p, size_t n, size_t elem)
{
    size_t got;
    int rc = array_head(r, type, elem, &got);
    if (rc) return rc;
    if (got != n)
        return cl_ckpt_error(r, "expected %s of %zu elements, found %zu", type_name(type), n, got);
    if (n) memcpy(p, r->data + r->pos, n * elem);
    r->pos += n * elem;
    return 0;
}

int cl_ckpt_get_bytes(cl_ckpt_reader *r, void *p, size_t n) { return get_array(r, T_BYTES, p, n, 1); }
int cl_ckpt_get_f32s(cl_ckpt_reader *r, float *p, size_t n) { return get_array(r, T_F32S, p, n, 4); }
int cl_ckpt_get_f64s(cl_ckpt_reader *r, double *p, size_t n) { return get_array(r, T_F64S, p, n, 8); }
int cl_ckpt_get_i32s(cl_ckpt_reader *r, int *p, size_t n) { return get_array(r, T_I32S, p, n, 4); }
int cl_ckpt_get_u64s(cl_ckpt_reader *r, uint64_t *p, size_t n) { return get_array(r, T_U64S, p, n, 8); }

int cl_ckpt_get_longs(cl_ckpt_reader *r, long *p, size_t n)
{
    size_t got;
    int rc = array_head(r, T_I64S, 8, &got);
    if (rc) return rc;
    if (got != n)
        return cl_ckpt_error(r, "expected %s of %zu elements, found %zu", type_name(T_I64S), n, got);
    for (size_t i = 0; i < n; i++) p[i] = (long)(int64_t)rd64(r->data + r->pos + 8 * i);
    r->pos += n * 8;
    return 0;
}

int cl_ckpt_get_text(cl_ckpt_reader *r, const char **s, size_t *len)
{
    int rc = array_head(r, T_STR, 1, len);
    if (rc) return rc;
    *s = (const char *)r->data + r->pos;
    r->pos += *len;
    return 0;
}

int cl_ckpt_get_str(cl_ckpt_reader *r, char *buf, size_t n)
{
    const char *s;
    size_t len;
    int rc = cl_ckpt_get_text(r, &s, &len);
    if (rc) return rc;
    if (len >= n) return cl_ckpt_error(r, "string of %zu bytes is too long (max %zu)", len, n - 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

int cl_ckpt_writer_save(cl_ckpt_writer *w, const char *path)
{
    const void *data;
    size_t len;
    int rc = cl_ckpt_writer_finish(w, &data, &len);
    if (rc == 0) rc = cl_fs_write_atomic(path, data, len);
    cl_ckpt_writer_free(w);
    return rc;
}
