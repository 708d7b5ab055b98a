# Many nodes, across hosts: network namespaces made by this test (and
# removed at its end), joined by a bridge: "db" runs PostgreSQL 15, each
# node runs nginx with the module and its own "cartctl follow" into its
# own store.  A writer commits 1,000 transactions, each updating a
# device's three carts with a counter, while the test reads every node's
# active carts.  On the way: a follower is killed with SIGKILL and
# restarted, PostgreSQL restarts, a node's link is cut for a while, and a
# third node starts from nothing.  Checked: each update becomes visible on
# every node (commit-to-visible p50/p99 printed), no reader ever sees the
# three carts of a transaction differ, a cut-off node keeps serving, and
# every store ends equal to an import of the table.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use lib abs_path('t/lib');
use CartTest;
use PgTest;

my $why = pg_available();
$why ||= 'needs ip netns' if system('ip netns list >/dev/null 2>&1') != 0;
$why ||= 'needs DBD::Pg (libdbd-pg-perl)' if !eval { require DBI;
                                                      require DBD::Pg; 1 };
plan skip_all => $why if $why;

my $nginx = $ENV{TEST_NGINX_BINARY} or die "TEST_NGINX_BINARY is not set\n";
my $module = $ENV{TEST_NGINX_LOAD_MODULES} or die "no TEST_NGINX_LOAD_MODULES\n";
my $bin = $ENV{TEST_NGINX_CARTCTL} or die "TEST_NGINX_CARTCTL is not set\n";

my $tmp = tempdir('nodes-XXXXXX', DIR => abs_path('build'), CLEANUP => 1);
chmod 0755, $tmp;

# the hosts: names unique to this run, addresses on the test's own bridge
my $tag = 'ct' . ($$ % 100000);
my $net = '10.231.' . ($$ % 250);
my $bridge = "${tag}br";
my %ip = (db => "$net.1", n1 => "$net.2", n2 => "$net.3", n3 => "$net.4");
my (@pids, @netns);

sub sh {
    my $cmd = join ' ', @_;
    system($cmd) == 0 or die "$cmd: exit " . ($? >> 8) . "\n";
}

sub host {
    my $name = shift;
    my ($ns, $veth) = ("$tag$name", "$tag$name");
    sh("ip netns add $ns");
    push @netns, $ns;
    sh("ip link add $veth type veth peer name ${veth}p");
    sh("ip link set ${veth}p netns $ns");
    sh("ip link set $veth master $bridge up");
    sh("ip netns exec $ns ip addr add $ip{$name}/24 dev ${veth}p");
    sh("ip netns exec $ns ip link set ${veth}p up");
    sh("ip netns exec $ns ip link set lo up");
    return $ns;
}

END {
    local $?;
    # nginx's master takes its workers along on TERM
    kill 'TERM', @pids if @pids;
    waitpid $_, 0 for @pids;
    # the pair of a host's link goes with its end here
    system("ip link del $_ 2>/dev/null; ip netns del $_ 2>/dev/null")
        for @netns;
    system("ip link del $bridge 2>/dev/null") if $bridge;
}

sh("ip link add $bridge type bridge");
sh("ip addr add $net.254/24 dev $bridge");
sh("ip link set $bridge up");

my $db = host('db');
my $pg = pg_start("$tmp/pg", 5432, $ip{db}, "ip netns exec $db");
my $ci = "host=$ip{db} port=5432 dbname=cartdb user=postgres";

# the device, its three domains, a token for it
my $dev = 'aa000000-0000-4000-8000-00000000000a';
my @domains = map { "d$_.nodes.test" } 1 .. 3;
pg_device($pg, $dev, @domains);
my $token = jwt('RS256', "$CartTest::KEYS/rs256.key",
                { device_id => $dev, exp => time + 3600 });

sub carts { counter_carts($dev, shift, @domains) }

pg_insert($pg, carts(0));

# a node: its host, its follower and store, its nginx
my %node;

sub follower {
    my $name = shift;
    my $pid = spawn("$tmp/$name.follow.log", 'ip', 'netns', 'exec',
                    $node{$name}{ns}, $bin, '--store', "$tmp/$name.store",
                    'follow', $ci, '--slot', "node_$name");
    push @pids, $pid;
    $node{$name}{follower} = $pid;
}

