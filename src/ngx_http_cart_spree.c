#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "cart_gzip.h"
#include "cart_hash.h"
#include "cart_spree_query.h"
#include "ngx_http_cart_spree.h"
#include "ngx_http_cart_store.h"


/* Spree's own errors, after the ones every API answers */
enum {
    NGX_HTTP_CART_SPREE_AUTHENTICATION = NGX_HTTP_CART_ERR_API,
    NGX_HTTP_CART_SPREE_API_KEY,
    NGX_HTTP_CART_SPREE_ERR_COUNT
};

/* a cart of the page: its record's parts, in the map */
typedef struct {
    u_char                      *json;      /* as stored */
    cart_deflated_t              deflated;
    u_char                      *members;   /* cart_spree_member_t, packed */
    uint32_t                     nmembers;
    uint64_t                     etag;
} ngx_http_cart_spree_item_t;

/* a listing: what was asked, and what the store gave */
typedef struct {
    ngx_http_cart_loc_conf_t    *conf;
    cart_spree_query_t           query;
    cart_spree_order_t           order;
    cart_spree_fields_t          fields;
    cart_spree_page_t            page;
    uint64_t                     user_id;
    u_char                       user[CART_SPREE_USER_KEY_MAX + 1];
    size_t                       user_len;  /* without the state byte */
    int64_t                      offset;    /* of the page, in all */
    int64_t                      matched;   /* carts met so far */
    ngx_array_t                  items;     /* ngx_http_cart_spree_item_t */
    ngx_http_cart_body_t         body;
    uint64_t                     etag[2];
} ngx_http_cart_spree_list_t;

/* a publishable key looked up */
typedef struct {
    ngx_str_t                   *store;
    ngx_str_t                    token;
    ngx_uint_t                   valid;
} ngx_http_cart_spree_key_t;


static ngx_int_t ngx_http_cart_spree_identify(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx);
static ngx_int_t ngx_http_cart_spree_carts(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx);


/* {"error":{"code":"...","message":"..."}}, as a literal */
#define NGX_HTTP_CART_SPREE_ERROR(status, code, message)                     \
    { status, ngx_string("{\"error\":{\"code\":\"" code "\",\"message\":\""  \
                         message "\"}}") }

/* what Rails answers for what Spree does not rescue: a 500, a 404 */
#define NGX_HTTP_CART_RAILS_ERROR(status, error)                             \
    { status, ngx_string("{\"status\":" #status ",\"error\":\"" error        \
                         "\"}") }

static ngx_http_cart_error_t
    ngx_http_cart_spree_errors[NGX_HTTP_CART_SPREE_ERR_COUNT] =
{
    [NGX_HTTP_CART_ERR_INTERNAL] =
        NGX_HTTP_CART_RAILS_ERROR(500, "Internal Server Error"),

    /* a method Spree's routes do not have */
    [NGX_HTTP_CART_ERR_METHOD] =
        NGX_HTTP_CART_RAILS_ERROR(404, "Not Found"),

    /* its database gone, Spree answers a 500 */
    [NGX_HTTP_CART_ERR_STORE_UNAVAILABLE] =
        NGX_HTTP_CART_RAILS_ERROR(500, "Internal Server Error"),

    [NGX_HTTP_CART_SPREE_AUTHENTICATION] =
        NGX_HTTP_CART_SPREE_ERROR(401, "authentication_required",
                                  "Authentication required"),

    [NGX_HTTP_CART_SPREE_API_KEY] =
        NGX_HTTP_CART_SPREE_ERROR(401, "invalid_token",
                                  "Valid API key required")
};


/* Spree's SecurityHeaders, on what its action answers (not its errors) */
static ngx_http_cart_header_t  ngx_http_cart_spree_headers[] = {
    { ngx_string("X-Content-Type-Options"), ngx_string("nosniff") },
    { ngx_string("X-Frame-Options"), ngx_string("DENY") },
    { ngx_string("Referrer-Policy"),
      ngx_string("strict-origin-when-cross-origin") },
    { ngx_string("Permissions-Policy"),
      ngx_string("camera=(), microphone=(), geolocation=()") },
    { ngx_null_string, ngx_null_string }
};

/* a Rails API application's: its Rack::ETag is weak, of 128 bits */
static ngx_http_cart_style_t  ngx_http_cart_spree_style = {
    ngx_string("application/json; charset=utf-8"),
    ngx_string("max-age=0, private, must-revalidate"),
    ngx_string("no-cache"),
    1,
    2,
    ngx_http_cart_spree_headers
};

