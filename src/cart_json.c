#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart_json.h"


typedef struct {
    char         *data;
    size_t        len;
    size_t        cap;
    const char   *escapes;          /* what a byte of a string becomes */
    const char   *hex;
} cart_json_buf_t;


/*
 * What a byte of a string becomes: 0 itself, 'u' a \u00XX escape, any
 * other letter that letter after a backslash (jansson's escapes).
 */
static const char  cart_json_escapes[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0, 0, '"', 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, '\\', 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};


/*
 * Rails' (ActiveSupport's JSON, on the json gem's): control characters in
 * lowercase hex, and <, >, & as \u003c, \u003e, \u0026; 'x' marks the first
 * byte of U+2028 and U+2029, escaped too.
 */
static const char  cart_json_rails_escapes[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0, 0, '"', 0, 0, 0, 'u', 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 'u', 0, 'u', 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, '\\', 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 'x', 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};


static int
cart_json_reserve(cart_json_buf_t *b, size_t n)
{
    char    *data;
    size_t   cap;

    if (b->cap - b->len >= n) {
        return 0;
    }

    for (cap = b->cap * 2; cap - b->len < n; cap *= 2) { /* void */ }

    data = realloc(b->data, cap);
    if (data == NULL) {
        return -1;
    }

    b->data = data;
    b->cap = cap;

    return 0;
}


static int
cart_json_append(cart_json_buf_t *b, const char *s, size_t n)
{
    if (cart_json_reserve(b, n) != 0) {
        return -1;
    }

    memcpy(b->data + b->len, s, n);
    b->len += n;

    return 0;
}


static char *
cart_json_cpy(char *p, const char *s)
{
    size_t  n;

    n = strlen(s);
    memcpy(p, s, n);

    return p + n;
}


static int
cart_json_string(cart_json_buf_t *b, const char *s, size_t len)
{
    char                 *p;
    size_t                run;
    unsigned char         c;
    const unsigned char  *u, *end;

    /* the quotes and the text as it is; an escape reserves its own room */
    if (cart_json_reserve(b, len + 2) != 0) {
        return -1;
    }

    b->data[b->len++] = '"';

    u = (const unsigned char *) s;
    end = u + len;

    while (u < end) {
        for (run = 0; u + run < end && !b->escapes[u[run]]; run++) {
            /* void */
        }

        memcpy(b->data + b->len, u, run);
        b->len += run;
        u += run;

        if (u == end) {
            break;
        }

        if (cart_json_reserve(b, (size_t) (end - u) + 6 + 1) != 0) {
            return -1;
        }

        c = *u++;
        p = b->data + b->len;

        if (b->escapes[c] == 'x') {
            /* U+2028 and U+2029 (E2 80 A8, E2 80 A9), else itself */
            if (end - u >= 2 && u[0] == 0x80 && (u[1] == 0xa8 || u[1] == 0xa9))
            {
                p = cart_json_cpy(p, u[1] == 0xa8 ? "\\u2028" : "\\u2029");
                u += 2;

            } else {
                *p++ = (char) c;
            }

        } else if (b->escapes[c] == 'u') {
            *p++ = '\\';
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = b->hex[c >> 4];
            *p++ = b->hex[c & 0xf];

        } else {
            *p++ = '\\';
            *p++ = b->escapes[c];
        }

        b->len = (size_t) (p - b->data);
    }

    b->data[b->len++] = '"';

    return 0;
}


