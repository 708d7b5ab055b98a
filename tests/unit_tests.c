/*
 * Unit tests of the pure functions: money, time, base64url, JWT decoding
 * and verification, store keys, cart validation and views, the JSON
 * writer, PostgreSQL's replication messages, gzip answers made of
 * deflated views.  TAP
 * output, for prove.
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <libdeflate.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include "cart_gzip.h"
#include "cart_json.h"
#include "cart_jwt.h"
#include "cart_layout.h"
#include "cart_money.h"
#include "cart_pgoutput.h"
#include "cart_query.h"
#include "cart_record.h"
#include "cart_spree.h"
#include "cart_spree_query.h"
#include "cart_time.h"
#include "cart_view.h"


static int  test_count;
static int  test_failed;


static void
ok(int cond, const char *name)
{
    test_count++;

    if (!cond) {
        test_failed++;
    }

    printf("%sok %d - %s\n", cond ? "" : "not ", test_count, name);
}


static void
is_str(const char *got, const char *expected, const char *name)
{
    int  same;

    same = got && expected && strcmp(got, expected) == 0;
    ok(same, name);

    if (!same) {
        printf("#   got:      %s\n#   expected: %s\n", got ? got : "(null)",
               expected ? expected : "(null)");
    }
}


static char *
slurp(const char *path)
{
    long   n;
    char  *s;
    FILE  *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    s = malloc((size_t) n + 1);
    if (s && fread(s, 1, (size_t) n, f) != (size_t) n) {
        free(s);
        s = NULL;
    }

    fclose(f);

    if (s) {
        s[n] = '\0';
    }

    return s;
}


static void
test_money(void)
{
    char          *s;
    json_t        *j;
    const char    *field, *reason;
    cart_money_t   m;

    struct {
        const char  *currency;
        int64_t      number;
        const char  *json;
    } cases[] = {
        { "USD", 14999, "{\"currency\":\"USD\",\"value\":149.99,"
                        "\"number\":14999,\"symbol\":\"$\"}" },
        { "USD", 599, "{\"currency\":\"USD\",\"value\":5.99,"
                      "\"number\":599,\"symbol\":\"$\"}" },
        { "USD", 5400, "{\"currency\":\"USD\",\"value\":54,"
                       "\"number\":5400,\"symbol\":\"$\"}" },
        { "USD", 0, "{\"currency\":\"USD\",\"value\":0,"
                    "\"number\":0,\"symbol\":\"$\"}" },
        { "USD", -550, "{\"currency\":\"USD\",\"value\":-5.5,"
                       "\"number\":-550,\"symbol\":\"$\"}" },
        { "USD", 123456789012345LL, "{\"currency\":\"USD\","
          "\"value\":1234567890123.45,\"number\":123456789012345,"
          "\"symbol\":\"$\"}" },
        { "JPY", 500, "{\"currency\":\"JPY\",\"value\":500,"
                      "\"number\":500,\"symbol\":\"$\"}" },
        { "BHD", 1500, "{\"currency\":\"BHD\",\"value\":1.5,"
                       "\"number\":1500,\"symbol\":\"$\"}" },
        { "BHD", 1234, "{\"currency\":\"BHD\",\"value\":1.234,"
                       "\"number\":1234,\"symbol\":\"$\"}" },
    };

    size_t  i;

    ok(cart_currency_exponent("USD") == 2, "USD has 2 decimals");
    ok(cart_currency_exponent("JPY") == 0, "JPY has none");
    ok(cart_currency_exponent("BHD") == 3, "BHD has 3");
    ok(cart_currency_exponent("ZWG") == 2, "the last code of the list");
    ok(cart_currency_exponent("XXX") == -1, "XXX is not a currency");
    ok(cart_currency_exponent("usd") == -1, "codes are upper case");
    ok(cart_currency_exponent("US") == -1, "codes have 3 letters");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(m.currency, cases[i].currency, 4);
        m.number = cases[i].number;
        m.symbol = "$";

        j = cart_money_json(&m, CART_MONEY_V2);
        s = json_dumps(j, CART_JSON_FLAGS);
        is_str(s, cases[i].json, "money printed without float noise");
        free(s);
        json_decref(j);
    }

    memcpy(m.currency, "USD", 4);
    m.number = 220;
    j = cart_money_json(&m, CART_MONEY_V1);
    s = json_dumps(j, CART_JSON_FLAGS);
    is_str(s, "{\"currency\":\"USD\",\"value\":2.2,\"symbol\":\"$\","
              "\"number\":220}", "V1 money key order");
    free(s);
    json_decref(j);

    j = json_loads("{\"currency\":\"USD\",\"value\":54.00,\"number\":5400,"
                   "\"symbol\":\"$\"}", 0, NULL);
    ok(cart_money_parse(j, &m, &field, &reason) == 0 && m.number == 5400,
       "money parses");
    json_decref(j);

    j = json_loads("{\"currency\":\"USD\",\"value\":54.01,\"number\":5400,"
                   "\"symbol\":\"$\"}", 0, NULL);
    ok(cart_money_parse(j, &m, &field, &reason) == -1
       && strcmp(field, "value") == 0, "value must match number");
    json_decref(j);

    j = json_loads("{\"currency\":\"USD\",\"value\":54,\"number\":5400.5,"
                   "\"symbol\":\"$\"}", 0, NULL);
    ok(cart_money_parse(j, &m, &field, &reason) == -1
       && strcmp(field, "number") == 0, "number must be an integer");
    json_decref(j);

    j = json_loads("{\"currency\":\"ABC\",\"value\":1,\"number\":100,"
                   "\"symbol\":\"$\"}", 0, NULL);
    ok(cart_money_parse(j, &m, &field, &reason) == -1
       && strcmp(field, "currency") == 0, "currency must be ISO 4217");
    json_decref(j);

    j = json_loads("{\"currency\":\"JPY\",\"value\":5,\"number\":500,"
                   "\"symbol\":\"Y\"}", 0, NULL);
    ok(cart_money_parse(j, &m, &field, &reason) == -1,
       "JPY has no minor unit: 500 is 500, not 5");
    json_decref(j);

    j = json_loads("{\"currency\":\"USD\",\"value\":1e16,"
                   "\"number\":100000000000000000,\"symbol\":\"$\"}", 0,
                   NULL);
    ok(cart_money_parse(j, &m, &field, &reason) == -1
       && strcmp(field, "number") == 0, "amounts beyond 15 digits");
    json_decref(j);
}


static void
test_time(void)
{
    char     buf[CART_TIME_LEN];
    int64_t  ms;

    ok(cart_time_parse("1970-01-01T00:00:00Z", &ms) == 0 && ms == 0,
       "the epoch");
    ok(cart_time_parse("2026-12-31T00:00:00Z", &ms) == 0
       && ms == 1798675200000LL, "a date");
    ok(cart_time_parse("2026-12-31T01:30:00+01:30", &ms) == 0
       && ms == 1798675200000LL, "an offset");
    ok(cart_time_parse("2024-02-29T12:00:00.5z", &ms) == 0
       && ms % 1000 == 500, "fractions and lower case z");
    ok(cart_time_parse("2025-02-29T00:00:00Z", &ms) == -1,
       "not a leap year");
    ok(cart_time_parse("2026-12-31 00:00:00Z", &ms) == -1, "no T");
    ok(cart_time_parse("2026-12-31T00:00:00", &ms) == -1, "no offset");
    ok(cart_time_parse("2026-12-31T00:00:00Zjunk", &ms) == -1,
       "trailing junk");
    ok(cart_time_parse("2026-13-01T00:00:00Z", &ms) == -1, "month 13");
    ok(cart_time_parse("", &ms) == -1, "empty");

    cart_time_format(1798675200000LL, buf);
    is_str(buf, "2026-12-31T00:00:00Z", "format, whole seconds");
    cart_time_format(1798675200123LL, buf);
    is_str(buf, "2026-12-31T00:00:00.123Z", "format, milliseconds");
    cart_time_format(-1, buf);
    is_str(buf, "1969-12-31T23:59:59.999Z", "format, before the epoch");
}


static void
test_base64url(void)
{
    size_t         n;
    unsigned char  out[64];

    ok(cart_base64url_decode("aGk", 3, out, sizeof(out), &n) == 0 && n == 2
       && memcmp(out, "hi", 2) == 0, "decodes without padding");
    ok(cart_base64url_decode("-_8", 3, out, sizeof(out), &n) == 0 && n == 2
       && out[0] == 0xfb && out[1] == 0xff, "the url alphabet");
    ok(cart_base64url_decode("aGk=", 4, out, sizeof(out), &n) == -1,
       "padding is not base64url");
    ok(cart_base64url_decode("a+k", 3, out, sizeof(out), &n) == -1,
       "+ is not base64url");
    ok(cart_base64url_decode("aGl", 3, out, sizeof(out), &n) == -1,
       "non-zero trailing bits");
    ok(cart_base64url_decode("a", 1, out, sizeof(out), &n) == -1,
       "a single character");
    ok(cart_base64url_decode("", 0, out, sizeof(out), &n) == 0 && n == 0,
       "empty");
}


/* base64url of a text, for tokens made here (RFC 4648, section 5) */
static void
b64url(const unsigned char *in, size_t len, char *out)
{
    size_t          i, n;
    unsigned long   v;

    static const char  *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "abcdefghijklmnopqrstuvwxyz0123456789-_";

    for (i = 0; i < len; i += 3) {
        n = len - i < 3 ? len - i : 3;
        v = (unsigned long) in[i] << 16
            | (n > 1 ? (unsigned long) in[i + 1] << 8 : 0)
            | (n > 2 ? in[i + 2] : 0);
        *out++ = a[v >> 18 & 63];
        *out++ = a[v >> 12 & 63];
        if (n > 1) *out++ = a[v >> 6 & 63];
        if (n > 2) *out++ = a[v & 63];
    }

    *out = '\0';
}


