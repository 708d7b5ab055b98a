/*
 * The store layout: the one contract between the writer (cartctl, or a
 * user's own backend) and the reader (the nginx module).
 *
 * A store is one LMDB environment (a directory) holding the named
 * databases below.  Integers in records are in host byte order: an LMDB
 * file is not portable between architectures anyway.  Records begin with
 * a magic number so that a reader can tell a record it understands from
 * garbage; all lengths are in bytes and every record is self-delimiting.
 */

#ifndef CART_LAYOUT_H
#define CART_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>


#define CART_LAYOUT_VERSION        5

#define CART_MAX_DBS               16

/*
 * The databases, by their index in cart_dbs[] (cart_layout.c), where each
 * has its name and LMDB flags: the module and cartctl open them from that
 * one table.
 */
typedef enum {
    CART_DB_META = 0,
    CART_DB_DOMAINS,
    CART_DB_CARTS,
    CART_DB_CARTS_V1,
    CART_DB_SPREE_CARTS,
    CART_DB_SPREE_CREATED,
    CART_DB_SPREE_IDS,
    CART_DB_SPREE_KEYS,
    CART_DB_COUNT
} cart_db_e;

/* "meta": key "layout" -> uint32_t CART_LAYOUT_VERSION */
#define CART_META_LAYOUT_KEY       "layout"

/*
 * "meta": key "views" -> uint32_t, set when the store is made: with
 * CART_VIEWS_PLAIN_KEPT, its writers keep each view plain beside its
 * deflated bytes (cart_deflated_t), for clients that do not accept gzip
 * (cartctl --keep-plain).  The module reads each view's own flag.
 */
#define CART_META_VIEWS_KEY        "views"
#define CART_VIEWS_PLAIN_KEPT      0x1

/*
 * "meta", of a store that cartctl follow keeps (cartctl_follow.c): its
 * replication slot (text), the end LSN of the last PostgreSQL transaction
 * applied (uint64_t), that transaction's commit time (int64_t, Unix
 * microseconds), and the invalid records passed over (uint64_t count, and
 * the last one's LSN and reason, text).  From the creation of its slot
 * until its first copy is committed, a new store names that slot under
 * "pg_slot_new": a copy cut short leaves the slot for the next start to
 * drop.  The module does not read them.
 */
#define CART_META_PG_SLOT_KEY       "pg_slot"
#define CART_META_PG_LSN_KEY        "pg_lsn"
#define CART_META_PG_COMMIT_KEY     "pg_commit_time"
#define CART_META_PG_SKIPPED_KEY    "pg_skipped"
#define CART_META_PG_LAST_SKIP_KEY  "pg_last_skip"
#define CART_META_PG_SLOT_NEW_KEY   "pg_slot_new"

/*
 * "domains": key = domain (lowercase) -> cart_domain_rec_t + data
 *
 * "carts": key = device id, NUL -> cart_device_rec_t (the device session),
 * and key = device id, NUL, domain -> cart_cart_rec_t + data.  A device's
 * session and its carts are one contiguous key range ("device id" NUL),
 * the session first: one B-tree search finds them all, where a separate
 * database of devices cost a second search per request (layout 1; about
 * 9% of the throughput of a store of 1M carts, bench/RESULTS.md).
 *
 * "carts_v1": the same cart keys -> cart_cart_v1_rec_t + data.  A cart's
 * V1 view lives apart from its V2 one (layout 5): together, deflated, the
 * two took 1.9 KB, and the 40% of carts over LMDB's 2 KB node limit each
 * took an overflow page of 4 KB; apart, each fits in its B-tree page,
 * three or four to a page, and an active listing reads only V2 views.
 */

