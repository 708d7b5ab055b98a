# Misconfiguration fails "nginx -t" with a message naming the directive.

use strict;
use warnings;
use lib 't/lib';
use CartTest;
use File::Temp qw(tempdir);
use Test::More;

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $module = $ENV{TEST_NGINX_LOAD_MODULES} or die "no module to load\n";
my $tmp = tempdir(CLEANUP => 1);
mkdir "$tmp/logs";

# "nginx -t" of an http block; returns (exit status, output)
sub nginx_t {
    my ($http) = @_;
    open my $fh, '>', "$tmp/nginx.conf" or die $!;
    print $fh "load_module $module;\nerror_log stderr;\npid $tmp/nginx.pid;\n"
              . "events {}\nhttp {\n$http\n}\n";
    close $fh;
    my $out = `$nginx -t -p $tmp/ -c $tmp/nginx.conf 2>&1`;
    return ($? >> 8, $out);
}

# keys in DER, and PEM armour after a preamble, for the hs256 cases
system("openssl pkey -pubin -in $KEYS/rs256.pub -outform DER -out $tmp/rs256.der") == 0
    or die "openssl pkey";
system("openssl pkey -in $KEYS/rs256.key -outform DER -out $tmp/rs256.key.der") == 0
    or die "openssl pkey";
open my $armoured, '>', "$tmp/armoured" or die $!;
print $armoured "Bag Attributes: a preamble, as some tools write them\n",
                slurp("$KEYS/rs256.pub");
close $armoured;

my $route = "location /c { cart_api firmly_cart_v2; cart_domain \$arg_d; }";
my $key = "cart_device_jwt_key rs256 $KEYS/rs256.pub;";
my $store = "cart_store $tmp/store;";