/* the customer's token, then the store's key; needs a cart_store */
static ngx_http_cart_api_t  ngx_http_cart_spree_api = {
    ngx_http_cart_spree_identify,
    NGX_HTTP_CART_NEEDS_STORE|NGX_HTTP_CART_NEEDS_SPREE_SECRET,
    &ngx_http_cart_spree_style
};

ngx_http_cart_route_t  ngx_http_cart_spree_routes[] = {

    { ngx_string("spree_carts"), ngx_http_cart_spree_carts,
      &ngx_http_cart_spree_api, 0, ngx_http_cart_spree_errors, 0 },

    { ngx_null_string, NULL, NULL, 0, NULL, 0 }
};


void
ngx_http_cart_spree_policy(cart_jwt_policy_t *policy)
{
    /* Spree.user_class, unless the token says admin: only customers here */
    static const cart_jwt_claim_t  customer[] = {
        { "user_type", "customer" },
        { NULL, NULL }
    };

    policy->subject = "user_id";
    policy->subject_type = CART_JWT_SUBJECT_INTEGER;
    policy->issuer = "spree";
    policy->audience = "store_api";
    policy->when_present = customer;
}


static ngx_uint_t
ngx_http_cart_spree_blank(u_char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f'
           || c == '\r';
}


/* whether the store has the key and it is not revoked */
static ngx_int_t
ngx_http_cart_spree_read_key(ngx_http_request_t *r, void *data)
{
    ngx_http_cart_spree_key_t *k = data;

    ngx_int_t              rc;
    ngx_str_t              value;
    cart_spree_key_rec_t   rec;
    u_char                 key[CART_SPREE_ID_KEY_MAX
                               + CART_SPREE_TOKEN_MAX_LEN];

    k->valid = 0;

    if (k->token.len > CART_SPREE_TOKEN_MAX_LEN) {
        return NGX_OK;
    }

    rc = ngx_http_cart_store_value(r, CART_DB_SPREE_KEYS, key,
                                   cart_spree_named_key(
                                       (char *) k->store->data,
                                       k->store->len,
                                       (char *) k->token.data,
                                       k->token.len, key),
                                   &value);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    k->valid = (rc == NGX_OK
                && cart_spree_key_rec_read(value.data, value.len, &rec) == 0
                && !(rec.flags & CART_SPREE_KEY_REVOKED));

    return NGX_OK;
}


/*
 * Spree's order: "Authorization: Bearer <jwt>" (its last word, as Spree
 * takes it), a customer's token of the configured secrets; then
 * x-spree-api-key, an unrevoked publishable key of the configured store.
 */
static ngx_int_t
ngx_http_cart_spree_identify(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx)
{
    u_char                     *end;
    ngx_str_t                   token;
    ngx_table_elt_t            *h;
    ngx_http_cart_auth_rc_e     rc;
    ngx_http_cart_spree_key_t   k;

    static ngx_str_t  authorization = ngx_string("authorization");
    static ngx_str_t  api_key = ngx_string("x-spree-api-key");

    h = ngx_http_cart_auth_header(r, &authorization);

    if (h == NULL || h->value.len < 7
        || ngx_strncmp(h->value.data, "Bearer ", 7) != 0)
    {
        return NGX_HTTP_CART_SPREE_AUTHENTICATION;
    }

    end = h->value.data + h->value.len;

    while (end > h->value.data && ngx_http_cart_spree_blank(end[-1])) {
        end--;
    }

    for (token.data = end;
         token.data > h->value.data
         && !ngx_http_cart_spree_blank(token.data[-1]);
         token.data--)
    {
        /* void */
    }

    token.len = end - token.data;

    rc = ngx_http_cart_auth_jwt(r, &conf->spree_jwt, &token,
                                &ctx->customer_id);

    if (rc == NGX_HTTP_CART_AUTH_ERROR) {
        return NGX_HTTP_CART_ERR_INTERNAL;
    }

    if (rc != NGX_HTTP_CART_AUTH_OK) {
        return NGX_HTTP_CART_SPREE_AUTHENTICATION;
    }

    h = ngx_http_cart_auth_header(r, &api_key);

    k.store = &conf->spree_store;
    k.token = h ? h->value : (ngx_str_t) ngx_null_string;

    while (k.token.len && ngx_http_cart_spree_blank(k.token.data[0])) {
        k.token.data++;
        k.token.len--;
    }

    if (k.token.len == 0) {
        return NGX_HTTP_CART_SPREE_API_KEY;
    }

    k.token = h->value;     /* present: looked up as it came */

    if (ngx_http_cart_store_read(r, ngx_http_cart_spree_read_key, &k)
        != NGX_OK)
    {
        return NGX_HTTP_CART_ERR_STORE_UNAVAILABLE;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cart spree: customer %V, api key %s",
                   &ctx->customer_id, k.valid ? "valid" : "refused");

    return k.valid ? NGX_HTTP_CART_ERR_NONE : NGX_HTTP_CART_SPREE_API_KEY;
}