/*
 * An HS256 token of a header and claims, signed with OpenSSL's HMAC and
 * not by the code under test.
 */
static char *
hs256_token(const char *header, const char *claims, const cart_jwt_key_t *key)
{
    size_t          len;
    unsigned int    mac_len;
    unsigned char   mac[EVP_MAX_MD_SIZE];
    static char     tok[4096];

    b64url((const unsigned char *) header, strlen(header), tok);
    len = strlen(tok);
    tok[len++] = '.';
    b64url((const unsigned char *) claims, strlen(claims), tok + len);
    len = strlen(tok);

    HMAC(EVP_sha256(), key->secret, (int) key->secret_len,
         (unsigned char *) tok, len, mac, &mac_len);

    tok[len++] = '.';
    b64url(mac, mac_len, tok + len);

    return tok;
}


/* the whole check of a token: decode, verify, claims */
static cart_jwt_rc_e
check_token(const char *tok, const cart_jwt_key_t *keys, size_t nkeys,
    const cart_jwt_policy_t *policy, int64_t now, cart_jwt_subject_t *sub,
    const char **why)
{
    cart_jwt_t      jwt;
    cart_jwt_rc_e   rc;

    rc = cart_jwt_decode(tok, strlen(tok), &jwt, why);

    if (rc == CART_JWT_OK) {
        rc = cart_jwt_verify(&jwt, keys, nkeys, why);
    }

    if (rc == CART_JWT_OK) {
        rc = cart_jwt_claims(&jwt, policy, now, sub, why);
    }

    cart_jwt_free(&jwt);

    return rc;
}


static void
test_jwt(const char *keys)
{
    char                 path[1024], err[256], *tok;
    const char          *why;
    cart_jwt_t           jwt;
    cart_jwt_key_t       key[4];
    cart_jwt_subject_t   sub;

    static const cart_jwt_claim_t   customer[] = {
        { "user_type", "customer" }, { NULL, NULL }
    };
    cart_jwt_policy_t    device = { "device_id", CART_JWT_SUBJECT_STRING,
                                    NULL, NULL, NULL };
    cart_jwt_policy_t    spree = { "user_id", CART_JWT_SUBJECT_INTEGER,
                                   "spree", "store_api", customer };

    ok(cart_jwt_decode("garbage", 7, &jwt, &why) == CART_JWT_MALFORMED,
       "not a JWT");
    ok(cart_jwt_decode("a.b.c", 5, &jwt, &why) == CART_JWT_MALFORMED,
       "three segments of nothing");
    ok(cart_jwt_decode("a.b.c.d", 7, &jwt, &why) == CART_JWT_MALFORMED,
       "four segments");

    /* {"alg":"none"}.{"device_id":"d","exp":9999999999}. */
    tok = "eyJhbGciOiJub25lIn0.eyJkZXZpY2VfaWQiOiJkIiwiZXhwIjo5OTk5OTk5OTk5fQ.";
    ok(cart_jwt_decode(tok, strlen(tok), &jwt, &why) == CART_JWT_INVALID
       && strcmp(why, "algorithm") == 0, "alg none is a JWT we refuse");
    cart_jwt_free(&jwt);

    snprintf(path, sizeof(path), "%s/hs256.secret", keys);
    ok(cart_jwt_key_load(&key[0], CART_JWT_HS256, path, NULL, err,
                         sizeof(err)) == 0, "an HS256 secret loads");

    snprintf(path, sizeof(path), "%s/short.secret", keys);
    ok(cart_jwt_key_load(&key[1], CART_JWT_HS256, path, NULL, err,
                         sizeof(err)) == -1 && strstr(err, "32 bytes"),
       "a short secret is refused");

    snprintf(path, sizeof(path), "%s/rs256.pub", keys);
    ok(cart_jwt_key_load(&key[1], CART_JWT_HS256, path, NULL, err,
                         sizeof(err)) == -1 && strstr(err, "must not be a key"),
       "a PEM key is refused as an HMAC secret");

    snprintf(path, sizeof(path), "%s/rs1024.pub", keys);
    ok(cart_jwt_key_load(&key[1], CART_JWT_RS256, path, NULL, err,
                         sizeof(err)) == -1 && strstr(err, "2048"),
       "a 1024-bit RSA key is refused");

    snprintf(path, sizeof(path), "%s/es256.pub", keys);
    ok(cart_jwt_key_load(&key[1], CART_JWT_RS256, path, NULL, err,
                         sizeof(err)) == -1, "an EC key is not an rs256 key");

    snprintf(path, sizeof(path), "%s/garbage.pem", keys);
    ok(cart_jwt_key_load(&key[1], CART_JWT_RS256, path, NULL, err,
                         sizeof(err)) == -1 && strstr(err, "PEM"),
       "garbage is not a key");

    snprintf(path, sizeof(path), "%s/rs256.pub", keys);
    ok(cart_jwt_key_load(&key[1], CART_JWT_RS256, path, NULL, err,
                         sizeof(err)) == 0, "an RSA key loads");

    /* HMAC-SHA256 of the input with the test secret, made by openssl */
    tok = getenv("CART_TEST_HS256_TOKEN");
    if (tok) {
        ok(cart_jwt_decode(tok, strlen(tok), &jwt, &why) == CART_JWT_OK,
           "an HS256 token decodes");
        ok(cart_jwt_verify(&jwt, key, 2, &why) == CART_JWT_OK,
           "and verifies with the HS256 key");
        ok(cart_jwt_verify(&jwt, &key[1], 1, &why) == CART_JWT_INVALID,
           "but not with the RSA key alone");
        ok(cart_jwt_claims(&jwt, &device, 1700000000, &sub, &why)
           == CART_JWT_OK && sub.len == 1 && sub.text[0] == 'd',
           "its subject");
        ok(cart_jwt_claims(&jwt, &device, 99999999999LL, &sub, &why)
           == CART_JWT_INVALID && strcmp(why, "expired") == 0,
           "expired later");
        device.subject = "sub";
        ok(cart_jwt_claims(&jwt, &device, 1700000000, &sub, &why)
           == CART_JWT_INVALID && strcmp(why, "sub") == 0, "no such claim");
        device.subject = "device_id";
        jwt.signature[0] ^= 1;
        ok(cart_jwt_verify(&jwt, key, 2, &why) == CART_JWT_INVALID
           && strcmp(why, "signature") == 0, "a flipped signature bit");
        cart_jwt_free(&jwt);
    }

    /* the header: crit, typ, kid (RFC 7515, RFC 8725) */
    tok = hs256_token("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
                      "{\"device_id\":\"d\",\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &device, 1700000000, &sub, &why)
       == CART_JWT_INVALID && strcmp(why, "crit") == 0,
       "crit names an extension we do not implement: refused");

    tok = hs256_token("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}",
                      "{\"device_id\":\"d\",\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &device, 1700000000, &sub, &why)
       == CART_JWT_INVALID && strcmp(why, "typ") == 0,
       "a typ other than JWT: refused");

    tok = hs256_token("{\"alg\":\"HS256\",\"typ\":\"jwt\"}",
                      "{\"device_id\":\"d\",\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &device, 1700000000, &sub, &why)
       == CART_JWT_OK, "typ jwt, in any case: accepted");

    tok = hs256_token("{\"alg\":\"HS256\",\"typ\":\"application/JWT\"}",
                      "{\"device_id\":\"d\",\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &device, 1700000000, &sub, &why)
       == CART_JWT_OK, "typ application/jwt: accepted");

    tok = hs256_token("{\"alg\":\"HS256\",\"kid\":7}",
                      "{\"device_id\":\"d\",\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &device, 1700000000, &sub, &why)
       == CART_JWT_INVALID && strcmp(why, "kid") == 0,
       "a kid that is not a string: refused");

    /* kid picks the key when keys have names; else every key is tried */
    snprintf(path, sizeof(path), "%s/hs256.secret", keys);
    ok(cart_jwt_key_load(&key[2], CART_JWT_HS256, path, "one", err,
                         sizeof(err)) == 0, "a key with a name");
    snprintf(path, sizeof(path), "%s/hs256-other.secret", keys);
    ok(cart_jwt_key_load(&key[3], CART_JWT_HS256, path, "two", err,
                         sizeof(err)) == 0, "another key with a name");

    tok = hs256_token("{\"alg\":\"HS256\",\"kid\":\"one\"}",
                      "{\"device_id\":\"d\",\"exp\":2000000000}", &key[2]);
    ok(check_token(tok, &key[2], 2, &device, 1700000000, &sub, &why)
       == CART_JWT_OK, "kid one: verified by the key named one");

    tok = hs256_token("{\"alg\":\"HS256\",\"kid\":\"two\"}",
                      "{\"device_id\":\"d\",\"exp\":2000000000}", &key[2]);
    ok(check_token(tok, &key[2], 2, &device, 1700000000, &sub, &why)
       == CART_JWT_INVALID && strcmp(why, "signature") == 0,
       "kid two, signed by key one: only key two is tried");

    tok = hs256_token("{\"alg\":\"HS256\",\"kid\":\"three\"}",
                      "{\"device_id\":\"d\",\"exp\":2000000000}", &key[3]);
    ok(check_token(tok, &key[2], 2, &device, 1700000000, &sub, &why)
       == CART_JWT_OK, "a kid that no key has: every key is tried");

    /* claims: nbf, iss, aud, an integer subject, claims when present */
    tok = hs256_token("{\"alg\":\"HS256\"}",
                      "{\"device_id\":\"d\",\"exp\":2000000000,"
                      "\"nbf\":1700000100}", &key[0]);
    ok(check_token(tok, key, 1, &device, 1700000000, &sub, &why)
       == CART_JWT_INVALID && strcmp(why, "not yet valid") == 0
       && sub.nbf == 1700000100, "not valid yet, and from when");
    ok(check_token(tok, key, 1, &device, 1700000099, &sub, &why)
       == CART_JWT_INVALID, "not valid a second before its nbf");
    ok(check_token(tok, key, 1, &device, 1700000100, &sub, &why)
       == CART_JWT_OK, "valid from its nbf on");

    tok = hs256_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                      "{\"user_id\":2,\"user_type\":\"customer\","
                      "\"jti\":\"x\",\"iss\":\"spree\",\"aud\":\"store_api\","
                      "\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &spree, 1700000000, &sub, &why)
       == CART_JWT_OK && strcmp(sub.text, "2") == 0 && sub.len == 1,
       "a Spree token: the integer user_id");

    tok = hs256_token("{\"alg\":\"HS256\"}",
                      "{\"user_id\":2,\"iss\":\"spree\","
                      "\"aud\":[\"admin_api\",\"store_api\"],"
                      "\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &spree, 1700000000, &sub, &why)
       == CART_JWT_OK, "aud as an array that holds the audience; no "
       "user_type");

    tok = hs256_token("{\"alg\":\"HS256\"}",
                      "{\"user_id\":2,\"iss\":\"spree\",\"aud\":\"admin_api\","
                      "\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &spree, 1700000000, &sub, &why)
       == CART_JWT_INVALID && strcmp(why, "aud") == 0, "another audience");

    tok = hs256_token("{\"alg\":\"HS256\"}",
                      "{\"user_id\":2,\"aud\":\"store_api\","
                      "\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &spree, 1700000000, &sub, &why)
       == CART_JWT_INVALID && strcmp(why, "iss") == 0, "no issuer");

    tok = hs256_token("{\"alg\":\"HS256\"}",
                      "{\"user_id\":2,\"iss\":\"spree\",\"aud\":\"store_api\","
                      "\"user_type\":\"admin\",\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &spree, 1700000000, &sub, &why)
       == CART_JWT_INVALID && strcmp(why, "user_type") == 0,
       "user_type admin");

    tok = hs256_token("{\"alg\":\"HS256\"}",
                      "{\"user_id\":\"2\",\"iss\":\"spree\","
                      "\"aud\":\"store_api\",\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &spree, 1700000000, &sub, &why)
       == CART_JWT_INVALID && strcmp(why, "user_id") == 0,
       "a user_id that is a string");

    tok = hs256_token("{\"alg\":\"HS256\"}",
                      "{\"user_id\":0,\"iss\":\"spree\","
                      "\"aud\":\"store_api\",\"exp\":2000000000}", &key[0]);
    ok(check_token(tok, key, 1, &spree, 1700000000, &sub, &why)
       == CART_JWT_INVALID, "a user_id of 0");

    cart_jwt_key_free(&key[0]);
    cart_jwt_key_free(&key[1]);
    cart_jwt_key_free(&key[2]);
    cart_jwt_key_free(&key[3]);
}


