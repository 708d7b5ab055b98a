#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ngx_http_cart_auth.h"
#include "ngx_http_cart_metrics.h"


#define NGX_HTTP_CART_AUTH_VERIFIED     1024    /* slots, per worker */
#define NGX_HTTP_CART_AUTH_REJECTED     4096
#define NGX_HTTP_CART_AUTH_CACHE_TOKEN  2048    /* longer ones: not kept */
#define NGX_HTTP_CART_AUTH_DIGEST       32      /* SHA-256 */

/* a verified token: its subject and expiry, for one scheme */
typedef struct {
    ngx_http_cart_jwt_conf_t   *conf;
    time_t                      exp;
    size_t                      token_len;
    size_t                      subject_len;
    u_char                      subject[CART_JWT_SUBJECT_MAX];
    u_char                      token[NGX_HTTP_CART_AUTH_CACHE_TOKEN];
} ngx_http_cart_auth_verified_t;

/*
 * A rejected token, by a digest of it: rejections are forever (a bad
 * signature stays bad, an expired token stays expired) but for a token
 * that is not valid yet, which is looked at again from its nbf on.
 */
typedef struct {
    ngx_http_cart_jwt_conf_t   *conf;
    time_t                      until;      /* 0: for good */
    ngx_http_cart_auth_rc_e     rc;
    const char                 *why;        /* a literal, or the config's */
    u_char                      digest[NGX_HTTP_CART_AUTH_DIGEST];
} ngx_http_cart_auth_rejected_t;

/* per worker, each direct-mapped by a hash of the token */
typedef struct {
    ngx_http_cart_auth_verified_t  *verified;
    ngx_http_cart_auth_rejected_t  *rejected;
} ngx_http_cart_auth_cache_t;


static ngx_http_cart_auth_cache_t  ngx_http_cart_auth_cache;


static void
ngx_http_cart_auth_key_cleanup(void *data)
{
    cart_jwt_key_free(data);
}


/* a key of alg from file (relative to the configuration's prefix) */
static char *
ngx_http_cart_auth_load(ngx_conf_t *cf, ngx_array_t **keys,
    cart_jwt_alg_e alg, ngx_str_t *path, char *kid)
{
    char                 err[256];
    ngx_str_t           *value, file;
    cart_jwt_key_t      *key;
    ngx_pool_cleanup_t  *cln;

    /* value[0]: the directive's name, for the messages */
    value = cf->args->elts;
    file = *path;

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (*keys == NGX_CONF_UNSET_PTR) {
        *keys = ngx_array_create(cf->pool, 2, sizeof(cart_jwt_key_t));
        if (*keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    key = ngx_array_push(*keys);
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cart_jwt_key_load(key, alg, (char *) file.data, kid, err, sizeof(err))
        != 0)
    {
        (*keys)->nelts--;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": key file \"%V\": %s", &value[0], &file,
                           err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_cart_auth_key_cleanup;
    cln->data = key;

    return NGX_CONF_OK;
}


char *
ngx_http_cart_auth_add_key(ngx_conf_t *cf, ngx_array_t **keys)
{
    char            *kid;
    ngx_str_t       *value;
    cart_jwt_alg_e   alg;

    value = cf->args->elts;

    alg = cart_jwt_alg((char *) value[1].data, value[1].len);

    if (alg == CART_JWT_UNSUPPORTED) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": unknown algorithm \"%V\", use rs256, "
                           "es256 or hs256", &value[0], &value[1]);
        return NGX_CONF_ERROR;
    }

    kid = NULL;

    if (cf->args->nelts == 4) {
        if (value[3].len < 4 || ngx_strncmp(value[3].data, "kid=", 4) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\": unknown parameter \"%V\", the key's "
                               "name is given as kid=NAME", &value[0],
                               &value[3]);
            return NGX_CONF_ERROR;
        }

        kid = (char *) value[3].data + 4;   /* NUL-terminated, as read */
    }

    return ngx_http_cart_auth_load(cf, keys, alg, &value[2], kid);
}


char *
ngx_http_cart_auth_add_hs256_key(ngx_conf_t *cf, ngx_array_t **keys)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    return ngx_http_cart_auth_load(cf, keys, CART_JWT_HS256, &value[1], NULL);
}


