/*
 * The Spree Store API v3: the authenticated customer's incomplete carts
 * in the configured store, a page at a time (reference page 003), as
 * Spree 5.4 answers.  Its route, its authentication scheme (a customer's
 * JWT, then the store's publishable key) and its error bodies are all in
 * ngx_http_cart_spree.c.
 */

#ifndef NGX_HTTP_CART_SPREE_H
#define NGX_HTTP_CART_SPREE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cart.h"


/* spree_carts  GET /api/v3/store/carts */
extern ngx_http_cart_route_t  ngx_http_cart_spree_routes[];

/* what Spree's tokens claim: user_id, iss "spree", aud "store_api" */
void ngx_http_cart_spree_policy(cart_jwt_policy_t *policy);


#endif /* NGX_HTTP_CART_SPREE_H */
