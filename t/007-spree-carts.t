# GET /api/v3/store/carts (reference page 003) as Spree 5.4 answers it:
# authentication in Spree's order, which carts, pages and their meta,
# page and limit as Ruby reads them, sorts, q[...] filters, fields and
# expand, headers, 304 and HEAD, the deployment in front of Spree (the
# proxied rest, the rate limit), and a store written under a running nginx.

use Test::Nginx::Socket 'no_plan';

repeat_each(2);
check_accum_error_log();

use lib 't/lib';
use CartTest;
use SpreeTest;

firmly_setup("$DATA/base.ndjson");
spree_setup();

$ENV{TEST_NGINX_SPREE_PORT} = server_port() + 1;
$ENV{TEST_NGINX_KEYS} = $KEYS;

# a publishable key of the default store, imported while nginx runs
sub put_key {
    my $key = shift;
    import_lines($ENV{TEST_NGINX_STORE},
                 qq({"kind":"api_key","store":"default","token":"$key"}));
    return $key;
}

# a key under a name that no earlier block or run has used: the rate
# limit's buckets outlive a reload (HUP)
our $keys_made = 0;

sub fresh_key {
    return put_key(sprintf 'pk_test_fresh_%d_%d_%d', $$, time, ++$keys_made);
}

# a key that TEST 12 deletes
our $KEY_DOOMED = 'pk_test_doomed_0123456789abcdef0';

$body{page003} = slurp("$DATA/page-003-carts.json");

sub spree_error {
    my ($code, $message) = @_;
    return qq({"error":{"code":"$code","message":"$message"}});
}

$body{auth} = spree_error('authentication_required', 'Authentication required');
$body{key} = spree_error('invalid_token', 'Valid API key required');

our $TOK = spree_tok(2);
our $AUTH = "Authorization: Bearer $TOK\nx-spree-api-key: $KEY";

# GET of the listing for a customer, with a query: (status, body, head)
sub list {
    my ($user, $query, %headers) = @_;
    return http_get("/api/v3/store/carts" . ($query ? "?$query" : ''),
                    Authorization => 'Bearer ' . spree_tok($user),
                    'x-spree-api-key' => $KEY, %headers);
}

# the listing of a customer checked against what Spree would list
sub is_page {
    my ($test, $user, $query, $ids, $meta) = @_;
    my ($status, $body) = list($user, $query);
    Test::More::is($status, 200, "$test - $query: 200");
    Test::More::is(spree_ids($body), join(',', map { $_->{id} } @$ids),
                   "$test - $query: its carts, in order");
    my ($m) = $body =~ /"meta":(\{.*\})\}$/;
    Test::More::is($m, $meta, "$test - $query: meta");
}

run_tests();

__DATA__

=== TEST 1: the page's example: both carts exactly, its meta, and Rails' headers
--- request
GET /api/v3/store/carts
--- more_headers eval
$::AUTH
--- response_body eval
$::body{page003}
--- response_headers_like
Content-Type: application/json; charset=utf-8
Cache-Control: max-age=0, private, must-revalidate
ETag: W/"[0-9a-f]{32}"
X-Content-Type-Options: nosniff
X-Frame-Options: DENY
Referrer-Policy: strict-origin-when-cross-origin
Permissions-Policy: camera=\(\), microphone=\(\), geolocation=\(\)
X-Request-Id: [0-9a-f]{32}



