/*
 * cartctl follow: the store kept in step with a PostgreSQL table of import
 * records (sql/cart_records.sql) by logical replication, with the built-in
 * pgoutput plugin.  Each PostgreSQL transaction is applied as one LMDB
 * write transaction that also records its end LSN in "meta"; only after
 * that commit is the LSN confirmed to PostgreSQL.  A new store starts from
 * the table's state at the snapshot its slot exports, as PostgreSQL's own
 * subscriptions do.  README: "Many nodes".
 */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "cart_pgoutput.h"
#include "cartctl.h"


#define CARTCTL_FOLLOW_STATUS_EVERY   10      /* seconds between statuses */
#define CARTCTL_FOLLOW_RETRY_MAX      10      /* seconds between reconnects */
#define CARTCTL_FOLLOW_FETCH          "5000"  /* rows a fetch of the copy */
#define CARTCTL_FOLLOW_GROUP          1000    /* transactions a commit, most */
#define CARTCTL_FOLLOW_GROUP_US       10000   /* a group's age, most */
#define CARTCTL_FOLLOW_BACKLOG_US     1000000 /* the same, in a backlog */
#define CARTCTL_FOLLOW_BACKLOG_WAIT_US 20000  /* for more, in a backlog */
#define CARTCTL_FOLLOW_THREADS_FROM   64      /* records worth the threads */

typedef struct {
    const char          *conninfo;
    const char          *slot;
    const char          *publication;
    int                  skip_invalid;
    cartctl_store_t     *st;
    PGconn              *repl;
    char                 schema[64];
    char                 table[64];
    uint32_t             relid;
    int                  record_column;     /* in the relation; -1: unknown */
    uint64_t             applied;           /* the last end LSN committed */
    MDB_txn             *txn;               /* the store's open transaction */
    uint64_t             txn_lsn;           /* the PostgreSQL one's */
    int                  txn_applied;       /* applied before: passed over */
    int                  txn_open;          /* between its Begin and Commit */
    unsigned             pending;           /* whole ones in f->txn */
    uint64_t             pending_lsn;       /* the last one's end */
    int64_t              group_at;          /* when the first one came */
    int64_t              pending_time;      /* its commit time */
    cartctl_batch_t      batch[2];          /* records not yet applied */
    int                  filling;           /* the batch records go into */
    long                 busy;              /* the other's workers, or -1 */
    pthread_t            threads[16];
    long                 nthreads;
    time_t               status_at;
} cartctl_follower_t;

static volatile sig_atomic_t  cartctl_follow_stop;


static void
cartctl_follow_signal(int signo)
{
    cartctl_follow_stop = 1;
}


static int64_t
cartctl_follow_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return ((int64_t) ts.tv_sec - CART_PG_EPOCH) * 1000000
           + ts.tv_nsec / 1000;
}


/*
 * The store is written through its map (CARTCTL_WRITE_MAP): a write that
 * the file system cannot make (a full disk) comes as SIGBUS.  The open
 * transaction is then lost and nothing else (LMDB writes a transaction's
 * pages where no committed one points, and its meta page at the commit):
 * the follower stops as for any store error, and PostgreSQL keeps what
 * was not confirmed.
 */
static void
cartctl_follow_bus(int signo)
{
    static const char  msg[] = "cartctl: follow: store: a write into the "
                               "store's map failed (SIGBUS): is its disk "
                               "full?\n";

    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do about it */
    }

    _exit(CARTCTL_STORE);
}


