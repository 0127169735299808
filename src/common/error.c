#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>

/* One buffer per thread: the detail belongs to the thread's last failed call, never to a shared
 * object, so concurrent failures on one ring or provider cannot overwrite each other's text. */
static _Thread_local char detail_buf[512];

void ofi_set_detail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail_buf, sizeof detail_buf, fmt, ap);
    va_end(ap);
}

void ofi_clear_detail(void)
{
    detail_buf[0] = '\0';
}

const char *ofi_error_detail(void)
{
    return detail_buf;
}

OF_API const char *of_last_error_detail(void)
{
    return detail_buf;
}