static void
ngx_http_cart_auth_digest(u_char *data, size_t len, u_char *digest)
{
    (void) EVP_Digest(data, len, digest, NULL, EVP_sha256(), NULL);
}


char *
ngx_http_cart_auth_add_secret(ngx_conf_t *cf, ngx_array_t **secrets)
{
    char             err[256];
    u_char          *digest;
    ngx_str_t       *value, file;
    cart_jwt_key_t   key;

    value = cf->args->elts;
    file = value[1];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* a shared secret follows an HMAC secret's rules */
    if (cart_jwt_key_load(&key, CART_JWT_HS256, (char *) file.data, NULL, err,
                          sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": secret file \"%V\": %s", &value[0], &file,
                           err);
        return NGX_CONF_ERROR;
    }

    if (*secrets == NGX_CONF_UNSET_PTR) {
        *secrets = ngx_array_create(cf->pool, 2, NGX_HTTP_CART_AUTH_DIGEST);
    }

    digest = *secrets ? ngx_array_push(*secrets) : NULL;

    if (digest) {
        ngx_http_cart_auth_digest(key.secret, key.secret_len, digest);
    }

    cart_jwt_key_free(&key);

    return digest ? NGX_CONF_OK : NGX_CONF_ERROR;
}


ngx_int_t
ngx_http_cart_auth_init_worker(ngx_cycle_t *cycle)
{
    ngx_http_cart_auth_cache.verified =
        ngx_calloc(NGX_HTTP_CART_AUTH_VERIFIED
                   * sizeof(ngx_http_cart_auth_verified_t), cycle->log);

    ngx_http_cart_auth_cache.rejected =
        ngx_calloc(NGX_HTTP_CART_AUTH_REJECTED
                   * sizeof(ngx_http_cart_auth_rejected_t), cycle->log);

    if (ngx_http_cart_auth_cache.verified == NULL
        || ngx_http_cart_auth_cache.rejected == NULL)
    {
        ngx_http_cart_auth_exit_worker();
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_cart_auth_exit_worker(void)
{
    ngx_free(ngx_http_cart_auth_cache.verified);
    ngx_free(ngx_http_cart_auth_cache.rejected);

    ngx_http_cart_auth_cache.verified = NULL;
    ngx_http_cart_auth_cache.rejected = NULL;
}


ngx_table_elt_t *
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


/* signature, algorithm, claims: the cost that the caches save */
static ngx_http_cart_auth_rc_e
ngx_http_cart_auth_verify(ngx_http_cart_jwt_conf_t *conf, ngx_str_t *token,
    cart_jwt_subject_t *subject, const char **why)
{
    cart_jwt_t      jwt;
    cart_jwt_rc_e   rc;

    subject->nbf = 0;

    rc = cart_jwt_decode((char *) token->data, token->len, &jwt, why);

    if (rc == CART_JWT_OK) {
        rc = cart_jwt_verify(&jwt, conf->keys->elts, conf->keys->nelts, why);
    }

    if (rc == CART_JWT_OK) {
        rc = cart_jwt_claims(&jwt, &conf->policy, ngx_time(), subject, why);
    }

    cart_jwt_free(&jwt);

    switch (rc) {

    case CART_JWT_OK:
        return NGX_HTTP_CART_AUTH_OK;

    case CART_JWT_MALFORMED:
        return NGX_HTTP_CART_AUTH_MALFORMED;

    default:
        return NGX_HTTP_CART_AUTH_INVALID;
    }
}


static ngx_int_t
ngx_http_cart_auth_copy(ngx_http_request_t *r, u_char *data, size_t len,
    ngx_str_t *to)
{
    to->data = ngx_pnalloc(r->pool, len);
    if (to->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(to->data, data, len);
    to->len = len;

    return NGX_OK;
}


ngx_http_cart_auth_rc_e
ngx_http_cart_auth_jwt(ngx_http_request_t *r, ngx_http_cart_jwt_conf_t *conf,
    ngx_str_t *token, ngx_str_t *subject)
{
    uint32_t                        hash;
    const char                     *why;
    ngx_http_cart_auth_rc_e         rc;
    cart_jwt_subject_t              sub;
    ngx_http_cart_auth_rejected_t  *n;
    ngx_http_cart_auth_verified_t  *e;
    u_char                          digest[NGX_HTTP_CART_AUTH_DIGEST];

    hash = ngx_murmur_hash2(token->data, token->len) ^ (uintptr_t) conf;
    e = &ngx_http_cart_auth_cache.verified[hash % NGX_HTTP_CART_AUTH_VERIFIED];

    if (e->conf == conf && e->token_len == token->len
        && ngx_memcmp(e->token, token->data, token->len) == 0)
    {
        if (e->exp <= ngx_time()) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "cart auth: verified token expired");
            e->conf = NULL;
            ngx_http_cart_metrics_token(r, NGX_HTTP_CART_TOKEN_EXPIRED);
            return NGX_HTTP_CART_AUTH_INVALID;
        }

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cart auth: verified token cached");
        ngx_http_cart_metrics_token(r, NGX_HTTP_CART_TOKEN_CACHED);

        /* a copy: the slot may be reused before this request is logged */
        return ngx_http_cart_auth_copy(r, e->subject, e->subject_len, subject)
               == NGX_OK ? NGX_HTTP_CART_AUTH_OK : NGX_HTTP_CART_AUTH_ERROR;
    }

    /* a digest, not a fast hash: no one can make a token collide with one */
    ngx_http_cart_auth_digest(token->data, token->len, digest);
    ngx_memcpy(&hash, digest, sizeof(uint32_t));
    n = &ngx_http_cart_auth_cache.rejected[hash % NGX_HTTP_CART_AUTH_REJECTED];

    if (n->conf == conf
        && ngx_memcmp(n->digest, digest, NGX_HTTP_CART_AUTH_DIGEST) == 0
        && (n->until == 0 || ngx_time() < n->until))
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cart auth: rejected token cached");
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "cart: token rejected: %s (remembered)", n->why);
        ngx_http_cart_metrics_token(r, NGX_HTTP_CART_TOKEN_REMEMBERED);
        return n->rc;
    }

    rc = ngx_http_cart_auth_verify(conf, token, &sub, &why);

    if (rc == NGX_HTTP_CART_AUTH_MALFORMED || rc == NGX_HTTP_CART_AUTH_INVALID)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "cart: token rejected: %s", why);
        ngx_http_cart_metrics_token(r, ngx_http_cart_metrics_refusal(
                                    rc == NGX_HTTP_CART_AUTH_MALFORMED, why));

        n->conf = conf;
        n->until = (time_t) sub.nbf;
        n->rc = rc;
        n->why = why;
        ngx_memcpy(n->digest, digest, NGX_HTTP_CART_AUTH_DIGEST);
        return rc;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cart auth: token verified");
    ngx_http_cart_metrics_token(r, NGX_HTTP_CART_TOKEN_VERIFIED);

    if (ngx_http_cart_auth_copy(r, (u_char *) sub.text, sub.len, subject)
        != NGX_OK)
    {
        return NGX_HTTP_CART_AUTH_ERROR;
    }

    if (token->len <= NGX_HTTP_CART_AUTH_CACHE_TOKEN) {
        e->conf = conf;
        e->exp = (time_t) sub.exp;
        e->token_len = token->len;
        ngx_memcpy(e->token, token->data, token->len);
        e->subject_len = sub.len;
        ngx_memcpy(e->subject, sub.text, sub.len);
    }

    return NGX_HTTP_CART_AUTH_OK;
}


ngx_uint_t
ngx_http_cart_auth_secret(ngx_array_t *secrets, ngx_str_t *value)
{
    u_char      *s;
    ngx_uint_t   i, match;
    u_char       digest[NGX_HTTP_CART_AUTH_DIGEST];

    /* digests of equal length, all of them compared: nothing to time */
    ngx_http_cart_auth_digest(value->data, value->len, digest);

    s = secrets->elts;
    match = 0;

    for (i = 0; i < secrets->nelts; i++) {
        match |= (CRYPTO_memcmp(digest, s + i * NGX_HTTP_CART_AUTH_DIGEST,
                                NGX_HTTP_CART_AUTH_DIGEST) == 0);
    }

    return match;
}
