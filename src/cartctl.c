/*
 * cartctl: writes and inspects a cart store (see cart_layout.h).
 */

#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lmdb.h>
#include <jansson.h>

#include "cart_json.h"
#include "cart_layout.h"
#include "cart_record.h"


#define CARTCTL_OK         0
#define CARTCTL_INVALID    1
#define CARTCTL_USAGE      2
#define CARTCTL_NOT_FOUND  3
#define CARTCTL_STORE      4

#define CARTCTL_DEFAULT_MAP_SIZE  (16ULL << 30)


static const char  *cartctl_usage =
"usage: cartctl --store DIR [--map-size BYTES] COMMAND [ARGS]\n"
"\n"
"Writes and inspects the LMDB cart store that ngx_http_cart_module serves.\n"
"\n"
"commands:\n"
"  import [FILE|-]               import NDJSON records (standard input by\n"
"                                default), all or nothing\n"
"  get domain DOMAIN             print a domain record as NDJSON\n"
"  get device DEVICE_ID          print a device record as NDJSON\n"
"  get cart DEVICE_ID DOMAIN [--v1]\n"
"                                print the cart exactly as the V2 (or V1)\n"
"                                route serves it\n"
"  dump                          print every record as NDJSON that import\n"
"                                accepts again\n"
"  stat                          record counts and map use\n"
"  delete domain DOMAIN | device DEVICE_ID | cart DEVICE_ID DOMAIN\n"
"                                remove a record (a device with its carts)\n"
"\n"
"options:\n"
"  -s, --store DIR               the store directory (created by import)\n"
"  -m, --map-size BYTES          the map size (default 16 GiB for a new\n"
"                                store; k, M, G suffixes)\n"
"  -h, --help                    this text\n"
"\n"
"import lines:\n"
"  {\"kind\":\"domain\",\"domain\":D,\"display_name\":S,\"platform_id\":S,\n"
"   \"available\":B[,\"currency\":\"USD\",\"currency_symbol\":\"$\"]}\n"
"  {\"kind\":\"device\",\"device_id\":ID,\"expires_at\":T}\n"
"  {\"kind\":\"cart\",\"device_id\":ID,\"domain\":D,\"expires_at\":T,\n"
"   \"updated_at\":T,\"cart\":{V2 cart}}\n"
"  any of them with \"deleted\":true removes the record.\n"
"\n"
"exit status: 0 success, 1 invalid input (nothing was written), 2 usage,\n"
"3 no such record, 4 store error.\n";


typedef struct {
    MDB_env   *env;
    MDB_dbi    dbi[3];          /* by cart_kind_e: devices are in carts */
    MDB_dbi    meta;
} cartctl_store_t;


static const char  *cartctl_dbs[] = {
    CART_DB_DOMAINS, NULL, CART_DB_CARTS
};


/* an LMDB error, said as what to do about it when there is something */
static const char *
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


static int
cartctl_store_error(cartctl_store_t *st, const char *what, int rc)
{
    char  buf[128];

    fprintf(stderr, "cartctl: %s: %s\n", what,
            cartctl_reason(st, rc, buf, sizeof(buf)));

    return CARTCTL_STORE;
}


