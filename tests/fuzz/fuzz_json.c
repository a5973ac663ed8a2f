/* Fuzz target: the JSON reader (cl_json_parse). Any bytes either fail
 * with CL_EDATA and one line "fuzz.json:LINE:COL: ..." or give a tree whose
 * compact dump (cl_json_dump) parses again to a tree with the same dump,
 * and whose accessors agree with each other on every node. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "clbench/base/error.h"
#include "clbench/store/json.h"
#include "clbench/report/runset.h"
#include "clbench/base/strbuf.h"
#include "fuzz.h"

/* Walks the tree: lengths, members and lookups must agree. */
static int json_walk(const cl_json *v, int depth)
{
    if (depth > CL_JSON_MAX_DEPTH + 1) return CL_FUZZ_BROKEN("tree deeper than %d", depth);
    cl_json_type t = cl_json_typeof(v);
    size_t n = cl_json_len(v);
    if (t != CL_JSON_ARR && t != CL_JSON_OBJ && n) return CL_FUZZ_BROKEN("scalar of length %zu", n);
    if (t == CL_JSON_STR && !cl_json_str(v)) return CL_FUZZ_BROKEN("string without text");
    if (t == CL_JSON_NUM && !isfinite(cl_json_num(v))) return CL_FUZZ_BROKEN("non-finite number");
    if (cl_json_at(v, n)) return CL_FUZZ_BROKEN("element past the end");
    for (size_t i = 0; i < n; i++) {
        const cl_json *c = cl_json_at(v, i);
        if (!c) return CL_FUZZ_BROKEN("missing element %zu", i);
        if (t == CL_JSON_OBJ) {
            const char *k = cl_json_key_at(v, i);
            if (!k) return CL_FUZZ_BROKEN("missing key %zu", i);
            /* The first member with this key wins. */
            const cl_json *first = cl_json_get(v, k);
            size_t j = 0;
            while (strcmp(cl_json_key_at(v, j), k) != 0) j++;
            if (first != cl_json_at(v, j))
                return CL_FUZZ_BROKEN("cl_json_get('%s') is not the first", k);
            if (!strchr(k, '.') && cl_json_path(v, k) != first)
                return CL_FUZZ_BROKEN("cl_json_path('%s') differs from cl_json_get", k);
        }
        int bad = json_walk(c, depth + 1);
        if (bad) return bad;
    }
    return 0;
}

int cl_fuzz_json(const uint8_t *data, size_t size)
{
    cl_json *root = (cl_json *)&root;
    int rc = cl_json_parse(&root, (const char *)data, size, "fuzz.json");
    if (rc) {
        if (root) return CL_FUZZ_BROKEN("*out not NULL after error %d", rc);
        return cl_fuzz_rejected(rc, "fuzz.json:", CL_EDATA, CL_EDATA);
    }
    int bad = json_walk(root, 0);
    cl_strbuf a, b;
    cl_strbuf_init(&a);
    cl_strbuf_init(&b);
    cl_json_dump(&a, root);
    cl_json *again = NULL;
    if (!bad && !cl_strbuf_status(&a)) {
        rc = cl_json_parse(&again, a.s, a.len, "dump.json");
        if (rc && rc != CL_ENOMEM) {
            bad = CL_FUZZ_BROKEN("dump does not parse: %s\n%s", cl_error_last(), a.s);
        } else if (!rc) {
            cl_json_dump(&b, again);
            if (!cl_strbuf_status(&b) && strcmp(a.s, b.s) != 0)
                bad = CL_FUZZ_BROKEN("dump changes when read back:\n%s\n%s", a.s, b.s);
        }
    }
    cl_json_free(again);
    cl_json_free(root);
    cl_strbuf_release(&a);
    cl_strbuf_release(&b);
    return bad;
}

CL_FUZZ_ENTRY(cl_fuzz_json)
