/*
 * hook.h - running the retrain hook, and the retry policy shared by the daemon.
 *
 * The hook is a command given as argv in the configuration (retrain.hook).  It is run
 * without a shell (fork + execvpe, PATH searched as execvp does), in its own process group,
 * with the signal mask cleared and SIGPIPE back to its default, the run's JSON report on its
 * standard input, and a clean environment: of the daemon's variables only PATH, LANG, TZ,
 * HOME, every DRIFTMON_* variable and the names the caller passes on (retrain.env), then the
 * caller's extra variables (DRIFTMON_RUN_ID, DRIFTMON_BATCH, ...) over them.  The daemon's
 * PGPASSWORD, PGPASSFILE, ... never reach a hook unless retrain.env names them.
 *
 * The input is written whole into an anonymous file (memfd) before the hook starts, and
 * that file, at offset 0, is the hook's standard input: a hook reads the complete document
 * however late it reads and even when the daemon dies meanwhile (the alert then stays
 * pending and is delivered again), and it may ignore its input.
 *
 * The hook's standard output and standard error are one pipe, read by the caller while it
 * waits (a hook that writes without end never blocks on a full pipe, and nothing of it
 * reaches the daemon's own streams); the last DM_HOOK_OUTPUT_MAX bytes are kept.  The
 * caller waits at most 10 ms between looks at the hook; at the timeout, or when *stop
 * becomes non-zero, the whole process group gets SIGKILL and is reaped.  Once the hook has
 * ended, what is left in the pipe is read without waiting for its end (a background
 * process of the hook may hold it open).  Only the exit status counts.
 */
#ifndef DRIFTMON_HOOK_H
#define DRIFTMON_HOOK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of the hook's output kept: its last ones. */
#define DM_HOOK_OUTPUT_MAX 4096

typedef struct {
    char tail[DM_HOOK_OUTPUT_MAX]; /* the last `len` bytes written, as written (not a string) */
    size_t len;
    unsigned long long total; /* bytes the hook wrote in all */
} dm_hook_output;

typedef struct {
    const char *const *argv; /* NULL-terminated, argv[0] the program */
    const char *input;       /* the hook's stdin (copied before it starts); may be NULL */
    size_t input_len;
    const char *const *env_extra; /* "NAME=value" entries, NULL-terminated; may be NULL */
    double timeout_s;             /* > 0 */
    const atomic_int *stop;       /* may be NULL: give up (kill) when it becomes non-zero */
    /* names of further variables of the daemon's environment given to the hook
     * (retrain.env), NULL-terminated; may be NULL */
    const char *const *env_pass;
    dm_hook_output *output; /* the hook's output; may be NULL (then read and dropped) */
} dm_hook_call;

typedef enum {
    DM_HOOK_OK = 0,      /* exit status 0 */
    DM_HOOK_FAILED = 1,  /* another exit status or killed by a signal */
    DM_HOOK_TIMEOUT = 2, /* still running at the timeout: killed */
    DM_HOOK_NOSTART = 3, /* could not be started (not found, not executable, fork failed) */
    DM_HOOK_STOPPED = 4  /* *stop became non-zero: killed, not the hook's fault */
} dm_hook_outcome;

/* Run the hook and wait for it.  Returns the outcome; err gets one line saying what
 * happened ("exited with status 3", "killed by signal 9", "timed out after 2.0 s",
 * "could not run \"x\": No such file or directory"); *elapsed_s (may be NULL) the time. */
dm_hook_outcome dm_hook_run(const dm_hook_call *call, double *elapsed_s, char *err, size_t errlen);

/*
 * The named retry policy (capped exponential backoff with decorrelated jitter, as in
 * pg_auto_failover's pgsql.c): the next delay is uniform in [base, 3 x prev], at most cap;
 * prev <= 0 (the first retry) counts as base.  rng is the caller's xorshift64* state
 * (non-zero; dm_backoff_seed gives one).
 */
double dm_backoff_next(double base, double cap, double prev, uint64_t *rng);
uint64_t dm_backoff_seed(void);

#endif
