'use strict';
// Python-bisect kernels over typed arrays (searched in place: koffi hands C the array's own
// memory, no copy), and Index / FrozenIndex over of_index / of_index_frozen.

const { koffi, lib, check, invalid, describe, u64, size, U64_MAX, I64_MIN, I64_MAX, STATUS } =
  require('./native');

// ---------------------------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------------------------
const K = {};
for (const [t, ct] of [['u64', 'uint64_t'], ['i64', 'int64_t'], ['f64', 'double']]) {
  K[t] = {
    left: lib.func(`int of_bisect_left_${t}(const ${ct} *a, size_t count, ${ct} x, size_t lo, size_t hi, _Out_ size_t *out)`),
    right: lib.func(`int of_bisect_right_${t}(const ${ct} *a, size_t count, ${ct} x, size_t lo, size_t hi, _Out_ size_t *out)`),
    insLeft: lib.func(`int of_insort_left_${t}(${ct} *a, size_t capacity, _Inout_ size_t *count, ${ct} x, size_t lo, size_t hi, _Out_ size_t *out)`),
    insRight: lib.func(`int of_insort_right_${t}(${ct} *a, size_t capacity, _Inout_ size_t *count, ${ct} x, size_t lo, size_t hi, _Out_ size_t *out)`),
  };
}

function kind(a) {
  if (a instanceof BigUint64Array) return 'u64';
  if (a instanceof BigInt64Array) return 'i64';
  if (a instanceof Float64Array) return 'f64';
  return null;
}

/**
 * The search value for the C kernel of kind @p k, or a position answer when every element
 * compares the same way to @p x: {x} to search, {lo: true} (all elements are greater) or
 * {hi: true} (all are smaller). @p right: the search is bisect_right. Values are compared
 * mathematically, as Python compares an int or float with an array element.
 */
function searchValue(k, x, right) {
  if (k === 'f64') {
    if (typeof x === 'number') return { x };
    if (typeof x === 'bigint') {
      const d = Number(x); // nearest double; no double lies strictly between x and d
      const bd = BigInt(d);
      if (bd === x) return { x: d };
      // d > x: "a[i] >= x" and "a[i] > x" both mean a[i] >= d (bisect_left of d).
      // d < x: both mean a[i] > d (bisect_right of d).
      return { x: d, side: bd > x ? 'left' : 'right' };
    }
    throw invalid(`x must be a Number or a BigInt for a Float64Array, got ${describe(x)}`);
  }
  const [min, max] = k === 'u64' ? [0n, U64_MAX] : [I64_MIN, I64_MAX];
  let v;
  if (typeof x === 'bigint') {
    v = x;
  } else if (typeof x === 'number') {
    if (Number.isNaN(x)) throw invalid('x is NaN: it does not compare with integers');
    if (x === Infinity) return { hi: true };
    if (x === -Infinity) return { lo: true };
    // a[i] >= 2.5 means a[i] >= 3; a[i] > 2.5 means a[i] > 2.
    v = BigInt(right ? Math.floor(x) : Math.ceil(x));
  } else {
    throw invalid(`x must be a BigInt or a Number for a ${k === 'u64' ? 'BigUint64Array' : 'BigInt64Array'}, got ${describe(x)}`);
  }
  if (v < min) return { lo: true };
  if (v > max) return { hi: true };
  return { x: v };
}

function bounds(a, lo, hi) {
  const l = size(lo === undefined || lo === null ? 0 : lo, 'lo');
  const h = size(hi === undefined || hi === null ? a.length : hi, 'hi');
  if (!(l <= h && h <= a.length)) {
    throw invalid(`bounds must satisfy 0 <= lo <= hi <= length (lo ${l}, hi ${h}, length ${a.length})`);
  }
  return [l, h];
}

