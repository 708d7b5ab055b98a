# Authentication of the firmly routes: the device token (x-firmly-
# authorization, RFC 7519 as RFC 7515 and RFC 8725 ask), its keys and
# claims, the caches of verified and rejected tokens, and the
# server-to-server variant (a shared secret and x-firmly-device-id).
# Against the V2 cart (page 002) unless a block says otherwise.

use Test::Nginx::Socket 'no_plan';

repeat_each(2);
check_accum_error_log();
use lib 't/lib';
use CartTest;

firmly_setup("$DATA/base.ndjson", "$DATA/active.ndjson");

$body{missing} = error_body(400, 'MissingAuthHeader',
                            'x-firmly-authorization header is required');
$body{invalid} = error_body(401, 'InvalidJWTToken', 'The JWT token is invalid');

my $rs = "$KEYS/rs256.key";
my $exp = time + 3600;
my %claims = (device_id => $DEV_A, app_id => 'test', iat => $exp - 3600,
              exp => $exp);

%tok = (%tok,
    crit => jwt('RS256', $rs, \%claims,
                { alg => 'RS256', typ => 'JWT', crit => ['b64'], b64 => 1 }),
    at_jwt => jwt('RS256', $rs, \%claims, { alg => 'RS256', typ => 'at+jwt' }),
    typ_lower => jwt('RS256', $rs, \%claims, { alg => 'RS256', typ => 'jwt' }),
    kid_new => jwt('RS256', $rs, \%claims, { alg => 'RS256', kid => 'new' }),
    kid_old => jwt('RS256', $rs, \%claims, { alg => 'RS256', kid => 'old' }),
    kid_gone => jwt('RS256', $rs, \%claims, { alg => 'RS256', kid => 'gone' }),
    bad_sig => jwt('RS256', "$KEYS/rs256-other.key",
                   { %claims, jti => 'one bad token' }),
);

$ENV{TEST_NGINX_KEYS} = $KEYS;
our $SECRET = slurp("$KEYS/device.secret") =~ s/\n$//r;
our $SECRET_TWO = slurp("$KEYS/device-other.secret") =~ s/\n$//r;
our $V2_B = stored_cart($DEV_B, 'staging.luma.gift');

run_tests();

__DATA__

=== TEST 1: a "Bearer " prefix is accepted
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: Bearer $::tok{a}"
--- response_body eval
$::body{v2_page002}



=== TEST 2: missing header: 400 MissingAuthHeader
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- error_code: 400
--- response_body eval
$::body{missing}
--- response_headers
Content-Type: application/json
Cache-Control: private, no-cache
!ETag



=== TEST 3: empty header: 400 MissingAuthHeader
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers
x-firmly-authorization:
--- error_code: 400
--- response_body eval
$::body{missing}



=== TEST 4: signed by another key: 401 InvalidJWTToken
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{other_key}"
--- error_code: 401
--- response_body eval
$::body{invalid}
--- error_log
token rejected



=== TEST 5: HS256 signed with the RSA public key (alg confusion): 401
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{confused}"
--- error_code: 401
--- response_body eval
$::body{invalid}



=== TEST 6: alg none: 401
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{none}"
--- error_code: 401
--- response_body eval
$::body{invalid}



=== TEST 7: expired token: 401
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{expired}"
--- error_code: 401
--- response_body eval
$::body{invalid}



=== TEST 8: a token without exp: 401
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{no_exp}"
--- error_code: 401
--- response_body eval
$::body{invalid}



=== TEST 9: garbage tokens: 401
--- request eval
["GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: garbage",
 "x-firmly-authorization: a.b.c",
 "x-firmly-authorization: " . ("A" x 8000),
 "x-firmly-authorization: " . substr($::tok{a}, 0, -5)]
--- error_code eval
[401, 401, 401, 401]
--- response_body eval
[$::body{invalid}, $::body{invalid}, $::body{invalid}, $::body{invalid}]



=== TEST 10: no device claim, or one that is not a device id: 401
--- request eval
["GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{no_device}",
 "x-firmly-authorization: $::tok{bad_device}"]
--- error_code eval
[401, 401]
--- response_body eval
[$::body{invalid}, $::body{invalid}]



=== TEST 11: cart_device_jwt_claim names the device claim
--- http_config eval
"cart_store $ENV{TEST_NGINX_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;
cart_device_jwt_claim sub;"
--- request eval
["GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{sub}",
 "x-firmly-authorization: $::tok{a}"]
--- error_code eval
[200, 401]
--- response_body eval
[$::body{v2_page002}, $::body{invalid}]



=== TEST 12: HS256 and ES256 keys, and key rotation: each key verifies
--- http_config eval
"cart_store $ENV{TEST_NGINX_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256-other.pub;
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;
cart_device_jwt_key hs256 $CartTest::KEYS/hs256.secret;
cart_device_jwt_key es256 $CartTest::KEYS/es256.pub;"
--- request eval
["GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{a}",
 "x-firmly-authorization: $::tok{other_key}",
 "x-firmly-authorization: $::tok{hs}",
 "x-firmly-authorization: $::tok{es}"]
