/*
 * The writer's half of cart_gzip.h: a view deflated into a piece, on
 * libdeflate (cartctl links it; the module, which never deflates, does
 * not link this file).
 *
 * libdeflate deflates a view in less than half zlib's time, to fewer
 * bytes, but only as a whole stream: its last block final, ended anywhere
 * in a byte.  A piece ends on a byte boundary without a final block.  So
 * the stream's first bit, the BFINAL of its first block, is cleared, and
 * an empty stored block (what a sync flush writes) follows: its 3 header
 * bits in the last byte's padding when 3 or more bits are left there, else
 * in one byte more, then LEN 0 and NLEN 0xffff.  Only decoding tells which
 * of the two for sure, so the piece is inflated as a reader would
 * (cart_gzip_inflate()) and kept only when it gives the view back, every
 * byte of it read; the last byte's bits tell which to try first.  A view
 * that libdeflate made more than one block of (from about 100 KB on) is
 * deflated by zlib, sync-flushed.
 */

#include <libdeflate.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cart_gzip.h"


/* level 1: a quarter of a view's bytes, see README (Compressed answers) */
#define CART_GZIP_LEVEL     1

/* a thread's coders, made when first needed and freed with the thread */
typedef struct {
    struct libdeflate_compressor    *compressor;
    unsigned char                   *check;        /* a piece inflated */
    size_t                           check_size;
    z_stream                         zlib;
    int                              zlib_ready;
} cart_gzip_coders_t;


/*
 * What follows the stream: the stored block's header byte when the
 * padding has no room for it, then LEN and NLEN
 */
static const unsigned char  cart_gzip_piece_end[] = {
    0x00, 0x00, 0x00, 0xff, 0xff
};

static pthread_key_t   cart_gzip_coders_key;
static pthread_once_t  cart_gzip_coders_once = PTHREAD_ONCE_INIT;


static void
cart_gzip_coders_free(void *data)
{
    cart_gzip_coders_t  *c = data;

    libdeflate_free_compressor(c->compressor);
    free(c->check);

    if (c->zlib_ready) {
        deflateEnd(&c->zlib);
    }

    free(c);
}


static void
cart_gzip_coders_key_create(void)
{
    (void) pthread_key_create(&cart_gzip_coders_key, cart_gzip_coders_free);
}


static cart_gzip_coders_t *
cart_gzip_coders(void)
{
    cart_gzip_coders_t  *c;

    (void) pthread_once(&cart_gzip_coders_once, cart_gzip_coders_key_create);

    c = pthread_getspecific(cart_gzip_coders_key);
    if (c) {
        return c;
    }

    c = calloc(1, sizeof(cart_gzip_coders_t));
    if (c == NULL) {
        return NULL;
    }

    c->compressor = libdeflate_alloc_compressor(CART_GZIP_LEVEL);

    if (c->compressor == NULL
        || pthread_setspecific(cart_gzip_coders_key, c) != 0)
    {
        cart_gzip_coders_free(c);
        return NULL;
    }

    return c;
}


/* 1 when the len bytes at piece inflate to the view */
static int
cart_gzip_gives_back(cart_gzip_coders_t *c, const unsigned char *piece,
    size_t len, const void *view, size_t view_len)
{
    unsigned char    *check;
    cart_deflated_t   d;

    /* a byte more: no realloc of 0 bytes for an empty view */
    if (c->check_size < view_len + 1) {
        check = realloc(c->check, view_len + 1);
        if (check == NULL) {
            return 0;
        }

        c->check = check;
        c->check_size = view_len + 1;
    }

    d.len = (uint32_t) len;
    d.plain_len = (uint32_t) view_len;

    return cart_gzip_inflate(piece, &d, c->check) == 0
           && memcmp(c->check, view, view_len) == 0;
}


/* libdeflate's one-block stream made a piece: its length, or 0 */
static size_t
cart_gzip_libdeflate(cart_gzip_coders_t *c, const void *view, size_t len,
    unsigned char *piece, size_t cap)
{
    size_t  n, i, first, with_byte, end_len;

    n = libdeflate_deflate_compress(c->compressor, view, len, piece,
                                    cap - sizeof(cart_gzip_piece_end));

    /* no stream, or one whose first block is not its last */
    if (n == 0 || !(piece[0] & 1)) {
        return 0;
    }

    piece[0] &= ~1;

    /*
     * The padding is zero bits: a last byte with a bit set in its top 3
     * has no room for the header, so a byte more is tried first.
     */
    first = (piece[n - 1] & 0xe0) != 0;

    for (i = 0; i < 2; i++) {
        with_byte = first ^ i;
        end_len = sizeof(cart_gzip_piece_end) - 1 + with_byte;

        memcpy(piece + n, cart_gzip_piece_end + 1 - with_byte, end_len);

        if (cart_gzip_gives_back(c, piece, n + end_len, view, len)) {
            return n + end_len;
        }
    }

    return 0;
}


/* zlib's sync-flushed stream as a piece: its length, or 0 */
static size_t
cart_gzip_zlib(cart_gzip_coders_t *c, const void *view, size_t len,
    unsigned char **piece)
{
    size_t          cap, n;
    unsigned char  *p;

    if (!c->zlib_ready) {
        if (deflateInit2(&c->zlib, CART_GZIP_LEVEL, Z_DEFLATED, -15, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
        {
            return 0;
        }

        c->zlib_ready = 1;
    }

    /* the bound of a whole stream, and the sync flush's 5 bytes */
    cap = deflateBound(&c->zlib, (uLong) len) + 5;

    p = realloc(*piece, cap);
    if (p == NULL) {
        return 0;
    }

    *piece = p;

    c->zlib.next_in = (Bytef *) view;
    c->zlib.avail_in = (uInt) len;
    c->zlib.next_out = p;
    c->zlib.avail_out = (uInt) cap;

    n = (deflate(&c->zlib, Z_SYNC_FLUSH) == Z_OK && c->zlib.avail_in == 0
         && c->zlib.avail_out != 0) ? cap - c->zlib.avail_out : 0;

    (void) deflateReset(&c->zlib);

    return n;
}


unsigned char *
cart_gzip_deflate(const void *view, size_t len, cart_deflated_t *d)
{
    size_t               cap, n;
    unsigned char       *piece;
    cart_gzip_coders_t  *c;

    c = cart_gzip_coders();

    if (c == NULL || len > CART_VIEW_MAX_LEN) {
        return NULL;
    }

    cap = libdeflate_deflate_compress_bound(c->compressor, len)
          + sizeof(cart_gzip_piece_end);

    piece = malloc(cap);
    if (piece == NULL) {
        return NULL;
    }

    n = cart_gzip_libdeflate(c, view, len, piece, cap);

    if (n == 0) {
        n = cart_gzip_zlib(c, view, len, &piece);
    }

    if (n == 0) {
        free(piece);
        return NULL;
    }

    memset(d, 0, sizeof(cart_deflated_t));
    d->len = (uint32_t) n;
    d->plain_len = (uint32_t) len;
    d->crc = (uint32_t) crc32_z(0, view, len);

    /* a listing then combines this CRC after others' in one step */
    d->crc_op = (uint32_t) crc32_combine_gen((z_off_t) len);

    return piece;
}