function bisect(a, x, lo, hi, right) {
  if (a instanceof Index || a instanceof FrozenIndex) return a._bisect(x, lo, hi, right);
  const k = kind(a);
  if (!k) {
    throw invalid(`bisect needs a BigUint64Array, BigInt64Array, Float64Array or Index, got ${describe(a)}`);
  }
  const [l, h] = bounds(a, lo, hi);
  const s = searchValue(k, x, right);
  if (s.lo) return l;
  if (s.hi) return h;
  const side = s.side || (right ? 'right' : 'left');
  const out = [0];
  check(K[k][side](a, a.length, s.x, l, h, out), `of_bisect_${side}_${k}`);
  return out[0];
}

/** Python's bisect.bisect_left(a, x, lo, hi): the first position i in [lo, hi) with
 *  a[i] >= x, else hi. */
function bisectLeft(a, x, lo, hi) {
  return bisect(a, x, lo, hi, false);
}

/** Python's bisect.bisect_right(a, x, lo, hi): the first position i in [lo, hi) with
 *  a[i] > x, else hi. */
function bisectRight(a, x, lo, hi) {
  return bisect(a, x, lo, hi, true);
}

/** The value @p x as stored in an array of kind @p k (must be exactly representable). */
function storedValue(k, x) {
  if (k === 'f64') {
    if (typeof x === 'number') return x;
    if (typeof x === 'bigint' && BigInt(Number(x)) === x) return Number(x);
    throw invalid(`x must be a Number (or a BigInt a double holds exactly), got ${describe(x)}`);
  }
  let v = x;
  if (typeof v === 'number' && Number.isSafeInteger(v)) v = BigInt(v);
  const [min, max] = k === 'u64' ? [0n, U64_MAX] : [I64_MIN, I64_MAX];
  if (typeof v !== 'bigint' || v < min || v > max) {
    throw invalid(`x must be an integer in ${min}..${max}, got ${typeof x === 'object' ? describe(x) : String(x)}`);
  }
  return v;
}

function insort(a, count, x, lo, hi, right) {
  const k = kind(a);
  if (!k) throw invalid(`insort needs a BigUint64Array, BigInt64Array or Float64Array, got ${describe(a)}`);
  const n = size(count, 'count');
  if (n > a.length) throw invalid(`count ${n} is larger than the array (${a.length})`);
  const l = size(lo === undefined || lo === null ? 0 : lo, 'lo');
  const h = size(hi === undefined || hi === null ? n : hi, 'hi');
  const v = storedValue(k, x);
  const inout = [n];
  const out = [0];
  const fn = right ? K[k].insRight : K[k].insLeft;
  check(fn(a, a.length, inout, v, l, h, out), `of_insort_${right ? 'right' : 'left'}_${k}`);
  return out[0];
}

/** Python's bisect.insort_left on a typed array holding @p count sorted elements and room for
 *  more: inserts @p x at bisectLeft(a.subarray(0, count), x, lo, hi), shifting the tail, and
 *  returns that position (the array now holds count + 1 elements). NoSpaceError when full. */
function insortLeft(a, count, x, lo, hi) {
  return insort(a, count, x, lo, hi, false);
}

/** As insortLeft, after any equal elements. */
function insortRight(a, count, x, lo, hi) {
  return insort(a, count, x, lo, hi, true);
}

// ---------------------------------------------------------------------------------------------
// Index and FrozenIndex
// ---------------------------------------------------------------------------------------------
const ofIndex = koffi.opaque('of_index');
const ofFrozen = koffi.opaque('of_index_frozen');
void ofIndex; void ofFrozen;

