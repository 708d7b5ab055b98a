/*
 * The store's databases, opened as cart_layout.h lays them out, and its
 * layout version checked: one function for the module (a reader) and for
 * cartctl (the writer), so that both agree on names, flags and version.
 */

#ifndef CART_STORE_LAYOUT_H
#define CART_STORE_LAYOUT_H

#include <stdint.h>
#include <lmdb.h>

#include "cart_layout.h"


typedef struct {
    const char    *name;
    unsigned int   flags;           /* MDB_DUPSORT, ... */
} cart_db_t;

extern const cart_db_t  cart_dbs[CART_DB_COUNT];

/* a store of another layout: *version says which (0: none recorded) */
#define CART_LAYOUT_OTHER  (-30000)

/*
 * Opens every database into dbi[CART_DB_COUNT] within txn and checks the
 * layout version.  A writer (create) makes what is missing and records
 * the version in a new store.  Returns 0, an LMDB error (MDB_NOTFOUND: a
 * database is missing, so not a cart store), or CART_LAYOUT_OTHER.
 */
int cart_layout_open(MDB_txn *txn, MDB_dbi *dbi, int create,
    uint32_t *version);


#endif /* CART_STORE_LAYOUT_H */
