/*
 * metrics_http.h - the daemon's HTTP endpoint (metrics.listen), served by libmicrohttpd on
 * one thread of its own:
 *   GET /metrics   the current snapshot in the Prometheus text format (metrics.h), 200;
 *   GET /healthz   200 "ok" or 503 with a one-line reason (dm_metrics_health);
 *   anything else  404, or 405 for a method other than GET and HEAD.
 * The thread only reads the hub: it never touches the daemon's connection, and the loop
 * never waits for it.  Start it after the signals are blocked (it inherits the mask).
 */
#ifndef DRIFTMON_METRICS_HTTP_H
#define DRIFTMON_METRICS_HTTP_H

#include <stddef.h>

#include "monitor/metrics.h"

typedef struct dm_metrics_http dm_metrics_http;

/* Listen on `listen` (dm_metrics_parse_listen's form) and serve hub.  The server, with the
 * port it is bound to in *port; NULL with one line in err (the address cannot be bound). */
dm_metrics_http *dm_metrics_http_start(const char *listen, dm_metrics_hub *hub, unsigned *port,
                                       char *err, size_t errlen);
/* Stop the thread (a request in progress is finished first) and free the server. */
void dm_metrics_http_stop(dm_metrics_http *h);

#endif
