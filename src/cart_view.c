#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart_json.h"
#include "cart_money.h"
#include "cart_view.h"


typedef struct {
    char          path[512];
    size_t        len;
    const char   *reason;
    cart_money_t  money;        /* the first amount: the cart's currency */
    int           has_money;
} cart_walk_t;

typedef enum {
    CART_OPTIONAL = 0,
    CART_REQUIRED
} cart_need_e;


static size_t
cart_walk_push(cart_walk_t *w, const char *fmt, ...)
{
    int      n;
    size_t   old = w->len;
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(w->path + w->len, sizeof(w->path) - w->len, fmt, args);
    va_end(args);

    if (n > 0) {
        w->len += (size_t) n;
        if (w->len >= sizeof(w->path)) {
            w->len = sizeof(w->path) - 1;
        }
    }

    return old;
}


static void
cart_walk_pop(cart_walk_t *w, size_t len)
{
    w->len = len;
    w->path[len] = '\0';
}


static int
cart_walk_fail(cart_walk_t *w, const char *key, const char *reason)
{
    if (key) {
        cart_walk_push(w, ".%s", key);
    }

    w->reason = reason;

    return -1;
}


/* returns the member, NULL when absent and optional, or fails */
static int
cart_member(cart_walk_t *w, json_t *obj, const char *key, cart_need_e need,
    json_t **member)
{
    *member = json_object_get(obj, key);

    if (*member == NULL || json_is_null(*member)) {
        *member = NULL;

        if (need == CART_REQUIRED) {
            return cart_walk_fail(w, key, "required");
        }
    }

    return 0;
}


static int
cart_string(cart_walk_t *w, json_t *obj, const char *key, cart_need_e need)
{
    json_t  *v;

    if (cart_member(w, obj, key, need, &v) != 0) {
        return -1;
    }

    if (v && !json_is_string(v)) {
        return cart_walk_fail(w, key, "must be a string");
    }

    if (v && need == CART_REQUIRED && json_string_length(v) == 0) {
        return cart_walk_fail(w, key, "must not be empty");
    }

    return 0;
}