/* microseconds on a clock that only goes forward */
static int64_t
cartctl_follow_clock(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


static int __attribute__((format(printf, 1, 2)))
cartctl_follow_fail(const char *fmt, ...)
{
    va_list  ap;

    fprintf(stderr, "cartctl: follow: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);

    return CARTCTL_POSTGRES;
}


/* an error of PostgreSQL's, with its own words, minus the newline */
static int
cartctl_follow_pg_fail(const char *what, PGconn *conn, PGresult *res)
{
    char  msg[512];

    snprintf(msg, sizeof(msg), "%s",
             res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    msg[strcspn(msg, "\n")] = '\0';

    return cartctl_follow_fail("%s: %s", what, msg);
}


static PGconn *
cartctl_follow_connect(const char *conninfo, int replication)
{
    /* libpq passes over a keyword whose value is NULL */
    const char  *keys[] = { "dbname", "application_name", "replication",
                            NULL };
    const char  *values[] = { conninfo, "cartctl follow",
                              replication ? "database" : NULL, NULL };

    return PQconnectdbParams(keys, values, 1);
}


static uint64_t
cartctl_meta_u64(MDB_txn *txn, cartctl_store_t *st, const char *name)
{
    MDB_val   key, val;
    uint64_t  v;

    key.mv_data = (void *) name;
    key.mv_size = strlen(name);

    if (mdb_get(txn, st->dbi[CART_DB_META], &key, &val) != 0
        || val.mv_size != sizeof(uint64_t))
    {
        return 0;
    }

    memcpy(&v, val.mv_data, sizeof(uint64_t));

    return v;
}


static int
cartctl_meta_text(MDB_txn *txn, cartctl_store_t *st, const char *name,
    char *buf, size_t len)
{
    MDB_val  key, val;

    key.mv_data = (void *) name;
    key.mv_size = strlen(name);

    if (mdb_get(txn, st->dbi[CART_DB_META], &key, &val) != 0) {
        return -1;
    }

    snprintf(buf, len, "%.*s", (int) val.mv_size, (char *) val.mv_data);

    return 0;
}


static int
cartctl_meta_put(MDB_txn *txn, cartctl_store_t *st, const char *name,
    const void *data, size_t len)
{
    MDB_val  key, val;

    key.mv_data = (void *) name;
    key.mv_size = strlen(name);
    val.mv_data = (void *) data;
    val.mv_size = len;

    return mdb_put(txn, st->dbi[CART_DB_META], &key, &val, 0);
}


static int
cartctl_meta_del(MDB_txn *txn, cartctl_store_t *st, const char *name)
{
    int      rc;
    MDB_val  key;

    key.mv_data = (void *) name;
    key.mv_size = strlen(name);

    rc = mdb_del(txn, st->dbi[CART_DB_META], &key, NULL);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* the LSN and commit time of what the store now holds */
static int
cartctl_follow_mark(cartctl_follower_t *f, uint64_t lsn, int64_t commit_us)
{
    int      rc;
    int64_t  unix_us;

    unix_us = commit_us + CART_PG_EPOCH * 1000000;

    rc = cartctl_meta_put(f->txn, f->st, CART_META_PG_LSN_KEY, &lsn,
                          sizeof(uint64_t));
    if (rc == 0) {
        rc = cartctl_meta_put(f->txn, f->st, CART_META_PG_COMMIT_KEY,
                              &unix_us, sizeof(int64_t));
    }

    return rc;
}


static int
cartctl_follow_status(cartctl_follower_t *f)
{
    unsigned char  buf[CART_PG_STATUS_LEN];

    cart_pg_status(buf, f->applied, f->applied, f->applied,
                   cartctl_follow_now(), 0);
    f->status_at = time(NULL);

    if (PQputCopyData(f->repl, (char *) buf, sizeof(buf)) != 1
        || PQflush(f->repl) != 0)
    {
        return -1;
    }

    return 0;
}


/*
 * One prepared record: applied, or (invalid) passed over and counted with
 * --on-invalid skip, or held: CARTCTL_INVALID stops the follower before
 * its transaction is confirmed, so PostgreSQL keeps it.
 */
static int
cartctl_follow_line(cartctl_follower_t *f, cartctl_line_t *line)
{
    int        rc, status, store_rc;
    char       where[20], note[700];
    uint64_t   skipped;

    status = CARTCTL_INVALID;

    if (line->rc == 0) {
        status = cartctl_apply(f->txn, f->st, &line->rec, line->err,
                               sizeof(line->err), &store_rc);
    }

    if (status == CARTCTL_STORE) {
        return cartctl_store_error(f->st, "follow", store_rc);
    }

    if (status == CARTCTL_OK) {
        return CARTCTL_OK;
    }

    cart_pg_lsn(where, line->tag);

    if (!f->skip_invalid) {
        fprintf(stderr, "cartctl: follow: transaction at LSN %s: invalid "
                "record held: %s (nothing of it applied or confirmed; "
                "--on-invalid skip passes it)\n", where, line->err);
        return CARTCTL_INVALID;
    }

    fprintf(stderr, "cartctl: follow: transaction at LSN %s: invalid "
            "record skipped: %s\n", where, line->err);

    skipped = cartctl_meta_u64(f->txn, f->st, CART_META_PG_SKIPPED_KEY) + 1;
    snprintf(note, sizeof(note), "LSN %s: %s", where, line->err);

    rc = cartctl_meta_put(f->txn, f->st, CART_META_PG_SKIPPED_KEY, &skipped,
                          sizeof(uint64_t));
    if (rc == 0) {
        rc = cartctl_meta_put(f->txn, f->st, CART_META_PG_LAST_SKIP_KEY,
                              note, strlen(note));
    }

    return rc ? cartctl_store_error(f->st, "follow", rc) : CARTCTL_OK;
}


/* a prepared batch applied in order into f->txn, and emptied */
static int
cartctl_follow_apply(cartctl_follower_t *f, cartctl_batch_t *batch)
{
    int     status;
    size_t  i;

    status = CARTCTL_OK;

    for (i = 0; i < batch->n; i++) {
        if (status == CARTCTL_OK) {
            status = cartctl_follow_line(f, &batch->lines[i]);
        }

        cart_record_free(&batch->lines[i].rec);
    }

    batch->n = 0;

    return status;
}


/* a prepared batch emptied without applying it */
static void
cartctl_follow_drop(cartctl_batch_t *batch)
{
    size_t  i;

    for (i = 0; i < batch->n; i++) {
        cart_record_free(&batch->lines[i].rec);
    }

    batch->n = 0;
}


/* the batch the workers prepare, once they are done, applied */
static int
cartctl_follow_finish(cartctl_follower_t *f)
{
    if (f->busy < 0) {
        return CARTCTL_OK;
    }

    cartctl_join(f->threads, f->busy);
    f->busy = -1;

    return cartctl_follow_apply(f, &f->batch[!f->filling]);
}


/*
 * Every record gathered so far prepared and applied into f->txn: the one
 * batch's by the workers already, the other's by them (when there are
 * enough records to be worth it) or by this thread.
 */
static int
cartctl_follow_flush(cartctl_follower_t *f)
{
    int               rc;
    long              started;
    cartctl_batch_t  *batch;

    rc = cartctl_follow_finish(f);
    if (rc != CARTCTL_OK) {
        return rc;
    }

    batch = &f->batch[f->filling];

    started = cartctl_start(batch, f->threads,
                            batch->n >= CARTCTL_FOLLOW_THREADS_FROM
                            ? f->nthreads : 0);
    cartctl_join(f->threads, started);

    return cartctl_follow_apply(f, batch);
}


/*
 * A record's text gathered into the batch; a full batch goes to the
 * workers, and while they prepare it this thread applies the one before it
 * (which they are done with) and goes on gathering into that one, as the
 * import does.
 */
static int
cartctl_follow_record(cartctl_follower_t *f, const char *text, size_t len,
    uint64_t lsn)
{
    int              rc;
    char            *p;
    cartctl_line_t  *line;
    cartctl_batch_t *batch, *done;

    batch = &f->batch[f->filling];
    line = &batch->lines[batch->n];

    if (line->cap < len + 1) {
        p = realloc(line->text, len + 1);
        if (p == NULL) {
            fprintf(stderr, "cartctl: follow: out of memory\n");
            return CARTCTL_STORE;
        }

        line->text = p;
        line->cap = len + 1;
    }

    memcpy(line->text, text, len);
    line->text[len] = '\0';
    line->len = (ssize_t) len;
    line->tag = lsn;

    if (++batch->n < CARTCTL_BATCH) {
        return CARTCTL_OK;
    }

    done = NULL;

    if (f->busy >= 0) {
        cartctl_join(f->threads, f->busy);
        done = &f->batch[!f->filling];
    }

    f->busy = cartctl_start(batch, f->threads, f->nthreads);
    f->filling = !f->filling;

    rc = done ? cartctl_follow_apply(f, done) : CARTCTL_OK;

    if (f->busy == 0) {
        /* no worker started: this thread prepared it */
        f->busy = -1;

        if (rc != CARTCTL_OK) {
            cartctl_follow_drop(batch);
            return rc;
        }

        rc = cartctl_follow_apply(f, batch);
    }

    return rc;
}


/*
 * The store's transaction committed, with the LSN and commit time of the
 * last whole PostgreSQL transaction in it; then confirmed to PostgreSQL.
 */
static int
cartctl_follow_commit(cartctl_follower_t *f)
{
    int  rc;

    if (f->txn == NULL || f->txn_open || f->pending == 0) {
        return CARTCTL_OK;
    }

    rc = cartctl_follow_flush(f);
    if (rc != CARTCTL_OK) {
        return rc;
    }

    rc = cartctl_follow_mark(f, f->pending_lsn, f->pending_time);
    rc = rc ? rc : mdb_txn_commit(f->txn);

    if (rc != 0) {
        mdb_txn_abort(f->txn);
    }

    f->txn = NULL;
    f->pending = 0;

    if (rc != 0) {
        return cartctl_store_error(f->st, "follow", rc);
    }

    /* committed: now PostgreSQL may forget it */
    f->applied = f->pending_lsn;

    return cartctl_follow_status(f) == 0 ? CARTCTL_OK : CARTCTL_POSTGRES;
}


/* the open transaction and what is gathered for it, given up */
static void
cartctl_follow_abort(cartctl_follower_t *f)
{
    if (f->busy >= 0) {
        cartctl_join(f->threads, f->busy);
        f->busy = -1;
        cartctl_follow_drop(&f->batch[!f->filling]);
    }

    f->batch[0].n = 0;
    f->batch[1].n = 0;

    if (f->txn) {
        mdb_txn_abort(f->txn);
        f->txn = NULL;
    }

    f->txn_open = 0;
    f->txn_applied = 0;
    f->pending = 0;
}


/* the publication: one table, inserts only, with id and record columns */
static int
cartctl_follow_check(cartctl_follower_t *f, PGconn *conn)
{
    int          rc;
    PGresult    *res;
    const char  *params[2];

    params[0] = f->publication;

    res = PQexecParams(conn,
        "SELECT p.pubinsert, p.pubupdate OR p.pubdelete OR p.pubtruncate,"
        "       t.schemaname, t.tablename"
        "  FROM pg_publication p"
        "  LEFT JOIN pg_publication_tables t ON t.pubname = p.pubname"
        " WHERE p.pubname = $1", 1, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = cartctl_follow_pg_fail("publication", conn, res);
        PQclear(res);
        return rc;
    }

    if (PQntuples(res) == 0) {
        rc = cartctl_follow_fail("no publication \"%s\" in this database "
                                 "(sql/cart_records.sql makes it)",
                                 f->publication);

    } else if (PQntuples(res) > 1 || PQgetisnull(res, 0, 3)) {
        rc = cartctl_follow_fail("publication \"%s\" must cover exactly one "
                                 "table, the records'", f->publication);

    } else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0
               || strcmp(PQgetvalue(res, 0, 1), "f") != 0)
    {
        rc = cartctl_follow_fail("publication \"%s\" must publish inserts "
                                 "only (WITH (publish = 'insert'))",
                                 f->publication);

    } else {
        rc = CARTCTL_OK;
        snprintf(f->schema, sizeof(f->schema), "%s", PQgetvalue(res, 0, 2));
        snprintf(f->table, sizeof(f->table), "%s", PQgetvalue(res, 0, 3));
    }

    PQclear(res);

    if (rc != CARTCTL_OK) {
        return rc;
    }

    params[0] = f->schema;
    params[1] = f->table;

    res = PQexecParams(conn,
        "SELECT count(*) FILTER (WHERE a.attname = 'id'"
        "                          AND a.atttypid = 'bigint'::regtype),"
        "       count(*) FILTER (WHERE a.attname = 'record'"
        "                          AND a.atttypid = 'json'::regtype"
        "                          AND a.attnotnull)"
        "  FROM pg_attribute a"
        " WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass"
        "   AND a.attnum > 0 AND NOT a.attisdropped",
        2, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = cartctl_follow_pg_fail("table", conn, res);

    } else if (strcmp(PQgetvalue(res, 0, 0), "1") != 0
               || strcmp(PQgetvalue(res, 0, 1), "1") != 0)
    {
        rc = cartctl_follow_fail("table %s.%s must have \"id bigint\" and "
                                 "\"record json NOT NULL\" "
                                 "(sql/cart_records.sql)", f->schema,
                                 f->table);
    }

    PQclear(res);

    return rc;
}


static int
cartctl_follow_exec(PGconn *conn, const char *sql, ExecStatusType want)
{
    int        rc;
    PGresult  *res;

    res = PQexec(conn, sql);
    rc = PQresultStatus(res) == want ? CARTCTL_OK
                                     : cartctl_follow_pg_fail(sql, conn, res);
    PQclear(res);

    return rc;
}


/* the table's rows at the snapshot, in id order, into the open txn */
static int
cartctl_follow_copy(cartctl_follower_t *f, PGconn *conn,
    const char *snapshot, uint64_t lsn, size_t *rows)
{
    int        i, n, rc;
    char       sql[512], *esc;
    PGresult  *res;

    rc = cartctl_follow_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, "
                             "READ ONLY", PGRES_COMMAND_OK);
    if (rc != CARTCTL_OK) {
        return rc;
    }

    esc = PQescapeLiteral(conn, snapshot, strlen(snapshot));
    snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT %s", esc);
    PQfreemem(esc);

    rc = cartctl_follow_exec(conn, sql, PGRES_COMMAND_OK);
    if (rc != CARTCTL_OK) {
        return rc;
    }

    snprintf(sql, sizeof(sql), "DECLARE cart_copy NO SCROLL CURSOR FOR "
             "SELECT record::text FROM \"%s\".\"%s\" ORDER BY id",
             f->schema, f->table);

    rc = cartctl_follow_exec(conn, sql, PGRES_COMMAND_OK);

    while (rc == CARTCTL_OK) {
        res = PQexec(conn, "FETCH " CARTCTL_FOLLOW_FETCH " FROM cart_copy");

        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = cartctl_follow_pg_fail("copy", conn, res);
            PQclear(res);
            break;
        }

        n = PQntuples(res);

        for (i = 0; i < n && rc == CARTCTL_OK; i++) {
            rc = cartctl_follow_record(f, PQgetvalue(res, i, 0),
                                       (size_t) PQgetlength(res, i, 0), lsn);
        }

        *rows += (size_t) n;
        PQclear(res);

        if (n == 0) {
            break;
        }
    }

    if (rc == CARTCTL_OK) {
        rc = cartctl_follow_flush(f);
    }

    if (rc == CARTCTL_OK) {
        rc = cartctl_follow_exec(conn, "COMMIT", PGRES_COMMAND_OK);
    }

    return rc;
}


/* the slot dropped; PostgreSQL's answer, for the caller to clear */
static PGresult *
cartctl_follow_drop_slot(cartctl_follower_t *f, const char *slot)
{
    char  sql[128];

    snprintf(sql, sizeof(sql), "DROP_REPLICATION_SLOT \"%s\"", slot);

    return PQexec(f->repl, sql);
}


/*
 * The slot of a first copy, named in the store from the slot's creation
 * until the copy is committed (in a transaction of its own: it must last
 * when the copy does not).
 */
static int
cartctl_follow_note_slot(cartctl_follower_t *f)
{
    int       rc;
    MDB_txn  *txn;

    rc = mdb_txn_begin(f->st->env, NULL, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = cartctl_meta_put(txn, f->st, CART_META_PG_SLOT_NEW_KEY, f->slot,
                          strlen(f->slot));

    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }

    return mdb_txn_commit(txn);
}


/*
 * A first copy into this store cut short (the follower killed, a full
 * disk) left its slot behind, named in the store: the slot is this
 * store's own, and dropped so that the copy starts over.
 */
static int
cartctl_follow_drop_cut_short(cartctl_follower_t *f)
{
    int        rc;
    char       slot[80];
    MDB_txn   *txn;
    PGresult  *res;

    rc = mdb_txn_begin(f->st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return cartctl_store_error(f->st, "follow", rc);
    }

    rc = cartctl_meta_text(txn, f->st, CART_META_PG_SLOT_NEW_KEY, slot,
                           sizeof(slot));
    mdb_txn_abort(txn);

    if (rc != 0) {
        return CARTCTL_OK;
    }

    res = cartctl_follow_drop_slot(f, slot);

    /* gone already (42704) is as good as dropped */
    if (PQresultStatus(res) != PGRES_COMMAND_OK
        && strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE) ?: "", "42704")
           != 0)
    {
        rc = cartctl_follow_pg_fail("drop the slot of a copy cut short",
                                    f->repl, res);
        PQclear(res);
        return rc;
    }

    PQclear(res);
    fprintf(stderr, "cartctl: follow: the first copy into this store was "
            "cut short: its slot \"%s\" dropped, copying again\n", slot);

    return CARTCTL_OK;
}