/*
 * Spree Store API carts (layout 3), for the listing of a customer's
 * incomplete carts in one store: in updated_at or created_at order, either
 * way, a page at a time, with the count of them all.
 *
 * "spree_carts": key = store, NUL, be64 user id, state, be64 updated_at,
 *   cart id -> cart_spree_rec_t + the cart's JSON + its member table.
 *   A customer's incomplete carts (state 0) in a store are one key range
 *   in updated_at order (then id): a page is a cursor walk, forward or
 *   backward.  Completed carts (orders, state 1) follow, never listed;
 *   guest carts have user 0, which no token names.
 *
 * "spree_created" (MDB_DUPSORT): key = store, NUL, be64 user id ->
 *   duplicates be64 created_at, be64 updated_at, cart id: the same carts
 *   (incomplete only) in created_at order, each naming its key in
 *   spree_carts; mdb_cursor_count() of the key is the listing's count, in
 *   O(1), without walking anyone's carts.
 *
 * "spree_ids": key = store, NUL, cart id -> cart_spree_loc_t: where a
 *   cart is, so that the writer replaces or removes it by its id (also when
 *   its user or timestamps change).
 *
 * "spree_keys": key = store, NUL, publishable key -> cart_spree_key_rec_t.
 *
 * Timestamps in keys are microseconds since the epoch, offset by 2^63 and
 * big-endian, so that keys sort as the times do.
 */
#define CART_SPREE_STORE_MAX_LEN   64
#define CART_SPREE_ID_MAX_LEN      64
#define CART_SPREE_TOKEN_MAX_LEN   128

#define CART_SPREE_INCOMPLETE      0
#define CART_SPREE_COMPLETED       1

#define CART_DOMAIN_MAX_LEN        253
#define CART_DEVICE_ID_MAX_LEN     256


#define CART_DOMAIN_MAGIC          0x4d4f4443  /* "CDOM" */
#define CART_DEVICE_MAGIC          0x56454443  /* "CDEV" */
#define CART_CART_MAGIC            0x54524143  /* "CART" */
#define CART_CART_V1_MAGIC         0x31564143  /* "CAV1" */
#define CART_SPREE_MAGIC           0x43525053  /* "SPRC" */
#define CART_SPREE_LOC_MAGIC       0x4c525053  /* "SPRL" */
#define CART_SPREE_KEY_MAGIC       0x4b525053  /* "SPRK" */

#define CART_DOMAIN_AVAILABLE      0x1

/*
 * A view (a cart's JSON as a route sends it) is stored deflated (layout
 * 4): raw deflate, compressed on its own and ended by a sync flush, so
 * that it ends on a byte boundary without a final block.  A gzip answer
 * sends it as it is between a header and a trailer; a listing
 * concatenates the views of its carts, and their CRCs combine into its
 * trailer (cart_gzip.h).  Who does not accept gzip gets the view inflated,
 * or its plain bytes where the writer kept them after the deflated ones.
 */
typedef struct {
    uint32_t  len;                  /* the deflated bytes stored */
    uint32_t  plain_len;            /* the view's own */
    uint32_t  crc;                  /* CRC-32 of the view, as gzip's */
    uint32_t  crc_op;               /* zlib's crc32_combine_gen(plain_len) */
    uint32_t  flags;
} cart_deflated_t;

#define CART_DEFLATED_PLAIN        0x1     /* the plain bytes follow */

/* the largest view a record may hold: 16 MB, far above any cart's */
#define CART_VIEW_MAX_LEN          (16 * 1024 * 1024)

/*
 * A merchant domain, followed by display_name, platform_id, the currency
 * symbol and the V1 "empty cart" view, deflated (served when a device has
 * no cart there).
 */
typedef struct {
    uint32_t         magic;
    uint32_t         flags;
    char             currency[4];   /* ISO 4217, NUL-terminated */
    uint32_t         display_name_len;
    uint32_t         platform_id_len;
    uint32_t         symbol_len;
    uint64_t         v1_empty_etag;
    cart_deflated_t  v1_empty;
} cart_domain_rec_t;

/* A device session: its carts count only while it is unexpired. */
typedef struct {
    uint32_t  magic;
    uint32_t  reserved;
    int64_t   expires_at_ms;        /* Unix time, milliseconds */
} cart_device_rec_t;

/*
 * A device's cart at one domain ("carts"), followed by its V2 view,
 * rendered and deflated by the writer (with its plain bytes after, where
 * kept); and its V1 view, the same way, in "carts_v1" under the same key,
 * written and removed with it.  The ETags are of the views.
 */
typedef struct {
    uint32_t         magic;
    uint32_t         line_items;    /* a cart without items is not active */
    int64_t          updated_at_ms;
    int64_t          expires_at_ms;
    uint64_t         v2_etag;
    cart_deflated_t  v2;
    uint32_t         reserved;
} cart_cart_rec_t;