static int
cartctl_open(cartctl_store_t *st, const char *dir, size_t map_size,
    int write)
{
    int           rc, i;
    char          path[4096];
    uint32_t      version;
    MDB_val       key, val;
    MDB_txn      *txn;
    struct stat   sb;

    snprintf(path, sizeof(path), "%s/data.mdb", dir);

    if (stat(path, &sb) != 0) {
        if (!write) {
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
        rc = mdb_env_open(st->env, dir, write ? 0 : MDB_RDONLY, 0644);
    }

    if (rc != 0) {
        return cartctl_store_error(st, dir, rc);
    }

    /* a writer clears the slots of dead readers; stat shows them */
    if (write) {
        mdb_reader_check(st->env, NULL);
    }

    rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &txn);
    if (rc != 0) {
        return cartctl_store_error(st, "begin", rc);
    }

    rc = mdb_dbi_open(txn, CART_DB_META, write ? MDB_CREATE : 0, &st->meta);

    for (i = 0; rc == 0 && i < 3; i++) {
        if (cartctl_dbs[i]) {
            rc = mdb_dbi_open(txn, cartctl_dbs[i], write ? MDB_CREATE : 0,
                              &st->dbi[i]);
        }
    }

    st->dbi[CART_KIND_DEVICE] = st->dbi[CART_KIND_CART];

    if (rc != 0) {
        mdb_txn_abort(txn);
        fprintf(stderr, "cartctl: %s is not a cart store: %s\n", dir,
                mdb_strerror(rc));
        return CARTCTL_STORE;
    }

    key.mv_data = CART_META_LAYOUT_KEY;
    key.mv_size = sizeof(CART_META_LAYOUT_KEY) - 1;

    rc = mdb_get(txn, st->meta, &key, &val);

    if (rc == MDB_NOTFOUND && write) {
        version = CART_LAYOUT_VERSION;
        val.mv_data = &version;
        val.mv_size = sizeof(version);
        rc = mdb_put(txn, st->meta, &key, &val, 0);

    } else if (rc == 0) {
        version = 0;
        if (val.mv_size == sizeof(version)) {
            memcpy(&version, val.mv_data, sizeof(version));
        }

        if (version != CART_LAYOUT_VERSION) {
            mdb_txn_abort(txn);
            fprintf(stderr, "cartctl: %s has store layout %u, this cartctl "
                    "writes layout %u\n", dir, version, CART_LAYOUT_VERSION);
            return CARTCTL_STORE;
        }
    }

    if (rc != 0) {
        mdb_txn_abort(txn);
        return cartctl_store_error(st, "layout version", rc);
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        return cartctl_store_error(st, "commit", rc);
    }

    return CARTCTL_OK;
}


/* a put that leaves an identical record alone, so re-imports are no-ops */
static int
cartctl_put(MDB_txn *txn, MDB_dbi dbi, cart_record_t *rec)
{
    int      rc;
    MDB_val  key, val, old;

    key.mv_data = rec->key;
    key.mv_size = rec->key_len;

    rc = mdb_get(txn, dbi, &key, &old);

    if (rc == 0 && old.mv_size == rec->value_len
        && memcmp(old.mv_data, rec->value, rec->value_len) == 0)
    {
        return 0;
    }

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }

    val.mv_data = rec->value;
    val.mv_size = rec->value_len;

    return mdb_put(txn, dbi, &key, &val, 0);
}


static int
cartctl_del(MDB_txn *txn, MDB_dbi dbi, const void *data, size_t len)
{
    int      rc;
    MDB_val  key;

    key.mv_data = (void *) data;
    key.mv_size = len;

    rc = mdb_del(txn, dbi, &key, NULL);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* removes a device's session and carts: the key range "device id" NUL */
static int
cartctl_del_device_carts(MDB_txn *txn, cartctl_store_t *st,
    const char *device_id, size_t len)
{
    int             rc;
    MDB_val         key, val;
    MDB_cursor     *cur;
    unsigned char   prefix[CART_DEVICE_ID_MAX_LEN + 1];

    memcpy(prefix, device_id, len);
    prefix[len] = '\0';

    rc = mdb_cursor_open(txn, st->dbi[CART_KIND_CART], &cur);
    if (rc != 0) {
        return rc;
    }

    key.mv_data = prefix;
    key.mv_size = len + 1;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && key.mv_size > len
         && memcmp(key.mv_data, prefix, len + 1) == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }
    }

    mdb_cursor_close(cur);

    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}


static int
cartctl_exists(MDB_txn *txn, MDB_dbi dbi, const void *data, size_t len)
{
    MDB_val  key, val;

    key.mv_data = (void *) data;
    key.mv_size = len;

    return mdb_get(txn, dbi, &key, &val) == 0;
}


/*
 * Applies one record: CARTCTL_OK, CARTCTL_INVALID with err set, or
 * CARTCTL_STORE with the LMDB error (negative, or an errno) in *store_rc.
 */
