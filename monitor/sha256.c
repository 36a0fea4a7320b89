/* sha256.c - thin wrapper over OpenSSL's EVP digest API. */
#include "monitor/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct dm_sha256 {
    EVP_MD_CTX *ctx;
};

dm_sha256 *dm_sha256_alloc(void)
{
    dm_sha256 *h = malloc(sizeof *h);
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
    }
    return h;
}

void dm_sha256_update(dm_sha256 *h, const void *data, size_t len)
{
    if (h && len)
        EVP_DigestUpdate(h->ctx, data, len);
}

void dm_sha256_final(dm_sha256 *h, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    hex[0] = '\0';
    if (!h)
        return;
    if (EVP_DigestFinal_ex(h->ctx, md, &n) == 1 && n == 32) {
        static const char digits[] = "0123456789abcdef";
        for (unsigned i = 0; i < 32; i++) {
            hex[2 * i] = digits[md[i] >> 4];
            hex[2 * i + 1] = digits[md[i] & 15];
        }
        hex[64] = '\0';
    }
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

int dm_sha256_final_raw(dm_sha256 *h, unsigned char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!h)
        return -1;
    int ok = EVP_DigestFinal_ex(h->ctx, md, &n) == 1 && n == 32;
    if (ok)
        memcpy(out, md, 32);
    EVP_MD_CTX_free(h->ctx);
    free(h);
    return ok ? 0 : -1;
}

void dm_sha256_hex(const void *data, size_t len, char hex[65])
{
    dm_sha256 *h = dm_sha256_alloc();
    dm_sha256_update(h, data, len);
    dm_sha256_final(h, hex);
}

int dm_sha256_file(const char *path, char hex[65])
{
    hex[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    dm_sha256 *h = dm_sha256_alloc();
    if (!h) {
        fclose(f);
        return -1;
    }
    static __thread unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        dm_sha256_update(h, buf, n);
    int bad = ferror(f);
    fclose(f);
    dm_sha256_final(h, hex);
    if (bad) {
        hex[0] = '\0';
        return -1;
    }
    return 0;
}
