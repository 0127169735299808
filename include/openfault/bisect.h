/**
 * @file bisect.h
 * @brief Python-`bisect` search kernels over sorted arrays, the sorted-key index ::of_index and
 *        its read-optimised frozen form ::of_index_frozen.
 *
 * Three layers (see docs/bisect.md):
 *
 * - **Kernels** (`of_bisect_*`, `of_insort_*`): stateless searches over a caller's sorted array
 *   with exactly Python's `bisect` semantics. `of_bisect_left` returns the first position `i` in
 *   `[lo, hi)` with `a[i] >= x` (every element before it is `< x`), or `hi`; `of_bisect_right`
 *   the first with `a[i] > x`. `lo`/`hi` restrict the search as in Python; `lo <= hi <= count`
 *   is required (else ::OF_ERR_INVALID, never undefined behaviour). Doubles are ordered with
 *   -0.0 equal to +0.0 and every NaN equal to every other NaN and after +infinity.
 * - **::of_index**: sorted `uint64_t` keys, each with a `uint64_t` payload, duplicates allowed
 *   and kept in a stable order. Positions are 0-based ranks in key order.
 * - **::of_index_frozen**: an immutable copy (an S+ tree whose bottom layer is the sorted array)
 *   that answers every query exactly as the index it was frozen from, faster, from any number of
 *   threads. Uses AVX2 when the CPU has it (checked at run time) and a scalar path otherwise.
 *
 * On error every output is left untouched and the index is unchanged.
 */
#ifndef OPENFAULT_BISECT_H
#define OPENFAULT_BISECT_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Stateless kernels
 * ------------------------------------------------------------------------------------------- */

/**
 * Three-way comparator for the generic kernels, called as `cmp(ctx, key, element)` (the order of
 * `bsearch`): negative when @p key sorts before @p element, 0 when equal, positive after.
 * It must define a consistent total preorder on the array's elements and must not modify them.
 */
typedef int (*of_cmp_fn)(void *ctx, const void *key, const void *element);

/**
 * Python `bisect.bisect_left(a[:count], x, lo, hi)` on a sorted `uint64_t` array.
 * @param a          ascending array of @p count elements; may be NULL only when @p count is 0.
 *                   Not kept.
 * @param count      number of elements in @p a
 * @param x          value to place
 * @param lo         first position searched
 * @param hi         one past the last position searched; `lo <= hi <= count`
 * @param out_index  receives the first position `i` in [lo, hi) with `a[i] >= x`, or @p hi
 * @return ::OF_OK; ::OF_ERR_INVALID when @p out_index is NULL, @p a is NULL with @p count > 0,
 *         or the bounds are not `lo <= hi <= count`
 * @note Thread-safety: safe: any thread, any time (reads @p a only).
 */
OF_API int of_bisect_left_u64(const uint64_t *a, size_t count, uint64_t x, size_t lo, size_t hi,
                              size_t *out_index);

