'use strict';
// Index and FrozenIndex against a plain sorted array of {key, payload} (stable for equal keys).
const test = require('node:test');
const assert = require('node:assert/strict');
const of = require('..');
const { rng, SEED } = require('./helpers');

const U64_MAX = (1n << 64n) - 1n;

class Model {
  constructor() { this.e = []; }
  lower(k) { let i = 0; while (i < this.e.length && this.e[i].key < k) i++; return i; }
  upper(k) { let i = 0; while (i < this.e.length && this.e[i].key <= k) i++; return i; }
  insertLeft(key, payload) { const p = this.lower(key); this.e.splice(p, 0, { key, payload }); return p; }
  insertRight(key, payload) { const p = this.upper(key); this.e.splice(p, 0, { key, payload }); return p; }
  remove(key) { const p = this.lower(key); if (p < this.e.length && this.e[p].key === key) return this.e.splice(p, 1)[0].payload; return null; }
  ceilingWrap(key) {
    if (!this.e.length) return null;
    const p = this.lower(key) % this.e.length;
    return { pos: p, ...this.e[p] };
  }
}

function keyOf(r) {
  const c = r.int(12);
  if (c === 0) return 0n;
  if (c === 1) return U64_MAX;
  if (c === 2) return r.u64();
  return BigInt(r.int(60));
}

function compare(ix, m, r, what) {
  assert.equal(ix.size, m.e.length, `${what}: size`);
  for (let t = 0; t < 25; t++) {
    const k = keyOf(r);
    const lb = m.lower(k);
    assert.equal(ix.lowerBound(k), lb, `${what}: lowerBound(${k})`);
    assert.equal(ix.rank(k), lb, `${what}: rank(${k})`);
    assert.equal(ix.upperBound(k), m.upper(k), `${what}: upperBound(${k})`);
    assert.deepEqual(ix.ceilingWrap(k), m.ceilingWrap(k), `${what}: ceilingWrap(${k})`);
    const found = lb < m.e.length && m.e[lb].key === k ? { pos: lb, payload: m.e[lb].payload } : null;
    assert.deepEqual(ix.find(k), found, `${what}: find(${k})`);
    assert.equal(of.bisectLeft(ix, k), lb, `${what}: bisectLeft on an index`);
    assert.equal(of.bisectRight(ix, k), m.upper(k), `${what}: bisectRight on an index`);
  }
  if (m.e.length) {
    const p = r.int(m.e.length);
    assert.deepEqual(ix.select(p), m.e[p], `${what}: select(${p})`);
  }
  assert.throws(() => ix.select(m.e.length), of.NotFoundError, `${what}: select past the end`);
}

test('Index operations equal a plain sorted array; FrozenIndex answers as the index did', () => {
  const r = rng(SEED + 5);
  const ix = new of.Index();
  const m = new Model();
  for (let step = 0; step < 600; step++) {
    const op = r.int(10);
    const key = keyOf(r);
    const payload = BigInt(step);
    if (op < 4) {
      assert.equal(ix.insertRight(key, payload), m.insertRight(key, payload));
    } else if (op < 7) {
      assert.equal(ix.insertLeft(key, step), m.insertLeft(key, payload), 'a Number payload is accepted');
    } else if (op < 9) {
      const want = m.remove(key);
      if (want === null) assert.throws(() => ix.remove(key), (e) => e instanceof of.NotFoundError && e.code === 'OF_ERR_NOT_FOUND');
      else assert.equal(ix.remove(key), want);
    } else if (m.e.length) {
      const p = r.int(m.e.length);
      assert.deepEqual(ix.removeAt(p), m.e.splice(p, 1)[0]);
    }
    if (step % 20 === 0) {
      compare(ix, m, r, `step ${step}`);
      const fz = ix.freeze();
      compare(fz, m, r, `frozen at step ${step}`);
      ix.insertRight(1n, 1n); // the frozen copy does not follow the index
      m.insertRight(1n, 1n);
      assert.equal(fz.size, m.e.length - 1);
      fz.close();
    }
  }
  assert.deepEqual([...ix], m.e, 'iteration gives the entries in order');
  assert.deepEqual(Array.from(ix.keys()), m.e.map((e) => e.key));
  ix.clear();
  assert.equal(ix.size, 0);
  assert.equal(ix.ceilingWrap(5n), null);
  assert.equal(ix.floor(5n), null);
  ix.close();
  assert.throws(() => ix.size, of.InvalidError);
});

test('Index.build is a stable sort; floor, ceiling, counts, batch, bisect bounds', () => {
  const r = rng(SEED + 6);
  const keys = Array.from({ length: 500 }, () => keyOf(r));
  const ix = new of.Index(keys); // payloads: input positions (an argsort)
  const order = keys.map((key, i) => ({ key, payload: BigInt(i) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : Number(a.payload - b.payload)));
  assert.deepEqual([...ix], order);
  const m = new Model();
  m.e = order;
  const fz = ix.freeze();
  for (const q of [ix, fz]) {
    for (let t = 0; t < 200; t++) {
      const k = keyOf(r);
      const lb = m.lower(k);
      const ub = m.upper(k);
      assert.deepEqual(q.ceiling(k), lb < m.e.length ? { pos: lb, ...m.e[lb] } : null);
      assert.deepEqual(q.floor(k), ub > 0 ? { pos: ub - 1, ...m.e[ub - 1] } : null);
      const k2 = k + BigInt(r.int(30));
      if (k2 <= U64_MAX) assert.equal(q.countRange(k, k2), m.lower(k2) - lb);
      const lo = r.int(m.e.length + 1);
      const hi = lo + r.int(m.e.length - lo + 1);
      assert.equal(of.bisectLeft(q, k, lo, hi), Math.min(Math.max(lb, lo), hi));
      assert.equal(of.bisectRight(q, k, lo, hi), Math.min(Math.max(ub, lo), hi));
    }
    const probe = BigUint64Array.from({ length: 40 }, () => keyOf(r));
    assert.deepEqual(q.lowerBoundBatch(probe), Array.from(probe, (k) => m.lower(k)));
    assert.deepEqual(q.lowerBoundBatch(Array.from(probe)), Array.from(probe, (k) => m.lower(k)));
  }
  ix.build(new BigUint64Array([9n, 3n]), [1, 2]);
  assert.deepEqual([...ix], [{ key: 3n, payload: 2n }, { key: 9n, payload: 1n }]);
  assert.equal(ix.removeAll(3n), 1);
  assert.equal(ix.removeAll(3n), 0);
  ix.build([]);
  assert.equal(ix.size, 0);
  assert.equal(fz.size, 500, 'a frozen index shares nothing with its index');
  fz.close();
  ix.close();
});

test('Index misuse is an InvalidError', () => {
  const ix = new of.Index();
  const isInvalid = (e) => e instanceof of.InvalidError && e.code === 'OF_ERR_INVALID';
  assert.throws(() => ix.insert(-1n), isInvalid);
  assert.throws(() => ix.insert(1n << 64n), isInvalid);
  assert.throws(() => ix.insert(2 ** 60), isInvalid, 'a Number beyond 2^53 is not exact');
  assert.throws(() => ix.insert('1'), isInvalid);
  assert.throws(() => ix.build([1n, 2n], [1n]), isInvalid, 'payloads of another length');
  assert.throws(() => ix.countRange(5n, 4n), isInvalid, 'lo > hi (checked by C)');
  assert.throws(() => new of.FrozenIndex(), isInvalid);
  assert.equal(ix.size, 0);
  ix.close();
});
