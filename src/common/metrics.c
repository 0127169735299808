/* The metrics writer (see metrics.h). Text is produced in small pieces: in buffer mode each piece
 * is copied while it fits and always counted, so one pass both fills a large enough buffer and
 * measures the size a too small one needed. */
#include "common/metrics.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"

static int is_name_char(char c, int first, int colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return 1;
    if (colon && c == ':')
        return 1;
    return !first && c >= '0' && c <= '9';
}

static int valid_name(const char *s, int colon, int allow_empty)
{
    if (!s[0])
        return allow_empty;
    for (size_t i = 0; s[i]; i++)
        if (!is_name_char(s[i], i == 0, colon))
            return 0;
    return 1;
}

int ofi_metrics_check(const char *fn_name, int format, const char *prefix,
                      const char *const *labels, const char *reserved)
{
    const char *const one[2] = {reserved, NULL};
    return ofi_metrics_check_reserved(fn_name, format, prefix, labels, one);
}

static int is_reserved(const char *n, const char *const *reserved)
{
    if (strcmp(n, "le") == 0)
        return 1;
    for (size_t i = 0; reserved && reserved[i]; i++)
        if (strcmp(n, reserved[i]) == 0)
            return 1;
    return 0;
}

int ofi_metrics_check_reserved(const char *fn_name, int format, const char *prefix,
                               const char *const *labels, const char *const *reserved)
{
    if (format != OF_METRICS_PROMETHEUS && format != OF_METRICS_JSON)
        return ofi_fail(OF_ERR_INVALID, "%s: format %d is neither OF_METRICS_PROMETHEUS nor "
                        "OF_METRICS_JSON", fn_name, format);
    if (prefix && (strlen(prefix) > 128 || !valid_name(prefix, 1, 1)))
        return ofi_fail(OF_ERR_INVALID, "%s: prefix must match [a-zA-Z_:][a-zA-Z0-9_:]* (at most "
                        "128 bytes)", fn_name);
    if (!labels)
        return OF_OK;
    size_t i = 0;
    for (; labels[i]; i += 2) {
        if (i / 2 >= OFI_METRICS_MAX_LABELS)
            return ofi_fail(OF_ERR_INVALID, "%s: more than %d constant labels", fn_name,
                            OFI_METRICS_MAX_LABELS);
        const char *n = labels[i];
        if (!labels[i + 1])
            return ofi_fail(OF_ERR_INVALID, "%s: label '%.64s' has no value (labels are name, "
                            "value pairs ending in NULL)", fn_name, n);
        if (strlen(n) > 128 || !valid_name(n, 0, 0) || (n[0] == '_' && n[1] == '_'))
            return ofi_fail(OF_ERR_INVALID, "%s: label name '%.64s' must match "
                            "[a-zA-Z_][a-zA-Z0-9_]* and not start with __", fn_name, n);
        if (is_reserved(n, reserved))
            return ofi_fail(OF_ERR_INVALID, "%s: label name '%s' is reserved", fn_name, n);
        for (size_t j = 0; j < i; j += 2)
            if (strcmp(labels[j], n) == 0)
                return ofi_fail(OF_ERR_INVALID, "%s: label '%.64s' given twice", fn_name, n);
    }
    return OF_OK;
}

static void put(ofi_metrics *m, const char *s, size_t n)
{
    if (m->rc != OF_OK || n == 0)
        return;
    if (m->fn) {
        int r = m->fn(m->ctx, s, n);
        if (r != 0)
            m->rc = r < 0 && r >= OF_STATUS_MIN ? r : OF_ERR_UNAVAILABLE;
        m->len += n;
        return;
    }
    if (m->len < m->cap) {
        size_t room = m->cap - m->len;
        memcpy(m->buf + m->len, s, n < room ? n : room);
    }
    m->len += n;
}

static void puts_(ofi_metrics *m, const char *s)
{
    put(m, s, strlen(s));
}

/* A label value or help text: Prometheus escapes \ " and newline (help: only \ and newline);
 * JSON also control characters. */
static void put_escaped(ofi_metrics *m, const char *s, int quote)
{
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        const char *e = NULL;
        if (c == '\\')
            e = "\\\\";
        else if (c == '"' && (quote || m->format == OF_METRICS_JSON))
            e = "\\\"";
        else if (c == '\n')
            e = "\\n";
        else if (c < 0x20 && m->format == OF_METRICS_JSON) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            e = esc;
        }
        if (e) {
            put(m, run, (size_t)(s - run));
            puts_(m, e);
            run = s + 1;
        }
    }
    put(m, run, (size_t)(s - run));
}

void ofi_metrics_begin(ofi_metrics *m, int format, const char *prefix, const char *const *labels,
                       const char *src_label, const char *src_value, char *buf, size_t cap,
                       of_metrics_write_fn fn, void *ctx)
{
    memset(m, 0, sizeof *m);
    m->format = format;
    m->prefix = prefix ? prefix : "openfault_";
    m->labels = labels;
    if (labels)
        while (labels[2 * m->nlabels])
            m->nlabels++;
    m->src_label = src_label;
    m->src_value = src_value;
    m->buf = buf;
    m->cap = cap;
    m->fn = fn;
    m->ctx = ctx;
    m->rc = OF_OK;
    if (format == OF_METRICS_JSON)
        puts_(m, "{\"metrics\":[");
}