/**
 * Python `bisect.bisect_right` on a sorted `uint64_t` array: the first position `i` in [lo, hi)
 * with `a[i] > x`, or @p hi. Parameters and return codes as of_bisect_left_u64().
 * @param a          ascending array; may be NULL only when @p count is 0
 * @param count      number of elements in @p a
 * @param x          value to place
 * @param lo         first position searched
 * @param hi         one past the last position searched; `lo <= hi <= count`
 * @param out_index  receives the position
 * @return ::OF_OK or ::OF_ERR_INVALID (see of_bisect_left_u64())
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_bisect_right_u64(const uint64_t *a, size_t count, uint64_t x, size_t lo, size_t hi,
                               size_t *out_index);

/**
 * Python `bisect.bisect_left` on a sorted `int64_t` array (signed order).
 * @param a          ascending array; may be NULL only when @p count is 0
 * @param count      number of elements in @p a
 * @param x          value to place
 * @param lo         first position searched
 * @param hi         one past the last position searched; `lo <= hi <= count`
 * @param out_index  receives the first position in [lo, hi) with `a[i] >= x`, or @p hi
 * @return ::OF_OK or ::OF_ERR_INVALID (see of_bisect_left_u64())
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_bisect_left_i64(const int64_t *a, size_t count, int64_t x, size_t lo, size_t hi,
                              size_t *out_index);

/**
 * Python `bisect.bisect_right` on a sorted `int64_t` array.
 * @param a          ascending array; may be NULL only when @p count is 0
 * @param count      number of elements in @p a
 * @param x          value to place
 * @param lo         first position searched
 * @param hi         one past the last position searched; `lo <= hi <= count`
 * @param out_index  receives the first position in [lo, hi) with `a[i] > x`, or @p hi
 * @return ::OF_OK or ::OF_ERR_INVALID (see of_bisect_left_u64())
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_bisect_right_i64(const int64_t *a, size_t count, int64_t x, size_t lo, size_t hi,
                               size_t *out_index);

/**
 * Python `bisect.bisect_left` on a sorted `double` array, in the order: -inf < ... < -0.0 ==
 * +0.0 < ... < +inf < NaN (all NaNs equal, whatever their sign or payload). An array is sorted
 * when its NaNs, if any, are all at the end.
 * @param a          ascending array; may be NULL only when @p count is 0
 * @param count      number of elements in @p a
 * @param x          value to place (NaN allowed: it lands before the first NaN)
 * @param lo         first position searched
 * @param hi         one past the last position searched; `lo <= hi <= count`
 * @param out_index  receives the first position in [lo, hi) with `a[i] >= x`, or @p hi
 * @return ::OF_OK or ::OF_ERR_INVALID (see of_bisect_left_u64())
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_bisect_left_f64(const double *a, size_t count, double x, size_t lo, size_t hi,
                              size_t *out_index);

/**
 * Python `bisect.bisect_right` on a sorted `double` array, ordered as in of_bisect_left_f64().
 * @param a          ascending array; may be NULL only when @p count is 0
 * @param count      number of elements in @p a
 * @param x          value to place (NaN lands after the last NaN)
 * @param lo         first position searched
 * @param hi         one past the last position searched; `lo <= hi <= count`
 * @param out_index  receives the first position in [lo, hi) with `a[i] > x`, or @p hi
 * @return ::OF_OK or ::OF_ERR_INVALID (see of_bisect_left_u64())
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_bisect_right_f64(const double *a, size_t count, double x, size_t lo, size_t hi,
                               size_t *out_index);

/**
 * Python `bisect.bisect_left` over any sorted array, through a comparator (an array of pointers
 * to byte strings, of structs, ...).
 * @param base       first element; may be NULL only when @p count is 0. Not kept.
 * @param count      number of elements
 * @param elem_size  size of one element in bytes, > 0
 * @param key        what to place, passed to @p cmp as given; not NULL
 * @param cmp        comparator, called as `cmp(ctx, key, element)`; not NULL
 * @param ctx        passed to @p cmp as given (may be NULL)
 * @param lo         first position searched
 * @param hi         one past the last position searched; `lo <= hi <= count`
 * @param out_index  receives the first position in [lo, hi) whose element is not before @p key
 *                   (`cmp(ctx, key, element) <= 0`), or @p hi
 * @return ::OF_OK; ::OF_ERR_INVALID on a NULL @p out_index, @p key or @p cmp, a NULL @p base
 *         with @p count > 0, @p elem_size 0, or bad bounds
 * @note Thread-safety: safe: any thread, any time, as far as @p cmp is.
 */
OF_API int of_bisect_left_cmp(const void *base, size_t count, size_t elem_size, const void *key,
                              of_cmp_fn cmp, void *ctx, size_t lo, size_t hi, size_t *out_index);

/**
 * Python `bisect.bisect_right` over any sorted array, through a comparator.
 * @param base       first element; may be NULL only when @p count is 0
 * @param count      number of elements
 * @param elem_size  size of one element in bytes, > 0
 * @param key        what to place; not NULL
 * @param cmp        comparator, called as `cmp(ctx, key, element)`; not NULL
 * @param ctx        passed to @p cmp as given
 * @param lo         first position searched
 * @param hi         one past the last position searched; `lo <= hi <= count`
 * @param out_index  receives the first position in [lo, hi) whose element sorts after @p key
 *                   (`cmp(ctx, key, element) < 0`), or @p hi
 * @return ::OF_OK or ::OF_ERR_INVALID (see of_bisect_left_cmp())
 * @note Thread-safety: safe: any thread, any time, as far as @p cmp is.
 */
OF_API int of_bisect_right_cmp(const void *base, size_t count, size_t elem_size, const void *key,
                               of_cmp_fn cmp, void *ctx, size_t lo, size_t hi, size_t *out_index);

