#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cart_jwt.h"


#define CART_JWT_MIN_RSA_BITS  2048
#define CART_JWT_MIN_SECRET    32


static const char  *cart_jwt_algs[] = { "RS256", "ES256", "HS256" };


static int cart_jwt_pkey_load(cart_jwt_key_t *key, const char *path,
    char *err, size_t err_len);


cart_jwt_alg_e
cart_jwt_alg(const char *name, size_t len)
{
    int  i;

    for (i = 0; i < CART_JWT_UNSUPPORTED; i++) {
        if (len == 5 && strncasecmp(name, cart_jwt_algs[i], 5) == 0) {
            return (cart_jwt_alg_e) i;
        }
    }

    return CART_JWT_UNSUPPORTED;
}


static const unsigned char *
cart_jwt_memmem(const unsigned char *data, size_t len, const char *s,
    size_t n)
{
    size_t  i;

    for (i = 0; i + n <= len; i++) {
        if (memcmp(data + i, s, n) == 0) {
            return data + i;
        }
    }

    return NULL;
}


static int
cart_jwt_fail(char *err, size_t err_len, const char *reason)
{
    snprintf(err, err_len, "%s", reason);
    return -1;
}


/* PEM armour anywhere, or a whole DER public key, private key or cert */
static int
cart_jwt_is_key(const unsigned char *data, size_t len)
{
    int                   found;
    X509                 *x509;
    EVP_PKEY             *pkey;
    const unsigned char  *p;

    if (cart_jwt_memmem(data, len, "-----BEGIN", 10)) {
        return 1;
    }

    p = data;
    pkey = d2i_PUBKEY(NULL, &p, (long) len);
    found = (pkey != NULL && p == data + len);
    EVP_PKEY_free(pkey);

    if (!found) {
        p = data;
        pkey = d2i_AutoPrivateKey(NULL, &p, (long) len);
        found = (pkey != NULL && p == data + len);
        EVP_PKEY_free(pkey);
    }

    if (!found) {
        p = data;
        x509 = d2i_X509(NULL, &p, (long) len);
        found = (x509 != NULL && p == data + len);
        X509_free(x509);
    }

    ERR_clear_error();

    return found;
}


static int
cart_jwt_secret_load(cart_jwt_key_t *key, const char *path, char *err,
    size_t err_len)
{
    long    size;
    FILE   *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_len, "cannot open \"%s\"", path);
        return -1;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0 || size > 65536)
    {
        fclose(f);
        return cart_jwt_fail(err, err_len, "cannot read the secret file");
    }

    key->secret = malloc((size_t) size + 1);
    if (key->secret == NULL) {
        fclose(f);
        return cart_jwt_fail(err, err_len, "out of memory");
    }

    key->secret_len = fread(key->secret, 1, (size_t) size, f);
    fclose(f);

    /*
     * A public key is public: as an HMAC secret, anyone could sign with it
     * (RFC 8725, 2.1).  So no key in PEM or DER form is taken as one.
     */
    if (cart_jwt_is_key(key->secret, key->secret_len)) {
        cart_jwt_key_free(key);
        return cart_jwt_fail(err, err_len,
                             "an hs256 secret must not be a key or "
                             "certificate (PEM or DER): for a public key, "
                             "use rs256 or es256");
    }

    while (key->secret_len
           && (key->secret[key->secret_len - 1] == '\n'
               || key->secret[key->secret_len - 1] == '\r'))
    {
        key->secret_len--;
    }

    if (key->secret_len < CART_JWT_MIN_SECRET) {
        cart_jwt_key_free(key);
        return cart_jwt_fail(err, err_len,
                             "an HS256 secret must be at least 32 bytes");
    }

    return 0;
}


int
cart_jwt_key_load(cart_jwt_key_t *key, cart_jwt_alg_e alg, const char *path,
    const char *kid, char *err, size_t err_len)
{
    memset(key, 0, sizeof(cart_jwt_key_t));
    key->alg = alg;

    if (kid && (*kid == '\0' || strlen(kid) > CART_JWT_KID_MAX)) {
        return cart_jwt_fail(err, err_len,
                             "a kid must be 1 to 128 characters");
    }

    if ((alg == CART_JWT_HS256 ? cart_jwt_secret_load(key, path, err, err_len)
                               : cart_jwt_pkey_load(key, path, err, err_len))
        != 0)
    {
        return -1;
    }

    if (kid) {
        key->kid = strdup(kid);
        if (key->kid == NULL) {
            cart_jwt_key_free(key);
            return cart_jwt_fail(err, err_len, "out of memory");
        }
    }

    return 0;
}


