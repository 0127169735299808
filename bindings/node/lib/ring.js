'use strict';
// Ring: a consistent-hash ring over libopenfault's of_ring. Nodes are tagged with small integers
// in C; the tag indexes a JavaScript Map, so a lookup hands back the very value that was added.

const { koffi, lib, check, invalid, asBytes, u64, size, u32 } = require('./native');

const ofRing = koffi.opaque('of_ring');
const RingOptions = koffi.struct('of_ring_options', {
  struct_size: 'uint32_t', algorithm: 'uint32_t', vnodes: 'uint32_t', flags: 'uint32_t',
  seed: 'uint64_t',
});
const NodeFn = koffi.proto('int of_ring_node_fn(void *ctx, const void *id, size_t id_len, uint32_t weight, uint64_t tag)');

const c = {
  optionsInit: lib.func('int of_ring_options_init(_Out_ of_ring_options *opts, size_t size)'),
  create: lib.func('int of_ring_create(const of_ring_options *opts, _Out_ of_ring **out)'),
  destroy: lib.func('void of_ring_destroy(of_ring *ring)'),
  add: lib.func('int of_ring_add(of_ring *ring, const void *id, size_t id_len, uint32_t weight, uint64_t tag)'),
  remove: lib.func('int of_ring_remove(of_ring *ring, const void *id, size_t id_len)'),
  setWeight: lib.func('int of_ring_set_weight(of_ring *ring, const void *id, size_t id_len, uint32_t weight)'),
  pin: lib.func('int of_ring_pin(of_ring *ring, const void *key, size_t key_len, const void *id, size_t id_len)'),
  unpin: lib.func('int of_ring_unpin(of_ring *ring, const void *key, size_t key_len)'),
  lookup: lib.func('int of_ring_lookup(const of_ring *ring, const void *key, size_t key_len, _Out_ uint64_t *tag, void *id, size_t cap, size_t *id_len)'),
  lookupN: lib.func('int of_ring_lookup_n(const of_ring *ring, const void *key, size_t key_len, size_t n, uint64_t *out_tags)'),
  contains: lib.func('int of_ring_contains(const of_ring *ring, const void *id, size_t id_len, _Out_ int *present)'),
  nodeCount: lib.func('size_t of_ring_node_count(const of_ring *ring)'),
  generation: lib.func('uint64_t of_ring_generation(const of_ring *ring)'),
  fingerprint: lib.func('uint64_t of_ring_fingerprint(const of_ring *ring)'),
  ownership: lib.func('int of_ring_ownership(const of_ring *ring, const void *id, size_t id_len, _Out_ double *share)'),
  foreach: lib.func('int of_ring_foreach(const of_ring *ring, of_ring_node_fn *fn, void *ctx)'),
  memoryUsage: lib.func('size_t of_ring_memory_usage(const of_ring *ring)'),
};

const DEFAULT_VNODES = 1024;
const finalizer = new FinalizationRegistry((h) => c.destroy(h));

// Option flags of ring.h, and the names of the ketama variants.
const SORT_HOSTS = 0x1;
const KETAMA_UNWEIGHTED = 0x2;
const KETAMA_VARIANTS = ['weighted', 'unweighted'];

/** Node ids as Map keys: the id bytes as a binary string. */
const idKey = (b) => b.toString('latin1');

class Ring {
  /**
   * new Ring([nodes], {vnodes = 1024, seed = 0, ketama = false, sortHosts = false})
   * or new Ring({nodes, vnodes, seed, ketama, sortHosts}).
   * ketama: true or 'weighted' (libmemcached MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED), 'unweighted'
   * (MEMCACHED_BEHAVIOR_KETAMA: weights kept but ignored), false for the native placement.
   * Nodes and keys are strings (UTF-8) or bytes (Buffer / Uint8Array).
   */
  constructor(nodes = [], options = undefined) {
    if (nodes !== null && typeof nodes === 'object' && !Array.isArray(nodes) &&
        !ArrayBuffer.isView(nodes) && options === undefined) {
      options = nodes;
      nodes = options.nodes || [];
    }
    const o = options || {};
    for (const k of Object.keys(o)) {
      if (!['nodes', 'vnodes', 'seed', 'ketama', 'sortHosts'].includes(k)) {
        throw invalid(`unknown Ring option '${k}'`);
      }
    }
    const opts = {};
    check(c.optionsInit(opts, koffi.sizeof(RingOptions)), 'of_ring_options_init');
    // A string names the variant; anything else is its truth value, as before the variants.
    let variant = o.ketama ? 'weighted' : null;
    if (typeof o.ketama === 'string') {
      if (!KETAMA_VARIANTS.includes(o.ketama)) {
        throw invalid(`ketama must be a boolean, 'weighted' or 'unweighted', not '${o.ketama}'`);
      }
      variant = o.ketama;
    }
    this.ketama = variant !== null;
    /** null (native), 'weighted' or 'unweighted' */
    this.ketamaVariant = variant;
    opts.algorithm = this.ketama ? 1 : 0;
    opts.vnodes = u32(o.vnodes === undefined ? DEFAULT_VNODES : o.vnodes, 'vnodes', 1);
    opts.seed = u64(o.seed === undefined ? 0n : o.seed, 'seed');
    opts.flags = (o.sortHosts ? SORT_HOSTS : 0) | (variant === 'unweighted' ? KETAMA_UNWEIGHTED : 0);
    this.seed = opts.seed;
    const out = [null];
    check(c.create(opts, out), 'of_ring_create');
    this._h = out[0];
    finalizer.register(this, this._h, this);
    this._nodes = new Map(); // tag -> node as added
    this._tags = new Map();  // id bytes (binary string) -> tag
    this._nextTag = 1;
    if (!Array.isArray(nodes)) throw invalid('nodes must be an Array');
    for (const n of nodes) this.add(n);
  }

