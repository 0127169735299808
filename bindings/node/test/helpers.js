'use strict';
// Shared by the tests: a seeded PRNG, the Python binding as a reference, a private redis-server.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const SOURCE_ROOT = path.resolve(__dirname, '..', '..', '..');

/** A small deterministic PRNG (splitmix32-like), so a failing case can be replayed. */
function rng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return {
    u32: next,
    int: (n) => next() % n,                    // 0..n-1
    u64: () => (BigInt(next()) << 32n) | BigInt(next()),
    pick: (arr) => arr[next() % arr.length],
  };
}

const SEED = Number(process.env.OF_TEST_SEED || 20240601);

/** Run python3 with the Python binding on PYTHONPATH; returns its stdout parsed as JSON. */
function python(script, input) {
  const py = process.env.PYTHON3 || 'python3';
  const r = spawnSync(py, ['-c', script], {
    input: JSON.stringify(input),
    env: Object.assign({}, process.env, {
      PYTHONPATH: path.join(SOURCE_ROOT, 'bindings', 'python'),
      PYTHONDONTWRITEBYTECODE: '1',
    }),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

/** A throw-away redis-server on a unix socket in a temp dir; stop() kills it by PID. */
async function startRedis() {
  const binary = process.env.REDIS_SERVER;
  if (!binary) throw new Error('REDIS_SERVER is not set (meson sets it when redis-server exists)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'of-noderedis-'));
  const sock = path.join(dir, 'redis.sock');
  const proc = spawn(binary, ['--port', '0', '--unixsocket', sock, '--unixsocketperm', '700',
    '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no',
    '--logfile', path.join(dir, 'redis.log')], { stdio: 'ignore' });
  let exited = false;
  proc.on('exit', () => { exited = true; });
  const stop = async () => {
    if (!exited) {
      process.kill(proc.pid, 'SIGTERM');
      const t0 = Date.now();
      while (!exited && Date.now() - t0 < 10000) await sleep(10);
      if (!exited) process.kill(proc.pid, 'SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10000;
  for (;;) {
    if (fs.existsSync(sock) && (await redisCommand(sock, ['PING']).catch(() => '')) === '+PONG') break;
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error('redis-server did not start');
    }
    await sleep(20);
  }
  return { url: `unix://${sock}`, sock, pid: proc.pid, stop };
}

/** Send one command to the server at @p sock; resolves to the first reply line. */
function redisCommand(sock, args) {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock);
    let buf = '';
    c.on('error', reject);
    c.on('data', (d) => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        c.end();
        resolve(buf.slice(0, i));
      }
    });
    let req = `*${args.length}\r\n`;
    for (const a of args) req += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    c.write(req);
  });
}

module.exports = { SOURCE_ROOT, rng, SEED, python, sleep, startRedis, redisCommand };
