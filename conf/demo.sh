#!/bin/sh
# "make run": serves the demo store and its page on 127.0.0.1, and prints
# curl lines.
# usage: conf/demo.sh NGINX MODULE STORE PORT
set -eu

nginx=$1 module=$2 store=$3 port=$4
top=$(cd "$(dirname "$0")/.." && pwd)
prefix=${DEMO_PREFIX:-$top/build/demo}
device=8d1b5c2e-4f6a-4b7c-9d8e-0f1a2b3c4d5e

mkdir -p "$prefix"

# root starts the workers as nobody, who may use the store (Makefile)
user=
[ "$(id -u)" = 0 ] && user="user nobody nogroup;"

# a device token as firmly issues them: RS256, device_id, app_id, iat, exp
token=$(perl -I"$top/t/lib" -MCartTest -e '
    my $now = time;
    print jwt("RS256", $ARGV[0], { device_id => $ARGV[1], app_id => "demo",
                                   iat => $now, exp => $now + 86400 });
' "$top/conf/demo/demo-rs256.key" "$device")

# a Spree customer token: HS256 with the store's secret, user_id, exp
spree=$(perl -I"$top/t/lib" -MCartTest -e '
    print jwt("HS256", $ARGV[0], { user_id => 42, user_type => "customer",
                                   iss => "spree", aud => "store_api",
                                   exp => time + 86400 });
' "$top/conf/demo/demo-spree.secret")

sed -e "s|@MODULE@|$module|" -e "s|@STORE@|$store|" -e "s|@PORT@|$port|" \
    -e "s|@KEY@|$top/conf/demo/demo-rs256.pub|" -e "s|@PREFIX@|$prefix|" \
    -e "s|@API_CONF@|$top/conf/cart_api.conf|" -e "s|@USER@|$user|" \
    -e "s|@HTTP_CONF@|$top/conf/cart_http.conf|" \
    -e "s|@SPREE_SECRET@|$top/conf/demo/demo-spree.secret|" \
    -e "s|@WWW@|$top/conf/www|" -e "s|@TOKEN@|$token|" \
    "$top/conf/demo.conf.in" > "$prefix/nginx.conf"

"$nginx" -q -t -p "$prefix/" -c "$prefix/nginx.conf"

url=http://127.0.0.1:$port
h="x-firmly-authorization: $token"
s="-H 'Authorization: Bearer $spree' -H 'x-spree-api-key: pk_demo_0c1a8e5f27b94d6e'"

cat <<EOT
ngx_http_cart_module demo on $url (Ctrl-C stops it)
the demo page, a cart drawer of the device's carts: $url/
store: $store (device $device, Spree customer 42)
the tokens below are valid for 24 hours; "make run" again makes new ones

curl -s -H '$h' $url/api/v2/domains/staging.luma.gift/cart
curl -s -H '$h' $url/api/v2/domains/demo.luma.gift/cart
curl -s -H '$h' $url/api/v2/domains/shop.luma.gift/cart
curl -s -H '$h' $url/api/v1/domains/staging.luma.gift/cart
curl -s -H '$h' $url/api/v1/domains/new.luma.gift/cart
curl -s -H '$h' $url/api/v2/carts/active
curl -s -H '$h' '$url/api/v2/carts/active?excludes=demo.luma.gift,shop.luma.gift'
curl -s -H '$h' $url/api/v2/carts/active-domains
curl -si $url/api/v2/domains/staging.luma.gift/cart

curl -s $s $url/api/v3/store/carts
curl -s $s '$url/api/v3/store/carts?fields=number,total&limit=1&page=2'
curl -s $s '$url/api/v3/store/carts?sort=created_at&fields=number'
curl -s $s '$url/api/v3/store/carts?q%5Bupdated_at_gt%5D=2026-11-22&fields=number'
curl -si -H 'Authorization: Bearer $spree' $url/api/v3/store/carts

EOT

exec "$nginx" -p "$prefix/" -c "$prefix/nginx.conf"
