# cartctl follow against a PostgreSQL 15 of the test's own (t/lib/PgTest.pm):
# the errors an operator can make, each with its exit code and words; a new
# store copied from the table; transactions streamed, each applied whole
# (a reader polling the store never sees half of one); a follower killed
# with SIGKILL and restarted, and PostgreSQL restarted, without losing or
# repeating anything; invalid records held or skipped; a second node
# started from nothing while writes go on, ending equal; import refused on
# a followed store; a full disk under a follower.  Every store is compared
# with one made by "cartctl import" of the table's records.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use lib abs_path('t/lib');
use CartTest;
use PgTest;

my $why = pg_available();
plan skip_all => $why if $why;

my $bin = $ENV{TEST_NGINX_CARTCTL} or die "TEST_NGINX_CARTCTL is not set\n";
my $tmp = tempdir('follow-XXXXXX', DIR => abs_path('build'), CLEANUP => 1);
chmod 0755, $tmp;

my $pg = pg_start("$tmp/pg", free_port());
my $ci = $pg->{conninfo};

# runs cartctl to its end: (exit status, stdout, stderr)
sub run {
    my $out = `$bin @_ 2>$tmp/stderr`;
    return ($? >> 8, $out, slurp("$tmp/stderr"));
}

# the followers started, stopped at the end whatever happens
my @followers;
END { local $?; kill 'TERM', @followers; waitpid $_, 0 for @followers; }

sub follower {
    my ($store, @opts) = @_;
    my $pid = spawn("$tmp/$store.log", $bin, '--store', "$tmp/$store",
                    'follow', $ci, @opts);
    push @followers, $pid;
    return $pid;
}

sub stop {
    my ($pid, $signal) = @_;
    kill $signal // 'TERM', $pid;
    waitpid $pid, 0;
    return $? >> 8;
}

sub dump_of {
    my $store = shift;
    my $out = `$bin --store $tmp/$store dump 2>/dev/null`;
    return $? == 0 ? $out : undef;
}

# the store that "cartctl import" makes of the table's valid records
sub expected {
    my @records = grep { !/"kind":"bogus"/ } pg_records($pg);
    store("$tmp/expected", ());
    import_lines("$tmp/expected", @records);
    return dump_of('expected');
}

