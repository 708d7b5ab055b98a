/*
 * libFuzzer target: the header and claims of a token that verifies.  The
 * input is "header NUL claims"; it is signed here with the test secret,
 * so that the fuzzer reaches the claims checks (exp, nbf, iss, aud, the
 * subject), which a token it makes up itself never passes the signature
 * to reach.
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cart_jwt.h"


#define SECRET  "0123456789abcdef0123456789abcdef"


static size_t
b64url(const unsigned char *in, size_t len, char *out)
{
    size_t          i, n, o;
    unsigned long   v;

    static const char  *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "abcdefghijklmnopqrstuvwxyz0123456789-_";

    for (i = o = 0; i < len; i += 3) {
        n = len - i < 3 ? len - i : 3;
        v = (unsigned long) in[i] << 16
            | (n > 1 ? (unsigned long) in[i + 1] << 8 : 0)
            | (n > 2 ? in[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (n > 1) out[o++] = a[v >> 6 & 63];
        if (n > 2) out[o++] = a[v & 63];
    }

    return o;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   i;
    char                  tok[CART_JWT_MAX_LEN + 64];
    size_t                len, hlen;
    const char           *why;
    cart_jwt_t            jwt;
    unsigned int          mac_len;
    unsigned char         mac[EVP_MAX_MD_SIZE];
    const uint8_t        *nul;
    cart_jwt_subject_t    sub;

    static const cart_jwt_claim_t  customer[] = {
        { "user_type", "customer" }, { NULL, NULL }
    };
    cart_jwt_key_t        key = { CART_JWT_HS256, NULL,
                                  (unsigned char *) SECRET, 32, NULL };
    cart_jwt_policy_t     policies[] = {
        { "device_id", CART_JWT_SUBJECT_STRING, NULL, NULL, NULL },
        { "user_id", CART_JWT_SUBJECT_INTEGER, "spree", "store_api",
          customer }
    };

    nul = memchr(data, '\0', size);
    if (nul == NULL || size > 4096) {
        return 0;
    }

    hlen = (size_t) (nul - data);
    len = b64url(data, hlen, tok);
    tok[len++] = '.';
    len += b64url(nul + 1, size - hlen - 1, tok + len);

    HMAC(EVP_sha256(), SECRET, 32, (unsigned char *) tok, len, mac, &mac_len);

    tok[len++] = '.';
    len += b64url(mac, mac_len, tok + len);

    if (cart_jwt_decode(tok, len, &jwt, &why) == CART_JWT_OK
        && cart_jwt_verify(&jwt, &key, 1, &why) == CART_JWT_OK)
    {
        for (i = 0; i < 2; i++) {
            if (cart_jwt_claims(&jwt, &policies[i], 1700000000, &sub, &why)
                == CART_JWT_OK && sub.len != strlen(sub.text))
            {
                __builtin_trap();   /* a subject with a NUL in it */
            }
        }
    }

    cart_jwt_free(&jwt);

    return 0;
}
