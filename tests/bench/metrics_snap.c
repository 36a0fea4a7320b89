/* metrics_snap.c - tests/bench/metrics.sh's synthetic daemon: a snapshot of M monitors x N
 * columns (the shape the daemon publishes, monitor/metrics.h) served by the daemon's own
 * endpoint (monitor/metrics_http.c) on 127.0.0.1, any free port.  Prints "port P bytes B
 * render_ms_median R" and serves until its standard input closes.
 *   metrics_snap MONITORS COLUMNS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/metrics.h"
#include "monitor/metrics_http.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    size_t nm = (size_t)atoi(argv[1]), nc = (size_t)atoi(argv[2]);
    char **mnames = calloc(nm, sizeof *mnames);
    for (size_t i = 0; i < nm; i++) {
        mnames[i] = malloc(32);
        snprintf(mnames[i], 32, "monitor_%02zu", i);
    }
    dm_metrics_snapshot m;
    if (dm_metrics_model_init(&m, (const char *const *)mnames, nm) != 0)
        return 1;
    char **cn = calloc(nc, sizeof *cn);
    double *sc = calloc(nc, sizeof *sc);
    srand(1);
    for (size_t j = 0; j < nc; j++) {
        cn[j] = malloc(48);
        snprintf(cn[j], 48, "AMT_REQ_CREDIT_BUREAU_FEATURE_%03zu", j); /* a long real-ish name */
    }
    for (size_t i = 0; i < nm; i++) {
        for (size_t j = 0; j < nc; j++)
            sc[j] = (double)rand() / RAND_MAX; /* full-precision scores: long spellings */
        dm_metrics_set_columns(&m.monitors[i], (const char *const *)cn, sc, nc);
        m.monitors[i].has_last_run = true;
        m.monitors[i].last_run_s = 1796278589.962287;
        m.monitors[i].drifted_share = 0.2105263157894737;
        m.monitors[i].batches_pending = 3;
        m.monitors[i].runs[0] = 12345;
    }
    for (int k = 0; k < 3; k++)
        m.alerts[k] = k;
    for (int k = 0; k < 1000; k++)
        dm_metrics_observe(&m, (double)k / 100);
    m.database_up = true;

    enum { R = 201 };
    double t[R];
    size_t bytes = 0;
    for (int r = 0; r < R; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        char *text = dm_metrics_render(&m, &bytes);
        clock_gettime(CLOCK_MONOTONIC, &b);
        free(text);
        t[r] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) * 1e-6;
    }
    qsort(t, R, sizeof t[0], cmp);

    dm_metrics_hub hub;
    dm_metrics_hub_init(&hub, 5);
    dm_metrics_publish(&hub, &m);
    unsigned port = 0;
    char err[300];
    dm_metrics_http *h = dm_metrics_http_start("127.0.0.1:0", &hub, &port, err, sizeof err);
    if (!h) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("port %u bytes %zu render_ms_median %.3f\n", port, bytes, t[R / 2]);
    fflush(stdout);
    while (getchar() != EOF)
        ;
    dm_metrics_http_stop(h);
    dm_metrics_hub_release(&hub);
    dm_metrics_model_release(&m);
    return 0;
}