typedef struct {
    uint32_t         magic;
    cart_deflated_t  v1;
    int64_t          expires_at_ms;     /* the cart's */
    uint64_t         v1_etag;
} cart_cart_v1_rec_t;


/*
 * A Spree cart, followed by its JSON (one element of the page's "data", as
 * Spree serializes it), deflated, and its member table: members
 * cart_spree_member_t, one for each top-level member in order, so that
 * "fields" can splice members of the inflated JSON without parsing it.
 */
typedef struct {
    uint32_t         magic;
    uint32_t         members;
    uint64_t         user_id;       /* 0: a guest */
    int64_t          created_at_us;
    int64_t          updated_at_us;
    int64_t          completed_at_us;   /* 0: not completed */
    uint64_t         etag;          /* of the JSON */
    cart_deflated_t  json;
} cart_spree_rec_t;

#define CART_SPREE_ASSOCIATION     0x1     /* kept by fields or expand only */

/* "name":value at json[start .. end) (inflated), its name at start + 1 */
typedef struct {
    uint32_t  start;
    uint32_t  end;
    uint16_t  name_len;
    uint16_t  flags;
} cart_spree_member_t;

/* where a Spree cart is: the parts of its spree_carts key */
typedef struct {
    uint32_t  magic;
    uint32_t  state;                /* CART_SPREE_INCOMPLETE, _COMPLETED */
    uint64_t  user_id;
    int64_t   created_at_us;
    int64_t   updated_at_us;
} cart_spree_loc_t;

/* a publishable API key of a store */
#define CART_SPREE_KEY_REVOKED     0x1

typedef struct {
    uint32_t  magic;
    uint32_t  flags;
} cart_spree_key_rec_t;


/*
 * Key encodings.  A domain is keyed lowercased; it may hold letters,
 * digits, '-', '_' and '.' (1 to 253 of them).
 */

/* c as a domain key holds it, or 0 when no domain has it */
static inline char
cart_domain_char(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return (char) (c - 'A' + 'a');
    }

    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '-' || c == '_' || c == '.')
    {
        return c;
    }

    return 0;
}


/* the key of a domain into out; returns its length, or 0: not a domain */
static inline size_t
cart_domain_key(const char *in, size_t len, char *out)
{
    size_t  i;

    if (len == 0 || len > CART_DOMAIN_MAX_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        out[i] = cart_domain_char(in[i]);

        if (out[i] == 0) {
            return 0;
        }
    }

    return len;
}


/*
 * Whether a stored key is a domain key as cart_domain_key() makes them:
 * the reader sends such keys in JSON without escaping them.
 */
static inline int
cart_domain_key_valid(const char *key, size_t len)
{
    size_t  i;

    if (len == 0 || len > CART_DOMAIN_MAX_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (key[i] == 0 || cart_domain_char(key[i]) != key[i]) {
            return 0;
        }
    }

    return 1;
}


/* a device id: 1 to 256 of [A-Za-z0-9_-], as firmly issues them */
static inline int
cart_device_id_valid(const char *id, size_t len)
{
    size_t  i;
    char    c;

    if (len == 0 || len > CART_DEVICE_ID_MAX_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = id[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_'))
        {
            return 0;
        }
    }

    return 1;
}


#define CART_CART_KEY_MAX  (CART_DEVICE_ID_MAX_LEN + 1 + CART_DOMAIN_MAX_LEN)

/*
 * The carts key: device id, NUL, domain; with an empty domain, the key of
 * the device's session.  Returns its length.
 */
static inline size_t
cart_cart_key(const char *device_id, size_t device_id_len,
    const char *domain, size_t domain_len, unsigned char *key)
{
    memcpy(key, device_id, device_id_len);
    key[device_id_len] = '\0';
    memcpy(key + device_id_len + 1, domain, domain_len);

    return device_id_len + 1 + domain_len;
}


/* a Spree store's name: 1 to 64 of [a-z0-9_-] */
static inline int
cart_spree_store_valid(const char *name, size_t len)
{
    size_t  i;
    char    c;

    if (len == 0 || len > CART_SPREE_STORE_MAX_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
              || c == '_'))
        {
            return 0;
        }
    }

    return 1;
}


