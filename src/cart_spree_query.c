#include <stdio.h>
#include <string.h>

#include "cart_spree_query.h"
#include "cart_time.h"


static const char  *cart_spree_predicates[CART_SPREE_PREDICATES] = {
    "gt", "gteq", "lt", "lteq", "eq"
};


/* Ruby's whitespace, as String#strip and a /\s/ see it */
static int
cart_spree_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f'
           || c == '\r';
}


static int
cart_spree_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


/* "+" and %XX decoded into out (a malformed %XX is taken as it is) */
static size_t
cart_spree_decode(const char *s, size_t len, char *out)
{
    int     hi, lo;
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        if (s[i] == '+') {
            out[n++] = ' ';

        } else if (s[i] == '%' && i + 2 < len
                   && (hi = cart_spree_hex(s[i + 1])) >= 0
                   && (lo = cart_spree_hex(s[i + 2])) >= 0)
        {
            out[n++] = (char) (hi << 4 | lo);
            i += 2;

        } else {
            out[n++] = s[i];
        }
    }

    return n;
}


static int
cart_spree_is(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(s, name, len) == 0;
}


/* q[created_at_gt] and its kin: the condition's slot, or -1 */
static int
cart_spree_condition(const char *key, size_t len, cart_spree_by_e *by,
    cart_spree_predicate_e *predicate)
{
    int          p;
    size_t       n;
    const char  *name;

    if (len < 4 || memcmp(key, "q[", 2) != 0 || key[len - 1] != ']') {
        return -1;
    }

    name = key + 2;
    len -= 3;

    if (len > 11 && memcmp(name, "created_at_", 11) == 0) {
        *by = CART_SPREE_BY_CREATED;

    } else if (len > 11 && memcmp(name, "updated_at_", 11) == 0) {
        *by = CART_SPREE_BY_UPDATED;

    } else {
        return -1;
    }

    name += 11;
    n = len - 11;

    for (p = 0; p < CART_SPREE_PREDICATES; p++) {
        if (cart_spree_is(name, n, cart_spree_predicates[p])) {
            *predicate = (cart_spree_predicate_e) p;
            return (int) *by * CART_SPREE_PREDICATES + p;
        }
    }

    return -1;
}


void
cart_spree_query_parse(const char *args, size_t len, char *buf,
    cart_spree_query_t *query)
{
    int                      slot;
    size_t                   i, klen;
    int64_t                  us;
    const char              *p, *end, *amp, *eq;
    cart_spree_by_e          by;
    cart_spree_str_t        *str, values[2 * CART_SPREE_PREDICATES];
    cart_spree_predicate_e   predicate;

    memset(query, 0, sizeof(cart_spree_query_t));
    memset(values, 0, sizeof(values));

    end = args + len;

    for (p = args; p < end; p = amp + 1) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }

        /* Rack's separator is "& *" */
        while (p < amp && *p == ' ') {
            p++;
        }

        eq = memchr(p, '=', (size_t) (amp - p));

        klen = cart_spree_decode(p, (size_t) ((eq ? eq : amp) - p), buf);

        if (klen == 0) {
            continue;
        }

        str = NULL;

        if (cart_spree_is(buf, klen, "page")) {
            str = &query->page;

        } else if (cart_spree_is(buf, klen, "limit")) {
            str = &query->limit;

        } else if (cart_spree_is(buf, klen, "sort")) {
            str = &query->sort;

        } else if (cart_spree_is(buf, klen, "fields")) {
            str = &query->fields;

        } else if (cart_spree_is(buf, klen, "expand")) {
            str = &query->expand;

        } else {
            slot = cart_spree_condition(buf, klen, &by, &predicate);
            str = (slot >= 0) ? &values[slot] : NULL;
        }

        if (str == NULL) {
            continue;
        }

        /* "name" without "=" is nil to Rack, "name=" the empty string */
        if (eq == NULL) {
            str->data = NULL;
            str->len = 0;
            continue;
        }

        str->data = buf;
        str->len = cart_spree_decode(eq + 1, (size_t) (amp - eq - 1), buf);
        buf += str->len;
    }

    /* the conditions whose value is an instant; Ransack drops the rest */
    for (i = 0; i < 2 * CART_SPREE_PREDICATES; i++) {
        if (values[i].data
            && cart_time_parse_us(values[i].data, values[i].len,
                                  CART_TIME_ISO, &us) == 0)
        {
            query->conditions[query->nconditions].attribute =
                (cart_spree_by_e) (i / CART_SPREE_PREDICATES);
            query->conditions[query->nconditions].predicate =
                (cart_spree_predicate_e) (i % CART_SPREE_PREDICATES);
            query->conditions[query->nconditions].us = us;
            query->nconditions++;
        }
    }
}


