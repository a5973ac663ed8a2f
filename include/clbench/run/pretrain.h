/* The pretrained network of a text suite's task 0, cached by a content
 * hash of everything that determined it, so that every strategy and rerun
 * of a cell starts from the same network without pretraining again. */
#ifndef CLBENCH_PRETRAIN_H
#define CLBENCH_PRETRAIN_H

#include <stdint.h>
#include "clbench/nn/net.h"
#include "clbench/run/config.h"
#include "clbench/store/task.h"

/* The hash of the build, the network and its table, the train table, the
 * seed, the step count and the bytes of task 0's stream. */
uint64_t cl_pretrain_key(const cl_config *cfg, const cl_task *t0, long steps);

/* Loads the parameters cached under key into net (same shape) and the
 * pretraining's FLOPs: 0, or CL_ENOTFOUND when there is no usable file (a
 * file of another shape or a corrupt one counts as none: it is rebuilt). */
int cl_pretrain_load(const char *dir, uint64_t key, cl_net *net, double *flops);
/* Stores net's parameters under key, atomically. */
int cl_pretrain_save(const char *dir, uint64_t key, const cl_net *net, double flops);

#endif
