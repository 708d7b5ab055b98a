#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "cart_hash.h"
#include "cart_query.h"
#include "ngx_http_cart_firmly.h"
#include "ngx_http_cart_store.h"


/* firmly's own errors, after the ones every API answers */
enum {
    NGX_HTTP_CART_FIRMLY_MISSING_AUTH = NGX_HTTP_CART_ERR_API,
    NGX_HTTP_CART_FIRMLY_NOT_JWT,           /* not a JWT at all */
    NGX_HTTP_CART_FIRMLY_INVALID_TOKEN,     /* a token we do not accept */
    NGX_HTTP_CART_FIRMLY_BAD_DOMAIN,
    NGX_HTTP_CART_FIRMLY_BAD_QUERY,
    NGX_HTTP_CART_FIRMLY_NOT_FOUND,
    NGX_HTTP_CART_FIRMLY_DOMAIN_UNAVAILABLE,
    NGX_HTTP_CART_FIRMLY_ERR_COUNT
};

/* an active cart, copied out of the store: its V2 view deflated */
typedef struct {
    ngx_str_t                domain;
    int64_t                  updated_at_ms;
    uint64_t                 etag;
    ngx_http_cart_part_t     v2;
} ngx_http_cart_active_t;

typedef struct {
    ngx_http_cart_ctx_t     *ctx;
    ngx_array_t              carts;        /* ngx_http_cart_active_t */
    cart_excludes_t         *excludes;
    int64_t                  now;
    ngx_uint_t               with_carts;   /* or only their domains */
} ngx_http_cart_active_ctx_t;

/* a cart read: what the route asked for, and what the store gave */
typedef struct {
    ngx_http_cart_ctx_t     *ctx;
    ngx_uint_t               v1;
    ngx_int_t                err;
    ngx_http_cart_part_t     view;     /* deflated */
    uint64_t                 etag;
} ngx_http_cart_firmly_cart_read_t;


static ngx_int_t ngx_http_cart_firmly_identify(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx);
static ngx_int_t ngx_http_cart_firmly_cart_v2(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx);
static ngx_int_t ngx_http_cart_firmly_cart_v1(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx);
static ngx_int_t ngx_http_cart_firmly_active_carts(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx);
static ngx_int_t ngx_http_cart_firmly_active_domains(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx);


/* {"code":N,"error":"...","description":"..."}, as a literal */
#define NGX_HTTP_CART_ERROR(status, error, description)                      \
    { status, ngx_string("{\"code\":" #status ",\"error\":\"" error          \
                         "\",\"description\":\"" description "\"}") }

#define NGX_HTTP_CART_MISSING_AUTH(status)                                   \
    NGX_HTTP_CART_ERROR(status, "MissingAuthHeader",                         \
                        "x-firmly-authorization header is required")

#define NGX_HTTP_CART_INVALID_JWT(status)                                    \
    NGX_HTTP_CART_ERROR(status, "InvalidJWTToken", "The JWT token is invalid")

#define NGX_HTTP_CART_UNAVAILABLE(status, description)                       \
    NGX_HTTP_CART_ERROR(status, "ErrorStoreUnavailable", description)

#define NGX_HTTP_CART_UNAVAILABLE_503                                        \
    NGX_HTTP_CART_UNAVAILABLE(503, "Store temporarily unavailable")

#define NGX_HTTP_CART_INTERNAL(description)                                  \
    NGX_HTTP_CART_ERROR(500, "InternalServerError", description)

/* what every route of the API says alike */
#define NGX_HTTP_CART_FIRMLY_COMMON                                          \
    [NGX_HTTP_CART_ERR_METHOD] =                                             \
        NGX_HTTP_CART_ERROR(405, "MethodNotAllowed",                         \
                            "Only GET and HEAD are allowed"),                \
    [NGX_HTTP_CART_FIRMLY_BAD_DOMAIN] =                                      \
        NGX_HTTP_CART_ERROR(400, "InvalidDomain",                            \
                            "The domain is not a valid domain name"),        \
    [NGX_HTTP_CART_FIRMLY_NOT_FOUND] =                                       \
        NGX_HTTP_CART_ERROR(404, "ErrorCartNotFound", "Cart not found")


/* each set follows its page; they disagree, and so do we */

