/* Writers: validation and the membership and pin changes. */
#include "ring/ring_internal.h"
#include "ring/ring_metrics.h"

#include <stdlib.h>

#include "common/error.h"

/* ---------------------------------------------------------------------------------------------
 * Writers
 * ------------------------------------------------------------------------------------------- */

/* An id for a detail message: printable ASCII as is, other bytes as \xNN, cut at 48 bytes. */
static const char *id_text(char *buf, size_t cap, const uint8_t *id, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0, i = 0;
    for (; i < len && i < 48 && k + 5 < cap; i++) {
        uint8_t c = id[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            buf[k++] = (char)c;
        } else {
            buf[k++] = '\\';
            buf[k++] = 'x';
            buf[k++] = hex[c >> 4];
            buf[k++] = hex[c & 15];
        }
    }
    if (i < len && k + 4 <= cap) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

int ofi_ring_check_id(const void *id, size_t id_len)
{
    if (!id)
        return ofi_fail(OF_ERR_INVALID, "id is NULL");
    if (id_len == 0 || id_len > OF_NAME_MAX)
        return ofi_fail(OF_ERR_INVALID, "id length %zu outside 1..%d", id_len, OF_NAME_MAX);
    return OF_OK;
}

/* Validate a node for @p ring and fill its identity. */
static int make_node(const of_ring *ring, const void *id, size_t id_len, uint32_t weight,
                     uint64_t tag, node_in *out)
{
    int rc = ofi_ring_check_id(id, id_len);
    if (rc != OF_OK)
        return rc;
    node_in nd = {id, (uint32_t)id_len, weight, tag, 0, 0, 0};
    rc = ring->algo->ident(id, id_len, &nd.ident_off, &nd.ident_len, &nd.ident_num);
    if (rc == OF_OK)
        rc = ring->algo->check_weight(weight, ring->vnodes);
    if (rc == OF_OK)
        *out = nd;
    return rc;
}

/* Total points after the change must stay within the limit (exact, or a bound where a node's
 * points depend on the others, as in ketama). */
static int check_total_points(const of_ring *ring, const node_in *nodes, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += ring->algo->max_points(nodes[i].weight, ring->vnodes);
    if (total > OF_RING_MAX_POINTS)
        return ofi_fail(OF_ERR_INVALID, "the ring would hold %llu points, above OF_RING_MAX_POINTS",
                        (unsigned long long)total);
    return OF_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The write path
 *
 * Every change is one edit: ring_edit_begin() takes the writer lock and copies the current
 * membership into arrays the caller may change; ring_edit_commit() builds a snapshot from them
 * (generation + 1), publishes it, reclaims what readers have left and unlocks;
 * ring_edit_abort() drops the copy and unlocks. Readers see either the old snapshot or the new
 * one, never a partial change.
 * ------------------------------------------------------------------------------------------- */

/* Copy the nodes and pins of @p s into input arrays (ids point into @p s). */
static int snap_inputs(const snap *s, size_t extra_nodes, size_t extra_pins, node_in **out_nodes,
                       pin_in **out_pins)
{
    node_in *nodes = malloc((s->node_count + extra_nodes + 1) * sizeof *nodes);
    pin_in *pins = malloc((s->pin_count + extra_pins + 1) * sizeof *pins);
    if (!nodes || !pins) {
        free(nodes);
        free(pins);
        return ofi_fail_plain(OF_ERR_NOMEM);
    }
    for (size_t i = 0; i < s->node_count; i++) {
        const snap_node *nd = &s->nodes[i];
        nodes[i] = (node_in){nd->id, nd->id_len, nd->weight, nd->tag,
                             nd->ident_off, nd->ident_len, nd->ident_num};
    }
    for (size_t i = 0; i < s->pin_count; i++) {
        const snap_node *nd = &s->nodes[s->pin_node[i]];
        pins[i] = (pin_in){s->pin_hash[i], nd->id, nd->id_len};
    }
    *out_nodes = nodes;
    *out_pins = pins;
    return OF_OK;
}

typedef struct ring_edit {
    of_ring *ring;
    const snap *cur;   /* the published snapshot the edit started from */
    node_in *nodes;    /* node_count used, room for extra_nodes more; ids point into cur */
    size_t node_count;
    pin_in *pins;      /* pin_count used, room for extra_pins more */
    size_t pin_count;
} ring_edit;

/* Lock and copy, with room for @p extra_nodes and @p extra_pins more. On error nothing is held. */
static int ring_edit_begin(of_ring *ring, size_t extra_nodes, size_t extra_pins, ring_edit *e)
{
    pthread_mutex_lock(&ring->wlock);
    const snap *cur = atomic_load(&ring->current);
    *e = (ring_edit){ring, cur, NULL, cur->node_count, NULL, cur->pin_count};
    int rc = snap_inputs(cur, extra_nodes, extra_pins, &e->nodes, &e->pins);
    if (rc != OF_OK)
        pthread_mutex_unlock(&ring->wlock);
    return rc;
}

/* Drop the edit and unlock; returns @p rc (the reason), for `return ring_edit_abort(&e, rc)`. */
static int ring_edit_abort(ring_edit *e, int rc)
{
    pthread_mutex_unlock(&e->ring->wlock);
    free(e->nodes);
    free(e->pins);
    return rc;
}

/* Check the point limit, build, count the change @p c into the new snapshot's metrics, publish
 * and unlock. On error the ring is unchanged. */
static int ring_edit_commit(ring_edit *e, const ring_change *c)
{
    snap *s = NULL;
    int rc = check_total_points(e->ring, e->nodes, e->node_count);
    if (rc == OF_OK)
        rc = ofi_snap_build(e->ring, e->cur, e->nodes, e->node_count, e->pins, e->pin_count,
                            e->cur->generation + 1, &s);
    if (rc == OF_OK && (rc = ofi_ring_note_change(e->cur, s, c)) != OF_OK)
        ofi_snap_free(s);
    if (rc == OF_OK)
        ofi_ring_publish(e->ring, s);
    return ring_edit_abort(e, rc);
}

/* An edit of the node named @p id (checked), at *@p out_idx of e->nodes: OF_ERR_NOT_FOUND, with
 * nothing held, if the ring has no such node. */
static int ring_edit_begin_node(of_ring *ring, const void *id, size_t id_len, size_t extra_pins,
                                ring_edit *e, size_t *out_idx)
{
    int rc = ofi_ring_check_id(id, id_len);
    if (rc == OF_OK)
        rc = ring_edit_begin(ring, 0, extra_pins, e);
    if (rc != OF_OK)
        return rc;
    long idx = ofi_snap_find_node(e->cur, id, id_len);
    if (idx < 0)
        return ring_edit_abort(e, ofi_fail(OF_ERR_NOT_FOUND, "no such node"));
    *out_idx = (size_t)idx;
    return OF_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Membership
 * ------------------------------------------------------------------------------------------- */

OF_API int of_ring_add(of_ring *ring, const void *id, size_t id_len, uint32_t weight, uint64_t tag)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    node_in nd;
    int rc = make_node(ring, id, id_len, weight, tag, &nd);
    if (rc != OF_OK)
        return rc;
    ring_edit e;
    rc = ring_edit_begin(ring, 1, 0, &e);
    if (rc != OF_OK)
        return rc;
    if (ofi_snap_find_node(e.cur, id, id_len) >= 0) {
        char a[200];
        return ring_edit_abort(&e, ofi_fail(OF_ERR_EXISTS, "node \"%s\" already present",
                                            id_text(a, sizeof a, id, id_len)));
    }
    if (e.node_count >= UINT32_MAX - 1)
        return ring_edit_abort(&e, ofi_fail(OF_ERR_INVALID, "too many nodes"));
    e.nodes[e.node_count++] = nd;
    const ring_change c = {RING_CHANGE_ADD, &nd, 1};
    return ring_edit_commit(&e, &c);
}

/* One node of a duplicate check: its identity, and where it came from. */
typedef struct ident_key {
    const uint8_t *bytes;
    uint32_t len;
    uint32_t num;
    size_t index;
} ident_key;

static bool same_ident(const ident_key *a, const ident_key *b)
{
    return ofi_ident_cmp(a->bytes, a->len, a->num, b->bytes, b->len, b->num) == 0;
}

static int ident_key_cmp(const void *pa, const void *pb)
{
    const ident_key *a = pa, *b = pb;
    int c = ofi_ident_cmp(a->bytes, a->len, a->num, b->bytes, b->len, b->num);
    if (c)
        return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

static ident_key *batch_keys(const node_in *batch, size_t count)
{
    ident_key *k = malloc(count * sizeof *k);
    if (k) {
        for (size_t i = 0; i < count; i++)
            k[i] = (ident_key){OFI_NODE_IDENT(&batch[i]), i};
        qsort(k, count, sizeof *k, ident_key_cmp);
    }
    return k;
}

/* A node (an identity) twice in the batch. Sorted by (identity, index), the answer is the pair
 * the pairwise scan would name: the smallest first index that repeats, and its next repeat. */
static int batch_repeats(const of_ring *ring, const node_in *batch, size_t count)
{
    ident_key *k = batch_keys(batch, count);
    if (!k)
        return ofi_fail_plain(OF_ERR_NOMEM);
    size_t first = SIZE_MAX, second = 0;
    for (size_t i = 1; i < count; i++)
        /* cppcheck-suppress arrayIndexThenCheck ; i >= 1 bounds k[i - 1], i < 2 guards k[i - 2] */
        if (same_ident(&k[i - 1], &k[i]) && (i < 2 || !same_ident(&k[i - 2], &k[i - 1])) &&
            k[i - 1].index < first) {
            first = k[i - 1].index;
            second = k[i].index;
        }
    free(k);
    if (first == SIZE_MAX)
        return OF_OK;
    char a[200], b[200];
    return ofi_fail(OF_ERR_EXISTS, "node %zu \"%s\" repeats node %zu \"%s\"%s", second,
                    id_text(a, sizeof a, batch[second].id, batch[second].id_len), first,
                    id_text(b, sizeof b, batch[first].id, batch[first].id_len),
                    ring->algo->same_ident);
}

/* The first batch node whose identity the ring already has (a merge of the two sorted lists
 * instead of a search of the ring per node). */
static int batch_present(const snap *cur, const node_in *batch, size_t count)
{
    if (cur->node_count == 0)
        return OF_OK;
    ident_key *k = batch_keys(batch, count);
    ident_key *have = malloc(cur->node_count * sizeof *have);
    if (!k || !have) {
        free(k);
        free(have);
        return ofi_fail_plain(OF_ERR_NOMEM);
    }
    for (size_t i = 0; i < cur->node_count; i++)
        have[i] = (ident_key){OFI_NODE_IDENT(&cur->nodes[i]), i};
    if (!cur->ident_sorted)
        qsort(have, cur->node_count, sizeof *have, ident_key_cmp);
    size_t found = SIZE_MAX, found_have = 0;
    for (size_t i = 0, j = 0; i < count && j < cur->node_count;) {
        int c = ofi_ident_cmp(k[i].bytes, k[i].len, k[i].num, have[j].bytes, have[j].len,
                              have[j].num);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            if (k[i].index < found) {
                found = k[i].index;
                found_have = have[j].index;
            }
            i++;
        }
    }
    free(k);
    free(have);
    if (found == SIZE_MAX)
        return OF_OK;
    char a[200], b[200];
    const node_in *nb = &batch[found];
    const snap_node *nd = &cur->nodes[found_have];
    if (ofi_id_cmp(nb->id, nb->id_len, nd->id, nd->id_len) == 0)
        return ofi_fail(OF_ERR_EXISTS, "node %zu \"%s\" already present", found,
                        id_text(a, sizeof a, nb->id, nb->id_len));
    return ofi_fail(OF_ERR_EXISTS, "node %zu \"%s\" already present (as \"%s\")", found,
                    id_text(a, sizeof a, nb->id, nb->id_len),
                    id_text(b, sizeof b, nd->id, nd->id_len));
}

OF_API int of_ring_add_many(of_ring *ring, const of_ring_node_spec *specs, size_t count)
{
    if (!ring || (!specs && count))
        return ofi_fail(OF_ERR_INVALID, "NULL ring or nodes");
    if (count == 0)
        return OF_OK;
    if (count > OF_RING_MAX_POINTS)
        return ofi_fail(OF_ERR_INVALID, "too many nodes");
    node_in *batch = malloc(count * sizeof *batch);
    if (!batch)
        return ofi_fail_plain(OF_ERR_NOMEM);
    int rc = OF_OK;
    for (size_t i = 0; i < count && rc == OF_OK; i++)
        rc = make_node(ring, specs[i].id, specs[i].id_len, specs[i].weight, specs[i].tag,
                       &batch[i]);
    if (rc != OF_OK) {
        free(batch);
        return rc;
    }
    rc = batch_repeats(ring, batch, count);
    ring_edit e;
    if (rc == OF_OK)
        rc = ring_edit_begin(ring, count, 0, &e);
    if (rc != OF_OK) {
        free(batch);
        return rc;
    }
    rc = batch_present(e.cur, batch, count);
    if (rc == OF_OK) {
        memcpy(e.nodes + e.node_count, batch, count * sizeof *batch);
        e.node_count += count;
        const ring_change c = {RING_CHANGE_ADD, batch, count};
        rc = ring_edit_commit(&e, &c);
    } else {
        ring_edit_abort(&e, rc);
    }
    free(batch);
    return rc;
}

OF_API int of_ring_remove(of_ring *ring, const void *id, size_t id_len)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    ring_edit e;
    size_t idx;
    int rc = ring_edit_begin_node(ring, id, id_len, 0, &e, &idx);
    if (rc != OF_OK)
        return rc;
    const node_in gone = e.nodes[idx]; /* its id points into e.cur, alive until the commit */
    memmove(e.nodes + idx, e.nodes + idx + 1, (e.node_count - idx - 1) * sizeof *e.nodes);
    e.node_count--;
    size_t np = 0;
    for (size_t i = 0; i < e.pin_count; i++)
        if (e.cur->pin_node[i] != (uint32_t)idx)
            e.pins[np++] = e.pins[i];
    e.pin_count = np;
    const ring_change c = {RING_CHANGE_REMOVE, &gone, 1};
    return ring_edit_commit(&e, &c);
}

OF_API int of_ring_set_weight(of_ring *ring, const void *id, size_t id_len, uint32_t weight)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    node_in nd;
    ring_edit e;
    size_t idx;
    int rc = make_node(ring, id, id_len, weight, 0, &nd);
    if (rc == OF_OK)
        rc = ring_edit_begin_node(ring, id, id_len, 0, &e, &idx);
    if (rc != OF_OK)
        return rc;
    e.nodes[idx].weight = weight;
    const ring_change c = {RING_CHANGE_WEIGHT, &nd, 1};
    return ring_edit_commit(&e, &c);
}

