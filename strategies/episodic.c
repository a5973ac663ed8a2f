/* episodic: a key-value episodic memory with sparse experience replay and
 * local adaptation at prediction, after MbPA++ (de Masson d'Autume et al.
 * 2019, "Episodic Memory in Lifelong Language Learning").
 *
 * Writing. Every training sample is written (with probability write_prob)
 * as (key, x, y, task). An input already in memory is not stored twice
 * (dedupe): clbench streams repeat their data every epoch, whereas MbPA++
 * sees each example once; a repeat with a new label overwrites the stored
 * label (the newest fact wins). Past memory_size, reservoir sampling
 * (Vitter's R over distinct samples) keeps a uniform sample of the stream.
 *
 * Keys. MbPA++ keys a sample by a frozen pretrained BERT. There is no
 * pretrained encoder here, and the learning network's own features drift
 * as it trains, which would leave old keys stale. The key is therefore a
 * frozen random projection of the input, drawn once at create: key_dim
 * Gaussian rows, orthonormalised and scaled by sqrt(d / key_dim), so
 * squared distances are preserved in expectation (Johnson-Lindenstrauss)
 * and exactly when key_dim = d (a rotation). key_dim is clamped to d.
 *
 * Replay. Every replay_every steps one extra training step on replay_batch
 * samples drawn uniformly from memory. MbPA++ replays 100 samples per
 * 10,000 seen, 1% of the stream; with the default replay_batch (the stream
 * batch B) one replay step every 100 steps is the same rate.
 *
 * Prediction. For each query: its K nearest keys (one sgemm per batch of
 * queries, harness/knn.c); a throw-away copy of the top adapt_layers
 * layers trained for L steps of SGD on the mean cross-entropy of the K
 * neighbours + adapt_lambda * ||theta - theta_base||^2; the query's logits
 * from the adapted copy. The features of memory items below the adapted
 * layers are computed once per prediction phase and cached until the next
 * observe / task_begin / task_end.
 *
 * Adapting the last layer only (the default) runs in a dual form: every
 * step's update is dZ^T F (F the neighbours' features), and so is the
 * penalty's pull back, so W - W_base stays A F for a (C, K) matrix A and
 * the L steps need only the Gram matrix F F^T: O(C K^2) per step instead of
 * O(C K h). It is the same gradient descent in exact arithmetic
 * (adapt_form=primal runs it literally; the tests check they agree).
 *
 * Scenarios. In the task scenario only memory items of the query's classes
 * are retrieved (b->mask), and the adaptation loss and prediction use that
 * mask. In class and domain, neighbours come from every task. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "clbench/error.h"
#include "clbench/knn.h"
#include "clbench/loss.h"
#include "clbench/rng.h"
#include "clbench/strategy.h"

#define CACHE_CHUNK 256 /* memory items per forward when filling the cache */

