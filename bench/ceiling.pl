# bench/ceiling.pl NAME BODY HTTP_CONF SERVER_CONF: the ceiling locations of
# one route: /return/NAME sends BODY's bytes with "return 200" (as map
# variables of under 2 KB, a configuration token's limit being 4 KB) and
# /static/NAME sends the file; both with the headers the route sends (its
# API's: firmly's, or for spree_* Spree's).  Where BODY.gz is there (the
# route's gzip answer), /gzstatic/NAME sends it with gzip_static, as nginx
# sends a file compressed once.

use strict;
use warnings;

my ($name, $file, $http_conf, $server_conf) = @ARGV;

open my $in, '<', $file or die "$file: $!";
my $body = do { local $/; <$in> };

open my $http, '>>', $http_conf or die "$http_conf: $!";
open my $server, '>>', $server_conf or die "$server_conf: $!";

my $vars = '';

for (my $i = 0; $i * 1800 < length $body; $i++) {
    my $chunk = substr $body, $i * 1800, 1800;
    $chunk =~ s/([\\'])/\\$1/g;
    $chunk =~ s/\$/\${dollar}/g;
    print $http "map \"\" \$ceiling_${name}_$i { default '$chunk'; }\n";
    $vars .= "\${ceiling_${name}_$i}";
}

my $headers = $name =~ /^spree_/ ? <<'EOC' : <<'EOC';
    default_type "application/json; charset=utf-8";
    add_header Cache-Control "max-age=0, private, must-revalidate";
    add_header ETag 'W/"0123456789abcdef0123456789abcdef"';
    add_header X-Content-Type-Options nosniff;
    add_header X-Frame-Options DENY;
    add_header Referrer-Policy strict-origin-when-cross-origin;
    add_header Permissions-Policy "camera=(), microphone=(), geolocation=()";
    add_header X-Request-Id $request_id always;
EOC
    default_type application/json;
    add_header Cache-Control "private, no-cache";
    add_header ETag '"0123456789abcdef"';
EOC

print $server <<EOC;
location = /return/$name {
$headers    return 200 "$vars";
}
location = /static/$name {
$headers    alias $file;
}
EOC

print $server <<EOC if -f "$file.gz";
location = /gzstatic/$name {
$headers    add_header Vary Accept-Encoding;
    gzip_static on;
    alias $file;
}
EOC
