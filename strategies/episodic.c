/* episodic: a key-value episodic memory with sparse experience replay and
 * local adaptation at prediction, after MbPA++ (de Masson d'Autume et al.
 * 2019, "Episodic Memory in Lifelong Language Learning").
 *
 * Writing. Every training sample is written (with probability write_prob)
 * as (key, x, y, task) into a cl_kvmem (include/clbench/kvmem.h: dedupe of
 * repeated inputs, reservoir sampling past memory_size, frozen
 * random-projection keys of key_dim features, clamped to the input size).
 *
 * Replay. Every replay_every steps one extra training step on replay_batch
 * samples drawn uniformly from memory. MbPA++ replays 100 samples per
 * 10,000 seen, 1% of the stream; with the default replay_batch (the stream
 * batch B) one replay step every 100 steps is the same rate.
 *
 * Prediction. For each query: its K nearest keys (one sgemm per batch of
 * queries, then harness/nn/knn.c); a throw-away copy of the top adapt_layers
 * layers trained for L steps of SGD on the mean cross-entropy of the K
 * neighbours + adapt_lambda * ||theta - theta_base||^2; the query's logits
 * from the adapted copy (include/clbench/adapt.h, which also explains the
 * exact dual form used for the output layer alone). The features of memory
 * items below the adapted layers are computed once per prediction phase and
 * cached until the next observe / task_begin / task_end.
 *
 * Scenarios. In the task scenario only memory items of the query's classes
 * are retrieved (b->mask), and the adaptation loss and prediction use that
 * mask. In class and domain, neighbours come from every task.
 *
 * On a token network (a language model reading text) the episodic store is
 * kNN-LM instead (strategies/knnlm.c, Khandelwal et al. 2020): a datastore
 * of (features, next byte) of every position read, interpolated with the
 * network's prediction; memory_size, k, lambda and knn_temperature apply,
 * the MbPA++ parameters do not. */
#include "clbench/strategies/knnlm.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clbench/nn/adapt.h"
#include "clbench/base/error.h"
#include "clbench/nn/kvmem.h"
#include "clbench/nn/loss.h"
#include "clbench/strategies/strategy.h"

#define CACHE_CHUNK 256 /* memory items per forward when filling the cache */

