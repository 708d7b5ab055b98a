#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <lmdb.h>
#include <setjmp.h>
#include <signal.h>
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
    size_t        psize;
    MDB_dbi       dbi[NGX_HTTP_CART_DB_COUNT];
    u_char       *path;
    u_char       *data_path;        /* path/data.mdb */
    unsigned int  max_readers;
    time_t        retry;            /* the next open, when closed */
    time_t        checked;          /* the last look at data.mdb */
    dev_t         dev;              /* the data.mdb that is open */
    ino_t         ino;
    ngx_uint_t    closing;          /* closing after a fault */
    ngx_http_cart_store_slot_t  domains[NGX_HTTP_CART_DOMAIN_CACHE];
} ngx_http_cart_store_t;

/*
 * The fault guard.  While the worker is inside the store (LMDB calls and
 * the copies out of the map), a SIGBUS (a page of the map past the end of
 * a data file that shrank after it was checked) or a SIGSEGV (a corrupt
 * page that points outside the map) jumps back out of it instead of
 * killing the worker.  Read-only LMDB calls take no lock and are never
 * inside malloc() when they touch the map, so leaving one mid-way leaves
 * nothing held; the environment is closed after it.
 */
typedef struct {
    sigjmp_buf              jmp;
    volatile sig_atomic_t   armed;
    volatile sig_atomic_t   signo;
    void *volatile          addr;
    struct sigaction        old_bus;
    struct sigaction        old_segv;
    ngx_uint_t              installed;
} ngx_http_cart_store_guard_t;

typedef ngx_int_t (*ngx_http_cart_store_call_pt)(ngx_log_t *log, void *data);

typedef struct {
    ngx_http_request_t            *r;
    ngx_http_cart_store_read_pt    fn;
    void                          *data;
} ngx_http_cart_store_read_t;


static ngx_http_cart_store_t        ngx_http_cart_store;
static ngx_http_cart_store_guard_t  ngx_http_cart_store_guard;

static const char  *ngx_http_cart_store_dbs[] = {
    CART_DB_DOMAINS, CART_DB_CARTS
};


static void
ngx_http_cart_store_on_fault(int signo, siginfo_t *si, void *context)
{
    ngx_http_cart_store_guard_t  *g = &ngx_http_cart_store_guard;

    if (g->armed) {
        g->armed = 0;
        g->signo = signo;
        g->addr = si->si_addr;
        siglongjmp(g->jmp, 1);
    }

    /*
     * Not inside the store: the previous disposition takes the fault
     * when the instruction runs again, as if this handler were not there.
     */
    (void) sigaction(signo, signo == SIGBUS ? &g->old_bus : &g->old_segv,
                     NULL);

    if (si->si_code <= 0) {
        (void) raise(signo);        /* sent by a process, not a fault */
    }
}


static ngx_int_t
ngx_http_cart_store_guard_install(ngx_log_t *log)
{
    struct sigaction  sa;

    ngx_memzero(&sa, sizeof(struct sigaction));
    sa.sa_sigaction = ngx_http_cart_store_on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;     /* unblocked after the jump */
    sigemptyset(&sa.sa_mask);

    if (sigaction(SIGBUS, &sa, &ngx_http_cart_store_guard.old_bus) == -1
        || sigaction(SIGSEGV, &sa, &ngx_http_cart_store_guard.old_segv) == -1)
    {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "cart_store: sigaction() failed");
        return NGX_ERROR;
    }

    ngx_http_cart_store_guard.installed = 1;

    return NGX_OK;
}


static void
ngx_http_cart_store_guard_remove(void)
{
    if (ngx_http_cart_store_guard.installed) {
        (void) sigaction(SIGBUS, &ngx_http_cart_store_guard.old_bus, NULL);
        (void) sigaction(SIGSEGV, &ngx_http_cart_store_guard.old_segv, NULL);
        ngx_http_cart_store_guard.installed = 0;
    }
}


/*
 * Each handle is forgotten before it is closed, so that a close that
 * faults is not tried again on the same handle.
 */
static ngx_int_t
ngx_http_cart_store_close(ngx_log_t *log, void *data)
{
    MDB_env     *env;
    MDB_txn     *txn;
    MDB_cursor  *cur;

    ngx_memzero(ngx_http_cart_store.domains,
                sizeof(ngx_http_cart_store.domains));

    /* a read-only transaction's cursor outlives it: close it first */
    cur = ngx_http_cart_store.carts;
    txn = ngx_http_cart_store.txn;
    env = ngx_http_cart_store.env;

    ngx_http_cart_store.carts = NULL;
    if (cur) {
        mdb_cursor_close(cur);
    }

    ngx_http_cart_store.txn = NULL;
    if (txn) {
        mdb_txn_abort(txn);
    }

    ngx_http_cart_store.env = NULL;
    if (env) {
        mdb_env_close(env);
    }

    return NGX_OK;
}


