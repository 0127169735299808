/* The log capture for tests (see log-capture.h). */
#include "log-capture.h"

#include <stdio.h>
#include <string.h>

logcap logcap_g = {PTHREAD_MUTEX_INITIALIZER, 0, 0, {0}, {{0}}};

void logcap_hook(void *ctx, int level, const char *msg)
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

void logcap_clear(void)
{
    pthread_mutex_lock(&logcap_g.mu);
    logcap_g.n = 0;
    logcap_g.overflow = 0;
    pthread_mutex_unlock(&logcap_g.mu);
}

/* Route @p p's lines, every level up to DEBUG, into the capture. 0 on success. */
int logcap_attach(of_lock_provider *p)
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
int logcap_count(int max_level, const char *a, const char *b, const char *c)
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

void logcap_dump(void)
{
    pthread_mutex_lock(&logcap_g.mu);
    for (int i = 0; i < logcap_g.n; i++)
        fprintf(stderr, "# log[%d] level %d: %s\n", i, logcap_g.level[i], logcap_g.line[i]);
    pthread_mutex_unlock(&logcap_g.mu);
}
