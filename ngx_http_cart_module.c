/*
 * ngx_http_cart_module: shopping-cart read APIs served from an LMDB store.
 *
 * This file is the table of contents: directives, configuration, worker
 * start and stop, and the content handler that identifies a request by its
 * API's scheme and hands it to its route.  Each API (its routes, its
 * authentication, its errors) is a file of its own under src/, beside
 * store access, authentication mechanisms and responses.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cart.h"
#include "ngx_http_cart_auth.h"
#include "ngx_http_cart_firmly.h"
#include "ngx_http_cart_metrics.h"
#include "ngx_http_cart_response.h"
#include "ngx_http_cart_spree.h"
#include "ngx_http_cart_store.h"


/* a directive a location needs, and how to tell it is missing */
typedef struct {
    ngx_uint_t                  need;       /* NGX_HTTP_CART_NEEDS_* */
    char                       *directive;  /* as nginx -t names it */
    ngx_uint_t                (*missing)(ngx_conf_t *cf,
                                         ngx_http_cart_loc_conf_t *conf);
} ngx_http_cart_need_t;


static ngx_int_t ngx_http_cart_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_cart_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static char *ngx_http_cart_store_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cart_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cart_device_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cart_device_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cart_spree_jwt_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_cart_spree_store(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

static ngx_uint_t ngx_http_cart_missing_store(ngx_conf_t *cf,
    ngx_http_cart_loc_conf_t *conf);
static ngx_uint_t ngx_http_cart_missing_domain(ngx_conf_t *cf,
    ngx_http_cart_loc_conf_t *conf);
static ngx_uint_t ngx_http_cart_missing_device_auth(ngx_conf_t *cf,
    ngx_http_cart_loc_conf_t *conf);
static ngx_uint_t ngx_http_cart_missing_spree_secret(ngx_conf_t *cf,
    ngx_http_cart_loc_conf_t *conf);

static ngx_int_t ngx_http_cart_add_variables(ngx_conf_t *cf);
static void *ngx_http_cart_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_cart_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_cart_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_cart_init_process(ngx_cycle_t *cycle);
static void ngx_http_cart_exit_process(ngx_cycle_t *cycle);


/* the values of "cart_api": each API's route table */
static ngx_http_cart_route_t  *ngx_http_cart_apis[] = {
    ngx_http_cart_firmly_routes,
    ngx_http_cart_spree_routes,
    NULL
};


static ngx_http_cart_need_t  ngx_http_cart_needs[] = {

    { NGX_HTTP_CART_NEEDS_STORE, "\"cart_store\" in the http block",
      ngx_http_cart_missing_store },

    { NGX_HTTP_CART_NEEDS_DOMAIN, "\"cart_domain\"",
      ngx_http_cart_missing_domain },

    { NGX_HTTP_CART_NEEDS_DEVICE_AUTH,
      "\"cart_device_jwt_key\" or \"cart_device_secret\"",
      ngx_http_cart_missing_device_auth },

    { NGX_HTTP_CART_NEEDS_SPREE_SECRET, "\"cart_spree_jwt_secret\"",
      ngx_http_cart_missing_spree_secret },

    { 0, NULL, NULL }
};


static ngx_command_t  ngx_http_cart_commands[] = {

    { ngx_string("cart_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cart_store_path,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_cart_main_conf_t, store),
      NULL },

    { ngx_string("cart_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cart_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cart_domain"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cart_loc_conf_t, domain),
      NULL },

    { ngx_string("cart_device_jwt_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE23,
      ngx_http_cart_device_jwt_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cart_device_jwt_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cart_loc_conf_t, device_claim),
      NULL },

    { ngx_string("cart_device_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cart_device_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cart_spree_jwt_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cart_spree_jwt_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cart_spree_store"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cart_spree_store,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cart_loc_conf_t, spree_store),
      NULL },

    { ngx_string("cart_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_cart_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_cart_module_ctx = {
    ngx_http_cart_add_variables,           /* preconfiguration */
    ngx_http_cart_metrics_init,            /* postconfiguration */

    ngx_http_cart_create_main_conf,        /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_cart_create_loc_conf,         /* create location configuration */
    ngx_http_cart_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_cart_module = {
    NGX_MODULE_V1,
    &ngx_http_cart_module_ctx,             /* module context */
    ngx_http_cart_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_cart_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_cart_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_cart_vars[] = {

    { ngx_string("cart_device_id"), NULL, ngx_http_cart_variable,
      offsetof(ngx_http_cart_ctx_t, device_id), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cart_domain"), NULL, ngx_http_cart_variable,
      offsetof(ngx_http_cart_ctx_t, domain), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cart_customer_id"), NULL, ngx_http_cart_variable,
      offsetof(ngx_http_cart_ctx_t, customer_id), NGX_HTTP_VAR_NOCACHEABLE,
      0 },

      ngx_http_null_variable
};


/*
 * Every route: GET and HEAD only, the body discarded, the request
 * identified by its API's scheme, then the route; an error anywhere is
 * answered in the API's words, a 500 too.
 */
static ngx_int_t
ngx_http_cart_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc, err;
    ngx_http_cart_ctx_t       *ctx;
    ngx_http_cart_route_t     *route;
    ngx_http_cart_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_cart_module);
    route = clcf->route;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        err = NGX_HTTP_CART_ERR_METHOD;
        goto failed;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_cart_ctx_t));
    if (ctx == NULL) {
        err = NGX_HTTP_CART_ERR_INTERNAL;
        goto failed;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_cart_module);
    ngx_http_cart_metrics_start(r, &ctx->start);

    err = route->api->identify(r, clcf, ctx);
    if (err != NGX_HTTP_CART_ERR_NONE) {
        goto failed;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cart: route \"%V\" for \"%V\"", &route->name,
                   &ctx->device_id);

    rc = route->handler(r, clcf, ctx);

    if (rc != NGX_HTTP_INTERNAL_SERVER_ERROR || r->header_sent) {
        return rc;
    }

    /* what was made of the answer so far goes; the API's 500 is sent */
    r->headers_out.headers.part.nelts = 0;
    r->headers_out.headers.last = &r->headers_out.headers.part;
    r->headers_out.etag = NULL;

    err = NGX_HTTP_CART_ERR_INTERNAL;

failed:

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cart: route \"%V\" answers error %i", &route->name, err);

    rc = ngx_http_cart_send_error(r, route->api->style, &route->errors[err]);

    return (rc == NGX_HTTP_INTERNAL_SERVER_ERROR) ? NGX_ERROR : rc;
}


static ngx_int_t
ngx_http_cart_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t            *s;
    ngx_http_cart_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_cart_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) ctx + data);

    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


