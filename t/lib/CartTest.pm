package CartTest;

# Helpers for the suites in t/: stores built with cartctl from fixture
# NDJSON, JWTs signed with the test keys in t/keys, and a plain HTTP GET
# for --- init blocks.  Not part of Test::Nginx.

use strict;
use warnings;

use CartCapture;
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use File::Temp qw(tempfile);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Time::HiRes ();

use base 'Exporter';

our @EXPORT = qw(
    $KEYS $DATA $DEV_A $DEV_B $DEV_C $DEV_MANY $DEV_OLD %tok %body
    jwt jwt_parts b64url store cartctl import_lines http_get firmly_setup
    slurp api_http free_port spawn promtool_check own_nginx
    get_record put_records error_body error_log_text early_in_second
    stored_cart $ROUTE_LOCATIONS
);

our $T = abs_path(dirname(__FILE__) . '/..');
our $KEYS = "$T/keys";
our $DATA = "$T/data";

# the devices of t/data/base.ndjson
our $DEV_A = '3f9c2a7e-1b4d-4c8e-9a2f-6d5e4c3b2a10';
our $DEV_B = 'b2c4e6f8-0a1b-4c3d-8e5f-7a9b1c3d5e7f';
our $DEV_OLD = 'e7d6c5b4-a392-4817-9f0e-1d2c3b4a5968';

# the devices of t/data/active.ndjson: no carts, and carts at 20 domains
our $DEV_C = 'c0c0c0c0-0000-4000-8000-000000000000';
our $DEV_MANY = 'aaaaaaaa-2020-4020-8020-202020202020';

# device tokens ($tok{a} for $DEV_A, ...) and expected bodies, by name
our %tok;
our %body;

my $json = JSON::PP->new->canonical;

sub b64url {
    my $s = encode_base64(shift, '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

sub openssl_sign {
    my ($key, $input) = @_;

    my ($fh, $file) = tempfile(UNLINK => 1);
    binmode $fh;
    print $fh $input;
    close $fh;

    my $sig = `openssl dgst -sha256 -sign '$key' -binary '$file'`;
    die "openssl dgst failed" if $? != 0;

    return $sig;
}

# ECDSA-Sig-Value DER -> r || s, 32 bytes each (RFC 7518, 3.4)
sub der_to_raw {
    my $der = shift;
    my @b = unpack 'C*', $der;
    my $i = 2;
    my @parts;

    for (1 .. 2) {
        die "bad DER" if $b[$i] != 0x02;
        my $len = $b[$i + 1];
        my @int = @b[$i + 2 .. $i + 1 + $len];
        shift @int while @int > 32;
        unshift @int, 0 while @int < 32;
        push @parts, @int;
        $i += 2 + $len;
    }

    return pack 'C*', @parts;
}

# a compact JWS from raw header and payload JSON texts
sub jwt_parts {
    my ($alg, $key, $header, $payload) = @_;
    my $input = b64url($header) . '.' . b64url($payload);
    my $sig = '';

    if ($alg eq 'HS256') {
        open my $in, '<', $key or die "$key: $!";
        my $secret = do { local $/; <$in> };
        $secret =~ s/[\r\n]+$//;
        $sig = hmac_sha256($input, $secret);

    } elsif ($alg eq 'RS256') {
        $sig = openssl_sign($key, $input);

    } elsif ($alg eq 'ES256') {
        $sig = der_to_raw(openssl_sign($key, $input));
    }

    return "$input." . b64url($sig);
}

# jwt('RS256', "$KEYS/rs256.key", { device_id => ..., exp => ... })
sub jwt {
    my ($alg, $key, $claims, $header) = @_;
    $header ||= { alg => $alg, typ => 'JWT' };
    return jwt_parts($alg, $key, $json->encode($header),
                     $json->encode($claims));
}

sub slurp {
    my $file = shift;
    open my $in, '<', $file or die "$file: $!";
    local $/;
    return scalar <$in>;
}

# runs cartctl quietly; dies with what it said when it fails
sub cartctl {
    my @args = @_;
    my $bin = $ENV{TEST_NGINX_CARTCTL} || 'cartctl';
    my ($fh, $err) = tempfile(UNLINK => 1);
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        open STDERR, '>&', $fh or POSIX::_exit(127);
        exec $bin, @args or POSIX::_exit(127);
    }

    waitpid($pid, 0);
    return if $? == 0;

    die "cartctl @args: exit " . ($? >> 8) . ": " . slurp($err);
}

# imports NDJSON lines into a store with cartctl (quietly, or dies)
sub import_lines {
    my ($store, @lines) = @_;
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh map { /\n$/ ? $_ : "$_\n" } @lines;
    close $fh;
    cartctl('--store', $store, 'import', $file);
}

# a cart's bytes as the store holds them (V2; V1 with '--v1'), by cartctl
sub stored_cart {
    my ($device, $domain, @v1) = @_;
    my $bin = $ENV{TEST_NGINX_CARTCTL} || 'cartctl';
    my $cart = `$bin --store $ENV{TEST_NGINX_STORE} get cart $device $domain @v1`;
    die "cartctl get cart $device $domain failed" if $? != 0;
    chomp $cart;
    return $cart;
}

# a port of 127.0.0.1 that nobody listens on now
sub free_port {
    my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Listen => 1)
        or die "listen: $!";
    my $port = $probe->sockport;
    close $probe;
    return $port;
}

