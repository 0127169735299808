/* Configuration of the Redis provider: validated copy of of_lock_redis_options, the strict URL
 * parser, and the key encoding. Pure C (no hiredis), so it is compiled and unit-tested in every
 * build; redlock may reuse it for each of its servers. */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_REDIS_CONFIG_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_REDIS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/lock_redis.h>

/* Longest URL the parser accepts, and the longest prefix (bytes). */
#define OFI_REDIS_URL_MAX 4096
#define OFI_REDIS_PREFIX_MAX 256
#define OFI_REDIS_HOST_MAX 255
#define OFI_REDIS_SECRET_MAX 1024
/* sun_path is 108 bytes on Linux, including the NUL. */
#define OFI_REDIS_UNIX_PATH_MAX 107

/* A validated, self-owned configuration (every string is a private copy). */
typedef struct ofi_redis_config {
    char *host;      /* TCP host; NULL when unix_path is set */
    char *unix_path; /* unix socket path, or NULL for TCP */
    char *user;      /* ACL user, or NULL (AUTH pass only) */
    char *password;  /* NULL: no AUTH */
    char *prefix;    /* never NULL ("" when none) */
    size_t prefix_len;
    int port;
    int db;
    uint32_t connect_timeout_ms;
    uint32_t command_timeout_ms;
    int keepalive;
    unsigned url_set; /* OFI_REDIS_URL_SET_* bits: what the URL gave explicitly (redlock lets a
                         server's own timeouts win over its provider-wide defaults) */
} ofi_redis_config;

#define OFI_REDIS_URL_SET_CONNECT_TIMEOUT 1u
#define OFI_REDIS_URL_SET_COMMAND_TIMEOUT 2u

/* Validate @p opts (struct_size, ranges, strings) and copy it into @p out. On error @p out is
 * untouched and the detail names the field. OF_OK, OF_ERR_INVALID, OF_ERR_ABI, OF_ERR_NOMEM. */
int ofi_redis_config_from_options(const of_lock_redis_options *opts, ofi_redis_config *out);

/* Parse a redis:// or unix:// URL strictly (see docs/redis.md). Errors carry the byte offset
 * in the detail and never echo the password. OF_OK, OF_ERR_INVALID, OF_ERR_NOT_SUPPORTED
 * (rediss://), OF_ERR_NOMEM. */
int ofi_redis_config_from_url(const char *url, ofi_redis_config *out);

/* Deep copy (for a second server pool, or a test). */
int ofi_redis_config_copy(const ofi_redis_config *src, ofi_redis_config *out);

/* Free the strings of @p cfg (NULL-safe) and zero it. */
void ofi_redis_config_free(ofi_redis_config *cfg);

/* Key of a lock name: prefix "{" escaped(name) "}" ":" suffix, where escaped() replaces '%', '{'
 * and '}' by %25, %7B and %7D. The escaped name contains no brace, so the hash tag is exactly
 * the escaped name (lock and fence key share a slot), and the first '}' after the prefix ends the
 * name: two different names (or suffixes) never give the same key. */
#define OFI_REDIS_LOCK_SUFFIX "lock"
#define OFI_REDIS_FENCE_SUFFIX "fence"
/* Capacity that always fits a key of this prefix (the escaped name is at most 3x). */
#define OFI_REDIS_KEY_CAP(prefix_len) ((prefix_len) + 3 * (size_t)OF_NAME_MAX + 16)

/* Write the key into @p buf (capacity OFI_REDIS_KEY_CAP(prefix_len)); returns its length.
 * @p suffix is a NUL-terminated suffix of at most 8 bytes. */
size_t ofi_redis_key(const char *prefix, size_t prefix_len, const void *name, size_t name_len,
                     const char *suffix, char *buf);

#endif