static ngx_int_t ngx_http_cart_store_guarded(ngx_log_t *log,
    ngx_http_cart_store_call_pt call, void *data);


/* after a fault: closed, and opened again a second later */
static void
ngx_http_cart_store_faulted(ngx_log_t *log)
{
    ngx_log_error(NGX_LOG_CRIT, log, 0,
                  "cart_store \"%s\": %s at %p while reading the store "
                  "(a data file that shrank, or a corrupt page): closed",
                  ngx_http_cart_store.path,
                  ngx_http_cart_store_guard.signo == SIGBUS
                  ? "SIGBUS" : "SIGSEGV",
                  ngx_http_cart_store_guard.addr);

    ngx_http_cart_store.retry = ngx_time() + NGX_HTTP_CART_STORE_RETRY;

    if (ngx_http_cart_store.closing) {
        /* the close faulted too (the lock file's map): leave it be */
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "cart_store \"%s\": its handles are left open",
                      ngx_http_cart_store.path);
        ngx_http_cart_store.carts = NULL;
        ngx_http_cart_store.txn = NULL;
        ngx_http_cart_store.env = NULL;
        return;
    }

    ngx_http_cart_store.closing = 1;
    (void) ngx_http_cart_store_guarded(log, ngx_http_cart_store_close, NULL);
    ngx_http_cart_store.closing = 0;
}


/* runs call with the fault guard armed: NGX_ERROR when it faulted */
static ngx_int_t
ngx_http_cart_store_guarded(ngx_log_t *log, ngx_http_cart_store_call_pt call,
    void *data)
{
    ngx_int_t  rc;

    if (sigsetjmp(ngx_http_cart_store_guard.jmp, 0)) {
        ngx_http_cart_store_faulted(log);
        return NGX_ERROR;
    }

    ngx_http_cart_store_guard.armed = 1;
    rc = call(log, data);
    ngx_http_cart_store_guard.armed = 0;

    return rc;
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


/*
 * Whether the open data file can be read: it must hold every page that
 * its newest meta page says was written (a shorter file is being
 * truncated or copied over, and a read past its end would fault), and
 * that meta page must not be older than the snapshot that the lock file
 * names (a data file copied over a live store, under the lock file of
 * another).  Called with a renewed transaction, before any data page is
 * touched; reads only the two meta pages.
 */
static ngx_int_t
ngx_http_cart_store_whole(ngx_log_t *log)
{
    off_t              need;
    MDB_envinfo        info;
    struct stat        sb;
    mdb_filehandle_t   fd;

    if (mdb_env_get_fd(ngx_http_cart_store.env, &fd) != 0
        || fstat(fd, &sb) == -1)
    {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "cart_store \"%s\" is unavailable: fstat() of "
                      "data.mdb failed", ngx_http_cart_store.path);
        return NGX_ERROR;
    }

    (void) mdb_env_info(ngx_http_cart_store.env, &info);

    need = (off_t) (info.me_last_pgno + 1) * ngx_http_cart_store.psize;

    if (sb.st_size < need) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "cart_store \"%s\" is unavailable: data.mdb has %O "
                      "bytes, its meta page says %O (truncated, or being "
                      "copied over)", ngx_http_cart_store.path, sb.st_size,
                      need);
        return NGX_ERROR;
    }

    if (info.me_last_txnid < mdb_txn_id(ngx_http_cart_store.txn)) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "cart_store \"%s\" is unavailable: data.mdb ends at "
                      "transaction %uz, lock.mdb says %uz (a data file "
                      "copied over a live store: move a new store into "
                      "place with rename instead)", ngx_http_cart_store.path,
                      info.me_last_txnid,
                      mdb_txn_id(ngx_http_cart_store.txn));
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_cart_store_open(ngx_log_t *log, void *data)
{
    int                rc, dead;
    MDB_env           *env;
    MDB_stat           ms;
    struct stat        sb;
    mdb_filehandle_t   fd;

    ngx_http_cart_store.retry = ngx_time() + NGX_HTTP_CART_STORE_RETRY;
    ngx_http_cart_store.checked = ngx_time();

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

    if (rc == 0) {
        rc = mdb_env_get_fd(env, &fd);
    }

    if (rc == 0 && fstat(fd, &sb) == -1) {
        rc = ngx_errno;
    }

    if (rc != 0) {
        goto failed;
    }

    ngx_http_cart_store.dev = sb.st_dev;
    ngx_http_cart_store.ino = sb.st_ino;

    (void) mdb_env_stat(env, &ms);
    ngx_http_cart_store.psize = ms.ms_psize;

    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &ngx_http_cart_store.txn);
    if (rc != 0) {
        goto failed;
    }

    /* before the first data page is read */
    if (ngx_http_cart_store_whole(log) != NGX_OK) {
        (void) ngx_http_cart_store_close(log, NULL);
        return NGX_ERROR;
    }

    mdb_txn_reset(ngx_http_cart_store.txn);

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

    ngx_log_error(NGX_LOG_INFO, log, 0, "cart_store \"%s\" opened",
                  ngx_http_cart_store.path);

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "cart_store \"%s\" is unavailable: %s%s",
                  ngx_http_cart_store.path, mdb_strerror(rc),
                  rc == MDB_NOTFOUND ? " (not a cart store)" : "");

    (void) ngx_http_cart_store_close(log, NULL);

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

    if (ngx_http_cart_store_guard_install(cycle->log) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a store that is unavailable now is opened by a request after */
    (void) ngx_http_cart_store_guarded(cycle->log, ngx_http_cart_store_open,
                                       NULL);

    return NGX_OK;
}


