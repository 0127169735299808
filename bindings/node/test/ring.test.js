'use strict';
// Ring routes must equal the Python binding's (the same C ring through another FFI) for the same
// options, nodes, weights, changes and pins, and the JavaScript side must hand back its nodes.
const test = require('node:test');
const assert = require('node:assert/strict');
const of = require('..');
const { rng, SEED, python } = require('./helpers');

// Applies a scenario (JSON) to a ring and reports every key's owner and preference list as
// node indexes, plus the fingerprint and generation.
const PY = `
import json, sys, openfault
sc = json.load(sys.stdin)
def val(v):
    return bytes.fromhex(v["hex"]) if "hex" in v else v["s"]
nodes = [val(n) for n in sc["nodes"]]
index = {n: i for i, n in enumerate(nodes)}
ring = openfault.Ring(vnodes=sc["vnodes"], seed=int(sc["seed"]), ketama=sc["ketama"])
for op in sc["ops"]:
    if op[0] == "add": ring.add_node(nodes[op[1]], weight=op[2])
    elif op[0] == "remove": ring.remove_node(nodes[op[1]])
    elif op[0] == "weight": ring.set_weight(nodes[op[1]], op[2])
    elif op[0] == "pin": ring.pin(val(op[1]), nodes[op[2]])
    elif op[0] == "unpin": ring.unpin(val(op[1]))
keys = [val(k) for k in sc["keys"]]
n = min(3, len(ring))
print(json.dumps({
    "get": [index[ring.get(k)] for k in keys],
    "getN": [[index[x] for x in ring.get_n(k, n)] for k in keys],
    "fingerprint": str(ring.fingerprint),
    "generation": ring.generation,
    "count": len(ring),
}))
`;

const val = (v) => ('hex' in v ? Buffer.from(v.hex, 'hex') : v.s);

function runJs(sc) {
  const nodes = sc.nodes.map(val);
  const ring = new of.Ring({ vnodes: sc.vnodes, seed: BigInt(sc.seed), ketama: sc.ketama });
  for (const op of sc.ops) {
    if (op[0] === 'add') ring.add(nodes[op[1]], op[2]);
    else if (op[0] === 'remove') ring.remove(nodes[op[1]]);
    else if (op[0] === 'weight') ring.setWeight(nodes[op[1]], op[2]);
    else if (op[0] === 'pin') ring.pin(val(op[1]), nodes[op[2]]);
    else if (op[0] === 'unpin') ring.unpin(val(op[1]));
  }
  const keys = sc.keys.map(val);
  const n = Math.min(3, ring.nodeCount);
  // Lookups return the node objects themselves: find their index by identity.
  const idx = (x) => {
    const i = nodes.indexOf(x);
    assert.notEqual(i, -1, 'a lookup returned something that was not added');
    return i;
  };
  const out = {
    get: keys.map((k) => idx(ring.get(k))),
    getN: keys.map((k) => ring.getN(k, n).map(idx)),
    fingerprint: ring.fingerprint.toString(),
    generation: ring.generation,
    count: ring.nodeCount,
  };
  ring.close();
  return out;
}

function randomKeys(r, count) {
  const keys = [];
  for (let i = 0; i < count; i++) {
    if (i % 3 === 0) keys.push({ s: `user:${r.u32()}` });
    else if (i % 3 === 1) keys.push({ s: `ключ-${i}-\u00e9-${r.int(1000)}` });
    else {
      const b = Buffer.alloc(r.int(12));
      for (let j = 0; j < b.length; j++) b[j] = r.int(256);
      keys.push({ hex: b.toString('hex') });
    }
  }
  return keys;
}

test('routes equal the Python binding: the three-node example', () => {
  const sc = {
    vnodes: 256, seed: '0', ketama: false,
    nodes: [{ s: 'cache-a' }, { s: 'cache-b' }, { s: 'cache-c' }],
    ops: [['add', 0, 1], ['add', 1, 1], ['add', 2, 1]],
    keys: [{ s: 'user:1' }, { s: 'user:2' }, { s: 'user:3' }],
  };
  assert.deepEqual(runJs(sc), python(PY, sc));
});

