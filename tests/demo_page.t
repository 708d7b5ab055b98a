# The demo page of "make run" (conf/www), as a person sees it in Debian's
# headless Chromium (tests/js/demo_page.mjs): the demo device's three
# stores with their items, images and totals; a cart changed in the store
# shows up, the polls in between are 304s; an unavailable store and a bad
# token are said in words. The screenshots are kept in build/demo-page.png
# and build/demo-page-unavailable.png.

use strict;
use utf8;
use warnings;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Test::More;

use lib abs_path('t/lib');
use CartTest;

my $nginx = $ENV{TEST_NGINX_BINARY} or die "TEST_NGINX_BINARY is not set\n";
my $module = $ENV{TEST_NGINX_LOAD_MODULES} or die "no TEST_NGINX_LOAD_MODULES\n";
my $cartctl = $ENV{TEST_NGINX_CARTCTL} or die "TEST_NGINX_CARTCTL is not set\n";

-x '/usr/bin/chromium' && -d 'tests/js/node_modules/playwright-core'
    or BAIL_OUT('Chromium or playwright-core is missing: make test '
                . 'installs them');

my $dir = tempdir('demo-page-XXXXXX', DIR => abs_path('build'),
                  CLEANUP => 1);
chmod 0755, $dir;

# a store of its own: the test changes a cart and takes the store away
my $store = store("$dir/store", abs_path('conf/demo.ndjson'));
system("chmod -R a+rwX $store") == 0 or die 'chmod';

# the staging cart with a second hoodie: $268.79 instead of $209.39
my ($line) = grep { /"kind":"cart"/ && /"domain":"staging\.luma\.gift"/ }
             split /\n/, slurp('conf/demo.ndjson');
my $record = decode_json($line);
my $cart = $record->{cart};
$cart->{line_items}[0]{quantity} = 2;
for ([$cart->{line_items}[0]{line_price}, 10800], [$cart->{sub_total}, 10800],
     [$cart->{tax_total}, 1080], [$cart->{total}, 26879]) {
    my ($money, $number) = @$_;
    @$money{qw(number value)} = ($number, $number / 100);
}
open my $fh, '>', "$dir/change.ndjson" or die;
print $fh encode_json($record), "\n";
close $fh;

my $port = free_port();
$ENV{DEMO_PREFIX} = "$dir/demo";
my $pid = spawn("$dir/demo.stderr", 'sh', '-c',
                'exec sh conf/demo.sh "$@" >/dev/null', 'demo.sh',
                $nginx, $module, $store, $port);

for (1 .. 100) {
    last if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port);
    select undef, undef, undef, 0.1;
}

my $shot = abs_path('build') . '/demo-page.png';
unlink $shot, $shot =~ s/\.png$/-unavailable.png/r;

my $out = `node tests/js/demo_page.mjs http://127.0.0.1:$port/ $shot \\
    '$cartctl --store $store import $dir/change.ndjson' \\
    'mv $store/data.mdb $store/data.mdb.away' \\
    'mv $store/data.mdb.away $store/data.mdb' 2>$dir/node.stderr`;
my $rc = $? >> 8;

kill 'TERM', $pid;
waitpid $pid, 0;

is($rc, 0, 'the page is driven through every step')
    or diag(slurp("$dir/node.stderr"));
my $seen = eval { decode_json($out) } or BAIL_OUT("no JSON from the page: $out");

sub stores {
    my ($view) = @_;
    return { map { $_->{name} => $_->{total} } @{ $view->{stores} } };
}

# what the page shows once the carts are fetched
my $first = $seen->{first};

is_deeply(stores($first), { 'Luma Store' => '$209.39',
                            'Luma Demo' => '$24.20',
                            'Luma Shop' => '$92.40' },
          'the three stores, each with its total in its currency');
is_deeply([map { $_->{domain} } @{ $first->{stores} }],
          ['demo.luma.gift', 'staging.luma.gift', 'shop.luma.gift'],
          '... in the order of the API: most recently updated first');