/* page 002 */
static ngx_http_cart_error_t
    ngx_http_cart_firmly_v2_errors[NGX_HTTP_CART_FIRMLY_ERR_COUNT] =
{
    NGX_HTTP_CART_FIRMLY_COMMON,
    [NGX_HTTP_CART_ERR_INTERNAL] =
        NGX_HTTP_CART_INTERNAL("Internal server error"),
    [NGX_HTTP_CART_ERR_STORE_UNAVAILABLE] =
        NGX_HTTP_CART_UNAVAILABLE(422, "Store service unavailable"),
    [NGX_HTTP_CART_FIRMLY_MISSING_AUTH] = NGX_HTTP_CART_MISSING_AUTH(400),
    [NGX_HTTP_CART_FIRMLY_NOT_JWT] = NGX_HTTP_CART_INVALID_JWT(401),
    [NGX_HTTP_CART_FIRMLY_INVALID_TOKEN] = NGX_HTTP_CART_INVALID_JWT(401),
    [NGX_HTTP_CART_FIRMLY_BAD_QUERY] =
        NGX_HTTP_CART_ERROR(400, "InvalidRequest",
                            "The query string is not valid"),
    [NGX_HTTP_CART_FIRMLY_DOMAIN_UNAVAILABLE] =
        NGX_HTTP_CART_UNAVAILABLE(422, "Store service unavailable")
};

/* page 004: authentication failures are 400s, unavailability a 503 */
static ngx_http_cart_error_t
    ngx_http_cart_firmly_v1_errors[NGX_HTTP_CART_FIRMLY_ERR_COUNT] =
{
    NGX_HTTP_CART_FIRMLY_COMMON,
    [NGX_HTTP_CART_ERR_INTERNAL] =
        NGX_HTTP_CART_INTERNAL("Internal server error"),
    [NGX_HTTP_CART_ERR_STORE_UNAVAILABLE] = NGX_HTTP_CART_UNAVAILABLE_503,
    [NGX_HTTP_CART_FIRMLY_MISSING_AUTH] = NGX_HTTP_CART_MISSING_AUTH(400),
    [NGX_HTTP_CART_FIRMLY_NOT_JWT] = NGX_HTTP_CART_INVALID_JWT(400),
    [NGX_HTTP_CART_FIRMLY_INVALID_TOKEN] = NGX_HTTP_CART_INVALID_JWT(400),
    [NGX_HTTP_CART_FIRMLY_BAD_QUERY] =
        NGX_HTTP_CART_ERROR(400, "InvalidRequest",
                            "fast_mode must be true or false"),
    [NGX_HTTP_CART_FIRMLY_DOMAIN_UNAVAILABLE] = NGX_HTTP_CART_UNAVAILABLE_503
};

/* page 000: every authentication failure is a 401, in three words */
static ngx_http_cart_error_t
    ngx_http_cart_firmly_active_errors[NGX_HTTP_CART_FIRMLY_ERR_COUNT] =
{
    NGX_HTTP_CART_FIRMLY_COMMON,
    [NGX_HTTP_CART_ERR_INTERNAL] =
        NGX_HTTP_CART_INTERNAL("Internal server error"),
    [NGX_HTTP_CART_ERR_STORE_UNAVAILABLE] = NGX_HTTP_CART_UNAVAILABLE_503,
    [NGX_HTTP_CART_FIRMLY_MISSING_AUTH] =
        NGX_HTTP_CART_ERROR(401, "MissingAuthHeader",
                            "x-firmly-authorization header is missing or "
                            "invalid"),
    [NGX_HTTP_CART_FIRMLY_NOT_JWT] =
        NGX_HTTP_CART_ERROR(401, "InvalidToken", "JWT token is invalid"),
    [NGX_HTTP_CART_FIRMLY_INVALID_TOKEN] = NGX_HTTP_CART_INVALID_JWT(401),
    [NGX_HTTP_CART_FIRMLY_BAD_QUERY] =
        NGX_HTTP_CART_ERROR(400, "InvalidRequest",
                            "excludes lists at most 256 domains"),
    [NGX_HTTP_CART_FIRMLY_DOMAIN_UNAVAILABLE] = NGX_HTTP_CART_UNAVAILABLE_503
};

/* page 001: "Unauthorized" for any authentication failure, 500 else */
#define NGX_HTTP_CART_DOMAINS_UNAUTHORIZED                                   \
    NGX_HTTP_CART_ERROR(401, "Unauthorized",                                 \
                        "Invalid or missing device authentication")