/*
 * A new store: the slot created with an exported snapshot, the table's
 * rows at that snapshot applied in one transaction with the slot's
 * consistent point as the store's LSN.  On failure the slot is dropped
 * again, so that the next try starts over.
 */
static int
cartctl_follow_start(cartctl_follower_t *f, PGconn *conn)
{
    int        rc;
    char       sql[256], where[20];
    size_t     rows;
    uint64_t   lsn;
    PGresult  *res;

    rc = cartctl_follow_drop_cut_short(f);
    if (rc != CARTCTL_OK) {
        return rc;
    }

    snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT \"%s\" LOGICAL "
             "pgoutput (SNAPSHOT 'export')", f->slot);

    res = PQexec(f->repl, sql);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE) ?: "", "42710")
            == 0)
        {
            rc = cartctl_follow_fail("slot \"%s\" exists, and this store is "
                                     "new: another node uses that slot, or "
                                     "a store that used it is gone (drop it "
                                     "with pg_drop_replication_slot('%s'))",
                                     f->slot, f->slot);
        } else {
            rc = cartctl_follow_pg_fail("create slot", f->repl, res);
        }

        PQclear(res);
        return rc;
    }

    if (cart_pg_lsn_parse(PQgetvalue(res, 0, 1), &lsn) != 0) {
        PQclear(res);
        return cartctl_follow_fail("create slot: a consistent point I "
                                   "cannot read");
    }

    rows = 0;
    rc = cartctl_follow_note_slot(f);
    rc = rc ? rc : mdb_txn_begin(f->st->env, NULL, 0, &f->txn);

    if (rc != 0) {
        rc = cartctl_store_error(f->st, "follow", rc);

    } else {
        rc = cartctl_follow_copy(f, conn, PQgetvalue(res, 0, 2), lsn, &rows);
    }

    PQclear(res);

    if (rc == CARTCTL_OK) {
        rc = cartctl_meta_put(f->txn, f->st, CART_META_PG_SLOT_KEY, f->slot,
                              strlen(f->slot));
        if (rc == 0) {
            rc = cartctl_meta_del(f->txn, f->st, CART_META_PG_SLOT_NEW_KEY);
        }

        if (rc == 0) {
            rc = cartctl_follow_mark(f, lsn, cartctl_follow_now());
        }

        if (rc == 0) {
            rc = mdb_txn_commit(f->txn);
        } else {
            mdb_txn_abort(f->txn);
        }

        f->txn = NULL;
        rc = rc ? cartctl_store_error(f->st, "follow", rc) : CARTCTL_OK;

    } else {
        cartctl_follow_abort(f);
    }

    if (rc != CARTCTL_OK) {
        PQclear(cartctl_follow_drop_slot(f, f->slot));
        return rc;
    }

    f->applied = lsn;
    fprintf(stderr, "cartctl: follow: %zu records copied at LSN %s, "
            "slot \"%s\"\n", rows, cart_pg_lsn(where, lsn), f->slot);

    return CARTCTL_OK;
}