void
cart_spree_to_i(const char *s, size_t len, cart_spree_int_t *i)
{
    int        negative;
    char      *t;
    size_t     k, digits;
    uint64_t   v;

    k = 0;
    negative = 0;

    while (k < len && cart_spree_blank(s[k])) {
        k++;
    }

    if (k < len && (s[k] == '+' || s[k] == '-')) {
        negative = (s[k++] == '-');
    }

    t = i->text + 1;            /* room for the sign */
    digits = 0;
    v = 0;

    for ( /* void */ ; k < len; k++) {
        if (s[k] == '_' && digits && k + 1 < len && s[k + 1] >= '0'
            && s[k + 1] <= '9' && s[k - 1] >= '0' && s[k - 1] <= '9')
        {
            continue;
        }

        if (s[k] < '0' || s[k] > '9') {
            break;
        }

        if (digits == 0 && s[k] == '0') {
            digits = 1;         /* leading zeros: one "0" held until more */
            t[0] = '0';
            continue;
        }

        if (digits == 1 && t[0] == '0') {
            digits = 0;
        }

        if (digits < CART_SPREE_INT_MAX_DIGITS) {
            t[digits++] = s[k];
        }

        v = (v > (UINT64_C(1) << 62) / 10) ? (UINT64_C(1) << 62)
                                           : v * 10 + (uint64_t) (s[k] - '0');
    }

    if (digits == 0) {
        t[digits++] = '0';
    }

    t[digits] = '\0';

    if (v > (UINT64_C(1) << 62)) {
        v = UINT64_C(1) << 62;
    }

    if (negative && !(digits == 1 && t[0] == '0')) {
        i->text[0] = '-';
        i->value = -(int64_t) v;

    } else {
        memmove(i->text, t, digits + 1);
        i->value = (int64_t) v;
    }
}


int
cart_spree_sort(const char *s, size_t len, cart_spree_order_t *order)
{
    int          more, minus;
    size_t       k, n, attr;
    const char  *comma;

    /* split(','): trailing empty fields are dropped */
    while (len && s[len - 1] == ',') {
        len--;
    }

    if (len == 0) {
        return -1;
    }

    comma = memchr(s, ',', len);
    n = comma ? (size_t) (comma - s) : len;
    more = (comma != NULL);

    /* "-name" is "name desc", else "name asc" */
    minus = (n && s[0] == '-');
    s += minus;
    n -= minus;

    /* Ransack's name: up to the first blank, which must not be first */
    for (attr = 0; attr < n && !cart_spree_blank(s[attr]); attr++) {
        /* void */
    }

    if (attr == 0) {
        return -1;
    }

    if (cart_spree_is(s, attr, "created_at")) {
        order->by = CART_SPREE_BY_CREATED;

    } else if (cart_spree_is(s, attr, "updated_at")) {
        order->by = CART_SPREE_BY_UPDATED;

    } else {
        return -1;
    }

    /*
     * Its direction is all that follows the blanks after the name: "desc"
     * only for "-name" with nothing but blanks after it and no other key
     */
    for (k = attr; k < n && cart_spree_blank(s[k]); k++) {
        /* void */
    }

    order->descending = (minus && k == n && !more);

    return 0;
}


int
cart_spree_paginate(const cart_spree_str_t *page,
    const cart_spree_str_t *limit, int64_t count, cart_spree_page_t *out,
    char *err, size_t err_len)
{
    cart_spree_int_t  l;

    memset(out, 0, sizeof(cart_spree_page_t));

    /* limit: params[:limit]&.to_i || 25, at most 100 */
    if (limit->data) {
        cart_spree_to_i(limit->data, limit->len, &l);

    } else {
        l.value = CART_SPREE_LIMIT_DEFAULT;
    }

    if (l.value > CART_SPREE_LIMIT_MAX) {
        l.value = CART_SPREE_LIMIT_MAX;
    }

    if (l.value < 1) {
        snprintf(err, err_len, "expected :limit >= 1; got %s", l.text);
        return -1;
    }

    if (page->data) {
        cart_spree_to_i(page->data, page->len, &out->page);

    } else {
        out->page.value = 1;
        strcpy(out->page.text, "1");
    }

    if (out->page.value < 1) {
        snprintf(err, err_len, "expected :page >= 1; got %s",
                 out->page.text);
        return -1;
    }

    out->limit = l.value;
    out->count = count;
    out->pages = (count + l.value - 1) / l.value;

    if (out->pages < 1) {
        out->pages = 1;
    }

    /* past the last page: empty, and "previous" is the last */
    if (out->page.value > out->pages) {
        out->previous = out->pages;
        return 0;
    }

    out->offset = l.value * (out->page.value - 1);
    out->from = out->offset + 1 < count ? out->offset + 1 : count;
    out->to = out->offset + l.value < count ? out->offset + l.value : count;
    out->in = out->to - out->from + 1 < count ? out->to - out->from + 1
                                              : count;
    out->previous = out->page.value - 1;
    out->next = (out->page.value == out->pages) ? 0 : out->page.value + 1;

    return 0;
}


