#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "cart_gzip.h"
#include "ngx_http_cart_response.h"


#define NGX_HTTP_UNPROCESSABLE_ENTITY  422


static ngx_table_elt_t *
ngx_http_cart_add_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key = *name;
    h->value = *value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
}


/* whether the answer may be gzip: nginx's own test, as gzip_static's */
static ngx_uint_t
ngx_http_cart_accepts_gzip(ngx_http_request_t *r)
{
#if (NGX_HTTP_GZIP)
    return ngx_http_gzip_ok(r) == NGX_OK;
#else
    return 0;
#endif
}


/* a body of one buffer: len bytes of memory at pos */
static ngx_chain_t *
ngx_http_cart_link(ngx_http_request_t *r, u_char *pos, size_t len)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return NULL;
    }

    b->pos = pos;
    b->last = pos + len;
    b->memory = 1;

    cl->buf = b;
    cl->next = NULL;

    return cl;
}


/*
 * The body as one gzip stream: the header, the deflated parts as they
 * are and the plain ones in stored blocks, the final block and the
 * trailer, whose CRC combines the parts'.  Nothing is compressed here.
 * It is copied into one buffer: sent as a buffer a part (51 for a Spree
 * page, most of them commas), the kernel's cost of each writev segment
 * held a page to 0.65x of gzip_static, against 0.88x in one.
 */
static ngx_chain_t *
ngx_http_cart_gzip_body(ngx_http_request_t *r, ngx_http_cart_body_t *body,
    size_t n)
{
    u_char                *data, *p;
    uint32_t               crc;
    uint64_t               plain;
    ngx_uint_t             i;
    ngx_http_cart_part_t  *part;

    data = ngx_pnalloc(r->pool, n);
    if (data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(data, cart_gzip_header, CART_GZIP_HEADER_LEN);
    crc = 0;
    plain = 0;

    for (i = 0; i < body->nparts; i++) {
        part = &body->parts[i];

        if (part->deflated.len) {
            p = ngx_cpymem(p, part->bytes.data, part->deflated.len);

            /* the first bytes: the piece's CRC is the stream's so far */
            crc = plain ? cart_gzip_crc_piece(crc, &part->deflated)
                        : part->deflated.crc;
            plain += part->deflated.plain_len;

        } else {
            p = cart_gzip_stored(p, part->bytes.data, part->bytes.len);
            crc = cart_gzip_crc(crc, part->bytes.data, part->bytes.len);
            plain += part->bytes.len;
        }
    }

    (void) cart_gzip_end(p, crc, plain);

    return ngx_http_cart_link(r, data, n);
}


/* the length of a part, plain */
static size_t
ngx_http_cart_part_len(ngx_http_cart_part_t *part)
{
    return part->deflated.len ? part->deflated.plain_len : part->bytes.len;
}


/* a part's plain bytes: its own, or its view's (cart_gzip_plain()) */
static const u_char *
ngx_http_cart_part_plain(ngx_http_cart_part_t *part, u_char *out)
{
    return part->deflated.len
           ? cart_gzip_plain(part->bytes.data, &part->deflated, out)
           : part->bytes.data;
}


/* the length of the body: gzip, or plain */
static size_t
ngx_http_cart_body_len(ngx_http_cart_body_t *body, ngx_uint_t gzip)
{
    size_t                 n;
    ngx_uint_t             i;
    ngx_http_cart_part_t  *part;

    n = gzip ? CART_GZIP_HEADER_LEN + CART_GZIP_END_LEN : 0;

    for (i = 0; i < body->nparts; i++) {
        part = &body->parts[i];

        if (gzip) {
            n += part->deflated.len ? part->deflated.len
                                    : cart_gzip_stored_len(part->bytes.len);

        } else {
            n += ngx_http_cart_part_len(part);
        }
    }

    return n;
}


/*
 * The body plain, n bytes in one buffer: the views' kept plain bytes, or
 * the views inflated.  One part with plain bytes (its own, or a view's
 * kept ones) is sent as it is.  NULL with *inflated 0 when a view does
 * not inflate (logged).
 */
static ngx_chain_t *
ngx_http_cart_plain_body(ngx_http_request_t *r, ngx_http_cart_body_t *body,
    size_t n, ngx_uint_t *inflated)
{
    u_char                *data, *p;
    size_t                 part_len;
    ngx_uint_t             i;
    const u_char          *plain;
    ngx_http_cart_part_t  *part;

    part = body->parts;
    *inflated = 1;

    /* one part with its plain bytes at hand: sent from where they are */
    if (body->nparts == 1
        && (part->deflated.len == 0
            || (part->deflated.flags & CART_DEFLATED_PLAIN)))
    {
        return ngx_http_cart_link(r, (u_char *)
                                  ngx_http_cart_part_plain(part, NULL), n);
    }

    data = ngx_pnalloc(r->pool, n);
    if (data == NULL) {
        return NULL;
    }

    for (p = data, i = 0; i < body->nparts; i++) {
        plain = ngx_http_cart_part_plain(&part[i], p);

        if (plain == NULL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "cart_store: a stored view does not inflate");
            *inflated = 0;
            return NULL;
        }

        part_len = ngx_http_cart_part_len(&part[i]);

        if (plain != p) {
            ngx_memcpy(p, plain, part_len);
        }

        p += part_len;
    }

    return ngx_http_cart_link(r, data, n);
}


