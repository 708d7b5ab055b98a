# What nginx itself answers under /api/ with conf/cart_api.conf: a route
# the module does not serve, a body, URI or header too large, a malformed
# request; in the API's words there, and nginx's own pages elsewhere.

use Test::Nginx::Socket 'no_plan';

repeat_each(2);
use lib 't/lib';
use CartTest;

firmly_setup("$DATA/base.ndjson");

our $LONG = 'a' x 3000;
our $BIG = 'b' x 1500;

$ENV{TEST_NGINX_KEY} = "$KEYS/rs256.pub";

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', <<_EOC_) if !defined $block->http_config;
    cart_store $ENV{TEST_NGINX_STORE};
    cart_device_jwt_key rs256 $ENV{TEST_NGINX_KEY};
    client_header_buffer_size 1k;
    large_client_header_buffers 2 1k;
_EOC_

    $block->set_value('config', <<_EOC_);
    include $ENV{TEST_NGINX_API_CONF};
    location /site/ { return 200 'site'; }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: a path under /api/ that the module does not serve: 404 in firmly's words
--- request eval
["GET /api/v2/carts/active/more", "GET /api/v3/nothing", "HEAD /api/v2/nope"]
--- error_code eval
[404, 404, 404]
--- response_headers eval
["Content-Type: application/json\nCache-Control: private, no-cache",
 "Content-Type: application/json",
 "Content-Type: application/json"]
--- response_body eval
['{"code":404,"error":"NotFound","description":"No such route"}',
 '{"code":404,"error":"NotFound","description":"No such route"}', '']



=== TEST 2: a body over client_max_body_size (30M in the test server): 413 in firmly's words
--- request eval
"GET /api/v2/carts/active\n" . ('x' x (30 * 1024 * 1024 + 1))
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body chomp
{"code":413,"error":"PayloadTooLarge","description":"The request body is too large"}



=== TEST 3: a URI too long: 414 in firmly's words under /api/, nginx's page elsewhere
--- request eval
["GET /api/v2/domains/$::LONG/cart", "GET /site/$::LONG"]
--- error_code eval
[414, 414]
--- response_headers eval
["Content-Type: application/json", "Content-Type: text/html"]
--- response_body_like eval
['^\{"code":414,"error":"URITooLong","description":"The request URI is too long"\}$',
 '<title>414 Request-URI Too Large</title>']



=== TEST 4: a header too large: 400 in firmly's words under /api/, nginx's page elsewhere
--- request eval
["GET /api/v2/carts/active", "GET /site/"]
--- more_headers eval
["x-big: $::BIG", "x-big: $::BIG"]
--- error_code eval
[400, 400]
--- response_headers eval
["Content-Type: application/json", "Content-Type: text/html"]
--- response_body_like eval
['^\{"code":400,"error":"InvalidRequest","description":"A request header or cookie is too large"\}$',
 '<title>400 Request Header Or Cookie Too Large</title>']



=== TEST 5: a malformed header, or request line: 400 in firmly's words under /api/, nginx's page elsewhere
--- request eval
["GET /api/v2/carts/active", "GET /api/v2/carts/active%00",
 "GET /api/v2/carts/active-domains", "GET /site/"]
--- more_headers eval
["bad header: x", "", "bad header: x", "bad header: x"]
--- error_code eval
[400, 400, 400, 400]
--- response_headers eval
["Content-Type: application/json", "Content-Type: application/json",
 "Content-Type: application/json", "Content-Type: text/html"]
--- response_body_like eval
['^\{"code":400,"error":"InvalidRequest","description":"The request is malformed"\}$',
 '^\{"code":400,"error":"InvalidRequest","description":"The request is malformed"\}$',
 '^\{"code":400,"error":"InvalidRequest","description":"The request is malformed"\}$',
 '<title>400 Bad Request</title>']



=== TEST 6: the error pages are internal: asked for directly, they are not there
--- request
GET /.cart-error/400
--- error_code: 404
--- response_body_like chomp
<title>404 Not Found</title>



=== TEST 7: the routes answer as ever inside /api/, and other locations answer too
--- request eval
["GET /api/v2/carts/active-domains", "GET /site/"]
--- more_headers eval
["x-firmly-authorization: $::tok{a}", ""]
--- response_body eval
['{"domains":["demo.luma.gift","staging.luma.gift"]}', 'site']
