/*
 * ring-route: shard planning with the consistent-hash ring of <openfault/ring.h>.
 *
 *   ring-route [--ketama[=unweighted]] [--vnodes N] [--seed N] (--nodes FILE | NODE...)
 *              [--stats [--json]] < keys
 *   ring-route [--ketama[=unweighted]] [--vnodes N] [--seed N] --diff OLD_FILE NEW_FILE [< keys]
 *
 * Exit status: 0 ok, 1 bad input (node list, unreadable file, ring error), 2 usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openfault/ring.h>

#define EXIT_BAD_INPUT 1
#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: ring-route [--ketama[=unweighted]] [--vnodes N] [--seed N] (--nodes FILE | NODE...)\n"
    "                  [--stats [--json]] < keys\n"
    "       ring-route [--ketama[=unweighted]] [--vnodes N] [--seed N] --diff OLD_FILE NEW_FILE\n"
    "                  [< keys]\n"
    "\n"
    "Route keys (one per stdin line, \\n or \\r\\n stripped) to nodes of a consistent-hash ring.\n"
    "\n"
    "  NODE            id[=weight] (weight >= 1, default 1); with --ketama host[:port][=weight]\n"
    "                  (port 11211 when absent, IPv6 as [addr]:port, weight 0 counts as 1;\n"
    "                  unweighted ketama ignores weights)\n"
    "  --nodes FILE    read one NODE per line; '#' comment lines and blank lines are skipped\n"
    "  --ketama[=weighted|unweighted]\n"
    "                  libmemcached-compatible ketama placement: weighted (the default,\n"
    "                  MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED) or unweighted\n"
    "                  (MEMCACHED_BEHAVIOR_KETAMA: 100 points per server, one-at-a-time hash)\n"
    "  --vnodes N      virtual nodes per unit of weight (native only, default 1024;\n"
    "                  decimal or 0x hex)\n"
    "  --seed N        hash seed (native only, default 0; decimal or 0x hex)\n"
    "  --stats         instead of routes, print node<TAB>weight<TAB>share<TAB>keys per node:\n"
    "                  share of the hash space owned, number of stdin keys routed to it\n"
    "  --json          with --stats: one JSON object instead: {\"nodes\": [{\"id\", \"weight\",\n"
    "                  \"share\", \"keys\"}...], \"keys\": TOTAL, \"ring\": the ring's metrics\n"
    "                  (of_ring_metrics JSON: sizes, balance, fingerprint, memory)}\n"
    "  --diff OLD NEW  compare two node files: prints moved<TAB>FRACTION (of the hash space),\n"
    "                  then range<TAB>lo<TAB>hi<TAB>old<TAB>new per moved range (hex, inclusive;\n"
    "                  '-' for an empty ring), and, when keys are given on stdin,\n"
    "                  keys<TAB>MOVED<TAB>TOTAL\n"
    "  -h, --help      show this help\n"
    "\n"
    "Output: key<TAB>node per key. Exit status: 0 ok, 1 bad input, 2 usage error.\n";

typedef struct node_list {
    of_ring_node_spec *specs;
    char **ids;
    unsigned long *lines; /* file line, or argument number, of each node */
    const char *source;   /* the node file, or NULL for NODE arguments */
    size_t count;
    size_t cap;
} node_list;

typedef struct config {
    of_ring_options opts;
    int ketama;
} config;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ring-route: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'ring-route --help'.\n");
    return EXIT_USAGE;
}

static int ring_error(const char *what, int status)
{
    const char *detail = of_last_error_detail();
    fprintf(stderr, "ring-route: %s: %s%s%s\n", what, of_status_name(status),
            (detail && *detail) ? ": " : "", (detail && *detail) ? detail : "");
    return EXIT_BAD_INPUT;
}

static void node_list_free(node_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->ids[i]);
    free(list->ids);
    free(list->specs);
    free(list->lines);
    memset(list, 0, sizeof *list);
}

/* "FILE:LINE" or "argument N" for messages about node @p line of @p list. */
static void where_text(char *buf, size_t cap, const node_list *list, unsigned long line)
{
    if (list->source)
        snprintf(buf, cap, "%s:%lu", list->source, line);
    else
        snprintf(buf, cap, "argument %lu", line);
}

