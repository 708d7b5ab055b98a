# GET /api/v2/carts/active (page 000), /api/v1/carts/active (legacy) and
# GET /api/v2/carts/active-domains (page 001)

use Test::Nginx::Socket 'no_plan';

repeat_each(2);
use lib 't/lib';
use CartTest;

firmly_setup("$DATA/base.ndjson", "$DATA/active.ndjson");

my $tmp = $ENV{TEST_NGINX_TMP};

# device A: demo (updated last), staging; not shop (expired), closed
# (unavailable) nor empty (no line items)
$body{a} = '{"domains":["demo.luma.gift","staging.luma.gift"],"carts":['
           . stored_cart($DEV_A, 'demo.luma.gift') . ',' . $body{v2_page002} . ']}';
$body{a_staging} = '{"domains":["staging.luma.gift"],"carts":['
                   . $body{v2_page002} . ']}';
$body{b} = '{"domains":["staging.luma.gift"],"carts":['
           . stored_cart($DEV_B, 'staging.luma.gift') . ']}';
$body{none} = '{"domains":[],"carts":[]}';

# most recent first; d05 and d06 were updated at the same time
our @many = map { sprintf "d%02d.example", $_ } reverse(7 .. 20), 5, 6,
                                                reverse(1 .. 4);
$body{many_domains} = '{"domains":[' . join(',', map { qq("$_") } @many)
                      . ']}';

$body{missing} = error_body(401, 'MissingAuthHeader', 'x-firmly-authorization '
                            . 'header is missing or invalid');
$body{invalid_token} = error_body(401, 'InvalidToken', 'JWT token is invalid');
$body{invalid_jwt} = error_body(401, 'InvalidJWTToken',
                                'The JWT token is invalid');
$body{unauthorized} = error_body(401, 'Unauthorized',
                                 'Invalid or missing device authentication');
$body{bad_excludes} = error_body(400, 'InvalidRequest',
                                 'excludes lists at most 256 domains');

# one corrupt record among good ones, written with the LMDB tools
$ENV{TEST_NGINX_CORRUPT_STORE} = store("$tmp/corrupt", "$DATA/base.ndjson");
put_records("$tmp/corrupt", 'carts',
            "$DEV_A\0demo.luma.gift" => 'not a cart record');

# and a cart whose key ends in no domain key, though its domain has a
# record: sent as it is, its quote would end the JSON string early
put_records("$tmp/corrupt", 'domains', 'evil".luma.gift' =>
            get_record("$tmp/corrupt", 'domains', 'staging.luma.gift'));
put_records("$tmp/corrupt", 'carts', "$DEV_A\0evil\".luma.gift" =>
            get_record("$tmp/corrupt", 'carts', "$DEV_A\0staging.luma.gift"));

$ENV{TEST_NGINX_LIVE_STORE} = store("$tmp/live", "$DATA/base.ndjson");
$ENV{TEST_NGINX_CLOSING_STORE} = store("$tmp/closing", "$DATA/base.ndjson");

our $many_excludes = join ',', map { "x$_.example" } 1 .. 257;
our $long_exclude = 'a' x 254;

run_tests();

__DATA__

=== TEST 1: every active cart of the device, newest first, in full
--- request
GET /api/v2/carts/active
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body eval
$::body{a}
--- response_headers_like
Content-Type: application/json
Cache-Control: private, no-cache
ETag: "[0-9a-f]{16}"
--- error_log
domain "closed.luma.gift" left out: its store is unavailable



=== TEST 2: the legacy /api/v1/carts/active serves the same
--- request
GET /api/v1/carts/active
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body eval
$::body{a}



=== TEST 3: devices with no cart, one, and an expired or unknown session
--- request eval
["GET /api/v2/carts/active", "GET /api/v2/carts/active",
 "GET /api/v2/carts/active", "GET /api/v2/carts/active"]
--- more_headers eval
["x-firmly-authorization: $::tok{c}", "x-firmly-authorization: $::tok{b}",
 "x-firmly-authorization: $::tok{old}",
 "x-firmly-authorization: $::tok{unknown}"]
--- response_body eval
[$::body{none}, $::body{b}, $::body{none}, $::body{none}]