/* ---------------------------------------------------------------------------------------------
 * Pins
 * ------------------------------------------------------------------------------------------- */

OF_API int of_ring_pin_hash(of_ring *ring, uint64_t hash, const void *id, size_t id_len)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    if (!ring->algo->seeded_hash)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "pins are not offered in %s mode", ring->algo->name);
    ring_edit e;
    size_t idx;
    int rc = ring_edit_begin_node(ring, id, id_len, 1, &e, &idx);
    if (rc != OF_OK)
        return rc;
    size_t at = ofi_lower_bound_u64(e.cur->pin_hash, 0, e.cur->pin_count, hash);
    if (at < e.cur->pin_count && e.cur->pin_hash[at] == hash)
        return ring_edit_abort(&e, ofi_fail(OF_ERR_EXISTS, "key already pinned"));
    const snap_node *nd = &e.cur->nodes[idx];
    e.pins[e.pin_count++] = (pin_in){hash, nd->id, nd->id_len};
    const ring_change c = {RING_CHANGE_NONE, NULL, 0};
    return ring_edit_commit(&e, &c);
}

OF_API int of_ring_pin(of_ring *ring, const void *key, size_t key_len, const void *id,
                       size_t id_len)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    if (!key && key_len)
        return ofi_fail(OF_ERR_INVALID, "key is NULL");
    return of_ring_pin_hash(ring, ofi_hash64(key ? key : "", key_len, ring->seed), id, id_len);
}

OF_API int of_ring_unpin(of_ring *ring, const void *key, size_t key_len)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    if (!ring->algo->seeded_hash)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "pins are not offered in %s mode", ring->algo->name);
    if (!key && key_len)
        return ofi_fail(OF_ERR_INVALID, "key is NULL");
    uint64_t hash = ofi_hash64(key ? key : "", key_len, ring->seed);
    ring_edit e;
    int rc = ring_edit_begin(ring, 0, 0, &e);
    if (rc != OF_OK)
        return rc;
    size_t at = ofi_lower_bound_u64(e.cur->pin_hash, 0, e.cur->pin_count, hash);
    if (at == e.cur->pin_count || e.cur->pin_hash[at] != hash)
        return ring_edit_abort(&e, ofi_fail(OF_ERR_NOT_FOUND, "key is not pinned"));
    memmove(e.pins + at, e.pins + at + 1, (e.pin_count - at - 1) * sizeof *e.pins);
    e.pin_count--;
    const ring_change c = {RING_CHANGE_NONE, NULL, 0};
    return ring_edit_commit(&e, &c);
}
