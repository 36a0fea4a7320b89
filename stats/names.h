/*
 * names.h - a map from names (column names, config lists, report keys) to indexes: the one
 * lookup of a name among many, so that work over n columns stays linear in n.  Every stage
 * that looks a column up by name (reconcile, the config's column lists and per-column
 * overrides, a profile's duplicate check, the JSON report's keys) goes through it rather
 * than scanning with strcmp.  It lives in stats/, the bottom layer, so that reports/ and
 * monitor/ share it; unlike the rest of stats/ it allocates, but only its own table, on
 * the caller's request (add, index) and freed by release.
 *
 * Open addressing with linear probing, at most half full.  The hash is SipHash-1-3 keyed
 * once per process from getrandom(): column names come from files a hostile user may
 * write, and names chosen to collide under a fixed hash would make every lookup a scan
 * again.  Lookups never depend on the key's value, only their speed does.
 *
 * The map does not copy its names: each must stay alive and unchanged while it is in the
 * map.  A zeroed stats_names (stats_names_init) is an empty map; stats_names_release frees it.
 */
#ifndef DRIFTMON_STATS_NAMES_H
#define DRIFTMON_STATS_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "stats/stats.h"

typedef struct {
    const char *name; /* NULL: free slot */
    size_t value;
    uint64_t hash;
} stats_names_slot;

typedef struct {
    stats_names_slot *slot;
    size_t cap; /* a power of two, or 0 */
    size_t n;
} stats_names;

void stats_names_init(stats_names *m);
void stats_names_release(stats_names *m);

/* Map name to value.  STATS_OK when added; 1 when name was there already (its value is left
 * as it was and written to *had unless had is NULL); STATS_ENOMEM (the map is unchanged). */
int stats_names_add(stats_names *m, const char *name, size_t value, size_t *had)
    __attribute__((warn_unused_result));

/* The value of name, or -1 when it is not in the map. */
long stats_names_find(const stats_names *m, const char *name);

/* A map of names[0..n) to their indexes (the first index of a name given twice), built in
 * *m (initialised by the call).  STATS_OK, or STATS_ENOMEM (*m then empty). */
int stats_names_index(stats_names *m, const char *const *names, size_t n)
    __attribute__((warn_unused_result));

#endif