/**
 * Python `bisect.insort_left`: insert @p x into a sorted caller array at
 * of_bisect_left_u64(a, *inout_count, x, lo, hi), shifting the tail up by one.
 * @param a            sorted array with room for @p capacity elements; may be NULL only when
 *                     @p capacity is 0
 * @param capacity     number of elements @p a can hold
 * @param inout_count  in: elements in use (<= @p capacity); out: one more on success
 * @param x            value to insert
 * @param lo           first position searched
 * @param hi           one past the last position searched; `lo <= hi <= *inout_count`
 * @param out_index    receives the position @p x was stored at; may be NULL
 * @return ::OF_OK; ::OF_ERR_NOSPACE when `*inout_count == capacity` (array full);
 *         ::OF_ERR_INVALID on NULL @p inout_count, NULL @p a with a capacity, count > capacity or
 *         bad bounds. On error the array and the count are unchanged.
 * @note Thread-safety: one thread at a time per array.
 */
OF_API int of_insort_left_u64(uint64_t *a, size_t capacity, size_t *inout_count, uint64_t x,
                              size_t lo, size_t hi, size_t *out_index);

/**
 * Python `bisect.insort_right` for `uint64_t` (after any equal elements).
 * @param a            sorted array with room for @p capacity elements
 * @param capacity     number of elements @p a can hold
 * @param inout_count  in: elements in use; out: one more on success
 * @param x            value to insert
 * @param lo           first position searched
 * @param hi           one past the last position searched; `lo <= hi <= *inout_count`
 * @param out_index    receives the position @p x was stored at; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOSPACE or ::OF_ERR_INVALID (see of_insort_left_u64())
 * @note Thread-safety: one thread at a time per array.
 */
OF_API int of_insort_right_u64(uint64_t *a, size_t capacity, size_t *inout_count, uint64_t x,
                               size_t lo, size_t hi, size_t *out_index);

/**
 * Python `bisect.insort_left` for `int64_t`.
 * @param a            sorted array with room for @p capacity elements
 * @param capacity     number of elements @p a can hold
 * @param inout_count  in: elements in use; out: one more on success
 * @param x            value to insert
 * @param lo           first position searched
 * @param hi           one past the last position searched; `lo <= hi <= *inout_count`
 * @param out_index    receives the position @p x was stored at; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOSPACE or ::OF_ERR_INVALID (see of_insort_left_u64())
 * @note Thread-safety: one thread at a time per array.
 */
OF_API int of_insort_left_i64(int64_t *a, size_t capacity, size_t *inout_count, int64_t x,
                              size_t lo, size_t hi, size_t *out_index);

/**
 * Python `bisect.insort_right` for `int64_t`.
 * @param a            sorted array with room for @p capacity elements
 * @param capacity     number of elements @p a can hold
 * @param inout_count  in: elements in use; out: one more on success
 * @param x            value to insert
 * @param lo           first position searched
 * @param hi           one past the last position searched; `lo <= hi <= *inout_count`
 * @param out_index    receives the position @p x was stored at; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOSPACE or ::OF_ERR_INVALID (see of_insort_left_u64())
 * @note Thread-safety: one thread at a time per array.
 */
OF_API int of_insort_right_i64(int64_t *a, size_t capacity, size_t *inout_count, int64_t x,
                               size_t lo, size_t hi, size_t *out_index);

/**
 * Python `bisect.insort_left` for `double`, ordered as in of_bisect_left_f64().
 * @param a            sorted array with room for @p capacity elements
 * @param capacity     number of elements @p a can hold
 * @param inout_count  in: elements in use; out: one more on success
 * @param x            value to insert (stored bit for bit, NaN payloads and -0.0 included)
 * @param lo           first position searched
 * @param hi           one past the last position searched; `lo <= hi <= *inout_count`
 * @param out_index    receives the position @p x was stored at; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOSPACE or ::OF_ERR_INVALID (see of_insort_left_u64())
 * @note Thread-safety: one thread at a time per array.
 */
OF_API int of_insort_left_f64(double *a, size_t capacity, size_t *inout_count, double x,
                              size_t lo, size_t hi, size_t *out_index);

/**
 * Python `bisect.insort_right` for `double`, ordered as in of_bisect_left_f64().
 * @param a            sorted array with room for @p capacity elements
 * @param capacity     number of elements @p a can hold
 * @param inout_count  in: elements in use; out: one more on success
 * @param x            value to insert (stored bit for bit)
 * @param lo           first position searched
 * @param hi           one past the last position searched; `lo <= hi <= *inout_count`
 * @param out_index    receives the position @p x was stored at; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOSPACE or ::OF_ERR_INVALID (see of_insort_left_u64())
 * @note Thread-safety: one thread at a time per array.
 */