--- response_body eval
[$::body{v2_page002}, $::body{v2_page002}, $::body{v2_page002}, $::body{v2_page002}]



=== TEST 13: an HS256 key does not verify an RS256 token, nor the reverse
--- http_config eval
"cart_store $ENV{TEST_NGINX_STORE};
cart_device_jwt_key hs256 $CartTest::KEYS/hs256.secret;"
--- request eval
["GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{a}",
 "x-firmly-authorization: $::tok{es}"]
--- error_code eval
[401, 401]



=== TEST 14: two devices never see each other's carts
--- request eval
["GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/demo.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{b}",
 "x-firmly-authorization: $::tok{a}",
 "x-firmly-authorization: $::tok{b}"]
--- error_code eval
[200, 200, 404]
--- response_body_like eval
['^\{"cart_id":"cart_other_b",', '^\{"cart_id":"cart_01H2XVBR8C8JS5MQSFPJ8HF9SA",',
 'ErrorCartNotFound']



=== TEST 15: exp is checked on every request, also for a cached token
--- init
my $token = CartTest::jwt('RS256', "$CartTest::KEYS/rs256.key",
                          { device_id => $CartTest::DEV_A, exp => time + 2 });
my $path = '/api/v2/domains/staging.luma.gift/cart';
Test::More::like(CartTest::http_get($path, 'x-firmly-authorization' => $token),
                 qr/^200 /, "TEST 15 - 200 while the token is valid");
sleep 3;
Test::More::like(CartTest::http_get($path, 'x-firmly-authorization' => $token),
                 qr/^401 /, "TEST 15 - 401 once it has expired, though cached");
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{expired}"
--- error_code: 401
--- response_body eval
$::body{invalid}



=== TEST 16: a crit header parameter: an extension we do not implement, 401
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{crit}"
--- error_code: 401
--- response_body eval
$::body{invalid}
--- error_log
token rejected: crit



=== TEST 17: typ, when present, is JWT in any case: another type is a 401
--- request eval
["GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{at_jwt}",
 "x-firmly-authorization: $::tok{typ_lower}"]
--- error_code eval
[401, 200]
--- response_body eval
[$::body{invalid}, $::body{v2_page002}]



=== TEST 18: kid picks the key when keys have names; a kid no key has, or none, tries them all
--- http_config eval
"cart_store $ENV{TEST_NGINX_STORE};
cart_device_jwt_key rs256 $ENV{TEST_NGINX_KEYS}/rs256-other.pub kid=old;
cart_device_jwt_key rs256 $ENV{TEST_NGINX_KEYS}/rs256.pub kid=new;"
--- request eval
["GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{kid_new}",
 "x-firmly-authorization: $::tok{kid_old}",
 "x-firmly-authorization: $::tok{kid_gone}",
 "x-firmly-authorization: $::tok{a}"]
--- error_code eval
[200, 401, 200, 200]
--- response_body eval
[$::body{v2_page002}, $::body{invalid}, $::body{v2_page002},
 $::body{v2_page002}]



=== TEST 19: a rejected token is remembered: one signature check, however often it comes
--- init
for (1 .. 3) {
    Test::More::is(scalar CartTest::http_get(
                       '/api/v2/domains/staging.luma.gift/cart',
                       'x-firmly-authorization' => $::tok{bad_sig}),
                   "401 $::body{invalid}", "TEST 19 - the bad token, again");
}
my $log = CartTest::error_log_text();
my @checked = $log =~ /token rejected: signature, /g;
my @cached = $log =~ /cart auth: rejected token cached/g;
Test::More::is(scalar @checked, 1, 'TEST 19 - its signature checked once');
Test::More::is(scalar @cached, 2, 'TEST 19 - then answered from the cache');
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{bad_sig}"
--- error_code: 401
--- response_body eval
$::body{invalid}
--- error_log
cart auth: rejected token cached



=== TEST 20: a token not valid yet is refused until its nbf, and then accepted
--- init
my $nbf = time + 2;
my $later = CartTest::jwt('RS256', "$CartTest::KEYS/rs256.key",
                          { device_id => $CartTest::DEV_A, nbf => $nbf,
                            exp => $nbf + 3600 });
my $path = '/api/v2/domains/staging.luma.gift/cart';
Test::More::like(CartTest::http_get($path, 'x-firmly-authorization' => $later),
                 qr/^401 /, 'TEST 20 - 401 before its nbf');
Test::More::like(CartTest::http_get($path, 'x-firmly-authorization' => $later),
                 qr/^401 /, 'TEST 20 - 401 before its nbf, from the cache');
Time::HiRes::sleep(0.2) while time < $nbf;
Test::More::like(CartTest::http_get($path, 'x-firmly-authorization' => $later),
                 qr/^200 /, 'TEST 20 - 200 from its nbf on');
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body eval
$::body{v2_page002}
--- error_log
token rejected: not yet valid



