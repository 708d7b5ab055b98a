#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart_json.h"
#include "cart_money.h"
#include "cart_spree.h"


#define CART_SPREE_PATH_MAX  512


int
cart_spree_amount_valid(const char *s, size_t len)
{
    size_t  i, digits;

    i = (len && s[0] == '-');

    for (digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        digits++;
    }

    if (digits == 0) {
        return 0;
    }

    if (i == len) {
        return 1;
    }

    if (s[i++] != '.') {
        return 0;
    }

    for (digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        digits++;
    }

    return digits && i == len;
}


static int
cart_spree_fail(char *err, size_t err_len, const char *path,
    const char *reason)
{
    snprintf(err, err_len, "cart%s: %s", path, reason);
    return -1;
}


/* the amounts and their display strings of an object, and of its parts */
static int
cart_spree_amounts(json_t *json, char *path, size_t len, char *err,
    size_t err_len)
{
    size_t       i;
    json_t      *v, *amount;
    const char  *key;

    if (json_is_array(json)) {
        json_array_foreach(json, i, v) {
            snprintf(path + len, CART_SPREE_PATH_MAX - len, "[%zu]", i);

            if (cart_spree_amounts(v, path, strlen(path), err, err_len)
                != 0)
            {
                return -1;
            }
        }

        path[len] = '\0';
        return 0;
    }

    if (!json_is_object(json)) {
        return 0;
    }

    json_object_foreach(json, key, v) {
        snprintf(path + len, CART_SPREE_PATH_MAX - len, ".%s", key);

        if (strncmp(key, "display_", 8) == 0) {
            if (!json_is_string(v)) {
                return cart_spree_fail(err, err_len, path, "must be a string");
            }

            amount = json_object_get(json, key + 8);

            if (amount && !json_is_null(amount)
                && !(json_is_string(amount)
                     && cart_spree_amount_valid(json_string_value(amount),
                                                json_string_length(amount))))
            {
                snprintf(path + len, CART_SPREE_PATH_MAX - len, ".%s",
                         key + 8);
                return cart_spree_fail(err, err_len, path,
                                       "not a decimal amount as Spree prints "
                                       "it (like \"10.0\")");
            }
        }

        if (cart_spree_amounts(v, path, strlen(path), err, err_len) != 0) {
            return -1;
        }
    }

    path[len] = '\0';

    return 0;
}


int
cart_spree_render(json_t *cart, cart_spree_view_t *view, char *err,
    size_t err_len)
{
    size_t               i, n, len;
    json_t              *v;
    const char          *s;
    cart_json_member_t  *members;
    char                 path[CART_SPREE_PATH_MAX];

    memset(view, 0, sizeof(cart_spree_view_t));

    if (!json_is_object(cart)) {
        return cart_spree_fail(err, err_len, "", "must be an object");
    }

    v = json_object_get(cart, "id");
    s = json_string_value(v);

    if (s == NULL || json_string_length(v) == 0
        || json_string_length(v) > CART_SPREE_ID_MAX_LEN
        || strlen(s) != json_string_length(v))
    {
        return cart_spree_fail(err, err_len, ".id",
                               v ? "must be a string of 1 to 64 bytes"
                                 : "required");
    }

    v = json_object_get(cart, "currency");
    s = json_string_value(v);

    if (s == NULL || cart_currency_exponent(s) < 0) {
        return cart_spree_fail(err, err_len, ".currency",
                               v ? "not an ISO 4217 currency code"
                                 : "required");
    }

    path[0] = '\0';

    if (cart_spree_amounts(cart, path, 0, err, err_len) != 0) {
        return -1;
    }

    n = json_object_size(cart);

    /* members are picked by name in the text: names need no escaping */
    json_object_foreach(cart, s, v) {
        len = strlen(s);

        if (len == 0 || len > 255 || strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789_-") != len)
        {
            snprintf(path, sizeof(path), ".%.255s", s);
            return cart_spree_fail(err, err_len, path, "a member's name must "
                                   "be 1 to 255 of A-Z, a-z, 0-9, '_', '-'");
        }
    }

    members = malloc((n ? n : 1) * sizeof(cart_json_member_t));
    view->members = malloc((n ? n : 1) * sizeof(cart_spree_member_t));

    if (members == NULL || view->members == NULL) {
        free(members);
        cart_spree_view_free(view);
        return cart_spree_fail(err, err_len, "", "out of memory");
    }

    view->json = cart_json_dump_object(cart, CART_JSON_RAILS, &len, members);

    if (view->json == NULL || len > UINT32_MAX) {
        free(members);
        cart_spree_view_free(view);
        return cart_spree_fail(err, err_len, "", "out of memory, or too "
                               "deep");
    }

    view->json_len = len;
    view->nmembers = (uint32_t) n;

    for (i = 0; i < n; i++) {
        view->members[i].start = (uint32_t) members[i].start;
        view->members[i].end = (uint32_t) members[i].end;
        view->members[i].name_len = (uint16_t) members[i].name_len;
        view->members[i].flags = 0;
    }

    free(members);

    return 0;
}


void
cart_spree_view_free(cart_spree_view_t *view)
{
    free(view->json);
    free(view->members);
    view->json = NULL;
    view->members = NULL;
}
