/* Runs the conformance suite against the example file-lock provider (examples/file-provider.c),
 * each case in a fresh directory; afterwards no lease file may be left behind (idle names leave
 * nothing), only the fence counter. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openfault/lock.h>

#include "conformance.h"
#include "file-provider.h"

typedef struct file_ctx {
    char dir[256];
    int leftovers;
} file_ctx;

static int create_file(void *ctx, of_lock_provider **out)
{
    file_ctx *c = ctx;
    const char *tmp = getenv("TMPDIR");
    snprintf(c->dir, sizeof c->dir, "%s/of-conformance-file-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(c->dir))
        return OF_ERR_UNAVAILABLE;
    return file_provider_create(c->dir, out);
}

static void destroy_file(void *ctx, of_lock_provider *p)
{
    file_ctx *c = ctx;
    of_lock_provider_destroy(p);
    DIR *d = opendir(c->dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strcmp(e->d_name, "fence.counter") != 0) {
            fprintf(stderr, "# left behind in %s: %s\n", c->dir, e->d_name);
            c->leftovers++;
        }
        char path[512];
        snprintf(path, sizeof path, "%s/%s", c->dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(c->dir);
}

static int lapse_file(void *ctx, of_lock_provider *p, const void *name, size_t len)
{
    (void)p;
    file_ctx *c = ctx;
    return file_provider_force_lapse(c->dir, name, len);
}

int main(int argc, char **argv)
{
    static file_ctx ctx;
    const of_conformance_target targets[] = {{
        .struct_size = sizeof(of_conformance_target),
        .name = "file",
        .ctx = &ctx,
        .create = create_file,
        .destroy = destroy_file,
        .force_lapse = lapse_file,
        .caps = OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE | OF_LOCK_CAP_SHARED,
        .short_ttl_ms = 200,
    }};
    int rc = of_conformance_main(argc, argv, targets, 1);
    if (ctx.leftovers) {
        fprintf(stderr, "# %d lease file(s) left behind\n", ctx.leftovers);
        return 1;
    }
    return rc;
}
