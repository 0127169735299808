/* A log hook for tests: keeps every line a provider delivers (level and text) so a test can ask
 * what was logged. One capture per test process. */
#ifndef OPENFAULT_TESTS_LOG_CAPTURE_H
#define OPENFAULT_TESTS_LOG_CAPTURE_H

#include <pthread.h>

#include <openfault/lock.h>

#define LOGCAP_MAX 512

typedef struct logcap {
    pthread_mutex_t mu;
    int n;        /* lines kept */
    int overflow; /* lines past LOGCAP_MAX */
    int level[LOGCAP_MAX];
    char line[LOGCAP_MAX][600];
} logcap;

/* The one capture of this process. */
extern logcap logcap_g;

/* The log hook: keeps @p msg at @p level in the capture @p ctx (a logcap). */
void logcap_hook(void *ctx, int level, const char *msg);

/* Forget every line kept. */
void logcap_clear(void);

/* Route @p p's lines, every level up to DEBUG, into the capture. 0 on success. */
int logcap_attach(of_lock_provider *p);

/* Lines at @p max_level or more severe (smaller number) containing every non-NULL needle. */
int logcap_count(int max_level, const char *a, const char *b, const char *c);

/* Every line kept, to stderr as TAP comments (for a failing check). */
void logcap_dump(void);

#endif