const IX = {
  create: lib.func('int of_index_create(size_t hint, _Out_ of_index **out)'),
  destroy: lib.func('void of_index_destroy(of_index *ix)'),
  build: lib.func('int of_index_build(of_index *ix, const uint64_t *keys, const uint64_t *payloads, size_t count)'),
  insertLeft: lib.func('int of_index_insert_left(of_index *ix, uint64_t key, uint64_t payload, _Out_ size_t *pos)'),
  insertRight: lib.func('int of_index_insert_right(of_index *ix, uint64_t key, uint64_t payload, _Out_ size_t *pos)'),
  removeOne: lib.func('int of_index_remove_one(of_index *ix, uint64_t key, _Out_ uint64_t *payload)'),
  removeAll: lib.func('int of_index_remove_all(of_index *ix, uint64_t key, _Out_ size_t *removed)'),
  removeAt: lib.func('int of_index_remove_at(of_index *ix, size_t pos, _Out_ uint64_t *key, _Out_ uint64_t *payload)'),
  clear: lib.func('void of_index_clear(of_index *ix)'),
  freeze: lib.func('int of_index_freeze(const of_index *ix, _Out_ of_index_frozen **out)'),
  frozenDestroy: lib.func('void of_index_frozen_destroy(of_index_frozen *fz)'),
};
const Q = {};
for (const [pre, t] of [['of_index', 'of_index'], ['of_index_frozen', 'of_index_frozen']]) {
  Q[pre] = {
    size: lib.func(`size_t ${pre}_size(const ${t} *ix)`),
    lowerBound: lib.func(`int ${pre}_lower_bound(const ${t} *ix, uint64_t key, _Out_ size_t *pos)`),
    upperBound: lib.func(`int ${pre}_upper_bound(const ${t} *ix, uint64_t key, _Out_ size_t *pos)`),
    rank: lib.func(`int ${pre}_rank(const ${t} *ix, uint64_t key, _Out_ size_t *rank)`),
    batch: lib.func(`int ${pre}_lower_bound_batch(const ${t} *ix, const uint64_t *keys, size_t count, size_t *out)`),
    select: lib.func(`int ${pre}_select(const ${t} *ix, size_t pos, _Out_ uint64_t *key, _Out_ uint64_t *payload)`),
    find: lib.func(`int ${pre}_find(const ${t} *ix, uint64_t key, _Out_ size_t *pos, _Out_ uint64_t *payload)`),
    floor: lib.func(`int ${pre}_floor(const ${t} *ix, uint64_t key, _Out_ size_t *pos, _Out_ uint64_t *k, _Out_ uint64_t *p)`),
    ceiling: lib.func(`int ${pre}_ceiling(const ${t} *ix, uint64_t key, _Out_ size_t *pos, _Out_ uint64_t *k, _Out_ uint64_t *p)`),
    ceilingWrap: lib.func(`int ${pre}_ceiling_wrap(const ${t} *ix, uint64_t key, _Out_ size_t *pos, _Out_ uint64_t *k, _Out_ uint64_t *p)`),
    countRange: lib.func(`int ${pre}_count_range(const ${t} *ix, uint64_t lo, uint64_t hi, _Out_ size_t *count)`),
  };
}

const FROZEN = Symbol('openfault.FrozenIndex');
const indexFinalizer = new FinalizationRegistry((h) => IX.destroy(h));
const frozenFinalizer = new FinalizationRegistry((h) => IX.frozenDestroy(h));

/** uint64 keys as a BigUint64Array: used in place when it already is one, else copied once
 *  with every value range-checked. */
function u64Array(values, what) {
  if (values instanceof BigUint64Array) return values;
  if (values === null || values === undefined || typeof values[Symbol.iterator] !== 'function') {
    throw invalid(`${what} must be a BigUint64Array or an iterable of integers`);
  }
  const list = Array.from(values, (v) => u64(v, what));
  return BigUint64Array.from(list);
}

class IndexBase {
  _handle() {
    if (!this._h) throw invalid(`operation on a closed ${this.constructor.name}`);
    return this._h;
  }

  /** Number of entries. */
  get size() {
    return this._q.size(this._handle());
  }

  get length() {
    return this.size;
  }

  _pos(fn, name, key) {
    const out = [0];
    check(fn(this._handle(), u64(key, 'key'), out), name);
    return out[0];
  }

  /** Position of the first entry with a key >= @p key (size if none). */
  lowerBound(key) {
    return this._pos(this._q.lowerBound, 'lower_bound', key);
  }

