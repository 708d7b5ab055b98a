/*
 * cartctl: writes and inspects a cart store (see cart_layout.h).  The
 * command line is cartctl.c, the import cartctl_import.c, the store's
 * reads and writes cartctl_store.c.
 */

#ifndef CARTCTL_H
#define CARTCTL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include <lmdb.h>

#include "cart_record.h"
#include "cart_store_layout.h"


#define CARTCTL_OK         0
#define CARTCTL_INVALID    1
#define CARTCTL_USAGE      2
#define CARTCTL_NOT_FOUND  3
#define CARTCTL_STORE      4
#define CARTCTL_POSTGRES   5

typedef struct {
    MDB_env      *env;
    MDB_dbi       dbi[CART_DB_COUNT];
    uint32_t      views;        /* "meta" views: CART_VIEWS_PLAIN_KEPT */
} cartctl_store_t;

typedef void (*cartctl_each_pt)(const cart_kind_t *kind, MDB_val *key,
    MDB_val *value, void *data);


/*
 * How cartctl_open() opens a store: to read; to write (creating it); or
 * to write through the map (MDB_WRITEMAP): the follower's many commits
 * then neither copy their pages nor write them all at commit, the kernel
 * writing them back as they are made (the data file is as large as the
 * map, sparse; see README, Many nodes).
 */
#define CARTCTL_READ       0
#define CARTCTL_WRITE      1
#define CARTCTL_WRITE_MAP  2

/*
 * Opens the store at dir as mode says; an exit status.  keep_plain (the
 * option --keep-plain) makes a new store keep its views plain too, and is
 * refused for a store made without; the records written then are as the
 * store keeps its views.
 */
int cartctl_open(cartctl_store_t *st, const char *dir, size_t map_size,
    int mode, int keep_plain);

/* an LMDB error as what to do about it, when there is something to do */
const char *cartctl_reason(cartctl_store_t *st, int rc, char *buf,
    size_t len);

/* "cartctl: what: reason" on stderr; returns CARTCTL_STORE */
int cartctl_store_error(cartctl_store_t *st, const char *what, int rc);

/*
 * Writes or removes a record, with what it needs and takes along:
 * CARTCTL_OK, CARTCTL_INVALID with err set, or CARTCTL_STORE with the LMDB
 * error (negative, or an errno) in *store_rc.
 */
int cartctl_apply(MDB_txn *txn, cartctl_store_t *st, cart_record_t *rec,
    char *err, size_t err_len, int *store_rc);

/*
 * A kind found by an id: the entries of the version stored under id_key
 * (kind->stored()), *n of them, 0 when there is none; an LMDB error.  buf
 * holds CART_KEY_MAX * 3.
 */
int cartctl_stored(MDB_txn *txn, cartctl_store_t *st, const cart_kind_t *kind,
    const unsigned char *id_key, size_t id_key_len, cart_entry_t *entries,
    unsigned char *buf, size_t *n);

/*
 * Removes the record at key (a kind found by an id: the id's entry, once
 * the record is gone), and what it takes along; an LMDB error.
 */
int cartctl_remove(MDB_txn *txn, cartctl_store_t *st,
    const cart_kind_t *kind, const unsigned char *key, size_t key_len);

/*
 * Calls each() for every record, in the order of cart_kinds[] databases
 * (a cart line needs its domain): an LMDB error, or 0.
 */
int cartctl_walk(cartctl_store_t *st, cartctl_each_pt each, void *data);

/*
 * A batch of NDJSON lines, prepared (parsed, checked, rendered) by worker
 * threads and then applied in order by one thread: the import's, and the
 * follower's (cartctl_follow.c).
 */
#define CARTCTL_BATCH  2048

typedef struct {
    char            *text;
    size_t           cap;
    ssize_t          len;
    int              rc;            /* 0 ok, 1 blank, -1 invalid */
    char             err[600];
    cart_record_t    rec;
    uint64_t         tag;           /* the follower's: its LSN */
} cartctl_line_t;

typedef struct {
    cartctl_line_t  *lines;
    size_t           n;
    size_t           next;          /* the next line to claim */
} cartctl_batch_t;

/* parses, checks and renders a line into line->rec (or line->err) */
void cartctl_prepare(cartctl_line_t *line);

/*
 * Starts up to nthreads workers preparing the batch's lines; with none
 * started (nthreads 0), prepares them all itself.  Returns how many
 * started, for cartctl_join().
 */
long cartctl_start(cartctl_batch_t *batch, pthread_t *threads, long nthreads);
void cartctl_join(pthread_t *threads, long started);

/* imports NDJSON from file (NULL or "-": standard input); exit status */
int cartctl_import(cartctl_store_t *st, const char *file);

/* follows a PostgreSQL table of records (cartctl_follow.c); exit status */
int cartctl_follow(cartctl_store_t *st, char **args, int nargs);

/*
 * Whether the store is kept by cartctl follow: 1 (its slot into slot, the
 * LSN it holds into *lsn), 0, or -1 with the LMDB error in *rc.
 */
int cartctl_followed(cartctl_store_t *st, char *slot, size_t len,
    uint64_t *lsn, int *rc);

/* prints what the store follows, if it does (cartctl_follow.c) */
void cartctl_follow_stat(cartctl_store_t *st);


#endif /* CARTCTL_H */
