#include <libdeflate.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cart_gzip.h"


/*
 * A thread's inflater, made when first needed, freed with the thread:
 * libdeflate's decoder (a view in 60% of zlib's time), which wants a whole
 * stream, so a piece is copied and an empty final block put after it.
 */
typedef struct {
    struct libdeflate_decompressor  *decompressor;
    unsigned char                   *stream;
    size_t                           stream_size;
} cart_gzip_inflater_t;


const unsigned char  cart_gzip_header[CART_GZIP_HEADER_LEN] = {
    0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3
};

/*
 * The final block put after a piece: stored, empty (one of fixed codes
 * would have libdeflate build those codes' tables again each time, 1.5 µs)
 */
static const unsigned char  cart_gzip_final_stored[] = {
    0x01, 0x00, 0x00, 0xff, 0xff
};

static pthread_key_t   cart_gzip_key;
static pthread_once_t  cart_gzip_once = PTHREAD_ONCE_INIT;


static void
cart_gzip_inflater_free(void *data)
{
    cart_gzip_inflater_t  *s = data;

    libdeflate_free_decompressor(s->decompressor);
    free(s->stream);
    free(s);
}


static void
cart_gzip_key_create(void)
{
    (void) pthread_key_create(&cart_gzip_key, cart_gzip_inflater_free);
}


static cart_gzip_inflater_t *
cart_gzip_inflater(void)
{
    cart_gzip_inflater_t  *s;

    (void) pthread_once(&cart_gzip_once, cart_gzip_key_create);

    s = pthread_getspecific(cart_gzip_key);
    if (s) {
        return s;
    }

    s = calloc(1, sizeof(cart_gzip_inflater_t));
    if (s == NULL) {
        return NULL;
    }

    s->decompressor = libdeflate_alloc_decompressor();

    if (s->decompressor == NULL
        || pthread_setspecific(cart_gzip_key, s) != 0)
    {
        cart_gzip_inflater_free(s);
        return NULL;
    }

    return s;
}


int
cart_gzip_inflate(const unsigned char *piece, const cart_deflated_t *d,
    unsigned char *out)
{
    size_t                 n, read, written;
    unsigned char         *stream;
    cart_gzip_inflater_t  *s;

    s = cart_gzip_inflater();
    if (s == NULL) {
        return -1;
    }

    n = (size_t) d->len + sizeof(cart_gzip_final_stored);

    if (s->stream_size < n) {
        stream = realloc(s->stream, n);
        if (stream == NULL) {
            return -1;
        }

        s->stream = stream;
        s->stream_size = n;
    }

    memcpy(s->stream, piece, d->len);
    memcpy(s->stream + d->len, cart_gzip_final_stored,
           sizeof(cart_gzip_final_stored));

    /* a whole piece: all read (one with a final block is not), its length */
    return (libdeflate_deflate_decompress_ex(s->decompressor, s->stream, n,
                                             out, d->plain_len, &read,
                                             &written)
            == LIBDEFLATE_SUCCESS
            && read == n && written == d->plain_len) ? 0 : -1;
}


const unsigned char *
cart_gzip_plain(const unsigned char *piece, const cart_deflated_t *d,
    unsigned char *out)
{
    if (d->flags & CART_DEFLATED_PLAIN) {
        return piece + d->len;
    }

    return cart_gzip_inflate(piece, d, out) == 0 ? out : NULL;
}


unsigned char *
cart_gzip_stored(unsigned char *p, const void *bytes, size_t len)
{
    size_t                n;
    const unsigned char  *b;

    for (b = bytes; len; b += n, len -= n) {
        n = len < CART_GZIP_STORED_MAX ? len : CART_GZIP_STORED_MAX;

        /* BFINAL 0, BTYPE 00, then LEN and its complement */
        *p++ = 0;
        *p++ = (unsigned char) (n & 0xff);
        *p++ = (unsigned char) (n >> 8);
        *p++ = (unsigned char) (~n & 0xff);
        *p++ = (unsigned char) ((~n >> 8) & 0xff);

        memcpy(p, b, n);
        p += n;
    }

    return p;
}


uint32_t
cart_gzip_crc(uint32_t crc, const void *bytes, size_t len)
{
    return (uint32_t) crc32_z(crc, bytes, len);
}


uint32_t
cart_gzip_crc_piece(uint32_t crc, const cart_deflated_t *d)
{
    return (uint32_t) crc32_combine_op(crc, d->crc, d->crc_op);
}


unsigned char *
cart_gzip_end(unsigned char *p, uint32_t crc, uint64_t len)
{
    int  i;

    /* BFINAL 1, fixed codes, end of block: 10 bits */
    *p++ = 0x03;
    *p++ = 0x00;

    for (i = 0; i < 4; i++) {
        *p++ = (unsigned char) (crc >> (8 * i));
    }

    for (i = 0; i < 4; i++) {
        *p++ = (unsigned char) (len >> (8 * i));
    }

    return p;
}