my @cases = (
    ["$store $key server { location /c { cart_api nope; } }",
     qr/unknown cart_api "nope" in \S+nginx\.conf:\d+/, 'an unknown cart_api'],
    ["$store $key server { location /c { cart_api firmly_cart_v2; "
     . "cart_api firmly_cart_v2; cart_domain \$arg_d; } }",
     qr/"cart_api" directive is duplicate/, 'cart_api twice'],
    ["$store cart_device_jwt_key rs256 $tmp/none.pub; server { $route }",
     qr/"cart_device_jwt_key": key file "\S+none\.pub": cannot open/, 'a missing key file'],
    ["$store cart_device_jwt_key rs256 $KEYS/garbage.pem; server { $route }",
     qr/"cart_device_jwt_key": key file "\S+garbage\.pem": not a PEM public key/, 'not a PEM key'],
    ["$store cart_device_jwt_key rs256 $KEYS/rs1024.pub; server { $route }",
     qr/at least 2048 bits/, 'a weak RSA key'],
    ["$store cart_device_jwt_key es256 $KEYS/rs256.pub; server { $route }",
     qr/an es256 key must be EC P-256/, 'an RSA key as es256'],
    ["$store cart_device_jwt_key hs256 $KEYS/short.secret; server { $route }",
     qr/an HS256 secret must be at least 32 bytes/, 'a short HMAC secret'],
    ["$store cart_device_jwt_key hs256 $KEYS/rs256.pub; server { $route }",
     qr/"cart_device_jwt_key": key file "\S+rs256\.pub": an hs256 secret must not be a key or certificate \(PEM or DER\)/,
     'a PEM public key as an HMAC secret'],
    ["$store cart_device_jwt_key hs256 $tmp/rs256.der; server { $route }",
     qr/"cart_device_jwt_key": key file "\S+rs256\.der": an hs256 secret must not be a key/,
     'a DER public key as an HMAC secret'],
    ["$store cart_device_jwt_key hs256 $tmp/rs256.key.der; server { $route }",
     qr/"cart_device_jwt_key": key file "\S+rs256\.key\.der": an hs256 secret must not be a key/,
     'a DER private key as an HMAC secret'],
    ["$store cart_device_jwt_key hs256 $tmp/armoured; server { $route }",
     qr/"cart_device_jwt_key": key file "\S+armoured": an hs256 secret must not be a key/,
     'PEM armour after other text'],
    ["$store cart_device_jwt_key ps256 $KEYS/rs256.pub; server { $route }",
     qr/"cart_device_jwt_key": unknown algorithm "ps256"/, 'an unknown algorithm'],
    ["$store cart_device_jwt_key rs256 $KEYS/rs256.pub kid=; server { $route }",
     qr/"cart_device_jwt_key": key file "\S+rs256\.pub": a kid must be 1 to 128 characters/,
     'an empty kid'],
    ["$store cart_device_jwt_key rs256 $KEYS/rs256.pub id=a; server { $route }",
     qr/"cart_device_jwt_key": unknown parameter "id=a", the key's name is given as kid=NAME/,
     'a parameter that is not kid'],
    ["$store cart_device_secret $KEYS/short.secret; server { $route }",
     qr/"cart_device_secret": secret file "\S+short\.secret": an HS256 secret must be at least 32 bytes/,
     'a short device secret'],
    ["$store cart_device_secret $KEYS/rs256.pub; server { $route }",
     qr/"cart_device_secret": secret file "\S+rs256\.pub": an hs256 secret must not be a key/,
     'a key as the device secret'],
    ["$store cart_device_secret $tmp/none.secret; server { $route }",
     qr/"cart_device_secret": secret file "\S+none\.secret": cannot open/,
     'a missing device secret'],
    ["$store server { location /s { cart_api spree_carts; } }",
     qr/"cart_api spree_carts" needs "cart_spree_jwt_secret"/,
     'a Spree route without its secret'],
    ["$store cart_spree_jwt_secret $KEYS/short.secret; server { }",
     qr/"cart_spree_jwt_secret": key file "\S+short\.secret": an HS256 secret must be at least 32 bytes/,
     'a short Spree secret'],
    ["$store cart_spree_jwt_secret $KEYS/rs256.pub; server { }",
     qr/"cart_spree_jwt_secret": key file "\S+rs256\.pub": an hs256 secret must not be a key/,
     'a key as the Spree secret'],
    ["$store cart_spree_store Default; server { }",
     qr/"cart_spree_store": "Default" is not a store name \(1 to 64 of a-z, 0-9, '_', '-'\)/,
     'a store name with a capital'],
    ["cart_spree_jwt_secret $KEYS/spree.secret; server { location /s { cart_api spree_carts; } }",
     qr/"cart_api spree_carts" needs "cart_store" in the http block/,
     'a Spree route without a store'],
    ["$store $key server { location /c { cart_api firmly_cart_v2; } }",
     qr/"cart_api firmly_cart_v2" needs "cart_domain"/, 'no cart_domain'],
    ["$store server { $route }",
     qr/"cart_api firmly_cart_v2" needs "cart_device_jwt_key" or "cart_device_secret"/,
     'no key'],
    ["$key server { $route }",
     qr/"cart_api firmly_cart_v2" needs "cart_store"/, 'no cart_store'],
    ["$store $key server { location /c { cart_store /x; } }",
     qr/"cart_store" directive is not allowed here/, 'cart_store in a location'],
    ["$store $key server { location /m { cart_metrics; cart_metrics; } }",
     qr/"cart_metrics" directive is duplicate/, 'cart_metrics twice'],
    ["$store $key server { location /m { cart_metrics on; } }",
     qr/invalid number of arguments in "cart_metrics" directive/,
     'cart_metrics with an argument'],
    ["$store $key cart_metrics; server { }",
     qr/"cart_metrics" directive is not allowed here/, 'cart_metrics in http'],
    ["$store $key server { location /m { cart_api firmly_active_carts; cart_metrics; } }",
     qr/"cart_metrics" directive cannot share a location with "cart_api"/,
     'cart_metrics after cart_api'],
    ["$store $key server { location /m { cart_metrics; cart_api firmly_active_carts; } }",
     qr/"cart_api" directive cannot share a location with "cart_metrics"/,
     'cart_api after cart_metrics'],
);

for my $case (@cases) {
    my ($http, $re, $what) = @$case;
    my ($rc, $out) = nginx_t($http);
    isnt($rc, 0, "$what: nginx -t fails");
    like($out, $re, "$what: and says why");
}

my $spree = "cart_spree_jwt_secret $KEYS/spree.secret; "
            . "include $CartTest::T/../conf/cart_http.conf; "
            . "upstream spree { server 127.0.0.1:1; }";

my ($rc, $out) = nginx_t("$store $key $spree cart_device_jwt_claim sub; "
                         . "server { $route include "
                         . "$CartTest::T/../conf/cart_api.conf; }");
is($rc, 0, 'a good configuration, with conf/cart_api.conf, passes')
    or diag $out;

($rc, $out) = nginx_t("$store cart_device_secret $KEYS/device.secret; "
                      . "server { $route }");
is($rc, 0, 'a route with only cart_device_secret passes') or diag $out;

($rc, $out) = nginx_t("$store cart_spree_jwt_secret $KEYS/spree.secret; "
                      . "server { location /s { cart_api spree_carts; "
                      . "cart_spree_store other-store_1; } }");
is($rc, 0, 'a Spree route needs no device key') or diag $out;

done_testing();
