# Answers compressed at write time (issue 14): a client that accepts gzip
# gets the stored deflated views as they are, in a gzip stream, with
# Content-Encoding, Vary and an ETag of its own; any other client the
# plain JSON.  Accept-Encoding as nginx's own gzip reads it, HEAD, 304 for
# both encodings, nginx's gzip filter and gzip_vary alongside, and what is
# not compressed (errors, the active domains, Spree's fields).

use Test::Nginx::Socket 'no_plan';

repeat_each(2);

use lib 't/lib';
use CartTest;
use SpreeTest;
use IO::Uncompress::Gunzip ();

firmly_setup("$DATA/base.ndjson");
spree_setup();

$body{page003} = slurp("$DATA/page-003-carts.json");

# a cart whose views do not inflate: the first block of each of an invalid
# type (after the 56 bytes of cart_cart_rec_t in carts, the V2 view; after
# the 40 of cart_cart_v1_rec_t in carts_v1, the V1 one), framing sound
$ENV{TEST_NGINX_BAD_VIEW_STORE} = store("$ENV{TEST_NGINX_TMP}/bad-view",
                                        "$DATA/base.ndjson");
for (['carts', 56], ['carts_v1', 40]) {
    my ($db, $header) = @$_;
    my $cart = get_record($ENV{TEST_NGINX_BAD_VIEW_STORE}, $db,
                          "$DEV_A\0staging.luma.gift");
    substr($cart, $header, 1) = "\xff";
    put_records($ENV{TEST_NGINX_BAD_VIEW_STORE}, $db,
                "$DEV_A\0staging.luma.gift" => $cart);
}

our $AUTH = "x-firmly-authorization: $tok{a}";
our $SPREE = 'Authorization: Bearer ' . spree_tok(2)
             . "\nx-spree-api-key: $KEY";
our $V2 = '/api/v2/domains/staging.luma.gift/cart';

# what nginx's gzip_http_version and gzip_proxied decide on
our @HTTP10_AND_PROXIED = ("GET $V2 HTTP/1.0", "GET $V2");
our @HTTP10_AND_PROXIED_HEADERS = ("$AUTH\nAccept-Encoding: gzip",
                                   "$AUTH\nAccept-Encoding: gzip\nVia: 1.1 cdn");

# the body gunzipped, or what says it is not gzip
sub gunzipped {
    my $in = shift;
    my $out;
    IO::Uncompress::Gunzip::gunzip(\$in => \$out, Strict => 1)
        or return "not gzip: $IO::Uncompress::Gunzip::GunzipError";
    return $out;
}

# the answer to GET path over HTTP/1.1 (nginx's gzip_http_version)
sub get11 {
    local $CartTest::HttpVersion = '1.1';
    return CartTest::http_get(@_);
}

run_tests();

__DATA__

=== TEST 1: Accept-Encoding: gzip: the stored bytes, gzip, that decompress to the cart
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"$::AUTH\nAccept-Encoding: gzip"
--- response_headers_like
Content-Type: application/json
Content-Encoding: gzip
Vary: Accept-Encoding
ETag: "[0-9a-f]{16}-gzip"
Cache-Control: private, no-cache
--- response_body_filters eval
\&main::gunzipped
--- response_body eval
$::body{v2_page002}
--- no_error_log
[error]



=== TEST 2: no Accept-Encoding: the plain JSON, which varies by it all the same
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
$::AUTH
--- response_headers
!Content-Encoding
Vary: Accept-Encoding
Content-Length: 2989
--- response_headers_like
ETag: "[0-9a-f]{16}"
--- response_body eval
$::body{v2_page002}



=== TEST 3: Accept-Encoding as nginx's gzip reads it: q=0 refuses, "*" does not name gzip
--- request eval
["GET $::V2", "GET $::V2", "GET $::V2", "GET $::V2", "GET $::V2",
 "GET $::V2", "GET $::V2", "GET $::V2"]
