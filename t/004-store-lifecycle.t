# The store's life under a running nginx: missing, created late, written,
# replaced, of another layout, truncated, deleted, copied over; and nginx
# started on a bad store.  None of it may take a worker down: the master
# runs, so that a worker's death would be logged ("exited on signal").

use Test::Nginx::Socket 'no_plan';

repeat_each(2);
use lib 't/lib';
use CartTest;
use File::Copy ();
use File::Path ();

master_on();
workers(1);
check_accum_error_log();

firmly_setup("$DATA/base.ndjson");

my $tmp = $ENV{TEST_NGINX_TMP};

$ENV{TEST_NGINX_LATE_STORE} = "$tmp/late";
$ENV{TEST_NGINX_LIVE_STORE} = store("$tmp/live", "$DATA/base.ndjson");
$ENV{TEST_NGINX_SWAP_STORE} = store("$tmp/swap", "$DATA/base.ndjson");

# a store that says it has another layout (1: sessions in their own
# database) is not read
$ENV{TEST_NGINX_OLD_STORE} = store("$tmp/old", "$DATA/base.ndjson");
put_records($ENV{TEST_NGINX_OLD_STORE}, 'meta', layout => pack('L', 1));

# stores that the blocks below break under nginx, and put back
for my $name (qw(cut fault gone copied)) {
    $ENV{'TEST_NGINX_' . uc($name) . '_STORE'} =
        store("$tmp/$name", "$DATA/base.ndjson");
}

# the store copied over "copied": new, so its last transaction is older
# than the one that the live store's lock file names
store("$tmp/fresh", "$DATA/base.ndjson", "$DATA/live-update.ndjson");
cartctl('--store', $ENV{TEST_NGINX_COPIED_STORE}, 'import', $_)
    for ("$DATA/live-update.ndjson", "$DATA/base.ndjson") x 3;

# stores that are bad before nginx starts
$ENV{TEST_NGINX_SHORT_STORE} = store("$tmp/short", "$DATA/base.ndjson");
truncate "$tmp/short/data.mdb", 8192 or die "truncate: $!";

$ENV{TEST_NGINX_EMPTY_STORE} = "$tmp/empty";
mkdir "$tmp/empty";
open my $fh, '>', "$tmp/empty/data.mdb" or die $!;
close $fh;

$ENV{TEST_NGINX_GARBAGE_STORE} = "$tmp/garbage";
mkdir "$tmp/garbage";
open $fh, '>', "$tmp/garbage/data.mdb" or die $!;
print $fh pack('C*', map { ($_ * 7919 + 13) % 256 } 1 .. 65536);
close $fh;

$body{v2_unavailable} = error_body(422, 'ErrorStoreUnavailable',
                                   'Store service unavailable');
$body{v1_unavailable} = error_body(503, 'ErrorStoreUnavailable',
                                   'Store temporarily unavailable');
$body{domains_unavailable} = error_body(500, 'InternalServerError',
                               'Server error occurred while fetching domains');

our $V2 = '/api/v2/domains/staging.luma.gift/cart';
our @AUTH = ('x-firmly-authorization' => $tok{a});

# every cart route's answer while the store cannot be read
sub all_unavailable {
    my $test = shift;
    my %expected = (
        $V2 => "422 $body{v2_unavailable}",
        '/api/v1/domains/staging.luma.gift/cart' => "503 $body{v1_unavailable}",
        '/api/v2/carts/active' => "503 $body{v1_unavailable}",
        '/api/v2/carts/active-domains' => "500 $body{domains_unavailable}",
    );

    for my $path (sort keys %expected) {
        Test::More::is(scalar http_get($path, @AUTH), $expected{$path},
                       "$test - $path: store unavailable");
    }
}

# nginx started on a bad store: its worker answers "store unavailable" and
# is the same process a while later
sub stays_up {
    my $test = shift;
    my $pid = http_get('/pid');

    all_unavailable($test);
    Time::HiRes::sleep(1.5);
    all_unavailable("$test, later");
    Test::More::is(scalar http_get('/pid'), $pid, "$test - the same worker");
}

# a data file put back as it was, in place (the same inode)
sub put_back {
    my ($file, $bytes) = @_;
    open my $out, '+<', $file or die "$file: $!";
    binmode $out;
    print $out $bytes;
    close $out or die "$file: $!";
}

run_tests();

__DATA__

=== TEST 1: a missing store: nginx starts, requests get 422, the log says why
--- http_config eval
"cart_store /nonexistent/cart-store;
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 422
--- response_body eval
$::body{v2_unavailable}
--- error_log
cart_store "/nonexistent/cart-store" is unavailable: No such file or directory



