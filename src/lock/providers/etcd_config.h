/* Configuration of the etcd provider: validated copy of of_lock_etcd_options and the strict URL
 * parser. Pure C (no libcurl, no jansson), so it is compiled and unit-tested in every build. */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_ETCD_CONFIG_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_ETCD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/lock_etcd.h>

#define OFI_ETCD_URL_MAX 4096
#define OFI_ETCD_HOST_MAX 255
#define OFI_ETCD_SECRET_MAX 1024

typedef struct ofi_etcd_endpoint {
    char *host;     /* as given: a name, an IPv4 address or an IPv6 address without brackets */
    int port;
    char *base_url; /* "http://host:port" ("http://[v6]:port"), what requests are sent to */
} ofi_etcd_endpoint;

/* A validated, self-owned configuration (every string is a private copy). */
typedef struct ofi_etcd_config {
    ofi_etcd_endpoint eps[OF_LOCK_ETCD_ENDPOINTS_MAX];
    size_t ep_count;    /* 1..OF_LOCK_ETCD_ENDPOINTS_MAX */
    char *prefix;       /* never NULL ("" when none) */
    size_t prefix_len;
    char *user;         /* NULL: no authentication */
    char *password;     /* set exactly when user is */
    uint32_t connect_timeout_ms;
    uint32_t command_timeout_ms;
} ofi_etcd_config;

/* Validate @p opts and copy it into @p out. On error @p out is untouched and the detail names the
 * field (never the password's value). OF_OK, OF_ERR_INVALID, OF_ERR_ABI, OF_ERR_NOMEM. */
int ofi_etcd_config_from_options(const of_lock_etcd_options *opts, ofi_etcd_config *out);

/* Parse an etcd:// URL strictly (see lock_etcd.h). Errors carry the byte offset in the detail and
 * never echo the password. OF_OK, OF_ERR_INVALID, OF_ERR_NOT_SUPPORTED (etcds://, https://),
 * OF_ERR_NOMEM. */
int ofi_etcd_config_from_url(const char *url, ofi_etcd_config *out);

/* Free the strings of @p cfg (NULL-safe; the password is wiped first) and zero it. */
void ofi_etcd_config_free(ofi_etcd_config *cfg);

#endif
