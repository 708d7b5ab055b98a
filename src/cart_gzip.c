#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cart_gzip.h"


/* a thread's inflate stream, made when first needed, ended with the thread */
typedef struct {
    z_stream    inflate;
    int         inflating;
} cart_gzip_streams_t;


const unsigned char  cart_gzip_header[CART_GZIP_HEADER_LEN] = {
    0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3
};

static pthread_key_t   cart_gzip_key;
static pthread_once_t  cart_gzip_once = PTHREAD_ONCE_INIT;


static void
cart_gzip_streams_end(void *data)
{
    cart_gzip_streams_t  *s = data;

    if (s->inflating) {
        inflateEnd(&s->inflate);
    }

    free(s);
}


static void
cart_gzip_key_create(void)
{
    (void) pthread_key_create(&cart_gzip_key, cart_gzip_streams_end);
}


static cart_gzip_streams_t *
cart_gzip_streams(void)
{
    cart_gzip_streams_t  *s;

    (void) pthread_once(&cart_gzip_once, cart_gzip_key_create);

    s = pthread_getspecific(cart_gzip_key);
    if (s) {
        return s;
    }

    s = calloc(1, sizeof(cart_gzip_streams_t));
    if (s == NULL) {
        return NULL;
    }

    if (pthread_setspecific(cart_gzip_key, s) != 0) {
        free(s);
        return NULL;
    }

    return s;
}


int
cart_gzip_inflate(const unsigned char *piece, const cart_deflated_t *d,
    unsigned char *out)
{
    int                   rc;
    cart_gzip_streams_t  *s;

    s = cart_gzip_streams();
    if (s == NULL) {
        return -1;
    }

    if (!s->inflating) {
        if (inflateInit2(&s->inflate, -15) != Z_OK) {
            return -1;
        }

        s->inflating = 1;
    }

    s->inflate.next_in = (Bytef *) piece;
    s->inflate.avail_in = d->len;
    s->inflate.next_out = out;
    s->inflate.avail_out = d->plain_len + 1;

    rc = inflate(&s->inflate, Z_SYNC_FLUSH);

    /* a whole piece: all of it read, no final block, its length out */
    rc = (rc == Z_OK && s->inflate.avail_in == 0
          && s->inflate.total_out == d->plain_len) ? 0 : -1;

    (void) inflateReset(&s->inflate);

    return rc;
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
