/*
 * config.h - driftmon's JSON configuration (DESIGN.md section 3).
 *
 * The drift options keep the names of Evidently's DataDriftOptions, so an Evidently user's
 * settings carry over.  Choices where the design is silent:
 *   - an unknown key is an error naming its path ("drift.stattest_treshold"): a typo in a
 *     monitoring config must not silently fall back to defaults;
 *   - a threshold is a finite number >= 0; a p-value test's threshold must be <= 1 (checked
 *     where the test is known: per column, or at the level that names the test);
 *   - drift_share, retrain.fraction and retrain.weighted_fraction are in [0, 1];
 *     retrain.score_psi is a finite number >= 0; model.decision_threshold a finite number;
 *   - retrain.cost_increase, model.cost.fn and model.cost.fp are finite numbers >= 0 (the two
 *     costs not both 0); model.label_delay an interval as schedule.every takes it;
 *   - `null` or an absent key means the default rule.
 * dm_config_load() parses into a fresh struct and leaves *out untouched on error, so a
 * reload can keep the old configuration.
 */
#ifndef DRIFTMON_CONFIG_H
#define DRIFTMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats/names.h"
#include "stats/stats.h"

#define DM_TEST_DEFAULT ((int)-1)

/* reports.history_runs when the config does not say: two months of daily batches, a page
 * of about 3.5 MB for 333 columns */
#define DM_HISTORY_RUNS_DEFAULT 60

/* limits.memory when the config does not say: 1 GiB */
#define DM_MEMORY_LIMIT_DEFAULT ((uint64_t)1 << 30)

/* database.replica_max_wait when the config does not say, and its largest value (seconds) */
#define DM_REPLICA_MAX_WAIT_DEFAULT 30.0
#define DM_REPLICA_MAX_WAIT_LIMIT 3600.0

typedef struct {
    char *name;
    int test;         /* stats_test or DM_TEST_DEFAULT */
    double threshold; /* NaN = not set */
} dm_column_override;

/* driftmon's group roles (database.roles), in this order. */
typedef enum {
    DM_ROLE_OWNER,
    DM_ROLE_DAEMON,
    DM_ROLE_ENGINE,
    DM_ROLE_AUDITOR,
    DM_ROLE_COUNT
} dm_role;

/* The unnamed monitor's name (the single-monitor form): in the database, views and labels. */
#define DM_MONITOR_DEFAULT "default"
/* A monitor's name: 1 to DM_MONITOR_NAME_MAX bytes of [A-Za-z0-9_-], starting with a letter or
 * a digit (it goes into file paths, log lines and metric labels as it is). */
#define DM_MONITOR_NAME_MAX 64

typedef struct dm_config dm_config;

struct dm_config {
    char *path; /* the file it came from ("(defaults)" when none) */
    /* SHA-256 of the file's canonical form (dm_config_canonical), which holds no secret;
     * "" for defaults */
    char sha256[65];

    /* columns */
    char **numeric, **categorical, **exclude;
    size_t n_numeric, n_categorical, n_exclude;

    /* drift (Evidently's DataDriftOptions) */
    int stattest, num_stattest, cat_stattest;       /* stats_test or DM_TEST_DEFAULT */
    double threshold, num_threshold, cat_threshold; /* NaN = not set */
    dm_column_override *per_column;
    size_t n_per_column;
    /* the column lists by name, for the lookups made once per column (names point into the
     * lists): columns.exclude; columns.numeric (1) and columns.categorical (2); per_column
     * (its index) */
    stats_names excluded, forced, overrides;
    double drift_share;
    stats_options stats;

    /* retrain: retraining is flagged when any configured condition holds
     * (stats_verdict_decide); NaN = the condition is not configured */
    double retrain_fraction;
    double retrain_weighted_fraction; /* importance-weighted drifted share > it */
    double retrain_score_psi;         /* the score's PSI >= it */
    /* a cohort's business cost > the reference's by more than this fraction (issue 21) */
    double retrain_cost_increase;
    char **hook; /* argv, NULL-terminated; NULL when no hook */
    size_t n_hook;
    char *notify_channel;
    double hook_timeout_s;
    int hook_max_attempts;
    /* retrain.env: names of the daemon's environment variables given to the hook besides
     * PATH, LANG, TZ, HOME and DRIFTMON_* (monitor/hook.h); NULL-terminated; NULL when none */
    char **hook_env;
    size_t n_hook_env;