static int
cartctl_apply(MDB_txn *txn, cartctl_store_t *st, cart_record_t *rec,
    char *err, size_t err_len, int *store_rc)
{
    int  rc;

    if (rec->kind == CART_KIND_CART && !rec->deleted) {
        if (!cartctl_exists(txn, st->dbi[CART_KIND_DOMAIN], rec->domain,
                            rec->domain_len))
        {
            snprintf(err, err_len, "domain: unknown domain \"%s\" (import "
                     "its domain record first)", rec->domain);
            return CARTCTL_INVALID;
        }

        /* a session's key: the device id with its NUL */
        if (!cartctl_exists(txn, st->dbi[CART_KIND_DEVICE], rec->device_id,
                            rec->device_id_len + 1))
        {
            snprintf(err, err_len, "device_id: unknown device \"%s\" "
                     "(import its device record first)", rec->device_id);
            return CARTCTL_INVALID;
        }
    }

    if (!rec->deleted) {
        rc = cartctl_put(txn, st->dbi[rec->kind], rec);

    } else {
        rc = 0;

        if (rec->kind == CART_KIND_DEVICE) {
            rc = cartctl_del_device_carts(txn, st, rec->device_id,
                                          rec->device_id_len);
        }

        if (rc == 0) {
            rc = cartctl_del(txn, st->dbi[rec->kind], rec->key, rec->key_len);
        }
    }

    *store_rc = rc;

    return rc == 0 ? CARTCTL_OK : CARTCTL_STORE;
}


/*
 * Import runs in batches: worker threads parse and render the lines of a
 * batch (the costly part: JSON in, two views out), then this thread
 * applies them in order in the one write transaction.
 */

#define CARTCTL_BATCH  2048

typedef struct {
    char            *text;
    size_t           cap;
    ssize_t          len;
    int              rc;            /* 0 ok, 1 blank, -1 invalid */
    char             err[600];
    cart_record_t    rec;
} cartctl_line_t;

typedef struct {
    cartctl_line_t  *lines;
    size_t           n;
    size_t           next;          /* the next line to claim */
} cartctl_batch_t;


static void
cartctl_prepare(cartctl_line_t *line)
{
    json_t        *json;
    json_error_t   jerr;

    memset(&line->rec, 0, sizeof(cart_record_t));

    if (strspn(line->text, " \t\r\n") == (size_t) line->len) {
        line->rc = 1;
        return;
    }

    json = json_loadb(line->text, (size_t) line->len, JSON_REJECT_DUPLICATES,
                      &jerr);
    if (json == NULL) {
        snprintf(line->err, sizeof(line->err), "json: %s (column %d)",
                 jerr.text, jerr.column);
        line->rc = -1;
        return;
    }

    line->rc = cart_record_from_json(json, &line->rec, line->err,
                                     sizeof(line->err));
    json_decref(json);
}


static void *
cartctl_worker(void *data)
{
    size_t            i;
    cartctl_batch_t  *batch = data;

    while ((i = __atomic_fetch_add(&batch->next, 1, __ATOMIC_RELAXED))
           < batch->n)
    {
        cartctl_prepare(&batch->lines[i]);
    }

    return NULL;
}


/* starts nthreads workers on a batch; cartctl_join() waits for them */
static long
cartctl_start(cartctl_batch_t *batch, pthread_t *threads, long nthreads)
{
    long  t;

    batch->next = 0;

    for (t = 0; t < nthreads; t++) {
        if (pthread_create(&threads[t], NULL, cartctl_worker, batch) != 0) {
            break;
        }
    }

    if (t == 0) {
        cartctl_worker(batch);
    }

    return t;
}


static void
cartctl_join(pthread_t *threads, long started)
{
    while (started--) {
        pthread_join(threads[started], NULL);
    }
}


static size_t
cartctl_read_batch(cartctl_batch_t *batch, FILE *in)
{
    cartctl_line_t  *line;

    for (batch->n = 0; batch->n < CARTCTL_BATCH; batch->n++) {
        line = &batch->lines[batch->n];
        line->len = getline(&line->text, &line->cap, in);
        if (line->len == -1) {
            break;
        }
    }

    return batch->n;
}


/* applies a prepared batch in order; returns the import's status */
static int
cartctl_apply_batch(MDB_txn *txn, cartctl_store_t *st,
    cartctl_batch_t *batch, size_t *lineno, size_t *records)
{
    int              rc, status;
    char             reason[128];
    size_t           i;
    cartctl_line_t  *line;

    status = CARTCTL_OK;

    for (i = 0; i < batch->n; i++) {
        line = &batch->lines[i];
        (*lineno)++;

        if (status == CARTCTL_OK && line->rc == 0) {
            status = cartctl_apply(txn, st, &line->rec, line->err,
                                   sizeof(line->err), &rc);

            if (status == CARTCTL_STORE) {
                fprintf(stderr, "line %zu: store: %s\n", *lineno,
                        cartctl_reason(st, rc, reason, sizeof(reason)));

            } else if (status == CARTCTL_INVALID) {
                line->rc = -1;
                status = CARTCTL_OK;

            } else {
                (*records)++;
            }
        }

        if (status == CARTCTL_OK && line->rc == -1) {
            fprintf(stderr, "line %zu: %s\n", *lineno, line->err);
            status = CARTCTL_INVALID;
        }

        cart_record_free(&line->rec);
    }

    return status;
}


