/*
 * FNV-1a, 64 bits: ETags are content digests of rendered bytes, so the
 * same bytes always carry the same validator and re-importing changes
 * nothing.  Not for anything adversarial.
 */

#ifndef CART_HASH_H
#define CART_HASH_H

#include <stddef.h>
#include <stdint.h>


#define CART_HASH_INIT  0xcbf29ce484222325ULL


static inline uint64_t
cart_hash_update(uint64_t h, const void *data, size_t len)
{
    const unsigned char  *p = data;

    while (len--) {
        h ^= *p++;
        h *= 0x100000001b3ULL;
    }

    return h;
}


static inline uint64_t
cart_hash(const void *data, size_t len)
{
    return cart_hash_update(CART_HASH_INIT, data, len);
}


#endif /* CART_HASH_H */