    /* model (issue 17): NULL / NaN when absent.  importance: the path of the importance
     * file as given (monitor/importance.h); score_column: the model's score, monitored on its
     * own (dm_reconcile) and never a feature; decision_threshold: a score >= it is a refusal */
    char *importance_path;
    char *score_column;
    double decision_threshold;
    /* the outcomes (issue 21): label_column, the realised outcome (1 = default, 0 = repaid;
     * never a feature), NULL when absent; label_delay_s (model.label_delay, parsed as
     * schedule.every is: "90 days"), how long after its run a cohort's labels are due, NaN
     * when absent; cost_fn, cost_fp (model.cost.fn / .fp): the business cost of a false
     * negative (a default granted) and of a false positive (a good client refused), finite,
     * >= 0, not both 0, default 10 and 1 */
    char *label_column;
    double label_delay_s;
    double cost_fn, cost_fp;

    /* database side (issues 3-4); NULL when absent */
    char *conninfo;
    /* database.read_conninfo (issue 19): the streaming replica the rows of a batch or window
     * are read on (monitor/replica.h); NULL: read on the primary.  replica_max_wait_s
     * (database.replica_max_wait, seconds): how long a read waits for the standby's replay
     * to pass the primary's position before it reads on the primary */
    char *read_conninfo;
    double replica_max_wait_s;
    /* database.copy_streams: connections a batch is read over (1, the default, or 2: a batch
     * of 256 blocks or more read as two halves of its block range) */
    int copy_streams;
    /* database.warm_backend: raise the backend's malloc thresholds before each COPY (best
     * effort: its failure is logged, never fails a check); default true: without it a backend
     * can hand a wide COPY's memory back to the kernel at every row and read it several times
     * slower (figures: docs/PERFORMANCE.md) */
    bool warm_backend;
    /* database.roles.{owner,daemon,engine,auditor}: the group roles `driftmon init` creates or
     * checks (sql/011_roles.sql); NULL: the default name (dm_config_role) */
    char *roles[DM_ROLE_COUNT];
    char *source_table, *batch_column, *timestamp_column;
    char *reference_name;
    char *reports_dir;
    /* cache.dir: the local copies of stored references; NULL: dm_config_cache_dir's default */
    char *cache_dir;
    /* runs drawn on a history page (reports.history_runs): the most recent ones; the whole
     * history stays in driftmon.column_history and `driftmon history` */
    int history_runs;
    char *schedule_every;
    /* metrics.listen: the HTTP endpoint of /metrics and /healthz (monitor/metrics.h), as
     * dm_metrics_parse_listen checked it; NULL: off */
    char *metrics_listen;
    /* limits.memory (issue 20): the bytes the process may hold for one run's values, the
     * budget the loaders and the comparison divide into column groups; default
     * DM_MEMORY_LIMIT_DEFAULT.  A shared key: one budget for the process. */
    uint64_t memory_limit;
    /* limits.unit_values (issue 20): a daemon's check whose numeric values (rows x numeric
     * columns) pass this is cut into work units of at most this many values each, which any
     * daemon may claim (sql/018_units.sql); 0 (the default): a check is never cut.  A shared
     * key, as limits.memory. */
    uint64_t unit_values;

    /* monitor: this monitor's name; NULL in the single-monitor form (DM_MONITOR_DEFAULT).
     * monitors: with the "monitors" key, one full configuration per entry (the shared keys --
     * database, cache -- copied into each, the entry's own keys parsed over the defaults);
     * this struct then holds only the shared keys and the hook's delivery settings
     * (retrain.hook, hook_timeout, max_attempts, env), which one daemon uses for every
     * monitor.  Read them through dm_config_n_monitors / dm_config_monitor. */
    char *monitor;
    dm_config *monitors;
    size_t n_monitors;
};

/* The defaults: no overrides, drift_share 0.5, retrain fraction 0.5. */
void dm_config_defaults(dm_config *c);
void dm_config_release(dm_config *c);