static void
test_query(void)
{
    char             buf[4096], many[2048];
    size_t           i;
    cart_excludes_t  ex;

    ok(cart_excludes_parse(" A.com ,b.COM,,a.com,\t", 22, buf, &ex) == 0
       && ex.n == 3, "excludes: blanks and empty entries ignored");
    ok(cart_excludes_has(&ex, "a.com", 5) && cart_excludes_has(&ex, "b.com", 5)
       && !cart_excludes_has(&ex, "c.com", 5), "excludes: lowercased");
    ok(cart_excludes_parse("", 0, buf, &ex) == 0 && ex.n == 0,
       "excludes: empty");

    for (i = 0; i < 257; i++) {
        memcpy(many + 2 * i, "a,", 2);
    }

    ok(cart_excludes_parse(many, 2 * 256, buf, &ex) == 0 && ex.n == 256,
       "excludes: 256 entries");
    ok(cart_excludes_parse(many, 2 * 257, buf, &ex) == -1,
       "excludes: 257 are too many");

    memset(many, 'x', 254);
    ok(cart_excludes_parse(many, 253, buf, &ex) == 0,
       "excludes: a 253-character entry");
    ok(cart_excludes_parse(many, 254, buf, &ex) == -1,
       "excludes: a 254-character entry");

    ok(cart_bool_parse("true", 4) == 1 && cart_bool_parse("false", 5) == 0,
       "fast_mode: true, false");
    ok(cart_bool_parse("TRUE", 4) == -1 && cart_bool_parse("", 0) == -1
       && cart_bool_parse("1", 1) == -1, "fast_mode: nothing else");
}


static void
test_keys(void)
{
    char  key[CART_DOMAIN_MAX_LEN + 1], long_name[CART_DOMAIN_MAX_LEN + 1];

    ok(cart_domain_key("Shop-1_A.Example.COM", 20, key) == 20
       && memcmp(key, "shop-1_a.example.com", 20) == 0,
       "domain key: lowercased");
    ok(cart_domain_key("", 0, key) == 0 && cart_domain_key("a b", 3, key) == 0
       && cart_domain_key("a\"b", 3, key) == 0
       && cart_domain_key("a\0b", 3, key) == 0
       && cart_domain_key("caf\xc3\xa9", 5, key) == 0,
       "domain key: empty, blank, quote, NUL, non-ASCII refused");

    memset(long_name, 'a', sizeof(long_name));
    ok(cart_domain_key(long_name, CART_DOMAIN_MAX_LEN, key)
       == CART_DOMAIN_MAX_LEN
       && cart_domain_key(long_name, CART_DOMAIN_MAX_LEN + 1, key) == 0,
       "domain key: 253 characters, not 254");

    ok(cart_domain_key_valid("shop-1_a.example.com", 20)
       && cart_domain_key_valid(long_name, CART_DOMAIN_MAX_LEN),
       "stored domain key: as cart_domain_key makes them");
    ok(!cart_domain_key_valid("Shop.example", 12)
       && !cart_domain_key_valid("evil\".example", 13)
       && !cart_domain_key_valid("a\0b", 3) && !cart_domain_key_valid("", 0)
       && !cart_domain_key_valid(long_name, CART_DOMAIN_MAX_LEN + 1),
       "stored domain key: upper case, quote, NUL, empty, too long refused");
}


static const char *
render_error(const char *cart_json, char *err, size_t err_len)
{
    json_t        *cart;
    cart_views_t   views;

    cart = json_loads(cart_json, 0, NULL);
    if (cart_views_render(cart, &views, err, err_len) == 0) {
        cart_views_free(&views);
        snprintf(err, err_len, "(no error)");
    }

    json_decref(cart);

    return err;
}


