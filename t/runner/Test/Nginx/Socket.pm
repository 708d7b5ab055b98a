package Test::Nginx::Socket;

# A small stand-in for Test::Nginx::Socket (openresty/test-nginx), for
# machines where the real one is not installed: the project's Makefile puts
# this directory on PERL5LIB only when "perl -MTest::Nginx::Socket -e1"
# fails.  It implements the subset of sections and functions that the
# suites in t/ use, with the same names, meanings and test descriptions,
# and bails out on any other section rather than ignore it.
#
# One difference by design: nginx runs in the foreground as a child of
# this process ("daemon off"), so that it is reaped at once between blocks.
# One addition: with CART_CONTRACT_CAPTURE set, each exchange is recorded
# for the OpenAPI contract test (t/lib/CartCapture.pm).

use Test::Base -Base;

use Cwd ();
use File::Path ();
use File::Spec ();
use HTTP::Response ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util ();
use POSIX ();
use Test::LongString;
use Time::HiRes ();

our @EXPORT = qw(
    run_tests repeat_each no_shuffle workers master_on master_off log_level
    no_long_string no_root_location add_block_preprocessor env_to_nginx
    server_root html_dir server_port timeout check_accum_error_log
);

our $NginxBinary = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                  || 1984;
our $ServerAddr = '127.0.0.1';
our $ServerName = 'localhost';
our $Timeout = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $LogLevel = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $Workers = 1;
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $RepeatEach = 1;
our $NoShuffle = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoLongString;
our $NoRootLocation;
our $LoadModules = $ENV{TEST_NGINX_LOAD_MODULES};
our @BlockPreprocessors;
our @EnvToNginx;

our $ServRoot = $ENV{TEST_NGINX_SERVROOT}
                || File::Spec->rel2abs('t/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir = "$ServRoot/html";
our $ConfDir = "$ServRoot/conf";
our $ConfFile = "$ConfDir/nginx.conf";
our $PidFile = "$LogDir/nginx.pid";

our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};

our $ChildPid;
our $ErrLogFilePos = 0;

# the sections this runner understands; any other one bails out
my %Sections = map { $_ => 1 } qw(
    config http_config main_config init request more_headers timeout
    error_code error_code_like response_body response_body_like
    response_body_unlike response_body_filters response_headers
    response_headers_like
    raw_response_headers_like raw_response_headers_unlike
    error_log no_error_log log_level SKIP ONLY LAST
);

sub repeat_each (@) { $RepeatEach = shift if @_; $RepeatEach }
sub no_shuffle () { $NoShuffle = 1 }
sub workers (@) { $Workers = shift if @_; $Workers }
sub master_on () { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }
sub log_level (@) { $LogLevel = shift if @_; $LogLevel }
sub no_long_string () { $NoLongString = 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub server_root () { $ServRoot }
sub html_dir () { $HtmlDir }
sub server_port (@) { $ServerPort = shift if @_; $ServerPort }
sub timeout (@) { $Timeout = shift if @_; $Timeout }
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub env_to_nginx (@) { push @EnvToNginx, @_ }

sub bail_out (@) {
    stop_nginx();
    Test::More::BAIL_OUT(join '', @_);
}

sub is_str ($$$) {
    my ($got, $expected, $desc) = @_;

    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }

    return $NoLongString ? Test::More::is($got, $expected, $desc)
                         : is_string($got, $expected, $desc);
}

sub expand_env ($$) {
    my ($text, $name) = @_;

    return undef if !defined $text;

    $text =~ s/\$(TEST_NGINX_[_A-Z0-9]+)/
        defined $ENV{$1} ? $ENV{$1}
                         : bail_out("$name - No environment $1 defined.\n")/eg;

    return $text;
}

sub stop_nginx () {
    return if !defined $ChildPid;

    kill POSIX::SIGQUIT(), $ChildPid;

    my $deadline = Time::HiRes::time() + $Timeout;
    while (Time::HiRes::time() < $deadline) {
        last if waitpid($ChildPid, POSIX::WNOHANG()) != 0;
        Time::HiRes::sleep(0.005);
    }

    if (kill 0, $ChildPid) {
        warn "nginx $ChildPid did not quit in $Timeout s; killing it\n";
        kill POSIX::SIGKILL(), $ChildPid;
        waitpid($ChildPid, 0);
    }

    undef $ChildPid;
}

