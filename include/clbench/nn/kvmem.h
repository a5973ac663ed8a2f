/* A key-value episodic memory: training samples (x, y, task), each with a
 * key, looked up by nearest keys. The store of the episodic strategy
 * (MbPA++, de Masson d'Autume et al. 2019).
 *
 * Writing. An input already in memory is not stored twice (dedupe):
 * clbench streams repeat their data every epoch, whereas MbPA++ sees each
 * example once; a repeat with a new label overwrites the stored label and
 * task (the newest fact wins). Past cap, reservoir sampling (Vitter's R
 * over distinct samples) keeps a uniform sample of the stream. The arrays
 * grow by doubling up to cap, so steady-state writes allocate nothing.
 *
 * Keys. MbPA++ keys a sample by a frozen pretrained BERT. There is no
 * pretrained encoder here, and a learning network's own features drift as
 * it trains, which would leave old keys stale. The key is therefore a
 * frozen random projection of the input, drawn once at init: key_dim
 * Gaussian rows, orthonormalised and scaled by sqrt(d / key_dim), so
 * squared distances are preserved in expectation (Johnson-Lindenstrauss)
 * and exactly when key_dim = d (a rotation).
 *
 * Ownership. The struct is embedded by its owner (cl_kvmem_init /
 * cl_kvmem_release); every array below is owned by it and may move when the
 * memory grows, so callers hold slot numbers, never pointers into it. The
 * fields are read-only outside harness/nn/kvmem.c. */
#ifndef CLBENCH_KVMEM_H
#define CLBENCH_KVMEM_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "clbench/store/ckpt.h"
#include "clbench/nn/knn.h"
#include "clbench/store/rowpack.h"

typedef struct cl_kvmem {
    /* tests/test_episodic.c reads the memory in place: the episodic
     * context embeds it first. */
    int n;             /* samples stored, slots [0, n) */
    int d;             /* input features */
    int key_dim;       /* key features, <= d */
    cl_rowpack x;      /* rows stored inputs, a byte per value while they fit */
    float *keys;       /* (rows, key_dim) proj x, written with the sample */
    int *y;            /* (rows) labels */
    int *task;         /* (rows) task each sample came from */

    int cap;           /* most samples held */
    int rows;          /* allocated rows of the per-sample arrays, <= cap */
    long seen;         /* distinct samples offered to the reservoir */
    float write_prob;  /* probability that a write is attempted at all */
    int dedupe;        /* store an input once */
    float *knorm;      /* (rows) squared key norms for cl_knn_search */
    float *proj;       /* (key_dim, d) frozen projection */

    /* Dedupe index: chained hash of the stored inputs. */
    uint64_t *hash;    /* (rows) FNV-1a of each stored input */
    int *next;         /* (rows) next slot of the same bucket, -1 ends */
    int *head;         /* (n_buckets) first slot of a bucket, -1 empty */
    int n_buckets;     /* power of two >= rows */

    /* Lookup and sampling scratch. */
    int *scratch;          /* (rows) index permutation for cl_kvmem_sample */
    unsigned char *allow;  /* (rows) items a search may return */
    float *qkeys;          /* (qcap, key_dim) keys of the last searched queries */
    int qcap;
    cl_knn *knn;           /* search workspace */
} cl_kvmem;

/* Sets up an empty memory of at most cap samples of d features with keys of
 * min(key_dim, d) features, drawing the projection from rng; pack != 0
 * holds the inputs a byte per value while they take at most 256 distinct
 * values (rowpack.h). On failure m holds nothing (cl_kvmem_release is
 * still safe). */
int cl_kvmem_init(cl_kvmem *m, int cap, int d, int key_dim, float write_prob, int dedupe,
                  int pack, gsl_rng *rng);
/* Frees what m holds; safe on a zeroed or released struct. */
void cl_kvmem_release(cl_kvmem *m);

/* Offers x (d) with label y from task `task`: written with probability
 * write_prob, deduplicated, then appended or reservoir-sampled. Adds the
 * FLOPs of computing its key to *flops. rng decides write_prob and the
 * reservoir slot. */
int cl_kvmem_write(cl_kvmem *m, const float *x, int y, int task, gsl_rng *rng, double *flops);

/* Draws min(want, n) distinct stored samples uniformly, in draw order, into
 * x (want, d), y (want) and task (want); returns how many were drawn. */
int cl_kvmem_sample(cl_kvmem *m, int want, gsl_rng *rng, float *x, int *y, int *task);

/* Keys of the nq queries x (nq, d) (one sgemm) and each query's K nearest
 * stored items by key: rows of nbr (nq, K) and dist (nq, K) as
 * cl_knn_search writes them. class_mask (n_classes) or NULL: only items
 * whose label it allows. Adds the projection's and the search's FLOPs to
 * *flops. Returns the neighbours found per query or a negative CL_E*. */
int cl_kvmem_search(cl_kvmem *m, const float *x, int nq, const unsigned char *class_mask, int K,
                    int *nbr, float *dist, double *flops);

/* Bytes held for the stored samples: inputs (as held: packed or floats), labels, task ids, keys, key
 * norms and the dedupe index, plus the projection (not the slack of the
 * growable arrays, nor scratch). */
size_t cl_kvmem_bytes(const cl_kvmem *m);

/* Checkpoints: the samples with their keys and norms, the allocated rows,
 * the reservoir count and the projection. The dedupe hashes and chains are
 * rebuilt from the inputs in slot order (chain order never changes a
 * result). load needs a fresh memory of the same cap, d and key_dim; the
 * caller checks labels and tasks against its own tables. */
void cl_kvmem_save(const cl_kvmem *m, cl_ckpt_writer *w);
int cl_kvmem_load(cl_kvmem *m, cl_ckpt_reader *r);

#endif
