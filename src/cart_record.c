#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart_gzip.h"
#include "cart_hash.h"
#include "cart_money.h"
#include "cart_record.h"
#include "cart_spree.h"
#include "cart_time.h"
#include "cart_view.h"


static int
cart_fail(char *err, size_t err_len, const char *field, const char *reason)
{
    snprintf(err, err_len, "%s: %s", field, reason);
    return -1;
}


/* every member must be one that the kind knows */
static int
cart_known_fields(json_t *line, const char **fields, char *err,
    size_t err_len)
{
    const char   *key, **f;
    json_t       *v;

    json_object_foreach(line, key, v) {
        for (f = fields; *f; f++) {
            if (strcmp(*f, key) == 0) {
                break;
            }
        }

        if (*f == NULL) {
            return cart_fail(err, err_len, key, "unknown field");
        }
    }

    return 0;
}


static const char *
cart_string_field(json_t *line, const char *key, char *err, size_t err_len)
{
    json_t  *v;

    v = json_object_get(line, key);

    if (v == NULL) {
        cart_fail(err, err_len, key, "required");
        return NULL;
    }

    if (!json_is_string(v)) {
        cart_fail(err, err_len, key, "must be a string");
        return NULL;
    }

    return json_string_value(v);
}


static int
cart_time_field(json_t *line, const char *key, int64_t *ms, char *err,
    size_t err_len)
{
    const char  *s;

    s = cart_string_field(line, key, err, err_len);
    if (s == NULL) {
        return -1;
    }

    if (cart_time_parse(s, ms) != 0) {
        return cart_fail(err, err_len, key,
                         "not an RFC 3339 timestamp "
                         "(like 2026-12-31T00:00:00Z)");
    }

    return 0;
}


static int
cart_domain_field(json_t *line, cart_record_t *rec, char *err,
    size_t err_len)
{
    const char  *s;

    s = cart_string_field(line, "domain", err, err_len);
    if (s == NULL) {
        return -1;
    }

    rec->domain_len = cart_domain_key(s, strlen(s), rec->domain);
    if (rec->domain_len == 0) {
        return cart_fail(err, err_len, "domain",
                         "not a domain name (letters, digits, '-', '_', "
                         "'.'; at most 253)");
    }

    rec->domain[rec->domain_len] = '\0';

    return 0;
}


static int
cart_device_field(json_t *line, cart_record_t *rec, char *err,
    size_t err_len)
{
    const char  *s;

    s = cart_string_field(line, "device_id", err, err_len);
    if (s == NULL) {
        return -1;
    }

    rec->device_id_len = strlen(s);
    if (!cart_device_id_valid(s, rec->device_id_len)) {
        return cart_fail(err, err_len, "device_id",
                         "must be 1 to 256 of A-Z, a-z, 0-9, '-', '_'");
    }

    memcpy(rec->device_id, s, rec->device_id_len + 1);

    return 0;
}


static void
cart_need(cart_record_t *rec, cart_db_e db, const void *key, size_t len,
    size_t name_len, const char *missing)
{
    cart_need_t  *need;

    need = &rec->needs[rec->nneeds++];
    need->db = db;
    memcpy(need->key, key, len);
    need->key_len = len;
    need->name_len = name_len;
    need->missing = missing;
}


static unsigned char *
cart_append(unsigned char *p, const void *data, size_t len)
{
    memcpy(p, data, len);
    return p + len;
}


/* the views of records made from now on: deflated, or plain kept too */
static int  cart_plain_kept;


void
cart_record_keep_plain(int keep)
{
    cart_plain_kept = keep;
}


/*
 * A rendered view as its record holds it: deflated, and its plain bytes
 * after where they are kept; cart_deflated_size(d) bytes, malloc()ed.
 * NULL with err set.
 */
static unsigned char *
cart_stored_view(const char *view, size_t len, cart_deflated_t *d,
    const char *field, char *err, size_t err_len)
{
    unsigned char  *piece, *stored;

    piece = cart_gzip_deflate(view, len, d);

    if (piece == NULL) {
        cart_fail(err, err_len, field, len > CART_VIEW_MAX_LEN
                                       ? "the cart is too large"
                                       : "out of memory");
        return NULL;
    }

    if (!cart_plain_kept) {
        return piece;
    }

    stored = realloc(piece, d->len + len);
    if (stored == NULL) {
        free(piece);
        cart_fail(err, err_len, field, "out of memory");
        return NULL;
    }

    memcpy(stored + d->len, view, len);
    d->flags |= CART_DEFLATED_PLAIN;

    return stored;
}