sub node {
    my $name = shift;
    $node{$name}{ns} = host($name);
    follower($name);

    # the workers run as nobody: the store, once the follower made it
    for (1 .. 200) {
        last if -e "$tmp/$name.store/lock.mdb";
        sleep 0.05;
    }
    sh("chmod -R a+rwX $tmp/$name.store");

    mkdir "$tmp/$name.nginx";
    open my $conf, '>', "$tmp/$name.nginx/nginx.conf" or die $!;
    print $conf <<EOC;
load_module $module;
user nobody nogroup;
daemon off;
worker_processes 1;
error_log $tmp/$name.nginx/error.log notice;
pid $tmp/$name.nginx/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    cart_store $tmp/$name.store;
    cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;
    server {
        listen $ip{$name}:8080;
        listen 127.0.0.1:8080;
        location = /api/v2/carts/active { cart_api firmly_active_carts; }
    }
}
EOC
    close $conf;
    chmod 0755, "$tmp/$name.nginx";

    my $pid = spawn("$tmp/$name.nginx/stderr", 'ip', 'netns', 'exec',
                    $node{$name}{ns}, $nginx, '-p', "$tmp/$name.nginx/",
                    '-c', "$tmp/$name.nginx/nginx.conf");
    push @pids, $pid;
    $node{$name}{nginx} = $pid;
}

node($_) for qw(n1 n2);

# the counters of the three carts as a node serves them (one read)
my $http = HTTP::Tiny->new(timeout => 2, keep_alive => 1);

sub counters {
    my $name = shift;
    my $res = $http->get("http://$ip{$name}:8080/api/v2/carts/active",
                         { headers => { 'x-firmly-authorization' => $token } });
    return () if $res->{status} != 200;
    return $res->{content} =~ /"cart_id":"n-(\d+)"/g;
}

