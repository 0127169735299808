/* Bad-input rows: common.h (status text, detail, version, free, hash, clock, limits). */
#include <limits.h>
#include <string.h>

#include "badinput.h"

#define ROWS_GROUP "common.h"

VROW(strerror_unknown_positive, of_strerror, F_NONE, "\"unknown status\"", "status 1")
{
    return strcmp(of_strerror(1), "unknown status") == 0;
}

VROW(strerror_below_min, of_strerror, F_NONE, "\"unknown status\"", "status OF_STATUS_MIN - 1")
{
    return strcmp(of_strerror(OF_STATUS_MIN - 1), "unknown status") == 0;
}

VROW(strerror_int_min, of_strerror, F_NONE, "\"unknown status\"", "status INT_MIN")
{
    return strcmp(of_strerror(INT_MIN), "unknown status") == 0;
}

VROW(status_name_unknown, of_status_name, F_NONE, "\"OF_ERR_?\"", "status 1, INT_MIN, INT_MAX")
{
    return strcmp(of_status_name(1), "OF_ERR_?") == 0 &&
           strcmp(of_status_name(INT_MIN), "OF_ERR_?") == 0 &&
           strcmp(of_status_name(INT_MAX), "OF_ERR_?") == 0;
}

VROW(last_error_detail_never_null, of_last_error_detail, F_NONE, "\"\" (never NULL)",
     "no failed call yet on this thread")
{
    const char *d = of_last_error_detail();
    return d != NULL && d[0] == '\0';
}

VROW(version_number_matches_header, of_version_number, F_NONE, "`OF_VERSION_NUMBER`",
     "(no arguments)")
{
    return of_version_number() == OF_VERSION_NUMBER;
}

VROW(version_string_matches_header, of_version_string, F_NONE, "`OF_VERSION_STRING`",
     "(no arguments)")
{
    const char *s = of_version_string();
    return s && strcmp(s, OF_VERSION_STRING) == 0;
}

VROW(free_null, of_free, F_NONE, "no-op", "NULL")
{
    of_free(NULL);
    return 1;
}

VROW(hash64_null_empty, of_hash64, F_NONE, "hash of the empty input", "data NULL, len 0")
{
    return of_hash64(NULL, 0, 9) == of_hash64("", 0, 9);
}

VROW(hash64_null_len, of_hash64, F_NONE, "hash of the empty input", "data NULL, len SIZE_MAX")
{
    return of_hash64(NULL, SIZE_MAX, 9) == of_hash64("", 0, 9);
}

VROW(clock_monotonic, of_clock_monotonic_ns, F_NONE, "> 0, never decreasing", "(no arguments)")
{
    int64_t a = of_clock_monotonic_ns(), b = of_clock_monotonic_ns();
    return a > 0 && b >= a;
}

VROW(name_max, of_name_max, F_NONE, "1024 (`OF_NAME_MAX`)", "(no arguments)")
{
    return of_name_max() == OF_NAME_MAX && OF_NAME_MAX == 1024;
}
