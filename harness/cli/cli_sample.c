/* clbench sample NET_FILE: continue a prompt with a trained byte-level
 * network, so a user can read what the model learned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/cli/cli.h"
#include "clbench/cli/cliopt.h"
#include "clbench/base/error.h"
#include "clbench/base/rng.h"
#include "clbench/nn/generate.h"
#include "clbench/nn/net.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: clbench sample NET_FILE [--prompt TEXT] [--bytes N] [--temperature T]\n"
        "                      [--seed S]\n"
        "\n"
        "  NET_FILE       a network saved by a text run (net.bin in its results folder)\n"
        "  --prompt TEXT  the text to continue (default \"The \")\n"
        "  --bytes N      bytes to generate, 1-1000000 (default 200)\n"
        "  --temperature T  0 = greedy (default), else sample softmax(logits / T)\n"
        "  --seed S       seed of the sampling (default 1)\n"
        "\n"
        "Prints the prompt and its continuation, raw bytes, on stdout.\n"
        "exit codes: 0 ok, 1 runtime failure, 2 usage or input error\n");
}

static int fail(const char *msg)
{
    fprintf(stderr, "clbench sample: %s\n", msg);
    return 2;
}

int cl_cli_sample(int argc, char **argv)
{
    static const struct option opts[] = {
        {"prompt", required_argument, 0, 'p'},
        {"bytes", required_argument, 0, 'n'},
        {"temperature", required_argument, 0, 't'},
        {"seed", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *prompt = "The ";
    long long n_new = 200, seed = 1;
    double temp = 0.0;
    int c;
    cl_cliopt_start();
    while ((c = cl_cliopt_next(argc, argv, ":h", opts)) != -1) {
        int bad = 0;
        switch (c) {
        case 'p': prompt = optarg; break;
        case 'n': bad = cl_cliopt_whole(&n_new, optarg, "--bytes", 1, 1000000); break;
        case 's': bad = cl_cliopt_whole(&seed, optarg, "--seed", 0, 4294967295LL); break;
        case 't':
            bad = cl_cliopt_number(&temp, optarg, "--temperature");
            if (!bad && (temp < 0 || temp > 100))
                bad = cl_error_set(CL_EINVAL, "--temperature: '%s' is not in [0, 100]", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: bad = cl_cliopt_error(c, argv); break;
        }
        if (bad) return fail(cl_error_last());
    }
    if (optind + 1 != argc)
        return fail("expected one NET_FILE (see clbench sample --help)");
    if (!*prompt) return fail("--prompt: empty (give at least one byte)");
    cl_net *net;
    int rc = cl_net_load(&net, argv[optind], NULL);
    if (rc) return fail(cl_error_last());
    gsl_rng *rng = NULL;
    unsigned char *out = malloc((size_t)n_new);
    rc = out ? cl_rng_new(&rng, (unsigned long)seed, CL_RNG_STRATEGY)
             : cl_error_set(CL_ENOMEM, "out of memory");
    if (rc == 0)
        rc = cl_generate(net, (const unsigned char *)prompt, strlen(prompt), (size_t)n_new, temp,
                         rng, out);
    if (rc == 0) {
        fwrite(prompt, 1, strlen(prompt), stdout);
        fwrite(out, 1, (size_t)n_new, stdout);
        fputc('\n', stdout);
    } else {
        fprintf(stderr, "clbench sample: %s\n", cl_error_last());
    }
    free(out);
    if (rng) gsl_rng_free(rng);
    cl_net_free(net);
    return rc == 0 ? 0 : rc == CL_EINVAL || rc == CL_EDATA ? 2 : 1;
}
