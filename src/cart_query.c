#include <string.h>

#include "cart_layout.h"
#include "cart_query.h"


int
cart_excludes_parse(const char *s, size_t len, char *buf,
    cart_excludes_t *ex)
{
    size_t       i, n;
    const char  *p, *end, *comma;

    ex->n = 0;
    end = s + len;

    for (p = s; p <= end; p = comma + 1) {
        comma = memchr(p, ',', (size_t) (end - p));
        if (comma == NULL) {
            comma = end;
        }

        n = (size_t) (comma - p);

        while (n && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }

        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
            n--;
        }

        if (n == 0) {
            continue;
        }

        if (n > CART_DOMAIN_MAX_LEN || ex->n == CART_EXCLUDES_MAX) {
            return -1;
        }

        for (i = 0; i < n; i++) {
            buf[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char) (p[i] | 0x20)
                                                  : p[i];
        }

        ex->domain[ex->n] = buf;
        ex->len[ex->n] = n;
        ex->n++;
        buf += n;
    }

    return 0;
}


int
cart_excludes_has(const cart_excludes_t *ex, const char *domain, size_t len)
{
    size_t  i;

    for (i = 0; i < ex->n; i++) {
        if (ex->len[i] == len && memcmp(ex->domain[i], domain, len) == 0) {
            return 1;
        }
    }

    return 0;
}


int
cart_bool_parse(const char *s, size_t len)
{
    if (len == 4 && memcmp(s, "true", 4) == 0) {
        return 1;
    }

    if (len == 5 && memcmp(s, "false", 5) == 0) {
        return 0;
    }

    return -1;
}
