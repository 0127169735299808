/* Benchmark hook of the frozen index, compiled into bench-bisect-variants only (frozen_tune.c is
 * not part of libopenfault): it gives copies of one layout different group prefetching and
 * huge-page backing, so that they can be measured against each other in one process. */
#ifndef OPENFAULT_SRC_BISECT_FROZEN_TUNE_H
#define OPENFAULT_SRC_BISECT_FROZEN_TUNE_H

#include <openfault/bisect.h>

/* When @p prefetch_layers >= 0, group-prefetch into the lowest that many layers (0 = never;
 * freeze picks the layers larger than the L3), and, when @p huge >= 0, move the arrays to new
 * memory: 0 = 64-byte aligned without huge pages, 1 = the keys 2 MiB-aligned with MADV_HUGEPAGE,
 * 2 = the keys and the internal nodes. Answers do not change. OF_OK, OF_ERR_NOMEM (unchanged). */
int ofi_index_frozen_tune(of_index_frozen *frozen, int prefetch_layers, int huge);

#endif