  /** Position of the first entry with a key > @p key (size if none). */
  upperBound(key) {
    return this._pos(this._q.upperBound, 'upper_bound', key);
  }

  /** Number of keys < @p key. */
  rank(key) {
    return this._pos(this._q.rank, 'rank', key);
  }

  /** lowerBound of many keys in one call (their cache misses overlap): an Array of positions. */
  lowerBoundBatch(keys) {
    const k = u64Array(keys, 'keys');
    const out = new BigUint64Array(k.length); // size_t is 64 bits on every supported platform
    check(this._q.batch(this._handle(), k, k.length, out), 'lower_bound_batch');
    return Array.from(out, Number);
  }

  /** {key, payload} (BigInts) at position @p pos; NotFoundError out of range. */
  select(pos) {
    const k = [0n];
    const p = [0n];
    check(this._q.select(this._handle(), size(pos, 'pos'), k, p), 'select');
    return { key: BigInt(k[0]), payload: BigInt(p[0]) };
  }

  /** {pos, payload} of the first entry with @p key, or null. */
  find(key) {
    const pos = [0];
    const p = [0n];
    const rc = this._q.find(this._handle(), u64(key, 'key'), pos, p);
    if (rc === STATUS.NOT_FOUND) return null;
    check(rc, 'find');
    return { pos: pos[0], payload: BigInt(p[0]) };
  }

  _neighbour(fn, name, key) {
    const pos = [0];
    const k = [0n];
    const p = [0n];
    const rc = fn(this._handle(), u64(key, 'key'), pos, k, p);
    if (rc === STATUS.NOT_FOUND || rc === STATUS.EMPTY) return null;
    check(rc, name);
    return { pos: pos[0], key: BigInt(k[0]), payload: BigInt(p[0]) };
  }

  /** {pos, key, payload} of the last entry with a key <= @p key, or null. */
  floor(key) {
    return this._neighbour(this._q.floor, 'floor', key);
  }

  /** {pos, key, payload} of the first entry with a key >= @p key, or null. */
  ceiling(key) {
    return this._neighbour(this._q.ceiling, 'ceiling', key);
  }

  /** {pos, key, payload} of the first entry with a key >= @p key, else the first entry
   *  (keys on a circle, as a ring lookup); null when the index is empty. */
  ceilingWrap(key) {
    return this._neighbour(this._q.ceilingWrap, 'ceiling_wrap', key);
  }

  /** Number of entries with lo <= key < hi. */
  countRange(lo, hi) {
    const out = [0];
    check(this._q.countRange(this._handle(), u64(lo, 'lo'), u64(hi, 'hi'), out), 'count_range');
    return out[0];
  }

  /** The keys (BigInts) in order. */
  keys() {
    const n = this.size;
    const out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.select(i).key;
    return out;
  }

  * [Symbol.iterator]() {
    const n = this.size;
    for (let i = 0; i < n; i++) yield this.select(i);
  }

  /** Python-bisect answer restricted to [lo, hi): the bound clamped into the range. */
  _bisect(x, lo, hi, right) {
    const n = this.size;
    const l = size(lo === undefined || lo === null ? 0 : lo, 'lo');
    const h = size(hi === undefined || hi === null ? n : hi, 'hi');
    if (!(l <= h && h <= n)) {
      throw invalid(`bounds must satisfy 0 <= lo <= hi <= size (lo ${l}, hi ${h}, size ${n})`);
    }
    const s = searchValue('u64', x, right);
    if (s.lo) return l;
    if (s.hi) return h;
    const p = right ? this.upperBound(s.x) : this.lowerBound(s.x);
    return Math.min(Math.max(p, l), h);
  }
}

/** Sorted uint64 keys, each with a uint64 payload; duplicates kept in a stable order.
 *  Keys and payloads go in as BigInts or safe-integer Numbers and come out as BigInts. */
