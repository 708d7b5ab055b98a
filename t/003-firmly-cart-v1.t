# GET /api/v1/domains/{domain}/cart (reference page 004)

use Test::Nginx::Socket 'no_plan';

repeat_each(2);
use lib 't/lib';
use CartTest;

firmly_setup("$DATA/base.ndjson");

($body{v1_page002} = slurp("$DATA/page-002-cart.v1.json")) =~ s/\n$//;

sub empty_v1 {
    my ($domain, $name) = @_;
    my $zero = '{"currency":"USD","value":0,"symbol":"$","number":0}';
    return qq({"cart_discount":$zero,"display_name":"$name","line_items":[],)
           . qq("notice":[],"payment_method_options":[],)
           . qq("platform_id":"shopify","shipping_total":$zero,)
           . qq("shop_id":"$domain","sub_total":$zero,"tax":$zero,)
           . qq("total":$zero});
}

$body{empty_demo} = empty_v1('demo.luma.gift', 'Luma Demo');
$body{empty_shop} = empty_v1('shop.luma.gift', 'Luma Shop');
$body{empty_staging} = empty_v1('staging.luma.gift', 'Luma Store');
$body{missing} = error_body(400, 'MissingAuthHeader',
                            'x-firmly-authorization header is required');
$body{invalid} = error_body(400, 'InvalidJWTToken', 'The JWT token is invalid');
$body{unavailable} = error_body(503, 'ErrorStoreUnavailable',
                                'Store temporarily unavailable');
$body{bad_fast_mode} = error_body(400, 'InvalidRequest',
                                  'fast_mode must be true or false');

# a V1 record the module cannot read: the cart's V2 record in its place;
# and a cart of a writer that left its V1 record out ($DEV_B at demo)
$ENV{TEST_NGINX_BAD_V1_STORE} = store("$ENV{TEST_NGINX_TMP}/bad-v1",
                                      "$DATA/base.ndjson");
put_records($ENV{TEST_NGINX_BAD_V1_STORE}, 'carts_v1',
            "$DEV_A\0staging.luma.gift" =>
            get_record($ENV{TEST_NGINX_BAD_V1_STORE}, 'carts',
                       "$DEV_A\0staging.luma.gift"));
put_records($ENV{TEST_NGINX_BAD_V1_STORE}, 'carts',
            "$DEV_B\0demo.luma.gift" =>
            get_record($ENV{TEST_NGINX_BAD_V1_STORE}, 'carts',
                       "$DEV_B\0staging.luma.gift"));

run_tests();

__DATA__

=== TEST 1: the V1 view of the page 002 cart: page 004's keys, in order
--- request
GET /api/v1/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body eval
$::body{v1_page002}
--- response_headers_like
Content-Type: application/json
Cache-Control: private, no-cache
ETag: "[0-9a-f]{16}"



=== TEST 2: fast_mode=true and false serve the same; anything else: 400
--- request eval
["GET /api/v1/domains/staging.luma.gift/cart?fast_mode=true",
 "GET /api/v1/domains/staging.luma.gift/cart?fast_mode=false",
 "GET /api/v1/domains/staging.luma.gift/cart?fast_mode=yes",
 "GET /api/v1/domains/staging.luma.gift/cart?fast_mode="]
--- more_headers eval
["x-firmly-authorization: $::tok{a}", "x-firmly-authorization: $::tok{a}",
 "x-firmly-authorization: $::tok{a}", "x-firmly-authorization: $::tok{a}"]
--- error_code eval
[200, 200, 400, 400]
--- response_body eval
[$::body{v1_page002}, $::body{v1_page002}, $::body{bad_fast_mode},
 $::body{bad_fast_mode}]



=== TEST 3: no cart yet, an expired cart, an expired session: the empty cart
--- request eval
["GET /api/v1/domains/demo.luma.gift/cart",
 "GET /api/v1/domains/shop.luma.gift/cart",
 "GET /api/v1/domains/staging.luma.gift/cart",
 "GET /api/v1/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{b}", "x-firmly-authorization: $::tok{a}",
 "x-firmly-authorization: $::tok{old}",
 "x-firmly-authorization: $::tok{unknown}"]
--- response_body eval
[$::body{empty_demo}, $::body{empty_shop}, $::body{empty_staging},
 $::body{empty_staging}]



