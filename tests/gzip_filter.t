# nginx's own gzip filter over the module's answers, as an operator turns
# it on today ("gzip on; gzip_types application/json;"): every route's
# answer compressed, for firmly's "application/json" and for Spree's
# "application/json; charset=utf-8" alike (the filter matches a type
# without its parameters), decompressing to exactly the plain answer, with
# Vary under gzip_vary; a client that does not accept gzip gets it plain.

use strict;
use warnings;
use Cwd qw(abs_path);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use Test::More;

use lib abs_path('t/lib');
use CartTest;
use SpreeTest ();

my $gzip = <<'HTTP';
    gzip on;
    gzip_types application/json;
    gzip_min_length 1;
    gzip_http_version 1.0;
    gzip_vary on;
HTTP
my (undef, undef, $pid) = own_nginx('gzip', <<'MAIN', $gzip, $ROUTE_LOCATIONS);
master_process off;
events { worker_connections 64; }
MAIN
END { local $?; if ($pid) { kill 'QUIT', $pid; waitpid $pid, 0; } }

my %firmly = ('x-firmly-authorization' => jwt('RS256',
              "$CartTest::KEYS/rs256.key",
              { device_id => $CartTest::DEV_A, exp => time + 3600 }));
my %spree = (Authorization => 'Bearer ' . SpreeTest::spree_tok(2),
             'x-spree-api-key' => $SpreeTest::KEY);

for my $r (['V2 cart', '/api/v2/domains/staging.luma.gift/cart', \%firmly,
            qr{^Content-Type: application/json\r?$}mi],
           ['active carts', '/api/v2/carts/active', \%firmly,
            qr{^Content-Type: application/json\r?$}mi],
           ['Spree carts', '/api/v3/store/carts', \%spree,
            qr{^Content-Type: application/json; charset=utf-8\r?$}mi])
{
    my ($name, $path, $auth, $type) = @$r;
    my ($status, $plain, $plain_head) = http_get($path, %$auth);
    is($status, 200, "$name: 200 plain");
    unlike($plain_head, qr/^Content-Encoding/mi, '... not compressed');

    my ($gz_status, $gz, $head) = http_get($path, %$auth,
                                           'Accept-Encoding' => 'gzip');
    is($gz_status, 200, "$name, Accept-Encoding: gzip: 200");
    like($head, qr/^Content-Encoding: gzip\r?$/mi, '... compressed by nginx');
    like($head, qr/^Vary: Accept-Encoding\r?$/mi, '... with Vary');
    like($head, $type, '... its Content-Type as it was');
    my $out;
    ok(gunzip(\$gz => \$out, Strict => 1), '... valid gzip')
        or diag($GunzipError);
    is($out, $plain, '... the plain answer exactly');
}

done_testing();
