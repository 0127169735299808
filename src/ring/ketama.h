/* libmemcached-compatible ketama arithmetic, weighted and unweighted (notes/ketama.md,
 * docs/ring.md). */
#ifndef OPENFAULT_SRC_RING_KETAMA_H
#define OPENFAULT_SRC_RING_KETAMA_H

#include <stddef.h>
#include <stdint.h>

#define OFI_KETAMA_DEFAULT_PORT 11211u
#define OFI_KETAMA_POINTS_PER_SERVER 160u
/* MEMCACHED_POINTS_PER_SERVER: points of every server in unweighted ketama. */
#define OFI_KETAMA_UNWEIGHTED_POINTS 100u

/* Split a ketama id `host[:port]` / `[v6]` / `[v6]:port` into host bytes and port. Returns OF_OK
 * or OF_ERR_INVALID (with detail): empty host, NUL bytes, a port that is not 1..65535 in decimal,
 * unbalanced brackets, or an unbracketed host with more than one ':'. */
int ofi_ketama_parse(const uint8_t *id, size_t len, size_t *out_host_off, size_t *out_host_len,
                     uint32_t *out_port);

/* Number of MD5 digests (4 points each) for one server: libmemcached's single-precision
 * `floorf((float)w / (float)total * 160 / 4 * (float)n + 1e-10)`, weights already mapped 0 -> 1. */
uint32_t ofi_ketama_digests(uint32_t weight, uint64_t total_weight, uint32_t server_count);

/* The 4 points of digest @p d of a server: MD5 of "host-d" (port 11211) or "host:port-d". */
void ofi_ketama_points(const uint8_t *host, size_t host_len, uint32_t port, uint32_t d,
                       uint32_t out_points[4]);

/* Key hash: little-endian uint32 of the first 4 bytes of MD5(key). */
uint32_t ofi_ketama_key_hash(const void *key, size_t len);

/* libhashkit's one-at-a-time hash (libmemcached's default), bytes read as signed char as on
 * x86-64: the key hash and point hash of unweighted ketama. */
uint32_t ofi_ketama_oaat(const void *data, size_t len);

/* Point @p d (0..99) of a server in unweighted ketama: one-at-a-time of "host-d" (port 11211)
 * or "host:port-d". */
uint32_t ofi_ketama_unweighted_point(const uint8_t *host, size_t host_len, uint32_t port,
                                     uint32_t d);

#endif
