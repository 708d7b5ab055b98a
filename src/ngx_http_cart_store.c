#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <lmdb.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>

#include "cart_store_layout.h"
#include "ngx_http_cart_store.h"


#define NGX_HTTP_CART_STORE_RETRY  1        /* seconds between opens */
#define NGX_HTTP_CART_DOMAIN_CACHE  256
#define NGX_HTTP_CART_KEY_MAX      511      /* LMDB's longest key */

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

/*
 * A worker's store.  Its cursors, one a database, live as long as the
 * environment (opening one costs a malloc()); a cursor is renewed when a
 * request first uses it in its transaction, and keeps its place in the
 * B-tree, so that a key near the last one is found on the same page.
 */
typedef struct {
    MDB_env      *env;
    MDB_txn      *txn;              /* reset between requests */
    ngx_uint_t    serial;           /* of the request's transaction */
    size_t        txnid;            /* the snapshot being read */
    size_t        psize;
    MDB_dbi       dbi[CART_DB_COUNT];
    MDB_cursor   *cursor[CART_DB_COUNT];
    ngx_uint_t    renewed[CART_DB_COUNT];   /* the serial it is valid for */
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
    ngx_uint_t   i;
    MDB_env     *env;
    MDB_txn     *txn;
    MDB_cursor  *cur;

    ngx_memzero(ngx_http_cart_store.domains,
                sizeof(ngx_http_cart_store.domains));
    ngx_memzero(ngx_http_cart_store.renewed,
                sizeof(ngx_http_cart_store.renewed));

    /* a read-only transaction's cursors outlive it: close them first */
    for (i = 0; i < CART_DB_COUNT; i++) {
        cur = ngx_http_cart_store.cursor[i];
        ngx_http_cart_store.cursor[i] = NULL;

        if (cur) {
            mdb_cursor_close(cur);
        }
    }

    txn = ngx_http_cart_store.txn;
    env = ngx_http_cart_store.env;

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
        ngx_memzero(ngx_http_cart_store.cursor,
                    sizeof(ngx_http_cart_store.cursor));
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
    int        rc;
    uint32_t   version;
    MDB_txn   *txn;

    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = cart_layout_open(txn, ngx_http_cart_store.dbi, 0, &version);

    if (rc == CART_LAYOUT_OTHER) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "cart_store \"%s\" has layout %uD, this module reads "
                      "layout %d", ngx_http_cart_store.path, version,
                      CART_LAYOUT_VERSION);
        rc = MDB_INCOMPATIBLE;
    }

    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
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

    ngx_http_cart_store.serial++;
    ngx_http_cart_store.txnid = mdb_txn_id(ngx_http_cart_store.txn);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "cart store: reading snapshot %uz",
                   ngx_http_cart_store.txnid);

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


/* a line of mdb_reader_list(): a header, then one a live reader */
static int
ngx_http_cart_store_reader(const char *msg, void *ctx)
{
    ngx_uint_t  *lines = ctx;

    if (msg[0] != '(') {        /* not "(no active readers)" */
        (*lines)++;
    }

    return 0;
}



/*
 * A value of "meta" in the open transaction: NGX_OK (copied into buf when
 * it has exactly len bytes), or NGX_DECLINED when it is not there.
 */
