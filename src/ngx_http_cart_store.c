#include <lmdb.h>
#include <sys/stat.h>

#include "ngx_http_cart_store.h"


#define NGX_HTTP_CART_STORE_RETRY  1        /* seconds between opens */
#define NGX_HTTP_CART_DOMAIN_CACHE  256

enum {
    NGX_HTTP_CART_DB_DOMAINS = 0,
    NGX_HTTP_CART_DB_CARTS,
    NGX_HTTP_CART_DB_COUNT
};

/*
 * Where a domain record is in the map, for one snapshot: the active-carts
 * routes look up every domain of a device on each request, and while no
 * writer commits, the same snapshot (transaction id) is read again and
 * again, with its pages where they were.
 */
typedef struct {
    size_t        txnid;            /* 0: empty */
    size_t        len;
    u_char        name[CART_DOMAIN_MAX_LEN];
    ngx_str_t     value;
} ngx_http_cart_store_slot_t;

typedef struct {
    MDB_env      *env;
    MDB_txn      *txn;              /* reset between requests */
    MDB_cursor   *carts;            /* renewed with txn */
    size_t        txnid;            /* the snapshot being read */
    MDB_dbi       dbi[NGX_HTTP_CART_DB_COUNT];
    u_char       *path;
    u_char       *data_path;        /* path/data.mdb */
    unsigned int  max_readers;
    time_t        retry;            /* the next open, when closed */
    time_t        checked;          /* the last look for a new data.mdb */
    dev_t         dev;              /* the data.mdb that is open */
    ino_t         ino;
    ngx_http_cart_store_slot_t  domains[NGX_HTTP_CART_DOMAIN_CACHE];
} ngx_http_cart_store_t;


static ngx_http_cart_store_t  ngx_http_cart_store;

static const char  *ngx_http_cart_store_dbs[] = {
    CART_DB_DOMAINS, CART_DB_CARTS
};


static void
ngx_http_cart_store_close(void)
{
    ngx_memzero(ngx_http_cart_store.domains,
                sizeof(ngx_http_cart_store.domains));

    /* a read-only transaction's cursor outlives it: close it first */
    if (ngx_http_cart_store.carts) {
        mdb_cursor_close(ngx_http_cart_store.carts);
        ngx_http_cart_store.carts = NULL;
    }

    if (ngx_http_cart_store.txn) {
        mdb_txn_abort(ngx_http_cart_store.txn);
        ngx_http_cart_store.txn = NULL;
    }

    if (ngx_http_cart_store.env) {
        mdb_env_close(ngx_http_cart_store.env);
        ngx_http_cart_store.env = NULL;
    }
}


/* opens the handles and checks the layout in a first transaction */
static int
ngx_http_cart_store_handles(MDB_env *env, ngx_log_t *log)
{
    int        rc, i;
    uint32_t   version;
    MDB_dbi    meta;
    MDB_txn   *txn;
    MDB_val    key, val;

    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_dbi_open(txn, CART_DB_META, 0, &meta);

    for (i = 0; rc == 0 && i < NGX_HTTP_CART_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, ngx_http_cart_store_dbs[i], 0,
                          &ngx_http_cart_store.dbi[i]);
    }

    if (rc == 0) {
        key.mv_data = CART_META_LAYOUT_KEY;
        key.mv_size = sizeof(CART_META_LAYOUT_KEY) - 1;

        rc = mdb_get(txn, meta, &key, &val);
    }

    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }

    version = 0;
    if (val.mv_size == sizeof(version)) {
        ngx_memcpy(&version, val.mv_data, sizeof(version));
    }

    if (version != CART_LAYOUT_VERSION) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "cart_store \"%s\" has layout %uD, this module reads "
                      "layout %d", ngx_http_cart_store.path, version,
                      CART_LAYOUT_VERSION);
        mdb_txn_abort(txn);
        return MDB_INCOMPATIBLE;
    }

    /* committing a read transaction keeps its handles for later ones */
    return mdb_txn_commit(txn);
}