# as the real one does without HUP: a file a block left in the server root
# itself stops the run
sub setup_server_root () {
    if (-d $ServRoot) {
        File::Path::remove_tree($ConfDir, $HtmlDir, $LogDir,
                                glob("$ServRoot/*_cache"),
                                glob("$ServRoot/*_temp"));
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }
    File::Path::make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir);

    open my $out, '>', "$HtmlDir/index.html"
        or bail_out("Can't open $HtmlDir/index.html for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;
}

sub write_config_file ($$) {
    my ($block, $config) = @_;
    my $name = $block->name;

    my $http_config = expand_env($block->http_config, $name) // '';
    my $main_config = $block->main_config // '';

    if ($LoadModules) {
        $main_config .= join ' ', map { "load_module $_;" }
                                  grep { $_ } split /\s+/, $LoadModules;
    }

    $main_config = expand_env($main_config, $name);

    my $log_level = $block->log_level || $LogLevel;
    my $env = join '', map { "env $_;\n" } @EnvToNginx;
    my $root = $NoRootLocation ? '' : <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    my $user = $> == 0 ? "user root;\n" : '';

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");

    print $out <<_EOC_;
worker_processes  $Workers;
daemon off;
master_process $MasterProcessEnabled;
error_log $ErrLogFile $log_level;
pid       $PidFile;
$env
$main_config

http {
    access_log $AccLogFile;

    default_type text/plain;
    keepalive_timeout  68;

$http_config

    server {
        listen          $ServerPort;
        server_name     '$ServerName';

        client_max_body_size 30M;

        # Begin test case config...
$config
        # End test case config.

$root    }
}

events {
    accept_mutex off;

    worker_connections  64;
}
$user
_EOC_

    close $out;
}

sub start_nginx ($) {
    my $name = shift;

    my $pid = fork();
    bail_out("$name - fork() failed: $!") if !defined $pid;

    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        exec $NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile
            or POSIX::_exit(127);
    }

    $ChildPid = $pid;

    # nginx writes its pid file once its listening sockets are open
    my $deadline = Time::HiRes::time() + $Timeout * 10;
    while (Time::HiRes::time() < $deadline) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            undef $ChildPid;
            bail_out("$name - Cannot start nginx using command "
                     . "\"$NginxBinary -p $ServRoot/ -c $ConfFile\" "
                     . "(status code $?).");
        }

        return if -s $PidFile;
        Time::HiRes::sleep(0.002);
    }

    bail_out("$name - nginx did not write $PidFile in time");
}

sub run_tests () {
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;

    my @blocks = Test::Base::blocks();
    @blocks = List::Util::shuffle(@blocks) if !$NoShuffle;

    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value("name", $0 . " " . $block->name);
        run_test($block);
    }

    stop_nginx();
}