static int
cart_domain_record(json_t *line, cart_record_t *rec, char *err,
    size_t err_len)
{
    size_t               v1_len, name_len, platform_len, symbol_len;
    char                *v1;
    json_t              *v;
    unsigned char       *p, *piece;
    const char          *currency, *symbol;
    cart_domain_rec_t    hdr;
    cart_domain_info_t   info;

    static const char  *fields[] = {
        "kind", "deleted", "domain", "display_name", "platform_id",
        "available", "currency", "currency_symbol", NULL
    };

    if (cart_known_fields(line, fields, err, err_len) != 0
        || cart_domain_field(line, rec, err, err_len) != 0)
    {
        return -1;
    }

    memcpy(rec->key, rec->domain, rec->domain_len);
    rec->key_len = rec->domain_len;

    if (rec->deleted) {
        return 0;
    }

    info.domain = rec->domain;
    info.display_name = cart_string_field(line, "display_name", err, err_len);
    if (info.display_name == NULL) {
        return -1;
    }

    info.platform_id = cart_string_field(line, "platform_id", err, err_len);
    if (info.platform_id == NULL) {
        return -1;
    }

    v = json_object_get(line, "available");
    if (!json_is_boolean(v)) {
        return cart_fail(err, err_len, "available",
                         v ? "must be a boolean" : "required");
    }

    v = json_object_get(line, "currency");
    currency = v ? json_string_value(v) : "USD";
    if (currency == NULL || cart_currency_exponent(currency) < 0) {
        return cart_fail(err, err_len, "currency",
                         "not an ISO 4217 currency code");
    }

    v = json_object_get(line, "currency_symbol");
    symbol = v ? json_string_value(v)
               : (strcmp(currency, "USD") == 0 ? "$" : currency);
    if (symbol == NULL) {
        return cart_fail(err, err_len, "currency_symbol", "must be a string");
    }

    info.currency = currency;
    info.symbol = symbol;

    v1 = cart_view_v1_empty(&info, &v1_len);
    if (v1 == NULL) {
        return cart_fail(err, err_len, "domain", "out of memory");
    }

    memset(&hdr, 0, sizeof(cart_domain_rec_t));

    piece = cart_stored_view(v1, v1_len, &hdr.v1_empty, "domain", err,
                             err_len);
    if (piece == NULL) {
        free(v1);
        return -1;
    }

    name_len = strlen(info.display_name);
    platform_len = strlen(info.platform_id);
    symbol_len = strlen(symbol);

    hdr.magic = CART_DOMAIN_MAGIC;
    hdr.flags = json_is_true(json_object_get(line, "available"))
                ? CART_DOMAIN_AVAILABLE : 0;
    memcpy(hdr.currency, currency, 4);
    hdr.display_name_len = (uint32_t) name_len;
    hdr.platform_id_len = (uint32_t) platform_len;
    hdr.symbol_len = (uint32_t) symbol_len;
    hdr.v1_empty_etag = cart_hash(v1, v1_len);
    free(v1);

    rec->value_len = sizeof(hdr) + name_len + platform_len + symbol_len
                     + cart_deflated_size(&hdr.v1_empty);
    rec->value = malloc(rec->value_len);
    if (rec->value == NULL) {
        free(piece);
        return cart_fail(err, err_len, "domain", "out of memory");
    }

    p = cart_append(rec->value, &hdr, sizeof(hdr));
    p = cart_append(p, info.display_name, name_len);
    p = cart_append(p, info.platform_id, platform_len);
    p = cart_append(p, symbol, symbol_len);
    cart_append(p, piece, cart_deflated_size(&hdr.v1_empty));

    free(piece);

    return 0;
}


static int
cart_device_record(json_t *line, cart_record_t *rec, char *err,
    size_t err_len)
{
    cart_device_rec_t  hdr;

    static const char  *fields[] = {
        "kind", "deleted", "device_id", "expires_at", NULL
    };

    if (cart_known_fields(line, fields, err, err_len) != 0
        || cart_device_field(line, rec, err, err_len) != 0)
    {
        return -1;
    }

    rec->key_len = cart_cart_key(rec->device_id, rec->device_id_len, "", 0,
                                 rec->key);

    if (rec->deleted) {
        return 0;
    }

    memset(&hdr, 0, sizeof(cart_device_rec_t));
    hdr.magic = CART_DEVICE_MAGIC;

    if (cart_time_field(line, "expires_at", &hdr.expires_at_ms, err, err_len)
        != 0)
    {
        return -1;
    }

    rec->value = malloc(sizeof(hdr));
    if (rec->value == NULL) {
        return cart_fail(err, err_len, "device", "out of memory");
    }

    memcpy(rec->value, &hdr, sizeof(hdr));
    rec->value_len = sizeof(hdr);

    return 0;
}