/* a stored cart, as a page's item; NGX_DECLINED when corrupt (logged) */
static ngx_int_t
ngx_http_cart_spree_item(ngx_http_request_t *r, ngx_str_t *value,
    ngx_http_cart_spree_item_t *item)
{
    cart_spree_rec_t  rec;

    if (cart_spree_rec_read(value->data, value->len, &rec) != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cart_store: a corrupt Spree cart record left out");
        return NGX_DECLINED;
    }

    item->json = value->data + sizeof(cart_spree_rec_t);
    item->deflated = rec.json;
    item->members = item->json + cart_deflated_size(&rec.json);
    item->nmembers = rec.members;
    item->etag = rec.etag;

    return NGX_OK;
}


/*
 * A cart met on the walk: with conditions, it counts when it meets them
 * and is kept when it falls on the page; without, the walk gives just the
 * page's carts.
 */
static ngx_int_t
ngx_http_cart_spree_take(ngx_http_request_t *r,
    ngx_http_cart_spree_list_t *list, ngx_str_t *value, int64_t created_us,
    int64_t updated_us)
{
    ngx_http_cart_spree_item_t  *item, one;

    if (list->query.nconditions) {
        if (!cart_spree_matches(&list->query, created_us, updated_us)) {
            return NGX_OK;
        }

        if (list->matched++ < list->offset
            || (ngx_int_t) list->items.nelts >= list->page.limit)
        {
            return NGX_OK;
        }
    }

    if (ngx_http_cart_spree_item(r, value, &one) != NGX_OK) {
        return NGX_OK;
    }

    item = ngx_array_push(&list->items);
    if (item == NULL) {
        return NGX_ERROR;
    }

    *item = one;

    return NGX_OK;
}


/* in spree_carts: the key holds updated_at, the record created_at */
static ngx_int_t
ngx_http_cart_spree_by_updated(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value, void *data)
{
    ngx_http_cart_spree_list_t *list = data;

    cart_spree_rec_t  rec;

    if (key->len <= list->user_len + 1 + 8
        || cart_spree_rec_read(value->data, value->len, &rec) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cart_store: a corrupt Spree cart record left out");
        return NGX_OK;
    }

    return ngx_http_cart_spree_take(r, list, value, rec.created_at_us,
                                    rec.updated_at_us);
}


/* in spree_created: created_at, id, NUL, updated_at; the record by key */
static ngx_int_t
ngx_http_cart_spree_by_created(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *dup, void *data)
{
    ngx_http_cart_spree_list_t *list = data;

    u_char     *nul;
    int64_t     created, updated;
    ngx_int_t   rc;
    ngx_str_t   value;
    u_char      buf[CART_SPREE_CART_KEY_MAX];

    nul = (dup->len > 8 + 1 + 8) ? ngx_strlchr(dup->data + 8,
                                               dup->data + dup->len, '\0')
                                 : NULL;

    if (nul == NULL || dup->data + dup->len - nul != 1 + 8) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cart_store: a corrupt Spree created_at entry left "
                      "out");
        return NGX_OK;
    }

    created = cart_spree_key_time(dup->data);
    updated = cart_spree_key_time(nul + 1);

    if (list->query.nconditions
        && !cart_spree_matches(&list->query, created, updated))
    {
        return NGX_OK;
    }

    rc = ngx_http_cart_store_value(r, CART_DB_SPREE_CARTS, buf,
                                   cart_spree_cart_key(
                                       (char *) list->conf->spree_store.data,
                                       list->conf->spree_store.len,
                                       list->user_id, CART_SPREE_INCOMPLETE,
                                       updated, (char *) dup->data + 8,
                                       nul - dup->data - 8, buf),
                                   &value);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cart_store: a Spree created_at entry names no cart");
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_cart_spree_take(r, list, &value, created, updated);
}