static ngx_int_t
ngx_http_cart_store_open(ngx_log_t *log)
{
    int                rc, dead;
    MDB_env           *env;
    struct stat        sb;
    mdb_filehandle_t   fd;

    ngx_http_cart_store.retry = ngx_time() + NGX_HTTP_CART_STORE_RETRY;

    rc = mdb_env_create(&env);
    if (rc != 0) {
        goto failed;
    }

    ngx_http_cart_store.env = env;

    rc = mdb_env_set_maxreaders(env, ngx_http_cart_store.max_readers);
    if (rc == 0) {
        rc = mdb_env_set_maxdbs(env, CART_MAX_DBS);
    }

    if (rc == 0) {
        rc = mdb_env_open(env, (char *) ngx_http_cart_store.path,
                          MDB_RDONLY | MDB_NOTLS, 0);
    }

    if (rc != 0) {
        goto failed;
    }

    /* slots of readers that died without releasing them */
    dead = 0;
    mdb_reader_check(env, &dead);

    if (dead) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "cart_store \"%s\": cleared %d stale reader slots",
                      ngx_http_cart_store.path, dead);
    }

    rc = ngx_http_cart_store_handles(env, log);
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &ngx_http_cart_store.txn);
    if (rc != 0) {
        goto failed;
    }

    mdb_txn_reset(ngx_http_cart_store.txn);

    if (mdb_env_get_fd(env, &fd) == 0 && fstat(fd, &sb) == 0) {
        ngx_http_cart_store.dev = sb.st_dev;
        ngx_http_cart_store.ino = sb.st_ino;
    }

    ngx_http_cart_store.checked = ngx_time();

    ngx_log_error(NGX_LOG_INFO, log, 0, "cart_store \"%s\" opened",
                  ngx_http_cart_store.path);

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "cart_store \"%s\" is unavailable: %s%s",
                  ngx_http_cart_store.path, mdb_strerror(rc),
                  rc == MDB_NOTFOUND ? " (not a cart store)" : "");

    ngx_http_cart_store_close();

    return NGX_ERROR;
}


