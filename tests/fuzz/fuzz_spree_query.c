/*
 * libFuzzer target: the query string of GET /api/v3/store/carts, read as
 * Spree reads it, and everything made of it: the page, its meta, the
 * sort, the fields kept.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cart_spree_query.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                 *buf, err[128], meta[CART_SPREE_META_LEN];
    int64_t               count;
    cart_spree_int_t      i;
    cart_spree_page_t     page;
    cart_spree_order_t    order;
    cart_spree_query_t    query;
    cart_spree_fields_t   fields;

    buf = malloc(size + 1);
    if (buf == NULL) {
        return 0;
    }

    cart_spree_query_parse((const char *) data, size, buf, &query);

    cart_spree_to_i((const char *) data, size, &i);

    /* a count from the input too, at the edges of what it may be */
    count = size ? (int64_t) data[0] * 1000 + (size % 301) : 0;

    if (cart_spree_paginate(&query.page, &query.limit, count, &page, err,
                            sizeof(err)) == 0)
    {
        if (cart_spree_meta(&page, meta) >= CART_SPREE_META_LEN
            || page.in < 0 || page.in > page.limit
            || (page.in && (page.from < 1 || page.to > count)))
        {
            __builtin_trap();
        }
    }

    if (query.sort.data) {
        (void) cart_spree_sort(query.sort.data, query.sort.len, &order);
    }

    cart_spree_fields(&query.fields, &query.expand, &fields);
    (void) cart_spree_keeps(&fields, "total", 5);
    (void) cart_spree_matches(&query, 1700000000000000, 1700000000000001);

    free(buf);

    return 0;
}