=== TEST 4: a domain the store does not know: 404
--- request
GET /api/v1/domains/unknown.example/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 404
--- response_body chomp
{"code":404,"error":"ErrorCartNotFound","description":"Cart not found"}



=== TEST 5: a domain marked unavailable: 503
--- request
GET /api/v1/domains/closed.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 503
--- response_body eval
$::body{unavailable}



=== TEST 6: missing or invalid token: 400
--- request eval
["GET /api/v1/domains/staging.luma.gift/cart",
 "GET /api/v1/domains/staging.luma.gift/cart",
 "GET /api/v1/domains/staging.luma.gift/cart",
 "GET /api/v1/domains/staging.luma.gift/cart"]
--- more_headers eval
["", "x-firmly-authorization: garbage",
 "x-firmly-authorization: $::tok{expired}",
 "x-firmly-authorization: $::tok{confused}"]
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[$::body{missing}, $::body{invalid}, $::body{invalid}, $::body{invalid}]



=== TEST 7: a store that is not there: 503
--- http_config eval
"cart_store $ENV{TEST_NGINX_TMP}/nothing-here;
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- request
GET /api/v1/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 503
--- response_body eval
$::body{unavailable}



=== TEST 8: ETag and 304, for a cart and for the empty cart
--- init
my @auth = ('x-firmly-authorization' => $CartTest::tok{a});
for my $domain (qw(staging.luma.gift shop.luma.gift)) {
    my $path = "/api/v1/domains/$domain/cart";
    my (undef, undef, $head) = CartTest::http_get($path, @auth);
    my ($etag) = $head =~ /^ETag: ("[0-9a-f]{16}")\r?$/mi;
    my ($status, $body) = CartTest::http_get($path, @auth,
                                             'If-None-Match' => $etag);
    Test::More::is("$status $body", "304 ", "TEST 8 - 304 for $domain");
}
--- request
GET /api/v1/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}\nIf-None-Match: \"0000000000000000\""
--- response_body eval
$::body{v1_page002}



=== TEST 9: HEAD and other methods
--- request eval
["HEAD /api/v1/domains/staging.luma.gift/cart",
 "PUT /api/v1/domains/staging.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{a}", "x-firmly-authorization: $::tok{a}"]
--- error_code eval
[200, 405]
--- response_headers eval
["Content-Length: " . length($::body{v1_page002}), "Allow: GET, HEAD"]
--- response_body eval
["", '{"code":405,"error":"MethodNotAllowed","description":"Only GET and HEAD are allowed"}']



=== TEST 10: with no token and a bad fast_mode, the missing token comes first
--- request eval
["GET /api/v1/domains/staging.luma.gift/cart?fast_mode=yes",
 "GET /api/v1/domains/staging.luma.gift/cart?fast_mode=yes",
 "GET /api/v1/domains/bad%20domain/cart?fast_mode=yes"]
--- more_headers eval
["", "x-firmly-authorization: $::tok{expired}",
 "x-firmly-authorization: $::tok{a}"]
--- error_code eval
[400, 400, 400]
--- response_body eval
[$::body{missing}, $::body{invalid},
 '{"code":400,"error":"InvalidDomain","description":"The domain is not a valid domain name"}']



=== TEST 11: a V1 record the store cannot read: the API's 500, logged
--- http_config eval
"cart_store $ENV{TEST_NGINX_BAD_V1_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- request
GET /api/v1/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 500
--- response_body chomp
{"code":500,"error":"InternalServerError","description":"Internal server error"}
--- error_log eval
qr/corrupt cart V1 record "\Q$CartTest::DEV_A\E\/staging\.luma\.gift" left out/



=== TEST 12: a cart without its V1 record: no V1 view, the domain's empty cart (V2 has the cart)
--- http_config eval
"cart_store $ENV{TEST_NGINX_BAD_V1_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- request eval
["GET /api/v1/domains/demo.luma.gift/cart",
 "GET /api/v2/domains/demo.luma.gift/cart"]
--- more_headers eval
["x-firmly-authorization: $::tok{b}", "x-firmly-authorization: $::tok{b}"]
--- error_code eval
[200, 200]
--- response_body_like eval
["^\Q$::body{empty_demo}\E\$", '^\{"cart_id":']
