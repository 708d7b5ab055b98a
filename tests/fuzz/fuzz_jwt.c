/* libFuzzer target: a token as it comes in x-firmly-authorization. */

#include <stdint.h>
#include <stddef.h>

#include "cart_jwt.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char          *why;
    cart_jwt_t           jwt;
    cart_jwt_subject_t   sub;
    cart_jwt_key_t       key = { CART_JWT_HS256, NULL,
                                 (unsigned char *) "0123456789abcdef"
                                                   "0123456789abcdef", 32,
                                 NULL };
    cart_jwt_policy_t    policy = { "device_id", CART_JWT_SUBJECT_STRING,
                                    NULL, NULL, NULL };

    if (cart_jwt_decode((const char *) data, size, &jwt, &why) == CART_JWT_OK)
    {
        (void) cart_jwt_verify(&jwt, &key, 1, &why);
        (void) cart_jwt_claims(&jwt, &policy, 1700000000, &sub, &why);
    }

    cart_jwt_free(&jwt);

    return 0;
}