OF_API int of_insort_right_f64(double *a, size_t capacity, size_t *inout_count, double x,
                               size_t lo, size_t hi, size_t *out_index);

/**
 * Python `bisect.insort_left` through a comparator: copies @p elem_size bytes from @p key into
 * the array at the position of_bisect_left_cmp() gives.
 * @param base         sorted array with room for @p capacity elements
 * @param capacity     number of elements @p base can hold
 * @param inout_count  in: elements in use; out: one more on success
 * @param elem_size    size of one element in bytes, > 0
 * @param key          the element to insert (@p elem_size bytes, must not overlap the array);
 *                     also the key passed to @p cmp
 * @param cmp          comparator, called as `cmp(ctx, key, element)`; not NULL
 * @param ctx          passed to @p cmp as given
 * @param lo           first position searched
 * @param hi           one past the last position searched; `lo <= hi <= *inout_count`
 * @param out_index    receives the position the element was stored at; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOSPACE when full, or ::OF_ERR_INVALID (also for a NULL @p key or
 *         @p cmp, or @p elem_size 0)
 * @note Thread-safety: one thread at a time per array.
 */
OF_API int of_insort_left_cmp(void *base, size_t capacity, size_t *inout_count, size_t elem_size,
                              const void *key, of_cmp_fn cmp, void *ctx, size_t lo, size_t hi,
                              size_t *out_index);

/**
 * Python `bisect.insort_right` through a comparator (after any equal elements).
 * @param base         sorted array with room for @p capacity elements
 * @param capacity     number of elements @p base can hold
 * @param inout_count  in: elements in use; out: one more on success
 * @param elem_size    size of one element in bytes, > 0
 * @param key          the element to insert (must not overlap the array); also the key for @p cmp
 * @param cmp          comparator, called as `cmp(ctx, key, element)`; not NULL
 * @param ctx          passed to @p cmp as given
 * @param lo           first position searched
 * @param hi           one past the last position searched; `lo <= hi <= *inout_count`
 * @param out_index    receives the position the element was stored at; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOSPACE or ::OF_ERR_INVALID (see of_insort_left_cmp())
 * @note Thread-safety: one thread at a time per array.
 */
OF_API int of_insort_right_cmp(void *base, size_t capacity, size_t *inout_count, size_t elem_size,
                               const void *key, of_cmp_fn cmp, void *ctx, size_t lo, size_t hi,
                               size_t *out_index);

/* ---------------------------------------------------------------------------------------------
 * The index
 * ------------------------------------------------------------------------------------------- */

/** Sorted `uint64_t` keys with `uint64_t` payloads.
 *  Thread-safety: safe for concurrent readers; writers (build, insert, remove, clear) need
 *  exclusive access. */
typedef struct of_index of_index;

/** An immutable, read-optimised copy of an ::of_index (of_index_freeze()).
 *  Thread-safety: safe: any thread, any time (except destroy). */
typedef struct of_index_frozen of_index_frozen;

/**
 * Called by of_index_iterate() / of_index_frozen_iterate() for each entry in key order.
 * Return 0 to go on, anything else to stop. It must not modify the index it is iterating.
 */
typedef int (*of_index_visit_fn)(void *ctx, uint64_t key, uint64_t payload);

/**
 * A position range walked by of_index_cursor_next() / of_index_frozen_cursor_next(). Filled by
 * the matching `_cursor_init`; the fields are the next position to return and the end of the
 * range, but treat them as private. A cursor owns nothing (no destroy). Modifying an ::of_index
 * invalidates its cursors: they stay memory-safe but may skip or repeat entries.
 */
typedef struct of_index_cursor {
    size_t next; /**< position of_index_cursor_next() returns next */
    size_t end;  /**< one past the last position of the range */
} of_index_cursor;

/**
 * Create an empty index.
 * @param capacity_hint  number of entries to reserve room for (0 for the default)
 * @param out_index      receives the index; free it with of_index_destroy(). Untouched on error.
 * @return ::OF_OK, ::OF_ERR_INVALID (NULL @p out_index) or ::OF_ERR_NOMEM
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_create(size_t capacity_hint, of_index **out_index);

/**
 * Destroy an index and free its memory. NULL is a harmless no-op. Cursors and frozen copies made
 * from it stay usable (a frozen copy shares nothing with it).
 * @param index  the index, or NULL
 * @note Thread-safety: one thread at a time, with no other call on @p index in progress.
 */
