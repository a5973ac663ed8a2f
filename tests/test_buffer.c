/* The sample buffer: reservoir inclusion is uniform (Vitter's R with the
 * inclusive draw), the balanced policy evens out skewed class streams,
 * sampling is without replacement, and sizes, labels and parse errors. All
 * randomness comes from fixed seeds, so each test is deterministic; the
 * tolerances are still several standard deviations wide, so that another
 * seed would pass too (the margins are stated test by test). */
#include <math.h>
#include <string.h>
#include <criterion/criterion.h>
#include "clbench/nn/buffer.h"
#include "clbench/base/error.h"
#include "clbench/base/rng.h"

TestSuite(buffer, .timeout = 60);

static gsl_rng *rng_for(unsigned long seed)
{
    gsl_rng *r;
    cr_assert_eq(cl_rng_new(&r, seed, CL_RNG_STRATEGY), 0);
    return r;
}

static cl_buffer *new_buffer(int cap, int d, int n_classes, cl_buffer_policy pol)
{
    cl_buffer *b;
    cr_assert_eq(cl_buffer_new(&b, cap, d, n_classes, pol), 0, "%s", cl_error_last());
    return b;
}

/* Offers items 0..n-1 (x = the item's index, d = 1, label 0) to a fresh
 * reservoir of capacity cap; counts[i] += 1 for every item i kept. */
static void reservoir_trial(int cap, int n, gsl_rng *rng, long *counts)
{
    cl_buffer *b = new_buffer(cap, 1, 1, CL_BUFFER_RESERVOIR);
    for (int i = 0; i < n; i++) {
        float x = (float)i;
        cl_buffer_offer(b, &x, 0, 0, rng);
    }
    cr_assert_eq(b->n, cap < n ? cap : n);
    cr_assert_eq(b->seen, n);
    for (int s = 0; s < b->n; s++) counts[(int)b->x[s]]++;
    cl_buffer_free(b);
}

/* Capacity 1, two items: the second must replace the first with
 * probability 1/2. The [0, n) off-by-one draws j = 0 every time and keeps it
 * always. 20000 trials: sd of the frequency is 0.0035; tolerance 0.02 is
 * 5.7 sd. */
Test(buffer, reservoir_cap1_keeps_second_half_the_time)
{
    gsl_rng *rng = rng_for(11);
    enum { N = 20000 };
    long counts[2] = {0, 0};
    for (int t = 0; t < N; t++) reservoir_trial(1, 2, rng, counts);
    double p = (double)counts[1] / N;
    cr_assert(fabs(p - 0.5) < 0.02, "P(second kept) = %.4f, want 0.5", p);
    cr_assert_eq(counts[0] + counts[1], N);
    gsl_rng_free(rng);
}

/* Capacity 10, 100 items: every item must be kept with probability 0.1.
 * Over 20000 trials each frequency has sd 0.0021; the bound 0.012 is 5.7 sd
 * per item (about 1e-6 chance that any of the 100 exceeds it). The summed
 * squared z-scores have mean 100 and sd about 14; the bound 170 is 5 sd. */
Test(buffer, reservoir_inclusion_is_uniform)
{
    gsl_rng *rng = rng_for(12);
    enum { N = 20000, CAP = 10, ITEMS = 100 };
    long counts[ITEMS] = {0};
    for (int t = 0; t < N; t++) reservoir_trial(CAP, ITEMS, rng, counts);
    double p = (double)CAP / ITEMS, var = N * p * (1 - p), chi2 = 0.0, worst = 0.0;
    for (int i = 0; i < ITEMS; i++) {
        double f = (double)counts[i] / N;
        if (fabs(f - p) > worst) worst = fabs(f - p);
        cr_assert(fabs(f - p) < 0.012, "item %d kept with frequency %.4f, want %.2f", i, f, p);
        chi2 += (counts[i] - N * p) * (counts[i] - N * p) / var;
    }
    cr_assert(chi2 < 170, "sum of squared z-scores %.1f (want about 100)", chi2);
    gsl_rng_free(rng);
}

/* Before the buffer is full every offer is kept, in order, under both
 * policies. */
Test(buffer, fills_in_order_until_full)
{
    gsl_rng *rng = rng_for(13);
    for (int pol = 0; pol < 2; pol++) {
        cl_buffer *b = new_buffer(8, 1, 2, (cl_buffer_policy)pol);
        for (int i = 0; i < 8; i++) {
            float x = (float)i;
            cl_buffer_offer(b, &x, i % 2, 0, rng);
            cr_assert_eq(b->n, i + 1);
        }
        for (int s = 0; s < 8; s++) cr_assert_eq(b->x[s], (float)s);
        cr_assert_eq(b->class_n[0], 4);
        cr_assert_eq(b->class_n[1], 4);
        cl_buffer_free(b);
    }
    gsl_rng_free(rng);
}