--- more_headers eval
["$::AUTH\nAccept-Encoding: gzip;q=0",
 "$::AUTH\nAccept-Encoding: identity",
 "$::AUTH\nAccept-Encoding: *",
 "$::AUTH\nAccept-Encoding: br, gzip",
 "$::AUTH\nAccept-Encoding: gzip, deflate, br",
 "$::AUTH\nAccept-Encoding: deflate, gzip;q=0.5",
 "$::AUTH\nAccept-Encoding: gzip;q=0.000",
 "$::AUTH\nAccept-Encoding: x-gzip"]
--- response_headers eval
["!Content-Encoding", "!Content-Encoding", "!Content-Encoding",
 "Content-Encoding: gzip", "Content-Encoding: gzip",
 "Content-Encoding: gzip", "!Content-Encoding", "!Content-Encoding"]
--- response_body_filters eval
[[], [], [], [\&main::gunzipped], [\&main::gunzipped], [\&main::gunzipped],
 [], []]
--- response_body eval
[($::body{v2_page002}) x 8]



=== TEST 4: HEAD, each encoding: the headers of its GET, no body
--- init
my @auth = ('x-firmly-authorization' => $CartTest::tok{a});
for my $ae ([], ['Accept-Encoding' => 'gzip']) {
    my (undef, $body, $head) = main::get11($::V2, @auth, @$ae);
    my ($len) = $head =~ /^Content-Length: (\d+)\r?$/mi;
    local $CartTest::HttpMethod = 'HEAD';
    my (undef, $none, $head_head) = main::get11($::V2, @auth, @$ae);
    my $what = @$ae ? 'gzip' : 'plain';
    Test::More::is($len, length $body,
                   "TEST 4 - $what GET: its Content-Length is what it sent");
    Test::More::is($head_head =~ s/^Date: .*\r?\n//mir,
                   $head =~ s/^Date: .*\r?\n//mir,
                   "TEST 4 - $what HEAD: the headers of its GET");
    Test::More::is($none, '', "TEST 4 - $what HEAD: no body");
}
--- request eval
["HEAD $::V2", "HEAD $::V2"]
--- more_headers eval
[$::AUTH, "$::AUTH\nAccept-Encoding: gzip"]
--- response_headers eval
["Content-Length: 2989\n!Content-Encoding\nVary: Accept-Encoding",
 "Content-Encoding: gzip\nVary: Accept-Encoding"]
--- response_headers_like eval
["Content-Length: 2989", "Content-Length: [1-9][0-9]{2,3}"]
--- response_body eval
["", ""]



=== TEST 5: If-None-Match: each encoding's ETag is answered 304 in that encoding only
--- init
my @auth = ('x-firmly-authorization' => $CartTest::tok{a});
my @gzip = ('Accept-Encoding' => 'gzip');
my (undef, undef, $head) = main::get11($::V2, @auth);
my (undef, undef, $gz_head) = main::get11($::V2, @auth, @gzip);
my ($etag) = $head =~ /^ETag: ("[0-9a-f]{16}")\r?$/mi;
my ($gz_etag) = $gz_head =~ /^ETag: ("[0-9a-f]{16}-gzip")\r?$/mi;
Test::More::is($gz_etag, $etag =~ s/"$/-gzip"/r,
               'TEST 5 - the gzip ETag is the plain one with -gzip');
for my $t ([[], $etag, 304], [[@gzip], $gz_etag, 304],
           [[], $gz_etag, 200], [[@gzip], $etag, 200],
           [[@gzip], "W/$gz_etag", 304], [[@gzip], "\"x\", $gz_etag", 304],
           [[], "W/$etag", 304], [[], "\"x\", $etag", 304], [[], '*', 304],
           [[], '"x"', 200])
{
    my ($ae, $inm, $want) = @$t;
    my ($status, $body, $h) = main::get11($::V2, @auth, @$ae,
                                          'If-None-Match' => $inm);
    my $what = @$ae ? 'gzip' : 'plain';
    Test::More::is($status, $want, "TEST 5 - $what, If-None-Match $inm");
    Test::More::like($h, $want == 304 ? qr/^ETag: \Q$inm\E\r?$/mi
                                      : qr/^ETag: /mi,
                     "TEST 5 - $what: its ETag")
        if $inm !~ /^W|,|\*/;
    Test::More::is($body, '', "TEST 5 - $what: a 304 has no body")
        if $want == 304;
}
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"$::AUTH\nAccept-Encoding: gzip\nIf-None-Match: \"0000000000000000-gzip\""
--- error_code: 200



