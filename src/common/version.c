#include <openfault/common.h>

#include <stdlib.h>

OF_API unsigned of_version_number(void)
{
    return OF_VERSION_NUMBER;
}

OF_API const char *of_version_string(void)
{
    return OF_VERSION_STRING;
}

OF_API void of_free(void *ptr)
{
    free(ptr);
}

OF_API size_t of_name_max(void)
{
    return OF_NAME_MAX;
}