=== TEST 4: a device with 20 domains
--- request
GET /api/v2/carts/active
--- more_headers eval
"x-firmly-authorization: $::tok{many}"
--- response_body_like eval
'^\{"domains":\["' . CORE::join('","', map { quotemeta } @::many) . '"\],"carts":\[\{"cart_id":"cart_m20",'
. '(.*\{"cart_id":"cart_m\d\d",){19}'



=== TEST 5: excludes: case, blanks, duplicates, unknown and empty entries
--- request eval
["GET /api/v2/carts/active?excludes=DEMO.luma.gift,%20unknown.example,,demo.luma.gift%09",
 "GET /api/v2/carts/active?excludes=",
 "GET /api/v2/carts/active?excludes=demo.luma.gift%2Cstaging.luma.gift"]
--- more_headers eval
["x-firmly-authorization: $::tok{a}", "x-firmly-authorization: $::tok{a}",
 "x-firmly-authorization: $::tok{a}"]
--- response_body eval
[$::body{a_staging}, $::body{a}, $::body{none}]



=== TEST 6: excludes: thousands of entries, or one too long, is a 400
--- request eval
["GET /api/v2/carts/active?excludes=$::many_excludes",
 "GET /api/v2/carts/active?excludes=$::long_exclude"]
--- more_headers eval
["x-firmly-authorization: $::tok{a}", "x-firmly-authorization: $::tok{a}"]
--- error_code eval
[400, 400]
--- response_body eval
[$::body{bad_excludes}, $::body{bad_excludes}]



=== TEST 7: authentication failures, in page 000's three words
--- request eval
["GET /api/v2/carts/active", "GET /api/v2/carts/active",
 "GET /api/v2/carts/active", "GET /api/v2/carts/active",
 "GET /api/v2/carts/active"]
--- more_headers eval
["", "x-firmly-authorization: garbage",
 "x-firmly-authorization: $::tok{other_key}",
 "x-firmly-authorization: $::tok{none}",
 "x-firmly-authorization: $::tok{expired}"]
--- error_code eval
[401, 401, 401, 401, 401]
--- response_body eval
[$::body{missing}, $::body{invalid_token}, $::body{invalid_jwt},
 $::body{invalid_jwt}, $::body{invalid_jwt}]