/*
 * A cart: its record in "carts" (the V2 view) and, as its entry in
 * "carts_v1" under the same key, its V1 view; one allocation holds both.
 */
static int
cart_cart_record(json_t *line, cart_record_t *rec, char *err,
    size_t err_len)
{
    size_t               v2_len, v1_len;
    unsigned char       *p, *v2, *v1;
    cart_views_t         views;
    cart_cart_rec_t      hdr;
    cart_cart_v1_rec_t   v1_hdr;

    static const char  *fields[] = {
        "kind", "deleted", "device_id", "domain", "expires_at", "updated_at",
        "cart", NULL
    };

    if (cart_known_fields(line, fields, err, err_len) != 0
        || cart_device_field(line, rec, err, err_len) != 0
        || cart_domain_field(line, rec, err, err_len) != 0)
    {
        return -1;
    }

    rec->key_len = cart_cart_key(rec->device_id, rec->device_id_len,
                                 rec->domain, rec->domain_len, rec->key);

    if (rec->deleted) {
        return 0;
    }

    /* its domain, and its device's session: the device id and a NUL */
    cart_need(rec, CART_DB_DOMAINS, rec->domain, rec->domain_len,
              rec->domain_len, "domain: unknown domain \"%.*s\" (import "
              "its domain record first)");
    cart_need(rec, CART_DB_CARTS, rec->device_id, rec->device_id_len + 1,
              rec->device_id_len, "device_id: unknown device \"%.*s\" "
              "(import its device record first)");

    memset(&hdr, 0, sizeof(cart_cart_rec_t));
    memset(&v1_hdr, 0, sizeof(cart_cart_v1_rec_t));
    hdr.magic = CART_CART_MAGIC;
    v1_hdr.magic = CART_CART_V1_MAGIC;

    if (cart_time_field(line, "expires_at", &hdr.expires_at_ms, err, err_len)
        != 0
        || cart_time_field(line, "updated_at", &hdr.updated_at_ms, err,
                           err_len) != 0)
    {
        return -1;
    }

    if (json_object_get(line, "cart") == NULL) {
        return cart_fail(err, err_len, "cart", "required");
    }

    if (cart_views_render(json_object_get(line, "cart"), &views, err, err_len)
        != 0)
    {
        return -1;
    }

    hdr.line_items = views.line_items;
    hdr.v2_etag = cart_hash(views.v2, views.v2_len);
    v1_hdr.expires_at_ms = hdr.expires_at_ms;
    v1_hdr.v1_etag = cart_hash(views.v1, views.v1_len);

    v2 = cart_stored_view(views.v2, views.v2_len, &hdr.v2, "cart", err,
                          err_len);
    v1 = v2 ? cart_stored_view(views.v1, views.v1_len, &v1_hdr.v1, "cart",
                               err, err_len)
            : NULL;

    cart_views_free(&views);

    v2_len = sizeof(hdr) + cart_deflated_size(&hdr.v2);
    v1_len = sizeof(v1_hdr) + cart_deflated_size(&v1_hdr.v1);
    rec->value = v1 ? malloc(v2_len + v1_len) : NULL;

    if (rec->value == NULL) {
        free(v2);
        free(v1);
        return v1 ? cart_fail(err, err_len, "cart", "out of memory") : -1;
    }

    p = cart_append(rec->value, &hdr, sizeof(hdr));
    p = cart_append(p, v2, cart_deflated_size(&hdr.v2));
    p = cart_append(p, &v1_hdr, sizeof(v1_hdr));
    cart_append(p, v1, cart_deflated_size(&v1_hdr.v1));

    free(v2);
    free(v1);

    rec->value_len = v2_len;

    rec->index[0].db = CART_DB_CARTS_V1;
    rec->index[0].key = rec->key;
    rec->index[0].key_len = rec->key_len;
    rec->index[0].value = rec->value + v2_len;
    rec->index[0].value_len = v1_len;
    rec->nindex = 1;

    return 0;
}


/* Spree records: a store's publishable keys and carts */

static const char *
cart_spree_store_field(json_t *line, size_t *len, char *err, size_t err_len)
{
    const char  *s;

    s = cart_string_field(line, "store", err, err_len);
    if (s == NULL) {
        return NULL;
    }

    *len = strlen(s);

    if (!cart_spree_store_valid(s, *len)) {
        cart_fail(err, err_len, "store",
                  "must be 1 to 64 of a-z, 0-9, '_', '-'");
        return NULL;
    }

    return s;
}


