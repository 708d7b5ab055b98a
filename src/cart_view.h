/*
 * Cart views: the V2 cart (page 002) and the simple V1 cart (page 004),
 * rendered once, when a cart is written, from the V2 cart the backend
 * sends.  Pure functions of JSON: they know nothing of HTTP or the store.
 */

#ifndef CART_VIEW_H
#define CART_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>


typedef struct {
    char      *v2;              /* malloc()ed, not NUL-terminated */
    size_t     v2_len;
    char      *v1;
    size_t     v1_len;
    uint32_t   line_items;
} cart_views_t;

typedef struct {
    const char  *domain;
    const char  *display_name;
    const char  *platform_id;
    const char  *currency;
    const char  *symbol;
} cart_domain_info_t;


/*
 * Validates a V2 cart and renders both views; money objects are rewritten
 * in canonical form.  On error returns -1 with "<field path>: <reason>"
 * in err.
 */
int cart_views_render(json_t *cart, cart_views_t *views, char *err,
    size_t err_len);

void cart_views_free(cart_views_t *views);

/* the V1 cart of a device that has added nothing at this domain yet */
char *cart_view_v1_empty(const cart_domain_info_t *domain, size_t *len);


#endif /* CART_VIEW_H */
