/*
 * A 64-bit digest for ETags: ETags are content digests of rendered bytes,
 * so the same bytes always carry the same validator and re-importing
 * changes nothing.  FNV-1a's multiply-xor, a word at a time (a byte at a
 * time costs microseconds on a cart), with a final mix.  Not for anything
 * adversarial.
 */

#ifndef CART_HASH_H
#define CART_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>


#define CART_HASH_INIT   0xcbf29ce484222325ULL
#define CART_HASH_PRIME  0x100000001b3ULL


static inline uint64_t
cart_hash_update(uint64_t h, const void *data, size_t len)
{
    uint64_t              w;
    const unsigned char  *p = data;

    for ( /* void */ ; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * CART_HASH_PRIME;
        h ^= h >> 29;
    }

    while (len--) {
        h = (h ^ *p++) * CART_HASH_PRIME;
    }

    return h;
}


static inline uint64_t
cart_hash(const void *data, size_t len)
{
    uint64_t  h;

    h = cart_hash_update(CART_HASH_INIT, data, len);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;

    return h;
}


#endif /* CART_HASH_H */
