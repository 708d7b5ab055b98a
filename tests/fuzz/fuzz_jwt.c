/* libFuzzer target: a token as it comes in x-firmly-authorization. */

#include <stdint.h>
#include <stddef.h>

#include "cart_jwt.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          len;
    int64_t         exp;
    cart_jwt_t      jwt;
    const char     *sub;
    cart_jwt_key_t  key = { CART_JWT_HS256, NULL,
                            (unsigned char *) "0123456789abcdef"
                                              "0123456789abcdef", 32 };

    if (cart_jwt_decode((const char *) data, size, &jwt) == CART_JWT_OK) {
        (void) cart_jwt_verify(&jwt, &key, 1);
        (void) cart_jwt_subject(&jwt, "device_id", 1700000000, &sub, &len,
                                &exp);
    }

    cart_jwt_free(&jwt);

    return 0;
}
