/* Bad-input rows: ring.h (options, lifecycle, membership, lookups, inspection, views, diff). */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "badinput.h"

#define ROWS_GROUP "ring.h"

static uint64_t load_cb(void *ctx, uint64_t tag, const void *id, size_t id_len)
{
    ((bi_fx *)ctx)->calls++;
    return 0;
}

static uint64_t load_full(void *ctx, uint64_t tag, const void *id, size_t id_len)
{
    ((bi_fx *)ctx)->calls++;
    return UINT64_MAX;
}

static int node_cb(void *ctx, const void *id, size_t id_len, uint32_t weight, uint64_t tag)
{
    ((bi_fx *)ctx)->calls++;
    return 0;
}

static int range_cb(void *ctx, const of_ring_range *range)
{
    ((bi_fx *)ctx)->calls++;
    return 0;
}

static int pin_cb(void *ctx, const of_ring_pin_change *change)
{
    ((bi_fx *)ctx)->calls++;
    return 0;
}

static void no_calls(bi_fx *f)
{
    if (f->calls)
        bi_why(f, "a callback was called %d times", f->calls);
}

/* ------------------------------------------------------------------------------------------ */
/* options and lifecycle                                                                        */

ROW(ring_options_init_null, of_ring_options_init, F_NONE, OF_ERR_INVALID, D, "opts NULL")
{
    return of_ring_options_init(NULL, sizeof(of_ring_options));
}

ROW(ring_options_init_size_zero, of_ring_options_init, F_NONE, OF_ERR_ABI, D, "struct_size 0")
{
    return of_ring_options_init(&f->o.ring_opts, 0);
}