=== TEST 6: V1, V1's empty cart, active carts and a Spree page: gzip, decompressing to the plain answer
--- init
my @auth = ('x-firmly-authorization' => $CartTest::tok{a});
my @spree = (Authorization => 'Bearer ' . SpreeTest::spree_tok(2),
             'x-spree-api-key' => $SpreeTest::KEY);
for my $t (['/api/v1/domains/staging.luma.gift/cart', @auth],
           ['/api/v1/domains/demo.luma.gift/cart', @auth],
           ['/api/v2/carts/active', @auth],
           ['/api/v2/carts/active?excludes=demo.luma.gift', @auth],
           ['/api/v3/store/carts', @spree],
           ['/api/v3/store/carts?limit=1&page=2&sort=created_at', @spree])
{
    my ($path, @h) = @$t;
    my ($status, $plain) = main::get11($path, @h);
    my ($gz_status, $gz, $head) = main::get11($path, @h,
                                              'Accept-Encoding' => 'gzip');
    Test::More::is("$status $gz_status", '200 200', "TEST 6 - $path: 200");
    Test::More::like($head, qr/^Content-Encoding: gzip\r?$/mi,
                     "TEST 6 - $path: gzip");
    Test::More::is(main::gunzipped($gz), $plain,
                   "TEST 6 - $path: decompresses to the plain answer");
}
--- request
GET /api/v3/store/carts
--- more_headers eval
"$::SPREE\nAccept-Encoding: gzip"
--- response_headers_like
Content-Type: application/json; charset=utf-8
Content-Encoding: gzip
Vary: Accept-Encoding
ETag: W/"[0-9a-f]{32}-gzip"
--- response_body_filters eval
\&main::gunzipped
--- response_body eval
$::body{page003}



=== TEST 7: made per request, so plain: the active domains, Spree's fields, and errors
--- request eval
["GET /api/v2/carts/active-domains",
 "GET /api/v3/store/carts?fields=number,total",
 "GET /api/v2/domains/staging.luma.gift/cart",
 "GET /api/v2/domains/unknown.example/cart",
 "GET /api/v3/store/carts"]
--- more_headers eval
["$::AUTH\nAccept-Encoding: gzip",
 "$::SPREE\nAccept-Encoding: gzip",
 "Accept-Encoding: gzip",
 "$::AUTH\nAccept-Encoding: gzip",
 "Accept-Encoding: gzip"]
--- error_code eval
[200, 200, 400, 404, 401]
--- response_headers eval
["!Content-Encoding\n!Vary", "!Content-Encoding\n!Vary",
 "!Content-Encoding\n!Vary", "!Content-Encoding\n!Vary",
 "!Content-Encoding\n!Vary"]
--- response_body_like eval
['^\{"domains":\["demo\.luma\.gift","staging\.luma\.gift"\]\}$',
 '^\{"data":\[\{"id":"cart_gbHJdmfrXB","number":"R618887686","total":',
 '"MissingAuthHeader"', '"ErrorCartNotFound"', '"authentication_required"']



=== TEST 8: HTTP/1.0 and a proxied request are not gzipped, as by gzip_static (gzip_http_version, gzip_proxied)
--- request eval
[@::HTTP10_AND_PROXIED]
--- more_headers eval
[@::HTTP10_AND_PROXIED_HEADERS]
--- response_headers eval
["!Content-Encoding\nVary: Accept-Encoding",
 "!Content-Encoding\nVary: Accept-Encoding"]
