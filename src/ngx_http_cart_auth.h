/*
 * Authentication: which device (or customer) a request speaks for, from a
 * signed token in a request header.  Knows tokens and keys, not carts.
 */

#ifndef NGX_HTTP_CART_AUTH_H
#define NGX_HTTP_CART_AUTH_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cart.h"


typedef enum {
    NGX_HTTP_CART_AUTH_OK = 0,
    NGX_HTTP_CART_AUTH_MISSING,         /* no header, or an empty one */
    NGX_HTTP_CART_AUTH_MALFORMED,       /* not a JWT at all */
    NGX_HTTP_CART_AUTH_INVALID,         /* signature, algorithm, expiry */
    NGX_HTTP_CART_AUTH_ERROR
} ngx_http_cart_auth_rc_e;


/* "cart_device_jwt_key <alg> <file>": loads and checks the key */
char *ngx_http_cart_auth_add_key(ngx_conf_t *cf,
    ngx_http_cart_auth_conf_t *conf, ngx_str_t *alg, ngx_str_t *file);

/*
 * The subject of the token in conf->header, checked against conf->keys;
 * verified tokens are cached per worker, their exp checked every time.
 */
ngx_http_cart_auth_rc_e ngx_http_cart_auth_subject(ngx_http_request_t *r,
    ngx_http_cart_auth_conf_t *conf, ngx_str_t *subject);


#endif /* NGX_HTTP_CART_AUTH_H */
