// Calling libopenfault from Node.js through koffi (npm install koffi): a consistent-hash ring
// and a local lock with its fencing token.
//   OPENFAULT_LIBRARY=/path/to/libopenfault.so.0 node openfault_example.js
'use strict';
const koffi = require('koffi');

const lib = koffi.load(process.env.OPENFAULT_LIBRARY || 'libopenfault.so.0');

// Opaque handles, the options structs (field order and types as in the headers), functions.
const of_ring = koffi.opaque('of_ring');
const of_lock_provider = koffi.opaque('of_lock_provider');
const of_lock = koffi.opaque('of_lock');
const of_ring_options = koffi.struct('of_ring_options', {
  struct_size: 'uint32_t', algorithm: 'uint32_t', vnodes: 'uint32_t', flags: 'uint32_t',
  seed: 'uint64_t',
});
const of_lock_options = koffi.struct('of_lock_options', {
  struct_size: 'uint32_t', ttl_ms: 'uint32_t', wait_ms: 'int64_t', flags: 'uint32_t',
  reserved0: 'uint32_t', on_lost: 'void *', on_lost_ctx: 'void *',
});

const of_strerror = lib.func('const char *of_strerror(int status)');
const of_last_error_detail = lib.func('const char *of_last_error_detail(void)');
const of_version_string = lib.func('const char *of_version_string(void)');
const of_ring_options_init = lib.func('int of_ring_options_init(_Out_ of_ring_options *opts, size_t size)');
const of_ring_create = lib.func('int of_ring_create(const of_ring_options *opts, _Out_ of_ring **out)');
const of_ring_destroy = lib.func('void of_ring_destroy(of_ring *ring)');
const of_ring_add = lib.func('int of_ring_add(of_ring *ring, const void *id, size_t id_len, uint32_t weight, uint64_t tag)');
const of_ring_lookup = lib.func('int of_ring_lookup(of_ring *ring, const void *key, size_t key_len, _Out_ uint64_t *tag, void *id, size_t cap, size_t *id_len)');
const of_lock_local_create = lib.func('int of_lock_local_create(_Out_ of_lock_provider **out)');
const of_lock_provider_destroy = lib.func('void of_lock_provider_destroy(of_lock_provider *p)');
const of_lock_options_init = lib.func('int of_lock_options_init(_Out_ of_lock_options *opts, size_t size)');
// of_lock_acquire may wait: .async() runs it on a worker thread instead of blocking the loop.
const of_lock_acquire = lib.func('int of_lock_acquire(of_lock_provider *p, const void *name, size_t len, const of_lock_options *opts, _Out_ of_lock **out)');
const of_lock_fence = lib.func('int of_lock_fence(of_lock *lock, _Out_ uint64_t *fence)');
const of_lock_release = lib.func('int of_lock_release(of_lock *lock)');

function check(rc, what) {
  if (rc !== 0) {
    const detail = of_last_error_detail();
    throw new Error(`${what}: ${of_strerror(rc)}${detail ? ': ' + detail : ''} (${rc})`);
  }
}

async function main() {
  console.log(`libopenfault ${of_version_string()}`);

  // Ring: tags are indexes into a JS array, so a lookup gives back our own node object.
  const nodes = ['cache-a', 'cache-b', 'cache-c'];
  const ropts = {};
  check(of_ring_options_init(ropts, koffi.sizeof(of_ring_options)), 'of_ring_options_init');
  ropts.vnodes = 256;
  const ring = [null];
  check(of_ring_create(ropts, ring), 'of_ring_create');
  nodes.forEach((n, i) => {
    const id = Buffer.from(n, 'utf8');
    check(of_ring_add(ring[0], id, id.length, 1, i), 'of_ring_add');
  });
  const route = (key) => {
    const k = Buffer.from(key, 'utf8');
    const tag = [0];
    check(of_ring_lookup(ring[0], k, k.length, tag, null, 0, null), 'of_ring_lookup');
    return nodes[Number(tag[0])];
  };
  for (const key of ['user:1', 'user:2', 'user:3']) console.log(`${key} -> ${route(key)}`);
  of_ring_destroy(ring[0]);

  // Lock: three acquisitions in a row, each fence larger than the one before.
  const provider = [null];
  check(of_lock_local_create(provider), 'of_lock_local_create');
  const lopts = {};
  check(of_lock_options_init(lopts, koffi.sizeof(of_lock_options)), 'of_lock_options_init');
  lopts.ttl_ms = 5000;
  lopts.wait_ms = 2000;
  const name = Buffer.from('node-job', 'utf8');
  const fences = [];
  for (let i = 0; i < 3; i++) {
    const lock = [null];
    const rc = await new Promise((resolve, reject) =>
      of_lock_acquire.async(provider[0], name, name.length, lopts, lock,
        (err, res) => (err ? reject(err) : resolve(res))));
    check(rc, 'of_lock_acquire');
    const fence = [0];
    check(of_lock_fence(lock[0], fence), 'of_lock_fence');
    fences.push(Number(fence[0]));
    check(of_lock_release(lock[0]), 'of_lock_release');
  }
  of_lock_provider_destroy(provider[0]);
  const increasing = fences.every((f, i) => i === 0 || f > fences[i - 1]);
  console.log(`node: 3 acquisitions, fences strictly increasing: ${increasing ? 'yes' : 'no'}`);
  if (!increasing) process.exit(1);
}

main().catch((e) => { console.error(e.message); process.exit(1); });
