'use strict';
// Leased named locks with fencing tokens: LocalProvider (in-process) and RedisProvider.
//
// of_lock_acquire may wait (and a Redis step does network I/O), so acquire() runs it on a
// libuv worker thread through koffi's async calls and returns a Promise: the event loop keeps
// running meanwhile. Release and extend are single steps bounded by the provider's command
// timeout and run synchronously: making them asynchronous too would let a pool full of waiting
// acquires starve the very release they wait for.

const { koffi, lib, check, invalid, asBytes, OpenfaultError, clockNs } =
  require('./native');

const ofProvider = koffi.opaque('of_lock_provider');
const ofLock = koffi.opaque('of_lock');
void ofProvider; void ofLock;
const LockOptions = koffi.struct('of_lock_options', {
  struct_size: 'uint32_t', ttl_ms: 'uint32_t', wait_ms: 'int64_t', flags: 'uint32_t',
  reserved0: 'uint32_t', on_lost: 'void *', on_lost_ctx: 'void *',
});
const STAT_FIELDS = ['attempts', 'acquired', 'busy', 'timeouts', 'lost', 'errors', 'wait_ns',
  'released', 'extended', 'cleanups_queued', 'cleanups_done', 'cleanups_dropped'];
const LockStats = koffi.struct('of_lock_stats', Object.assign(
  { struct_size: 'uint32_t', reserved0: 'uint32_t' },
  Object.fromEntries(STAT_FIELDS.map((f) => [f, 'uint64_t']))));
const LockToken = koffi.struct('of_lock_token', { bytes: koffi.array('uint8_t', 16) });

const c = {
  optionsInit: lib.func('int of_lock_options_init(_Out_ of_lock_options *opts, size_t size)'),
  optionsSize: lib.func('size_t of_lock_options_size(void)'),
  localCreate: lib.func('int of_lock_local_create(_Out_ of_lock_provider **out)'),
  redisAvailable: lib.func('int of_lock_redis_available(void)'),
  redisCreateUrl: lib.func('int of_lock_redis_create_url(const char *url, _Out_ of_lock_provider **out)'),
  destroy: lib.func('void of_lock_provider_destroy(of_lock_provider *p)'),
  name: lib.func('const char *of_lock_provider_name(const of_lock_provider *p)'),
  caps: lib.func('uint32_t of_lock_provider_caps(const of_lock_provider *p)'),
  stats: lib.func('int of_lock_provider_stats(const of_lock_provider *p, _Inout_ of_lock_stats *s)'),
  acquire: lib.func('int of_lock_acquire(of_lock_provider *p, const void *name, size_t len, const of_lock_options *opts, _Out_ of_lock **out)'),
  release: lib.func('int of_lock_release(of_lock *lock)'),
  extend: lib.func('int of_lock_extend(of_lock *lock, uint32_t ttl_ms)'),
  fence: lib.func('int of_lock_fence(const of_lock *lock, _Out_ uint64_t *fence)'),
  validUntil: lib.func('int64_t of_lock_valid_until_ns(const of_lock *lock)'),
  isLost: lib.func('int of_lock_is_lost(const of_lock *lock)'),
  token: lib.func('int of_lock_token_get(const of_lock *lock, _Out_ of_lock_token *token)'),
  ttlMax: lib.func('uint32_t of_lock_ttl_max(void)'),
};

if (koffi.sizeof(LockOptions) > c.optionsSize()) {
  throw new Error(`openfault: libopenfault is older than this binding (of_lock_options is ${c.optionsSize()} bytes, expected ${koffi.sizeof(LockOptions)})`);
}

const TTL_MAX_MS = c.ttlMax();
const NAME_MAX = lib.func('size_t of_name_max(void)')();
const AUTO_RENEW = 1;
const CAP = { TTL: 1, EXTEND: 2, FENCE: 4, WAIT: 8, SHARED: 16 };
const DEFAULT_TTL_MS = 10000;

function ttlMs(ttl, what = 'ttl') {
  if (typeof ttl !== 'number' || !Number.isFinite(ttl)) {
    throw invalid(`${what} must be a number of milliseconds, got ${typeof ttl === 'number' ? ttl : typeof ttl}`);
  }
  const ms = Math.round(ttl);
  if (ms < 1 || ms > TTL_MAX_MS) throw invalid(`${what} must be 1..${TTL_MAX_MS} ms, got ${ttl}`);
  return ms;
}

function waitMs(wait) {
  if (wait === undefined || wait === null || wait === Infinity) return -1;
  if (typeof wait !== 'number' || Number.isNaN(wait) || wait < 0) {
    throw invalid(`wait must be 0 (try once), a number of ms > 0, or Infinity (forever), got ${String(wait)}`);
  }
  if (wait === 0) return 0;
  return Math.max(1, Math.round(wait));
}

