'use strict';
// RedisProvider against a private redis-server (unix socket in a temp dir, stopped by PID).
// Needs $REDIS_SERVER (meson's node-bindings-redis test sets it; its runner refuses to run
// without it). Under a plain `npm test` without it, this file reports itself skipped.
const test = require('node:test');
const assert = require('node:assert/strict');
const of = require('..');
const { sleep, startRedis, redisCommand } = require('./helpers');

const skip = process.env.REDIS_SERVER ? false : 'REDIS_SERVER is not set';

test('RedisProvider on a private redis-server', { skip, timeout: 120000 }, async (t) => {
  assert.ok(of.redisAvailable(), 'the library was built with the Redis provider');
  const server = await startRedis();
  const a = new of.RedisProvider(server.url);
  const b = new of.RedisProvider(server.url);
  t.after(async () => {
    a.close();
    b.close();
    await server.stop();
  });

  await t.test('exclusion across two providers, fences strictly increasing', async () => {
    assert.equal(a.name, 'redis');
    assert.equal(a.caps & of.CAP.SHARED, of.CAP.SHARED);
    const fences = [];
    for (let i = 0; i < 6; i++) {
      const p = i % 2 ? a : b;
      const l = await p.acquire('job', { ttl: 5000, wait: 0 });
      await assert.rejects((i % 2 ? b : a).acquire('job', { wait: 0 }), (e) => e instanceof of.BusyError && e.code === 'OF_ERR_BUSY');
      fences.push(l.fence);
      l.release();
    }
    for (let i = 1; i < fences.length; i++) assert.ok(fences[i] > fences[i - 1]);
  });

  await t.test('TimeoutError after the wait, waiter served after a release', async () => {
    const held = await a.acquire('t', { ttl: 5000, wait: 0 });
    const t0 = Date.now();
    await assert.rejects(b.acquire('t', { wait: 150 }), of.TimeoutError);
    assert.ok(Date.now() - t0 >= 149);
    const waiting = b.acquire('t', { wait: 5000 });
    await sleep(50);
    held.release();
    const got = await waiting;
    assert.ok(got.held);
    got.release();
  });

  await t.test('withLock across providers: one holder at a time, released on throw', async () => {
    let inside = 0;
    let max = 0;
    await Promise.all([a, b, a, b].map((p) => p.withLock('w', { ttl: 5000, wait: 10000 }, async () => {
      inside++;
      max = Math.max(max, inside);
      await sleep(15);
      inside--;
    })));
    assert.equal(max, 1);
    await assert.rejects(a.withLock('w', { wait: 0 }, () => { throw new RangeError('x'); }), RangeError);
    (await b.acquire('w', { wait: 0 })).release();
  });

  await t.test('extend, expiry and NotOwnerError', async () => {
    const l = await a.acquire('e', { ttl: 100, wait: 0 });
    l.extend(3000);
    assert.ok(l.remainingMs > 1000);
    l.release();
    const short = await a.acquire('e', { ttl: 60, wait: 0 });
    await sleep(150);
    const next = await b.acquire('e', { wait: 0 });
    assert.throws(() => short.release(), (e) => e instanceof of.NotOwnerError || e instanceof of.LostError);
    next.release();
  });

  await t.test('a WRONGTYPE reply is a ProtocolError with the reply as detail', async () => {
    assert.equal(await redisCommand(server.sock, ['LPUSH', '{bad}:fence', 'x']), ':1');
    assert.throws(() => a.acquireSync('bad', { wait: 0 }), (e) => e instanceof of.ProtocolError && e.code === 'OF_ERR_PROTOCOL' && /WRONGTYPE/.test(e.detail));
    await assert.rejects(a.acquire('bad', { wait: 0 }), of.ProtocolError);
  });

  await t.test('a server that is down: UnavailableError, also after a wait (nobody holds it)', async () => {
    const down = new of.RedisProvider(`unix://${server.sock}.absent`);
    await assert.rejects(down.acquire('x', { wait: 0 }), (e) => e instanceof of.UnavailableError && e.code === 'OF_ERR_UNAVAILABLE');
    await assert.rejects(down.acquire('x', { wait: 100 }), (e) => e instanceof of.UnavailableError);
    down.close();
  });
});
