# cartctl: import validation, all-or-nothing, idempotence, round trips,
# get, delete, stat, usage and exit codes.

use strict;
use warnings;
use lib 't/lib';
use CartTest;
use File::Temp qw(tempdir);
use Test::More;

my $bin = $ENV{TEST_NGINX_CARTCTL} or die "TEST_NGINX_CARTCTL is not set\n";
my $tmp = tempdir(CLEANUP => 1);

# runs cartctl; returns (exit status, stdout, stderr)
sub run {
    my ($stdin, @args) = @_;
    my $in = "$tmp/stdin";
    open my $fh, '>', $in or die $!;
    print $fh $stdin // '';
    close $fh;
    my $out = `$bin @args <$in 2>$tmp/stderr`;
    my $status = $? >> 8;
    open $fh, '<', "$tmp/stderr" or die $!;
    my $err = do { local $/; <$fh> };
    return ($status, $out, $err);
}

my $base = slurp("$DATA/base.ndjson");
my $store = "$tmp/s";
my ($rc, $out, $err);

($rc, $out) = run('', '--help');
is($rc, 0, '--help exits 0');
like($out, qr/^usage: cartctl --store DIR/, '--help prints the usage');

($rc, undef, $err) = run('', '--store', $store);
is($rc, 2, 'no command: usage, exit 2');
($rc, undef, $err) = run('', '--store', $store, 'frobnicate');
is($rc, 2, 'an unknown command: exit 2');
like($err, qr/unknown command: frobnicate/, 'and says which');
($rc, undef, $err) = run('', '--store', "$tmp/none", 'stat');
is($rc, 4, 'stat of no store: exit 4');
like($err, qr/no store at/, 'and says so');

($rc, undef, $err) = run($base, '--store', $store, 'import');
is($rc, 0, 'imports the base fixture from standard input');
like($err, qr/imported 13 records/, 'and counts the records');

($rc, $out) = run('', '--store', $store, 'stat');
like($out, qr/^domains\s+4$/m, 'stat: 4 domains');
like($out, qr/^devices\s+3$/m, 'stat: 3 devices');
like($out, qr/^carts\s+6$/m, 'stat: 6 carts');
like($out, qr/^map_used\s+\d+ \(\d+\.\d%\)$/m, 'stat: map use');

# a store of another layout is neither read nor written
run($base, '--store', "$tmp/old", 'import');
put_records("$tmp/old", 'meta', layout => pack('L', 1));
($rc, undef, $err) = run($base, '--store', "$tmp/old", 'import');
is($rc, 4, 'import into a store of layout 1: exit 4');
like($err, qr/has store layout 1, this cartctl writes layout 5/,
     'and says why');
($rc, undef, $err) = run('', '--store', "$tmp/old", 'dump');
is($rc, 4, 'dump of a store of layout 1: exit 4');

my $md5 = `md5sum $store/data.mdb`;
($rc) = run($base, '--store', $store, 'import', '-');
is($rc, 0, 'importing the same file again works');
is(`md5sum $store/data.mdb`, $md5, 'and changes nothing');

($rc, $out) = run('', '--store', $store, 'get', 'cart', $DEV_A,
                  'STAGING.luma.gift');
is($out, slurp("$DATA/page-002-cart.v2.json") . "\n",
   'get cart: the V2 bytes the module serves');
($rc, $out) = run('', '--store', $store, 'get', 'cart', $DEV_A,
                  'staging.luma.gift', '--v1');
is($out, slurp("$DATA/page-002-cart.v1.json"), 'get cart --v1: the V1 view');
($rc, $out) = run('', '--store', $store, 'get', 'domain', 'closed.luma.gift');
is($out, '{"kind":"domain","domain":"closed.luma.gift","display_name":'
         . '"Luma Closed","platform_id":"shopify","available":false,'
         . '"currency":"USD","currency_symbol":"$"}' . "\n",
   'get domain: an import line');
($rc, $out) = run('', '--store', $store, 'get', 'device', $DEV_OLD);
is($out, qq({"kind":"device","device_id":"$DEV_OLD",)
         . qq("expires_at":"2020-01-01T00:00:00Z"}\n), 'get device');
