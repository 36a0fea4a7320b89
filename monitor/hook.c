/* hook.c - running the retrain hook; the retry policy (see hook.h). */
#include "monitor/hook.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

/* Whether the daemon's variable `entry` ("NAME=value") goes to the hook: PATH, LANG, TZ,
 * HOME, DRIFTMON_*, or a name in pass. */
static bool passed_on(const char *entry, const char *const *pass)
{
    static const char *const fixed[] = {"PATH", "LANG", "TZ", "HOME", NULL};
    const char *eq = strchr(entry, '=');
    if (!eq)
        return false;
    size_t len = (size_t)(eq - entry);
    if (strncmp(entry, "DRIFTMON_", 9) == 0)
        return true;
    for (size_t i = 0; fixed[i]; i++)
        if (strlen(fixed[i]) == len && strncmp(entry, fixed[i], len) == 0)
            return true;
    for (size_t i = 0; pass && pass[i]; i++)
        if (strlen(pass[i]) == len && strncmp(entry, pass[i], len) == 0)
            return true;
    return false;
}

/* The environment for the child: the daemon's variables that passed_on allows, minus the
 * names in extra, plus extra.  Built before fork (no malloc in the child).  NULL when out
 * of memory. */
static char **build_env(const char *const *extra, const char *const *pass)
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
        if (!passed_on(environ[i], pass))
            continue;
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

/* fd moved to a descriptor above 2 (close-on-exec), so that the child's dup2 onto 0, 1 and
 * 2 never overwrites one source with another (a daemon started with a standard stream
 * closed gets its pipes and memfd there).  -1 with err when it cannot. */
static int above_stdio(int fd, char *err, size_t errlen)
{
    if (fd > STDERR_FILENO)
        return fd;
    int nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (nfd < 0)
        snprintf(err, errlen, "could not move a descriptor: %s", strerror(errno));
    close(fd);
    return nfd;
}

/* A close-on-exec pipe with both ends above 2, the read end p[0] non-blocking when asked.
 * 0, or -1 with err. */
static int pipe_above_stdio(int p[2], bool nonblocking_read, char *err, size_t errlen)
{
    if (pipe2(p, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "could not create a pipe: %s", strerror(errno));
        return -1;
    }
    p[0] = above_stdio(p[0], err, errlen);
    p[1] = above_stdio(p[1], err, errlen);
    if (p[0] >= 0 && p[1] >= 0 && (!nonblocking_read || fcntl(p[0], F_SETFL, O_NONBLOCK) == 0))
        return 0;
    if (p[0] >= 0 && p[1] >= 0)
        snprintf(err, errlen, "could not set up a pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++)
        if (p[i] >= 0)
            close(p[i]);
    return -1;
}

/* Keep the last DM_HOOK_OUTPUT_MAX bytes of what the hook wrote. */
static void output_keep(dm_hook_output *o, const char *p, size_t n)
{
    o->total += n;
    if (n >= DM_HOOK_OUTPUT_MAX) {
        memcpy(o->tail, p + n - DM_HOOK_OUTPUT_MAX, DM_HOOK_OUTPUT_MAX);
        o->len = DM_HOOK_OUTPUT_MAX;
        return;
    }
    if (o->len + n > DM_HOOK_OUTPUT_MAX) {
        size_t keep = DM_HOOK_OUTPUT_MAX - n;
        memmove(o->tail, o->tail + o->len - keep, keep);
        o->len = keep;
    }
    memcpy(o->tail + o->len, p, n);
    o->len += n;
}

/* Read what the (non-blocking) pipe holds now, at most 1 MiB per call so that the caller
 * gets back to its timeout.  Returns false at the pipe's end (or a read error): the caller
 * closes it. */
static bool drain(int fd, dm_hook_output *o)
{
    char buf[65536];
    for (size_t got = 0; got < (1u << 20);) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            output_keep(o, buf, (size_t)n);
            got += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        }
    }
    return true;
}

/* Wait up to ms for the hook's output (read it) or, once the pipe has ended, just wait. */
static void wait_output(int *fd, dm_hook_output *o, int ms)
{
    if (*fd < 0) {
        sleep_ms(ms);
        return;
    }
    struct pollfd p = {*fd, POLLIN, 0};
    int r = poll(&p, 1, ms);
    if (r > 0 && !drain(*fd, o)) {
        close(*fd);
        *fd = -1;
    } else if (r < 0 && errno != EINTR) {
        sleep_ms(ms);
    }
}

dm_hook_outcome dm_hook_run(const dm_hook_call *call, double *elapsed_s, char *err, size_t errlen)
{
    double t0 = mono_s();
    dm_hook_output dropped;
    dm_hook_output *out = call->output ? call->output : &dropped;
    out->len = 0;
    out->total = 0;
    if (elapsed_s)
        *elapsed_s = 0;
    if (!call->argv || !call->argv[0]) {
        snprintf(err, errlen, "no hook command");
        return DM_HOOK_NOSTART;
    }
    char **env = build_env(call->env_extra, call->env_pass);
    if (!env) {
        snprintf(err, errlen, "out of memory");
        return DM_HOOK_NOSTART;
    }
    int in = input_file(call->input, call->input_len, err, errlen);
    if (in >= 0)
        in = above_stdio(in, err, errlen);
    if (in < 0) {
        free(env);
        return DM_HOOK_NOSTART;
    }
    int ex[2], op[2];
    if (pipe_above_stdio(ex, false, err, errlen) != 0) {
        close(in);
        free(env);
        return DM_HOOK_NOSTART;
    }
    if (pipe_above_stdio(op, true, err, errlen) != 0) {
        close(in);
        close(ex[0]);
        close(ex[1]);
        free(env);
        return DM_HOOK_NOSTART;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "could not fork: %s", strerror(errno));
        close(in);
        close(ex[0]);
        close(ex[1]);
        close(op[0]);
        close(op[1]);
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
        /* in, op[1] and ex[1] are above 2 (above_stdio): no dup2 below overwrites one;
         * dup2 clears close-on-exec on 0, 1 and 2 */
        if (dup2(in, STDIN_FILENO) < 0 || dup2(op[1], STDOUT_FILENO) < 0 ||
            dup2(op[1], STDERR_FILENO) < 0)
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
    close(op[1]);
    free(env);
    int rd = op[0];
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
        wait_output(&rd, out, 10);
    }
    if (!reaped)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    /* what the hook wrote before it ended is in the pipe now */
    if (rd >= 0) {
        drain(rd, out);
        close(rd);
    }
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