static int
cartctl_import(cartctl_store_t *st, const char *file)
{
    int               rc, status;
    FILE             *in;
    long              nthreads, started;
    size_t            i, b, lineno, records, more;
    MDB_txn          *txn;
    pthread_t         threads[16];
    cartctl_batch_t   batch[2], *work, *idle, *tmp;

    if (file == NULL || strcmp(file, "-") == 0) {
        in = stdin;

    } else {
        in = fopen(file, "r");
        if (in == NULL) {
            fprintf(stderr, "cartctl: %s: %s\n", file, strerror(errno));
            return CARTCTL_INVALID;
        }
    }

    for (b = 0; b < 2; b++) {
        batch[b].lines = calloc(CARTCTL_BATCH, sizeof(cartctl_line_t));
        if (batch[b].lines == NULL) {
            fprintf(stderr, "cartctl: out of memory\n");
            return CARTCTL_STORE;
        }
    }

    nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    nthreads = nthreads < 1 ? 1 : nthreads > 16 ? 16 : nthreads;

    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0) {
        return cartctl_store_error(st, "begin", rc);
    }

    lineno = 0;
    records = 0;
    status = CARTCTL_OK;

    /*
     * Two batches: while the workers prepare one, this thread applies the
     * one before it and reads the one after it.
     */
    work = &batch[0];
    idle = &batch[1];

    cartctl_read_batch(work, in);
    started = cartctl_start(work, threads, nthreads);

    while (work->n) {
        more = (work->n == CARTCTL_BATCH);
        idle->n = 0;

        if (more) {
            cartctl_read_batch(idle, in);
        }

        cartctl_join(threads, started);
        started = 0;

        if (idle->n) {
            started = cartctl_start(idle, threads, nthreads);
        }

        status = cartctl_apply_batch(txn, st, work, &lineno, &records);

        if (status != CARTCTL_OK) {
            cartctl_join(threads, started);

            for (i = 0; i < idle->n; i++) {
                cart_record_free(&idle->lines[i].rec);
            }

            break;
        }

        tmp = work;
        work = idle;
        idle = tmp;
    }

    if (status == CARTCTL_OK && ferror(in)) {
        fprintf(stderr, "cartctl: read: %s\n", strerror(errno));
        status = CARTCTL_INVALID;
    }

    for (b = 0; b < 2; b++) {
        for (i = 0; i < CARTCTL_BATCH; i++) {
            free(batch[b].lines[i].text);
        }

        free(batch[b].lines);
    }

    if (in != stdin) {
        fclose(in);
    }

    if (status != CARTCTL_OK) {
        mdb_txn_abort(txn);
        fprintf(stderr, "cartctl: nothing imported\n");
        return status;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        return cartctl_store_error(st, "commit", rc);
    }

    fprintf(stderr, "cartctl: imported %zu records\n", records);

    return CARTCTL_OK;
}


static int
cartctl_kind(const char *name, cart_kind_e *kind)
{
    if (strcmp(name, "domain") == 0) {
        *kind = CART_KIND_DOMAIN;

    } else if (strcmp(name, "device") == 0) {
        *kind = CART_KIND_DEVICE;

    } else if (strcmp(name, "cart") == 0) {
        *kind = CART_KIND_CART;

    } else {
        return -1;
    }

    return 0;
}


