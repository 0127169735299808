/* Example lock provider: cross-process leases on one host, built only on <openfault/lock.h>.
 *
 * One lease file per name in a directory, read and rewritten under flock():
 *
 *     oflock-lease-1 <token as 32 hex digits> <expiry, CLOCK_MONOTONIC ns> <fence>\n
 *     <the name as hex>\n
 *
 * CLOCK_MONOTONIC is one clock for every process on a host, so an expiry written by one process
 * means the same instant to all of them (not across hosts, nor across a reboot). A lease file is
 * removed as soon as its lease is released or found expired, so idle names leave nothing behind.
 * Fences come from one counter file per directory (`fence.counter`, never removed), so they keep
 * increasing per name although a name's lease file comes and goes. Lock order: lease file, then
 * counter file.
 *
 * A file unlinked while another process waits in flock() on it is detected after the lock is
 * taken (the path no longer leads to the locked inode) and the open is retried. Every blocking
 * step polls with LOCK_NB until the step's deadline, so no call outlives its deadline. */
#include "file-provider.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "oflock-lease-1"
#define COUNTER_FILE "fence.counter"
#define LEASE_MAX (64 + 2 * OF_NAME_MAX + 2)

/* Room for "/" + the 38-byte file name after the directory in a PATH_MAX buffer. */
#define DIR_MAX (PATH_MAX - 64)

typedef struct file_provider {
    char dir[DIR_MAX];
} file_provider;

typedef struct lease {
    int present;
    char token[OF_LOCK_TOKEN_HEX_LEN + 1];
    int64_t expiry;
    uint64_t fence;
} lease;

static void to_hex(const void *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

/* The file name is a 128-bit hash of the name (names are binary and up to 1 KiB); the file also
 * holds the name itself, so a collision is detected rather than shared. */
static void lease_path(const char *dir, const void *name, size_t len, char *out, size_t cap)
{
    unsigned long long h1 = of_hash64(name, len, UINT64_C(0x6f666c6f636b3031));
    unsigned long long h2 = of_hash64(name, len, UINT64_C(0x9e3779b97f4a7c15));
    snprintf(out, cap, "%s/%016llx%016llx.lease", dir, h1, h2);
}

static void nap(void)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

/* Open @p path and take its flock by @p deadline. OF_OK with *out_fd, OF_ERR_NOT_FOUND (no file
 * and !create), or OF_ERR_UNAVAILABLE (I/O error, deadline passed: nothing was changed). */
static int open_locked(const char *path, int create, int64_t deadline, int *out_fd)
{
    for (;;) {
        int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
        if (fd < 0)
            return (errno == ENOENT && !create) ? OF_ERR_NOT_FOUND : OF_ERR_UNAVAILABLE;
        while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) {
                close(fd);
                return OF_ERR_UNAVAILABLE;
            }
            if (of_clock_monotonic_ns() >= deadline) {
                close(fd);
                return OF_ERR_UNAVAILABLE;
            }
            nap();
        }
        struct stat locked, now;
        if (fstat(fd, &locked) == 0 && stat(path, &now) == 0 && locked.st_ino == now.st_ino &&
            locked.st_dev == now.st_dev) {
            *out_fd = fd;
            return OF_OK;
        }
        /* Removed (or replaced) while we waited: that file is no longer the lease. */
        close(fd);
        if (!create)
            return OF_ERR_NOT_FOUND;
    }
}

static int read_lease(int fd, const void *name, size_t name_len, lease *out)
{
    char buf[LEASE_MAX + 1];
    ssize_t n = pread(fd, buf, LEASE_MAX, 0);
    if (n < 0)
        return OF_ERR_UNAVAILABLE;
    memset(out, 0, sizeof *out);
    if (n == 0)
        return OF_OK;
    buf[n] = '\0';
    char magic[32], namehex[2 * OF_NAME_MAX + 1], want[2 * OF_NAME_MAX + 1];
    if (sscanf(buf, "%31s %32s %" SCNd64 " %" SCNu64 " %2048s", magic, out->token, &out->expiry,
               &out->fence, namehex) != 5 ||
        strcmp(magic, MAGIC) != 0)
        return OF_ERR_PROTOCOL;
    to_hex(name, name_len, want);
    if (strcmp(namehex, want) != 0)
        return OF_ERR_PROTOCOL; /* a 128-bit hash collision, or a foreign file */
    out->present = 1;
    return OF_OK;
}