void
ngx_http_cart_store_exit_worker(ngx_cycle_t *cycle)
{
    if (ngx_http_cart_store_guard.installed) {
        (void) ngx_http_cart_store_guarded(cycle->log,
                                           ngx_http_cart_store_close, NULL);
        ngx_http_cart_store_guard_remove();
    }
}


/*
 * Once a second, look at path/data.mdb: gone (the store is unavailable
 * until it is back), or another file (a writer moved a new store into
 * place: open it).  Returns whether the open data file is to be checked
 * again before it is read.
 */
static ngx_uint_t
ngx_http_cart_store_look(ngx_log_t *log)
{
    struct stat  sb;

    if (ngx_time() == ngx_http_cart_store.checked) {
        return 0;
    }

    ngx_http_cart_store.checked = ngx_time();

    if (stat((char *) ngx_http_cart_store.data_path, &sb) == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "cart_store \"%s\" is unavailable: stat() of "
                      "data.mdb failed", ngx_http_cart_store.path);

        (void) ngx_http_cart_store_close(log, NULL);
        ngx_http_cart_store.retry = ngx_time() + NGX_HTTP_CART_STORE_RETRY;

        return 0;
    }

    if (sb.st_ino != ngx_http_cart_store.ino
        || sb.st_dev != ngx_http_cart_store.dev)
    {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "cart_store \"%s\" was replaced, reopening",
                      ngx_http_cart_store.path);

        (void) ngx_http_cart_store_close(log, NULL);
        ngx_http_cart_store.retry = 0;

        return 0;
    }

    return 1;
}


/* the worker's transaction renewed, checked and ready */
static ngx_int_t
ngx_http_cart_store_begin(ngx_log_t *log)
{
    int         rc;
    ngx_uint_t  check;

    check = ngx_http_cart_store.env ? ngx_http_cart_store_look(log) : 0;

    if (ngx_http_cart_store.env == NULL) {
        if (ngx_http_cart_store.path == NULL
            || ngx_time() < ngx_http_cart_store.retry
            || ngx_http_cart_store_open(log, NULL) != NGX_OK)
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
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "cart_store \"%s\": read transaction: %s",
                      ngx_http_cart_store.path, mdb_strerror(rc));
        goto failed;
    }

    if (check && ngx_http_cart_store_whole(log) != NGX_OK) {
        goto failed;
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
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "cart_store \"%s\": carts cursor: %s",
                      ngx_http_cart_store.path, mdb_strerror(rc));
        goto failed;
    }

    ngx_http_cart_store.txnid = mdb_txn_id(ngx_http_cart_store.txn);

    return NGX_OK;

failed:

    (void) ngx_http_cart_store_close(log, NULL);
    ngx_http_cart_store.retry = ngx_time() + NGX_HTTP_CART_STORE_RETRY;

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_cart_store_read_call(ngx_log_t *log, void *data)
{
    ngx_http_cart_store_read_t *rd = data;

    ngx_int_t  rc;

    if (ngx_http_cart_store_begin(log) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = rd->fn(rd->r, rd->data);

    mdb_txn_reset(ngx_http_cart_store.txn);

    return rc;
}


ngx_int_t
ngx_http_cart_store_read(ngx_http_request_t *r,
    ngx_http_cart_store_read_pt fn, void *data)
{
    ngx_http_cart_store_read_t  rd;

    if (!ngx_http_cart_store_guard.installed) {
        return NGX_ERROR;       /* no cart_store */
    }

    rd.r = r;
    rd.fn = fn;
    rd.data = data;

    return ngx_http_cart_store_guarded(r->connection->log,
                                       ngx_http_cart_store_read_call, &rd);
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
