/* Shared by the providers' options code (see provider_options.h). */
#include "lock/providers/provider_options.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

int ofi_options_size_check(const char *what, size_t size, size_t v1_size, size_t current_size)
{
    if (size > current_size || size < v1_size)
        return ofi_fail(OF_ERR_ABI, "%s %zu: this library knows %zu", what, size, current_size);
    return OF_OK;
}

int ofi_options_init(void *opts, size_t struct_size, const void *defaults, size_t v1_size,
                     size_t current_size)
{
    if (opts == NULL)
        return ofi_fail(OF_ERR_INVALID, "opts is NULL");
    int rc = ofi_options_size_check("struct_size", struct_size, v1_size, current_size);
    if (rc != OF_OK)
        return rc;
    memcpy(opts, defaults, struct_size);
    uint32_t size32 = (uint32_t)struct_size;
    memcpy(opts, &size32, sizeof size32);
    return OF_OK;
}

void ofi_wipe_free(void *buf, size_t len)
{
    /* volatile: the stores must happen although the memory is freed right after. */
    volatile char *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = 0;
    free(buf);
}

void ofi_free_secret(char *secret)
{
    if (secret != NULL)
        ofi_wipe_free(secret, strlen(secret));
}