is($first->{summary}, '4 items at 3 stores', 'the count of items and stores');
is($first->{grandTotal}, 'All stores: $325.99', 'the total of all stores');

my @items = map { @{ $_->{items} } } @{ $first->{stores} };
is_deeply([map { "$_->{name} | $_->{detail} | $_->{price}" } @items],
          ['Radiant Tee - Orange XS | Orange / XS · Qty 1 | $22.00',
           'Hero Hoodie | Gray / XS · Qty 1 | $54.00',
           'Beaumont Summit Kit | Orange / XS · Qty 2 | $84.00'],
          'each item: its name, variant, quantity and line price');
is_deeply([map { $_->{image} } @items],
          [{ src => '/img/radiant-tee.svg', loaded => JSON::PP::true },
           { src => '/img/hero-hoodie.svg', loaded => JSON::PP::true },
           { src => '/img/summit-kit.svg', loaded => JSON::PP::true }],
          'each item with its image, loaded');
is($first->{notice}, undef, 'no error shown');

# unchanged carts cost 304s: the page counted them, and so did nginx
cmp_ok($seen->{unchanged}{notModified}, '>=', 3,
       "the page's polls were answered 304 "
       . "($seen->{unchanged}{notModified} of $seen->{unchanged}{polls})");
my @log = grep { m{"GET /api/v2/carts/active HTTP/1.1"} }
          split /\n/, slurp("$dir/demo/access.log");
my $not_modified = grep { / 304 0 / } @log;
cmp_ok($not_modified, '>=', 3,
       "nginx answered $not_modified of its " . scalar(@log)
       . ' requests 304, without a body');

# a cart changed in the store
my $changed = $seen->{changed};
is(stores($changed)->{'Luma Store'}, '$268.79',
   "a changed cart's new total shows ($seen->{changeMs} ms after the change)");
is($changed->{summary}, '5 items at 3 stores', '... and the new count');
is($changed->{grandTotal}, 'All stores: $385.39', '... and the new sum');
my ($hoodie) = grep { $_->{name} eq 'Hero Hoodie' }
               map { @{ $_->{items} } } @{ $changed->{stores} };
is("$hoodie->{detail} | $hoodie->{price}", 'Gray / XS · Qty 2 | $108.00',
   '... and the changed line');

# the store unavailable, then back
like($seen->{broken}{notice},
     qr/^Carts are unavailable right now\. Nothing in them is lost; this page keeps trying\.\n+\(503 ErrorStoreUnavailable\)$/,
     'an unavailable store is said in words, with the code for support');
is(scalar @{ $seen->{broken}{stores} }, 3, '... under it, the last carts');
is($seen->{mended}{notice}, undef, 'the store back: the notice is gone');
is_deeply(stores($seen->{mended}), stores($changed), '... and the carts');

# a token that is not one
like($seen->{badToken}{notice},
     qr/^Your session has ended, so your carts cannot be shown\. Reload the page to start a new session\.\n+\(401 InvalidToken\)$/,
     'a bad token is said in words');
is($seen->{badToken}{summary}, 'Your carts cannot be shown',
   '... and no carts are claimed');
is(scalar @{ $seen->{badToken}{stores} }, 0, '... nor shown');

# nothing else went wrong in the page: only the two errors it was shown
my @console = grep { !m{^error: Failed to load resource: the server responded with a status of (401|503)} }
              @{ $seen->{console} };
is_deeply(\@console, [], 'no other message in the console');

# the screenshots: PNGs of the viewport
for my $file ($shot, $shot =~ s/\.png$/-unavailable.png/r) {
    my $png = -e $file ? slurp($file) : '';
    my ($w, $h) = length $png > 24 ? unpack('N2', substr($png, 16, 8))
                                   : (0, 0);
    ok(substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n" && $w == 1100 && $h == 900,
       "a screenshot in $file (${w}x$h)");
}

done_testing();
