/*
 * The firmly device API: carts of the device that the x-firmly-
 * authorization token (or a backend with the shared secret) names, per
 * reference pages 000 to 004.  Its routes, its authentication scheme and
 * its error bodies are all in ngx_http_cart_firmly.c.
 */

#ifndef NGX_HTTP_CART_FIRMLY_H
#define NGX_HTTP_CART_FIRMLY_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cart.h"


/*
 * firmly_cart_v2         GET /api/v2/domains/{domain}/cart
 * firmly_cart_v1         GET /api/v1/domains/{domain}/cart
 * firmly_active_carts    GET /api/v2/carts/active (and /api/v1/...)
 * firmly_active_domains  GET /api/v2/carts/active-domains
 */
extern ngx_http_cart_route_t  ngx_http_cart_firmly_routes[];


#endif /* NGX_HTTP_CART_FIRMLY_H */