/* the key of "domain D", "device ID" or "cart ID D" arguments */
static int
cartctl_key(cart_kind_e kind, char **args, int nargs, unsigned char *key,
    size_t *key_len)
{
    size_t  len;
    char    domain[CART_DOMAIN_MAX_LEN];

    if (nargs != (kind == CART_KIND_CART ? 2 : 1)) {
        return CARTCTL_USAGE;
    }

    if (kind == CART_KIND_DEVICE || kind == CART_KIND_CART) {
        len = strlen(args[0]);

        if (!cart_device_id_valid(args[0], len)) {
            fprintf(stderr, "cartctl: not a device id: %s\n", args[0]);
            return CARTCTL_USAGE;
        }

        if (kind == CART_KIND_DEVICE) {
            *key_len = cart_cart_key(args[0], len, "", 0, key);
            return CARTCTL_OK;
        }
    }

    len = strlen(args[nargs - 1]);
    len = cart_domain_key(args[nargs - 1], len, domain);

    if (len == 0) {
        fprintf(stderr, "cartctl: not a domain: %s\n", args[nargs - 1]);
        return CARTCTL_USAGE;
    }

    if (kind == CART_KIND_DOMAIN) {
        memcpy(key, domain, len);
        *key_len = len;

    } else {
        *key_len = cart_cart_key(args[0], strlen(args[0]), domain, len, key);
    }

    return CARTCTL_OK;
}


static void
cartctl_print_record(cart_kind_e kind, MDB_val *key, MDB_val *val)
{
    char    *text;
    size_t   len;
    json_t  *json;

    json = cart_record_to_json(kind, key->mv_data, key->mv_size,
                               val->mv_data, val->mv_size);

    if (json == NULL) {
        fprintf(stderr, "cartctl: a corrupt %s record (%zu bytes) skipped\n",
                kind == CART_KIND_DOMAIN ? "domain"
                : kind == CART_KIND_DEVICE ? "device" : "cart",
                val->mv_size);
        return;
    }

    text = cart_json_dump(json, &len);
    json_decref(json);

    if (text == NULL) {
        fprintf(stderr, "cartctl: out of memory\n");
        return;
    }

    fwrite(text, 1, len, stdout);
    putchar('\n');
    free(text);
}


static int
cartctl_get(cartctl_store_t *st, char **args, int nargs)
{
    int               rc, v1;
    size_t            key_len;
    MDB_val           key, val;
    MDB_txn          *txn;
    cart_kind_e       kind;
    unsigned char     buf[CART_CART_KEY_MAX];
    cart_cart_rec_t   c;

    if (nargs < 2 || cartctl_kind(args[0], &kind) != 0) {
        return CARTCTL_USAGE;
    }

    v1 = (kind == CART_KIND_CART && nargs == 4
          && strcmp(args[3], "--v1") == 0);

    rc = cartctl_key(kind, args + 1, nargs - 1 - v1, buf, &key_len);
    if (rc != CARTCTL_OK) {
        return rc;
    }

    rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return cartctl_store_error(st, "begin", rc);
    }

    key.mv_data = buf;
    key.mv_size = key_len;

    rc = mdb_get(txn, st->dbi[kind], &key, &val);

    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        fprintf(stderr, "cartctl: no such %s\n", args[0]);
        return CARTCTL_NOT_FOUND;
    }

    if (rc != 0) {
        mdb_txn_abort(txn);
        return cartctl_store_error(st, "get", rc);
    }

    if (kind != CART_KIND_CART) {
        cartctl_print_record(kind, &key, &val);

    } else if (cart_cart_rec_read(val.mv_data, val.mv_size, &c) == 0) {
        if (v1) {
            fwrite((char *) val.mv_data + sizeof(c) + c.v2_len, 1, c.v1_len,
                   stdout);

        } else {
            fwrite((char *) val.mv_data + sizeof(c), 1, c.v2_len, stdout);
        }

        putchar('\n');

    } else {
        fprintf(stderr, "cartctl: the cart record is corrupt\n");
        rc = CARTCTL_STORE;
    }

    mdb_txn_abort(txn);

    return rc;
}


/* a carts key that ends in NUL is a device session's */
static cart_kind_e
cartctl_carts_kind(MDB_val *key)
{
    return key->mv_size && ((char *) key->mv_data)[key->mv_size - 1] == '\0'
           ? CART_KIND_DEVICE : CART_KIND_CART;
}


/*
 * Calls each(kind, key, value, data) for every record: domains first, as a
 * cart line needs its domain, then each device's session before its carts.
 */