sub run_test ($) {
    my $block = shift;
    my $name = $block->name;

    return if defined $block->SKIP;

    for my $section (keys %{ $block->_section_map || {} }) {
        next if $Sections{$section};
        bail_out("$name - section \"$section\" is not supported by the "
                 . "project's Test::Nginx runner (t/runner)");
    }

    my $config = expand_env($block->config, $name);
    bail_out("$name - No '--- config' section specified") if !defined $config;

    stop_nginx();
    setup_server_root();
    write_config_file($block, $config);
    start_nginx($name);

    if ($block->init) {
        eval $block->init;
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;

    for my $i (0 .. $RepeatEach - 1) {
        run_requests($block, $i);
    }
}

sub build_request ($$) {
    my ($req, $more_headers) = @_;

    my ($first, $content) = split /\n/, $req, 2;
    my ($meth, $url, $ver) = split ' ', $first;
    $url //= '/';
    $ver //= 'HTTP/1.1';
    $content //= '';

    my $headers = '';
    for my $h (split /\n+/, $more_headers // '') {
        next if $h =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $h, 2;
        $headers .= "$key: " . ($val // '') . "\r\n";
    }

    my $extra = '';
    $extra .= "Host: $ServerName\r\n" if $headers !~ /(?:^|\n)Host:/i;
    $extra .= "Connection: close\r\n" if $headers !~ /(?:^|\n)Connection/i;

    if ($content ne '' && $headers !~ /(?:^|\n)Content-Length:/i) {
        $content =~ s/^\s+|\s+$//gs;
        $headers .= "Content-Length: " . length($content) . "\r\n";
    }

    return "$meth $url $ver\r\n$extra$headers\r\n$content";
}

sub send_request ($$$) {
    my ($name, $raw, $timeout) = @_;

    my $sock;
    for my $try (1 .. 50) {
        $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                      PeerPort => $ServerPort,
                                      Proto => 'tcp', Timeout => $timeout);
        last if $sock;
        Time::HiRes::sleep(0.01 * $try);
    }

    if (!$sock) {
        Test::More::fail("$name - Can't connect to $ServerAddr:$ServerPort: "
                         . "$! (aborted)\n");
        return undef;
    }

    $sock->autoflush(1);
    print $sock $raw;

    my $resp = '';
    my $sel = IO::Select->new($sock);

    while (1) {
        if (!$sel->can_read($timeout)) {
            Test::More::fail("$name - timeout reading the response");
            last;
        }

        my $n = sysread($sock, my $buf, 65536);
        last if !$n;
        $resp .= $buf;
    }

    close $sock;

    return $resp;
}

sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;

    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';
    my $res = HTTP::Response->parse($raw);
    my $code = $res->code;

    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');

    if (defined $enc && $enc eq 'chunked') {
        my $body = $res->content // '';
        my $decoded = '';

        while ($body =~ s/^\s*([0-9A-Fa-f]+)[ \t]*\r\n//) {
            my $size = hex $1;
            last if $size == 0;
            $decoded .= substr($body, 0, $size, '');
            $body =~ s/^\r\n//;
        }

        $res->content($decoded);

    } elsif (defined $len && $len ne '' && !$head_req) {
        my $body = $res->content // '';
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got ", length $body, "\n";

        } elsif (length $body > $len) {
            $res->content(substr $body, 0, $len);
        }
    }

    return ($res, $raw_headers);
}

sub indexed ($$$$) {
    my ($name, $value, $i, $need_array) = @_;

    if (ref $value && ref $value eq 'ARRAY') {
        return $value->[$i];
    }

    bail_out("$name - You asked for many requests, the expected results "
             . "should be arrays as well.") if $need_array;

    return $value;
}

sub parse_headers ($) {
    my %headers;

    for (split /\n/, shift) {
        s/^\s+|\s+$//g;
        next if $_ eq '';

        if (s/^!\s*//) {
            $headers{$_} = undef;

        } else {
            my ($key, $val) = split /\s*:\s*/, $_, 2;
            $headers{$key} = $val;
        }
    }

    return \%headers;
}

