'use strict';
// Loading libopenfault through koffi, the error classes, and argument helpers shared by the
// modules. Every C prototype is declared in full (koffi converts and range-checks what it can;
// the helpers below check what it cannot, such as a negative number passed as a uint64_t, which
// koffi would wrap).

const path = require('path');

let koffi;
try {
  koffi = require('koffi');
} catch (e) {
  const err = new Error(`openfault: cannot load koffi (${e.message}); install it with ` +
                        '`npm install koffi@2` next to your application');
  err.code = 'ERR_OPENFAULT_KOFFI';
  throw err;
}

const SOVERSION = 0;

// $OPENFAULT_LIBRARY (a path) wins and is the only candidate when set, so a wrong setting is
// reported instead of silently loading another copy. Otherwise the soname through the dynamic
// loader's search path, then the places `meson install` puts it under the default prefix.
function candidates() {
  const env = process.env.OPENFAULT_LIBRARY;
  if (env) return [{ what: `$OPENFAULT_LIBRARY=${env}`, file: env }];
  const soname = `libopenfault.so.${SOVERSION}`;
  const out = [{ what: `${soname} (dynamic loader search path)`, file: soname }];
  const multiarch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch];
  const dirs = ['/usr/local/lib', '/usr/local/lib64'];
  if (multiarch) dirs.push(`/usr/local/lib/${multiarch}`);
  for (const d of dirs) out.push({ what: path.join(d, soname), file: path.join(d, soname) });
  return out;
}

function loadLibrary() {
  const tried = [];
  for (const c of candidates()) {
    try {
      return koffi.load(c.file);
    } catch (e) {
      tried.push(`${c.what}: ${e.message}`);
    }
  }
  const err = new Error('openfault: libopenfault was not found. Tried:\n  ' + tried.join('\n  ') +
                        '\nSet OPENFAULT_LIBRARY to the path of libopenfault.so.0, or install ' +
                        'the library where the dynamic loader finds it (ldconfig).');
  err.code = 'ERR_OPENFAULT_LIBRARY';
  err.tried = tried;
  throw err;
}

const lib = loadLibrary();

const strerror = lib.func('const char *of_strerror(int status)');
const statusName = lib.func('const char *of_status_name(int status)');
const lastErrorDetail = lib.func('const char *of_last_error_detail(void)');

// ---------------------------------------------------------------------------------------------
// Errors: one class per status, all under OpenfaultError.
// ---------------------------------------------------------------------------------------------

/** A libopenfault call failed, or the binding refused an argument before calling C (then the
 *  status is OF_ERR_INVALID). `status` is the negative code, `code` its symbol ("OF_ERR_BUSY"),
 *  `detail` the library's detail text for the failed call ("" when there is none). */
class OpenfaultError extends Error {
  constructor(status, detail = '', context = '') {
    const code = statusName(status);
    let msg = `${strerror(status)} (${code})`;
    if (detail) msg += `: ${detail}`;
    if (context) msg = `${context}: ${msg}`;
    super(msg);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }

  /** The error object for @p status (an instance of its subclass). */
  static fromStatus(status, detail = '', context = '') {
    const Cls = byStatus.get(status) || OpenfaultError;
    return new Cls(status, detail, context);
  }
}

const STATUS_CLASSES = [
  [-1, 'InvalidError'], [-2, 'NoMemoryError'], [-3, 'NotFoundError'], [-4, 'ExistsError'],
  [-5, 'EmptyError'], [-6, 'NoSpaceError'], [-7, 'BusyError'], [-8, 'TimeoutError'],
  [-9, 'NotOwnerError'], [-10, 'LostError'], [-11, 'UnavailableError'],
  [-12, 'UnknownOutcomeError'], [-13, 'AuthError'], [-14, 'ProtocolError'],
  [-15, 'NotSupportedError'], [-16, 'AbiError'],
];
const byStatus = new Map();
const errors = { OpenfaultError };
for (const [status, name] of STATUS_CLASSES) {
  // A named class per status, so stack traces and `err.name` say what happened.
  const Cls = { [name]: class extends OpenfaultError {} }[name];
  Object.defineProperty(Cls.prototype, 'name', { value: name, configurable: true });
  byStatus.set(status, Cls);
  errors[name] = Cls;
}
Object.defineProperty(OpenfaultError.prototype, 'name', { value: 'OpenfaultError', configurable: true });

