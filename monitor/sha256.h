/* sha256.h - SHA-256 digests as lowercase hex (OpenSSL's EVP, which uses the SHA extensions
 * of the CPU where present). */
#ifndef DRIFTMON_SHA256_H
#define DRIFTMON_SHA256_H

#include <stddef.h>

typedef struct dm_sha256 dm_sha256;

/* Streaming: alloc, update any number of times, final writes 64 hex digits + NUL into hex
 * and frees the context.  alloc returns NULL when out of memory. */
dm_sha256 *dm_sha256_alloc(void);
void dm_sha256_update(dm_sha256 *h, const void *data, size_t len);
void dm_sha256_final(dm_sha256 *h, char hex[65]);

/* final as the 32 bytes of the digest: 0, or -1 (h NULL or a failure); frees the context. */
int dm_sha256_final_raw(dm_sha256 *h, unsigned char out[32]);

/* One shot. */
void dm_sha256_hex(const void *data, size_t len, char hex[65]);
/* Digest of a file's bytes: 0, or -1 (hex left as "") when it cannot be read. */
int dm_sha256_file(const char *path, char hex[65]);

#endif