#define MONEY(n)  "{\"currency\":\"USD\",\"value\":" #n ",\"number\":" \
                  #n "00,\"symbol\":\"$\"}"

static void
test_views(const char *data)
{
    char          path[1024], err[600], *page, *v2, *v1, *v1_expected;
    json_t       *cart;
    cart_views_t  views;

    snprintf(path, sizeof(path), "%s/page-002-cart.json", data);
    page = slurp(path);
    snprintf(path, sizeof(path), "%s/page-002-cart.v2.json", data);
    v2 = slurp(path);
    snprintf(path, sizeof(path), "%s/page-002-cart.v1.json", data);
    v1_expected = slurp(path);

    cart = json_loads(page, 0, NULL);
    ok(cart_views_render(cart, &views, err, sizeof(err)) == 0,
       "the page 002 example is a valid cart");

    v1 = strndup(views.v2, views.v2_len);
    is_str(v1, v2, "its V2 view is the page's, key for key");
    free(v1);

    v1 = strndup(views.v1, views.v1_len);
    if (v1_expected) {
        v1_expected[strcspn(v1_expected, "\n")] = '\0';
    }
    is_str(v1, v1_expected, "its V1 view is the page 004 shape");
    free(v1);

    ok(views.line_items == 1, "one line item");

    cart_views_free(&views);
    json_decref(cart);

    is_str(render_error("[]", err, sizeof(err)), "cart: must be an object",
           "a cart is an object");
    is_str(render_error("{}", err, sizeof(err)), "cart.cart_id: required",
           "cart_id is required");
    is_str(render_error("{\"cart_id\":\"c\",\"line_items\":[{}]}", err,
                        sizeof(err)),
           "cart.line_items[0].line_item_id: required",
           "a line item needs an id");
    is_str(render_error("{\"cart_id\":\"c\",\"line_items\":[{\"line_item_id"
                        "\":\"i\",\"quantity\":0}]}", err, sizeof(err)),
           "cart.line_items[0].quantity: must be at least 1",
           "quantities are positive");
    is_str(render_error("{\"cart_id\":\"c\",\"line_items\":[{\"line_item_id"
                        "\":\"i\",\"quantity\":1,\"price\":" MONEY(1)
                        ",\"line_price\":{\"currency\":\"EUR\",\"value\":1,"
                        "\"number\":100,\"symbol\":\"E\"}}]}", err,
                        sizeof(err)),
           "cart.line_items[0].line_price.currency: differs from the cart's "
           "other amounts", "one currency per cart");
    is_str(render_error("{\"cart_id\":\"c\",\"line_items\":[],\"sub_total\":"
                        MONEY(1) ",\"total\":{\"currency\":\"USD\","
                        "\"value\":1,\"number\":1,\"symbol\":\"$\"}}", err,
                        sizeof(err)),
           "cart.total.value: does not match number scaled by the "
           "currency's exponent", "value and number agree");
    is_str(render_error("{\"cart_id\":\"c\",\"line_items\":[],\"sub_total\":"
                        MONEY(1) ",\"total\":" MONEY(1) ",\"notices\":[{"
                        "\"code\":\"X\",\"severity\":\"fatal\"}]}", err,
                        sizeof(err)),
           "cart.notices[0].severity: must be \"info\", \"warning\" or "
           "\"error\"", "notice severities");
    is_str(render_error("{\"cart_id\":\"c\",\"line_items\":[],\"sub_total\":"
                        MONEY(1) ",\"total\":" MONEY(1) ",\"shipments\":[{"
                        "\"shipment_id\":\"s\",\"line_item_ids\":[1]}]}",
                        err, sizeof(err)),
           "cart.shipments[0].line_item_ids[0]: must be a string",
           "shipment line item ids");
    is_str(render_error("{\"cart_id\":\"c\",\"line_items\":[],\"sub_total\":"
                        MONEY(1) ",\"total\":" MONEY(1) "}", err,
                        sizeof(err)),
           "(no error)", "the smallest valid cart");

    free(page);
    free(v2);
    free(v1_expected);
}


/* jansson's own text of a value, the reference for cart_json_dump() */
static char *
jansson_text(const json_t *json)
{
    return json_dumps(json, CART_JSON_FLAGS | JSON_ENCODE_ANY);
}


/* cart_json_dump() against jansson; prints the first difference */
static int
same_as_jansson(json_t *json, const char *what)
{
    int     same;
    char   *ours, *theirs;
    size_t  len;

    ours = cart_json_dump(json, &len);
    theirs = jansson_text(json);

    same = ours && theirs && strlen(ours) == len && strcmp(ours, theirs) == 0;

    if (!same) {
        printf("#   %s\n#   ours:    %s\n#   jansson: %s\n", what,
               ours ? ours : "(null)", theirs ? theirs : "(null)");
    }

    free(ours);
    free(theirs);

    return same;
}


/* the same as jansson for every value, or the first that differs */
static int
reals_as_jansson(const double *values, size_t n)
{
    char     what[64];
    size_t   i;
    json_t  *real;
    int      same;

    for (i = 0; i < n; i++) {
        real = json_real(values[i]);
        snprintf(what, sizeof(what), "the real %.17g", values[i]);
        same = same_as_jansson(real, what);
        json_decref(real);

        if (!same) {
            return 0;
        }
    }

    return 1;
}


/* each line of an NDJSON fixture, parsed and written back */
static int
lines_as_jansson(const char *data, const char *name, size_t *lines)
{
    char     path[1024], *text, *line, *next;
    json_t  *json;
    int      same;

    snprintf(path, sizeof(path), "%s/%s", data, name);
    text = slurp(path);
    same = text != NULL;

    for (line = text; same && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        }

        json = json_loads(line, 0, NULL);
        same = json && same_as_jansson(json, line);
        json_decref(json);
        (*lines)++;
    }

    free(text);

    return same;
}


static void
test_json(const char *data)
{
    char            s[256], *text;
    size_t          i, n, len, lines;
    double          values[4096];
    json_t         *json, *inner;
    uint64_t        x;
    static const double  edges[] = {
        0.0, -0.0, 0.01, -0.01, 0.1, 0.5, 1.0, 10.0, 100.0, 10.5, 10.99,
        1234.56, -5.0, 9999999999999.99, -9999999999999.99, 1e13, 1e15,
        1e16, 1e300, -1e-300, 5e-324, 1e-5, 0.0001, 0.001, 0.005, 0.125,
        1.0 / 3, 2.0 / 3, 0.1 + 0.2, 123456789012345678.0, 4503599627370496.5,
        1.7976931348623157e308, 99999999999999.9, 0.015, 2.675, 1e22
    };

    ok(reals_as_jansson(edges, sizeof(edges) / sizeof(edges[0])),
       "reals at the edges are written as jansson writes them");

    /* every amount in cents up to 40.95, and their negatives */
    for (i = 0; i < 4096; i++) {
        values[i] = (double) (int64_t) (i - 2048) / 100;
    }

    ok(reals_as_jansson(values, 4096), "amounts in cents, as jansson");

    /* amounts of every magnitude (a fixed xorshift, so runs repeat) */
    x = 88172645463325252ULL;

    for (i = 0; i < 4096; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        n = (size_t) (x % 999999999999999ULL);
        values[i] = (double) (int64_t) n / (i % 2 ? 100 : -1000);
    }

    ok(reals_as_jansson(values, 4096),
       "cents and mills up to 15 digits, as jansson");

    for (i = 0; i < 4096; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&values[i], &x, sizeof(double));

        if (!isfinite(values[i])) {
            values[i] = (double) x;
        }
    }

    ok(reals_as_jansson(values, 4096), "any double, as jansson");

    /* every byte that a string can hold, and UTF-8 */
    for (i = 0; i < 127; i++) {
        s[i] = (char) (i + 1);
    }

    json = json_pack("{s:s%, s:s, s:s%, s:[], s:{}, s:[{}, [], n, b, b, I,"
                     " I, I, i]}",
                     "ascii", s, (size_t) 127,
                     "utf-8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9b\x92"
                     " \xe2\x80\xa8",
                     "nul", "a\0b", (size_t) 3,
                     "empty", "object", "mixed", 1, 0,
                     (json_int_t) INT64_MIN, (json_int_t) INT64_MAX,
                     (json_int_t) -1, 0);
    ok(json && same_as_jansson(json, "strings and scalars"),
       "strings, escapes, integers, literals and empty containers, as "
       "jansson");
    json_decref(json);

    lines = 0;
    ok(lines_as_jansson(data, "base.ndjson", &lines)
       && lines_as_jansson(data, "active.ndjson", &lines)
       && lines_as_jansson(data, "live-update.ndjson", &lines)
       && lines > 20,
       "every fixture record, as jansson");

    snprintf(s, sizeof(s), "%s/page-002-cart.json", data);
    text = slurp(s);
    json = text ? json_loads(text, 0, NULL) : NULL;
    ok(json && same_as_jansson(json, "page 002"), "page 002, as jansson");
    json_decref(json);
    free(text);

    /* nesting: as deep as the parser allows, and one level more */
    json = json_array();
    for (i = 0; i < CART_JSON_MAX_DEPTH; i++) {
        inner = json_array();
        json_array_append_new(inner, json);
        json = inner;
    }

    text = cart_json_dump(json, &len);
    ok(text && len == 2 * (CART_JSON_MAX_DEPTH + 1),
       "nesting as deep as jansson parses");
    free(text);

    inner = json_array();
    json_array_append_new(inner, json);
    ok(cart_json_dump(inner, &len) == NULL, "deeper nesting is refused");
    json_decref(inner);
}