# a command started as a child (so reaped at once when it ends), its
# standard error into a file and its output to /dev/null (a daemon that
# kept the test's output open would keep prove waiting); returns its pid
sub spawn {
    my ($stderr, @command) = @_;
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        open STDOUT, '>', '/dev/null' or POSIX::_exit(127);
        open STDERR, '>', $stderr or POSIX::_exit(127);
        exec @command or POSIX::_exit(127);
    }

    return $pid;
}

# the server block's locations of every route, for own_nginx()
our $ROUTE_LOCATIONS = <<'EOC';
        location ~ ^/api/v2/domains/([^/]+)/cart$ {
            cart_api firmly_cart_v2;
            cart_domain $1;
        }
        location ~ ^/api/v1/domains/([^/]+)/cart$ {
            cart_api firmly_cart_v1;
            cart_domain $1;
        }
        location = /api/v2/carts/active { cart_api firmly_active_carts; }
        location = /api/v2/carts/active-domains {
            cart_api firmly_active_domains;
        }
        location = /api/v3/store/carts { cart_api spree_carts; }
EOC

# A test's own nginx (tests/): in a scratch directory under build/, a store
# of base.ndjson and spree.ndjson, nginx started with the module, the test
# keys, $main at the top level, $http in the http block and a server on a
# free port with $server.  Points http_get at it; returns (dir, port, pid).
# Options: store => [cartctl options of the new store], files => [more
# NDJSON files for it].
sub own_nginx {
    my ($name, $main, $http, $server, %opt) = @_;
    my $nginx = $ENV{TEST_NGINX_BINARY} or die "TEST_NGINX_BINARY is not set\n";
    my $module = $ENV{TEST_NGINX_LOAD_MODULES}
        or die "TEST_NGINX_LOAD_MODULES is not set\n";
    my $dir = File::Temp::tempdir("$name-XXXXXX", DIR => abs_path('build'),
                                  CLEANUP => 1);
    chmod 0755, $dir;
    cartctl('--store', "$dir/store", '--map-size', '1G',
            @{ $opt{store} // [] }, 'import', $_)
        for "$DATA/base.ndjson", "$DATA/spree.ndjson", @{ $opt{files} // [] };
    system("chmod -R a+rwX $dir/store") == 0 or die 'chmod';

    my $port = free_port();
    my $user = $> == 0 ? 'user nobody nogroup;' : '';

    open my $conf, '>', "$dir/nginx.conf" or die "$dir/nginx.conf: $!";
    print $conf <<EOC;
load_module $module;
$user
daemon off;
error_log $dir/error.log notice;
pid $dir/nginx.pid;
$main
http {
    access_log off;
    client_body_temp_path $dir;
    cart_store $dir/store;
    cart_device_jwt_key rs256 $KEYS/rs256.pub;
    cart_spree_jwt_secret $KEYS/spree.secret;
$http
    server {
        listen 127.0.0.1:$port reuseport;
$server
    }
}
EOC
    close $conf;

    my $pid = spawn("$dir/stderr", $nginx, '-p', "$dir/",
                    '-c', "$dir/nginx.conf");
    $ENV{TEST_NGINX_SERVER_PORT} = $port;

    return ($dir, $port, $pid);
}

# Prometheus' own check of a scrape (promtool from Debian's prometheus
# package, which make test puts on PATH): a test, or a skip without it
sub promtool_check {
    my ($text, $out, $name) = @_;

  SKIP: {
        chomp(my $promtool = `sh -c 'command -v promtool'`);
        Test::More::skip('promtool is not installed (Debian: prometheus)', 1)
            if !$promtool;
        open my $pipe, '|-', "$promtool check metrics >$out 2>&1"
            or die "promtool: $!";
        print $pipe $text;
        close $pipe;
        Test::More::is($? >> 8, 0, $name)
            or Test::More::diag(slurp($out));
    }
}

# a fresh store at $dir from NDJSON files
sub store {
    my ($dir, @files) = @_;
    remove_tree($dir);
    cartctl('--store', $dir, '--map-size', '16M', 'import', $_) for @files;
    return $dir;
}

# an error body as the module sends it: {"code":N,"error":E,"description":D}
sub error_body {
    my ($code, $error, $description) = @_;
    return qq({"code":$code,"error":"$error","description":"$description"});
}

# a record's value, read with the LMDB tools
sub get_record {
    my ($dir, $db, $key) = @_;
    my ($value, $data);
    open my $dump, '-|', 'mdb_dump', '-s', $db, $dir or die "mdb_dump: $!";

    # after the header, lines of " hex key" and " hex value"
    while (my $line = <$dump>) {
        if (!$data) {
            $data = $line =~ /^HEADER=END/;
            next;
        }

        last if $line =~ /^DATA=END/;
        my $v = <$dump>;
        $value = pack 'H*', $v =~ s/^ |\n$//gr
            if pack('H*', $line =~ s/^ |\n$//gr) eq $key;
    }

    close $dump or die "mdb_dump -s $db $dir failed";
    defined $value or die "$dir: no record \"$key\" in $db";
    return $value;
}

# records written as they are, with the LMDB tools, as a writer other than
# cartctl might write them: key => value, both bytes
sub put_records {
    my ($dir, $db, %records) = @_;
    open my $load, '|-', 'mdb_load', '-s', $db, $dir or die "mdb_load: $!";
    print $load "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n";
    print $load ' ', unpack('H*', $_), "\n ", unpack('H*', $records{$_}), "\n"
        for sort keys %records;
    print $load "DATA=END\n";
    close $load or die "mdb_load -s $db $dir failed";
}

# GET path from the nginx under test: "status body", or in list context
# (status, body, headers).  It waits for nginx to listen (under valgrind,
# nginx takes seconds to start).  HTTP/1.0, unless $HttpVersion says
# otherwise (nginx gzips only HTTP/1.1 answers unless told); GET, unless
# $HttpMethod does.
our $HttpVersion = '1.0';
our $HttpMethod = 'GET';

sub http_get {
    my ($path, %headers) = @_;
    my $port = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
    my $sock;

    for my $try (1 .. 100) {
        $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        last if $sock;
        Time::HiRes::sleep(0.1);
    }

    $sock or die "connect to port $port: $!";
    my $req = "$HttpMethod $path HTTP/$HttpVersion\r\nHost: localhost\r\n";
    $req .= "Connection: close\r\n" if $HttpVersion ne '1.0';
    $req .= "$_: $headers{$_}\r\n" for sort keys %headers;
    print $sock "$req\r\n";

    # a worker that dies takes the connection with it: no endless wait
    my ($resp, $sel) = ('', IO::Select->new($sock));
    while ($sel->can_read(10)) {
        last if !sysread($sock, my $buf, 65536);
        $resp .= $buf;
    }

    close $sock;
    CartCapture::record("http_get $path", $req . "\r\n", $resp);
    return wantarray ? (0, '', '') : '0 ' if $resp eq '';
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    my ($status) = $head =~ m{^HTTP/1\.\d (\d+)};
    return wantarray ? ($status, $body, $head) : "$status $body";
}

# what nginx has logged so far in this test block's server root
sub error_log_text {
    return slurp(main::server_root() . '/logs/error.log');
}

# waits for the start of a second: what follows happens within it
sub early_in_second {
    my $now = Time::HiRes::time();
    my $frac = $now - int($now);
    Time::HiRes::sleep(1.02 - $frac) if $frac > 0.2;
}

# The common set-up of the firmly suites: a store from the fixtures, the
# device tokens, and default http_config and config sections.
sub firmly_setup {
    my @fixtures = @_;
    my $tmp = File::Temp::tempdir(CLEANUP => 1);
    my $exp = time + 3600;
    my %claims = (device_id => $DEV_A, app_id => 'test',
                  iat => $exp - 3600, exp => $exp);
    my $rs = "$KEYS/rs256.key";

    $ENV{TEST_NGINX_TMP} = $tmp;
    $ENV{TEST_NGINX_STORE} = store("$tmp/store", @fixtures);
    $ENV{TEST_NGINX_API_CONF} = "$T/../conf/cart_api.conf";
    $ENV{TEST_NGINX_HTTP_CONF} = "$T/../conf/cart_http.conf";

    %tok = (
        a => jwt('RS256', $rs, \%claims),
        b => jwt('RS256', $rs, { %claims, device_id => $DEV_B }),
        c => jwt('RS256', $rs, { %claims, device_id => $DEV_C }),
        many => jwt('RS256', $rs, { %claims, device_id => $DEV_MANY }),
        old => jwt('RS256', $rs, { %claims, device_id => $DEV_OLD }),
        unknown => jwt('RS256', $rs, { %claims, device_id => 'nobody' }),
        other_key => jwt('RS256', "$KEYS/rs256-other.key", \%claims),
        expired => jwt('RS256', $rs, { %claims, exp => time - 10 }),
        no_exp => jwt('RS256', $rs, { device_id => $DEV_A }),
        no_device => jwt('RS256', $rs, { %claims, device_id => undef }),
        bad_device => jwt('RS256', $rs, { %claims,
                                          device_id => '../etc/passwd' }),
        sub => jwt('RS256', $rs, { sub => $DEV_A, exp => $exp }),
        hs => jwt('HS256', "$KEYS/hs256.secret", \%claims),
        es => jwt('ES256', "$KEYS/es256.key", \%claims),
        # alg confusion: the RSA public key used as an HMAC secret
        confused => jwt('HS256', "$KEYS/rs256.pub", \%claims),
        none => b64url('{"alg":"none","typ":"JWT"}') . '.'
                . b64url(qq({"device_id":"$DEV_A","exp":$exp})) . '.',
    );

    %body = (
        v2_page002 => slurp("$DATA/page-002-cart.v2.json"),
    );

    main::add_block_preprocessor(sub {
        my $block = shift;

        if (!defined $block->http_config) {
            $block->set_value("http_config", <<_EOC_);
    cart_store $ENV{TEST_NGINX_STORE};
    cart_device_jwt_key rs256 $KEYS/rs256.pub;
_EOC_
        }

        if (!defined $block->config) {
            $block->set_value("config",
                              "include $ENV{TEST_NGINX_API_CONF};\n");
        }

        api_http($block);
    });
}

# what conf/cart_api.conf needs of the http block, for a block that
# includes it and does not set it itself: conf/cart_http.conf, a Spree
# secret, and an upstream "spree" (on a port where nothing listens, unless
# TEST_NGINX_SPREE_PORT says otherwise)
sub api_http {
    my $block = shift;
    my $http = $block->http_config;

    return if $block->config !~ /cart_api\.conf/ || $http =~ /cart_http\.conf/;

    my $port = $ENV{TEST_NGINX_SPREE_PORT} || 1;
    $http .= "\n    include $ENV{TEST_NGINX_HTTP_CONF};\n"
             . "    upstream spree { server 127.0.0.1:$port; }\n";
    $http .= "    cart_spree_jwt_secret $KEYS/spree.secret;\n"
        if $http !~ /cart_spree_jwt_secret/;

    $block->set_value("http_config", $http);
}

1;
