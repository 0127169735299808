/* The frozen index's S+ tree layout (described at the top of frozen.c), shared by frozen.c and
 * the benchmark-only frozen_tune.c, which rebuilds a tree's memory without changing its
 * answers. */
#ifndef OPENFAULT_SRC_BISECT_FROZEN_LAYOUT_H
#define OPENFAULT_SRC_BISECT_FROZEN_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/bisect.h>

/* Keys per node: 8 u64 = one cache line, fan-out 9. 16-key nodes (two lines, fan-out 17) make
 * a shallower tree but measured slower at every size on this machine class. */
#define SP_B 8
#define SP_FAN (SP_B + 1)
#define SP_ALIGN 64
#define SP_MAX_LAYERS 40

struct of_index_frozen {
    size_t count;
    size_t nblocks;
    uint64_t *keys;     /* nblocks * SP_B keys, the tail padded with UINT64_MAX; SP_ALIGN-aligned */
    uint64_t *payloads; /* count payloads (at least one slot) */
    uint64_t *tree;     /* all internal nodes, root first; SP_ALIGN-aligned */
    unsigned layers;    /* internal layers above the leaves (0 when there is a single block) */
    unsigned pf_below;  /* layers 0 .. pf_below - 1 are big enough to deserve group prefetches */
    int avx2;
    /* layer[h] = first node of internal layer h (h = 1 just above the leaves, h = layers the
     * root); layer[0] = the leaf blocks. */
    const uint64_t *layer[SP_MAX_LAYERS + 1];
};

#endif
