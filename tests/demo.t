# "make run": conf/demo.sh starts nginx on the demo store and prints curl
# lines; each of them answers (200, and the two lines that show an error
# the error they show), and the stand-in for Spree answers the rest.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Test::More;

use lib abs_path('t/lib');
use CartTest;

my $nginx = $ENV{TEST_NGINX_BINARY} or die "TEST_NGINX_BINARY is not set\n";
my $module = $ENV{TEST_NGINX_LOAD_MODULES} or die "no TEST_NGINX_LOAD_MODULES\n";
my $store = $ENV{TEST_DEMO_STORE} or die "TEST_DEMO_STORE is not set\n";

my $port = free_port();

# the workers run as nobody when root starts them: a prefix they may use
$ENV{DEMO_PREFIX} = tempdir('demo-XXXXXX', DIR => abs_path('build'),
                            CLEANUP => 1);
chmod 0755, $ENV{DEMO_PREFIX};

my @curl_wait = (30);
my $pid = open my $out, '-|';
defined $pid or die "fork: $!";

if ($pid == 0) {
    open STDERR, '>', "$ENV{DEMO_PREFIX}/stderr" or POSIX::_exit(127);
    exec 'sh', 'conf/demo.sh', $nginx, $module, $store, $port
        or POSIX::_exit(127);
}

# what it prints before nginx runs (and says nothing more on stdout)
my ($printed, $sel) = ('', IO::Select->new($out));
while ($sel->can_read(@curl_wait)) {
    last if !sysread($out, my $buf, 65536);
    $printed .= $buf;
    @curl_wait = (2);
}

my @curl = $printed =~ /^(curl .*)$/mg;

is(scalar @curl, 14, 'the demo prints 14 curl lines');

# nginx listens once it says so
for (1 .. 100) {
    last if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port);
    select undef, undef, undef, 0.1;
}

for my $line (@curl) {
    my ($path) = $line =~ m{http://127\.0\.0\.1:\d+(/[^' ]*)};
    my $shows_error = $line =~ /^curl -si /;
    my $answer = `$line -w '\\n%{http_code}'`;
    my ($status) = $answer =~ /(\d+)$/;

    if (!$shows_error) {
        is($status, 200, "demo: $path: 200");
        like($answer, qr/^\{.*\}\n200$/s, "demo: $path: a JSON body");

    } elsif ($path =~ m{^/api/v3/}) {
        is($status, 401, "demo: $path without its key: 401");
        like($answer, qr/"Valid API key required"/, "demo: $path: Spree's words");

    } else {
        is($status, 400, "demo: $path without a token: 400");
        like($answer, qr/"MissingAuthHeader"/, "demo: $path: firmly's words");
    }
}

my $stand_in = `curl -s -X POST http://127.0.0.1:$port/api/v3/store/carts`;
like($stand_in, qr/"code":"not_implemented"/,
     'demo: other methods go to the stand-in for Spree');

kill 'TERM', $pid;
close $out;

diag("conf/demo.sh said:\n$printed\nand on stderr:\n"
     . `cat $ENV{DEMO_PREFIX}/stderr`) if !Test::More->builder->is_passing;

done_testing();
