# "make deb"'s packages on this machine: installed, the module enabled
# through /etc/nginx/modules-enabled, a store written by the packaged
# cartctl and served through the packaged example configuration, then
# removed and purged, leaving nothing behind.  Needs root; it does not run
# where either package is installed already (it would remove it).

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use Test::More;

use lib abs_path('t/lib');
use CartTest;

my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my @debs = (glob('build/deb/libnginx-mod-http-cart_*_*.deb'),
            glob('build/deb/cart-tools_*_*.deb'));
my @packages = qw(libnginx-mod-http-cart cart-tools);
my $enabled = '/etc/nginx/modules-enabled/50-mod-http-cart.conf';
my $available = '/usr/share/nginx/modules-available/mod-http-cart.conf';
my $examples = '/usr/share/doc/libnginx-mod-http-cart/examples';

plan skip_all => 'installing packages needs root' if $> != 0;

for my $p (@packages) {
    plan skip_all => "$p is installed on this machine: not touched"
        if `dpkg-query -W -f='\${Status}' $p 2>/dev/null` =~ /installed/;
}

is(scalar @debs, 2, 'make deb has built both packages')
    or BAIL_OUT('run "make deb" first');

# what the packages may touch, before: the same after the purge
my @watched = qw(/etc/nginx /usr/lib/nginx /usr/share/nginx /usr/bin
                 /usr/share/man/man1 /usr/share/doc);
sub tree {
    my @there = grep { -e } @watched;
    return `find @there -path /usr/share/nginx/src -prune -o -print | sort`;
}
my $before = tree();

# dpkg's own words go to a log, not into the TAP stream
sub dpkg { return system("dpkg @_ >>build/deb/dpkg.log 2>&1") >> 8 }

is(dpkg('-i', @debs), 0, 'dpkg -i installs both packages');

is(readlink($enabled), $available,
   'the module is enabled: modules-enabled links to modules-available');
is(slurp($available), "load_module modules/ngx_http_cart_module.so;\n",
   'the load_module line');
ok(-f '/usr/lib/nginx/modules/ngx_http_cart_module.so',
   'the module is in /usr/lib/nginx/modules');
ok(-f '/usr/share/man/man1/cartctl.1.gz', 'cartctl has a manual page');
like(`/usr/bin/cartctl --help`, qr/^usage: cartctl/, '/usr/bin/cartctl runs');

# a store written by the packaged cartctl
my $dir = tempdir('deb-XXXXXX', DIR => abs_path('build'), CLEANUP => 1);
is(system("/usr/bin/cartctl --store $dir/store import conf/demo.ndjson"
          . " >/dev/null 2>&1") >> 8, 0, 'the packaged cartctl writes a store');

my $port = free_port();

# Debian's nginx with its own prefix (the modules/ of load_module), the
# packaged example locations, this project's test keys
open my $conf, '>', "$dir/nginx.conf" or die "$dir/nginx.conf: $!";
print $conf <<EOC;
include /etc/nginx/modules-enabled/*.conf;
user root;
daemon off;
worker_processes 1;
error_log $dir/error.log notice;
pid $dir/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    cart_store $dir/store;
    cart_device_jwt_key rs256 $CartTest::KEYS/rs256.pub;
    cart_spree_jwt_secret $CartTest::KEYS/spree.secret;
    include $examples/cart_http.conf;
    upstream spree { server 127.0.0.1:1; }
    server {
        listen 127.0.0.1:$port;
        include $examples/cart_api.conf;
    }
}
EOC
close $conf;

like(`$nginx -t -c $dir/nginx.conf 2>&1`, qr/test is successful/,
     'nginx -t loads the module from modules-enabled');

my $pid = spawn("$dir/stderr", $nginx, '-c', "$dir/nginx.conf");

$ENV{TEST_NGINX_SERVER_PORT} = $port;
my $device = '8d1b5c2e-4f6a-4b7c-9d8e-0f1a2b3c4d5e';
my $now = time;
my $token = jwt('RS256', "$CartTest::KEYS/rs256.key",
                { device_id => $device, iat => $now, exp => $now + 600 });
my ($status, $body) = http_get('/api/v2/domains/staging.luma.gift/cart',
                               'x-firmly-authorization' => $token);
is($status, 200, 'the packaged cart_api.conf serves the V2 cart');
chomp(my $stored = `/usr/bin/cartctl --store $dir/store get cart $device staging.luma.gift`);
is($body, $stored, 'the very cart that cartctl stored');

my $spree = jwt('HS256', "$CartTest::KEYS/spree.secret",
                { user_id => 42, user_type => 'customer', iss => 'spree',
                  aud => 'store_api', exp => $now + 600 });
($status, $body) = http_get('/api/v3/store/carts',
                            'Authorization' => "Bearer $spree",
                            'x-spree-api-key' => 'pk_demo_0c1a8e5f27b94d6e');
is($status, 200, 'and the Spree listing');
like($body, qr/"count":2,/, "customer 42's two incomplete carts");

kill 'QUIT', $pid;
waitpid $pid, 0;
unlike(slurp("$dir/error.log"), qr/\[(?:emerg|alert|crit)\]/,
       'nothing worse than an error logged');

# removed: the link is set aside as Debian's modules do; purged: gone
is(dpkg('-r', @packages), 0, 'dpkg -r removes both');
ok(!-e $enabled && -l "$enabled.removed",
   'removed: the modules-enabled link is set aside');
is(dpkg('-P', @packages), 0, 'dpkg -P purges both');
ok(!-e "$enabled.removed", 'purged: the link is gone');
is(tree(), $before, 'nothing left behind');

done_testing();