/* "pk_...": 4 to 128 of [A-Za-z0-9_-] */
static int
cart_spree_token_valid(const char *s, size_t len)
{
    return len >= 4 && len <= CART_SPREE_TOKEN_MAX_LEN
           && strncmp(s, "pk_", 3) == 0
           && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789_-") == len;
}


static int
cart_api_key_record(json_t *line, cart_record_t *rec, char *err,
    size_t err_len)
{
    size_t                 store_len, len;
    json_t                *v;
    const char            *store, *token;
    cart_spree_key_rec_t   hdr;

    static const char  *fields[] = {
        "kind", "deleted", "store", "token", "revoked", NULL
    };

    if (cart_known_fields(line, fields, err, err_len) != 0) {
        return -1;
    }

    store = cart_spree_store_field(line, &store_len, err, err_len);
    if (store == NULL) {
        return -1;
    }

    token = cart_string_field(line, "token", err, err_len);
    if (token == NULL) {
        return -1;
    }

    len = strlen(token);

    if (!cart_spree_token_valid(token, len)) {
        return cart_fail(err, err_len, "token", "a publishable key: \"pk_\" "
                         "and up to 125 of A-Z, a-z, 0-9, '_', '-'");
    }

    rec->key_len = cart_spree_named_key(store, store_len, token, len,
                                        rec->key);

    if (rec->deleted) {
        return 0;
    }

    v = json_object_get(line, "revoked");
    if (v && !json_is_boolean(v)) {
        return cart_fail(err, err_len, "revoked", "must be a boolean");
    }

    hdr.magic = CART_SPREE_KEY_MAGIC;
    hdr.flags = json_is_true(v) ? CART_SPREE_KEY_REVOKED : 0;

    rec->value = malloc(sizeof(hdr));
    if (rec->value == NULL) {
        return cart_fail(err, err_len, "api_key", "out of memory");
    }

    memcpy(rec->value, &hdr, sizeof(hdr));
    rec->value_len = sizeof(hdr);

    return 0;
}


/* an RFC 3339 timestamp to the microsecond; null too, when may_be_null */
static int
cart_spree_time_field(json_t *line, const char *key, int may_be_null,
    int64_t *us, char *err, size_t err_len)
{
    json_t  *v;

    v = json_object_get(line, key);
    *us = 0;

    if (v == NULL || json_is_null(v)) {
        return may_be_null ? 0 : cart_fail(err, err_len, key, "required");
    }

    if (!json_is_string(v)
        || cart_time_parse_us(json_string_value(v), json_string_length(v), 0,
                              us) != 0)
    {
        return cart_fail(err, err_len, key,
                         "not an RFC 3339 timestamp "
                         "(like 2026-12-31T00:00:00.123456Z)");
    }

    return 0;
}