static int
cartctl_walk(cartctl_store_t *st, void (*each)(cart_kind_e kind,
    MDB_val *key, MDB_val *val, void *data), void *data)
{
    int           rc;
    MDB_val       key, val;
    MDB_txn      *txn;
    MDB_cursor   *cur;
    cart_kind_e   kind;

    rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    for (kind = CART_KIND_DOMAIN; kind <= CART_KIND_CART; kind++) {
        if (kind == CART_KIND_DEVICE) {
            continue;   /* in the carts database */
        }

        rc = mdb_cursor_open(txn, st->dbi[kind], &cur);
        if (rc != 0) {
            break;
        }

        while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
            each(kind == CART_KIND_DOMAIN ? kind : cartctl_carts_kind(&key),
                 &key, &val, data);
        }

        mdb_cursor_close(cur);

        if (rc != MDB_NOTFOUND) {
            break;
        }

        rc = 0;
    }

    mdb_txn_abort(txn);

    return rc;
}


static void
cartctl_dump_record(cart_kind_e kind, MDB_val *key, MDB_val *val,
    void *data)
{
    cartctl_print_record(kind, key, val);
}


static int
cartctl_dump(cartctl_store_t *st)
{
    int  rc;

    rc = cartctl_walk(st, cartctl_dump_record, NULL);

    return rc ? cartctl_store_error(st, "dump", rc) : CARTCTL_OK;
}


static void
cartctl_count_record(cart_kind_e kind, MDB_val *key, MDB_val *val,
    void *data)
{
    ((size_t *) data)[kind]++;
}


typedef struct {
    unsigned int  live;             /* other processes that have it open */
    unsigned int  reading;          /* of them, in a read transaction now */
    unsigned int  stale;            /* slots of processes that are gone */
} cartctl_readers_t;


/* a line of mdb_reader_list(): "pid thread txnid", "-" when idle */
static int
cartctl_count_reader(const char *line, void *data)
{
    int                 pid;
    char                txnid[32];
    size_t              thread;
    cartctl_readers_t  *readers = data;

    if (sscanf(line, "%d %zx %31s", &pid, &thread, txnid) != 3
        || pid == (int) getpid())
    {
        return 0;
    }

    if (kill(pid, 0) == -1 && errno == ESRCH) {
        readers->stale++;

    } else {
        readers->live++;
        readers->reading += (strcmp(txnid, "-") != 0);
    }

    return 0;
}


static int
cartctl_stat(cartctl_store_t *st)
{
    int                 rc;
    cartctl_readers_t   readers;
    size_t       counts[3] = { 0, 0, 0 };
    MDB_stat     ms;
    MDB_envinfo  info;

    rc = cartctl_walk(st, cartctl_count_record, counts);
    if (rc != 0) {
        return cartctl_store_error(st, "stat", rc);
    }

    printf("%-16s %zu\n", "domains", counts[CART_KIND_DOMAIN]);
    printf("%-16s %zu\n", "devices", counts[CART_KIND_DEVICE]);
    printf("%-16s %zu\n", "carts", counts[CART_KIND_CART]);

    mdb_env_info(st->env, &info);
    mdb_env_stat(st->env, &ms);

    printf("%-16s %zu\n", "map_size", info.me_mapsize);
    printf("%-16s %zu (%.1f%%)\n", "map_used",
           (info.me_last_pgno + 1) * (size_t) ms.ms_psize,
           100.0 * (double) (info.me_last_pgno + 1) * ms.ms_psize
           / (double) info.me_mapsize);
    printf("%-16s %u\n", "page_size", ms.ms_psize);
    readers.live = readers.reading = readers.stale = 0;
    mdb_reader_list(st->env, cartctl_count_reader, &readers);

    printf("%-16s %u live (%u in a transaction), %u stale, of %u slots\n",
           "readers", readers.live, readers.reading, readers.stale,
           info.me_maxreaders);
    printf("%-16s %u\n", "layout", CART_LAYOUT_VERSION);

    return CARTCTL_OK;
}


