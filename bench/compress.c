/*
 * make bench, the candidates for compressed views (issue 14): the views
 * that cartctl renders for an NDJSON file's carts (firmly V2 and V1,
 * Spree), each deflated on its own as the writer would store it, by zlib
 * (raw deflate ended by a sync flush: pieces that concatenate into one
 * stream) at several levels, the same with zlib's fixed codes only (an
 * inflate then has no code tables to build), by libdeflate (whole
 * streams, as it makes them), and by the writer itself
 * (cart_gzip_deflate(): libdeflate's stream made a piece, checked by
 * decoding it); then inflated again by zlib and by libdeflate.  Prints,
 * for each: the bytes against the plain ones, and the microseconds a view
 * to compress and to decompress (the median of 5 passes).
 *
 * usage: compress NDJSON [VIEWS]
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <libdeflate.h>
#include <zlib.h>

#include "cart_gzip.h"
#include "cart_record.h"


#define PASSES  5

typedef struct {
    char    *text;
    size_t   len;
} view_t;

static view_t  *views;
static size_t   nviews;


static double
now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


static void
add_view(const char *text, size_t len)
{
    views = realloc(views, (nviews + 1) * sizeof(view_t));
    views[nviews].text = malloc(len);
    memcpy(views[nviews].text, text, len);
    views[nviews].len = len;
    nviews++;
}


static void
load(const char *file, size_t max)
{
    int             alt;
    char           *line, err[600];
    FILE           *in;
    size_t          cap, len;
    ssize_t         n;
    json_t         *json;
    char           *view;
    cart_entry_t   *part;
    cart_record_t   rec;

    in = fopen(file, "r");
    if (in == NULL) {
        perror(file);
        exit(1);
    }

    line = NULL;
    cap = 0;

    while (nviews < max && (n = getline(&line, &cap, in)) > 0) {
        json = json_loadb(line, (size_t) n, 0, NULL);
        if (json == NULL) {
            continue;
        }

        memset(&rec, 0, sizeof(rec));

        if (cart_record_from_json(json, &rec, err, sizeof(err)) == 0
            && rec.value && rec.kind->view)
        {
            for (alt = 0; alt < 2; alt++) {
                /* a cart's V1 view: its entry in kind->part */
                part = (alt && rec.nindex
                        && rec.index[0].db == rec.kind->part)
                       ? &rec.index[0] : NULL;

                if (rec.kind->view(part ? part->value : rec.value,
                                   part ? part->value_len : rec.value_len,
                                   alt, &view, &len) == 0)
                {
                    if (len) {
                        add_view(view, len);
                    }

                    free(view);
                }
            }
        }

        cart_record_free(&rec);
        json_decref(json);
    }

    free(line);
    fclose(in);
}


/*
 * A codec: what it is made with at a level, and one view compressed into
 * out, whole (a stream that ends with a final block): that stream's
 * length, and in *stored the bytes a store would hold of it.
 */
typedef struct {
    const char  *name;
    const char  *output;
    int          levels;
    void      *(*open)(int level);
    size_t     (*one)(void *coder, const view_t *v, unsigned char *out,
                      size_t *stored);
    void       (*close)(void *coder);
} codec_t;


/* zlib: a raw deflate piece ended by a sync flush, then a final block */
static void *
zlib_coder(int level, int strategy)
{
    z_stream  *zs;

    zs = calloc(1, sizeof(z_stream));
    deflateInit2(zs, level, Z_DEFLATED, -15, 8, strategy);

    return zs;
}


static void *
zlib_open(int level)
{
    return zlib_coder(level, Z_DEFAULT_STRATEGY);
}


/*
 * The same with the fixed codes only: larger, but an inflate has no code
 * tables to build (libdeflate keeps the fixed ones from call to call)
 */
static void *
zlib_fixed_open(int level)
{
    return zlib_coder(level, Z_FIXED);
}


static size_t
zlib_one(void *coder, const view_t *v, unsigned char *out, size_t *stored)
{
    size_t     n;
    z_stream  *zs = coder;

    zs->next_in = (unsigned char *) v->text;
    zs->avail_in = (uInt) v->len;
    zs->next_out = out;
    zs->avail_out = (uInt) (deflateBound(zs, v->len) + 8);
    deflate(zs, Z_SYNC_FLUSH);
    *stored = zs->total_out;
    deflate(zs, Z_FINISH);
    n = zs->total_out;
    deflateReset(zs);

    return n;
}


static void
zlib_close(void *coder)
{
    deflateEnd(coder);
    free(coder);
}


/* libdeflate: a whole stream, as it makes one */
static void *
libdeflate_open(int level)
{
    return libdeflate_alloc_compressor(level);
}


static size_t
libdeflate_one(void *coder, const view_t *v, unsigned char *out,
    size_t *stored)
{
    *stored = libdeflate_deflate_compress(coder, v->text, v->len, out,
                  libdeflate_deflate_compress_bound(coder, v->len));

    return *stored;
}


static void
libdeflate_close(void *coder)
{
    libdeflate_free_compressor(coder);
}


/* the writer (its one level): its piece, then a final block */
static void *
writer_open(int level)
{
    return NULL;
}