#define NGX_HTTP_CART_DOMAINS_FAILED                                         \
    NGX_HTTP_CART_INTERNAL("Server error occurred while fetching domains")

static ngx_http_cart_error_t
    ngx_http_cart_firmly_domains_errors[NGX_HTTP_CART_FIRMLY_ERR_COUNT] =
{
    NGX_HTTP_CART_FIRMLY_COMMON,
    [NGX_HTTP_CART_ERR_INTERNAL] = NGX_HTTP_CART_DOMAINS_FAILED,
    [NGX_HTTP_CART_ERR_STORE_UNAVAILABLE] = NGX_HTTP_CART_DOMAINS_FAILED,
    [NGX_HTTP_CART_FIRMLY_MISSING_AUTH] = NGX_HTTP_CART_DOMAINS_UNAUTHORIZED,
    [NGX_HTTP_CART_FIRMLY_NOT_JWT] = NGX_HTTP_CART_DOMAINS_UNAUTHORIZED,
    [NGX_HTTP_CART_FIRMLY_INVALID_TOKEN] = NGX_HTTP_CART_DOMAINS_UNAUTHORIZED,
    [NGX_HTTP_CART_FIRMLY_BAD_QUERY] =
        NGX_HTTP_CART_ERROR(400, "InvalidRequest",
                            "The query string is not valid"),
    [NGX_HTTP_CART_FIRMLY_DOMAIN_UNAVAILABLE] = NGX_HTTP_CART_DOMAINS_FAILED
};


static ngx_http_cart_style_t  ngx_http_cart_firmly_style = {
    ngx_string("application/json"),
    ngx_string("private, no-cache"),
    ngx_string("private, no-cache"),
    0,                                      /* a strong ETag */
    1,                                      /* of 64 bits */
    NULL
};

/* the device token, or a backend's shared secret; needs a cart_store */
static ngx_http_cart_api_t  ngx_http_cart_firmly_api = {
    ngx_http_cart_firmly_identify,
    NGX_HTTP_CART_NEEDS_STORE|NGX_HTTP_CART_NEEDS_DEVICE_AUTH,
    &ngx_http_cart_firmly_style
};

ngx_http_cart_route_t  ngx_http_cart_firmly_routes[] = {

    { ngx_string("firmly_cart_v2"), ngx_http_cart_firmly_cart_v2,
      &ngx_http_cart_firmly_api, NGX_HTTP_CART_NEEDS_DOMAIN,
      ngx_http_cart_firmly_v2_errors, 0 },

    { ngx_string("firmly_cart_v1"), ngx_http_cart_firmly_cart_v1,
      &ngx_http_cart_firmly_api, NGX_HTTP_CART_NEEDS_DOMAIN,
      ngx_http_cart_firmly_v1_errors, 0 },

    { ngx_string("firmly_active_carts"), ngx_http_cart_firmly_active_carts,
      &ngx_http_cart_firmly_api, 0, ngx_http_cart_firmly_active_errors, 0 },

    { ngx_string("firmly_active_domains"),
      ngx_http_cart_firmly_active_domains, &ngx_http_cart_firmly_api, 0,
      ngx_http_cart_firmly_domains_errors, 0 },

    { ngx_null_string, NULL, NULL, 0, NULL, 0 }
};


static int64_t
ngx_http_cart_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + (int64_t) tp->msec;
}


/* out of the map, into the request pool, before the transaction ends */
static ngx_int_t
ngx_http_cart_firmly_copy(ngx_http_request_t *r, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, s->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    s->data = ngx_cpymem(p, s->data, s->len) - s->len;

    return NGX_OK;
}


/*
 * The device a request speaks for.  A browser sends its device token in
 * x-firmly-authorization, with or without "Bearer "; a backend of the
 * merchant's, where cart_device_secret is set, sends that shared secret
 * there and names the device in x-firmly-device-id.
 */