/* Shuffled stream of 700/200/100 samples of classes 0/1/2 into 60 slots. */
static void skewed_stream(cl_buffer *b, gsl_rng *rng)
{
    enum { N = 1000 };
    int y[N];
    for (int i = 0; i < N; i++) y[i] = i < 700 ? 0 : i < 900 ? 1 : 2;
    cl_rng_shuffle(rng, y, N);
    for (int i = 0; i < N; i++) {
        float x = (float)i;
        cl_buffer_offer(b, &x, y[i], 0, rng);
    }
}

/* CBRS on a 70/20/10 stream into 60 slots: every class ends with 20 +- 2
 * stored (the smallest class has 100 samples, enough to reach its share).
 * Plain reservoir on the same streams keeps the skew (class 0: 42 +- 3.5
 * stored; at least 30 asserted), which shows the stream is skewed enough for
 * the claim to mean something. Ten seeded streams. */
Test(buffer, balanced_evens_out_a_skewed_stream)
{
    for (unsigned long seed = 0; seed < 10; seed++) {
        gsl_rng *rng = rng_for(100 + seed);
        cl_buffer *bal = new_buffer(60, 1, 3, CL_BUFFER_BALANCED);
        skewed_stream(bal, rng);
        gsl_rng_free(rng);
        rng = rng_for(100 + seed);
        cl_buffer *res = new_buffer(60, 1, 3, CL_BUFFER_RESERVOIR);
        skewed_stream(res, rng);
        cr_assert_eq(bal->n, 60);
        int hist[3] = {0, 0, 0};
        for (int s = 0; s < bal->n; s++) hist[bal->y[s]]++;
        for (int c = 0; c < 3; c++) {
            cr_assert_eq(hist[c], bal->class_n[c], "class_n out of step with the labels");
            cr_assert(abs(bal->class_n[c] - 20) <= 2, "seed %lu: balanced keeps %d/%d/%d",
                      seed, bal->class_n[0], bal->class_n[1], bal->class_n[2]);
        }
        cr_assert_eq(bal->class_seen[0] + bal->class_seen[1] + bal->class_seen[2], 1000);
        cr_assert(res->class_n[0] >= 30,
                  "seed %lu: reservoir keeps %d/%d/%d", seed, res->class_n[0],
                  res->class_n[1], res->class_n[2]);
        cl_buffer_free(bal);
        cl_buffer_free(res);
        gsl_rng_free(rng);
    }
}

/* Index of stored item with x[0] == v, or -1. */
static int slot_of(const cl_buffer *b, float v)
{
    for (int s = 0; s < b->n; s++)
        if (b->x[(size_t)s * b->d] == v) return s;
    return -1;
}

/* Draws are without replacement, come from the stored items with their
 * labels and tasks, and are capped at the number stored. Each of 50 slots
 * drawn 5 at a time should appear in 10% of 10000 draws: sd 0.003, bound
 * 0.015 (5 sd). */
Test(buffer, sample_draws_distinct_stored_items)
{
    gsl_rng *rng = rng_for(14);
    cl_buffer *b = new_buffer(50, 2, 4, CL_BUFFER_RESERVOIR);
    float x[80 * 2];
    int y[80], task[80];
    cr_assert_eq(cl_buffer_sample(b, 5, rng, x, y, task), 0, "empty buffer drew samples");
    for (int i = 0; i < 200; i++) {
        float xi[2] = {(float)i, (float)(1000 + i)};
        cl_buffer_offer(b, xi, i % 4, i / 50, rng);
    }
    cr_assert_eq(cl_buffer_sample(b, 80, rng, x, y, task), 50, "draw not capped at n");
    int hit[50] = {0};
    for (int k = 0; k < 50; k++) {
        int s = slot_of(b, x[2 * k]);
        cr_assert(s >= 0, "drew an item that is not stored");
        cr_assert_eq(hit[s]++, 0, "slot %d drawn twice", s);
        cr_assert_eq(x[2 * k + 1], b->x[2 * s + 1]);
        cr_assert_eq(y[k], b->y[s]);
        cr_assert_eq(task[k], b->task[s]);
    }
    enum { N = 10000 };
    long counts[50] = {0};
    for (int t = 0; t < N; t++) {
        cr_assert_eq(cl_buffer_sample(b, 5, rng, x, y, NULL), 5);
        for (int k = 0; k < 5; k++) {
            int s = slot_of(b, x[2 * k]);
            for (int j = 0; j < k; j++) cr_assert(x[2 * j] != x[2 * k], "repeat in one draw");
            counts[s]++;
        }
    }
    for (int s = 0; s < 50; s++)
        cr_assert(fabs((double)counts[s] / N - 0.1) < 0.015, "slot %d drawn in %.4f of draws", s,
                  (double)counts[s] / N);
    cl_buffer_free(b);
    gsl_rng_free(rng);
}

