/*
 * JSON Web Tokens (RFC 7519) signed with RS256, ES256 or HS256: decoding,
 * signature checks and claims, as RFC 7515 and RFC 8725 ask.  Pure
 * functions of bytes and keys; the algorithm is pinned by the key, never
 * taken from the token alone.
 */

#ifndef CART_JWT_H
#define CART_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>


#define CART_JWT_MAX_LEN      8192
#define CART_JWT_KID_MAX      128
#define CART_JWT_SUBJECT_MAX  256

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
    char            *kid;       /* its name, or NULL */
} cart_jwt_key_t;

typedef struct {
    cart_jwt_alg_e   alg;
    char             kid[CART_JWT_KID_MAX + 1];     /* "" when none */
    const char      *signing_input;                 /* points into the token */
    size_t           signing_input_len;
    unsigned char    signature[512];
    size_t           signature_len;
    json_t          *claims;
} cart_jwt_t;

typedef enum {
    CART_JWT_SUBJECT_STRING = 0,
    CART_JWT_SUBJECT_INTEGER    /* a positive integer, as its digits */
} cart_jwt_subject_e;

typedef struct {
    const char  *name;
    const char  *value;
} cart_jwt_claim_t;

/* what the claims must say, besides an exp in the future */
typedef struct {
    const char               *subject;      /* the claim naming whom */
    cart_jwt_subject_e        subject_type;
    const char               *issuer;       /* iss equals it; NULL: any */
    const char               *audience;     /* aud is or holds it */
    const cart_jwt_claim_t   *when_present; /* equal, when there; {NULL} */
} cart_jwt_policy_t;

typedef struct {
    char             text[CART_JWT_SUBJECT_MAX + 1];
    size_t           len;
    int64_t          exp;
    int64_t          nbf;       /* 0, or when a token not yet valid is */
} cart_jwt_subject_t;


/* "rs256", "es256", "hs256" (any case), else CART_JWT_UNSUPPORTED */
cart_jwt_alg_e cart_jwt_alg(const char *name, size_t len);

/*
 * Loads a PEM public key (RS256: RSA of 2048 bits or more; ES256: P-256)
 * or an HMAC secret file (HS256: 32 bytes or more, trailing newlines
 * dropped, and no key or certificate); kid names it (NULL: no name).  On
 * error returns -1 with the reason in err.
 */
int cart_jwt_key_load(cart_jwt_key_t *key, cart_jwt_alg_e alg,
    const char *path, const char *kid, char *err, size_t err_len);

void cart_jwt_key_free(cart_jwt_key_t *key);

/*
 * Splits and decodes a compact JWS; claims must be cart_jwt_free()d.  A
 * header with "crit" (no extension is implemented), a "typ" other than
 * JWT, or an algorithm other than the three is CART_JWT_INVALID.  On
 * failure *why says which check failed.
 */
cart_jwt_rc_e cart_jwt_decode(const char *token, size_t len, cart_jwt_t *jwt,
    const char **why);

/*
 * CART_JWT_OK when a key of the token's algorithm verifies it: the key
 * named by the token's kid when a key has that name, else any key.
 */
cart_jwt_rc_e cart_jwt_verify(const cart_jwt_t *jwt, const cart_jwt_key_t *keys,
    size_t nkeys, const char **why);

/*
 * Checks exp (required), nbf, iss, aud and the other claims of the
 * policy against now, and returns the subject.  A token that is only not
 * yet valid has out->nbf set.
 */
cart_jwt_rc_e cart_jwt_claims(const cart_jwt_t *jwt,
    const cart_jwt_policy_t *policy, int64_t now, cart_jwt_subject_t *out,
    const char **why);

void cart_jwt_free(cart_jwt_t *jwt);

/* base64url without padding (RFC 4648, section 5); -1 when not */
int cart_base64url_decode(const char *in, size_t len, unsigned char *out,
    size_t out_size, size_t *out_len);


#endif /* CART_JWT_H */
