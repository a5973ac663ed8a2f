#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/store/json.h"

struct cl_json {
    cl_json_type type;
    int b;
    double num;
    char *str;       /* CL_JSON_STR */
    size_t n, cap;   /* CL_JSON_ARR, CL_JSON_OBJ */
    cl_json **items; /* (cap) elements or member values */
    char **keys;     /* (cap) member keys; NULL for arrays */
};

/* A recursive-descent parser over [s, s + len). Errors carry the byte
 * offset; line and column are computed only when a message is built. */
typedef struct parser {
    const char *s;
    size_t len, pos;
    const char *name;
    int depth;
} parser;

static int fail_at(const parser *p, size_t at, const char *msg, const char *found)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < p->len; i++) {
        if (p->s[i] == '\n') { line++; col = 1; }
        else col++;
    }
    return cl_error_set(CL_EDATA, "%s:%zu:%zu: %s%s", p->name, line, col, msg, found);
}

/* "expected X but found Y" at the current position. */
static int expected(const parser *p, const char *what)
{
    char msg[128], found[32];
    if (p->pos >= p->len) snprintf(found, sizeof found, " but found end of input");
    else {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c >= 0x20 && c < 0x7f) snprintf(found, sizeof found, " but found '%c'", c);
        else snprintf(found, sizeof found, " but found byte 0x%02x", c);
    }
    snprintf(msg, sizeof msg, "expected %s", what);
    return fail_at(p, p->pos, msg, found);
}

static int fail(const parser *p, size_t at, const char *msg) { return fail_at(p, at, msg, ""); }

static int nomem(const parser *p)
{
    return cl_error_set(CL_ENOMEM, "%s: out of memory parsing JSON", p->name);
}