static void
test_ruby_to_i(void)
{
    size_t             i;
    cart_spree_int_t   n;

    static const struct {
        const char  *in;
        int64_t      value;
        const char  *text;
    } cases[] = {
        { "12", 12, "12" }, { "12abc", 12, "12" }, { "abc", 0, "0" },
        { "", 0, "0" }, { "  -3", -3, "-3" }, { "+5", 5, "5" },
        { "\t\n 7", 7, "7" }, { "1_000", 1000, "1000" }, { "1__0", 1, "1" },
        { "_1", 0, "0" }, { "1_", 1, "1" }, { "007", 7, "7" },
        { "-0", 0, "0" }, { "-", 0, "0" }, { "0x10", 0, "0" },
        { "1e3", 1, "1" }, { " 100 ", 100, "100" },
        { "99999999999999999999", INT64_C(1) << 62,
          "99999999999999999999" },
        { "-99999999999999999999", -(INT64_C(1) << 62),
          "-99999999999999999999" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cart_spree_to_i(cases[i].in, strlen(cases[i].in), &n);
        printf("# to_i of \"%s\"\n", cases[i].in[0] == '\t' ? "\\t\\n 7"
                                                            : cases[i].in);
        ok(n.value == cases[i].value && strcmp(n.text, cases[i].text) == 0,
           "Ruby's String#to_i");
    }
}


/* meta of page and limit (NULL: absent) over count, or the error */
static void
is_meta(const char *page, const char *limit, int64_t count,
    const char *expected, const char *name)
{
    char               err[128], meta[CART_SPREE_META_LEN];
    cart_spree_str_t   p, l;
    cart_spree_page_t  out;

    p.data = page;
    p.len = page ? strlen(page) : 0;
    l.data = limit;
    l.len = limit ? strlen(limit) : 0;

    if (cart_spree_paginate(&p, &l, count, &out, err, sizeof(err)) != 0) {
        is_str(err, expected, name);
        return;
    }

    meta[cart_spree_meta(&out, meta)] = '\0';
    is_str(meta, expected, name);
}


static void
test_spree_pages(void)
{
    is_meta(NULL, NULL, 2, "{\"page\":1,\"limit\":25,\"count\":2,\"pages\":1,"
            "\"from\":1,\"to\":2,\"in\":2,\"previous\":null,\"next\":null}",
            "the page's example");
    is_meta(NULL, NULL, 0, "{\"page\":1,\"limit\":25,\"count\":0,\"pages\":1,"
            "\"from\":0,\"to\":0,\"in\":0,\"previous\":null,\"next\":null}",
            "no carts");
    is_meta("1", "25", 26, "{\"page\":1,\"limit\":25,\"count\":26,"
            "\"pages\":2,\"from\":1,\"to\":25,\"in\":25,\"previous\":null,"
            "\"next\":2}", "26 carts, page 1");
    is_meta("2", "25", 26, "{\"page\":2,\"limit\":25,\"count\":26,"
            "\"pages\":2,\"from\":26,\"to\":26,\"in\":1,\"previous\":1,"
            "\"next\":null}", "26 carts, page 2");
    is_meta("12", NULL, 300, "{\"page\":12,\"limit\":25,\"count\":300,"
            "\"pages\":12,\"from\":276,\"to\":300,\"in\":25,\"previous\":11,"
            "\"next\":null}", "300 carts, the last page");
    is_meta("13", NULL, 300, "{\"page\":13,\"limit\":25,\"count\":300,"
            "\"pages\":12,\"from\":0,\"to\":0,\"in\":0,\"previous\":12,"
            "\"next\":null}", "past the last page");
    is_meta("3", NULL, 0, "{\"page\":3,\"limit\":25,\"count\":0,"
            "\"pages\":1,\"from\":0,\"to\":0,\"in\":0,\"previous\":1,"
            "\"next\":null}", "past the last page of none");
    is_meta("1", "500", 101, "{\"page\":1,\"limit\":100,\"count\":101,"
            "\"pages\":2,\"from\":1,\"to\":100,\"in\":100,\"previous\":null,"
            "\"next\":2}", "limit 500 is 100");
    is_meta("1", "12abc", 30, "{\"page\":1,\"limit\":12,\"count\":30,"
            "\"pages\":3,\"from\":1,\"to\":12,\"in\":12,\"previous\":null,"
            "\"next\":2}", "limit 12abc is 12");
    is_meta("99999999999999999999", NULL, 3, "{\"page\":99999999999999999999,"
            "\"limit\":25,\"count\":3,\"pages\":1,\"from\":0,\"to\":0,"
            "\"in\":0,\"previous\":1,\"next\":null}", "a page no int64 holds");
    is_meta("1", "0", 5, "expected :limit >= 1; got 0", "limit 0");
    is_meta("1", "-1", 5, "expected :limit >= 1; got -1", "limit -1");
    is_meta("1", "abc", 5, "expected :limit >= 1; got 0", "limit abc");
    is_meta("1", "", 5, "expected :limit >= 1; got 0", "limit empty");
    is_meta("0", "25", 5, "expected :page >= 1; got 0", "page 0");
    is_meta("-7", NULL, 5, "expected :page >= 1; got -7", "page -7");
    is_meta("x", "0", 5, "expected :limit >= 1; got 0",
            "limit before page");
}


static void
test_spree_sort(void)
{
    size_t               i;
    cart_spree_order_t   o;

    static const struct {
        const char  *sort;
        int          rc;
        int          by;
        int          descending;
    } cases[] = {
        { "created_at", 0, CART_SPREE_BY_CREATED, 0 },
        { "-created_at", 0, CART_SPREE_BY_CREATED, 1 },
        { "updated_at", 0, CART_SPREE_BY_UPDATED, 0 },
        { "-updated_at", 0, CART_SPREE_BY_UPDATED, 1 },
        { "created_at,-updated_at", 0, CART_SPREE_BY_CREATED, 0 },
        { "-created_at,updated_at", 0, CART_SPREE_BY_CREATED, 0 },
        { "-updated_at,", 0, CART_SPREE_BY_UPDATED, 1 },
        { "-created_at ", 0, CART_SPREE_BY_CREATED, 1 },
        { "-created_at x", 0, CART_SPREE_BY_CREATED, 0 },
        { "created_at desc", 0, CART_SPREE_BY_CREATED, 0 },
        { "total", -1, 0, 0 }, { "", -1, 0, 0 }, { ",", -1, 0, 0 },
        { " -created_at", -1, 0, 0 }, { "-", -1, 0, 0 },
        { "CREATED_AT", -1, 0, 0 }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        o.by = CART_SPREE_BY_UPDATED;
        o.descending = 7;

        ok(cart_spree_sort(cases[i].sort, strlen(cases[i].sort), &o)
           == cases[i].rc
           && (cases[i].rc || ((int) o.by == cases[i].by
                               && o.descending == cases[i].descending)),
           cases[i].sort);
    }
}


static void
test_spree_query(void)
{
    char                 buf[512];
    const char          *args;
    cart_spree_query_t   q;
    cart_spree_fields_t  f;

    args = "page=2&limit=5&page=3&sort=-created_at&fields=total%2C+id"
           "&expand=items.variant&other=1";
    cart_spree_query_parse(args, strlen(args), buf, &q);

    ok(q.page.len == 1 && q.page.data[0] == '3', "the last page= wins");
    ok(q.limit.len == 1 && q.limit.data[0] == '5', "limit");
    ok(q.sort.len == 11 && memcmp(q.sort.data, "-created_at", 11) == 0,
       "sort");
    ok(q.fields.len == 9 && memcmp(q.fields.data, "total, id", 9) == 0,
       "fields, %2C and + decoded");

    args = "page&limit=";
    cart_spree_query_parse(args, strlen(args), buf, &q);
    ok(q.page.data == NULL, "page without = is nil");
    ok(q.limit.data && q.limit.len == 0, "limit= is the empty string");

    args = "q%5Bcreated_at_gt%5D=2025-10-20&q[updated_at_lteq]=abc"
           "&q[updated_at_eq]=2025-10-21T10:02:03.5Z&q[total_gt]=5"
           "&q[created_at_gt]=2025-10-19T00:00:00Z";
    cart_spree_query_parse(args, strlen(args), buf, &q);
    ok(q.nconditions == 2, "two conditions: one not an instant, one "
       "not ours");
    ok(q.conditions[0].attribute == CART_SPREE_BY_UPDATED
       && q.conditions[0].predicate == CART_SPREE_EQ
       && q.conditions[0].us == INT64_C(1761040923500000),
       "updated_at_eq, to the microsecond");
    ok(q.conditions[1].attribute == CART_SPREE_BY_CREATED
       && q.conditions[1].predicate == CART_SPREE_GT
       && q.conditions[1].us == INT64_C(1760832000000000),
       "created_at_gt: its last value");
    ok(cart_spree_matches(&q, INT64_C(1760832000000001),
                          INT64_C(1761040923500000)), "matches both");
    ok(!cart_spree_matches(&q, INT64_C(1760832000000000),
                           INT64_C(1761040923500000)), "gt is strict");

    cart_spree_fields(&(cart_spree_str_t) { "total, item_total ", 18 },
                      &(cart_spree_str_t) { "items.variant,none", 18 }, &f);
    ok(cart_spree_keeps(&f, "id", 2) && cart_spree_keeps(&f, "total", 5)
       && cart_spree_keeps(&f, "item_total", 10)
       && cart_spree_keeps(&f, "items", 5)
       && !cart_spree_keeps(&f, "number", 6)
       && !cart_spree_keeps(&f, "items.variant", 13),
       "fields stripped, expand's first segment, id always");

    cart_spree_fields(&(cart_spree_str_t) { " ", 1 },
                      &(cart_spree_str_t) { NULL, 0 }, &f);
    ok(f.all, "blank fields: every member");

    cart_spree_fields(&(cart_spree_str_t) { ",", 1 },
                      &(cart_spree_str_t) { NULL, 0 }, &f);
    ok(!f.all && cart_spree_keeps(&f, "id", 2)
       && !cart_spree_keeps(&f, "total", 5), "fields=, keeps id only");
}


static void
test_spree_cart(void)
{
    char                err[600];
    size_t              i;
    json_t             *cart;
    cart_spree_view_t   view;

    static const struct {
        const char  *json;
        const char  *err;
    } bad[] = {
        { "{\"currency\":\"USD\"}", "cart.id: required" },
        { "{\"id\":\"\",\"currency\":\"USD\"}",
          "cart.id: must be a string of 1 to 64 bytes" },
        { "{\"id\":\"c\",\"currency\":\"USX\"}",
          "cart.currency: not an ISO 4217 currency code" },
        { "{\"id\":\"c\",\"currency\":\"USD\",\"total\":\"10\","
          "\"display_total\":5}", "cart.display_total: must be a string" },
        { "{\"id\":\"c\",\"currency\":\"USD\",\"total\":10,"
          "\"display_total\":\"$10.00\"}",
          "cart.total: not a decimal amount as Spree prints it (like "
          "\"10.0\")" },
        { "{\"id\":\"c\",\"currency\":\"USD\",\"items\":[{\"price\":\"1e3\","
          "\"display_price\":\"$1,000.00\"}]}",
          "cart.items[0].price: not a decimal amount as Spree prints it "
          "(like \"10.0\")" },
        { "{\"id\":\"c\",\"currency\":\"USD\",\"a b\":1}",
          "cart.a b: a member's name must be 1 to 255 of A-Z, a-z, 0-9, "
          "'_', '-'" }
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cart = json_loads(bad[i].json, 0, NULL);
        ok(cart_spree_render(cart, &view, err, sizeof(err)) == -1,
           bad[i].err);
        is_str(err, bad[i].err, "and says so");
        json_decref(cart);
    }

    ok(cart_spree_amount_valid("10.0", 4) && cart_spree_amount_valid("0", 1)
       && cart_spree_amount_valid("-5.5", 4)
       && !cart_spree_amount_valid("10.", 3)
       && !cart_spree_amount_valid(".5", 2)
       && !cart_spree_amount_valid("", 0), "amounts as Spree prints them");

    /* Rails' escaping; the members' places */
    cart = json_loads("{\"id\":\"c\",\"currency\":\"USD\",\"note\":"
                      "\"a<b>&c\\u2028\\u0001\\u00e9\",\"compare_at_amount\":"
                      "null,\"display_compare_at_amount\":\"$0.00\"}", 0,
                      NULL);
    ok(cart_spree_render(cart, &view, err, sizeof(err)) == 0, "a cart");
    is_str(view.json, "{\"id\":\"c\",\"currency\":\"USD\",\"note\":"
           "\"a\\u003cb\\u003e\\u0026c\\u2028\\u0001\xc3\xa9\","
           "\"compare_at_amount\":null,\"display_compare_at_amount\":"
           "\"$0.00\"}", "escaped as Rails escapes");
    ok(view.nmembers == 5 && view.members[2].start == 27
       && view.members[2].name_len == 4
       && memcmp(view.json + view.members[2].start, "\"note\":", 7) == 0
       && view.json[view.members[2].end] == ',',
       "each member's place");
    cart_spree_view_free(&view);
    json_decref(cart);
}


/* big-endian fields, as PostgreSQL sends them */
static size_t
put_be(unsigned char *p, uint64_t v, size_t n)
{
    size_t  i;

    for (i = n; i; i--) {
        p[i - 1] = (unsigned char) (v & 0xff);
        v >>= 8;
    }

    return n;
}


static void
test_pgoutput(void)
{
    size_t              n, len;
    uint64_t            lsn;
    const char         *err;
    unsigned char       buf[256], status[CART_PG_STATUS_LEN];
    char                text[20];
    cart_pg_copy_t      copy;
    cart_pg_message_t   msg;

    static const char   record[] = "{\"kind\":\"device\"}";

    /* XLogData around a Begin */
    n = 0;
    buf[n++] = 'w';
    n += put_be(buf + n, 0x1929778, 8);
    n += put_be(buf + n, 0x19297a8, 8);
    n += put_be(buf + n, 1000, 8);
    buf[n++] = 'B';
    n += put_be(buf + n, 0x1929778, 8);
    n += put_be(buf + n, 817000000000000LL, 8);
    n += put_be(buf + n, 750, 4);

    ok(cart_pg_copy_decode(buf, n, &copy, &err) == 0 && copy.type == 'w'
       && copy.start == 0x1929778 && copy.wal_end == 0x19297a8
       && copy.send_time == 1000 && copy.len == 21,
       "pgoutput: XLogData: its LSNs, clock and data");
    ok(cart_pg_decode(copy.data, copy.len, &msg, &err) == 0
       && msg.type == 'B' && msg.lsn == 0x1929778
       && msg.commit_time == 817000000000000LL && msg.xid == 750,
       "pgoutput: Begin: final LSN, commit time, xid");
    ok(cart_pg_decode(copy.data, copy.len - 1, &msg, &err) == -1
       && strcmp(err, "message too short") == 0,
       "pgoutput: a Begin cut short is refused");

    /* a keepalive that asks for a reply */
    n = 0;
    buf[n++] = 'k';
    n += put_be(buf + n, 0x19297a8, 8);
    n += put_be(buf + n, 2000, 8);
    buf[n++] = 1;
    ok(cart_pg_copy_decode(buf, n, &copy, &err) == 0 && copy.type == 'k'
       && copy.wal_end == 0x19297a8 && copy.reply == 1,
       "pgoutput: a keepalive asking for a reply");
    buf[0] = 'x';
    ok(cart_pg_copy_decode(buf, n, &copy, &err) == -1,
       "pgoutput: another CopyData message is refused");

    /* Commit */
    n = 0;
    buf[n++] = 'C';
    buf[n++] = 0;
    n += put_be(buf + n, 0x1929778, 8);
    n += put_be(buf + n, 0x19297a8, 8);
    n += put_be(buf + n, 817000000000001LL, 8);
    ok(cart_pg_decode(buf, n, &msg, &err) == 0 && msg.type == 'C'
       && msg.lsn == 0x1929778 && msg.end_lsn == 0x19297a8
       && msg.commit_time == 817000000000001LL,
       "pgoutput: Commit: its LSN, the end LSN, commit time");

    /* Relation: public.cart_records (id, record) */
    n = 0;
    buf[n++] = 'R';
    n += put_be(buf + n, 16390, 4);
    memcpy(buf + n, "public\0cart_records\0d", 21);
    n += 21;
    n += put_be(buf + n, 2, 2);
    buf[n++] = 1;
    memcpy(buf + n, "id", 3);
    n += 3;
    n += put_be(buf + n, 20, 4);
    n += put_be(buf + n, 0xffffffff, 4);
    buf[n++] = 0;
    memcpy(buf + n, "record", 7);
    n += 7;
    n += put_be(buf + n, 114, 4);
    n += put_be(buf + n, 0xffffffff, 4);
    ok(cart_pg_decode(buf, n, &msg, &err) == 0 && msg.type == 'R'
       && msg.relid == 16390 && strcmp(msg.nspname, "public") == 0
       && strcmp(msg.relname, "cart_records") == 0 && msg.ncolumns == 2
       && strcmp(msg.columns[1].name, "record") == 0
       && msg.columns[1].type == 114,
       "pgoutput: Relation: names, columns and their types");
    ok(cart_pg_decode(buf, 10, &msg, &err) == -1
       && strcmp(err, "string not terminated") == 0,
       "pgoutput: a name without its NUL is refused");

    /* Insert: (42, the record) */
    n = 0;
    buf[n++] = 'I';
    n += put_be(buf + n, 16390, 4);
    buf[n++] = 'N';
    n += put_be(buf + n, 3, 2);
    buf[n++] = 't';
    n += put_be(buf + n, 2, 4);
    memcpy(buf + n, "42", 2);
    n += 2;
    buf[n++] = 't';
    len = sizeof(record) - 1;
    n += put_be(buf + n, len, 4);
    memcpy(buf + n, record, len);
    n += len;
    buf[n++] = 'n';
    ok(cart_pg_decode(buf, n, &msg, &err) == 0 && msg.type == 'I'
       && msg.relid == 16390 && msg.ncolumns == 3
       && msg.values[0].kind == 't' && msg.values[0].len == 2
       && memcmp(msg.values[0].data, "42", 2) == 0
       && msg.values[1].len == len
       && memcmp(msg.values[1].data, record, len) == 0
       && msg.values[2].kind == 'n',
       "pgoutput: Insert: text values and a null");

    put_be(buf + 16, 0x7fffffff, 4);       /* the record's length */
    ok(cart_pg_decode(buf, n, &msg, &err) == -1
       && strcmp(err, "value longer than the message") == 0,
       "pgoutput: a value longer than the message is refused");
    buf[5] = 'K';
    ok(cart_pg_decode(buf, n, &msg, &err) == -1,
       "pgoutput: an insert without its new tuple is refused");
    buf[5] = 'N';
    put_be(buf + 6, CART_PG_COLUMNS_MAX + 1, 2);
    ok(cart_pg_decode(buf, n, &msg, &err) == -1
       && strcmp(err, "too many columns") == 0,
       "pgoutput: more columns than it keeps is refused");

    /* other messages are named, not decoded */
    buf[0] = 'Y';
    ok(cart_pg_decode(buf, 1, &msg, &err) == 0 && msg.type == 'Y',
       "pgoutput: a Type message is passed over");

    /* the status update */
    cart_pg_status(status, 0x19297a8, 0x19297a8, 0x19297a8, 3000, 0);
    ok(status[0] == 'r' && status[8] == 0xa8 && status[16] == 0xa8
       && status[24] == 0xa8 && status[32] == 0xb8 && status[33] == 0,
       "pgoutput: a standby status update, its three LSNs and clock");

    /* LSNs as PostgreSQL prints them */
    is_str(cart_pg_lsn(text, 0x16b374d848ULL), "16/B374D848",
           "pgoutput: an LSN printed");
    ok(cart_pg_lsn_parse("16/B374D848", &lsn) == 0 && lsn == 0x16b374d848ULL,
       "pgoutput: an LSN read");
    ok(cart_pg_lsn_parse("0/0", &lsn) == 0 && lsn == 0, "pgoutput: 0/0");
    ok(cart_pg_lsn_parse("16/", &lsn) == -1
       && cart_pg_lsn_parse("/1", &lsn) == -1
       && cart_pg_lsn_parse("1/-1", &lsn) == -1
       && cart_pg_lsn_parse("100000000/0", &lsn) == -1
       && cart_pg_lsn_parse("1/2x", &lsn) == -1,
       "pgoutput: what is not an LSN is refused");
}


/* text like a cart's: words from a small set, so that it deflates */
static size_t
gzip_text(unsigned char *p, size_t len, unsigned *seed)
{
    size_t       i, n;
    const char  *w;

    static const char  *words[] = {
        "{\"line_items\":[", "\"price\":{\"currency\":\"USD\",", "\"value\":",
        "19.99}", "\"quantity\":", "\"sku\":\"", "\"},", "\xc3\xa9t\xc3\xa9",
        "\"description\":\"", "Organic cotton tee", "]}", "\\u2028", "0",
        "\"image\":\"https://cdn.example/i/", ".jpg\"", ","
    };

    for (i = 0; i < len; i += n) {
        *seed = *seed * 1103515245 + 12345;
        w = words[(*seed >> 16) % (sizeof(words) / sizeof(words[0]))];
        n = strlen(w) < len - i ? strlen(w) : len - i;

        /* now and then a byte of noise, as ids and prices are */
        memcpy(p + i, w, n);

        if ((*seed >> 8) % 7 == 0) {
            p[i] = (unsigned char) (*seed >> 3);
        }
    }

    return len;
}


/* a gzip stream inflated by zlib's own gzip decoder: its length, or -1 */
static long
gzip_gunzip(const unsigned char *gz, size_t len, unsigned char *out,
    size_t cap)
{
    int       rc;
    long      n;
    z_stream  zs;

    memset(&zs, 0, sizeof(zs));

    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        return -1;
    }

    zs.next_in = (Bytef *) gz;
    zs.avail_in = (uInt) len;
    zs.next_out = out;
    zs.avail_out = (uInt) cap;

    rc = inflate(&zs, Z_FINISH);
    n = (rc == Z_STREAM_END && zs.avail_in == 0) ? (long) zs.total_out : -1;

    inflateEnd(&zs);

    return n;
}