ngx_int_t
ngx_http_cart_store_init_worker(ngx_cycle_t *cycle, ngx_str_t *path)
{
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    /* all workers, the ones of a reload still finishing, and cartctl */
    ngx_http_cart_store.max_readers =
                            (unsigned int) ngx_max(2 * ccf->worker_processes
                                                   + 32, 126);

    ngx_http_cart_store.path = ngx_pnalloc(cycle->pool, path->len + 1);
    if (ngx_http_cart_store.path == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_cpystrn(ngx_http_cart_store.path, path->data, path->len + 1);

    ngx_http_cart_store.data_path = ngx_pnalloc(cycle->pool, path->len
                                                + sizeof("/data.mdb"));
    if (ngx_http_cart_store.data_path == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_sprintf(ngx_http_cart_store.data_path, "%V/data.mdb%Z", path);

    /* a store that is missing now is opened by the first request after */
    (void) ngx_http_cart_store_open(cycle->log);

    return NGX_OK;
}


void
ngx_http_cart_store_exit_worker(void)
{
    ngx_http_cart_store_close();
}


/*
 * A writer may build a new store and move it into place: once a second,
 * look whether path/data.mdb is still the file that is open.
 */
static void
ngx_http_cart_store_check(ngx_log_t *log)
{
    struct stat  sb;

    if (ngx_time() == ngx_http_cart_store.checked) {
        return;
    }

    ngx_http_cart_store.checked = ngx_time();

    if (stat((char *) ngx_http_cart_store.data_path, &sb) == 0
        && (sb.st_ino != ngx_http_cart_store.ino
            || sb.st_dev != ngx_http_cart_store.dev))
    {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "cart_store \"%s\" was replaced, reopening",
                      ngx_http_cart_store.path);

        ngx_http_cart_store_close();
        ngx_http_cart_store.retry = 0;
    }
}


ngx_int_t
ngx_http_cart_store_begin(ngx_http_request_t *r)
{
    int  rc;

    if (ngx_http_cart_store.txn) {
        ngx_http_cart_store_check(r->connection->log);
    }

    if (ngx_http_cart_store.txn == NULL) {
        if (ngx_http_cart_store.path == NULL
            || ngx_time() < ngx_http_cart_store.retry
            || ngx_http_cart_store_open(r->connection->log) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    rc = mdb_txn_renew(ngx_http_cart_store.txn);

    if (rc == MDB_MAP_RESIZED) {
        /* a writer grew the map: adopt its size (and maybe address) */
        ngx_memzero(ngx_http_cart_store.domains,
                    sizeof(ngx_http_cart_store.domains));

        rc = mdb_env_set_mapsize(ngx_http_cart_store.env, 0);
        if (rc == 0) {
            rc = mdb_txn_renew(ngx_http_cart_store.txn);
        }
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cart_store \"%s\": read transaction: %s",
                      ngx_http_cart_store.path, mdb_strerror(rc));
        ngx_http_cart_store_close();
        return NGX_ERROR;
    }

    /*
     * One cursor on the carts for the worker's life (opening one costs a
     * malloc()): a device's session and carts are neighbours, and a
     * positioned cursor finds a key on its own page without a new search.
     */
    if (ngx_http_cart_store.carts) {
        rc = mdb_cursor_renew(ngx_http_cart_store.txn,
                              ngx_http_cart_store.carts);

    } else {
        rc = mdb_cursor_open(ngx_http_cart_store.txn,
                             ngx_http_cart_store.dbi[NGX_HTTP_CART_DB_CARTS],
                             &ngx_http_cart_store.carts);
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cart_store \"%s\": carts cursor: %s",
                      ngx_http_cart_store.path, mdb_strerror(rc));
        ngx_http_cart_store_close();
        return NGX_ERROR;
    }

    ngx_http_cart_store.txnid = mdb_txn_id(ngx_http_cart_store.txn);

    return NGX_OK;
}


void
ngx_http_cart_store_end(void)
{
    if (ngx_http_cart_store.txn) {
        mdb_txn_reset(ngx_http_cart_store.txn);
    }
}


/* the value, in place: valid until the transaction is reset */
static ngx_int_t
ngx_http_cart_store_get(ngx_http_request_t *r, ngx_uint_t db, u_char *key,
    size_t key_len, ngx_str_t *value)
{
    int      rc;
    MDB_val  k, v;

    k.mv_data = key;
    k.mv_size = key_len;

    /* from a device's session, the cursor finds its cart on the same page */
    if (db == NGX_HTTP_CART_DB_CARTS) {
        rc = mdb_cursor_get(ngx_http_cart_store.carts, &k, &v, MDB_SET_KEY);

    } else {
        rc = mdb_get(ngx_http_cart_store.txn, ngx_http_cart_store.dbi[db], &k,
                     &v);
    }

    if (rc == MDB_NOTFOUND) {
        return NGX_DECLINED;
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cart_store \"%s\": get from %s: %s",
                      ngx_http_cart_store.path, ngx_http_cart_store_dbs[db],
                      mdb_strerror(rc));
        return NGX_ERROR;
    }

    value->data = v.mv_data;
    value->len = v.mv_size;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cart_store_corrupt(ngx_http_request_t *r, const char *what,
    ngx_str_t *key)
{
    size_t  i, len;
    u_char  buf[CART_CART_KEY_MAX];

    /* a carts key reads "device id/domain" */
    len = ngx_min(key->len, sizeof(buf));

    for (i = 0; i < len; i++) {
        buf[i] = key->data[i] ? key->data[i] : '/';
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "cart_store \"%s\": corrupt %s record \"%*s\" left out",
                  ngx_http_cart_store.path, what, len, buf);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_cart_store_domain(ngx_http_request_t *r, ngx_str_t *domain,
    ngx_http_cart_domain_t *out)
{
    ngx_int_t                    rc;
    ngx_str_t                    value;
    ngx_http_cart_store_slot_t  *slot;

    slot = &ngx_http_cart_store.domains[ngx_hash_key(domain->data,
                                                     domain->len)
                                        % NGX_HTTP_CART_DOMAIN_CACHE];

    if (slot->txnid == ngx_http_cart_store.txnid && slot->len == domain->len
        && ngx_memcmp(slot->name, domain->data, domain->len) == 0)
    {
        value = slot->value;

    } else {
        rc = ngx_http_cart_store_get(r, NGX_HTTP_CART_DB_DOMAINS,
                                     domain->data, domain->len, &value);
        if (rc != NGX_OK) {
            return rc;
        }

        if (domain->len <= CART_DOMAIN_MAX_LEN) {
            slot->txnid = ngx_http_cart_store.txnid;
            slot->len = domain->len;
            ngx_memcpy(slot->name, domain->data, domain->len);
            slot->value = value;
        }
    }

    if (cart_domain_rec_read(value.data, value.len, &out->rec) != 0) {
        return ngx_http_cart_store_corrupt(r, "domain", domain);
    }

    out->v1_empty.len = out->rec.v1_empty_len;
    out->v1_empty.data = value.data + value.len - out->rec.v1_empty_len;

    return NGX_OK;
}


ngx_int_t
ngx_http_cart_store_device(ngx_http_request_t *r, ngx_str_t *device_id,
    cart_device_rec_t *out)
{
    ngx_int_t   rc;
    ngx_str_t   value, key;
    u_char      buf[CART_DEVICE_ID_MAX_LEN + 1];

    /* the session's key: "device id" NUL, first of the device's range */
    key.data = buf;
    key.len = cart_cart_key((char *) device_id->data, device_id->len, "", 0,
                            buf);

    rc = ngx_http_cart_store_get(r, NGX_HTTP_CART_DB_CARTS, key.data, key.len,
                                 &value);
    if (rc != NGX_OK) {
        return rc;
    }

    if (cart_device_rec_read(value.data, value.len, out) != 0) {
        return ngx_http_cart_store_corrupt(r, "device", &key);
    }

    return NGX_OK;
}


/* the header and both views of a stored cart value, in place */
static ngx_int_t
ngx_http_cart_store_cart_parts(u_char *value, size_t len,
    ngx_http_cart_cart_t *out)
{
    if (cart_cart_rec_read(value, len, &out->rec) != 0) {
        return NGX_ERROR;
    }

    out->v2.data = value + sizeof(cart_cart_rec_t);
    out->v2.len = out->rec.v2_len;
    out->v1.data = out->v2.data + out->v2.len;
    out->v1.len = out->rec.v1_len;

    return NGX_OK;
}


ngx_int_t
ngx_http_cart_store_cart(ngx_http_request_t *r, ngx_str_t *device_id,
    ngx_str_t *domain, ngx_http_cart_cart_t *out)
{
    ngx_int_t   rc;
    ngx_str_t   value, key;
    u_char      buf[CART_CART_KEY_MAX];

    key.data = buf;
    key.len = cart_cart_key((char *) device_id->data, device_id->len,
                            (char *) domain->data, domain->len, buf);

    rc = ngx_http_cart_store_get(r, NGX_HTTP_CART_DB_CARTS, key.data, key.len,
                                 &value);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_cart_store_cart_parts(value.data, value.len, out) != NGX_OK) {
        return ngx_http_cart_store_corrupt(r, "cart", &key);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_cart_store_device_carts(ngx_http_request_t *r, ngx_str_t *device_id,
    ngx_http_cart_store_cart_pt handler, void *data)
{
    int                    rc;
    size_t                 prefix;
    MDB_val                k, v;
    ngx_int_t              hrc;
    ngx_str_t              key, domain;
    MDB_cursor            *cur;
    ngx_http_cart_cart_t   cart;
    u_char                 buf[CART_DEVICE_ID_MAX_LEN + 1];

    /* the key range of a device: "device id" NUL, its session first */
    prefix = cart_cart_key((char *) device_id->data, device_id->len, "", 0,
                           buf);

    cur = ngx_http_cart_store.carts;
    k.mv_data = buf;
    k.mv_size = prefix;

    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size >= prefix && ngx_memcmp(k.mv_data, buf, prefix)
                                           == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    {
        if (k.mv_size == prefix) {
            continue;   /* the session */
        }

        domain.data = (u_char *) k.mv_data + prefix;
        domain.len = k.mv_size - prefix;

        if (!cart_domain_key_valid((char *) domain.data, domain.len)
            || ngx_http_cart_store_cart_parts(v.mv_data, v.mv_size, &cart)
               != NGX_OK)
        {
            key.data = k.mv_data;
            key.len = k.mv_size;
            (void) ngx_http_cart_store_corrupt(r, "cart", &key);
            continue;
        }

        hrc = handler(r, &domain, &cart, data);
        if (hrc != NGX_OK) {
            return hrc;
        }
    }

    if (rc == 0 || rc == MDB_NOTFOUND) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "cart_store \"%s\": carts of a device: %s",
                  ngx_http_cart_store.path, mdb_strerror(rc));

    return NGX_ERROR;
}