static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static void skip_ws(parser *p)
{
    int c;
    while ((c = peek(p)) == ' ' || c == '\t' || c == '\n' || c == '\r') p->pos++;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0, so strings handed out are valid
 * UTF-8 whatever bytes came in. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else return 0;
    if (avail < n || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return n;
}

static size_t utf8_put(char *d, unsigned long cp)
{
    if (cp < 0x80) { d[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads "\uXXXX" at p->pos (the backslash), stopping before end. */
static int read_u(parser *p, size_t end, unsigned long *cp)
{
    if (end - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
        return -1;
    unsigned long v = 0;
    for (size_t i = p->pos + 2; i < p->pos + 6; i++) {
        int c = (unsigned char)p->s[i];
        int d = is_digit(c) ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + (unsigned long)d;
    }
    *cp = v;
    p->pos += 6;
    return 0;
}

/* Decodes the escape at p->pos (the backslash) into d; returns bytes written
 * or a negative code. */
static int decode_escape(parser *p, size_t end, char *d)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t at = p->pos;
    char c = p->s[at + 1]; /* the closing-quote scan guarantees at + 1 < end */
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit) {
        *d = to[hit - from];
        p->pos += 2;
        return 1;
    }
    unsigned long cp, lo;
    if (c != 'u') return fail(p, at, "invalid escape in string");
    if (read_u(p, end, &cp)) return fail(p, at, "expected 4 hex digits after \\u");
    if (cp == 0) return fail(p, at, "\\u0000 is not supported in strings");
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(p, at, "lone low surrogate in string");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (read_u(p, end, &lo) || lo < 0xDC00 || lo > 0xDFFF)
            return fail(p, at, "lone high surrogate in string");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return (int)utf8_put(d, cp);
}

/* p->pos is at the opening quote. *out is set before decoding so the caller
 * frees a half-built string along with the tree. */
static int parse_str(parser *p, char **out)
{
    size_t start = p->pos + 1, end = start;
    while (end < p->len && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len) {
        p->pos = p->len;
        return expected(p, "'\"' to close the string");
    }
    /* Decoding never lengthens: an escape of k bytes yields at most k. */
    char *d = malloc(end - start + 1);
    if (!d) return nomem(p);
    *out = d;
    size_t n = 0;
    p->pos = start;
    while (p->pos < end) {
        const unsigned char *c = (const unsigned char *)p->s + p->pos;
        if (*c == '\\') {
            int k = decode_escape(p, end, d + n);
            if (k < 0) return k;
            n += (size_t)k;
        } else if (*c < 0x20) {
            return fail(p, p->pos, "control character in string (use an escape)");
        } else {
            size_t k = utf8_seq(c, end - p->pos);
            if (!k) return fail(p, p->pos, "invalid UTF-8 in string");
            memcpy(d + n, c, k);
            n += k;
            p->pos += k;
        }
    }
    d[n] = '\0';
    p->pos = end + 1;
    return 0;
}

/* Checks RFC 8259's number grammar first, since strtod alone would accept
 * "01", "1.", ".5", "+1", "0x10", "inf" and "nan". */
static int parse_num(parser *p, cl_json *v)
{
    size_t start = p->pos;
    if (peek(p) == '-') p->pos++;
    if (peek(p) == '0') p->pos++;
    else if (is_digit(peek(p))) while (is_digit(peek(p))) p->pos++;
    else return expected(p, "a digit");
    if (peek(p) == '.') {
        p->pos++;
        if (!is_digit(peek(p))) return expected(p, "a digit after '.'");
        while (is_digit(peek(p))) p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-') p->pos++;
        if (!is_digit(peek(p))) return expected(p, "a digit in the exponent");
        while (is_digit(peek(p))) p->pos++;
    }
    /* strtod needs a terminated copy: the text may continue right after. */
    size_t n = p->pos - start;
    char small[64], *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf) return nomem(p);
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    errno = 0;
    v->num = strtod(buf, NULL);
    int overflow = errno == ERANGE && isinf(v->num);
    if (buf != small) free(buf);
    if (overflow) return fail(p, start, "number out of range for a double");
    v->type = CL_JSON_NUM;
    return 0;
}

static int grow(const parser *p, cl_json *v)
{
    if (v->n < v->cap) return 0;
    size_t cap = v->cap ? v->cap * 2 : 4;
    if (cap > SIZE_MAX / sizeof(void *)) return nomem(p);
    cl_json **items = realloc(v->items, cap * sizeof *items);
    if (!items) return nomem(p);
    v->items = items;
    if (v->type == CL_JSON_OBJ) {
        char **keys = realloc(v->keys, cap * sizeof *keys);
        if (!keys) return nomem(p);
        v->keys = keys;
    }
    v->cap = cap;
    return 0;
}

static int parse_value(parser *p, cl_json **out);

/* Arrays and objects share one loop; objects add "key :" before each value.
 * Slots are counted before they are filled so cl_json_free sees every
 * allocation if parsing stops halfway. */
static int parse_container(parser *p, cl_json *v)
{
    int obj = peek(p) == '{';
    int close = obj ? '}' : ']';
    v->type = obj ? CL_JSON_OBJ : CL_JSON_ARR;
    /* Bounded so hostile input cannot exhaust the stack. */
    if (++p->depth > CL_JSON_MAX_DEPTH) {
        char msg[64];
        snprintf(msg, sizeof msg, "nesting deeper than %d levels", CL_JSON_MAX_DEPTH);
        return fail(p, p->pos, msg);
    }
    p->pos++;
    skip_ws(p);
    if (peek(p) == close) {
        p->pos++;
        p->depth--;
        return 0;
    }
    for (;;) {
        int rc = grow(p, v);
        if (rc) return rc;
        size_t k = v->n++;
        v->items[k] = NULL;
        if (obj) {
            v->keys[k] = NULL;
            skip_ws(p);
            if (peek(p) != '"') return expected(p, "a string key");
            if ((rc = parse_str(p, &v->keys[k]))) return rc;
            skip_ws(p);
            if (peek(p) != ':') return expected(p, "':'");
            p->pos++;
        }
        if ((rc = parse_value(p, &v->items[k]))) return rc;
        skip_ws(p);
        if (peek(p) == ',') p->pos++;
        else if (peek(p) == close) break;
        else return expected(p, obj ? "',' or '}'" : "',' or ']'");
    }
    p->pos++;
    p->depth--;
    return 0;
}

static int parse_literal(parser *p, cl_json *v, const char *word, const char *what)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return expected(p, what);
    p->pos += n;
    v->type = word[0] == 'n' ? CL_JSON_NULL : CL_JSON_BOOL;
    v->b = word[0] == 't';
    return 0;
}

/* *out is set as soon as the node exists so a failure anywhere below leaves
 * everything reachable from the root for cl_json_free. */
static int parse_value(parser *p, cl_json **out)
{
    skip_ws(p);
    cl_json *v = calloc(1, sizeof *v);
    if (!v) return nomem(p);
    *out = v;
    int c = peek(p);
    switch (c) {
    case '{':
    case '[': return parse_container(p, v);
    case '"': v->type = CL_JSON_STR; return parse_str(p, &v->str);
    case 't': return parse_literal(p, v, "true", "'true'");
    case 'f': return parse_literal(p, v, "false", "'false'");
    case 'n': return parse_literal(p, v, "null", "'null'");
    default:
        if (c == '-' || is_digit(c)) return parse_num(p, v);
        return expected(p, "a value");
    }
}

int cl_json_parse(cl_json **out, const char *text, size_t len, const char *filename)
{
    if (!out) return cl_error_set(CL_EINVAL, "cl_json_parse: NULL output");
    *out = NULL;
    if (!text && len) return cl_error_set(CL_EINVAL, "cl_json_parse: NULL text");
    parser p = {text ? text : "", len, 0, filename ? filename : "<json>", 0};
    cl_json *root = NULL;
    int rc = parse_value(&p, &root);
    if (!rc) {
        skip_ws(&p);
        if (p.pos < p.len) rc = expected(&p, "end of input");
    }
    if (rc) {
        cl_json_free(root);
        return rc;
    }
    *out = root;
    return 0;
}

int cl_json_parse_file(cl_json **out, const char *path)
{
    if (out) *out = NULL;
    if (!path) return cl_error_set(CL_EINVAL, "cl_json_parse_file: NULL path");
    char *text;
    size_t len;
    int rc = cl_fs_read_all(path, &text, &len);
    if (rc) return rc;
    rc = cl_json_parse(out, text, len, path);
    free(text);
    return rc;
}

/* Recursion is bounded by CL_JSON_MAX_DEPTH, as in the parser. */
void cl_json_free(cl_json *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) {
        cl_json_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

cl_json_type cl_json_typeof(const cl_json *v) { return v ? v->type : CL_JSON_NULL; }

static const cl_json *get_n(const cl_json *obj, const char *key, size_t n)
{
    if (!obj || obj->type != CL_JSON_OBJ || !key) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strncmp(obj->keys[i], key, n) == 0 && obj->keys[i][n] == '\0')
            return obj->items[i];
    return NULL;
}

const cl_json *cl_json_get(const cl_json *obj, const char *key)
{
    return key ? get_n(obj, key, strlen(key)) : NULL;
}

size_t cl_json_len(const cl_json *v)
{
    return v && (v->type == CL_JSON_ARR || v->type == CL_JSON_OBJ) ? v->n : 0;
}

const cl_json *cl_json_at(const cl_json *v, size_t i)
{
    return i < cl_json_len(v) ? v->items[i] : NULL;
}

const char *cl_json_key_at(const cl_json *obj, size_t i)
{
    return obj && obj->type == CL_JSON_OBJ && i < obj->n ? obj->keys[i] : NULL;
}

double cl_json_num(const cl_json *v) { return v && v->type == CL_JSON_NUM ? v->num : NAN; }

const char *cl_json_str(const cl_json *v) { return v && v->type == CL_JSON_STR ? v->str : NULL; }

int cl_json_bool(const cl_json *v) { return v && v->type == CL_JSON_BOOL ? v->b : 0; }

const cl_json *cl_json_path(const cl_json *root, const char *dotted)
{
    if (!dotted) return NULL;
    const cl_json *v = root;
    for (;;) {
        const char *dot = strchr(dotted, '.');
        size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);
        if (!(v = get_n(v, dotted, n))) return NULL;
        if (!dot) return v;
        dotted = dot + 1;
    }
}