/* "cart_store path": relative to nginx's prefix, resolved now */
static char *
ngx_http_cart_store_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cart_main_conf_t *cmcf = conf;

    char  *rv;

    rv = ngx_conf_set_str_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (ngx_conf_full_name(cf->cycle, &cmcf->store, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_cart_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cart_loc_conf_t *clcf = conf;

    ngx_str_t                  *value;
    ngx_http_cart_route_t     *route, **api;
    ngx_http_core_loc_conf_t  *core;

    if (clcf->route) {
        return "is duplicate";
    }

    if (clcf->metrics) {
        return "cannot share a location with \"cart_metrics\"";
    }

    value = cf->args->elts;

    for (api = ngx_http_cart_apis; *api; api++) {
        for (route = *api; route->name.len; route++) {
            if (route->name.len == value[1].len
                && ngx_strncmp(route->name.data, value[1].data, value[1].len)
                   == 0)
            {
                clcf->route = route;

                if (ngx_http_cart_metrics_route(cf, &route->name,
                                                &route->metric)
                    != NGX_OK)
                {
                    return NGX_CONF_ERROR;
                }

                core = ngx_http_conf_get_module_loc_conf(cf,
                                                         ngx_http_core_module);
                core->handler = ngx_http_cart_handler;

                return NGX_CONF_OK;
            }
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "unknown cart_api \"%V\"",
                       &value[1]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_cart_device_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cart_loc_conf_t *clcf = conf;

    return ngx_http_cart_auth_add_key(cf, &clcf->device_jwt.keys);
}


static char *
ngx_http_cart_device_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cart_loc_conf_t *clcf = conf;

    return ngx_http_cart_auth_add_secret(cf, &clcf->device_secrets);
}


static char *
ngx_http_cart_spree_jwt_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_cart_loc_conf_t *clcf = conf;

    return ngx_http_cart_auth_add_hs256_key(cf, &clcf->spree_jwt.keys);
}


/* "cart_spree_store name": whose keys and carts a location serves */
static char *
ngx_http_cart_spree_store(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cart_loc_conf_t *clcf = conf;

    char  *rv;

    rv = ngx_conf_set_str_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (!cart_spree_store_valid((char *) clcf->spree_store.data,
                                clcf->spree_store.len))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cart_spree_store\": \"%V\" is not a store name "
                           "(1 to 64 of a-z, 0-9, '_', '-')",
                           &clcf->spree_store);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_uint_t
ngx_http_cart_missing_store(ngx_conf_t *cf, ngx_http_cart_loc_conf_t *conf)
{
    ngx_http_cart_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cart_module);

    return cmcf->store.len == 0;
}