OF_API void of_index_destroy(of_index *index);

/**
 * Replace the whole content of @p index with @p count entries built from unsorted input, sorted
 * by key with a stable LSD radix sort (at most 8 linear passes; equal keys keep their input
 * order).
 * @param index     the index
 * @param keys      @p count keys in any order; may be NULL only when @p count is 0. Copied.
 * @param payloads  @p count payloads matching @p keys, or NULL to use each key's input position
 *                  as its payload (so the index doubles as an argsort). Copied.
 * @param count     number of entries
 * @return ::OF_OK; ::OF_ERR_INVALID on NULL @p index or NULL @p keys with @p count > 0;
 *         ::OF_ERR_NOMEM (the index keeps its old content)
 * @note Thread-safety: writer: needs exclusive access to @p index.
 */
OF_API int of_index_build(of_index *index, const uint64_t *keys, const uint64_t *payloads,
                          size_t count);

/**
 * Insert an entry before any entries with an equal key (position = lower bound of @p key).
 * @param index    the index
 * @param key      the key
 * @param payload  its payload
 * @param out_pos  receives the entry's position; may be NULL
 * @return ::OF_OK, ::OF_ERR_INVALID (NULL @p index) or ::OF_ERR_NOMEM (index unchanged)
 * @note Thread-safety: writer: needs exclusive access. O(n) (the tail moves up by one).
 */
OF_API int of_index_insert_left(of_index *index, uint64_t key, uint64_t payload, size_t *out_pos);

/**
 * Insert an entry after any entries with an equal key (position = upper bound of @p key), so
 * entries with equal keys stay in insertion order.
 * @param index    the index
 * @param key      the key
 * @param payload  its payload
 * @param out_pos  receives the entry's position; may be NULL
 * @return ::OF_OK, ::OF_ERR_INVALID (NULL @p index) or ::OF_ERR_NOMEM (index unchanged)
 * @note Thread-safety: writer: needs exclusive access. O(n).
 */
OF_API int of_index_insert_right(of_index *index, uint64_t key, uint64_t payload, size_t *out_pos);

/**
 * Remove the first (leftmost) entry with key @p key.
 * @param index        the index
 * @param key          the key
 * @param out_payload  receives the removed entry's payload; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOT_FOUND (no entry has @p key) or ::OF_ERR_INVALID (NULL @p index)
 * @note Thread-safety: writer: needs exclusive access. O(n).
 */
OF_API int of_index_remove_one(of_index *index, uint64_t key, uint64_t *out_payload);

/**
 * Remove every entry with key @p key.
 * @param index        the index
 * @param key          the key
 * @param out_removed  receives how many entries were removed (>= 1); may be NULL
 * @return ::OF_OK, ::OF_ERR_NOT_FOUND (no entry has @p key) or ::OF_ERR_INVALID (NULL @p index)
 * @note Thread-safety: writer: needs exclusive access. O(n).
 */
OF_API int of_index_remove_all(of_index *index, uint64_t key, size_t *out_removed);

/**
 * Remove the entry at position @p pos.
 * @param index        the index
 * @param pos          position, 0 .. size-1
 * @param out_key      receives the removed key; may be NULL
 * @param out_payload  receives the removed payload; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOT_FOUND (@p pos >= size) or ::OF_ERR_INVALID (NULL @p index)
 * @note Thread-safety: writer: needs exclusive access. O(n).
 */
OF_API int of_index_remove_at(of_index *index, size_t pos, uint64_t *out_key,
                              uint64_t *out_payload);

/**
 * Remove every entry (the memory is kept for reuse).
 * @param index  the index; NULL is a no-op
 * @note Thread-safety: writer: needs exclusive access.
 */
OF_API void of_index_clear(of_index *index);

