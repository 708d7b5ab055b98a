/*
 * cartctl: writes and inspects a cart store (see cart_layout.h).  The
 * command line: its options and commands, each a row of cartctl_commands.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cart_json.h"
#include "cartctl.h"


static const char  *cartctl_usage =
"usage: cartctl --store DIR [--map-size BYTES] [--keep-plain] "
"COMMAND [ARGS]\n"
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
"  get api_key STORE KEY         print a store's publishable key as NDJSON\n"
"  get spree_cart STORE ID       print a Spree cart as the route serves it\n"
"  dump                          print every record as NDJSON that import\n"
"                                accepts again\n"
"  stat                          record counts and map use, and what the\n"
"                                store follows\n"
"  delete domain DOMAIN | device DEVICE_ID | cart DEVICE_ID DOMAIN\n"
"       | api_key STORE KEY | spree_cart STORE ID\n"
"                                remove a record (a device with its carts)\n"
"  follow CONNINFO [--slot NAME] [--publication NAME]\n"
"         [--on-invalid hold|skip]\n"
"                                keep the store in step with a PostgreSQL\n"
"                                table of these lines (sql/cart_records.sql)\n"
"                                by logical replication, until SIGTERM; a\n"
"                                new store first copies the table. Slot:\n"
"                                cart_HOSTNAME; publication: cart_records;\n"
"                                an invalid record stops it (hold) or is\n"
"                                logged and passed over (skip)\n"
"\n"
"options:\n"
"  -s, --store DIR               the store directory (created by import)\n"
"  -m, --map-size BYTES          the map size (default 16 GiB for a new\n"
"                                store; k, M, G suffixes)\n"
"  -p, --keep-plain              a new store keeps each view plain beside\n"
"                                its deflated bytes: faster answers to\n"
"                                clients without gzip, a store about five\n"
"                                times as large\n"
"  -h, --help                    this text\n"
"\n"
"import lines:\n"
"  {\"kind\":\"domain\",\"domain\":D,\"display_name\":S,\"platform_id\":S,\n"
"   \"available\":B[,\"currency\":\"USD\",\"currency_symbol\":\"$\"]}\n"
"  {\"kind\":\"device\",\"device_id\":ID,\"expires_at\":T}\n"
"  {\"kind\":\"cart\",\"device_id\":ID,\"domain\":D,\"expires_at\":T,\n"
"   \"updated_at\":T,\"cart\":{V2 cart}}\n"
"  {\"kind\":\"api_key\",\"store\":S,\"token\":\"pk_...\"[,\"revoked\":B]}\n"
"  {\"kind\":\"spree_cart\",\"store\":S,\"user_id\":N|null,\"created_at\":T,\n"
"   \"updated_at\":T,\"completed_at\":T|null,\"cart\":{Spree cart}}\n"
"  any of them with \"deleted\":true removes the record (a spree_cart:\n"
"  {\"kind\":\"spree_cart\",\"store\":S,\"id\":ID,\"deleted\":true}).\n"
"\n"
"exit status: 0 success, 1 invalid input (nothing was written; follow:\n"
"a record held), 2 usage, 3 no such record, 4 store error, 5 PostgreSQL\n"
"(follow: connection, publication, table, slot).\n";


typedef struct {
    const char   *name;
    int           mode;             /* CARTCTL_READ, _WRITE, _WRITE_MAP */
    int           min_args;
    int           max_args;
    int         (*run)(cartctl_store_t *st, char **args, int nargs);
} cartctl_command_t;