static void end_family_json(ofi_metrics *m)
{
    if (m->format == OF_METRICS_JSON && m->family)
        puts_(m, "]}");
}

void ofi_metrics_family(ofi_metrics *m, const char *name, const char *type, const char *help)
{
    end_family_json(m);
    m->family = name;
    m->samples = 0;
    if (m->format == OF_METRICS_PROMETHEUS) {
        puts_(m, "# HELP ");
        puts_(m, m->prefix);
        puts_(m, name);
        puts_(m, " ");
        put_escaped(m, help, 0);
        puts_(m, "\n# TYPE ");
        puts_(m, m->prefix);
        puts_(m, name);
        puts_(m, " ");
        puts_(m, type);
        puts_(m, "\n");
        return;
    }
    puts_(m, m->families++ ? ",{\"name\":\"" : "{\"name\":\"");
    puts_(m, m->prefix);
    puts_(m, name);
    puts_(m, "\",\"type\":\"");
    puts_(m, type);
    puts_(m, "\",\"help\":\"");
    put_escaped(m, help, 1);
    puts_(m, "\",\"samples\":[");
}

static void label(ofi_metrics *m, int *n, const char *name, const char *value)
{
    if (m->format == OF_METRICS_PROMETHEUS) {
        puts_(m, (*n)++ ? "," : "{");
        puts_(m, name);
        puts_(m, "=\"");
    } else {
        puts_(m, (*n)++ ? ",\"" : "\"");
        puts_(m, name);
        puts_(m, "\":\"");
    }
    put_escaped(m, value, 1);
    puts_(m, "\"");
}

/* One sample line: family name + @p suffix, labels (the source's, the caller's, then @p extra:
 * name, value pairs ending in NULL), value text. */
static void sample_pairs(ofi_metrics *m, const char *suffix, const char *const *extra,
                         const char *value)
{
    int n = 0;
    if (m->format == OF_METRICS_PROMETHEUS) {
        puts_(m, m->prefix);
        puts_(m, m->family);
        puts_(m, suffix);
    } else {
        puts_(m, m->samples++ ? ",{\"name\":\"" : "{\"name\":\"");
        puts_(m, m->prefix);
        puts_(m, m->family);
        puts_(m, suffix);
        puts_(m, "\",\"labels\":{");
    }
    if (m->src_label)
        label(m, &n, m->src_label, m->src_value);
    for (size_t i = 0; i < m->nlabels; i++)
        label(m, &n, m->labels[2 * i], m->labels[2 * i + 1]);
    for (size_t i = 0; extra && extra[i]; i += 2)
        label(m, &n, extra[i], extra[i + 1]);
    if (m->format == OF_METRICS_PROMETHEUS) {
        puts_(m, n ? "} " : " ");
        puts_(m, value);
        puts_(m, "\n");
    } else {
        puts_(m, "},\"value\":");
        puts_(m, value);
        puts_(m, "}");
    }
}

static void sample_text(ofi_metrics *m, const char *suffix, const char *lname, const char *lvalue,
                        const char *value)
{
    const char *const extra[3] = {lname, lvalue, NULL};
    sample_pairs(m, suffix, extra, value);
}

void ofi_metrics_sample(ofi_metrics *m, const char *lname, const char *lvalue, uint64_t value)
{
    char v[24];
    snprintf(v, sizeof v, "%llu", (unsigned long long)value);
    sample_text(m, "", lname, lvalue, v);
}

void ofi_metrics_sample_double(ofi_metrics *m, const char *lname, const char *lvalue,
                               double value)
{
    /* %.17g round-trips a double; JSON and Prometheus both read it. Non-finite values have no
     * JSON spelling: the callers export none. */
    char v[32];
    snprintf(v, sizeof v, "%.17g", value);
    sample_text(m, "", lname, lvalue, v);
}

void ofi_metrics_sample_labels(ofi_metrics *m, const char *const *pairs, uint64_t value)
{
    char v[24];
    snprintf(v, sizeof v, "%llu", (unsigned long long)value);
    sample_pairs(m, "", pairs, v);
}

void ofi_metrics_histogram(ofi_metrics *m, const double *bounds_s, size_t nb, const uint64_t *cum,
                           double sum_s)
{
    char v[40], le[32];
    for (size_t i = 0; i <= nb; i++) {
        if (i < nb)
            snprintf(le, sizeof le, "%g", bounds_s[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        snprintf(v, sizeof v, "%llu", (unsigned long long)cum[i]);
        sample_text(m, "_bucket", "le", le, v);
    }
    snprintf(v, sizeof v, "%.9f", sum_s);
    sample_text(m, "_sum", NULL, NULL, v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)cum[nb]);
    sample_text(m, "_count", NULL, NULL, v);
}

int ofi_metrics_end(ofi_metrics *m, size_t *out_len)
{
    end_family_json(m);
    if (m->format == OF_METRICS_JSON)
        puts_(m, "]}\n");
    if (out_len)
        *out_len = m->len;
    if (m->rc != OF_OK)
        return m->rc;
    if (m->fn)
        return OF_OK;
    if (m->len + 1 > m->cap) {
        if (m->cap)
            m->buf[0] = '\0';
        return ofi_fail(OF_ERR_NOSPACE, "metrics need %zu bytes and a NUL; the buffer has %zu",
                        m->len, m->cap);
    }
    m->buf[m->len] = '\0';
    return OF_OK;
}