=== TEST 8: a corrupt record leaves its domain out, and says so
--- http_config eval
"cart_store $ENV{TEST_NGINX_CORRUPT_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- request eval
["GET /api/v2/carts/active", "GET /api/v2/carts/active-domains"]
--- more_headers eval
["x-firmly-authorization: $::tok{a}", "x-firmly-authorization: $::tok{a}"]
--- response_body eval
[$::body{a_staging}, '{"domains":["staging.luma.gift"]}']
--- error_log eval
[qr/corrupt cart record "\Q$CartTest::DEV_A\E\/demo\.luma\.gift" left out/,
 qr/corrupt cart record "\Q$CartTest::DEV_A\E\/evil"\.luma\.gift" left out/]



=== TEST 9: the ETag changes when one of the carts changes
--- http_config eval
"cart_store $ENV{TEST_NGINX_LIVE_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- init
my @auth = ('x-firmly-authorization' => $CartTest::tok{a});
my (undef, undef, $h1) = CartTest::http_get('/api/v2/carts/active', @auth);
my ($etag1) = $h1 =~ /^ETag: (\S+)/mi;
my ($s304) = CartTest::http_get('/api/v2/carts/active', @auth,
                                'If-None-Match' => $etag1);
Test::More::is($s304, 304, "TEST 9 - 304 while nothing changed");
CartTest::cartctl('--store', $ENV{TEST_NGINX_LIVE_STORE}, 'import',
                  "$CartTest::DATA/live-update.ndjson");
my ($s200, undef, $h2) = CartTest::http_get('/api/v2/carts/active', @auth,
                                             'If-None-Match' => $etag1);
my ($etag2) = $h2 =~ /^ETag: (\S+)/mi;
Test::More::is($s200, 200, "TEST 9 - 200 for the old ETag after the import");
Test::More::isnt($etag2, $etag1, "TEST 9 - and a new ETag");
--- request
GET /api/v2/carts/active
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body_like chomp
"cart_id":"cart_def456_v2"



=== TEST 10: HEAD and other methods
--- request eval
["HEAD /api/v2/carts/active", "DELETE /api/v2/carts/active",
 "POST /api/v1/carts/active", "PUT /api/v2/carts/active-domains"]
--- more_headers eval
["x-firmly-authorization: $::tok{a}", "x-firmly-authorization: $::tok{a}",
 "x-firmly-authorization: $::tok{a}", "x-firmly-authorization: $::tok{a}"]
--- error_code eval
[200, 405, 405, 405]
--- response_headers eval
["Content-Type: application/json", "Allow: GET, HEAD", "Allow: GET, HEAD",
 "Allow: GET, HEAD"]
--- response_body eval
["", '{"code":405,"error":"MethodNotAllowed","description":"Only GET and HEAD are allowed"}',
 '{"code":405,"error":"MethodNotAllowed","description":"Only GET and HEAD are allowed"}',
 '{"code":405,"error":"MethodNotAllowed","description":"Only GET and HEAD are allowed"}']



=== TEST 11: a store that is not there: 503
--- http_config eval
"cart_store $ENV{TEST_NGINX_TMP}/nothing-here;
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- request
GET /api/v2/carts/active
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 503
--- response_body chomp
{"code":503,"error":"ErrorStoreUnavailable","description":"Store temporarily unavailable"}



=== TEST 12: active domains: exactly the domains of the active carts
--- request eval
["GET /api/v2/carts/active-domains", "GET /api/v2/carts/active-domains",
 "GET /api/v2/carts/active-domains", "GET /api/v2/carts/active-domains"]
--- more_headers eval
["x-firmly-authorization: $::tok{a}", "x-firmly-authorization: $::tok{c}",
 "x-firmly-authorization: $::tok{many}",
 "x-firmly-authorization: Bearer $::tok{b}"]
--- response_body eval
['{"domains":["demo.luma.gift","staging.luma.gift"]}', '{"domains":[]}',
 $::body{many_domains}, '{"domains":["staging.luma.gift"]}']



=== TEST 13: active domains: any authentication failure is Unauthorized
--- request eval
["GET /api/v2/carts/active-domains", "GET /api/v2/carts/active-domains",
 "GET /api/v2/carts/active-domains"]
--- more_headers eval
["", "x-firmly-authorization: garbage",
 "x-firmly-authorization: $::tok{expired}"]
--- error_code eval
[401, 401, 401]
--- response_body eval
[$::body{unauthorized}, $::body{unauthorized}, $::body{unauthorized}]



=== TEST 14: active domains: a store failure is a 500
--- http_config eval
"cart_store $ENV{TEST_NGINX_TMP}/nothing-here;
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- request
GET /api/v2/carts/active-domains
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 500
--- response_body chomp
{"code":500,"error":"InternalServerError","description":"Server error occurred while fetching domains"}



=== TEST 15: a domain closed while nginx runs is left out from the next request
--- http_config eval
"cart_store $ENV{TEST_NGINX_CLOSING_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- init
my @auth = ('x-firmly-authorization' => $CartTest::tok{a});
Test::More::is(scalar CartTest::http_get('/api/v2/carts/active-domains', @auth),
               '200 {"domains":["demo.luma.gift","staging.luma.gift"]}',
               "TEST 15 - both domains while demo is open");
CartTest::import_lines($ENV{TEST_NGINX_CLOSING_STORE},
    '{"kind":"domain","domain":"demo.luma.gift","display_name":"Luma Demo",'
    . '"platform_id":"shopify","available":false}');
--- request
GET /api/v2/carts/active-domains
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body chomp
{"domains":["staging.luma.gift"]}



=== TEST 16: with no token and a bad query, the missing token comes first
--- request eval
["GET /api/v2/carts/active?excludes=$::many_excludes",
 "GET /api/v2/carts/active?excludes=$::long_exclude",
 "GET /api/v2/carts/active?excludes=$::long_exclude"]
--- more_headers eval
["", "x-firmly-authorization: garbage", "x-firmly-authorization: $::tok{a}"]
--- error_code eval
[401, 401, 400]
--- response_body eval
[$::body{missing}, $::body{invalid_token}, $::body{bad_excludes}]