/**
 * Number of entries.
 * @param index  the index (NULL counts as empty)
 * @return the number of entries
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API size_t of_index_size(const of_index *index);

/**
 * Position of the first entry whose key is >= @p key (the number of keys < @p key); size when
 * there is none.
 * @param index    the index
 * @param key      the key
 * @param out_pos  receives the position
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_lower_bound(const of_index *index, uint64_t key, size_t *out_pos);

/**
 * Position of the first entry whose key is > @p key (the number of keys <= @p key).
 * @param index    the index
 * @param key      the key
 * @param out_pos  receives the position
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_upper_bound(const of_index *index, uint64_t key, size_t *out_pos);

/**
 * Lower bound of many keys in one call; the searches are interleaved so their cache misses
 * overlap. Equivalent to of_index_lower_bound() on each key.
 * @param index          the index
 * @param keys           @p count keys in any order; may be NULL only when @p count is 0
 * @param count          number of keys
 * @param out_positions  receives @p count positions; may be NULL only when @p count is 0
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_lower_bound_batch(const of_index *index, const uint64_t *keys, size_t count,
                                      size_t *out_positions);

/**
 * The number of keys strictly less than @p key: the rank @p key would have (equal to the
 * lower-bound position, under the name order-statistics code uses).
 * @param index     the index
 * @param key       the key
 * @param out_rank  receives the rank
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_rank(const of_index *index, uint64_t key, size_t *out_rank);

/**
 * The entry at position @p pos (the @p pos-th smallest key, 0-based).
 * @param index        the index
 * @param pos          position, 0 .. size-1
 * @param out_key      receives the key; may be NULL
 * @param out_payload  receives the payload; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOT_FOUND (@p pos >= size) or ::OF_ERR_INVALID (NULL @p index)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_select(const of_index *index, size_t pos, uint64_t *out_key,
                           uint64_t *out_payload);

/**
 * The first (leftmost) entry whose key equals @p key.
 * @param index        the index
 * @param key          the key
 * @param out_pos      receives its position; may be NULL
 * @param out_payload  receives its payload; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOT_FOUND or ::OF_ERR_INVALID (NULL @p index)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_find(const of_index *index, uint64_t key, size_t *out_pos,
                         uint64_t *out_payload);

/**
 * The last entry whose key is <= @p key (of equal keys, the last one).
 * @param index        the index
 * @param key          the key
 * @param out_pos      receives its position; may be NULL
 * @param out_key      receives its key; may be NULL
 * @param out_payload  receives its payload; may be NULL
 * @return ::OF_OK; ::OF_ERR_EMPTY (the index is empty); ::OF_ERR_NOT_FOUND (every key is
 *         > @p key); ::OF_ERR_INVALID (NULL @p index)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_floor(const of_index *index, uint64_t key, size_t *out_pos, uint64_t *out_key,
                          uint64_t *out_payload);

/**
 * The first entry whose key is >= @p key (of equal keys, the first one).
 * @param index        the index
 * @param key          the key
 * @param out_pos      receives its position; may be NULL
 * @param out_key      receives its key; may be NULL
 * @param out_payload  receives its payload; may be NULL
 * @return ::OF_OK; ::OF_ERR_EMPTY (the index is empty); ::OF_ERR_NOT_FOUND (every key is
 *         < @p key); ::OF_ERR_INVALID (NULL @p index)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_ceiling(const of_index *index, uint64_t key, size_t *out_pos,
                            uint64_t *out_key, uint64_t *out_payload);

/**
 * The first entry whose key is >= @p key, or else the first entry of the index (the lookup of a
 * consistent-hash ring: keys on a circle).
 * @param index        the index
 * @param key          the key
 * @param out_pos      receives its position; may be NULL
 * @param out_key      receives its key; may be NULL
 * @param out_payload  receives its payload; may be NULL
 * @return ::OF_OK; ::OF_ERR_EMPTY (the index is empty); ::OF_ERR_INVALID (NULL @p index)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_ceiling_wrap(const of_index *index, uint64_t key, size_t *out_pos,
                                 uint64_t *out_key, uint64_t *out_payload);

/**
 * Number of entries with @p lo <= key < @p hi.
 * @param index      the index
 * @param lo         smallest key counted
 * @param hi         first key not counted; @p lo <= @p hi (equal gives 0)
 * @param out_count  receives the count
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument, or @p lo > @p hi)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_count_range(const of_index *index, uint64_t lo, uint64_t hi,
                                size_t *out_count);

/**
 * Call @p visit for each entry with @p lo <= key < @p hi, in key order, until it returns
 * non-zero.
 * @param index        the index
 * @param lo           smallest key visited
 * @param hi           first key not visited; @p lo <= @p hi
 * @param visit        the callback; it must not modify @p index
 * @param ctx          passed to @p visit as given
 * @param out_visited  receives how many calls were made (a stop counts); may be NULL
 * @return ::OF_OK (also when @p visit stopped early) or ::OF_ERR_INVALID (NULL @p index or
 *         @p visit, or @p lo > @p hi)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_iterate(const of_index *index, uint64_t lo, uint64_t hi,
                            of_index_visit_fn visit, void *ctx, size_t *out_visited);

/**
 * Set up @p out_cursor to walk the entries with @p lo <= key < @p hi.
 * @param index       the index
 * @param lo          smallest key returned
 * @param hi          first key not returned; @p lo <= @p hi
 * @param out_cursor  caller-owned cursor to fill
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument, or @p lo > @p hi)
 * @note Thread-safety: reader: safe concurrently with other readers.
 */