($rc, undef, $err) = run('', '--store', $store, 'get', 'cart', $DEV_B,
                         'demo.luma.gift');
is($rc, 3, 'get of a missing cart: exit 3');
($rc) = run('', '--store', $store, 'get', 'cart', 'bad/id', 'x.com');
is($rc, 2, 'get with a bad device id: exit 2');

# dump, import into a new store, dump again: the same lines
my ($dump1, $dump2);
($rc, $dump1) = run('', '--store', $store, 'dump');
is($rc, 0, 'dump');
is(scalar(() = $dump1 =~ /\n/g), 13, 'dump: one line a record');
($rc) = run($dump1, '--store', "$tmp/copy", 'import');
is($rc, 0, 'the dump imports');
($rc, $dump2) = run('', '--store', "$tmp/copy", 'dump');
is($dump2, $dump1, 'and dumps the same again');

# an import in key order appends (MDB_APPEND), one out of order puts: the
# same records either way, in every database
my @lines = split /^/, $dump1;
my @kinds = map { my $k = $_; grep { /^\{"kind":"$k"/ } @lines }
            qw(domain device);
($rc) = run(join('', @kinds, reverse grep { !/^\{"kind":"d(omain|evice)"/ }
                                          @lines),
            '--store', "$tmp/reversed", 'import');
is($rc, 0, 'the dump imports with its carts in reverse order');
is(join('', map { scalar `mdb_dump -s $_ $tmp/reversed` }
                qw(domains carts carts_v1)),
   join('', map { scalar `mdb_dump -s $_ $tmp/copy` }
                qw(domains carts carts_v1)),
   'and holds the same records as the copy made in order');
($rc, $out) = run('', '--store', "$tmp/copy", 'get', 'cart', $DEV_A,
                  'staging.luma.gift');
is($out, slurp("$DATA/page-002-cart.v2.json") . "\n",
   'the copy serves the same bytes');

# views kept plain (--keep-plain): a store made so, its records larger, the
# same bytes served and dumped; a store made without refuses the option
($rc, undef, $err) = run($dump1, '--store', "$tmp/kept", '--keep-plain',
                         'import');
is($rc, 0, '--keep-plain: a new store keeps its views plain too');
($rc, $out) = run('', '--store', "$tmp/kept", 'stat');
like($out, qr/^views\s+deflated, plain kept$/m, 'stat says so');
($rc, $out) = run('', '--store', $store, 'stat');
like($out, qr/^views\s+deflated$/m, '... and of a store made without');
# (the V1 fixture ends with a newline, the V2 one does not)
for (['carts', 'v2', 0], ['carts_v1', 'v1', 1]) {
    my ($db, $view, $newline) = @$_;
    is(length get_record("$tmp/kept", $db, "$DEV_A\0staging.luma.gift"),
       length(get_record($store, $db, "$DEV_A\0staging.luma.gift"))
       + length(slurp("$DATA/page-002-cart.$view.json")) - $newline,
       "... its $db records hold the $view view plain besides");
}
($rc, $out) = run('', '--store', "$tmp/kept", 'get', 'cart', $DEV_A,
                  'staging.luma.gift', '--v1');
is($out, slurp("$DATA/page-002-cart.v1.json"), '... and get the same views');
($rc, $out) = run('', '--store', "$tmp/kept", 'dump');
is($out, $dump1, '... and dump the same lines');
($rc) = run($base, '--store', "$tmp/kept", 'import');
($rc, $out) = run('', '--store', "$tmp/kept", 'get', 'cart', $DEV_A,
                  'staging.luma.gift');
is($rc . $out, '0' . slurp("$DATA/page-002-cart.v2.json") . "\n",
   '... also when written again without the option');
cmp_ok(length get_record("$tmp/kept", 'carts', "$DEV_A\0staging.luma.gift"),
       '>', length slurp("$DATA/page-002-cart.v2.json"),
       '... still kept plain, as the store says');
($rc, undef, $err) = run($base, '--store', $store, '--keep-plain', 'import');
is($rc, 2, '--keep-plain on a store made without: exit 2');
like($err, qr/was made without plain views: --keep-plain is for a new store/,
     '... and says why');

# Spree records: a store's publishable key, a customer's cart
my $key_line = '{"kind":"api_key","store":"default","token":"pk_test_1"}';
my $spree_line = '{"kind":"spree_cart","store":"default","user_id":7,'
                 . '"created_at":"2026-01-01T00:00:00Z",'
                 . '"updated_at":"2026-01-02T00:00:00.5Z","completed_at":null,'
                 . '"cart":{"id":"cart_1","currency":"USD","total":"10.0",'
                 . '"display_total":"$10.00","items":[]}}';

# Spree: import, stat, get, dump and its round trip, a cart that changes
# hands, deletions
my $spree = "$tmp/spree";
($rc, undef, $err) = run(slurp("$DATA/spree.ndjson"), '--store', $spree,
                         'import');
is($rc, 0, 'Spree: imports its fixture');
like($err, qr/imported 5 records/, 'Spree: and counts the records');
($rc, $out) = run('', '--store', $spree, 'stat');
like($out, qr/^api_keys\s+3$/m, 'stat: 3 publishable keys');
like($out, qr/^spree_carts\s+2$/m, 'stat: 2 Spree carts');

($rc, $out) = run('', '--store', $spree, 'get', 'api_key', 'default',
                  'pk_test_revoked_0123456789abcdef');
is($out, '{"kind":"api_key","store":"default",'
         . '"token":"pk_test_revoked_0123456789abcdef","revoked":true}' . "\n",
   'get api_key: an import line');
($rc) = run('', '--store', $spree, 'get', 'api_key', 'other',
            'pk_test_revoked_0123456789abcdef');
is($rc, 3, "get api_key: another store's: exit 3");
($rc, undef, $err) = run('', '--store', $spree, 'get', 'api_key', 'Other',
                         'pk_x');
is($rc, 2, 'get api_key: not a store name: exit 2');
like($err, qr/not a store name: Other/, 'get api_key: and says so');

my $page003 = slurp("$DATA/page-003-carts.json");
for my $id (qw(cart_gbHJdmfrXB cart_UkLWZg9DAJ)) {
    ($rc, $out) = run('', '--store', $spree, 'get', 'spree_cart', 'default',
                      $id);
    chomp $out;
    like($page003, qr/^\{"data":\[(?:\{"id":"cart_gbHJdmfrXB".*\},)?\Q$out\E[\],]/,
         "get spree_cart $id: the bytes the page lists");
}

($rc, $dump1) = run('', '--store', $spree, 'dump');
is(scalar(() = $dump1 =~ /\n/g), 5, 'Spree dump: one line a record');
($rc) = run($dump1, '--store', "$tmp/spree-copy", 'import');
is($rc, 0, 'Spree dump: imports');
($rc, $dump2) = run('', '--store', "$tmp/spree-copy", 'dump');
is($dump2, $dump1, 'Spree dump: and dumps the same again');
my @get = ('get', 'spree_cart', 'default', 'cart_gbHJdmfrXB');
is((run('', '--store', "$tmp/spree-copy", @get))[1],
   (run('', '--store', $spree, @get))[1],
   'Spree dump: the copy serves the same bytes');

($rc) = run("$spree_line\n", '--store', $spree, 'import');
($rc) = run($spree_line =~ s/"user_id":7/"user_id":8/r
            =~ s/"total":"10.0"/"total":"11.0"/r . "\n",
            '--store', $spree, 'import');
is($rc, 0, 'Spree: a cart imported again for another customer');
($rc, $out) = run('', '--store', $spree, 'stat');
like($out, qr/^spree_carts\s+3$/m, 'replaces the one of the first');
($rc, $out) = run('', '--store', $spree, 'dump');
like($out, qr/"user_id":8,.*"id":"cart_1".*"total":"11.0"/,
     'the cart is the second customer\'s');
unlike($out, qr/"user_id":7,/, 'and not the first\'s');
($rc, $out) = run('', '--store', $spree, 'get', 'spree_cart', 'default',
                  'cart_1');
like($out, qr/"total":"11.0"/, 'get spree_cart: the new cart');

($rc) = run('{"kind":"spree_cart","store":"default","id":"cart_1",'
            . '"deleted":true}', '--store', $spree, 'import');
is($rc, 0, 'a deleted Spree cart record imports');
($rc) = run('', '--store', $spree, 'get', 'spree_cart', 'default', 'cart_1');
is($rc, 3, 'and removes the cart');
($rc, $out) = run('', '--store', $spree, 'stat');
like($out, qr/^spree_carts\s+2$/m, 'stat: counts it gone');
($rc) = run('', '--store', $spree, 'delete', 'spree_cart', 'default',
            'cart_UkLWZg9DAJ');
is($rc, 0, 'delete spree_cart');
($rc) = run('', '--store', $spree, 'delete', 'spree_cart', 'default',
            'cart_UkLWZg9DAJ');
is($rc, 3, 'delete spree_cart again: exit 3');
($rc) = run('', '--store', $spree, 'delete', 'api_key', 'default',
            'pk_test_default_0123456789abcdef');
is($rc, 0, 'delete api_key');
($rc) = run('', '--store', $spree, 'get', 'api_key', 'default',
            'pk_test_default_0123456789abcdef');
is($rc, 3, 'and it is gone');
($rc, $out) = run('', '--store', $spree, 'dump');
is(scalar(() = $out =~ /\n/g), 3, 'dump: the 3 records left');

# invalid input: the line, the field, the reason; nothing written
my $domain = '{"kind":"domain","domain":"x.example","display_name":"X",'
             . '"platform_id":"shopify","available":true}';
my $device = '{"kind":"device","device_id":"dev-1",'
             . '"expires_at":"2099-01-01T00:00:00Z"}';
my $money = '{"currency":"USD","value":1.5,"number":150,"symbol":"$"}';
my $cart = '{"cart_id":"c1","line_items":[{"line_item_id":"i1",'
           . '"quantity":1,"price":' . $money . ',"line_price":' . $money
           . '}],"sub_total":' . $money . ',"total":' . $money . '}';
my $cart_line = '{"kind":"cart","device_id":"dev-1","domain":"x.example",'
                . '"expires_at":"2099-01-01T00:00:00Z",'
                . '"updated_at":"2026-01-01T00:00:00Z","cart":' . $cart . '}';

(my $bad_currency = $cart_line) =~ s/"USD"/"USX"/;
(my $bad_value = $cart_line) =~ s/"value":1.5/"value":1.51/;
(my $bad_time = $cart_line) =~ s/2099-01-01T00:00:00Z/2099-01-01/;
(my $no_cart = $cart_line) =~ s/,"cart":.*\}$/}/;
(my $other_domain = $cart_line) =~ s/x\.example/y.example/;
(my $bad_domain = $domain) =~ s/x\.example/x example/;

my @invalid = (
    ['{"kind":"domain",', qr/^line 3: json: .+ \(column \d+\)$/m,
     'malformed JSON'],
    ['{"kind":"thing"}',
     qr/^line 3: kind: must be "domain", "device", "cart", "api_key" or "spree_cart"$/m,
     'an unknown kind'],
    ['{"kind":"domain","domain":"z.example","display_name":"Z",'
     . '"platform_id":"p","available":"yes"}',
     qr/^line 3: available: must be a boolean$/m, 'a boolean'],
    [$bad_domain, qr/^line 3: domain: not a domain name/m, 'a domain name'],
    ['{"kind":"device","device_id":"a b","expires_at":"2099-01-01T00:00:00Z"}',
     qr/^line 3: device_id: must be 1 to 256 of/m, 'a device id'],
    ['{"kind":"device","device_id":"d","expires_at":"2099-01-01T00:00:00Z",'
     . '"color":"red"}', qr/^line 3: color: unknown field$/m,
     'unknown fields'],
    [$bad_currency,
     qr/^line 3: cart\.line_items\[0\]\.price\.currency: not an ISO 4217 currency code$/m,
     'an ISO 4217 currency, with the path to it'],
    [$bad_value,
     qr/^line 3: cart\.line_items\[0\]\.price\.value: does not match number/m,
     'value against number'],
    [$bad_time, qr/^line 3: expires_at: not an RFC 3339 timestamp/m,
     'an RFC 3339 timestamp'],
    [$no_cart, qr/^line 3: cart: required$/m, 'a cart needs its cart'],
    [$other_domain,
     qr/^line 3: domain: unknown domain "y\.example" \(import its domain record first\)$/m,
     'a cart needs its domain'],
);

push @invalid, (
    [$key_line =~ s/pk_test_1/sk_test_1/r,
     qr/^line 3: token: a publishable key: "pk_" and up to 125 of/m,
     'a publishable key'],
    [$key_line =~ s/"default"/"De fault"/r,
     qr/^line 3: store: must be 1 to 64 of a-z, 0-9, '_', '-'$/m,
     'a store name'],
    [$key_line =~ s/\}$/,"revoked":"no"}/r,
     qr/^line 3: revoked: must be a boolean$/m, 'revoked'],
    [$spree_line =~ s/"user_id":7/"user_id":"7"/r,
     qr/^line 3: user_id: must be a positive integer, or null for a guest$/m,
     'a user id string'],
    [$spree_line =~ s/"user_id":7/"user_id":0/r,
     qr/^line 3: user_id: must be a positive integer/m, 'user id 0'],
    [$spree_line =~ s/"user_id":7,//r,
     qr/^line 3: user_id: required \(null: a guest\)$/m, 'a user id'],
    [$spree_line =~ s/2026-01-01T00:00:00Z/yesterday/r,
     qr/^line 3: created_at: not an RFC 3339 timestamp/m, 'created_at'],
    [$spree_line =~ s/"updated_at":"[^"]*",//r,
     qr/^line 3: updated_at: required$/m, 'updated_at'],
    [$spree_line =~ s/"completed_at":null/"completed_at":1/r,
     qr/^line 3: completed_at: not an RFC 3339 timestamp/m, 'completed_at'],
    [$spree_line =~ s/,"cart":.*\}$/}/r,
     qr/^line 3: cart: required$/m, 'a Spree cart needs its cart'],
    [$spree_line =~ s/"id":"cart_1",//r,
     qr/^line 3: cart\.id: required$/m, "the cart's id"],
    [$spree_line =~ s/"USD"/"usd"/r,
     qr/^line 3: cart\.currency: not an ISO 4217 currency code$/m,
     "the cart's currency"],
    [$spree_line =~ s/"total":"10.0"/"total":"1e3"/r,
     qr/^line 3: cart\.total: not a decimal amount as Spree prints it/m,
     'an amount as Spree prints it, with the path to it'],
    [$spree_line =~ s/"display_total":"\$10.00"/"display_total":10/r,
     qr/^line 3: cart\.display_total: must be a string$/m,
     'a display amount'],
    [$spree_line =~ s/\{"kind":"spree_cart",/{"kind":"spree_cart","id":"cart_1",/r,
     qr/^line 3: id: only with "deleted": the cart's id is cart\.id$/m,
     'an id beside the cart'],
    [$spree_line =~ s/"store":"default",/"store":"default","user":7,/r,
     qr/^line 3: user: unknown field$/m, 'an unknown field'],
);

for my $case (@invalid) {
    my ($line, $re, $what) = @$case;
    ($rc, undef, $err) = run("$domain\n$device\n$line\n$cart_line\n",
                             '--store', "$tmp/bad", 'import');
    is($rc, 1, "invalid: $what: exit 1");
    like($err, $re, "invalid: $what: says where and why");
    like($err, qr/nothing imported/, "invalid: $what: nothing imported");
    ($rc) = run('', '--store', "$tmp/bad", 'get', 'domain', 'x.example');
    is($rc, 3, "invalid: $what: not even the valid lines before it");
}

($rc, undef, $err) = run('', '--store', $store, 'import', "$tmp/nofile");
is($rc, 1, 'an unreadable file: exit 1');

# deletions; a cart's V1 view (its entry in carts_v1) goes with the cart
sub v1_entries {
    my $dump = `mdb_dump -s carts_v1 $_[0]`;
    $? == 0 or die "mdb_dump -s carts_v1 $_[0] failed";
    return scalar(() = $dump =~ /^ /mg) / 2;
}

($rc) = run("$domain\n$device\n$cart_line\n\n", '--store', "$tmp/del",
            'import');
is($rc, 0, 'blank lines are skipped');
is(v1_entries("$tmp/del"), 1, 'a cart has its V1 entry');
($rc) = run('{"kind":"cart","device_id":"dev-1","domain":"x.example",'
            . '"deleted":true}', '--store', "$tmp/del", 'import');
is($rc, 0, 'a deleted cart record imports');
($rc) = run('', '--store', "$tmp/del", 'get', 'cart', 'dev-1', 'x.example');
is($rc, 3, 'and removes the cart');
is(v1_entries("$tmp/del"), 0, 'and its V1 entry');
($rc) = run("$cart_line\n", '--store', "$tmp/del", 'import');
($rc) = run('', '--store', "$tmp/del", 'delete', 'cart', 'dev-1',
            'x.example');
is($rc, 0, 'delete cart');
is(v1_entries("$tmp/del"), 0, 'removes its V1 entry too');
($rc) = run("$cart_line\n", '--store', "$tmp/del", 'import');
($rc) = run('', '--store', "$tmp/del", 'delete', 'device', 'dev-1');
is($rc, 0, 'delete device');
($rc) = run('', '--store', "$tmp/del", 'get', 'cart', 'dev-1', 'x.example');
is($rc, 3, 'takes its carts with it');
is(v1_entries("$tmp/del"), 0, 'and their V1 entries');
($rc) = run('', '--store', "$tmp/del", 'delete', 'device', 'dev-1');
is($rc, 3, 'deleting what is not there: exit 3');
($rc) = run('', '--store', "$tmp/del", 'delete', 'domain');
is($rc, 2, 'delete without its argument: exit 2');

# a map too small for an import: exit 4, what to do, and nothing written
my $many = join '', map {
    my $id = sprintf 'many-%04d', $_;
    qq({"kind":"device","device_id":"$id","expires_at":"2030-01-01T00:00:00Z"}\n)
    . ($cart_line =~ s/"device_id":"dev-1"/"device_id":"$id"/r) . "\n"
} 1 .. 2000;
($rc, undef, $err) = run("$domain\n$many", '--store', "$tmp/tiny",
                         '--map-size', '1M', 'import');
is($rc, 4, 'a full map: exit 4');
like($err, qr/^line \d+: store: map full: use a larger --map-size \(now 1048576\)$/m,
     'a full map: says so, and what to do');
like($err, qr/nothing imported/, 'a full map: nothing imported');
($rc, $out) = run('', '--store', "$tmp/tiny", 'stat');
like($out, qr/^domains\s+0$/m, 'a full map: not even the domain before it');
($rc) = run("$domain\n$device\n$cart_line\n", '--store', "$tmp/tiny",
            'import');
is($rc, 0, 'a full map: the store takes a smaller import after');
my $before = `md5sum $tmp/tiny/data.mdb`;
($rc) = run($many, '--store', "$tmp/tiny", 'import');
is($rc, 4, 'a full map, on a store with data: exit 4');
is(`md5sum $tmp/tiny/data.mdb`, $before, 'and the data file is as it was');

# readers: processes that have the store open, and slots of dead ones
run("$domain\n$many", '--store', "$tmp/readers", 'import');
my %dumps = map {
    my $pid = open my $pipe, '-|', $bin, '--store', "$tmp/readers", 'dump'
        or die $!;
    ($pid => $pipe);    # unread: the dump waits in its read transaction
} 1 .. 2;
sleep 1;
($rc, $out) = run('', '--store', "$tmp/readers", 'stat');
like($out, qr/^readers\s+2 live \(2 in a transaction\), 0 stale, of 126 slots$/m,
     'stat: two dumps reading');
my ($victim, $other) = sort keys %dumps;
kill 'KILL', $victim;
waitpid $victim, 0;
($rc, $out) = run('', '--store', "$tmp/readers", 'stat');
like($out, qr/^readers\s+1 live \(1 in a transaction\), 1 stale, of 126 slots$/m,
     'stat: a reader killed leaves a stale slot');
($rc) = run('', '--store', "$tmp/readers", 'import');
($rc, $out) = run('', '--store', "$tmp/readers", 'stat');
like($out, qr/^readers\s+1 live \(1 in a transaction\), 0 stale, of 126 slots$/m,
     'stat: a writer clears stale slots');
kill 'KILL', $other;
close $_ for values %dumps;

done_testing();
