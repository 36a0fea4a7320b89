/* test_hook.c - the retrain hook: its input complete before it starts, so a hook that reads
 * late still gets the whole document when the daemon that started it has died; its
 * environment an allow-list (no PGPASSWORD); its output captured while it runs, the last
 * 4 KB kept, none of it in the daemon's own streams. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor/hook.h"

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Wait up to 30 s (a loaded machine) for path to exist. */
static bool appears(const char *path)
{
    for (int i = 0; i < 3000; i++) {
        if (access(path, F_OK) == 0)
            return true;
        nap_ms(10);
    }
    return false;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "could not open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    cr_assert_not_null(b);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
            cr_assert_not_null(b);
        }
    }
    fclose(f);
    *len = n;
    return b;
}

/* A payload four times a pipe's default capacity (64 KiB): a writer that dies before the
 * hook reads leaves, with a pipe, at most 64 KiB for it. */
#define PAYLOAD_LEN (256u * 1024u)

static char *payload(void)
{
    char *p = malloc(PAYLOAD_LEN);
    cr_assert_not_null(p);
    for (size_t i = 0; i < PAYLOAD_LEN; i++)
        p[i] = (char)('a' + (i * 7 + i / 251) % 26);
    return p;
}

/* The hook: marks that it started, waits 0.3 s without reading, then copies its standard
 * input to a file and marks that it finished. */
static void run_hook_in_child(const char *dir, const char *input, size_t len)
{
    char script[1200];
    snprintf(script, sizeof script,
             "touch '%s/started'; sleep 0.3; cat >'%s/got.tmp'; mv '%s/got.tmp' '%s/got'", dir, dir,
             dir, dir);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    dm_hook_call call = {.argv = argv, .input = input, .input_len = len, .timeout_s = 30.0};
    char err[256];
    dm_hook_outcome oc = dm_hook_run(&call, NULL, err, sizeof err);
    _exit(oc == DM_HOOK_OK ? 0 : 1);
}

Test(hook, input_complete_when_the_caller_dies_before_the_hook_reads)
{
    char dir[] = "/tmp/dm-hook-test.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *in = payload();
    pid_t caller = fork();
    cr_assert(caller >= 0);
    if (caller == 0)
        run_hook_in_child(dir, in, PAYLOAD_LEN);
    char started[300], got[300];
    snprintf(started, sizeof started, "%s/started", dir);
    snprintf(got, sizeof got, "%s/got", dir);
    cr_assert(appears(started), "the hook did not start");
    kill(caller, SIGKILL); /* the daemon dies while the hook has read nothing yet */
    int st;
    waitpid(caller, &st, 0);
    cr_assert(WIFSIGNALED(st), "the caller ended before it was killed");
    cr_assert(appears(got), "the hook did not finish after its caller died");
    size_t n;
    char *out = read_all(got, &n);
    cr_expect_eq(n, PAYLOAD_LEN, "the hook read %zu of %u bytes", n, PAYLOAD_LEN);
    cr_expect(n == PAYLOAD_LEN && memcmp(out, in, n) == 0, "the hook read other bytes");
    free(out);
    free(in);
    unlink(started);
    unlink(got);
    rmdir(dir);
}

Test(hook, input_given_whole_to_a_hook_that_reads_it)
{
    char dir[] = "/tmp/dm-hook-test.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *in = payload();
    char script[600];
    snprintf(script, sizeof script, "cat >'%s/got'", dir);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    const char *env[] = {"DRIFTMON_RUN_ID=7", NULL};
    dm_hook_call call = {
        .argv = argv, .input = in, .input_len = PAYLOAD_LEN, .env_extra = env, .timeout_s = 30.0};
    char err[256];
    cr_assert_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_OK, "%s", err);
    char got[300];
    snprintf(got, sizeof got, "%s/got", dir);
    size_t n;
    char *out = read_all(got, &n);
    cr_expect(n == PAYLOAD_LEN && memcmp(out, in, n) == 0, "read %zu bytes", n);
    free(out);
    free(in);
    unlink(got);
    rmdir(dir);
}