  _handle() {
    if (!this._h) throw invalid('operation on a closed Ring');
    return this._h;
  }

  /** Free the C ring now (it is also freed when the Ring is garbage-collected). */
  close() {
    const h = this._h;
    this._h = null;
    if (h) {
      finalizer.unregister(this);
      c.destroy(h);
    }
  }

  /** Add @p node with @p weight (native: >= 1; ketama: 0 counts as 1). ExistsError if present. */
  add(node, weight = 1) {
    const id = asBytes(node, 'node');
    const w = u32(weight, 'weight', this.ketama ? 0 : 1);
    const tag = this._nextTag;
    check(c.add(this._handle(), id, id.length, w, tag), 'of_ring_add');
    this._nextTag += 1;
    this._nodes.set(tag, node);
    this._tags.set(idKey(id), tag);
    return this;
  }

  /** Remove @p node and its pins. NotFoundError if absent. */
  remove(node) {
    const id = asBytes(node, 'node');
    check(c.remove(this._handle(), id, id.length), 'of_ring_remove');
    let tag = this._tags.get(idKey(id));
    if (tag !== undefined) {
      this._tags.delete(idKey(id));
      this._nodes.delete(tag);
    } else if (this.ketama) {
      // Ketama compares host and port ("h" is "h:11211"): drop whichever entry C no longer has.
      for (const [k, t] of [...this._tags]) {
        if (!this._containsBytes(Buffer.from(k, 'latin1'))) {
          this._tags.delete(k);
          this._nodes.delete(t);
        }
      }
    }
    return this;
  }

  /** Change @p node's weight (native mode: only keys to or from it move). */
  setWeight(node, weight) {
    const id = asBytes(node, 'node');
    check(c.setWeight(this._handle(), id, id.length, u32(weight, 'weight', this.ketama ? 0 : 1)),
          'of_ring_set_weight');
    return this;
  }

  /** Route @p key to @p node (present) whatever the points say. Native mode only. */
  pin(key, node) {
    const k = asBytes(key, 'key');
    const id = asBytes(node, 'node');
    check(c.pin(this._handle(), k, k.length, id, id.length), 'of_ring_pin');
    return this;
  }

  /** Remove the pin of @p key (NotFoundError if it has none). */
  unpin(key) {
    const k = asBytes(key, 'key');
    check(c.unpin(this._handle(), k, k.length), 'of_ring_unpin');
    return this;
  }

  /** The node owning @p key, as it was added. EmptyError when the ring has no node. */
  get(key) {
    const k = asBytes(key, 'key');
    const tag = [0];
    check(c.lookup(this._handle(), k, k.length, tag, null, 0, null), 'of_ring_lookup');
    return this._nodes.get(Number(tag[0]));
  }

  /** The first @p n distinct nodes clockwise from @p key (replica preference list). */
  getN(key, n) {
    const k = asBytes(key, 'key');
    const count = size(n, 'n');
    if (count < 1) throw invalid('n must be >= 1');
    const tags = new BigUint64Array(count);
    check(c.lookupN(this._handle(), k, k.length, count, tags), 'of_ring_lookup_n');
    return Array.from(tags, (t) => this._nodes.get(Number(t)));
  }

  _containsBytes(id) {
    const present = [0];
    check(c.contains(this._handle(), id, id.length, present), 'of_ring_contains');
    return present[0] !== 0;
  }

  /** Whether @p node is present. */
  has(node) {
    return this._containsBytes(asBytes(node, 'node'));
  }

  /** The share of the hash space @p node owns, in [0, 1]. */
  ownership(node) {
    const id = asBytes(node, 'node');
    const share = [0];
    check(c.ownership(this._handle(), id, id.length, share), 'of_ring_ownership');
    return share[0];
  }

  /** [{node, weight}] of the current version (native: id order; ketama: server order). */
  nodes() {
    const out = [];
    const rc = c.foreach(this._handle(), (_ctx, _id, _len, weight, tag) => {
      out.push({ node: this._nodes.get(Number(tag)), weight });
      return 0;
    }, null);
    check(rc, 'of_ring_foreach');
    return out;
  }

  /** Number of nodes. */
  get nodeCount() {
    return c.nodeCount(this._handle());
  }

  /** 0 at creation, +1 on every change (a Number). */
  get generation() {
    return Number(c.generation(this._handle()));
  }

  /** Membership fingerprint (a BigInt): equal in every process, in any language, whose ring
   *  has the same options, nodes, weights and pins. */
  get fingerprint() {
    return BigInt(c.fingerprint(this._handle()));
  }

  /** Bytes of memory the current snapshot uses. */
  memoryUsage() {
    return c.memoryUsage(this._handle());
  }
}

module.exports = { Ring, DEFAULT_VNODES };