sub wait_for {
    my ($what, $cond, $timeout) = @_;
    my $until = time + ($timeout // 20);
    while (time < $until) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return 0;
}

sub stat_of {
    my $store = shift;
    my %stat = map { /^(\S+)\s+(.*)$/ } split /\n/,
               `$bin --store $tmp/$store stat 2>/dev/null`;
    return \%stat;
}

my ($rc, $out, $err);

# what an operator can get wrong: exit 5 (PostgreSQL) or 2 (usage)
($rc, $out, $err) = run('--store', "$tmp/x", 'follow',
                        "'host=$tmp/pg port=1 dbname=cartdb user=postgres'");
is($rc, 5, 'no server: exit 5');
like($err, qr/^cartctl: follow: connect: .*No such file/m, '... saying so');

($rc, $out, $err) = run('--store', "$tmp/x", 'follow', "'$ci'",
                        '--publication', 'nope');
is($rc, 5, 'a publication that does not exist: exit 5');
like($err, qr/no publication "nope" in this database/, '... saying so');

psql($pg, 'CREATE TABLE wrong (id int, record text);'
          . "CREATE PUBLICATION wrong FOR TABLE wrong WITH (publish = 'insert');"
          . 'CREATE PUBLICATION everything FOR TABLE cart_records;');
($rc, $out, $err) = run('--store', "$tmp/x", 'follow', "'$ci'",
                        '--publication', 'wrong');
is($rc, 5, 'a table of the wrong shape: exit 5');
like($err, qr/table public\.wrong must have "id bigint" and "record json NOT NULL"/,
     '... saying what it must have');

($rc, $out, $err) = run('--store', "$tmp/x", 'follow', "'$ci'",
                        '--publication', 'everything');
is($rc, 5, 'a publication of updates and deletes too: exit 5');
like($err, qr/must publish inserts only/, '... saying so');

($rc, $out, $err) = run('--store', "$tmp/x", 'follow', "'$ci'",
                        '--slot', 'Bad-Name');
is($rc, 2, 'a slot name PostgreSQL would not take: usage, exit 2');
($rc, $out, $err) = run('--store', "$tmp/x", 'follow', "'$ci'",
                        '--on-invalid', 'maybe');
is($rc, 2, '--on-invalid neither hold nor skip: exit 2');
($rc, $out, $err) = run('--store', "$tmp/x", 'follow');
is($rc, 2, 'no connection string: exit 2');
is(psql($pg, 'SELECT count(*) FROM pg_replication_slots'), 0,
   'none of these left a slot behind');

# a new node: the table's state copied, then the stream
pg_insert($pg, $_) for split /\n/, slurp("$CartTest::DATA/base.ndjson");

my $a = follower('a', '--slot', 'node_a');
ok(wait_for('copy', sub { (stat_of('a')->{follow_slot} // '') eq 'node_a' }),
   'a new store starts by copying the table');
is(dump_of('a'), expected(), '... and holds what an import of it holds');
like(slurp("$tmp/a.log"),
     qr/records copied at LSN [0-9A-F]+\/[0-9A-F]+, slot "node_a"/,
     '... and says how many records, at which LSN');

pg_insert($pg, split /\n/, slurp("$CartTest::DATA/spree.ndjson"));
ok(wait_for('stream', sub { dump_of('a') eq expected() }),
   'a transaction on PostgreSQL is streamed into the store');
my $lsn = psql($pg, "SELECT confirmed_flush_lsn FROM pg_replication_slots "
                    . "WHERE slot_name = 'node_a'");
is(stat_of('a')->{follow_lsn}, $lsn,
   "PostgreSQL has the store's LSN as confirmed ($lsn)");

# cart_metrics shows the same, from the store a node's nginx serves
if (my $module = $ENV{TEST_NGINX_LOAD_MODULES}) {
    my $port = free_port();
    system("chmod -R a+rwX $tmp/a") == 0 or die 'chmod';
    mkdir "$tmp/nginx";
    chmod 0755, "$tmp/nginx";
    open my $conf, '>', "$tmp/nginx/nginx.conf" or die $!;
    print $conf "load_module $module;\n",
                ($> == 0 ? "user nobody nogroup;\n" : ''),
                "daemon off; error_log $tmp/nginx/error.log;\n",
                "pid $tmp/nginx/nginx.pid; events {}\n",
                "http { access_log off; cart_store $tmp/a;\n",
                "server { listen 127.0.0.1:$port;\n",
                "location = /metrics { cart_metrics; } } }\n";
    close $conf;
    my $nginx = spawn("$tmp/nginx/stderr", $ENV{TEST_NGINX_BINARY},
                      '-p', "$tmp/nginx/", '-c', "$tmp/nginx/nginx.conf");
    my $scrape = '';
    wait_for('nginx', sub {
        $scrape = `curl -s http://127.0.0.1:$port/metrics`;
        $scrape =~ /cart_follow_lsn/;
    });
    kill 'TERM', $nginx;
    waitpid $nginx, 0;

    my ($hi, $lo) = map { hex } stat_of('a')->{follow_lsn} =~ m{^(\w+)/(\w+)$};
    like($scrape, qr/^cart_follow_lsn ${\ ($hi * 2**32 + $lo)}$/m,
         'cart_metrics: cart_follow_lsn, the same LSN as a number');
    my ($ts) = stat_of('a')->{follow_commit} =~ /^(.*)Z$/;
    my ($scraped) = $scrape
        =~ /^cart_follow_last_commit_timestamp_seconds (\d+\.\d{6})$/m;
    is(POSIX::strftime('%Y-%m-%dT%H:%M:%S', gmtime($scraped // 0))
       . substr($scraped // '', -7), $ts,
       '... cart_follow_last_commit_timestamp_seconds, its commit time');
    like($scrape, qr/^cart_follow_last_commit_age_seconds \d+\.\d{3}$/m,
         '... cart_follow_last_commit_age_seconds');
    like($scrape, qr/^cart_follow_skipped_records 0$/m,
         '... cart_follow_skipped_records');

    promtool_check($scrape, "$tmp/promtool.out",
                   '... which promtool check metrics finds clean');
}

# a follower of the same slot, and a new store for a slot in use
($rc, $out, $err) = run('--store', "$tmp/a", 'follow', "'$ci'", '--slot',
                        'node_a');
is($rc, 5, 'a second follower of a slot: exit 5');
like($err, qr/slot "node_a" is in use by another process/, '... saying so');
($rc, $out, $err) = run('--store', "$tmp/new", 'follow', "'$ci'", '--slot',
                        'node_a');
is($rc, 5, 'a new store for a slot that exists: exit 5');
like($err, qr/slot "node_a" exists, and this store is new/, '... saying so');
($rc, $out, $err) = run('--store', "$tmp/a", 'follow', "'$ci'", '--slot',
                        'node_x');
is($rc, 5, 'a store with another slot than its own: exit 5');
like($err, qr/this store follows slot "node_a", not "node_x"/, '... saying so');

# transactions of three carts each, a counter in each cart: a reader never
# sees them differ; the follower killed mid-stream and PostgreSQL
# restarted on the way
my $dev = 'f0110000-0000-4000-8000-000000000001';
my @domains = map { "d$_.follow.test" } 1 .. 3;
pg_device($pg, $dev, @domains);

sub carts { counter_carts($dev, shift, @domains) }

my $updates = 300;
my $writer = fork() // die "fork: $!";
if ($writer == 0) {
    # as a backend would: a transaction that fails (PostgreSQL restarting)
    # is tried again
    my $parent = getppid();
    for my $n (1 .. $updates) {
        while (!eval { pg_insert($pg, carts($n)); 1 }) {
            POSIX::_exit(1) if getppid() != $parent;
            sleep 0.1;
        }
    }
    POSIX::_exit(0);
}

my ($polls, $torn, $killed, $restarted) = (0, 0, 0, 0);
my $b;

while (1) {
    my $done = waitpid($writer, POSIX::WNOHANG()) == $writer;
    my $dump = dump_of('a') // '';
    my @n = $dump =~ /"domain":"d\d\.follow\.test".*?"cart_id":"n-(\d+)"/g;
    $polls++;
    $torn++ if @n && grep { $_ != $n[0] } @n;

    if (!$killed && @n && $n[0] >= 50) {
        stop($a, 'KILL');
        $killed = $n[0];
        $a = follower('a', '--slot', 'node_a');
    }

    if ($killed && !$restarted && @n && $n[0] >= 120) {
        pg_restart($pg);
        $restarted = $n[0];
        # a second node from nothing, while the writes go on
        $b = follower('b', '--slot', 'node_b');
    }

    last if $done;
}

ok(wait_for('all', sub { dump_of('a') eq expected() }, 60),
   "after $updates transactions, the follower killed (at $killed) and "
   . "PostgreSQL restarted (at $restarted): the store equals an import");
is($torn, 0, "a reader polling the store ($polls dumps) never saw the three "
             . "carts of a transaction differ");
like(dump_of('a'), qr/"cart_id":"n-$updates"/, '... and the last counter is '
                                                . $updates);
like(slurp("$tmp/a.log"), qr/streaming again from LSN/,
     'the follower reconnected after the restart');
ok(wait_for('b', sub { (dump_of('b') // '') eq expected() }, 60),
   'a node started from nothing during the writes ends equal');

# an invalid record: held (exit 1, nothing of its transaction applied),
# then skipped and counted
my $before = dump_of('a');
pg_insert($pg, '{"kind":"bogus"}',
          qq({"kind":"domain","domain":"after.follow.test",)
          . qq("display_name":"After","platform_id":"t","available":true}));
my $held = 0;
wait_for('held', sub { $held = waitpid($a, POSIX::WNOHANG()) == $a });
ok($held, 'an invalid record stops the follower (hold)');
is($? >> 8, 1, '... with exit 1');
like(slurp("$tmp/a.log"),
     qr/transaction at LSN \S+: invalid record held: kind: must be/,
     '... saying where and why');
is(dump_of('a'), $before, '... with nothing of its transaction applied');

$a = follower('a', '--slot', 'node_a', '--on-invalid', 'skip');
ok(wait_for('skip', sub { dump_of('a') eq expected() }),
   '--on-invalid skip passes it over and applies the rest');
my $stat = stat_of('a');
is($stat->{follow_skipped}, 1, 'cartctl stat counts it');
like($stat->{follow_last_skip}, qr/^LSN \S+: kind: must be/,
     '... and shows where and why');
like($stat->{follow_commit}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/,
     'cartctl stat shows the commit time of the last transaction');
like($stat->{follow_commit_age}, qr/^\d+\.\d{3} s$/, '... and its age');

my $b_held = 0;
wait_for('b held', sub { $b_held = waitpid($b, POSIX::WNOHANG()) == $b });
ok($b_held && $? >> 8 == 1, 'the other node held the same record (exit 1)')
    or diag(slurp("$tmp/b.log"));

is(stop($a), 0, 'SIGTERM stops the follower: exit 0');

# the follower alone writes its store
($rc, $out, $err) = run('--store', "$tmp/a", 'import', '/dev/null');
is($rc, 2, 'cartctl import into a followed store: exit 2');
like($err, qr/kept by cartctl follow \(slot "node_a"\): write to its Pos/,
     '... saying what to do');

# a full disk: a node's store on a small tmpfs of the test's own, filled up
# while its follower applies a transaction of 2,000 devices and their
# carts: exit 4 and its words, the store as it was; with room again, it
# catches up
my $full = "$tmp/full";
mkdir $full or die "$full: $!";
my $mounted = system("mount -t tmpfs -o size=16m cart-test $full "
                     . ">/dev/null 2>&1") == 0;
END { system("umount -l $full") if $mounted; }

SKIP: {
    skip 'no tmpfs could be mounted here', 11 if !$mounted;

    my $c = spawn("$tmp/c.log", $bin, '--store', "$full/c", 'follow', $ci,
                  '--slot', 'node_c', '--on-invalid', 'skip');
    push @followers, $c;
    ok(wait_for('c', sub { (dump_of('full/c') // '') eq expected() }),
       'a node with its store on a tmpfs of 16 MB catches up');

    my $kept = dump_of('full/c');
    system("dd if=/dev/zero of=$full/filler bs=64k >/dev/null 2>&1");
    pg_insert($pg, map { (qq({"kind":"device","device_id":"full-$_",)
                          . qq("expires_at":"2099-01-01T00:00:00Z"}),
                          counter_carts("full-$_", $_, $domains[0])) }
                   1 .. 2000);

    my $stopped = 0;
    wait_for('c stopped',
             sub { $stopped = waitpid($c, POSIX::WNOHANG()) == $c });
    ok($stopped, 'the tmpfs full, the follower stops');
    is($? >> 8, 4, '... with exit 4 (store)');
    like(slurp("$tmp/c.log"), qr/store's map failed \(SIGBUS\): is its disk/,
         '... saying so');

    unlink "$full/filler";
    is(dump_of('full/c'), $kept, '... its store as it was before');

    $c = spawn("$tmp/c.log", $bin, '--store', "$full/c", 'follow', $ci,
               '--slot', 'node_c', '--on-invalid', 'skip');
    push @followers, $c;
    ok(wait_for('c again', sub { dump_of('full/c') eq expected() }, 60),
       'with room again, it catches up');
    is(stop($c), 0, '... and stops on SIGTERM');

    # a new store's first copy cut short by the full disk leaves its slot
    # behind: the next start drops that slot and copies again
    system("dd if=/dev/zero of=$full/filler bs=64k >/dev/null 2>&1");
    truncate "$full/filler", (-s "$full/filler") - 256 * 1024;
    my @d = ($bin, '--store', "$full/d", 'follow', $ci, '--slot', 'node_d',
             '--on-invalid', 'skip');
    my $d = spawn("$tmp/d.log", @d);
    push @followers, $d;
    $stopped = 0;
    wait_for('d stopped',
             sub { $stopped = waitpid($d, POSIX::WNOHANG()) == $d });
    ok($stopped && $? >> 8 == 4,
       'a first copy that the full tmpfs cuts short: exit 4')
        or diag(slurp("$tmp/d.log"));

    unlink "$full/filler";
    $d = spawn("$tmp/d.log", @d);
    push @followers, $d;
    ok(wait_for('d again', sub { (dump_of('full/d') // '') eq expected() },
                60), '... the next start copies again, and ends equal');
    like(slurp("$tmp/d.log"), qr/cut short: its slot "node_d" dropped, copy/,
         '... having dropped the slot left behind');
    is(stop($d), 0, '... and stops on SIGTERM');
}

pg_stop($pg);
done_testing();