Test(hook, a_hook_that_does_not_read_its_input_succeeds)
{
    char *in = payload();
    const char *argv[] = {"/bin/true", NULL};
    dm_hook_call call = {.argv = argv, .input = in, .input_len = PAYLOAD_LEN, .timeout_s = 30.0};
    char err[256];
    cr_expect_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_OK, "%s", err);
    free(in);
}

Test(hook, no_input_is_an_empty_stdin)
{
    const char *argv[] = {"/bin/sh", "-c", "test \"$(wc -c)\" -eq 0", NULL};
    dm_hook_call call = {.argv = argv, .timeout_s = 30.0};
    char err[256];
    cr_expect_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_OK, "%s", err);
}

Test(hook, exit_status_and_missing_program_reported)
{
    const char *argv[] = {"/bin/sh", "-c", "exit 3", NULL};
    dm_hook_call call = {.argv = argv, .timeout_s = 30.0};
    char err[256];
    cr_expect_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_FAILED);
    cr_expect_str_eq(err, "exited with status 3");
    const char *missing[] = {"/nonexistent/dm-hook", NULL};
    call.argv = missing;
    cr_expect_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_NOSTART);
    cr_expect(strstr(err, "No such file or directory") != NULL, "%s", err);
}

/* ---- the hook's environment: an allow-list (issue 16) ----------------------------------- */

/* Whether `line` ("NAME=value") is a whole line of text. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* Whether a line of text sets the variable name. */
static bool has_name(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == '=')
            return true;
    return false;
}

/* The hook's environment as `env` prints it, read from a file (the old API: no output). */
static char *hook_env(const char *const *extra, const char *const *pass)
{
    char dir[] = "/tmp/dm-hook-test.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char script[600], path[300];
    snprintf(path, sizeof path, "%s/env", dir);
    snprintf(script, sizeof script, "env >'%s'", path);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    dm_hook_call call = {.argv = argv, .env_extra = extra, .timeout_s = 30.0};
    call.env_pass = pass;
    char err[256];
    cr_assert_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_OK, "%s", err);
    size_t n;
    char *text = read_all(path, &n);
    text = realloc(text, n + 1);
    cr_assert_not_null(text);
    text[n] = '\0';
    unlink(path);
    rmdir(dir);
    return text;
}

Test(hook, the_daemons_secrets_are_not_in_the_hooks_environment)
{
    cr_assert_eq(setenv("PGPASSWORD", "s3cret-pw", 1), 0);
    cr_assert_eq(setenv("PGPASSFILE", "/root/.pgpass", 1), 0);
    cr_assert_eq(setenv("AWS_SECRET_ACCESS_KEY", "k3y", 1), 0);
    cr_assert_eq(setenv("DRIFTMON_X", "x value", 1), 0);
    cr_assert_eq(setenv("DRIFTMON_RUN_ID", "stale", 1), 0);
    cr_assert_eq(setenv("TZ", "UTC", 1), 0);
    const char *path = getenv("PATH");
    cr_assert_not_null(path, "the test needs PATH set");
    const char *extra[] = {"DRIFTMON_RUN_ID=7", NULL};
    char *env = hook_env(extra, NULL);
    cr_expect(!has_name(env, "PGPASSWORD"), "PGPASSWORD reached the hook:\n%s", env);
    cr_expect(!has_name(env, "PGPASSFILE"), "PGPASSFILE reached the hook:\n%s", env);
    cr_expect(!has_name(env, "AWS_SECRET_ACCESS_KEY"), "a secret reached the hook:\n%s", env);
    char want[4200];
    snprintf(want, sizeof want, "PATH=%s", path);
    cr_expect(has_line(env, want), "PATH missing or changed:\n%s", env);
    cr_expect(has_line(env, "DRIFTMON_X=x value"), "DRIFTMON_X missing:\n%s", env);
    cr_expect(has_line(env, "TZ=UTC"), "TZ missing:\n%s", env);
    cr_expect(has_line(env, "DRIFTMON_RUN_ID=7"), "the caller's value must win:\n%s", env);
    cr_expect(!has_line(env, "DRIFTMON_RUN_ID=stale"), "the daemon's stale value stayed:\n%s", env);
    free(env);
}

