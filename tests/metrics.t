# cart_metrics: nginx with 2 workers under load from 4 client processes,
# scraped while the load runs and after it; every scrape parsed by the
# rules of Prometheus' text exposition format (and by promtool, when
# Debian's prometheus package has put it here), and the final counts
# compared with what the clients sent.

use strict;
use warnings;
use Cwd qw(abs_path);
use IO::Socket::INET;
use List::Util ();
use POSIX ();
use Test::More;

use lib abs_path('t/lib');
use CartTest;

my $server = $ROUTE_LOCATIONS . <<'SERVER';
        location = /metrics { cart_metrics; }
        location = /pid { return 200 $pid; }
SERVER
my ($dir, $port, $nginx_pid) = own_nginx('metrics', <<'MAIN', '', $server);
master_process on;
worker_processes 2;
events { worker_connections 256; accept_mutex off; }
MAIN
my ($status) = http_get('/pid');
is($status, 200, 'nginx with cart_metrics starts');

my $now = time;
my $rs = "$CartTest::KEYS/rs256.key";
my %claims = (device_id => $CartTest::DEV_A, iat => $now, exp => $now + 600);
my $good = jwt('RS256', $rs, \%claims);
my $bad_sig = jwt('RS256', "$CartTest::KEYS/rs256-other.key", \%claims);
my $expired = jwt('RS256', $rs, { %claims, exp => $now - 10 });
my $spree = jwt('HS256', "$CartTest::KEYS/spree.secret",
                { user_id => 2, user_type => 'customer', iss => 'spree',
                  aud => 'store_api', exp => $now + 600 });

my $v2 = '/api/v2/domains/staging.luma.gift/cart';

# what each client process sends, and what each request must answer
my @plan = (
    [250, $v2, 200, 'x-firmly-authorization' => $good],
    [50, $v2, 401, 'x-firmly-authorization' => $bad_sig],
    [20, $v2, 401, 'x-firmly-authorization' => $expired],
    [20, $v2, 400],
    [30, '/api/v2/carts/active', 200, 'x-firmly-authorization' => $good],
    [10, '/api/v3/store/carts', 200, 'Authorization' => "Bearer $spree",
         'x-spree-api-key' => 'pk_test_default_0123456789abcdef'],
);
my $clients = 4;

# every line of an exposition, by the format's rules; the samples by
# series, or a list of what is wrong
sub parse {
    my $text = shift;
    my (%type, %seen, %samples, @wrong);
    my $name_re = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;

    push @wrong, 'does not end with a newline' if $text !~ /\n\z/;

    for my $line (split /\n/, $text) {
        if ($line =~ /^# HELP ($name_re) \S.*$/) {
            next;
        }
        if ($line =~ /^# TYPE ($name_re) (counter|gauge|histogram|summary|untyped)$/) {
            push @wrong, "TYPE of $1 twice" if $type{$1};
            push @wrong, "TYPE of $1 after its samples" if $seen{$1};
            $type{$1} = $2;
            next;
        }
        if ($line !~ /^($name_re)(?:\{(.*)\})? (\S+)$/) {
            push @wrong, "not a sample: $line";
            next;
        }
        my ($name, $labels, $value) = ($1, $2 // '', $3);
        if ($value !~ /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/) {
            push @wrong, "not a value: $line";
        }
        my $rest = $labels;
        my @pairs;
        while ($rest =~ s/^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)//) {
            push @pairs, "$1=$2";
        }
        push @wrong, "bad labels: $line" if $rest ne '';
        (my $family = $name) =~ s/_(?:bucket|sum|count)$//;
        $family = $name if !$type{$family};
        push @wrong, "a sample of $name without TYPE" if !$type{$family};
        push @wrong, "$family is a counter but $name does not end in _total"
            if ($type{$family} // '') eq 'counter' && $name !~ /_total$/;
        my $series = @pairs ? "$name\{" . join(',', sort @pairs) . '}' : $name;
        push @wrong, "$series twice" if exists $samples{$series};
        $samples{$series} = $value;
        $seen{$family} = 1;
    }

    # histograms: buckets that grow, +Inf equal to _count
    for my $family (grep { $type{$_} eq 'histogram' } keys %type) {
        my %routes;
        for my $s (keys %samples) {
            next if $s !~ /^\Q$family\E_bucket\{le=([^,]+),route=(.*)\}$/;
            push @{ $routes{$2} }, [$1, $samples{$s}];
        }
        for my $route (keys %routes) {
            my @b = sort { ($a->[0] eq '+Inf' ? 9e9 : $a->[0])
                           <=> ($b->[0] eq '+Inf' ? 9e9 : $b->[0]) }
                    @{ $routes{$route} };
            for my $i (1 .. $#b) {
                push @wrong, "$family $route: buckets shrink"
                    if $b[$i][1] < $b[$i - 1][1];
            }
            push @wrong, "$family $route: no +Inf bucket"
                if $b[-1][0] ne '+Inf';
            push @wrong, "$family $route: +Inf is not _count"
                if $b[-1][1] != ($samples{"${family}_count\{route=$route}"} // -1);
        }
    }

    return (\%samples, \@wrong);
}

sub scrape {
    my ($status, $body, $head) = http_get('/metrics');
    return ($status, $body, $head);
}

# the load: each client process its share, in an order of its own
my @kids;
for my $c (1 .. $clients) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my @reqs = map { my $p = $_; map { $p } 1 .. $p->[0] } @plan;
        @reqs = List::Util::shuffle(@reqs);
        my $wrong = 0;
        for my $r (@reqs) {
            my ($n, $path, $want, %h) = @$r;
            my ($got) = http_get($path, %h);
            $wrong++ if $got != $want;
        }
        POSIX::_exit($wrong ? 1 : 0);
    }
    push @kids, $pid;
}