static int
cart_spree_cart_record(json_t *line, cart_record_t *rec, char *err,
    size_t err_len)
{
    size_t              store_len, id_len;
    json_t             *v, *cart;
    uint64_t            user;
    const char         *store, *id;
    unsigned char      *p, *json;
    cart_spree_loc_t    loc;
    cart_spree_rec_t    hdr;
    cart_spree_view_t   view;

    static const char  *fields[] = {
        "kind", "deleted", "store", "id", "user_id", "created_at",
        "updated_at", "completed_at", "cart", NULL
    };

    if (cart_known_fields(line, fields, err, err_len) != 0) {
        return -1;
    }

    store = cart_spree_store_field(line, &store_len, err, err_len);
    if (store == NULL) {
        return -1;
    }

    if (rec->deleted) {
        /* found by its id: {"kind":"spree_cart",...,"id":...,"deleted"} */
        id = cart_string_field(line, "id", err, err_len);
        if (id == NULL) {
            return -1;
        }

        id_len = strlen(id);

        if (id_len == 0 || id_len > CART_SPREE_ID_MAX_LEN) {
            return cart_fail(err, err_len, "id",
                             "must be a string of 1 to 64 bytes");
        }

        rec->id_key_len = cart_spree_named_key(store, store_len, id, id_len,
                                               rec->id_key);
        return 0;
    }

    if (json_object_get(line, "id")) {
        return cart_fail(err, err_len, "id", "only with \"deleted\": the "
                         "cart's id is cart.id");
    }

    memset(&hdr, 0, sizeof(cart_spree_rec_t));
    hdr.magic = CART_SPREE_MAGIC;

    v = json_object_get(line, "user_id");

    if (v == NULL) {
        return cart_fail(err, err_len, "user_id", "required (null: a guest)");
    }

    if (!json_is_null(v)
        && (!json_is_integer(v) || json_integer_value(v) <= 0))
    {
        return cart_fail(err, err_len, "user_id",
                         "must be a positive integer, or null for a guest");
    }

    user = json_is_null(v) ? 0 : (uint64_t) json_integer_value(v);
    hdr.user_id = user;

    if (cart_spree_time_field(line, "created_at", 0, &hdr.created_at_us, err,
                              err_len) != 0
        || cart_spree_time_field(line, "updated_at", 0, &hdr.updated_at_us,
                                 err, err_len) != 0
        || cart_spree_time_field(line, "completed_at", 1,
                                 &hdr.completed_at_us, err, err_len) != 0)
    {
        return -1;
    }

    v = json_object_get(line, "completed_at");
    loc.state = (v && !json_is_null(v)) ? CART_SPREE_COMPLETED
                                        : CART_SPREE_INCOMPLETE;

    cart = json_object_get(line, "cart");
    if (cart == NULL) {
        return cart_fail(err, err_len, "cart", "required");
    }

    if (cart_spree_render(cart, &view, err, err_len) != 0) {
        return -1;
    }

    id = json_string_value(json_object_get(cart, "id"));
    id_len = strlen(id);

    hdr.members = view.nmembers;
    hdr.etag = cart_hash(view.json, view.json_len);

    json = cart_stored_view(view.json, view.json_len, &hdr.json, "cart",
                            err, err_len);

    rec->value_len = sizeof(hdr) + cart_deflated_size(&hdr.json)
                     + view.nmembers * sizeof(cart_spree_member_t);
    rec->value = json ? malloc(rec->value_len) : NULL;

    if (rec->value == NULL) {
        cart_spree_view_free(&view);
        free(json);
        return json ? cart_fail(err, err_len, "cart", "out of memory") : -1;
    }

    p = cart_append(rec->value, &hdr, sizeof(hdr));
    p = cart_append(p, json, cart_deflated_size(&hdr.json));
    cart_append(p, view.members,
                view.nmembers * sizeof(cart_spree_member_t));

    cart_spree_view_free(&view);
    free(json);

    rec->key_len = cart_spree_cart_key(store, store_len, user, loc.state,
                                       hdr.updated_at_us, id, id_len,
                                       rec->key);
    rec->id_key_len = cart_spree_named_key(store, store_len, id, id_len,
                                           rec->id_key);

    /* where it is, by its id */
    loc.magic = CART_SPREE_LOC_MAGIC;
    loc.user_id = user;
    loc.created_at_us = hdr.created_at_us;
    loc.updated_at_us = hdr.updated_at_us;

    p = rec->index_buf;
    memcpy(p, &loc, sizeof(loc));

    rec->index[0].db = CART_DB_SPREE_IDS;
    rec->index[0].key = rec->id_key;
    rec->index[0].key_len = rec->id_key_len;
    rec->index[0].value = p;
    rec->index[0].value_len = sizeof(loc);
    rec->nindex = 1;

    /* an incomplete cart in created_at order too, counted there */
    if (loc.state == CART_SPREE_INCOMPLETE) {
        p += sizeof(loc);
        rec->index[1].db = CART_DB_SPREE_CREATED;
        rec->index[1].key = p;
        rec->index[1].key_len = cart_spree_user_key(store, store_len, user,
                                                    p);
        p += rec->index[1].key_len;
        rec->index[1].value = p;
        rec->index[1].value_len = cart_spree_created_value(hdr.created_at_us,
                                                           id, id_len,
                                                           hdr.updated_at_us,
                                                           p);
        rec->nindex = 2;
    }

    return 0;
}


int
cart_record_from_json(json_t *line, cart_record_t *rec, char *err,
    size_t err_len)
{
    json_t      *v;
    const char  *kind;

    memset(rec, 0, sizeof(cart_record_t));

    if (!json_is_object(line)) {
        return cart_fail(err, err_len, "record", "must be a JSON object");
    }

    kind = cart_string_field(line, "kind", err, err_len);
    if (kind == NULL) {
        return -1;
    }

    rec->kind = cart_kind(kind);

    if (rec->kind == NULL) {
        return cart_fail(err, err_len, "kind",
                         "must be \"domain\", \"device\", \"cart\", "
                         "\"api_key\" or \"spree_cart\"");
    }

    v = json_object_get(line, "deleted");
    if (v && !json_is_boolean(v)) {
        return cart_fail(err, err_len, "deleted", "must be a boolean");
    }

    rec->deleted = json_is_true(v);

    return rec->kind->parse(line, rec, err, err_len);
}


