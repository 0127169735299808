/* Built against libopenfault the ways a user would: through pkg-config (check-consumer.sh), CMake
 * find_package and pkg_check_modules (check-cmake.sh) and as a meson subproject
 * (check-subproject.sh); each links it shared and static. */
#include <stdio.h>
#include <string.h>

#include <openfault/openfault.h>

int main(void)
{
    if (of_version_number() != OF_VERSION_NUMBER) {
        fprintf(stderr, "header/library version mismatch: %u vs %d\n", of_version_number(),
                OF_VERSION_NUMBER);
        return 1;
    }
    if (strcmp(of_status_name(OF_ERR_BUSY), "OF_ERR_BUSY") != 0)
        return 1;
    /* Creating a Redis provider pulls the provider (and, in a static link, hiredis) into the
     * program; nothing connects until the first lock call. */
    of_lock_provider *p = NULL;
    int rc = of_lock_redis_create_url("redis://127.0.0.1:1", &p);
    if (of_lock_redis_available() ? rc != OF_OK : rc != OF_ERR_NOT_SUPPORTED) {
        fprintf(stderr, "of_lock_redis_create_url: %s (%s)\n", of_status_name(rc),
                of_last_error_detail());
        return 1;
    }
    of_lock_provider_destroy(p);
    printf("consumer OK: libopenfault %s, hash %016llx, redis %d\n", of_version_string(),
           (unsigned long long)of_hash64("key", 3, 0), of_lock_redis_available());
    return 0;
}
