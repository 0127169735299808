'use strict';
// Local locks: exclusion, fences, waits off the event loop, withLock, errors, close.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const of = require('..');
const { sleep } = require('./helpers');

const code = (c) => (e) => e instanceof of.OpenfaultError && e.code === c;

test('a held lock excludes others: BusyError with wait 0, sync and async', async () => {
  const p = new of.LocalProvider();
  const a = await p.acquire('job', { ttl: 10000, wait: 0 });
  assert.ok(a.held);
  await assert.rejects(p.acquire('job', { wait: 0 }), (e) => e instanceof of.BusyError && e.status === -7 && code('OF_ERR_BUSY')(e));
  assert.throws(() => p.acquireSync('job', { wait: 0 }), of.BusyError);
  const other = p.acquireSync(Buffer.from([0, 1, 0]), { wait: 0 }); // names are bytes
  other.release();
  a.release();
  assert.equal(a.held, false);
  const again = await p.acquire('job', { wait: 0 });
  again.release();
  p.close();
});

test('a wait that passes is a TimeoutError, not before its deadline', async () => {
  const p = new of.LocalProvider();
  const a = p.acquireSync('t', { wait: 0 });
  const t0 = process.hrtime.bigint();
  await assert.rejects(p.acquire('t', { wait: 150 }), (e) => e instanceof of.TimeoutError && e.code === 'OF_ERR_TIMEOUT');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms >= 149, `returned after ${ms} ms, before the 150 ms deadline`);
  assert.ok(ms < 150 + 1000, `no hang (${ms} ms)`);
  a.release();
  p.close();
});

test('a waiting acquire does not block the event loop and wakes on release', async () => {
  const p = new of.LocalProvider();
  const holder = p.acquireSync('w', { wait: 0 });
  const holderFence = holder.fence;
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 5);
  const t0 = Date.now();
  const waiting = p.acquire('w', { wait: 10000 });
  await sleep(100);
  const ticksWhileWaiting = ticks;
  holder.release();
  const got = await waiting;
  clearInterval(timer);
  assert.ok(ticksWhileWaiting >= 5, `the event loop ran only ${ticksWhileWaiting} ticks while acquire waited`);
  assert.ok(Date.now() - t0 < 10000, 'woken by the release, not by the deadline');
  assert.ok(got.fence > holderFence);
  got.release();
  p.close();
});

test('fences strictly increase, across waiters too', async () => {
  const p = new of.LocalProvider();
  const fences = [];
  for (let i = 0; i < 20; i++) {
    const l = await p.acquire('f', { wait: 0 });
    fences.push(l.fence);
    l.release();
  }
  // Three concurrent withLock sections on one name: they run one at a time.
  let inside = 0;
  await Promise.all([0, 1, 2].map(() => p.withLock('f', { wait: 5000 }, async (l) => {
    inside++;
    assert.equal(inside, 1, 'two holders at once');
    fences.push(l.fence);
    await sleep(20);
    inside--;
  })));
  assert.equal(fences.length, 23);
  for (let i = 1; i < fences.length; i++) assert.ok(fences[i] > fences[i - 1], `fence ${fences[i]} after ${fences[i - 1]}`);
  assert.ok(fences.every(Number.isSafeInteger));
  p.close();
});

test('withLock releases when fn returns, throws, or its promise rejects', async () => {
  const p = new of.LocalProvider();
  assert.equal(await p.withLock('x', { wait: 0 }, (l) => l.fence > 0 && 'done'), 'done');
  const boom = new Error('boom');
  await assert.rejects(p.withLock('x', { wait: 0 }, () => { throw boom; }), (e) => e === boom);
  p.acquireSync('x', { wait: 0 }).release(); // free again
  await assert.rejects(p.withLock('x', { wait: 0 }, async () => { await sleep(5); throw boom; }), (e) => e === boom);
  p.acquireSync('x', { wait: 0 }).release();
  await assert.rejects(p.withLock('x', () => Promise.reject(boom)), (e) => e === boom);
  let kept;
  await p.withLock('x', (l) => { kept = l; });
  assert.equal(kept.held, false);
  // Busy: fn is not called.
  const holder = p.acquireSync('x', { wait: 0 });
  let called = false;
  await assert.rejects(p.withLock('x', { wait: 0 }, () => { called = true; }), of.BusyError);
  assert.equal(called, false);
  holder.release();
  // fn released the lock itself: withLock does not release twice.
  await p.withLock('x', (l) => l.release());
  p.close();
});

test('extend, auto-renew, expiry, the lease clock', async () => {
  const p = new of.LocalProvider();
  const l = await p.acquire('e', { ttl: 200, wait: 0 });
  const now = process.hrtime.bigint();
  assert.ok(l.validUntil > now && l.validUntil <= now + 200_000_000n, 'validUntil is on process.hrtime.bigint()\'s clock');
  const before = l.validUntil;
  await sleep(20);
  l.extend(5000);
  assert.ok(l.validUntil > before + 4_000_000_000n);
  assert.ok(l.remainingMs > 4000 && l.remainingMs <= 5000);
  assert.match(l.token, /^[0-9a-f]{32}$/);
  l.release();

  const r = await p.acquire('renewed', { ttl: 150, wait: 0, autoRenew: true });
  await sleep(450);
  assert.equal(r.lost, false);
  assert.throws(() => p.acquireSync('renewed', { wait: 0 }), of.BusyError, 'still held after 3 ttls');
  r.release();

  const short = await p.acquire('short', { ttl: 50, wait: 0 });
  await sleep(120);
  const next = await p.acquire('short', { wait: 0 }); // the lease passed: free for the next owner
  assert.ok(next.fence > short.fence);
  assert.throws(() => short.release(), (e) => e instanceof of.NotOwnerError || e instanceof of.LostError);
  assert.equal(short.held, false, 'the handle is freed whatever release answers');
  next.release();
  p.close();
});

