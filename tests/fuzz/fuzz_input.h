/* Reading a fuzz input as a little format: single bytes, big-endian
 * numbers and length-prefixed chunks.  Reading past the end gives zeros
 * and empty chunks, so every byte string is a valid input. */
#ifndef FLOWSENSE_FUZZ_INPUT_H
#define FLOWSENSE_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_input {
    const uint8_t *p;
    size_t left;
};

static inline uint64_t fuzz_take_be(struct fuzz_input *in, size_t width)
{
    uint64_t v = 0;

    for (size_t i = 0; i < width; i++) {
        v <<= 8;
        if (in->left > 0) {
            v |= *in->p++;
            in->left--;
        }
    }
    return v;
}

static inline uint8_t fuzz_take_u8(struct fuzz_input *in)
{
    return (uint8_t)fuzz_take_be(in, 1);
}

/* A chunk: a 2-byte length, then that many bytes (fewer at the end). */
static inline const uint8_t *fuzz_take_chunk(struct fuzz_input *in, size_t *len)
{
    size_t want = (size_t)fuzz_take_be(in, 2);
    const uint8_t *p = in->p;

    *len = want < in->left ? want : in->left;
    in->p += *len;
    in->left -= *len;
    return p;
}

#endif