static ngx_http_cart_auth_rc_e
ngx_http_cart_firmly_device_of(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_str_t *device_id)
{
    ngx_str_t         token;
    ngx_table_elt_t  *h, *device;

    static ngx_str_t  authorization = ngx_string("x-firmly-authorization");
    static ngx_str_t  device_header = ngx_string("x-firmly-device-id");

    h = ngx_http_cart_auth_header(r, &authorization);
    if (h == NULL || h->value.len == 0) {
        return NGX_HTTP_CART_AUTH_MISSING;
    }

    token = h->value;

    if (conf->device_secrets
        && (device = ngx_http_cart_auth_header(r, &device_header)) != NULL
        && ngx_http_cart_auth_secret(conf->device_secrets, &token))
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cart firmly: the device secret, from a backend");
        *device_id = device->value;
        return NGX_HTTP_CART_AUTH_OK;
    }

    if (conf->device_jwt.keys == NULL) {
        return NGX_HTTP_CART_AUTH_INVALID;
    }

    if (token.len > 7
        && ngx_strncasecmp(token.data, (u_char *) "Bearer ", 7) == 0)
    {
        token.data += 7;
        token.len -= 7;
    }

    return ngx_http_cart_auth_jwt(r, &conf->device_jwt, &token, device_id);
}


/* firmly's scheme: the device, into the request context */
static ngx_int_t
ngx_http_cart_firmly_identify(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx)
{
    switch (ngx_http_cart_firmly_device_of(r, conf, &ctx->device_id)) {

    case NGX_HTTP_CART_AUTH_OK:
        break;

    case NGX_HTTP_CART_AUTH_MISSING:
        return NGX_HTTP_CART_FIRMLY_MISSING_AUTH;

    case NGX_HTTP_CART_AUTH_MALFORMED:
        return NGX_HTTP_CART_FIRMLY_NOT_JWT;

    case NGX_HTTP_CART_AUTH_INVALID:
        return NGX_HTTP_CART_FIRMLY_INVALID_TOKEN;

    default:
        return NGX_HTTP_CART_ERR_INTERNAL;
    }

    if (!cart_device_id_valid((char *) ctx->device_id.data,
                              ctx->device_id.len))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "cart: the device id is not valid");
        ctx->device_id.len = 0;
        return NGX_HTTP_CART_FIRMLY_INVALID_TOKEN;
    }

    return NGX_HTTP_CART_ERR_NONE;
}


/* the domain of the request (cart_domain), as a domain key */
static ngx_int_t
ngx_http_cart_firmly_domain(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx)
{
    ngx_str_t  raw;

    if (ngx_http_complex_value(r, conf->domain, &raw) != NGX_OK) {
        return NGX_HTTP_CART_ERR_INTERNAL;
    }

    ctx->domain.data = ngx_pnalloc(r->pool, ngx_max(raw.len, 1));
    if (ctx->domain.data == NULL) {
        return NGX_HTTP_CART_ERR_INTERNAL;
    }

    ctx->domain.len = cart_domain_key((char *) raw.data, raw.len,
                                      (char *) ctx->domain.data);

    return ctx->domain.len ? NGX_HTTP_CART_ERR_NONE
                           : NGX_HTTP_CART_FIRMLY_BAD_DOMAIN;
}


/* a device whose session is missing or expired has no carts */
static ngx_int_t
ngx_http_cart_firmly_device(ngx_http_request_t *r, ngx_http_cart_ctx_t *ctx,
    int64_t now)
{
    ngx_int_t          rc;
    cart_device_rec_t  device;

    rc = ngx_http_cart_store_device(r, &ctx->device_id, &device);

    if (rc == NGX_OK && device.expires_at_ms <= now) {
        return NGX_DECLINED;
    }

    return rc;
}


/*
 * The domain and the device's cart there (its V2 or V1 view), within a
 * store read.  Returns an error; a missing or expired cart leaves
 * cart->bytes.data NULL.
 */
static ngx_int_t
ngx_http_cart_firmly_lookup(ngx_http_request_t *r, ngx_http_cart_ctx_t *ctx,
    ngx_http_cart_domain_t *domain, ngx_uint_t v1, ngx_http_cart_view_t *cart)
{
    int64_t    now;
    ngx_int_t  rc;

    ngx_memzero(cart, sizeof(ngx_http_cart_view_t));

    rc = ngx_http_cart_store_domain(r, &ctx->domain, domain);

    if (rc == NGX_DECLINED) {
        return NGX_HTTP_CART_FIRMLY_NOT_FOUND;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_CART_ERR_INTERNAL;
    }

    if (!(domain->rec.flags & CART_DOMAIN_AVAILABLE)) {
        return NGX_HTTP_CART_FIRMLY_DOMAIN_UNAVAILABLE;
    }

    now = ngx_http_cart_now_ms();

    rc = ngx_http_cart_firmly_device(r, ctx, now);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? NGX_HTTP_CART_ERR_NONE
                                  : NGX_HTTP_CART_ERR_INTERNAL;
    }

    rc = ngx_http_cart_store_cart_view(r, &ctx->device_id, &ctx->domain, v1,
                                       cart);

    if (rc == NGX_DECLINED || (rc == NGX_OK && cart->expires_at_ms <= now)) {
        ngx_memzero(cart, sizeof(ngx_http_cart_view_t));
        return NGX_HTTP_CART_ERR_NONE;
    }

    return rc == NGX_OK ? NGX_HTTP_CART_ERR_NONE : NGX_HTTP_CART_ERR_INTERNAL;
}