/*
 * Whether nginx will send the headers only: a HEAD, or a 304 that
 * nginx's not_modified filter is sure to make (an If-None-Match of "*" or
 * of exactly the ETag, and no other condition) of a 200.  Its body is
 * then not made: a polling client's 304 costs no inflate.
 */
static ngx_uint_t
ngx_http_cart_header_only(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *etag)
{
    ngx_str_t  *match;

    if (r->method == NGX_HTTP_HEAD) {
        return 1;
    }

    if (status != NGX_HTTP_OK || r != r->main || r->disable_not_modified
        || r->headers_in.if_none_match == NULL
        || r->headers_in.if_modified_since
        || r->headers_in.if_unmodified_since
        || r->headers_in.if_match)
    {
        return 0;
    }

    match = &r->headers_in.if_none_match->value;

    return (match->len == 1 && match->data[0] == '*')
           || (etag->len && match->len == etag->len
               && ngx_strncmp(match->data, etag->data, etag->len) == 0);
}


ngx_int_t
ngx_http_cart_send(ngx_http_request_t *r, ngx_http_cart_style_t *style,
    ngx_uint_t status, ngx_http_cart_body_t *body, uint64_t *etag)
{
    u_char                    *p;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_uint_t                 i, gzip, inflated;
    ngx_str_t                  value;
    ngx_chain_t               *out;
    ngx_http_cart_header_t    *h;
    ngx_http_core_loc_conf_t  *clcf;

    static ngx_str_t  cache_control = ngx_string("Cache-Control");
    static ngx_str_t  allow = ngx_string("Allow");
    static ngx_str_t  get_head = ngx_string("GET, HEAD");
    static ngx_str_t  etag_name = ngx_string("ETag");
    static ngx_str_t  vary = ngx_string("Vary");
    static ngx_str_t  accept_encoding = ngx_string("Accept-Encoding");
    static ngx_str_t  content_encoding = ngx_string("Content-Encoding");
    static ngx_str_t  gzip_name = ngx_string("gzip");

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    gzip = body->encodable && ngx_http_cart_accepts_gzip(r);
    len = ngx_http_cart_body_len(body, gzip);

    ngx_str_null(&value);

    if (etag && clcf->etag) {
        value.data = ngx_pnalloc(r->pool, sizeof("W/\"-gzip\"")
                                          + 16 * style->etag_words);
        if (value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = style->weak_etag ? ngx_cpymem(value.data, "W/\"", 3)
                             : ngx_cpymem(value.data, "\"", 1);

        for (i = 0; i < style->etag_words; i++) {
            p = ngx_sprintf(p, "%016uxL", etag[i]);
        }

        if (gzip) {
            p = ngx_cpymem(p, "-gzip", 5);
        }

        *p++ = '"';
        value.len = p - value.data;
    }

    /*
     * A plain body is made before the header, so that a view that does
     * not inflate is still the route's error; a gzip one (the pieces as
     * they are) after it, and neither when only the header is sent.
     */
    out = NULL;

    if (!gzip && !ngx_http_cart_header_only(r, status, &value)) {
        out = ngx_http_cart_plain_body(r, body, len, &inflated);

        if (out == NULL) {
            return inflated ? NGX_HTTP_INTERNAL_SERVER_ERROR : NGX_DECLINED;
        }
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (status == NGX_HTTP_UNPROCESSABLE_ENTITY) {
        /* nginx has no reason phrase of its own for 422 */
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");
    }

    /*
     * the length of the type without its parameters ("; charset=utf-8"),
     * as nginx's filters match it (gzip_types), as for a proxied response
     */
    r->headers_out.content_type = style->content_type;
    p = ngx_strlchr(style->content_type.data,
                    style->content_type.data + style->content_type.len, ';');
    r->headers_out.content_type_len = (p ? p : style->content_type.data
                                               + style->content_type.len)
                                      - style->content_type.data;
    r->headers_out.content_type_lowcase = NULL;

    if (ngx_http_cart_add_header(r, &cache_control,
                                 status < NGX_HTTP_BAD_REQUEST
                                 ? &style->cache_control
                                 : &style->error_cache_control)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (h = style->headers;
         h && h->name.len && status < NGX_HTTP_BAD_REQUEST;
         h++)
    {
        if (ngx_http_cart_add_header(r, &h->name, &h->value) == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (status == NGX_HTTP_NOT_ALLOWED
        && ngx_http_cart_add_header(r, &allow, &get_head) == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (gzip) {
        r->headers_out.content_encoding =
            ngx_http_cart_add_header(r, &content_encoding, &gzip_name);

        if (r->headers_out.content_encoding == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /*
     * with gzip_vary on, nginx's header filter says Vary itself (and
     * would say it twice, after nginx's gzip filter met the answer)
     */
    if (body->encodable) {
#if (NGX_HTTP_GZIP)
        if (clcf->gzip_vary) {
            r->gzip_vary = 1;

        } else
#endif
        if (ngx_http_cart_add_header(r, &vary, &accept_encoding) == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (value.len) {
        r->headers_out.etag = ngx_http_cart_add_header(r, &etag_name, &value);
        if (r->headers_out.etag == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    if (out == NULL) {
        out = gzip ? ngx_http_cart_gzip_body(r, body, len)
                   : ngx_http_cart_plain_body(r, body, len, &inflated);

        if (out == NULL) {
            return NGX_ERROR;
        }
    }

    out->buf->last_buf = (r == r->main) ? 1 : 0;
    out->buf->last_in_chain = 1;

    return ngx_http_output_filter(r, out);
}


ngx_int_t
ngx_http_cart_send_plain(ngx_http_request_t *r, ngx_http_cart_style_t *style,
    ngx_uint_t status, ngx_str_t *bytes, uint64_t *etag)
{
    ngx_http_cart_part_t  part;
    ngx_http_cart_body_t  body;

    ngx_memzero(&part, sizeof(ngx_http_cart_part_t));
    part.bytes = *bytes;

    body.parts = &part;
    body.nparts = 1;
    body.encodable = 0;

    return ngx_http_cart_send(r, style, status, &body, etag);
}


ngx_int_t
ngx_http_cart_send_error(ngx_http_request_t *r, ngx_http_cart_style_t *style,
    ngx_http_cart_error_t *error)
{
    return ngx_http_cart_send_plain(r, style, error->status, &error->body,
                                    NULL);
}