static void
cartctl_print_record(const cart_kind_t *kind, MDB_val *key, MDB_val *val)
{
    char    *text;
    size_t   len;
    json_t  *json;

    json = kind->to_json(key->mv_data, key->mv_size, val->mv_data,
                         val->mv_size);

    if (json == NULL) {
        fprintf(stderr, "cartctl: a corrupt %s record (%zu bytes) skipped\n",
                kind->name, val->mv_size);
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


/*
 * The record that a key names: its key and value in kind->db (a kind found
 * by an id: where the id says it is).  0, or an LMDB error (MDB_NOTFOUND).
 */
static int
cartctl_find(MDB_txn *txn, cartctl_store_t *st, const cart_kind_t *kind,
    unsigned char *named, size_t named_len, MDB_val *key, MDB_val *val)
{
    int            rc;
    size_t         n;
    cart_entry_t   entries[2];
    unsigned char  buf[CART_KEY_MAX * 3];

    key->mv_data = named;
    key->mv_size = named_len;

    if (kind->ids != CART_DB_NONE) {
        rc = cartctl_stored(txn, st, kind, named, named_len, entries, buf,
                            &n);
        if (rc != 0 || n == 0) {
            return rc ? rc : MDB_NOTFOUND;
        }

        /* in the caller's buffer, which holds any key */
        memcpy(named, entries[0].key, entries[0].key_len);
        key->mv_size = entries[0].key_len;
    }

    return mdb_get(txn, st->dbi[kind->db], key, val);
}


/*
 * "get KIND ARGS" and "delete KIND ARGS": the kind and the key its
 * arguments name; an exit status.
 */
static int
cartctl_named(char **args, int nargs, const cart_kind_t **kind,
    unsigned char *key, size_t *key_len)
{
    char  err[600];

    *kind = cart_kind(args[0]);

    if (*kind == NULL || nargs - 1 != (*kind)->nargs) {
        return CARTCTL_USAGE;
    }

    *key_len = (*kind)->key(args + 1, key, err, sizeof(err));

    if (*key_len == 0) {
        fprintf(stderr, "cartctl: %s\n", err);
        return CARTCTL_USAGE;
    }

    return CARTCTL_OK;
}


static int
cartctl_get(cartctl_store_t *st, char **args, int nargs)
{
    int                  rc, alt;
    size_t               key_len, len;
    MDB_val              key, val;
    MDB_txn             *txn;
    char                *view;
    const cart_kind_t   *kind;
    unsigned char        buf[CART_KEY_MAX];

    /* "--v1": a cart's other view */
    alt = (strcmp(args[nargs - 1], "--v1") == 0);

    rc = cartctl_named(args, nargs - alt, &kind, buf, &key_len);
    if (rc != CARTCTL_OK || (alt && kind->view == NULL)) {
        return CARTCTL_USAGE;
    }

    rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return cartctl_store_error(st, "begin", rc);
    }

    rc = cartctl_find(txn, st, kind, buf, key_len, &key, &val);

    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        fprintf(stderr, "cartctl: no such %s\n", kind->name);
        return CARTCTL_NOT_FOUND;
    }

    if (rc != 0) {
        mdb_txn_abort(txn);
        return cartctl_store_error(st, "get", rc);
    }

    /* a cart's V1 view: its entry in kind->part, under the same key */
    if (alt && kind->part != CART_DB_NONE) {
        rc = mdb_get(txn, st->dbi[kind->part], &key, &val);

        if (rc == MDB_NOTFOUND) {
            val.mv_size = 0;        /* a cart without it: corrupt */

        } else if (rc != 0) {
            mdb_txn_abort(txn);
            return cartctl_store_error(st, "get", rc);
        }
    }

    if (kind->view == NULL) {
        cartctl_print_record(kind, &key, &val);

    } else if (kind->view(val.mv_data, val.mv_size, alt, &view, &len) == 0) {
        fwrite(view, 1, len, stdout);
        putchar('\n');
        free(view);

    } else {
        fprintf(stderr, "cartctl: the %s record is corrupt\n", kind->name);
        rc = CARTCTL_STORE;
    }

    mdb_txn_abort(txn);

    return rc;
}


static void
cartctl_dump_record(const cart_kind_t *kind, MDB_val *key, MDB_val *val,
    void *data)
{
    cartctl_print_record(kind, key, val);
}


static int
cartctl_dump(cartctl_store_t *st, char **args, int nargs)
{
    int  rc;

    rc = cartctl_walk(st, cartctl_dump_record, NULL);

    return rc ? cartctl_store_error(st, "dump", rc) : CARTCTL_OK;
}


