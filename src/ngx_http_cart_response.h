/*
 * HTTP plumbing shared by the APIs: JSON responses with the headers an
 * API always sends, an ETag, and error responses.  Knows nothing of
 * which API it answers for: each describes its responses once.
 */

#ifndef NGX_HTTP_CART_RESPONSE_H
#define NGX_HTTP_CART_RESPONSE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


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

/* an error response: its status and its body, in its API's envelope */
typedef struct {
    ngx_uint_t                  status;
    ngx_str_t                   body;
} ngx_http_cart_error_t;


/*
 * Sends body (which must live as long as the request) in the style; etag
 * (style->etag_words of it; NULL: none) becomes the ETag (unless "etag
 * off"), and If-None-Match is then answered with 304 by nginx's
 * not_modified filter.  Returns what nginx's output returned, or
 * NGX_HTTP_INTERNAL_SERVER_ERROR before any header was sent.
 */
ngx_int_t ngx_http_cart_send(ngx_http_request_t *r,
    ngx_http_cart_style_t *style, ngx_uint_t status, ngx_str_t *body,
    uint64_t *etag);

ngx_int_t ngx_http_cart_send_error(ngx_http_request_t *r,
    ngx_http_cart_style_t *style, ngx_http_cart_error_t *error);


#endif /* NGX_HTTP_CART_RESPONSE_H */
