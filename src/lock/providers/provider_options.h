/* What the providers' configuration code shares: the struct_size rule of their options structs
 * (DESIGN.md: the V1 size is frozen with offsetof, any size from V1 to the library's own is
 * accepted) and the wiping of secrets copied out of them. Needs no hiredis, libcurl or jansson,
 * so it is built with the config files in every build. */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_PROVIDER_OPTIONS_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_PROVIDER_OPTIONS_H

#include <stddef.h>

/* OF_OK when @p size is within @p v1_size .. @p current_size; otherwise OF_ERR_ABI with the
 * detail "<what> <size>: this library knows <current_size>". */
int ofi_options_size_check(const char *what, size_t size, size_t v1_size, size_t current_size);

/* The body of every of_lock_<provider>_options_init(): OF_ERR_INVALID for a NULL @p opts, the
 * size check, then the first @p struct_size bytes of @p defaults copied into @p opts (members
 * past the caller's size are neither read nor written) and struct_size, which must be the
 * struct's first member (a uint32_t), set to @p struct_size. */
int ofi_options_init(void *opts, size_t struct_size, const void *defaults, size_t v1_size,
                     size_t current_size);

/* Zero the first @p len bytes of @p buf before freeing it, so that a secret (a password, or a
 * buffer that may hold part of one) does not stay behind in freed heap memory. */
void ofi_wipe_free(void *buf, size_t len);

/* The same for a NUL-terminated secret; NULL is a no-op. */
void ofi_free_secret(char *secret);

#endif
