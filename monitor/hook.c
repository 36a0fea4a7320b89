/* hook.c - running the retrain hook; the retry policy (see hook.h). */
#include "monitor/hook.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The environment for the child: the daemon's, minus the names in extra, plus extra.
 * Built before fork (no malloc in the child).  NULL when out of memory. */
static char **build_env(const char *const *extra)
{
    size_t n = 0, m = 0;
    while (environ && environ[n])
        n++;
    while (extra && extra[m])
        m++;
    char **env = calloc(n + m + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < m && !replaced; j++) {
            const char *eq = strchr(extra[j], '=');
            size_t len = eq ? (size_t)(eq - extra[j]) : strlen(extra[j]);
            replaced = strncmp(environ[i], extra[j], len) == 0 && environ[i][len] == '=';
        }
        if (!replaced)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        env[k++] = (char *)(uintptr_t)extra[j]; /* execvpe's prototype is not const */
    env[k] = NULL;
    return env;
}

static void kill_group(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The hook's standard input: an anonymous in-memory file (memfd) holding the whole input,
 * positioned at its start.  It is complete before the hook starts, so a hook never reads a
 * truncated document, even when the daemon dies while the hook runs; it has no name, so no
 * directory has to be safe for it, and it is gone with its last descriptor. */
static int input_file(const char *input, size_t len, char *err, size_t errlen)
{
    int fd = memfd_create("driftmon-hook-input", MFD_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "could not create the hook's input file: %s", strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (input && off < len) {
        ssize_t n = write(fd, input + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "could not write the hook's input file: %s",
                     n < 0 ? strerror(errno) : "no progress");
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "could not rewind the hook's input file: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

dm_hook_outcome dm_hook_run(const dm_hook_call *call, double *elapsed_s, char *err, size_t errlen)
{
    double t0 = mono_s();
    if (elapsed_s)
        *elapsed_s = 0;
    if (!call->argv || !call->argv[0]) {
        snprintf(err, errlen, "no hook command");
        return DM_HOOK_NOSTART;
    }
    char **env = build_env(call->env_extra);
    if (!env) {
        snprintf(err, errlen, "out of memory");
        return DM_HOOK_NOSTART;
    }
    int in = input_file(call->input, call->input_len, err, errlen);
    if (in < 0) {
        free(env);
        return DM_HOOK_NOSTART;
    }
    int ex[2];
    if (pipe2(ex, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "could not create a pipe: %s", strerror(errno));
        close(in);
        free(env);
        return DM_HOOK_NOSTART;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "could not fork: %s", strerror(errno));
        close(in);
        close(ex[0]);
        close(ex[1]);
        free(env);
        return DM_HOOK_NOSTART;
    }
    if (pid == 0) {
        /* the child: only async-signal-safe calls until exec */
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &dfl, NULL);
        /* dup2 onto itself (a daemon started with stdin closed) keeps close-on-exec */
        if (in == STDIN_FILENO ? fcntl(in, F_SETFD, 0) < 0 : dup2(in, STDIN_FILENO) < 0)
            _exit(127);
        execvpe(call->argv[0], (char *const *)(uintptr_t)call->argv, env);
        int e = errno;
        ssize_t w = write(ex[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    setpgid(pid, pid); /* also from the parent: no race with the kill below */
    close(in);
    close(ex[1]);
    free(env);
    dm_hook_outcome outcome = DM_HOOK_FAILED;
    int status = 0;
    bool reaped = false;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            reaped = true;
            break;
        }
        if (w < 0 && errno != EINTR) {
            snprintf(err, errlen, "could not wait for the hook: %s", strerror(errno));
            outcome = DM_HOOK_FAILED;
            break;
        }
        double now = mono_s();
        if (now - t0 >= call->timeout_s) {
            kill_group(pid);
            snprintf(err, errlen, "timed out after %.1f s: killed", call->timeout_s);
            outcome = DM_HOOK_TIMEOUT;
            break;
        }
        if (call->stop && atomic_load(call->stop)) {
            kill_group(pid);
            snprintf(err, errlen, "the daemon is stopping: killed");
            outcome = DM_HOOK_STOPPED;
            break;
        }
        sleep_ms(10);
    }
    if (!reaped)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    int exec_errno = 0;
    ssize_t n = read(ex[0], &exec_errno, sizeof exec_errno);
    close(ex[0]);
    if (elapsed_s)
        *elapsed_s = mono_s() - t0;
    if (n == (ssize_t)sizeof exec_errno) {
        snprintf(err, errlen, "could not run \"%s\": %s", call->argv[0], strerror(exec_errno));
        return DM_HOOK_NOSTART;
    }
    if (!reaped)
        return outcome;
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) == 0) {
            snprintf(err, errlen, "exited with status 0");
            return DM_HOOK_OK;
        }
        snprintf(err, errlen, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(err, errlen, "killed by signal %d", WTERMSIG(status));
    } else {
        snprintf(err, errlen, "ended with wait status %d", status);
    }
    return DM_HOOK_FAILED;
}

static uint64_t xorshift64s(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

double dm_backoff_next(double base, double cap, double prev, uint64_t *rng)
{
    if (prev < base)
        prev = base;
    double hi = prev * 3;
    if (hi > cap)
        hi = cap;
    if (hi < base)
        return cap < base ? cap : base;
    double u = (double)(xorshift64s(rng) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    double d = base + u * (hi - base);
    return d > cap ? cap : d;
}

uint64_t dm_backoff_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s =
        ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    return s ? s : 0x9E3779B97F4A7C15ULL;
}
