/* A writer of metrics in the Prometheus text exposition format (0.0.4) or as JSON, into a
 * caller buffer (measuring the size it needs) or through a write callback. Shared by every part
 * of the library that exports figures, so names, labels and escaping follow one set of rules.
 *
 * Use: ofi_metrics_check() the caller's arguments, ofi_metrics_begin(), then per metric family
 * ofi_metrics_family() and its samples (ofi_metrics_sample(), ofi_metrics_histogram()), then
 * ofi_metrics_end(). */
#ifndef OPENFAULT_SRC_COMMON_METRICS_H
#define OPENFAULT_SRC_COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/common.h>

#define OFI_METRICS_MAX_LABELS 32

typedef struct ofi_metrics {
    int format;
    const char *prefix;
    const char *const *labels; /* name, value pairs */
    size_t nlabels;
    const char *src_label, *src_value; /* one label every sample carries (e.g. provider) */
    of_metrics_write_fn fn;
    void *ctx;
    char *buf;
    size_t cap;
    size_t len; /* bytes produced (buffer mode: also those that did not fit) */
    int rc;
    int families; /* JSON: families written so far */
    int samples;  /* JSON: samples in the current family */
    const char *family;
} ofi_metrics;

/* OF_OK or OF_ERR_INVALID (with detail naming @p fn_name) for a bad format, prefix or label.
 * @p reserved is a label name the source adds itself (refused from the caller). */
int ofi_metrics_check(const char *fn_name, int format, const char *prefix,
                      const char *const *labels, const char *reserved);

/* As ofi_metrics_check(), with a list of reserved label names ending in NULL (may be NULL). */
int ofi_metrics_check_reserved(const char *fn_name, int format, const char *prefix,
                               const char *const *labels, const char *const *reserved);

/* Start writing to @p buf/@p cap (when @p fn is NULL) or through @p fn. */
void ofi_metrics_begin(ofi_metrics *m, int format, const char *prefix, const char *const *labels,
                       const char *src_label, const char *src_value, char *buf, size_t cap,
                       of_metrics_write_fn fn, void *ctx);

/* A family: @p name without the prefix (counters end in _total), @p type "counter", "gauge" or
 * "histogram". */
void ofi_metrics_family(ofi_metrics *m, const char *name, const char *type, const char *help);

/* A sample of the current family; @p lname/@p lvalue an extra label (NULL: none). */
void ofi_metrics_sample(ofi_metrics *m, const char *lname, const char *lvalue, uint64_t value);

/* A sample with a floating-point value (finite). */
void ofi_metrics_sample_double(ofi_metrics *m, const char *lname, const char *lvalue,
                               double value);

/* A sample with several extra labels: @p pairs is name, value, ..., NULL. */
void ofi_metrics_sample_labels(ofi_metrics *m, const char *const *pairs, uint64_t value);

/* The samples of a histogram family: @p cum[i] observations <= @p bounds_s[i], @p cum[nb] all
 * of them, @p sum_s their sum in seconds. */
void ofi_metrics_histogram(ofi_metrics *m, const double *bounds_s, size_t nb, const uint64_t *cum,
                           double sum_s);

/* Finish: OF_OK, the callback's stop status, or (buffer mode) OF_ERR_NOSPACE when the text and
 * its NUL did not fit. *out_len (may be NULL) gets the text's length. */
int ofi_metrics_end(ofi_metrics *m, size_t *out_len);

#endif