static int
cartctl_follow_stream_start(cartctl_follower_t *f)
{
    int        rc;
    char       sql[512], where[20], *pub;
    PGresult  *res;
    const char *state;

    /* publication_names takes a quoted identifier */
    pub = PQescapeIdentifier(f->repl, f->publication,
                             strlen(f->publication));
    snprintf(sql, sizeof(sql), "START_REPLICATION SLOT \"%s\" LOGICAL %s "
             "(proto_version '1', publication_names '%s')", f->slot,
             cart_pg_lsn(where, f->applied), pub);
    PQfreemem(pub);

    res = PQexec(f->repl, sql);

    if (PQresultStatus(res) == PGRES_COPY_BOTH) {
        PQclear(res);
        f->relid = 0;
        f->record_column = -1;
        return CARTCTL_OK;
    }

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE) ?: "";

    if (strcmp(state, "42704") == 0) {
        rc = cartctl_follow_fail("slot \"%s\" is gone: this store cannot "
                                 "catch up; start a new store", f->slot);

    } else if (strcmp(state, "55006") == 0) {
        rc = cartctl_follow_fail("slot \"%s\" is in use by another process "
                                 "(another follower of this store?)",
                                 f->slot);

    } else {
        rc = cartctl_follow_pg_fail("start replication", f->repl, res);
    }

    PQclear(res);

    return rc;
}