/*
 * The writer's pieces, against libdeflate's and zlib's own output: a
 * view libdeflate makes one block of is that stream, its first bit
 * (BFINAL) cleared, then an empty stored block whose header is in the
 * last byte's padding or in a byte more (both seen); a larger one, which
 * libdeflate makes more blocks of, is zlib's sync-flushed stream.
 */
static void
test_gzip_writer(unsigned char *q, unsigned char *ref, unsigned char *out)
{
    size_t                         k, len, n, in_padding, in_byte, other;
    unsigned                       seed;
    z_stream                       zs;
    unsigned char                 *piece;
    cart_deflated_t                d;
    struct libdeflate_compressor  *c;

    c = libdeflate_alloc_compressor(1);
    in_padding = 0;
    in_byte = 0;
    other = 0;
    seed = 11;

    for (k = 0; k < 300; k++) {
        len = (k * 37) % 6000;
        gzip_text(q, len, &seed);

        piece = cart_gzip_deflate(q, len, &d);
        n = libdeflate_deflate_compress(c, q, len, ref, 1 << 20);
        ref[0] &= ~1;

        if (piece == NULL || n == 0 || d.plain_len != len
            || memcmp(piece, ref, n) != 0
            || cart_gzip_inflate(piece, &d, out) != 0
            || memcmp(out, q, len) != 0)
        {
            other++;

        } else if (d.len == n + 4
                   && memcmp(piece + n, "\0\0\xff\xff", 4) == 0)
        {
            in_padding++;

        } else if (d.len == n + 5
                   && memcmp(piece + n, "\0\0\0\xff\xff", 5) == 0)
        {
            in_byte++;

        } else {
            other++;
        }

        free(piece);
    }

    libdeflate_free_compressor(c);

    printf("# %zu with the stored block's header in the padding, %zu in a "
           "byte more\n", in_padding, in_byte);
    ok(other == 0 && in_padding > 0 && in_byte > 0,
       "gzip: libdeflate's one block made a piece, its end both ways");

    /* 200,000 bytes: libdeflate makes blocks of them, zlib the piece */
    len = gzip_text(q, 200000, &seed);

    c = libdeflate_alloc_compressor(1);
    n = libdeflate_deflate_compress(c, q, len, ref, 1 << 20);
    libdeflate_free_compressor(c);

    ok(n > 0 && !(ref[0] & 1), "gzip: libdeflate makes more than one block "
       "of 200,000 bytes");

    memset(&zs, 0, sizeof(zs));
    deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = q;
    zs.avail_in = (uInt) len;
    zs.next_out = ref;
    zs.avail_out = 1 << 20;
    deflate(&zs, Z_SYNC_FLUSH);
    n = zs.total_out;
    deflateEnd(&zs);

    piece = cart_gzip_deflate(q, len, &d);
    ok(piece && d.len == n && memcmp(piece, ref, n) == 0
       && cart_gzip_inflate(piece, &d, out) == 0
       && memcmp(out, q, len) == 0,
       "gzip: and those are deflated by zlib, sync-flushed");
    free(piece);
}


