/*
 * The query of GET /api/v3/store/carts, read as Spree 5.4 reads it: Rack's
 * decoding (the last of a repeated name wins), Ruby's String#to_i for
 * page and limit, Spree's sort (its first key only), Ransack's q[...]
 * predicates on created_at and updated_at, "fields" and "expand"; and
 * Pagy's arithmetic of a page.  Pure functions, without nginx types.
 */

#ifndef CART_SPREE_QUERY_H
#define CART_SPREE_QUERY_H

#include <stddef.h>
#include <stdint.h>


#define CART_SPREE_LIMIT_DEFAULT   25
#define CART_SPREE_LIMIT_MAX       100
#define CART_SPREE_NAMES_MAX       64       /* fields and expands kept */
#define CART_SPREE_INT_MAX_DIGITS  40

/* a parameter as Rack gives it, decoded: NULL when absent */
typedef struct {
    const char  *data;
    size_t       len;
} cart_spree_str_t;

/* Ruby's Integer of String#to_i: its value, and its text for messages */
typedef struct {
    int64_t      value;             /* saturated past what 63 bits hold */
    char         text[CART_SPREE_INT_MAX_DIGITS + 2];
} cart_spree_int_t;

typedef enum {
    CART_SPREE_BY_UPDATED = 0,
    CART_SPREE_BY_CREATED
} cart_spree_by_e;

typedef enum {
    CART_SPREE_GT = 0,
    CART_SPREE_GTEQ,
    CART_SPREE_LT,
    CART_SPREE_LTEQ,
    CART_SPREE_EQ,
    CART_SPREE_PREDICATES
} cart_spree_predicate_e;

/* a q[...] condition: the attribute, the predicate, the instant */
typedef struct {
    cart_spree_by_e          attribute;
    cart_spree_predicate_e   predicate;
    int64_t                  us;
} cart_spree_condition_t;

typedef struct {
    cart_spree_str_t         page;
    cart_spree_str_t         limit;
    cart_spree_str_t         sort;
    cart_spree_str_t         fields;
    cart_spree_str_t         expand;

    /* the conditions that apply (a value that is not an instant drops it) */
    cart_spree_condition_t   conditions[2 * CART_SPREE_PREDICATES];
    size_t                   nconditions;
} cart_spree_query_t;

/* the order of a listing */
typedef struct {
    cart_spree_by_e          by;
    int                      descending;
} cart_spree_order_t;

/* a page, as Pagy's Offset sets it out */
typedef struct {
    cart_spree_int_t         page;
    int64_t                  limit;
    int64_t                  count;
    int64_t                  pages;
    int64_t                  offset;
    int64_t                  from;
    int64_t                  to;
    int64_t                  in;
    int64_t                  previous;  /* 0: null */
    int64_t                  next;      /* 0: null */
} cart_spree_page_t;

/* names a selection keeps: "fields" and the first segments of "expand" */
typedef struct {
    int                      all;       /* no "fields": every member */
    size_t                   n;
    cart_spree_str_t         name[CART_SPREE_NAMES_MAX];
} cart_spree_fields_t;


/*
 * Reads a query string (what follows "?", len bytes) as Rack does:
 * '&'-separated pairs, "+" and %XX decoded (into buf, which holds len
 * bytes), the last of a repeated name winning.  Unknown names and other
 * q[...] keys are ignored, as Ransack ignores them.
 */
void cart_spree_query_parse(const char *args, size_t len, char *buf,
    cart_spree_query_t *query);

/*
 * Ruby's String#to_i: leading blanks, a sign, digits with single '_'
 * between them, up to what is not; 0 when there are none.
 */
void cart_spree_to_i(const char *s, size_t len, cart_spree_int_t *i);

/*
 * The order a sort asks for, as Spree 5.4 reads it: only its first key
 * counts, and that key is descending only when it is the only one and
 * begins with '-'.  Returns -1 (keep the default order) for a first key
 * other than created_at and updated_at.
 */
int cart_spree_sort(const char *s, size_t len, cart_spree_order_t *order);

/*
 * page and limit (absent: 1 and 25; limit over 100 is 100) and the count:
 * the page's numbers.  Returns 0, or -1 with Pagy's message in err:
 * "expected :limit >= 1; got 0" (limit first, then page).
 */
int cart_spree_paginate(const cart_spree_str_t *page,
    const cart_spree_str_t *limit, int64_t count, cart_spree_page_t *out,
    char *err, size_t err_len);

/* the page's "meta" object; buf holds CART_SPREE_META_LEN; its length */
#define CART_SPREE_META_LEN  512

size_t cart_spree_meta(const cart_spree_page_t *page, char *buf);

/* whether a cart's times meet every condition */
int cart_spree_matches(const cart_spree_query_t *query, int64_t created_us,
    int64_t updated_us);

/* the names "fields" and "expand" keep; all when "fields" is blank */
void cart_spree_fields(const cart_spree_str_t *fields,
    const cart_spree_str_t *expand, cart_spree_fields_t *out);

/* whether a member named so is kept ("id" always is) */
int cart_spree_keeps(const cart_spree_fields_t *fields, const char *name,
    size_t len);


#endif /* CART_SPREE_QUERY_H */