=== TEST 2: every combination of token and key, in Spree's order: the token first
--- init
my $tok = $::TOK;
my %bad_token = (
    'no header' => undef,
    'another scheme' => "Basic $tok",
    'bearer in lowercase' => "bearer $tok",
    'no token' => 'Bearer ',
    'garbage' => 'Bearer garbage',
    'another secret' => 'Bearer ' . CartTest::jwt('HS256',
        "$CartTest::KEYS/hs256.secret", { user_id => 2, iss => 'spree',
        aud => 'store_api', exp => time + 60 }),
    'RS256' => 'Bearer ' . CartTest::jwt('RS256', "$CartTest::KEYS/rs256.key",
        { user_id => 2, iss => 'spree', aud => 'store_api',
          exp => time + 60 }),
    'alg none' => 'Bearer ' . CartTest::b64url('{"alg":"none"}') . '.'
        . CartTest::b64url('{"user_id":2,"iss":"spree","aud":"store_api",'
                           . '"exp":' . (time + 60) . '}') . '.',
    'expired' => 'Bearer ' . SpreeTest::spree_tok(2, exp => time - 10),
    'not yet valid' => 'Bearer ' . SpreeTest::spree_tok(2, nbf => time + 60),
    'another issuer' => 'Bearer ' . SpreeTest::spree_tok(2, iss => 'other'),
    'the admin audience' => 'Bearer '
        . SpreeTest::spree_tok(2, aud => 'admin_api'),
    'no user_id' => 'Bearer ' . SpreeTest::spree_tok(2, user_id => undef),
    'a user_id string' => 'Bearer ' . SpreeTest::spree_tok('2'),
    'user_id 0' => 'Bearer ' . SpreeTest::spree_tok(0),
    'an admin' => 'Bearer ' . SpreeTest::spree_tok(2, user_type => 'admin'),
);
my %bad_key = (
    'no key' => undef, 'an empty key' => '', 'a blank key' => ' ',
    'an unknown key' => 'pk_unknown', 'a revoked key' => $SpreeTest::KEY_REVOKED,
    "another store's key" => $SpreeTest::KEY_OTHER,
);
my @keys = (%bad_key, 'the key' => $SpreeTest::KEY);

for my $t (sort keys %bad_token) {
    for (my $k = 0; $k < @keys; $k += 2) {
        my %h;
        $h{Authorization} = $bad_token{$t} if defined $bad_token{$t};
        $h{'x-spree-api-key'} = $keys[$k + 1] if defined $keys[$k + 1];
        Test::More::is(scalar CartTest::http_get('/api/v3/store/carts', %h),
                       "401 $::body{auth}", "TEST 2 - $t, $keys[$k]: 401");
    }
}

for my $k (sort keys %bad_key) {
    my %h = (Authorization => "Bearer $tok");
    $h{'x-spree-api-key'} = $bad_key{$k} if defined $bad_key{$k};
    Test::More::is(scalar CartTest::http_get('/api/v3/store/carts', %h),
                   "401 $::body{key}", "TEST 2 - a good token, $k: 401");
}

my %good = (
    'Bearer, spaces, the token' => "Bearer    $tok",
    'the last word, as Spree takes it' => "Bearer something $tok",
    'no user_type' => 'Bearer ' . SpreeTest::spree_tok(2, user_type => undef),
    'aud an array that holds it' => 'Bearer '
        . SpreeTest::spree_tok(2, aud => ['admin_api', 'store_api']),
);

for my $g (sort keys %good) {
    my ($status) = CartTest::http_get('/api/v3/store/carts',
                                      Authorization => $good{$g},
                                      'x-spree-api-key' => $SpreeTest::KEY);
    Test::More::is($status, 200, "TEST 2 - $g: 200");
}
--- config
location = /api/v3/store/carts {
    cart_api  spree_carts;
}
--- request
GET /api/v3/store/carts
--- more_headers eval
"Authorization: Bearer garbage\nx-spree-api-key: pk_unknown"
--- error_code: 401
--- response_headers
Content-Type: application/json; charset=utf-8
Cache-Control: no-cache
!X-Content-Type-Options
!ETag
--- response_body eval
$::body{auth}



=== TEST 3: never listed: another customer's carts, a guest's, a completed one, another store's
--- init
my %sees = (2 => 'cart_gbHJdmfrXB,cart_UkLWZg9DAJ', 3 => 'cart_of_3',
            9999 => '');
for my $user (sort keys %sees) {
    my ($status, $body) = ::list($user + 0, 'fields=id');
    Test::More::is("$status " . SpreeTest::spree_ids($body),
                   "200 $sees{$user}",
                   "TEST 3 - customer $user sees its own carts only");
}
--- config
location = /api/v3/store/carts {
    cart_api  spree_carts;
}

location = /other/api/v3/store/carts {
    cart_api          spree_carts;
    cart_spree_store  other;
}
--- request eval
["GET /other/api/v3/store/carts?fields=number",
 "GET /other/api/v3/store/carts?fields=number"]
--- more_headers eval
["Authorization: Bearer $::TOK\nx-spree-api-key: $SpreeTest::KEY_OTHER",
 "Authorization: Bearer $::TOK\nx-spree-api-key: $SpreeTest::KEY"]
