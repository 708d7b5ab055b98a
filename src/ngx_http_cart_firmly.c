#include <jansson.h>

#include "cart_money.h"
#include "ngx_http_cart_auth.h"
#include "ngx_http_cart_firmly.h"
#include "ngx_http_cart_response.h"
#include "ngx_http_cart_store.h"


#define NGX_HTTP_UNPROCESSABLE_ENTITY  422

#define NGX_HTTP_CART_INVALID_JWT                                            \
    { NGX_HTTP_UNAUTHORIZED, "InvalidJWTToken", "The JWT token is invalid",  \
      ngx_null_string }

#define NGX_HTTP_CART_METHOD                                                 \
    { NGX_HTTP_NOT_ALLOWED, "MethodNotAllowed",                              \
      "Only GET and HEAD are allowed", ngx_null_string }

#define NGX_HTTP_CART_INTERNAL                                               \
    { NGX_HTTP_INTERNAL_SERVER_ERROR, "InternalServerError",                 \
      "Internal server error", ngx_null_string }


/* page 002 */
ngx_http_cart_error_t  ngx_http_cart_firmly_v2_errors[] = {
    { NGX_HTTP_BAD_REQUEST, "MissingAuthHeader",
      "x-firmly-authorization header is required", ngx_null_string },
    NGX_HTTP_CART_INVALID_JWT,
    NGX_HTTP_CART_INVALID_JWT,
    { NGX_HTTP_BAD_REQUEST, "InvalidDomain",
      "The domain is not a valid domain name", ngx_null_string },
    { NGX_HTTP_BAD_REQUEST, "InvalidRequest",
      "The query string is not valid", ngx_null_string },
    { NGX_HTTP_NOT_FOUND, "ErrorCartNotFound", "Cart not found",
      ngx_null_string },
    { NGX_HTTP_UNPROCESSABLE_ENTITY, "ErrorStoreUnavailable", "Store service unavailable",
      ngx_null_string },
    { NGX_HTTP_UNPROCESSABLE_ENTITY, "ErrorStoreUnavailable", "Store service unavailable",
      ngx_null_string },
    NGX_HTTP_CART_METHOD,
    NGX_HTTP_CART_INTERNAL
};


static ngx_http_cart_error_t  *ngx_http_cart_firmly_error_sets[] = {
    ngx_http_cart_firmly_v2_errors,
    NULL
};


/* {"code":N,"error":"...","description":"..."}, made with jansson */
static ngx_int_t
ngx_http_cart_firmly_error_body(ngx_http_cart_error_t *error,
    ngx_log_t *log)
{
    char    *s;
    json_t  *json;

    json = json_pack("{sIssss}", "code", (json_int_t) error->status,
                     "error", error->error,
                     "description", error->description);
    if (json == NULL) {
        return NGX_ERROR;
    }

    s = json_dumps(json, CART_JSON_FLAGS);
    json_decref(json);

    if (s == NULL) {
        return NGX_ERROR;
    }

    /* constant for the life of the process: never freed */
    error->body.data = (u_char *) s;
    error->body.len = ngx_strlen(s);

    return NGX_OK;
}