/* a time in a key: microseconds offset by 2^63, big-endian */
static inline unsigned char *
cart_spree_time_key(int64_t us, unsigned char *p)
{
    int       i;
    uint64_t  u;

    u = (uint64_t) us ^ 0x8000000000000000ULL;

    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char) (u & 0xff);
        u >>= 8;
    }

    return p + 8;
}


static inline int64_t
cart_spree_key_time(const unsigned char *p)
{
    int       i;
    uint64_t  u;

    for (u = 0, i = 0; i < 8; i++) {
        u = u << 8 | p[i];
    }

    return (int64_t) (u ^ 0x8000000000000000ULL);
}


static inline unsigned char *
cart_spree_user_bytes(uint64_t user_id, unsigned char *p)
{
    int  i;

    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char) (user_id & 0xff);
        user_id >>= 8;
    }

    return p + 8;
}


#define CART_SPREE_USER_KEY_MAX    (CART_SPREE_STORE_MAX_LEN + 1 + 8)
#define CART_SPREE_CART_KEY_MAX    (CART_SPREE_USER_KEY_MAX + 1 + 8       \
                                    + CART_SPREE_ID_MAX_LEN)
#define CART_SPREE_CREATED_MAX     (8 + CART_SPREE_ID_MAX_LEN + 1 + 8)
#define CART_SPREE_ID_KEY_MAX      (CART_SPREE_STORE_MAX_LEN + 1          \
                                    + CART_SPREE_ID_MAX_LEN)

/*
 * A customer's key in a store: store, NUL, be64 user id; the key of its
 * duplicates in spree_created.  With the state byte after it, the prefix
 * of its carts in spree_carts.
 */
static inline size_t
cart_spree_user_key(const char *store, size_t store_len, uint64_t user_id,
    unsigned char *key)
{
    memcpy(key, store, store_len);
    key[store_len] = '\0';

    return (size_t) (cart_spree_user_bytes(user_id, key + store_len + 1)
                     - key);
}


/* a cart's key in spree_carts */
static inline size_t
cart_spree_cart_key(const char *store, size_t store_len, uint64_t user_id,
    unsigned state, int64_t updated_at_us, const char *id, size_t id_len,
    unsigned char *key)
{
    unsigned char  *p;

    p = key + cart_spree_user_key(store, store_len, user_id, key);
    *p++ = (unsigned char) state;
    p = cart_spree_time_key(updated_at_us, p);
    memcpy(p, id, id_len);

    return (size_t) (p + id_len - key);
}


/*
 * A cart's duplicate in spree_created: be64 created_at, id, NUL (so that
 * an id sorts before a longer one it begins), be64 updated_at.
 */
static inline size_t
cart_spree_created_value(int64_t created_at_us, const char *id,
    size_t id_len, int64_t updated_at_us, unsigned char *value)
{
    unsigned char  *p;

    p = cart_spree_time_key(created_at_us, value);
    memcpy(p, id, id_len);
    p[id_len] = '\0';

    return (size_t) (cart_spree_time_key(updated_at_us, p + id_len + 1)
                     - value);
}


/* store, NUL, then a cart id (spree_ids) or a publishable key */
static inline size_t
cart_spree_named_key(const char *store, size_t store_len, const char *name,
    size_t name_len, unsigned char *key)
{
    memcpy(key, store, store_len);
    key[store_len] = '\0';
    memcpy(key + store_len + 1, name, name_len);

    return store_len + 1 + name_len;
}


/*
 * Record framing: copy out a stored value's header (values need not be
 * aligned) and check that it is what it says and that its parts fit.
 */

/*
 * Whether a deflated view at p can be what it says: within bounds, and
 * ended by the empty stored block of a sync flush (00 00 ff ff), so that
 * what follows it in a listing starts on a byte boundary.
 */
static inline int
cart_deflated_valid(const void *p, const cart_deflated_t *d)
{
    static const unsigned char  sync[4] = { 0x00, 0x00, 0xff, 0xff };

    return d->len >= 5 && d->plain_len <= CART_VIEW_MAX_LEN
           && (d->flags & ~CART_DEFLATED_PLAIN) == 0
           && memcmp((const unsigned char *) p + d->len - 4, sync, 4) == 0;
}


