/* names.c - the name map (see names.h). */
#include "stats/names.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- the hash: SipHash-1-3 (Aumasson and Bernstein; the variant Python and Rust use for
 * their hash tables) ------------------------------------------------------------------- */

static uint64_t g_key[2];
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

static void key_init(void)
{
    uint64_t k[2];
    if (getrandom(k, sizeof k, GRND_NONBLOCK) != (ssize_t)sizeof k) {
        /* no entropy yet (early boot): something that differs between runs will do, the
         * key only spreads the names */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        k[0] = (uint64_t)ts.tv_nsec * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)getpid();
        k[1] = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&ts;
    }
    g_key[0] = k[0];
    g_key[1] = k[1];
}

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t siphash13(const unsigned char *in, size_t len, uint64_t k0, uint64_t k1)
{
    uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
    const unsigned char *end = in + (len & ~(size_t)7);
    for (; in != end; in += 8) {
        uint64_t m = load_le64(in);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)in[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t hash_name(const char *s)
{
    pthread_once(&g_key_once, key_init);
    return siphash13((const unsigned char *)s, strlen(s), g_key[0], g_key[1]);
}

/* ---- the map --------------------------------------------------------------------------- */

void stats_names_init(stats_names *m)
{
    memset(m, 0, sizeof *m);
}

void stats_names_release(stats_names *m)
{
    if (!m)
        return;
    free(m->slot);
    stats_names_init(m);
}

/* The slot holding name (hash h), or the free slot where it would go. */
static stats_names_slot *probe(const stats_names *m, const char *name, uint64_t h)
{
    size_t mask = m->cap - 1, j = (size_t)h & mask;
    for (;;) {
        stats_names_slot *s = &m->slot[j];
        if (!s->name || (s->hash == h && strcmp(s->name, name) == 0))
            return s;
        j = (j + 1) & mask;
    }
}

static int grow(stats_names *m, size_t want)
{
    size_t cap = m->cap ? m->cap : 16;
    while (cap / 2 < want) {
        if (cap > SIZE_MAX / (2 * sizeof *m->slot))
            return -1;
        cap *= 2;
    }
    if (cap == m->cap)
        return 0;
    stats_names new_map = {calloc(cap, sizeof *m->slot), cap, m->n};
    if (!new_map.slot)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slot[i].name)
            *probe(&new_map, m->slot[i].name, m->slot[i].hash) = m->slot[i];
    free(m->slot);
    *m = new_map;
    return 0;
}

int stats_names_add(stats_names *m, const char *name, size_t value, size_t *had)
{
    if (grow(m, m->n + 1) != 0)
        return STATS_ENOMEM;
    uint64_t h = hash_name(name);
    stats_names_slot *s = probe(m, name, h);
    if (s->name) {
        if (had)
            *had = s->value;
        return 1;
    }
    *s = (stats_names_slot){name, value, h};
    m->n++;
    return STATS_OK;
}

long stats_names_find(const stats_names *m, const char *name)
{
    if (m->n == 0)
        return -1;
    const stats_names_slot *s = probe(m, name, hash_name(name));
    return s->name ? (long)s->value : -1;
}

int stats_names_index(stats_names *m, const char *const *names, size_t n)
{
    stats_names_init(m);
    if (grow(m, n) != 0)
        return STATS_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (stats_names_add(m, names[i], i, NULL) < 0) {
            stats_names_release(m);
            return STATS_ENOMEM;
        }
    return STATS_OK;
}