static int
cart_jwt_pkey_load(cart_jwt_key_t *key, const char *path, char *err,
    size_t err_len)
{
    BIO   *bio;
    char   group[64];

    bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        ERR_clear_error();
        snprintf(err, err_len, "cannot open \"%s\"", path);
        return -1;
    }

    key->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();

    if (key->pkey == NULL) {
        return cart_jwt_fail(err, err_len,
                             "not a PEM public key (\"BEGIN PUBLIC KEY\")");
    }

    if (key->alg == CART_JWT_RS256) {
        if (EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_RSA) {
            cart_jwt_key_free(key);
            return cart_jwt_fail(err, err_len, "an rs256 key must be RSA");
        }

        if (EVP_PKEY_get_bits(key->pkey) < CART_JWT_MIN_RSA_BITS) {
            cart_jwt_key_free(key);
            return cart_jwt_fail(err, err_len,
                                 "an RSA key must have at least 2048 bits");
        }

        return 0;
    }

    if (EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_EC
        || EVP_PKEY_get_group_name(key->pkey, group, sizeof(group), NULL) != 1
        || strcmp(group, "prime256v1") != 0)
    {
        cart_jwt_key_free(key);
        return cart_jwt_fail(err, err_len, "an es256 key must be EC P-256");
    }

    return 0;
}


void
cart_jwt_key_free(cart_jwt_key_t *key)
{
    EVP_PKEY_free(key->pkey);
    free(key->secret);
    free(key->kid);
    key->pkey = NULL;
    key->secret = NULL;
    key->kid = NULL;
}


int
cart_base64url_decode(const char *in, size_t len, unsigned char *out,
    size_t out_size, size_t *out_len)
{
    int        v;
    size_t     i, n;
    uint32_t   acc;
    unsigned   bits;
    char       c;

    if (len % 4 == 1 || len / 4 * 3 + 3 > out_size) {
        return -1;
    }

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        c = in[i];

        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';

        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;

        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;

        } else if (c == '-') {
            v = 62;

        } else if (c == '_') {
            v = 63;

        } else {
            return -1;
        }

        acc = (acc << 6) | (uint32_t) v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char) (acc >> bits);
        }
    }

    /* the bits left over must be zero: one token, one encoding */
    if (acc & ((1u << bits) - 1)) {
        return -1;
    }

    *out_len = n;

    return 0;
}


static json_t *
cart_jwt_segment_json(const char *s, size_t len)
{
    size_t          n;
    json_t         *json;
    unsigned char   buf[CART_JWT_MAX_LEN];

    if (cart_base64url_decode(s, len, buf, sizeof(buf), &n) != 0) {
        return NULL;
    }

    json = json_loadb((char *) buf, n, JSON_REJECT_DUPLICATES, NULL);

    if (json && !json_is_object(json)) {
        json_decref(json);
        return NULL;
    }

    return json;
}


/*
 * The header's parameters that change how a token is read: alg (pinned
 * by the keys, so only named here), typ (RFC 8725, 3.11: a token of
 * another type is not ours), crit (RFC 7515, 4.1.11: an extension we do
 * not implement makes the token invalid) and kid.
 */
static cart_jwt_rc_e
cart_jwt_header(json_t *header, cart_jwt_t *jwt, const char **why)
{
    json_t      *v;
    const char  *s;

    s = json_string_value(json_object_get(header, "alg"));
    if (s == NULL) {
        *why = "no alg";
        return CART_JWT_MALFORMED;
    }

    jwt->alg = cart_jwt_alg(s, strlen(s));

    /* "rs256" is not "RS256": the header names it exactly */
    if (jwt->alg == CART_JWT_UNSUPPORTED
        || strcmp(s, cart_jwt_algs[jwt->alg]) != 0)
    {
        jwt->alg = CART_JWT_UNSUPPORTED;
        *why = "algorithm";
        return CART_JWT_INVALID;
    }

    if (json_object_get(header, "crit")) {
        *why = "crit";
        return CART_JWT_INVALID;
    }

    v = json_object_get(header, "typ");
    if (v) {
        s = json_string_value(v);

        /* RFC 7515, 4.1.9: "application/" may be left out of a type */
        if (s == NULL
            || (strcasecmp(s, "JWT") != 0
                && strcasecmp(s, "application/jwt") != 0))
        {
            *why = "typ";
            return CART_JWT_INVALID;
        }
    }

    v = json_object_get(header, "kid");
    if (v) {
        s = json_string_value(v);

        if (s == NULL || json_string_length(v) > CART_JWT_KID_MAX
            || strlen(s) != json_string_length(v))
        {
            *why = "kid";
            return CART_JWT_INVALID;
        }

        memcpy(jwt->kid, s, json_string_length(v) + 1);
    }

    return CART_JWT_OK;
}