/*
 * The cart (V2 or V1) copied out of the store.  With no cart, V2 is a 404
 * and V1 the domain's empty cart, made when the domain was written.
 */
static ngx_int_t
ngx_http_cart_firmly_read_cart(ngx_http_request_t *r, void *data)
{
    ngx_http_cart_firmly_cart_read_t *rd = data;

    ngx_int_t                err;
    ngx_http_cart_view_t     cart;
    ngx_http_cart_domain_t   domain;

    err = ngx_http_cart_firmly_lookup(r, rd->ctx, &domain, rd->v1, &cart);

    if (err == NGX_HTTP_CART_ERR_NONE && cart.bytes.data == NULL) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cart firmly: no cart at the domain");

        err = rd->v1 ? NGX_HTTP_CART_ERR_NONE : NGX_HTTP_CART_FIRMLY_NOT_FOUND;
        rd->view.bytes = domain.v1_empty;
        rd->view.deflated = domain.rec.v1_empty;
        rd->etag = domain.rec.v1_empty_etag;

    } else {
        rd->view.bytes = cart.bytes;
        rd->view.deflated = cart.deflated;
        rd->etag = cart.etag;
    }

    if (err == NGX_HTTP_CART_ERR_NONE
        && ngx_http_cart_firmly_copy(r, &rd->view.bytes) != NGX_OK)
    {
        err = NGX_HTTP_CART_ERR_INTERNAL;
    }

    rd->err = err;

    return NGX_OK;
}


/* the device's cart at the domain, as V2 or V1 */
static ngx_int_t
ngx_http_cart_firmly_cart(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx, ngx_uint_t v1)
{
    ngx_int_t                          err;
    ngx_str_t                          fast_mode;
    ngx_http_cart_body_t               body;
    ngx_http_cart_firmly_cart_read_t   rd;

    err = ngx_http_cart_firmly_domain(r, conf, ctx);
    if (err != NGX_HTTP_CART_ERR_NONE) {
        goto failed;
    }

    /* both modes serve the same current data; anything else is an error */
    if (v1
        && ngx_http_arg(r, (u_char *) "fast_mode", 9, &fast_mode) == NGX_OK
        && cart_bool_parse((char *) fast_mode.data, fast_mode.len) < 0)
    {
        err = NGX_HTTP_CART_FIRMLY_BAD_QUERY;
        goto failed;
    }

    rd.ctx = ctx;
    rd.v1 = v1;

    if (ngx_http_cart_store_read(r, ngx_http_cart_firmly_read_cart, &rd)
        != NGX_OK)
    {
        err = NGX_HTTP_CART_ERR_STORE_UNAVAILABLE;
        goto failed;
    }

    if (rd.err != NGX_HTTP_CART_ERR_NONE) {
        err = rd.err;
        goto failed;
    }

    body.parts = &rd.view;
    body.nparts = 1;
    body.encodable = 1;

    return ngx_http_cart_send_route(r, conf, &body, &rd.etag);

failed:

    return ngx_http_cart_send_route_error(r, conf, err);
}


static ngx_int_t
ngx_http_cart_firmly_cart_v2(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx)
{
    return ngx_http_cart_firmly_cart(r, conf, ctx, 0);
}


static ngx_int_t
ngx_http_cart_firmly_cart_v1(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx)
{
    return ngx_http_cart_firmly_cart(r, conf, ctx, 1);
}