/* Parse "id[=weight]" (where = introduces a decimal weight) and append it. */
static int node_list_add(node_list *list, const char *text, int ketama, unsigned long line)
{
    char where[4096 + 32];
    where_text(where, sizeof where, list, line);
    size_t len = strlen(text);
    const char *eq = strrchr(text, '=');
    uint32_t weight = 1;
    if (eq) {
        const char *w = eq + 1;
        char *end = NULL;
        if (*w < '0' || *w > '9') {
            fprintf(stderr, "ring-route: %s: bad weight in '%s'\n", where, text);
            return EXIT_BAD_INPUT;
        }
        errno = 0;
        unsigned long long v = strtoull(w, &end, 10);
        if (errno || *end != '\0' || v > UINT32_MAX || (v == 0 && !ketama)) {
            fprintf(stderr, "ring-route: %s: bad weight in '%s' (%s)\n", where, text,
                    ketama ? "0..4294967295" : "1..4294967295");
            return EXIT_BAD_INPUT;
        }
        weight = (uint32_t)v;
        len = (size_t)(eq - text);
    }
    if (len == 0 || len > of_ring_id_max()) {
        fprintf(stderr, "ring-route: %s: bad node id in '%s'\n", where, text);
        return EXIT_BAD_INPUT;
    }
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        of_ring_node_spec *specs = realloc(list->specs, cap * sizeof *specs);
        if (!specs)
            return ring_error("out of memory", OF_ERR_NOMEM);
        list->specs = specs;
        char **ids = realloc(list->ids, cap * sizeof *ids);
        if (!ids)
            return ring_error("out of memory", OF_ERR_NOMEM);
        list->ids = ids;
        unsigned long *lines = realloc(list->lines, cap * sizeof *lines);
        if (!lines)
            return ring_error("out of memory", OF_ERR_NOMEM);
        list->lines = lines;
        list->cap = cap;
    }
    char *id = malloc(len + 1);
    if (!id)
        return ring_error("out of memory", OF_ERR_NOMEM);
    memcpy(id, text, len);
    id[len] = '\0';
    list->ids[list->count] = id;
    list->lines[list->count] = line;
    list->specs[list->count] = (of_ring_node_spec){
        .id = id, .id_len = len, .weight = weight, .tag = list->count};
    list->count++;
    return 0;
}

static void strip_eol(char *line, ssize_t *len)
{
    if (*len > 0 && line[*len - 1] == '\n')
        line[--*len] = '\0';
    if (*len > 0 && line[*len - 1] == '\r')
        line[--*len] = '\0';
}

static int read_node_file(node_list *list, const char *path, int ketama)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ring-route: %s: %s\n", path, strerror(errno));
        return EXIT_BAD_INPUT;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    int rc = 0;
    list->source = path;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        /* A NUL would silently end the id early (a node that differs from the one written). */
        if (memchr(line, '\0', (size_t)len)) {
            fprintf(stderr, "ring-route: %s:%lu: NUL byte in the line\n", path, lineno);
            rc = EXIT_BAD_INPUT;
            break;
        }
        strip_eol(line, &len);
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        char *e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (*s == '\0' || *s == '#')
            continue;
        rc = node_list_add(list, s, ketama, lineno);
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "ring-route: %s: read error\n", path);
        rc = EXIT_BAD_INPUT;
    }
    free(line);
    fclose(f);
    return rc;
}

/* Status of of_ring_add_many() for the first @p n nodes of @p list on an empty ring. */
static int add_prefix(const config *cfg, const node_list *list, size_t n)
{
    of_ring *ring = NULL;
    int st = of_ring_create(&cfg->opts, &ring);
    if (st == OF_OK)
        st = of_ring_add_many(ring, list->specs, n);
    of_ring_destroy(ring);
    return st;
}

/* Report the first node that repeats an earlier one, with both places; 0 if there is none. Which
 * ids name one node is the ring's rule (native: the same id; ketama: the same host and port, so
 * "h" and "h:11211" are one server), so the ring answers rather than a second parser here: the
 * shortest prefix of the list that of_ring_add_many() refuses ends at the first repeat (found in
 * a few builds by bisection), and a ring of that node alone says which earlier id it holds. */
