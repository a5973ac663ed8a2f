/* A small JSON (RFC 8259) reader, used to read back the results files that
 * clbench writes (metrics.json) for reports, comparisons and skipping
 * finished runs. Input is untrusted: every malformed text is rejected with
 * CL_EDATA and a "file:line:col: ..." message, never a crash.
 *
 * Ownership: cl_json_parse gives the caller one tree, freed with
 * cl_json_free(root). Every node and string reached through the accessors
 * belongs to that tree and stays valid until the root is freed; never free a
 * child. A parsed tree is never modified, so threads may read it at once.
 *
 * Decisions callers may rely on:
 * - Duplicate keys: the first one wins. cl_json_get and cl_json_path return
 *   the first member with a key; cl_json_len/cl_json_at/cl_json_key_at list
 *   the members exactly as written, duplicates included (checking for them
 *   at parse time would cost quadratic time on hostile input).
 * - Numbers are doubles. A literal whose magnitude overflows a double (1e400)
 *   is rejected, because clbench writes non-finite values as null and an
 *   "inf" could only come from a damaged or foreign file; underflow (1e-400)
 *   rounds to a subnormal or zero as strtod does. Parsing assumes the C
 *   locale (clbench never calls setlocale).
 * - Strings are NUL-terminated UTF-8. Invalid UTF-8, raw control characters,
 *   lone surrogates and "\u0000" (which a C string cannot hold) are rejected.
 * - Arrays and objects may nest at most CL_JSON_MAX_DEPTH deep.
 * - Columns in messages count bytes from 1.
 */
#ifndef CLBENCH_JSON_H
#define CLBENCH_JSON_H

#include <stddef.h>

#define CL_JSON_MAX_DEPTH 64

typedef enum cl_json_type {
    CL_JSON_NULL,
    CL_JSON_BOOL,
    CL_JSON_NUM,
    CL_JSON_STR,
    CL_JSON_ARR,
    CL_JSON_OBJ
} cl_json_type;

typedef struct cl_json cl_json;

/* Parses len bytes of text (len is authoritative: text need not be
 * NUL-terminated, and a NUL byte inside it is an error). filename only names
 * the input in error messages (NULL gives "<json>"). On success *out is the
 * root; on failure *out is NULL and the code is CL_EDATA (malformed text),
 * CL_ENOMEM or CL_EINVAL (NULL out or text). */
int cl_json_parse(cl_json **out, const char *text, size_t len, const char *filename);

/* Reads and parses the file at path; messages name the path. */
int cl_json_parse_file(cl_json **out, const char *path);

/* Frees a whole tree (NULL is fine). Pass only a root from cl_json_parse. */
void cl_json_free(cl_json *root);

/* Accessors accept NULL and any node type, so lookups chain without checks:
 * a missing key or a type mismatch gives NULL, NaN or 0 at the end. */

/* The node's type; CL_JSON_NULL for a NULL node as well. */
cl_json_type cl_json_typeof(const cl_json *v);
/* The first member of an object with this key, or NULL. */
const cl_json *cl_json_get(const cl_json *obj, const char *key);
/* Elements of an array or members of an object; 0 for anything else. */
size_t cl_json_len(const cl_json *arr_or_obj);
/* The i-th element, or the i-th member's value in document order; NULL when
 * i is out of range. */
const cl_json *cl_json_at(const cl_json *arr_or_obj, size_t i);
/* The i-th member's key in document order, or NULL. */
const char *cl_json_key_at(const cl_json *obj, size_t i);
/* The number; NaN for null (how clbench writes NaN and Inf) or a non-number. */
double cl_json_num(const cl_json *v);
/* The string, or NULL for a non-string. */
const char *cl_json_str(const cl_json *v);
/* 1 for true, 0 for false or a non-boolean. */
int cl_json_bool(const cl_json *v);
/* Follows object keys separated by '.', e.g. "metrics.acc"; NULL if any step
 * is missing or not an object. Keys that contain '.' need cl_json_get. */
const cl_json *cl_json_path(const cl_json *root, const char *dotted);

#endif