cart_jwt_rc_e
cart_jwt_decode(const char *token, size_t len, cart_jwt_t *jwt,
    const char **why)
{
    json_t         *header;
    const char     *dot1, *dot2, *end;
    cart_jwt_rc_e   rc;

    memset(jwt, 0, sizeof(cart_jwt_t));
    *why = "not a JWT";

    if (len == 0 || len > CART_JWT_MAX_LEN) {
        return CART_JWT_MALFORMED;
    }

    end = token + len;

    dot1 = memchr(token, '.', len);
    if (dot1 == NULL) {
        return CART_JWT_MALFORMED;
    }

    dot2 = memchr(dot1 + 1, '.', (size_t) (end - dot1 - 1));
    if (dot2 == NULL || memchr(dot2 + 1, '.', (size_t) (end - dot2 - 1))) {
        return CART_JWT_MALFORMED;
    }

    header = cart_jwt_segment_json(token, (size_t) (dot1 - token));
    if (header == NULL) {
        return CART_JWT_MALFORMED;
    }

    jwt->claims = cart_jwt_segment_json(dot1 + 1, (size_t) (dot2 - dot1 - 1));

    if (jwt->claims == NULL
        || cart_base64url_decode(dot2 + 1, (size_t) (end - dot2 - 1),
                                 jwt->signature, sizeof(jwt->signature),
                                 &jwt->signature_len) != 0)
    {
        json_decref(header);
        cart_jwt_free(jwt);
        return CART_JWT_MALFORMED;
    }

    jwt->signing_input = token;
    jwt->signing_input_len = (size_t) (dot2 - token);

    rc = cart_jwt_header(header, jwt, why);
    json_decref(header);

    return rc;
}


static int
cart_jwt_verify_digest(EVP_PKEY *pkey, const unsigned char *sig,
    size_t sig_len, const cart_jwt_t *jwt)
{
    int          ok;
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return 0;
    }

    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1
         && EVP_DigestVerify(ctx, sig, sig_len,
                             (const unsigned char *) jwt->signing_input,
                             jwt->signing_input_len) == 1;

    EVP_MD_CTX_free(ctx);
    ERR_clear_error();

    return ok;
}


/* JWS carries ECDSA as r || s (RFC 7518, 3.4); OpenSSL wants DER */
static int
cart_jwt_verify_es256(EVP_PKEY *pkey, const cart_jwt_t *jwt)
{
    int             ok, der_len;
    BIGNUM         *r, *s;
    ECDSA_SIG      *sig;
    unsigned char  *der;

    if (jwt->signature_len != 64) {
        return 0;
    }

    sig = ECDSA_SIG_new();
    r = BN_bin2bn(jwt->signature, 32, NULL);
    s = BN_bin2bn(jwt->signature + 32, 32, NULL);

    if (sig == NULL || r == NULL || s == NULL
        || ECDSA_SIG_set0(sig, r, s) != 1)
    {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return 0;
    }

    der = NULL;
    der_len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);

    ok = der_len > 0
         && cart_jwt_verify_digest(pkey, der, (size_t) der_len, jwt);

    OPENSSL_free(der);

    return ok;
}


static int
cart_jwt_verify_hs256(const cart_jwt_key_t *key, const cart_jwt_t *jwt)
{
    unsigned int   len;
    unsigned char  mac[EVP_MAX_MD_SIZE];

    if (HMAC(EVP_sha256(), key->secret, (int) key->secret_len,
             (const unsigned char *) jwt->signing_input,
             jwt->signing_input_len, mac, &len) == NULL)
    {
        return 0;
    }

    return jwt->signature_len == len
           && CRYPTO_memcmp(mac, jwt->signature, len) == 0;
}


static int
cart_jwt_verify_key(const cart_jwt_key_t *key, const cart_jwt_t *jwt)
{
    switch (jwt->alg) {

    case CART_JWT_RS256:
        return cart_jwt_verify_digest(key->pkey, jwt->signature,
                                      jwt->signature_len, jwt);

    case CART_JWT_ES256:
        return cart_jwt_verify_es256(key->pkey, jwt);

    case CART_JWT_HS256:
        return cart_jwt_verify_hs256(key, jwt);

    default:
        return 0;
    }
}


