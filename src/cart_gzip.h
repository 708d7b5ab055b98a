/*
 * Deflated views (cart_layout.h) and the gzip answers made of them,
 * without compressing anything per request: a view is deflated once, when
 * it is written, as a piece that ends on a byte boundary; a gzip answer
 * is a header, the pieces (and the bytes between them as stored blocks),
 * an empty final block and a trailer whose CRC combines the pieces'.
 * Pure functions of bytes, on libdeflate (deflate and inflate) and zlib
 * (CRCs, and the writer's deflate of views libdeflate makes several blocks
 * of): they know nothing of HTTP or carts.
 */

#ifndef CART_GZIP_H
#define CART_GZIP_H

#include <stddef.h>
#include <stdint.h>

#include "cart_layout.h"


/* a gzip member's header: no name, no time, made on Unix */
#define CART_GZIP_HEADER_LEN   10
extern const unsigned char  cart_gzip_header[CART_GZIP_HEADER_LEN];

/* an empty final block (fixed codes), then CRC-32 and length, LE */
#define CART_GZIP_END_LEN      (2 + 8)

/* plain bytes as stored blocks: 5 bytes before each 65,535 of them */
#define CART_GZIP_STORED_MAX   65535
#define cart_gzip_stored_len(len)                                            \
    ((len) + 5 * (((len) + CART_GZIP_STORED_MAX - 1) / CART_GZIP_STORED_MAX))


/*
 * Deflates a view into a piece (cart_gzip_deflate.c, the writer's: on
 * libdeflate, each thread its own compressor): malloc()ed, described in
 * d.  NULL when out of memory or the view is longer than
 * CART_VIEW_MAX_LEN.
 */
unsigned char *cart_gzip_deflate(const void *view, size_t len,
    cart_deflated_t *d);

/*
 * Inflates a piece into out, d->plain_len bytes (libdeflate, a copy of
 * the piece ended by a final block): 0, or -1 when the piece is not a
 * whole one of that length.
 */
int cart_gzip_inflate(const unsigned char *piece, const cart_deflated_t *d,
    unsigned char *out);

/*
 * The plain bytes of a stored view (its bytes at piece): the ones its
 * record keeps after the deflated ones (CART_DEFLATED_PLAIN), in place,
 * or it inflated into out as cart_gzip_inflate() does.  NULL when it does
 * not inflate.
 */
const unsigned char *cart_gzip_plain(const unsigned char *piece,
    const cart_deflated_t *d, unsigned char *out);

/* plain bytes as stored blocks at p (cart_gzip_stored_len()); the end */
unsigned char *cart_gzip_stored(unsigned char *p, const void *bytes,
    size_t len);

/* the CRC-32 of bytes following crc, and of a piece following crc */
uint32_t cart_gzip_crc(uint32_t crc, const void *bytes, size_t len);
uint32_t cart_gzip_crc_piece(uint32_t crc, const cart_deflated_t *d);

/* the end of an answer of len plain bytes whose CRC-32 is crc, at p */
unsigned char *cart_gzip_end(unsigned char *p, uint32_t crc, uint64_t len);


#endif /* CART_GZIP_H */
