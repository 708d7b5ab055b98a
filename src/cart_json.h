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


#endif /* CART_JSON_H */
