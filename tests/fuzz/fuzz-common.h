/* Shared by the libFuzzer harnesses: a reader that turns the fuzz input into choices (running
 * out of input yields zeros, so every input is a valid program), and a check that aborts with a
 * message libFuzzer saves next to the crashing input. */
#ifndef OPENFAULT_TESTS_FUZZ_COMMON_H
#define OPENFAULT_TESTS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openfault/common.h>

typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

static inline int fz_more(const fz_in *in)
{
    return in->n > 0;
}

static inline uint8_t fz_u8(fz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t fz_u16(fz_in *in)
{
    uint16_t v = fz_u8(in);
    return (uint16_t)(v | (uint16_t)fz_u8(in) << 8);
}

static inline uint32_t fz_u32(fz_in *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)fz_u8(in) << (8 * i);
    return v;
}

static inline uint64_t fz_u64(fz_in *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)fz_u8(in) << (8 * i);
    return v;
}

/* Up to @p max bytes copied into @p out (fewer when the input runs out); returns the count. */
static inline size_t fz_bytes(fz_in *in, uint8_t *out, size_t want)
{
    size_t k = want < in->n ? want : in->n;
    memcpy(out, in->p, k);
    in->p += k;
    in->n -= k;
    return k;
}

#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A status equal to the expected one, with both names in the message. */
#define FZ_STATUS(got, want, what)                                                                 \
    FZ_CHECK((got) == (want), "%s: got %s, want %s (detail: %s)", (what),                          \
             of_status_name(got), of_status_name(want), of_last_error_detail())

#endif
