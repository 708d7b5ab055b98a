# GET /api/v2/domains/{domain}/cart (reference page 002)

use Test::Nginx::Socket 'no_plan';

repeat_each(2);
use lib 't/lib';
use CartTest;

firmly_setup("$DATA/base.ndjson");

$body{missing} = error_body(400, 'MissingAuthHeader',
                            'x-firmly-authorization header is required');
$body{invalid} = error_body(401, 'InvalidJWTToken', 'The JWT token is invalid');
$body{not_found} = error_body(404, 'ErrorCartNotFound', 'Cart not found');
$body{unavailable} = error_body(422, 'ErrorStoreUnavailable',
                                'Store service unavailable');

# a domain record that does not decode: the cart route's 500, in JSON
$ENV{TEST_NGINX_BAD_DOMAIN_STORE} = store("$ENV{TEST_NGINX_TMP}/bad-domain",
                                          "$DATA/base.ndjson");
put_records($ENV{TEST_NGINX_BAD_DOMAIN_STORE}, 'domains',
            'staging.luma.gift' => 'not a domain record');

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



=== TEST 2: unknown domain, expired cart, expired device session: 404
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



=== TEST 3: a domain marked unavailable: 422 ErrorStoreUnavailable
--- request
GET /api/v2/domains/closed.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 422
--- response_body eval
$::body{unavailable}
--- raw_response_headers_like chomp
^HTTP/1.1 422 Unprocessable Entity\r\n



=== TEST 4: domains are case-insensitive; a malformed one is a 400
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



=== TEST 5: If-None-Match with the ETag (strong or weak): 304; else 200
--- init
my @auth = ('x-firmly-authorization' => $CartTest::tok{a});
my $path = '/api/v2/domains/staging.luma.gift/cart';
my (undef, undef, $head) = CartTest::http_get($path, @auth);
my ($etag) = $head =~ /^ETag: ("[0-9a-f]{16}")\r?$/mi;
for my $inm ($etag, "W/$etag", "\"0000000000000000\", $etag") {
    my ($status, $body, $h) = CartTest::http_get($path, @auth,
                                                 'If-None-Match' => $inm);
    Test::More::is("$status $body", "304 ", "TEST 5 - 304 for $inm");
    Test::More::like($h, qr/^ETag: \Q$etag\E\r?$/mi,
                     "TEST 5 - the 304 carries the ETag");
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



=== TEST 6: HEAD: the headers of GET, no body
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



=== TEST 7: other methods: 405 with Allow and the API's error body
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



=== TEST 8: $cart_device_id and $cart_domain
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



=== TEST 9: a record the store cannot read: the API's 500, in JSON
--- http_config eval
"cart_store $ENV{TEST_NGINX_BAD_DOMAIN_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 500
--- response_headers
Content-Type: application/json
Cache-Control: private, no-cache
--- response_body chomp
{"code":500,"error":"InternalServerError","description":"Internal server error"}
--- error_log
corrupt domain record "staging.luma.gift" left out



=== TEST 10: "etag off": no ETag, and the cart's ETag is no reason for a 304
--- config
location ~ ^/api/v2/domains/([^/]+)/cart$ {
    cart_api     firmly_cart_v2;
    cart_domain  $1;
    etag         off;
}
location ~ ^/on/api/v2/domains/([^/]+)/cart$ {
    cart_api     firmly_cart_v2;
    cart_domain  $1;
}
--- init
my @auth = ('x-firmly-authorization' => $CartTest::tok{a});
my (undef, undef, $head) =
    CartTest::http_get('/on/api/v2/domains/staging.luma.gift/cart', @auth);
my ($etag) = $head =~ /^ETag: ("[0-9a-f]{16}")\r?$/mi;
my ($status, undef, $h) =
    CartTest::http_get('/api/v2/domains/staging.luma.gift/cart', @auth,
                       'If-None-Match' => $etag);
Test::More::is($status, 200, 'TEST 10 - 200 for the ETag the cart has');
Test::More::unlike($h, qr/^ETag:/mi, 'TEST 10 - and no ETag');
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_headers
!ETag
--- response_body eval
$::body{v2_page002}
