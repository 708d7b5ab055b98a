/* cartctl: the store's opening, and its reads and writes of records. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cartctl.h"


#define CARTCTL_DEFAULT_MAP_SIZE  (16ULL << 30)


const char *
cartctl_reason(cartctl_store_t *st, int rc, char *buf, size_t len)
{
    MDB_envinfo  info;

    if (rc == MDB_MAP_FULL && mdb_env_info(st->env, &info) == 0) {
        snprintf(buf, len, "map full: use a larger --map-size (now %zu)",
                 info.me_mapsize);
        return buf;
    }

    return mdb_strerror(rc);
}


int
cartctl_store_error(cartctl_store_t *st, const char *what, int rc)
{
    char  buf[128];

    fprintf(stderr, "cartctl: %s: %s\n", what,
            cartctl_reason(st, rc, buf, sizeof(buf)));

    return CARTCTL_STORE;
}


/*
 * The store's "views", noted when a writer makes it; an exit status.  A
 * store made without plain views cannot be told to keep them: its records
 * would be of both kinds.
 */
static int
cartctl_views(cartctl_store_t *st, MDB_txn *txn, const char *dir, int mode,
    int keep_plain)
{
    int      rc;
    MDB_val  key, val;

    key.mv_data = CART_META_VIEWS_KEY;
    key.mv_size = sizeof(CART_META_VIEWS_KEY) - 1;

    rc = mdb_get(txn, st->dbi[CART_DB_META], &key, &val);

    if (rc == MDB_NOTFOUND && mode != CARTCTL_READ) {
        st->views = keep_plain ? CART_VIEWS_PLAIN_KEPT : 0;
        val.mv_data = &st->views;
        val.mv_size = sizeof(uint32_t);
        rc = mdb_put(txn, st->dbi[CART_DB_META], &key, &val, 0);

    } else if (rc == 0 && val.mv_size == sizeof(uint32_t)) {
        memcpy(&st->views, val.mv_data, sizeof(uint32_t));

    } else if (rc == 0) {
        fprintf(stderr, "cartctl: %s: its \"views\" record is corrupt\n", dir);
        return CARTCTL_STORE;
    }

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return cartctl_store_error(st, "views", rc);
    }

    if (keep_plain && !(st->views & CART_VIEWS_PLAIN_KEPT)) {
        fprintf(stderr, "cartctl: %s was made without plain views: "
                "--keep-plain is for a new store (dump it into one)\n", dir);
        return CARTCTL_USAGE;
    }

    cart_record_keep_plain((st->views & CART_VIEWS_PLAIN_KEPT) != 0);

    return CARTCTL_OK;
}


int
cartctl_open(cartctl_store_t *st, const char *dir, size_t map_size,
    int mode, int keep_plain)
{
    int           rc;
    char          path[4096];
    uint32_t      version;
    MDB_txn      *txn;
    struct stat   sb;

    snprintf(path, sizeof(path), "%s/data.mdb", dir);

    if (stat(path, &sb) != 0) {
        if (mode == CARTCTL_READ) {
            fprintf(stderr, "cartctl: no store at %s\n", dir);
            return CARTCTL_STORE;
        }

        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "cartctl: mkdir %s: %s\n", dir, strerror(errno));
            return CARTCTL_STORE;
        }

        if (map_size == 0) {
            map_size = CARTCTL_DEFAULT_MAP_SIZE;
        }
    }

    rc = mdb_env_create(&st->env);
    if (rc == 0 && map_size) {
        rc = mdb_env_set_mapsize(st->env, map_size);
    }

    if (rc == 0) {
        rc = mdb_env_set_maxdbs(st->env, CART_MAX_DBS);
    }

    if (rc == 0) {
        rc = mdb_env_open(st->env, dir,
                          mode == CARTCTL_READ ? MDB_RDONLY
                          : mode == CARTCTL_WRITE_MAP ? MDB_WRITEMAP : 0,
                          0644);
    }

    if (rc != 0) {
        return cartctl_store_error(st, dir, rc);
    }

    /* a writer clears the slots of dead readers; stat shows them */
    if (mode != CARTCTL_READ) {
        mdb_reader_check(st->env, NULL);
    }

    rc = mdb_txn_begin(st->env, NULL, mode == CARTCTL_READ ? MDB_RDONLY : 0,
                       &txn);
    if (rc != 0) {
        return cartctl_store_error(st, "begin", rc);
    }

    rc = cart_layout_open(txn, st->dbi, mode != CARTCTL_READ, &version);

    if (rc == CART_LAYOUT_OTHER) {
        mdb_txn_abort(txn);
        fprintf(stderr, "cartctl: %s has store layout %u, this cartctl "
                "writes layout %u\n", dir, version, CART_LAYOUT_VERSION);
        return CARTCTL_STORE;
    }

    if (rc != 0) {
        mdb_txn_abort(txn);
        fprintf(stderr, "cartctl: %s is not a cart store: %s\n", dir,
                mdb_strerror(rc));
        return CARTCTL_STORE;
    }

    rc = cartctl_views(st, txn, dir, mode, keep_plain);
    if (rc != CARTCTL_OK) {
        mdb_txn_abort(txn);
        return rc;
    }

    rc = mdb_txn_commit(txn);

    return rc ? cartctl_store_error(st, "commit", rc) : CARTCTL_OK;
}