static int write_lease(int fd, const void *name, size_t name_len, const lease *l)
{
    char buf[LEASE_MAX + 1], namehex[2 * OF_NAME_MAX + 1];
    to_hex(name, name_len, namehex);
    int n = snprintf(buf, sizeof buf, "%s %s %" PRId64 " %" PRIu64 "\n%s\n", MAGIC, l->token,
                     l->expiry, l->fence, namehex);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        return OF_ERR_UNKNOWN;
    return OF_OK;
}

/* Next fence from the directory's counter file. */
static int next_fence(const char *dir, int64_t deadline, uint64_t *out)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, COUNTER_FILE);
    int fd;
    int rc = open_locked(path, 1, deadline, &fd);
    if (rc != OF_OK)
        return OF_ERR_UNAVAILABLE;
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    uint64_t v = 0;
    if (n < 0 || (n > 0 && sscanf(buf, "%" SCNu64, &v) != 1)) {
        close(fd);
        return n < 0 ? OF_ERR_UNAVAILABLE : OF_ERR_PROTOCOL;
    }
    if (v >= OF_LOCK_FENCE_MAX) {
        close(fd);
        return OF_ERR_PROTOCOL;
    }
    v++;
    int len = snprintf(buf, sizeof buf, "%020" PRIu64 "\n", v);
    rc = pwrite(fd, buf, (size_t)len, 0) == len ? OF_OK : OF_ERR_UNAVAILABLE;
    close(fd);
    if (rc == OF_OK)
        *out = v;
    return rc;
}

static int fp_try_acquire(void *self, const void *name, size_t name_len, const of_lock_token *token,
                          uint32_t ttl_ms, int64_t deadline_ns, uint64_t *out_fence,
                          int64_t *out_valid_until_ns, uint32_t *out_retry_after_ms)
{
    /* The engine's pre-set lease end is right for a file lease; no retry-after hint is given. */
    (void)out_valid_until_ns, (void)out_retry_after_ms;
    file_provider *fp = self;
    char path[PATH_MAX];
    lease_path(fp->dir, name, name_len, path, sizeof path);
    int fd;
    int rc = open_locked(path, 1, deadline_ns, &fd);
    if (rc != OF_OK)
        return rc;
    lease cur;
    rc = read_lease(fd, name, name_len, &cur);
    const int was_empty = rc == OF_OK && !cur.present;
    if (rc == OF_OK && cur.present && cur.expiry > of_clock_monotonic_ns())
        rc = OF_ERR_BUSY;
    uint64_t fence = 0;
    if (rc == OF_OK)
        rc = next_fence(fp->dir, deadline_ns, &fence);
    if (rc == OF_OK) {
        lease mine = {1, {0}, 0, fence};
        of_lock_token_to_hex(token, mine.token);
        /* Taken now: the lease ends ttl from now, which is no earlier than the engine's
         * valid_until (measured from before this call). */
        mine.expiry = of_clock_monotonic_ns() + (int64_t)ttl_ms * 1000000;
        if (write_lease(fd, name, name_len, &mine) != OF_OK) {
            /* Half-written: remove it, so nobody holds it (an expired lease was all it held). */
            rc = unlink(path) == 0 ? OF_ERR_UNAVAILABLE : OF_ERR_UNKNOWN;
        } else {
            *out_fence = fence;
        }
    } else if (was_empty) {
        unlink(path); /* we created it and could not fill it: leave nothing behind */
    }
    close(fd);
    return rc;
}

/* Shared part of release and extend: open and check that @p token holds a live lease. On
 * OF_OK the file stays open and locked in *out_fd. */