static int report_duplicate(const config *cfg, const node_list *list)
{
    if (add_prefix(cfg, list, list->count) != OF_ERR_EXISTS)
        return 0;
    size_t ok = 0, refused = list->count; /* prefix lengths */
    while (refused - ok > 1) {
        size_t mid = ok + (refused - ok) / 2;
        int st = add_prefix(cfg, list, mid);
        if (st == OF_OK)
            ok = mid;
        else if (st == OF_ERR_EXISTS)
            refused = mid;
        else
            return ring_error("cannot add the nodes", st);
    }
    size_t second = refused - 1, first = SIZE_MAX;
    of_ring *one = NULL;
    int st = of_ring_create(&cfg->opts, &one);
    if (st == OF_OK)
        st = of_ring_add_many(one, &list->specs[second], 1);
    for (size_t i = 0; st == OF_OK && i < second && first == SIZE_MAX; i++) {
        int present = 0;
        st = of_ring_contains(one, list->specs[i].id, list->specs[i].id_len, &present);
        if (present)
            first = i;
    }
    of_ring_destroy(one);
    if (st != OF_OK)
        return ring_error("cannot add the nodes", st);
    if (first == SIZE_MAX)
        return 0;
    char w1[4096 + 32], w2[4096 + 32];
    where_text(w1, sizeof w1, list, list->lines[second]);
    where_text(w2, sizeof w2, list, list->lines[first]);
    fprintf(stderr, "ring-route: %s: duplicate node '%s' (%s '%s' at %s)\n", w1,
            list->ids[second], cfg->ketama ? "same host and port as" : "already given as",
            list->ids[first], w2);
    return EXIT_BAD_INPUT;
}

/* The ring refused the list as a whole: name the node at fault. Native nodes were checked when
 * read, but for their point count (weight x vnodes), which is plain arithmetic. A ketama id the
 * ring refuses is found by adding each server to an empty ring: 160 points each, on the error
 * path only. What is left is a total above the limit, which no single node causes. */
static int report_bad_node(const config *cfg, const node_list *list, int status)
{
    if (status == OF_ERR_EXISTS) {
        int rc = report_duplicate(cfg, list);
        if (rc)
            return rc;
    }
    if (status != OF_ERR_INVALID)
        return ring_error("cannot add the nodes", status);
    if (!cfg->ketama) {
        for (size_t i = 0; i < list->count; i++)
            if ((uint64_t)list->specs[i].weight * cfg->opts.vnodes > of_ring_max_points()) {
                char where[4096 + 32];
                where_text(where, sizeof where, list, list->lines[i]);
                fprintf(stderr,
                        "ring-route: %s: bad node '%s': weight %" PRIu32 " x vnodes %" PRIu32
                        " is above the ring's %zu points\n",
                        where, list->ids[i], list->specs[i].weight, cfg->opts.vnodes,
                        of_ring_max_points());
                return EXIT_BAD_INPUT;
            }
        return ring_error("cannot add the nodes", status);
    }
    of_ring *one = NULL;
    if (of_ring_create(&cfg->opts, &one) != OF_OK)
        return ring_error("cannot add the nodes", status);
    for (size_t i = 0; i < list->count; i++) {
        const of_ring_node_spec *sp = &list->specs[i];
        int st = of_ring_add(one, sp->id, sp->id_len, sp->weight, sp->tag);
        if (st == OF_OK)
            st = of_ring_remove(one, sp->id, sp->id_len);
        if (st != OF_OK) {
            char where[4096 + 32];
            where_text(where, sizeof where, list, list->lines[i]);
            const char *detail = of_last_error_detail();
            fprintf(stderr, "ring-route: %s: bad node '%s': %s%s%s\n", where, list->ids[i],
                    of_status_name(st), (detail && *detail) ? ": " : "",
                    (detail && *detail) ? detail : "");
            of_ring_destroy(one);
            return EXIT_BAD_INPUT;
        }
    }
    of_ring_destroy(one);
    return ring_error("cannot add the nodes", status); /* only the total is too large */
}

