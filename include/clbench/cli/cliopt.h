/* Option parsing shared by the command-line front ends (harness/cli/cli_*.c):
 * numeric option values checked with one wording, and the getopt_long
 * corner cases each front end meets. Nothing here prints: the checks return
 * 0 or CL_EINVAL with a one-line message naming the option
 * (cl_error_last), which the front end prints behind its own prefix. */
#ifndef CLBENCH_CLIOPT_H
#define CLBENCH_CLIOPT_H

#include <getopt.h>

/* s as a whole number in [lo, hi]; else "FLAG: 'S' is not a whole number
 * in [LO, HI]". A minus sign is refused when lo >= 0, so "-0" is no count. */
int cl_cliopt_whole(long long *out, const char *s, const char *flag, long long lo,
                    long long hi);
/* s as a finite number; else "FLAG: 'S' is not a number". */
int cl_cliopt_number(double *out, const char *s, const char *flag);
/* s as a confidence level, strictly between 0 and 1; else "FLAG: 'S' is
 * not a confidence in (0, 1)". */
int cl_cliopt_level(double *out, const char *s, const char *flag);

/* Starts a getopt_long scan of argv: from argv[1], and silent (opterr 0),
 * so the front end words the errors. Its optstring should start with ':'
 * so that a missing value (':') is told from an unknown option ('?'). */
void cl_cliopt_start(void);
/* getopt_long, except that an option word is never taken as the value of
 * the option before it: in `--seed --out x` getopt would read "--out" as
 * the seed; here --seed is reported as lacking its value (':') and "--out"
 * is read next as the option it is. */
int cl_cliopt_next(int argc, char **argv, const char *optstring, const struct option *longs);
/* After getopt_long returned ':' or '?': "option '--seed' needs a value"
 * or "unknown option '-x'" (the word as typed, or the single letter of an
 * unknown short option among others); always CL_EINVAL. */
int cl_cliopt_error(int c, char **argv);

#endif