void
cart_record_free(cart_record_t *rec)
{
    free(rec->value);
    rec->value = NULL;
}


static json_t *
cart_time_json(int64_t ms)
{
    char  buf[CART_TIME_LEN];

    cart_time_format(ms, buf);

    return json_string(buf);
}


static json_t *
cart_domain_json(const void *key, size_t key_len, const void *value,
    size_t value_len)
{
    const char         *p;
    cart_domain_rec_t   dom;

    if (cart_domain_rec_read(value, value_len, &dom) != 0) {
        return NULL;
    }

    p = (const char *) value + sizeof(dom);

    return json_pack("{s:s, s:s%, s:s%, s:s%, s:b, s:s, s:s%}",
                     "kind", "domain",
                     "domain", key, key_len,
                     "display_name", p, (size_t) dom.display_name_len,
                     "platform_id", p + dom.display_name_len,
                     (size_t) dom.platform_id_len,
                     "available", (dom.flags & CART_DOMAIN_AVAILABLE) != 0,
                     "currency", dom.currency,
                     "currency_symbol",
                     p + dom.display_name_len + dom.platform_id_len,
                     (size_t) dom.symbol_len);
}


/*
 * A stored view, plain: its kept bytes, or inflated; malloc()ed,
 * NUL-terminated; NULL if corrupt
 */
static char *
cart_inflate_view(const void *piece, const cart_deflated_t *d)
{
    char                 *view;
    const unsigned char  *plain;

    view = malloc((size_t) d->plain_len + 1);
    plain = view ? cart_gzip_plain(piece, d, (unsigned char *) view) : NULL;

    if (plain == NULL) {
        free(view);
        return NULL;
    }

    if (plain != (unsigned char *) view) {
        memcpy(view, plain, d->plain_len);
    }

    view[d->plain_len] = '\0';

    return view;
}


static json_t *
cart_device_json(const void *key, size_t key_len, const void *value,
    size_t value_len)
{
    cart_device_rec_t  dev;

    /* the key is the device id and a NUL */
    if (key_len < 2 || cart_device_rec_read(value, value_len, &dev) != 0) {
        return NULL;
    }

    return json_pack("{s:s, s:s%, s:o}", "kind", "device",
                     "device_id", key, key_len - 1,
                     "expires_at", cart_time_json(dev.expires_at_ms));
}


static json_t *
cart_cart_json(const void *key, size_t key_len, const void *value,
    size_t value_len)
{
    char             *v2;
    json_t           *cart;
    const char       *nul;
    cart_cart_rec_t   c;

    nul = memchr(key, '\0', key_len);

    if (nul == NULL || cart_cart_rec_read(value, value_len, &c) != 0) {
        return NULL;
    }

    v2 = cart_inflate_view((const char *) value + sizeof(c), &c.v2);
    if (v2 == NULL) {
        return NULL;
    }

    cart = json_loadb(v2, c.v2.plain_len, 0, NULL);
    free(v2);

    if (cart == NULL) {
        return NULL;
    }

    return json_pack("{s:s, s:s%, s:s%, s:o, s:o, s:o}", "kind", "cart",
                     "device_id", key, (size_t) (nul - (const char *) key),
                     "domain", nul + 1,
                     key_len - (size_t) (nul + 1 - (const char *) key),
                     "expires_at", cart_time_json(c.expires_at_ms),
                     "updated_at", cart_time_json(c.updated_at_ms),
                     "cart", cart);
}


/* a cart's view: V2 of its record in "carts", V1 of its "carts_v1" one */
static int
cart_cart_view(const void *value, size_t value_len, int v1, char **view,
    size_t *view_len)
{
    size_t              header;
    cart_deflated_t     d;
    cart_cart_rec_t     c;
    cart_cart_v1_rec_t  c1;

    if (v1 ? cart_cart_v1_rec_read(value, value_len, &c1)
           : cart_cart_rec_read(value, value_len, &c))
    {
        return -1;
    }

    header = v1 ? sizeof(c1) : sizeof(c);
    d = v1 ? c1.v1 : c.v2;

    *view = cart_inflate_view((const char *) value + header, &d);
    *view_len = d.plain_len;

    return *view ? 0 : -1;
}