static int build_ring(const config *cfg, const node_list *list, of_ring **out)
{
    of_ring *ring = NULL;
    int st = of_ring_create(&cfg->opts, &ring);
    if (st != OF_OK)
        return ring_error("cannot create the ring", st);
    if (list->count > 0) {
        st = of_ring_add_many(ring, list->specs, list->count);
        if (st != OF_OK) {
            of_ring_destroy(ring);
            return report_bad_node(cfg, list, st);
        }
    }
    *out = ring;
    return 0;
}

/* Route one key: returns the owner's tag (index into the node list). */
static int route(const of_ring *ring, const char *key, size_t len, uint64_t *tag)
{
    int st = of_ring_lookup(ring, key, len, tag, NULL, 0, NULL);
    if (st != OF_OK)
        return ring_error("lookup failed", st);
    return 0;
}

/* A JSON string: ids are text from the command line or a node file (taken as UTF-8); quotes,
 * backslashes and control bytes are escaped. */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int write_stdout(void *ctx, const char *data, size_t len)
{
    (void)ctx;
    return fwrite(data, 1, len, stdout) == len ? 0 : OF_ERR_UNAVAILABLE;
}

/* --stats --json: the per-node rows, the key total and the library's own metrics of the ring. */
static int print_stats_json(const of_ring *ring, const node_list *list, const double *shares,
                            const uint64_t *counts)
{
    uint64_t total = 0;
    fputs("{\"nodes\":[", stdout);
    for (size_t i = 0; i < list->count; i++) {
        fputs(i ? ",{\"id\":" : "{\"id\":", stdout);
        json_string(list->ids[i]);
        printf(",\"weight\":%" PRIu32 ",\"share\":%.17g,\"keys\":%" PRIu64 "}",
               list->specs[i].weight, shares[i], counts[i]);
        total += counts[i];
    }
    printf("],\"keys\":%" PRIu64 ",\"ring\":", total);
    int st = of_ring_metrics_write(ring, OF_METRICS_JSON, "", NULL, write_stdout, NULL);
    if (st != OF_OK)
        return ring_error("metrics failed", st);
    fputs("}\n", stdout);
    return 0;
}