test('routes equal the Python binding: seeds, weights, removal, pins, byte ids', () => {
  const r = rng(SEED);
  for (let round = 0; round < 4; round++) {
    const nodes = [];
    for (let i = 0; i < 8; i++) {
      nodes.push(i % 4 === 3 ? { hex: Buffer.from([0xff, 0, i, r.int(256)]).toString('hex') }
        : { s: `node-${round}-${i}` });
    }
    const ops = nodes.map((_, i) => ['add', i, 1 + r.int(4)]);
    ops.push(['remove', 2]);
    ops.push(['weight', 5, 7]);
    const pinned = { s: `pinned-${round}` };
    ops.push(['pin', pinned, 6]);
    ops.push(['pin', { s: 'unpinned' }, 1]);
    ops.push(['unpin', { s: 'unpinned' }]);
    const sc = {
      vnodes: 16 + r.int(200), seed: (r.u64() >> BigInt(r.int(60))).toString(), ketama: false,
      nodes, ops, keys: randomKeys(r, 300).concat([pinned, { s: 'unpinned' }]),
    };
    const js = runJs(sc);
    assert.deepEqual(js, python(PY, sc), `round ${round}`);
    assert.equal(js.get[js.get.length - 2], 6, 'a pinned key routes to its pin');
  }
});

test('routes equal the Python binding: ketama (libmemcached weighted)', () => {
  const r = rng(SEED + 1);
  const nodes = [{ s: '10.0.0.1:11211' }, { s: '10.0.0.2' }, { s: 'cache.example:11212' },
    { s: '[::1]:11211' }];
  const sc = {
    vnodes: 1024, seed: '0', ketama: true, nodes,
    ops: [['add', 0, 1], ['add', 1, 2], ['add', 2, 0], ['add', 3, 3], ['remove', 1]],
    keys: randomKeys(r, 300),
  };
  assert.deepEqual(runJs(sc), python(PY, sc));
});

test('routes equal the Python binding: unweighted ketama (libmemcached MEMCACHED_BEHAVIOR_KETAMA)', () => {
  const r = rng(SEED + 2);
  const nodes = [{ s: '10.0.0.1:11211' }, { s: '10.0.0.2' }, { s: 'cache.example:11212' },
    { s: '[::1]:11211' }, { s: 'h\u00e9:11300' }];
  const sc = {
    vnodes: 1024, seed: '0', ketama: 'unweighted', nodes,
    ops: [['add', 0, 1], ['add', 1, 2], ['add', 2, 0], ['add', 3, 3], ['add', 4, 9], ['remove', 1],
      ['weight', 3, 7]],
    keys: randomKeys(r, 300),
  };
  const js = runJs(sc);
  assert.deepEqual(js, python(PY, sc));
  // Weights do not place: the same servers with other weights route every key alike.
  const same = runJs({ ...sc, ops: sc.ops.filter((op) => op[0] !== 'weight').map((op) => (op[0] === 'add' ? ['add', op[1], 1] : op)) });
  assert.deepEqual(same.get, js.get);
  const weighted = runJs({ ...sc, ketama: 'weighted' });
  assert.deepEqual(weighted, runJs({ ...sc, ketama: true }), "'weighted' is true");
  assert.ok(weighted.get.filter((v, i) => v !== js.get[i]).length > 50, 'the two ketamas differ');
});

test('ketama variants: names, flags and errors', () => {
  const u = new of.Ring(['10.0.0.1', '10.0.0.2'], { ketama: 'unweighted' });
  assert.equal(u.ketama, true);
  assert.equal(u.ketamaVariant, 'unweighted');
  assert.equal(new of.Ring({ ketama: true }).ketamaVariant, 'weighted');
  assert.equal(new of.Ring().ketamaVariant, null);
  assert.throws(() => u.pin('x', '10.0.0.1'), of.NotSupportedError);
  for (const bad of ['Unweighted', '', 'md5']) {
    assert.throws(() => new of.Ring({ ketama: bad }), of.InvalidError, `ketama '${bad}'`);
  }
  u.close();
});

