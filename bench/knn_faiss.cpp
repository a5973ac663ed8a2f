// Episodic retrieval: cl_knn_search (the search episodic.c runs) against
// FAISS IndexFlatL2 (exact L2, its BLAS path for batches of >= 20 queries)
// in one process on the same data, threads and BLAS. Keys and queries are
// Gaussian, 128 features (episodic's default key_dim); each search is a
// batch of 128 queries for the K = 32 nearest. The neighbour lists are
// compared: any difference must be a swap of keys whose distances tie to
// float rounding.
//
// usage: knn_faiss N_KEYS THREADS [BATCHES REPS]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
#include <omp.h>
#include <faiss/IndexFlat.h>

extern "C" {
#include <cblas.h>
#include "clbench/base/error.h"
#include "clbench/nn/knn.h"
}
#include "bench.h"

namespace {

constexpr int DIM = 128, K = 32, QB = 128;

struct Data {
    int n, batches;
    std::vector<float> keys, norms, queries; // (n, DIM), (n), (batches * QB, DIM)
};

double time_clbench(const Data &d, cl_knn *s, std::vector<int> &idx, std::vector<float> &dist)
{
    double t0 = bench_now();
    for (int b = 0; b < d.batches; b++) {
        int rc = cl_knn_search(s, d.queries.data() + (size_t)b * QB * DIM, QB, d.keys.data(),
                               d.norms.data(), d.n, nullptr, K, idx.data() + (size_t)b * QB * K,
                               dist.data() + (size_t)b * QB * K);
        if (rc < 0) {
            std::fprintf(stderr, "bench: cl_knn_search: %s\n", cl_error_last());
            std::exit(1);
        }
    }
    return bench_now() - t0;
}

double time_faiss(const Data &d, faiss::IndexFlatL2 &index, std::vector<faiss::Index::idx_t> &idx,
                  std::vector<float> &dist)
{
    double t0 = bench_now();
    for (int b = 0; b < d.batches; b++)
        index.search(QB, d.queries.data() + (size_t)b * QB * DIM, K,
                     dist.data() + (size_t)b * QB * K, idx.data() + (size_t)b * QB * K);
    return bench_now() - t0;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: knn_faiss N_KEYS THREADS [BATCHES REPS]\n");
        return 2;
    }
    Data d;
    d.n = std::atoi(argv[1]);
    int threads = std::atoi(argv[2]);
    d.batches = argc > 3 ? std::atoi(argv[3]) : 20;
    int reps = argc > 4 ? std::atoi(argv[4]) : 5;
    openblas_set_num_threads(threads);
    omp_set_num_threads(threads);

    std::mt19937 gen(7);
    std::normal_distribution<float> g;
    d.keys.resize((size_t)d.n * DIM);
    d.queries.resize((size_t)d.batches * QB * DIM);
    for (float &v : d.keys) v = g(gen);
    for (float &v : d.queries) v = g(gen);
    d.norms.resize(d.n);
    cl_knn_norms(d.keys.data(), d.n, DIM, d.norms.data());

    cl_knn *s;
    if (cl_knn_new(&s, DIM, 0, 0)) return 1;
    faiss::IndexFlatL2 index(DIM);
    index.add(d.n, d.keys.data());

    size_t out = (size_t)d.batches * QB * K;
    std::vector<int> ci(out);
    std::vector<float> cd(out), fd(out);
    std::vector<faiss::Index::idx_t> fi(out);
    // Interleaved repetitions, so both see the same machine load; best kept.
    double best_c = 1e300, best_f = 1e300;
    time_clbench(d, s, ci, cd);
    time_faiss(d, index, fi, fd);
    for (int r = 0; r < reps; r++) {
        best_c = std::fmin(best_c, time_clbench(d, s, ci, cd));
        best_f = std::fmin(best_f, time_faiss(d, index, fi, fd));
    }

    // Equal results: the same key at every rank, except keys whose
    // distances agree to float rounding (then only their order may differ).
    long same = 0, tied = 0, differ = 0;
    double max_rel = 0.0;
    for (size_t i = 0; i < out; i++) {
        double rel = std::fabs(cd[i] - fd[i]) / std::fmax(1e-30, std::fabs((double)fd[i]));
        max_rel = std::fmax(max_rel, rel);
        if (ci[i] == fi[i]) same++;
        else if (rel < 1e-5) tied++;
        else differ++;
    }
    double q = (double)d.batches * QB;
    std::printf("keys %d\nthreads %d\nqueries %.0f\nk %d\ndim %d\n", d.n, threads, q, K, DIM);
    std::printf("clbench_s %.9g\nclbench_qps %.6g\n", best_c / d.batches, q / best_c);
    std::printf("faiss_s %.9g\nfaiss_qps %.6g\n", best_f / d.batches, q / best_f);
    std::printf("same %ld\ntied %ld\ndiffer %ld\nmax_rel_dist %.3g\n", same, tied, differ, max_rel);
    cl_knn_free(s);
    return differ ? 3 : 0;
}