Test(hook, retrain_env_names_pass_exactly_those_variables)
{
    cr_assert_eq(setenv("PGPASSWORD", "s3cret-pw", 1), 0);
    cr_assert_eq(setenv("RETRAIN_TOKEN", "tok", 1), 0);
    cr_assert_eq(setenv("RETRAIN_TOKEN_2", "other", 1), 0);
    cr_assert_eq(setenv("RETRAIN_TOKE", "prefix", 1), 0);
    const char *pass[] = {"RETRAIN_TOKEN", "NOT_SET_ANYWHERE", NULL};
    char *env = hook_env(NULL, pass);
    cr_expect(has_line(env, "RETRAIN_TOKEN=tok"), "a retrain.env name is missing:\n%s", env);
    cr_expect(!has_name(env, "RETRAIN_TOKEN_2"), "a longer name passed:\n%s", env);
    cr_expect(!has_name(env, "RETRAIN_TOKE"), "a shorter name passed:\n%s", env);
    cr_expect(!has_name(env, "NOT_SET_ANYWHERE"), "an unset name appeared:\n%s", env);
    cr_expect(!has_name(env, "PGPASSWORD"), "PGPASSWORD reached the hook:\n%s", env);
    free(env);
}

/* ---- the hook's output: captured, bounded, never in the daemon's streams ----------------- */

/* Run call with this process's stdout and stderr sent to a file; returns the outcome and
 * sets *leaked to the bytes that reached them. */
static dm_hook_outcome run_with_streams_caught(dm_hook_call *call, double *elapsed, char *err,
                                               size_t errlen, long *leaked)
{
    char path[] = "/tmp/dm-hook-streams.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    fflush(stdout);
    fflush(stderr);
    int o1 = dup(STDOUT_FILENO), o2 = dup(STDERR_FILENO);
    cr_assert(o1 >= 0 && o2 >= 0);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    dm_hook_outcome oc = dm_hook_run(call, elapsed, err, errlen);
    fflush(stdout);
    fflush(stderr);
    dup2(o1, STDOUT_FILENO);
    dup2(o2, STDERR_FILENO);
    close(o1);
    close(o2);
    *leaked = (long)lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(path);
    return oc;
}

Test(hook, output_stays_out_of_the_daemons_streams)
{
    const char *argv[] = {"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; printf partial",
                          NULL};
    dm_hook_call call = {.argv = argv, .timeout_s = 30.0};
    char err[256];
    long leaked = -1;
    cr_assert_eq(run_with_streams_caught(&call, NULL, err, sizeof err, &leaked), DM_HOOK_OK, "%s",
                 err);
    cr_expect_eq(leaked, 0, "%ld bytes of the hook's output reached the daemon's streams", leaked);
}

Test(hook, stdout_and_stderr_kept_in_the_order_written)
{
    const char *argv[] = {"/bin/sh", "-c", "printf 'a\\n'; printf 'b\\n' >&2; printf c", NULL};
    dm_hook_output out;
    dm_hook_call call = {.argv = argv, .timeout_s = 30.0};
    call.output = &out;
    char err[256];
    cr_assert_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_OK, "%s", err);
    cr_expect_eq(out.total, 5);
    cr_expect(out.len == 5 && memcmp(out.tail, "a\nb\nc", 5) == 0, "kept %zu bytes: %.*s", out.len,
              (int)out.len, out.tail);
}

/* 10 MiB on stdout, 10 MiB on stderr, then `seq 1 3000` on stderr (13893 bytes): the hook
 * would block on a pipe nobody reads (64 KiB) and be killed at the timeout; read while it
 * runs, it ends, and the kept 4096 bytes are the end of seq's output. */
