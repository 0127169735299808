/* The native placement: XXH3 with the ring's seed, weight x vnodes points per node, a node named
 * by its whole id. Offers pins, lookup by hash and bounded lookups (keys hash to 64 bits). */
#include "ring/ring_internal.h"

#include "common/error.h"

static int native_configure(const of_ring_options *opts, uint32_t *vnodes, uint64_t *seed)
{
    if (opts->flags & OF_RING_SORT_HOSTS)
        return ofi_fail(OF_ERR_INVALID, "OF_RING_SORT_HOSTS applies to the ketama mode only");
    if (opts->flags & OF_RING_KETAMA_UNWEIGHTED)
        return ofi_fail(OF_ERR_INVALID,
                        "OF_RING_KETAMA_UNWEIGHTED applies to the ketama mode only");
    if (opts->vnodes == 0)
        return ofi_fail(OF_ERR_INVALID, "vnodes must be >= 1");
    if (opts->vnodes > OF_RING_MAX_POINTS)
        return ofi_fail(OF_ERR_INVALID, "vnodes %u above OF_RING_MAX_POINTS",
                        (unsigned)opts->vnodes);
    *vnodes = opts->vnodes;
    *seed = opts->seed;
    return OF_OK;
}

static int native_ident(const uint8_t *id, size_t len, uint32_t *off, uint32_t *ident_len,
                        uint32_t *num)
{
    (void)id;
    *off = 0;
    *ident_len = (uint32_t)len;
    *num = 0;
    return OF_OK;
}

static int native_check_weight(uint32_t weight, uint32_t vnodes)
{
    if (weight == 0)
        return ofi_fail(OF_ERR_INVALID, "weight 0: remove the node to drain it");
    if ((uint64_t)weight * vnodes > OF_RING_MAX_POINTS)
        return ofi_fail(OF_ERR_INVALID, "weight %u x vnodes %u exceeds OF_RING_MAX_POINTS",
                        (unsigned)weight, (unsigned)vnodes);
    return OF_OK;
}

static uint64_t native_max_points(uint32_t weight, uint32_t vnodes)
{
    return (uint64_t)weight * vnodes;
}

static uint32_t native_point_count(const snap *s, const snap_node *nd, uint64_t total_weight)
{
    (void)total_weight;
    return nd->weight * s->vnodes;
}

/* Point j of a node: XXH3(id || le32(j), seed); @p buf holds the id. */
static inline uint64_t point_in(uint8_t *buf, uint32_t id_len, uint32_t j, uint64_t seed)
{
    ofi_store_le32(buf + id_len, j);
    return ofi_hash64(buf, id_len + 4, seed);
}

static void native_points(const snap *s, const snap_node *nd, uint64_t *out)
{
    uint8_t buf[OF_NAME_MAX + 4];
    memcpy(buf, nd->id, nd->id_len);
    for (uint32_t j = 0; j < nd->point_count; j++)
        out[j] = point_in(buf, nd->id_len, j, s->seed);
}

uint64_t ofi_native_point(const snap *s, const snap_node *nd, uint32_t j)
{
    uint8_t buf[OF_NAME_MAX + 4];
    memcpy(buf, nd->id, nd->id_len);
    return point_in(buf, nd->id_len, j, s->seed);
}

static uint64_t native_key_hash(const void *key, size_t len, uint64_t seed)
{
    return ofi_hash64(key, len, seed);
}

static void native_fp_options(XXH3_state_t *st, const snap *s)
{
    ofi_fp_u32(st, s->vnodes);
    ofi_fp_u64(st, s->seed);
}

static void native_fp_node(XXH3_state_t *st, const snap_node *nd)
{
    ofi_fp_u32(st, nd->id_len);
    XXH3_64bits_update(st, nd->id, nd->id_len);
    ofi_fp_u32(st, nd->weight);
}

const ofi_ring_algo ofi_ring_native = {
    .name = "native",
    .hash_bits = 64,
    .seeded_hash = true,
    .id_order = true,
    .incremental = true,
    .same_ident = "",
    .configure = native_configure,
    .ident = native_ident,
    .check_weight = native_check_weight,
    .max_points = native_max_points,
    .point_count = native_point_count,
    .points = native_points,
    .key_hash = native_key_hash,
    .fp_options = native_fp_options,
    .fp_node = native_fp_node,
};
