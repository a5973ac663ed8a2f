#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clbench/base/error.h"
#include "clbench/base/fsutil.h"
#include "clbench/store/json.h"

TestSuite(json, .timeout = 10);

static cl_json *parse_ok(const char *text)
{
    cl_json *j = NULL;
    int rc = cl_json_parse(&j, text, strlen(text), "t.json");
    cr_assert_eq(rc, 0, "parse of %s failed: %s", text, cl_error_last());
    cr_assert_not_null(j);
    return j;
}

/* Parses text (len bytes) expecting CL_EDATA; returns the message. */
static const char *parse_bad_n(const char *text, size_t len)
{
    cl_json *j = (cl_json *)1;
    int rc = cl_json_parse(&j, text, len, "t.json");
    cr_assert_eq(rc, CL_EDATA, "expected CL_EDATA for %.*s, got %d", (int)len, text, rc);
    cr_assert_null(j);
    return cl_error_last();
}

static const char *parse_bad(const char *text) { return parse_bad_n(text, strlen(text)); }

static void assert_bad_contains(const char *text, const char *part)
{
    const char *msg = parse_bad(text);
    cr_assert(strstr(msg, part) != NULL, "for %s: message '%s' lacks '%s'", text, msg, part);
}

Test(json, metrics_document_round_trips_values)
{
    /* Values printed the way cl_strbuf_json_num prints them must read back
     * bit for bit. */
    const double acc = 1.0 / 3.0, bwt = -0.12345678901234568, tiny = 5e-324,
                 big = 1.7976931348623157e308;
    char doc[2048];
    snprintf(doc, sizeof doc,
             "{\n"
             "  \"version\": 1,\n"
             "  \"strategy\": \"ewc\",\n"
             "  \"seed\": 42,\n"
             "  \"diverged\": false,\n"
             "  \"complete\": true,\n"
             "  \"metrics\": {\"acc\": %.17g, \"bwt\": %.17g, \"fwt\": null,"
             " \"tiny\": %.17g, \"big\": %.17g, \"zero\": 0},\n"
             "  \"R\": [[0.1, 0.2], [0.9, 0.15], [0.85, 0.95]],\n"
             "  \"ledger\": {\"extra_bytes\": 123456789, \"params\": 1024}\n"
             "}\n",
             acc, bwt, tiny, big);
    cl_json *j = parse_ok(doc);
    cr_assert_eq(cl_json_typeof(j), CL_JSON_OBJ);
    cr_assert_eq(cl_json_len(j), 8);
    cr_assert_str_eq(cl_json_key_at(j, 0), "version");
    cr_assert_str_eq(cl_json_key_at(j, 7), "ledger");
    cr_assert_null(cl_json_key_at(j, 8));
    cr_assert_eq(cl_json_num(cl_json_get(j, "version")), 1.0);
    cr_assert_str_eq(cl_json_str(cl_json_get(j, "strategy")), "ewc");
    cr_assert_eq(cl_json_num(cl_json_get(j, "seed")), 42.0);
    cr_assert_eq(cl_json_typeof(cl_json_get(j, "diverged")), CL_JSON_BOOL);
    cr_assert_eq(cl_json_bool(cl_json_get(j, "diverged")), 0);
    cr_assert_eq(cl_json_bool(cl_json_get(j, "complete")), 1);

    const cl_json *m = cl_json_get(j, "metrics");
    cr_assert_eq(cl_json_num(cl_json_get(m, "acc")), acc);
    cr_assert_eq(cl_json_num(cl_json_get(m, "bwt")), bwt);
    cr_assert_eq(cl_json_num(cl_json_get(m, "tiny")), tiny);
    cr_assert_eq(cl_json_num(cl_json_get(m, "big")), big);
    cr_assert_eq(cl_json_num(cl_json_get(m, "zero")), 0.0);
    cr_assert_eq(cl_json_typeof(cl_json_get(m, "fwt")), CL_JSON_NULL);
    cr_assert(isnan(cl_json_num(cl_json_get(m, "fwt"))));

    const cl_json *R = cl_json_get(j, "R");
    cr_assert_eq(cl_json_len(R), 3);
    cr_assert_eq(cl_json_len(cl_json_at(R, 1)), 2);
    cr_assert_eq(cl_json_num(cl_json_at(cl_json_at(R, 1), 1)), 0.15);
    cr_assert_eq(cl_json_num(cl_json_at(cl_json_at(R, 2), 0)), 0.85);
    cr_assert_null(cl_json_at(R, 3));
    /* An object's i-th value follows document order too. */
    cr_assert_eq(cl_json_num(cl_json_at(cl_json_get(j, "ledger"), 1)), 1024.0);
    cl_json_free(j);
}

