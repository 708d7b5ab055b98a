/*
 * Counters for Prometheus (see ngx_http_cart_metrics.h), and the location
 * that serves them in the text exposition format.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <string.h>
#include <time.h>

#include "ngx_http_cart.h"
#include "ngx_http_cart_metrics.h"
#include "ngx_http_cart_store.h"


#define NGX_HTTP_CART_METRICS_ROUTES    8
#define NGX_HTTP_CART_METRICS_SLOTS     64      /* workers, modulo */
#define NGX_HTTP_CART_METRICS_BUCKETS   /* the bounds', then +Inf */      \
    (sizeof(ngx_http_cart_metrics_bounds) / sizeof(ngx_uint_t) + 1)
#define NGX_HTTP_CART_METRICS_STATUSES                                        \
    (sizeof(ngx_http_cart_metrics_statuses) / sizeof(ngx_uint_t))
#define NGX_HTTP_CART_METRICS_BODY      65536

/* the statuses the routes answer; any other is counted as "other" */
static ngx_uint_t  ngx_http_cart_metrics_statuses[] = {
    200, 304, 400, 401, 403, 404, 405, 422, 429, 500, 503, 0
};

/* bucket bounds in microseconds; the last bucket is +Inf */
static ngx_uint_t  ngx_http_cart_metrics_bounds[] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
    250000, 1000000
};

static char  *ngx_http_cart_metrics_outcomes[] = {
    "outcome=\"cache_hit\"",
    "outcome=\"verified\"",
    "outcome=\"rejected\",reason=\"remembered\"",
    "outcome=\"rejected\",reason=\"malformed\"",
    "outcome=\"rejected\",reason=\"header\"",
    "outcome=\"rejected\",reason=\"signature\"",
    "outcome=\"rejected\",reason=\"expired\"",
    "outcome=\"rejected\",reason=\"not_yet_valid\"",
    "outcome=\"rejected\",reason=\"claims\""
};

/* a worker's counters: only atomic adds, on lines no other worker uses */
typedef struct {
    ngx_atomic_t  requests[NGX_HTTP_CART_METRICS_ROUTES]
                          [NGX_HTTP_CART_METRICS_STATUSES];
    ngx_atomic_t  buckets[NGX_HTTP_CART_METRICS_ROUTES]
                         [NGX_HTTP_CART_METRICS_BUCKETS];
    ngx_atomic_t  time_us[NGX_HTTP_CART_METRICS_ROUTES];
    ngx_atomic_t  tokens[NGX_HTTP_CART_TOKEN_OUTCOMES];
} ngx_http_cart_metrics_counters_t;

typedef union {
    ngx_http_cart_metrics_counters_t  c;
    u_char  pad[(sizeof(ngx_http_cart_metrics_counters_t) + 127) & ~127];
} ngx_http_cart_metrics_slot_t;

/* the routes' names, in the order of their counters */
static ngx_str_t   ngx_http_cart_metrics_names[NGX_HTTP_CART_METRICS_ROUTES];
static ngx_uint_t  ngx_http_cart_metrics_nroutes;


static ngx_int_t ngx_http_cart_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_cart_metrics_log(ngx_http_request_t *r);
static ngx_int_t ngx_http_cart_metrics_handler(ngx_http_request_t *r);


char *
ngx_http_cart_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cart_loc_conf_t *clcf = conf;

    ngx_str_t                   name = ngx_string("cart_metrics");
    ngx_http_core_loc_conf_t   *core;
    ngx_http_cart_main_conf_t  *cmcf;

    if (clcf->metrics) {
        return "is duplicate";
    }

    if (clcf->route) {
        return "cannot share a location with \"cart_api\"";
    }

    clcf->metrics = 1;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cart_module);

    if (cmcf->metrics == NULL) {
        cmcf->metrics = ngx_shared_memory_add(cf, &name,
                            NGX_HTTP_CART_METRICS_SLOTS
                            * sizeof(ngx_http_cart_metrics_slot_t)
                            + 8 * ngx_pagesize,
                            &ngx_http_cart_module);
        if (cmcf->metrics == NULL) {
            return NGX_CONF_ERROR;
        }

        cmcf->metrics->init = ngx_http_cart_metrics_init_zone;
    }

    core = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    core->handler = ngx_http_cart_metrics_handler;

    return NGX_CONF_OK;
}