static ngx_int_t
ngx_http_cart_store_meta(const char *name, void *buf, size_t len)
{
    MDB_val  key, val;

    key.mv_data = (void *) name;
    key.mv_size = ngx_strlen(name);

    if (mdb_get(ngx_http_cart_store.txn,
                ngx_http_cart_store.dbi[CART_DB_META], &key, &val) != 0)
    {
        return NGX_DECLINED;
    }

    if (buf && val.mv_size == len) {
        ngx_memcpy(buf, val.mv_data, len);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_cart_store_read_info(ngx_http_request_t *r, void *data)
{
    ngx_http_cart_store_info_t *info = data;

    ngx_uint_t         lines;
    MDB_envinfo        ei;
    struct stat        sb;
    mdb_filehandle_t   fd;

    if (mdb_env_info(ngx_http_cart_store.env, &ei) != 0
        || mdb_env_get_fd(ngx_http_cart_store.env, &fd) != 0
        || fstat(fd, &sb) == -1)
    {
        return NGX_ERROR;
    }

    lines = 0;
    if (mdb_reader_list(ngx_http_cart_store.env, ngx_http_cart_store_reader,
                        &lines) < 0)
    {
        return NGX_ERROR;
    }

    info->follows = ngx_http_cart_store_meta(CART_META_PG_SLOT_KEY, NULL, 0)
                    == NGX_OK;

    if (info->follows) {
        (void) ngx_http_cart_store_meta(CART_META_PG_LSN_KEY,
                                        &info->follow_lsn, sizeof(uint64_t));
        (void) ngx_http_cart_store_meta(CART_META_PG_COMMIT_KEY,
                                        &info->follow_commit_us,
                                        sizeof(int64_t));
        (void) ngx_http_cart_store_meta(CART_META_PG_SKIPPED_KEY,
                                        &info->follow_skipped,
                                        sizeof(uint64_t));
    }

    info->open = 1;
    info->txnid = ei.me_last_txnid;
    info->age = ngx_max(ngx_time() - sb.st_mtime, 0);
    info->map_size = ei.me_mapsize;
    info->map_used = (ei.me_last_pgno + 1) * ngx_http_cart_store.psize;
    info->readers = lines ? lines - 1 : 0;
    info->max_readers = ei.me_maxreaders;

    return NGX_OK;
}


ngx_int_t
ngx_http_cart_store_info(ngx_http_request_t *r,
    ngx_http_cart_store_info_t *info)
{
    return ngx_http_cart_store_read(r, ngx_http_cart_store_read_info, info);
}


/* the database's cursor, renewed for this request's transaction */
static MDB_cursor *
ngx_http_cart_store_cursor(ngx_http_request_t *r, cart_db_e db)
{
    int  rc;

    if (ngx_http_cart_store.renewed[db] == ngx_http_cart_store.serial) {
        return ngx_http_cart_store.cursor[db];
    }

    if (ngx_http_cart_store.cursor[db]) {
        rc = mdb_cursor_renew(ngx_http_cart_store.txn,
                              ngx_http_cart_store.cursor[db]);

    } else {
        rc = mdb_cursor_open(ngx_http_cart_store.txn,
                             ngx_http_cart_store.dbi[db],
                             &ngx_http_cart_store.cursor[db]);
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cart_store \"%s\": cursor on %s: %s",
                      ngx_http_cart_store.path, cart_dbs[db].name,
                      mdb_strerror(rc));
        return NULL;
    }

    ngx_http_cart_store.renewed[db] = ngx_http_cart_store.serial;

    return ngx_http_cart_store.cursor[db];
}


static ngx_int_t
ngx_http_cart_store_failed(ngx_http_request_t *r, cart_db_e db,
    const char *what, int rc)
{
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "cart_store \"%s\": %s in %s: %s",
                  ngx_http_cart_store.path, what, cart_dbs[db].name,
                  mdb_strerror(rc));

    return NGX_ERROR;
}


/*
 * The value, in place: valid until the transaction is reset.  From the
 * cursor's place, a key on the same page is found without a new search
 * (a device's session, then its cart).
 */
ngx_int_t
ngx_http_cart_store_value(ngx_http_request_t *r, cart_db_e db, u_char *key,
    size_t key_len, ngx_str_t *value)
{
    int          rc;
    MDB_val      k, v;
    MDB_cursor  *cur;

    cur = ngx_http_cart_store_cursor(r, db);
    if (cur == NULL) {
        return NGX_ERROR;
    }

    k.mv_data = key;
    k.mv_size = key_len;

    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);

    if (rc == MDB_NOTFOUND) {
        return NGX_DECLINED;
    }

    if (rc != 0) {
        return ngx_http_cart_store_failed(r, db, "get", rc);
    }

    value->data = v.mv_data;
    value->len = v.mv_size;

    return NGX_OK;
}


/*
 * Puts the cursor on the range's first entry (its last, going back):
 * LMDB's code of it, 0 or MDB_NOTFOUND when the range is empty.
 */
