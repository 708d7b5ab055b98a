/*
 * ngx_http_cart_module: shopping-cart read APIs served from an LMDB store.
 *
 * This file is the table of contents: directives, configuration, worker
 * start and stop, and the content handler that hands a request to its
 * route.  The routes are in src/ngx_http_cart_firmly.c; store access,
 * authentication and responses have a file each under src/.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cart.h"
#include "ngx_http_cart_auth.h"
#include "ngx_http_cart_firmly.h"
#include "ngx_http_cart_response.h"
#include "ngx_http_cart_store.h"


static ngx_int_t ngx_http_cart_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_cart_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static char *ngx_http_cart_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cart_device_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cart_device_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

static ngx_int_t ngx_http_cart_add_variables(ngx_conf_t *cf);
static void *ngx_http_cart_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_cart_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_cart_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_cart_init_process(ngx_cycle_t *cycle);
static void ngx_http_cart_exit_process(ngx_cycle_t *cycle);


/* the values of "cart_api" */
static ngx_http_cart_route_t  ngx_http_cart_routes[] = {

    { ngx_string("firmly_cart_v2"), ngx_http_cart_firmly_cart_v2,
      NGX_HTTP_CART_ROUTE_DOMAIN, ngx_http_cart_firmly_v2_errors },

    { ngx_string("firmly_cart_v1"), ngx_http_cart_firmly_cart_v1,
      NGX_HTTP_CART_ROUTE_DOMAIN, ngx_http_cart_firmly_v1_errors },

    { ngx_string("firmly_active_carts"), ngx_http_cart_firmly_active_carts,
      0, ngx_http_cart_firmly_active_errors },

    { ngx_string("firmly_active_domains"),
      ngx_http_cart_firmly_active_domains,
      0, ngx_http_cart_firmly_domains_errors },

    { ngx_null_string, NULL, 0, NULL }
};


static ngx_command_t  ngx_http_cart_commands[] = {

    { ngx_string("cart_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
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

      ngx_null_command
};


static ngx_http_module_t  ngx_http_cart_module_ctx = {
    ngx_http_cart_add_variables,           /* preconfiguration */
    NULL,                                  /* postconfiguration */

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

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_cart_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_cart_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_cart_module);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_cart_send_error(r,
                                &clcf->route->errors[NGX_HTTP_CART_ERR_METHOD]);
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return clcf->route->handler(r, clcf);
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


static char *
ngx_http_cart_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cart_loc_conf_t *clcf = conf;

    ngx_str_t                 *value;
    ngx_http_cart_route_t     *route;
    ngx_http_core_loc_conf_t  *core;

    if (clcf->route) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (route = ngx_http_cart_routes; route->name.len; route++) {
        if (route->name.len == value[1].len
            && ngx_strncmp(route->name.data, value[1].data, value[1].len) == 0)
        {
            break;
        }
    }

    if (route->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown cart_api \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf->route = route;

    core = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    core->handler = ngx_http_cart_handler;

    return NGX_CONF_OK;
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
     *     conf->device_jwt = { NULL, { NULL, ... } };
     *     conf->device_claim = { 0, NULL };
     *     conf->device_secrets = NULL;
     */

    return conf;
}


static char *
ngx_http_cart_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_cart_loc_conf_t *prev = parent;
    ngx_http_cart_loc_conf_t *conf = child;

    ngx_http_cart_main_conf_t  *cmcf;

    /* keys and secrets set on a level replace the ones above */
    if (conf->device_jwt.keys == NULL) {
        conf->device_jwt.keys = prev->device_jwt.keys;
    }

    if (conf->device_secrets == NULL) {
        conf->device_secrets = prev->device_secrets;
    }

    ngx_conf_merge_str_value(conf->device_claim, prev->device_claim,
                             "device_id");

    conf->device_jwt.policy.subject = (char *) conf->device_claim.data;

    if (conf->route == NULL) {
        return NGX_CONF_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cart_module);

    if (cmcf->store.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cart_api %V\" needs \"cart_store\" in the http "
                           "block", &conf->route->name);
        return NGX_CONF_ERROR;
    }

    if ((conf->route->flags & NGX_HTTP_CART_ROUTE_DOMAIN)
        && conf->domain == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cart_api %V\" needs \"cart_domain\"",
                           &conf->route->name);
        return NGX_CONF_ERROR;
    }

    if (conf->device_jwt.keys == NULL && conf->device_secrets == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cart_api %V\" needs \"cart_device_jwt_key\" "
                           "or \"cart_device_secret\"", &conf->route->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_cart_init_process(ngx_cycle_t *cycle)
{
    ngx_str_t                   path;
    ngx_http_cart_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_cart_module);

    if (cmcf == NULL || cmcf->store.len == 0) {
        return NGX_OK;
    }

    if (ngx_http_cart_auth_init_worker(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    path = cmcf->store;

    if (ngx_get_full_name(cycle->pool, &cycle->prefix, &path) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_cart_store_init_worker(cycle, &path);
}


static void
ngx_http_cart_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_cart_store_exit_worker(cycle);
    ngx_http_cart_auth_exit_worker();
}