/*
 * A pgoutput message: one step of applying a transaction.  The store's
 * transaction holds one or more whole PostgreSQL transactions: while more
 * of them are already here (a backlog), they go into the same one, up to
 * CARTCTL_FOLLOW_GROUP; readers see each whole or not at all.
 */
static int
cartctl_follow_message(cartctl_follower_t *f, const cart_pg_message_t *m)
{
    int       rc;
    uint16_t  i;

    switch (m->type) {

    case 'B':
        if (f->txn_open) {
            return cartctl_follow_fail("a transaction began inside another");
        }

        f->txn_open = 1;
        f->txn_lsn = m->lsn;
        f->txn_applied = m->lsn < f->applied;

        if (!f->txn_applied && f->txn == NULL) {
            rc = mdb_txn_begin(f->st->env, NULL, 0, &f->txn);
            if (rc != 0) {
                return cartctl_store_error(f->st, "follow", rc);
            }
        }

        return CARTCTL_OK;

    case 'R':
        if (strcmp(m->relname, f->table) == 0
            && strcmp(m->nspname, f->schema) == 0)
        {
            f->relid = m->relid;
            f->record_column = -1;

            for (i = 0; i < m->ncolumns; i++) {
                if (strcmp(m->columns[i].name, "record") == 0) {
                    f->record_column = i;
                }
            }
        }

        return CARTCTL_OK;

    case 'I':
        if (f->txn_applied || m->relid != f->relid) {
            return CARTCTL_OK;
        }

        if (!f->txn_open || f->record_column < 0
            || f->record_column >= m->ncolumns)
        {
            return cartctl_follow_fail("an insert out of place, or without "
                                       "its record column");
        }

        if (m->values[f->record_column].kind != 't') {
            return cartctl_follow_record(f, "null", 4, f->txn_lsn);
        }

        return cartctl_follow_record(f, m->values[f->record_column].data,
                                     m->values[f->record_column].len,
                                     f->txn_lsn);

    case 'C':
        if (!f->txn_open) {
            return cartctl_follow_fail("a commit without its begin");
        }

        f->txn_open = 0;

        if (f->txn_applied) {
            f->txn_applied = 0;
            return CARTCTL_OK;
        }

        if (f->pending++ == 0) {
            f->group_at = cartctl_follow_clock();
        }

        f->pending_lsn = m->end_lsn;
        f->pending_time = m->commit_time;

        return f->pending >= CARTCTL_FOLLOW_GROUP ? cartctl_follow_commit(f)
                                                  : CARTCTL_OK;

    default:
        return CARTCTL_OK;
    }
}


