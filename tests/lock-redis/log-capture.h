/* A log hook for tests: keeps every line a provider delivers (level and text) so a test can ask
 * what was logged. Header-only; one capture per test process. */
#ifndef OPENFAULT_TESTS_LOG_CAPTURE_H
#define OPENFAULT_TESTS_LOG_CAPTURE_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openfault/lock.h>

#define LOGCAP_MAX 512

typedef struct logcap {
    pthread_mutex_t mu;
    int n;        /* lines kept */
    int overflow; /* lines past LOGCAP_MAX */
    int level[LOGCAP_MAX];
    char line[LOGCAP_MAX][600];
} logcap;

static logcap logcap_g = {PTHREAD_MUTEX_INITIALIZER, 0, 0, {0}, {{0}}};

static void logcap_hook(void *ctx, int level, const char *msg)
{
    logcap *c = ctx;
    pthread_mutex_lock(&c->mu);
    if (c->n < LOGCAP_MAX) {
        c->level[c->n] = level;
        snprintf(c->line[c->n], sizeof c->line[0], "%s", msg);
        c->n++;
    } else {
        c->overflow++;
    }
    pthread_mutex_unlock(&c->mu);
}

static void logcap_clear(void)
{
    pthread_mutex_lock(&logcap_g.mu);
    logcap_g.n = 0;
    logcap_g.overflow = 0;
    pthread_mutex_unlock(&logcap_g.mu);
}

/* Route @p p's lines, every level up to DEBUG, into the capture. 0 on success. */
static int logcap_attach(of_lock_provider *p)
{
    of_lock_provider_config cfg;
    if (of_lock_provider_config_init(&cfg, sizeof cfg) != OF_OK)
        return -1;
    cfg.log = logcap_hook;
    cfg.log_ctx = &logcap_g;
    cfg.log_level = OF_LOCK_LOG_DEBUG;
    return of_lock_provider_configure(p, &cfg) == OF_OK ? 0 : -1;
}

/* Lines at @p max_level or more severe (smaller number) containing every non-NULL needle. */
static int logcap_count(int max_level, const char *a, const char *b, const char *c)
{
    int k = 0;
    pthread_mutex_lock(&logcap_g.mu);
    for (int i = 0; i < logcap_g.n; i++) {
        const char *s = logcap_g.line[i];
        if (logcap_g.level[i] <= max_level && (a == NULL || strstr(s, a) != NULL) &&
            (b == NULL || strstr(s, b) != NULL) && (c == NULL || strstr(s, c) != NULL))
            k++;
    }
    pthread_mutex_unlock(&logcap_g.mu);
    return k;
}

static void logcap_dump(void)
{
    pthread_mutex_lock(&logcap_g.mu);
    for (int i = 0; i < logcap_g.n; i++)
        fprintf(stderr, "# log[%d] level %d: %s\n", i, logcap_g.level[i], logcap_g.line[i]);
    pthread_mutex_unlock(&logcap_g.mu);
}

#endif