function lockName(name) {
  const b = asBytes(name, 'lock name');
  // Checked here: koffi passes an empty buffer as NULL, which C would report as a NULL name.
  if (b.length < 1 || b.length > NAME_MAX) throw invalid(`lock name must be 1..${NAME_MAX} bytes, got ${b.length}`);
  return b;
}

function lockOptions(opts) {
  const o = opts || {};
  if (typeof o !== 'object') throw invalid('lock options must be an object');
  for (const k of Object.keys(o)) {
    if (!['ttl', 'wait', 'autoRenew'].includes(k)) throw invalid(`unknown lock option '${k}'`);
  }
  const s = {};
  check(c.optionsInit(s, koffi.sizeof(LockOptions)), 'of_lock_options_init');
  s.ttl_ms = ttlMs(o.ttl === undefined ? DEFAULT_TTL_MS : o.ttl);
  s.wait_ms = waitMs(o.wait);
  s.flags = o.autoRenew ? AUTO_RENEW : 0;
  return s;
}

// A Lock dropped while held is released when it is garbage-collected; a provider dropped with
// locks still held releases them, then is destroyed. Both share the provider's state, whichever
// finalizer runs first: `held` says which handles are still to release.
const lockFinalizer = new FinalizationRegistry(({ state, h }) => {
  if (state.held.delete(h)) c.release(h);
});
const providerFinalizer = new FinalizationRegistry((state) => closeState(state));

function closeState(state) {
  state.closed = true;
  for (const h of state.held) c.release(h);
  state.held.clear();
  if (state.pending === 0 && state.h) {
    const h = state.h;
    state.h = null;
    c.destroy(h);
  }
}

/** One held acquisition. Made by provider.acquire() / acquireSync(). */
class Lock {
  constructor(provider, name, handle, ttl) {
    this.provider = provider;
    this.name = name;
    this._h = handle;
    this._ttl = ttl;
    provider._state.held.add(handle);
    lockFinalizer.register(this, { state: provider._state, h: handle }, this);
  }

  _handle() {
    // provider.close() releases every handle it still holds: this one may be gone too.
    if (!this._h || !this.provider._state.held.has(this._h)) {
      this._h = null;
      throw invalid(`lock '${String(this.name)}' is not held (released, or its provider closed)`);
    }
    return this._h;
  }

  /** True from acquire until release() or provider.close() (also when the lease is lost
   *  meanwhile). */
  get held() {
    return this._h !== null && this.provider._state.held.has(this._h);
  }

  /** The fencing token of this acquisition: a Number, strictly increasing per name. */
  get fence() {
    const out = [0];
    check(c.fence(this._handle(), out), 'of_lock_fence');
    return Number(out[0]);
  }

  /** End of the lease (conservative) in nanoseconds on CLOCK_MONOTONIC, the clock of
   *  process.hrtime.bigint(): a BigInt. */
  get validUntil() {
    return BigInt(c.validUntil(this._handle()));
  }

  /** Milliseconds left on the lease (negative once it has passed). */
  get remainingMs() {
    return Number(this.validUntil - clockNs()) / 1e6;
  }

  /** Whether the lease is known lost (a failed renewal or extend, a NOT_OWNER answer). */
  get lost() {
    return c.isLost(this._handle()) !== 0;
  }

  /** The 128-bit owner token as 32 hex digits. */
  get token() {
    const t = {};
    check(c.token(this._handle(), t), 'of_lock_token_get');
    return Buffer.from(t.bytes).toString('hex');
  }

  /** Set the lease to @p ttl ms from now (default: the acquire ttl). Throws NotOwnerError
   *  (expired or taken over: the lock is then lost), LostError, UnknownOutcomeError, ... */
  extend(ttl = this._ttl) {
    check(c.extend(this._handle(), ttlMs(ttl)), 'of_lock_extend');
  }

  /** Release the lock; the handle is freed whatever the outcome. Throws NotOwnerError (the
   *  lease had expired or was taken over), LostError (already known lost), UnknownOutcomeError /
   *  UnavailableError (a cleanup is queued). */
  release() {
    const h = this._handle();
    this._h = null;
    lockFinalizer.unregister(this);
    this.provider._state.held.delete(h);
    check(c.release(h), 'of_lock_release');
  }
}

/** Base of LocalProvider and RedisProvider. */
class LockProvider {
  constructor(handle) {
    this._state = { h: handle, held: new Set(), pending: 0, closed: false };
    providerFinalizer.register(this, this._state, this);
  }

  _handle() {
    if (this._state.closed || !this._state.h) throw invalid('operation on a closed lock provider');
    return this._state.h;
  }

  /** The backend's name: "local", "redis". */
  get name() {
    return c.name(this._handle());
  }

  /** Capability bits (CAP.TTL | CAP.EXTEND | CAP.FENCE | CAP.WAIT | CAP.SHARED). */
  get caps() {
    return c.caps(this._handle());
  }