=== TEST 21: a backend names the device in x-firmly-device-id, with the shared secret
--- http_config eval
"cart_store $ENV{TEST_NGINX_STORE};
cart_device_jwt_key rs256 $ENV{TEST_NGINX_KEYS}/rs256.pub;
cart_device_secret $ENV{TEST_NGINX_KEYS}/device.secret;"
--- request eval
["GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::SECRET\nx-firmly-device-id: $CartTest::DEV_A",
 "x-firmly-authorization: $::SECRET\nx-firmly-device-id: $CartTest::DEV_B",
 "x-firmly-authorization: $::SECRET_TWO\nx-firmly-device-id: $CartTest::DEV_A",
 "x-firmly-authorization: $::SECRET",
 "x-firmly-authorization: $::SECRET\nx-firmly-device-id: ../etc/passwd",
 "x-firmly-authorization: $::SECRET\nx-firmly-device-id: " . ('a' x 257),
 "x-firmly-authorization: $::tok{a}\nx-firmly-device-id: $CartTest::DEV_B",
 "x-firmly-device-id: $CartTest::DEV_A"]
--- error_code eval
[200, 200, 401, 401, 401, 401, 200, 400]
--- response_body eval
[$::body{v2_page002}, $::V2_B, $::body{invalid}, $::body{invalid},
 $::body{invalid}, $::body{invalid}, $::body{v2_page002}, $::body{missing}]



=== TEST 22: cart_device_secret may repeat, for rotation
--- http_config eval
"cart_store $ENV{TEST_NGINX_STORE};
cart_device_secret $ENV{TEST_NGINX_KEYS}/device.secret;
cart_device_secret $ENV{TEST_NGINX_KEYS}/device-other.secret;"
--- request eval
["GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::SECRET\nx-firmly-device-id: $CartTest::DEV_A",
 "x-firmly-authorization: $::SECRET_TWO\nx-firmly-device-id: $CartTest::DEV_A",
 "x-firmly-authorization: $::tok{a}"]
--- error_code eval
[200, 200, 401]
--- response_body eval
[$::body{v2_page002}, $::body{v2_page002}, $::body{invalid}]



=== TEST 23: a location without cart_device_secret refuses such a request, as it always did
--- config eval
"location ~ ^/api/v2/domains/([^/]+)/cart\$ {
    cart_api     firmly_cart_v2;
    cart_domain  \$1;
}
location /backend/ {
    cart_device_secret $ENV{TEST_NGINX_KEYS}/device.secret;

    location ~ ^/backend/api/v2/domains/([^/]+)/cart\$ {
        cart_api     firmly_cart_v2;
        cart_domain  \$1;
    }
}"
--- request eval
["GET /api/v2/domains/staging.luma.gift/cart",
 "GET /backend/api/v2/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::SECRET\nx-firmly-device-id: $CartTest::DEV_A",
 "x-firmly-authorization: $::SECRET\nx-firmly-device-id: $CartTest::DEV_A"]
--- error_code eval
[401, 200]
--- response_body eval
[$::body{invalid}, $::body{v2_page002}]



=== TEST 24: every firmly route takes the secret, with its own error bodies
--- http_config eval
"cart_store $ENV{TEST_NGINX_STORE};
cart_device_jwt_key rs256 $ENV{TEST_NGINX_KEYS}/rs256.pub;
cart_device_secret $ENV{TEST_NGINX_KEYS}/device.secret;"
--- request eval
["GET /api/v1/domains/staging.luma.gift/cart",
 "GET /api/v2/carts/active-domains",
 "GET /api/v2/carts/active",
 "GET /api/v1/domains/staging.luma.gift/cart",
 "GET /api/v2/carts/active-domains",
 "GET /api/v2/carts/active"]
--- more_headers eval
["x-firmly-authorization: $::SECRET\nx-firmly-device-id: $CartTest::DEV_A",
 "x-firmly-authorization: $::SECRET\nx-firmly-device-id: $CartTest::DEV_A",
 "x-firmly-authorization: $::SECRET\nx-firmly-device-id: $CartTest::DEV_B",
 "x-firmly-authorization: $::SECRET_TWO\nx-firmly-device-id: $CartTest::DEV_A",
 "x-firmly-authorization: $::SECRET_TWO\nx-firmly-device-id: $CartTest::DEV_A",
 "x-firmly-authorization: $::SECRET_TWO\nx-firmly-device-id: $CartTest::DEV_A"]
--- error_code eval
[200, 200, 200, 400, 401, 401]
--- response_body eval
[CartTest::stored_cart($CartTest::DEV_A, 'staging.luma.gift', '--v1'),
 '{"domains":["demo.luma.gift","staging.luma.gift"]}',
 '{"domains":["staging.luma.gift"],"carts":[' . $::V2_B . ']}',
 CartTest::error_body(400, 'InvalidJWTToken', 'The JWT token is invalid'),
 CartTest::error_body(401, 'Unauthorized',
                      'Invalid or missing device authentication'),
 CartTest::error_body(401, 'InvalidToken', 'JWT token is invalid')]
