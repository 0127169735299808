#include <openfault/common.h>

struct status_text {
    const char *name;
    const char *text;
};

/* Indexed by -status; the table in DESIGN.md is the source of truth and never renumbers.
 * Designated indexes tie each row to its enum value, and the assertion below catches a code
 * appended to the enum without a row here. */
static const struct status_text status_table[] = {
    [-OF_OK] = {"OF_OK", "success"},
    [-OF_ERR_INVALID] = {"OF_ERR_INVALID", "invalid argument"},
    [-OF_ERR_NOMEM] = {"OF_ERR_NOMEM", "out of memory"},
    [-OF_ERR_NOT_FOUND] = {"OF_ERR_NOT_FOUND", "not found"},
    [-OF_ERR_EXISTS] = {"OF_ERR_EXISTS", "already exists"},
    [-OF_ERR_EMPTY] = {"OF_ERR_EMPTY", "nothing to answer with (empty)"},
    [-OF_ERR_NOSPACE] = {"OF_ERR_NOSPACE", "buffer or capacity too small"},
    [-OF_ERR_BUSY] = {"OF_ERR_BUSY", "lock is held by another owner"},
    [-OF_ERR_TIMEOUT] = {"OF_ERR_TIMEOUT", "timed out waiting for the lock"},
    [-OF_ERR_NOT_OWNER] = {"OF_ERR_NOT_OWNER", "lock is no longer held by this owner"},
    [-OF_ERR_LOST] = {"OF_ERR_LOST", "lock handle was already marked lost"},
    [-OF_ERR_UNAVAILABLE] = {"OF_ERR_UNAVAILABLE", "backend unavailable; nothing was sent"},
    [-OF_ERR_UNKNOWN] = {"OF_ERR_UNKNOWN", "request sent but no reply: outcome unknown"},
    [-OF_ERR_AUTH] = {"OF_ERR_AUTH", "backend refused the credentials"},
    [-OF_ERR_PROTOCOL] = {"OF_ERR_PROTOCOL", "unexpected reply from the backend"},
    [-OF_ERR_NOT_SUPPORTED] = {"OF_ERR_NOT_SUPPORTED", "not supported by this build, provider or mode"},
    [-OF_ERR_ABI] = {"OF_ERR_ABI", "struct or vtable version not supported by this library"},
};

_Static_assert(sizeof status_table / sizeof status_table[0] == (size_t)(1 - OF_STATUS_MIN),
               "status_table needs exactly one row per status code, OF_OK to OF_STATUS_MIN");

static const struct status_text *lookup(int status)
{
    if (status > 0 || status < OF_STATUS_MIN)
        return NULL;
    /* A row left out between two designated ones would be all NULL: treat it as unknown. */
    return status_table[-status].name ? &status_table[-status] : NULL;
}

OF_API const char *of_strerror(int status)
{
    const struct status_text *s = lookup(status);
    return s ? s->text : "unknown status";
}

OF_API const char *of_status_name(int status)
{
    const struct status_text *s = lookup(status);
    return s ? s->name : "OF_ERR_?";
}