/*
 * How long the transactions gathered in f->txn may wait for more before
 * they are committed, in microseconds (0: commit now).  In a backlog (the
 * last committed on PostgreSQL a second ago or more) a group grows for up
 * to a second, waiting up to CARTCTL_FOLLOW_BACKLOG_WAIT_US each time the
 * stream runs dry: fewer, larger commits apply it faster.  Near real time,
 * a single transaction is committed at once, and a group that has grown
 * past one (more came while the last was applied) waits a millisecond at
 * a time while younger than CARTCTL_FOLLOW_GROUP_US: a steady stream would
 * otherwise keep it open.
 */
static int64_t
cartctl_follow_wait(cartctl_follower_t *f)
{
    int64_t  age;

    if (f->pending == 0 || f->txn_open) {
        return 0;
    }

    age = cartctl_follow_clock() - f->group_at;

    if (cartctl_follow_now() - f->pending_time >= CARTCTL_FOLLOW_BACKLOG_US) {
        return age < CARTCTL_FOLLOW_BACKLOG_US
               ? CARTCTL_FOLLOW_BACKLOG_WAIT_US : 0;
    }

    return f->pending >= 2 && age < CARTCTL_FOLLOW_GROUP_US ? 1000 : 0;
}


/*
 * Streams until stopped (CARTCTL_OK), the connection is lost
 * (CARTCTL_POSTGRES: the caller reconnects), or an error that a reconnect
 * cannot mend (another status, *fatal set).
 */