/* the slots, zeroed once; a reload with the zone unchanged keeps them */
static ngx_int_t
ngx_http_cart_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t            size;
    ngx_slab_pool_t  *shpool;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    size = NGX_HTTP_CART_METRICS_SLOTS * sizeof(ngx_http_cart_metrics_slot_t);

    shm_zone->data = ngx_slab_calloc(shpool, size);
    if (shm_zone->data == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_cart_metrics_route(ngx_conf_t *cf, ngx_str_t *name,
    ngx_uint_t *index)
{
    if (*index) {
        return NGX_OK;
    }

    if (ngx_http_cart_metrics_nroutes == NGX_HTTP_CART_METRICS_ROUTES) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many routes for cart_metrics");
        return NGX_ERROR;
    }

    ngx_http_cart_metrics_names[ngx_http_cart_metrics_nroutes++] = *name;
    *index = ngx_http_cart_metrics_nroutes;

    return NGX_OK;
}


ngx_int_t
ngx_http_cart_metrics_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_cart_metrics_log;

    return NGX_OK;
}


/* this worker's counters, or NULL when nothing is counted */
static ngx_http_cart_metrics_counters_t *
ngx_http_cart_metrics_slot(ngx_http_request_t *r)
{
    ngx_http_cart_main_conf_t     *cmcf;
    ngx_http_cart_metrics_slot_t  *slots;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_cart_module);

    if (cmcf->metrics == NULL || cmcf->metrics->data == NULL) {
        return NULL;
    }

    slots = cmcf->metrics->data;

    return &slots[ngx_worker % NGX_HTTP_CART_METRICS_SLOTS].c;
}


static uint64_t
ngx_http_cart_metrics_now(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


void
ngx_http_cart_metrics_start(ngx_http_request_t *r, uint64_t *start)
{
    if (ngx_http_cart_metrics_slot(r) != NULL) {
        *start = ngx_http_cart_metrics_now();
    }
}


void
ngx_http_cart_metrics_token(ngx_http_request_t *r,
    ngx_http_cart_token_outcome_e outcome)
{
    ngx_http_cart_metrics_counters_t  *c;

    c = ngx_http_cart_metrics_slot(r);

    if (c != NULL) {
        (void) ngx_atomic_fetch_add(&c->tokens[outcome], 1);
    }
}


ngx_http_cart_token_outcome_e
ngx_http_cart_metrics_refusal(ngx_uint_t malformed, const char *why)
{
    ngx_uint_t  i;

    static struct {
        const char                     *why;
        ngx_http_cart_token_outcome_e   outcome;
    } refusals[] = {
        { "no alg", NGX_HTTP_CART_TOKEN_HEADER },
        { "algorithm", NGX_HTTP_CART_TOKEN_HEADER },
        { "crit", NGX_HTTP_CART_TOKEN_HEADER },
        { "typ", NGX_HTTP_CART_TOKEN_HEADER },
        { "kid", NGX_HTTP_CART_TOKEN_HEADER },
        { "signature", NGX_HTTP_CART_TOKEN_SIGNATURE },
        { "expired", NGX_HTTP_CART_TOKEN_EXPIRED },
        { "not yet valid", NGX_HTTP_CART_TOKEN_NOT_YET_VALID }
    };

    if (malformed) {
        return NGX_HTTP_CART_TOKEN_MALFORMED;
    }

    for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        if (strcmp(why, refusals[i].why) == 0) {
            return refusals[i].outcome;
        }
    }

    /* exp or nbf missing or not a time, iss, aud, the subject, others */
    return NGX_HTTP_CART_TOKEN_CLAIMS;
}