static ngx_int_t
ngx_http_cart_firmly_collect(ngx_http_request_t *r, ngx_str_t *domain,
    ngx_http_cart_cart_t *cart, void *data)
{
    ngx_http_cart_active_ctx_t *actx = data;

    ngx_int_t                rc;
    ngx_http_cart_active_t  *a;
    ngx_http_cart_domain_t   dom;

    if (cart->rec.line_items == 0 || cart->rec.expires_at_ms <= actx->now
        || (actx->excludes
            && cart_excludes_has(actx->excludes, (char *) domain->data,
                                 domain->len)))
    {
        return NGX_OK;
    }

    /* one domain's failure leaves that domain out, never the request */
    rc = ngx_http_cart_store_domain(r, domain, &dom);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "cart: domain \"%V\" left out: no domain record",
                      domain);
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_OK;
    }

    if (!(dom.rec.flags & CART_DOMAIN_AVAILABLE)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "cart: domain \"%V\" left out: its store is "
                      "unavailable", domain);
        return NGX_OK;
    }

    a = ngx_array_push(&actx->carts);
    if (a == NULL) {
        return NGX_ERROR;
    }

    a->domain = *domain;
    a->v2.bytes = cart->v2;
    a->v2.deflated = cart->rec.v2;
    a->updated_at_ms = cart->rec.updated_at_ms;
    a->etag = cart->rec.v2_etag;

    if (ngx_http_cart_firmly_copy(r, &a->domain) != NGX_OK
        || (actx->with_carts
            && ngx_http_cart_firmly_copy(r, &a->v2.bytes) != NGX_OK))
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* most recently updated first, then by domain name */
static ngx_int_t
ngx_http_cart_firmly_active_cmp(const void *one, const void *two)
{
    const ngx_http_cart_active_t  *a = one;
    const ngx_http_cart_active_t  *b = two;

    if (a->updated_at_ms != b->updated_at_ms) {
        return a->updated_at_ms > b->updated_at_ms ? -1 : 1;
    }

    return ngx_memn2cmp(a->domain.data, b->domain.data, a->domain.len,
                        b->domain.len);
}


/*
 * The device's active carts, collected within a store read: the session
 * unexpired, each cart unexpired with a line item, its domain's store
 * available.
 */
static ngx_int_t
ngx_http_cart_firmly_read_active(ngx_http_request_t *r, void *data)
{
    ngx_http_cart_active_ctx_t *actx = data;

    ngx_int_t  rc;

    rc = ngx_http_cart_firmly_device(r, actx->ctx, actx->now);

    if (rc == NGX_OK) {
        rc = ngx_http_cart_store_device_carts(r, &actx->ctx->device_id,
                                              ngx_http_cart_firmly_collect,
                                              actx);
    }

    return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/*
 * {"domains":["a.com","b.com"]}, or with_carts {"domains":[...],
 * "carts":[...]}, its carts' views as they were stored, in parts: the
 * domains are keys the store layer checked (letters, digits and "-_."),
 * so they need no escaping.
 */
static ngx_int_t
ngx_http_cart_firmly_listing(ngx_http_request_t *r, ngx_array_t *carts,
    ngx_uint_t with_carts, ngx_http_cart_body_t *body)
{
    u_char                  *p;
    size_t                   len;
    ngx_uint_t               i;
    ngx_http_cart_part_t    *part;
    ngx_http_cart_active_t  *a;

    static ngx_str_t  comma = ngx_string(",");
    static ngx_str_t  end = ngx_string("]}");

    a = carts->elts;
    len = sizeof("{\"domains\":[],\"carts\":[") - 1;

    for (i = 0; i < carts->nelts; i++) {
        len += sizeof("\"\",") - 1 + a[i].domain.len;
    }

    body->nparts = with_carts ? 2 * carts->nelts + 1 + !carts->nelts : 1;
    body->encodable = with_carts;

    body->parts = ngx_pcalloc(r->pool,
                              body->nparts * sizeof(ngx_http_cart_part_t));
    p = ngx_pnalloc(r->pool, len);

    if (body->parts == NULL || p == NULL) {
        return NGX_ERROR;
    }

    part = body->parts;
    part->bytes.data = p;
    p = ngx_cpymem(p, "{\"domains\":[", sizeof("{\"domains\":[") - 1);

    for (i = 0; i < carts->nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        *p++ = '"';
        p = ngx_cpymem(p, a[i].domain.data, a[i].domain.len);
        *p++ = '"';
    }

    if (!with_carts) {
        *p++ = ']';
        *p++ = '}';
        part->bytes.len = p - part->bytes.data;

        return NGX_OK;
    }

    p = ngx_cpymem(p, "],\"carts\":[", sizeof("],\"carts\":[") - 1);
    part->bytes.len = p - part->bytes.data;
    part++;

    for (i = 0; i < carts->nelts; i++) {
        if (i) {
            (part++)->bytes = comma;
        }

        *part++ = a[i].v2;
    }

    part->bytes = end;

    return NGX_OK;
}


/* a strong validator of the listing: its domains and their carts' */
static uint64_t
ngx_http_cart_firmly_active_etag(ngx_array_t *carts, ngx_uint_t with_carts)
{
    uint64_t                 h;
    ngx_uint_t               i;
    ngx_http_cart_active_t  *a;

    h = cart_hash("active", with_carts ? 6 : 5);
    a = carts->elts;

    for (i = 0; i < carts->nelts; i++) {
        h = cart_hash_update(h, a[i].domain.data, a[i].domain.len);
        h = cart_hash_update(h, ",", 1);

        if (with_carts) {
            h = cart_hash_update(h, &a[i].etag, sizeof(uint64_t));
        }
    }

    return h;
}


/* excludes=a.com,b.com: an error, or NGX_HTTP_CART_ERR_NONE */
static ngx_int_t
ngx_http_cart_firmly_excludes(ngx_http_request_t *r,
    cart_excludes_t **excludes)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   arg, excluded;

    if (ngx_http_arg(r, (u_char *) "excludes", 8, &arg) != NGX_OK) {
        return NGX_HTTP_CART_ERR_NONE;
    }

    *excludes = ngx_palloc(r->pool, sizeof(cart_excludes_t));
    p = ngx_pnalloc(r->pool, 2 * arg.len + 1);
    if (*excludes == NULL || p == NULL) {
        return NGX_HTTP_CART_ERR_INTERNAL;
    }

    /* unescaped into the first half, lowercased into the second */
    len = arg.len;
    excluded.data = p;
    ngx_unescape_uri(&p, &arg.data, arg.len, NGX_UNESCAPE_URI);
    excluded.len = p - excluded.data;

    if (cart_excludes_parse((char *) excluded.data, excluded.len,
                            (char *) excluded.data + len, *excludes) != 0)
    {
        return NGX_HTTP_CART_FIRMLY_BAD_QUERY;
    }

    return NGX_HTTP_CART_ERR_NONE;
}


