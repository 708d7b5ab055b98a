/*
 * bench/jwtsign: RS256 device tokens for the benchmark, many and fast.
 * usage: jwtsign KEY.pem DEVICE_ID COUNT   (one token a line; each has
 * its own jti, so that none is in the module's cache of verified tokens)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/pem.h>


static void
b64url(const unsigned char *in, size_t len, char *out)
{
    static const char  *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "abcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t  i;
    unsigned long  v;

    for (i = 0; i + 2 < len; i += 3) {
        v = (unsigned long) in[i] << 16 | in[i + 1] << 8 | in[i + 2];
        *out++ = a[v >> 18 & 63];
        *out++ = a[v >> 12 & 63];
        *out++ = a[v >> 6 & 63];
        *out++ = a[v & 63];
    }

    if (len - i == 1) {
        v = (unsigned long) in[i] << 16;
        *out++ = a[v >> 18 & 63];
        *out++ = a[v >> 12 & 63];

    } else if (len - i == 2) {
        v = (unsigned long) in[i] << 16 | in[i + 1] << 8;
        *out++ = a[v >> 18 & 63];
        *out++ = a[v >> 12 & 63];
        *out++ = a[v >> 6 & 63];
    }

    *out = '\0';
}


int
main(int argc, char **argv)
{
    long            n, i;
    FILE           *f;
    char            claims[512], input[2048], sig64[1024];
    size_t          siglen;
    EVP_PKEY       *key;
    EVP_MD_CTX     *ctx;
    unsigned char   sig[512];
    time_t          now;

    if (argc != 4) {
        fprintf(stderr, "usage: jwtsign KEY.pem DEVICE_ID COUNT\n");
        return 2;
    }

    f = fopen(argv[1], "r");
    key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (key == NULL) {
        fprintf(stderr, "jwtsign: cannot read %s\n", argv[1]);
        return 1;
    }

    n = atol(argv[3]);
    now = time(NULL);

    for (i = 0; i < n; i++) {
        snprintf(claims, sizeof(claims),
                 "{\"device_id\":\"%s\",\"app_id\":\"bench\",\"jti\":\"%ld\","
                 "\"iat\":%ld,\"exp\":%ld}", argv[2], i, (long) now,
                 (long) now + 86400);

        b64url((unsigned char *) "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", 27,
               input);
        strcat(input, ".");
        b64url((unsigned char *) claims, strlen(claims),
               input + strlen(input));

        ctx = EVP_MD_CTX_new();
        siglen = sizeof(sig);
        if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1
            || EVP_DigestSign(ctx, sig, &siglen, (unsigned char *) input,
                              strlen(input)) != 1)
        {
            fprintf(stderr, "jwtsign: signing failed\n");
            return 1;
        }
        EVP_MD_CTX_free(ctx);

        b64url(sig, siglen, sig64);
        printf("%s.%s\n", input, sig64);
    }

    return 0;
}