static char *
cart_spree_number(char *p, const char *name, int64_t v, int null_at_zero)
{
    if (null_at_zero && v == 0) {
        return p + sprintf(p, ",\"%s\":null", name);
    }

    return p + sprintf(p, ",\"%s\":%lld", name, (long long) v);
}


size_t
cart_spree_meta(const cart_spree_page_t *page, char *buf)
{
    char  *p;

    p = buf + sprintf(buf, "{\"page\":%s", page->page.text);
    p = cart_spree_number(p, "limit", page->limit, 0);
    p = cart_spree_number(p, "count", page->count, 0);
    p = cart_spree_number(p, "pages", page->pages, 0);
    p = cart_spree_number(p, "from", page->from, 0);
    p = cart_spree_number(p, "to", page->to, 0);
    p = cart_spree_number(p, "in", page->in, 0);
    p = cart_spree_number(p, "previous", page->previous, 1);
    p = cart_spree_number(p, "next", page->next, 1);
    *p++ = '}';

    return (size_t) (p - buf);
}


int
cart_spree_matches(const cart_spree_query_t *query, int64_t created_us,
    int64_t updated_us)
{
    size_t                         i;
    int64_t                        t;
    const cart_spree_condition_t  *c;

    for (i = 0; i < query->nconditions; i++) {
        c = &query->conditions[i];
        t = (c->attribute == CART_SPREE_BY_CREATED) ? created_us : updated_us;

        switch (c->predicate) {

        case CART_SPREE_GT:
            if (!(t > c->us)) {
                return 0;
            }
            break;

        case CART_SPREE_GTEQ:
            if (!(t >= c->us)) {
                return 0;
            }
            break;

        case CART_SPREE_LT:
            if (!(t < c->us)) {
                return 0;
            }
            break;

        case CART_SPREE_LTEQ:
            if (!(t <= c->us)) {
                return 0;
            }
            break;

        default:
            if (t != c->us) {
                return 0;
            }
        }
    }

    return 1;
}


/* split(',') with each part stripped; first: up to the first '.' */
static void
cart_spree_names(const cart_spree_str_t *s, int first,
    cart_spree_fields_t *out)
{
    const char  *p, *end, *comma, *a, *b, *dot;

    if (s->data == NULL) {
        return;
    }

    end = s->data + s->len;

    for (p = s->data; p < end && out->n < CART_SPREE_NAMES_MAX; p = comma + 1)
    {
        comma = memchr(p, ',', (size_t) (end - p));
        if (comma == NULL) {
            comma = end;
        }

        for (a = p; a < comma && (cart_spree_blank(*a) || *a == '\0'); a++) {
            /* void */
        }

        for (b = comma; b > a && (cart_spree_blank(b[-1]) || b[-1] == '\0');
             b--)
        {
            /* void */
        }

        if (first && (dot = memchr(a, '.', (size_t) (b - a))) != NULL) {
            b = dot;
        }

        out->name[out->n].data = a;
        out->name[out->n].len = (size_t) (b - a);
        out->n++;

        if (comma == end) {
            break;
        }
    }
}


void
cart_spree_fields(const cart_spree_str_t *fields,
    const cart_spree_str_t *expand, cart_spree_fields_t *out)
{
    size_t  i;

    memset(out, 0, sizeof(cart_spree_fields_t));

    /* .presence: a blank value is none */
    for (i = 0; fields->data && i < fields->len; i++) {
        if (!cart_spree_blank(fields->data[i])) {
            break;
        }
    }

    if (fields->data == NULL || i == fields->len) {
        out->all = 1;
        return;
    }

    cart_spree_names(fields, 0, out);
    cart_spree_names(expand, 1, out);
}


int
cart_spree_keeps(const cart_spree_fields_t *fields, const char *name,
    size_t len)
{
    size_t  i;

    if (fields->all || (len == 2 && memcmp(name, "id", 2) == 0)) {
        return 1;
    }

    for (i = 0; i < fields->n; i++) {
        if (fields->name[i].len == len
            && memcmp(fields->name[i].data, name, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}
