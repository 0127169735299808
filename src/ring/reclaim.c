/* Reader protection and reclamation: retired snapshots freed once no reader can hold them, their
 * big arrays kept for the next build. */
#include "ring/ring_internal.h"

#include <stdlib.h>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "common/error.h"

/* TSan does not see the ordering membarrier(2) gives, so its builds take the seq_cst way. */
#if defined(__SANITIZE_THREAD__)
#define RING_NO_MEMBARRIER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RING_NO_MEMBARRIER 1
#endif
#endif
#if !defined(__linux__) || !defined(__NR_membarrier)
#define RING_NO_MEMBARRIER 1
#endif

_Atomic unsigned ofi_ring_next_stripe;
_Thread_local unsigned ofi_ring_my_stripe RING_TLS_MODEL;

/* ---------------------------------------------------------------------------------------------
 * Hazard slots (ring_internal.h, "Reader protection")
 * ------------------------------------------------------------------------------------------- */

static ofi_hazard_slot hazard_slots[RING_HAZARD_SLOTS];
ofi_hazard_slot ofi_hazard_none = {.held = (const snap *)(const void *)&ofi_hazard_none};
ofi_hazard_slot ofi_hazard_unclaimed = {.held = (const snap *)(const void *)&ofi_hazard_unclaimed};
_Thread_local ofi_hazard_slot *ofi_ring_my_hazard RING_TLS_MODEL = &ofi_hazard_unclaimed;
_Atomic int ofi_ring_asymmetric;
/* Slots ever handed out: while 0 a writer has no slot to look at and no barrier to pay. */
static _Atomic int hazard_used;
static _Atomic unsigned long hazard_barrier_failures;
static pthread_once_t hazard_once = PTHREAD_ONCE_INIT;
static pthread_key_t hazard_key;
static int hazard_key_ok;

