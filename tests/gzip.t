# The module's own gzip answers (issue 14), over generated carts: every
# route's answer with "Accept-Encoding: gzip" decompresses to exactly its
# plain answer, for 2,000 carts in both views, the active-cart listings of
# devices of 0 to 50 carts, and Spree pages of 0 to 50 carts (whole, or
# the members "fields" keeps, which are made per request and so sent
# plain).  Two decoders that are not the module's: Perl's
# IO::Uncompress::Gunzip on each answer, and gunzip(1) on all of them
# (one gzip member each, CRC and length checked).  The gzip ETag is the
# plain one with "-gzip"; Content-Length is the bytes sent.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Temp ();
use IO::Socket::INET;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use JSON::PP;
use Test::More;

use lib abs_path('t/lib');
use CartTest;
use SpreeTest ();

my $json = JSON::PP->new->canonical;
my $far = '2099-12-31T00:00:00Z';

# bench/gen's carts (realistic, deterministic), dealt out again: device k
# has k % 51 carts at as many domains, so listings of 0 to 50 carts
my (@domains, @carts);
open my $gen, '-|', 'bench/gen', '2000' or die "bench/gen: $!";
while (my $line = <$gen>) {
    my $rec = $json->decode($line);
    push @domains, $line if $rec->{kind} eq 'domain';
    push @carts, $rec if $rec->{kind} eq 'cart';
}
close $gen or die 'bench/gen failed';

my (@devices, %carts_of);
my $lines = join '', @domains;
my $next = 0;

for (my $k = 0; $next < @carts; $k++) {
    my $device = sprintf 'gz-%04d', $k;
    push @devices, $device;
    $lines .= $json->encode({ kind => 'device', device_id => $device,
                              expires_at => $far }) . "\n";

    for my $n (0 .. $k % 51 - 1) {
        last if $next >= @carts;
        my $c = $carts[$next++];
        $c->{device_id} = $device;
        $c->{domain} = sprintf 'd%04d.bench', 1 + ($k + $n) % 200;
        $lines .= $json->encode($c) . "\n";
        push @{ $carts_of{$device} }, $c->{domain};
    }
}

# Spree: customers of 0 to 50 carts (customer 0 has none) in the store
# "default", each cart the page 003 example's with its own id and times
open my $fixture, '<', "$CartTest::DATA/spree.ndjson" or die "spree.ndjson";
my ($template) = grep { /"id":"cart_gbHJdmfrXB"/ } <$fixture>;
close $fixture;
my @customers = (0 .. 50);
my $id = 0;

for my $user (@customers) {
    for my $n (1 .. $user) {
        my $rec = $json->decode($template);
        $id++;
        $rec->{user_id} = 5000 + $user;
        $rec->{cart}{id} = "cart_gz$id";
        $rec->{cart}{number} = sprintf 'R%09d', $id;
        $rec->{created_at} = sprintf '2026-01-%02dT10:00:%02dZ',
                                     1 + $id % 28, $id % 60;
        $rec->{updated_at} = sprintf '2026-02-%02dT10:%02d:00Z',
                                     1 + $id % 28, $id % 60;
        $lines .= $json->encode($rec) . "\n";
    }
}

my $tmp = File::Temp::tempdir('gzip-XXXXXX', DIR => abs_path('build'),
                              CLEANUP => 1);
open my $out, '>', "$tmp/gen.ndjson" or die "$tmp/gen.ndjson: $!";
print $out $lines;
close $out;

my %firmly_tok = map {
    $_ => jwt('RS256', "$CartTest::KEYS/rs256.key",
              { device_id => $_, exp => time + 3600 })
} @devices;

# a keep-alive HTTP/1.1 connection: (status, headers, body)
my ($sock, $port);
sub get {
    my ($path, %headers) = @_;

    for my $try (1 .. 100) {
        last if $sock;
        $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        Time::HiRes::sleep(0.1) if !$sock;
    }

    $sock or die "connect to port $port: $!";
    my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\n";
    $req .= "$_: $headers{$_}\r\n" for sort keys %headers;
    print $sock "$req\r\n";

    my $head = '';
    while ($head !~ /\r\n\r\n$/) {
        sysread($sock, my $c, 1) or die "$path: the connection closed";
        $head .= $c;
    }

    my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
    my ($len) = $head =~ /^Content-Length: (\d+)\r$/mi;
    die "$path: no Content-Length" if !defined $len;

    my $body = '';
    while (length $body < $len) {
        sysread($sock, $body, $len - length $body, length $body)
            or die "$path: the connection closed";
    }

    # after keepalive_requests, nginx says so and closes
    undef $sock if $head =~ /^Connection: close\r$/mi;

    return ($status, $head, $body);
}

my ($all_gz, $all_plain, %count, @failed);