static int
cartctl_follow_stream(cartctl_follower_t *f, int *fatal)
{
    int                 n, rc, sock;
    char               *buf;
    fd_set              rfds;
    int64_t             wait;
    const char         *err;
    struct timeval      tv;
    cart_pg_copy_t      copy;
    cart_pg_message_t   msg;

    for ( ;; ) {
        if (cartctl_follow_stop) {
            return cartctl_follow_commit(f);
        }

        if (time(NULL) - f->status_at >= CARTCTL_FOLLOW_STATUS_EVERY
            && cartctl_follow_status(f) != 0)
        {
            return cartctl_follow_pg_fail("status", f->repl, NULL);
        }

        n = PQgetCopyData(f->repl, &buf, 1);

        if (n == 0) {
            /* nothing more here now: commit, or wait a little for more */
            sock = PQsocket(f->repl);
            FD_ZERO(&rfds);
            FD_SET(sock, &rfds);
            wait = cartctl_follow_wait(f);
            tv.tv_sec = 0;
            tv.tv_usec = (suseconds_t) wait;

            if (wait == 0 || select(sock + 1, &rfds, NULL, NULL, &tv) <= 0)
            {
                rc = cartctl_follow_commit(f);
                if (rc != CARTCTL_OK) {
                    *fatal = (rc != CARTCTL_POSTGRES);
                    return rc;
                }
            }

            FD_ZERO(&rfds);
            FD_SET(sock, &rfds);
            tv.tv_sec = 1;
            tv.tv_usec = 0;

            if (select(sock + 1, &rfds, NULL, NULL, &tv) < 0
                && errno != EINTR)
            {
                return cartctl_follow_fail("select: %s", strerror(errno));
            }

            if (PQconsumeInput(f->repl) == 0) {
                return cartctl_follow_pg_fail("connection", f->repl, NULL);
            }

            continue;
        }

        if (n < 0) {
            return cartctl_follow_pg_fail("stream", f->repl, NULL);
        }

        if (cart_pg_copy_decode((unsigned char *) buf, (size_t) n, &copy,
                                &err) != 0
            || (copy.type == 'w'
                && cart_pg_decode(copy.data, copy.len, &msg, &err) != 0))
        {
            PQfreemem(buf);
            *fatal = 1;
            return cartctl_follow_fail("a message I cannot read: %s", err);
        }

        if (copy.type == 'w') {
            rc = cartctl_follow_message(f, &msg);

        } else {
            rc = copy.reply && cartctl_follow_status(f) != 0
                 ? cartctl_follow_pg_fail("status", f->repl, NULL)
                 : CARTCTL_OK;
        }

        PQfreemem(buf);

        if (rc != CARTCTL_OK) {
            *fatal = (rc != CARTCTL_POSTGRES);
            return rc;
        }
    }
}


static int
cartctl_follow_args(cartctl_follower_t *f, char **args, int nargs)
{
    int    c;
    char **argv;

    static char           hostname[64], slot[80];
    static struct option  options[] = {
        { "slot", required_argument, NULL, 'S' },
        { "publication", required_argument, NULL, 'P' },
        { "on-invalid", required_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 }
    };

    /* getopt wants argv[0]: the command's name, just before args; the
     * options may come after CONNINFO (getopt moves it last) */
    argv = args - 1;
    optind = 0;
    f->publication = "cart_records";

    while ((c = getopt_long(nargs + 1, argv, "", options, NULL)) != -1) {
        switch (c) {

        case 'S':
            f->slot = optarg;
            break;

        case 'P':
            f->publication = optarg;
            break;

        case 'I':
            if (strcmp(optarg, "skip") != 0 && strcmp(optarg, "hold") != 0) {
                return CARTCTL_USAGE;
            }

            f->skip_invalid = strcmp(optarg, "skip") == 0;
            break;

        default:
            return CARTCTL_USAGE;
        }
    }

    if (optind != nargs) {
        return CARTCTL_USAGE;
    }

    f->conninfo = argv[optind];

    if (f->slot == NULL) {
        /* one slot a node: cart_ and the host's name, as a slot name */
        gethostname(hostname, sizeof(hostname) - 1);
        snprintf(slot, sizeof(slot), "cart_%s", hostname);

        for (c = 0; slot[c]; c++) {
            slot[c] = isalnum((unsigned char) slot[c])
                      ? (char) tolower((unsigned char) slot[c]) : '_';
        }

        f->slot = slot;
    }

    if (strspn(f->slot, "abcdefghijklmnopqrstuvwxyz0123456789_")
        != strlen(f->slot) || strlen(f->slot) > 63 || *f->slot == '\0')
    {
        fprintf(stderr, "cartctl: follow: --slot: lower case letters, "
                "digits and _ only, at most 63\n");
        return CARTCTL_USAGE;
    }

    return CARTCTL_OK;
}


int
cartctl_followed(cartctl_store_t *st, char *slot, size_t len, uint64_t *lsn,
    int *rc)
{
    int       known;
    MDB_txn  *txn;

    *rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (*rc != 0) {
        return -1;
    }

    known = cartctl_meta_text(txn, st, CART_META_PG_SLOT_KEY, slot, len) == 0;

    if (known) {
        *lsn = cartctl_meta_u64(txn, st, CART_META_PG_LSN_KEY);
    }

    mdb_txn_abort(txn);

    return known;
}