static int
ngx_http_cart_store_first(MDB_cursor *cur, ngx_http_cart_store_range_t *range,
    ngx_uint_t dup, MDB_val *k, MDB_val *v)
{
    int      rc;
    size_t   n;
    MDB_val  at;
    u_char   next[NGX_HTTP_CART_KEY_MAX];

    k->mv_data = range->key.data;
    k->mv_size = range->key.len;

    if (dup) {
        if (range->from.len == 0) {
            rc = mdb_cursor_get(cur, k, v, MDB_SET_KEY);

            return (rc == 0 && range->reverse)
                   ? mdb_cursor_get(cur, k, v, MDB_LAST_DUP) : rc;
        }

        v->mv_data = range->from.data;
        v->mv_size = range->from.len;
        at = *v;

        rc = mdb_cursor_get(cur, k, v, MDB_GET_BOTH_RANGE);

        if (!range->reverse) {
            return rc;
        }

        /* back: the last value not after "from" */
        if (rc == MDB_NOTFOUND) {
            rc = mdb_cursor_get(cur, k, v, MDB_SET_KEY);
            return rc == 0 ? mdb_cursor_get(cur, k, v, MDB_LAST_DUP) : rc;
        }

        if (rc == 0 && (v->mv_size != at.mv_size
                        || ngx_memcmp(v->mv_data, at.mv_data, at.mv_size)))
        {
            rc = mdb_cursor_get(cur, k, v, MDB_PREV_DUP);
        }

        return rc;
    }

    if (!range->reverse) {
        if (range->from.len) {
            k->mv_data = range->from.data;
            k->mv_size = range->from.len;
        }

        return mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    }

    /* back: the last key not after "from", or before the prefix's next */
    if (range->from.len) {
        at.mv_data = range->from.data;
        at.mv_size = range->from.len;

    } else {
        n = range->key.len;
        ngx_memcpy(next, range->key.data, n);

        while (n && next[n - 1] == 0xff) {
            n--;
        }

        if (n == 0) {
            return mdb_cursor_get(cur, k, v, MDB_LAST);
        }

        next[n - 1]++;
        at.mv_data = next;
        at.mv_size = n;
    }

    *k = at;
    rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);

    if (rc == MDB_NOTFOUND) {
        return mdb_cursor_get(cur, k, v, MDB_LAST);
    }

    if (rc == 0 && (range->from.len == 0 || k->mv_size != at.mv_size
                    || ngx_memcmp(k->mv_data, at.mv_data, at.mv_size)))
    {
        rc = mdb_cursor_get(cur, k, v, MDB_PREV);
    }

    return rc;
}


ngx_int_t
ngx_http_cart_store_range(ngx_http_request_t *r,
    ngx_http_cart_store_range_t *range, ngx_http_cart_store_entry_pt entry,
    void *data)
{
    int             rc;
    MDB_val         k, v;
    ngx_int_t       erc;
    ngx_str_t       key, value;
    ngx_uint_t      dup, skip, given;
    MDB_cursor     *cur;
    MDB_cursor_op   step;

    cur = ngx_http_cart_store_cursor(r, range->db);
    if (cur == NULL) {
        return NGX_ERROR;
    }

    dup = (cart_dbs[range->db].flags & MDB_DUPSORT) != 0;

    if (dup) {
        step = range->reverse ? MDB_PREV_DUP : MDB_NEXT_DUP;

    } else {
        step = range->reverse ? MDB_PREV : MDB_NEXT;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cart store: range in %s, %s, skip %ui, limit %ui",
                   cart_dbs[range->db].name,
                   range->reverse ? "back" : "forward", range->skip,
                   range->limit);

    skip = range->skip;
    given = 0;

    for (rc = ngx_http_cart_store_first(cur, range, dup, &k, &v);
         rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, step))
    {
        if (!dup && (k.mv_size < range->key.len
                     || ngx_memcmp(k.mv_data, range->key.data,
                                   range->key.len) != 0))
        {
            break;
        }

        if (skip) {
            skip--;
            continue;
        }

        key.data = k.mv_data;
        key.len = k.mv_size;
        value.data = v.mv_data;
        value.len = v.mv_size;

        erc = entry(r, &key, &value, data);

        if (erc == NGX_DONE) {
            return NGX_OK;
        }

        if (erc != NGX_OK) {
            return erc;
        }

        if (range->limit && ++given == range->limit) {
            return NGX_OK;
        }
    }

    if (rc == 0 || rc == MDB_NOTFOUND) {
        return NGX_OK;
    }

    return ngx_http_cart_store_failed(r, range->db, "range", rc);
}


ngx_int_t
ngx_http_cart_store_count(ngx_http_request_t *r, cart_db_e db, ngx_str_t *key,
    size_t *count)
{
    int          rc;
    MDB_val      k, v;
    MDB_cursor  *cur;

    cur = ngx_http_cart_store_cursor(r, db);
    if (cur == NULL) {
        return NGX_ERROR;
    }

    k.mv_data = key->data;
    k.mv_size = key->len;

    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);

    if (rc == MDB_NOTFOUND) {
        *count = 0;
        return NGX_OK;
    }

    if (rc == 0) {
        rc = mdb_cursor_count(cur, count);
    }

    return rc == 0 ? NGX_OK : ngx_http_cart_store_failed(r, db, "count", rc);
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
        rc = ngx_http_cart_store_value(r, CART_DB_DOMAINS,
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

    out->v1_empty.len = cart_deflated_size(&out->rec.v1_empty);
    out->v1_empty.data = value.data + value.len - out->v1_empty.len;

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

    rc = ngx_http_cart_store_value(r, CART_DB_CARTS, key.data, key.len,
                                 &value);
    if (rc != NGX_OK) {
        return rc;
    }

    if (cart_device_rec_read(value.data, value.len, out) != 0) {
        return ngx_http_cart_store_corrupt(r, "device", &key);
    }

    return NGX_OK;
}