static ngx_uint_t
ngx_http_cart_missing_domain(ngx_conf_t *cf, ngx_http_cart_loc_conf_t *conf)
{
    return conf->domain == NULL;
}


static ngx_uint_t
ngx_http_cart_missing_device_auth(ngx_conf_t *cf,
    ngx_http_cart_loc_conf_t *conf)
{
    return conf->device_jwt.keys == NULL && conf->device_secrets == NULL;
}


static ngx_uint_t
ngx_http_cart_missing_spree_secret(ngx_conf_t *cf,
    ngx_http_cart_loc_conf_t *conf)
{
    return conf->spree_jwt.keys == NULL;
}


static ngx_int_t
ngx_http_cart_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_cart_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_cart_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_cart_main_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cart_main_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->store = { 0, NULL };
     */

    return conf;
}


static void *
ngx_http_cart_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_cart_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cart_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->route = NULL;
     *     conf->domain = NULL;
     *     conf->device_jwt.policy = { NULL, ... };
     *     conf->device_claim = { 0, NULL };
     *     conf->spree_jwt.policy = { NULL, ... };
     *     conf->spree_store = { 0, NULL };
     *     conf->metrics = 0;
     */

    conf->device_jwt.keys = NGX_CONF_UNSET_PTR;
    conf->device_secrets = NGX_CONF_UNSET_PTR;
    conf->spree_jwt.keys = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_cart_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_cart_loc_conf_t *prev = parent;
    ngx_http_cart_loc_conf_t *conf = child;

    ngx_uint_t             needs;
    ngx_http_cart_need_t  *need;

    /* keys and secrets set on a level replace the ones above */
    ngx_conf_merge_ptr_value(conf->device_jwt.keys, prev->device_jwt.keys,
                             NULL);
    ngx_conf_merge_ptr_value(conf->device_secrets, prev->device_secrets,
                             NULL);
    ngx_conf_merge_str_value(conf->device_claim, prev->device_claim,
                             "device_id");

    conf->device_jwt.policy.subject = (char *) conf->device_claim.data;

    ngx_conf_merge_ptr_value(conf->spree_jwt.keys, prev->spree_jwt.keys,
                             NULL);
    ngx_conf_merge_str_value(conf->spree_store, prev->spree_store, "default");
    ngx_http_cart_spree_policy(&conf->spree_jwt.policy);

    if (conf->route == NULL) {
        return NGX_CONF_OK;
    }

    needs = conf->route->needs | conf->route->api->needs;

    for (need = ngx_http_cart_needs; need->need; need++) {
        if ((needs & need->need) && need->missing(cf, conf)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"cart_api %V\" needs %s",
                               &conf->route->name, need->directive);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_cart_init_process(ngx_cycle_t *cycle)
{
    ngx_http_cart_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_cart_module);

    if (cmcf == NULL || cmcf->store.len == 0) {
        return NGX_OK;
    }

    if (ngx_http_cart_auth_init_worker(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_cart_store_init_worker(cycle, &cmcf->store);
}


static void
ngx_http_cart_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_cart_store_exit_worker(cycle);
    ngx_http_cart_auth_exit_worker();
}