--- error_code eval
[200, 401]
--- response_body eval
['{"data":[{"id":"cart_other_store","number":"Rcart_other_store"}],"meta":{"page":1,"limit":25,"count":1,"pages":1,"from":1,"to":1,"in":1,"previous":null,"next":null}}',
 $::body{key}]



=== TEST 4: 0, 1, 25, 26, 100, 101 and 300 carts, page by page and past the end: the carts and the meta exact
--- init
for my $n (0, 1, 25, 26, 100, 101, 300) {
    my $user = 1000 + $n;
    my @all = SpreeTest::spree_order($user, 'updated', 1);

    for my $limit (25, 100, 7) {
        my $pages = $n ? int(($n + $limit - 1) / $limit) : 1;

        for my $page (1 .. $pages + 1) {
            my @ids = @all[($page - 1) * $limit
                           .. ($page * $limit < $n ? $page * $limit : $n) - 1];
            @ids = () if $page > $pages;
            ::is_page("TEST 4 - $n carts", $user,
                      "fields=id&limit=$limit&page=$page", \@ids,
                      SpreeTest::spree_meta($page, $limit, $n));
        }
    }
}
--- config
location = /api/v3/store/carts {
    cart_api  spree_carts;
}
--- request
GET /api/v3/store/carts?fields=id&page=13
--- more_headers eval
"Authorization: Bearer " . SpreeTest::spree_tok(1300) . "\nx-spree-api-key: $SpreeTest::KEY"
--- response_body chomp
{"data":[],"meta":{"page":13,"limit":25,"count":300,"pages":12,"from":0,"to":0,"in":0,"previous":12,"next":null}}



=== TEST 5: limit and page as Ruby reads them: 0, -1, 500, abc, 12abc, empty, none
--- init
my @all = SpreeTest::spree_order(1300, 'updated', 1);
my %limit = ('0' => 'got 0', '-1' => 'got -1', 'abc' => 'got 0', '' => 'got 0',
             '-1_000' => 'got -1000');
for my $l (sort keys %limit) {
    Test::More::is(scalar ::list(1300, "limit=$l"),
                   "400 " . ::spree_error('invalid_request',
                                          "expected :limit >= 1; $limit{$l}"),
                   "TEST 5 - limit=$l");
}
my %page = ('0' => 'got 0', '-1' => 'got -1', 'abc' => 'got 0', '' => 'got 0');
for my $p (sort keys %page) {
    Test::More::is(scalar ::list(1300, "page=$p"),
                   "400 " . ::spree_error('invalid_request',
                                          "expected :page >= 1; $page{$p}"),
                   "TEST 5 - page=$p");
}
Test::More::is(scalar ::list(1300, 'limit=0&page=0'),
               '400 ' . ::spree_error('invalid_request',
                                      'expected :limit >= 1; got 0'),
               'TEST 5 - limit is checked before page');
::is_page('TEST 5', 1300, 'fields=id&limit=500', [@all[0 .. 99]],
          SpreeTest::spree_meta(1, 100, 300));
::is_page('TEST 5', 1300, 'fields=id&limit=12abc', [@all[0 .. 11]],
          SpreeTest::spree_meta(1, 12, 300));
::is_page('TEST 5', 1300, 'fields=id&page=500', [],
          SpreeTest::spree_meta(500, 25, 300));
::is_page('TEST 5', 1300, 'fields=id&page=12abc', [@all[275 .. 299]],
          SpreeTest::spree_meta(12, 25, 300));
::is_page('TEST 5', 1300, 'fields=id&page&limit', [@all[0 .. 24]],
          SpreeTest::spree_meta(1, 25, 300));
::is_page('TEST 5', 1300, 'fields=id&page=1&page=2', [@all[25 .. 49]],
          SpreeTest::spree_meta(2, 25, 300));
--- config
location = /api/v3/store/carts {
    cart_api  spree_carts;
}
--- request
GET /api/v3/store/carts?limit=abc
--- more_headers eval
$::AUTH
--- error_code: 400
--- response_headers
Content-Type: application/json; charset=utf-8
Cache-Control: no-cache
--- response_body chomp
{"error":{"code":"invalid_request","message":"expected :limit >= 1; got 0"}}