Test(json, dotted_paths)
{
    cl_json *j = parse_ok("{\"metrics\": {\"acc\": 0.5, \"deep\": {\"x\": {\"y\": -2}}},"
                          " \"ledger\": {\"extra_bytes\": 4096}, \"a.b\": 7, \"s\": \"str\"}");
    cr_assert_eq(cl_json_num(cl_json_path(j, "metrics.acc")), 0.5);
    cr_assert_eq(cl_json_num(cl_json_path(j, "ledger.extra_bytes")), 4096.0);
    cr_assert_eq(cl_json_num(cl_json_path(j, "metrics.deep.x.y")), -2.0);
    cr_assert_eq(cl_json_typeof(cl_json_path(j, "metrics.deep")), CL_JSON_OBJ);
    cr_assert_null(cl_json_path(j, "metrics.missing"));
    cr_assert_null(cl_json_path(j, "metrics.acc.more")); /* through a number */
    cr_assert_null(cl_json_path(j, "s.x"));              /* through a string */
    cr_assert_null(cl_json_path(j, "metrics."));
    cr_assert_null(cl_json_path(j, ".metrics"));
    cr_assert_null(cl_json_path(j, "metric"));   /* prefix of a key */
    cr_assert_null(cl_json_path(j, "metricsX")); /* key is a prefix */
    cr_assert_null(cl_json_path(j, "a.b"));      /* dots always split */
    cr_assert_eq(cl_json_num(cl_json_get(j, "a.b")), 7.0);
    cr_assert_null(cl_json_path(NULL, "metrics"));
    cr_assert_null(cl_json_path(j, NULL));
    cl_json_free(j);
}

Test(json, accessors_are_null_safe_and_type_checked)
{
    cl_json *j = parse_ok("[null, 1.5, \"s\", true, [], {}]");
    cr_assert(isnan(cl_json_num(cl_json_at(j, 0))));
    cr_assert(isnan(cl_json_num(cl_json_at(j, 2))));
    cr_assert(isnan(cl_json_num(NULL)));
    cr_assert_eq(cl_json_num(cl_json_at(j, 1)), 1.5);
    cr_assert_null(cl_json_str(cl_json_at(j, 1)));
    cr_assert_eq(cl_json_bool(cl_json_at(j, 1)), 0);
    cr_assert_eq(cl_json_bool(NULL), 0);
    cr_assert_eq(cl_json_typeof(NULL), CL_JSON_NULL);
    cr_assert_eq(cl_json_typeof(cl_json_at(j, 4)), CL_JSON_ARR);
    cr_assert_eq(cl_json_typeof(cl_json_at(j, 5)), CL_JSON_OBJ);
    cr_assert_eq(cl_json_len(cl_json_at(j, 4)), 0);
    cr_assert_eq(cl_json_len(cl_json_at(j, 2)), 0);
    cr_assert_eq(cl_json_len(NULL), 0);
    cr_assert_null(cl_json_at(cl_json_at(j, 2), 0));
    cr_assert_null(cl_json_at(j, (size_t)-1));
    cr_assert_null(cl_json_get(j, "x")); /* array, not object */
    cr_assert_null(cl_json_get(NULL, "x"));
    cr_assert_null(cl_json_get(cl_json_at(j, 5), NULL));
    cr_assert_null(cl_json_key_at(j, 0));
    cr_assert_null(cl_json_key_at(NULL, 0));
    cl_json_free(j);
    cl_json_free(NULL);
}

Test(json, duplicate_keys_first_wins_all_listed)
{
    cl_json *j = parse_ok("{\"a\": 1, \"b\": 2, \"a\": 3}");
    cr_assert_eq(cl_json_num(cl_json_get(j, "a")), 1.0);
    cr_assert_eq(cl_json_num(cl_json_path(j, "a")), 1.0);
    cr_assert_eq(cl_json_len(j), 3);
    cr_assert_str_eq(cl_json_key_at(j, 2), "a");
    cr_assert_eq(cl_json_num(cl_json_at(j, 2)), 3.0);
    cl_json_free(j);
}

