/*
 * Records as the writer builds them from NDJSON import lines, and back:
 * the one place that knows how a line becomes a key and a value in the
 * databases of cart_layout.h.
 */

#ifndef CART_RECORD_H
#define CART_RECORD_H

#include <stddef.h>
#include <jansson.h>

#include "cart_layout.h"


typedef enum {
    CART_KIND_DOMAIN = 0,
    CART_KIND_DEVICE,
    CART_KIND_CART
} cart_kind_e;

typedef struct {
    cart_kind_e     kind;
    int             deleted;
    char            device_id[CART_DEVICE_ID_MAX_LEN + 1];
    size_t          device_id_len;
    char            domain[CART_DOMAIN_MAX_LEN + 1];
    size_t          domain_len;
    unsigned char   key[CART_CART_KEY_MAX];
    size_t          key_len;
    unsigned char  *value;      /* malloc()ed; NULL when deleted */
    size_t          value_len;
} cart_record_t;


/*
 * Builds the record of one import line.  On error returns -1 with
 * "<field>: <reason>" in err.
 */
int cart_record_from_json(json_t *line, cart_record_t *rec, char *err,
    size_t err_len);

void cart_record_free(cart_record_t *rec);

/*
 * The import line that re-creates a stored record, or NULL; in the carts
 * database, a key that ends in NUL is a device's (CART_KIND_DEVICE).
 */
json_t *cart_record_to_json(cart_kind_e kind, const void *key,
    size_t key_len, const void *value, size_t value_len);


#endif /* CART_RECORD_H */
