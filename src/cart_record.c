#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart_hash.h"
#include "cart_money.h"
#include "cart_record.h"
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


static int
cart_domain_record(json_t *line, cart_record_t *rec, char *err,
    size_t err_len)
{
    size_t               v1_len, name_len, platform_len, symbol_len;
    char                *v1;
    json_t              *v;
    unsigned char       *p;
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

    name_len = strlen(info.display_name);
    platform_len = strlen(info.platform_id);
    symbol_len = strlen(symbol);

    memset(&hdr, 0, sizeof(cart_domain_rec_t));
    hdr.magic = CART_DOMAIN_MAGIC;
    hdr.flags = json_is_true(json_object_get(line, "available"))
                ? CART_DOMAIN_AVAILABLE : 0;
    memcpy(hdr.currency, currency, 4);
    hdr.display_name_len = (uint32_t) name_len;
    hdr.platform_id_len = (uint32_t) platform_len;
    hdr.symbol_len = (uint32_t) symbol_len;
    hdr.v1_empty_len = (uint32_t) v1_len;
    hdr.v1_empty_etag = cart_hash(v1, v1_len);

    rec->value_len = sizeof(hdr) + name_len + platform_len + symbol_len
                     + v1_len;
    rec->value = malloc(rec->value_len);
    if (rec->value == NULL) {
        free(v1);
        return cart_fail(err, err_len, "domain", "out of memory");
    }

    p = cart_append(rec->value, &hdr, sizeof(hdr));
    p = cart_append(p, info.display_name, name_len);
    p = cart_append(p, info.platform_id, platform_len);
    p = cart_append(p, symbol, symbol_len);
    cart_append(p, v1, v1_len);

    free(v1);

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


static int
cart_cart_record(json_t *line, cart_record_t *rec, char *err,
    size_t err_len)
{
    unsigned char    *p;
    cart_views_t      views;
    cart_cart_rec_t   hdr;

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
    hdr.magic = CART_CART_MAGIC;

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
    hdr.v1_etag = cart_hash(views.v1, views.v1_len);
    hdr.v2_len = (uint32_t) views.v2_len;
    hdr.v1_len = (uint32_t) views.v1_len;

    rec->value_len = sizeof(hdr) + views.v2_len + views.v1_len;
    rec->value = malloc(rec->value_len);
    if (rec->value == NULL) {
        cart_views_free(&views);
        return cart_fail(err, err_len, "cart", "out of memory");
    }

    p = cart_append(rec->value, &hdr, sizeof(hdr));
    p = cart_append(p, views.v2, views.v2_len);
    cart_append(p, views.v1, views.v1_len);

    cart_views_free(&views);

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
                         "must be \"domain\", \"device\" or \"cart\"");
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
    json_t           *cart;
    const char       *nul;
    cart_cart_rec_t   c;

    nul = memchr(key, '\0', key_len);

    if (nul == NULL || cart_cart_rec_read(value, value_len, &c) != 0) {
        return NULL;
    }

    cart = json_loadb((const char *) value + sizeof(c), c.v2_len, 0, NULL);
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


static int
cart_cart_view(const void *value, size_t value_len, int v1,
    const char **view, size_t *view_len)
{
    cart_cart_rec_t  c;

    if (cart_cart_rec_read(value, value_len, &c) != 0) {
        return -1;
    }

    *view = (const char *) value + sizeof(c) + (v1 ? c.v2_len : 0);
    *view_len = v1 ? c.v1_len : c.v2_len;

    return 0;
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


static int
cart_domain_owns(const void *key, size_t key_len)
{
    return 1;
}


const cart_kind_t  cart_kinds[] = {

    { "domain", CART_DB_DOMAINS, 0, cart_domain_record, 1,
      cart_domain_args, cart_domain_owns, cart_domain_json, NULL },

    /* a device's carts go with it: the keys "device id" NUL ... */
    { "device", CART_DB_CARTS, 1, cart_device_record, 1, cart_device_args,
      cart_device_owns, cart_device_json, NULL },

    { "cart", CART_DB_CARTS, 0, cart_cart_record, 2, cart_cart_args,
      cart_cart_owns, cart_cart_json, cart_cart_view },

    { NULL, 0, 0, NULL, 0, NULL, NULL, NULL, NULL }
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