/* a route's request, whatever answered it, and its time in the module */
static ngx_int_t
ngx_http_cart_metrics_log(ngx_http_request_t *r)
{
    uint64_t                           us;
    ngx_uint_t                         i, s, status;
    ngx_http_cart_ctx_t               *ctx;
    ngx_http_cart_loc_conf_t          *clcf;
    ngx_http_cart_metrics_counters_t  *c;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_cart_module);

    if (clcf->route == NULL || clcf->route->metric == 0) {
        return NGX_OK;
    }

    c = ngx_http_cart_metrics_slot(r);
    if (c == NULL) {
        return NGX_OK;
    }

    i = clcf->route->metric - 1;

    /* as $status has it */
    status = r->err_status ? r->err_status : r->headers_out.status;

    for (s = 0; s < NGX_HTTP_CART_METRICS_STATUSES - 1; s++) {
        if (ngx_http_cart_metrics_statuses[s] == status) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&c->requests[i][s], 1);

    ctx = ngx_http_get_module_ctx(r, ngx_http_cart_module);

    if (ctx == NULL || ctx->start == 0) {
        return NGX_OK;
    }

    us = (ngx_http_cart_metrics_now() - ctx->start) / 1000;

    for (s = 0; s < NGX_HTTP_CART_METRICS_BUCKETS - 1; s++) {
        if (us <= ngx_http_cart_metrics_bounds[s]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&c->buckets[i][s], 1);
    (void) ngx_atomic_fetch_add(&c->time_us[i], (ngx_atomic_int_t) us);

    return NGX_OK;
}


/* every worker's counters, added up */
static void
ngx_http_cart_metrics_sum(ngx_http_cart_metrics_slot_t *slots,
    ngx_http_cart_metrics_counters_t *sum)
{
    ngx_uint_t     i, j, n;
    ngx_atomic_t  *from, *to;

    ngx_memzero(sum, sizeof(ngx_http_cart_metrics_counters_t));

    n = sizeof(ngx_http_cart_metrics_counters_t) / sizeof(ngx_atomic_t);
    to = (ngx_atomic_t *) sum;

    for (i = 0; i < NGX_HTTP_CART_METRICS_SLOTS; i++) {
        from = (ngx_atomic_t *) &slots[i].c;

        for (j = 0; j < n; j++) {
            to[j] += from[j];
        }
    }
}


/* the store as this worker sees it */
static u_char *
ngx_http_cart_metrics_store(ngx_http_request_t *r, u_char *p, u_char *last)
{
    ngx_time_t                 *tp;
    ngx_http_cart_store_info_t  info;

    ngx_memzero(&info, sizeof(ngx_http_cart_store_info_t));

    (void) ngx_http_cart_store_info(r, &info);

    p = ngx_slprintf(p, last,
            "# HELP cart_store_open Whether the store is open and whole"
            " (1) or unavailable (0), as the scraped worker finds it.\n"
            "# TYPE cart_store_open gauge\n"
            "cart_store_open %ui\n", info.open);

    if (!info.open) {
        return p;
    }

    if (info.follows) {
        tp = ngx_timeofday();

        p = ngx_slprintf(p, last,
                "# HELP cart_follow_lsn The end LSN of the last PostgreSQL"
                " transaction that cartctl follow applied, as a number.\n"
                "# TYPE cart_follow_lsn gauge\n"
                "cart_follow_lsn %uL\n"
                "# HELP cart_follow_last_commit_timestamp_seconds When that"
                " transaction committed on PostgreSQL.\n"
                "# TYPE cart_follow_last_commit_timestamp_seconds gauge\n"
                "cart_follow_last_commit_timestamp_seconds %L.%06L\n"
                "# HELP cart_follow_last_commit_age_seconds Seconds since"
                " then: the lag while writes go on.\n"
                "# TYPE cart_follow_last_commit_age_seconds gauge\n"
                "cart_follow_last_commit_age_seconds %.3f\n"
                "# HELP cart_follow_skipped_records Invalid records passed"
                " over (cartctl follow --on-invalid skip).\n"
                "# TYPE cart_follow_skipped_records gauge\n"
                "cart_follow_skipped_records %uL\n",
                info.follow_lsn, info.follow_commit_us / 1000000,
                info.follow_commit_us % 1000000,
                ((double) tp->sec * 1000 + tp->msec
                 - (double) info.follow_commit_us / 1000) / 1000,
                info.follow_skipped);
    }

    return ngx_slprintf(p, last,
            "# HELP cart_store_last_txn_id The last committed write"
            " transaction of the store.\n"
            "# TYPE cart_store_last_txn_id gauge\n"
            "cart_store_last_txn_id %uz\n"
            "# HELP cart_store_last_commit_age_seconds Seconds since the"
            " data file was last written.\n"
            "# TYPE cart_store_last_commit_age_seconds gauge\n"
            "cart_store_last_commit_age_seconds %T\n"
            "# HELP cart_store_map_size_bytes The size of the store's map.\n"
            "# TYPE cart_store_map_size_bytes gauge\n"
            "cart_store_map_size_bytes %uz\n"
            "# HELP cart_store_map_used_bytes The part of the map in use.\n"
            "# TYPE cart_store_map_used_bytes gauge\n"
            "cart_store_map_used_bytes %uz\n"
            "# HELP cart_store_readers Reader slots of live processes"
            " (in use), and of the lock file.\n"
            "# TYPE cart_store_readers gauge\n"
            "cart_store_readers{state=\"in_use\"} %ui\n"
            "cart_store_readers{state=\"max\"} %ui\n",
            info.txnid, info.age, info.map_size, info.map_used,
            info.readers, info.max_readers);
}