static const cl_param_spec episodic_params[] = {
    {"memory_size", CL_PARAM_INT, "10000", 1, 100000000, NULL,
     "samples the memory holds; past it reservoir sampling keeps a uniform sample"},
    {"write_prob", CL_PARAM_FLOAT, "1", 0, 1, NULL,
     "probability of writing a training sample (MbPA++ writes every one: 1)"},
    {"dedupe", CL_PARAM_BOOL, "true", 0, 0, NULL,
     "store an input once; a repeat with a new label overwrites the stored label"},
    {"key_dim", CL_PARAM_INT, "128", 1, 65536, NULL,
     "dimensions of the frozen random-projection keys (clamped to the input size)"},
    {"replay_every", CL_PARAM_INT, "100", 0, 100000000, NULL,
     "steps between sparse replay steps, 0 = no replay (100 at batch B: MbPA++'s 1% rate)"},
    {"replay_batch", CL_PARAM_INT, "0", 0, 65536, NULL,
     "samples per replay step; 0 = as many as the stream batch"},
    {"k", CL_PARAM_INT, "32", 1, 4096, NULL, "neighbours retrieved per query (MbPA++: 32)"},
    {"adapt_steps", CL_PARAM_INT, "30", 0, 100000, NULL,
     "local adaptation steps L per query (MbPA++: 30); 0 = no adaptation"},
    {"adapt_lr", CL_PARAM_FLOAT, "0.01", 0, 100, NULL,
     "SGD learning rate of local adaptation (seq-tasks class acc is flat within 1% over "
     "0.003-0.05)"},
    {"adapt_lambda", CL_PARAM_FLOAT, "0.001", 0, 1000000, NULL,
     "weight of ||theta - theta_base||^2 in local adaptation (MbPA++: 1e-3)"},
    {"adapt_layers", CL_PARAM_INT, "1", 1, CL_MODEL_MAX_LAYERS, NULL,
     "top layers adapted per query (1 = the output layer)"},
    {"adapt_form", CL_PARAM_CHOICE, "dual", 0, 0, "dual|primal",
     "dual: exact kernel form of output-layer adaptation (fast); primal: literal SGD on a "
     "copy (always used when adapt_layers > 1)"},
    {"knn_mix", CL_PARAM_FLOAT, "0", 0, 1, NULL,
     "alpha in p = (1-alpha) p_model + alpha p_knn (distance-weighted neighbour labels); "
     "> 0 makes predict return log p"},
    {"adapt_anytime", CL_PARAM_BOOL, "false", 0, 0, NULL,
     "adapt during anytime-curve evaluations too; false: the curve uses the base network "
     "(+ knn_mix), R always adapts"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct episodic {
    /* Leading members, read by tests/test_episodic.c through a mirror
     * struct: keep them first and in this order. */
    int n;             /* samples stored */
    int d;             /* input features */
    int key_dim;       /* key features */
    float *x;          /* (rows, d) stored inputs */
    float *keys;       /* (rows, key_dim) proj x, written with the sample */
    int *y;            /* (rows) */
    int *task;         /* (rows) task each sample came from */

    gsl_rng *rng;      /* not owned */
    cl_strategy_env env;
    int cap;           /* memory_size */
    int rows;          /* allocated rows of the memory arrays, <= cap */
    long seen;         /* distinct samples offered to the reservoir */
    float write_prob;
    int dedupe;
    float *knorm;      /* (rows) squared key norms for cl_knn_search */
    float *proj;       /* (key_dim, d) frozen projection */

    /* Dedupe index: chained hash of the stored inputs. */
    uint64_t *hash;    /* (rows) FNV-1a of each stored input */
    int *next;         /* (rows) next slot of the same bucket, -1 ends */
    int *head;         /* (n_buckets) first slot of a bucket, -1 empty */
    int n_buckets;     /* power of two >= rows */

    /* Sparse replay. */
    int replay_every, replay_batch;
    long steps;
    int rcap;                 /* rows of the replay buffers */
    float *rx;                /* (rcap, d) */
    int *ry, *rtask;          /* (rcap) */
    unsigned char *rmasks;    /* (rcap, n_classes) per-row masks, task scenario */
    int *scratch;             /* (rows) index scratch for sampling */
    unsigned char *task_masks; /* (n_tasks, n_classes) classes of each task seen */
    unsigned char *task_seen;  /* (n_tasks) */

    /* Prediction settings. */
    int K, L, adapt_layers, primal, adapt_anytime;
    float lr, lambda, knn_mix;
    int fl;            /* layer whose output feeds the adapted layers (0 = input) */
    int h;             /* width of that feature */

    /* Prediction cache, valid from the first predict after a training
     * call until the next one. */
    int cache_valid;
    int cache_rows;    /* allocated rows of feat and zmem */
    float *feat;       /* (cache_rows, h) memory features at layer fl (fl > 0) */
    float *zmem;       /* (cache_rows, C) memory logits under the base network */

    /* Prediction scratch, grown to the largest query batch. */
    cl_knn *knn;
    int qcap;
    float *qkeys;          /* (qcap, key_dim) */
    int *nbr;              /* (qcap, K) neighbour slots */
    float *ndist;          /* (qcap, K) their squared key distances */
    unsigned char *allow;  /* (rows) memory items of the query's classes */
    float *F;              /* (K, h) one query's neighbour features */
    float *G;              /* (K, K) their Gram matrix F F^T */
    float *gq;             /* (K) F f_q */
    float *colmax, *colsum; /* (K) softmax scratch */
    float *z0t, *zt, *pt;  /* (C, K) base logits, logits, transposed; pt: dZ scratch */
    float *A;              /* (C, K) W - W_base = A F */
    float *db;             /* (C) b - b_base */
    int *ny;               /* (K) neighbour labels */
    float *prob;           /* (C) model probabilities, kNN mixing */
    float *pknn;           /* (C) neighbour label weights, kNN mixing */
    cl_model *headnet;     /* primal: the adapted layers, reset per query */

    double replay_flops, adapt_flops, retrieval_flops;
} episodic;

/* Box-Muller: gsl_randist.h drags in GSL's CBLAS, which clashes with
 * OpenBLAS's cblas.h in one translation unit. */
static double gaussian(gsl_rng *rng)
{
    return sqrt(-2.0 * log(gsl_rng_uniform_pos(rng))) * cos(6.283185307179586 * gsl_rng_uniform(rng));
}

/* proj (k, d), k <= d: Gaussian rows made orthonormal by Gram-Schmidt
 * (twice, for stability, in double) and scaled by sqrt(d / k), so that
 * E ||P x||^2 = ||x||^2 and P is a scaled rotation when k = d. */
static int draw_projection(float *proj, int k, int d, gsl_rng *rng)
{
    double *g = malloc((size_t)k * d * sizeof *g);
    if (!g) return cl_error_set(CL_ENOMEM, "out of memory");
    double scale = sqrt((double)d / k);
    for (int r = 0; r < k; r++) {
        double *row = g + (size_t)r * d, norm = 0.0;
        do {
            for (int j = 0; j < d; j++) row[j] = gaussian(rng);
            for (int pass = 0; pass < 2; pass++)
                for (int q = 0; q < r; q++) {
                    const double *prev = g + (size_t)q * d;
                    double dot = 0.0;
                    for (int j = 0; j < d; j++) dot += row[j] * prev[j];
                    for (int j = 0; j < d; j++) row[j] -= dot * prev[j];
                }
            norm = 0.0;
            for (int j = 0; j < d; j++) norm += row[j] * row[j];
            norm = sqrt(norm);
        } while (norm < 1e-6); /* a draw inside the span so far: redraw */
        for (int j = 0; j < d; j++) row[j] /= norm;
        for (int j = 0; j < d; j++) proj[(size_t)r * d + j] = (float)(row[j] * scale);
    }
    free(g);
    return 0;
}

static void episodic_destroy(void *ctx)
{
    episodic *e = ctx;
    if (!e) return;
    void *bufs[] = {e->x, e->keys, e->y, e->task, e->knorm, e->proj, e->hash, e->next,
                    e->head, e->rx, e->ry, e->rtask, e->rmasks, e->scratch, e->task_masks,
                    e->task_seen, e->feat, e->zmem, e->qkeys, e->nbr, e->ndist, e->allow,
                    e->F, e->G, e->gq, e->z0t, e->zt, e->pt, e->A, e->db, e->ny, e->prob, e->pknn, e->colmax, e->colsum};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    cl_knn_free(e->knn);
    cl_model_free(e->headnet);
    free(e);
}

/* The adapted layers as a model of their own: same shapes, so its
 * parameter block is the tail of net's block from layer fl on. Its initial
 * weights are overwritten per query, so they come from a throw-away
 * generator rather than the strategy's stream (which would make the primal
 * form sample memory differently from the dual one). */
static int make_head(episodic *e, const cl_model *net)
{
    long hidden[CL_MODEL_MAX_LAYERS];
    int nh = 0;
    for (int l = e->fl + 1; l < net->n_layers; l++) hidden[nh++] = net->sizes[l];
    cl_optim_config sgd = {.kind = CL_OPTIM_SGD, .lr = e->lr};
    gsl_rng *tmp;
    int rc = cl_rng_new(&tmp, 0, CL_RNG_INIT);
    if (rc) return rc;
    rc = cl_model_new(&e->headnet, net->sizes[e->fl], hidden, nh, net->sizes[net->n_layers],
                      &sgd, tmp);
    gsl_rng_free(tmp);
    if (rc) return rc;
    CL_ASSERT(e->headnet->n_params == net->n_params - net->layers[e->fl].offset);
    return 0;
}

static int alloc_predict_scratch(episodic *e)
{
    int K = e->K, C = e->env.n_classes;
    e->F = malloc((size_t)K * e->h * sizeof *e->F);
    e->G = malloc((size_t)K * K * sizeof *e->G);
    e->gq = malloc((size_t)K * sizeof *e->gq);
    e->colmax = malloc((size_t)K * sizeof *e->colmax);
    e->colsum = malloc((size_t)K * sizeof *e->colsum);
    e->z0t = malloc((size_t)C * K * sizeof *e->z0t);
    e->zt = malloc((size_t)C * K * sizeof *e->zt);
    e->pt = malloc((size_t)C * K * sizeof *e->pt);
    e->A = malloc((size_t)C * K * sizeof *e->A);
    e->db = malloc((size_t)C * sizeof *e->db);
    e->ny = malloc((size_t)K * sizeof *e->ny);
    e->prob = malloc((size_t)C * sizeof *e->prob);
    e->pknn = malloc((size_t)C * sizeof *e->pknn);
    if (!e->F || !e->G || !e->gq || !e->colmax || !e->colsum || !e->z0t || !e->zt || !e->pt || !e->A || !e->db || !e->ny ||
        !e->prob || !e->pknn)
        return cl_error_set(CL_ENOMEM, "out of memory");
    return 0;
}

static void read_params(episodic *e, const cl_params *p)
{
    e->cap = (int)cl_params_int(p, "memory_size");
    e->write_prob = (float)cl_params_float(p, "write_prob");
    e->dedupe = cl_params_bool(p, "dedupe");
    e->replay_every = (int)cl_params_int(p, "replay_every");
    e->replay_batch = (int)cl_params_int(p, "replay_batch");
    e->K = (int)cl_params_int(p, "k");
    e->L = (int)cl_params_int(p, "adapt_steps");
    e->lr = (float)cl_params_float(p, "adapt_lr");
    e->lambda = (float)cl_params_float(p, "adapt_lambda");
    e->adapt_layers = (int)cl_params_int(p, "adapt_layers");
    e->primal = strcmp(cl_params_choice(p, "adapt_form"), "primal") == 0;
    e->knn_mix = (float)cl_params_float(p, "knn_mix");
    e->adapt_anytime = cl_params_bool(p, "adapt_anytime");
}

static int episodic_create(void **out, const cl_params *p, const cl_strategy_env *env,
                           const cl_model *net, gsl_rng *rng)
{
    *out = NULL;
    episodic *e = calloc(1, sizeof *e);
    if (!e) return cl_error_set(CL_ENOMEM, "out of memory");
    e->rng = rng;
    e->env = *env;
    e->d = env->d;
    read_params(e, p);
    long kd = cl_params_int(p, "key_dim");
    e->key_dim = kd < env->d ? (int)kd : env->d;
    if (e->adapt_layers > net->n_layers) {
        int n_layers = net->n_layers, want = e->adapt_layers;
        episodic_destroy(e);
        return cl_error_set(CL_EINVAL, "episodic.adapt_layers=%d but the network has %d layers",
                            want, n_layers);
    }
    int rc = 0;
    e->fl = net->n_layers - e->adapt_layers;
    e->h = net->sizes[e->fl];
    if (e->adapt_layers > 1) e->primal = 1;
    e->proj = malloc((size_t)e->key_dim * e->d * sizeof *e->proj);
    e->task_masks = calloc((size_t)env->n_tasks * env->n_classes, 1);
    e->task_seen = calloc((size_t)env->n_tasks, 1);
    if (!rc && (!e->proj || !e->task_masks || !e->task_seen))
        rc = cl_error_set(CL_ENOMEM, "out of memory");
    if (!rc) rc = draw_projection(e->proj, e->key_dim, e->d, rng);
    if (!rc) rc = cl_knn_new(&e->knn, e->key_dim, 0, 0);
    if (!rc) rc = alloc_predict_scratch(e);
    if (!rc && e->primal) rc = make_head(e, net);
    if (rc) {
        episodic_destroy(e);
        return rc;
    }
    *out = e;
    return 0;
}

/* ---- memory ---------------------------------------------------------- */

static uint64_t fnv1a(const float *x, int d)
{
    const unsigned char *p = (const unsigned char *)x;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < (size_t)d * sizeof(float); i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int bucket_of(const episodic *e, uint64_t h) { return (int)(h & (uint64_t)(e->n_buckets - 1)); }

static void hash_link(episodic *e, int slot)
{
    int b = bucket_of(e, e->hash[slot]);
    e->next[slot] = e->head[b];
    e->head[b] = slot;
}

static void hash_unlink(episodic *e, int slot)
{
    int *p = &e->head[bucket_of(e, e->hash[slot])];
    while (*p != slot) {
        CL_ASSERT(*p >= 0);
        p = &e->next[*p];
    }
    *p = e->next[slot];
}

/* The slot holding input x (hash h), or -1. */
static int hash_find(const episodic *e, const float *x, uint64_t h)
{
    for (int s = e->head[bucket_of(e, h)]; s >= 0; s = e->next[s])
        if (e->hash[s] == h && memcmp(e->x + (size_t)s * e->d, x, (size_t)e->d * sizeof *x) == 0)
            return s;
    return -1;
}

static int grow_one(void **p, size_t bytes)
{
    void *q = realloc(*p, bytes);
    if (!q) return cl_error_set(CL_ENOMEM, "out of memory growing the episodic memory");
    *p = q;
    return 0;
}

/* Sizes the memory arrays to `rows` (>= n) and rebuilds the hash buckets
 * for the new size. */
static int resize_memory(episodic *e, int rows)
{
    size_t r = (size_t)rows;
    int rc = grow_one((void **)&e->x, r * e->d * sizeof(float));
    if (!rc) rc = grow_one((void **)&e->keys, r * e->key_dim * sizeof(float));
    if (!rc) rc = grow_one((void **)&e->y, r * sizeof(int));
    if (!rc) rc = grow_one((void **)&e->task, r * sizeof(int));
    if (!rc) rc = grow_one((void **)&e->knorm, r * sizeof(float));
    if (!rc) rc = grow_one((void **)&e->hash, r * sizeof(uint64_t));
    if (!rc) rc = grow_one((void **)&e->next, r * sizeof(int));
    if (!rc) rc = grow_one((void **)&e->scratch, r * sizeof(int));
    if (!rc) rc = grow_one((void **)&e->allow, r);
    int nb = 1;
    while (nb < rows) nb *= 2;
    if (!rc) rc = grow_one((void **)&e->head, (size_t)nb * sizeof(int));
    if (rc) return rc;
    e->rows = rows;
    e->n_buckets = nb;
    for (int b = 0; b < nb; b++) e->head[b] = -1;
    for (int s = 0; s < e->n; s++) hash_link(e, s);
    return 0;
}

/* Doubles the memory arrays (up to cap); rare, so steady-state writes
 * allocate nothing. */
static int grow_memory(episodic *e)
{
    long want = e->rows ? 2L * e->rows : 1024;
    return resize_memory(e, want < e->cap ? (int)want : e->cap);
}

/* Stores (x, y, task) in slot, with its key. */
static void put(episodic *e, int slot, const float *x, int y, int task, uint64_t h)
{
    memcpy(e->x + (size_t)slot * e->d, x, (size_t)e->d * sizeof *x);
    e->y[slot] = y;
    e->task[slot] = task;
    float *key = e->keys + (size_t)slot * e->key_dim;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, e->key_dim, e->d, 1.0f, e->proj, e->d, x, 1,
                0.0f, key, 1);
    cl_knn_norms(key, 1, e->key_dim, &e->knorm[slot]);
    e->retrieval_flops += 2.0 * e->key_dim * e->d + 2.0 * e->key_dim;
    e->hash[slot] = h;
    hash_link(e, slot);
}

static int write_sample(episodic *e, const float *x, int y, int task)
{
    if (e->write_prob < 1.0f && gsl_rng_uniform(e->rng) >= e->write_prob) return 0;
    uint64_t h = fnv1a(x, e->d);
    if (e->dedupe && e->n > 0) {
        int s = hash_find(e, x, h);
        if (s >= 0) {
            e->y[s] = y;
            e->task[s] = task;
            return 0;
        }
    }
    int slot;
    if (e->n < e->cap) {
        if (e->n == e->rows) {
            int rc = grow_memory(e);
            if (rc) return rc;
        }
        slot = e->n++;
    } else {
        unsigned long j = cl_rng_below(e->rng, (unsigned long)e->seen + 1);
        e->seen++;
        if (j >= (unsigned long)e->cap) return 0;
        slot = (int)j;
        hash_unlink(e, slot);
        put(e, slot, x, y, task, h);
        return 0;
    }
    e->seen++;
    put(e, slot, x, y, task, h);
    return 0;
}

/* ---- training -------------------------------------------------------- */

static int episodic_task_begin(void *ctx, cl_model *net, const cl_task *t)
{
    (void)net;
    episodic *e = ctx;
    CL_ASSERT(t->id >= 0 && t->id < e->env.n_tasks);
    e->cache_valid = 0;
    if (!e->task_seen[t->id]) {
        e->task_seen[t->id] = 1;
        memcpy(e->task_masks + (size_t)t->id * e->env.n_classes, t->classes,
               (size_t)e->env.n_classes);
    }
    return 0;
}

static int reserve_replay(episodic *e, int rows)
{
    if (rows <= e->rcap) return 0;
    int rc = grow_one((void **)&e->rx, (size_t)rows * e->d * sizeof(float));
    if (!rc) rc = grow_one((void **)&e->ry, (size_t)rows * sizeof(int));
    if (!rc) rc = grow_one((void **)&e->rtask, (size_t)rows * sizeof(int));
    if (!rc) rc = grow_one((void **)&e->rmasks, (size_t)rows * e->env.n_classes);
    if (rc) return rc;
    e->rcap = rows;
    return 0;
}

/* One training step on m samples drawn uniformly without replacement from
 * memory, each scored under its own task's mask in the task scenario. */
static int replay_step(episodic *e, cl_model *net, int want)
{
    int rc = reserve_replay(e, want);
    if (rc) return rc;
    int m = want < e->n ? want : e->n, d = e->d, C = e->env.n_classes;
    for (int i = 0; i < e->n; i++) e->scratch[i] = i;
    for (int i = 0; i < m; i++) {
        int j = i + (int)cl_rng_below(e->rng, (unsigned long)(e->n - i));
        int s = e->scratch[j];
        e->scratch[j] = e->scratch[i];
        e->scratch[i] = s;
        memcpy(e->rx + (size_t)i * d, e->x + (size_t)s * d, (size_t)d * sizeof(float));
        e->ry[i] = e->y[s];
        e->rtask[i] = e->task[s];
    }
    const unsigned char *masks = NULL;
    if (e->env.scenario == CL_SCENARIO_TASK) {
        for (int i = 0; i < m; i++) {
            CL_ASSERT(e->task_seen[e->rtask[i]]);
            memcpy(e->rmasks + (size_t)i * C, e->task_masks + (size_t)e->rtask[i] * C, (size_t)C);
        }
        masks = e->rmasks;
    }
    double f0 = net->flops;
    const float *logits;
    cl_model_zero_grad(net);
    if ((rc = cl_model_forward(net, e->rx, m, &logits))) return rc;
    if ((rc = cl_loss_ce_rows(logits, e->ry, m, C, masks, 1.0f, net->dlogits, NULL))) return rc;
    if ((rc = cl_model_backward(net, net->dlogits))) return rc;
    cl_model_step(net);
    e->replay_flops += net->flops - f0;
    return 0;
}

/* The stream step, a sparse replay step when due, then the batch is
 * written, so a sample is never replayed in the step that brought it. */
static int episodic_observe(void *ctx, cl_model *net, const cl_batch *b)
{
    episodic *e = ctx;
    e->cache_valid = 0;
    int rc = cl_strategy_sgd_step(net, b);
    if (rc) return rc;
    e->steps++;
    if (e->replay_every > 0 && e->steps % e->replay_every == 0 && e->n > 0) {
        rc = replay_step(e, net, e->replay_batch > 0 ? e->replay_batch : b->n);
        if (rc) return rc;
    }
    for (int i = 0; i < b->n && rc == 0; i++)
        rc = write_sample(e, b->x + (size_t)i * b->d, b->y[i], b->task);
    return rc;
}

static int episodic_task_end(void *ctx, cl_model *net, const cl_task *t)
{
    (void)net, (void)t;
    ((episodic *)ctx)->cache_valid = 0;
    return 0;
}

/* ---- prediction ------------------------------------------------------ */

/* Memory features at layer fl and base logits under the current network,
 * one forward over memory; reused by every query until training resumes. */
static int fill_cache(episodic *e, cl_model *net)
{
    int C = e->env.n_classes, rc;
    /* Sized to the memory exactly: it grows at most once per prediction
     * phase, and the ledger counts it. */
    if (e->n > e->cache_rows) {
        if (e->fl > 0 && (rc = grow_one((void **)&e->feat, (size_t)e->n * e->h * sizeof(float))))
            return rc;
        if ((rc = grow_one((void **)&e->zmem, (size_t)e->n * C * sizeof(float)))) return rc;
        e->cache_rows = e->n;
    }
    double f0 = net->flops;
    for (int i0 = 0; i0 < e->n; i0 += CACHE_CHUNK) {
        int m = e->n - i0 < CACHE_CHUNK ? e->n - i0 : CACHE_CHUNK;
        const float *logits;
        if ((rc = cl_model_forward(net, e->x + (size_t)i0 * e->d, m, &logits))) return rc;
        memcpy(e->zmem + (size_t)i0 * C, logits, (size_t)m * C * sizeof(float));
        if (e->fl > 0)
            memcpy(e->feat + (size_t)i0 * e->h, net->acts[e->fl], (size_t)m * e->h * sizeof(float));
    }
    e->adapt_flops += net->flops - f0;
    e->cache_valid = 1;
    return 0;
}

static const float *feature_of(const episodic *e, int slot)
{
    return e->fl > 0 ? e->feat + (size_t)slot * e->h : e->x + (size_t)slot * e->d;
}

static int reserve_queries(episodic *e, int n)
{
    if (n <= e->qcap) return 0;
    int rc = grow_one((void **)&e->qkeys, (size_t)n * e->key_dim * sizeof(float));
    if (!rc) rc = grow_one((void **)&e->nbr, (size_t)n * e->K * sizeof(int));
    if (!rc) rc = grow_one((void **)&e->ndist, (size_t)n * e->K * sizeof(float));
    if (rc) return rc;
    e->qcap = n;
    return 0;
}

/* The adaptation loops run once per query and step: they are compiled for
 * AVX2 as well as the baseline (the loader picks one) and, through the
 * Makefile, at -O3 so that they vectorise. Both clones do the same IEEE
 * operations element by element, so predictions do not depend on the CPU. */
#define CL_HOT __attribute__((target_clones("avx2", "default")))

/* exp(x) for x <= 0, branch-free so that the softmax loop vectorises
 * (libm's expf does not): Cephes's expf, a reduction by ln 2 (split in two
 * parts) and a degree-6 polynomial, within 1 ulp of exp on [-87, 0]
 * (checked against exp in double on every 7th float there);
 * below -87, where exp(x) < FLT_MIN, it returns exp(-87). A NaN stays NaN
 * (the clamp's comparison is false and NaN propagates through the
 * polynomial). The 2^n scale is built from the bits of the rounding sum
 * t = x log2(e) + 1.5 * 2^23, whose low mantissa bits hold n: integer
 * operations only, in unsigned arithmetic, so no input is undefined. */
static inline float exp_nonpos(float x)
{
    x = x < -87.0f ? -87.0f : x;
    float t = x * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* One SGD step of the dual adaptation (see adapt_dual), every loop along
 * contiguous rows of the (C, m) matrices:
 *   zt (C, m)  = z0t + db + A G      the neighbours' logits, transposed
 *   then, per column k, the softmax over the unmasked classes, and
 *   dZ^T = (P - Y) / m, applied at once:
 *   A <- decay A - lr dZ^T,  db <- decay db - lr sum_k dZ^T.
 * `first` skips A G (A = 0 on the first step). zt, colmax, colsum and dz
 * (m) are scratch. */
CL_HOT static void dual_step(float *restrict zt, const float *restrict z0t,
                             const float *restrict G, float *restrict A, float *restrict db,
                             const int *restrict y, const unsigned char *mask, int C, int m,
                             float decay, float lr, int first, float *restrict colmax,
                             float *restrict colsum, float *restrict dz)
{
    for (int c = 0; c < C; c++) {
        float *z = zt + (size_t)c * m, b = db[c];
        const float *z0 = z0t + (size_t)c * m, *a = A + (size_t)c * m;
        for (int k = 0; k < m; k++) z[k] = z0[k] + b;
        if (first) continue;
        /* Four terms of the sum over j per pass, added as a tree: a quarter
         * of the loads and stores of z and short dependency chains. The
         * expression of each z[k] is fixed, so every clone computes it the
         * same way. */
        int j = 0;
        for (; j + 4 <= m; j += 4) {
            const float *g0 = G + (size_t)j * m, *g1 = g0 + m, *g2 = g1 + m, *g3 = g2 + m;
            float w0 = a[j], w1 = a[j + 1], w2 = a[j + 2], w3 = a[j + 3];
            for (int k = 0; k < m; k++)
                z[k] += (w0 * g0[k] + w1 * g1[k]) + (w2 * g2[k] + w3 * g3[k]);
        }
        for (; j < m; j++) {
            const float *g = G + (size_t)j * m;
            for (int k = 0; k < m; k++) z[k] += a[j] * g[k];
        }
    }
    for (int k = 0; k < m; k++) {
        colmax[k] = -INFINITY;
        colsum[k] = 0.0f;
    }
    for (int c = 0; c < C; c++) {
        if (mask && !mask[c]) continue;
        const float *z = zt + (size_t)c * m;
        for (int k = 0; k < m; k++) colmax[k] = z[k] > colmax[k] ? z[k] : colmax[k];
    }
    for (int c = 0; c < C; c++) {
        if (mask && !mask[c]) continue;
        float *z = zt + (size_t)c * m; /* becomes exp(z - max) */
        for (int k = 0; k < m; k++) {
            z[k] = exp_nonpos(z[k] - colmax[k]);
            colsum[k] += z[k];
        }
    }
    float inv_m = 1.0f / (float)m;
    for (int k = 0; k < m; k++) colsum[k] = inv_m / colsum[k];
    for (int c = 0; c < C; c++) {
        float *a = A + (size_t)c * m;
        if (mask && !mask[c]) { /* dZ = 0 there */
            for (int k = 0; k < m; k++) a[k] = decay * a[k];
            db[c] = decay * db[c];
            continue;
        }
        const float *p = zt + (size_t)c * m;
        for (int k = 0; k < m; k++) {
            dz[k] = p[k] * colsum[k] - (y[k] == c ? inv_m : 0.0f);
            a[k] = decay * a[k] - lr * dz[k];
        }
        float sum = 0.0f;
        for (int k = 0; k < m; k++) sum += dz[k];
        db[c] = decay * db[c] - lr * sum;
    }
}

/* Output-layer adaptation in the dual form (see the top of the file): with
 * W = W_base + A F and b = b_base + db, the neighbour logits are
 * Z^T = Z_base^T + A G + db and an SGD step on
 * mean CE + lambda ||(W, b) - (W_base, b_base)||^2 is
 * A <- (1 - 2 lr lambda) A - lr dZ^T, db <- (1 - 2 lr lambda) db - lr sum_k dZ^T.
 * Adds A (F f_q) + db to the query's base logits zq (C). */
static void adapt_dual(episodic *e, const int *nb, int m, const float *fq,
                       const unsigned char *mask, float *zq)
{
    int C = e->env.n_classes, h = e->h;
    for (int k = 0; k < m; k++) {
        memcpy(e->F + (size_t)k * h, feature_of(e, nb[k]), (size_t)h * sizeof(float));
        e->ny[k] = e->y[nb[k]];
        for (int c = 0; c < C; c++) e->z0t[(size_t)c * m + k] = e->zmem[(size_t)nb[k] * C + c];
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, m, h, 1.0f, e->F, h, e->F, h, 0.0f,
                e->G, m);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, m, h, 1.0f, e->F, h, fq, 1, 0.0f, e->gq, 1);
    memset(e->A, 0, (size_t)C * m * sizeof(float));
    memset(e->db, 0, (size_t)C * sizeof(float));
    float decay = 1.0f - 2.0f * e->lr * e->lambda, lr = e->lr;
    for (int s = 0; s < e->L; s++)
        dual_step(e->zt, e->z0t, e->G, e->A, e->db, e->ny, mask, C, m, decay, lr, s == 0,
                  e->colmax, e->colsum, e->pt);
    for (int c = 0; c < C; c++) {
        float acc = e->db[c];
        const float *a = e->A + (size_t)c * m;
        for (int k = 0; k < m; k++) acc += a[k] * e->gq[k];
        zq[c] += acc;
    }
    e->adapt_flops += 2.0 * m * m * h + 2.0 * m * h +
                      e->L * (2.0 * C * m * m + 8.0 * C * m) + 2.0 * C * m;
}

/* The literal form: the adapted layers copied into headnet, L SGD steps
 * with the pull back to the base, then the query through the copy.
 * Writes the query's logits into zq (C). */
static int adapt_primal(episodic *e, const cl_model *net, const int *nb, int m, const float *fq,
                        const unsigned char *mask, float *zq)
{
    cl_model *hn = e->headnet;
    int C = e->env.n_classes, h = e->h, rc;
    const float *base = net->params + net->layers[e->fl].offset;
    size_t np = hn->n_params;
    memcpy(hn->params, base, np * sizeof(float));
    for (int k = 0; k < m; k++) {
        memcpy(e->F + (size_t)k * h, feature_of(e, nb[k]), (size_t)h * sizeof(float));
        e->ny[k] = e->y[nb[k]];
    }
    double f0 = hn->flops;
    float lr = e->lr, two_lambda = 2.0f * e->lambda;
    const float *logits;
    for (int s = 0; s < e->L; s++) {
        cl_model_zero_grad(hn);
        if ((rc = cl_model_forward(hn, e->F, m, &logits))) return rc;
        if ((rc = cl_loss_ce(logits, e->ny, m, C, mask, 1.0f, hn->dlogits, NULL))) return rc;
        if ((rc = cl_model_backward(hn, hn->dlogits))) return rc;
        for (size_t i = 0; i < np; i++)
            hn->params[i] -= lr * (hn->grads[i] + two_lambda * (hn->params[i] - base[i]));
    }
    if ((rc = cl_model_forward(hn, fq, 1, &logits))) return rc;
    memcpy(zq, logits, (size_t)C * sizeof(float));
    e->adapt_flops += hn->flops - f0 + 5.0 * e->L * (double)np;
    return 0;
}

/* p = (1 - alpha) softmax(z) + alpha p_knn over the unmasked classes, with
 * neighbour weights exp(-d_k / mean d) (d squared key distances): a
 * scale-free kernel that favours the nearest without ignoring the rest.
 * z (C) becomes log p, floored at 1e-30 so it stays finite. */
static void knn_mix_row(episodic *e, const int *nb, const float *dist, int m,
                        const unsigned char *mask, float *z)
{
    int C = e->env.n_classes;
    double mean = 0.0, wsum = 0.0;
    for (int k = 0; k < m; k++) mean += dist[k];
    mean /= m;
    cl_softmax(z, 1, C, mask, 1.0f, e->prob);
    float *pk = e->pknn;
    memset(pk, 0, (size_t)C * sizeof *pk);
    for (int k = 0; k < m; k++) {
        double w = mean > 0.0 ? exp(-dist[k] / mean) : 1.0;
        pk[e->y[nb[k]]] += (float)w;
        wsum += w;
    }
    float a = e->knn_mix;
    for (int c = 0; c < C; c++) {
        float p = (1.0f - a) * e->prob[c] + a * (float)(pk[c] / wsum);
        z[c] = logf(p > 1e-30f ? p : 1e-30f);
    }
    e->retrieval_flops += 4.0 * m + 4.0 * C;
}

/* Keys of the batch (one sgemm) and each query's neighbours among the
 * memory items its mask allows; returns the neighbours found per query. */
static int retrieve(episodic *e, const cl_batch *b)
{
    int rc = reserve_queries(e, b->n);
    if (rc) return rc;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b->n, e->key_dim, e->d, 1.0f, b->x,
                e->d, e->proj, e->d, 0.0f, e->qkeys, e->key_dim);
    const unsigned char *allow = NULL;
    if (b->mask) {
        for (int i = 0; i < e->n; i++) e->allow[i] = b->mask[e->y[i]];
        allow = e->allow;
    }
    double f0 = e->knn->flops;
    int found = cl_knn_search(e->knn, e->qkeys, b->n, e->keys, e->knorm, e->n, allow, e->K,
                              e->nbr, e->ndist);
    e->retrieval_flops += 2.0 * b->n * e->key_dim * e->d + (e->knn->flops - f0);
    return found;
}

static int episodic_predict(void *ctx, cl_model *net, const cl_batch *b, float *logits_out)
{
    episodic *e = ctx;
    int C = e->env.n_classes, rc;
    int adapt = e->L > 0 && (!b->anytime || e->adapt_anytime) && e->n > 0;
    int mix = e->knn_mix > 0.0f && e->n > 0;
    if (adapt && !e->cache_valid && (rc = fill_cache(e, net))) return rc;
    const float *logits;
    if ((rc = cl_model_forward(net, b->x, b->n, &logits))) return rc;
    memcpy(logits_out, logits, (size_t)b->n * C * sizeof(float));
    if (!adapt && !mix) return 0;
    /* The query features stay in net's workspace: nothing below runs net. */
    const float *fq = e->fl > 0 ? net->acts[e->fl] : b->x;
    int m = retrieve(e, b);
    if (m <= 0) return m;
    for (int i = 0; i < b->n; i++) {
        const int *nb = e->nbr + (size_t)i * e->K;
        float *z = logits_out + (size_t)i * C;
        if (adapt && !e->primal) adapt_dual(e, nb, m, fq + (size_t)i * e->h, b->mask, z);
        if (adapt && e->primal &&
            (rc = adapt_primal(e, net, nb, m, fq + (size_t)i * e->h, b->mask, z)))
            return rc;
        if (mix) knn_mix_row(e, nb, e->ndist + (size_t)i * e->K, m, b->mask, z);
    }
    return 0;
}

/* Bytes of what is held: the stored samples with their keys, norms and
 * dedupe index, the projection, the feature cache as allocated and the
 * primal copy (not the slack of the growable memory arrays, nor per-query
 * scratch). */
static void episodic_ledger(const void *ctx, cl_ledger *out)
{
    const episodic *e = ctx;
    size_t per = (size_t)e->d * sizeof(float) + 2 * sizeof(int) +
                 (size_t)e->key_dim * sizeof(float) + sizeof(float) + sizeof(uint64_t) +
                 sizeof(int);
    size_t bytes = (size_t)e->n * per + (size_t)e->n_buckets * sizeof(int) +
                   (size_t)e->key_dim * e->d * sizeof(float) +
                   (size_t)e->cache_rows * ((e->fl > 0 ? (size_t)e->h : 0) + e->env.n_classes) *
                       sizeof(float);
    if (e->headnet) bytes += cl_model_param_bytes(e->headnet);
    out->extra_bytes = bytes;
    out->replay_flops = e->replay_flops;
    out->retrieval_flops = e->retrieval_flops;
    out->adapt_flops = e->adapt_flops;
}

/* ---- checkpoints ----------------------------------------------------- */

/* The memory with its keys, the projection, the replay and task state, the
 * allocated sizes the ledger reports, and the FLOP tallies. Not saved: the
 * dedupe hashes and chains (rebuilt from the inputs, in slot order as
 * grow_memory does; chain order never changes a result), the prediction
 * cache's contents (a checkpoint is taken between tasks and the next
 * task_begin invalidates the cache anyway; saving it would add
 * memory x (h + C) floats per checkpoint) and per-query scratch. */
static int episodic_save(const void *ctx, cl_ckpt_writer *w)
{
    const episodic *e = ctx;
    size_t n = (size_t)e->n;
    cl_ckpt_put_i64(w, e->n);
    cl_ckpt_put_i64(w, e->rows);
    cl_ckpt_put_i64(w, e->seen);
    cl_ckpt_put_f32s(w, e->x, n * e->d);
    cl_ckpt_put_f32s(w, e->keys, n * e->key_dim);
    cl_ckpt_put_i32s(w, e->y, n);
    cl_ckpt_put_i32s(w, e->task, n);
    cl_ckpt_put_f32s(w, e->knorm, n);
    cl_ckpt_put_f32s(w, e->proj, (size_t)e->key_dim * e->d);
    cl_ckpt_put_i64(w, e->steps);
    cl_ckpt_put_bytes(w, e->task_seen, (size_t)e->env.n_tasks);
    cl_ckpt_put_bytes(w, e->task_masks, (size_t)e->env.n_tasks * e->env.n_classes);
    cl_ckpt_put_i64(w, e->cache_rows);
    cl_ckpt_put_f64(w, e->replay_flops);
    cl_ckpt_put_f64(w, e->adapt_flops);
    cl_ckpt_put_f64(w, e->retrieval_flops);
    return 0;
}

/* Labels index class tables and task ids the task tables; replay asserts
 * that a stored sample's task was seen. */
static int check_memory(const episodic *e, cl_ckpt_reader *r)
{
    for (int i = 0; i < e->n; i++)
        if (e->y[i] < 0 || e->y[i] >= e->env.n_classes || e->task[i] < 0 ||
            e->task[i] >= e->env.n_tasks || !e->task_seen[e->task[i]])
            return cl_ckpt_error(r, "stored sample %d has label %d, task %d", i, e->y[i],
                                 e->task[i]);
    return 0;
}

static int episodic_load(void *ctx, cl_ckpt_reader *r, const cl_task *tasks)
{
    (void)tasks;
    episodic *e = ctx;
    int n, rows, cache_rows, rc;
    if ((rc = cl_ckpt_get_int(r, "stored samples", &n, 0, e->cap)) ||
        (rc = cl_ckpt_get_int(r, "memory rows", &rows, n, e->cap)) ||
        (rc = cl_ckpt_get_long(r, "samples offered", &e->seen, n, LONG_MAX)))
        return rc;
    if (rows > 0 && (rc = resize_memory(e, rows))) return rc;
    size_t m = (size_t)n;
    if ((rc = cl_ckpt_get_f32s(r, e->x, m * e->d)) ||
        (rc = cl_ckpt_get_f32s(r, e->keys, m * e->key_dim)) ||
        (rc = cl_ckpt_get_i32s(r, e->y, m)) || (rc = cl_ckpt_get_i32s(r, e->task, m)) ||
        (rc = cl_ckpt_get_f32s(r, e->knorm, m)) ||
        (rc = cl_ckpt_get_f32s(r, e->proj, (size_t)e->key_dim * e->d)) ||
        (rc = cl_ckpt_get_long(r, "steps", &e->steps, 0, LONG_MAX)) ||
        (rc = cl_ckpt_get_bytes(r, e->task_seen, (size_t)e->env.n_tasks)) ||
        (rc = cl_ckpt_get_bytes(r, e->task_masks, (size_t)e->env.n_tasks * e->env.n_classes)) ||
        (rc = cl_ckpt_get_int(r, "cache rows", &cache_rows, 0, e->cap)) ||
        (rc = cl_ckpt_get_f64(r, &e->replay_flops)) ||
        (rc = cl_ckpt_get_f64(r, &e->adapt_flops)) ||
        (rc = cl_ckpt_get_f64(r, &e->retrieval_flops)))
        return rc;
    e->n = n;
    for (int s = 0; s < n; s++) {
        e->hash[s] = fnv1a(e->x + (size_t)s * e->d, e->d);
        hash_link(e, s);
    }
    if ((rc = check_memory(e, r))) return rc;
    e->cache_valid = 0;
    if (cache_rows > 0) {
        /* The cache as allocated: the ledger counts it, and fill_cache only
         * grows it past cache_rows. */
        if (e->fl > 0 && (rc = grow_one((void **)&e->feat, (size_t)cache_rows * e->h * sizeof(float))))
            return rc;
        if ((rc = grow_one((void **)&e->zmem, (size_t)cache_rows * e->env.n_classes * sizeof(float))))
            return rc;
    }
    e->cache_rows = cache_rows;
    return 0;
}

const cl_strategy_ops cl_strategy_episodic = {
    .version = CL_STRATEGY_OPS_VERSION,
    .name = "episodic",
    .summary = "MbPA++-style episodic memory: random-projection keys, sparse replay, "
               "per-query local adaptation on K nearest neighbours",
    .reference = "de Masson d'Autume et al. 2019, Episodic Memory in Lifelong Language Learning "
                 "(MbPA++); Sprechmann et al. 2018 (MbPA)",
    .params = episodic_params,
    .assumes = {.task_boundaries = false, .task_id_at_test = false, .stores_samples = true},
    .create = episodic_create,
    .task_begin = episodic_task_begin,
    .observe = episodic_observe,
    .task_end = episodic_task_end,
    .predict = episodic_predict,
    .ledger = episodic_ledger,
    .save = episodic_save,
    .load = episodic_load,
    .destroy = episodic_destroy,
};