OF_API int of_index_cursor_init(const of_index *index, uint64_t lo, uint64_t hi,
                                of_index_cursor *out_cursor);

/**
 * Return the cursor's next entry and advance it.
 * @param index        the index the cursor was set up on
 * @param cursor       the cursor
 * @param out_pos      receives the entry's position; may be NULL
 * @param out_key      receives its key; may be NULL
 * @param out_payload  receives its payload; may be NULL
 * @return ::OF_OK; ::OF_ERR_NOT_FOUND at the end of the range (the cursor stays at the end);
 *         ::OF_ERR_INVALID (NULL @p index or @p cursor)
 * @note Thread-safety: reader on @p index; @p cursor one thread at a time.
 */
OF_API int of_index_cursor_next(const of_index *index, of_index_cursor *cursor, size_t *out_pos,
                                uint64_t *out_key, uint64_t *out_payload);

/**
 * Make an immutable read-optimised copy of @p index (O(n)); the copy shares nothing with it.
 * @param index       the index
 * @param out_frozen  receives the copy; free it with of_index_frozen_destroy(). Untouched on error.
 * @return ::OF_OK, ::OF_ERR_INVALID (NULL argument) or ::OF_ERR_NOMEM
 * @note Thread-safety: reader on @p index: safe concurrently with other readers.
 */
OF_API int of_index_freeze(const of_index *index, of_index_frozen **out_frozen);

/* ---------------------------------------------------------------------------------------------
 * The frozen index: the same queries, immutable, any number of concurrent readers
 * ------------------------------------------------------------------------------------------- */

/**
 * Destroy a frozen index. NULL is a harmless no-op.
 * @param frozen  the frozen index, or NULL
 * @note Thread-safety: one thread at a time, with no other call on @p frozen in progress.
 */
OF_API void of_index_frozen_destroy(of_index_frozen *frozen);