#if !defined(RING_NO_MEMBARRIER)
static int membarrier_call(int cmd)
{
    return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

/* Registered for the expedited private barrier (the cheap one: IPIs to this process's CPUs
 * only). A kernel without it (before 4.14) or a seccomp filter answers an error. */
static int membarrier_register(void)
{
    int cmds = membarrier_call(MEMBARRIER_CMD_QUERY);
    return cmds >= 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
           membarrier_call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

/* A fork child: the kernels tried (6.18) keep the registration across fork (exec resets it), but
 * that is not documented, so register again, or have the child's readers fence. The child has
 * one thread here, and it is not inside a hazard read (fork is not called from one). */
static void hazard_after_fork(void)
{
    if (atomic_load(&ofi_ring_asymmetric) && !membarrier_register())
        atomic_store(&ofi_ring_asymmetric, 0);
}
#endif

/* The slot goes back when its thread exits; later destructors of that thread read through the
 * stripes. */
static void hazard_release(void *p)
{
    ofi_hazard_slot *h = p;
    ofi_ring_my_hazard = &ofi_hazard_none;
    atomic_store_explicit(&h->owned, 0, memory_order_release);
}

static void hazard_init(void)
{
    hazard_key_ok = pthread_key_create(&hazard_key, hazard_release) == 0;
#if !defined(RING_NO_MEMBARRIER)
    if (membarrier_register() && pthread_atfork(NULL, NULL, hazard_after_fork) == 0)
        atomic_store(&ofi_ring_asymmetric, 1);
#endif
}

ofi_hazard_slot *ofi_ring_hazard_claim(void)
{
    pthread_once(&hazard_once, hazard_init);
    ofi_hazard_slot *mine = &ofi_hazard_none;
    for (size_t i = 0; hazard_key_ok && i < RING_HAZARD_SLOTS; i++) {
        int free_slot = 0;
        if (atomic_load_explicit(&hazard_slots[i].owned, memory_order_relaxed) != 0 ||
            !atomic_compare_exchange_strong(&hazard_slots[i].owned, &free_slot, 1))
            continue;
        if (pthread_setspecific(hazard_key, &hazard_slots[i]) != 0) {
            atomic_store(&hazard_slots[i].owned, 0);
            break;
        }
        mine = &hazard_slots[i];
        atomic_store(&hazard_used, 1);
        break;
    }
    ofi_ring_my_hazard = mine;
    return mine;
}

snap *ofi_ring_read_begin_slow(const of_ring *ring, read_guard *g)
{
    ofi_hazard_slot *h = ofi_ring_my_hazard;
    if (h == &ofi_hazard_unclaimed)
        h = ofi_ring_hazard_claim();
    if (h == &ofi_hazard_none || atomic_load_explicit(&h->held, memory_order_relaxed) != NULL)
        return read_begin(ring, g); /* no slot, or a read nested in one that holds it */
    return read_hazard((of_ring *)ring, h, g);
}

/* Writer lock held: the snapshots in hazard slots now, into @p out (RING_HAZARD_SLOTS long);
 * their count, or -1 when that cannot be known (the barrier failed: then nothing may be freed).
 * Every snapshot to be checked was unpublished before this call. */
static long hazards_held(const snap **out)
{
    if (!atomic_load(&hazard_used))
        return 0;
    pthread_once(&hazard_once, hazard_init);
#if !defined(RING_NO_MEMBARRIER)
    if (atomic_load(&ofi_ring_asymmetric) &&
        membarrier_call(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
        atomic_fetch_add(&hazard_barrier_failures, 1);
        return -1;
    }
#endif
    long n = 0;
    for (size_t i = 0; i < RING_HAZARD_SLOTS; i++) {
        const snap *s = atomic_load(&hazard_slots[i].held);
        if (s)
            out[n++] = s;
    }
    return n;
}

static bool is_held(const snap *s, const snap *const *held, long n)
{
    if (n < 0)
        return true;
    for (long i = 0; i < n; i++)
        if (held[i] == s)
            return true;
    return false;
}

void ofi_ring_hazard_counts(size_t *out_owned, unsigned long *out_barrier_failures,
                            int *out_asymmetric)
{
    size_t owned = 0;
    for (size_t i = 0; i < RING_HAZARD_SLOTS; i++)
        owned += atomic_load(&hazard_slots[i].owned) != 0;
    *out_owned = owned;
    *out_barrier_failures = atomic_load(&hazard_barrier_failures);
    *out_asymmetric = atomic_load(&ofi_ring_asymmetric);
}

size_t ofi_ring_retired_held(const of_ring *ring)
{
    size_t n = 0;
    for (const snap *s = ring->retired_held; s; s = s->next_retired)
        n++;
    return n;
}

void ofi_snap_free(snap *s)
{
    if (!s)
        return;
    free(s->nodes);
    free(s->id_blob);
    free(s->points);
    free(s->owners);
    free(s->buckets);
    free(s->pin_hash);
    free(s->pin_node);
    free(s);
}

void ofi_snap_unref(snap *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        ofi_snap_free(s);
}

void ofi_snap_free_list(snap *s)
{
    while (s) {
        snap *next = s->next_retired;
        ofi_snap_unref(s);
        s = next;
    }
}

/* Writer lock held (or destroy): free a reclaimed snapshot, keeping its big arrays as spares. */
static void recycle(of_ring *ring, snap *s)
{
    if (s->points && s->points_cap > ring->spare_pcap) {
        free(ring->spare_points);
        free(ring->spare_owners);
        ring->spare_points = s->points;
        ring->spare_owners = s->owners;
        ring->spare_pcap = s->points_cap;
        s->points = NULL;
        s->owners = NULL;
    }
    if (s->buckets && s->buckets_cap > ring->spare_bcap) {
        free(ring->spare_buckets);
        ring->spare_buckets = s->buckets;
        ring->spare_bcap = s->buckets_cap;
        s->buckets = NULL;
    }
    ofi_snap_free(s);
}

/* Writer lock held: drop the ring's reference to each snapshot of list @p s that no hazard slot
 * holds; the held ones go to retired_held, to be looked at again by the next reclaim. */
static void reclaim_list(of_ring *ring, snap *s, const snap *const *held, long n_held)
{
    while (s) {
        snap *next = s->next_retired;
        if (is_held(s, held, n_held)) {
            s->next_retired = ring->retired_held;
            ring->retired_held = s;
        } else if (atomic_fetch_sub(&s->refs, 1) == 1) {
            recycle(ring, s);
        }
        s = next;
    }
}

/* Arrays for @p P points: the spares when they fit (and are not far too big), else new ones
 * with 1/8 slack so that the next growth by a node usually fits a spare. */
int ofi_ring_alloc_points(of_ring *ring, snap *s, size_t P)
{
    if (ring && ring->spare_points && ring->spare_pcap >= P && ring->spare_pcap <= 2 * P + 4096) {
        s->points = ring->spare_points;
        s->owners = ring->spare_owners;
        s->points_cap = ring->spare_pcap;
        ring->spare_points = NULL;
        ring->spare_owners = NULL;
        ring->spare_pcap = 0;
        return OF_OK;
    }
    size_t cap = P + P / 8;
    s->points = malloc(cap * sizeof *s->points);
    s->owners = malloc(cap * sizeof *s->owners);
    s->points_cap = cap;
    return s->points && s->owners ? OF_OK : OF_ERR_NOMEM;
}

int ofi_ring_alloc_buckets(of_ring *ring, snap *s, size_t n)
{
    if (ring && ring->spare_buckets && ring->spare_bcap >= n && ring->spare_bcap <= 2 * n + 4096) {
        s->buckets = ring->spare_buckets;
        s->buckets_cap = ring->spare_bcap;
        ring->spare_buckets = NULL;
        ring->spare_bcap = 0;
        return OF_OK;
    }
    size_t cap = n + n / 8;
    s->buckets = malloc(cap * sizeof *s->buckets);
    s->buckets_cap = cap;
    return s->buckets ? OF_OK : OF_ERR_NOMEM;
}

static bool parity_idle(of_ring *ring, unsigned parity)
{
    for (size_t i = 0; i < RING_STRIPES; i++)
        if (atomic_load(&ring->stripes[i].count[parity]) != 0)
            return false;
    return true;
}

/* Writer lock held. */
static void reclaim(of_ring *ring)
{
    const snap *held[RING_HAZARD_SLOTS];
    long n_held = 0;
    bool looked = false;
    /* Snapshots held at the last look: free those their readers have let go of. */
    if (ring->retired_held) {
        n_held = hazards_held(held);
        looked = true;
        snap *list = ring->retired_held;
        ring->retired_held = NULL;
        reclaim_list(ring, list, held, n_held);
    }
    for (int round = 0; round < 2 && (ring->retired_cur || ring->retired_prev); round++) {
        unsigned e = atomic_load(&ring->epoch) & 1u;
        if (!parity_idle(ring, e ^ 1u))
            return;
        if (ring->retired_prev && !looked) {
            n_held = hazards_held(held);
            looked = true;
        }
        reclaim_list(ring, ring->retired_prev, held, n_held);
        ring->retired_prev = ring->retired_cur;
        ring->retired_cur = NULL;
        atomic_store(&ring->epoch, e ^ 1u);
    }
}

/* Writer lock held: ofi_ring_publish @p s and retire the old snapshot. */
void ofi_ring_publish(of_ring *ring, snap *s)
{
    snap *old = atomic_load(&ring->current);
    atomic_store(&ring->current, s);
    old->next_retired = ring->retired_cur;
    ring->retired_cur = old;
    reclaim(ring);
}