  /** The provider's counters: {attempts, acquired, busy, timeouts, ...} as Numbers. */
  stats() {
    const s = { struct_size: koffi.sizeof(LockStats), reserved0: 0 };
    for (const f of STAT_FIELDS) s[f] = 0;
    check(c.stats(this._handle(), s), 'of_lock_provider_stats');
    return Object.fromEntries(STAT_FIELDS.map((f) => [f, Number(s[f])]));
  }

  /**
   * Acquire @p name (a string, UTF-8, or bytes) on a libuv worker thread; resolves to a held
   * Lock. Options: ttl (ms, default 10000), wait (ms: 0 tries once, default Infinity waits
   * forever), autoRenew (renew at ttl/3 until released). Rejects with BusyError (wait 0 and
   * held), TimeoutError (the wait passed), UnavailableError, UnknownOutcomeError, ...
   * A waiting acquire occupies one thread of libuv's pool (UV_THREADPOOL_SIZE, default 4).
   */
  acquire(name, opts = undefined) {
    let h, nameBytes, o;
    try {
      h = this._handle();
      nameBytes = lockName(name);
      o = lockOptions(opts);
    } catch (e) {
      return Promise.reject(e);
    }
    const state = this._state;
    state.pending += 1;
    return new Promise((resolve, reject) => {
      const out = [null];
      c.acquire.async(h, nameBytes, nameBytes.length, o, out, (err, rc) => {
        // `this` and `nameBytes` are referenced here, so neither is collected during the call.
        state.pending -= 1;
        if (err) {
          reject(err);
        } else if (rc !== 0) {
          // The call ran on a worker thread: its per-thread detail text is not readable here.
          reject(OpenfaultError.fromStatus(rc, '', 'of_lock_acquire'));
        } else if (state.closed) {
          c.release(out[0]);
          reject(invalid('the lock provider was closed while acquire() waited'));
        } else {
          resolve(new Lock(this, name, out[0], o.ttl_ms));
        }
        if (state.closed) closeState(state);
        void nameBytes;
      });
    });
  }

  /** acquire() on the calling thread: blocks it (and the event loop) while waiting. Errors
   *  carry the library's detail text. */
  acquireSync(name, opts = undefined) {
    const h = this._handle();
    const nameBytes = lockName(name);
    const o = lockOptions(opts);
    const out = [null];
    check(c.acquire(h, nameBytes, nameBytes.length, o, out), 'of_lock_acquire');
    return new Lock(this, name, out[0], o.ttl_ms);
  }

  /**
   * Run `fn(lock)` holding @p name, and release the lock afterwards in every case: when fn
   * returns, throws, or returns a promise that resolves or rejects. Resolves to fn's result.
   * When fn failed, its error is what you get (a failed release is then ignored); otherwise a
   * failed release (e.g. NotOwnerError: the lease expired during fn) rejects.
   */
  async withLock(name, opts, fn) {
    if (typeof opts === 'function' && fn === undefined) {
      fn = opts;
      opts = undefined;
    }
    if (typeof fn !== 'function') throw invalid('withLock needs a function');
    const lock = await this.acquire(name, opts);
    let result;
    try {
      result = await fn(lock);
    } catch (e) {
      try {
        if (lock.held) lock.release();
      } catch (_) {
        // fn's error is the one to report.
      }
      throw e;
    }
    if (lock.held) lock.release();
    return result;
  }

  /** Release every lock still held through this provider, then destroy it (at once, or when
   *  pending acquires return: their locks are released and their promises reject). */
  close() {
    if (this._state.closed) return;
    providerFinalizer.unregister(this);
    closeState(this._state);
  }
}

/** In-process named locks shared by everything in this process that uses this provider
 *  (leases, fences, waiters woken on release). */
class LocalProvider extends LockProvider {
  constructor() {
    const out = [null];
    check(c.localCreate(out), 'of_lock_local_create');
    super(out[0]);
  }
}

/** Locks on one Redis server, from a URL such as `redis://user:pass@host:6379/0` or
 *  `unix:///run/redis.sock?db=1` (see docs/redis.md). Nothing connects until the first lock
 *  call. NotSupportedError when the library was built without hiredis. */
class RedisProvider extends LockProvider {
  constructor(url) {
    if (typeof url !== 'string') throw invalid('the Redis URL must be a string');
    const out = [null];
    check(c.redisCreateUrl(url, out), 'of_lock_redis_create_url');
    super(out[0]);
  }
}

/** Whether the loaded library has the Redis provider. */
function redisAvailable() {
  return c.redisAvailable() !== 0;
}

module.exports = {
  Lock, LockProvider, LocalProvider, RedisProvider, redisAvailable, CAP, TTL_MAX_MS,
  DEFAULT_TTL_MS,
};
