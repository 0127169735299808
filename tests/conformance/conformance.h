/* Lock-provider conformance suite: one set of cmocka cases, written once against the public lock
 * API, run against any provider (see docs/providers.md).
 *
 * It needs only the installed public headers, libopenfault and cmocka: a provider outside this
 * tree compiles conformance.c with its own test program. In this tree, link the non-installed
 * static library `openfault_conformance` (meson: `conformance_public_dep` with the public
 * library, `conformance_dep` with the internal one for tests that also use internal hooks).
 * Call of_conformance_main() from a test program's main() with one target per provider;
 * register one meson test per target (`args: ['local']`) because a TAP executable may run only
 * one cmocka group (STYLE.md). */
#ifndef OPENFAULT_TESTS_CONFORMANCE_H
#define OPENFAULT_TESTS_CONFORMANCE_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/lock.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct of_conformance_target {
    /* sizeof(of_conformance_target) as the caller compiled it. */
    uint32_t struct_size;
    /* Label used in the group name and selected by argv[1] in of_conformance_main(). */
    const char *name;
    /* Passed to every hook as given. */
    void *ctx;

    /* Required: make a fresh provider (each case gets its own, so names never leak between
     * cases). Return OF_OK or a status. */
    int (*create)(void *ctx, of_lock_provider **out_provider);
    /* Optional: tear it down (NULL: of_lock_provider_destroy). Called after every handle of the
     * case was released. */
    void (*destroy)(void *ctx, of_lock_provider *provider);

    /* Optional: make the current lease on @p name lapse now on the backend, as if its TTL had
     * passed (e.g. PEXPIRE 1 / rewrite the lease file / move the local expiry into the past),
     * without touching the engine's handle (its valid_until stays in the future). Return OF_OK.
     * NULL: the suite waits out `short_ttl_ms` in real time instead (then the handle's
     * valid_until has passed too, so "the backend answers NOT_OWNER while the engine still
     * believes the lease valid" is exercised only through release). */
    int (*force_lapse)(void *ctx, of_lock_provider *provider, const void *name, size_t name_len);

    /* Optional: stop (paused = 1) or resume (0) the auto-renewals of @p provider so a lease can
     * run out under an auto-renewed handle. NULL: the public of_lock_provider_pause_renewals(),
     * which works for every provider made with of_lock_provider_create(). */
    int (*pause_renewals)(void *ctx, of_lock_provider *provider, int paused);

    /* The capability bits the provider must report (checked exactly). Cases that need a cap the
     * provider lacks check the documented NOT_SUPPORTED answer instead. */
    uint32_t caps;

    /* A TTL short enough to wait out in a test yet long enough for one round trip of the backend
     * to succeed reliably under valgrind and sanitizers (0: 300 ms). */
    uint32_t short_ttl_ms;
} of_conformance_target;

/* Run the suite (one cmocka group named "conformance/<name>") against @p target.
 * Returns the number of failed cases (0 = conforms), or -1 for a malformed target. */
int of_conformance_run(const of_conformance_target *target);

/* main() helper: argv[1] names the target to run; with no argument and exactly one target, that
 * one. Returns the process exit status (0 only if every case passed; 2 for an unknown name). */
int of_conformance_main(int argc, char **argv, const of_conformance_target *targets,
                        size_t target_count);

#ifdef __cplusplus
}
#endif

#endif
