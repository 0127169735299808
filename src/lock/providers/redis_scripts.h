/* The Lua scripts of the Redis provider and their SHA-1 digests (EVALSHA). The digests are
 * checked against SCRIPT LOAD by the redis test suite; change both together. */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_REDIS_SCRIPTS_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_REDIS_SCRIPTS_H

/* Acquire: SET NX PX the token; on success INCR the fencing counter (a missing counter starts
 * from the server's TIME in microseconds, so fences keep increasing across a restart without
 * persistence while the server clock never steps back) and give it a long expiry so idle names
 * do not keep memory forever. Reply {1, fence} or, when held, {0, PTTL of the holder}. If the
 * counter cannot be incremented (WRONGTYPE, ...) the new lock is deleted and the error returned:
 * a failed acquire never leaves a lock behind. */
#define OFI_REDIS_ACQUIRE_SHA "fcb2ad97500adc63a53605abc8e513ab84c017bf"
#define OFI_REDIS_ACQUIRE_LUA \
    "-- openfault acquire v1: KEYS lock, fence; ARGV token, ttl_ms, fence_ttl_ms\n" \
    "if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n" \
    "  return {0, redis.call('pttl', KEYS[1])}\n" \
    "end\n" \
    "local f = redis.pcall('incr', KEYS[2])\n" \
    "if type(f) == 'table' then\n" \
    "  redis.call('del', KEYS[1])\n" \
    "  return f\n" \
    "end\n" \
    "if f == 1 then\n" \
    "  local t = redis.call('time')\n" \
    "  f = tonumber(t[1]) * 1000000 + tonumber(t[2])\n" \
    "  redis.call('set', KEYS[2], string.format('%.0f', f))\n" \
    "end\n" \
    "if f > 9007199254740991 then\n" \
    "  redis.call('del', KEYS[1])\n" \
    "  return redis.error_reply('ERR fencing counter is above 2^53-1')\n" \
    "end\n" \
    "redis.call('pexpire', KEYS[2], ARGV[3])\n" \
    "return {1, f}\n"

/* Release: compare-and-delete. Reply 1 deleted, 0 not ours. */
#define OFI_REDIS_RELEASE_SHA "1f1482daaaf21c8f3b7a4e8b43b5f19875a422bf"
#define OFI_REDIS_RELEASE_LUA \
    "-- openfault release v1: KEYS lock; ARGV token\n" \
    "if redis.call('get', KEYS[1]) == ARGV[1] then\n" \
    "  return redis.call('del', KEYS[1])\n" \
    "end\n" \
    "return 0\n"

/* Extend: compare-and-PEXPIRE. Reply 1 extended, 0 not ours. */
#define OFI_REDIS_EXTEND_SHA "9a97aa7ffe0018041693655efa47d979d2c9eeff"
#define OFI_REDIS_EXTEND_LUA \
    "-- openfault extend v1: KEYS lock; ARGV token, ttl_ms\n" \
    "if redis.call('get', KEYS[1]) == ARGV[1] then\n" \
    "  return redis.call('pexpire', KEYS[1], ARGV[2])\n" \
    "end\n" \
    "return 0\n"

/* Redlock's second round: raise the fencing counter to at least ARGV[2] (the fence the client
 * chose: the largest its granting servers gave), but only while ARGV[1] still holds the lock, so
 * the raise is ordered before any later owner's INCR on this server. Reply 1 raised (or already
 * at least that high), 0 the lock is not ours (nothing changed). */
#define OFI_REDLOCK_RAISE_SHA "5f67cbfdb210ce7d598edb7c0e3320d7b4cff7b4"
#define OFI_REDLOCK_RAISE_LUA \
    "-- openfault redlock fence raise v1: KEYS lock, fence; ARGV token, fence, fence_ttl_ms\n" \
    "if redis.call('get', KEYS[1]) ~= ARGV[1] then\n" \
    "  return 0\n" \
    "end\n" \
    "local c = tonumber(redis.call('get', KEYS[2]) or '0')\n" \
    "if not c or c < tonumber(ARGV[2]) then\n" \
    "  redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3])\n" \
    "end\n" \
    "return 1\n"

/* Fencing counters expire after 30 days without an acquisition. */
#define OFI_REDIS_FENCE_TTL_MS "2592000000"

#endif