/* the bytes a view takes in its record: deflated, and plain if kept */
static inline uint64_t
cart_deflated_size(const cart_deflated_t *d)
{
    return (uint64_t) d->len
           + ((d->flags & CART_DEFLATED_PLAIN) ? d->plain_len : 0);
}

static inline int
cart_domain_rec_read(const void *value, size_t len, cart_domain_rec_t *rec)
{
    if (len < sizeof(cart_domain_rec_t)) {
        return -1;
    }

    memcpy(rec, value, sizeof(cart_domain_rec_t));

    if (rec->magic != CART_DOMAIN_MAGIC || rec->currency[3] != '\0'
        || (uint64_t) rec->display_name_len + rec->platform_id_len
           + rec->symbol_len + cart_deflated_size(&rec->v1_empty)
           != len - sizeof(cart_domain_rec_t))
    {
        return -1;
    }

    return cart_deflated_valid((const char *) value + len
                               - cart_deflated_size(&rec->v1_empty),
                               &rec->v1_empty)
           ? 0 : -1;
}


static inline int
cart_device_rec_read(const void *value, size_t len, cart_device_rec_t *rec)
{
    if (len != sizeof(cart_device_rec_t)) {
        return -1;
    }

    memcpy(rec, value, sizeof(cart_device_rec_t));

    return rec->magic == CART_DEVICE_MAGIC ? 0 : -1;
}


static inline int
cart_cart_rec_read(const void *value, size_t len, cart_cart_rec_t *rec)
{
    if (len < sizeof(cart_cart_rec_t)) {
        return -1;
    }

    memcpy(rec, value, sizeof(cart_cart_rec_t));

    if (rec->magic != CART_CART_MAGIC
        || cart_deflated_size(&rec->v2) != len - sizeof(cart_cart_rec_t))
    {
        return -1;
    }

    return cart_deflated_valid((const char *) value
                               + sizeof(cart_cart_rec_t), &rec->v2)
           ? 0 : -1;
}


static inline int
cart_cart_v1_rec_read(const void *value, size_t len, cart_cart_v1_rec_t *rec)
{
    if (len < sizeof(cart_cart_v1_rec_t)) {
        return -1;
    }

    memcpy(rec, value, sizeof(cart_cart_v1_rec_t));

    if (rec->magic != CART_CART_V1_MAGIC
        || cart_deflated_size(&rec->v1) != len - sizeof(cart_cart_v1_rec_t))
    {
        return -1;
    }

    return cart_deflated_valid((const char *) value
                               + sizeof(cart_cart_v1_rec_t), &rec->v1)
           ? 0 : -1;
}


static inline int
cart_spree_rec_read(const void *value, size_t len, cart_spree_rec_t *rec)
{
    if (len < sizeof(cart_spree_rec_t)) {
        return -1;
    }

    memcpy(rec, value, sizeof(cart_spree_rec_t));

    if (rec->magic != CART_SPREE_MAGIC
        || cart_deflated_size(&rec->json)
           + (uint64_t) rec->members * sizeof(cart_spree_member_t)
           != len - sizeof(cart_spree_rec_t))
    {
        return -1;
    }

    return cart_deflated_valid((const char *) value
                               + sizeof(cart_spree_rec_t), &rec->json)
           ? 0 : -1;
}


static inline int
cart_spree_loc_read(const void *value, size_t len, cart_spree_loc_t *loc)
{
    if (len != sizeof(cart_spree_loc_t)) {
        return -1;
    }

    memcpy(loc, value, sizeof(cart_spree_loc_t));

    return loc->magic == CART_SPREE_LOC_MAGIC ? 0 : -1;
}


static inline int
cart_spree_key_rec_read(const void *value, size_t len,
    cart_spree_key_rec_t *rec)
{
    if (len != sizeof(cart_spree_key_rec_t)) {
        return -1;
    }

    memcpy(rec, value, sizeof(cart_spree_key_rec_t));

    return rec->magic == CART_SPREE_KEY_MAGIC ? 0 : -1;
}


#endif /* CART_LAYOUT_H */