Test(json, string_escapes_and_unicode)
{
    cl_json *j = parse_ok("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", \"\\uD83D\\uDE00\","
                          " \"caf\xc3\xa9 \xf0\x9f\x98\x80\", \"\", \"a\\u0041\\u004a\"]");
    cr_assert_str_eq(cl_json_str(cl_json_at(j, 0)), "\"\\/\b\f\n\r\t");
    cr_assert_str_eq(cl_json_str(cl_json_at(j, 1)), "\xc3\xa9\xe2\x82\xac");
    cr_assert_str_eq(cl_json_str(cl_json_at(j, 2)), "\xf0\x9f\x98\x80");
    cr_assert_str_eq(cl_json_str(cl_json_at(j, 3)), "caf\xc3\xa9 \xf0\x9f\x98\x80");
    cr_assert_str_eq(cl_json_str(cl_json_at(j, 4)), "");
    cr_assert_str_eq(cl_json_str(cl_json_at(j, 5)), "aAJ");
    cl_json_free(j);

    /* Keys are decoded the same way. */
    j = parse_ok("{\"k\\u00e9y\": 1, \"\": 2}");
    cr_assert_eq(cl_json_num(cl_json_get(j, "k\xc3\xa9y")), 1.0);
    cr_assert_eq(cl_json_num(cl_json_get(j, "")), 2.0);
    cl_json_free(j);

    /* Highest code point, as a pair. */
    j = parse_ok("\"\\uDBFF\\uDFFF\"");
    cr_assert_str_eq(cl_json_str(j), "\xf4\x8f\xbf\xbf");
    cl_json_free(j);
}

Test(json, bad_strings_are_rejected)
{
    cr_assert_str_eq(parse_bad("[\"ab\\x\"]"), "t.json:1:5: invalid escape in string");
    cr_assert_str_eq(parse_bad("\"\\uD83D\""), "t.json:1:2: lone high surrogate in string");
    cr_assert_str_eq(parse_bad("\"\\uD83Dx\""), "t.json:1:2: lone high surrogate in string");
    cr_assert_str_eq(parse_bad("\"\\uD83D\\u0041\""), "t.json:1:2: lone high surrogate in string");
    cr_assert_str_eq(parse_bad("\"\\uDE00\""), "t.json:1:2: lone low surrogate in string");
    cr_assert_str_eq(parse_bad("\"\\u12\""), "t.json:1:2: expected 4 hex digits after \\u");
    cr_assert_str_eq(parse_bad("\"\\u12G4\""), "t.json:1:2: expected 4 hex digits after \\u");
    cr_assert_str_eq(parse_bad("\"\\u0000\""), "t.json:1:2: \\u0000 is not supported in strings");
    cr_assert_str_eq(parse_bad("\"a\tb\""),
                     "t.json:1:3: control character in string (use an escape)");
    cr_assert_str_eq(parse_bad("\"a\nb\""),
                     "t.json:1:3: control character in string (use an escape)");
    cr_assert_str_eq(parse_bad("\"\xc0\x80\""), "t.json:1:2: invalid UTF-8 in string");
    cr_assert_str_eq(parse_bad("\"\xed\xa0\x80\""), "t.json:1:2: invalid UTF-8 in string");
    cr_assert_str_eq(parse_bad("\"\xf4\x90\x80\x80\""), "t.json:1:2: invalid UTF-8 in string");
    cr_assert_str_eq(parse_bad("\"\xff\""), "t.json:1:2: invalid UTF-8 in string");
    cr_assert_str_eq(parse_bad("\"\xe2\x82\""), "t.json:1:2: invalid UTF-8 in string");
    cr_assert_str_eq(parse_bad("\"abc"),
                     "t.json:1:5: expected '\"' to close the string but found end of input");
    cr_assert_str_eq(parse_bad("\"abc\\\""),
                     "t.json:1:7: expected '\"' to close the string but found end of input");
    cr_assert_str_eq(parse_bad("\"\\"),
                     "t.json:1:3: expected '\"' to close the string but found end of input");
}

