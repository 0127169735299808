/* Lifecycle: options, create, destroy and limits. */
#include "ring/ring_internal.h"

#include <stdlib.h>

#include "common/error.h"

/* ---------------------------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------------------------- */

/* The first released layout of of_ring_options ends after `seed` (ring.h: "members above: ABI
 * 1"). A caller built against it, or against any later layout up to this library's, is served:
 * fields past its struct_size are neither read nor written and take their defaults. */
#define OPTIONS_V1_SIZE (offsetof(of_ring_options, seed) + sizeof(uint64_t))

static int check_options_size(size_t struct_size)
{
    if (struct_size < OPTIONS_V1_SIZE || struct_size > sizeof(of_ring_options))
        return ofi_fail(OF_ERR_ABI,
                        "of_ring_options struct_size %zu: this library knows %zu to %zu",
                        struct_size, (size_t)OPTIONS_V1_SIZE, sizeof(of_ring_options));
    return OF_OK;
}

OF_API int of_ring_options_init(of_ring_options *opts, size_t struct_size)
{
    if (!opts)
        return ofi_fail(OF_ERR_INVALID, "opts is NULL");
    int rc = check_options_size(struct_size);
    if (rc != OF_OK)
        return rc;
    memset(opts, 0, struct_size);
    opts->struct_size = (uint32_t)struct_size;
    opts->algorithm = OF_RING_NATIVE;
    opts->vnodes = OF_RING_DEFAULT_VNODES;
    opts->flags = 0;
    opts->seed = 0;
    return OF_OK;
}

OF_API size_t of_ring_id_max(void)
{
    return OF_NAME_MAX;
}

OF_API size_t of_ring_max_points(void)
{
    return OF_RING_MAX_POINTS;
}

OF_API size_t of_ring_options_size(void)
{
    return sizeof(of_ring_options);
}

/* The placement algorithms, by of_ring_algorithm value: a new one is a file and a line here.
 * OF_RING_KETAMA_UNWEIGHTED picks libmemcached's other ketama rules within the ketama mode. */
static const ofi_ring_algo *algo_of(uint32_t algorithm, uint32_t flags)
{
    switch (algorithm) {
    case OF_RING_NATIVE:
        return &ofi_ring_native;
    case OF_RING_KETAMA:
        return flags & OF_RING_KETAMA_UNWEIGHTED ? &ofi_ring_ketama_unweighted : &ofi_ring_ketama;
    default:
        return NULL;
    }
}

OF_API int of_ring_create(const of_ring_options *opts, of_ring **out_ring)
{
    if (!out_ring)
        return ofi_fail(OF_ERR_INVALID, "out_ring is NULL");
    /* The caller's fields over the defaults: an older caller's struct ends early. */
    of_ring_options def;
    of_ring_options_init(&def, sizeof def);
    if (opts) {
        int rc = check_options_size(opts->struct_size);
        if (rc != OF_OK)
            return rc;
        memcpy(&def, opts, opts->struct_size);
        def.struct_size = sizeof def;
    }
    opts = &def;
    const ofi_ring_algo *algo = algo_of(opts->algorithm, opts->flags);
    if (!algo)
        return ofi_fail(OF_ERR_INVALID, "unknown ring algorithm %u", (unsigned)opts->algorithm);
    if (opts->flags & ~(OF_RING_SORT_HOSTS | OF_RING_KETAMA_UNWEIGHTED))
        return ofi_fail(OF_ERR_INVALID, "unknown ring flags 0x%x", (unsigned)opts->flags);
    uint32_t vnodes;
    uint64_t seed;
    int rc = algo->configure(opts, &vnodes, &seed);
    if (rc != OF_OK)
        return rc;

    void *mem = NULL;
    if (posix_memalign(&mem, RING_CACHE_LINE, sizeof(of_ring)) != 0)
        return ofi_fail_plain(OF_ERR_NOMEM);
    of_ring *ring = mem;
    memset(ring, 0, sizeof *ring);
    ring->algo = algo;
    ring->algorithm = opts->algorithm;
    ring->flags = opts->flags;
    ring->vnodes = vnodes;
    ring->seed = seed;
    atomic_init(&ring->epoch, 0);
    for (size_t i = 0; i < RING_STRIPES; i++) {
        atomic_init(&ring->stripes[i].count[0], 0);
        atomic_init(&ring->stripes[i].count[1], 0);
    }
    if (pthread_mutex_init(&ring->wlock, NULL) != 0) {
        free(ring);
        return ofi_fail_plain(OF_ERR_NOMEM);
    }
    snap *s = NULL;
    rc = ofi_snap_build(ring, NULL, NULL, 0, NULL, 0, 0, &s);
    if (rc != OF_OK) {
        pthread_mutex_destroy(&ring->wlock);
        free(ring);
        return rc;
    }
    atomic_init(&ring->current, s);
    *out_ring = ring;
    return OF_OK;
}

OF_API void of_ring_destroy(of_ring *ring)
{
    if (!ring)
        return;
    ofi_snap_free_list(ring->retired_held);
    ofi_snap_free_list(ring->retired_prev);
    ofi_snap_free_list(ring->retired_cur);
    ofi_snap_unref(atomic_load(&ring->current));
    free(ring->spare_points);
    free(ring->spare_owners);
    free(ring->spare_buckets);
    pthread_mutex_destroy(&ring->wlock);
    free(ring);
}
