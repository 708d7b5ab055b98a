/*
 * Spree Store API carts as the writer renders them: a cart (one element
 * of the page's "data", as Spree 5.4 serializes it) checked for what
 * clients rely on, its JSON text as Rails writes it, and the table of its
 * top-level members that "fields" splices.  Pure functions of JSON.
 */

#ifndef CART_SPREE_H
#define CART_SPREE_H

#include <stddef.h>
#include <jansson.h>

#include "cart_layout.h"


typedef struct {
    char                 *json;         /* malloc()ed */
    size_t                json_len;
    cart_spree_member_t  *members;      /* malloc()ed */
    uint32_t              nmembers;
} cart_spree_view_t;


/*
 * Checks a cart: "id" a non-empty string of at most 64 bytes, "currency"
 * an ISO 4217 code, every "display_*" member a string and the amount it
 * displays (its name without "display_", in the same object) a decimal
 * string as Spree prints it ("10.0", "0", "-5.5") or null, at any depth.
 * Renders it; on error returns -1 with "cart.<path>: <reason>" in err.
 */
int cart_spree_render(json_t *cart, cart_spree_view_t *view, char *err,
    size_t err_len);

void cart_spree_view_free(cart_spree_view_t *view);

/* "10.0", "0", "-1234.56": a decimal as Spree's amounts print */
int cart_spree_amount_valid(const char *s, size_t len);


#endif /* CART_SPREE_H */
