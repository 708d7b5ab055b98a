# GET /api/v2/domains/{domain}/cart (reference page 002)

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use CartTest;

firmly_setup("$DATA/base.ndjson");

$body{missing} = error_body(400, 'MissingAuthHeader',
                            'x-firmly-authorization header is required');
$body{invalid} = error_body(401, 'InvalidJWTToken', 'The JWT token is invalid');
$body{not_found} = error_body(404, 'ErrorCartNotFound', 'Cart not found');
$body{unavailable} = error_body(422, 'ErrorStoreUnavailable',
                                'Store service unavailable');

run_tests();

__DATA__

=== TEST 1: the page 002 example comes back byte for byte, in key order
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body eval
$::body{v2_page002}
--- response_headers_like
Content-Type: application/json
Cache-Control: private, no-cache
ETag: "[0-9a-f]{16}"
--- no_error_log
[error]



=== TEST 2: a "Bearer " prefix is accepted
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: Bearer $::tok{a}"
--- response_body eval
$::body{v2_page002}



=== TEST 3: missing header: 400 MissingAuthHeader
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- error_code: 400
--- response_body eval
$::body{missing}
--- response_headers
Content-Type: application/json
Cache-Control: private, no-cache
!ETag



=== TEST 4: empty header: 400 MissingAuthHeader
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers
x-firmly-authorization:
--- error_code: 400
--- response_body eval
$::body{missing}



=== TEST 5: signed by another key: 401 InvalidJWTToken
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{other_key}"
--- error_code: 401
--- response_body eval
$::body{invalid}
--- error_log
token rejected



=== TEST 6: HS256 signed with the RSA public key (alg confusion): 401
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{confused}"
--- error_code: 401
--- response_body eval
$::body{invalid}



=== TEST 7: alg none: 401
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{none}"
--- error_code: 401
--- response_body eval
$::body{invalid}



=== TEST 8: expired token: 401
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{expired}"
--- error_code: 401
--- response_body eval
$::body{invalid}



=== TEST 9: a token without exp: 401
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{no_exp}"
--- error_code: 401
--- response_body eval
$::body{invalid}



=== TEST 10: garbage tokens: 401
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



=== TEST 11: no device claim, or one that is not a device id: 401
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



=== TEST 12: cart_device_jwt_claim names the device claim
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



=== TEST 13: HS256 and ES256 keys, and key rotation: each key verifies
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



=== TEST 14: an HS256 key does not verify an RS256 token, nor the reverse
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



=== TEST 15: two devices never see each other's carts
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



=== TEST 16: unknown domain, expired cart, expired device session: 404
--- request eval
["GET /api/v2/domains/unknown.example/cart",
 "GET /api/v2/domains/shop.luma.gift/cart",
 "GET /api/v2/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{a}",
 "x-firmly-authorization: $::tok{a}",
 "x-firmly-authorization: $::tok{old}"]
--- error_code eval
[404, 404, 404]
--- response_body eval
[$::body{not_found}, $::body{not_found}, $::body{not_found}]



=== TEST 17: a domain marked unavailable: 422 ErrorStoreUnavailable
--- request
GET /api/v2/domains/closed.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 422
--- response_body eval
$::body{unavailable}
--- raw_response_headers_like chomp
^HTTP/1.1 422 Unprocessable Entity\r\n



=== TEST 18: domains are case-insensitive; a malformed one is a 400
--- request eval
["GET /api/v2/domains/Staging.LUMA.gift/cart",
 "GET /api/v2/domains/bad%20domain/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{a}",
 "x-firmly-authorization: $::tok{a}"]
--- error_code eval
[200, 400]
--- response_body eval
[$::body{v2_page002},
 '{"code":400,"error":"InvalidDomain","description":"The domain is not a valid domain name"}']



=== TEST 19: If-None-Match with the ETag (strong or weak): 304; else 200
--- init
my @auth = ('x-firmly-authorization' => $CartTest::tok{a});
my $path = '/api/v2/domains/staging.luma.gift/cart';
my (undef, undef, $head) = CartTest::http_get($path, @auth);
my ($etag) = $head =~ /^ETag: ("[0-9a-f]{16}")\r?$/mi;
for my $inm ($etag, "W/$etag", "\"0000000000000000\", $etag") {
    my ($status, $body, $h) = CartTest::http_get($path, @auth,
                                                 'If-None-Match' => $inm);
    Test::More::is("$status $body", "304 ", "TEST 19 - 304 for $inm");
    Test::More::like($h, qr/^ETag: \Q$etag\E\r?$/mi,
                     "TEST 19 - the 304 carries the ETag");
}
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}\nIf-None-Match: \"0000000000000000\""
--- response_headers_like
ETag: "[0-9a-f]{16}"
Cache-Control: private, no-cache
--- response_body eval
$::body{v2_page002}



=== TEST 20: HEAD: the headers of GET, no body
--- request
HEAD /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_headers_like
Content-Type: application/json
Content-Length: 2989
ETag: "[0-9a-f]{16}"
--- response_body eval
""



=== TEST 21: other methods: 405 with Allow and the API's error body
--- request
POST /api/v2/domains/staging.luma.gift/cart
{"x":1}
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 405
--- response_headers
Allow: GET, HEAD
Content-Type: application/json
--- response_body chomp
{"code":405,"error":"MethodNotAllowed","description":"Only GET and HEAD are allowed"}



=== TEST 22: $cart_device_id and $cart_domain
--- config
location ~ ^/api/v2/domains/([^/]+)/cart$ {
    cart_api     firmly_cart_v2;
    cart_domain  $1;
    add_header   X-Device $cart_device_id;
    add_header   X-Domain $cart_domain;
}
--- request
GET /api/v2/domains/Demo.Luma.Gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_headers eval
"X-Device: $CartTest::DEV_A\nX-Domain: demo.luma.gift"



=== TEST 23: exp is checked on every request, also for a cached token
--- init
my $token = CartTest::jwt('RS256', "$CartTest::KEYS/rs256.key",
                          { device_id => $CartTest::DEV_A, exp => time + 2 });
my $path = '/api/v2/domains/staging.luma.gift/cart';
Test::More::like(CartTest::http_get($path, 'x-firmly-authorization' => $token),
                 qr/^200 /, "TEST 23 - 200 while the token is valid");
sleep 3;
Test::More::like(CartTest::http_get($path, 'x-firmly-authorization' => $token),
                 qr/^401 /, "TEST 23 - 401 once it has expired, though cached");
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{expired}"
--- error_code: 401
--- response_body eval
$::body{invalid}