Test(json, nul_bytes_and_length_are_authoritative)
{
    cr_assert_str_eq(parse_bad_n("\"a\0b\"", 5),
                     "t.json:1:3: control character in string (use an escape)");
    cr_assert_str_eq(parse_bad_n("[1]\0", 4),
                     "t.json:1:4: expected end of input but found byte 0x00");
    cr_assert_str_eq(parse_bad_n("[1,\0 2]", 7),
                     "t.json:1:4: expected a value but found byte 0x00");

    /* Bytes past len are never read, so text need not be terminated. */
    const char buf[5] = {'[', '1', ',', '2', ']'};
    cl_json *j = NULL;
    cr_assert_eq(cl_json_parse(&j, buf, sizeof buf, NULL), 0);
    cr_assert_eq(cl_json_len(j), 2);
    cl_json_free(j);
    cr_assert_eq(cl_json_parse(&j, "123abc", 3, NULL), 0);
    cr_assert_eq(cl_json_num(j), 123.0);
    cl_json_free(j);
    cr_assert_str_eq(parse_bad_n(buf, 3), "t.json:1:4: expected a value but found end of input");
    cr_assert_eq(cl_json_parse(&j, buf, 4, NULL), CL_EDATA);
    cr_assert_str_eq(cl_error_last(), "<json>:1:5: expected ',' or ']' but found end of input");
}

Test(json, error_messages_give_line_and_column)
{
    /* Missing comma at the end of line 2: reported where the next key is. */
    cr_assert_str_eq(parse_bad("{\n  \"a\": 1\n    \"b\": 2\n}"),
                     "t.json:3:5: expected ',' or '}' but found '\"'");
    cr_assert_str_eq(parse_bad("{\n  \"a\" 1\n}"), "t.json:2:7: expected ':' but found '1'");
    cr_assert_str_eq(parse_bad("[1,\r\n 2,\r\n ]"), "t.json:3:2: expected a value but found ']'");
    cr_assert_str_eq(parse_bad("{\"a\": 1,}"), "t.json:1:9: expected a string key but found '}'");
    cr_assert_str_eq(parse_bad("{a: 1}"), "t.json:1:2: expected a string key but found 'a'");
    cr_assert_str_eq(parse_bad("[1 2]"), "t.json:1:4: expected ',' or ']' but found '2'");
    cr_assert_str_eq(parse_bad("{} x"), "t.json:1:4: expected end of input but found 'x'");
    cr_assert_str_eq(parse_bad("[1]]"), "t.json:1:4: expected end of input but found ']'");
    cr_assert_str_eq(parse_bad(""), "t.json:1:1: expected a value but found end of input");
    cr_assert_str_eq(parse_bad(" \n "), "t.json:2:2: expected a value but found end of input");
    cr_assert_str_eq(parse_bad("[tru]"), "t.json:1:2: expected 'true' but found 't'");
    cr_assert_str_eq(parse_bad("nul"), "t.json:1:1: expected 'null' but found 'n'");
    cr_assert_str_eq(parse_bad("[falsey]"), "t.json:1:7: expected ',' or ']' but found 'y'");
    cr_assert_str_eq(parse_bad("\xef\xbb\xbf{}"), "t.json:1:1: expected a value but found byte 0xef");
    /* Only the four JSON whitespace characters separate tokens. */
    cr_assert_str_eq(parse_bad("[1,\f2]"), "t.json:1:4: expected a value but found byte 0x0c");
    cr_assert_str_eq(parse_bad("'a'"), "t.json:1:1: expected a value but found '''");
}

Test(json, literals_and_top_level_scalars)
{
    cl_json *j = parse_ok(" \t\r\ntrue\n");
    cr_assert_eq(cl_json_typeof(j), CL_JSON_BOOL);
    cr_assert_eq(cl_json_bool(j), 1);
    cl_json_free(j);
    j = parse_ok("false");
    cr_assert_eq(cl_json_typeof(j), CL_JSON_BOOL);
    cr_assert_eq(cl_json_bool(j), 0);
    cl_json_free(j);
    j = parse_ok("null");
    cr_assert_eq(cl_json_typeof(j), CL_JSON_NULL);
    cr_assert(isnan(cl_json_num(j)));
    cl_json_free(j);
    j = parse_ok("\"x\"");
    cr_assert_str_eq(cl_json_str(j), "x");
    cl_json_free(j);
    cr_assert_str_eq(parse_bad("nulll"), "t.json:1:5: expected end of input but found 'l'");
    cr_assert_str_eq(parse_bad("True"), "t.json:1:1: expected a value but found 'T'");
}