cart_jwt_rc_e
cart_jwt_verify(const cart_jwt_t *jwt, const cart_jwt_key_t *keys,
    size_t nkeys, const char **why)
{
    size_t  i, named;

    /* the keys named by the token's kid, when there are such keys */
    named = 0;

    for (i = 0; jwt->kid[0] && i < nkeys; i++) {
        named += (keys[i].alg == jwt->alg && keys[i].kid
                  && strcmp(keys[i].kid, jwt->kid) == 0);
    }

    for (i = 0; i < nkeys; i++) {
        if (keys[i].alg != jwt->alg
            || (named && (keys[i].kid == NULL
                          || strcmp(keys[i].kid, jwt->kid) != 0)))
        {
            continue;
        }

        if (cart_jwt_verify_key(&keys[i], jwt)) {
            return CART_JWT_OK;
        }
    }

    *why = "signature";

    return CART_JWT_INVALID;
}


/* a NumericDate claim (RFC 7519, 2): -1 when absent, -2 when not one */
static int
cart_jwt_time(json_t *claims, const char *name, double *t)
{
    json_t  *v;

    v = json_object_get(claims, name);
    if (v == NULL) {
        return -1;
    }

    if (!json_is_number(v)) {
        return -2;
    }

    *t = json_number_value(v);

    return 0;
}


static int
cart_jwt_string_is(json_t *v, const char *value)
{
    return json_is_string(v) && strcmp(json_string_value(v), value) == 0
           && json_string_length(v) == strlen(value);
}


/* aud is the audience, or an array that holds it (RFC 7519, 4.1.3) */
static int
cart_jwt_audience_has(json_t *aud, const char *audience)
{
    size_t   i;
    json_t  *v;

    if (json_is_array(aud)) {
        json_array_foreach(aud, i, v) {
            if (cart_jwt_string_is(v, audience)) {
                return 1;
            }
        }

        return 0;
    }

    return cart_jwt_string_is(aud, audience);
}


static cart_jwt_rc_e
cart_jwt_subject(const cart_jwt_t *jwt, const cart_jwt_policy_t *policy,
    cart_jwt_subject_t *out)
{
    json_t      *v;
    json_int_t   n;

    v = json_object_get(jwt->claims, policy->subject);

    if (policy->subject_type == CART_JWT_SUBJECT_INTEGER) {
        if (!json_is_integer(v) || (n = json_integer_value(v)) <= 0) {
            return CART_JWT_INVALID;
        }

        out->len = (size_t) snprintf(out->text, sizeof(out->text), "%lld",
                                     (long long) n);
        return CART_JWT_OK;
    }

    if (!json_is_string(v) || json_string_length(v) == 0
        || json_string_length(v) > CART_JWT_SUBJECT_MAX
        || strlen(json_string_value(v)) != json_string_length(v))
    {
        return CART_JWT_INVALID;
    }

    out->len = json_string_length(v);
    memcpy(out->text, json_string_value(v), out->len);
    out->text[out->len] = '\0';

    return CART_JWT_OK;
}


cart_jwt_rc_e
cart_jwt_claims(const cart_jwt_t *jwt, const cart_jwt_policy_t *policy,
    int64_t now, cart_jwt_subject_t *out, const char **why)
{
    int                      rc;
    double                   t;
    json_t                  *v;
    const cart_jwt_claim_t  *c;

    memset(out, 0, sizeof(cart_jwt_subject_t));

    rc = cart_jwt_time(jwt->claims, "exp", &t);
    if (rc == -1 || rc == -2 || t <= (double) now) {
        *why = (rc == 0) ? "expired" : "exp";
        return CART_JWT_INVALID;
    }

    out->exp = t < 4e18 ? (int64_t) t : INT64_MAX;

    rc = cart_jwt_time(jwt->claims, "nbf", &t);
    if (rc == -2) {
        *why = "nbf";
        return CART_JWT_INVALID;
    }

    if (rc == 0 && t > (double) now) {
        out->nbf = t < 4e18 ? (int64_t) ceil(t) : INT64_MAX;
        *why = "not yet valid";
        return CART_JWT_INVALID;
    }

    if (policy->issuer
        && !cart_jwt_string_is(json_object_get(jwt->claims, "iss"),
                               policy->issuer))
    {
        *why = "iss";
        return CART_JWT_INVALID;
    }

    if (policy->audience
        && !cart_jwt_audience_has(json_object_get(jwt->claims, "aud"),
                                  policy->audience))
    {
        *why = "aud";
        return CART_JWT_INVALID;
    }

    for (c = policy->when_present; c && c->name; c++) {
        v = json_object_get(jwt->claims, c->name);

        if (v && !cart_jwt_string_is(v, c->value)) {
            *why = c->name;
            return CART_JWT_INVALID;
        }
    }

    if (cart_jwt_subject(jwt, policy, out) != CART_JWT_OK) {
        *why = policy->subject;
        return CART_JWT_INVALID;
    }

    return CART_JWT_OK;
}


void
cart_jwt_free(cart_jwt_t *jwt)
{
    json_decref(jwt->claims);
    jwt->claims = NULL;
}