/* a put that leaves an identical value alone, so re-imports are no-ops */
static int
cartctl_put(MDB_txn *txn, MDB_dbi dbi, const unsigned char *k, size_t k_len,
    const unsigned char *v, size_t v_len)
{
    int      rc;
    MDB_val  key, val, old;

    key.mv_data = (void *) k;
    key.mv_size = k_len;

    rc = mdb_get(txn, dbi, &key, &old);

    if (rc == 0 && old.mv_size == v_len && memcmp(old.mv_data, v, v_len) == 0)
    {
        return 0;
    }

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }

    val.mv_data = (void *) v;
    val.mv_size = v_len;

    /*
     * A new key after all others (an import in key order) is appended:
     * LMDB then leaves the page before it full, where a put splits it and
     * leaves it two thirds full with records of a third of a page.  Not
     * last, it is refused as it was (MDB_KEYEXIST), and put.
     */
    if (rc == MDB_NOTFOUND) {
        rc = mdb_put(txn, dbi, &key, &val, MDB_APPEND);

        if (rc != MDB_KEYEXIST) {
            return rc;
        }
    }

    return mdb_put(txn, dbi, &key, &val, 0);
}


/* removes the keys that begin with prefix */
static int
cartctl_del_prefix(MDB_txn *txn, MDB_dbi dbi, const unsigned char *prefix,
    size_t len)
{
    int          rc;
    MDB_val      key, val;
    MDB_cursor  *cur;

    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0) {
        return rc;
    }

    key.mv_data = (void *) prefix;
    key.mv_size = len;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && key.mv_size >= len
         && memcmp(key.mv_data, prefix, len) == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }
    }

    mdb_cursor_close(cur);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* a key removed, with the keys that begin with it where it cascades */