ngx_int_t
ngx_http_cart_firmly_init(ngx_log_t *log)
{
    ngx_uint_t              i, j;
    ngx_http_cart_error_t  *set;

    for (i = 0; ngx_http_cart_firmly_error_sets[i]; i++) {
        set = ngx_http_cart_firmly_error_sets[i];

        for (j = 0; j < NGX_HTTP_CART_ERR_COUNT; j++) {
            if (set[j].body.data == NULL
                && ngx_http_cart_firmly_error_body(&set[j], log) != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


static int64_t
ngx_http_cart_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + (int64_t) tp->msec;
}


/*
 * The device from the token and the domain from cart_domain, into the
 * request context; returns an error index, or -1.
 */
static ngx_int_t
ngx_http_cart_firmly_identify(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx)
{
    ngx_str_t                 raw;
    ngx_http_cart_auth_rc_e   rc;

    rc = ngx_http_cart_auth_subject(r, &conf->auth, &ctx->device_id);

    switch (rc) {

    case NGX_HTTP_CART_AUTH_OK:
        break;

    case NGX_HTTP_CART_AUTH_MISSING:
        return NGX_HTTP_CART_ERR_MISSING_AUTH;

    case NGX_HTTP_CART_AUTH_MALFORMED:
        return NGX_HTTP_CART_ERR_NOT_JWT;

    case NGX_HTTP_CART_AUTH_INVALID:
        return NGX_HTTP_CART_ERR_INVALID_TOKEN;

    default:
        return NGX_HTTP_CART_ERR_INTERNAL;
    }

    if (!cart_device_id_valid((char *) ctx->device_id.data,
                              ctx->device_id.len))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "cart: the token's device id is not valid");
        ctx->device_id.len = 0;
        return NGX_HTTP_CART_ERR_INVALID_TOKEN;
    }

    if (conf->domain == NULL) {
        return -1;
    }

    if (ngx_http_complex_value(r, conf->domain, &raw) != NGX_OK) {
        return NGX_HTTP_CART_ERR_INTERNAL;
    }

    ctx->domain.data = ngx_pnalloc(r->pool, ngx_max(raw.len, 1));
    if (ctx->domain.data == NULL) {
        return NGX_HTTP_CART_ERR_INTERNAL;
    }

    ctx->domain.len = cart_domain_key((char *) raw.data, raw.len,
                                      (char *) ctx->domain.data);
    if (ctx->domain.len == 0) {
        return NGX_HTTP_CART_ERR_BAD_DOMAIN;
    }

    return -1;
}


/*
 * The domain and the device's cart there, within a store transaction.
 * Returns an error index, or -1; a missing or expired cart leaves
 * cart->v2.data NULL.
 */
static ngx_int_t
ngx_http_cart_firmly_lookup(ngx_http_request_t *r, ngx_http_cart_ctx_t *ctx,
    ngx_http_cart_domain_t *domain, ngx_http_cart_cart_t *cart)
{
    int64_t            now;
    ngx_int_t          rc;
    cart_device_rec_t  device;

    ngx_memzero(cart, sizeof(ngx_http_cart_cart_t));

    rc = ngx_http_cart_store_domain(r, &ctx->domain, domain);

    if (rc == NGX_DECLINED) {
        return NGX_HTTP_CART_ERR_NOT_FOUND;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_CART_ERR_INTERNAL;
    }

    if (!(domain->rec.flags & CART_DOMAIN_AVAILABLE)) {
        return NGX_HTTP_CART_ERR_DOMAIN_UNAVAILABLE;
    }

    now = ngx_http_cart_now_ms();

    /* a device whose session is missing or expired has no carts */
    rc = ngx_http_cart_store_device(r, &ctx->device_id, &device);

    if (rc == NGX_DECLINED || (rc == NGX_OK && device.expires_at_ms <= now)) {
        return -1;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_CART_ERR_INTERNAL;
    }

    rc = ngx_http_cart_store_cart(r, &ctx->device_id, &ctx->domain, cart);

    if (rc == NGX_DECLINED || (rc == NGX_OK && cart->rec.expires_at_ms <= now))
    {
        ngx_memzero(cart, sizeof(ngx_http_cart_cart_t));
        return -1;
    }

    return rc == NGX_OK ? -1 : NGX_HTTP_CART_ERR_INTERNAL;
}


ngx_int_t
ngx_http_cart_firmly_cart_v2(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf)
{
    ngx_int_t                err;
    ngx_http_cart_ctx_t     *ctx;
    ngx_http_cart_cart_t     cart;
    ngx_http_cart_domain_t   domain;
    ngx_http_cart_error_t   *errors;

    errors = conf->route->errors;

    ctx = ngx_http_cart_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err = ngx_http_cart_firmly_identify(r, conf, ctx);
    if (err >= 0) {
        return ngx_http_cart_send_error(r, &errors[err]);
    }

    if (ngx_http_cart_store_begin(r) != NGX_OK) {
        return ngx_http_cart_send_error(r,
                              &errors[NGX_HTTP_CART_ERR_STORE_UNAVAILABLE]);
    }

    err = ngx_http_cart_firmly_lookup(r, ctx, &domain, &cart);

    ngx_http_cart_store_end();

    if (err < 0 && cart.v2.data == NULL) {
        err = NGX_HTTP_CART_ERR_NOT_FOUND;
    }

    if (err >= 0) {
        return ngx_http_cart_send_error(r, &errors[err]);
    }

    return ngx_http_cart_send(r, NGX_HTTP_OK, &cart.v2, cart.rec.v2_etag);
}