static int open_own(file_provider *fp, const void *name, size_t name_len,
                    const of_lock_token *token, int64_t deadline_ns, char *path, size_t cap,
                    int *out_fd, lease *out)
{
    lease_path(fp->dir, name, name_len, path, cap);
    int fd;
    int rc = open_locked(path, 0, deadline_ns, &fd);
    if (rc == OF_ERR_NOT_FOUND)
        return OF_ERR_NOT_OWNER;
    if (rc != OF_OK)
        return rc;
    rc = read_lease(fd, name, name_len, out);
    if (rc != OF_OK) {
        close(fd);
        return rc;
    }
    char mine[OF_LOCK_TOKEN_HEX_LEN + 1];
    of_lock_token_to_hex(token, mine);
    int live = out->present && out->expiry > of_clock_monotonic_ns();
    if (!live || strcmp(out->token, mine) != 0) {
        if (!live)
            unlink(path); /* idle: empty or expired */
        close(fd);
        return OF_ERR_NOT_OWNER;
    }
    *out_fd = fd;
    return OF_OK;
}

static int fp_release(void *self, const void *name, size_t name_len, const of_lock_token *token,
                      int64_t deadline_ns)
{
    char path[PATH_MAX];
    int fd;
    lease cur;
    int rc = open_own(self, name, name_len, token, deadline_ns, path, sizeof path, &fd, &cur);
    if (rc != OF_OK)
        return rc;
    /* Unlink while holding the flock: a process waiting on this inode will see it is gone. */
    rc = unlink(path) == 0 ? OF_OK : OF_ERR_UNAVAILABLE;
    close(fd);
    return rc;
}

static int fp_extend(void *self, const void *name, size_t name_len, const of_lock_token *token,
                     uint32_t ttl_ms, int64_t deadline_ns, int64_t *out_valid_until_ns)
{
    (void)out_valid_until_ns; /* the engine's pre-set lease end is right for a file lease */
    char path[PATH_MAX];
    int fd;
    lease cur;
    int rc = open_own(self, name, name_len, token, deadline_ns, path, sizeof path, &fd, &cur);
    if (rc != OF_OK)
        return rc;
    cur.expiry = of_clock_monotonic_ns() + (int64_t)ttl_ms * 1000000;
    rc = write_lease(fd, name, name_len, &cur);
    close(fd);
    return rc;
}

static void fp_destroy(void *self)
{
    free(self);
}

static const of_lock_provider_ops file_ops = {
    .abi_version = OF_LOCK_PROVIDER_ABI,
    .struct_size = sizeof(of_lock_provider_ops),
    .name = "file",
    .caps = OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE | OF_LOCK_CAP_SHARED,
    .try_acquire = fp_try_acquire,
    .release = fp_release,
    .extend = fp_extend,
    .destroy = fp_destroy,
};

int file_provider_create(const char *dir, of_lock_provider **out_provider)
{
    struct stat st;
    if (!dir || !out_provider || strlen(dir) >= DIR_MAX || stat(dir, &st) != 0 ||
        !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0)
        return OF_ERR_INVALID;
    file_provider *fp = calloc(1, sizeof *fp);
    if (!fp)
        return OF_ERR_NOMEM;
    snprintf(fp->dir, sizeof fp->dir, "%s", dir);
    int rc = of_lock_provider_create(&file_ops, fp, out_provider);
    if (rc != OF_OK)
        free(fp);
    return rc;
}

int file_provider_force_lapse(const char *dir, const void *name, size_t name_len)
{
    char path[PATH_MAX];
    lease_path(dir, name, name_len, path, sizeof path);
    int fd;
    int rc = open_locked(path, 0, of_clock_monotonic_ns() + INT64_C(1000000000), &fd);
    if (rc != OF_OK)
        return rc;
    lease cur;
    rc = read_lease(fd, name, name_len, &cur);
    if (rc == OF_OK && !cur.present)
        rc = OF_ERR_NOT_FOUND;
    if (rc == OF_OK) {
        cur.expiry = of_clock_monotonic_ns() - 1;
        rc = write_lease(fd, name, name_len, &cur) == OF_OK ? OF_OK : OF_ERR_UNAVAILABLE;
    }
    close(fd);
    return rc;
}