static size_t
writer_one(void *coder, const view_t *v, unsigned char *out, size_t *stored)
{
    unsigned char    *piece;
    cart_deflated_t   d;

    piece = cart_gzip_deflate(v->text, v->len, &d);
    if (piece == NULL) {
        fprintf(stderr, "compress: the writer failed\n");
        exit(1);
    }

    memcpy(out, piece, d.len);
    memcpy(out + d.len, "\x01\x00\x00\xff\xff", 5);
    free(piece);
    *stored = d.len;

    return d.len + 5;
}


static void
writer_close(void *coder)
{
}


static const codec_t  codecs[] = {
    { "zlib", "sync-flushed pieces", 4, zlib_open, zlib_one, zlib_close },
    { "zlib", "fixed codes only (Z_FIXED), sync-flushed pieces", 4,
      zlib_fixed_open, zlib_one, zlib_close },
    { "libdeflate", "whole streams", 4, libdeflate_open, libdeflate_one,
      libdeflate_close },
    { "the writer (libdeflate", "pieces checked)", 1, writer_open,
      writer_one, writer_close },
};


/*
 * Every view compressed by a codec at a level, PASSES times: the bytes
 * stored, and in *us the median microseconds a view
 */
static size_t
codec_run(const codec_t *codec, int level, unsigned char **out, size_t *lens,
    double *us)
{
    int      p;
    void    *coder;
    double   t0, pass[PASSES];
    size_t   i, total, stored;

    coder = codec->open(level);
    total = 0;

    for (p = 0; p < PASSES; p++) {
        t0 = now_us();
        total = 0;

        for (i = 0; i < nviews; i++) {
            lens[i] = codec->one(coder, &views[i], out[i], &stored);
            total += stored;
        }

        pass[p] = (now_us() - t0) / nviews;
    }

    codec->close(coder);
    qsort(pass, PASSES, sizeof(double), cmp_double);
    *us = pass[PASSES / 2];

    return total;
}


/* the microseconds a view to decompress: zlib's inflate, libdeflate's */
static void
decompress(unsigned char **in, size_t *lens, double *zlib_us,
    double *libdeflate_us)
{
    int                              p;
    char                            *buf;
    double                           t0, zp[PASSES], lp[PASSES];
    size_t                           i, max, got;
    z_stream                         zs;
    struct libdeflate_decompressor  *d;

    for (max = 0, i = 0; i < nviews; i++) {
        max = views[i].len > max ? views[i].len : max;
    }

    buf = malloc(max);
    memset(&zs, 0, sizeof(zs));
    inflateInit2(&zs, -15);
    d = libdeflate_alloc_decompressor();

    for (p = 0; p < PASSES; p++) {
        t0 = now_us();

        for (i = 0; i < nviews; i++) {
            zs.next_in = in[i];
            zs.avail_in = (uInt) lens[i];
            zs.next_out = (unsigned char *) buf;
            zs.avail_out = (uInt) views[i].len;

            if (inflate(&zs, Z_FINISH) != Z_STREAM_END
                || memcmp(buf, views[i].text, views[i].len) != 0)
            {
                fprintf(stderr, "compress: zlib: view %zu differs\n", i);
                exit(1);
            }

            inflateReset(&zs);
        }

        zp[p] = (now_us() - t0) / nviews;
        t0 = now_us();

        for (i = 0; i < nviews; i++) {
            if (libdeflate_deflate_decompress(d, in[i], lens[i], buf,
                    views[i].len, &got) != LIBDEFLATE_SUCCESS
                || got != views[i].len
                || memcmp(buf, views[i].text, views[i].len) != 0)
            {
                fprintf(stderr, "compress: libdeflate: view %zu differs\n",
                        i);
                exit(1);
            }
        }

        lp[p] = (now_us() - t0) / nviews;
    }

    inflateEnd(&zs);
    libdeflate_free_decompressor(d);
    free(buf);
    qsort(zp, PASSES, sizeof(double), cmp_double);
    qsort(lp, PASSES, sizeof(double), cmp_double);
    *zlib_us = zp[PASSES / 2];
    *libdeflate_us = lp[PASSES / 2];
}


int
main(int argc, char **argv)
{
    int              levels[] = { 1, 4, 6, 9 }, c, k;
    double           cus, zus, lus;
    size_t           i, plain, total, *lens;
    unsigned char  **out;

    if (argc < 2) {
        fprintf(stderr, "usage: compress NDJSON [VIEWS]\n");
        return 2;
    }

    load(argv[1], argc > 2 ? strtoul(argv[2], NULL, 10) : 20000);

    if (nviews == 0) {
        fprintf(stderr, "compress: no views in %s\n", argv[1]);
        return 1;
    }

    out = malloc(nviews * sizeof(unsigned char *));
    lens = malloc(nviews * sizeof(size_t));

    for (plain = 0, i = 0; i < nviews; i++) {
        out[i] = malloc(compressBound(views[i].len) + 64);
        plain += views[i].len;
    }

    printf("compress: %zu views, %.0f bytes a view\n", nviews,
           (double) plain / nviews);

    for (c = 0; c < (int) (sizeof(codecs) / sizeof(codecs[0])); c++) {
        for (k = 0; k < codecs[c].levels; k++) {
            total = codec_run(&codecs[c], levels[k], out, lens, &cus);
            decompress(out, lens, &zus, &lus);
            printf("compress: %s %d, %s: %.1f%% of the bytes; compress "
                   "%.1f us, inflate %.1f us (libdeflate %.1f us) a view\n",
                   codecs[c].name, levels[k], codecs[c].output,
                   100.0 * total / plain, cus, zus, lus);
        }
    }

    return 0;
}
