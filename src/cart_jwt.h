/*
 * JSON Web Tokens (RFC 7519) signed with RS256, ES256 or HS256: decoding,
 * signature checks and claims.  Pure functions of bytes and keys; the
 * algorithm is pinned by the key, never taken from the token alone.
 */

#ifndef CART_JWT_H
#define CART_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>


#define CART_JWT_MAX_LEN  8192

typedef enum {
    CART_JWT_RS256 = 0,
    CART_JWT_ES256,
    CART_JWT_HS256,
    CART_JWT_UNSUPPORTED
} cart_jwt_alg_e;

typedef enum {
    CART_JWT_OK = 0,
    CART_JWT_MALFORMED,         /* not a JWT at all */
    CART_JWT_INVALID            /* a JWT, but not one we accept */
} cart_jwt_rc_e;

typedef struct {
    cart_jwt_alg_e   alg;
    EVP_PKEY        *pkey;      /* RS256, ES256 */
    unsigned char   *secret;    /* HS256 */
    size_t           secret_len;
} cart_jwt_key_t;

typedef struct {
    cart_jwt_alg_e   alg;
    const char      *signing_input;     /* points into the token */
    size_t           signing_input_len;
    unsigned char    signature[512];
    size_t           signature_len;
    json_t          *claims;
} cart_jwt_t;


/* "rs256", "es256", "hs256" (any case), else CART_JWT_UNSUPPORTED */
cart_jwt_alg_e cart_jwt_alg(const char *name, size_t len);

/*
 * Loads a PEM public key (RS256: RSA of 2048 bits or more; ES256: P-256)
 * or an HMAC secret file (HS256: 32 bytes or more, trailing newlines
 * dropped).  On error returns -1 with the reason in err.
 */
int cart_jwt_key_load(cart_jwt_key_t *key, cart_jwt_alg_e alg,
    const char *path, char *err, size_t err_len);

void cart_jwt_key_free(cart_jwt_key_t *key);

/* splits and decodes a compact JWS; claims must be cart_jwt_free()d */
cart_jwt_rc_e cart_jwt_decode(const char *token, size_t len, cart_jwt_t *jwt);

/* CART_JWT_OK when a key of the token's algorithm verifies it */
cart_jwt_rc_e cart_jwt_verify(const cart_jwt_t *jwt, const cart_jwt_key_t *keys,
    size_t nkeys);

/*
 * Checks exp (required) and nbf against now, and returns the string claim
 * named subject_claim.
 */
cart_jwt_rc_e cart_jwt_subject(const cart_jwt_t *jwt, const char *subject_claim,
    int64_t now, const char **subject, size_t *subject_len, int64_t *exp);

void cart_jwt_free(cart_jwt_t *jwt);

/* base64url without padding (RFC 4648, section 5); -1 when not */
int cart_base64url_decode(const char *in, size_t len, unsigned char *out,
    size_t out_size, size_t *out_len);


#endif /* CART_JWT_H */