=== TEST 6: sorts: both keys both ways; of two keys, Spree 5.4 reads the first, ascending; names it does not know leave the default
--- init
my %sorts = (
    'created_at' => ['created', 0], '-created_at' => ['created', 1],
    'updated_at' => ['updated', 0], '-updated_at' => ['updated', 1],
    'created_at,-updated_at' => ['created', 0],
    '-created_at,updated_at' => ['created', 0],
    '-updated_at,' => ['updated', 1],
    'total' => ['updated', 1], 'foo,created_at' => ['updated', 1],
);
for my $sort (sort keys %sorts) {
    my @all = SpreeTest::spree_order(1026, @{ $sorts{$sort} });
    ::is_page("TEST 6 - sort $sort", 1026, "fields=id&sort=$sort",
              [@all[0 .. 24]], SpreeTest::spree_meta(1, 25, 26));
    ::is_page("TEST 6 - sort $sort", 1026, "fields=id&sort=$sort&page=2",
              [$all[25]], SpreeTest::spree_meta(2, 25, 26));
}
::is_page('TEST 6 - a tie', 2000, 'fields=id&sort=updated_at',
          [SpreeTest::spree_order(2000, 'updated', 0)],
          SpreeTest::spree_meta(1, 25, 2));
--- config
location = /api/v3/store/carts {
    cart_api  spree_carts;
}
--- request
GET /api/v3/store/carts?fields=id
--- more_headers eval
"Authorization: Bearer " . SpreeTest::spree_tok(2000) . "\nx-spree-api-key: $SpreeTest::KEY"
--- response_body chomp
{"data":[{"id":"cart_tie_b"},{"id":"cart_tie_a"}],"meta":{"page":1,"limit":25,"count":2,"pages":1,"from":1,"to":2,"in":2,"previous":null,"next":null}}



=== TEST 7: q[created_at_*] and q[updated_at_*]: each predicate, a value that is not an instant (ignored, as Ransack drops it), other keys ignored
--- init
my @c = SpreeTest::spree_order(1101, 'updated', 1);
my $iso = sub { SpreeTest::iso($_[0]) };
my $mid = (sort { $a <=> $b } map { $_->{created} } @c)[50];
my $upd = $c[30]{updated};
my %ops = (gt => sub { $_[0] > $_[1] }, gteq => sub { $_[0] >= $_[1] },
           lt => sub { $_[0] < $_[1] }, lteq => sub { $_[0] <= $_[1] },
           eq => sub { $_[0] == $_[1] });
