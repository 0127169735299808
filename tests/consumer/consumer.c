/* Built against an installed libopenfault through pkg-config by check-consumer.sh. */
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
    printf("consumer OK: libopenfault %s, hash %016llx\n", of_version_string(),
           (unsigned long long)of_hash64("key", 3, 0));
    return 0;
}
