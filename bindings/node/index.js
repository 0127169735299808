'use strict';
// openfault: libopenfault for Node.js over koffi (a consistent-hash ring, Python-bisect
// kernels and a sorted index, leased locks with fencing tokens). See README.md.

const native = require('./lib/native');
const { Ring, DEFAULT_VNODES } = require('./lib/ring');
const bisect = require('./lib/bisect');
const lock = require('./lib/lock');

module.exports = {
  version: native.version,
  versionNumber: native.versionNumber,
  hash64: native.hash64,
  monotonicNs: native.clockNs,
  STATUS: native.STATUS,

  Ring,
  DEFAULT_VNODES,

  bisectLeft: bisect.bisectLeft,
  bisectRight: bisect.bisectRight,
  bisect: bisect.bisect,
  insortLeft: bisect.insortLeft,
  insortRight: bisect.insortRight,
  insort: bisect.insort,
  Index: bisect.Index,
  FrozenIndex: bisect.FrozenIndex,

  Lock: lock.Lock,
  LockProvider: lock.LockProvider,
  LocalProvider: lock.LocalProvider,
  RedisProvider: lock.RedisProvider,
  redisAvailable: lock.redisAvailable,
  CAP: lock.CAP,
  TTL_MAX_MS: lock.TTL_MAX_MS,

  ...native.errors,
};