=== TEST 2: a store created after nginx started is used without a reload
--- http_config eval
"cart_store $ENV{TEST_NGINX_LATE_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- init
File::Path::remove_tree($ENV{TEST_NGINX_LATE_STORE});
my $before = CartTest::http_get('/api/v2/domains/staging.luma.gift/cart',
                      'x-firmly-authorization' => $::tok{a});
Test::More::like($before, qr/^422 /, "TEST 2 - 422 before the store exists");
CartTest::store($ENV{TEST_NGINX_LATE_STORE}, "$CartTest::DATA/base.ndjson");
Time::HiRes::sleep(1.1);
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body eval
$::body{v2_page002}



=== TEST 3: an import while nginx runs is seen by the next request
--- http_config eval
"cart_store $ENV{TEST_NGINX_LIVE_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- init
my $before = CartTest::http_get('/api/v2/domains/demo.luma.gift/cart',
                      'x-firmly-authorization' => $::tok{a});
Test::More::like($before, qr/^200 \{"cart_id":"cart_def456",/,
                 "TEST 3 - the old cart before the import");
CartTest::cartctl('--store', $ENV{TEST_NGINX_LIVE_STORE}, 'import',
        "$CartTest::DATA/live-update.ndjson");
--- request
GET /api/v2/domains/demo.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body_like chomp
^\{"cart_id":"cart_def456_v2",



=== TEST 4: a new store moved into place is used from the next second on
--- http_config eval
"cart_store $ENV{TEST_NGINX_SWAP_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- init
my $dir = $ENV{TEST_NGINX_SWAP_STORE};
my $before = CartTest::http_get('/api/v2/domains/demo.luma.gift/cart',
                                'x-firmly-authorization' => $CartTest::tok{a});
Test::More::like($before, qr/^200 \{"cart_id":"cart_def456",/,
                 "TEST 4 - the old store's cart first");
CartTest::store("$dir.new", "$CartTest::DATA/base.ndjson",
                "$CartTest::DATA/live-update.ndjson");
File::Path::remove_tree("$dir.old");
rename $dir, "$dir.old" or die "rename: $!";
rename "$dir.new", $dir or die "rename: $!";
Time::HiRes::sleep(1.1);
--- request
GET /api/v2/domains/demo.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body_like chomp
^\{"cart_id":"cart_def456_v2",
--- error_log eval
qr/cart_store "\Q$ENV{TEST_NGINX_SWAP_STORE}\E" was replaced, reopening/



=== TEST 5: a store of another layout is not read, and the log says why
--- http_config eval
"cart_store $ENV{TEST_NGINX_OLD_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 422
--- response_body eval
$::body{v2_unavailable}
--- error_log eval
qr/cart_store "\Q$ENV{TEST_NGINX_OLD_STORE}\E" has layout 1, this module reads layout 5/



=== TEST 6: a store truncated under nginx: "store unavailable" on every cart route, other locations answer, the whole store is served again
--- http_config eval
"cart_store $ENV{TEST_NGINX_CUT_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- config eval
"include $ENV{TEST_NGINX_API_CONF};
location = /plain { return 200 'plain'; }"
--- init
my $data = "$ENV{TEST_NGINX_CUT_STORE}/data.mdb";
my $whole = CartTest::slurp($data);
Test::More::like(scalar CartTest::http_get($::V2, @::AUTH), qr/^200 /,
                 "TEST 6 - 200 before");
truncate $data, 8192 or die "truncate: $!";
Time::HiRes::sleep(1.1);
::all_unavailable('TEST 6');
Test::More::is(scalar CartTest::http_get('/plain'), '200 plain',
               'TEST 6 - a location without the module answers');
::put_back($data, $whole);
Time::HiRes::sleep(1.1);
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body eval
$::body{v2_page002}
--- error_log eval
qr/is unavailable: data\.mdb has 8192 bytes, its meta page says \d+ \(truncated/
--- no_error_log
exited on signal



=== TEST 7: a read that faults (the file shrank since this second's check) is caught: the store is closed, the worker lives
--- http_config eval
"cart_store $ENV{TEST_NGINX_FAULT_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- config eval
"include $ENV{TEST_NGINX_API_CONF};
location = /plain { return 200 'plain'; }"
--- init
my $data = "$ENV{TEST_NGINX_FAULT_STORE}/data.mdb";
my $whole = CartTest::slurp($data);

# the two requests must fall in one second; a slow worker (valgrind) may
# need another try
for my $try (1 .. 5) {
    CartTest::early_in_second();
    Test::More::like(scalar CartTest::http_get($::V2, @::AUTH), qr/^200 /,
                     "TEST 7 - 200, and the file looked at this second");
    truncate $data, 8192 or die "truncate: $!";
    Test::More::is(scalar CartTest::http_get($::V2, @::AUTH),
                   "422 $::body{v2_unavailable}",
                   'TEST 7 - 422 from the read that faulted');
    Test::More::is(scalar CartTest::http_get('/plain'), '200 plain',
                   'TEST 7 - the same worker answers');
    ::put_back($data, $whole);
    Time::HiRes::sleep(1.1);
    last if CartTest::error_log_text() =~ /SIGBUS at/;
}
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body eval
$::body{v2_page002}
--- error_log eval
qr/\[crit\] .*cart_store "\Q$ENV{TEST_NGINX_FAULT_STORE}\E": SIGBUS at \S+ while reading the store/
--- no_error_log
exited on signal
[alert]



=== TEST 8: a deleted store is unavailable within a second, and opened again when it is back
--- http_config eval
"cart_store $ENV{TEST_NGINX_GONE_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- init
my $dir = $ENV{TEST_NGINX_GONE_STORE};
Test::More::like(scalar CartTest::http_get($::V2, @::AUTH), qr/^200 /,
                 "TEST 8 - 200 before");
File::Path::remove_tree($dir);
Time::HiRes::sleep(1.1);
::all_unavailable('TEST 8');
Test::More::like(CartTest::error_log_text(),
                 qr/cart_store "\Q$dir\E" is unavailable: stat\(\) of data\.mdb failed \(2: No such file or directory\)/,
                 'TEST 8 - the log says why');
CartTest::store($dir, "$CartTest::DATA/base.ndjson");
Time::HiRes::sleep(1.1);
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body eval
$::body{v2_page002}



=== TEST 9: a data file copied over a live store (cp new/data.mdb STORE/) is refused while the lock file names another, and served once the worker has reopened it alone
--- http_config eval
"cart_store $ENV{TEST_NGINX_COPIED_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- init
my $dir = $ENV{TEST_NGINX_COPIED_STORE};
Test::More::like(scalar CartTest::http_get($::V2, @::AUTH), qr/^200 /,
                 "TEST 9 - 200 before");
File::Copy::copy("$ENV{TEST_NGINX_TMP}/fresh/data.mdb", "$dir/data.mdb")
    or die "copy: $!";
Time::HiRes::sleep(1.1);
Test::More::is(scalar CartTest::http_get($::V2, @::AUTH),
               "422 $::body{v2_unavailable}", 'TEST 9 - 422 after the copy');
Test::More::like(CartTest::error_log_text(),
                 qr/data\.mdb ends at transaction \d+, lock\.mdb says \d+ \(a data file copied over a live store/,
                 'TEST 9 - the log says why');
Time::HiRes::sleep(1.1);
--- request
GET /api/v2/domains/demo.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body_like chomp
^\{"cart_id":"cart_def456_v2",
--- no_error_log
exited on signal



=== TEST 10: nginx started on a truncated store: the worker starts once, stays, and answers "store unavailable"
--- http_config eval
"cart_store $ENV{TEST_NGINX_SHORT_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- config eval
"include $ENV{TEST_NGINX_API_CONF};
location = /pid { return 200 \$pid; }"
--- init
::stays_up('TEST 10');
my @starts = CartTest::error_log_text() =~ /start worker process \d+/g;
Test::More::is(scalar @starts, 1, 'TEST 10 - one worker started');
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 422
--- response_body eval
$::body{v2_unavailable}
--- no_error_log
exited on signal



=== TEST 11: nginx started on an empty data file: the same
--- http_config eval
"cart_store $ENV{TEST_NGINX_EMPTY_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- config eval
"include $ENV{TEST_NGINX_API_CONF};
location = /pid { return 200 \$pid; }"
--- init
::stays_up('TEST 11');
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 422
--- response_body eval
$::body{v2_unavailable}
--- no_error_log
exited on signal



=== TEST 12: nginx started on a data file of garbage: the same
--- http_config eval
"cart_store $ENV{TEST_NGINX_GARBAGE_STORE};
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- config eval
"include $ENV{TEST_NGINX_API_CONF};
location = /pid { return 200 \$pid; }"
--- init
::stays_up('TEST 12');
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- error_code: 422
--- response_body eval
$::body{v2_unavailable}
--- no_error_log
exited on signal



=== TEST 13: a relative cart_store is nginx's prefix's, as every path in nginx.conf
--- http_config eval
"cart_store logs/relative-store;
cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;"
--- init
# in logs/, which Test::Nginx clears before each block: a file left in the
# server root itself would stop the next block (without HUP); with HUP it
# may be there from the block's run before
my $link = Test::Nginx::Socket::server_root() . '/logs/relative-store';
unlink $link;
symlink $ENV{TEST_NGINX_STORE}, $link or die "symlink: $!";
Time::HiRes::sleep(1.1);
--- request
GET /api/v2/domains/staging.luma.gift/cart
--- more_headers eval
"x-firmly-authorization: $::tok{a}"
--- response_body eval
$::body{v2_page002}