static const cl_param_spec episodic_params[] = {
    {"memory_size", CL_PARAM_INT, "10000", 1, 100000000, NULL,
     "samples the memory holds; past it reservoir sampling keeps a uniform sample"},
    {"write_prob", CL_PARAM_FLOAT, "1", 0, 1, NULL,
     "probability of writing a training sample (MbPA++ writes every one: 1)"},
    {"dedupe", CL_PARAM_BOOL, "true", 0, 0, NULL,
     "store an input once; a repeat with a new label overwrites the stored label"},
    {"pack", CL_PARAM_BOOL, "true", 0, 0, NULL,
     "hold stored inputs a byte per value while they take at most 256 distinct values "
     "(8-bit images; lossless); the ledger counts the bytes held"},
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
    {"adapt_layers", CL_PARAM_INT, "1", 1, CL_NET_MAX_TOP, NULL,
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
    {"lambda", CL_PARAM_FLOAT, "0.25", 0, 1, NULL,
     "token networks (kNN-LM): p = lambda p_kNN + (1-lambda) p_LM (Khandelwal et al. 2020: 0.25)"},
    {"knn_temperature", CL_PARAM_FLOAT, "1", 1e-6, 1e6, NULL,
     "token networks (kNN-LM): neighbour weight exp(-d / temperature), d squared L2"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct episodic {
    /* First: tests/test_episodic.c reads the memory's leading members
     * through a mirror struct. */
    cl_kvmem mem;

    gsl_rng *rng;      /* not owned */
    cl_strategy_env env;

    /* Sparse replay. */
    int replay_every, replay_batch;
    long steps;
    int rcap;                 /* rows of the replay buffers */
    float *rx;                /* (rcap, d) */
    int *ry, *rtask;          /* (rcap) */
    unsigned char *rmasks;    /* (rcap, n_classes) per-row masks, task scenario */
    unsigned char *task_masks; /* (n_tasks, n_classes) classes of each task seen */
    unsigned char *task_seen;  /* (n_tasks) */

    /* Prediction settings. */
    int K, L, adapt_anytime;
    float knn_mix;
    int fl;            /* layer whose output feeds the adapted layers (0 = input) */
    int h;             /* width of that feature */
    cl_adapt *adapt;   /* owned */

    /* Prediction cache, valid from the first predict after a training
     * call until the next one. */
    int cache_valid;
    int cache_rows;    /* allocated rows of feat and zmem */
    float *feat;       /* (cache_rows, h) memory features at layer fl */
    float *zmem;       /* (cache_rows, C) memory logits under the base network */
    float *chunk;      /* (CACHE_CHUNK, d) decoded memory inputs */

    /* Prediction scratch, grown to the largest query batch. */
    int qcap;
    int *nbr;              /* (qcap, K) neighbour slots */
    float *ndist;          /* (qcap, K) their squared key distances */
    float *prob;           /* (C) model probabilities, kNN mixing */
    float *pknn;           /* (C) neighbour label weights, kNN mixing */

    double replay_flops, adapt_flops, retrieval_flops;

    cl_knnlm *lm;          /* a token network's kNN-LM; the rest is then unused */
} episodic;

static void episodic_destroy(void *ctx)
{
    episodic *e = ctx;
    if (!e) return;
    cl_kvmem_release(&e->mem);
    void *bufs[] = {e->rx,   e->ry,   e->rtask, e->rmasks, e->task_masks, e->task_seen,
                    e->feat, e->zmem, e->nbr,   e->ndist,  e->prob,       e->pknn,
                    e->chunk};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    cl_adapt_free(e->adapt);
    cl_knnlm_free(e->lm);
    free(e);
}

static int episodic_create(void **out, const cl_params *p, const cl_strategy_env *env,
                           const cl_net *net, gsl_rng *rng)
{
    *out = NULL;
    episodic *e = calloc(1, sizeof *e);
    if (!e) return cl_error_set(CL_ENOMEM, "out of memory");
    e->rng = rng;
    e->env = *env;
    e->replay_every = (int)cl_params_int(p, "replay_every");
    e->replay_batch = (int)cl_params_int(p, "replay_batch");
    e->K = (int)cl_params_int(p, "k");
    e->L = (int)cl_params_int(p, "adapt_steps");
    e->knn_mix = (float)cl_params_float(p, "knn_mix");
    e->adapt_anytime = cl_params_bool(p, "adapt_anytime");
    if (net->ops->input == CL_NET_TOKENS) {
        int rc = cl_knnlm_new(&e->lm, p, net, rng);
        if (rc) {
            episodic_destroy(e);
            return rc;
        }
        *out = e;
        return 0;
    }
    int adapt_layers = (int)cl_params_int(p, "adapt_layers");
    cl_net_dense top[CL_NET_MAX_TOP];
    int n_top = cl_net_top(net, top, CL_NET_MAX_TOP);
    if (adapt_layers > n_top) {
        episodic_destroy(e);
        return cl_error_set(CL_EINVAL, "episodic.adapt_layers=%d but the %s network has %d "
                            "dense layers on top", adapt_layers, net->ops->name, n_top);
    }
    e->fl = n_top - adapt_layers;
    e->h = top[e->fl].n_in;
    int C = env->n_classes;
    int rc = cl_kvmem_init(&e->mem, (int)cl_params_int(p, "memory_size"), env->d,
                           (int)cl_params_int(p, "key_dim"),
                           (float)cl_params_float(p, "write_prob"), cl_params_bool(p, "dedupe"),
                           cl_params_bool(p, "pack"), rng);
    e->task_masks = calloc((size_t)env->n_tasks * C, 1);
    e->task_seen = calloc((size_t)env->n_tasks, 1);
    e->prob = malloc((size_t)C * sizeof *e->prob);
    e->pknn = malloc((size_t)C * sizeof *e->pknn);
    if (!rc && (!e->task_masks || !e->task_seen || !e->prob || !e->pknn))
        rc = cl_error_set(CL_ENOMEM, "out of memory");
    if (!rc)
        rc = cl_adapt_new(&e->adapt, net, e->fl, e->K, e->L, (float)cl_params_float(p, "adapt_lr"),
                          (float)cl_params_float(p, "adapt_lambda"),
                          strcmp(cl_params_choice(p, "adapt_form"), "primal") != 0);
    if (rc) {
        episodic_destroy(e);
        return rc;
    }
    *out = e;
    return 0;
}

static int grow_one(void **p, size_t bytes)
{
    void *q = realloc(*p, bytes);
    if (!q) return cl_error_set(CL_ENOMEM, "out of memory growing the episodic memory");
    *p = q;
    return 0;
}

/* ---- training -------------------------------------------------------- */

static int episodic_task_begin(void *ctx, cl_net *net, const cl_task *t)
{
    (void)net;
    episodic *e = ctx;
    if (e->lm) return 0;
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
    int rc = grow_one((void **)&e->rx, (size_t)rows * e->mem.d * sizeof(float));
    if (!rc) rc = grow_one((void **)&e->ry, (size_t)rows * sizeof(int));
    if (!rc) rc = grow_one((void **)&e->rtask, (size_t)rows * sizeof(int));
    if (!rc) rc = grow_one((void **)&e->rmasks, (size_t)rows * e->env.n_classes);
    if (rc) return rc;
    e->rcap = rows;
    return 0;
}

/* One training step on m samples drawn uniformly without replacement from
 * memory, each scored under its own task's mask in the task scenario. */
static int replay_step(episodic *e, cl_net *net, int want)
{
    int rc = reserve_replay(e, want);
    if (rc) return rc;
    int C = e->env.n_classes;
    int m = cl_kvmem_sample(&e->mem, want, e->rng, e->rx, e->ry, e->rtask);
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
    cl_net_zero_grad(net);
    if ((rc = cl_net_forward(net, e->rx, m, &logits))) return rc;
    if ((rc = cl_loss_ce_rows(logits, e->ry, m, C, masks, 1.0f, net->dlogits, NULL))) return rc;
    if ((rc = cl_net_backward(net, net->dlogits))) return rc;
    cl_net_step(net);
    e->replay_flops += net->flops - f0;
    return 0;
}

/* The stream step, a sparse replay step when due, then the batch is
 * written, so a sample is never replayed in the step that brought it. */
static int episodic_observe(void *ctx, cl_net *net, const cl_batch *b)
{
    episodic *e = ctx;
    if (e->lm) return cl_knnlm_observe(e->lm, net, b);
    e->cache_valid = 0;
    int rc = cl_strategy_sgd_step(net, b);
    if (rc) return rc;
    e->steps++;
    if (e->replay_every > 0 && e->steps % e->replay_every == 0 && e->mem.n > 0) {
        rc = replay_step(e, net, e->replay_batch > 0 ? e->replay_batch : b->n);
        if (rc) return rc;
    }
    for (int i = 0; i < b->n && rc == 0; i++)
        rc = cl_kvmem_write(&e->mem, b->x + (size_t)i * b->d, b->y[i], b->task, e->rng,
                            &e->retrieval_flops);
    return rc;
}

/* Pretraining windows go into the kNN-LM datastore; MbPA++ keeps only the
 * stream it trains on. */
static int episodic_absorb(void *ctx, cl_net *net, const cl_batch *b)
{
    episodic *e = ctx;
    return e->lm ? cl_knnlm_absorb(e->lm, net, b) : 0;
}

static int episodic_task_end(void *ctx, cl_net *net, const cl_task *t)
{
    (void)net, (void)t;
    ((episodic *)ctx)->cache_valid = 0;
    return 0;
}

/* ---- prediction ------------------------------------------------------ */

/* The input of the first adapted layer in the last forward (rows, h). */
static const float *layer_input(const episodic *e, const cl_net *net)
{
    cl_net_dense top[CL_NET_MAX_TOP];
    cl_net_top(net, top, CL_NET_MAX_TOP);
    return top[e->fl].input;
}

/* Memory features at layer fl (the inputs themselves when fl = 0, decoded
 * from the packed store) and base logits under the current network, one
 * forward over memory; reused by every query until training resumes. */
static int fill_cache(episodic *e, cl_net *net)
{
    int C = e->env.n_classes, n = e->mem.n, d = e->mem.d, rc;
    /* Sized to the memory exactly: it grows at most once per prediction
     * phase, and the ledger counts it. */
    if (n > e->cache_rows) {
        if ((rc = grow_one((void **)&e->feat, (size_t)n * e->h * sizeof(float)))) return rc;
        if ((rc = grow_one((void **)&e->zmem, (size_t)n * C * sizeof(float)))) return rc;
        e->cache_rows = n;
    }
    if (!e->chunk && !(e->chunk = malloc((size_t)CACHE_CHUNK * d * sizeof *e->chunk)))
        return cl_error_set(CL_ENOMEM, "out of memory");
    double f0 = net->flops;
    for (int i0 = 0; i0 < n; i0 += CACHE_CHUNK) {
        int m = n - i0 < CACHE_CHUNK ? n - i0 : CACHE_CHUNK;
        const float *logits;
        cl_rowpack_get(&e->mem.x, i0, m, e->chunk);
        if ((rc = cl_net_forward(net, e->chunk, m, &logits))) return rc;
        memcpy(e->zmem + (size_t)i0 * C, logits, (size_t)m * C * sizeof(float));
        memcpy(e->feat + (size_t)i0 * e->h, layer_input(e, net), (size_t)m * e->h * sizeof(float));
    }
    e->adapt_flops += net->flops - f0;
    e->cache_valid = 1;
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
        pk[e->mem.y[nb[k]]] += (float)w;
        wsum += w;
    }
    float a = e->knn_mix;
    for (int c = 0; c < C; c++) {
        float p = (1.0f - a) * e->prob[c] + a * (float)(pk[c] / wsum);
        z[c] = logf(p > 1e-30f ? p : 1e-30f);
    }
    e->retrieval_flops += 4.0 * m + 4.0 * C;
}

/* Each query's neighbours among the memory items its mask allows; returns
 * the neighbours found per query. */
static int retrieve(episodic *e, const cl_batch *b)
{
    if (b->n > e->qcap) {
        int rc = grow_one((void **)&e->nbr, (size_t)b->n * e->K * sizeof(int));
        if (!rc) rc = grow_one((void **)&e->ndist, (size_t)b->n * e->K * sizeof(float));
        if (rc) return rc;
        e->qcap = b->n;
    }
    return cl_kvmem_search(&e->mem, b->x, b->n, b->mask, e->K, e->nbr, e->ndist,
                           &e->retrieval_flops);
}

static int episodic_predict(void *ctx, cl_net *net, const cl_batch *b, float *logits_out)
{
    episodic *e = ctx;
    if (e->lm) return cl_knnlm_predict(e->lm, net, b, logits_out);
    int C = e->env.n_classes, rc;
    int adapt = e->L > 0 && (!b->anytime || e->adapt_anytime) && e->mem.n > 0;
    int mix = e->knn_mix > 0.0f && e->mem.n > 0;
    if (adapt && !e->cache_valid && (rc = fill_cache(e, net))) return rc;
    const float *logits;
    if ((rc = cl_net_forward(net, b->x, b->n, &logits))) return rc;
    memcpy(logits_out, logits, (size_t)b->n * C * sizeof(float));
    if (!adapt && !mix) return 0;
    /* The query features stay in net's workspace: nothing below runs net. */
    const float *fq = layer_input(e, net); /* (b->n, h) */
    int m = retrieve(e, b);
    if (m <= 0) return m;
    cl_adapt_items items = {e->feat, e->zmem, e->mem.y};
    for (int i = 0; i < b->n; i++) {
        const int *nb = e->nbr + (size_t)i * e->K;
        float *z = logits_out + (size_t)i * C;
        if (adapt && (rc = cl_adapt_query(e->adapt, net, &items, nb, m, fq + (size_t)i * e->h,
                                          b->mask, z, &e->adapt_flops)))
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
    if (e->lm) {
        cl_knnlm_ledger(e->lm, out);
        return;
    }
    size_t bytes = cl_kvmem_bytes(&e->mem) +
                   (size_t)e->cache_rows * ((size_t)e->h + e->env.n_classes) * sizeof(float) +
                   cl_adapt_bytes(e->adapt);
    out->extra_bytes = bytes;
    out->replay_flops = e->replay_flops;
    out->retrieval_flops = e->retrieval_flops;
    out->adapt_flops = e->adapt_flops;
}

/* ---- checkpoints ----------------------------------------------------- */

/* The memory (cl_kvmem_save), the replay and task state, the allocated
 * sizes the ledger reports, and the FLOP tallies. Not saved: the
 * prediction cache's contents (a checkpoint is taken between tasks and the
 * next task_begin invalidates the cache anyway; saving it would add
 * memory x (h + C) floats per checkpoint) and per-query scratch. */
static int episodic_save(const void *ctx, cl_ckpt_writer *w)
{
    const episodic *e = ctx;
    if (e->lm) {
        cl_knnlm_save(e->lm, w);
        return 0;
    }
    cl_kvmem_save(&e->mem, w);
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
    const cl_kvmem *m = &e->mem;
    for (int i = 0; i < m->n; i++)
        if (m->y[i] < 0 || m->y[i] >= e->env.n_classes || m->task[i] < 0 ||
            m->task[i] >= e->env.n_tasks || !e->task_seen[m->task[i]])
            return cl_ckpt_error(r, "stored sample %d has label %d, task %d", i, m->y[i],
                                 m->task[i]);
    return 0;
}

static int episodic_load(void *ctx, cl_ckpt_reader *r, const cl_task *tasks)
{
    (void)tasks;
    episodic *e = ctx;
    if (e->lm) return cl_knnlm_load(e->lm, r);
    int cache_rows, rc;
    if ((rc = cl_kvmem_load(&e->mem, r)) ||
        (rc = cl_ckpt_get_long(r, "steps", &e->steps, 0, LONG_MAX)) ||
        (rc = cl_ckpt_get_bytes(r, e->task_seen, (size_t)e->env.n_tasks)) ||
        (rc = cl_ckpt_get_bytes(r, e->task_masks, (size_t)e->env.n_tasks * e->env.n_classes)) ||
        (rc = cl_ckpt_get_int(r, "cache rows", &cache_rows, 0, e->mem.cap)) ||
        (rc = cl_ckpt_get_f64(r, &e->replay_flops)) ||
        (rc = cl_ckpt_get_f64(r, &e->adapt_flops)) ||
        (rc = cl_ckpt_get_f64(r, &e->retrieval_flops)))
        return rc;
    if ((rc = check_memory(e, r))) return rc;
    e->cache_valid = 0;
    if (cache_rows > 0) {
        /* The cache as allocated: the ledger counts it, and fill_cache only
         * grows it past cache_rows. */
        if ((rc = grow_one((void **)&e->feat, (size_t)cache_rows * e->h * sizeof(float))))
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
    .absorb = episodic_absorb,
    .predict = episodic_predict,
    .ledger = episodic_ledger,
    .save = episodic_save,
    .load = episodic_load,
    .destroy = episodic_destroy,
};
