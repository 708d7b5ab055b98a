#include "cart_jwt.h"
#include "ngx_http_cart_auth.h"


#define NGX_HTTP_CART_AUTH_CACHE_SIZE   1024
#define NGX_HTTP_CART_AUTH_CACHE_TOKEN  2048
#define NGX_HTTP_CART_AUTH_SUBJECT_MAX  256

/* a verified token: its subject and expiry, for one key set */
typedef struct {
    ngx_http_cart_auth_conf_t  *conf;
    time_t                      exp;
    size_t                      token_len;
    size_t                      subject_len;
    u_char                      subject[NGX_HTTP_CART_AUTH_SUBJECT_MAX];
    u_char                      token[NGX_HTTP_CART_AUTH_CACHE_TOKEN];
} ngx_http_cart_auth_entry_t;


/* per worker, direct-mapped by a hash of the token */
static ngx_http_cart_auth_entry_t  *ngx_http_cart_auth_cache;


static void
ngx_http_cart_auth_key_cleanup(void *data)
{
    cart_jwt_key_free(data);
}


char *
ngx_http_cart_auth_add_key(ngx_conf_t *cf, ngx_http_cart_auth_conf_t *conf,
    ngx_str_t *alg, ngx_str_t *file)
{
    char                 err[256];
    cart_jwt_alg_e       a;
    ngx_str_t           *value;
    cart_jwt_key_t      *key;
    ngx_pool_cleanup_t  *cln;

    /* value[0]: the directive's name, for the messages */
    value = cf->args->elts;

    a = cart_jwt_alg((char *) alg->data, alg->len);

    if (a == CART_JWT_UNSUPPORTED) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": unknown algorithm \"%V\", use rs256, "
                           "es256 or hs256", &value[0], alg);
        return NGX_CONF_ERROR;
    }

    if (ngx_conf_full_name(cf->cycle, file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->keys == NULL) {
        conf->keys = ngx_array_create(cf->pool, 2, sizeof(cart_jwt_key_t));
        if (conf->keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    key = ngx_array_push(conf->keys);
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cart_jwt_key_load(key, a, (char *) file->data, err, sizeof(err))
        != 0)
    {
        conf->keys->nelts--;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": key file \"%V\": %s", &value[0], file,
                           err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_cart_auth_key_cleanup;
    cln->data = key;

    return NGX_CONF_OK;
}


static ngx_table_elt_t *
ngx_http_cart_auth_header(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncmp(h[i].lowcase_key, name->data, name->len) == 0)
        {
            return &h[i];
        }
    }
}


static ngx_http_cart_auth_entry_t *
ngx_http_cart_auth_slot(ngx_http_cart_auth_conf_t *conf, ngx_str_t *token)
{
    uint32_t  hash;

    if (ngx_http_cart_auth_cache == NULL) {
        ngx_http_cart_auth_cache = ngx_calloc(NGX_HTTP_CART_AUTH_CACHE_SIZE
                                       * sizeof(ngx_http_cart_auth_entry_t),
                                       ngx_cycle->log);
        if (ngx_http_cart_auth_cache == NULL) {
            return NULL;
        }
    }

    hash = ngx_murmur_hash2(token->data, token->len) ^ (uintptr_t) conf;

    return &ngx_http_cart_auth_cache[hash % NGX_HTTP_CART_AUTH_CACHE_SIZE];
}


/* signature, algorithm, claims: the cost a cache hit saves */
static ngx_http_cart_auth_rc_e
ngx_http_cart_auth_verify(ngx_http_request_t *r,
    ngx_http_cart_auth_conf_t *conf, ngx_str_t *token, ngx_str_t *subject,
    time_t *exp)
{
    size_t          len;
    int64_t         expires;
    cart_jwt_t      jwt;
    const char     *sub;
    cart_jwt_rc_e   rc;

    rc = cart_jwt_decode((char *) token->data, token->len, &jwt);

    if (rc == CART_JWT_MALFORMED) {
        return NGX_HTTP_CART_AUTH_MALFORMED;
    }

    if (rc == CART_JWT_OK) {
        rc = cart_jwt_verify(&jwt, conf->keys->elts, conf->keys->nelts);
    }

    if (rc == CART_JWT_OK) {
        rc = cart_jwt_subject(&jwt, (char *) conf->claim.data, ngx_time(),
                              &sub, &len, &expires);
    }

    if (rc == CART_JWT_OK && len > NGX_HTTP_CART_AUTH_SUBJECT_MAX) {
        rc = CART_JWT_INVALID;
    }

    if (rc == CART_JWT_OK) {
        subject->data = ngx_pnalloc(r->pool, len);
        if (subject->data == NULL) {
            cart_jwt_free(&jwt);
            return NGX_HTTP_CART_AUTH_ERROR;
        }

        ngx_memcpy(subject->data, sub, len);
        subject->len = len;
        *exp = (time_t) expires;
    }

    cart_jwt_free(&jwt);

    if (rc != CART_JWT_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "cart: token rejected (signature, algorithm, expiry or "
                      "\"%V\" claim)", &conf->claim);
        return NGX_HTTP_CART_AUTH_INVALID;
    }

    return NGX_HTTP_CART_AUTH_OK;
}


ngx_http_cart_auth_rc_e
ngx_http_cart_auth_subject(ngx_http_request_t *r,
    ngx_http_cart_auth_conf_t *conf, ngx_str_t *subject)
{
    time_t                       exp;
    ngx_str_t                    token;
    ngx_table_elt_t             *h;
    ngx_http_cart_auth_rc_e      rc;
    ngx_http_cart_auth_entry_t  *e;

    h = ngx_http_cart_auth_header(r, &conf->header);
    if (h == NULL || h->value.len == 0) {
        return NGX_HTTP_CART_AUTH_MISSING;
    }

    token = h->value;

    if (token.len > 7 && ngx_strncasecmp(token.data, (u_char *) "Bearer ", 7)
                         == 0)
    {
        token.data += 7;
        token.len -= 7;
    }

    e = ngx_http_cart_auth_slot(conf, &token);

    if (e && e->conf == conf && e->token_len == token.len
        && ngx_memcmp(e->token, token.data, token.len) == 0)
    {
        if (e->exp <= ngx_time()) {
            e->conf = NULL;
            return NGX_HTTP_CART_AUTH_INVALID;
        }

        /* a copy: the slot may be reused before this request is logged */
        subject->data = ngx_pnalloc(r->pool, e->subject_len);
        if (subject->data == NULL) {
            return NGX_HTTP_CART_AUTH_ERROR;
        }

        ngx_memcpy(subject->data, e->subject, e->subject_len);
        subject->len = e->subject_len;

        return NGX_HTTP_CART_AUTH_OK;
    }

    rc = ngx_http_cart_auth_verify(r, conf, &token, subject, &exp);

    if (rc == NGX_HTTP_CART_AUTH_OK && e
        && token.len <= NGX_HTTP_CART_AUTH_CACHE_TOKEN)
    {
        e->conf = conf;
        e->exp = exp;
        e->token_len = token.len;
        ngx_memcpy(e->token, token.data, token.len);
        e->subject_len = subject->len;
        ngx_memcpy(e->subject, subject->data, subject->len);
    }

    return rc;
}