static int run_routes(const config *cfg, const node_list *list, int stats, int json)
{
    of_ring *ring = NULL;
    if (list->count == 0) {
        fprintf(stderr, "ring-route: no nodes\n");
        return EXIT_BAD_INPUT;
    }
    int rc = build_ring(cfg, list, &ring);
    if (rc)
        return rc;
    uint64_t *counts = calloc(list->count, sizeof *counts);
    double *shares = calloc(list->count, sizeof *shares);
    if (!counts || !shares) {
        free(counts);
        free(shares);
        of_ring_destroy(ring);
        return ring_error("out of memory", OF_ERR_NOMEM);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (rc == 0 && (len = getline(&line, &cap, stdin)) >= 0) {
        strip_eol(line, &len);
        uint64_t tag = 0;
        rc = route(ring, line, (size_t)len, &tag);
        if (rc)
            break;
        counts[tag]++;
        if (!stats) {
            fwrite(line, 1, (size_t)len, stdout);
            printf("\t%s\n", list->ids[tag]);
        }
    }
    if (rc == 0 && ferror(stdin)) {
        fprintf(stderr, "ring-route: error reading keys\n");
        rc = EXIT_BAD_INPUT;
    }
    for (size_t i = 0; rc == 0 && stats && i < list->count; i++) {
        double share = 0;
        int st = of_ring_ownership(ring, list->specs[i].id, list->specs[i].id_len, &share);
        if (st != OF_OK) {
            rc = ring_error("ownership failed", st);
            break;
        }
        shares[i] = share;
        if (!json)
            printf("%s\t%" PRIu32 "\t%.6f\t%" PRIu64 "\n", list->ids[i], list->specs[i].weight,
                   share, counts[i]);
    }
    if (rc == 0 && json)
        rc = print_stats_json(ring, list, shares, counts);
    free(line);
    free(counts);
    free(shares);
    of_ring_destroy(ring);
    return rc;
}

typedef struct diff_ctx {
    int width;    /* hex digits: 16 native, 8 ketama */
    double moved; /* hash values moved */
} diff_ctx;

static void print_id(const void *id, size_t len)
{
    if (id)
        fwrite(id, 1, len, stdout);
    else
        fputc('-', stdout);
}

static int count_range(void *vctx, const of_ring_range *r)
{
    diff_ctx *ctx = vctx;
    ctx->moved += (double)(r->last - r->first) + 1.0;
    return 0;
}

static int print_range(void *vctx, const of_ring_range *r)
{
    const diff_ctx *ctx = vctx;
    printf("range\t%0*" PRIx64 "\t%0*" PRIx64 "\t", ctx->width, r->first, ctx->width, r->last);
    print_id(r->old_id, r->old_id_len);
    fputc('\t', stdout);
    print_id(r->new_id, r->new_id_len);
    fputc('\n', stdout);
    return 0;
}

/* Whether two lookups name the same node (an empty ring names none). */
static int lookup_id(const of_ring *ring, const node_list *list, const char *key, size_t len,
                     const char **id, int *rc)
{
    uint64_t tag = 0;
    int st = of_ring_lookup(ring, key, len, &tag, NULL, 0, NULL);
    if (st == OF_ERR_EMPTY) {
        *id = NULL;
        return 0;
    }
    if (st != OF_OK) {
        *rc = ring_error("lookup failed", st);
        return -1;
    }
    /* Tags are indices into @p list (the ring was built from it); an empty list makes an empty
     * ring, which answered OF_ERR_EMPTY above.
     * NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
    *id = list->ids[tag];
    return 0;
}

static int run_diff(const config *cfg, const char *old_path, const char *new_path)
{
    node_list old_list = {0}, new_list = {0};
    of_ring *old_ring = NULL, *new_ring = NULL;
    of_ring_view *old_view = NULL, *new_view = NULL;
    int rc = read_node_file(&old_list, old_path, cfg->ketama);
    if (rc == 0)
        rc = read_node_file(&new_list, new_path, cfg->ketama);
    if (rc == 0)
        rc = build_ring(cfg, &old_list, &old_ring);
    if (rc == 0)
        rc = build_ring(cfg, &new_list, &new_ring);
    if (rc == 0) {
        int st = of_ring_view_take(old_ring, &old_view);
        if (st == OF_OK)
            st = of_ring_view_take(new_ring, &new_view);
        if (st != OF_OK)
            rc = ring_error("cannot take a view", st);
    }
    diff_ctx ctx = {.width = cfg->ketama ? 8 : 16, .moved = 0};
    if (rc == 0) {
        int st = of_ring_diff(old_view, new_view, count_range, NULL, &ctx);
        if (st != OF_OK)
            rc = ring_error("diff failed", st);
    }
    if (rc == 0) {
        double space = cfg->ketama ? 4294967296.0 : 18446744073709551616.0;
        printf("moved\t%.6f\n", ctx.moved / space);
        int st = of_ring_diff(old_view, new_view, print_range, NULL, &ctx);
        if (st != OF_OK)
            rc = ring_error("diff failed", st);
    }
    if (rc == 0 && !isatty(STDIN_FILENO)) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        uint64_t total = 0, moved = 0;
        while ((len = getline(&line, &cap, stdin)) >= 0) {
            strip_eol(line, &len);
            const char *a = NULL, *b = NULL;
            if (lookup_id(old_ring, &old_list, line, (size_t)len, &a, &rc) ||
                lookup_id(new_ring, &new_list, line, (size_t)len, &b, &rc))
                break;
            total++;
            if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
                moved++;
        }
        if (rc == 0 && ferror(stdin)) {
            fprintf(stderr, "ring-route: error reading keys\n");
            rc = EXIT_BAD_INPUT;
        }
        if (rc == 0 && total > 0)
            printf("keys\t%" PRIu64 "\t%" PRIu64 "\n", moved, total);
        free(line);
    }
    of_ring_view_release(old_view);
    of_ring_view_release(new_view);
    of_ring_destroy(old_ring);
    of_ring_destroy(new_ring);
    node_list_free(&old_list);
    node_list_free(&new_list);
    return rc;
}

/* A number as documented: decimal digits (leading zeros allowed, still decimal) or 0x/0X and hex
 * digits; nothing else (no sign, spaces, octal or suffix). Returns 0, -1 (not a number) or -2
 * (above UINT64_MAX). */
static int parse_u64(const char *s, uint64_t *out)
{
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (*s == '\0')
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a') + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A') + 10;
        else
            return -1;
        if (v > (UINT64_MAX - d) / base)
            return -2;
        v = v * base + d;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    config cfg;
    of_ring_options_init(&cfg.opts, sizeof cfg.opts);
    cfg.ketama = 0;
    const char *nodes_file = NULL, *diff_old = NULL, *diff_new = NULL;
    int stats = 0, json = 0, seen_vnodes = 0, seen_seed = 0, only_positional = 0;
    node_list list = {0};
    char **positional = calloc((size_t)argc, sizeof *positional);
    size_t npos = 0;
    if (!positional)
        return ring_error("out of memory", OF_ERR_NOMEM);

    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            positional[npos++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            only_positional = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            free(positional);
            return 0;
        } else if (strcmp(a, "--ketama") == 0 || strcmp(a, "--ketama=weighted") == 0) {
            cfg.ketama = 1;
        } else if (strcmp(a, "--ketama=unweighted") == 0) {
            cfg.ketama = 1;
            cfg.opts.flags |= OF_RING_KETAMA_UNWEIGHTED;
        } else if (strncmp(a, "--ketama=", 9) == 0) {
            rc = usage_error("--ketama takes weighted or unweighted, not '%.64s'", a + 9);
        } else if (strcmp(a, "--stats") == 0) {
            stats = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--vnodes") == 0 || strcmp(a, "--seed") == 0 ||
                   strcmp(a, "--nodes") == 0) {
            if (i + 1 >= argc) {
                rc = usage_error("%s needs a value", a);
                break;
            }
            const char *v = argv[++i];
            uint64_t n = 0;
            int prc;
            if (strcmp(a, "--nodes") == 0) {
                if (nodes_file)
                    rc = usage_error("%s given twice", a);
                nodes_file = v;
            } else if ((prc = parse_u64(v, &n)) != 0) {
                char msg[256];
                snprintf(msg, sizeof msg, "%s: '%.64s' %s", a, v,
                         prc == -2 ? "is above 18446744073709551615"
                                   : "is not a number (decimal, or hex after 0x)");
                rc = usage_error("%s", msg);
            } else if (strcmp(a, "--seed") == 0) {
                cfg.opts.seed = n;
                seen_seed = 1;
            } else if (n < 1 || n > UINT32_MAX) {
                rc = usage_error("--vnodes must be 1..4294967295, not '%s'", v);
            } else {
                cfg.opts.vnodes = (uint32_t)n;
                seen_vnodes = 1;
            }
        } else if (strcmp(a, "--diff") == 0) {
            if (i + 2 >= argc) {
                rc = usage_error("%s needs OLD_FILE and NEW_FILE", a);
                break;
            }
            diff_old = argv[++i];
            diff_new = argv[++i];
        } else {
            rc = usage_error("unknown option '%s'", a);
        }
    }
    if (rc == 0 && cfg.ketama && (seen_vnodes || seen_seed))
        rc = usage_error("%s", "--vnodes and --seed do not apply to --ketama");
    if (rc == 0 && diff_old && (nodes_file || npos > 0 || stats))
        rc = usage_error("%s", "--diff takes no --nodes, NODE or --stats");
    if (rc == 0 && json && !stats)
        rc = usage_error("%s", "--json goes with --stats");
    if (rc == 0 && !diff_old && !nodes_file && npos == 0)
        rc = usage_error("%s", "no nodes: give --nodes FILE or NODE arguments");
    if (rc == 0 && nodes_file && npos > 0)
        rc = usage_error("%s", "give either --nodes FILE or NODE arguments, not both");
    if (cfg.ketama)
        cfg.opts.algorithm = OF_RING_KETAMA;

    if (rc == 0 && diff_old) {
        rc = run_diff(&cfg, diff_old, diff_new);
    } else if (rc == 0) {
        if (nodes_file)
            rc = read_node_file(&list, nodes_file, cfg.ketama);
        for (size_t i = 0; rc == 0 && i < npos; i++)
            rc = node_list_add(&list, positional[i], cfg.ketama, (unsigned long)i + 1);
        if (rc == 0)
            rc = run_routes(&cfg, &list, stats, json);
    }
    node_list_free(&list);
    free(positional);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "ring-route: write error: %s\n", strerror(errno));
        rc = EXIT_BAD_INPUT;
    }
    return rc;
}