# the route's answer both ways: the same JSON, the headers of each
sub both {
    my ($what, $path, $gzip_expected, %auth) = @_;
    my ($status, $head, $plain) = get($path, %auth);
    my ($gz_status, $gz_head, $gz) = get($path, %auth,
                                         'Accept-Encoding' => 'gzip');
    my ($etag) = $head =~ /^ETag: (.*)\r$/mi;
    my ($gz_etag) = $gz_head =~ /^ETag: (.*)\r$/mi;
    my @vary = $gz_head =~ /^Vary: (.*)\r$/mgi;
    my $fail;
    $count{$what}++;

    if ($status != 200 || $gz_status != 200) {
        $fail = "$status, $gz_status";

    } elsif (!$gzip_expected) {
        $fail = 'not plain to a client that accepts gzip'
            if $gz_head =~ /^Content-Encoding/mi || $gz ne $plain
               || $gz_etag ne $etag || @vary;

    } elsif ($head =~ /^Content-Encoding/mi) {
        $fail = 'plain answer encoded';

    } elsif ($gz_head !~ /^Content-Encoding: gzip\r$/mi) {
        $fail = 'no Content-Encoding: gzip';

    } elsif ("@vary" ne 'Accept-Encoding'
             || $head !~ /^Vary: Accept-Encoding\r$/mi)
    {
        $fail = 'Vary: ' . join(', ', @vary);

    } elsif (!defined $etag || $gz_etag ne ($etag =~ s/"$/-gzip"/r)) {
        $fail = "ETag $gz_etag for $etag";

    } else {
        my $out;

        if (!gunzip(\$gz => \$out, Strict => 1)) {
            $fail = "gunzip: $GunzipError";

        } elsif ($out ne $plain) {
            $fail = 'decompresses to other bytes';

        } else {
            print $all_gz $gz;
            print $all_plain $plain;
            $count{gzip_bytes} += length $gz;
            $count{plain_bytes} += length $plain;
        }
    }

    push @failed, "$what $path: $fail" if $fail;
}

# every route both ways, on a store of the layout: views deflated only,
# or kept plain too (cartctl --keep-plain)
sub layout {
    my ($layout, @store) = @_;
    my ($dir, $pid);

    ($dir, $port, $pid) = own_nginx("gzip-$layout", <<'MAIN', '',
master_process off;
events { worker_connections 64; }
MAIN
                                     $ROUTE_LOCATIONS, store => \@store,
                                     files => ["$tmp/gen.ndjson"]);

    undef $sock;
    %count = ();
    @failed = ();
    open $all_gz, '>:raw', "$dir/all.gz" or die;
    open $all_plain, '>:raw', "$dir/all.json" or die;

    like(`$ENV{TEST_NGINX_CARTCTL} --store $dir/store stat`,
         $layout eq 'kept' ? qr/^views +deflated, plain kept$/m
                           : qr/^views +deflated$/m,
         "$layout: the store's views as made");

    for my $device (@devices) {
        my %auth = ('x-firmly-authorization' => $firmly_tok{$device});

        for my $domain (@{ $carts_of{$device} // [] }) {
            both('V2 cart', "/api/v2/domains/$domain/cart", 1, %auth);
            both('V1 cart', "/api/v1/domains/$domain/cart", 1, %auth);
        }

        both('active carts', '/api/v2/carts/active', 1, %auth);
        both('active domains', '/api/v2/carts/active-domains', 0, %auth);
    }

    # V1's empty cart of a domain where the device has none: deflated too
    both('V1 empty cart', '/api/v1/domains/d0199.bench/cart', 1,
         'x-firmly-authorization' => $firmly_tok{'gz-0000'});

    for my $user (@customers) {
        my %auth = (Authorization => 'Bearer '
                                     . SpreeTest::spree_tok(5000 + $user),
                    'x-spree-api-key' => $SpreeTest::KEY);
        my $limit = 1 + $user % 25;
        my $pages = $user ? int(($user + $limit - 1) / $limit) : 1;

        both('Spree page', "/api/v3/store/carts?limit=50", 1, %auth);
        both('Spree page', "/api/v3/store/carts?limit=$limit&page=$_"
                           . '&sort=created_at', 1, %auth) for 1 .. $pages;
        both('Spree fields',
             '/api/v3/store/carts?limit=50&fields=number,total', 0, %auth);
    }

    close $all_gz;
    close $all_plain;
    kill 'QUIT', $pid;
    waitpid $pid, 0;

    is_deeply(\@failed, [], "$layout: every gzip answer decompresses to its "
              . 'plain answer, with its headers')
        or diag(join "\n", @failed[0 .. ($#failed < 9 ? $#failed : 9)]);

    ok($count{'V2 cart'} >= 1900 && $count{'V1 cart'} >= 1900,
       "... of $count{'V2 cart'} carts in both views");
    ok($count{'active carts'} >= 50 && $count{'Spree page'} >= 51,
       "... $count{'active carts'} listings of active carts and "
       . "$count{'Spree page'} Spree pages");

    is(system("gunzip -c $dir/all.gz | cmp -s - $dir/all.json"), 0,
       "$layout: gunzip(1) decompresses all of them, one gzip member each, "
       . 'to the same bytes');

    diag(sprintf "$layout: %d bytes plain, %d gzip (%.1f%%)",
         $count{plain_bytes}, $count{gzip_bytes},
         100 * $count{gzip_bytes} / $count{plain_bytes});
}

layout('deflated');
layout('kept', '--keep-plain');

done_testing();
