/* Private etcd clusters for tests (see etcd-harness.h). */
#include "etcd-harness.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <curl/curl.h>

static int spawn(test_etcd *e, int i)
{
    test_etcd_member *m = &e->m[i];
    char exe[512];
    if (test_find_program("etcd", exe, sizeof exe) != 0) {
        fprintf(stderr, "etcd-harness: etcd not found on PATH (apt-get install etcd-server)\n");
        return -1;
    }
    char curl_[64], purl[64];
    snprintf(curl_, sizeof curl_, "http://127.0.0.1:%d", m->client_port);
    snprintf(purl, sizeof purl, "http://127.0.0.1:%d", m->peer_port);
    const char *argv[] = {exe, "--name", m->name, "--data-dir", m->data,
                          "--listen-client-urls", curl_, "--advertise-client-urls", curl_,
                          "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
                          "--initial-cluster", e->cluster, "--initial-cluster-state", "new",
                          "--initial-cluster-token", e->dir,
                          "--heartbeat-interval", "50", "--election-timeout", "500",
                          "--unsafe-no-fsync", "--snapshot-count", "100000",
                          NULL};
    return test_spawn("etcd-harness", argv, m->log, &m->pid);
}

typedef struct rbuf {
    char *p;
    size_t n;
} rbuf;

static size_t collect(char *d, size_t s, size_t k, void *arg)
{
    rbuf *b = arg;
    char *q = realloc(b->p, b->n + s * k + 1);
    if (q == NULL)
        return 0;
    memcpy(q + b->n, d, s * k);
    b->n += s * k;
    q[b->n] = '\0';
    b->p = q;
    return s * k;
}

