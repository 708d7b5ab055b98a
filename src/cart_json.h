/*
 * The JSON text of a jansson value: the bytes json_dumpb() makes with
 * CART_JSON_FLAGS (compact, reals to 15 significant digits, keys in
 * insertion order), written without jansson's per-value costs: its dump
 * prints each container's address for a loop check, decodes every string
 * as UTF-8 and calls printf() for every number.  A cart is dumped twice
 * when it is written, and those dumps were 40% of an import's CPU.
 */

#ifndef CART_JSON_H
#define CART_JSON_H

#include <stddef.h>
#include <jansson.h>


/* the jansson flags whose output cart_json_dump() makes */
#define CART_JSON_FLAGS      (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* deeper values are refused, as jansson's parser refuses them */
#define CART_JSON_MAX_DEPTH  2048


/*
 * The text, malloc()ed and NUL-terminated, its length in *len; NULL when
 * out of memory or the value nests deeper than CART_JSON_MAX_DEPTH.
 */
char *cart_json_dump(const json_t *json, size_t *len);

/*
 * Rails' JSON text (ActiveSupport's, on the json gem's) escapes more: <, >
 * and & (as \u003c, \u003e, \u0026), U+2028 and U+2029, and control
 * characters in lowercase hex.
 */
#define CART_JSON_RAILS      0x1

/* where a member of an object is in its text: "name":value */
typedef struct {
    size_t   start;
    size_t   end;
    size_t   name_len;
} cart_json_member_t;

/*
 * The text of an object, as cart_json_dump() (with flags), and where each
 * of its members is, in order: members holds json_object_size(obj).
 */
char *cart_json_dump_object(const json_t *obj, unsigned flags, size_t *len,
    cart_json_member_t *members);


#endif /* CART_JSON_H */
