/* Shows: a short tour of libopenfault's three parts.
 *   1. the consistent-hash ring: route keys, add a node and count how few keys move, pins, replicas
 *   2. the bisect kernels and index, next to the Python calls they mirror
 *   3. locks: threads contending on an in-process lock with fencing tokens, then (when
 *      redis-server is on PATH) two processes sharing a Redis lock on a private server.
 * Each section first says in a line or two what it shows (unindented), then prints its results
 * (indented); the tour ends with where to go next. Fixed seeds make every ring and bisect line
 * exact; each lock part ends with one summary line. */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openfault/openfault.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != OF_OK) {                                                                        \
            fprintf(stderr, "%s:%d: %s: %s %s\n", __FILE__, __LINE__, #call, of_strerror(rc_),    \
                    of_last_error_detail());                                                       \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static const char *const node_names[] = {"cache-a", "cache-b", "cache-c", "cache-d", "cache-e",
                                         "cache-f"};

static void demo_ring(void)
{
    printf("== ring: consistent hashing (of_ring_*, docs/ring.md)\n"
           "Five cache nodes share the keys. Adding a sixth moves only the keys it takes over\n"
           "(ideally 1/6); a pin sends one key to a chosen node; replicas are the next nodes.\n");
    of_ring_options opts;
    CHECK(of_ring_options_init(&opts, sizeof opts));
    opts.seed = 42;
    of_ring *ring = NULL;
    CHECK(of_ring_create(&opts, &ring));
    for (uint64_t i = 0; i < 5; i++)
        CHECK(of_ring_add(ring, node_names[i], strlen(node_names[i]), 1, i));

    const char *keys[] = {"user:1", "user:2", "user:3", "cart:17", "session:abc"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        uint64_t tag;
        CHECK(of_ring_lookup(ring, keys[i], strlen(keys[i]), &tag, NULL, 0, NULL));
        printf("  %-12s -> %s\n", keys[i], node_names[tag]);
    }

    /* Route 10,000 keys, add a sixth node, route again: only keys that the new node now owns move. */
    enum { KEYS = 10000 };
    static uint64_t before[KEYS];
    char key[32];
    for (int i = 0; i < KEYS; i++) {
        int n = snprintf(key, sizeof key, "key-%d", i);
        CHECK(of_ring_lookup(ring, key, (size_t)n, &before[i], NULL, 0, NULL));
    }
    CHECK(of_ring_add(ring, node_names[5], strlen(node_names[5]), 1, 5));
    int moved = 0, moved_elsewhere = 0;
    for (int i = 0; i < KEYS; i++) {
        int n = snprintf(key, sizeof key, "key-%d", i);
        uint64_t now;
        CHECK(of_ring_lookup(ring, key, (size_t)n, &now, NULL, 0, NULL));
        if (now != before[i]) {
            moved++;
            moved_elsewhere += (now != 5);
        }
    }
    printf("  add cache-f: %d of %d keys moved (%.1f%%, ideal %.1f%%), all to cache-f: %s\n", moved,
           KEYS, 100.0 * moved / KEYS, 100.0 / 6, moved_elsewhere == 0 ? "yes" : "no");

    /* Pins win over hashing; replicas are the next distinct nodes clockwise. */
    CHECK(of_ring_pin(ring, "user:1", 6, "cache-e", 7));
    uint64_t tag, replicas[3];
    CHECK(of_ring_lookup(ring, "user:1", 6, &tag, NULL, 0, NULL));
    printf("  pin user:1 to cache-e -> %s\n", node_names[tag]);
    CHECK(of_ring_lookup_n(ring, "cart:17", 7, 3, replicas));
    printf("  replicas of cart:17: %s, %s, %s\n", node_names[replicas[0]], node_names[replicas[1]],
           node_names[replicas[2]]);
    of_ring_destroy(ring);
}

static void demo_bisect(void)
{
    printf("== bisect: Python's bisect module in C (of_bisect_*, of_index_*, docs/bisect.md)\n"
           "The same answers as Python's bisect calls, on a sorted uint64_t array; then an index:\n"
           "sorted keys with payloads, rank and select, and a frozen read-optimised copy.\n");
    uint64_t a[8] = {1, 2, 4, 4, 8};
    size_t count = 5, pos;
    CHECK(of_bisect_left_u64(a, count, 4, 0, count, &pos));
    printf("  bisect_left([1, 2, 4, 4, 8], 4)  = %zu\n", pos);
    CHECK(of_bisect_right_u64(a, count, 4, 0, count, &pos));
    printf("  bisect_right([1, 2, 4, 4, 8], 4) = %zu\n", pos);
    CHECK(of_bisect_left_u64(a, count, 4, 3, count, &pos));
    printf("  bisect_left(a, 4, lo=3)          = %zu\n", pos);
    CHECK(of_insort_left_u64(a, 8, &count, 3, 0, count, &pos));
    printf("  insort_left(a, 3) -> [%" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64
           ", %" PRIu64 "] at %zu\n",
           a[0], a[1], a[2], a[3], a[4], a[5], pos);
    int full = of_insort_left_u64(a, 6, &count, 9, 0, count, NULL);
    printf("  insort into a full array        -> %s\n", of_status_name(full));

    /* An index: sorted keys with payloads, rank/select, and a frozen read-optimised copy. */
    const uint64_t keys[] = {50, 10, 40, 20, 30};
    of_index *index = NULL;
    CHECK(of_index_create(0, &index));
    CHECK(of_index_build(index, keys, NULL, 5)); /* payload = input position (an argsort) */
    uint64_t key, payload;
    CHECK(of_index_select(index, 0, &key, &payload));
    printf("  index of [50, 10, 40, 20, 30]: smallest %" PRIu64 " (input #%" PRIu64 ")", key,
           payload);
    size_t rank;
    CHECK(of_index_rank(index, 35, &rank));
    printf(", rank(35) = %zu", rank);
    of_index_frozen *frozen = NULL;
    CHECK(of_index_freeze(index, &frozen));
    CHECK(of_index_frozen_lower_bound(frozen, 35, &pos));
    printf(", frozen lower_bound(35) = %zu\n", pos);
    of_index_frozen_destroy(frozen);
    of_index_destroy(index);
}

/* ---- local lock: threads contending, fences checked inside the critical section ---- */

enum { LOCAL_THREADS = 4, LOCAL_ROUNDS = 1000 };

struct local_shared {
    of_lock_provider *provider;
    uint64_t last_fence; /* only touched while holding the lock */
    long counter;        /* deliberately non-atomic: the lock is what protects it */
    int fences_ok;
};

static void *local_worker(void *arg)
{
    struct local_shared *s = arg;
    of_lock_options opts;
    CHECK(of_lock_options_init(&opts, sizeof opts));
    opts.ttl_ms = 10000;
    opts.wait_ms = -1; /* wait as long as it takes */
    for (int i = 0; i < LOCAL_ROUNDS; i++) {
        of_lock *lock = NULL;
        CHECK(of_lock_acquire(s->provider, "inventory", 9, &opts, &lock));
        uint64_t fence;
        CHECK(of_lock_fence(lock, &fence));
        if (fence <= s->last_fence)
            s->fences_ok = 0;
        s->last_fence = fence;
        s->counter++;
        CHECK(of_lock_release(lock));
    }
    return NULL;
}

static void demo_local_lock(void)
{
    printf("== locks: in-process provider (of_lock_*, docs/locks.md)\n"
           "A held lock refuses a second holder at once; then 4 threads take one lock in turn, and\n"
           "each holder's fencing token is larger than the last one's.\n");
    struct local_shared s = {0};
    s.fences_ok = 1;
    CHECK(of_lock_local_create(&s.provider));
    of_lock *held = NULL;
    CHECK(of_lock_acquire(s.provider, "report", 6, NULL, &held));
    of_lock *second = NULL;
    int busy = of_lock_acquire(s.provider, "report", 6, NULL, &second);
    printf("  second acquire of a held lock (wait 0) -> %s\n", of_status_name(busy));
    CHECK(of_lock_release(held));

    pthread_t threads[LOCAL_THREADS];
    for (int i = 0; i < LOCAL_THREADS; i++)
        if (pthread_create(&threads[i], NULL, local_worker, &s) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(1);
        }
    for (int i = 0; i < LOCAL_THREADS; i++)
        pthread_join(threads[i], NULL);
    of_lock_provider_destroy(s.provider);
    int ok = s.fences_ok && s.counter == LOCAL_THREADS * LOCAL_ROUNDS;
    printf("local: %d threads, %ld acquisitions, fences strictly increasing: %s\n", LOCAL_THREADS,
           s.counter, ok ? "yes" : "no");
    if (!ok)
        exit(1);
}

/* ---- Redis: a private server on a unix socket, two processes sharing one lock ---- */

enum { REDIS_PROCS = 2, REDIS_ROUNDS = 100 };

static int redis_child(const char *url, int out_fd)
{
    /* After fork() a child creates its own provider: connections and threads don't survive. */
    of_lock_provider *provider = NULL;
    CHECK(of_lock_redis_create_url(url, &provider));
    of_lock_options opts;
    CHECK(of_lock_options_init(&opts, sizeof opts));
    opts.ttl_ms = 5000;
    opts.wait_ms = 30000;
    for (int i = 0; i < REDIS_ROUNDS; i++) {
        of_lock *lock = NULL;
        CHECK(of_lock_acquire(provider, "nightly-job", 11, &opts, &lock));
        uint64_t fence;
        CHECK(of_lock_fence(lock, &fence));
        if (write(out_fd, &fence, sizeof fence) != (ssize_t)sizeof fence)
            return 1;
        CHECK(of_lock_release(lock));
    }
    of_lock_provider_destroy(provider);
    return 0;
}

static void demo_redis_lock(void)
{
    printf("== locks: Redis provider (of_lock_redis_*, docs/redis.md)\n"
           "Two processes share one lock through a private redis-server on a unix socket; their\n"
           "fencing tokens stay strictly increasing across both.\n");
    if (!of_lock_redis_available()) {
        printf("redis: skipped (this build has no hiredis)\n");
        return;
    }
    if (system("command -v redis-server >/dev/null 2>&1") != 0) {
        printf("redis: skipped (redis-server is not on PATH)\n");
        return;
    }
    char dir[] = "/tmp/openfault-demo-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    char sock[128], url[160];
    snprintf(sock, sizeof sock, "%s/redis.sock", dir);
    snprintf(url, sizeof url, "unix://%s", sock);

    pid_t server = fork();
    if (server == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
               "--appendonly", "no", "--dir", dir, (char *)NULL);
        _exit(127);
    }
    /* Wait (up to 5 s) for the socket to appear. */
    struct stat st;
    for (int i = 0; i < 500 && stat(sock, &st) != 0; i++)
        usleep(10000);

    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t kids[REDIS_PROCS];
    for (int k = 0; k < REDIS_PROCS; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            close(fds[0]);
            _exit(redis_child(url, fds[1]));
        }
    }
    close(fds[1]);
    uint64_t fences[REDIS_PROCS * REDIS_ROUNDS];
    size_t got = 0;
    while (got < sizeof fences / sizeof fences[0] &&
           read(fds[0], &fences[got], sizeof fences[0]) == (ssize_t)sizeof fences[0])
        got++;
    close(fds[0]);
    int kids_ok = 1;
    for (int k = 0; k < REDIS_PROCS; k++) {
        int status;
        waitpid(kids[k], &status, 0);
        kids_ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    unlink(sock);
    rmdir(dir);

    /* Fences arrive in acquisition order through the pipe (each is written while the lock is
     * held), so across both processes they must be strictly increasing. */
    int increasing = got == sizeof fences / sizeof fences[0];
    for (size_t i = 1; i < got; i++)
        increasing &= fences[i] > fences[i - 1];
    printf("redis: %d processes, %zu acquisitions, fences strictly increasing: %s\n", REDIS_PROCS,
           got, kids_ok && increasing ? "yes" : "no");
    if (!kids_ok || !increasing)
        exit(1);
}

static void demo_next(void)
{
    /* check-demo.sh checks that every path named here exists in the source tree. */
    printf("== next (paths from the repository root)\n"
           "  docs/getting-started.md  build, install, a first C program, Python, oflock\n"
           "  docs/consuming.md        use the library from your build: pkg-config, CMake, meson\n"
           "  examples/                short programs, one task each (ring-lookup.c, lock-redis.c)\n"
           "  docs/tools.md            the tools: build/tools/ring-route, build/tools/oflock\n"
           "  docs/locks.md            leases and fencing tokens, before a lock guards your data\n"
           "  docs/api.md              the rules every call follows"
           " (the reference: meson compile -C build docs)\n"
           "  scripts/run-tests        the whole test suite\n");
}

int main(void)
{
    printf("libopenfault %s: a tour of the consistent-hash ring, the bisect index and locks.\n",
           of_version_string());
    demo_ring();
    demo_bisect();
    demo_local_lock();
    demo_redis_lock();
    demo_next();
    return 0;
}