static int
cartctl_delete(cartctl_store_t *st, char **args, int nargs)
{
    int             rc;
    size_t          key_len;
    MDB_txn        *txn;
    cart_kind_e     kind;
    unsigned char   key[CART_CART_KEY_MAX];

    if (nargs < 2 || cartctl_kind(args[0], &kind) != 0) {
        return CARTCTL_USAGE;
    }

    rc = cartctl_key(kind, args + 1, nargs - 1, key, &key_len);
    if (rc != CARTCTL_OK) {
        return rc;
    }

    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0) {
        return cartctl_store_error(st, "begin", rc);
    }

    if (!cartctl_exists(txn, st->dbi[kind], key, key_len)) {
        mdb_txn_abort(txn);
        fprintf(stderr, "cartctl: no such %s\n", args[0]);
        return CARTCTL_NOT_FOUND;
    }

    rc = 0;

    if (kind == CART_KIND_DEVICE) {
        rc = cartctl_del_device_carts(txn, st, (char *) key, key_len - 1);
    }

    if (rc == 0) {
        rc = cartctl_del(txn, st->dbi[kind], key, key_len);
    }

    if (rc == 0) {
        return (rc = mdb_txn_commit(txn)) ? cartctl_store_error(st, "commit", rc)
                                          : CARTCTL_OK;
    }

    mdb_txn_abort(txn);

    return cartctl_store_error(st, "delete", rc);
}


static size_t
cartctl_size(const char *s)
{
    char                *end;
    unsigned long long   n;

    errno = 0;
    n = strtoull(s, &end, 10);

    if (errno || end == s) {
        return 0;
    }

    switch (*end) {
    case 'k': case 'K': n <<= 10; end++; break;
    case 'm': case 'M': n <<= 20; end++; break;
    case 'g': case 'G': n <<= 30; end++; break;
    default: break;
    }

    return *end == '\0' ? (size_t) n : 0;
}


int
main(int argc, char **argv)
{
    int               c, rc, nargs;
    char             *store, *cmd, **args;
    size_t            map_size;
    cartctl_store_t   st;

    static struct option  options[] = {
        { "store", required_argument, NULL, 's' },
        { "map-size", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    store = NULL;
    map_size = 0;
    memset(&st, 0, sizeof(cartctl_store_t));

    /* before any thread makes a JSON object (jansson's rule) */
    json_object_seed(0);

    while ((c = getopt_long(argc, argv, "+s:m:h", options, NULL)) != -1) {
        switch (c) {

        case 's':
            store = optarg;
            break;

        case 'm':
            map_size = cartctl_size(optarg);
            if (map_size == 0) {
                fprintf(stderr, "cartctl: bad --map-size: %s\n", optarg);
                return CARTCTL_USAGE;
            }
            break;

        case 'h':
            fputs(cartctl_usage, stdout);
            return CARTCTL_OK;

        default:
            fputs(cartctl_usage, stderr);
            return CARTCTL_USAGE;
        }
    }

    if (store == NULL || optind >= argc) {
        fputs(cartctl_usage, stderr);
        return CARTCTL_USAGE;
    }

    cmd = argv[optind];
    args = argv + optind + 1;
    nargs = argc - optind - 1;

    if (strcmp(cmd, "import") != 0 && strcmp(cmd, "get") != 0
        && strcmp(cmd, "dump") != 0 && strcmp(cmd, "stat") != 0
        && strcmp(cmd, "delete") != 0)
    {
        fprintf(stderr, "cartctl: unknown command: %s\n\n%s", cmd,
                cartctl_usage);
        return CARTCTL_USAGE;
    }

    if ((strcmp(cmd, "import") == 0 && nargs > 1)
        || ((strcmp(cmd, "dump") == 0 || strcmp(cmd, "stat") == 0)
            && nargs != 0))
    {
        fputs(cartctl_usage, stderr);
        return CARTCTL_USAGE;
    }

    rc = cartctl_open(&st, store, map_size,
                      strcmp(cmd, "import") == 0
                      || strcmp(cmd, "delete") == 0);
    if (rc != CARTCTL_OK) {
        return rc;
    }

    if (strcmp(cmd, "import") == 0) {
        rc = cartctl_import(&st, nargs ? args[0] : NULL);

    } else if (strcmp(cmd, "get") == 0) {
        rc = cartctl_get(&st, args, nargs);

    } else if (strcmp(cmd, "dump") == 0) {
        rc = cartctl_dump(&st);

    } else if (strcmp(cmd, "stat") == 0) {
        rc = cartctl_stat(&st);

    } else {
        rc = cartctl_delete(&st, args, nargs);
    }

    if (rc == CARTCTL_USAGE) {
        fputs(cartctl_usage, stderr);
    }

    mdb_env_close(st.env);

    return rc;
}