const STATUS = {
  OK: 0, INVALID: -1, NOMEM: -2, NOT_FOUND: -3, EXISTS: -4, EMPTY: -5, NOSPACE: -6, BUSY: -7,
  TIMEOUT: -8, NOT_OWNER: -9, LOST: -10, UNAVAILABLE: -11, UNKNOWN: -12, AUTH: -13,
  PROTOCOL: -14, NOT_SUPPORTED: -15, ABI: -16,
};

/** Throw the error for a negative status of a call made on this thread; return it otherwise. */
function check(rc, context) {
  if (rc < 0) throw OpenfaultError.fromStatus(rc, lastErrorDetail(), context);
  return rc;
}

/** The binding's own argument check failed: an InvalidError, before anything reached C. */
function invalid(message) {
  return new errors.InvalidError(STATUS.INVALID, message);
}

// ---------------------------------------------------------------------------------------------
// Argument helpers
// ---------------------------------------------------------------------------------------------
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** A string (UTF-8) or bytes (Buffer, any TypedArray, DataView, ArrayBuffer) as a Buffer that
 *  shares memory with the input when it already is bytes. */
function asBytes(value, what) {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  throw invalid(`${what} must be a string or bytes (Buffer, Uint8Array), got ${describe(value)}`);
}

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an Array';
  if (typeof v === 'object') return (v.constructor && v.constructor.name) || 'an object';
  return typeof v;
}

/** A uint64 argument: a BigInt or a non-negative safe integer Number, as a BigInt. */
function u64(value, what) {
  let v = value;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw invalid(`${what} must be an integer in 0..2^64-1 (a BigInt beyond 2^53), got ${v}`);
    }
    v = BigInt(v);
  } else if (typeof v !== 'bigint') {
    throw invalid(`${what} must be a BigInt or an integer Number, got ${describe(value)}`);
  }
  if (v < 0n || v > U64_MAX) throw invalid(`${what} ${v} is outside 0..2^64-1`);
  return v;
}

/** A count, position or other size_t argument that JavaScript can hold: a non-negative safe
 *  integer (a BigInt is accepted too). */
function size(value, what) {
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(value);
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${what} must be a non-negative integer, got ${typeof value === 'number' ? value : describe(value)}`);
  }
  return value;
}

/** A uint32 argument. */
function u32(value, what, min = 0) {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 0xffffffff) {
    throw invalid(`${what} must be an integer in ${min}..4294967295, got ${typeof value === 'number' ? value : describe(value)}`);
  }
  return value;
}

const version = lib.func('const char *of_version_string(void)');
const versionNumber = lib.func('unsigned int of_version_number(void)');
const hash64Fn = lib.func('uint64_t of_hash64(const void *data, size_t len, uint64_t seed)');
const clockNs = lib.func('int64_t of_clock_monotonic_ns(void)');

/** The library's 64-bit key hash (XXH3 with a seed) as a BigInt. */
function hash64(data, seed = 0n) {
  const b = asBytes(data, 'data');
  return BigInt(hash64Fn(b, b.length, u64(seed, 'seed')));
}

module.exports = {
  koffi, lib, check, invalid, asBytes, describe, u64, size, u32, errors, STATUS, OpenfaultError,
  lastErrorDetail, strerror, statusName, U64_MAX, I64_MIN, I64_MAX,
  version: () => version(), versionNumber: () => versionNumber(), hash64,
  clockNs: () => BigInt(clockNs()),
};