static ngx_int_t
ngx_http_cart_metrics_handler(ngx_http_request_t *r)
{
    u_char                            *p, *last;
    ngx_int_t                          rc;
    ngx_buf_t                         *b;
    ngx_uint_t                         i, s;
    ngx_chain_t                        out;
    ngx_atomic_uint_t                  n;
    ngx_http_cart_main_conf_t         *cmcf;
    ngx_http_cart_metrics_counters_t   sum;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_cart_module);
    ngx_http_cart_metrics_sum(cmcf->metrics->data, &sum);

    b = ngx_create_temp_buf(r->pool, NGX_HTTP_CART_METRICS_BODY);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->pos;
    last = b->end;

    p = ngx_slprintf(p, last,
            "# HELP cart_requests_total Requests to the module's routes,"
            " by route and status.\n"
            "# TYPE cart_requests_total counter\n");

    for (i = 0; i < ngx_http_cart_metrics_nroutes; i++) {
        for (s = 0; s < NGX_HTTP_CART_METRICS_STATUSES; s++) {
            if (sum.requests[i][s] == 0) {
                continue;
            }

            p = ngx_slprintf(p, last,
                             "cart_requests_total{route=\"%V\",status=\"",
                             &ngx_http_cart_metrics_names[i]);

            p = (ngx_http_cart_metrics_statuses[s] == 0)
                ? ngx_slprintf(p, last, "other")
                : ngx_slprintf(p, last, "%ui",
                               ngx_http_cart_metrics_statuses[s]);

            p = ngx_slprintf(p, last, "\"} %uA\n", sum.requests[i][s]);
        }
    }

    p = ngx_slprintf(p, last,
            "# HELP cart_token_checks_total Token checks, by outcome"
            " (and why a token was rejected).\n"
            "# TYPE cart_token_checks_total counter\n");

    for (i = 0; i < NGX_HTTP_CART_TOKEN_OUTCOMES; i++) {
        p = ngx_slprintf(p, last, "cart_token_checks_total{%s} %uA\n",
                         ngx_http_cart_metrics_outcomes[i], sum.tokens[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP cart_request_duration_seconds Time of a request in the"
            " module, from its route's handler to its end.\n"
            "# TYPE cart_request_duration_seconds histogram\n");

    for (i = 0; i < ngx_http_cart_metrics_nroutes; i++) {
        n = 0;

        for (s = 0; s < NGX_HTTP_CART_METRICS_BUCKETS; s++) {
            n += sum.buckets[i][s];
            p = ngx_slprintf(p, last,
                    "cart_request_duration_seconds_bucket{route=\"%V\",le=\"",
                    &ngx_http_cart_metrics_names[i]);

            p = (s == NGX_HTTP_CART_METRICS_BUCKETS - 1)
                ? ngx_slprintf(p, last, "+Inf")
                : ngx_slprintf(p, last, "%ui.%06ui",
                               ngx_http_cart_metrics_bounds[s] / 1000000,
                               ngx_http_cart_metrics_bounds[s] % 1000000);

            p = ngx_slprintf(p, last, "\"} %uA\n", n);
        }

        p = ngx_slprintf(p, last,
                "cart_request_duration_seconds_sum{route=\"%V\"} %uA.%06uA\n"
                "cart_request_duration_seconds_count{route=\"%V\"} %uA\n",
                &ngx_http_cart_metrics_names[i], sum.time_us[i] / 1000000,
                sum.time_us[i] % 1000000, &ngx_http_cart_metrics_names[i], n);
    }

    p = ngx_http_cart_metrics_store(r, p, last);

    if (p == last) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "cart_metrics: the exposition is too long");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