sub wait_for {
    my ($cond, $timeout) = @_;
    my $until = time + ($timeout // 30);
    while (time < $until) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return 0;
}

ok(wait_for(sub { ((counters('n1'))[0] // -1) == 0 }),
   'node 1 serves the table once its follower has copied it');
ok(wait_for(sub { ((counters('n2'))[0] // -1) == 0 }),
   'node 2 too');

# the writer: transactions of three carts, from counter $from to $to,
# each tried again until it commits (PostgreSQL restarts on the way);
# "counter commit-time" lines on a pipe
sub writer {
    my ($from, $to, $pause) = @_;
    pipe my $r, my $w or die "pipe: $!";
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        close $r;
        my ($dbh, $parent) = (undef, getppid());
        for my $n ($from .. $to) {
            while (1) {
                POSIX::_exit(1) if getppid() != $parent;
                my $ok = eval {
                    $dbh ||= DBI->connect("dbi:Pg:" . ($ci =~ s/ /;/gr),
                                          '', '', { RaiseError => 1,
                                                    PrintError => 0,
                                                    AutoCommit => 0 });
                    $dbh->do('INSERT INTO cart_records (record) VALUES (?)',
                             undef, $_) for carts($n);
                    $dbh->commit;
                    1;
                };
                last if $ok;
                eval { $dbh->disconnect } if $dbh;
                $dbh = undef;
                sleep 0.1;
            }
            syswrite $w, sprintf("%d %.6f\n", $n, time);
            sleep $pause;
        }
        $dbh->disconnect;
        POSIX::_exit(0);
    }

    close $w;
    push @pids, $pid;
    return ($pid, $r);
}

# the readers: the nodes' active carts, as often as they can be read; when
# each counter was first seen, and whether the three carts ever differ
my (%seen, %polls, %torn, %high);

sub read_nodes {
    for my $name (@_) {
        my @n = counters($name) or next;
        $polls{$name}++;
        $torn{$name}++ if grep { $_ != $n[0] } @n;
        my $now = time;
        for my $k (($high{$name} // -1) + 1 .. $n[0]) {
            $seen{$name}{$k} = $now;
        }
        $high{$name} = $n[0] if $n[0] > ($high{$name} // -1);
    }
}

# 1: 1,000 updates, read on both nodes: commit-to-visible
my $updates = 1000;
my ($pid, $commits) = writer(1, $updates, 0.004);
while (waitpid($pid, POSIX::WNOHANG()) != $pid) {
    read_nodes(qw(n1 n2));
}
my %commit = map { split ' ' } <$commits>;
is(scalar keys %commit, $updates, "the writer committed $updates "
                                  . 'transactions');

for my $name (qw(n1 n2)) {
    ok(wait_for(sub { read_nodes($name); ($high{$name} // -1) == $updates }),
       "node $name shows the last of them");
    # the writer notes the time after its commit returns: a node may show
    # an update before that (a latency below 0), never not at all
    my @unseen = grep { !defined $seen{$name}{$_} } 1 .. $updates;
    my @lat = sort { $a <=> $b }
              map { ($seen{$name}{$_} - $commit{$_}) * 1000 }
              grep { defined $seen{$name}{$_} } 1 .. $updates;
    my $p = sub { $lat[int($_[0] * $#lat + 0.5)] };
    ok(!@unseen && @lat == $updates,
       sprintf("node %s: every update became visible (%d not)", $name,
               scalar @unseen));
    diag(sprintf "node %s: commit-to-visible over %d updates: p50 %.1f ms, "
                 . "p99 %.1f ms, min %.1f ms, max %.1f ms", $name, $updates,
                 $p->(0.5), $p->(0.99), $lat[0], $lat[-1]) if @lat;
}

# 2: 1,000 more, while node 1's follower is killed and restarted,
# PostgreSQL restarts, node 2 is cut off for 3 s, node 3 starts
my $total = 2 * $updates;
my ($killed, $restarted, $cut, $added, $cut_reader) = (0, 0, 0, 0);
($pid, $commits) = writer($updates + 1, $total, 0.01);

while (waitpid($pid, POSIX::WNOHANG()) != $pid) {
    read_nodes(grep { !($_ eq 'n2' && $cut && !$cut_reader) } sort keys %node);
    my $at = $high{n2} // 0;

    if (!$killed && $at >= $updates + 100) {
        kill 'KILL', $node{n1}{follower};
        waitpid $node{n1}{follower}, 0;
        follower('n1');
        $killed = $at;

    } elsif ($killed && !$restarted && $at >= $updates + 250) {
        pg_restart($pg);
        $restarted = $at;

    } elsif ($restarted && !$cut && ($high{n1} // 0) >= $updates + 300) {
        $cut = $high{n1};
        sh("ip netns exec $node{n2}{ns} ip link set ${tag}n2p down");

        # cut off, node 2 answers what it has, read from inside its host
        $cut_reader = spawn("$tmp/cut.log", 'ip', 'netns', 'exec',
            $node{n2}{ns}, 'sh', '-c', "for i in \$(seq 15); do "
            . "curl -s -o /dev/null -w '%{http_code}\\n' -H "
            . "'x-firmly-authorization: $token' "
            . "http://127.0.0.1:8080/api/v2/carts/active >&2; "
            . "sleep 0.2; done");
        push @pids, $cut_reader;

    } elsif ($cut_reader && waitpid($cut_reader, POSIX::WNOHANG())) {
        sh("ip netns exec $node{n2}{ns} ip link set ${tag}n2p up");
        $cut_reader = 0;
        node('n3');
        $added = $high{n1};
    }
}

is(scalar(() = <$commits>), $updates, "the writer committed $updates more");
ok($killed && $restarted && $cut && $added,
   "node 1's follower killed at $killed, PostgreSQL restarted at "
   . "$restarted, node 2 cut off at $cut, node 3 added at $added");
my $cut_ok = () = slurp("$tmp/cut.log") =~ /^200$/mg;
is($cut_ok, 15, 'cut off for 3 s, node 2 kept serving (15 reads from '
                . 'inside its host, all 200)');

for my $name (qw(n1 n2 n3)) {
    ok(wait_for(sub { ((counters($name))[0] // -1) == $total }, 60),
       "node $name ends serving the last update");
}

# every store equal to an import of the table
store("$tmp/expected", ());
import_lines("$tmp/expected", pg_records($pg));
my $expected = `$bin --store $tmp/expected dump`;
for my $name (qw(n1 n2 n3)) {
    is(`$bin --store $tmp/$name.store dump`, $expected,
       "node $name: its store equals an import of the table");
}

for my $name (qw(n1 n2 n3)) {
    ok(!$torn{$name} && $polls{$name}, "node $name: no reader saw the three "
       . 'carts of a transaction differ (' . ($polls{$name} // 0)
       . ' reads)');
}

# slots: one a node, each confirmed up to the end
is(psql($pg, 'SELECT string_agg(slot_name, \',\' ORDER BY slot_name) '
             . 'FROM pg_replication_slots'),
   'node_n1,node_n2,node_n3', 'one slot a node');

kill 'TERM', map { $node{$_}{follower} } keys %node;
for my $name (sort keys %node) {
    waitpid $node{$name}{follower}, 0;
    is($? >> 8, 0, "node $name: the follower stops on SIGTERM");
}

pg_stop($pg);
done_testing();