static void
test_gzip(const char *data)
{
    int               same, all_same, all_inflate;
    size_t            i, k, nparts, plain_len, len, gz_len;
    uint32_t          crc;
    unsigned          seed;
    unsigned char    *plain, *gz, *out, *p, *piece, *q;
    cart_deflated_t   d, bad;

    plain = malloc(4 << 20);
    gz = malloc(4 << 20);
    out = malloc(4 << 20);
    q = malloc(1 << 20);

    /* one view: deflated, a whole piece, inflated back */
    seed = 7;
    len = gzip_text(q, 5000, &seed);
    piece = cart_gzip_deflate(q, len, &d);
    ok(piece != NULL && d.plain_len == 5000 && d.len < 5000 / 2
       && d.crc == crc32(0, q, 5000) && d.crc_op == crc32_combine_gen(5000),
       "gzip: a view deflated, its CRC and its combining operator");
    ok(piece && cart_deflated_valid(piece, &d),
       "gzip: the piece ends with a sync flush");
    ok(piece && cart_gzip_inflate(piece, &d, out) == 0
       && memcmp(out, q, 5000) == 0, "gzip: and inflates back");

    bad = d;
    bad.plain_len--;
    ok(piece && cart_gzip_inflate(piece, &bad, out) != 0,
       "gzip: a piece longer than it says is refused");
    bad.plain_len += 2;
    ok(piece && cart_gzip_inflate(piece, &bad, out) != 0,
       "gzip: a piece shorter than it says is refused");
    bad = d;
    bad.len /= 2;
    ok(piece && cart_gzip_inflate(piece, &bad, out) != 0,
       "gzip: a truncated piece is refused");
    ok(piece && !cart_deflated_valid(piece, &bad),
       "gzip: a truncated piece is not a valid one");
    free(piece);

    /* a whole stream, as gzip ends one, is not a piece */
    {
        uLongf  n = 1 << 20;
        z_stream  zs;

        memset(&zs, 0, sizeof(zs));
        deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = q;
        zs.avail_in = 5000;
        zs.next_out = gz;
        zs.avail_out = (uInt) n;
        deflate(&zs, Z_FINISH);
        bad.len = (uint32_t) zs.total_out;
        bad.plain_len = 5000;
        deflateEnd(&zs);
        ok(cart_gzip_inflate(gz, &bad, out) != 0,
           "gzip: a piece with a final block is refused");
    }

    ok(cart_gzip_deflate(q, CART_VIEW_MAX_LEN + 1, &d) == NULL,
       "gzip: a view over 16 MB is refused");

    test_gzip_writer(q, gz, out);

    /*
     * Answers of 0 to 60 parts, each a deflated view or plain bytes (up
     * to 70,000 of them: two stored blocks), inflate to the parts' bytes
     */
    all_same = 1;
    all_inflate = 1;
    seed = 1;

    for (k = 0; k < 500; k++) {
        seed = seed * 1103515245 + 12345;
        nparts = (seed >> 16) % 61;

        p = gz;
        memcpy(p, cart_gzip_header, CART_GZIP_HEADER_LEN);
        p += CART_GZIP_HEADER_LEN;
        plain_len = 0;
        crc = 0;

        for (i = 0; i < nparts; i++) {
            seed = seed * 1103515245 + 12345;
            len = (seed >> 16) % ((k % 50 == 0 && i == 0) ? 70001 : 6000);
            gzip_text(plain + plain_len, len, &seed);

            if ((seed >> 4) & 1) {
                piece = cart_gzip_deflate(plain + plain_len, len, &d);
                if (piece == NULL) {
                    all_inflate = 0;
                    break;
                }

                if (cart_gzip_inflate(piece, &d, out) != 0
                    || memcmp(out, plain + plain_len, len) != 0)
                {
                    all_inflate = 0;
                }

                memcpy(p, piece, d.len);
                p += d.len;
                crc = cart_gzip_crc_piece(crc, &d);
                free(piece);

            } else {
                p = cart_gzip_stored(p, plain + plain_len, len);
                crc = cart_gzip_crc(crc, plain + plain_len, len);
            }

            plain_len += len;
        }

        p = cart_gzip_end(p, crc, plain_len);
        gz_len = (size_t) (p - gz);

        same = gzip_gunzip(gz, gz_len, out, 4 << 20) == (long) plain_len
               && memcmp(out, plain, plain_len) == 0;

        if (!same && all_same) {
            printf("# answer %zu of %zu parts does not gunzip\n", k,
                   nparts);
        }

        all_same &= same;
    }

    ok(all_same, "gzip: 500 answers of 0 to 60 parts gunzip to their bytes");
    ok(all_inflate, "gzip: and every deflated part inflates on its own");

    /* a record of a store that keeps its views plain, and of one without */
    {
        char              *view;
        size_t             view_len;
        json_t              *line;
        cart_entry_t        *v1;
        cart_record_t        rec;
        cart_cart_rec_t      c;
        cart_cart_v1_rec_t   c1;
        char                 err[600];

        /* the first cart of the base fixture */
        snprintf(err, sizeof(err), "%s/base.ndjson", data);
        view = slurp(err);
        line = view ? json_loads(strstr(view, "{\"kind\":\"cart\""),
                                 JSON_DISABLE_EOF_CHECK, NULL)
                    : NULL;
        free(view);

        for (k = 0; k < 2; k++) {
            cart_record_keep_plain((int) k);
            memset(&rec, 0, sizeof(rec));
            view = NULL;

            v1 = &rec.index[0];

            /* its V1 view: the entry in carts_v1 under the same key */
            same = line && cart_record_from_json(line, &rec, err,
                                                 sizeof(err)) == 0
                   && cart_cart_rec_read(rec.value, rec.value_len, &c) == 0
                   && (c.v2.flags == (k ? CART_DEFLATED_PLAIN : 0))
                   && rec.value_len == sizeof(c) + c.v2.len
                                       + (k ? c.v2.plain_len : 0)
                   && rec.nindex == 1 && v1->db == CART_DB_CARTS_V1
                   && v1->key_len == rec.key_len
                   && memcmp(v1->key, rec.key, rec.key_len) == 0
                   && cart_cart_v1_rec_read(v1->value, v1->value_len, &c1)
                      == 0
                   && (c1.v1.flags == (k ? CART_DEFLATED_PLAIN : 0))
                   && c1.expires_at_ms == c.expires_at_ms
                   && v1->value_len == sizeof(c1) + c1.v1.len
                                       + (k ? c1.v1.plain_len : 0)
                   && rec.kind->view(v1->value, v1->value_len, 1, &view,
                                     &view_len) == 0
                   && view_len == c1.v1.plain_len
                   && strncmp(view, "{\"", 2) == 0;

            ok(same, k ? "gzip: a record keeps its views plain after the "
                         "deflated bytes, when told"
                       : "gzip: a record holds its views deflated only");
            if (!same) {
                printf("# %s\n", err);
            }

            free(view);

            /* a flag the reader does not know: the record is corrupt */
            if (k && rec.value) {
                c.v2.flags |= 0x10;
                memcpy(rec.value, &c, sizeof(c));
                c1.v1.flags |= 0x10;
                memcpy((void *) v1->value, &c1, sizeof(c1));
                ok(cart_cart_rec_read(rec.value, rec.value_len, &c) != 0
                   && cart_cart_v1_rec_read(v1->value, v1->value_len, &c1)
                      != 0,
                   "gzip: a view of an unknown flag is refused");
            }

            cart_record_free(&rec);
        }

        cart_record_keep_plain(0);
        json_decref(line);
    }

    p = cart_gzip_stored(gz, plain, 70000);
    ok(p - gz == 70000 + 10 && gz[0] == 0 && gz[1] == 0xff && gz[2] == 0xff
       && gz[65540] == 0 && gz[65541] == (70000 - 65535) % 256,
       "gzip: 70,000 plain bytes are two stored blocks");

    free(plain);
    free(gz);
    free(out);
    free(q);
}


int
main(int argc, char **argv)
{
    const char  *keys, *data;

    keys = argc > 1 ? argv[1] : "t/keys";
    data = argc > 2 ? argv[2] : "t/data";

    test_money();
    test_time();
    test_base64url();
    test_jwt(keys);
    test_query();
    test_keys();
    test_views(data);
    test_json(data);
    test_ruby_to_i();
    test_spree_pages();
    test_spree_sort();
    test_spree_query();
    test_spree_cart();
    test_pgoutput();
    test_gzip(data);

    printf("1..%d\n", test_count);

    return test_failed ? 1 : 0;
}
