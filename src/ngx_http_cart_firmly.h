/*
 * The firmly device API routes: carts of the device named by the
 * x-firmly-authorization token.
 */

#ifndef NGX_HTTP_CART_FIRMLY_H
#define NGX_HTTP_CART_FIRMLY_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cart.h"


extern ngx_http_cart_error_t  ngx_http_cart_firmly_v2_errors[];

/* builds the error bodies, once per process */
ngx_int_t ngx_http_cart_firmly_init(ngx_log_t *log);

/* GET /api/v2/domains/{domain}/cart */
ngx_int_t ngx_http_cart_firmly_cart_v2(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf);


#endif /* NGX_HTTP_CART_FIRMLY_H */