/*
 * The listing of the device's active carts in their order (most recently
 * updated first), or of their domains.
 */
static ngx_int_t
ngx_http_cart_firmly_active(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx,
    ngx_uint_t with_carts)
{
    uint64_t                     etag;
    ngx_int_t                    err;
    ngx_http_cart_body_t         body;
    ngx_http_cart_active_ctx_t   actx;

    actx.ctx = ctx;
    actx.with_carts = with_carts;
    actx.excludes = NULL;
    actx.now = ngx_http_cart_now_ms();

    if (with_carts) {
        err = ngx_http_cart_firmly_excludes(r, &actx.excludes);
        if (err != NGX_HTTP_CART_ERR_NONE) {
            goto failed;
        }
    }

    if (ngx_array_init(&actx.carts, r->pool, 4,
                       sizeof(ngx_http_cart_active_t)) != NGX_OK)
    {
        err = NGX_HTTP_CART_ERR_INTERNAL;
        goto failed;
    }

    if (ngx_http_cart_store_read(r, ngx_http_cart_firmly_read_active, &actx)
        != NGX_OK)
    {
        err = NGX_HTTP_CART_ERR_STORE_UNAVAILABLE;
        goto failed;
    }

    ngx_sort(actx.carts.elts, actx.carts.nelts,
             sizeof(ngx_http_cart_active_t), ngx_http_cart_firmly_active_cmp);

    if (ngx_http_cart_firmly_listing(r, &actx.carts, with_carts, &body)
        != NGX_OK)
    {
        err = NGX_HTTP_CART_ERR_INTERNAL;
        goto failed;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cart firmly: %ui active carts", actx.carts.nelts);

    etag = ngx_http_cart_firmly_active_etag(&actx.carts, with_carts);

    return ngx_http_cart_send_route(r, conf, &body, &etag);

failed:

    return ngx_http_cart_send_route_error(r, conf, err);
}


static ngx_int_t
ngx_http_cart_firmly_active_carts(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx)
{
    return ngx_http_cart_firmly_active(r, conf, ctx, 1);
}


static ngx_int_t
ngx_http_cart_firmly_active_domains(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx)
{
    return ngx_http_cart_firmly_active(r, conf, ctx, 0);
}
