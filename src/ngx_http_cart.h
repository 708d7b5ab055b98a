/*
 * Types shared by the module file and the APIs: configuration, the
 * per-request context, routes, authentication schemes and errors.
 */

#ifndef NGX_HTTP_CART_H
#define NGX_HTTP_CART_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cart_auth.h"
#include "ngx_http_cart_response.h"


/*
 * Errors, as indexes into a route's error set: the ones every API
 * answers in its own words first, then each API's own (its file numbers
 * them from NGX_HTTP_CART_ERR_API on).  NGX_HTTP_CART_ERR_NONE is no error:
 * the route goes on.
 */
#define NGX_HTTP_CART_ERR_NONE               -1
#define NGX_HTTP_CART_ERR_INTERNAL           0
#define NGX_HTTP_CART_ERR_METHOD             1
#define NGX_HTTP_CART_ERR_STORE_UNAVAILABLE  2
#define NGX_HTTP_CART_ERR_API                3

/* what a location needs besides cart_api, checked by nginx -t */
#define NGX_HTTP_CART_NEEDS_STORE        0x1    /* cart_store */
#define NGX_HTTP_CART_NEEDS_DOMAIN       0x2    /* cart_domain */
#define NGX_HTTP_CART_NEEDS_DEVICE_AUTH  0x4    /* a device key or secret */
#define NGX_HTTP_CART_NEEDS_SPREE_SECRET 0x8    /* cart_spree_jwt_secret */

typedef struct ngx_http_cart_loc_conf_s  ngx_http_cart_loc_conf_t;

/* what the module knows of a request, for its routes and variables */
typedef struct {
    ngx_str_t                   device_id;      /* firmly */
    ngx_str_t                   domain;
    ngx_str_t                   customer_id;    /* Spree */
    uint64_t                    start;          /* ns, when counted */
} ngx_http_cart_ctx_t;

/*
 * Whom a request speaks for, into ctx; and a route's answer to it.  Both
 * return an error of the route's set, or NGX_HTTP_CART_ERR_NONE (the
 * scheme), or what was sent (the route).
 */
typedef ngx_int_t (*ngx_http_cart_identify_pt)(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx);

typedef ngx_int_t (*ngx_http_cart_route_pt)(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx);

/*
 * An API: how it identifies a request (its authentication scheme), the
 * directives that needs, and what its responses look like.
 */
typedef struct {
    ngx_http_cart_identify_pt   identify;
    ngx_uint_t                  needs;
    ngx_http_cart_style_t      *style;
} ngx_http_cart_api_t;

/* a value of "cart_api": a route of an API, with its own error set */
typedef struct {
    ngx_str_t                   name;
    ngx_http_cart_route_pt      handler;
    ngx_http_cart_api_t        *api;
    ngx_uint_t                  needs;      /* besides the API's */
    ngx_http_cart_error_t      *errors;
    ngx_uint_t                  metric;     /* its counters, from 1 */
} ngx_http_cart_route_t;

typedef struct {
    ngx_str_t                   store;      /* a full path */
    ngx_shm_zone_t             *metrics;    /* with cart_metrics only */
} ngx_http_cart_main_conf_t;

struct ngx_http_cart_loc_conf_s {
    ngx_http_cart_route_t      *route;
    ngx_http_complex_value_t   *domain;
    ngx_http_cart_jwt_conf_t    device_jwt;     /* firmly device tokens */
    ngx_str_t                   device_claim;   /* NUL-terminated */
    ngx_array_t                *device_secrets; /* firmly server-to-server */
    ngx_http_cart_jwt_conf_t    spree_jwt;      /* Spree customer tokens */
    ngx_str_t                   spree_store;    /* whose keys and carts */
    ngx_uint_t                  metrics;        /* cart_metrics here */
};


extern ngx_module_t  ngx_http_cart_module;


/* the route's error err, in its API's words */
static ngx_inline ngx_int_t
ngx_http_cart_send_route_error(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_int_t err)
{
    return ngx_http_cart_send_error(r, conf->route->api->style,
                                    &conf->route->errors[err]);
}


/*
 * The route's answer in its API's style, or its internal error when a
 * view of the body does not inflate (logged)
 */
static ngx_inline ngx_int_t
ngx_http_cart_send_route(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_body_t *body,
    uint64_t *etag)
{
    ngx_int_t  rc;

    rc = ngx_http_cart_send(r, conf->route->api->style, NGX_HTTP_OK, body,
                            etag);

    return rc == NGX_DECLINED
           ? ngx_http_cart_send_route_error(r, conf,
                                            NGX_HTTP_CART_ERR_INTERNAL)
           : rc;
}


#endif /* NGX_HTTP_CART_H */
