/*
 * HTTP plumbing shared by the routes: JSON responses with the API's
 * caching headers and ETag, and error responses.
 */

#ifndef NGX_HTTP_CART_RESPONSE_H
#define NGX_HTTP_CART_RESPONSE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cart.h"


/*
 * Sends body (which must live as long as the request) as JSON; a non-zero
 * etag becomes a strong ETag, and If-None-Match is then answered with 304
 * by nginx's not_modified filter.
 */
ngx_int_t ngx_http_cart_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body, uint64_t etag);

ngx_int_t ngx_http_cart_send_error(ngx_http_request_t *r,
    ngx_http_cart_error_t *error);

/* the request's context, created on first use */
ngx_http_cart_ctx_t *ngx_http_cart_ctx(ngx_http_request_t *r);


#endif /* NGX_HTTP_CART_RESPONSE_H */
