#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "clbench/cli/cliopt.h"
#include "clbench/base/error.h"

int cl_cliopt_whole(long long *out, const char *s, const char *flag, long long lo,
                    long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || (lo >= 0 && s[0] == '-') || v < lo || v > hi)
        return cl_error_set(CL_EINVAL, "%s: '%s' is not a whole number in [%lld, %lld]", flag, s,
                            lo, hi);
    *out = v;
    return 0;
}

/* The whole of s as a double (no trailing text, not out of range). */
static int whole_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *s && !*end && !errno ? 0 : -1;
}

int cl_cliopt_number(double *out, const char *s, const char *flag)
{
    double v;
    if (whole_double(s, &v) || !isfinite(v))
        return cl_error_set(CL_EINVAL, "%s: '%s' is not a number", flag, s);
    *out = v;
    return 0;
}

int cl_cliopt_level(double *out, const char *s, const char *flag)
{
    double v;
    if (whole_double(s, &v) || !(v > 0 && v < 1))
        return cl_error_set(CL_EINVAL, "%s: '%s' is not a confidence in (0, 1)", flag, s);
    *out = v;
    return 0;
}

void cl_cliopt_start(void)
{
    optind = 1;
    opterr = 0;
}

int cl_cliopt_next(int argc, char **argv, const char *optstring, const struct option *longs)
{
    int c = getopt_long(argc, argv, optstring, longs, NULL);
    if (c != -1 && optarg && optarg[0] == '-' && optarg[1] == '-') {
        optind--; /* read that word again, as an option */
        return ':';
    }
    return c;
}

int cl_cliopt_error(int c, char **argv)
{
    const char *word = argv[optind - 1];
    if (c == ':') return cl_error_set(CL_EINVAL, "option '%s' needs a value", word);
    /* optopt is the letter of an unknown short option, possibly grouped
     * ("-qx"), where the word would be wrong; a long option is named as
     * typed, even one that set optopt by taking a value it has none for. */
    if (optopt && !(word[0] == '-' && word[1] == '-'))
        return cl_error_set(CL_EINVAL, "unknown option '-%c'", optopt);
    return cl_error_set(CL_EINVAL, "unknown option '%s'", word);
}