/* the walk of the customer's carts in the listing's order */
static ngx_int_t
ngx_http_cart_spree_walk(ngx_http_request_t *r,
    ngx_http_cart_spree_list_t *list, ngx_uint_t reverse, ngx_uint_t skip,
    ngx_uint_t limit)
{
    ngx_http_cart_store_range_t   range;

    ngx_memzero(&range, sizeof(ngx_http_cart_store_range_t));

    range.reverse = reverse;
    range.skip = skip;
    range.limit = limit;
    range.key.data = list->user;

    if (list->order.by == CART_SPREE_BY_CREATED) {
        range.db = CART_DB_SPREE_CREATED;
        range.key.len = list->user_len;

        return ngx_http_cart_store_range(r, &range,
                                         ngx_http_cart_spree_by_created,
                                         list);
    }

    /* the customer's incomplete carts: the state byte ends the prefix */
    range.db = CART_DB_SPREE_CARTS;
    range.key.len = list->user_len + 1;

    return ngx_http_cart_store_range(r, &range,
                                     ngx_http_cart_spree_by_updated, list);
}


/*
 * The members of a cart that the page keeps, at p, from its JSON inflated:
 * json_len bytes.
 */
static u_char *
ngx_http_cart_spree_select(ngx_http_cart_spree_list_t *list,
    ngx_http_cart_spree_item_t *item, const u_char *json, size_t json_len,
    u_char *p)
{
    uint32_t              i;
    ngx_uint_t            n;
    cart_spree_member_t   m;

    *p++ = '{';

    for (i = 0, n = 0; i < item->nmembers; i++) {
        ngx_memcpy(&m, item->members + i * sizeof(cart_spree_member_t),
                   sizeof(cart_spree_member_t));

        if (m.end > json_len || m.start + 1 + m.name_len > m.end
            || !cart_spree_keeps(&list->fields, (char *) json + m.start + 1,
                                 m.name_len))
        {
            continue;
        }

        if (n++) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, json + m.start, m.end - m.start);
    }

    *p++ = '}';

    return p;
}


/*
 * The page of whole carts, in parts: their JSON as stored, deflated, and
 * the bytes around, so that it may be sent gzip as it is.
 */
static ngx_int_t
ngx_http_cart_spree_whole(ngx_http_request_t *r,
    ngx_http_cart_spree_list_t *list, ngx_str_t *head, ngx_str_t *tail)
{
    u_char                      *p;
    size_t                       len;
    ngx_uint_t                   i, n;
    ngx_http_cart_part_t        *part;
    ngx_http_cart_spree_item_t  *items;

    static ngx_str_t  comma = ngx_string(",");

    items = list->items.elts;
    n = list->items.nelts;

    /* the carts copied out of the map into one allocation */
    for (len = 0, i = 0; i < n; i++) {
        len += cart_deflated_size(&items[i].deflated);
    }

    list->body.nparts = 2 + (n ? 2 * n - 1 : 0);
    list->body.encodable = 1;
    list->body.parts = ngx_pcalloc(r->pool, list->body.nparts
                                            * sizeof(ngx_http_cart_part_t));
    p = ngx_pnalloc(r->pool, ngx_max(len, 1));

    if (list->body.parts == NULL || p == NULL) {
        return NGX_ERROR;
    }

    part = list->body.parts;
    (part++)->bytes = *head;

    for (i = 0; i < n; i++) {
        if (i) {
            (part++)->bytes = comma;
        }

        part->deflated = items[i].deflated;
        part->bytes.len = cart_deflated_size(&items[i].deflated);
        part->bytes.data = p;
        p = ngx_cpymem(p, items[i].json, part->bytes.len);
        part++;
    }

    part->bytes = *tail;

    return NGX_OK;
}


/*
 * The page of the members that fields and expand keep, made here, plain:
 * each cart's JSON (kept plain, or inflated) and its members spliced.
 */