class Index extends IndexBase {
  /** new Index() or new Index(keys, payloads = null): see build(). */
  constructor(keys = undefined, payloads = null) {
    super();
    this._q = Q.of_index;
    const out = [null];
    check(IX.create(0, out), 'of_index_create');
    this._h = out[0];
    indexFinalizer.register(this, this._h, this);
    if (keys !== undefined && keys !== null) this.build(keys, payloads);
  }

  /** Replace the content with @p keys (any order; stable sort) and @p payloads (same length),
   *  or payload = input position when @p payloads is null (an argsort). */
  build(keys, payloads = null) {
    const k = u64Array(keys, 'keys');
    let p = null;
    if (payloads !== null && payloads !== undefined) {
      p = u64Array(payloads, 'payloads');
      if (p.length !== k.length) {
        throw invalid(`payloads has ${p.length} values for ${k.length} keys`);
      }
    }
    check(IX.build(this._handle(), k.length ? k : null, p && p.length ? p : null, k.length),
          'of_index_build');
    return this;
  }

  /** Insert before equal keys; returns the position. */
  insertLeft(key, payload = 0n) {
    const pos = [0];
    check(IX.insertLeft(this._handle(), u64(key, 'key'), u64(payload, 'payload'), pos),
          'of_index_insert_left');
    return pos[0];
  }

  /** Insert after equal keys (insertion order kept); returns the position. */
  insertRight(key, payload = 0n) {
    const pos = [0];
    check(IX.insertRight(this._handle(), u64(key, 'key'), u64(payload, 'payload'), pos),
          'of_index_insert_right');
    return pos[0];
  }

  /** insertRight. */
  insert(key, payload = 0n) {
    return this.insertRight(key, payload);
  }

  /** Remove the first entry with @p key and return its payload; NotFoundError if none. */
  remove(key) {
    const p = [0n];
    check(IX.removeOne(this._handle(), u64(key, 'key'), p), 'of_index_remove_one');
    return BigInt(p[0]);
  }

  /** Remove every entry with @p key; returns how many (0 if none). */
  removeAll(key) {
    const n = [0];
    const rc = IX.removeAll(this._handle(), u64(key, 'key'), n);
    if (rc === STATUS.NOT_FOUND) return 0;
    check(rc, 'of_index_remove_all');
    return n[0];
  }

  /** Remove the entry at @p pos; returns {key, payload}. NotFoundError out of range. */
  removeAt(pos) {
    const k = [0n];
    const p = [0n];
    check(IX.removeAt(this._handle(), size(pos, 'pos'), k, p), 'of_index_remove_at');
    return { key: BigInt(k[0]), payload: BigInt(p[0]) };
  }

  /** Remove every entry. */
  clear() {
    IX.clear(this._handle());
  }

  /** An immutable, read-optimised copy answering every query as this index does now. */
  freeze() {
    const out = [null];
    check(IX.freeze(this._handle(), out), 'of_index_freeze');
    return new FrozenIndex(FROZEN, out[0]);
  }

  /** Free the C index now (also done when garbage-collected). */
  close() {
    const h = this._h;
    this._h = null;
    if (h) {
      indexFinalizer.unregister(this);
      IX.destroy(h);
    }
  }
}

/** The read-only result of Index.freeze(): the same queries, faster. */
class FrozenIndex extends IndexBase {
  constructor(token, handle) {
    super();
    if (token !== FROZEN) throw invalid('a FrozenIndex comes from Index.freeze()');
    this._q = Q.of_index_frozen;
    this._h = handle;
    frozenFinalizer.register(this, this._h, this);
  }

  close() {
    const h = this._h;
    this._h = null;
    if (h) {
      frozenFinalizer.unregister(this);
      IX.frozenDestroy(h);
    }
  }
}

module.exports = {
  bisectLeft, bisectRight, bisect: bisectRight, insortLeft, insortRight, insort: insortRight,
  Index, FrozenIndex,
};
