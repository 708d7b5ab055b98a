#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cart_gzip.h"


/* raw deflate, level 1: a quarter of a view's bytes, in 20 µs a view */
#define CART_GZIP_LEVEL      1

/* a thread's streams, made when first needed and ended with the thread */
typedef struct {
    z_stream    deflate;
    z_stream    inflate;
    int         deflating;
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

    if (s->deflating) {
        deflateEnd(&s->deflate);
    }

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


unsigned char *
cart_gzip_deflate(const void *view, size_t len, cart_deflated_t *d)
{
    size_t                cap;
    unsigned char        *piece;
    cart_gzip_streams_t  *s;

    s = cart_gzip_streams();

    if (s == NULL || len > CART_VIEW_MAX_LEN) {
        return NULL;
    }

    if (!s->deflating) {
        if (deflateInit2(&s->deflate, CART_GZIP_LEVEL, Z_DEFLATED, -15, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
        {
            return NULL;
        }

        s->deflating = 1;
    }

    /* the bound of a whole stream, and the sync flush's 5 bytes */
    cap = deflateBound(&s->deflate, (uLong) len) + 5;

    piece = malloc(cap);
    if (piece == NULL) {
        return NULL;
    }

    s->deflate.next_in = (Bytef *) view;
    s->deflate.avail_in = (uInt) len;
    s->deflate.next_out = piece;
    s->deflate.avail_out = (uInt) cap;

    if (deflate(&s->deflate, Z_SYNC_FLUSH) != Z_OK
        || s->deflate.avail_in != 0 || s->deflate.avail_out == 0)
    {
        (void) deflateReset(&s->deflate);
        free(piece);
        return NULL;
    }

    memset(d, 0, sizeof(cart_deflated_t));
    d->len = (uint32_t) (cap - s->deflate.avail_out);
    d->plain_len = (uint32_t) len;
    d->crc = (uint32_t) crc32(0, view, (uInt) len);

    /* a listing then combines this CRC after others' in one step */
    d->crc_op = (uint32_t) crc32_combine_gen((z_off_t) len);

    (void) deflateReset(&s->deflate);

    return piece;
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