static json_t *
cart_api_key_json(const void *key, size_t key_len, const void *value,
    size_t value_len)
{
    const char            *nul;
    cart_spree_key_rec_t   rec;

    nul = memchr(key, '\0', key_len);

    if (nul == NULL || cart_spree_key_rec_read(value, value_len, &rec) != 0) {
        return NULL;
    }

    return json_pack("{s:s, s:s%, s:s%, s:b}", "kind", "api_key",
                     "store", key, (size_t) (nul - (const char *) key),
                     "token", nul + 1,
                     key_len - (size_t) (nul + 1 - (const char *) key),
                     "revoked", (rec.flags & CART_SPREE_KEY_REVOKED) != 0);
}


static json_t *
cart_spree_time_json(int64_t us)
{
    char  buf[CART_TIME_LEN];

    cart_time_format_us(us, buf);

    return json_string(buf);
}


/* store, NUL, be64 user, state, be64 updated_at, id */
static json_t *
cart_spree_cart_json(const void *key, size_t key_len, const void *value,
    size_t value_len)
{
    char               *json;
    size_t              store_len;
    json_t             *cart;
    const char         *nul;
    cart_spree_rec_t    rec;

    nul = memchr(key, '\0', key_len);

    if (nul == NULL || cart_spree_rec_read(value, value_len, &rec) != 0) {
        return NULL;
    }

    store_len = (size_t) (nul - (const char *) key);

    if (key_len <= store_len + 1 + 8 + 1 + 8) {
        return NULL;
    }

    json = cart_inflate_view((const char *) value + sizeof(rec), &rec.json);
    if (json == NULL) {
        return NULL;
    }

    cart = json_loadb(json, rec.json.plain_len, 0, NULL);
    free(json);

    if (cart == NULL) {
        return NULL;
    }

    return json_pack("{s:s, s:s%, s:o, s:o, s:o, s:o, s:o}",
                     "kind", "spree_cart", "store", key, store_len,
                     "user_id", rec.user_id ? json_integer((json_int_t)
                                                           rec.user_id)
                                            : json_null(),
                     "created_at", cart_spree_time_json(rec.created_at_us),
                     "updated_at", cart_spree_time_json(rec.updated_at_us),
                     "completed_at", rec.completed_at_us
                                     ? cart_spree_time_json(
                                           rec.completed_at_us)
                                     : json_null(),
                     "cart", cart);
}


static int
cart_spree_cart_view(const void *value, size_t value_len, int alt,
    char **view, size_t *view_len)
{
    cart_spree_rec_t  rec;

    if (alt || cart_spree_rec_read(value, value_len, &rec) != 0) {
        return -1;
    }

    *view = cart_inflate_view((const char *) value + sizeof(rec), &rec.json);
    *view_len = rec.json.plain_len;

    return *view ? 0 : -1;
}


/* where a Spree cart is, from its id's key and the value at it */
static size_t
cart_spree_cart_stored(const void *id_key, size_t id_key_len,
    const void *where, size_t where_len, cart_entry_t *entries,
    unsigned char *buf)
{
    size_t              store_len;
    const char         *nul, *id;
    cart_spree_loc_t    loc;

    nul = memchr(id_key, '\0', id_key_len);

    if (nul == NULL || cart_spree_loc_read(where, where_len, &loc) != 0) {
        return 0;
    }

    store_len = (size_t) (nul - (const char *) id_key);
    id = nul + 1;

    entries[0].db = CART_DB_SPREE_CARTS;
    entries[0].key = buf;
    entries[0].key_len = cart_spree_cart_key(id_key, store_len, loc.user_id,
                                             loc.state, loc.updated_at_us,
                                             id, id_key_len - store_len - 1,
                                             buf);
    entries[0].value = NULL;

    if (loc.state != CART_SPREE_INCOMPLETE) {
        return 1;
    }

    buf += CART_KEY_MAX;
    entries[1].db = CART_DB_SPREE_CREATED;
    entries[1].key = buf;
    entries[1].key_len = cart_spree_user_key(id_key, store_len, loc.user_id,
                                             buf);

    buf += CART_KEY_MAX;
    entries[1].value = buf;
    entries[1].value_len = cart_spree_created_value(loc.created_at_us, id,
                                                    id_key_len - store_len
                                                    - 1, loc.updated_at_us,
                                                    buf);

    return 2;
}


/* command-line arguments that name a record */

static size_t
cart_device_arg(const char *arg, char *err, size_t err_len)
{
    size_t  len;

    len = strlen(arg);

    if (!cart_device_id_valid(arg, len)) {
        snprintf(err, err_len, "not a device id: %s", arg);
        return 0;
    }

    return len;
}


