/*
 * Types shared by the module file and its parts: configuration, the
 * per-request context and the route table entry.
 */

#ifndef NGX_HTTP_CART_H
#define NGX_HTTP_CART_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cart_auth.h"


/* the error bodies every API defines, in its own words */
typedef enum {
    NGX_HTTP_CART_ERR_MISSING_AUTH = 0,
    NGX_HTTP_CART_ERR_NOT_JWT,           /* not a JWT at all */
    NGX_HTTP_CART_ERR_INVALID_TOKEN,     /* a JWT we do not accept */
    NGX_HTTP_CART_ERR_BAD_DOMAIN,
    NGX_HTTP_CART_ERR_BAD_QUERY,
    NGX_HTTP_CART_ERR_NOT_FOUND,
    NGX_HTTP_CART_ERR_DOMAIN_UNAVAILABLE,
    NGX_HTTP_CART_ERR_STORE_UNAVAILABLE,
    NGX_HTTP_CART_ERR_METHOD,
    NGX_HTTP_CART_ERR_INTERNAL,
    NGX_HTTP_CART_ERR_COUNT
} ngx_http_cart_err_e;

/* an error response: its status and its body, in its API's envelope */
typedef struct {
    ngx_uint_t                  status;
    ngx_str_t                   body;
} ngx_http_cart_error_t;

typedef struct ngx_http_cart_loc_conf_s  ngx_http_cart_loc_conf_t;

typedef ngx_int_t (*ngx_http_cart_route_pt)(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf);

#define NGX_HTTP_CART_ROUTE_DOMAIN  0x1     /* needs cart_domain */

typedef struct {
    ngx_str_t                   name;        /* as in "cart_api" */
    ngx_http_cart_route_pt      handler;
    ngx_uint_t                  flags;
    ngx_http_cart_error_t      *errors;      /* NGX_HTTP_CART_ERR_COUNT */
} ngx_http_cart_route_t;

typedef struct {
    ngx_str_t                   store;
} ngx_http_cart_main_conf_t;

struct ngx_http_cart_loc_conf_s {
    ngx_http_cart_route_t      *route;
    ngx_http_complex_value_t   *domain;
    ngx_http_cart_jwt_conf_t    device_jwt;     /* firmly device tokens */
    ngx_str_t                   device_claim;   /* NUL-terminated */
    ngx_array_t                *device_secrets; /* firmly server-to-server */
};

typedef struct {
    ngx_str_t                   device_id;
    ngx_str_t                   domain;
} ngx_http_cart_ctx_t;


extern ngx_module_t  ngx_http_cart_module;


#endif /* NGX_HTTP_CART_H */