static json_t *post_one(test_etcd *e, int i, const char *path, const char *body, long timeout_ms)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return NULL;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", e->m[i].client_port, path);
    rbuf b = {NULL, 0};
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    char auth[300];
    if (e->token[0] != '\0') {
        snprintf(auth, sizeof auth, "Authorization: %s", e->token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    long http = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    json_t *v = NULL;
    if (rc == CURLE_OK && b.p != NULL)
        v = json_loads(b.p, 0, NULL);
    free(b.p);
    if (v != NULL && http != 200) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

json_t *test_etcd_post(test_etcd *e, int i, const char *path, const char *body)
{
    if (i >= 0)
        return e->m[i].pid != 0 ? post_one(e, i, path, body, 5000) : NULL;
    for (int k = 0; k < e->n; k++) {
        if (e->m[k].pid == 0)
            continue;
        json_t *v = post_one(e, k, path, body, 5000);
        if (v != NULL)
            return v;
    }
    return NULL;
}

int test_etcd_wait_writable(test_etcd *e, int ms)
{
    for (int t = 0; t < ms; t += 50) {
        for (int k = 0; k < e->n; k++) {
            if (e->m[k].pid == 0)
                continue;
            /* a put of a harness key: goes through raft, so it needs a leader and a quorum */
            json_t *v = post_one(e, k, "/v3/kv/put", "{\"key\":\"X19oYXJuZXNzX18=\",\"value\":\"eA==\"}", 1000);
            if (v != NULL) {
                json_decref(v);
                return 0;
            }
        }
        test_sleep_ms(50);
    }
    return -1;
}

int test_etcd_start(test_etcd *e, int members)
{
    memset(e, 0, sizeof *e);
    if (members < 1 || members > TEST_ETCD_MAX)
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    e->n = members;
    snprintf(e->dir, sizeof e->dir, "/tmp/of-etcd-XXXXXX");
    if (mkdtemp(e->dir) == NULL) {
        fprintf(stderr, "etcd-harness: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        size_t off = 0;
        for (int i = 0; i < members; i++) {
            test_etcd_member *m = &e->m[i];
            snprintf(m->name, sizeof m->name, "m%d", i);
            snprintf(m->data, sizeof m->data, "%s/%s-%d.data", e->dir, m->name, attempt);
            snprintf(m->log, sizeof m->log, "%s/%s.log", e->dir, m->name);
            m->client_port = test_free_port();
            m->peer_port = test_free_port();
            if (m->client_port < 0 || m->peer_port < 0 || m->client_port == m->peer_port)
                goto retry;
            off += (size_t)snprintf(e->cluster + off, sizeof e->cluster - off, "%s%s=http://127.0.0.1:%d",
                                    i ? "," : "", m->name, m->peer_port);
        }
        for (int i = 0; i < members; i++)
            if (spawn(e, i) != 0) {
                test_etcd_stop(e);
                return -1;
            }
        if (test_etcd_wait_writable(e, 20000) == 0)
            return 0;
    retry:
        for (int i = 0; i < members; i++)
            test_etcd_signal(e, i, SIGKILL);
    }
    fprintf(stderr, "etcd-harness: cluster did not start (logs in %s)\n", e->dir);
    test_etcd_stop(e);
    return -1;
}

static int authenticate_admin(test_etcd *e, int i);

int test_etcd_restart(test_etcd *e, int i)
{
    if (e->m[i].pid != 0)
        return -1;
    if (spawn(e, i) != 0)
        return -1;
    for (int t = 0; t < 20000; t += 50) {
        if (test_exited(e->m[i].pid)) {
            e->m[i].pid = 0;
            return -1;
        }
        /* The old admin token died with the member: ask without one (status needs none). */
        char tok[sizeof e->token];
        snprintf(tok, sizeof tok, "%s", e->token);
        e->token[0] = '\0';
        json_t *v = post_one(e, i, "/v3/maintenance/status", "{}", 1000);
        snprintf(e->token, sizeof e->token, "%s", tok);
        if (v != NULL) {
            json_decref(v);
            return e->admin_pw[0] != '\0' ? authenticate_admin(e, i) : 0;
        }
        test_sleep_ms(50);
    }
    return -1;
}

/* 1 when every thread of @p pid is stopped (state 'T' in /proc/PID/task/TID/stat), else 0. */
static int all_threads_stopped(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    int stopped = 1;
    struct dirent *de;
    while (stopped && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char stat_path[400], buf[512];
        snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path, de->d_name);
        FILE *f = fopen(stat_path, "r");
        if (f == NULL)
            continue; /* the thread ended */
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *close_paren = strrchr(buf, ')'); /* "tid (comm) S ...": comm may hold spaces */
        stopped = close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'T';
    }
    closedir(d);
    return stopped;
}

void test_etcd_signal(test_etcd *e, int i, int sig)
{
    test_etcd_member *m = &e->m[i];
    if (m->pid == 0)
        return;
    kill(m->pid, sig);
    if (sig == SIGKILL) {
        waitpid(m->pid, NULL, 0);
        m->pid = 0;
    } else if (sig == SIGSTOP) {
        /* kill() returns before every thread has stopped: one still running could answer the
         * next request. Return once all are stopped (bounded: 5 s). */
        for (int t = 0; t < 5000 && !all_threads_stopped(m->pid); t += 5)
            test_sleep_ms(5);
    }
}

void test_etcd_stop(test_etcd *e)
{
    for (int i = 0; i < e->n; i++) {
        test_etcd_member *m = &e->m[i];
        if (m->pid == 0)
            continue;
        test_stop_pid(m->pid);
        m->pid = 0;
    }
    if (e->dir[0] != '\0' && getenv("OF_KEEP_ETCD") == NULL)
        test_remove_tree(e->dir);
    e->dir[0] = '\0';
}

int test_etcd_leader(test_etcd *e)
{
    for (int k = 0; k < e->n; k++) {
        if (e->m[k].pid == 0)
            continue;
        json_t *v = post_one(e, k, "/v3/maintenance/status", "{}", 1000);
        if (v == NULL)
            continue;
        const char *leader = json_string_value(json_object_get(v, "leader"));
        const char *self =
            json_string_value(json_object_get(json_object_get(v, "header"), "member_id"));
        int is = leader != NULL && self != NULL && strcmp(leader, self) == 0 && strcmp(leader, "0") != 0;
        json_decref(v);
        if (is)
            return k;
    }
    return -1;
}

void test_etcd_url(const test_etcd *e, const char *tail, char *buf, size_t cap)
{
    size_t off = (size_t)snprintf(buf, cap, "etcd://");
    for (int i = 0; i < e->n && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s127.0.0.1:%d", i ? "," : "",
                                e->m[i].client_port);
    if (tail != NULL && off < cap)
        snprintf(buf + off, cap - off, "%s", tail);
}

/* Fetch an admin token for root from member @p i (-1: any); 0 or -1. */
static int authenticate_admin(test_etcd *e, int i)
{
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"root\",\"password\":\"%s\"}", e->admin_pw);
    e->token[0] = '\0';
    json_t *v = test_etcd_post(e, i, "/v3/auth/authenticate", body);
    const char *tok = json_string_value(json_object_get(v, "token"));
    int rc = -1;
    if (tok != NULL) {
        snprintf(e->token, sizeof e->token, "%s", tok);
        rc = 0;
    }
    json_decref(v);
    return rc;
}

int test_etcd_enable_auth(test_etcd *e, const char *password)
{
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"root\",\"password\":\"%s\"}", password);
    json_t *v = test_etcd_post(e, -1, "/v3/auth/user/add", body);
    if (v == NULL)
        return -1;
    json_decref(v);
    v = test_etcd_post(e, -1, "/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}");
    if (v == NULL)
        return -1;
    json_decref(v);
    v = test_etcd_post(e, -1, "/v3/auth/enable", "{}");
    if (v == NULL)
        return -1;
    json_decref(v);
    snprintf(e->admin_pw, sizeof e->admin_pw, "%s", password);
    return authenticate_admin(e, -1);
}

int test_etcd_drop_tokens(test_etcd *e)
{
    if (e->admin_pw[0] == '\0')
        return -1;
    json_t *v = test_etcd_post(e, -1, "/v3/auth/disable", "{}");
    if (v == NULL)
        return -1;
    json_decref(v);
    e->token[0] = '\0';
    v = test_etcd_post(e, -1, "/v3/auth/enable", "{}");
    if (v == NULL)
        return -1;
    json_decref(v);
    return authenticate_admin(e, -1);
}

int test_etcd_lapse(test_etcd *e, const char *key_b64)
{
    char body[4096];
    snprintf(body, sizeof body, "{\"key\":\"%s\"}", key_b64);
    json_t *v = test_etcd_post(e, -1, "/v3/kv/range", body);
    const char *lease = json_string_value(
        json_object_get(json_array_get(json_object_get(v, "kvs"), 0), "lease"));
    int rc = -1;
    if (lease != NULL) {
        snprintf(body, sizeof body, "{\"ID\":\"%s\"}", lease);
        json_t *r = test_etcd_post(e, -1, "/v3/lease/revoke", body);
        rc = r != NULL ? 0 : -1;
        json_decref(r);
    }
    json_decref(v);
    return rc;
}
