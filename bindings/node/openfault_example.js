// Using libopenfault from Node.js through this package: a consistent-hash ring and a local lock
// with its fencing token.
//   OPENFAULT_LIBRARY=/path/to/libopenfault.so.0 node openfault_example.js
// (koffi must be installed where Node finds it: `npm install` here, or NODE_PATH.)
'use strict';
const openfault = require('./index.js');

async function main() {
  console.log(`libopenfault ${openfault.version()}`);

  // Ring: a lookup gives back the node as it was added.
  const ring = new openfault.Ring(['cache-a', 'cache-b', 'cache-c'], { vnodes: 256 });
  for (const key of ['user:1', 'user:2', 'user:3']) console.log(`${key} -> ${ring.get(key)}`);
  ring.close();

  // Lock: three acquisitions in a row, each fence larger than the one before. acquire() waits
  // on a worker thread, so the event loop keeps running meanwhile.
  const provider = new openfault.LocalProvider();
  const fences = [];
  for (let i = 0; i < 3; i++) {
    await provider.withLock('node-job', { ttl: 5000, wait: 2000 }, (lock) => {
      fences.push(lock.fence);
    });
  }
  provider.close();
  const increasing = fences.every((f, i) => i === 0 || f > fences[i - 1]);
  console.log(`node: 3 acquisitions, fences strictly increasing: ${increasing ? 'yes' : 'no'}`);
  if (!increasing) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e.message);
  process.exitCode = 1;
});