static ngx_int_t
ngx_http_cart_spree_selected(ngx_http_request_t *r,
    ngx_http_cart_spree_list_t *list, ngx_str_t *head, ngx_str_t *tail)
{
    u_char                      *p, *json;
    const u_char                *plain;
    size_t                       len, most;
    ngx_uint_t                   i;
    ngx_http_cart_part_t        *part;
    ngx_http_cart_spree_item_t  *items;

    items = list->items.elts;
    len = head->len + tail->len;

    for (most = 0, i = 0; i < list->items.nelts; i++) {
        /* at most its whole JSON, with the braces and a comma */
        len += items[i].deflated.plain_len + 2 + 1;
        most = ngx_max(most, items[i].deflated.plain_len);
    }

    part = ngx_pcalloc(r->pool, sizeof(ngx_http_cart_part_t));
    json = ngx_pnalloc(r->pool, most);
    p = ngx_pnalloc(r->pool, len);

    if (part == NULL || json == NULL || p == NULL) {
        return NGX_ERROR;
    }

    list->body.parts = part;
    list->body.nparts = 1;
    list->body.encodable = 0;

    part->bytes.data = p;
    p = ngx_cpymem(p, head->data, head->len);

    for (i = 0; i < list->items.nelts; i++) {
        plain = cart_gzip_plain(items[i].json, &items[i].deflated, json);
        if (plain == NULL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "cart_store: a stored view does not inflate");
            return NGX_DECLINED;
        }

        if (i) {
            *p++ = ',';
        }

        p = ngx_http_cart_spree_select(list, &items[i], plain,
                                       items[i].deflated.plain_len, p);
    }

    p = ngx_cpymem(p, tail->data, tail->len);
    part->bytes.len = p - part->bytes.data;

    return NGX_OK;
}