static int
cart_strings(cart_walk_t *w, json_t *obj, const char **keys)
{
    for ( /* void */ ; *keys; keys++) {
        if (cart_string(w, obj, *keys, CART_OPTIONAL) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
cart_typed(cart_walk_t *w, json_t *obj, const char *key, cart_need_e need,
    json_type type, json_t **member)
{
    static const char  *reasons[] = {
        "must be an object", "must be an array", "must be a string",
        "must be an integer", "must be a number", "must be a boolean",
        "must be a boolean", "must be null"
    };

    if (cart_member(w, obj, key, need, member) != 0) {
        return -1;
    }

    if (*member == NULL || json_typeof(*member) == type
        || (type == JSON_TRUE && json_is_boolean(*member)))
    {
        return 0;
    }

    return cart_walk_fail(w, key, reasons[type]);
}


/* checks a money member and rewrites it in canonical V2 form */
static int
cart_money(cart_walk_t *w, json_t *obj, const char *key, cart_need_e need)
{
    size_t         mark;
    json_t        *v;
    const char    *field;
    cart_money_t   money;

    if (cart_member(w, obj, key, need, &v) != 0) {
        return -1;
    }

    if (v == NULL) {
        return 0;
    }

    mark = cart_walk_push(w, ".%s", key);

    if (cart_money_parse(v, &money, &field, &w->reason) != 0) {
        if (field) {
            cart_walk_push(w, ".%s", field);
        }

        return -1;
    }

    if (w->has_money && strcmp(w->money.currency, money.currency) != 0) {
        return cart_walk_fail(w, "currency",
                              "differs from the cart's other amounts");
    }

    cart_walk_pop(w, mark);

    if (cart_money_normalize(v, &money) != 0) {
        v = cart_money_json(&money, CART_MONEY_V2);
        if (v == NULL || json_object_set_new(obj, key, v) != 0) {
            return cart_walk_fail(w, NULL, "out of memory");
        }
    }

    if (!w->has_money) {
        /* the symbol of the canonical object: the old one is freed */
        w->money = money;
        w->money.symbol = json_string_value(json_object_get(v, "symbol"));
        w->has_money = 1;
    }

    return 0;
}


typedef int (*cart_item_pt)(cart_walk_t *w, json_t *item);


/* checks each element of an array member, which must be objects */
static int
cart_each(cart_walk_t *w, json_t *obj, const char *key, cart_need_e need,
    cart_item_pt check, size_t *count)
{
    size_t   i, mark;
    json_t  *array, *item;

    if (cart_typed(w, obj, key, need, JSON_ARRAY, &array) != 0) {
        return -1;
    }

    if (count) {
        *count = array ? json_array_size(array) : 0;
    }

    if (array == NULL) {
        return 0;
    }

    json_array_foreach(array, i, item) {
        mark = cart_walk_push(w, ".%s[%zu]", key, i);

        if (!json_is_object(item)) {
            return cart_walk_fail(w, NULL, "must be an object");
        }

        if (check && check(w, item) != 0) {
            return -1;
        }

        cart_walk_pop(w, mark);
    }

    return 0;
}


/* checks an object member with check() */
static int
cart_nested(cart_walk_t *w, json_t *obj, const char *key, cart_need_e need,
    cart_item_pt check)
{
    size_t   mark;
    json_t  *v;

    if (cart_typed(w, obj, key, need, JSON_OBJECT, &v) != 0) {
        return -1;
    }

    if (v == NULL) {
        return 0;
    }

    mark = cart_walk_push(w, ".%s", key);

    if (check(w, v) != 0) {
        return -1;
    }

    cart_walk_pop(w, mark);

    return 0;
}


static int
cart_check_image(cart_walk_t *w, json_t *image)
{
    static const char  *keys[] = { "src", "alt", NULL };

    return cart_strings(w, image, keys);
}


static int
cart_check_line_item(cart_walk_t *w, json_t *item)
{
    json_t  *v;

    static const char  *keys[] = {
        "platform_line_item_id", "sku", "variant_description", "description",
        "base_sku", NULL
    };

    if (cart_string(w, item, "line_item_id", CART_REQUIRED) != 0
        || cart_strings(w, item, keys) != 0
        || cart_typed(w, item, "quantity", CART_REQUIRED, JSON_INTEGER, &v)
           != 0)
    {
        return -1;
    }

    if (json_integer_value(v) < 1) {
        return cart_walk_fail(w, "quantity", "must be at least 1");
    }

    if (cart_money(w, item, "price", CART_REQUIRED) != 0
        || cart_money(w, item, "line_price", CART_REQUIRED) != 0
        || cart_money(w, item, "msrp", CART_OPTIONAL) != 0
        || cart_nested(w, item, "image", CART_OPTIONAL, cart_check_image) != 0
        || cart_typed(w, item, "requires_shipping", CART_OPTIONAL, JSON_TRUE,
                      &v) != 0)
    {
        return -1;
    }

    return 0;
}


static int
cart_check_described(cart_walk_t *w, json_t *obj)
{
    static const char  *keys[] = { "id", "name", "description", NULL };

    return cart_strings(w, obj, keys);
}


static int
cart_check_shipping_method(cart_walk_t *w, json_t *method)
{
    static const char  *keys[] = { "description", "estimated_delivery",
                                   NULL };

    if (cart_string(w, method, "id", CART_REQUIRED) != 0
        || cart_strings(w, method, keys) != 0
        || cart_money(w, method, "price", CART_REQUIRED) != 0)
    {
        return -1;
    }

    return 0;
}


static int
cart_check_shipment(cart_walk_t *w, json_t *shipment)
{
    size_t   i;
    json_t  *ids, *id;

    static const char  *keys[] = { "notes", "selected_date", NULL };

    if (cart_string(w, shipment, "shipment_id", CART_REQUIRED) != 0
        || cart_strings(w, shipment, keys) != 0
        || cart_typed(w, shipment, "line_item_ids", CART_OPTIONAL,
                      JSON_ARRAY, &ids) != 0)
    {
        return -1;
    }

    json_array_foreach(ids, i, id) {
        if (!json_is_string(id)) {
            cart_walk_push(w, ".line_item_ids[%zu]", i);
            return cart_walk_fail(w, NULL, "must be a string");
        }
    }

    if (cart_nested(w, shipment, "fulfillment_type", CART_OPTIONAL,
                    cart_check_described) != 0
        || cart_each(w, shipment, "fulfillment_type_options", CART_OPTIONAL,
                     cart_check_described, NULL) != 0
        || cart_each(w, shipment, "shipping_method_options", CART_OPTIONAL,
                     cart_check_shipping_method, NULL) != 0
        || cart_nested(w, shipment, "shipping_method", CART_OPTIONAL,
                       cart_check_shipping_method) != 0)
    {
        return -1;
    }

    return 0;
}


static int
cart_check_offer(cart_walk_t *w, json_t *offer)
{
    json_t  *v;

    if (cart_string(w, offer, "addon_id", CART_REQUIRED) != 0
        || cart_string(w, offer, "scope", CART_OPTIONAL) != 0
        || cart_typed(w, offer, "display", CART_OPTIONAL, JSON_OBJECT, &v)
           != 0
        || cart_money(w, offer, "price", CART_OPTIONAL) != 0)
    {
        return -1;
    }

    return 0;
}


static int
cart_check_addons(cart_walk_t *w, json_t *addons)
{
    json_t  *v;

    if (cart_each(w, addons, "offers", CART_OPTIONAL, cart_check_offer, NULL)
        != 0
        || cart_typed(w, addons, "selections", CART_OPTIONAL, JSON_ARRAY, &v)
           != 0)
    {
        return -1;
    }

    return 0;
}


static int
cart_check_shipping_info(cart_walk_t *w, json_t *info)
{
    static const char  *keys[] = {
        "first_name", "last_name", "email", "phone", "company",
        "address_line_1", "address_line_2", "city", "state_code", "zip",
        "country_code", NULL
    };

    return cart_strings(w, info, keys);
}


static int
cart_check_payment_method(cart_walk_t *w, json_t *method)
{
    if (cart_string(w, method, "type", CART_REQUIRED) != 0
        || cart_string(w, method, "wallet", CART_OPTIONAL) != 0)
    {
        return -1;
    }

    return 0;
}


static int
cart_check_notice_details(cart_walk_t *w, json_t *details)
{
    static const char  *keys[] = { "description", "promo_code", "reason",
                                   NULL };

    if (cart_strings(w, details, keys) != 0
        || cart_money(w, details, "old_value", CART_OPTIONAL) != 0
        || cart_money(w, details, "new_value", CART_OPTIONAL) != 0)
    {
        return -1;
    }

    return 0;
}


static int
cart_check_notice(cart_walk_t *w, json_t *notice)
{
    const char  *severity;

    if (cart_string(w, notice, "code", CART_REQUIRED) != 0
        || cart_string(w, notice, "severity", CART_OPTIONAL) != 0
        || cart_string(w, notice, "item_id", CART_OPTIONAL) != 0
        || cart_nested(w, notice, "details", CART_OPTIONAL,
                       cart_check_notice_details) != 0)
    {
        return -1;
    }

    severity = json_string_value(json_object_get(notice, "severity"));

    if (severity && strcmp(severity, "info") != 0
        && strcmp(severity, "warning") != 0 && strcmp(severity, "error") != 0)
    {
        return cart_walk_fail(w, "severity",
                              "must be \"info\", \"warning\" or \"error\"");
    }

    return 0;
}


static int
cart_check_v2(cart_walk_t *w, json_t *cart, size_t *line_items)
{
    static const char  *keys[] = {
        "platform_id", "shop_id", "display_name", "cart_status",
        "payment_handle", "schema_version", NULL
    };

    static const char  *totals[] = {
        "sub_total", "shipping_total", "tax_total", "addon_total", "total",
        "cart_discount", NULL
    };

    const char  **total;

    if (cart_string(w, cart, "cart_id", CART_REQUIRED) != 0
        || cart_strings(w, cart, keys) != 0
        || cart_each(w, cart, "line_items", CART_REQUIRED,
                     cart_check_line_item, line_items) != 0
        || cart_each(w, cart, "shipments", CART_OPTIONAL,
                     cart_check_shipment, NULL) != 0
        || cart_nested(w, cart, "addons", CART_OPTIONAL, cart_check_addons)
           != 0
        || cart_nested(w, cart, "shipping_info", CART_OPTIONAL,
                       cart_check_shipping_info) != 0
        || cart_each(w, cart, "payment_method_options", CART_OPTIONAL,
                     cart_check_payment_method, NULL) != 0
        || cart_each(w, cart, "notices", CART_OPTIONAL, cart_check_notice,
                     NULL) != 0)
    {
        return -1;
    }

    for (total = totals; *total; total++) {
        if (cart_money(w, cart, *total,
                       (strcmp(*total, "sub_total") == 0
                        || strcmp(*total, "total") == 0)
                       ? CART_REQUIRED : CART_OPTIONAL) != 0)
        {
            return -1;
        }
    }

    return 0;
}


/* a deep copy in which every money object is in V1 key order */
static json_t *
cart_v1_copy(json_t *v)
{
    size_t       i;
    json_t      *copy, *item;
    const char  *key;

    /* the V2 tree's money objects are canonical by now */
    copy = cart_money_v1(v);
    if (copy) {
        return copy;
    }

    if (json_is_object(v)) {
        copy = json_object();

        json_object_foreach(v, key, item) {
            json_object_set_new(copy, key, cart_v1_copy(item));
        }

        return copy;
    }

    if (json_is_array(v)) {
        copy = json_array();

        json_array_foreach(v, i, item) {
            json_array_append_new(copy, cart_v1_copy(item));
        }

        return copy;
    }

    /* leaves are shared with the V2 tree: both are only printed */
    return json_incref(v);
}


/* copies the members named in keys, in that order, when present */
static void
cart_v1_pick(json_t *to, json_t *from, const char **keys)
{
    json_t  *v;

    for ( /* void */ ; *keys; keys++) {
        v = json_object_get(from, *keys);
        if (v) {
            json_object_set_new(to, *keys, cart_v1_copy(v));
        }
    }
}


static json_t *
cart_v1_line_item(json_t *item)
{
    json_t  *v1, *src;

    static const char  *before[] = { "base_sku", "description", NULL };
    static const char  *after[] = {
        "line_item_id", "line_price", "msrp", "platform_line_item_id",
        "price", "quantity", "requires_shipping", "sku", NULL
    };

    v1 = json_object();

    cart_v1_pick(v1, item, before);

    src = json_object_get(json_object_get(item, "image"), "src");
    if (json_is_string(src)) {
        json_object_set_new(v1, "image", json_pack("{sO}", "url", src));
    }

    cart_v1_pick(v1, item, after);

    return v1;
}


/* a money member in V1 order, or zero in the cart's currency */
static json_t *
cart_v1_money(json_t *cart, const char *key, const cart_money_t *currency)
{
    json_t        *v;
    cart_money_t   zero;

    v = json_object_get(cart, key);
    if (v) {
        return cart_v1_copy(v);
    }

    zero = *currency;
    zero.number = 0;

    return cart_money_json(&zero, CART_MONEY_V1);
}


static json_t *
cart_v1_build(json_t *cart, const cart_money_t *currency)
{
    size_t   i;
    json_t  *v1, *items, *item, *shipment, *notices, *notice, *v;

    v1 = json_object();

    json_object_set_new(v1, "cart_discount",
                        cart_v1_money(cart, "cart_discount", currency));
    json_object_set(v1, "cart_id", json_object_get(cart, "cart_id"));

    v = json_object_get(cart, "cart_status");
    json_object_set_new(v1, "cart_status",
                        v ? json_incref(v) : json_string("active"));

    v = json_object_get(cart, "display_name");
    if (v) {
        json_object_set(v1, "display_name", v);
    }

    items = json_array();
    json_array_foreach(json_object_get(cart, "line_items"), i, item) {
        json_array_append_new(items, cart_v1_line_item(item));
    }
    json_object_set_new(v1, "line_items", items);

    notices = json_array();
    json_array_foreach(json_object_get(cart, "notices"), i, notice) {
        v = json_object_get(json_object_get(notice, "details"),
                            "description");
        if (!json_is_string(v)) {
            v = json_object_get(notice, "code");
        }

        json_array_append(notices, v);
    }
    json_object_set_new(v1, "notice", notices);

    v = json_object_get(cart, "payment_method_options");
    json_object_set_new(v1, "payment_method_options",
                        v ? json_incref(v) : json_array());

    v = json_object_get(cart, "platform_id");
    if (v) {
        json_object_set(v1, "platform_id", v);
    }

    v = json_object_get(cart, "shipping_info");
    if (v) {
        json_object_set(v1, "shipping_info", v);
    }

    /* V1 has one shipment: the first V2 shipment's method and options */
    shipment = json_array_get(json_object_get(cart, "shipments"), 0);

    v = json_object_get(shipment, "shipping_method");
    if (v) {
        json_object_set_new(v1, "shipping_method", cart_v1_copy(v));
    }

    v = json_object_get(shipment, "shipping_method_options");
    if (v && json_array_size(v)) {
        json_object_set_new(v1, "shipping_method_options", cart_v1_copy(v));
    }

    json_object_set_new(v1, "shipping_total",
                        cart_v1_money(cart, "shipping_total", currency));

    v = json_object_get(cart, "shop_id");
    if (v) {
        json_object_set(v1, "shop_id", v);
    }

    json_object_set_new(v1, "sub_total",
                        cart_v1_money(cart, "sub_total", currency));
    json_object_set_new(v1, "tax",
                        cart_v1_money(cart, "tax_total", currency));
    json_object_set_new(v1, "total", cart_v1_money(cart, "total", currency));

    return v1;
}


int
cart_views_render(json_t *cart, cart_views_t *views, char *err,
    size_t err_len)
{
    size_t        line_items;
    json_t       *v1;
    cart_walk_t   w;

    memset(views, 0, sizeof(cart_views_t));
    memset(&w, 0, sizeof(cart_walk_t));

    w.len = (size_t) snprintf(w.path, sizeof(w.path), "cart");

    if (!json_is_object(cart)) {
        snprintf(err, err_len, "cart: must be an object");
        return -1;
    }

    if (cart_check_v2(&w, cart, &line_items) != 0) {
        snprintf(err, err_len, "%s: %s", w.path, w.reason);
        return -1;
    }

    v1 = cart_v1_build(cart, &w.money);

    views->v2 = cart_json_dump(cart, &views->v2_len);
    views->v1 = cart_json_dump(v1, &views->v1_len);
    views->line_items = (uint32_t) line_items;

    json_decref(v1);

    if (views->v2 == NULL || views->v1 == NULL) {
        cart_views_free(views);
        snprintf(err, err_len, "cart: out of memory");
        return -1;
    }

    return 0;
}


void
cart_views_free(cart_views_t *views)
{
    free(views->v2);
    free(views->v1);
    views->v2 = NULL;
    views->v1 = NULL;
}


char *
cart_view_v1_empty(const cart_domain_info_t *domain, size_t *len)
{
    char          *s;
    json_t        *v1;
    cart_money_t   zero;

    memcpy(zero.currency, domain->currency, 4);
    zero.number = 0;
    zero.symbol = domain->symbol;

    /* page 004's keys, in its (alphabetical) order */
    v1 = json_pack("{s:o, s:s, s:[], s:[], s:[], s:s, s:o, s:s, s:o, s:o,"
                   " s:o}",
                   "cart_discount", cart_money_json(&zero, CART_MONEY_V1),
                   "display_name", domain->display_name,
                   "line_items", "notice", "payment_method_options",
                   "platform_id", domain->platform_id,
                   "shipping_total", cart_money_json(&zero, CART_MONEY_V1),
                   "shop_id", domain->domain,
                   "sub_total", cart_money_json(&zero, CART_MONEY_V1),
                   "tax", cart_money_json(&zero, CART_MONEY_V1),
                   "total", cart_money_json(&zero, CART_MONEY_V1));
    if (v1 == NULL) {
        return NULL;
    }

    s = cart_json_dump(v1, len);

    json_decref(v1);

    return s;
}
