/* ofi_index_frozen_tune (frozen_tune.h): built into bench-bisect-variants only, never into the
 * library (src/bisect/meson.build). */
#include "bisect/frozen_tune.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bisect/frozen_layout.h"

/* Like frozen.c's alloc_aligned, but the caller chooses: 2 MiB-aligned with MADV_HUGEPAGE, or
 * 64-byte aligned without the hint. */
static void *alloc_variant(size_t bytes, int huge)
{
    size_t align = huge ? ((size_t)2 << 20) : SP_ALIGN;
    size_t rounded = (bytes + align - 1) / align * align;
    void *p = aligned_alloc(align, rounded);
#ifdef MADV_HUGEPAGE
    if (p != NULL && huge)
        (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

int ofi_index_frozen_tune(of_index_frozen *frozen, int prefetch_layers, int huge)
{
    if (huge >= 0) {
        size_t nk = (frozen->nblocks + SP_FAN) * SP_B;
        size_t nt = (size_t)SP_FAN * SP_B; /* the padding group */
        if (frozen->layers > 0) /* layer 1 (just above the leaves) is stored last */
            nt += (size_t)(frozen->layer[1] - frozen->tree) +
                  ((frozen->nblocks - 1) / SP_FAN + 1) * SP_B;
        uint64_t *keys = alloc_variant(nk * sizeof *keys, huge);
        uint64_t *tree = alloc_variant(nt * sizeof *tree, huge >= 2);
        if (keys == NULL || tree == NULL) {
            free(keys);
            free(tree);
            return OF_ERR_NOMEM;
        }
        memcpy(keys, frozen->keys, nk * sizeof *keys);
        memcpy(tree, frozen->tree, nt * sizeof *tree);
        for (unsigned h = 1; h <= frozen->layers; h++)
            frozen->layer[h] = tree + (frozen->layer[h] - frozen->tree);
        free(frozen->keys);
        free(frozen->tree);
        frozen->keys = keys;
        frozen->tree = tree;
        frozen->layer[0] = keys;
    }
    if (prefetch_layers >= 0)
        frozen->pf_below = (unsigned)prefetch_layers > frozen->layers ? frozen->layers
                                                                       : (unsigned)prefetch_layers;
    return OF_OK;
}