static void
cartctl_count_record(const cart_kind_t *kind, MDB_val *key, MDB_val *val,
    void *data)
{
    ((size_t *) data)[kind - cart_kinds]++;
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
cartctl_stat(cartctl_store_t *st, char **args, int nargs)
{
    int                  rc;
    char                 name[32];
    size_t               counts[16];
    MDB_stat             ms;
    MDB_envinfo          info;
    cartctl_readers_t    readers;
    const cart_kind_t   *kind;

    memset(counts, 0, sizeof(counts));

    rc = cartctl_walk(st, cartctl_count_record, counts);
    if (rc != 0) {
        return cartctl_store_error(st, "stat", rc);
    }

    for (kind = cart_kinds; kind->name; kind++) {
        snprintf(name, sizeof(name), "%ss", kind->name);
        printf("%-16s %zu\n", name, counts[kind - cart_kinds]);
    }

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
    printf("%-16s %s\n", "views", (st->views & CART_VIEWS_PLAIN_KEPT)
                                  ? "deflated, plain kept" : "deflated");

    cartctl_follow_stat(st);

    return CARTCTL_OK;
}


static int
cartctl_delete(cartctl_store_t *st, char **args, int nargs)
{
    int              rc, status, store_rc;
    char             err[600];
    MDB_val          key, val;
    MDB_txn         *txn;
    cart_record_t    rec;
    unsigned char    buf[CART_KEY_MAX];

    memset(&rec, 0, sizeof(cart_record_t));
    rec.deleted = 1;

    rc = cartctl_named(args, nargs, &rec.kind, rec.key, &rec.key_len);
    if (rc != CARTCTL_OK) {
        return rc;
    }

    /* a kind found by an id: the key named is the id's */
    if (rec.kind->ids != CART_DB_NONE) {
        memcpy(rec.id_key, rec.key, rec.key_len);
        rec.id_key_len = rec.key_len;
    }

    memcpy(buf, rec.key, rec.key_len);

    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0) {
        return cartctl_store_error(st, "begin", rc);
    }

    rc = cartctl_find(txn, st, rec.kind, buf, rec.key_len, &key, &val);

    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        fprintf(stderr, "cartctl: no such %s\n", rec.kind->name);
        return CARTCTL_NOT_FOUND;
    }

    if (rc != 0) {
        mdb_txn_abort(txn);
        return cartctl_store_error(st, "delete", rc);
    }

    status = cartctl_apply(txn, st, &rec, err, sizeof(err), &store_rc);

    if (status == CARTCTL_OK) {
        rc = mdb_txn_commit(txn);
        return rc ? cartctl_store_error(st, "commit", rc) : CARTCTL_OK;
    }

    mdb_txn_abort(txn);

    return cartctl_store_error(st, "delete", store_rc);
}


static int
cartctl_import_command(cartctl_store_t *st, char **args, int nargs)
{
    return cartctl_import(st, nargs ? args[0] : NULL);
}


static const cartctl_command_t  cartctl_commands[] = {
    { "import", CARTCTL_WRITE, 0, 1, cartctl_import_command },
    { "get", CARTCTL_READ, 2, 4, cartctl_get },
    { "dump", CARTCTL_READ, 0, 0, cartctl_dump },
    { "stat", CARTCTL_READ, 0, 0, cartctl_stat },
    { "delete", CARTCTL_WRITE, 2, 3, cartctl_delete },
    { "follow", CARTCTL_WRITE_MAP, 1, 7, cartctl_follow },
    { NULL, 0, 0, 0, NULL }
};


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
    int                        c, rc, nargs, keep_plain;
    char                      *store, **args, slot[80];
    size_t                     map_size;
    uint64_t                   lsn;
    cartctl_store_t            st;
    const cartctl_command_t   *cmd;

    static struct option  options[] = {
        { "store", required_argument, NULL, 's' },
        { "map-size", required_argument, NULL, 'm' },
        { "keep-plain", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    store = NULL;
    map_size = 0;
    keep_plain = 0;
    memset(&st, 0, sizeof(cartctl_store_t));

    /* before any thread makes a JSON object (jansson's rule) */
    json_object_seed(0);

    while ((c = getopt_long(argc, argv, "+s:m:ph", options, NULL)) != -1) {
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

        case 'p':
            keep_plain = 1;
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

    for (cmd = cartctl_commands; cmd->name; cmd++) {
        if (strcmp(cmd->name, argv[optind]) == 0) {
            break;
        }
    }

    if (cmd->name == NULL) {
        fprintf(stderr, "cartctl: unknown command: %s\n\n%s", argv[optind],
                cartctl_usage);
        return CARTCTL_USAGE;
    }

    args = argv + optind + 1;
    nargs = argc - optind - 1;

    if (nargs < cmd->min_args || nargs > cmd->max_args) {
        fputs(cartctl_usage, stderr);
        return CARTCTL_USAGE;
    }

    rc = cartctl_open(&st, store, map_size, cmd->mode, keep_plain);
    if (rc != CARTCTL_OK) {
        return rc;
    }

    /*
     * A followed store is written by its follower alone (through the map,
     * which LMDB wants no other writer to mix with); its records come from
     * the table.
     */
    if (cmd->mode == CARTCTL_WRITE
        && cartctl_followed(&st, slot, sizeof(slot), &lsn, &rc) == 1)
    {
        fprintf(stderr, "cartctl: %s is kept by cartctl follow (slot "
                "\"%s\"): write to its PostgreSQL table instead\n", store,
                slot);
        mdb_env_close(st.env);
        return CARTCTL_USAGE;
    }

    rc = cmd->run(&st, args, nargs);

    if (rc == CARTCTL_USAGE) {
        fputs(cartctl_usage, stderr);
    }

    mdb_env_close(st.env);

    return rc;
}
