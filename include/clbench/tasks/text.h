/* Building text tasks (clbench/store/task.h, cl_text) from documents, and
 * the fact sentences both text suites insert into their streams. Shared by
 * the text suite families (tasks/text_*.c). */
#ifndef CLBENCH_TEXT_H
#define CLBENCH_TEXT_H

#include <gsl/gsl_rng.h>
#include "clbench/store/corpus.h"
#include "clbench/store/task.h"

/* Task t's text from docs: documents in an order drawn from rng, the
 * first ones (a test_share of the bytes, at least one document) are the
 * test text, the rest the training stream, each cut at its budget (bytes;
 * 0: no limit) on a document boundary when one fits, mid-document else.
 * Documents are joined as read (each keeps its own line ends). CL_EINVAL
 * naming `name` when docs has fewer than two documents. */
int cl_text_task_fill(cl_task *t, const char *name, const cl_docs *docs, double test_share,
                      size_t train_budget, size_t test_budget, gsl_rng *rng);

/* Writes per_task facts into the training stream of every task from
 * `first` on, `copies` copies each back to back ("the pet of Kavolu is
 * owl.\n"), at line starts drawn from rng; names are fresh random words,
 * never repeated. Fills s->facts. */
int cl_text_facts_insert(cl_suite *s, int first, int per_task, int copies, gsl_rng *rng);

/* The protocol rows every text family's params spec holds (probe delays,
 * pretraining steps), and the call that copies them into the suite
 * (CL_EINVAL unless the delays ascend). */
#define CL_TEXT_PROTOCOL_PARAMS                                                                \
    {"probe_delays", CL_PARAM_INTS, "256,2048,16384", 1, 1000000000, NULL,                   \
     "bytes read after a fact when it is probed (ascending)"},                               \
    {"pretrain_steps", CL_PARAM_INT, "0", 0, 100000000, NULL,                                \
     "steps of pretraining on task 0 (shuffled windows); 0 = one pass"}
int cl_text_protocol(cl_suite *s, const cl_params *p);

/* The one-line recipe both suites append: "F facts/task x k copies". */
void cl_text_facts_recipe(char *buf, size_t n, int per_task, int copies);

#endif
