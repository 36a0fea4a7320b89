/*
 * compare_internal.h - the state of a comparison while it is built (dm_compare_begin ..
 * dm_compare_finish), shared by compare.c and the codec of a group's results
 * (unitcodec.c, compare.h: dm_compare_group_save / _load).  Nothing else reads it.
 */
#ifndef DRIFTMON_COMPARE_INTERNAL_H
#define DRIFTMON_COMPARE_INTERNAL_H

#include <stdbool.h>

#include "monitor/compare.h"

/* A pair's state while the comparison is built. */
enum { PAIR_PENDING = 0, PAIR_TESTED, PAIR_UNTESTED };

struct dm_compare_work {
    const dm_config *cfg;
    const dm_importance *imp;
    const dm_dataset *ref, *cur;
    const dm_reconciled *pairs;
    bool plots;
    unsigned char *state; /* per pair */
    char **why;           /* per pair: why a column set up was not tested (owned) */
    bool score_done;
};

/* dm_comparison.score_note's values besides NULL (a side without a score). */
extern const char dm_score_note_no_ref[];
extern const char dm_score_note_no_cur[];

#endif