/* {"data":[...],"meta":{...}}, copied out of the map, and its ETag */
static ngx_int_t
ngx_http_cart_spree_body(ngx_http_request_t *r,
    ngx_http_cart_spree_list_t *list)
{
    u_char                      *p;
    size_t                       meta_len;
    uint64_t                     h0, h1;
    ngx_uint_t                   i;
    ngx_str_t                    head, tail;
    ngx_http_cart_spree_item_t  *items;
    u_char                       meta[CART_SPREE_META_LEN];

    static ngx_str_t  data = ngx_string("{\"data\":[");

    meta_len = cart_spree_meta(&list->page, (char *) meta);
    items = list->items.elts;

    head = data;

    tail.len = sizeof("],\"meta\":}") - 1 + meta_len;
    tail.data = ngx_pnalloc(r->pool, tail.len);
    if (tail.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(tail.data, "],\"meta\":", sizeof("],\"meta\":") - 1);
    p = ngx_cpymem(p, meta, meta_len);
    *p = '}';

    h0 = cart_hash_update(CART_HASH_INIT, meta, meta_len);
    h1 = cart_hash_update(~CART_HASH_INIT, meta, meta_len);

    for (i = 0; i < list->items.nelts; i++) {
        h0 = cart_hash_update(h0, &items[i].etag, sizeof(uint64_t));
        h1 = cart_hash_update(h1, &items[i].etag, sizeof(uint64_t));
    }

    /* the selection of members too: a page of other fields is another */
    if (list->query.fields.data) {
        h0 = cart_hash_update(h0, list->query.fields.data,
                              list->query.fields.len);
        h1 = cart_hash_update(h1, list->query.fields.data,
                              list->query.fields.len);
    }

    if (list->query.expand.data) {
        h0 = cart_hash_update(h0, list->query.expand.data,
                              list->query.expand.len);
        h1 = cart_hash_update(h1, list->query.expand.data,
                              list->query.expand.len);
    }

    list->etag[0] = cart_hash(&h0, sizeof(uint64_t));
    list->etag[1] = cart_hash(&h1, sizeof(uint64_t));

    return list->fields.all ? ngx_http_cart_spree_whole(r, list, &head, &tail)
                            : ngx_http_cart_spree_selected(r, list, &head,
                                                           &tail);
}


/* the listing, within a store read */
static ngx_int_t
ngx_http_cart_spree_read_list(ngx_http_request_t *r, void *data)
{
    ngx_http_cart_spree_list_t *list = data;

    size_t                       count;
    int64_t                      from_end;
    ngx_int_t                    rc;
    ngx_str_t                    key;
    ngx_uint_t                   i, n;
    ngx_http_cart_spree_item_t  *items, swap;
    char                         err[128];

    if (list->query.nconditions) {
        /* the carts that meet the conditions are counted by walking them */
        rc = ngx_http_cart_spree_walk(r, list, list->order.descending, 0, 0);
        count = (size_t) list->matched;

    } else {
        key.data = list->user;
        key.len = list->user_len;

        rc = ngx_http_cart_store_count(r, CART_DB_SPREE_CREATED, &key,
                                       &count);
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    /* checked before the read: no error now */
    (void) cart_spree_paginate(&list->query.page, &list->query.limit,
                               (int64_t) count, &list->page, err,
                               sizeof(err));

    if (list->query.nconditions == 0 && list->page.in > 0) {
        /* a page near the far end is walked from there, and turned */
        from_end = list->page.count - list->page.offset - list->page.in;

        if (from_end < list->page.offset) {
            rc = ngx_http_cart_spree_walk(r, list, !list->order.descending,
                                          (ngx_uint_t) from_end,
                                          (ngx_uint_t) list->page.in);

            items = list->items.elts;
            n = list->items.nelts;

            for (i = 0; i < n / 2; i++) {
                swap = items[i];
                items[i] = items[n - 1 - i];
                items[n - 1 - i] = swap;
            }

        } else {
            rc = ngx_http_cart_spree_walk(r, list, list->order.descending,
                                          (ngx_uint_t) list->page.offset,
                                          (ngx_uint_t) list->page.in);
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cart spree: %uz carts of customer %uL, page %s: %ui",
                   count, list->user_id, list->page.page.text,
                   list->items.nelts);

    return ngx_http_cart_spree_body(r, list);
}


/* the API's 400: {"error":{"code":"invalid_request","message":...}} */
static ngx_int_t
ngx_http_cart_spree_invalid(ngx_http_request_t *r, char *message)
{
    ngx_str_t  body;

    body.data = ngx_pnalloc(r->pool, ngx_strlen(message) + 64);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.len = ngx_sprintf(body.data,
                           "{\"error\":{\"code\":\"invalid_request\","
                           "\"message\":\"%s\"}}", message)
               - body.data;

    return ngx_http_cart_send_plain(r, &ngx_http_cart_spree_style,
                                    NGX_HTTP_BAD_REQUEST, &body, NULL);
}


static ngx_int_t
ngx_http_cart_spree_carts(ngx_http_request_t *r,
    ngx_http_cart_loc_conf_t *conf, ngx_http_cart_ctx_t *ctx)
{
    char                         err[128];
    u_char                      *buf;
    ngx_int_t                    error;
    cart_spree_page_t            page;
    ngx_http_cart_spree_list_t  *list;

    list = ngx_pcalloc(r->pool, sizeof(ngx_http_cart_spree_list_t));
    buf = ngx_pnalloc(r->pool, r->args.len + 1);

    if (list == NULL || buf == NULL) {
        error = NGX_HTTP_CART_ERR_INTERNAL;
        goto failed;
    }

    list->conf = conf;

    cart_spree_query_parse((char *) r->args.data, r->args.len, (char *) buf,
                           &list->query);

    /* Pagy's checks come before any count */
    if (cart_spree_paginate(&list->query.page, &list->query.limit, 0, &page,
                            err, sizeof(err)) != 0)
    {
        return ngx_http_cart_spree_invalid(r, err);
    }

    list->page = page;
    list->offset = (page.page.value - 1 > INT64_MAX / page.limit)
                   ? INT64_MAX
                   : page.limit * (page.page.value - 1);

    /* updated_at, newest first, unless sort says otherwise */
    list->order.by = CART_SPREE_BY_UPDATED;
    list->order.descending = 1;

    if (list->query.sort.data) {
        (void) cart_spree_sort(list->query.sort.data, list->query.sort.len,
                               &list->order);
    }

    cart_spree_fields(&list->query.fields, &list->query.expand,
                      &list->fields);

    list->user_id = ngx_atoof(ctx->customer_id.data, ctx->customer_id.len);
    list->user_len = cart_spree_user_key((char *) conf->spree_store.data,
                                         conf->spree_store.len,
                                         list->user_id, list->user);
    list->user[list->user_len] = CART_SPREE_INCOMPLETE;

    if (ngx_array_init(&list->items, r->pool, (ngx_uint_t) page.limit,
                       sizeof(ngx_http_cart_spree_item_t)) != NGX_OK)
    {
        error = NGX_HTTP_CART_ERR_INTERNAL;
        goto failed;
    }

    if (ngx_http_cart_store_read(r, ngx_http_cart_spree_read_list, list)
        != NGX_OK)
    {
        error = NGX_HTTP_CART_ERR_STORE_UNAVAILABLE;
        goto failed;
    }

    return ngx_http_cart_send_route(r, conf, &list->body, list->etag);

failed:

    return ngx_http_cart_send_route_error(r, conf, error);
}
