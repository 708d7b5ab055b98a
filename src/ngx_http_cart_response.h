/*
 * HTTP plumbing shared by the APIs: JSON responses with the headers an
 * API always sends, an ETag, and error responses; gzip answers made of
 * the views as the store keeps them, deflated, or those views inflated.
 * Knows nothing of which API it answers for: each describes its
 * responses once.
 */

#ifndef NGX_HTTP_CART_RESPONSE_H
#define NGX_HTTP_CART_RESPONSE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "cart_layout.h"


typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   value;
} ngx_http_cart_header_t;

/* what an API's responses look like, whatever their body */
typedef struct {
    ngx_str_t                   content_type;
    ngx_str_t                   cache_control;
    ngx_str_t                   error_cache_control;   /* 4xx and 5xx */
    ngx_uint_t                  weak_etag;
    ngx_uint_t                  etag_words;     /* 64-bit words, in hex */
    ngx_http_cart_header_t     *headers;    /* of a success; "" ends */
} ngx_http_cart_style_t;

/*
 * A part of a body: plain bytes, or a view as the store keeps it
 * (deflated.len): its deflated bytes, and its plain ones after them where
 * kept (CART_DEFLATED_PLAIN)
 */
typedef struct {
    ngx_str_t                   bytes;
    cart_deflated_t             deflated;   /* len 0: the bytes are plain */
} ngx_http_cart_part_t;

/*
 * A body, its parts in order (which must live as long as the request).
 * An encodable one varies by Accept-Encoding: a client that accepts gzip
 * gets it as one gzip stream (the plain parts in stored blocks), any
 * other the views' kept plain bytes, or the views inflated.
 */
typedef struct {
    ngx_http_cart_part_t       *parts;
    ngx_uint_t                  nparts;
    ngx_uint_t                  encodable;
} ngx_http_cart_body_t;

/* an error response: its status and its body, in its API's envelope */
typedef struct {
    ngx_uint_t                  status;
    ngx_str_t                   body;
} ngx_http_cart_error_t;


/*
 * Sends body in the style; etag (style->etag_words of it; NULL: none)
 * becomes the ETag (unless "etag off"), "-gzip" added to it in a gzip
 * answer, and If-None-Match is then answered with 304 by nginx's
 * not_modified filter.  A HEAD, or a 304 that filter is sure to make, is
 * answered without making the body (nothing inflated).  Returns what
 * nginx's output returned, or before any header was sent NGX_DECLINED
 * when a view does not inflate (logged) and NGX_HTTP_INTERNAL_SERVER_ERROR
 * on any other failure; NGX_ERROR on one after it.
 */
ngx_int_t ngx_http_cart_send(ngx_http_request_t *r,
    ngx_http_cart_style_t *style, ngx_uint_t status,
    ngx_http_cart_body_t *body, uint64_t *etag);

/* sends plain bytes, not encodable: a body of one part */
ngx_int_t ngx_http_cart_send_plain(ngx_http_request_t *r,
    ngx_http_cart_style_t *style, ngx_uint_t status, ngx_str_t *bytes,
    uint64_t *etag);

ngx_int_t ngx_http_cart_send_error(ngx_http_request_t *r,
    ngx_http_cart_style_t *style, ngx_http_cart_error_t *error);


#endif /* NGX_HTTP_CART_RESPONSE_H */