/**
 * Number of entries.
 * @param frozen  the frozen index (NULL counts as empty)
 * @return the number of entries
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API size_t of_index_frozen_size(const of_index_frozen *frozen);

/**
 * As of_index_lower_bound().
 * @param frozen   the frozen index
 * @param key      the key
 * @param out_pos  receives the position
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_lower_bound(const of_index_frozen *frozen, uint64_t key,
                                       size_t *out_pos);

/**
 * As of_index_upper_bound().
 * @param frozen   the frozen index
 * @param key      the key
 * @param out_pos  receives the position
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_upper_bound(const of_index_frozen *frozen, uint64_t key,
                                       size_t *out_pos);

/**
 * As of_index_lower_bound_batch(): many keys walk the tree in lockstep, so their cache misses
 * overlap (best with at least 16 keys per call).
 * @param frozen         the frozen index
 * @param keys           @p count keys in any order; may be NULL only when @p count is 0
 * @param count          number of keys
 * @param out_positions  receives @p count positions; may be NULL only when @p count is 0
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_lower_bound_batch(const of_index_frozen *frozen, const uint64_t *keys,
                                             size_t count, size_t *out_positions);

/**
 * As of_index_rank().
 * @param frozen    the frozen index
 * @param key       the key
 * @param out_rank  receives the number of keys < @p key
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_rank(const of_index_frozen *frozen, uint64_t key, size_t *out_rank);

/**
 * As of_index_select().
 * @param frozen       the frozen index
 * @param pos          position, 0 .. size-1
 * @param out_key      receives the key; may be NULL
 * @param out_payload  receives the payload; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOT_FOUND (@p pos >= size) or ::OF_ERR_INVALID (NULL @p frozen)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_select(const of_index_frozen *frozen, size_t pos, uint64_t *out_key,
                                  uint64_t *out_payload);

/**
 * As of_index_find().
 * @param frozen       the frozen index
 * @param key          the key
 * @param out_pos      receives its position; may be NULL
 * @param out_payload  receives its payload; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOT_FOUND or ::OF_ERR_INVALID (NULL @p frozen)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_find(const of_index_frozen *frozen, uint64_t key, size_t *out_pos,
                                uint64_t *out_payload);

/**
 * As of_index_floor().
 * @param frozen       the frozen index
 * @param key          the key
 * @param out_pos      receives its position; may be NULL
 * @param out_key      receives its key; may be NULL
 * @param out_payload  receives its payload; may be NULL
 * @return ::OF_OK, ::OF_ERR_EMPTY, ::OF_ERR_NOT_FOUND or ::OF_ERR_INVALID (NULL @p frozen)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_floor(const of_index_frozen *frozen, uint64_t key, size_t *out_pos,
                                 uint64_t *out_key, uint64_t *out_payload);

/**
 * As of_index_ceiling().
 * @param frozen       the frozen index
 * @param key          the key
 * @param out_pos      receives its position; may be NULL
 * @param out_key      receives its key; may be NULL
 * @param out_payload  receives its payload; may be NULL
 * @return ::OF_OK, ::OF_ERR_EMPTY, ::OF_ERR_NOT_FOUND or ::OF_ERR_INVALID (NULL @p frozen)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_ceiling(const of_index_frozen *frozen, uint64_t key, size_t *out_pos,
                                   uint64_t *out_key, uint64_t *out_payload);

/**
 * As of_index_ceiling_wrap().
 * @param frozen       the frozen index
 * @param key          the key
 * @param out_pos      receives its position; may be NULL
 * @param out_key      receives its key; may be NULL
 * @param out_payload  receives its payload; may be NULL
 * @return ::OF_OK, ::OF_ERR_EMPTY or ::OF_ERR_INVALID (NULL @p frozen)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_ceiling_wrap(const of_index_frozen *frozen, uint64_t key,
                                        size_t *out_pos, uint64_t *out_key, uint64_t *out_payload);

/**
 * As of_index_count_range().
 * @param frozen     the frozen index
 * @param lo         smallest key counted
 * @param hi         first key not counted; @p lo <= @p hi
 * @param out_count  receives the count
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument, or @p lo > @p hi)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_count_range(const of_index_frozen *frozen, uint64_t lo, uint64_t hi,
                                       size_t *out_count);

/**
 * As of_index_iterate().
 * @param frozen       the frozen index
 * @param lo           smallest key visited
 * @param hi           first key not visited; @p lo <= @p hi
 * @param visit        the callback
 * @param ctx          passed to @p visit as given
 * @param out_visited  receives how many calls were made; may be NULL
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL @p frozen or @p visit, or @p lo > @p hi)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_iterate(const of_index_frozen *frozen, uint64_t lo, uint64_t hi,
                                   of_index_visit_fn visit, void *ctx, size_t *out_visited);

/**
 * As of_index_cursor_init().
 * @param frozen      the frozen index
 * @param lo          smallest key returned
 * @param hi          first key not returned; @p lo <= @p hi
 * @param out_cursor  caller-owned cursor to fill
 * @return ::OF_OK or ::OF_ERR_INVALID (NULL argument, or @p lo > @p hi)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_index_frozen_cursor_init(const of_index_frozen *frozen, uint64_t lo, uint64_t hi,
                                       of_index_cursor *out_cursor);

/**
 * As of_index_cursor_next().
 * @param frozen       the frozen index the cursor was set up on
 * @param cursor       the cursor
 * @param out_pos      receives the entry's position; may be NULL
 * @param out_key      receives its key; may be NULL
 * @param out_payload  receives its payload; may be NULL
 * @return ::OF_OK, ::OF_ERR_NOT_FOUND at the end, or ::OF_ERR_INVALID (NULL argument)
 * @note Thread-safety: safe on @p frozen from any thread; @p cursor one thread at a time.
 */
OF_API int of_index_frozen_cursor_next(const of_index_frozen *frozen, of_index_cursor *cursor,
                                       size_t *out_pos, uint64_t *out_key, uint64_t *out_payload);

#ifdef __cplusplus
}
#endif

#endif /* OPENFAULT_BISECT_H */
