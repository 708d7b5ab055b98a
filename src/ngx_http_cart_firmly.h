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
extern ngx_http_cart_error_t  ngx_http_cart_firmly_v1_errors[];
extern ngx_http_cart_error_t  ngx_http_cart_firmly_active_errors[];
extern ngx_http_cart_error_t  ngx_http_cart_firmly_domains_errors[];

/* GET /api/v2/domains/{domain}/cart */
ngx_int_t ngx_http_cart_firmly_cart_v2(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf);

/* GET /api/v1/domains/{domain}/cart */
ngx_int_t ngx_http_cart_firmly_cart_v1(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf);

/* GET /api/v2/carts/active (and the legacy /api/v1/carts/active) */
ngx_int_t ngx_http_cart_firmly_active_carts(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf);

/* GET /api/v2/carts/active-domains */
ngx_int_t ngx_http_cart_firmly_active_domains(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf);


#endif /* NGX_HTTP_CART_FIRMLY_H */