test('lock misuse is an InvalidError, checked before anything reaches C', async () => {
  const p = new of.LocalProvider();
  const inv = (e) => e instanceof of.InvalidError && e.code === 'OF_ERR_INVALID';
  await assert.rejects(p.acquire('', { wait: 0 }), inv);
  await assert.rejects(p.acquire('x', { ttl: 0 }), inv);
  await assert.rejects(p.acquire('x', { ttl: 2 ** 31 }), inv);
  await assert.rejects(p.acquire('x', { wait: -1 }), inv);
  await assert.rejects(p.acquire('x', { timeout: 5 }), inv, 'a misspelt option');
  await assert.rejects(p.acquire(5), inv);
  assert.throws(() => p.acquireSync('x'.repeat(1025), { wait: 0 }), inv);
  const l = p.acquireSync('x', { wait: 0 });
  l.release();
  assert.throws(() => l.release(), inv, 'release twice');
  assert.throws(() => l.extend(), inv);
  assert.throws(() => l.fence, inv);
  await assert.rejects(p.withLock('x', {}), inv);
  p.close();
  await assert.rejects(p.acquire('x'), inv, 'a closed provider');
  assert.throws(() => p.name, inv);
});

test('close releases held locks and ends pending acquires', async () => {
  const p = new of.LocalProvider();
  assert.equal(p.name, 'local');
  assert.equal(p.caps & of.CAP.FENCE, of.CAP.FENCE);
  const held = p.acquireSync('c', { wait: 0 });
  const pending = p.acquire('c', { wait: 5000 });
  await sleep(30);
  p.close(); // releases `held`: the waiter then gets the name, sees the close and gives it back
  await assert.rejects(pending, of.InvalidError);
  assert.equal(held.held, false);
  assert.throws(() => held.release(), of.InvalidError);
  p.close(); // twice is harmless
});

test('stats count what happened', async () => {
  const p = new of.LocalProvider();
  (await p.acquire('s', { wait: 0 })).release();
  await assert.rejects(p.acquire('missing', { wait: 0 }).then((l) => p.acquire('missing', { wait: 0 }).finally(() => l.release())), of.BusyError);
  const s = p.stats();
  assert.equal(s.acquired, 2);
  assert.equal(s.busy, 1);
  assert.equal(s.released, 2);
  p.close();
});

test('every status maps to its own class, code and message', () => {
  const table = {
    '-1': ['InvalidError', 'OF_ERR_INVALID'], '-2': ['NoMemoryError', 'OF_ERR_NOMEM'],
    '-3': ['NotFoundError', 'OF_ERR_NOT_FOUND'], '-4': ['ExistsError', 'OF_ERR_EXISTS'],
    '-5': ['EmptyError', 'OF_ERR_EMPTY'], '-6': ['NoSpaceError', 'OF_ERR_NOSPACE'],
    '-7': ['BusyError', 'OF_ERR_BUSY'], '-8': ['TimeoutError', 'OF_ERR_TIMEOUT'],
    '-9': ['NotOwnerError', 'OF_ERR_NOT_OWNER'], '-10': ['LostError', 'OF_ERR_LOST'],
    '-11': ['UnavailableError', 'OF_ERR_UNAVAILABLE'], '-12': ['UnknownOutcomeError', 'OF_ERR_UNKNOWN'],
    '-13': ['AuthError', 'OF_ERR_AUTH'], '-14': ['ProtocolError', 'OF_ERR_PROTOCOL'],
    '-15': ['NotSupportedError', 'OF_ERR_NOT_SUPPORTED'], '-16': ['AbiError', 'OF_ERR_ABI'],
  };
  for (const [s, [name, c]] of Object.entries(table)) {
    const e = of.OpenfaultError.fromStatus(Number(s), 'some detail');
    assert.ok(e instanceof of[name] && e instanceof of.OpenfaultError && e instanceof Error, name);
    assert.equal(e.name, name);
    assert.equal(e.code, c);
    assert.equal(e.status, Number(s));
    assert.equal(e.detail, 'some detail');
    assert.match(e.message, new RegExp(`\\(${c}\\): some detail$`));
  }
  const unknown = of.OpenfaultError.fromStatus(-99);
  assert.equal(unknown.constructor, of.OpenfaultError);
  assert.equal(unknown.code, 'OF_ERR_?');
});

test('Redis URL errors carry the library\'s detail; a missing library names what was tried', () => {
  if (of.redisAvailable()) {
    assert.throws(() => new of.RedisProvider('redis://127.0.0.1:99999'), (e) => e instanceof of.InvalidError && e.detail.length > 0);
    assert.throws(() => new of.RedisProvider('rediss://127.0.0.1'), of.NotSupportedError);
  } else {
    assert.throws(() => new of.RedisProvider('redis://127.0.0.1'), of.NotSupportedError);
  }
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(__dirname, '..'))})`], {
    env: Object.assign({}, process.env, { OPENFAULT_LIBRARY: '/nonexistent/libopenfault.so.0' }),
    encoding: 'utf8',
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /libopenfault was not found/);
  assert.match(r.stderr, /\$OPENFAULT_LIBRARY=\/nonexistent\/libopenfault\.so\.0/);
  assert.match(r.stderr, /ERR_OPENFAULT_LIBRARY/);
});
