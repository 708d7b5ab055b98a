/* Query parameters of outside input, parsed without nginx types. */

#ifndef CART_QUERY_H
#define CART_QUERY_H

#include <stddef.h>


#define CART_EXCLUDES_MAX  256

typedef struct {
    size_t       n;
    const char  *domain[CART_EXCLUDES_MAX];     /* lowercased, in buf */
    size_t       len[CART_EXCLUDES_MAX];
} cart_excludes_t;


/*
 * "a.com, B.com,,a.com": comma-separated domains, blanks around them and
 * empty entries ignored, lowercased into buf (len bytes).  Returns -1 for
 * more than CART_EXCLUDES_MAX entries or one longer than a domain can be.
 */
int cart_excludes_parse(const char *s, size_t len, char *buf,
    cart_excludes_t *ex);

int cart_excludes_has(const cart_excludes_t *ex, const char *domain,
    size_t len);

/* "true" or "false": 1 or 0, else -1 */
int cart_bool_parse(const char *s, size_t len);


#endif /* CART_QUERY_H */