for my $op (sort keys %ops) {
    for my $by (['created', $mid], ['updated', $upd]) {
        my ($attr, $at) = @$by;
        my @want = grep { $ops{$op}->($_->{$attr}, $at) } @c;
        my $q = "q%5B${attr}_at_$op%5D=" . $iso->($at);
        my $n = @want;
        ::is_page("TEST 7 - ${attr}_at_$op", 1101, "fields=id&limit=100&$q",
                  [@want[0 .. ($n > 100 ? 99 : $n - 1)]],
                  SpreeTest::spree_meta(1, 100, $n));
    }
}
my @both = grep { $_->{created} > $mid && $_->{updated} <= $upd } @c;
::is_page('TEST 7 - two conditions, page 2', 1101,
          "fields=id&limit=10&page=2&q[created_at_gt]=" . $iso->($mid)
          . "&q[updated_at_lteq]=" . $iso->($upd),
          [@both[10 .. (@both > 20 ? 19 : $#both)]],
          SpreeTest::spree_meta(2, 10, scalar @both));
for my $q ('q[created_at_gt]=abc', 'q[created_at_gt]=2025-13-01',
           'q[updated_at_lt]=', 'q[updated_at_lt]', 'q[total_gt]=1000',
           'q[created_at_not_eq]=2025-01-01', 'q[s]=created_at+asc')
{
    ::is_page("TEST 7 - $q, ignored", 1101, "fields=id&$q",
              [@c[0 .. 24]], SpreeTest::spree_meta(1, 25, 101));
}
::is_page('TEST 7 - a date alone is its midnight', 1101,
          'fields=id&q[updated_at_gteq]=2099-01-01', [],
          SpreeTest::spree_meta(1, 25, 0));
--- config
location = /api/v3/store/carts {
    cart_api  spree_carts;
}
--- request
GET /api/v3/store/carts?fields=id&q[updated_at_eq]=2025-10-21T10:02:03.5Z
--- more_headers eval
$::AUTH
--- response_body chomp
{"data":[{"id":"cart_UkLWZg9DAJ"}],"meta":{"page":1,"limit":25,"count":1,"pages":1,"from":1,"to":1,"in":1,"previous":null,"next":null}}



=== TEST 8: fields and expand: top level only, id always, an association only when named, unknown names ignored, expand=none
--- init
my %data = (
    'fields=total,item_total' => '[{"id":"cart_gbHJdmfrXB","item_total":"10.0","total":"110.0"},{"id":"cart_UkLWZg9DAJ","item_total":"10.0","total":"110.0"}]',
    'fields=nothing,id' => '[{"id":"cart_gbHJdmfrXB"},{"id":"cart_UkLWZg9DAJ"}]',
    'fields=%20total%20' => '[{"id":"cart_gbHJdmfrXB","total":"110.0"},{"id":"cart_UkLWZg9DAJ","total":"110.0"}]',
    'fields=total&expand=none' => '[{"id":"cart_gbHJdmfrXB","total":"110.0"},{"id":"cart_UkLWZg9DAJ","total":"110.0"}]',
    'fields=total&expand=gift_card.x,market' => '[{"id":"cart_gbHJdmfrXB","total":"110.0","gift_card":null,"market":null},{"id":"cart_UkLWZg9DAJ","total":"110.0","gift_card":null,"market":null}]',
    'fields=,' => '[{"id":"cart_gbHJdmfrXB"},{"id":"cart_UkLWZg9DAJ"}]',
);
for my $q (sort keys %data) {
    my ($status, $body) = ::list(2, $q);
    my ($d) = $body =~ /^\{"data":(.*),"meta":/;
    Test::More::is($d, $data{$q}, "TEST 8 - $q");
}
for my $q ('fields=', 'fields=%20', 'expand=none', 'expand=items') {
    my ($status, $body) = ::list(2, $q);
    Test::More::is($body, $::body{page003}, "TEST 8 - $q: every member");
}
my ($status, $body) = ::list(2, 'fields=total&expand=items');
Test::More::like($body, qr/^\{"data":\[\{"id":"cart_gbHJdmfrXB","total":"110.0","items":\[\{"id":"li_gbHJdmfrXB",.*\]\},\{"id":"cart_UkLWZg9DAJ",/,
                 'TEST 8 - expand names an association that fields does not');
($status, $body) = ::list(2, 'fields=items');
Test::More::like($body, qr/^\{"data":\[\{"id":"cart_gbHJdmfrXB","items":\[\{"id":"li_gbHJdmfrXB",/,
                 'TEST 8 - fields names an association');
--- config
location = /api/v3/store/carts {
    cart_api  spree_carts;
}
--- request
GET /api/v3/store/carts?fields=number,currency
--- more_headers eval
$::AUTH
--- response_body chomp
{"data":[{"id":"cart_gbHJdmfrXB","number":"R618887686","currency":"USD"},{"id":"cart_UkLWZg9DAJ","number":"R580209874","currency":"USD"}],"meta":{"page":1,"limit":25,"count":2,"pages":1,"from":1,"to":2,"in":2,"previous":null,"next":null}}



=== TEST 9: a weak ETag answered with 304, one for each page and selection; HEAD like GET without a body
--- init
my (undef, undef, $head) = ::list(2, '');
my ($etag) = $head =~ /^ETag: (W\/"[0-9a-f]{32}")\r?$/mi;
my ($status, $body, $h) = ::list(2, '', 'If-None-Match' => $etag);
Test::More::is("$status $body", '304 ', 'TEST 9 - 304 for its ETag');
Test::More::like($h, qr/^ETag: \Q$etag\E\r?$/mi, 'TEST 9 - with the ETag');
($status) = ::list(2, 'fields=total', 'If-None-Match' => $etag);
Test::More::is($status, 200, 'TEST 9 - fields: another ETag');
($status) = ::list(2, 'limit=1', 'If-None-Match' => $etag);
Test::More::is($status, 200, 'TEST 9 - another page: another ETag');
--- request
HEAD /api/v3/store/carts
--- more_headers eval
$::AUTH
--- response_headers_like
Content-Type: application/json; charset=utf-8
Content-Length: 8326
ETag: W/"[0-9a-f]{32}"
--- response_body eval
""



=== TEST 10: in front of Spree: GET and HEAD here, every other method and Store API path passed to it
--- http_config eval
"cart_store $ENV{TEST_NGINX_STORE};
cart_device_jwt_key rs256 $ENV{TEST_NGINX_KEYS}/rs256.pub;
cart_spree_jwt_secret $ENV{TEST_NGINX_KEYS}/spree.secret;
include $ENV{TEST_NGINX_HTTP_CONF};
upstream spree { server 127.0.0.1:$ENV{TEST_NGINX_SPREE_PORT}; }
server {
    listen 127.0.0.1:$ENV{TEST_NGINX_SPREE_PORT};
    location / { return 200 'spree: \$request_method \$request_uri'; }
}"
--- request eval
["POST /api/v3/store/carts\n{}", "DELETE /api/v3/store/carts",
 "GET /api/v3/store/products?page=2", "GET /api/v3/store/carts?fields=id"]
--- more_headers eval
$::AUTH
--- response_body eval
["spree: POST /api/v3/store/carts", "spree: DELETE /api/v3/store/carts",
 "spree: GET /api/v3/store/products?page=2",
 '{"data":[{"id":"cart_gbHJdmfrXB"},{"id":"cart_UkLWZg9DAJ"}],"meta":{"page":1,"limit":25,"count":2,"pages":1,"from":1,"to":2,"in":2,"previous":null,"next":null}}']



=== TEST 11: Spree's rate limit: 300 requests of a key at once, then 429 with Spree's body and headers; another key goes on
--- init
my @auth = (Authorization => "Bearer $::TOK",
            'x-spree-api-key' => ::fresh_key());
my (%n, $limited);
for my $i (1 .. 400) {
    my ($status, $body, $head) = CartTest::http_get('/api/v3/store/carts?fields=id', @auth);
    $n{$i <= 300 ? 'first' : 'rest'}{$status}++;
    $limited ||= "$status $body\n$head" if $status == 429;
}
Test::More::is($n{first}{200}, 300, 'TEST 11 - the first 300 pass');
Test::More::cmp_ok($n{rest}{429} // 0, '>=', 80,
                   'TEST 11 - then they are limited (nginx lets a few through as the minute goes)');
Test::More::like($limited, qr/^429 \{"error":\{"code":"rate_limit_exceeded","message":"Too many requests. Please retry later."\}\}\n/,
                 "TEST 11 - Spree's body");
Test::More::like($limited, qr/^Retry-After: 60\r?$/mi, 'TEST 11 - Retry-After');
Test::More::like($limited, qr/^X-RateLimit-Limit: 300\r?$/mi, 'TEST 11 - X-RateLimit-Limit');
Test::More::like($limited, qr/^X-RateLimit-Remaining: 0\r?$/mi, 'TEST 11 - X-RateLimit-Remaining');
Test::More::like($limited, qr/^Content-Type: application\/json\r?$/mi, 'TEST 11 - Content-Type');
Test::More::like($limited, qr/^Cache-Control: no-cache\r?$/mi, 'TEST 11 - Cache-Control');
--- request
GET /api/v3/store/carts?fields=id
--- more_headers eval
$::AUTH
--- response_body chomp
{"data":[{"id":"cart_gbHJdmfrXB"},{"id":"cart_UkLWZg9DAJ"}],"meta":{"page":1,"limit":25,"count":2,"pages":1,"from":1,"to":2,"in":2,"previous":null,"next":null}}



=== TEST 12: carts written by cartctl while nginx runs: the next request lists them, with a new ETag; a cart that changes hands leaves the old list; a key deleted is refused
--- init
my $store = $ENV{TEST_NGINX_STORE};
my $line = `$ENV{TEST_NGINX_CARTCTL} --store $store dump | grep '"id":"cart_u1001_000"'`;
die 'no cart_u1001_000 in the dump' if $line !~ /"user_id":1001,/;
my $import = sub { CartTest::import_lines($store, @_) };
my (undef, $before, $h1) = ::list(1001, 'fields=total');
my ($e1) = $h1 =~ /^ETag: (\S+)/mi;

(my $new = $line) =~ s/cart_u1001_000/cart_u1001_new/g;
$new =~ s/"updated_at":"[^"]+"/"updated_at":"2030-01-01T00:00:00Z"/;
(my $changed = $line) =~ s/"total":"1.0"/"total":"2.5"/;
$import->($new, $changed);
my (undef, $after, $h2) = ::list(1001, 'fields=total');
my ($e2) = $h2 =~ /^ETag: (\S+)/mi;
Test::More::is($after, '{"data":[{"id":"cart_u1001_new","total":"1.0"},{"id":"cart_u1001_000","total":"2.5"}],"meta":' . SpreeTest::spree_meta(1, 25, 2) . '}',
               'TEST 12 - the new cart first, the new total');
Test::More::isnt($e2, $e1, 'TEST 12 - a new ETag');

(my $moved = $new) =~ s/"user_id":1001,/"user_id":3,/;
$import->($moved);
Test::More::is(SpreeTest::spree_ids((::list(1001, 'fields=id'))[1]),
               'cart_u1001_000', 'TEST 12 - moved: gone from its old list');
Test::More::is(SpreeTest::spree_ids((::list(3, 'fields=id'))[1]),
               'cart_of_3,cart_u1001_new', 'TEST 12 - moved: in its new one');

$import->('{"kind":"spree_cart","store":"default","id":"cart_u1001_new","deleted":true}' . "\n", $line);
Test::More::is((::list(3, 'fields=id'))[1],
               '{"data":[{"id":"cart_of_3"}],"meta":' . SpreeTest::spree_meta(1, 25, 1) . '}',
               'TEST 12 - deleted: gone');
Test::More::is((::list(1001, 'fields=total'))[1], $before,
               'TEST 12 - the first cart as it was');

::put_key($::KEY_DOOMED);
my ($status) = CartTest::http_get('/api/v3/store/carts', Authorization =>
                                  "Bearer $::TOK", 'x-spree-api-key' =>
                                  $::KEY_DOOMED);
Test::More::is($status, 200, 'TEST 12 - a key imported: 200');
CartTest::cartctl('--store', $store, 'delete', 'api_key', 'default',
                  $::KEY_DOOMED);
--- request
GET /api/v3/store/carts
--- more_headers eval
"Authorization: Bearer $::TOK\nx-spree-api-key: $::KEY_DOOMED"
--- error_code: 401
--- response_body eval
$::body{key}



=== TEST 13: the store unavailable: Spree's 500, when its database is gone
--- http_config eval
"cart_store $ENV{TEST_NGINX_TMP}/no-store;
cart_spree_jwt_secret $ENV{TEST_NGINX_KEYS}/spree.secret;"
--- config
location = /api/v3/store/carts {
    cart_api  spree_carts;
}
--- request
GET /api/v3/store/carts
--- more_headers eval
$::AUTH
--- error_code: 500
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"status":500,"error":"Internal Server Error"}



=== TEST 14: $cart_customer_id, for access logs
--- config
location = /api/v3/store/carts {
    cart_api    spree_carts;
    add_header  X-Customer $cart_customer_id;
}
--- request
GET /api/v3/store/carts?fields=id
--- more_headers eval
$::AUTH
--- response_headers
X-Customer: 2



=== TEST 15: what nginx itself answers under /api/v3/store/, in Spree's words, with Spree's error headers
--- request eval
["GET /api/v3/store/carts\n" . ('x' x (30 * 1024 * 1024 + 1)),
 "GET /api/v3/store/carts?" . ('a' x 3000),
 "GET /api/v3/store/carts", "GET /api/v3/store/carts"]
--- http_config eval
"cart_store $ENV{TEST_NGINX_STORE};
cart_device_jwt_key rs256 $ENV{TEST_NGINX_KEYS}/rs256.pub;
cart_spree_jwt_secret $ENV{TEST_NGINX_KEYS}/spree.secret;
large_client_header_buffers 2 1k;"
--- more_headers eval
[$::AUTH, $::AUTH, "$::AUTH\nbad header: x", "$::AUTH\nx-big: " . ('b' x 1500)]
--- error_code eval
[413, 414, 400, 400]
--- response_headers_like eval
["Content-Type: application/json\nCache-Control: no-cache\nX-Request-Id: [0-9a-f]{32}",
 "Content-Type: application/json\nCache-Control: no-cache\nX-Request-Id: [0-9a-f]{32}",
 "Content-Type: application/json\nCache-Control: no-cache\nX-Request-Id: [0-9a-f]{32}",
 "Content-Type: application/json\nCache-Control: no-cache\nX-Request-Id: [0-9a-f]{32}"]
--- response_body eval
['{"error":{"code":"request_too_large","message":"Request body too large"}}',
 '{"error":{"code":"invalid_request","message":"Request-URI Too Long"}}',
 '{"error":{"code":"invalid_request","message":"Bad Request"}}',
 '{"error":{"code":"invalid_request","message":"Request Header Or Cookie Too Large"}}']