ROW(ring_options_init_size_small, of_ring_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size 4 (too small)")
{
    return of_ring_options_init(&f->o.ring_opts, 4);
}

ROW(ring_options_init_size_large, of_ring_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size sizeof + 8 (a newer header)")
{
    return of_ring_options_init(&f->o.ring_opts, sizeof(of_ring_options) + 8);
}

static int create_with(bi_fx *f, uint32_t algorithm, uint32_t vnodes, uint32_t flags,
                       uint32_t struct_size)
{
    struct {
        of_ring_options o;
        unsigned char newer[64]; /* zeroed members of a newer version */
    } b;
    memset(&b, 0, sizeof b);
    if (of_ring_options_init(&b.o, sizeof b.o) != OF_OK)
        bi_why(f, "of_ring_options_init failed");
    b.o.algorithm = algorithm;
    b.o.vnodes = vnodes;
    b.o.flags = flags;
    b.o.struct_size = struct_size;
    return of_ring_create(&b.o, &f->o.ring);
}

ROW(ring_create_null_out, of_ring_create, F_NONE, OF_ERR_INVALID, D, "out_ring NULL")
{
    return of_ring_create(NULL, NULL);
}

ROW(ring_create_algorithm, of_ring_create, F_NONE, OF_ERR_INVALID, D, "algorithm 2")
{
    return create_with(f, 2, 16, 0, sizeof(of_ring_options));
}

ROW(ring_create_algorithm_max, of_ring_create, F_NONE, OF_ERR_INVALID, D,
    "algorithm UINT32_MAX")
{
    return create_with(f, UINT32_MAX, 16, 0, sizeof(of_ring_options));
}

ROW(ring_create_flags, of_ring_create, F_NONE, OF_ERR_INVALID, D, "flags 0x4 (unknown), ketama")
{
    return create_with(f, OF_RING_KETAMA, 16, 0x4u, sizeof(of_ring_options));
}

ROW(ring_create_flags_unweighted_unknown, of_ring_create, F_NONE, OF_ERR_INVALID, D,
    "`OF_RING_KETAMA_UNWEIGHTED` with flag 0x4 (unknown), ketama")
{
    return create_with(f, OF_RING_KETAMA, 16, OF_RING_KETAMA_UNWEIGHTED | 0x4u,
                       sizeof(of_ring_options));
}

ROW(ring_create_flags_high, of_ring_create, F_NONE, OF_ERR_INVALID, D,
    "flags 0x80000001, ketama")
{
    return create_with(f, OF_RING_KETAMA, 16, 0x80000001u, sizeof(of_ring_options));
}

ROW(ring_create_vnodes_zero, of_ring_create, F_NONE, OF_ERR_INVALID, D, "vnodes 0, native")
{
    return create_with(f, OF_RING_NATIVE, 0, 0, sizeof(of_ring_options));
}

ROW(ring_create_vnodes_over, of_ring_create, F_NONE, OF_ERR_INVALID, D,
    "vnodes 2^28 + 1, native (no node could fit `OF_RING_MAX_POINTS`)")
{
    return create_with(f, OF_RING_NATIVE, (1u << 28) + 1, 0, sizeof(of_ring_options));
}

ROW(ring_create_sort_hosts_native, of_ring_create, F_NONE, OF_ERR_INVALID, D,
    "`OF_RING_SORT_HOSTS`, native")
{
    return create_with(f, OF_RING_NATIVE, 16, OF_RING_SORT_HOSTS, sizeof(of_ring_options));
}

ROW(ring_create_unweighted_native, of_ring_create, F_NONE, OF_ERR_INVALID, D,
    "`OF_RING_KETAMA_UNWEIGHTED`, native")
{
    return create_with(f, OF_RING_NATIVE, 16, OF_RING_KETAMA_UNWEIGHTED, sizeof(of_ring_options));
}

ROW(ring_create_size_zero, of_ring_create, F_NONE, OF_ERR_ABI, D, "struct_size 0")
{
    return create_with(f, OF_RING_NATIVE, 16, 0, 0);
}

ROW(ring_create_size_small, of_ring_create, F_NONE, OF_ERR_ABI, D, "struct_size 4 (too small)")
{
    return create_with(f, OF_RING_NATIVE, 16, 0, 4);
}

ROW(ring_create_size_large, of_ring_create, F_NONE, OF_ERR_ABI, D,
    "struct_size sizeof + 8 (a newer header)")
{
    return create_with(f, OF_RING_NATIVE, 16, 0, sizeof(of_ring_options) + 8);
}

VROW(ring_destroy_null, of_ring_destroy, F_NONE, "no-op", "NULL")
{
    of_ring_destroy(NULL);
    return 1;
}

VROW(ring_id_max, of_ring_id_max, F_NONE, "1024", "(no arguments)")
{
    return of_ring_id_max() == 1024;
}

VROW(ring_max_points, of_ring_max_points, F_NONE, "2^28 (`OF_RING_MAX_POINTS`)",
     "(no arguments)")
{
    return of_ring_max_points() == OF_RING_MAX_POINTS && OF_RING_MAX_POINTS == (1u << 28);
}

VROW(ring_options_size, of_ring_options_size, F_NONE, "`sizeof(of_ring_options)`",
     "(no arguments)")
{
    return of_ring_options_size() == sizeof(of_ring_options);
}

/* ------------------------------------------------------------------------------------------ */
/* membership                                                                                   */

ROW(ring_add_null_ring, of_ring_add, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_add(NULL, "z", 1, 1, 9);
}

ROW(ring_add_null_id, of_ring_add, F_RING, OF_ERR_INVALID, D, "id NULL, id_len 1")
{
    return of_ring_add(f->ring, NULL, 1, 1, 9);
}

ROW(ring_add_id_empty, of_ring_add, F_RING, OF_ERR_INVALID, D, "id_len 0")
{
    return of_ring_add(f->ring, "z", 0, 1, 9);
}

ROW(ring_add_id_1025, of_ring_add, F_RING, OF_ERR_INVALID, D, "id_len 1025")
{
    return of_ring_add(f->ring, f->big, 1025, 1, 9);
}

ROW(ring_add_id_max, of_ring_add, F_RING, OF_ERR_INVALID, D, "id_len SIZE_MAX")
{
    return of_ring_add(f->ring, f->big, SIZE_MAX, 1, 9);
}

ROW(ring_add_id_1024, of_ring_add, F_RING, OF_OK, MUT, "id_len 1024 (the maximum) is accepted")
{
    int rc = of_ring_add(f->ring, f->big, 1024, 1, 9);
    if (rc == OF_OK && of_ring_node_count(f->ring) != 4)
        bi_why(f, "node count %zu after the add", of_ring_node_count(f->ring));
    return rc;
}

ROW(ring_add_weight_zero, of_ring_add, F_RING, OF_ERR_INVALID, D, "weight 0, native")
{
    return of_ring_add(f->ring, "z", 1, 0, 9);
}

ROW(ring_add_points_over, of_ring_add, F_RING, OF_ERR_INVALID, D,
    "weight 2^24 x vnodes 16: total points above 2^28")
{
    return of_ring_add(f->ring, "z", 1, 1u << 24, 9);
}

ROW(ring_add_weight_max, of_ring_add, F_RING, OF_ERR_INVALID, D,
    "weight UINT32_MAX (weight x vnodes overflows 32 bits)")
{
    return of_ring_add(f->ring, "z", 1, UINT32_MAX, 9);
}

ROW(ring_add_points_wrap, of_ring_add, F_NONE, OF_ERR_INVALID, D,
    "vnodes 2^28, weight 16 (weight x vnodes wraps to 0 in 32 bits)")
{
    of_ring_options o;
    of_ring *r = NULL;
    of_ring_options_init(&o, sizeof o);
    o.vnodes = 1u << 28;
    if (of_ring_create(&o, &r) != OF_OK) {
        bi_why(f, "of_ring_create with vnodes 2^28 failed");
        return OF_OK;
    }
    int rc = of_ring_add(r, "a", 1, 16, 1);
    if (of_ring_node_count(r) != 0 || of_ring_generation(r) != 0)
        bi_why(f, "the node was added");
    of_ring_destroy(r);
    return rc;
}

ROW(ring_add_exists, of_ring_add, F_RING, OF_ERR_EXISTS, 0, "id \"a\" present")
{
    return of_ring_add(f->ring, "a", 1, 1, 9);
}

ROW(ring_add_ketama_empty_host, of_ring_add, F_KETAMA, OF_ERR_INVALID, D,
    "ketama id \":11211\" (empty host)")
{
    return of_ring_add(f->ketama, ":11211", 6, 1, 9);
}

ROW(ring_add_ketama_port_zero, of_ring_add, F_KETAMA, OF_ERR_INVALID, D,
    "ketama id \"h:0\" (port 0)")
{
    return of_ring_add(f->ketama, "h:0", 3, 1, 9);
}

ROW(ring_add_ketama_port_big, of_ring_add, F_KETAMA, OF_ERR_INVALID, D,
    "ketama id \"h:65536\"")
{
    return of_ring_add(f->ketama, "h:65536", 7, 1, 9);
}

ROW(ring_add_ketama_port_text, of_ring_add, F_KETAMA, OF_ERR_INVALID, D,
    "ketama id \"h:abc\"")
{
    return of_ring_add(f->ketama, "h:abc", 5, 1, 9);
}

ROW(ring_add_ketama_bracket, of_ring_add, F_KETAMA, OF_ERR_INVALID, D,
    "ketama id \"[::1\" (unbalanced bracket)")
{
    return of_ring_add(f->ketama, "[::1", 4, 1, 9);
}

ROW(ring_add_ketama_port_empty, of_ring_add, F_KETAMA, OF_ERR_INVALID, D,
    "ketama id \"h:\" (empty port)")
{
    return of_ring_add(f->ketama, "h:", 2, 1, 9);
}

ROW(ring_add_ketama_port_negative, of_ring_add, F_KETAMA, OF_ERR_INVALID, D,
    "ketama id \"h:-1\"")
{
    return of_ring_add(f->ketama, "h:-1", 4, 1, 9);
}

ROW(ring_add_ketama_bracket_empty, of_ring_add, F_KETAMA, OF_ERR_INVALID, D,
    "ketama id \"[]:11211\" (empty host)")
{
    return of_ring_add(f->ketama, "[]:11211", 8, 1, 9);
}

ROW(ring_add_ketama_bracket_port_zero, of_ring_add, F_KETAMA, OF_ERR_INVALID, D,
    "ketama id \"[::1]:0\"")
{
    return of_ring_add(f->ketama, "[::1]:0", 7, 1, 9);
}

ROW(ring_add_ketama_id_1025, of_ring_add, F_KETAMA, OF_ERR_INVALID, D, "ketama id_len 1025")
{
    return of_ring_add(f->ketama, f->big, 1025, 1, 9);
}

ROW(ring_add_ketama_empty, of_ring_add, F_KETAMA, OF_ERR_INVALID, D, "ketama id_len 0")
{
    return of_ring_add(f->ketama, "h", 0, 1, 9);
}

ROW(ring_add_ketama_exists, of_ring_add, F_KETAMA, OF_ERR_EXISTS, 0,
    "ketama id \"10.0.0.1\" = present \"10.0.0.1:11211\"")
{
    return of_ring_add(f->ketama, "10.0.0.1", 8, 1, 9);
}

ROW(ring_add_ketama_weight_zero, of_ring_add, F_KETAMA, OF_OK, MUT,
    "ketama weight 0 is accepted (counts as 1)")
{
    return of_ring_add(f->ketama, "10.0.0.3", 8, 0, 9);
}

ROW(ring_add_many_null_ring, of_ring_add_many, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    const of_ring_node_spec n[1] = {{"z", 1, 1, 9}};
    return of_ring_add_many(NULL, n, 1);
}

ROW(ring_add_many_null_nodes, of_ring_add_many, F_RING, OF_ERR_INVALID, D, "nodes NULL, count 2")
{
    return of_ring_add_many(f->ring, NULL, 2);
}

ROW(ring_add_many_zero, of_ring_add_many, F_RING, OF_OK, 0,
    "nodes NULL, count 0: no-op, no new generation")
{
    return of_ring_add_many(f->ring, NULL, 0);
}

ROW(ring_add_many_bad_second, of_ring_add_many, F_RING, OF_ERR_INVALID, D,
    "second node id_len 0 (nothing added)")
{
    const of_ring_node_spec n[2] = {{"y", 1, 1, 8}, {"z", 0, 1, 9}};
    return of_ring_add_many(f->ring, n, 2);
}

ROW(ring_add_many_null_id, of_ring_add_many, F_RING, OF_ERR_INVALID, D,
    "second node id NULL (nothing added)")
{
    const of_ring_node_spec n[2] = {{"y", 1, 1, 8}, {NULL, 1, 1, 9}};
    return of_ring_add_many(f->ring, n, 2);
}

ROW(ring_add_many_id_1025, of_ring_add_many, F_RING, OF_ERR_INVALID, D,
    "second node id_len 1025 (nothing added)")
{
    const of_ring_node_spec n[2] = {{"y", 1, 1, 8}, {f->big, 1025, 1, 9}};
    return of_ring_add_many(f->ring, n, 2);
}

ROW(ring_add_many_weight_zero, of_ring_add_many, F_RING, OF_ERR_INVALID, D,
    "second node weight 0 (nothing added)")
{
    const of_ring_node_spec n[2] = {{"y", 1, 1, 8}, {"z", 1, 0, 9}};
    return of_ring_add_many(f->ring, n, 2);
}

ROW(ring_add_many_points_over, of_ring_add_many, F_RING, OF_ERR_INVALID, D,
    "two nodes of weight 2^23 x vnodes 16: total above 2^28")
{
    const of_ring_node_spec n[2] = {{"y", 1, 1u << 23, 8}, {"z", 1, 1u << 23, 9}};
    return of_ring_add_many(f->ring, n, 2);
}

ROW(ring_add_many_duplicate, of_ring_add_many, F_RING, OF_ERR_EXISTS, 0,
    "the same id twice in nodes (nothing added)")
{
    const of_ring_node_spec n[2] = {{"z", 1, 1, 8}, {"z", 1, 1, 9}};
    return of_ring_add_many(f->ring, n, 2);
}

ROW(ring_add_many_exists, of_ring_add_many, F_RING, OF_ERR_EXISTS, 0,
    "second node \"a\" present (nothing added)")
{
    const of_ring_node_spec n[2] = {{"z", 1, 1, 8}, {"a", 1, 1, 9}};
    return of_ring_add_many(f->ring, n, 2);
}

ROW(ring_remove_null_ring, of_ring_remove, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_remove(NULL, "a", 1);
}

ROW(ring_remove_null_id, of_ring_remove, F_RING, OF_ERR_INVALID, D, "id NULL, id_len 1")
{
    return of_ring_remove(f->ring, NULL, 1);
}

ROW(ring_remove_id_empty, of_ring_remove, F_RING, OF_ERR_INVALID, D, "id_len 0")
{
    return of_ring_remove(f->ring, "a", 0);
}

ROW(ring_remove_id_1025, of_ring_remove, F_RING, OF_ERR_INVALID, D, "id_len 1025")
{
    return of_ring_remove(f->ring, f->big, 1025);
}

ROW(ring_remove_id_max, of_ring_remove, F_RING, OF_ERR_INVALID, D, "id_len SIZE_MAX")
{
    return of_ring_remove(f->ring, f->big, SIZE_MAX);
}

ROW(ring_remove_absent, of_ring_remove, F_RING, OF_ERR_NOT_FOUND, 0, "absent id \"z\"")
{
    return of_ring_remove(f->ring, "z", 1);
}

ROW(ring_set_weight_null_ring, of_ring_set_weight, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_set_weight(NULL, "a", 1, 2);
}

ROW(ring_set_weight_null_id, of_ring_set_weight, F_RING, OF_ERR_INVALID, D, "id NULL, id_len 1")
{
    return of_ring_set_weight(f->ring, NULL, 1, 2);
}

ROW(ring_set_weight_id_empty, of_ring_set_weight, F_RING, OF_ERR_INVALID, D, "id_len 0")
{
    return of_ring_set_weight(f->ring, "a", 0, 2);
}

ROW(ring_set_weight_id_1025, of_ring_set_weight, F_RING, OF_ERR_INVALID, D, "id_len 1025")
{
    return of_ring_set_weight(f->ring, f->big, 1025, 2);
}

ROW(ring_set_weight_id_max, of_ring_set_weight, F_RING, OF_ERR_INVALID, D, "id_len SIZE_MAX")
{
    return of_ring_set_weight(f->ring, f->big, SIZE_MAX, 2);
}

ROW(ring_set_weight_zero, of_ring_set_weight, F_RING, OF_ERR_INVALID, D, "weight 0, native")
{
    return of_ring_set_weight(f->ring, "a", 1, 0);
}

ROW(ring_set_weight_points_over, of_ring_set_weight, F_RING, OF_ERR_INVALID, D,
    "weight 2^24 x vnodes 16: total points above 2^28")
{
    return of_ring_set_weight(f->ring, "a", 1, 1u << 24);
}

ROW(ring_set_weight_max, of_ring_set_weight, F_RING, OF_ERR_INVALID, D, "weight UINT32_MAX")
{
    return of_ring_set_weight(f->ring, "a", 1, UINT32_MAX);
}

ROW(ring_set_weight_absent, of_ring_set_weight, F_RING, OF_ERR_NOT_FOUND, 0, "absent id \"z\"")
{
    return of_ring_set_weight(f->ring, "z", 1, 2);
}

ROW(ring_pin_null_ring, of_ring_pin, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_pin(NULL, "k", 1, "a", 1);
}

ROW(ring_pin_null_key, of_ring_pin, F_RING, OF_ERR_INVALID, D, "key NULL, key_len 3")
{
    return of_ring_pin(f->ring, NULL, 3, "a", 1);
}

ROW(ring_pin_null_id, of_ring_pin, F_RING, OF_ERR_INVALID, D, "id NULL, id_len 1")
{
    return of_ring_pin(f->ring, "k", 1, NULL, 1);
}

ROW(ring_pin_id_empty, of_ring_pin, F_RING, OF_ERR_INVALID, D, "id_len 0")
{
    return of_ring_pin(f->ring, "k", 1, "a", 0);
}

ROW(ring_pin_id_1025, of_ring_pin, F_RING, OF_ERR_INVALID, D, "id_len 1025")
{
    return of_ring_pin(f->ring, "k", 1, f->big, 1025);
}

ROW(ring_pin_id_max, of_ring_pin, F_RING, OF_ERR_INVALID, D, "id_len SIZE_MAX")
{
    return of_ring_pin(f->ring, "k", 1, f->big, SIZE_MAX);
}

ROW(ring_pin_absent, of_ring_pin, F_RING, OF_ERR_NOT_FOUND, 0, "absent node \"z\"")
{
    return of_ring_pin(f->ring, "k", 1, "z", 1);
}

ROW(ring_pin_exists, of_ring_pin, F_RING, OF_ERR_EXISTS, 0, "key \"pinned\" already pinned")
{
    return of_ring_pin(f->ring, "pinned", 6, "a", 1);
}

ROW(ring_pin_ketama, of_ring_pin, F_KETAMA, OF_ERR_NOT_SUPPORTED, 0, "ketama ring")
{
    return of_ring_pin(f->ketama, "k", 1, "10.0.0.1:11211", 14);
}

ROW(ring_pin_hash_null_ring, of_ring_pin_hash, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_pin_hash(NULL, 1, "a", 1);
}

ROW(ring_pin_hash_null_id, of_ring_pin_hash, F_RING, OF_ERR_INVALID, D, "id NULL, id_len 1")
{
    return of_ring_pin_hash(f->ring, 1, NULL, 1);
}

ROW(ring_pin_hash_id_empty, of_ring_pin_hash, F_RING, OF_ERR_INVALID, D, "id_len 0")
{
    return of_ring_pin_hash(f->ring, 1, "a", 0);
}

ROW(ring_pin_hash_id_1025, of_ring_pin_hash, F_RING, OF_ERR_INVALID, D, "id_len 1025")
{
    return of_ring_pin_hash(f->ring, 1, f->big, 1025);
}

ROW(ring_pin_hash_absent, of_ring_pin_hash, F_RING, OF_ERR_NOT_FOUND, 0, "absent node \"z\"")
{
    return of_ring_pin_hash(f->ring, 1, "z", 1);
}

ROW(ring_pin_hash_exists, of_ring_pin_hash, F_RING, OF_ERR_EXISTS, 0,
    "the hash of \"pinned\" already pinned")
{
    return of_ring_pin_hash(f->ring, of_hash64("pinned", 6, 7), "a", 1);
}

ROW(ring_pin_hash_ketama, of_ring_pin_hash, F_KETAMA, OF_ERR_NOT_SUPPORTED, 0, "ketama ring")
{
    return of_ring_pin_hash(f->ketama, 1, "10.0.0.1:11211", 14);
}

ROW(ring_unpin_null_ring, of_ring_unpin, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_unpin(NULL, "pinned", 6);
}

ROW(ring_unpin_null_key, of_ring_unpin, F_RING, OF_ERR_INVALID, D, "key NULL, key_len 3")
{
    return of_ring_unpin(f->ring, NULL, 3);
}

ROW(ring_unpin_absent, of_ring_unpin, F_RING, OF_ERR_NOT_FOUND, 0, "key \"k\" not pinned")
{
    return of_ring_unpin(f->ring, "k", 1);
}

ROW(ring_unpin_ketama, of_ring_unpin, F_KETAMA, OF_ERR_NOT_SUPPORTED, 0, "ketama ring")
{
    return of_ring_unpin(f->ketama, "k", 1);
}

/* ------------------------------------------------------------------------------------------ */
/* lookups                                                                                      */

ROW(ring_lookup_null_ring, of_ring_lookup, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_lookup(NULL, "k", 1, &f->o.tag, f->o.id, sizeof f->o.id, &f->o.len);
}

ROW(ring_lookup_null_key, of_ring_lookup, F_RING, OF_ERR_INVALID, D, "key NULL, key_len 3")
{
    return of_ring_lookup(f->ring, NULL, 3, &f->o.tag, f->o.id, sizeof f->o.id, &f->o.len);
}

ROW(ring_lookup_null_key_max, of_ring_lookup, F_RING, OF_ERR_INVALID, D,
    "key NULL, key_len SIZE_MAX")
{
    return of_ring_lookup(f->ring, NULL, SIZE_MAX, &f->o.tag, f->o.id, sizeof f->o.id, &f->o.len);
}

ROW(ring_lookup_empty, of_ring_lookup, F_EMPTY_RING, OF_ERR_EMPTY, 0, "ring without nodes")
{
    return of_ring_lookup(f->empty_ring, "k", 1, &f->o.tag, f->o.id, sizeof f->o.id, &f->o.len);
}

ROW(ring_lookup_null_key_empty, of_ring_lookup, F_RING, OF_OK, 0,
    "key NULL, key_len 0 (allowed: the empty key)")
{
    uint64_t want = 0;
    int rc = of_ring_lookup(f->ring, NULL, 0, &f->o.tag, NULL, 0, NULL);
    if (of_ring_lookup(f->ring, "", 0, &want, NULL, 0, NULL) != OF_OK || f->o.tag != want)
        bi_why(f, "tag %llu, the empty key's is %llu", (unsigned long long)f->o.tag,
               (unsigned long long)want);
    return rc;
}

/* NOSPACE writes only the id length (documented), so the row checks the outputs itself. */
static int nospace(bi_fx *f, int rc, size_t want_len)
{
    if (rc == OF_ERR_NOSPACE) {
        if (!bi_untouched(&f->o.tag, sizeof f->o.tag))
            bi_why(f, "out_tag written on NOSPACE");
        if (!bi_untouched(f->o.id, sizeof f->o.id))
            bi_why(f, "out_id written on NOSPACE");
        if (f->o.len != want_len)
            bi_why(f, "out_id_len %zu, the owner's id is %zu bytes", f->o.len, want_len);
    }
    return rc;
}

ROW(ring_lookup_nospace, of_ring_lookup, F_RING, OF_ERR_NOSPACE, NOOUT,
    "id_cap 0 with out_id (only out_id_len is set)")
{
    return nospace(f, of_ring_lookup(f->ring, "k", 1, &f->o.tag, f->o.id, 0, &f->o.len), 1);
}

ROW(ring_lookup_nospace_ketama, of_ring_lookup, F_KETAMA, OF_ERR_NOSPACE, NOOUT,
    "ketama, id_cap 13 for a 14-byte id (only out_id_len is set)")
{
    return nospace(f, of_ring_lookup(f->ketama, "k", 1, &f->o.tag, f->o.id, 13, &f->o.len), 14);
}

ROW(ring_lookup_hash_null_ring, of_ring_lookup_hash, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_lookup_hash(NULL, 1, &f->o.tag, f->o.id, sizeof f->o.id, &f->o.len);
}

ROW(ring_lookup_hash_empty, of_ring_lookup_hash, F_EMPTY_RING, OF_ERR_EMPTY, 0,
    "ring without nodes")
{
    return of_ring_lookup_hash(f->empty_ring, 1, &f->o.tag, f->o.id, sizeof f->o.id, &f->o.len);
}

ROW(ring_lookup_hash_nospace, of_ring_lookup_hash, F_RING, OF_ERR_NOSPACE, NOOUT,
    "id_cap 0 with out_id (only out_id_len is set)")
{
    return nospace(f, of_ring_lookup_hash(f->ring, 1, &f->o.tag, f->o.id, 0, &f->o.len), 1);
}

ROW(ring_lookup_hash_ketama, of_ring_lookup_hash, F_KETAMA, OF_ERR_NOT_SUPPORTED, 0,
    "ketama ring")
{
    return of_ring_lookup_hash(f->ketama, 1, &f->o.tag, f->o.id, sizeof f->o.id, &f->o.len);
}

ROW(ring_lookup_n_null_ring, of_ring_lookup_n, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_lookup_n(NULL, "k", 1, 1, f->o.tags);
}

ROW(ring_lookup_n_null_key, of_ring_lookup_n, F_RING, OF_ERR_INVALID, D, "key NULL, key_len 3")
{
    return of_ring_lookup_n(f->ring, NULL, 3, 1, f->o.tags);
}

ROW(ring_lookup_n_null_out, of_ring_lookup_n, F_RING, OF_ERR_INVALID, D, "out_tags NULL")
{
    return of_ring_lookup_n(f->ring, "k", 1, 1, NULL);
}

ROW(ring_lookup_n_zero, of_ring_lookup_n, F_RING, OF_ERR_INVALID, D, "n 0")
{
    return of_ring_lookup_n(f->ring, "k", 1, 0, f->o.tags);
}

ROW(ring_lookup_n_above, of_ring_lookup_n, F_RING, OF_ERR_INVALID, D, "n 4 > node count 3")
{
    return of_ring_lookup_n(f->ring, "k", 1, 4, f->o.tags);
}

ROW(ring_lookup_n_max, of_ring_lookup_n, F_RING, OF_ERR_INVALID, D, "n SIZE_MAX")
{
    return of_ring_lookup_n(f->ring, "k", 1, SIZE_MAX, f->o.tags);
}

ROW(ring_lookup_n_empty, of_ring_lookup_n, F_EMPTY_RING, OF_ERR_EMPTY, 0,
    "ring without nodes, n 1")
{
    return of_ring_lookup_n(f->empty_ring, "k", 1, 1, f->o.tags);
}

ROW(ring_lookup_n_empty_many, of_ring_lookup_n, F_EMPTY_RING, OF_ERR_EMPTY, 0,
    "ring without nodes, n 5")
{
    return of_ring_lookup_n(f->empty_ring, "k", 1, 5, f->o.tags);
}

ROW(ring_bounded_null_ring, of_ring_lookup_bounded, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_lookup_bounded(NULL, "k", 1, 1.25, 0, load_cb, f, &f->o.tag);
}

ROW(ring_bounded_null_key, of_ring_lookup_bounded, F_RING, OF_ERR_INVALID, D,
    "key NULL, key_len 3")
{
    int rc = of_ring_lookup_bounded(f->ring, NULL, 3, 1.25, 0, load_cb, f, &f->o.tag);
    no_calls(f);
    return rc;
}

ROW(ring_bounded_null_load, of_ring_lookup_bounded, F_RING, OF_ERR_INVALID, D, "load NULL")
{
    return of_ring_lookup_bounded(f->ring, "k", 1, 1.25, 0, NULL, f, &f->o.tag);
}

ROW(ring_bounded_null_out, of_ring_lookup_bounded, F_RING, OF_ERR_INVALID, D, "out_tag NULL")
{
    int rc = of_ring_lookup_bounded(f->ring, "k", 1, 1.25, 0, load_cb, f, NULL);
    no_calls(f);
    return rc;
}

ROW(ring_bounded_c_one, of_ring_lookup_bounded, F_RING, OF_ERR_INVALID, D, "c 1.0")
{
    int rc = of_ring_lookup_bounded(f->ring, "k", 1, 1.0, 0, load_cb, f, &f->o.tag);
    no_calls(f);
    return rc;
}

ROW(ring_bounded_c_small, of_ring_lookup_bounded, F_RING, OF_ERR_INVALID, D, "c 0.5")
{
    return of_ring_lookup_bounded(f->ring, "k", 1, 0.5, 0, load_cb, f, &f->o.tag);
}

ROW(ring_bounded_c_negative, of_ring_lookup_bounded, F_RING, OF_ERR_INVALID, D, "c -2")
{
    return of_ring_lookup_bounded(f->ring, "k", 1, -2.0, 0, load_cb, f, &f->o.tag);
}

ROW(ring_bounded_c_nan, of_ring_lookup_bounded, F_RING, OF_ERR_INVALID, D, "c NaN")
{
    return of_ring_lookup_bounded(f->ring, "k", 1, (double)NAN, 0, load_cb, f, &f->o.tag);
}

ROW(ring_bounded_c_inf, of_ring_lookup_bounded, F_RING, OF_ERR_INVALID, D, "c +infinity")
{
    return of_ring_lookup_bounded(f->ring, "k", 1, (double)INFINITY, 0, load_cb, f, &f->o.tag);
}

ROW(ring_bounded_empty, of_ring_lookup_bounded, F_EMPTY_RING, OF_ERR_EMPTY, 0,
    "ring without nodes")
{
    int rc = of_ring_lookup_bounded(f->empty_ring, "k", 1, 1.25, 0, load_cb, f, &f->o.tag);
    no_calls(f);
    return rc;
}

ROW(ring_bounded_full, of_ring_lookup_bounded, F_RING, OF_ERR_NOSPACE, 0,
    "every load UINT64_MAX (inconsistent loads)")
{
    return of_ring_lookup_bounded(f->ring, "k", 1, 1.25, 10, load_full, f, &f->o.tag);
}

ROW(ring_bounded_total_max, of_ring_lookup_bounded, F_RING, OF_ERR_NOSPACE, 0,
    "total_load UINT64_MAX, every load UINT64_MAX (capacity overflows)")
{
    return of_ring_lookup_bounded(f->ring, "k", 1, 1.25, UINT64_MAX, load_full, f, &f->o.tag);
}

ROW(ring_bounded_c_max, of_ring_lookup_bounded, F_RING, OF_OK, 0,
    "c DBL_MAX, total_load UINT64_MAX (allowed: the capacity is huge)")
{
    return of_ring_lookup_bounded(f->ring, "k", 1, 1.7976931348623157e308, UINT64_MAX, load_cb, f,
                                  &f->o.tag);
}

ROW(ring_bounded_ketama, of_ring_lookup_bounded, F_KETAMA, OF_ERR_NOT_SUPPORTED, 0,
    "ketama ring")
{
    int rc = of_ring_lookup_bounded(f->ketama, "k", 1, 1.25, 0, load_cb, f, &f->o.tag);
    no_calls(f);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* inspection                                                                                   */

ROW(ring_contains_null_ring, of_ring_contains, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_contains(NULL, "a", 1, &f->o.present);
}

ROW(ring_contains_null_id, of_ring_contains, F_RING, OF_ERR_INVALID, D, "id NULL, id_len 1")
{
    return of_ring_contains(f->ring, NULL, 1, &f->o.present);
}

ROW(ring_contains_id_empty, of_ring_contains, F_RING, OF_ERR_INVALID, D, "id_len 0")
{
    return of_ring_contains(f->ring, "a", 0, &f->o.present);
}

ROW(ring_contains_id_1025, of_ring_contains, F_RING, OF_ERR_INVALID, D, "id_len 1025")
{
    return of_ring_contains(f->ring, f->big, 1025, &f->o.present);
}

ROW(ring_contains_id_max, of_ring_contains, F_RING, OF_ERR_INVALID, D, "id_len SIZE_MAX")
{
    return of_ring_contains(f->ring, f->big, SIZE_MAX, &f->o.present);
}

ROW(ring_contains_null_out, of_ring_contains, F_RING, OF_ERR_INVALID, D, "out_present NULL")
{
    return of_ring_contains(f->ring, "a", 1, NULL);
}

VROW(ring_node_count_null, of_ring_node_count, F_NONE, "0", "NULL")
{
    return of_ring_node_count(NULL) == 0;
}

VROW(ring_generation_null, of_ring_generation, F_NONE, "0", "NULL")
{
    return of_ring_generation(NULL) == 0;
}

ROW(ring_foreach_null_ring, of_ring_foreach, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_foreach(NULL, node_cb, f);
}

ROW(ring_foreach_null_fn, of_ring_foreach, F_RING, OF_ERR_INVALID, D, "fn NULL")
{
    return of_ring_foreach(f->ring, NULL, f);
}

ROW(ring_ownership_null_ring, of_ring_ownership, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_ownership(NULL, "a", 1, &f->o.share);
}

ROW(ring_ownership_null_id, of_ring_ownership, F_RING, OF_ERR_INVALID, D, "id NULL, id_len 1")
{
    return of_ring_ownership(f->ring, NULL, 1, &f->o.share);
}

ROW(ring_ownership_null_out, of_ring_ownership, F_RING, OF_ERR_INVALID, D, "out_share NULL")
{
    return of_ring_ownership(f->ring, "a", 1, NULL);
}

ROW(ring_ownership_id_empty, of_ring_ownership, F_RING, OF_ERR_INVALID, D, "id_len 0")
{
    return of_ring_ownership(f->ring, "a", 0, &f->o.share);
}

ROW(ring_ownership_id_1025, of_ring_ownership, F_RING, OF_ERR_INVALID, D, "id_len 1025")
{
    return of_ring_ownership(f->ring, f->big, 1025, &f->o.share);
}

ROW(ring_ownership_absent, of_ring_ownership, F_RING, OF_ERR_NOT_FOUND, 0, "absent id \"z\"")
{
    return of_ring_ownership(f->ring, "z", 1, &f->o.share);
}

VROW(ring_fingerprint_null, of_ring_fingerprint, F_NONE, "0", "NULL")
{
    return of_ring_fingerprint(NULL) == 0;
}

VROW(ring_memory_usage_null, of_ring_memory_usage, F_NONE, "0", "NULL")
{
    return of_ring_memory_usage(NULL) == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* views and diff                                                                               */

ROW(ring_view_take_null_ring, of_ring_view_take, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_view_take(NULL, &f->o.view);
}

ROW(ring_view_take_null_out, of_ring_view_take, F_RING, OF_ERR_INVALID, D, "out_view NULL")
{
    return of_ring_view_take(f->ring, NULL);
}

VROW(ring_view_release_null, of_ring_view_release, F_NONE, "no-op", "NULL")
{
    of_ring_view_release(NULL);
    return 1;
}

VROW(ring_view_generation_null, of_ring_view_generation, F_NONE, "0", "NULL")
{
    return of_ring_view_generation(NULL) == 0;
}

VROW(ring_view_fingerprint_null, of_ring_view_fingerprint, F_NONE, "0", "NULL")
{
    return of_ring_view_fingerprint(NULL) == 0;
}

ROW(ring_diff_null_old, of_ring_diff, F_VIEWS, OF_ERR_INVALID, D, "old_view NULL")
{
    int rc = of_ring_diff(NULL, f->v_new, range_cb, pin_cb, f);
    no_calls(f);
    return rc;
}

ROW(ring_diff_null_new, of_ring_diff, F_VIEWS, OF_ERR_INVALID, D, "new_view NULL")
{
    int rc = of_ring_diff(f->v_old, NULL, range_cb, pin_cb, f);
    no_calls(f);
    return rc;
}

ROW(ring_diff_algorithms, of_ring_diff, F_VIEWS, OF_ERR_INVALID, D,
    "native view against a ketama view")
{
    int rc = of_ring_diff(f->v_old, f->v_ketama, range_cb, pin_cb, f);
    no_calls(f);
    return rc;
}

ROW(ring_diff_seeds, of_ring_diff, F_VIEWS, OF_ERR_INVALID, D, "views of seeds 7 and 8")
{
    int rc = of_ring_diff(f->v_old, f->v_seed, range_cb, pin_cb, f);
    no_calls(f);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* batched lookups and lookups on a view                                                        */

static const void *const bk_keys[3] = {"k1", "k2", "k3"};
static const void *const bk_keys_null[3] = {"k1", NULL, "k3"};
static const size_t bk_lens[3] = {2, 2, 2};

ROW(ring_lookup_batch_null_ring, of_ring_lookup_batch, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return of_ring_lookup_batch(NULL, bk_keys, bk_lens, 3, f->o.tags);
}

ROW(ring_lookup_batch_null_keys, of_ring_lookup_batch, F_RING, OF_ERR_INVALID, D,
    "keys NULL, count 3")
{
    return of_ring_lookup_batch(f->ring, NULL, bk_lens, 3, f->o.tags);
}

ROW(ring_lookup_batch_null_lens, of_ring_lookup_batch, F_RING, OF_ERR_INVALID, D,
    "key_lens NULL, count 3")
{
    return of_ring_lookup_batch(f->ring, bk_keys, NULL, 3, f->o.tags);
}

ROW(ring_lookup_batch_null_out, of_ring_lookup_batch, F_RING, OF_ERR_INVALID, D,
    "out_tags NULL, count 3")
{
    return of_ring_lookup_batch(f->ring, bk_keys, bk_lens, 3, NULL);
}

ROW(ring_lookup_batch_null_key, of_ring_lookup_batch, F_RING, OF_ERR_INVALID, D,
    "keys[1] NULL with length 2 (no tag is written, also not the first)")
{
    return of_ring_lookup_batch(f->ring, bk_keys_null, bk_lens, 3, f->o.tags);
}

ROW(ring_lookup_batch_empty, of_ring_lookup_batch, F_EMPTY_RING, OF_ERR_EMPTY, 0,
    "ring without nodes")
{
    return of_ring_lookup_batch(f->empty_ring, bk_keys, bk_lens, 3, f->o.tags);
}

ROW(ring_lookup_batch_count_zero, of_ring_lookup_batch, F_RING, OF_OK, 0,
    "count 0 with NULL arrays (allowed: nothing to do)")
{
    return of_ring_lookup_batch(f->ring, NULL, NULL, 0, NULL);
}

ROW(ring_view_lookup_null_view, of_ring_view_lookup, F_NONE, OF_ERR_INVALID, D, "view NULL")
{
    return of_ring_view_lookup(NULL, "k", 1, &f->o.tag, f->o.id, sizeof f->o.id, &f->o.len);
}

ROW(ring_view_lookup_null_key, of_ring_view_lookup, F_VIEWS, OF_ERR_INVALID, D,
    "key NULL, key_len 3")
{
    return of_ring_view_lookup(f->v_old, NULL, 3, &f->o.tag, f->o.id, sizeof f->o.id, &f->o.len);
}

ROW(ring_view_lookup_empty, of_ring_view_lookup, F_EMPTY_RING, OF_ERR_EMPTY, 0,
    "view of a ring without nodes")
{
    of_ring_view *v = NULL;
    if (of_ring_view_take(f->empty_ring, &v) != OF_OK)
        bi_why(f, "view_take failed");
    int rc = of_ring_view_lookup(v, "k", 1, &f->o.tag, f->o.id, sizeof f->o.id, &f->o.len);
    of_ring_view_release(v);
    return rc;
}

ROW(ring_view_lookup_nospace, of_ring_view_lookup, F_VIEWS, OF_ERR_NOSPACE, NOOUT,
    "id_cap 0 with out_id (only out_id_len is set)")
{
    return nospace(f, of_ring_view_lookup(f->v_old, "k", 1, &f->o.tag, f->o.id, 0, &f->o.len), 1);
}

ROW(ring_view_lookup_batch_null_view, of_ring_view_lookup_batch, F_NONE, OF_ERR_INVALID, D,
    "view NULL")
{
    return of_ring_view_lookup_batch(NULL, bk_keys, bk_lens, 3, f->o.tags);
}

ROW(ring_view_lookup_batch_null_keys, of_ring_view_lookup_batch, F_VIEWS, OF_ERR_INVALID, D,
    "keys NULL, count 3")
{
    return of_ring_view_lookup_batch(f->v_old, NULL, bk_lens, 3, f->o.tags);
}

ROW(ring_view_lookup_batch_null_key, of_ring_view_lookup_batch, F_VIEWS, OF_ERR_INVALID, D,
    "keys[1] NULL with length 2 (no tag is written)")
{
    return of_ring_view_lookup_batch(f->v_old, bk_keys_null, bk_lens, 3, f->o.tags);
}

ROW(ring_view_lookup_batch_empty, of_ring_view_lookup_batch, F_EMPTY_RING, OF_ERR_EMPTY, 0,
    "view of a ring without nodes")
{
    of_ring_view *v = NULL;
    if (of_ring_view_take(f->empty_ring, &v) != OF_OK)
        bi_why(f, "view_take failed");
    int rc = of_ring_view_lookup_batch(v, bk_keys, bk_lens, 3, f->o.tags);
    of_ring_view_release(v);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* metrics                                                                                      */

/* Stats with a caller-chosen struct_size: nothing but struct_size may differ from the sentinel
 * afterwards. */
static int ring_stats_with(bi_fx *f, const of_ring *r, uint32_t size, int null_out)
{
    struct {
        of_ring_stats s;
        unsigned char newer[64];
    } b;
    memset(&b, BI_SENTINEL, sizeof b);
    b.s.struct_size = size;
    int rc = of_ring_get_stats(r, null_out ? NULL : &b.s);
    if (rc != OF_OK && (b.s.struct_size != size ||
                        !bi_untouched((unsigned char *)&b + sizeof b.s.struct_size,
                                      sizeof b - sizeof b.s.struct_size)))
        bi_why(f, "out_stats written on error");
    return rc;
}

ROW(ring_stats_null_ring, of_ring_get_stats, F_NONE, OF_ERR_INVALID, D, "ring NULL")
{
    return ring_stats_with(f, NULL, sizeof(of_ring_stats), 0);
}

ROW(ring_stats_null_out, of_ring_get_stats, F_RING, OF_ERR_INVALID, D, "out_stats NULL")
{
    return ring_stats_with(f, f->ring, sizeof(of_ring_stats), 1);
}

ROW(ring_stats_size_zero, of_ring_get_stats, F_RING, OF_ERR_ABI, D, "struct_size 0")
{
    return ring_stats_with(f, f->ring, 0, 0);
}

ROW(ring_stats_size_small, of_ring_get_stats, F_RING, OF_ERR_ABI, D,
    "struct_size one byte below the first version")
{
    return ring_stats_with(f, f->ring,
                           (uint32_t)(offsetof(of_ring_stats, last_moved_share) + sizeof(double) - 1),
                           0);
}

ROW(ring_stats_size_large, of_ring_get_stats, F_KETAMA, OF_ERR_ABI, D,
    "struct_size sizeof + 8 (a newer header)")
{
    return ring_stats_with(f, f->ketama, sizeof(of_ring_stats) + 8, 0);
}

VROW(ring_stats_size, of_ring_stats_size, F_NONE, "`sizeof(of_ring_stats)`", "(no arguments)")
{
    return of_ring_stats_size() == sizeof(of_ring_stats);
}

/* The call into an 8-byte buffer that must stay as it was (and out_len too) unless @p nospace. */
static int ring_metrics_with(bi_fx *f, const of_ring *r, int format, const char *prefix,
                             const char *const *labels, size_t cap, int nospace)
{
    char buf[8];
    memset(buf, BI_SENTINEL, sizeof buf);
    size_t n = 12345;
    int rc = of_ring_metrics(r, format, prefix, labels, cap ? buf : NULL, cap, &n);
    if (!nospace && (n != 12345 || !bi_untouched((unsigned char *)buf, sizeof buf)))
        bi_why(f, "buffer or out_len written on error");
    if (nospace && (n <= cap || n < 100))
        bi_why(f, "NOSPACE without the needed size");
    return rc;
}

static const char *const ring_labels_odd[] = {"service", NULL};
static const char *const ring_labels_change[] = {"change", "x", NULL};
static const char *const ring_labels_dunder[] = {"__name", "x", NULL};

ROW(ring_metrics_null_ring, of_ring_metrics, F_NONE, OF_ERR_INVALID, D | NOOUT, "ring NULL")
{
    return ring_metrics_with(f, NULL, OF_METRICS_PROMETHEUS, NULL, NULL, 8, 0);
}

ROW(ring_metrics_bad_format, of_ring_metrics, F_RING, OF_ERR_INVALID, D | NOOUT, "format 0")
{
    return ring_metrics_with(f, f->ring, 0, NULL, NULL, 8, 0);
}

ROW(ring_metrics_bad_prefix, of_ring_metrics, F_RING, OF_ERR_INVALID, D | NOOUT,
    "prefix \"a-b\" (a character outside [a-zA-Z0-9_:])")
{
    return ring_metrics_with(f, f->ring, OF_METRICS_JSON, "a-b", NULL, 8, 0);
}

ROW(ring_metrics_odd_labels, of_ring_metrics, F_RING, OF_ERR_INVALID, D | NOOUT,
    "labels: a name without a value")
{
    return ring_metrics_with(f, f->ring, OF_METRICS_JSON, NULL, ring_labels_odd, 8, 0);
}

ROW(ring_metrics_reserved_label, of_ring_metrics, F_RING, OF_ERR_INVALID, D | NOOUT,
    "label name \"change\" (reserved)")
{
    return ring_metrics_with(f, f->ring, OF_METRICS_PROMETHEUS, NULL, ring_labels_change, 8, 0);
}

ROW(ring_metrics_dunder_label, of_ring_metrics, F_KETAMA, OF_ERR_INVALID, D | NOOUT,
    "label name \"__name\" (starts with __)")
{
    return ring_metrics_with(f, f->ketama, OF_METRICS_PROMETHEUS, NULL, ring_labels_dunder, 8, 0);
}

ROW(ring_metrics_null_buf, of_ring_metrics, F_RING, OF_ERR_INVALID, D | NOOUT,
    "buf NULL with cap 10")
{
    size_t n = 12345;
    int rc = of_ring_metrics(f->ring, OF_METRICS_PROMETHEUS, NULL, NULL, NULL, 10, &n);
    if (n != 12345)
        bi_why(f, "out_len written on error");
    return rc;
}

ROW(ring_metrics_small_buf, of_ring_metrics, F_RING, OF_ERR_NOSPACE, D | NOOUT,
    "cap 8 (sets *out_len to the size needed)")
{
    return ring_metrics_with(f, f->ring, OF_METRICS_PROMETHEUS, NULL, NULL, 8, 1);
}

ROW(ring_metrics_empty_ring_small_buf, of_ring_metrics, F_EMPTY_RING, OF_ERR_NOSPACE,
    D | NOOUT, "empty ring, cap 8")
{
    return ring_metrics_with(f, f->empty_ring, OF_METRICS_JSON, NULL, NULL, 8, 1);
}

static int ring_metrics_sink(void *ctx, const char *data, size_t len)
{
    ((bi_fx *)ctx)->calls++;
    (void)data;
    (void)len;
    return 0;
}

ROW(ring_metrics_write_null_ring, of_ring_metrics_write, F_NONE, OF_ERR_INVALID, D,
    "ring NULL")
{
    int rc = of_ring_metrics_write(NULL, OF_METRICS_JSON, NULL, NULL, ring_metrics_sink, f);
    no_calls(f);
    return rc;
}

ROW(ring_metrics_write_null_fn, of_ring_metrics_write, F_RING, OF_ERR_INVALID, D, "write NULL")
{
    return of_ring_metrics_write(f->ring, OF_METRICS_JSON, NULL, NULL, NULL, NULL);
}

ROW(ring_metrics_write_bad_format, of_ring_metrics_write, F_RING, OF_ERR_INVALID, D, "format 3")
{
    int rc = of_ring_metrics_write(f->ring, 3, NULL, NULL, ring_metrics_sink, f);
    no_calls(f);
    return rc;
}

ROW(ring_metrics_write_bad_label, of_ring_metrics_write, F_KETAMA, OF_ERR_INVALID, D,
    "label name \"fingerprint\" (reserved)")
{
    static const char *const labels[] = {"fingerprint", "x", NULL};
    int rc = of_ring_metrics_write(f->ketama, OF_METRICS_PROMETHEUS, "app_", labels,
                                   ring_metrics_sink, f);
    no_calls(f);
    return rc;
}
