/* Catastrophic-forgetting metrics, exactly as DESIGN.md section 5 defines
 * them. R is (T+1) x T: row 0 holds the untrained network's accuracy b_j,
 * row i the accuracy on task j after training task i (GEM orientation).
 * Undefined values (e.g. BWT when T = 1) are NaN and written as null. */
#ifndef CLBENCH_METRICS_H
#define CLBENCH_METRICS_H

/* 2: text suites (bits per byte, prequential scores, fact probes); the
 * classifier metrics are those of version 1. */
#define CL_METRICS_VERSION 2

/* Anytime evaluations: n points, each the accuracy on every task. */
typedef struct cl_curve {
    int n, cap, T;
    long *step;  /* (cap) global training step of the evaluation */
    int *stage;  /* (cap) 0-based task being trained */
    double *acc; /* (cap, T) accuracy on every task */
} cl_curve;

int cl_curve_init(cl_curve *c, int T);
int cl_curve_add(cl_curve *c, long step, int stage, const double *acc /* (T) */);
void cl_curve_release(cl_curve *c);

typedef struct cl_metrics {
    double acc;               /* (1/T) sum_j R[T][j] */
    double bwt;               /* (1/(T-1)) sum_{j<T} (R[T][j] - R[j][j]) */
    double bwt_gemcode;       /* the same sum divided by T (GEM's code) */
    double fwt;               /* (1/(T-1)) sum_{j>=2} (R[j-1][j] - b_j) */
    double forgetting;        /* (1/(T-1)) sum_{j<T} (max_{j<=l<T} R[l][j] - R[T][j]) */
    double learning_accuracy; /* (1/T) sum_j R[j][j] */
    double a_diaz;            /* mean of R[i][j] over 1 <= j <= i <= T */
    double anytime_acc;       /* mean over curve points of the mean accuracy
                                 on tasks seen so far (Caccia et al. 2022) */
    double min_acc;           /* (1/(T-1)) sum_{j<T} min accuracy on j at any
                                 curve point while training later tasks
                                 (De Lange et al. 2023, stability gap) */
    double intransigence;     /* (1/T) sum_j (Rjoint[j][j] - R[j][j]); NaN
                                 without a joint reference */
} cl_metrics;

/* Text suites: R in bits per byte, lower is better. cl_metrics_compute_bits
 * fills the same fields with every value in bits (per byte) and signed so
 * that larger is worse, each the classifier formula with accuracy read as
 * minus bits:
 *   acc               bpb: (1/T) sum_j R[T][j]
 *   bwt               (1/(T-1)) sum_{j<T} (R[T][j] - R[j][j]); > 0: old
 *                     domains got worse
 *   fwt               (1/(T-1)) sum_{j>=2} (R[j-1][j] - b_j); < 0: training
 *                     on earlier domains helped before this one was read
 *   forgetting        (1/(T-1)) sum_{j<T} (R[T][j] - min_{j<=l<T} R[l][j]) >= 0
 *   learning_accuracy (1/T) sum_j R[j][j], bpb just after reading j
 *   a_diaz            mean of R[i][j] over 1 <= j <= i <= T
 *   anytime_acc       mean over curve points of the mean bpb of domains seen
 *   min_acc           (1/(T-1)) sum_{j<T} max bpb on j while later ones
 *                     trained (the stability gap, in bits)
 *   intransigence     (1/T) sum_j (R[j][j] - Rjoint[j][j])
 * (j, l 1-based as in DESIGN.md section 5.) */
void cl_metrics_compute_bits(cl_metrics *out, const double *R, int T, const cl_curve *curve);

/* All metrics from R (T+1, T) and the curve (may be NULL: anytime metrics
 * NaN). intransigence is left NaN; see cl_metrics_intransigence. */
void cl_metrics_compute(cl_metrics *out, const double *R, int T,
                        const cl_curve *curve);

/* (1/T) sum_j (R_joint[j][j] - R[j][j]), both (T+1, T). */
double cl_metrics_intransigence(const double *R, const double *R_joint, int T);

#endif