static size_t
cart_domain_arg(const char *arg, char *domain, char *err, size_t err_len)
{
    size_t  len;

    len = cart_domain_key(arg, strlen(arg), domain);

    if (len == 0) {
        snprintf(err, err_len, "not a domain: %s", arg);
    }

    return len;
}


static size_t
cart_domain_args(char **args, unsigned char *key, char *err, size_t err_len)
{
    return cart_domain_arg(args[0], (char *) key, err, err_len);
}


static size_t
cart_device_args(char **args, unsigned char *key, char *err, size_t err_len)
{
    size_t  len;

    len = cart_device_arg(args[0], err, err_len);

    return len ? cart_cart_key(args[0], len, "", 0, key) : 0;
}


static size_t
cart_cart_args(char **args, unsigned char *key, char *err, size_t err_len)
{
    size_t  len, domain_len;
    char    domain[CART_DOMAIN_MAX_LEN];

    len = cart_device_arg(args[0], err, err_len);
    if (len == 0) {
        return 0;
    }

    domain_len = cart_domain_arg(args[1], domain, err, err_len);

    return domain_len ? cart_cart_key(args[0], len, domain, domain_len, key)
                      : 0;
}


/* in the carts database, a key that ends in NUL is a device session's */
/* "STORE NAME": a store's publishable key, or a Spree cart's id */
static size_t
cart_spree_args(char **args, unsigned char *key, char *err, size_t err_len)
{
    size_t  store_len, len;

    store_len = strlen(args[0]);
    len = strlen(args[1]);

    if (!cart_spree_store_valid(args[0], store_len)) {
        snprintf(err, err_len, "not a store name: %s", args[0]);
        return 0;
    }

    if (len == 0 || len > CART_SPREE_TOKEN_MAX_LEN) {
        snprintf(err, err_len, "not a key or cart id: %s", args[1]);
        return 0;
    }

    return cart_spree_named_key(args[0], store_len, args[1], len, key);
}


static int
cart_device_owns(const void *key, size_t key_len)
{
    return key_len && ((const char *) key)[key_len - 1] == '\0';
}


static int
cart_cart_owns(const void *key, size_t key_len)
{
    return !cart_device_owns(key, key_len);
}


/* a database of one kind */
static int
cart_all_owns(const void *key, size_t key_len)
{
    return 1;
}


const cart_kind_t  cart_kinds[] = {

    { "domain", CART_DB_DOMAINS, 0, CART_DB_NONE, cart_domain_record, 1,
      cart_domain_args, cart_all_owns, cart_domain_json, NULL,
      CART_DB_NONE, NULL },

    /* a device's carts go with it: the keys "device id" NUL ... */
    { "device", CART_DB_CARTS, 1, CART_DB_CARTS_V1, cart_device_record, 1,
      cart_device_args, cart_device_owns, cart_device_json, NULL,
      CART_DB_NONE, NULL },

    { "cart", CART_DB_CARTS, 0, CART_DB_CARTS_V1, cart_cart_record, 2,
      cart_cart_args, cart_cart_owns, cart_cart_json, cart_cart_view,
      CART_DB_NONE, NULL },

    { "api_key", CART_DB_SPREE_KEYS, 0, CART_DB_NONE, cart_api_key_record,
      2, cart_spree_args, cart_all_owns, cart_api_key_json, NULL,
      CART_DB_NONE, NULL },

    /* found by store and id, wherever its user and times put it */
    { "spree_cart", CART_DB_SPREE_CARTS, 0, CART_DB_NONE,
      cart_spree_cart_record, 2, cart_spree_args, cart_all_owns,
      cart_spree_cart_json, cart_spree_cart_view, CART_DB_SPREE_IDS,
      cart_spree_cart_stored },

    { NULL, 0, 0, CART_DB_NONE, NULL, 0, NULL, NULL, NULL, NULL,
      CART_DB_NONE, NULL }
};


const cart_kind_t *
cart_kind(const char *name)
{
    const cart_kind_t  *kind;

    for (kind = cart_kinds; kind->name; kind++) {
        if (strcmp(kind->name, name) == 0) {
            return kind;
        }
    }

    return NULL;
}


const cart_kind_t *
cart_kind_of(cart_db_e db, const void *key, size_t key_len)
{
    const cart_kind_t  *kind;

    for (kind = cart_kinds; kind->name; kind++) {
        if (kind->db == db && kind->owns(key, key_len)) {
            return kind;
        }
    }

    return NULL;
}
