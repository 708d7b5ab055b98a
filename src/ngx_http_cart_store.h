/*
 * Store access for the module: one read-only LMDB environment per worker,
 * opened after fork, and one read transaction renewed for each request and
 * reset after it.  Records are read in place, in the map: what a request
 * keeps, it copies into its pool within ngx_http_cart_store_read().
 *
 * The store is outside input: a data file that is missing, short,
 * replaced or corrupt makes the store unavailable (logged at most once a
 * second) and never kills the worker.  A read that faults in the map
 * anyway (the file shrank between the check and the read) is caught.
 */

#ifndef NGX_HTTP_CART_STORE_H
#define NGX_HTTP_CART_STORE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "cart_layout.h"


/* the views as stored (cart_deflated_size()), described in rec */
typedef struct {
    cart_domain_rec_t   rec;
    ngx_str_t           v1_empty;
} ngx_http_cart_domain_t;

typedef struct {
    cart_cart_rec_t     rec;
    ngx_str_t           v2;
} ngx_http_cart_cart_t;

/* one view of a cart, V2 or V1, as the route of one cart serves it */
typedef struct {
    int64_t             expires_at_ms;
    uint64_t            etag;
    cart_deflated_t     deflated;
    ngx_str_t           bytes;
} ngx_http_cart_view_t;


ngx_int_t ngx_http_cart_store_init_worker(ngx_cycle_t *cycle,
    ngx_str_t *path);
void ngx_http_cart_store_exit_worker(ngx_cycle_t *cycle);

/*
 * Renews the worker's read transaction, calls fn and resets the
 * transaction, on every path.  Returns NGX_ERROR when the store is
 * unavailable or fn faulted in the map (both logged), else what fn
 * returned.  fn copies into r->pool what it keeps.
 */
typedef ngx_int_t (*ngx_http_cart_store_read_pt)(ngx_http_request_t *r,
    void *data);

ngx_int_t ngx_http_cart_store_read(ngx_http_request_t *r,
    ngx_http_cart_store_read_pt fn, void *data);

/*
 * Typed reads, within ngx_http_cart_store_read(): NGX_OK, NGX_DECLINED
 * when there is no such record, NGX_ERROR on a corrupt record or a store
 * error (logged).  Headers are copied; the ngx_str_t parts point into the
 * map.
 */
ngx_int_t ngx_http_cart_store_domain(ngx_http_request_t *r,
    ngx_str_t *domain, ngx_http_cart_domain_t *out);
ngx_int_t ngx_http_cart_store_device(ngx_http_request_t *r,
    ngx_str_t *device_id, cart_device_rec_t *out);
ngx_int_t ngx_http_cart_store_cart_view(ngx_http_request_t *r,
    ngx_str_t *device_id, ngx_str_t *domain, ngx_uint_t v1,
    ngx_http_cart_view_t *out);

/* the value at key in db, in place: NGX_OK, NGX_DECLINED, NGX_ERROR */
ngx_int_t ngx_http_cart_store_value(ngx_http_request_t *r, cart_db_e db,
    u_char *key, size_t key_len, ngx_str_t *value);

/*
 * A range of entries, within ngx_http_cart_store_read(): in a database of
 * plain keys, the keys that begin with "key"; in one of duplicates
 * (MDB_DUPSORT), the values of "key".  The walk starts at "from" (the
 * first entry not before it, going forward; the last not after it, going
 * back) or at the range's end, passes "skip" entries over and gives at
 * most "limit" (0: all).
 */
typedef struct {
    cart_db_e           db;
    ngx_str_t           key;
    ngx_str_t           from;       /* empty: the range's first (last) */
    ngx_uint_t          reverse;
    ngx_uint_t          skip;
    ngx_uint_t          limit;
} ngx_http_cart_store_range_t;

/*
 * Called for each entry with its key and value in the map (valid during
 * the call only): NGX_OK goes on, NGX_DONE stops, anything else stops and
 * is returned.
 */
typedef ngx_int_t (*ngx_http_cart_store_entry_pt)(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value, void *data);

ngx_int_t ngx_http_cart_store_range(ngx_http_request_t *r,
    ngx_http_cart_store_range_t *range, ngx_http_cart_store_entry_pt entry,
    void *data);

/* the store's state, for cart_metrics */
typedef struct {
    ngx_uint_t          open;       /* 0: unavailable, the rest unset */
    size_t              txnid;      /* the last committed */
    time_t              age;        /* seconds since data.mdb was written */
    size_t              map_size;
    size_t              map_used;
    ngx_uint_t          readers;    /* slots of live processes */
    ngx_uint_t          max_readers;
    ngx_uint_t          follows;    /* cartctl follow keeps it: the rest */
    uint64_t            follow_lsn;
    int64_t             follow_commit_us;   /* Unix microseconds */
    uint64_t            follow_skipped;
} ngx_http_cart_store_info_t;

ngx_int_t ngx_http_cart_store_info(ngx_http_request_t *r,
    ngx_http_cart_store_info_t *info);

/* the number of values of key in a database of duplicates, in O(1) */
ngx_int_t ngx_http_cart_store_count(ngx_http_request_t *r, cart_db_e db,
    ngx_str_t *key, size_t *count);

/*
 * Calls handler for each cart of a device, in domain order, with the
 * record's parts pointing into the map: valid only during the call, so a
 * handler copies what it keeps.  A corrupt record, or one whose key does
 * not end in a domain key (cart_domain_key_valid()), is logged and skipped.
 */
typedef ngx_int_t (*ngx_http_cart_store_cart_pt)(ngx_http_request_t *r,
    ngx_str_t *domain, ngx_http_cart_cart_t *cart, void *data);

ngx_int_t ngx_http_cart_store_device_carts(ngx_http_request_t *r,
    ngx_str_t *device_id, ngx_http_cart_store_cart_pt handler, void *data);


#endif /* NGX_HTTP_CART_STORE_H */
