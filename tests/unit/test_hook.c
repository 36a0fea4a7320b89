/* test_hook.c - the retrain hook's input: complete before the hook starts, so a hook that
 * reads late still gets the whole document when the daemon that started it has died. */
#include <criterion/criterion.h>
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
    dm_hook_call call = {argv, input, len, NULL, 30.0, NULL};
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
    dm_hook_call call = {argv, in, PAYLOAD_LEN, env, 30.0, NULL};
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
    dm_hook_call call = {argv, in, PAYLOAD_LEN, NULL, 30.0, NULL};
    char err[256];
    cr_expect_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_OK, "%s", err);
    free(in);
}

Test(hook, no_input_is_an_empty_stdin)
{
    const char *argv[] = {"/bin/sh", "-c", "test \"$(wc -c)\" -eq 0", NULL};
    dm_hook_call call = {argv, NULL, 0, NULL, 30.0, NULL};
    char err[256];
    cr_expect_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_OK, "%s", err);
}

Test(hook, exit_status_and_missing_program_reported)
{
    const char *argv[] = {"/bin/sh", "-c", "exit 3", NULL};
    dm_hook_call call = {argv, NULL, 0, NULL, 30.0, NULL};
    char err[256];
    cr_expect_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_FAILED);
    cr_expect_str_eq(err, "exited with status 3");
    const char *missing[] = {"/nonexistent/dm-hook", NULL};
    call.argv = missing;
    cr_expect_eq(dm_hook_run(&call, NULL, err, sizeof err), DM_HOOK_NOSTART);
    cr_expect(strstr(err, "No such file or directory") != NULL, "%s", err);
}
