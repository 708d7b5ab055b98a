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


typedef struct cart_kind_s  cart_kind_t;

/* no database: a kind found by its key, not by an id */
#define CART_DB_NONE  CART_DB_COUNT

/* the longest key of any database */
#define CART_KEY_MAX  CART_CART_KEY_MAX

/* an entry of a database that a record writes besides its own */
typedef struct {
    cart_db_e              db;
    const unsigned char   *key;
    size_t                 key_len;
    const unsigned char   *value;     /* of a duplicate, or a put */
    size_t                 value_len;
} cart_entry_t;

/*
 * The record of an import line.  What must exist for it to be written (a
 * cart's domain and device) is part of it, so that the writer applies any
 * kind the same way.
 */
typedef struct {
    cart_db_e       db;
    unsigned char   key[CART_KEY_MAX];
    size_t          key_len;
    const char     *missing;    /* printf format of what it says without */
    size_t          name_len;   /* of the key, as that names it */
} cart_need_t;

typedef struct {
    const cart_kind_t  *kind;
    int                 deleted;
    char                device_id[CART_DEVICE_ID_MAX_LEN + 1];
    size_t              device_id_len;
    char                domain[CART_DOMAIN_MAX_LEN + 1];
    size_t              domain_len;
    unsigned char       key[CART_KEY_MAX];
    size_t              key_len;
    unsigned char      *value;      /* malloc()ed; NULL when deleted */
    size_t              value_len;
    cart_need_t         needs[2];   /* the records it needs */
    size_t              nneeds;

    /*
     * A kind found by an id: the id's key in kind->ids.  The entries
     * written with the record: a Spree cart's id (saying where it is) and
     * its index of another order; a cart's V1 view, in kind->part.
     */
    unsigned char       id_key[CART_SPREE_ID_KEY_MAX];
    size_t              id_key_len;
    cart_entry_t        index[2];
    size_t              nindex;
    unsigned char       index_buf[CART_SPREE_USER_KEY_MAX
                                  + CART_SPREE_CREATED_MAX
                                  + sizeof(cart_spree_loc_t)];
} cart_record_t;

/* what a kind of record is, in the import lines, the store and cartctl */
struct cart_kind_s {
    const char   *name;             /* "kind" of the import line */
    cart_db_e     db;
    int           cascade;          /* removed, it takes along the keys
                                       that begin with its own */
    cart_db_e     part;             /* keyed as db, the rest of its
                                       records (or CART_DB_NONE): removed
                                       with them, cascade and all */

    /* the record of a parsed import line; -1 with "field: reason" */
    int         (*parse)(json_t *line, cart_record_t *rec, char *err,
                         size_t err_len);

    /*
     * The key that command-line arguments name ("get domain D"), its
     * length; 0 with the reason in err when they name none.
     */
    int           nargs;
    size_t      (*key)(char **args, unsigned char *key, char *err,
                       size_t err_len);

    /* whether a key of db is this kind's (devices and carts share one) */
    int         (*owns)(const void *key, size_t key_len);

    /* the import line that re-creates a stored record, or NULL */
    json_t     *(*to_json)(const void *key, size_t key_len,
                           const void *value, size_t value_len);

    /*
     * What "get" prints of a stored record, when not its import line: a
     * cart as the route serves it (alt: its other view, V1, of the value
     * in kind->part), inflated into a malloc()ed *view; -1 when the
     * record is corrupt.
     */
    int         (*view)(const void *value, size_t value_len, int alt,
                        char **view, size_t *view_len);

    /*
     * A kind found by an id: the database of ids, whose value says where
     * the record is; CART_DB_NONE for a kind found by its key.  stored()
     * gives the entries of the version an id's value says is stored: its
     * key in db first, then its index entries (key and value); how many,
     * 0 when the value is corrupt.  buf holds CART_KEY_MAX * 3.
     */
    cart_db_e     ids;
    size_t      (*stored)(const void *id_key, size_t id_key_len,
                          const void *where, size_t where_len,
                          cart_entry_t *entries, unsigned char *buf);
};

/* the kinds, in the order a dump lists them; a NULL name ends it */
extern const cart_kind_t  cart_kinds[];


/* the kind named so, or NULL */
const cart_kind_t *cart_kind(const char *name);

/* the kind of a stored key in db, or NULL */
const cart_kind_t *cart_kind_of(cart_db_e db, const void *key,
    size_t key_len);

/*
 * Builds the record of one import line.  On error returns -1 with
 * "<field>: <reason>" in err.
 */
int cart_record_from_json(json_t *line, cart_record_t *rec, char *err,
    size_t err_len);

void cart_record_free(cart_record_t *rec);

/*
 * Whether the records made from now on keep each view plain beside its
 * deflated bytes (the store's "views", cart_layout.h); by default not.
 */
void cart_record_keep_plain(int keep);


#endif /* CART_RECORD_H */
