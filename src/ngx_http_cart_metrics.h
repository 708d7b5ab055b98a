/*
 * Counters for Prometheus: requests by route and status, token checks by
 * outcome and the time of each request in the module, kept in a shared
 * memory zone that "cart_metrics" creates, one slot of atomic counters a
 * worker (no lock, no line shared with another worker), summed when
 * scraped.  Without a "cart_metrics" location nothing is counted.
 */

#ifndef NGX_HTTP_CART_METRICS_H
#define NGX_HTTP_CART_METRICS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef enum {
    NGX_HTTP_CART_TOKEN_CACHED = 0,     /* verified before, from the cache */
    NGX_HTTP_CART_TOKEN_VERIFIED,       /* signature and claims checked */
    NGX_HTTP_CART_TOKEN_REMEMBERED,     /* rejected before, from the cache */
    NGX_HTTP_CART_TOKEN_MALFORMED,      /* not a JWT */
    NGX_HTTP_CART_TOKEN_HEADER,         /* alg, crit, typ or kid refused */
    NGX_HTTP_CART_TOKEN_SIGNATURE,
    NGX_HTTP_CART_TOKEN_EXPIRED,
    NGX_HTTP_CART_TOKEN_NOT_YET_VALID,
    NGX_HTTP_CART_TOKEN_CLAIMS,         /* iss, aud, the subject, others */
    NGX_HTTP_CART_TOKEN_OUTCOMES
} ngx_http_cart_token_outcome_e;


/* "cart_metrics": the location serves the counters, and they are kept */
char *ngx_http_cart_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* a route of "cart_api", given its place in the counters */
ngx_int_t ngx_http_cart_metrics_route(ngx_conf_t *cf, ngx_str_t *name,
    ngx_uint_t *index);

/* postconfiguration: the log phase handler that counts requests */
ngx_int_t ngx_http_cart_metrics_init(ngx_conf_t *cf);

/* a request enters its route's handler: its time starts */
void ngx_http_cart_metrics_start(ngx_http_request_t *r, uint64_t *start);

void ngx_http_cart_metrics_token(ngx_http_request_t *r,
    ngx_http_cart_token_outcome_e outcome);

/* the outcome of a token refused for "why" (cart_jwt's words) */
ngx_http_cart_token_outcome_e ngx_http_cart_metrics_refusal(
    ngx_uint_t malformed, const char *why);


#endif /* NGX_HTTP_CART_METRICS_H */