int
cartctl_follow(cartctl_store_t *st, char **args, int nargs)
{
    int                  rc, fatal, known, wait, b;
    size_t               i;
    char                 slot[80], where[20];
    PGconn              *conn;
    cartctl_follower_t   f;
    struct sigaction     sa;

    memset(&f, 0, sizeof(cartctl_follower_t));
    f.st = st;

    rc = cartctl_follow_args(&f, args, nargs);
    if (rc != CARTCTL_OK) {
        return rc;
    }

    known = cartctl_followed(st, slot, sizeof(slot), &f.applied, &rc);
    if (known < 0) {
        return cartctl_store_error(st, "follow", rc);
    }

    if (known && strcmp(slot, f.slot) != 0) {
        return cartctl_follow_fail("this store follows slot \"%s\", not "
                                   "\"%s\"", slot, f.slot);
    }

    f.busy = -1;
    f.batch[0].lines = calloc(CARTCTL_BATCH, sizeof(cartctl_line_t));
    f.batch[1].lines = calloc(CARTCTL_BATCH, sizeof(cartctl_line_t));

    if (f.batch[0].lines == NULL || f.batch[1].lines == NULL) {
        fprintf(stderr, "cartctl: follow: out of memory\n");
        return CARTCTL_STORE;
    }

    f.nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    f.nthreads = f.nthreads < 1 ? 1 : f.nthreads > 16 ? 16 : f.nthreads;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = cartctl_follow_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = cartctl_follow_bus;
    sigaction(SIGBUS, &sa, NULL);

    /* the checks and the first copy: any failure is the operator's */
    conn = cartctl_follow_connect(f.conninfo, 0);

    rc = PQstatus(conn) == CONNECTION_OK
         ? cartctl_follow_check(&f, conn)
         : cartctl_follow_pg_fail("connect", conn, NULL);

    if (rc == CARTCTL_OK) {
        f.repl = cartctl_follow_connect(f.conninfo, 1);

        if (PQstatus(f.repl) != CONNECTION_OK) {
            rc = cartctl_follow_pg_fail("connect for replication", f.repl,
                                        NULL);
        }
    }

    if (rc == CARTCTL_OK && !known) {
        rc = cartctl_follow_start(&f, conn);
    }

    PQfinish(conn);

    if (rc == CARTCTL_OK) {
        rc = cartctl_follow_stream_start(&f);
    }

    if (rc == CARTCTL_OK) {
        fprintf(stderr, "cartctl: follow: streaming from LSN %s, slot "
                "\"%s\", publication \"%s\"\n",
                cart_pg_lsn(where, f.applied), f.slot, f.publication);
    }

    /* then the connection may come and go: reconnect, resume */
    for (wait = 1; rc == CARTCTL_OK; ) {
        fatal = 0;
        rc = cartctl_follow_stream(&f, &fatal);

        /* what is not committed comes again from the slot */
        cartctl_follow_abort(&f);

        if (rc == CARTCTL_OK || fatal) {
            break;
        }

        PQfinish(f.repl);
        f.repl = NULL;

        while (!cartctl_follow_stop) {
            fprintf(stderr, "cartctl: follow: reconnecting in %d s\n", wait);
            sleep((unsigned) wait);
            wait = wait * 2 > CARTCTL_FOLLOW_RETRY_MAX
                   ? CARTCTL_FOLLOW_RETRY_MAX : wait * 2;

            if (cartctl_follow_stop) {
                break;
            }

            f.repl = cartctl_follow_connect(f.conninfo, 1);

            if (PQstatus(f.repl) == CONNECTION_OK) {
                rc = cartctl_follow_stream_start(&f);

                if (rc == CARTCTL_OK) {
                    fprintf(stderr, "cartctl: follow: streaming again from "
                            "LSN %s\n", cart_pg_lsn(where, f.applied));
                    wait = 1;
                    break;
                }

                /* a slot gone or in use: no use trying again */
                goto done;
            }

            (void) cartctl_follow_pg_fail("connect for replication", f.repl,
                                          NULL);
            PQfinish(f.repl);
            f.repl = NULL;
        }

        if (cartctl_follow_stop) {
            rc = CARTCTL_OK;
        }
    }

done:

    if (f.repl) {
        PQfinish(f.repl);
    }

    for (b = 0; b < 2; b++) {
        for (i = 0; i < CARTCTL_BATCH; i++) {
            free(f.batch[b].lines[i].text);
        }

        free(f.batch[b].lines);
    }

    return rc;
}


void
cartctl_follow_stat(cartctl_store_t *st)
{
    char       slot[80], note[700], where[20], when[32];
    time_t     sec;
    int64_t    commit_us, age_ms;
    uint64_t   lsn, skipped;
    MDB_txn   *txn;
    struct tm  tm;

    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0) {
        return;
    }

    if (cartctl_meta_text(txn, st, CART_META_PG_SLOT_KEY, slot,
                          sizeof(slot)) == 0)
    {
        lsn = cartctl_meta_u64(txn, st, CART_META_PG_LSN_KEY);
        commit_us = (int64_t) cartctl_meta_u64(txn, st,
                                               CART_META_PG_COMMIT_KEY);
        skipped = cartctl_meta_u64(txn, st, CART_META_PG_SKIPPED_KEY);

        sec = (time_t) (commit_us / 1000000);
        gmtime_r(&sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        age_ms = (cartctl_follow_now() + CART_PG_EPOCH * 1000000
                  - commit_us) / 1000;

        printf("%-16s %s\n", "follow_slot", slot);
        printf("%-16s %s\n", "follow_lsn", cart_pg_lsn(where, lsn));
        printf("%-16s %s.%06dZ\n", "follow_commit", when,
               (int) (commit_us % 1000000));
        printf("%-16s %.3f s\n", "follow_commit_age",
               (double) age_ms / 1000);
        printf("%-16s %llu\n", "follow_skipped",
               (unsigned long long) skipped);

        if (skipped
            && cartctl_meta_text(txn, st, CART_META_PG_LAST_SKIP_KEY, note,
                                 sizeof(note)) == 0)
        {
            printf("%-16s %s\n", "follow_last_skip", note);
        }
    }

    mdb_txn_abort(txn);
}
