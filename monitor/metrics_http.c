/* metrics_http.c - /metrics and /healthz over libmicrohttpd (see metrics_http.h). */
#include "monitor/metrics_http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "monitor/log.h"

struct dm_metrics_http {
    struct MHD_Daemon *d;
    dm_metrics_hub *hub;
};

static const char *const TEXT_PLAIN = "text/plain; charset=utf-8";
static const char *const EXPOSITION = "text/plain; version=0.0.4; charset=utf-8";

/* libmicrohttpd's own messages (fmt is its format, checked by its own build) */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char m[512];
    vsnprintf(m, sizeof m, fmt, ap);
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == '\r'))
        m[--n] = '\0';
    dm_logf(DM_LOG_WARN, "metrics endpoint", "reason=%s", m);
}

/* Queue text (malloc'ed, taken over) with status and content type. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *text, size_t len,
                             const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_line(struct MHD_Connection *c, unsigned status, const char *line)
{
    size_t n = strlen(line);
    char *t = malloc(n + 2);
    if (!t)
        return MHD_NO;
    memcpy(t, line, n);
    t[n] = '\n';
    t[n + 1] = '\0';
    return reply(c, status, t, n + 1, TEXT_PLAIN);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req)
{
    (void)version;
    (void)upload;
    dm_metrics_http *h = cls;
    static int first;
    if (*req == NULL) { /* the headers: answer once the request (and any body) is in */
        *req = &first;
        return MHD_YES;
    }
    if (*upload_size) { /* a body is not wanted: skip it */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_line(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET");
    if (strcmp(url, "/metrics") == 0) {
        dm_metrics_snapshot *s = dm_metrics_acquire(h->hub);
        if (!s)
            return reply_line(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting");
        size_t len = 0;
        char *text = dm_metrics_render(s, &len);
        dm_metrics_release(s);
        if (!text)
            return reply_line(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return reply(c, MHD_HTTP_OK, text, len, EXPOSITION);
    }
    if (strcmp(url, "/healthz") == 0) {
        char why[400];
        int code = dm_metrics_health(h->hub, dm_metrics_now_ns(), why, sizeof why);
        /* one line: the reason holds libpq's words, which may hold a newline */
        for (char *p = why; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        return reply_line(c, (unsigned)code, why);
    }
    return reply_line(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz");
}

dm_metrics_http *dm_metrics_http_start(const char *listen_at, dm_metrics_hub *hub, unsigned *port,
                                       char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    unsigned sslen = 0;
    char why[200];
    if (dm_metrics_parse_listen(listen_at, &ss, &sslen, why, sizeof why) != 0) {
        snprintf(err, errlen, "metrics.listen \"%s\": %s", listen_at, why);
        return NULL;
    }
    /* our own socket, so that a bind failure says why; close-on-exec: the hook must not
     * inherit it */
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "could not create the metrics socket: %s", strerror(errno));
        return NULL;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sslen) != 0 || listen(fd, 64) != 0) {
        snprintf(err, errlen, "could not listen on \"%s\" (metrics.listen): %s", listen_at,
                 strerror(errno));
        close(fd);
        return NULL;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    *port = 0;
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
        *port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    dm_metrics_http *h = calloc(1, sizeof *h);
    if (!h) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->hub = hub;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->d =
        MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                         MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!h->d) {
        close(fd);
        free(h);
        snprintf(err, errlen, "could not start the metrics endpoint on \"%s\" (libmicrohttpd)",
                 listen_at);
        return NULL;
    }
    return h;
}

void dm_metrics_http_stop(dm_metrics_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d); /* closes the listening socket too */
    free(h);
}