Test(hook, ten_megabytes_of_output_do_not_block_and_the_last_4k_are_kept)
{
    const char *argv[] = {"/bin/sh", "-c",
                          "head -c 10485760 /dev/zero | tr '\\000' o; "
                          "head -c 10485760 /dev/zero | tr '\\000' e >&2; seq 1 3000 >&2",
                          NULL};
    dm_hook_output out;
    dm_hook_call call = {.argv = argv, .timeout_s = 60.0};
    call.output = &out;
    char err[256];
    double elapsed = 0;
    long leaked = -1;
    dm_hook_outcome oc = run_with_streams_caught(&call, &elapsed, err, sizeof err, &leaked);
    cr_assert_eq(oc, DM_HOOK_OK, "%s (after %.1f s)", err, elapsed);
    cr_expect_eq(leaked, 0, "%ld bytes reached the daemon's streams", leaked);
    /* seq's output, written here independently */
    static char seq[20000];
    size_t n = 0;
    for (int i = 1; i <= 3000; i++)
        n += (size_t)snprintf(seq + n, sizeof seq - n, "%d\n", i);
    cr_assert_eq(n, 13893, "9 + 90*2 + 900*3 + 2001*4 bytes");
    cr_expect_eq(out.total, 2ull * 10485760ull + n, "total %llu", out.total);
    cr_assert_eq(out.len, DM_HOOK_OUTPUT_MAX);
    cr_expect(memcmp(out.tail, seq + n - DM_HOOK_OUTPUT_MAX, DM_HOOK_OUTPUT_MAX) == 0,
              "the kept bytes are not the last 4096 written: ...%.40s", out.tail);
}

Test(hook, output_kept_when_the_hook_is_killed_at_its_timeout)
{
    const char *argv[] = {"/bin/sh", "-c", "echo before; exec sleep 30", NULL};
    dm_hook_output out;
    /* a timeout that leaves the shell time to write even when it starts slowly (under
     * valgrind --trace-children, or on a loaded machine) */
    dm_hook_call call = {.argv = argv, .timeout_s = 2.0};
    call.output = &out;
    char err[256];
    cr_assert_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_TIMEOUT, "%s", err);
    cr_expect(out.len == 7 && memcmp(out.tail, "before\n", 7) == 0, "kept: %.*s", (int)out.len,
              out.tail);
}

/* A background process of the hook keeps the pipe open: the caller reads what is there
 * when the hook ends and does not wait for the pipe's end. */
Test(hook, a_background_process_holding_the_pipe_does_not_hold_the_caller)
{
    const char *argv[] = {"/bin/sh", "-c", "sleep 5 & echo started", NULL};
    dm_hook_output out;
    dm_hook_call call = {.argv = argv, .timeout_s = 30.0};
    call.output = &out;
    char err[256];
    double elapsed = 0;
    cr_assert_eq(dm_hook_run(&call, &elapsed, err, sizeof err), DM_HOOK_OK, "%s", err);
    cr_expect(elapsed < 2.5, "waited %.2f s for the background process", elapsed);
    cr_expect(out.len == 8 && memcmp(out.tail, "started\n", 8) == 0, "kept: %.*s", (int)out.len,
              out.tail);
}

/* A daemon started with its standard streams closed: the memfd and the pipes get
 * descriptors 0-2, and the hook must still get its input, its output pipe and the exec
 * error.  Checked in a child with 0, 1 and 2 closed; its exit status says which failed. */
Test(hook, works_when_the_callers_standard_streams_are_closed)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(STDIN_FILENO);
        close(STDOUT_FILENO);
        close(STDERR_FILENO);
        const char *argv[] = {"/bin/sh", "-c", "cat; echo done >&2", NULL};
        dm_hook_output out;
        dm_hook_call call = {.argv = argv, .input = "in\n", .input_len = 3, .timeout_s = 30.0};
        call.output = &out;
        char err[256];
        if (dm_hook_run(&call, NULL, err, sizeof err) != DM_HOOK_OK)
            _exit(1);
        if (out.len != 8 || memcmp(out.tail, "in\ndone\n", 8) != 0)
            _exit(2);
        const char *missing[] = {"/nonexistent/dm-hook", NULL};
        call.argv = missing;
        if (dm_hook_run(&call, NULL, err, sizeof err) != DM_HOOK_NOSTART ||
            strstr(err, "No such file or directory") == NULL)
            _exit(3);
        _exit(0);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "exit %d: 1 = the hook failed, 2 = wrong output, 3 = exec error lost",
              WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}