/* Parse text (len bytes) named `name` in messages.  0, or -1 with one line in err naming the
 * file and the line:column (syntax) or the key and the value at fault. */
int dm_config_parse(const char *text, size_t len, const char *name, dm_config *out, char *err,
                    size_t errlen);
int dm_config_load(const char *path, dm_config *out, char *err, size_t errlen);

/*
 * The canonical form of a configuration text that dm_config_parse accepted, as a malloc'ed
 * string (NULL on out of memory or when the text does not parse): the JSON document
 * re-written compactly -- members and elements in the file's order, no whitespace, strings
 * escaped as cJSON writes them (" \\ \b \f \n \r \t, other bytes below 0x20 as \u00xx,
 * the rest as they are), true/false/null, numbers spelled as the reports spell them
 * (stats/numfmt.h: the shortest of %.15g, %.16g, %.17g that reads back exactly) -- with the
 * values of database.conninfo and database.read_conninfo replaced by their scrubbed forms
 * (dm_conninfo_scrub: every option libpq marks secret written ****).  It changes with every setting
 * but holds no secret, so its SHA-256 (dm_config.sha256, stored with every run) cannot test
 * password guesses.
 */
char *dm_config_canonical(const char *text, size_t len);

/* The monitors of a configuration: 1 (the configuration itself) in the single-monitor form. */
size_t dm_config_n_monitors(const dm_config *c);
const dm_config *dm_config_monitor(const dm_config *c, size_t i);
/* A monitor's name: c->monitor, or DM_MONITOR_DEFAULT. */
const char *dm_config_monitor_name(const dm_config *c);
/* The monitor a command works on: `name` (from --monitor; NULL when not given).  NULL name:
 * the only monitor, an error when there are several.  0 with *out set, or -1 with one line in
 * err naming the choices. */
int dm_config_select(const dm_config *c, const char *name, const dm_config **out, char *err,
                     size_t errlen);
/* Is s a valid monitor name (DM_MONITOR_NAME_MAX)? */
bool dm_config_monitor_name_ok(const char *s);

/* An interval as schedule.every and model.label_delay take it: "1 hour", "7 days", "30 minutes",
 * "2 weeks", "90 seconds" -> seconds; -1 otherwise. */
int64_t dm_config_parse_interval(const char *s);

/* Resolve the test and threshold of one column: per column > per type > global > default.
 * *test is DM_TEST_DEFAULT when the default rule applies; *threshold NaN when the test's
 * default threshold applies. */
void dm_config_resolve(const dm_config *c, const char *column, stats_kind kind, int *test,
                       double *threshold);

/*
 * The reference cache's directory: cache.dir when set, else the default for this process's
 * environment (dm_config_default_cache_dir).  0 with the path in out, or -1 with one line
 * in err.  It holds copies of stored reference profiles (distributions of applicant data):
 * the caller creates it with mode 0700 when missing.
 */
int dm_config_cache_dir(const dm_config *c, char *out, size_t len, char *err, size_t errlen);

/*
 * The default cache directory from the environment's values (NULL or "" = unset):
 * $CACHE_DIRECTORY, set by systemd's CacheDirectory= (its first entry), else
 * $XDG_CACHE_HOME/driftmon, else $HOME/.cache/driftmon.  A relative value is ignored (the
 * XDG base directory rule).  0 with the path in out; -1 when none applies or the path does
 * not fit, with one line in err.
 */
int dm_config_default_cache_dir(const char *cache_directory, const char *xdg_cache_home,
                                const char *home, char *out, size_t len, char *err, size_t errlen);

bool dm_config_is_excluded(const dm_config *c, const char *column);
/* 1 forced numeric, 2 forced categorical, 0 neither. */
int dm_config_forced_kind(const dm_config *c, const char *column);

/* The effective drift options as a JSON object text (malloc'ed), for the reports. */
char *dm_config_drift_json(const dm_config *c);

/* The name of role r: database.roles.<key> or its default (driftmon_owner, ...); *key is set
 * to the key's last part ("owner", ...) when key is not NULL. */
const char *dm_config_role(const dm_config *c, dm_role r, const char **key);

/* libFuzzer entry: parse arbitrary bytes, never crash. */
int dm_config_fuzz_one(const uint8_t *data, size_t size);

#endif