Test(json, numbers_follow_the_strict_grammar)
{
    static const struct { const char *text; double v; } ok[] = {
        {"0", 0.0},        {"-0", -0.0},     {"7", 7.0},          {"-12", -12.0},
        {"1.5", 1.5},      {"1.5e3", 1500.0}, {"1E+2", 100.0},    {"-1e-2", -0.01},
        {"0.0", 0.0},      {"2e0", 2.0},      {"1e-400", 0.0},    {"-1e-400", -0.0},
        {"9007199254740993", 9007199254740992.0},
        {"0.1000000000000000055511151231257827021181583404541015625000000000000001", 0.1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        cl_json *j = parse_ok(ok[i].text);
        cr_assert_eq(cl_json_typeof(j), CL_JSON_NUM);
        cr_assert_eq(cl_json_num(j), ok[i].v, "%s -> %.17g", ok[i].text, cl_json_num(j));
        cr_assert_eq(signbit(cl_json_num(j)) != 0, signbit(ok[i].v) != 0, "%s sign", ok[i].text);
        cl_json_free(j);
    }
    cr_assert_str_eq(parse_bad("01"), "t.json:1:2: expected end of input but found '1'");
    cr_assert_str_eq(parse_bad("-01"), "t.json:1:3: expected end of input but found '1'");
    cr_assert_str_eq(parse_bad("1."), "t.json:1:3: expected a digit after '.' but found end of input");
    cr_assert_str_eq(parse_bad("1.e3"), "t.json:1:3: expected a digit after '.' but found 'e'");
    cr_assert_str_eq(parse_bad(".5"), "t.json:1:1: expected a value but found '.'");
    cr_assert_str_eq(parse_bad("+1"), "t.json:1:1: expected a value but found '+'");
    cr_assert_str_eq(parse_bad("-"), "t.json:1:2: expected a digit but found end of input");
    cr_assert_str_eq(parse_bad("- 1"), "t.json:1:2: expected a digit but found ' '");
    cr_assert_str_eq(parse_bad("-x"), "t.json:1:2: expected a digit but found 'x'");
    cr_assert_str_eq(parse_bad("1e"), "t.json:1:3: expected a digit in the exponent but found end of input");
    cr_assert_str_eq(parse_bad("1e+"), "t.json:1:4: expected a digit in the exponent but found end of input");
    cr_assert_str_eq(parse_bad("0x10"), "t.json:1:2: expected end of input but found 'x'");
    cr_assert_str_eq(parse_bad("[Infinity]"), "t.json:1:2: expected a value but found 'I'");
    cr_assert_str_eq(parse_bad("NaN"), "t.json:1:1: expected a value but found 'N'");
    cr_assert_str_eq(parse_bad("-Infinity"), "t.json:1:2: expected a digit but found 'I'");
    /* Overflow is rejected rather than read back as +-Inf (see json.h). */
    cr_assert_str_eq(parse_bad("{\"acc\":\n  1e400}"), "t.json:2:3: number out of range for a double");
    cr_assert_str_eq(parse_bad("-1e400"), "t.json:1:1: number out of range for a double");
    cr_assert_str_eq(parse_bad("1.8e308"), "t.json:1:1: number out of range for a double");
}

Test(json, long_numbers)
{
    /* Longer than the parser's stack buffer. */
    char text[300]; /* "1" and 298 zeros */
    memset(text, '0', sizeof text);
    text[0] = '1';
    text[sizeof text - 1] = '\0';
    cl_json *j = parse_ok(text);
    cr_assert_eq(cl_json_num(j), 1e298);
    cl_json_free(j);
    assert_bad_contains("1000000000000000000000000000000000000000000000000000000000000000000000"
                        "00000000000000000000000000000000000000000000000000000000000000000000000"
                        "00000000000000000000000000000000000000000000000000000000000000000000000"
                        "00000000000000000000000000000000000000000000000000000000000000000000000"
                        "00000000000000000000000000000000000000000000000000000000000000000000000",
                        "1:1: number out of range");
    text[1] = '.';
    j = parse_ok(text);
    cr_assert_eq(cl_json_num(j), 1.0);
    cl_json_free(j);
}

static char *nested(int depth, char open, char close)
{
    char *s = malloc((size_t)depth * 2 + 1);
    cr_assert_not_null(s);
    memset(s, open, (size_t)depth);
    memset(s + depth, close, (size_t)depth);
    s[depth * 2] = '\0';
    return s;
}

Test(json, nesting_is_bounded)
{
    char *s = nested(CL_JSON_MAX_DEPTH, '[', ']');
    cl_json *j = parse_ok(s);
    const cl_json *v = j;
    for (int i = 1; i < CL_JSON_MAX_DEPTH; i++) v = cl_json_at(v, 0);
    cr_assert_eq(cl_json_typeof(v), CL_JSON_ARR);
    cr_assert_eq(cl_json_len(v), 0);
    cl_json_free(j);
    free(s);

    s = nested(CL_JSON_MAX_DEPTH + 1, '[', ']');
    cr_assert_str_eq(parse_bad(s), "t.json:1:65: nesting deeper than 64 levels");
    free(s);

    /* Far deeper, unterminated: must fail at the limit, not overflow the stack. */
    s = nested(1000000, '[', ']');
    s[1000000] = '\0';
    cr_assert_str_eq(parse_bad(s), "t.json:1:65: nesting deeper than 64 levels");
    free(s);

    /* Objects count towards the same limit. */
    char obj[64 * 6 + 16] = "";
    for (int i = 0; i < CL_JSON_MAX_DEPTH; i++) strcat(obj, "{\"a\":");
    strcat(obj, "[1]");
    for (int i = 0; i < CL_JSON_MAX_DEPTH; i++) strcat(obj, "}");
    cr_assert_str_eq(parse_bad(obj), "t.json:1:321: nesting deeper than 64 levels");
}

Test(json, every_truncation_fails_cleanly)
{
    const char *doc = "{\"name\": \"ewc \\u00e9\\uD83D\\uDE00\", \"m\": {\"acc\": -1.25e-3,"
                      " \"n\": null, \"ok\": true, \"no\": false}, \"R\": [[1, 2], []]}";
    size_t len = strlen(doc);
    for (size_t n = 0; n < len; n++) {
        char *copy = malloc(n ? n : 1); /* exact size: ASan catches overreads */
        cr_assert_not_null(copy);
        memcpy(copy, doc, n);
        cl_json *j = (cl_json *)1;
        int rc = cl_json_parse(&j, copy, n, "t.json");
        cr_assert_eq(rc, CL_EDATA, "prefix of %zu bytes: rc %d", n, rc);
        cr_assert_null(j);
        cr_assert(strncmp(cl_error_last(), "t.json:1:", 9) == 0, "%s", cl_error_last());
        free(copy);
    }
    cl_json *j = parse_ok(doc);
    cr_assert_str_eq(cl_json_str(cl_json_get(j, "name")), "ewc \xc3\xa9\xf0\x9f\x98\x80");
    cr_assert_eq(cl_json_num(cl_json_path(j, "m.acc")), -1.25e-3);
    cl_json_free(j);
}

Test(json, parse_file)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/clbench_test_json_%ld.json", (long)getpid());
    const char *good = "{\"metrics\": {\"acc\": 0.75}}\n";
    cr_assert_eq(cl_fs_write_atomic(path, good, strlen(good)), 0);
    cl_json *j = NULL;
    cr_assert_eq(cl_json_parse_file(&j, path), 0, "%s", cl_error_last());
    cr_assert_eq(cl_json_num(cl_json_path(j, "metrics.acc")), 0.75);
    cl_json_free(j);

    const char *bad = "{\"metrics\": {\"acc\": 0.75}\n";
    cr_assert_eq(cl_fs_write_atomic(path, bad, strlen(bad)), 0);
    j = (cl_json *)1;
    cr_assert_eq(cl_json_parse_file(&j, path), CL_EDATA);
    cr_assert_null(j);
    char want[160];
    snprintf(want, sizeof want, "%s:2:1: expected ',' or '}' but found end of input", path);
    cr_assert_str_eq(cl_error_last(), want);
    unlink(path);

    j = (cl_json *)1;
    cr_assert_eq(cl_json_parse_file(&j, path), CL_EIO);
    cr_assert_null(j);
}

Test(json, invalid_arguments)
{
    cl_json *j = (cl_json *)1;
    cr_assert_eq(cl_json_parse(NULL, "1", 1, NULL), CL_EINVAL);
    cr_assert_eq(cl_json_parse(&j, NULL, 3, NULL), CL_EINVAL);
    cr_assert_null(j);
    cr_assert_eq(cl_json_parse(&j, NULL, 0, NULL), CL_EDATA);
    cr_assert_str_eq(cl_error_last(), "<json>:1:1: expected a value but found end of input");
    cr_assert_eq(cl_json_parse_file(&j, NULL), CL_EINVAL);
}