/* the header and the V2 view of a stored cart value, in place */
static ngx_int_t
ngx_http_cart_store_cart_parts(u_char *value, size_t len,
    ngx_http_cart_cart_t *out)
{
    if (cart_cart_rec_read(value, len, &out->rec) != 0) {
        return NGX_ERROR;
    }

    out->v2.data = value + sizeof(cart_cart_rec_t);
    out->v2.len = cart_deflated_size(&out->rec.v2);

    return NGX_OK;
}


/* a view of a stored cart value: V2 in "carts", V1 in "carts_v1" */
static ngx_int_t
ngx_http_cart_store_view_parts(u_char *value, size_t len, ngx_uint_t v1,
    ngx_http_cart_view_t *out)
{
    cart_cart_v1_rec_t    rec;
    ngx_http_cart_cart_t  cart;

    if (!v1) {
        if (ngx_http_cart_store_cart_parts(value, len, &cart) != NGX_OK) {
            return NGX_ERROR;
        }

        out->expires_at_ms = cart.rec.expires_at_ms;
        out->etag = cart.rec.v2_etag;
        out->deflated = cart.rec.v2;
        out->bytes = cart.v2;

        return NGX_OK;
    }

    if (cart_cart_v1_rec_read(value, len, &rec) != 0) {
        return NGX_ERROR;
    }

    out->expires_at_ms = rec.expires_at_ms;
    out->etag = rec.v1_etag;
    out->deflated = rec.v1;
    out->bytes.data = value + sizeof(cart_cart_v1_rec_t);
    out->bytes.len = cart_deflated_size(&rec.v1);

    return NGX_OK;
}


ngx_int_t
ngx_http_cart_store_cart_view(ngx_http_request_t *r, ngx_str_t *device_id,
    ngx_str_t *domain, ngx_uint_t v1, ngx_http_cart_view_t *out)
{
    ngx_int_t   rc;
    ngx_str_t   value, key;
    u_char      buf[CART_CART_KEY_MAX];

    key.data = buf;
    key.len = cart_cart_key((char *) device_id->data, device_id->len,
                            (char *) domain->data, domain->len, buf);

    rc = ngx_http_cart_store_value(r, v1 ? CART_DB_CARTS_V1 : CART_DB_CARTS,
                                 key.data, key.len, &value);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_cart_store_view_parts(value.data, value.len, v1, out)
        != NGX_OK)
    {
        return ngx_http_cart_store_corrupt(r, v1 ? "cart V1" : "cart", &key);
    }

    return NGX_OK;
}


/* a device's carts: the walk of its key range, the session left out */
typedef struct {
    size_t                        prefix;
    ngx_http_cart_store_cart_pt   handler;
    void                         *data;
} ngx_http_cart_store_walk_t;


static ngx_int_t
ngx_http_cart_store_device_cart(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value, void *data)
{
    ngx_http_cart_store_walk_t *walk = data;

    ngx_str_t              domain;
    ngx_http_cart_cart_t   cart;

    if (key->len == walk->prefix) {
        return NGX_OK;      /* the session */
    }

    domain.data = key->data + walk->prefix;
    domain.len = key->len - walk->prefix;

    if (!cart_domain_key_valid((char *) domain.data, domain.len)
        || ngx_http_cart_store_cart_parts(value->data, value->len, &cart)
           != NGX_OK)
    {
        (void) ngx_http_cart_store_corrupt(r, "cart", key);
        return NGX_OK;
    }

    return walk->handler(r, &domain, &cart, walk->data);
}


ngx_int_t
ngx_http_cart_store_device_carts(ngx_http_request_t *r, ngx_str_t *device_id,
    ngx_http_cart_store_cart_pt handler, void *data)
{
    ngx_http_cart_store_walk_t    walk;
    ngx_http_cart_store_range_t   range;
    u_char                        buf[CART_DEVICE_ID_MAX_LEN + 1];

    /* the key range of a device: "device id" NUL, its session first */
    ngx_memzero(&range, sizeof(ngx_http_cart_store_range_t));

    range.db = CART_DB_CARTS;
    range.key.data = buf;
    range.key.len = cart_cart_key((char *) device_id->data, device_id->len,
                                  "", 0, buf);

    walk.prefix = range.key.len;
    walk.handler = handler;
    walk.data = data;

    return ngx_http_cart_store_range(r, &range,
                                     ngx_http_cart_store_device_cart, &walk);
}