sub run_requests ($$) {
    my ($block, $repeated) = @_;
    my $name = $block->name;

    my $requests = $block->request;
    bail_out("$name - request empty") if !defined $requests;

    my $need_array = ref $requests && ref $requests eq 'ARRAY';
    my @reqs = $need_array ? @$requests : ($requests);
    my $timeout = $block->timeout || $Timeout;

    for my $i (0 .. $#reqs) {
        my $req = $reqs[$i];
        $req =~ s/^\s*\#[^\n]+\s+|^\s+//gs while $req =~ /^\s*\#|^\s+/;

        my $more = $block->more_headers;
        $more = indexed($name, $more, $i, 0) if ref $more;

        my $head_req = $req =~ /^\s*HEAD\s+/ ? 1 : 0;
        my $sent = build_request($req, $more);
        my $raw = send_request($name, $sent, $timeout);
        my ($res, $raw_headers) = parse_response($name, $raw // '', $head_req);

        if ($ENV{CART_CONTRACT_CAPTURE}) {
            require CartCapture;
            CartCapture::record($name, $sent, $raw);
        }

        check_error_code($block, $res, $i, $need_array);
        check_raw_response_headers($block, $raw_headers, $i, $need_array);
        check_response_headers($block, $res, $raw_headers, $i, $need_array);
        filter_response_body($block, $res, $i);
        check_response_body($block, $res, $i, $repeated, $need_array);

        check_error_log($block, $repeated) if $i < $#reqs;
    }

    check_error_log($block, $repeated);
}

sub check_error_code ($$$$) {
    my ($block, $res, $i, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->code) || '';

    if (defined $block->error_code_like) {
        my $val = indexed($name, $block->error_code_like, $i, $need_array);
        Test::More::like($code, qr/$val/sm, "$name - status code ok");

    } elsif (defined $block->error_code) {
        Test::More::is($code,
                       indexed($name, $block->error_code, $i, $need_array),
                       "$name - status code ok");

    } else {
        Test::More::is($code, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$) {
    my ($block, $raw_headers, $i, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->raw_response_headers_like) {
        my $pat = indexed($name, $block->raw_response_headers_like, $i,
                          $need_array);
        Test::More::like($raw_headers, qr/$pat/s,
                         "$name - raw resp headers like");
    }

    if (defined $block->raw_response_headers_unlike) {
        my $pat = indexed($name, $block->raw_response_headers_unlike, $i,
                          $need_array);
        Test::More::unlike($raw_headers, qr/$pat/s,
                           "$name - raw resp headers unlike");
    }
}

sub check_response_headers ($$$$$) {
    my ($block, $res, $raw_headers, $i, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_headers) {
        my $headers = parse_headers(indexed($name, $block->response_headers,
                                            $i, $need_array));

        for my $key (sort keys %$headers) {
            my $val = $headers->{$key};

            if (!defined $val) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                    "$name - header $key not present in the raw headers");
                next;
            }

            $val =~ s/\$ServerPort\b/$ServerPort/g;
            my $actual = ($res && $res->header($key)) // '';
            Test::More::is($actual, $val, "$name - header $key ok");
        }

    } elsif (defined $block->response_headers_like) {
        my $headers = parse_headers(indexed($name,
                                            $block->response_headers_like,
                                            $i, $need_array));

        for my $key (sort keys %$headers) {
            my $val = $headers->{$key};
            my $actual = ($res && $res->header($key)) // '';
            Test::More::like($actual, qr/^$val$/,
                             "$name - header $key like ok");
        }
    }
}

sub trim ($) {
    my $s = shift;
    return undef if !defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

# response_body_filters: names (md5_hex, sha1_hex, uc, lc, ucfirst,
# lcfirst, length) or code references, applied in turn to the body before
# it is compared; an array of arrays gives each request its own
my %BodyFilters = (
    md5_hex => sub { require Digest::MD5; Digest::MD5::md5_hex($_[0]) },
    sha1_hex => sub { require Digest::SHA; Digest::SHA::sha1_hex($_[0]) },
    uc => sub { uc $_[0] },
    lc => sub { lc $_[0] },
    ucfirst => sub { ucfirst $_[0] },
    lcfirst => sub { lcfirst $_[0] },
    length => sub { length $_[0] },
);

sub filter_response_body ($$$) {
    my ($block, $res, $i) = @_;
    my $name = $block->name;
    my $filters = $block->response_body_filters;

    return if !defined $filters || !$res || !defined $res->content;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//gs;
        $filters = [split /\s+/, $filters];

    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }

    if (ref $filters->[0] eq 'ARRAY') {
        $filters = $filters->[$i];
        bail_out("$name - the ---response_body_filters two-dimensional "
                 . "array unmatch the specified request($i)")
            if !defined $filters;
    }

    my $content = $res->content;

    for my $f (@$filters) {
        if (ref $f eq 'CODE') {
            $content = $f->($content);

        } elsif (!ref $f && $BodyFilters{$f}) {
            $content = $BodyFilters{$f}->($content);

        } elsif (!ref $f) {
            bail_out("$name - unknown filter, \"$f\", specified in the "
                     . "--- response_body_filters section");

        } else {
            bail_out("$name - the --- response_body_filters section only "
                     . "supports subroutine reference values and string "
                     . "values");
        }
    }

    $res->content($content);
}

sub check_response_body ($$$$$) {
    my ($block, $res, $i, $repeated, $need_array) = @_;
    my $name = $block->name;
    my $content = $res ? $res->content : undef;

    if (defined $block->response_body) {
        my $expected = indexed($name, $block->response_body, $i, $need_array);

        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
        }

        if (ref $expected) {
            Test::More::like($content, $expected,
                "$name - response_body - like (repeated req $repeated, "
                . "req $i)");

        } else {
            is_str($content, $expected,
                   "$name - response_body - response is expected (repeated "
                   . "req $repeated, req $i)");
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $pat = indexed($name, $type eq 'like' ? $block->response_body_like
                                                 : $block->response_body_unlike,
                          $i, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        my $summary = trim($content) // '';
        my $cmp = $type eq 'like' ? \&Test::More::like : \&Test::More::unlike;

        $cmp->($content, qr/$pat/s,
               "$name - response_body_$type - response is expected "
               . "($summary)");
    }
}

sub error_log_data () {
    # what nginx logs after it has sent the response
    Time::HiRes::sleep($TestNginxSleep * 3);

    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos > 0;
    my @lines = <$in>;
    $ErrLogFilePos = tell($in) if !$CheckAccumErrLog;
    close $in;

    return \@lines;
}

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

sub patterns ($) {
    my $pats = shift;

    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats] if ref $pats eq 'ARRAY';

    chomp $pats;
    return [split /\n+/, $pats];
}

sub check_error_log ($$) {
    my ($block, $repeated) = @_;
    my $name = $block->name;
    my $lines;

    if (defined $block->error_log) {
        my $pats = patterns($block->error_log);
        $lines ||= error_log_data();

        for my $line (@$lines) {
            for my $pat (@$pats) {
                next if !defined $pat;
                if (ref $pat && $line =~ /$pat/ || $line =~ /\Q$pat\E/) {
                    Test::More::pass("$name - pattern \"$pat\" matches a line "
                                     . "in error.log (req $repeated)");
                    undef $pat;
                }
            }
        }

        for my $pat (grep { defined } @$pats) {
            Test::More::fail("$name - pattern \"$pat\" should match a line "
                             . "in error.log (req $repeated)");
        }
    }

    if (defined $block->no_error_log) {
        my $pats = patterns($block->no_error_log);
        my %found;
        $lines ||= error_log_data();

        for my $k (0 .. $#$lines) {
            my $line = $lines->[$k];

            for my $pat (@$pats) {
                next if !defined $pat || $found{$pat};
                if (ref $pat && $line =~ /$pat/ || $line =~ /\Q$pat\E/) {
                    $found{$pat} = 1;
                    my $more = join '', @$lines[$k + 1 .. List::Util::min(
                                                   $k + 9, $#$lines - 1)];
                    Test::More::fail("$name - pattern \"" . fmt_str($pat)
                        . "\" should not match any line in error.log but "
                        . "matches line \"" . fmt_str($line)
                        . "\" (req $repeated)\n$more");
                }
            }
        }

        for my $pat (grep { defined && !$found{$_} } @$pats) {
            Test::More::pass("$name - pattern \"" . fmt_str($pat)
                             . "\" does not match a line in error.log "
                             . "(req $repeated)");
        }
    }

    for my $level (qw(alert crit emerg)) {
        my $pats = join "\n", grep { defined }
                              $block->error_log, $block->no_error_log;
        next if $pats =~ /\[\Q$level\E/;

        $lines ||= error_log_data();
        for my $line (@$lines) {
            warn "WARNING: $name - " . fmt_str($line) . "\n"
                if $line =~ /\[\Q$level\E\]/;
        }
    }
}

1;