--- response_body eval
[$::body{v2_page002}, $::body{v2_page002}]



=== TEST 9: told so, gzip for HTTP/1.0 and for any proxy too
--- config eval
"gzip_http_version 1.0;
gzip_proxied any;
include $ENV{TEST_NGINX_API_CONF};"
--- request eval
[@::HTTP10_AND_PROXIED]
--- more_headers eval
[@::HTTP10_AND_PROXIED_HEADERS]
--- response_headers eval
["Content-Encoding: gzip", "Content-Encoding: gzip"]
--- response_body_filters eval
\&main::gunzipped
--- response_body eval
[$::body{v2_page002}, $::body{v2_page002}]



=== TEST 10: with nginx's gzip filter and gzip_vary on: compressed once, one Vary, the ETag kept strong; the filter compresses what the module sends plain
--- config eval
"gzip on;
gzip_types application/json;
gzip_min_length 1;
gzip_vary on;
include $ENV{TEST_NGINX_API_CONF};
location = /gzip-filter/active-domains { cart_api firmly_active_domains; }"
--- request eval
["GET $::V2", "GET $::V2", "GET /gzip-filter/active-domains"]
--- more_headers eval
["$::AUTH\nAccept-Encoding: gzip", $::AUTH,
 "$::AUTH\nAccept-Encoding: gzip"]
--- response_headers_like eval
["Content-Encoding: gzip\nVary: Accept-Encoding\nETag: \"[0-9a-f]{16}-gzip\"",
 "Vary: Accept-Encoding\nETag: \"[0-9a-f]{16}\"",
 "Content-Encoding: gzip\nVary: Accept-Encoding\nETag: W/\"[0-9a-f]{16}\""]
--- response_body_filters eval
[[\&main::gunzipped], [], [\&main::gunzipped]]
--- response_body eval
[$::body{v2_page002}, $::body{v2_page002},
 '{"domains":["demo.luma.gift","staging.luma.gift"]}']



=== TEST 11: "etag off": no ETag in either encoding
--- config eval
"etag off;
include $ENV{TEST_NGINX_API_CONF};"
--- request eval
["GET $::V2", "GET $::V2"]
--- more_headers eval
[$::AUTH, "$::AUTH\nAccept-Encoding: gzip"]
--- response_headers eval
["!ETag\n!Content-Encoding", "!ETag\nContent-Encoding: gzip"]



=== TEST 12: a stored view that does not inflate, V2 or V1: a plain answer is the route's 500, logged
--- http_config eval
"cart_store $ENV{TEST_NGINX_BAD_VIEW_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- request eval
["GET $::V2", "GET /api/v1/domains/staging.luma.gift/cart"]
--- more_headers eval
[$::AUTH, $::AUTH]
--- error_code eval
[500, 500]
--- response_body eval
['{"code":500,"error":"InternalServerError","description":"Internal server error"}',
 '{"code":500,"error":"InternalServerError","description":"Internal server error"}']
--- error_log
a stored view does not inflate



=== TEST 13: a view that does not inflate, when only the header is sent: a HEAD and a plain 304 make no body, so nothing is inflated
--- http_config eval
"cart_store $ENV{TEST_NGINX_BAD_VIEW_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- init
my @auth = ('x-firmly-authorization' => $CartTest::tok{a});
my $head = do {
    local $CartTest::HttpMethod = 'HEAD';
    (main::get11($::V2, @auth))[2];
};
my ($etag) = $head =~ /^ETag: ("[0-9a-f]{16}")\r?$/mi;
my ($status, $body) = main::get11($::V2, @auth, 'If-None-Match' => $etag);
Test::More::is($status, 304, 'TEST 13 - plain, If-None-Match its ETag: 304');
Test::More::is($body, '', 'TEST 13 - plain: the 304 has no body');
--- request
HEAD /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
$::AUTH
--- error_code: 200
--- response_headers
Content-Length: 2989
Vary: Accept-Encoding
--- response_body eval
""
--- no_error_log
does not inflate