# scrapes while it runs
my ($during, $bad_during, $kids_wrong) = (0, 0, 0);
my %left = map { $_ => 1 } @kids;
while (%left) {
    my ($st, $body) = scrape();
    my (undef, $wrong) = parse($body);
    $during++;
    $bad_during++ if $st != 200 || @$wrong;
    diag("during the load: @$wrong") if @$wrong;
    for my $k (keys %left) {
        next if waitpid($k, POSIX::WNOHANG()) != $k;
        $kids_wrong++ if $? != 0;
        delete $left{$k};
    }
}

is($kids_wrong, 0, 'every client had the answers it expected');
ok($during >= 1, "scraped $during times while the load ran");
is($bad_during, 0, 'every scrape during the load is valid');

my ($st, $body, $head) = scrape();
is($st, 200, 'scrape: 200');
like($head, qr{^Content-Type: text/plain; version=0\.0\.4; charset=utf-8\r?$}mi,
     'the exposition format\'s content type');
my ($m, $wrong) = parse($body);
is_deeply($wrong, [], 'every line follows the format');

sub count { return $m->{$_[0]} // 0 }

my %sent;
for my $p (@plan) {
    my ($n, $path, $status) = @$p;
    my $route = $path =~ m{/v3/} ? 'spree_carts'
              : $path =~ /active/ ? 'firmly_active_carts' : 'firmly_cart_v2';
    $sent{"route=$route,status=$status"} += $n * $clients;
}

for my $k (sort keys %sent) {
    is(count("cart_requests_total{$k}"), $sent{$k},
       "cart_requests_total{$k}: as many as were sent");
}

my $good_requests = (250 + 30) * $clients;
is(count('cart_token_checks_total{outcome=cache_hit}')
   + count('cart_token_checks_total{outcome=verified}')
   - 10 * $clients,                          # the Spree tokens
   $good_requests, 'good tokens: cache hits and verifications add up');
# a token is remembered per worker and location: 2 workers, 3 locations
ok(count('cart_token_checks_total{outcome=verified}') <= 2 * 3,
   'a good token is verified once a worker and location');
is(count('cart_token_checks_total{outcome=rejected,reason=signature}')
   + count('cart_token_checks_total{outcome=rejected,reason=remembered}')
   + count('cart_token_checks_total{outcome=rejected,reason=expired}'),
   (50 + 20) * $clients, 'rejected tokens: every one counted');
ok(count('cart_token_checks_total{outcome=rejected,reason=signature}') >= 1,
   'a bad signature says so');
ok(count('cart_token_checks_total{outcome=rejected,reason=expired}') >= 1,
   'an expired token says so');

my $v2_total = (250 + 50 + 20 + 20) * $clients;
is(count('cart_request_duration_seconds_count{route=firmly_cart_v2}'),
   $v2_total, 'the V2 route\'s histogram counts each of its requests');
ok(count('cart_request_duration_seconds_sum{route=firmly_cart_v2}') > 0,
   'and their time');

is(count('cart_store_open'), 1, 'the store is open');
ok(count('cart_store_last_txn_id') >= 1, 'the last transaction id');
ok(count('cart_store_map_used_bytes') > 0
   && count('cart_store_map_used_bytes') <= count('cart_store_map_size_bytes'),
   'map use within the map size');
ok(count('cart_store_readers{state=in_use}') >= 1, 'reader slots in use');

# a second scrape, from whichever worker: the same totals (scrapes are
# not counted)
my (undef, $again) = scrape();
my ($m2) = parse($again);
is($m2->{"cart_requests_total{route=firmly_cart_v2,status=200}"},
   count('cart_requests_total{route=firmly_cart_v2,status=200}'),
   'a second scrape has the same totals');

# other methods: 405, as nginx's own handlers answer them
sub request {
    my $method = shift;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port) or die "connect: $!";
    print $sock "$method /metrics HTTP/1.0\r\nHost: localhost\r\n"
                . "Content-Length: 0\r\n\r\n";
    local $/;
    return scalar <$sock>;
}
like(request('POST'), qr{^HTTP/1\.1 405 }, 'POST /metrics: 405');
like(request('HEAD'), qr{^HTTP/1\.1 200 .*\r\n\r\n\z}s,
     'HEAD /metrics: 200 without a body');

promtool_check($body, "$dir/promtool.out",
               'promtool check metrics: no problem');

kill 'QUIT', $nginx_pid;
waitpid $nginx_pid, 0;

unlike(slurp("$dir/error.log"), qr/\[(?:emerg|alert|crit)\]|exited on signal/,
       'no worker died, nothing worse than an error logged');

done_testing();
