'use strict';
// bisectLeft/Right and insortLeft/Right against a JavaScript port of Python's bisect module,
// with the order docs/bisect.md gives doubles (-0.0 == +0.0, NaN equal to NaN and after +inf).
const test = require('node:test');
const assert = require('node:assert/strict');
const of = require('..');
const { rng, SEED } = require('./helpers');

// Python's Lib/bisect.py, with `<` passed in.
function pyBisectLeft(a, x, lo, hi, lt) {
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (lt(a[mid], x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
function pyBisectRight(a, x, lo, hi, lt) {
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (lt(x, a[mid])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
// JavaScript compares BigInt and Number mathematically, as Python compares int and float.
const ltInt = (p, q) => p < q;
const isNaNv = (v) => typeof v === 'number' && Number.isNaN(v);
const ltFloat = (p, q) => (isNaNv(p) ? false : isNaNv(q) ? true : p < q);

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function u64Value(r) {
  const c = r.int(10);
  if (c === 0) return 0n;
  if (c === 1) return U64_MAX;
  if (c < 6) return BigInt(r.int(40));
  return r.u64();
}
function i64Value(r) {
  const c = r.int(10);
  if (c === 0) return I64_MIN;
  if (c === 1) return I64_MAX;
  if (c < 6) return BigInt(r.int(40) - 20);
  return BigInt.asIntN(64, r.u64());
}
// 2^60 and its neighbouring doubles (2^60 - 128, 2^60 + 256): BigInt probes fall between them.
const SPECIAL = [-0, 0, Infinity, -Infinity, Number.MIN_VALUE, -Number.MIN_VALUE, 1e308, -1e308,
  2 ** 60, 2 ** 60 - 128, 2 ** 60 + 256];
function f64Value(r) {
  const c = r.int(10);
  if (c < 3) return r.pick(SPECIAL);
  if (c < 7) return (r.int(40) - 20) / 4;
  return (r.u32() - 2 ** 31) * 1e-3;
}
function sortedF64(vals) {
  // NaNs go last (that is what sorted means for the kernels); -0 and 0 are equal.
  return vals.sort((p, q) => (ltFloat(p, q) ? -1 : ltFloat(q, p) ? 1 : 0));
}

// Probe values: elements, neighbours, out-of-range ones, fractional Numbers, and each type's
// other numeric kind.
function probes(r, kind, arr) {
  const out = [];
  for (let i = 0; i < 12; i++) {
    if (arr.length && r.int(2)) out.push(arr[r.int(arr.length)]);
    else if (kind === 'u64') out.push(u64Value(r));
    else if (kind === 'i64') out.push(i64Value(r));
    else out.push(f64Value(r));
  }
  if (kind === 'f64') {
    out.push(NaN, -0, 0, Infinity, -Infinity, 3n, (1n << 60n) + 1n, (1n << 60n) - 1n, (1n << 60n) + 255n,
      (1n << 60n) - 100n, -(1n << 70n));
  } else {
    out.push(2.5, -0.5, 1e30, -1e30, Infinity, -Infinity, 7, -7, U64_MAX + 1n, I64_MIN - 1n);
    if (arr.length) out.push(Number(arr[0]) + 0.5);
  }
  return out;
}

const KINDS = {
  u64: { Ctor: BigUint64Array, value: u64Value, lt: ltInt, sort: (v) => v.sort((p, q) => (p < q ? -1 : p > q ? 1 : 0)) },
  i64: { Ctor: BigInt64Array, value: i64Value, lt: ltInt, sort: (v) => v.sort((p, q) => (p < q ? -1 : p > q ? 1 : 0)) },
  f64: { Ctor: Float64Array, value: f64Value, lt: ltFloat, sort: sortedF64 },
};

for (const [kind, K] of Object.entries(KINDS)) {
  test(`bisect on ${K.Ctor.name} equals Python's bisect (random arrays, lo/hi)`, () => {
    const r = rng(SEED + kind.length * 7 + kind.charCodeAt(0));
    let checked = 0;
    for (let round = 0; round < 300; round++) {
      const n = r.int(5) === 0 ? 0 : r.int(70);
      const vals = [];
      for (let i = 0; i < n; i++) vals.push(K.value(r));
      if (kind === 'f64' && r.int(3) === 0) for (let i = r.int(4); i > 0; i--) vals.push(NaN);
      K.sort(vals);
      const a = K.Ctor.from(vals);
      for (const x of probes(r, kind, vals)) {
        const lo = r.int(3) === 0 ? r.int(a.length + 1) : 0;
        const hi = r.int(3) === 0 ? lo + r.int(a.length - lo + 1) : a.length;
        const args = r.int(2) ? [lo, hi] : lo === 0 && hi === a.length ? [] : [lo, hi];
        const want = [pyBisectLeft(vals, x, lo, hi, K.lt), pyBisectRight(vals, x, lo, hi, K.lt)];
        const got = [of.bisectLeft(a, x, ...args), of.bisectRight(a, x, ...args)];
        assert.deepEqual(got, want, `${kind} n=${n} x=${String(x)} lo=${lo} hi=${hi} a=${vals.map(String)}`);
        checked++;
      }
    }
    assert.ok(checked > 5000);
  });

  test(`insort on ${K.Ctor.name} equals Python's insort, in place`, () => {
    const r = rng(SEED + 99 + kind.charCodeAt(1));
    for (let round = 0; round < 200; round++) {
      const cap = 1 + r.int(40);
      const vals = [];
      const backing = new K.Ctor(cap + 2); // a view with an offset: the kernel must use it
      const a = backing.subarray(1, cap + 1);
      let count = 0;
      while (count < cap) {
        let x = K.value(r);
        if (kind === 'f64' && isNaNv(x)) x = 0;
        const right = r.int(2) === 1;
        // Bounds that still bracket x's place, so the array stays sorted (on unsorted input
        // the answer of a binary search depends on its probe order, in Python as in C).
        const L = pyBisectLeft(vals, x, 0, count, K.lt);
        const R = pyBisectRight(vals, x, 0, count, K.lt);
        const lo = r.int(2) ? r.int(L + 1) : 0;
        const hi = r.int(2) ? R + r.int(count - R + 1) : count;
        const wantPos = right ? pyBisectRight(vals, x, lo, hi, K.lt) : pyBisectLeft(vals, x, lo, hi, K.lt);
        vals.splice(wantPos, 0, x);
        const pos = right ? of.insortRight(a, count, x, lo, hi) : of.insortLeft(a, count, x, lo, hi);
        count++;
        assert.equal(pos, wantPos);
        for (let i = 0; i < count; i++) {
          assert.ok(Object.is(a[i], vals[i]), `${kind} element ${i}: ${a[i]} != ${vals[i]} (bit for bit)`);
        }
      }
      assert.equal(backing[0], kind === 'f64' ? 0 : 0n, 'nothing written before the view');
      assert.equal(backing[cap + 1], kind === 'f64' ? 0 : 0n, 'nothing written after the view');
      const before = Array.from(a);
      assert.throws(() => of.insortLeft(a, count, vals[0]), (e) => e instanceof of.NoSpaceError && e.code === 'OF_ERR_NOSPACE');
      assert.deepEqual(Array.from(a), before, 'a full array is left alone');
    }
  });
}

test('bisect works on the caller\'s memory (a subarray view, no copy)', () => {
  const big = new BigUint64Array([100n, 1n, 2n, 3n, 5n, 0n]);
  const view = big.subarray(1, 5);
  assert.equal(of.bisectLeft(view, 3n), 2);
  assert.equal(of.bisectRight(view, 100n), 4);
  assert.equal(of.bisectLeft(new Float64Array([-0, 0, 0, 1]), 0), 0, '-0.0 equals +0.0');
  assert.equal(of.bisectRight(new Float64Array([-0, 0, 0, 1]), -0), 3);
  assert.equal(of.bisectLeft(new Float64Array([1, Infinity, NaN, NaN]), NaN), 2, 'NaN sorts after +inf');
  assert.equal(of.bisectRight(new Float64Array([1, Infinity, NaN, NaN]), NaN), 4);
  assert.equal(of.bisect, of.bisectRight);
  assert.equal(of.insort, of.insortRight);
});

test('bisect misuse is an InvalidError and changes nothing', () => {
  const a = new BigInt64Array([1n, 2n, 3n]);
  const isInvalid = (e) => e instanceof of.InvalidError && e instanceof of.OpenfaultError && e.code === 'OF_ERR_INVALID' && e.status === -1;
  assert.throws(() => of.bisectLeft([1, 2, 3], 2), isInvalid, 'a plain Array');
  assert.throws(() => of.bisectLeft(new Int32Array(3), 2), isInvalid, 'an unsupported typed array');
  assert.throws(() => of.bisectLeft(a, 2n, -1), isInvalid, 'negative lo');
  assert.throws(() => of.bisectLeft(a, 2n, 2, 1), isInvalid, 'lo > hi');
  assert.throws(() => of.bisectLeft(a, 2n, 0, 4), isInvalid, 'hi > length');
  assert.throws(() => of.bisectLeft(a, 2n, 0.5), isInvalid, 'fractional lo');
  assert.throws(() => of.bisectLeft(a, '2'), isInvalid, 'a string');
  assert.throws(() => of.bisectLeft(a, NaN), isInvalid, 'NaN does not compare with integers');
  assert.throws(() => of.bisectLeft(new Float64Array(2), {}), isInvalid);
  assert.throws(() => of.insortLeft(a, 4, 1n), isInvalid, 'count above the capacity');
  assert.throws(() => of.insortLeft(new BigUint64Array(4), 0, -1n), isInvalid, 'a value the array cannot hold');
  assert.throws(() => of.insortLeft(new BigUint64Array(4), 0, 1.5), isInvalid);
  assert.throws(() => of.insortLeft(new BigUint64Array(4), 1, 1n, 0, 2), isInvalid, 'hi > count');
  assert.deepEqual(Array.from(a), [1n, 2n, 3n]);
});
