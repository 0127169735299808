/* The example file provider across processes: N forked children contend for one name; inside
 * each critical section a child read-modify-writes a plain counter file (no other locking) and
 * checks that the fence it holds is above the last fence written there. Exit 0 only if the
 * count is exact and fences never went backwards. Children create their own provider after
 * fork() (DESIGN.md: providers do not survive fork). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openfault/lock.h>

#include "file-provider.h"

enum { CHILDREN = 4, ROUNDS = 150 };

static int read_pair(const char *path, uint64_t *count, uint64_t *fence)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%" SCNu64 " %" SCNu64, count, fence) == 2;
    fclose(f);
    return ok ? 0 : -1;
}

static int write_pair(const char *path, uint64_t count, uint64_t fence)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "%" PRIu64 " %" PRIu64 "\n", count, fence);
    return fclose(f) == 0 ? 0 : -1;
}

static int child(const char *dir, const char *data)
{
    of_lock_provider *p = NULL;
    if (file_provider_create(dir, &p) != OF_OK)
        return 10;
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 30000;
    o.wait_ms = -1;
    int bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        of_lock *l = NULL;
        int rc = of_lock_acquire(p, "shared", 6, &o, &l);
        if (rc != OF_OK) {
            fprintf(stderr, "acquire: %s\n", of_strerror(rc));
            bad++;
            continue;
        }
        uint64_t count = 0, last = 0, fence = 0;
        of_lock_fence(l, &fence);
        if (read_pair(data, &count, &last) != 0 || fence <= last)
            bad++;
        if (write_pair(data, count + 1, fence) != 0)
            bad++;
        if (of_lock_release(l) != OF_OK)
            bad++;
    }
    of_lock_provider_destroy(p);
    return bad ? 1 : 0;
}

int main(void)
{
    char dir[] = "/tmp/of-file-xproc-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char data[512];
    snprintf(data, sizeof data, "%s/data", dir);
    if (write_pair(data, 0, 0) != 0)
        return 1;
    pid_t pids[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(child(dir, data));
    }
    int failed = 0;
    for (int i = 0; i < CHILDREN; i++) {
        int st = 0;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed++;
    }
    uint64_t count = 0, fence = 0;
    int ok = read_pair(data, &count, &fence) == 0 && count == (uint64_t)CHILDREN * ROUNDS;
    printf("%d children x %d rounds: count %" PRIu64 ", last fence %" PRIu64 ", %d child(ren) failed\n",
           CHILDREN, ROUNDS, count, fence, failed);
    char path[600];
    snprintf(path, sizeof path, "%s/fence.counter", dir);
    unlink(path);
    unlink(data);
    /* No lease file may remain: the directory must now be empty. */
    int left = rmdir(dir) != 0;
    if (left)
        fprintf(stderr, "lease files left behind in %s\n", dir);
    return ok && !failed && !left ? 0 : 1;
}