test('lookups return the very value added; membership and inspection', () => {
  const a = Buffer.from('node-a');
  const ring = new of.Ring([a, 'node-b'], { vnodes: 64, seed: 7 });
  assert.equal(ring.nodeCount, 2);
  assert.equal(ring.generation, 2);
  const owners = new Set();
  for (let i = 0; i < 200; i++) owners.add(ring.get(`k${i}`));
  assert.ok(owners.has(a), 'the Buffer object itself comes back');
  assert.ok(owners.has('node-b'));
  assert.equal(owners.size, 2);
  assert.ok(ring.has('node-a'), 'bytes and their UTF-8 string are the same id');
  assert.deepEqual(ring.getN('k1', 2).sort(), [a, 'node-b'].sort());
  const fp = ring.fingerprint;
  assert.equal(typeof fp, 'bigint');
  ring.pin('k1', 'node-b');
  assert.equal(ring.get('k1'), 'node-b');
  assert.notEqual(ring.fingerprint, fp, 'pins are part of the fingerprint');
  ring.unpin('k1');
  assert.equal(ring.fingerprint, fp);
  ring.setWeight('node-b', 3);
  assert.ok(ring.ownership('node-b') > 0.6);
  assert.deepEqual(ring.nodes(), [{ node: a, weight: 1 }, { node: 'node-b', weight: 3 }]);
  ring.remove(a);
  assert.equal(ring.nodeCount, 1);
  assert.equal(ring.get('k1'), 'node-b');
  assert.equal(ring.generation, 6);
  ring.close();
  assert.throws(() => ring.get('x'), of.InvalidError);
  ring.close(); // twice is harmless
});

test('ring errors: codes and classes', () => {
  const ring = new of.Ring();
  assert.throws(() => ring.get('x'), (e) => e instanceof of.EmptyError && e.code === 'OF_ERR_EMPTY' && e.status === -5);
  ring.add('a');
  assert.throws(() => ring.add('a'), (e) => e instanceof of.ExistsError && e.code === 'OF_ERR_EXISTS');
  assert.throws(() => ring.remove('zz'), (e) => e instanceof of.NotFoundError && e.code === 'OF_ERR_NOT_FOUND');
  assert.throws(() => ring.add('b', 0), of.InvalidError, 'weight 0 in native mode');
  assert.throws(() => ring.add(''), of.InvalidError, 'empty id');
  assert.throws(() => ring.add(42), of.InvalidError, 'a number is not an id');
  assert.throws(() => ring.getN('x', 2), of.InvalidError, 'n above the node count');
  assert.throws(() => new of.Ring({ vnodes: 0 }), of.InvalidError);
  assert.throws(() => new of.Ring({ seed: -1 }), of.InvalidError);
  assert.throws(() => new of.Ring({ vnode: 5 }), of.InvalidError, 'a misspelt option');
  const k = new of.Ring(['10.0.0.1'], { ketama: true });
  assert.throws(() => k.pin('x', '10.0.0.1'), (e) => e instanceof of.NotSupportedError && e.code === 'OF_ERR_NOT_SUPPORTED');
  k.remove('10.0.0.1:11211'); // the same server, spelt with its default port
  assert.equal(k.nodeCount, 0);
  assert.throws(() => k.get('x'), of.EmptyError);
  ring.close();
  k.close();
});

test('hash64 is the library hash (the ring key hash)', () => {
  assert.equal(of.hash64(''), of.hash64(Buffer.alloc(0)));
  assert.equal(typeof of.hash64('abc', 5n), 'bigint');
  assert.notEqual(of.hash64('abc', 5n), of.hash64('abc', 6n));
  const py = python('import json,sys,openfault; print(json.dumps(str(openfault.hash64(b"abc", 5))))', {});
  assert.equal(of.hash64('abc', 5n).toString(), py);
});