/* What a buffer of 1000 MNIST-sized samples costs: at least the floats. */
Test(buffer, bytes_cover_the_samples)
{
    cl_buffer *b = new_buffer(1000, 784, 10, CL_BUFFER_RESERVOIR);
    cr_assert_geq(cl_buffer_bytes(b), (size_t)1000 * 784 * 4);
    /* Labels and task ids too, and no more than that. */
    cr_assert_eq(cl_buffer_bytes(b), (size_t)1000 * (784 * 4 + 2 * sizeof(int)));
    cl_buffer_free(b);
}

/* Every stored slot keeps its sample's features, label and task together,
 * whether offered one by one or as a batch (which uses the batch's task). */
Test(buffer, labels_and_tasks_stay_with_their_samples)
{
    gsl_rng *rng = rng_for(15);
    for (int pol = 0; pol < 2; pol++) {
        cl_buffer *b = new_buffer(64, 2, 3, (cl_buffer_policy)pol);
        for (int i = 0; i < 300; i++) {
            float xi[2] = {(float)i, (float)-i};
            cl_buffer_offer(b, xi, i % 3, i / 100, rng);
        }
        float bx[100 * 2];
        int by[100];
        for (int i = 0; i < 100; i++) {
            bx[2 * i] = (float)(300 + i);
            bx[2 * i + 1] = (float)-(300 + i);
            by[i] = (300 + i) % 3;
        }
        cl_batch batch = {bx, by, 100, 2, 3, 3, NULL, 0};
        cl_buffer_offer_batch(b, &batch, rng);
        cr_assert_eq(b->seen, 400);
        int tasks_kept[4] = {0};
        for (int s = 0; s < b->n; s++) {
            int i = (int)b->x[2 * s];
            cr_assert_eq(b->x[2 * s + 1], (float)-i, "features of slot %d torn", s);
            cr_assert_eq(b->y[s], i % 3, "slot %d: label %d for item %d", s, b->y[s], i);
            cr_assert_eq(b->task[s], i / 100, "slot %d: task %d for item %d", s, b->task[s], i);
            tasks_kept[b->task[s]]++;
        }
        /* 400 offers into 64 slots: every task, including the batch's, is
         * represented (each has expected 16 under reservoir). */
        for (int t = 0; t < 4; t++) cr_assert(tasks_kept[t] > 0, "policy %d lost task %d", pol, t);
        cl_buffer_free(b);
    }
    gsl_rng_free(rng);
}

Test(buffer, policy_parse_and_bad_sizes)
{
    cl_buffer_policy p = CL_BUFFER_BALANCED;
    cr_assert_eq(cl_buffer_policy_parse(&p, "reservoir"), 0);
    cr_assert_eq(p, CL_BUFFER_RESERVOIR);
    cr_assert_eq(cl_buffer_policy_parse(&p, "balanced"), 0);
    cr_assert_eq(p, CL_BUFFER_BALANCED);
    const char *bad[] = {"fifo", "", "Reservoir", "reservoir ", "balance"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(cl_buffer_policy_parse(&p, bad[i]), CL_EINVAL, "accepted '%s'", bad[i]);
        char want[64];
        snprintf(want, sizeof want, "'%s'", bad[i]);
        cr_assert(strstr(cl_error_last(), want), "message does not name '%s': %s", bad[i],
                  cl_error_last());
        cr_assert(strstr(cl_error_last(), "reservoir") && strstr(cl_error_last(), "balanced"),
                  "message does not list the choices: %s", cl_error_last());
    }
    cl_buffer *b = (cl_buffer *)&p;
    cr_assert_eq(cl_buffer_new(&b, 0, 4, 2, CL_BUFFER_RESERVOIR), CL_EINVAL);
    cr_assert_null(b);
    cr_assert_eq(cl_buffer_new(&b, 4, 0, 2, CL_BUFFER_RESERVOIR), CL_EINVAL);
    cr_assert_eq(cl_buffer_new(&b, 4, 4, 0, CL_BUFFER_RESERVOIR), CL_EINVAL);
    cl_buffer_free(NULL);
}