/* digits of n, written backwards ending at end; returns their start */
static char *
cart_json_digits(uint64_t n, char *end)
{
    do {
        *--end = (char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return end;
}


static int
cart_json_integer(cart_json_buf_t *b, json_int_t value)
{
    char      tmp[24], *p;
    uint64_t  n;

    n = value < 0 ? 0 - (uint64_t) value : (uint64_t) value;

    p = cart_json_digits(n, tmp + sizeof(tmp));

    if (value < 0) {
        *--p = '-';
    }

    return cart_json_append(b, p, (size_t) (tmp + sizeof(tmp) - p));
}


/*
 * "%.15g" as jansson prints it: ".0" added to what would read as an
 * integer, the exponent without "+" or leading zeros.  Amounts in cents
 * are most of a cart's reals and are written directly: a double that is
 * the nearest to n/100, |n/100| < 1e13, prints as n/100 to 15 digits.
 * buf has room for 32 bytes.
 */
static size_t
cart_json_real(double value, char *buf)
{
    int       len;
    char     *p, *e, *from;
    int64_t   n;
    uint64_t  u;

    if (value != 0 && fabs(value) < 1e13) {
        n = llround(value * 100);

        if ((double) n / 100 == value) {
            p = buf;

            if (n < 0) {
                *p++ = '-';
            }

            u = n < 0 ? 0 - (uint64_t) n : (uint64_t) n;

            e = cart_json_digits(u / 100, buf + 31);
            len = (int) (buf + 31 - e);
            memmove(p, e, (size_t) len);
            p += len;

            *p++ = '.';
            *p++ = (char) ('0' + u % 100 / 10);

            if (u % 10) {
                *p++ = (char) ('0' + u % 10);
            }

            return (size_t) (p - buf);
        }
    }

    len = snprintf(buf, 32, "%.15g", value);

    if (strpbrk(buf, ".e") == NULL) {
        memcpy(buf + len, ".0", 3);
        return (size_t) len + 2;
    }

    e = strchr(buf, 'e');

    if (e != NULL) {
        p = e + 1 + (e[1] == '-');

        for (from = e + 1; *from == '+' || *from == '-' || *from == '0';
             from++)
        {
            /* void */
        }

        memmove(p, from, strlen(from) + 1);
        len = (int) strlen(buf);
    }

    return (size_t) len;
}


static int
cart_json_value(cart_json_buf_t *b, const json_t *json, int depth)
{
    char         tmp[32];
    void        *iter;
    size_t       i, n;
    const char  *key;

    if (depth > CART_JSON_MAX_DEPTH) {
        return -1;
    }

    switch (json_typeof(json)) {

    case JSON_OBJECT:
        if (cart_json_append(b, "{", 1) != 0) {
            return -1;
        }

        for (iter = json_object_iter((json_t *) json), i = 0;
             iter;
             iter = json_object_iter_next((json_t *) json, iter), i++)
        {
            key = json_object_iter_key(iter);

            if ((i && cart_json_append(b, ",", 1) != 0)
                || cart_json_string(b, key, json_object_iter_key_len(iter))
                   != 0
                || cart_json_append(b, ":", 1) != 0
                || cart_json_value(b, json_object_iter_value(iter),
                                   depth + 1) != 0)
            {
                return -1;
            }
        }

        return cart_json_append(b, "}", 1);

    case JSON_ARRAY:
        n = json_array_size(json);

        if (cart_json_append(b, "[", 1) != 0) {
            return -1;
        }

        for (i = 0; i < n; i++) {
            if ((i && cart_json_append(b, ",", 1) != 0)
                || cart_json_value(b, json_array_get(json, i), depth + 1)
                   != 0)
            {
                return -1;
            }
        }

        return cart_json_append(b, "]", 1);

    case JSON_STRING:
        return cart_json_string(b, json_string_value(json),
                                json_string_length(json));

    case JSON_INTEGER:
        return cart_json_integer(b, json_integer_value(json));

    case JSON_REAL:
        return cart_json_append(b, tmp,
                                cart_json_real(json_real_value(json), tmp));

    case JSON_TRUE:
        return cart_json_append(b, "true", 4);

    case JSON_FALSE:
        return cart_json_append(b, "false", 5);

    default:
        return cart_json_append(b, "null", 4);
    }
}


static int
cart_json_start(cart_json_buf_t *b, unsigned flags)
{
    /* most carts fit: one allocation */
    b->cap = 8192;
    b->len = 0;
    b->data = malloc(b->cap);

    if (flags & CART_JSON_RAILS) {
        b->escapes = cart_json_rails_escapes;
        b->hex = "0123456789abcdef";

    } else {
        b->escapes = cart_json_escapes;
        b->hex = "0123456789ABCDEF";
    }

    return b->data ? 0 : -1;
}


/* the text, NUL-terminated, its length in *len; or NULL */
static char *
cart_json_end(cart_json_buf_t *b, int rc, size_t *len)
{
    if (rc != 0 || cart_json_append(b, "", 1) != 0) {
        free(b->data);
        return NULL;
    }

    *len = b->len - 1;

    return b->data;
}


char *
cart_json_dump(const json_t *json, size_t *len)
{
    cart_json_buf_t  b;

    if (cart_json_start(&b, 0) != 0) {
        return NULL;
    }

    return cart_json_end(&b, cart_json_value(&b, json, 0), len);
}


char *
cart_json_dump_object(const json_t *obj, unsigned flags, size_t *len,
    cart_json_member_t *members)
{
    int               rc;
    void             *iter;
    size_t            i;
    cart_json_buf_t   b;

    if (!json_is_object(obj) || cart_json_start(&b, flags) != 0) {
        return NULL;
    }

    rc = cart_json_append(&b, "{", 1);

    for (iter = json_object_iter((json_t *) obj), i = 0;
         rc == 0 && iter;
         iter = json_object_iter_next((json_t *) obj, iter), i++)
    {
        if (i) {
            rc = cart_json_append(&b, ",", 1);
        }

        members[i].start = b.len;
        members[i].name_len = json_object_iter_key_len(iter);

        if (rc == 0) {
            rc = cart_json_string(&b, json_object_iter_key(iter),
                                  members[i].name_len);
        }

        if (rc == 0) {
            rc = cart_json_append(&b, ":", 1);
        }

        if (rc == 0) {
            rc = cart_json_value(&b, json_object_iter_value(iter), 1);
        }

        members[i].end = b.len;
    }

    if (rc == 0) {
        rc = cart_json_append(&b, "}", 1);
    }

    return cart_json_end(&b, rc, len);
}
