#include <string.h>

#include "cart_store_layout.h"


const cart_db_t  cart_dbs[CART_DB_COUNT] = {
    { "meta", 0 },
    { "domains", 0 },
    { "carts", 0 },
    { "carts_v1", 0 },
    { "spree_carts", 0 },
    { "spree_created", MDB_DUPSORT },
    { "spree_ids", 0 },
    { "spree_keys", 0 }
};


int
cart_layout_open(MDB_txn *txn, MDB_dbi *dbi, int create, uint32_t *version)
{
    int           rc, i;
    MDB_val       key, val;
    unsigned int  flags;

    *version = 0;
    flags = create ? MDB_CREATE : 0;

    /* the version first: a store of another layout is refused as such */
    rc = mdb_dbi_open(txn, cart_dbs[CART_DB_META].name, flags,
                      &dbi[CART_DB_META]);
    if (rc != 0) {
        return rc;
    }

    key.mv_data = CART_META_LAYOUT_KEY;
    key.mv_size = sizeof(CART_META_LAYOUT_KEY) - 1;

    rc = mdb_get(txn, dbi[CART_DB_META], &key, &val);

    if (rc == MDB_NOTFOUND && create) {
        *version = CART_LAYOUT_VERSION;
        val.mv_data = version;
        val.mv_size = sizeof(uint32_t);
        rc = mdb_put(txn, dbi[CART_DB_META], &key, &val, 0);

    } else if (rc == 0) {
        if (val.mv_size == sizeof(uint32_t)) {
            memcpy(version, val.mv_data, sizeof(uint32_t));
        }

        if (*version != CART_LAYOUT_VERSION) {
            return CART_LAYOUT_OTHER;
        }
    }

    for (i = CART_DB_META + 1; rc == 0 && i < CART_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, cart_dbs[i].name, cart_dbs[i].flags | flags,
                          &dbi[i]);
    }

    return rc;
}