static int
cartctl_remove_key(MDB_txn *txn, MDB_dbi dbi, int cascade,
    const unsigned char *key, size_t key_len)
{
    int      rc;
    MDB_val  k;

    if (cascade) {
        return cartctl_del_prefix(txn, dbi, key, key_len);
    }

    k.mv_data = (void *) key;
    k.mv_size = key_len;

    rc = mdb_del(txn, dbi, &k, NULL);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


int
cartctl_remove(MDB_txn *txn, cartctl_store_t *st, const cart_kind_t *kind,
    const unsigned char *key, size_t key_len)
{
    int  rc;

    /* a kind found by its id: key is the id's, in kind->ids */
    if (kind->ids != CART_DB_NONE) {
        return cartctl_remove_key(txn, st->dbi[kind->ids], 0, key, key_len);
    }

    rc = cartctl_remove_key(txn, st->dbi[kind->db], kind->cascade, key,
                            key_len);

    if (rc == 0 && kind->part != CART_DB_NONE) {
        rc = cartctl_remove_key(txn, st->dbi[kind->part], kind->cascade, key,
                                key_len);
    }

    return rc;
}


/* an entry removed: a duplicate by its value, else its key */
static int
cartctl_del_entry(MDB_txn *txn, cartctl_store_t *st, cart_entry_t *entry)
{
    int      rc;
    MDB_val  key, val;

    key.mv_data = (void *) entry->key;
    key.mv_size = entry->key_len;
    val.mv_data = (void *) entry->value;
    val.mv_size = entry->value_len;

    rc = mdb_del(txn, st->dbi[entry->db], &key, entry->value ? &val : NULL);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


int
cartctl_stored(MDB_txn *txn, cartctl_store_t *st, const cart_kind_t *kind,
    const unsigned char *id_key, size_t id_key_len, cart_entry_t *entries,
    unsigned char *buf, size_t *n)
{
    int      rc;
    MDB_val  key, val;

    *n = 0;
    key.mv_data = (void *) id_key;
    key.mv_size = id_key_len;

    rc = mdb_get(txn, st->dbi[kind->ids], &key, &val);

    if (rc == 0) {
        *n = kind->stored(id_key, id_key_len, val.mv_data, val.mv_size,
                          entries, buf);
    }

    return rc == MDB_NOTFOUND ? 0 : rc;
}


/*
 * The version stored under a record's id, removed (its entry and index
 * entries): unless it is the record itself, which is left as it is.
 */
static int
cartctl_unstore(MDB_txn *txn, cartctl_store_t *st, cart_record_t *rec,
    int *same)
{
    int            rc;
    size_t         i, n;
    MDB_val        key, val;
    cart_entry_t   old[2];
    unsigned char  buf[CART_KEY_MAX * 3];

    *same = 0;

    rc = cartctl_stored(txn, st, rec->kind, rec->id_key, rec->id_key_len,
                        old, buf, &n);

    if (rc != 0 || n == 0) {
        return rc;
    }

    if (!rec->deleted && old[0].key_len == rec->key_len
        && memcmp(old[0].key, rec->key, rec->key_len) == 0)
    {
        key.mv_data = rec->key;
        key.mv_size = rec->key_len;

        rc = mdb_get(txn, st->dbi[rec->kind->db], &key, &val);

        if (rc == 0 && val.mv_size == rec->value_len
            && memcmp(val.mv_data, rec->value, rec->value_len) == 0)
        {
            *same = 1;
            return 0;
        }
    }

    for (i = 0; i < n; i++) {
        rc = cartctl_del_entry(txn, st, &old[i]);
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


int
cartctl_apply(MDB_txn *txn, cartctl_store_t *st, cart_record_t *rec,
    char *err, size_t err_len, int *store_rc)
{
    int           rc, same;
    size_t        i;
    MDB_val       key, val;
    cart_need_t  *need;

    rc = 0;
    same = 0;

    for (i = 0; !rec->deleted && i < rec->nneeds; i++) {
        need = &rec->needs[i];
        key.mv_data = need->key;
        key.mv_size = need->key_len;

        rc = mdb_get(txn, st->dbi[need->db], &key, &val);

        if (rc == MDB_NOTFOUND) {
            snprintf(err, err_len, need->missing, (int) need->name_len,
                     (char *) need->key);
            return CARTCTL_INVALID;
        }

        if (rc != 0) {
            break;
        }
    }

    /* a kind found by its id: the version stored under it goes first */
    if (rc == 0 && rec->kind->ids != CART_DB_NONE) {
        rc = cartctl_unstore(txn, st, rec, &same);
    }

    if (rc == 0 && rec->deleted) {
        rc = (rec->kind->ids != CART_DB_NONE)
             ? cartctl_remove(txn, st, rec->kind, rec->id_key,
                              rec->id_key_len)
             : cartctl_remove(txn, st, rec->kind, rec->key, rec->key_len);

    } else if (rc == 0 && !same) {
        rc = cartctl_put(txn, st->dbi[rec->kind->db], rec->key, rec->key_len,
                         rec->value, rec->value_len);

        for (i = 0; rc == 0 && i < rec->nindex; i++) {
            rc = cartctl_put(txn, st->dbi[rec->index[i].db],
                             rec->index[i].key, rec->index[i].key_len,
                             rec->index[i].value, rec->index[i].value_len);
        }
    }

    *store_rc = rc;

    return rc == 0 ? CARTCTL_OK : CARTCTL_STORE;
}


int
cartctl_walk(cartctl_store_t *st, cartctl_each_pt each, void *data)
{
    int                  rc;
    MDB_val              key, val;
    MDB_txn             *txn;
    MDB_cursor          *cur;
    const cart_kind_t   *kind, *of;

    rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    for (kind = cart_kinds; rc == 0 && kind->name; kind++) {

        /* a database that an earlier kind shares was walked with it */
        if (kind != cart_kinds && kind[-1].db == kind->db) {
            continue;
        }

        rc = mdb_cursor_open(txn, st->dbi[kind->db], &cur);
        if (rc != 0) {
            break;
        }

        while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
            of = cart_kind_of(kind->db, key.mv_data, key.mv_size);

            if (of) {
                each(of, &key, &val, data);
            }
        }

        mdb_cursor_close(cur);

        rc = (rc == MDB_NOTFOUND) ? 0 : rc;
    }

    mdb_txn_abort(txn);

    return rc;
}
