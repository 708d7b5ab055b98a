/*
 * Authentication mechanisms: signed tokens (JWT) checked against the
 * configured keys and claim rules, with per-worker caches of verified and
 * of rejected tokens; shared secrets compared in constant time.  Knows
 * tokens, keys and secrets, not carts, nor which API's headers carry them.
 */

#ifndef NGX_HTTP_CART_AUTH_H
#define NGX_HTTP_CART_AUTH_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "cart_jwt.h"


typedef enum {
    NGX_HTTP_CART_AUTH_OK = 0,
    NGX_HTTP_CART_AUTH_MISSING,         /* no credentials at all */
    NGX_HTTP_CART_AUTH_MALFORMED,       /* not a JWT at all */
    NGX_HTTP_CART_AUTH_INVALID,         /* credentials we do not accept */
    NGX_HTTP_CART_AUTH_ERROR
} ngx_http_cart_auth_rc_e;

/* a JWT scheme: its keys, and what the claims must say */
typedef struct {
    ngx_array_t          *keys;         /* cart_jwt_key_t */
    cart_jwt_policy_t     policy;
} ngx_http_cart_jwt_conf_t;


/*
 * "<directive> rs256|es256|hs256 <file> [kid=<name>]": loads the key into
 * *keys, NGX_CONF_UNSET_PTR until the first
 */
char *ngx_http_cart_auth_add_key(ngx_conf_t *cf, ngx_array_t **keys);

/* "<directive> <file>": the same, of an HS256 secret */
char *ngx_http_cart_auth_add_hs256_key(ngx_conf_t *cf, ngx_array_t **keys);

/*
 * "<directive> <file>": a shared secret, of which only a digest is kept,
 * into *secrets, NGX_CONF_UNSET_PTR until the first
 */
char *ngx_http_cart_auth_add_secret(ngx_conf_t *cf, ngx_array_t **secrets);

/* the caches of verified and rejected tokens, per worker */
ngx_int_t ngx_http_cart_auth_init_worker(ngx_cycle_t *cycle);
void ngx_http_cart_auth_exit_worker(void);

/*
 * Whom the token speaks for, as conf says it must be signed and what it
 * must claim.  Verified tokens are remembered (their exp checked every
 * time), and so are rejected ones, so that a token costs one signature
 * check however often it comes.
 */
ngx_http_cart_auth_rc_e ngx_http_cart_auth_jwt(ngx_http_request_t *r,
    ngx_http_cart_jwt_conf_t *conf, ngx_str_t *token, ngx_str_t *subject);

/* whether value is one of the secrets, in time that does not tell */
ngx_uint_t ngx_http_cart_auth_secret(ngx_array_t *secrets,
    ngx_str_t *value);

/* a request header by its lowercase name, or NULL */
ngx_table_elt_t *ngx_http_cart_auth_header(ngx_http_request_t *r,
    ngx_str_t *name);


#endif /* NGX_HTTP_CART_AUTH_H */
